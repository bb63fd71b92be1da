//! Counts for the authority's statistics page, over `codes`, `token_uses` and
//! `exposed_keys`: per day, per issuer, and how long codes waited to be used. Every
//! figure is a count of rows that keep no time finer than the hour: nothing here can
//! point at a person.

use std::collections::BTreeMap;

use messages::Purpose;

use super::{DatastoreError, Store};

/// One day of statistics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DayCounts {
    /// The day's first second in the zone the days were counted in, unix seconds.
    pub day: i64,
    pub codes_issued: u64,
    pub codes_used: u64,
    /// Key uploads: one per positive test (a next-day key, a check-in upload or a venue
    /// warning is not one).
    pub uploads: u64,
    /// Uploads of the key of the day of the test, the day after.
    pub next_day_uploads: u64,
    /// Uploads of a positive person's visits.
    pub check_in_uploads: u64,
    pub keys_published: u64,
    /// Venue owners' warnings.
    pub venue_warnings: u64,
}

/// Codes issued and used by one issuer over the whole window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuerCounts {
    /// An API key id, or `user:<id>` for a physician.
    pub issued_by: String,
    pub codes_issued: u64,
    pub codes_used: u64,
}

/// Counts per hour (its first second).
type PerHour = BTreeMap<i64, i64>;

fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

impl Store {
    async fn count_per_hour(
        &self,
        sql: &'static str,
        since: i64,
        now: i64,
    ) -> Result<PerHour, DatastoreError> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(sql)
            .bind(since)
            .bind(now)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().collect())
    }

    /// Tokens spent on `purpose` per hour. Token uses keep only the token's expiry, at
    /// most an hour after the upload, which puts the uploads of the last hour of a day on
    /// the next: close enough for a daily trend, and no finer time is kept on purpose.
    async fn token_uses_per_hour(
        &self,
        purpose: Purpose,
        since: i64,
        now: i64,
    ) -> Result<PerHour, DatastoreError> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT (expires_at / 3600) * 3600, COUNT(*) FROM token_uses \
             WHERE purpose = $1 AND expires_at >= $2 AND expires_at <= $3 + 3600 GROUP BY 1",
        )
        .bind(purpose.as_str())
        .bind(since)
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().collect())
    }

    /// The `days` days up to `now`, oldest first, today included. `day_start` gives the
    /// first second of the day a time falls in, in the zone the days are counted in (so
    /// that a day is the authority's day, 23 or 25 hours long when the clocks change).
    pub async fn daily_counts(
        &self,
        now: i64,
        days: usize,
        day_start: impl Fn(i64) -> i64,
    ) -> Result<Vec<DayCounts>, DatastoreError> {
        // The days' first seconds, newest first: each day starts a second after the
        // previous one ends.
        let mut starts = vec![day_start(now)];
        while starts.len() < days {
            let newest_so_far = starts.last().copied().unwrap_or(now);
            starts.push(day_start(newest_so_far - 1));
        }
        starts.reverse();
        let since = starts.first().copied().unwrap_or(now);
        let issued = self
            .count_per_hour(
                "SELECT created_hour, COUNT(*) FROM codes \
                 WHERE created_hour >= $1 AND created_hour <= $2 GROUP BY 1",
                since,
                now,
            )
            .await?;
        let used = self
            .count_per_hour(
                "SELECT used_hour, COUNT(*) FROM codes \
                 WHERE used_hour >= $1 AND used_hour <= $2 GROUP BY 1",
                since,
                now,
            )
            .await?;
        let published = self
            .count_per_hour(
                "SELECT (release_at / 3600) * 3600, COUNT(*) FROM exposed_keys \
                 WHERE release_at >= $1 AND release_at <= $2 GROUP BY 1",
                since,
                now,
            )
            .await?;
        // One token is spent once per purpose: counting one purpose counts its uploads.
        let uploads = self.token_uses_per_hour(Purpose::Keys, since, now).await?;
        let next_day = self
            .token_uses_per_hour(Purpose::NextDayKeys, since, now)
            .await?;
        let check_ins = self
            .token_uses_per_hour(Purpose::CheckIns, since, now)
            .await?;
        let warnings = self
            .token_uses_per_hour(Purpose::VenueWarning, since, now)
            .await?;
        let mut counted: Vec<DayCounts> = starts
            .iter()
            .map(|&day| DayCounts {
                day,
                ..DayCounts::default()
            })
            .collect();
        let mut add = |per_hour: &PerHour, field: fn(&mut DayCounts) -> &mut u64| {
            for (&hour, &number) in per_hour {
                // The last day whose start is not after the hour (later ones are past now).
                let index = starts.partition_point(|&start| start <= hour);
                if let Some(day) = index
                    .checked_sub(1)
                    .and_then(|index| counted.get_mut(index))
                {
                    *field(day) += count(number);
                }
            }
        };
        add(&issued, |day| &mut day.codes_issued);
        add(&used, |day| &mut day.codes_used);
        add(&published, |day| &mut day.keys_published);
        add(&uploads, |day| &mut day.uploads);
        add(&next_day, |day| &mut day.next_day_uploads);
        add(&check_ins, |day| &mut day.check_in_uploads);
        add(&warnings, |day| &mut day.venue_warnings);
        Ok(counted)
    }

    /// Codes issued since `since` and how many of them were used, per issuer.
    pub async fn counts_per_issuer(&self, since: i64) -> Result<Vec<IssuerCounts>, DatastoreError> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT issued_by, COUNT(*), COUNT(used_hour) FROM codes \
             WHERE created_hour >= $1 GROUP BY issued_by ORDER BY COUNT(*) DESC, issued_by",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(issued_by, issued, used)| IssuerCounts {
                issued_by,
                codes_issued: count(issued),
                codes_used: count(used),
            })
            .collect())
    }

    /// How many hours codes issued since `since` waited to be used, from the hours kept
    /// (issue and use, each to the hour): a count per number of hours.
    pub async fn hours_to_use(&self, since: i64) -> Result<Vec<(i64, u64)>, DatastoreError> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT (used_hour - created_hour) / 3600, COUNT(*) FROM codes \
             WHERE used_hour IS NOT NULL AND created_hour >= $1 GROUP BY 1 ORDER BY 1",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(hours, number)| (hours, count(number)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use messages::Purpose;

    use crate::datastore::{Store, TokenUse};

    /// One positive test spends its token on keys, the next-day key and check-ins; a
    /// venue owner spends theirs on a warning. That is one upload and one warning, not
    /// four uploads and no warning.
    #[tokio::test]
    async fn uploads_and_venue_warnings_are_counted_by_purpose() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("statistics.sqlite3").display()
        );
        let store = Store::connect(&url).await.unwrap();
        let now = 1_700_000_000;
        let spend = |id: &str, purpose| TokenUse {
            id: id.to_owned(),
            purpose,
            expires_at: now + 1800,
        };
        let mut transaction = store.begin().await.unwrap();
        for purpose in [Purpose::Keys, Purpose::NextDayKeys, Purpose::CheckIns] {
            assert!(
                transaction
                    .record_token_use(&spend("patient", purpose))
                    .await
                    .unwrap()
            );
        }
        assert!(
            transaction
                .record_token_use(&spend("venue owner", Purpose::VenueWarning))
                .await
                .unwrap()
        );
        transaction.commit().await.unwrap();

        let days = store
            .daily_counts(now, 14, |time| time - time.rem_euclid(86_400))
            .await
            .unwrap();
        let today = days.last().unwrap();
        assert_eq!(today.uploads, 1);
        assert_eq!(today.next_day_uploads, 1);
        assert_eq!(today.check_in_uploads, 1);
        assert_eq!(today.venue_warnings, 1);
        assert!(days.iter().rev().skip(1).all(|day| day.uploads == 0));
        store.close().await;
    }
}
