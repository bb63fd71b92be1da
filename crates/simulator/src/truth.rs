//! The ground truth: who really had a risky contact with someone who later reported.
//!
//! The definitions follow the public-health ones the apps were built to approximate:
//! - **proximity**: at least 15 minutes in one day within 2 metres of a person during
//!   that person's infectious period (2 days before symptom onset to 7 days after);
//! - **presence**: at least 15 minutes at the same venue at the same time as such a person.
//!
//! Only contacts with people who reported through the app can be warned, and only people
//! who run the app can be warned, so both sides of the truth are restricted to them.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::PersonId;
use crate::epidemic::Epidemic;
use crate::life::{Day, Visit};

/// Close means within this distance, metres.
pub const CLOSE_CONTACT_DISTANCE_M: f64 = 2.0;

/// Minutes of close contact in one day that make a contact risky.
pub const CLOSE_CONTACT_MINUTES: u32 = 15;

/// Minutes of shared presence at a venue that make a visit risky.
pub const VENUE_OVERLAP_MINUTES: u32 = 15;

/// What the town really did, kept as the days go by.
#[derive(Clone, Debug, Default)]
pub struct GroundTruth {
    /// Close-contact minutes per (target, source, day).
    close_minutes: BTreeMap<(PersonId, PersonId, u32), u32>,
    /// Shared venue minutes per (target, source, day).
    venue_minutes: BTreeMap<(PersonId, PersonId, u32), u32>,
}

impl GroundTruth {
    /// Records one day's encounters and visits.
    pub fn record(&mut self, day: &Day) {
        for encounter in &day.encounters {
            if encounter.distance_m > CLOSE_CONTACT_DISTANCE_M {
                continue;
            }
            for (target, source) in [(encounter.a, encounter.b), (encounter.b, encounter.a)] {
                *self
                    .close_minutes
                    .entry((target, source, day.day))
                    .or_default() += encounter.minutes;
            }
        }
        for (i, first) in day.visits.iter().enumerate() {
            for second in &day.visits[i + 1..] {
                let overlap = Visit::overlap_minutes(first, second);
                if overlap == 0 || first.person == second.person {
                    continue;
                }
                for (target, source) in
                    [(first.person, second.person), (second.person, first.person)]
                {
                    *self
                        .venue_minutes
                        .entry((target, source, day.day))
                        .or_default() += overlap;
                }
            }
        }
    }

    /// The people who should have been warned, per channel: app users with a risky contact
    /// with one of `reporters` during that reporter's infectious period.
    pub fn exposed(
        &self,
        epidemic: &Epidemic,
        reporters: &BTreeSet<PersonId>,
        has_app: impl Fn(PersonId) -> bool,
    ) -> Exposed {
        let select = |minutes: &BTreeMap<(PersonId, PersonId, u32), u32>, threshold: u32| {
            minutes
                .iter()
                .filter(|&(&(target, source, day), &minutes)| {
                    minutes >= threshold
                        && has_app(target)
                        && !reporters.contains(&target)
                        && reporters.contains(&source)
                        && epidemic.is_infectious(source, i64::from(day))
                })
                .map(|(&(target, _, _), _)| target)
                .collect()
        };
        Exposed {
            proximity: select(&self.close_minutes, CLOSE_CONTACT_MINUTES),
            presence: select(&self.venue_minutes, VENUE_OVERLAP_MINUTES),
        }
    }
}

/// The people who should have been warned, per channel.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Exposed {
    pub proximity: BTreeSet<PersonId>,
    pub presence: BTreeSet<PersonId>,
}

/// How well one channel's warnings matched the truth.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ChannelScore {
    /// People who should have been warned.
    pub truly_exposed: usize,
    /// People who were warned.
    pub warned: usize,
    /// People who were warned and should have been.
    pub correctly_warned: usize,
    /// Share of the truly exposed who were warned (1 when nobody was exposed).
    pub recall: f64,
    /// Share of the warnings that were right (1 when nobody was warned).
    pub precision: f64,
}

impl ChannelScore {
    /// Compares the warned set with the truly exposed set.
    pub fn compare(truly_exposed: &BTreeSet<PersonId>, warned: &BTreeSet<PersonId>) -> Self {
        let correctly_warned = truly_exposed.intersection(warned).count();
        let ratio = |part: usize, whole: usize| {
            if whole == 0 {
                1.0
            } else {
                part as f64 / whole as f64
            }
        };
        Self {
            truly_exposed: truly_exposed.len(),
            warned: warned.len(),
            correctly_warned,
            recall: ratio(correctly_warned, truly_exposed.len()),
            precision: ratio(correctly_warned, warned.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::epidemic::Infection;
    use crate::life::{Encounter, Setting};

    fn sick_person_zero() -> Epidemic {
        let mut epidemic = Epidemic {
            infections: vec![None; 4],
        };
        epidemic.infections[0] = Some(Infection {
            infected_day: -2,
            onset_day: 1,
            diagnosed_day: Some(2),
            infected_by: None,
        });
        epidemic
    }

    fn encounter(b: PersonId, minutes: u32, distance_m: f64) -> Encounter {
        Encounter {
            a: 0,
            b,
            start_unix_seconds: 0,
            minutes,
            distance_m,
            setting: Setting::Street,
        }
    }

    #[test]
    fn only_long_close_contacts_of_reporters_count() {
        let mut truth = GroundTruth::default();
        truth.record(&Day {
            day: 0,
            // 1: 30 min at 1 m; 2: 30 min at 5 m; 3: two 10-minute meetings at 1.5 m.
            encounters: vec![
                encounter(1, 30, 1.0),
                encounter(2, 30, 5.0),
                encounter(3, 10, 1.5),
                encounter(3, 10, 1.5),
            ],
            visits: vec![],
        });
        let epidemic = sick_person_zero();
        let reporters = BTreeSet::from([0]);
        let exposed = truth.exposed(&epidemic, &reporters, |_| true);
        assert_eq!(exposed.proximity, BTreeSet::from([1, 3]));
        // Nobody is exposed by someone who did not report.
        let exposed = truth.exposed(&epidemic, &BTreeSet::new(), |_| true);
        assert!(exposed.proximity.is_empty());
        // People without the app cannot be warned, so they are not counted.
        let exposed = truth.exposed(&epidemic, &reporters, |person| person != 1);
        assert_eq!(exposed.proximity, BTreeSet::from([3]));
    }

    #[test]
    fn shared_venue_time_counts_for_presence() {
        let visit = |person, from: u64, to: u64| Visit {
            person,
            venue: 0,
            check_in_unix_seconds: from * 60,
            check_out_unix_seconds: to * 60,
        };
        let mut truth = GroundTruth::default();
        truth.record(&Day {
            day: 0,
            encounters: vec![],
            visits: vec![visit(0, 0, 60), visit(1, 30, 90), visit(2, 55, 120)],
        });
        let exposed = truth.exposed(&sick_person_zero(), &BTreeSet::from([0]), |_| true);
        assert_eq!(exposed.presence, BTreeSet::from([1]));
    }

    #[test]
    fn scores_are_ratios_of_the_sets() {
        let score =
            ChannelScore::compare(&BTreeSet::from([1, 2, 3, 4]), &BTreeSet::from([1, 2, 9]));
        assert_eq!(score.correctly_warned, 2);
        assert_eq!(score.recall, 0.5);
        assert!((score.precision - 2.0 / 3.0).abs() < 1e-12);
        let nothing = ChannelScore::compare(&BTreeSet::new(), &BTreeSet::new());
        assert_eq!((nothing.recall, nothing.precision), (1.0, 1.0));
    }
}
