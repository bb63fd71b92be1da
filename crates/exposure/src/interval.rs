//! Exposure-notification interval numbers (ENIN): time in 10-minute steps since the epoch.
//!
//! The protocol never uses wall-clock seconds directly: keys, identifiers and
//! matching windows are all expressed in interval numbers, `floor(unix_seconds / 600)`.

use core::fmt;

/// Seconds in one interval.
pub const INTERVAL_SECONDS: u64 = 600;

/// Intervals in one UTC day, and the default rolling period of a Temporary Exposure Key.
pub const INTERVALS_PER_DAY: u32 = 144;

/// How long keys and sightings are kept, in days (PROTOCOLS.md §1).
pub const RETENTION_DAYS: u32 = 14;

/// An ENIN: the number of 10-minute intervals since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EnIntervalNumber(pub u32);

impl EnIntervalNumber {
    /// The interval that contains `unix_seconds`.
    ///
    /// Saturates at `u32::MAX` (the year 83,000), so hostile timestamps cannot wrap.
    pub fn from_unix_seconds(unix_seconds: u64) -> Self {
        let interval = unix_seconds / INTERVAL_SECONDS;
        Self(u32::try_from(interval).unwrap_or(u32::MAX))
    }

    /// The first second of this interval.
    pub fn unix_seconds(self) -> u64 {
        u64::from(self.0) * INTERVAL_SECONDS
    }

    /// The first interval of this interval's UTC day: where a key generated now starts rolling.
    pub fn day_start(self) -> Self {
        Self(self.0 - self.0 % INTERVALS_PER_DAY)
    }

    /// The UTC day number (days since the epoch) of this interval.
    pub fn day(self) -> u32 {
        self.0 / INTERVALS_PER_DAY
    }

    /// This interval moved by `delta` intervals, saturating at the ends of the range.
    pub fn offset(self, delta: i64) -> Self {
        let moved = i64::from(self.0).saturating_add(delta);
        Self(moved.clamp(0, i64::from(u32::MAX)) as u32)
    }
}

impl fmt::Display for EnIntervalNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<u32> for EnIntervalNumber {
    fn from(value: u32) -> Self {
        Self(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_key_generation_time_maps_to_its_interval() {
        // From the official vectors: key generated at 1585785600 has rolling start 2642976.
        let enin = EnIntervalNumber::from_unix_seconds(1_585_785_600);
        assert_eq!(enin, EnIntervalNumber(2_642_976));
        assert_eq!(enin.day_start(), enin);
        assert_eq!(EnIntervalNumber(2_642_976 + 143).day_start(), enin);
        assert_eq!(
            EnIntervalNumber(2_642_976 + 144).day_start().0,
            2_642_976 + 144
        );
    }

    #[test]
    fn hostile_times_saturate_instead_of_wrapping() {
        assert_eq!(EnIntervalNumber::from_unix_seconds(u64::MAX).0, u32::MAX);
        assert_eq!(EnIntervalNumber(5).offset(-10).0, 0);
        assert_eq!(EnIntervalNumber(u32::MAX).offset(10).0, u32::MAX);
    }
}
