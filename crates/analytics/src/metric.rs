//! The daily metrics: what each one counts, its buckets, and its Prio3 VDAF.
//!
//! Every metric is a Prio3 histogram: a phone's measurement is one bucket, the aggregate is
//! how many phones fell in each. Every metric has a bucket for "nothing happened", so that
//! every opted-in phone sends every metric every day and sending says nothing.
//!
//! "Active phones" is a histogram of two buckets (inactive, active) rather than a Prio3
//! count: Janus adds differential-privacy noise to histograms and vectors of sums only,
//! never to a count, and a count without noise would be the one metric without a privacy
//! bound. Its second bucket is the count.

use prio::vdaf::prio3::{Prio3Histogram, optimal_chunk_length};
use serde::{Deserialize, Serialize};

use crate::AnalyticsError;

/// Number of Prio3 aggregators: DAP's leader and helper.
pub const AGGREGATORS: u8 = 2;

/// One daily metric. Its `snake_case` name is the key of its task in the authority's
/// configuration and of its figures in the demo's JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Whether the phone broadcast (traced) on the day.
    ActivePhones,
    /// Which warning the phone showed on the day.
    WarningShown,
    /// Days from the exposure to the proximity warning shown on the day.
    DaysToWarningProximity,
    /// Days from the visit to the venue warning shown on the day.
    DaysToWarningVenue,
    /// A code verified on the day, by the warnings shown in the 14 days before.
    CodeVerifiedByEarlierWarning,
    /// Keys uploaded on the day, by the warnings shown in the 14 days before.
    KeysUploadedByEarlierWarning,
    /// Phones warned in the last 14 days, and whether they reported a positive test after
    /// the warning (the secondary attack rate among the warned).
    PositiveAfterWarning,
    /// Venue check-ins started on the day.
    CheckInsPerDay,
    /// Hours from the code's issue to its verification, for a code verified on the day.
    HoursCodeIssuedToVerified,
}

/// Buckets of the two "by earlier warning" metrics.
const BY_EARLIER_WARNING: &[&str] = &[
    "nothing",
    "no earlier warning",
    "after proximity warning",
    "after venue warning",
    "after both warnings",
];

/// Buckets of the two "days to warning" metrics: no warning, then 0 to 12 days, then 13 or
/// more (the 14-day retention bounds it).
const DAYS_TO_WARNING: &[&str] = &[
    "no warning",
    "0",
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "8",
    "9",
    "10",
    "11",
    "12",
    "13+",
];

impl Metric {
    /// Every metric, in the order of the configuration and of the reports.
    pub const ALL: [Metric; 9] = [
        Metric::ActivePhones,
        Metric::WarningShown,
        Metric::DaysToWarningProximity,
        Metric::DaysToWarningVenue,
        Metric::CodeVerifiedByEarlierWarning,
        Metric::KeysUploadedByEarlierWarning,
        Metric::PositiveAfterWarning,
        Metric::CheckInsPerDay,
        Metric::HoursCodeIssuedToVerified,
    ];

    /// The `snake_case` name (configuration key, JSON key, command-line value).
    pub fn name(self) -> &'static str {
        match self {
            Metric::ActivePhones => "active_phones",
            Metric::WarningShown => "warning_shown",
            Metric::DaysToWarningProximity => "days_to_warning_proximity",
            Metric::DaysToWarningVenue => "days_to_warning_venue",
            Metric::CodeVerifiedByEarlierWarning => "code_verified_by_earlier_warning",
            Metric::KeysUploadedByEarlierWarning => "keys_uploaded_by_earlier_warning",
            Metric::PositiveAfterWarning => "positive_after_warning",
            Metric::CheckInsPerDay => "check_ins_per_day",
            Metric::HoursCodeIssuedToVerified => "hours_code_issued_to_verified",
        }
    }

    /// The metric of a name, if there is one.
    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|metric| metric.name() == name)
    }

    /// One line on what it counts.
    pub fn description(self) -> &'static str {
        match self {
            Metric::ActivePhones => "phones that broadcast on the day",
            Metric::WarningShown => "warnings shown on the day, by channel and risk",
            Metric::DaysToWarningProximity => "days from exposure to proximity warning",
            Metric::DaysToWarningVenue => "days from visit to venue warning",
            Metric::CodeVerifiedByEarlierWarning => {
                "codes verified, by warnings shown in the 14 days before"
            }
            Metric::KeysUploadedByEarlierWarning => {
                "keys uploaded, by warnings shown in the 14 days before"
            }
            Metric::PositiveAfterWarning => {
                "phones warned in the last 14 days that reported positive since"
            }
            Metric::CheckInsPerDay => "venue check-ins started on the day",
            Metric::HoursCodeIssuedToVerified => "hours from code issued to code verified",
        }
    }

    /// The bucket labels; a measurement is an index into them.
    pub fn buckets(self) -> &'static [&'static str] {
        match self {
            Metric::ActivePhones => &["inactive", "active"],
            Metric::WarningShown => &[
                "none",
                "proximity low",
                "proximity high",
                "venue",
                "proximity and venue",
            ],
            Metric::DaysToWarningProximity | Metric::DaysToWarningVenue => DAYS_TO_WARNING,
            Metric::CodeVerifiedByEarlierWarning | Metric::KeysUploadedByEarlierWarning => {
                BY_EARLIER_WARNING
            }
            Metric::PositiveAfterWarning => &[
                "not warned",
                "warned, no positive report",
                "warned, reported positive",
            ],
            Metric::CheckInsPerDay => &["0", "1", "2", "3", "4", "5+"],
            Metric::HoursCodeIssuedToVerified => &[
                "no code verified",
                "<1 h",
                "1-3 h",
                "3-6 h",
                "6-12 h",
                "12-24 h",
                "24-48 h",
                "48 h+",
            ],
        }
    }

    /// Number of buckets: the Prio3Histogram's `length`.
    pub fn length(self) -> usize {
        self.buckets().len()
    }

    /// The Prio3Histogram's `chunk_length` (the square root rule of the VDAF draft, as
    /// `prio` computes it). The DAP task of the metric must be provisioned with it.
    pub fn chunk_length(self) -> usize {
        optimal_chunk_length(self.length())
    }

    /// `bucket` if it is one of the metric's. `prio` asserts (panics) on a measurement out
    /// of range, so every measurement is checked here before it reaches the VDAF.
    pub fn check_bucket(self, bucket: usize) -> Result<usize, AnalyticsError> {
        if bucket < self.length() {
            Ok(bucket)
        } else {
            Err(AnalyticsError::BucketOutOfRange {
                metric: self,
                bucket,
                length: self.length(),
            })
        }
    }

    /// The metric's VDAF: Prio3Histogram over two aggregators.
    pub fn vdaf(self) -> Result<Prio3Histogram, AnalyticsError> {
        Ok(Prio3Histogram::new_histogram(
            AGGREGATORS,
            self.length(),
            self.chunk_length(),
        )?)
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issue_sizes_hold_and_names_round_trip() {
        assert_eq!(Metric::WarningShown.length(), 5);
        assert_eq!(Metric::DaysToWarningProximity.length(), 15);
        assert_eq!(Metric::DaysToWarningVenue.length(), 15);
        assert_eq!(Metric::CodeVerifiedByEarlierWarning.length(), 5);
        assert_eq!(Metric::KeysUploadedByEarlierWarning.length(), 5);
        assert_eq!(Metric::CheckInsPerDay.length(), 6);
        assert_eq!(Metric::HoursCodeIssuedToVerified.length(), 8);
        for metric in Metric::ALL {
            assert_eq!(Metric::from_name(metric.name()), Some(metric));
            assert!(metric.vdaf().is_ok());
        }
    }
}
