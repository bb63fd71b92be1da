//! From what a phone knows about a day to one bucket per metric.
//!
//! The phone core gathers [`DailyFacts`] from its store (warnings shown, its report, its
//! check-ins); [`encode`] turns them into [`DailyMeasurements`]. Pure and total: every
//! metric gets exactly one bucket, whatever the facts.

use serde::Serialize;

use crate::metric::Metric;

/// Days a warning counts as "earlier" for the metrics that look back: the retention
/// window, the phone keeps nothing older.
pub const LOOK_BACK_DAYS: u32 = 14;

/// The channel a warning came through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Channel {
    Proximity,
    Venue,
}

/// A warning the phone showed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WarningShown {
    pub channel: Channel,
    /// The risk it showed was high (proximity warnings are low or high; venue warnings are
    /// shown only at high risk).
    pub high_risk: bool,
    /// Day (days since 1970-01-01, UTC) of the exposure or visit it warns of.
    pub exposure_day: u32,
    /// Day it was shown.
    pub shown_day: u32,
}

/// The phone's own positive report: the code's verification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CodeVerified {
    /// Day the phone traded its code for an upload token.
    pub day: u32,
    /// Whole hours from the code's issue to its verification, when the server said when
    /// the code was issued.
    pub hours_since_issued: Option<u32>,
}

/// What a phone knows about one UTC day (`day`) and the 14 before it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DailyFacts {
    /// The day reported (days since 1970-01-01, UTC).
    pub day: u32,
    /// The phone broadcast on the day (it had a Temporary Exposure Key for it).
    pub broadcast: bool,
    /// Warnings shown, on the day and before it (older ones are ignored).
    pub warnings: Vec<WarningShown>,
    /// The phone's code verification, if it reported.
    pub code_verified: Option<CodeVerified>,
    /// Day the phone's keys were uploaded, if they were.
    pub keys_uploaded_day: Option<u32>,
    /// Venue check-ins started on the day.
    pub check_ins: u32,
}

/// One bucket per metric, in the order of [`Metric::ALL`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct DailyMeasurements {
    buckets: [usize; Metric::ALL.len()],
}

impl DailyMeasurements {
    /// The bucket of `metric`.
    pub fn bucket(&self, metric: Metric) -> usize {
        Metric::ALL
            .iter()
            .position(|&each| each == metric)
            .map_or(0, |index| self.buckets[index])
    }

    /// Every metric with its bucket.
    pub fn iter(&self) -> impl Iterator<Item = (Metric, usize)> + '_ {
        Metric::ALL.into_iter().zip(self.buckets.iter().copied())
    }
}

/// Which channels warned among `warnings`.
fn channels<'a>(warnings: impl Iterator<Item = &'a WarningShown>) -> (bool, bool) {
    warnings.fold((false, false), |(proximity, venue), warning| {
        (
            proximity || warning.channel == Channel::Proximity,
            venue || warning.channel == Channel::Venue,
        )
    })
}

/// Bucket of the "by earlier warning" metrics for an event on `event_day`, or 0 when the
/// event did not happen on `day`.
fn by_earlier_warning(facts: &DailyFacts, event_day: Option<u32>) -> usize {
    match event_day {
        Some(event) if event == facts.day => {
            let earlier = facts.warnings.iter().filter(|warning| {
                warning.shown_day <= event && warning.shown_day + LOOK_BACK_DAYS > event
            });
            match channels(earlier) {
                (false, false) => 1,
                (true, false) => 2,
                (false, true) => 3,
                (true, true) => 4,
            }
        }
        _ => 0,
    }
}

/// Bucket of a "days to warning" metric: 0 without a warning of `channel` shown on the
/// day, else 1 + the days from the most recent exposure among them (capped at 13+): the
/// date the user is shown.
fn days_to_warning(facts: &DailyFacts, channel: Channel) -> usize {
    facts
        .warnings
        .iter()
        .filter(|warning| warning.channel == channel && warning.shown_day == facts.day)
        .map(|warning| warning.shown_day.saturating_sub(warning.exposure_day))
        .min()
        .map_or(0, |days| 1 + days.min(13) as usize)
}

fn warning_shown(facts: &DailyFacts) -> usize {
    let today: Vec<&WarningShown> = facts
        .warnings
        .iter()
        .filter(|warning| warning.shown_day == facts.day)
        .collect();
    let (proximity, venue) = channels(today.iter().copied());
    let proximity_high = today
        .iter()
        .any(|warning| warning.channel == Channel::Proximity && warning.high_risk);
    match (proximity, venue) {
        (true, true) => 4,
        (false, true) => 3,
        (true, false) if proximity_high => 2,
        (true, false) => 1,
        (false, false) => 0,
    }
}

fn positive_after_warning(facts: &DailyFacts) -> usize {
    let first_warning = facts
        .warnings
        .iter()
        .filter(|warning| {
            warning.shown_day <= facts.day && warning.shown_day + LOOK_BACK_DAYS > facts.day
        })
        .map(|warning| warning.shown_day)
        .min();
    match (first_warning, facts.code_verified) {
        (None, _) => 0,
        (Some(warned), Some(code)) if code.day >= warned && code.day <= facts.day => 2,
        (Some(_), _) => 1,
    }
}

/// Upper bounds (exclusive, hours) of the buckets 1 to 6 of the code delay; bucket 7 is
/// everything from 48 hours on.
const CODE_DELAY_HOURS: [u32; 6] = [1, 3, 6, 12, 24, 48];

fn hours_code_issued_to_verified(facts: &DailyFacts) -> usize {
    match facts.code_verified {
        Some(CodeVerified {
            day,
            hours_since_issued: Some(hours),
        }) if day == facts.day => {
            1 + CODE_DELAY_HOURS
                .iter()
                .take_while(|&&bound| hours >= bound)
                .count()
        }
        // No code that day, or a server that did not say when it issued the code.
        _ => 0,
    }
}

/// The day's measurement of every metric.
pub fn encode(facts: &DailyFacts) -> DailyMeasurements {
    let bucket = |metric: Metric| -> usize {
        match metric {
            Metric::ActivePhones => usize::from(facts.broadcast),
            Metric::WarningShown => warning_shown(facts),
            Metric::DaysToWarningProximity => days_to_warning(facts, Channel::Proximity),
            Metric::DaysToWarningVenue => days_to_warning(facts, Channel::Venue),
            Metric::CodeVerifiedByEarlierWarning => {
                by_earlier_warning(facts, facts.code_verified.map(|code| code.day))
            }
            Metric::KeysUploadedByEarlierWarning => {
                by_earlier_warning(facts, facts.keys_uploaded_day)
            }
            Metric::PositiveAfterWarning => positive_after_warning(facts),
            Metric::CheckInsPerDay => facts.check_ins.min(5) as usize,
            Metric::HoursCodeIssuedToVerified => hours_code_issued_to_verified(facts),
        }
    };
    DailyMeasurements {
        buckets: Metric::ALL.map(bucket),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u32 = 20_000;

    fn warning(
        channel: Channel,
        high_risk: bool,
        exposure_day: u32,
        shown_day: u32,
    ) -> WarningShown {
        WarningShown {
            channel,
            high_risk,
            exposure_day,
            shown_day,
        }
    }

    #[test]
    fn a_quiet_day_is_the_nothing_bucket_of_every_metric_but_activity() {
        let measurements = encode(&DailyFacts {
            day: DAY,
            broadcast: true,
            ..DailyFacts::default()
        });
        for (metric, bucket) in measurements.iter() {
            let expected = usize::from(metric == Metric::ActivePhones);
            assert_eq!(bucket, expected, "{metric}");
        }
    }

    #[test]
    fn a_warned_phone_that_reports_is_counted_by_its_warning() {
        let facts = DailyFacts {
            day: DAY,
            broadcast: true,
            warnings: vec![
                warning(Channel::Proximity, true, DAY - 5, DAY - 3),
                warning(Channel::Venue, true, DAY - 2, DAY),
            ],
            code_verified: Some(CodeVerified {
                day: DAY,
                hours_since_issued: Some(5),
            }),
            keys_uploaded_day: Some(DAY),
            check_ins: 7,
        };
        let measurements = encode(&facts);
        assert_eq!(measurements.bucket(Metric::WarningShown), 3);
        assert_eq!(measurements.bucket(Metric::DaysToWarningProximity), 0);
        assert_eq!(measurements.bucket(Metric::DaysToWarningVenue), 3);
        assert_eq!(measurements.bucket(Metric::CodeVerifiedByEarlierWarning), 4);
        assert_eq!(measurements.bucket(Metric::KeysUploadedByEarlierWarning), 4);
        assert_eq!(measurements.bucket(Metric::PositiveAfterWarning), 2);
        assert_eq!(measurements.bucket(Metric::CheckInsPerDay), 5);
        assert_eq!(measurements.bucket(Metric::HoursCodeIssuedToVerified), 3);
    }

    #[test]
    fn warnings_older_than_the_look_back_do_not_count() {
        let facts = DailyFacts {
            day: DAY,
            warnings: vec![warning(Channel::Proximity, false, DAY - 20, DAY - 14)],
            code_verified: Some(CodeVerified {
                day: DAY,
                hours_since_issued: None,
            }),
            ..DailyFacts::default()
        };
        let measurements = encode(&facts);
        assert_eq!(measurements.bucket(Metric::CodeVerifiedByEarlierWarning), 1);
        assert_eq!(measurements.bucket(Metric::PositiveAfterWarning), 0);
        assert_eq!(measurements.bucket(Metric::HoursCodeIssuedToVerified), 0);
        assert_eq!(measurements.bucket(Metric::ActivePhones), 0);
    }

    #[test]
    fn code_delays_fall_in_their_hour_buckets() {
        let bucket = |hours| {
            encode(&DailyFacts {
                day: DAY,
                code_verified: Some(CodeVerified {
                    day: DAY,
                    hours_since_issued: Some(hours),
                }),
                ..DailyFacts::default()
            })
            .bucket(Metric::HoursCodeIssuedToVerified)
        };
        let buckets: Vec<usize> = [0, 1, 2, 3, 6, 12, 24, 47, 48, 500]
            .into_iter()
            .map(bucket)
            .collect();
        assert_eq!(buckets, [1, 2, 2, 3, 4, 5, 6, 6, 7, 7]);
    }

    #[test]
    fn a_low_proximity_warning_long_after_the_exposure_caps_at_13_days() {
        let facts = DailyFacts {
            day: DAY,
            warnings: vec![warning(Channel::Proximity, false, DAY - 13, DAY)],
            ..DailyFacts::default()
        };
        let measurements = encode(&facts);
        assert_eq!(measurements.bucket(Metric::WarningShown), 1);
        assert_eq!(measurements.bucket(Metric::DaysToWarningProximity), 14);
        assert_eq!(measurements.bucket(Metric::PositiveAfterWarning), 1);
    }
}
