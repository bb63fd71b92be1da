//! Matching published reports on the devices that may read them, and scoring the risk.
//!
//! - A guest's phone: its own check-ins against downloaded reports. A report whose
//!   `locationIdHash` is one of the phone's venues is MAC-checked and decrypted with that
//!   venue's location id; its time window is compared with the guest's stay. Per venue
//!   and UTC day: risk score = Σ weight(TRL) × overlapping minutes; ≥ 10 is high risk.
//! - A venue owner: the location ids of their own venues against the same reports, to
//!   learn on which days and at what times a positive visitor was there.
//!
//! Reports that fail the MAC (hash collisions, tampering) are ignored. A report seen twice
//! (the same bytes in two downloads) counts once.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::location_id::{LocationId, LocationIdHash};
use crate::messages::{CheckInProtectedReport, CheckInRecord};
use crate::time_derivation::{TimeWindow, UtcDay};

/// Risk score per venue and day from which a guest is at high risk.
pub const HIGH_RISK_THRESHOLD: f64 = 10.0;

/// Weight of a transmission risk level (CWA's production mapping): 1–2 weigh nothing,
/// 3–8 weigh 0.6 to 1.6; anything else is not a valid level and weighs nothing.
pub fn transmission_risk_weight(transmission_risk_level: u32) -> f64 {
    match transmission_risk_level {
        3 => 0.6,
        4 => 0.8,
        5 => 1.0,
        6 => 1.2,
        7 => 1.4,
        8 => 1.6,
        _ => 0.0,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RiskLevel {
    Low,
    High,
}

impl RiskLevel {
    pub fn from_score(risk_score: f64) -> Self {
        if risk_score >= HIGH_RISK_THRESHOLD {
            RiskLevel::High
        } else {
            RiskLevel::Low
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::Low => "low",
            RiskLevel::High => "high",
        }
    }
}

/// A check-in as the guest's phone keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestCheckIn {
    pub location_id: LocationId,
    /// The venue's name from its QR code, to show in the warning.
    pub description: String,
    /// Unix seconds.
    pub check_in: u64,
    pub check_out: u64,
}

/// What a guest is told: where, which day, how long they overlapped, how risky.
#[derive(Clone, Debug, PartialEq)]
pub struct VenueWarning {
    pub location_id_hash: LocationIdHash,
    pub description: String,
    pub day: UtcDay,
    /// From the first to the last overlapping moment that day (unix seconds), to tell the
    /// guest when.
    pub overlap_window: TimeWindow,
    pub overlap_minutes: u64,
    pub risk_score: f64,
    pub risk_level: RiskLevel,
}

/// Matches a guest's check-ins against downloaded reports; one warning per venue and UTC
/// day with at least one minute of overlap, ordered by day then venue.
pub fn match_guest_check_ins(
    check_ins: &[GuestCheckIn],
    reports: &[CheckInProtectedReport],
) -> Vec<VenueWarning> {
    let mut by_hash: HashMap<LocationIdHash, Vec<&GuestCheckIn>> = HashMap::new();
    for check_in in check_ins {
        by_hash
            .entry(check_in.location_id.hash())
            .or_default()
            .push(check_in);
    }
    struct DayTotal<'a> {
        description: &'a str,
        overlap_window: TimeWindow,
        overlap_minutes: u64,
        risk_score: f64,
    }
    let mut totals: BTreeMap<(UtcDay, LocationIdHash), DayTotal> = BTreeMap::new();
    for (hash, report) in distinct_reports_for(&by_hash, reports) {
        let Some(check_ins) = by_hash.get(&hash) else {
            continue;
        };
        // All check-ins share the location id; one decryption serves them all.
        let Some(record) = check_ins
            .first()
            .and_then(|c| readable_record(report, &c.location_id))
        else {
            continue;
        };
        let reported = TimeWindow::from_record(&record);
        let weight = transmission_risk_weight(record.transmission_risk_level);
        for check_in in check_ins {
            let stay = TimeWindow::new(check_in.check_in, check_in.check_out);
            let overlap_seconds = stay.overlap_seconds(&reported);
            let overlap_minutes = (overlap_seconds + 30) / 60;
            if overlap_minutes == 0 {
                continue;
            }
            let overlap =
                TimeWindow::new(stay.start.max(reported.start), stay.end.min(reported.end));
            let day = UtcDay::containing(overlap.start);
            let total = totals.entry((day, hash)).or_insert(DayTotal {
                description: &check_in.description,
                overlap_window: overlap,
                overlap_minutes: 0,
                risk_score: 0.0,
            });
            total.overlap_window = TimeWindow::new(
                total.overlap_window.start.min(overlap.start),
                total.overlap_window.end.max(overlap.end),
            );
            total.overlap_minutes += overlap_minutes;
            total.risk_score += weight * overlap_minutes as f64;
        }
    }
    totals
        .into_iter()
        .map(|((day, hash), total)| VenueWarning {
            location_id_hash: hash,
            description: total.description.to_owned(),
            day,
            overlap_window: total.overlap_window,
            overlap_minutes: total.overlap_minutes,
            risk_score: total.risk_score,
            risk_level: RiskLevel::from_score(total.risk_score),
        })
        .collect()
}

/// A venue as its owner keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedVenue {
    pub location_id: LocationId,
    pub description: String,
}

/// A report about one of the owner's venues: when a positive visitor was there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VenueReport {
    pub location_id_hash: LocationIdHash,
    pub description: String,
    pub day: UtcDay,
    /// The reported window (already extended by the visitor's phone for aerosols).
    pub window: TimeWindow,
    pub transmission_risk_level: u32,
}

impl VenueReport {
    /// The level a guest present during the whole reported window is warned at: how an
    /// owner is told about a report, rather than by its transmission risk level.
    pub fn risk_level(&self) -> RiskLevel {
        let minutes = self.window.duration_seconds() / 60;
        RiskLevel::from_score(
            transmission_risk_weight(self.transmission_risk_level) * minutes as f64,
        )
    }
}

/// The reports that concern the owner's venues, ordered by time then venue.
pub fn match_owned_venues(
    venues: &[OwnedVenue],
    reports: &[CheckInProtectedReport],
) -> Vec<VenueReport> {
    let by_hash: HashMap<LocationIdHash, Vec<&OwnedVenue>> =
        venues.iter().fold(HashMap::new(), |mut map, venue| {
            map.entry(venue.location_id.hash()).or_default().push(venue);
            map
        });
    let mut found = Vec::new();
    for (hash, report) in distinct_reports_for(&by_hash, reports) {
        let Some(venue) = by_hash.get(&hash).and_then(|venues| venues.first()) else {
            continue;
        };
        let Some(record) = readable_record(report, &venue.location_id) else {
            continue;
        };
        let window = TimeWindow::from_record(&record);
        found.push(VenueReport {
            location_id_hash: hash,
            description: venue.description.clone(),
            day: window.utc_day(),
            window,
            transmission_risk_level: record.transmission_risk_level,
        });
    }
    found.sort_by(|a, b| {
        (a.window, a.location_id_hash, a.transmission_risk_level).cmp(&(
            b.window,
            b.location_id_hash,
            b.transmission_risk_level,
        ))
    });
    found
}

/// The report's record, if the MAC holds and the record is one a phone could have sent.
fn readable_record(
    report: &CheckInProtectedReport,
    location_id: &LocationId,
) -> Option<CheckInRecord> {
    let record = report.decrypt(location_id).ok()?;
    let valid = record.period > 0 && (1..=8).contains(&record.transmission_risk_level);
    valid.then_some(record)
}

/// The reports whose hash is one of `wanted`, each distinct report once.
fn distinct_reports_for<'r, T>(
    wanted: &HashMap<LocationIdHash, T>,
    reports: &'r [CheckInProtectedReport],
) -> Vec<(LocationIdHash, &'r CheckInProtectedReport)> {
    let mut seen: HashSet<&CheckInProtectedReport> = HashSet::new();
    reports
        .iter()
        .filter_map(|report| {
            let hash = report.location_id_hash()?;
            (wanted.contains_key(&hash) && seen.insert(report)).then_some((hash, report))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;
    use crate::check_in_report::{encrypt_check_in_record, fake_report};

    const CAFE: LocationId = LocationId([7; 32]);
    const BAR: LocationId = LocationId([8; 32]);
    /// 2021-03-04 00:00 UTC.
    const DAY_START: u64 = 1_614_816_000;

    fn at(hour: u64, minute: u64) -> u64 {
        DAY_START + hour * 3600 + minute * 60
    }

    fn guest(location_id: LocationId, from: u64, to: u64) -> GuestCheckIn {
        GuestCheckIn {
            location_id,
            description: "Café".into(),
            check_in: from,
            check_out: to,
        }
    }

    /// A positive visitor's report for [from, to) with the given level.
    fn report(
        location_id: LocationId,
        from: u64,
        to: u64,
        level: u32,
        rng: &mut StdRng,
    ) -> CheckInProtectedReport {
        let record = TimeWindow::new(from, to).to_record(level).unwrap();
        encrypt_check_in_record(&location_id, &record, rng)
    }

    #[test]
    fn a_guest_who_overlapped_is_warned_and_one_who_came_later_is_not() {
        let mut rng = StdRng::seed_from_u64(1);
        let reports = vec![
            report(CAFE, at(12, 0), at(13, 0), 7, &mut rng),
            fake_report(&mut rng),
        ];

        let overlapping = match_guest_check_ins(&[guest(CAFE, at(12, 30), at(14, 0))], &reports);
        assert_eq!(overlapping.len(), 1);
        let warning = &overlapping[0];
        assert_eq!(warning.location_id_hash, CAFE.hash());
        assert_eq!(warning.description, "Café");
        assert_eq!(warning.day, UtcDay::containing(DAY_START));
        assert_eq!(
            warning.overlap_window,
            TimeWindow::new(at(12, 30), at(13, 0))
        );
        assert_eq!(warning.overlap_minutes, 30);
        assert!((warning.risk_score - 42.0).abs() < 1e-9);
        assert_eq!(warning.risk_level, RiskLevel::High);

        let later = match_guest_check_ins(&[guest(CAFE, at(13, 0), at(14, 0))], &reports);
        assert!(later.is_empty());
        let elsewhere = match_guest_check_ins(&[guest(BAR, at(12, 0), at(13, 0))], &reports);
        assert!(elsewhere.is_empty());
    }

    #[test]
    fn risk_is_high_from_a_score_of_ten() {
        let mut rng = StdRng::seed_from_u64(2);
        // Level 5 weighs 1.0: 9 minutes is low, 10 minutes is high.
        let reports = vec![report(CAFE, at(12, 0), at(13, 0), 5, &mut rng)];
        let nine = match_guest_check_ins(&[guest(CAFE, at(11, 0), at(12, 9))], &reports);
        assert_eq!(nine[0].overlap_minutes, 9);
        assert_eq!(nine[0].risk_level, RiskLevel::Low);
        let ten = match_guest_check_ins(&[guest(CAFE, at(11, 0), at(12, 10))], &reports);
        assert_eq!(ten[0].risk_level, RiskLevel::High);
        assert!((ten[0].risk_score - 10.0).abs() < 1e-9);
    }

    #[test]
    fn low_transmission_levels_weigh_nothing() {
        let mut rng = StdRng::seed_from_u64(3);
        let reports = vec![report(CAFE, at(12, 0), at(14, 0), 2, &mut rng)];
        let warnings = match_guest_check_ins(&[guest(CAFE, at(12, 0), at(14, 0))], &reports);
        assert_eq!(warnings[0].overlap_minutes, 120);
        assert_eq!(warnings[0].risk_score, 0.0);
        assert_eq!(warnings[0].risk_level, RiskLevel::Low);
    }

    #[test]
    fn reports_add_up_per_venue_and_day_and_duplicates_count_once() {
        let mut rng = StdRng::seed_from_u64(4);
        let first = report(CAFE, at(12, 0), at(12, 30), 5, &mut rng);
        let second = report(CAFE, at(12, 10), at(12, 40), 5, &mut rng);
        let reports = vec![first.clone(), second, first];
        let warnings = match_guest_check_ins(&[guest(CAFE, at(12, 0), at(13, 0))], &reports);
        assert_eq!(warnings.len(), 1);
        assert_eq!(
            warnings[0].overlap_window,
            TimeWindow::new(at(12, 0), at(12, 40))
        );
        assert_eq!(warnings[0].overlap_minutes, 60);
        assert!((warnings[0].risk_score - 60.0).abs() < 1e-9);
    }

    #[test]
    fn a_tampered_report_warns_nobody() {
        let mut rng = StdRng::seed_from_u64(5);
        let mut tampered = report(CAFE, at(12, 0), at(13, 0), 8, &mut rng);
        tampered.encrypted_check_in_record[0] ^= 1;
        assert!(
            match_guest_check_ins(&[guest(CAFE, at(12, 0), at(13, 0))], &[tampered]).is_empty()
        );
    }

    #[test]
    fn records_no_phone_could_send_are_ignored() {
        let mut rng = StdRng::seed_from_u64(7);
        let invalid = [
            CheckInRecord {
                start_interval_number: 2_691_360 + 72,
                period: 6,
                transmission_risk_level: 9,
            },
            CheckInRecord {
                start_interval_number: 2_691_360 + 72,
                period: 0,
                transmission_risk_level: 8,
            },
        ];
        let reports: Vec<CheckInProtectedReport> = invalid
            .iter()
            .map(|record| encrypt_check_in_record(&CAFE, record, &mut rng))
            .collect();
        assert!(match_guest_check_ins(&[guest(CAFE, at(11, 0), at(14, 0))], &reports).is_empty());
        let venues = [OwnedVenue {
            location_id: CAFE,
            description: "Café".into(),
        }];
        assert!(match_owned_venues(&venues, &reports).is_empty());
    }

    #[test]
    fn an_owner_learns_when_a_positive_visitor_was_there() {
        let mut rng = StdRng::seed_from_u64(6);
        let reports = vec![
            report(BAR, at(20, 0), at(21, 0), 6, &mut rng),
            report(CAFE, at(12, 0), at(13, 0), 7, &mut rng),
            fake_report(&mut rng),
        ];
        let venues = [OwnedVenue {
            location_id: CAFE,
            description: "Café".into(),
        }];
        let found = match_owned_venues(&venues, &reports);
        assert_eq!(
            found,
            vec![VenueReport {
                location_id_hash: CAFE.hash(),
                description: "Café".into(),
                day: UtcDay::containing(DAY_START),
                window: TimeWindow::new(at(12, 0), at(13, 0)),
                transmission_risk_level: 7,
            }]
        );
    }

    #[test]
    fn weights_follow_the_published_table() {
        let weights: Vec<f64> = (0..=9).map(transmission_risk_weight).collect();
        assert_eq!(
            weights,
            vec![0.0, 0.0, 0.0, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 0.0]
        );
    }

    #[test]
    fn an_owner_reads_a_reports_level_as_a_guest_present_all_along_would() {
        let report = |minutes: u64, level: u32| VenueReport {
            location_id_hash: LocationId([7; 32]).hash(),
            description: "Café".into(),
            day: UtcDay::containing(0),
            window: TimeWindow::new(0, minutes * 60),
            transmission_risk_level: level,
        };
        // 90 minutes at level 8 (an owner's warning): 144 weighted minutes.
        assert_eq!(report(90, 8).risk_level(), RiskLevel::High);
        // 10 minutes at level 3: 6 weighted minutes, under the threshold of 10.
        assert_eq!(report(10, 3).risk_level(), RiskLevel::Low);
        assert_eq!(report(600, 2).risk_level(), RiskLevel::Low);
    }
}
