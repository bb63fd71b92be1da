//! The population: households, workplaces, venues, and who runs the app.

use rand::seq::SliceRandom;
use rand::{Rng, RngExt};
use serde::Serialize;

use crate::{PersonId, VenueId};

/// The shape of the town to simulate. The defaults give the demo: a few hundred people,
/// a dozen venues, two weeks, finishing in seconds.
#[derive(Clone, Debug, Serialize)]
pub struct TownConfig {
    pub people: usize,
    pub venues: usize,
    pub days: u32,
    /// Unix seconds of the first simulated midnight (UTC).
    pub start_unix_seconds: u64,
    /// Share of people who run the app (and so broadcast, record and can be warned).
    pub app_adoption: f64,
    /// Share of people infected on day 0.
    pub initially_infected: f64,
    /// Share of diagnosed app users who go on to report with their physician's code.
    pub report_share: f64,
    /// Share of app users' visits at which they scan the venue's code on arrival.
    pub check_in_share: f64,
    /// Share of checked-in visits at which they check out on leaving (and correct the end
    /// if the phone had already checked them out by itself); the others forget, and the
    /// phone's automatic check-out ends the stay.
    pub check_out_share: f64,
    pub seed: u64,
}

impl Default for TownConfig {
    fn default() -> Self {
        Self {
            people: 300,
            venues: 12,
            days: 14,
            // Monday 2026-11-02 00:00:00 UTC.
            start_unix_seconds: 1_793_577_600,
            app_adoption: 0.9,
            initially_infected: 0.03,
            report_share: 0.8,
            check_in_share: 1.0,
            check_out_share: 1.0,
            seed: 2020,
        }
    }
}

/// What kind of place a venue is; the numbers are the CWA location types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum VenueKind {
    Retail,
    FoodService,
    Craft,
    CulturalEvent,
    ClubActivity,
    WorshipService,
}

impl VenueKind {
    const ALL: [VenueKind; 6] = [
        VenueKind::FoodService,
        VenueKind::Retail,
        VenueKind::CulturalEvent,
        VenueKind::Craft,
        VenueKind::ClubActivity,
        VenueKind::WorshipService,
    ];

    /// The CWA location type number of the permanent place (PROTOCOLS.md §5).
    pub fn cwa_type(self) -> u32 {
        match self {
            VenueKind::Retail => 3,
            VenueKind::FoodService => 4,
            VenueKind::Craft => 5,
            // Cinemas, museums, clubs and places of worship here are permanent places, not
            // one-off events (CWA types 9-12 are temporary and need a start and an end).
            VenueKind::CulturalEvent => 8,
            VenueKind::ClubActivity | VenueKind::WorshipService => 1,
        }
    }

    /// How long a typical visit lasts, in minutes: the venue's default check-in length.
    pub fn typical_stay_minutes(self) -> u32 {
        match self {
            VenueKind::Retail => 20,
            VenueKind::FoodService => 90,
            VenueKind::Craft => 45,
            VenueKind::CulturalEvent => 150,
            VenueKind::ClubActivity => 120,
            VenueKind::WorshipService => 75,
        }
    }

    fn names(self) -> &'static [&'static str] {
        match self {
            VenueKind::Retail => &["Librairie du Port", "Épicerie Centrale", "Fleurs & Co"],
            VenueKind::FoodService => &["Café de la Gare", "Brasserie du Marché", "Chez Lina"],
            VenueKind::Craft => &["Salon Ciseaux d'Or", "Atelier Vélo"],
            VenueKind::CulturalEvent => &["Cinéma Lumière", "Musée des Beaux-Arts"],
            VenueKind::ClubActivity => &["Club de Badminton", "Chorale Municipale"],
            VenueKind::WorshipService => &["Temple de la Paix"],
        }
    }
}

/// A venue with a QR code at its door.
#[derive(Clone, Debug, Serialize)]
pub struct Venue {
    pub id: VenueId,
    pub name: String,
    pub address: String,
    pub kind: VenueKind,
    /// How many people it holds comfortably; crowding raises chance meetings inside.
    pub capacity: usize,
}

/// A person of the town.
#[derive(Clone, Debug, Serialize)]
pub struct Person {
    pub id: PersonId,
    pub household: usize,
    /// `None` for people who stay home on weekdays.
    pub workplace: Option<usize>,
    pub has_app: bool,
    /// How likely this person is to go out on a given evening (0–1).
    pub sociability: f64,
}

/// The whole population.
#[derive(Clone, Debug, Serialize)]
pub struct Town {
    pub config: TownConfig,
    pub people: Vec<Person>,
    /// Members of each household.
    pub households: Vec<Vec<PersonId>>,
    /// Members of each workplace or school class.
    pub workplaces: Vec<Vec<PersonId>>,
    pub venues: Vec<Venue>,
}

impl Town {
    /// Builds a town from its configuration; the same seed always gives the same town.
    pub fn generate(config: TownConfig, rng: &mut impl Rng) -> Self {
        let mut people = Vec::with_capacity(config.people);
        let mut households: Vec<Vec<PersonId>> = Vec::new();
        while people.len() < config.people {
            // Household sizes roughly as in a European town: many singles and couples.
            let size = match rng.random_range(0..100) {
                0..=29 => 1,
                30..=62 => 2,
                63..=79 => 3,
                80..=93 => 4,
                _ => 5,
            }
            .min(config.people - people.len());
            let household = households.len();
            let mut members = Vec::with_capacity(size);
            for _ in 0..size {
                let id = people.len();
                people.push(Person {
                    id,
                    household,
                    workplace: None,
                    has_app: rng.random_bool(config.app_adoption.clamp(0.0, 1.0)),
                    sociability: rng.random_range(0.05..0.45),
                });
                members.push(id);
            }
            households.push(members);
        }

        // Four people in five go to a workplace or a school class of 6 to 16 people.
        let mut workers: Vec<PersonId> =
            (0..people.len()).filter(|_| rng.random_bool(0.8)).collect();
        workers.shuffle(rng);
        let mut workplaces = Vec::new();
        let mut rest = workers.as_slice();
        while !rest.is_empty() {
            let size = rng.random_range(6..=16).min(rest.len());
            let (members, tail) = rest.split_at(size);
            for &person in members {
                people[person].workplace = Some(workplaces.len());
            }
            workplaces.push(members.to_vec());
            rest = tail;
        }

        let venues = (0..config.venues)
            .map(|id| {
                let kind = VenueKind::ALL[id % VenueKind::ALL.len()];
                let names = kind.names();
                let name = names[(id / VenueKind::ALL.len()) % names.len()].to_string();
                Venue {
                    id,
                    name,
                    address: format!("{} rue de la République", 2 + 7 * id),
                    kind,
                    capacity: rng.random_range(15..60),
                }
            })
            .collect();

        Self {
            config,
            people,
            households,
            workplaces,
            venues,
        }
    }

    /// Unix seconds of the midnight that starts simulated day `day`.
    pub fn day_start(&self, day: u32) -> u64 {
        self.config.start_unix_seconds + u64::from(day) * crate::DAY_SECONDS
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn every_person_lives_in_exactly_one_household() {
        let town = Town::generate(TownConfig::default(), &mut StdRng::seed_from_u64(1));
        assert_eq!(town.people.len(), 300);
        let mut seen = vec![0; town.people.len()];
        for members in &town.households {
            assert!((1..=5).contains(&members.len()));
            for &person in members {
                seen[person] += 1;
            }
        }
        assert!(seen.iter().all(|&count| count == 1));
        assert_eq!(town.venues.len(), 12);
    }

    #[test]
    fn same_seed_same_town() {
        let a = Town::generate(TownConfig::default(), &mut StdRng::seed_from_u64(7));
        let b = Town::generate(TownConfig::default(), &mut StdRng::seed_from_u64(7));
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
    }
}
