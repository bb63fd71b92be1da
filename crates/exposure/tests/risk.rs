//! Risk scoring as a person using the app would notice it: which encounters warn, which
//! do not, and properties that must hold for any encounters (more or closer contact never
//! lowers the risk).

use exposure::interval::EnIntervalNumber;
use exposure::keys::{DiagnosisKey, ReportType, TemporaryExposureKey};
use exposure::matching::{ExposureMatch, MatchedSighting};
use exposure::risk::{
    DailySummary, Infectiousness, RiskAssessment, RiskConfiguration, RiskLevel, assess,
};
use proptest::prelude::*;

/// 2026-11-20T00:00:00Z.
const DAY_START: u64 = 1_763_596_800;
const DAY: u32 = (DAY_START / 86_400) as u32;
const MINUTE: u64 = 60;
/// The TX power our test phones advertise.
const TX_POWER: i8 = -10;

fn key(seed: u8, days_since_onset: Option<i32>, report_type: ReportType) -> DiagnosisKey {
    DiagnosisKey {
        key: TemporaryExposureKey {
            key_data: [seed; 16],
            rolling_start_interval_number: EnIntervalNumber::from_unix_seconds(DAY_START),
            rolling_period: 144,
        },
        transmission_risk_level: 0,
        report_type,
        days_since_onset_of_symptoms: days_since_onset,
    }
}

/// A sighting as the matching engine reports it for a phone `attenuation_db` away.
fn sighting(unix_seconds: u64, attenuation_db: u8) -> MatchedSighting {
    MatchedSighting {
        unix_seconds,
        interval: EnIntervalNumber::from_unix_seconds(unix_seconds),
        rssi: (i16::from(TX_POWER) - i16::from(attenuation_db)).clamp(-128, 127) as i8,
        tx_power: Some(TX_POWER),
        attenuation_db: Some(attenuation_db),
    }
}

/// Sightings every `every` seconds from `start` to `start + minutes` inclusive.
fn contact(start: u64, minutes: u64, every: u64, attenuation_db: u8) -> Vec<MatchedSighting> {
    (0..=minutes * MINUTE / every)
        .map(|i| sighting(start + i * every, attenuation_db))
        .collect()
}

fn exposure(key: DiagnosisKey, sightings: Vec<MatchedSighting>) -> ExposureMatch {
    ExposureMatch { key, sightings }
}

fn infectious_key(seed: u8) -> DiagnosisKey {
    key(seed, Some(0), ReportType::ConfirmedTest)
}

fn assess_default(matches: &[ExposureMatch]) -> RiskAssessment {
    assess(matches, &RiskConfiguration::default())
}

#[test]
fn half_an_hour_at_one_to_two_metres_with_someone_infectious_is_high_risk() {
    // ENF-like phone: one scan every 5 minutes, ~50 dB (1–2 m), from 14:00 to 14:30.
    let start = DAY_START + 14 * 3600;
    let result = assess_default(&[exposure(infectious_key(1), contact(start, 30, 300, 50))]);
    assert_eq!(result.level, RiskLevel::High);
    assert_eq!(result.level.as_str(), "high");
    assert_eq!(result.most_recent_high_risk_day, Some(DAY));
    assert_eq!(result.most_recent_exposure_day, Some(DAY));
    // Two windows (14:00–14:30 and 14:30–15:00), 2 + 6 × 5 minutes of scans.
    assert_eq!(result.windows.len(), 2);
    assert_eq!(result.exposure_minutes(), 32);
    let [summary] = result.daily_summaries[..] else {
        panic!("one day expected: {:?}", result.daily_summaries)
    };
    assert_eq!(summary.day, DAY);
    assert!((summary.score_sum - 1920.0 * 1.75).abs() < 1e-6);
}

#[test]
fn a_phone_reporting_sightings_continuously_measures_the_same_contact() {
    let start = DAY_START + 14 * 3600;
    let every_ten_seconds =
        assess_default(&[exposure(infectious_key(1), contact(start, 30, 10, 50))]);
    assert_eq!(every_ten_seconds.level, RiskLevel::High);
    // 2 minutes for the first scan, then 30-second slots up to 14:30.
    assert_eq!(every_ten_seconds.exposure_minutes(), 32);
}

#[test]
fn five_minutes_at_eight_metres_is_no_risk() {
    let start = DAY_START + 9 * 3600;
    let result = assess_default(&[exposure(infectious_key(2), contact(start, 5, 300, 80))]);
    assert_eq!(result.level, RiskLevel::None);
    assert_eq!(result.level.as_str(), "none");
    assert_eq!(result.most_recent_exposure_day, None);
    assert_eq!(result.most_recent_high_risk_day, None);
    // The encounter is known, but weighs nothing at that distance.
    assert_eq!(result.windows.len(), 1);
    assert_eq!(result.daily_summaries[0].score_sum, 0.0);
}

#[test]
fn ten_minutes_at_two_to_three_metres_is_low_risk() {
    let start = DAY_START + 9 * 3600;
    let result = assess_default(&[exposure(infectious_key(3), contact(start, 10, 300, 60))]);
    // 2 + 5 + 5 = 12 weighted minutes: above 5, below 15.
    assert_eq!(result.level, RiskLevel::Low);
    assert_eq!(result.level.as_str(), "low");
    assert_eq!(result.most_recent_exposure_day, Some(DAY));
    assert_eq!(result.most_recent_high_risk_day, None);
}

#[test]
fn a_single_close_sighting_is_not_enough_to_warn() {
    let result = assess_default(&[exposure(
        infectious_key(4),
        vec![sighting(DAY_START + 600, 40)],
    )]);
    // 2 minutes × 175 % = 3.5 weighted minutes.
    assert_eq!(result.level, RiskLevel::None);
}

#[test]
fn someone_far_from_their_onset_of_symptoms_is_no_risk() {
    let start = DAY_START + 14 * 3600;
    for days in [-10, 9, 14, 30] {
        let key = key(5, Some(days), ReportType::ConfirmedTest);
        let result = assess_default(&[exposure(key, contact(start, 60, 300, 45))]);
        assert_eq!(result.level, RiskLevel::None, "days since onset {days}");
        assert!(result.windows.is_empty());
    }
}

#[test]
fn revoked_keys_are_ignored_but_do_not_hide_others() {
    let start = DAY_START + 14 * 3600;
    let revoked = key(6, Some(0), ReportType::Revoked);
    let result = assess_default(&[exposure(revoked, contact(start, 60, 300, 45))]);
    assert_eq!(result.level, RiskLevel::None);
    assert!(result.windows.is_empty());

    let confirmed = infectious_key(7);
    let both = assess_default(&[
        exposure(revoked, contact(start, 60, 300, 45)),
        exposure(confirmed, contact(start, 30, 300, 50)),
    ]);
    assert_eq!(both.level, RiskLevel::High);
    assert!(
        both.windows
            .iter()
            .all(|w| w.report_type == ReportType::ConfirmedTest)
    );
}

#[test]
fn less_infectious_days_and_weaker_reports_need_more_contact() {
    let start = DAY_START + 14 * 3600;
    let near_half_hour = || contact(start, 30, 300, 60);
    let level = |key: DiagnosisKey| assess_default(&[exposure(key, near_half_hour())]).level;
    // 32 minutes near: 32 weighted minutes at high infectiousness …
    assert_eq!(
        level(key(8, Some(1), ReportType::ConfirmedTest)),
        RiskLevel::High
    );
    // … 9.6 at standard (four days after onset, or onset unknown) …
    assert_eq!(
        level(key(8, Some(4), ReportType::ConfirmedTest)),
        RiskLevel::Low
    );
    assert_eq!(
        level(key(8, None, ReportType::ConfirmedTest)),
        RiskLevel::Low
    );
    // … 16 for a self report on a highly infectious day, nothing for a recursive report.
    assert_eq!(
        level(key(8, Some(0), ReportType::SelfReport)),
        RiskLevel::High
    );
    assert_eq!(
        level(key(8, Some(0), ReportType::Recursive)),
        RiskLevel::None
    );
    // Unknown report types count as confirmed tests.
    assert_eq!(level(key(8, Some(0), ReportType::Unknown)), RiskLevel::High);
}

#[test]
fn short_contacts_with_several_people_add_up_over_a_day() {
    // Three 7-minute contacts at 2–3 m with three different infectious people.
    let meet = |seed: u8, start: u64| exposure(infectious_key(seed), contact(start, 5, 300, 60));
    let one = assess_default(&[meet(10, DAY_START + 8 * 3600)]);
    assert_eq!(one.level, RiskLevel::Low);

    let same_day = assess_default(&[
        meet(10, DAY_START + 8 * 3600),
        meet(11, DAY_START + 12 * 3600),
        meet(12, DAY_START + 18 * 3600),
    ]);
    assert_eq!(same_day.level, RiskLevel::High);
    assert_eq!(same_day.daily_summaries.len(), 1);
    assert!((same_day.daily_summaries[0].maximum_score - 420.0).abs() < 1e-9);
    assert!((same_day.daily_summaries[0].score_sum - 1260.0).abs() < 1e-9);

    let different_days = assess_default(&[
        meet(10, DAY_START + 8 * 3600),
        meet(11, DAY_START + 86_400 + 8 * 3600),
        meet(12, DAY_START + 2 * 86_400 + 8 * 3600),
    ]);
    assert_eq!(different_days.level, RiskLevel::Low);
    assert_eq!(different_days.most_recent_exposure_day, Some(DAY + 2));
}

#[test]
fn a_contact_over_midnight_counts_on_both_days() {
    let start = DAY_START + 86_400 - 40 * MINUTE;
    let result = assess_default(&[exposure(infectious_key(13), contact(start, 80, 300, 50))]);
    let days: Vec<u32> = result.daily_summaries.iter().map(|s| s.day).collect();
    assert_eq!(days, vec![DAY, DAY + 1]);
    assert!(result.windows.iter().all(|w| {
        w.start_unix_seconds % 1800 == 0
            && u64::from(w.date_days_since_epoch) == w.start_unix_seconds / 86_400
    }));
    assert_eq!(result.most_recent_high_risk_day, Some(DAY + 1));
    assert_eq!(result.windows.len(), 4);
}

#[test]
fn a_sighting_before_midnight_does_not_change_the_next_day() {
    let midnight = DAY_START + 86_400;
    let after_midnight = [exposure(
        infectious_key(18),
        vec![sighting(midnight + 60, 50)],
    )];
    let with_evening = [exposure(
        infectious_key(18),
        vec![sighting(midnight - 30, 45), sighting(midnight + 60, 50)],
    )];
    let next_day = |result: &RiskAssessment| {
        result
            .daily_summaries
            .iter()
            .find(|s| s.day == DAY + 1)
            .map(|s| s.score_sum)
    };
    // The scan at 00:01 stands for the 90 seconds since midnight (to its slot's end),
    // whether or not the key was also seen the evening before.
    assert_eq!(
        next_day(&assess_default(&after_midnight)),
        Some(90.0 * 1.75)
    );
    assert_eq!(next_day(&assess_default(&with_evening)), Some(90.0 * 1.75));
}

#[test]
fn the_most_recent_high_risk_day_is_reported_even_after_a_lower_day() {
    let result = assess_default(&[
        exposure(infectious_key(14), contact(DAY_START + 3600, 30, 300, 50)),
        exposure(
            infectious_key(15),
            contact(DAY_START + 86_400 + 3600, 10, 300, 60),
        ),
    ]);
    assert_eq!(result.level, RiskLevel::High);
    assert_eq!(result.most_recent_high_risk_day, Some(DAY));
    assert_eq!(result.most_recent_exposure_day, Some(DAY + 1));
}

#[test]
fn sightings_without_tx_power_are_scored_with_the_assumed_one() {
    let start = DAY_START + 14 * 3600;
    // −15 dBm assumed; −65 dBm received ⇒ 50 dB, like the known case.
    let unknown: Vec<MatchedSighting> = contact(start, 30, 300, 50)
        .into_iter()
        .map(|s| MatchedSighting {
            rssi: -65,
            tx_power: None,
            attenuation_db: None,
            ..s
        })
        .collect();
    let known = assess_default(&[exposure(infectious_key(16), contact(start, 30, 300, 50))]);
    let assumed = assess_default(&[exposure(infectious_key(16), unknown)]);
    assert_eq!(assumed.level, RiskLevel::High);
    assert_eq!(assumed.daily_summaries, known.daily_summaries);
}

#[test]
fn nothing_matched_means_no_risk() {
    let result = assess_default(&[]);
    assert_eq!(result.level, RiskLevel::None);
    assert!(result.windows.is_empty() && result.daily_summaries.is_empty());
    assert_eq!(result.exposure_seconds, 0);
    assert_eq!(format!("{}", RiskLevel::default()), "none");
}

#[test]
fn a_stricter_configuration_changes_the_verdict() {
    let start = DAY_START + 9 * 3600;
    let matches = [exposure(infectious_key(17), contact(start, 10, 300, 60))];
    let strict = RiskConfiguration {
        low_risk_daily_score_seconds: 15.0 * 60.0,
        high_risk_daily_score_seconds: 30.0 * 60.0,
        ..RiskConfiguration::default()
    };
    assert_eq!(strict.validate(), Ok(()));
    assert_eq!(assess_default(&matches).level, RiskLevel::Low);
    assert_eq!(assess(&matches, &strict).level, RiskLevel::None);
    let infectiousness_of_day_zero = strict.infectiousness(Some(0));
    assert_eq!(infectiousness_of_day_zero, Infectiousness::High);
}

// ----- properties -----

/// One key's encounters: days since onset, report type, when the encounter starts (seconds
/// after `DAY_START`, within three days), and (seconds after that start, attenuation) pairs
/// within two hours: dense enough that scans interleave and cross half hours and midnights.
type Encounter = (Option<i32>, ReportType, u64, Vec<(u64, u8)>);

/// How long one generated encounter lasts, seconds.
const ENCOUNTER_SECONDS: u64 = 2 * 3600;

fn encounter() -> impl Strategy<Value = Encounter> {
    (
        prop::option::of(-5i32..=6),
        prop::sample::select(vec![
            ReportType::Unknown,
            ReportType::ConfirmedTest,
            ReportType::ConfirmedClinicalDiagnosis,
            ReportType::SelfReport,
        ]),
        0u64..3 * 86_400,
        prop::collection::vec((0u64..ENCOUNTER_SECONDS, 30u8..=95), 0..40),
    )
}

fn to_matches(encounters: &[Encounter]) -> Vec<ExposureMatch> {
    encounters
        .iter()
        .enumerate()
        .map(|(index, (days, report_type, start, sightings))| {
            let mut sightings: Vec<MatchedSighting> = sightings
                .iter()
                .map(|&(offset, attenuation)| sighting(DAY_START + start + offset, attenuation))
                .collect();
            sightings.sort_by_key(|s| s.unix_seconds);
            exposure(key(index as u8, *days, *report_type), sightings)
        })
        .collect()
}

const SLACK: f64 = 1e-6;

/// Every day of `before` scores at most what it scores in `after`.
fn no_day_scores_less(before: &[DailySummary], after: &[DailySummary]) -> Result<(), String> {
    for old in before {
        let new = after
            .iter()
            .find(|s| s.day == old.day)
            .map_or(0.0, |s| s.score_sum);
        if new < old.score_sum - SLACK {
            return Err(format!(
                "day {} went from {} to {new}",
                old.day, old.score_sum
            ));
        }
    }
    Ok(())
}

/// Whether a day sits so close to a threshold that rounding could tip it.
fn on_a_threshold(summaries: &[DailySummary]) -> bool {
    let config = RiskConfiguration::default();
    summaries.iter().any(|s| {
        [
            config.low_risk_daily_score_seconds,
            config.high_risk_daily_score_seconds,
        ]
        .iter()
        .any(|threshold| (s.score_sum - threshold).abs() < SLACK)
    })
}

proptest! {
    #[test]
    fn moving_closer_never_lowers_the_risk(
        encounters in prop::collection::vec(encounter(), 1..5),
        closer_by in prop::collection::vec(0u8..=20, 200),
    ) {
        let before = assess_default(&to_matches(&encounters));
        let mut nearer = encounters.clone();
        let mut shift = closer_by.iter().cycle();
        for (_, _, _, sightings) in &mut nearer {
            for (_, attenuation) in sightings.iter_mut() {
                *attenuation = attenuation.saturating_sub(*shift.next().unwrap_or(&0));
            }
        }
        let after = assess_default(&to_matches(&nearer));
        prop_assume!(!on_a_threshold(&before.daily_summaries));
        no_day_scores_less(&before.daily_summaries, &after.daily_summaries)
            .map_err(TestCaseError::fail)?;
        prop_assert!(after.level >= before.level);
    }

    #[test]
    fn another_encounter_never_lowers_the_risk(
        encounters in prop::collection::vec(encounter(), 1..5),
        extra in encounter(),
    ) {
        let before = assess_default(&to_matches(&encounters));
        let mut more = encounters.clone();
        more.push(extra);
        let after = assess_default(&to_matches(&more));
        prop_assume!(!on_a_threshold(&before.daily_summaries));
        no_day_scores_less(&before.daily_summaries, &after.daily_summaries)
            .map_err(TestCaseError::fail)?;
        prop_assert!(after.level >= before.level);
        prop_assert!(after.exposure_seconds >= before.exposure_seconds);
    }

    #[test]
    fn a_sighting_no_farther_than_the_others_never_lowers_the_risk(
        encounters in prop::collection::vec(encounter(), 1..5),
        which in any::<prop::sample::Index>(),
        offset in 0u64..ENCOUNTER_SECONDS,
        closer_by in 0u8..10,
    ) {
        let before = assess_default(&to_matches(&encounters));
        let mut more = encounters.clone();
        let index = which.index(more.len());
        let (_, _, _, sightings) = &mut more[index];
        let closest = sightings.iter().map(|&(_, a)| a).min().unwrap_or(60);
        sightings.push((offset, closest.saturating_sub(closer_by)));
        let after = assess_default(&to_matches(&more));
        prop_assume!(!on_a_threshold(&before.daily_summaries));
        no_day_scores_less(&before.daily_summaries, &after.daily_summaries)
            .map_err(TestCaseError::fail)?;
        prop_assert!(after.level >= before.level);
    }

    #[test]
    fn a_later_scan_never_lowers_the_risk(
        encounters in prop::collection::vec(encounter(), 1..5),
        which in any::<prop::sample::Index>(),
        later_by in 30u64..7_200,
        attenuation in 0u8..=255,
    ) {
        let before = assess_default(&to_matches(&encounters));
        let mut more = encounters.clone();
        let index = which.index(more.len());
        let (_, _, start, sightings) = &mut more[index];
        let last = sightings.iter().map(|&(t, _)| t).max().unwrap_or(0);
        // A new 30-second slot after the key's last one.
        let last_slot = (*start + last) - (*start + last) % 30;
        sightings.push((last_slot + 30 + later_by - later_by % 30 - *start, attenuation));
        let after = assess_default(&to_matches(&more));
        prop_assume!(!on_a_threshold(&before.daily_summaries));
        no_day_scores_less(&before.daily_summaries, &after.daily_summaries)
            .map_err(TestCaseError::fail)?;
        prop_assert!(after.level >= before.level);
    }

    #[test]
    fn any_input_gives_an_answer_and_windows_stay_inside_their_half_hour_and_day(
        raw in prop::collection::vec(
            (any::<u64>(), any::<i8>(), prop::option::of(any::<i8>()), prop::option::of(any::<u8>())),
            0..60,
        ),
        days in prop::option::of(any::<i32>()),
        report in 0i32..=5,
    ) {
        let sightings: Vec<MatchedSighting> = raw
            .iter()
            .map(|&(unix_seconds, rssi, tx_power, attenuation_db)| MatchedSighting {
                unix_seconds,
                interval: EnIntervalNumber::from_unix_seconds(unix_seconds),
                rssi,
                tx_power,
                attenuation_db,
            })
            .collect();
        let report_type = ReportType::from_wire(report).unwrap_or_default();
        let result = assess_default(&[exposure(key(1, days, report_type), sightings)]);
        for window in &result.windows {
            prop_assert_eq!(window.start_unix_seconds % 1800, 0);
            prop_assert!(!window.scan_instances.is_empty());
            prop_assert!(window.scan_instances.len() <= 60);
            // At most 300 s for the first scan, then the gaps inside the half hour.
            prop_assert!(window.duration_seconds() <= 300 + 1770);
            prop_assert_ne!(window.report_type, ReportType::Revoked);
            prop_assert_ne!(window.infectiousness, Infectiousness::None);
        }
        prop_assert!(result.daily_summaries.windows(2).all(|pair| pair[0].day < pair[1].day));
    }
}
