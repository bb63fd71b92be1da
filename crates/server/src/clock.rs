//! Time, passed in: a [`Clock`] trait with the wall clock ([`RealClock`]) and a clock that
//! tests move by hand ([`MockClock`]).
//!
//! Nothing in the server reads the wall clock directly. Expiry of codes and tokens, the
//! embargo of still-valid keys, release buckets and the 14-day retention purge all ask
//! the clock, so a test can move time fifteen days forward and watch the purge happen
//! without sleeping. Also the calendar days (`YYYY-MM-DD`, UTC) of onset dates.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use time::{Date, OffsetDateTime};

/// A source of the current time, in whole unix seconds (UTC).
///
/// Seconds are enough: the protocol's finest unit is the 10-minute interval, and the
/// stored times are coarser still (hours).
pub trait Clock: Send + Sync + 'static {
    /// Seconds since 1970-01-01T00:00:00Z.
    fn now_unix_seconds(&self) -> i64;
}

/// The system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct RealClock;

impl Clock for RealClock {
    fn now_unix_seconds(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
            // A clock set before 1970 is a broken host; 0 makes everything look expired
            // rather than valid forever.
            .unwrap_or(0)
    }
}

/// A clock that stands still until a test moves it. Clones share the same time.
#[derive(Clone, Debug)]
pub struct MockClock {
    now: Arc<AtomicI64>,
}

impl MockClock {
    /// A clock showing `unix_seconds`.
    pub fn new(unix_seconds: i64) -> Self {
        Self {
            now: Arc::new(AtomicI64::new(unix_seconds)),
        }
    }

    /// Moves the clock forward (or back, with a negative value) by `seconds`.
    pub fn advance(&self, seconds: i64) {
        self.now.fetch_add(seconds, Ordering::SeqCst);
    }

    /// Sets the clock to `unix_seconds`.
    pub fn set(&self, unix_seconds: i64) {
        self.now.store(unix_seconds, Ordering::SeqCst);
    }
}

impl Clock for MockClock {
    fn now_unix_seconds(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }
}

/// The clock the server runs with, shared by every handler and job.
pub type SharedClock = Arc<dyn Clock>;

// Calendar days, as codes and upload tokens carry the date of onset.

/// Formats a date as `YYYY-MM-DD`.
pub(crate) fn format_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// Parses `YYYY-MM-DD`.
pub(crate) fn parse_date(text: &str) -> Option<Date> {
    Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
}

/// The UTC date of a unix time.
pub(crate) fn date_of(unix_seconds: i64) -> Date {
    OffsetDateTime::from_unix_timestamp(unix_seconds)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .date()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mock_clock_clones_move_together() {
        let clock = MockClock::new(1_600_000_000);
        let seen_by_server = clock.clone();
        clock.advance(15 * 86_400);
        assert_eq!(
            seen_by_server.now_unix_seconds(),
            1_600_000_000 + 15 * 86_400
        );
    }

    #[test]
    fn real_clock_is_after_2020() {
        assert!(RealClock.now_unix_seconds() > 1_577_836_800);
    }
}
