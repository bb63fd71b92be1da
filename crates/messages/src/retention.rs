//! The retention window (ARCHITECTURE.md, privacy rules): servers and phones keep keys,
//! visits, sightings, codes and logs of use 14 days at most. Upload, download, export and
//! purge all use these definitions, so a key accepted is a key published, and nothing is
//! kept a day longer than promised.

use exposure::interval::{INTERVAL_SECONDS, RETENTION_DAYS};

/// Days anything is kept.
pub const DAYS: u32 = RETENTION_DAYS;

/// Seconds anything is kept.
pub const SECONDS: i64 = DAYS as i64 * 86_400;

const DAY_SECONDS: i64 = 86_400;

/// Unix seconds of the UTC midnight that opens the oldest day whose keys are kept at `now`:
/// today and the [`DAYS`] days before it. A key dated that day or later is accepted,
/// published and exported; an older one is dropped on upload and purged.
///
/// Whole days, as the DP-3T reference backend counts (`EnforceRetentionPeriod`: a key's
/// date is not before the date of `now - 14 days`), so that the key of day −14 that a phone
/// sends is both accepted and published, whatever the hour.
pub fn first_kept_day_start(now: i64) -> i64 {
    (now.div_euclid(DAY_SECONDS) - i64::from(DAYS)) * DAY_SECONDS
}

/// [`first_kept_day_start`] as an interval number (10-minute ENIN), the unit keys are dated in.
pub fn first_kept_interval(now: i64) -> i64 {
    first_kept_day_start(now).div_euclid(INTERVAL_SECONDS as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_today_and_the_fourteen_days_before_whatever_the_hour() {
        let midnight = 1_600_041_600; // 2020-09-14T00:00:00Z
        for now in [midnight, midnight + 1, midnight + DAY_SECONDS - 1] {
            assert_eq!(first_kept_day_start(now), midnight - 14 * DAY_SECONDS);
            assert_eq!(
                first_kept_interval(now),
                (midnight - 14 * DAY_SECONDS) / 600
            );
        }
        assert_eq!(
            first_kept_day_start(midnight + DAY_SECONDS),
            midnight - 13 * DAY_SECONDS
        );
    }
}
