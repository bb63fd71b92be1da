//! The statistics page, after what Google's exposure-notifications verification server
//! shows a health authority: codes issued and used per day, uploads by purpose (keys, the
//! next day's key, visits) and venue warnings, how long codes waited to be used, and codes
//! per issuer; as small bar charts that stay readable on a phone, a table with every
//! figure, and a CSV file. Days are the authority's (the server's `time_zone`). Every
//! figure is a count: nothing here can point at a person.

use messages::retention;

use crate::clock::format_date;
use crate::datastore::{DatastoreError, DayCounts, IssuerCounts};
use crate::state::AppState;
use crate::web::local_time::{local_date, start_of_day};

/// Days shown: the retention period, beyond which the underlying rows are purged anyway.
pub const STATISTICS_DAYS: usize = retention::DAYS as usize;

/// How long used codes waited, in the hours kept (issue and use, each to the hour): up to
/// 1 hour apart, 2 to 6, 7 to 24, more.
pub(crate) const WAIT_BUCKETS: [(i64, &str); 4] = [
    (1, "statistics-wait-1"),
    (6, "statistics-wait-6"),
    (24, "statistics-wait-24"),
    (i64::MAX, "statistics-wait-more"),
];

/// One issuer's line: who (an email, or an API key's name) and their codes.
pub(crate) struct IssuerLine {
    pub name: String,
    pub counts: IssuerCounts,
}

/// Everything the page shows.
pub(crate) struct Statistics {
    /// Oldest first, today included.
    pub days: Vec<DayCounts>,
    /// Used codes per [`WAIT_BUCKETS`] entry.
    pub waits: [u64; WAIT_BUCKETS.len()],
    /// Every issuer for an administrator; a physician's own line for them.
    pub issuers: Vec<IssuerLine>,
}

/// The statistics of the last [`STATISTICS_DAYS`] days as of now; `only_issuer` limits the
/// per-issuer lines to one (a physician sees their own).
pub(crate) async fn gather(
    state: &AppState,
    only_issuer: Option<&str>,
) -> Result<Statistics, DatastoreError> {
    let now = state.now();
    let days = daily(state, now).await?;
    let since = days.first().map_or(now, |day| day.day);
    let mut waits = [0; WAIT_BUCKETS.len()];
    for (hours, count) in state.store.hours_to_use(since).await? {
        let bucket = WAIT_BUCKETS
            .iter()
            .position(|(most, _)| hours <= *most)
            .unwrap_or(WAIT_BUCKETS.len() - 1);
        if let Some(slot) = waits.get_mut(bucket) {
            *slot += count;
        }
    }
    let users = state.store.users().await?;
    let keys = state.store.api_keys().await?;
    let issuers = state
        .store
        .counts_per_issuer(since)
        .await?
        .into_iter()
        .filter(|counts| only_issuer.is_none_or(|issuer| counts.issued_by == issuer))
        .map(|counts| {
            let name = match counts.issued_by.strip_prefix("user:") {
                Some(id) => users
                    .iter()
                    .find(|user| user.id == id)
                    .map(|user| user.email.clone()),
                None => keys
                    .iter()
                    .find(|key| key.id == counts.issued_by)
                    .map(|key| format!("API: {}", key.name)),
            };
            IssuerLine {
                name: name.unwrap_or_else(|| counts.issued_by.clone()),
                counts,
            }
        })
        .collect();
    Ok(Statistics {
        days,
        waits,
        issuers,
    })
}

/// The last [`STATISTICS_DAYS`] days, oldest first, today included, as days of the
/// server's zone.
pub(crate) async fn daily(state: &AppState, now: i64) -> Result<Vec<DayCounts>, DatastoreError> {
    let zone = &state.time_zone;
    state
        .store
        .daily_counts(now, STATISTICS_DAYS, |time| {
            start_of_day(zone, local_date(zone, time)).unwrap_or(time - time.rem_euclid(86_400))
        })
        .await
}

/// The statistics as CSV, one line per day, oldest first. The first six columns are those
/// of the first version of this file, so that spreadsheets built on it still read it.
pub(crate) fn csv(state: &AppState, days: &[DayCounts]) -> String {
    let mut text = String::from(
        "day,codes_issued,codes_used,uploads,keys_published,venue_warnings,next_day_uploads,check_in_uploads\n",
    );
    for day in days {
        text.push_str(&format!(
            "{},{},{},{},{},{},{},{}\n",
            format_date(day_date(&state.time_zone, day)),
            day.codes_issued,
            day.codes_used,
            day.uploads,
            day.keys_published,
            day.venue_warnings,
            day.next_day_uploads,
            day.check_in_uploads,
        ));
    }
    text
}

/// One series of the statistics: a day's value of it.
pub(crate) type DaySeries = fn(&DayCounts) -> u64;

/// The series drawn as charts: message id and value of a day.
pub(crate) const CHARTS: [(&str, DaySeries); 5] = [
    ("statistics-codes-issued", |day| day.codes_issued),
    ("statistics-codes-used", |day| day.codes_used),
    ("statistics-uploads", |day| day.uploads),
    ("statistics-check-in-uploads", |day| day.check_in_uploads),
    ("statistics-venue-warnings", |day| day.venue_warnings),
];

/// The date a day's row stands for: its first second's date in the server's zone (in
/// UTC it would be the day before, east of Greenwich).
pub(crate) fn day_date(zone: &jiff::tz::TimeZone, day: &DayCounts) -> time::Date {
    local_date(zone, day.day)
}
