//! Daily counts for the authority's statistics page, over `codes`, `token_uses` and
//! `exposed_keys`. Every figure is a count per day: nothing here can point at a person.

use std::collections::BTreeMap;

use messages::Purpose;

use super::{DatastoreError, Store};

const DAY: i64 = 86_400;

/// One day of statistics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DayCounts {
    /// Midnight UTC of the day, unix seconds.
    pub day: i64,
    pub codes_issued: u64,
    pub codes_used: u64,
    /// Key uploads (a next-day key, a check-in upload or a venue warning is not one).
    pub uploads: u64,
    pub keys_published: u64,
    /// Venue owners' warnings.
    pub venue_warnings: u64,
}

type PerDay = BTreeMap<i64, i64>;

impl Store {
    async fn count_per_day(
        &self,
        sql: &'static str,
        since: i64,
        now: i64,
    ) -> Result<PerDay, DatastoreError> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(sql)
            .bind(since)
            .bind(now)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().collect())
    }

    /// Tokens spent on `purpose` per day. Token uses keep only the token's expiry, at
    /// most an hour after the upload, which puts the few uploads of the last hour before
    /// midnight on the next day: close enough for a daily trend, and no finer time is
    /// kept on purpose.
    async fn token_uses_per_day(
        &self,
        purpose: Purpose,
        since: i64,
        now: i64,
    ) -> Result<PerDay, DatastoreError> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT (expires_at / 86400) * 86400, COUNT(*) FROM token_uses \
             WHERE purpose = $1 AND expires_at >= $2 AND expires_at <= $3 + 3600 GROUP BY 1",
        )
        .bind(purpose.as_str())
        .bind(since)
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().collect())
    }

    /// The `days` days up to `now`, oldest first, today included.
    pub async fn daily_counts(
        &self,
        now: i64,
        days: i64,
    ) -> Result<Vec<DayCounts>, DatastoreError> {
        let today = now - now.rem_euclid(DAY);
        let since = today - (days - 1) * DAY;
        // Codes keep their issue and use times to the hour; grouping by day is coarser.
        let issued = self
            .count_per_day(
                "SELECT (created_hour / 86400) * 86400, COUNT(*) FROM codes \
                 WHERE created_hour >= $1 AND created_hour <= $2 GROUP BY 1",
                since,
                now,
            )
            .await?;
        let used = self
            .count_per_day(
                "SELECT (used_hour / 86400) * 86400, COUNT(*) FROM codes \
                 WHERE used_hour >= $1 AND used_hour <= $2 GROUP BY 1",
                since,
                now,
            )
            .await?;
        let published = self
            .count_per_day(
                "SELECT (release_at / 86400) * 86400, COUNT(*) FROM exposed_keys \
                 WHERE release_at >= $1 AND release_at <= $2 GROUP BY 1",
                since,
                now,
            )
            .await?;
        // One token is spent once per purpose: counting one purpose counts uploads.
        let uploads = self.token_uses_per_day(Purpose::Keys, since, now).await?;
        let warnings = self
            .token_uses_per_day(Purpose::VenueWarning, since, now)
            .await?;
        let count = |map: &PerDay, day: i64| {
            u64::try_from(map.get(&day).copied().unwrap_or(0)).unwrap_or(0)
        };
        Ok((0..days)
            .map(|index| {
                let day = since + index * DAY;
                DayCounts {
                    day,
                    codes_issued: count(&issued, day),
                    codes_used: count(&used, day),
                    uploads: count(&uploads, day),
                    keys_published: count(&published, day),
                    venue_warnings: count(&warnings, day),
                }
            })
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

        let days = store.daily_counts(now, 14).await.unwrap();
        let today = days.last().unwrap();
        assert_eq!(today.uploads, 1);
        assert_eq!(today.venue_warnings, 1);
        assert!(days.iter().rev().skip(1).all(|day| day.uploads == 0));
        store.close().await;
    }
}
