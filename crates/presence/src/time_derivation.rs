//! From the times a visitor checked in and out to the windows that get uploaded.
//!
//! The rules are CWA's (cwa-app-android `checkins/derivetime` and `checkins/split`, with
//! the production submission parameters): stays shorter than 10 minutes are dropped;
//! the stay is extended by the aerosol decay time (the stay's own length, at most 30
//! minutes) and aligned to 10-minute intervals; the result is split at UTC midnight so
//! that every uploaded record lies within one UTC day.

use crate::messages::CheckInRecord;

/// Length of an interval of `startIntervalNumber` and `period`.
pub const INTERVAL_SECONDS: u64 = 600;
pub const SECONDS_PER_DAY: u64 = 86_400;
/// Stays shorter than this are not uploaded (CWA duration filter `[0, 10)` minutes).
pub const MIN_STAY_MINUTES: u64 = 10;
/// Aerosol decay added after a stay: its own length, at most this.
pub const MAX_AEROSOL_MINUTES: u64 = 30;
/// Longer stays (a forgotten check-out) are cut to this length before derivation:
/// nothing older than the 14-day retention matters, and it bounds the number of daily
/// records one check-in can produce.
pub const MAX_STAY_SECONDS: u64 = 14 * SECONDS_PER_DAY;

/// A span of time in unix seconds, `start` included, `end` excluded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimeWindow {
    pub start: u64,
    pub end: u64,
}

impl TimeWindow {
    pub fn new(start: u64, end: u64) -> Self {
        TimeWindow { start, end }
    }

    /// The window a decrypted check-in record stands for.
    pub fn from_record(record: &CheckInRecord) -> Self {
        let start = u64::from(record.start_interval_number) * INTERVAL_SECONDS;
        let end =
            (u64::from(record.start_interval_number) + u64::from(record.period)) * INTERVAL_SECONDS;
        TimeWindow { start, end }
    }

    pub fn duration_seconds(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// Seconds both windows share.
    pub fn overlap_seconds(&self, other: &TimeWindow) -> u64 {
        let start = self.start.max(other.start);
        let end = self.end.min(other.end);
        end.saturating_sub(start)
    }

    /// The window's record with the given risk level, if it is interval-aligned and its
    /// interval numbers fit the protocol's 32 bits.
    pub fn to_record(&self, transmission_risk_level: u32) -> Option<CheckInRecord> {
        if !self.start.is_multiple_of(INTERVAL_SECONDS)
            || !self.end.is_multiple_of(INTERVAL_SECONDS)
            || self.end <= self.start
        {
            return None;
        }
        Some(CheckInRecord {
            start_interval_number: u32::try_from(self.start / INTERVAL_SECONDS).ok()?,
            period: u32::try_from(self.duration_seconds() / INTERVAL_SECONDS).ok()?,
            transmission_risk_level,
        })
    }

    /// The UTC day the window starts on.
    pub fn utc_day(&self) -> UtcDay {
        UtcDay::containing(self.start)
    }

    /// The window cut at every UTC midnight it crosses (one piece per day, in order).
    /// Lazy, so that even an absurdly long window costs nothing until consumed.
    pub fn split_at_utc_midnight(self) -> impl Iterator<Item = TimeWindow> {
        let mut start = self.start;
        std::iter::from_fn(move || {
            if start >= self.end {
                return None;
            }
            let next_midnight = (start / SECONDS_PER_DAY + 1).saturating_mul(SECONDS_PER_DAY);
            let end = next_midnight.min(self.end);
            let piece = TimeWindow { start, end };
            start = end;
            Some(piece)
        })
    }
}

/// A UTC calendar day, as days since 1970-01-01.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UtcDay(pub u64);

impl UtcDay {
    pub fn containing(unix_seconds: u64) -> Self {
        UtcDay(unix_seconds / SECONDS_PER_DAY)
    }

    pub fn start_unix_seconds(self) -> u64 {
        self.0.saturating_mul(SECONDS_PER_DAY)
    }
}

/// The uploaded window of a stay from `check_in` to `check_out` (unix seconds), or `None`
/// when the stay is shorter than [`MIN_STAY_MINUTES`] (or ends before it starts).
///
/// Exactly CWA's `deriveTime` with its production parameters: the aerosol time is the
/// stay's length when the stay lasts at most 30 whole minutes (so a stay of 30 min 40 s
/// gets 30 min 40 s, as in CWA), else 30 minutes. The aligned window keeps the rounded
/// length of stay plus aerosol time and is anchored on whichever end of the stay fills
/// more of its 10-minute interval.
pub fn derive_time(check_in: u64, check_out: u64) -> Option<TimeWindow> {
    let check_out = check_out.min(check_in.saturating_add(MAX_STAY_SECONDS));
    let duration = check_out.saturating_sub(check_in);
    let duration_minutes = duration / 60;
    if duration_minutes < MIN_STAY_MINUTES {
        return None;
    }
    let aerosol = if duration_minutes <= MAX_AEROSOL_MINUTES {
        duration
    } else {
        MAX_AEROSOL_MINUTES * 60
    };
    let relevant_end = check_out.checked_add(aerosol)?;
    let start_interval = align_down(check_in);
    let end_interval = align_down(relevant_end);
    let overlap_with_start_interval = start_interval + INTERVAL_SECONDS - check_in;
    let overlap_with_end_interval = relevant_end - end_interval;
    // Round half up, like Kotlin's `roundToLong`.
    let target = (duration + aerosol + INTERVAL_SECONDS / 2) / INTERVAL_SECONDS * INTERVAL_SECONDS;
    if overlap_with_end_interval > overlap_with_start_interval {
        let end = end_interval.checked_add(INTERVAL_SECONDS)?;
        Some(TimeWindow::new(end.saturating_sub(target), end))
    } else {
        Some(TimeWindow::new(
            start_interval,
            start_interval.checked_add(target)?,
        ))
    }
}

fn align_down(unix_seconds: u64) -> u64 {
    unix_seconds / INTERVAL_SECONDS * INTERVAL_SECONDS
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = SECONDS_PER_DAY;

    #[test]
    fn a_stay_across_midnight_becomes_one_piece_per_day() {
        let start = 10 * DAY + 22 * 3600;
        let end = 12 * DAY + 3600;
        let pieces: Vec<TimeWindow> = TimeWindow::new(start, end)
            .split_at_utc_midnight()
            .collect();
        assert_eq!(
            pieces,
            vec![
                TimeWindow::new(start, 11 * DAY),
                TimeWindow::new(11 * DAY, 12 * DAY),
                TimeWindow::new(12 * DAY, end),
            ]
        );
        let same_day = TimeWindow::new(start, 11 * DAY);
        assert_eq!(same_day.split_at_utc_midnight().count(), 1);
        assert_eq!(TimeWindow::new(5, 5).split_at_utc_midnight().count(), 0);
    }

    #[test]
    fn long_stays_get_thirty_minutes_of_aerosol() {
        // 2 h stay from 12:00: 12:00 → 14:30.
        let window = derive_time(12 * 3600, 14 * 3600).unwrap();
        assert_eq!(window, TimeWindow::new(12 * 3600, 14 * 3600 + 1800));
    }

    #[test]
    fn a_check_out_before_the_check_in_is_dropped() {
        assert_eq!(derive_time(10_000, 5_000), None);
    }

    #[test]
    fn a_forgotten_check_out_is_cut_to_fourteen_days() {
        let window = derive_time(0, u64::MAX).unwrap();
        assert_eq!(window, TimeWindow::new(0, MAX_STAY_SECONDS + 1800));
    }

    #[test]
    fn records_and_windows_convert_both_ways() {
        let record = CheckInRecord {
            start_interval_number: 2_710_445,
            period: 28,
            transmission_risk_level: 7,
        };
        let window = TimeWindow::from_record(&record);
        assert_eq!(window.duration_seconds(), 28 * 600);
        assert_eq!(window.to_record(7), Some(record));
        assert_eq!(TimeWindow::new(601, 1200).to_record(7), None);
    }

    #[test]
    fn days_count_from_the_epoch() {
        // 2021-05-03T17:00:00Z is day 18750; that day starts at 1620000000.
        let day = UtcDay::containing(1_620_061_200);
        assert_eq!(day, UtcDay(18_750));
        assert_eq!(day.start_unix_seconds(), 1_620_000_000);
    }
}
