//! Who infects whom, when symptoms start, and when people are diagnosed.
//!
//! A deliberately plain model: an infectious person passes the virus on during an
//! encounter with probability `1 − exp(−β · minutes · closeness(distance))`, closeness
//! falling with the square of the distance beyond one metre; people are infectious from two
//! days before symptom onset to seven days after; onset comes 3 to 6 days after infection;
//! four in five infected people get symptoms, and are diagnosed one or two days after onset.

use rand::{Rng, RngExt};
use serde::Serialize;

use crate::PersonId;
use crate::life::Day;
use crate::town::Town;

/// Infection probability per minute at one metre or closer.
pub const TRANSMISSION_PER_MINUTE_AT_ONE_METRE: f64 = 0.0012;

/// When in the day physicians see the people diagnosed that day (and when the diagnosed stop
/// meeting people: they isolate).
pub const DIAGNOSIS_HOUR: u64 = 16;

/// Days before symptom onset that a person is already infectious.
pub const INFECTIOUS_DAYS_BEFORE_ONSET: i64 = 2;

/// Days after symptom onset that a person stays infectious.
pub const INFECTIOUS_DAYS_AFTER_ONSET: i64 = 7;

/// The course of one person's infection, in simulated days (may be negative for people
/// infected before the simulation starts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Infection {
    pub infected_day: i64,
    pub onset_day: i64,
    /// `None` for people who never get symptoms and so are never tested.
    pub diagnosed_day: Option<i64>,
    pub infected_by: Option<PersonId>,
}

impl Infection {
    /// Whether the person can pass the virus on during `day`.
    pub fn is_infectious_on(&self, day: i64) -> bool {
        (self.onset_day - INFECTIOUS_DAYS_BEFORE_ONSET
            ..=self.onset_day + INFECTIOUS_DAYS_AFTER_ONSET)
            .contains(&day)
    }
}

/// The state of the epidemic across the town.
#[derive(Clone, Debug, Serialize)]
pub struct Epidemic {
    pub infections: Vec<Option<Infection>>,
}

impl Epidemic {
    /// Seeds the initial infections: people infected a few days before the simulation starts.
    pub fn seed(town: &Town, rng: &mut impl Rng) -> Self {
        let mut epidemic = Self {
            infections: vec![None; town.people.len()],
        };
        let initial = ((town.people.len() as f64) * town.config.initially_infected)
            .round()
            .max(1.0) as usize;
        let mut seeded = 0;
        while seeded < initial.min(town.people.len()) {
            let person = rng.random_range(0..town.people.len());
            if epidemic.infections[person].is_none() {
                let infected_day = -rng.random_range(0..4);
                epidemic.infect(person, infected_day, None, rng);
                seeded += 1;
            }
        }
        epidemic
    }

    fn infect(
        &mut self,
        person: PersonId,
        infected_day: i64,
        infected_by: Option<PersonId>,
        rng: &mut impl Rng,
    ) {
        let onset_day = infected_day + rng.random_range(3..=6);
        let diagnosed_day = rng
            .random_bool(0.8)
            .then(|| onset_day + rng.random_range(1..=2));
        self.infections[person] = Some(Infection {
            infected_day,
            onset_day,
            diagnosed_day,
            infected_by,
        });
    }

    /// Whether `person` is infectious on `day`.
    pub fn is_infectious(&self, person: PersonId, day: i64) -> bool {
        self.infections
            .get(person)
            .copied()
            .flatten()
            .is_some_and(|infection| infection.is_infectious_on(day))
    }

    /// Lets the day's encounters transmit the virus. Returns how many people were infected.
    pub fn spread(&mut self, day: &Day, rng: &mut impl Rng) -> usize {
        let today = i64::from(day.day);
        let mut newly_infected = 0;
        for encounter in &day.encounters {
            for (source, target) in [(encounter.a, encounter.b), (encounter.b, encounter.a)] {
                if !self.is_infectious(source, today) || self.infections[target].is_some() {
                    continue;
                }
                let closeness = 1.0 / encounter.distance_m.max(1.0).powi(2);
                let exposure =
                    TRANSMISSION_PER_MINUTE_AT_ONE_METRE * f64::from(encounter.minutes) * closeness;
                if rng.random_bool(1.0 - (-exposure).exp()) {
                    self.infect(target, today, Some(source), rng);
                    newly_infected += 1;
                }
            }
        }
        newly_infected
    }

    /// The people diagnosed on `day`, with their symptom-onset day.
    pub fn diagnosed_on(&self, day: i64) -> Vec<(PersonId, i64)> {
        self.infections
            .iter()
            .enumerate()
            .filter_map(|(person, infection)| {
                let infection = infection.as_ref()?;
                (infection.diagnosed_day == Some(day)).then_some((person, infection.onset_day))
            })
            .collect()
    }

    /// How many people have been infected so far.
    pub fn infected_count(&self) -> usize {
        self.infections.iter().flatten().count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::life::{Encounter, Setting};
    use crate::town::TownConfig;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn infectious_window_surrounds_onset() {
        let infection = Infection {
            infected_day: 0,
            onset_day: 5,
            diagnosed_day: Some(6),
            infected_by: None,
        };
        assert!(!infection.is_infectious_on(2));
        assert!(infection.is_infectious_on(3));
        assert!(infection.is_infectious_on(12));
        assert!(!infection.is_infectious_on(13));
    }

    #[test]
    fn long_close_contact_infects_more_often_than_a_brief_distant_one() {
        let mut rng = StdRng::seed_from_u64(9);
        let town = Town::generate(
            TownConfig {
                people: 2,
                ..TownConfig::default()
            },
            &mut rng,
        );
        let trial = |minutes, distance_m, rng: &mut StdRng| {
            (0..400)
                .filter(|_| {
                    let mut epidemic = Epidemic {
                        infections: vec![None; 2],
                    };
                    epidemic.infections[0] = Some(Infection {
                        infected_day: -3,
                        onset_day: 1,
                        diagnosed_day: None,
                        infected_by: None,
                    });
                    let day = Day {
                        day: 0,
                        encounters: vec![Encounter {
                            a: 0,
                            b: 1,
                            start_unix_seconds: town.day_start(0),
                            minutes,
                            distance_m,
                            setting: Setting::Household,
                        }],
                        visits: vec![],
                    };
                    epidemic.spread(&day, rng) == 1
                })
                .count()
        };
        let close = trial(180, 1.0, &mut rng);
        let distant = trial(5, 8.0, &mut rng);
        assert!(close > 30, "3 h at 1 m infected only {close}/400");
        assert!(distant < close / 10, "5 min at 8 m infected {distant}/400");
    }
}
