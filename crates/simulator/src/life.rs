//! One day of the town: who meets whom, when, for how long and how close, and who goes out.
//!
//! Times are unix seconds (UTC). A day follows a simple rhythm: weekday work or school in
//! the daytime, chance meetings on the way, an evening out for some at a venue, and the
//! household together at night. Meetings inside a venue come from the visits themselves:
//! guests whose stays overlap meet, at a distance that depends on how crowded the venue is.

use rand::seq::SliceRandom;
use rand::{Rng, RngExt};
use serde::Serialize;

use crate::town::Town;
use crate::{PersonId, VenueId};

/// Two people close enough for their phones to hear each other.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Encounter {
    pub a: PersonId,
    pub b: PersonId,
    pub start_unix_seconds: u64,
    pub minutes: u32,
    /// Typical distance during the encounter, metres.
    pub distance_m: f64,
    pub setting: Setting,
}

/// Where an encounter happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Setting {
    Household,
    Work,
    Street,
    Venue(VenueId),
}

/// A stay at a venue: the person scans the door's QR code at `check_in` and again (or the
/// app checks them out) at `check_out`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Visit {
    pub person: PersonId,
    pub venue: VenueId,
    pub check_in_unix_seconds: u64,
    pub check_out_unix_seconds: u64,
}

impl Visit {
    /// Minutes two stays at the same venue overlap (0 at different venues).
    pub fn overlap_minutes(&self, other: &Visit) -> u32 {
        if self.venue != other.venue {
            return 0;
        }
        let start = self.check_in_unix_seconds.max(other.check_in_unix_seconds);
        let end = self
            .check_out_unix_seconds
            .min(other.check_out_unix_seconds);
        (end.saturating_sub(start) / 60) as u32
    }
}

/// Everything that happened on one day.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Day {
    pub day: u32,
    pub encounters: Vec<Encounter>,
    pub visits: Vec<Visit>,
}

const HOUR: u64 = 3600;
const MINUTE: u64 = 60;

/// Generates day `day` of `town`.
pub fn simulate_day(town: &Town, day: u32, rng: &mut impl Rng) -> Day {
    let midnight = town.day_start(day);
    // The simulation starts on a Monday: days 5 and 6 of each week are the weekend.
    let weekday = day % 7 < 5;
    let mut encounters = Vec::new();

    // Households: together in the morning and the evening, close by.
    for members in &town.households {
        for (i, &a) in members.iter().enumerate() {
            for &b in &members[i + 1..] {
                let evening = midnight + 18 * HOUR + rng.random_range(0..60) * MINUTE;
                encounters.push(Encounter {
                    a,
                    b,
                    start_unix_seconds: evening,
                    minutes: rng.random_range(120..240),
                    distance_m: rng.random_range(0.8..3.0),
                    setting: Setting::Household,
                });
            }
        }
    }

    // Work and school on weekdays: a few close colleagues for long, the others briefly.
    if weekday {
        for members in &town.workplaces {
            for (i, &a) in members.iter().enumerate() {
                for &b in &members[i + 1..] {
                    let close_colleagues = rng.random_bool(0.25);
                    let (minutes, distance_m) = if close_colleagues {
                        (rng.random_range(30..150), rng.random_range(1.0..2.5))
                    } else if rng.random_bool(0.4) {
                        (rng.random_range(5..20), rng.random_range(2.0..6.0))
                    } else {
                        continue;
                    };
                    let start = midnight + 9 * HOUR + rng.random_range(0..420) * MINUTE;
                    encounters.push(Encounter {
                        a,
                        b,
                        start_unix_seconds: start,
                        minutes,
                        distance_m,
                        setting: Setting::Work,
                    });
                }
            }
        }
    }

    // Chance meetings: the bus, the queue at the bakery. Mostly short and not close.
    let people = town.people.len();
    if people > 1 {
        for a in 0..people {
            for _ in 0..rng.random_range(1..4) {
                let b = rng.random_range(0..people);
                if a == b {
                    continue;
                }
                let start = midnight + 7 * HOUR + rng.random_range(0..720) * MINUTE;
                encounters.push(Encounter {
                    a,
                    b,
                    start_unix_seconds: start,
                    minutes: rng.random_range(2..15),
                    distance_m: rng.random_range(1.5..10.0),
                    setting: Setting::Street,
                });
            }
        }
    }

    // Evenings out: check in at a venue, stay about its typical length, check out.
    let mut visits = Vec::new();
    if !town.venues.is_empty() {
        for person in &town.people {
            let going_out = if weekday {
                person.sociability
            } else {
                (person.sociability * 1.6).min(0.9)
            };
            if !rng.random_bool(going_out) {
                continue;
            }
            let venue = &town.venues[rng.random_range(0..town.venues.len())];
            let typical = u64::from(venue.kind.typical_stay_minutes());
            let check_in = midnight + 17 * HOUR + rng.random_range(0..240) * MINUTE;
            let stay = rng.random_range(typical / 2..=typical * 3 / 2).max(5) * MINUTE;
            visits.push(Visit {
                person: person.id,
                venue: venue.id,
                check_in_unix_seconds: check_in,
                check_out_unix_seconds: check_in + stay,
            });
        }
    }

    // Guests of one venue meet while their stays overlap; a crowded room brings them closer.
    visits.shuffle(rng);
    for (i, first) in visits.iter().enumerate() {
        for second in &visits[i + 1..] {
            let overlap = first.overlap_minutes(second);
            if overlap < 2 || first.person == second.person {
                continue;
            }
            let capacity = town.venues[first.venue].capacity as f64;
            // Most guests of a venue are at other tables; some share one.
            let same_table = rng.random_bool((4.0 / capacity).min(0.5));
            let distance_m = if same_table {
                rng.random_range(0.7..2.0)
            } else {
                rng.random_range(3.0..12.0)
            };
            let start = first
                .check_in_unix_seconds
                .max(second.check_in_unix_seconds);
            encounters.push(Encounter {
                a: first.person,
                b: second.person,
                start_unix_seconds: start,
                minutes: overlap,
                distance_m,
                setting: Setting::Venue(first.venue),
            });
        }
    }

    Day {
        day,
        encounters,
        visits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::town::TownConfig;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn a_day_has_every_kind_of_meeting_and_stays_within_it() {
        let mut rng = StdRng::seed_from_u64(5);
        let town = Town::generate(TownConfig::default(), &mut rng);
        let day = simulate_day(&town, 0, &mut rng);
        for setting in [Setting::Household, Setting::Work, Setting::Street] {
            assert!(day.encounters.iter().any(|e| e.setting == setting));
        }
        assert!(
            day.encounters
                .iter()
                .any(|e| matches!(e.setting, Setting::Venue(_)))
        );
        assert!(!day.visits.is_empty());
        let midnight = town.day_start(0);
        for encounter in &day.encounters {
            assert_ne!(encounter.a, encounter.b);
            assert!(encounter.start_unix_seconds >= midnight);
            assert!(encounter.start_unix_seconds < midnight + crate::DAY_SECONDS);
        }
        for visit in &day.visits {
            assert!(visit.check_out_unix_seconds > visit.check_in_unix_seconds);
        }
    }

    #[test]
    fn overlap_counts_only_shared_minutes_at_the_same_venue() {
        let visit = |venue, from, to| Visit {
            person: 0,
            venue,
            check_in_unix_seconds: from,
            check_out_unix_seconds: to,
        };
        assert_eq!(visit(1, 0, 3600).overlap_minutes(&visit(1, 1800, 7200)), 30);
        assert_eq!(visit(1, 0, 3600).overlap_minutes(&visit(2, 1800, 7200)), 0);
        assert_eq!(visit(1, 0, 600).overlap_minutes(&visit(1, 900, 1200)), 0);
    }
}
