//! Exposure windows and scan instances built from matched sightings (see the [module docs](super)).

use super::configuration::{Infectiousness, RiskConfiguration};
use crate::keys::ReportType;
use crate::matching::{ExposureMatch, MatchedSighting, attenuation_db};

/// Length of the fixed time slots that stand for one Bluetooth scan, seconds.
///
/// ENF scans for about 4 s (17 s while Bluetooth audio is in use) every 3.5–5 minutes, and
/// treats sightings less than 1.5 × 17 s apart as one scan. Fixed 30-second slots aligned to
/// the epoch keep one real scan in one slot (bar the rare scan that straddles an edge) and,
/// unlike chaining sightings, never regroup existing sightings when a new one is added.
pub const SCAN_SLOT_SECONDS: u64 = 30;

/// Length of an exposure window, seconds; windows are aligned to UTC half hours (ENF: at
/// most 30 minutes per window).
pub const WINDOW_SECONDS: u64 = 30 * 60;

/// Most time one scan instance can stand for (ENF `maxMinutesSinceLastScan`, 5 minutes).
pub const MAXIMUM_SECONDS_SINCE_LAST_SCAN: u32 = 5 * 60;

/// Time the first scan of a key stands for, when no earlier scan of it is known
/// (ENF `defaultMinutesSinceLastScan`, 2 minutes).
pub const DEFAULT_SECONDS_SINCE_LAST_SCAN: u32 = 2 * 60;

/// Seconds in a UTC day.
pub const SECONDS_PER_DAY: u64 = 24 * 60 * 60;

/// How much the attenuations of a window can be trusted (GAEN `CalibrationConfidence`).
///
/// `MatchedSighting` does not carry the advertiser's calibration bits, so only two levels
/// occur here: `Lowest` when a TX power had to be assumed, `Low` otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CalibrationConfidence {
    Lowest = 0,
    Low = 1,
    Medium = 2,
    High = 3,
}

/// The sightings of one key in one scan (GAEN `ScanInstance`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ScanInstance {
    /// Mean attenuation of the scan's sightings in dB, rounded half up (as ENF does).
    pub typical_attenuation_db: u8,
    /// Smallest attenuation (closest reading) of the scan's sightings, dB.
    pub min_attenuation_db: u8,
    /// The time this scan stands for: since the previous scan that saw this key
    /// ([`DEFAULT_SECONDS_SINCE_LAST_SCAN`] for its first), at most
    /// [`MAXIMUM_SECONDS_SINCE_LAST_SCAN`], and never reaching back past UTC midnight (the
    /// end of the scan's 30-second slot counts as its time).
    pub seconds_since_last_scan: u32,
}

/// Up to 30 minutes of scans of one key within one UTC day (GAEN `ExposureWindow`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ExposureWindow {
    /// The UTC day of the window (days since 1970-01-01).
    pub date_days_since_epoch: u32,
    /// The first second of the window's half hour (more precise than ENF, which gives only
    /// the day; phones can show it to say *when*).
    pub start_unix_seconds: u64,
    /// The key's report type after mapping `Unknown`; never `Revoked` or `Unknown`.
    pub report_type: ReportType,
    /// The key's infectiousness on its day; never `None`.
    pub infectiousness: Infectiousness,
    pub calibration_confidence: CalibrationConfidence,
    /// In time order; never empty.
    pub scan_instances: Vec<ScanInstance>,
}

impl ExposureWindow {
    /// Seconds the window's scans stand for, unweighted.
    pub fn duration_seconds(&self) -> u64 {
        self.scan_instances
            .iter()
            .map(|scan| u64::from(scan.seconds_since_last_scan))
            .sum()
    }
}

/// The exposure windows of all matches, key after key, each key's in time order.
///
/// Keys whose report type is `Revoked`, or whose infectiousness is `None`, yield none.
pub fn exposure_windows(
    matches: &[ExposureMatch],
    config: &RiskConfiguration,
) -> Vec<ExposureWindow> {
    matches
        .iter()
        .flat_map(|exposure| windows_of_match(exposure, config))
        .collect()
}

/// One sighting reduced to what scoring needs.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Reading {
    unix_seconds: u64,
    attenuation_db: u8,
    tx_power_known: bool,
}

fn reading(sighting: &MatchedSighting, config: &RiskConfiguration) -> Reading {
    let (attenuation_db, tx_power_known) = match (sighting.attenuation_db, sighting.tx_power) {
        (Some(attenuation), _) => (attenuation, true),
        (None, Some(tx_power)) => (attenuation_db(tx_power, sighting.rssi), true),
        (None, None) => (
            attenuation_db(config.tx_power_when_unknown_dbm, sighting.rssi),
            false,
        ),
    };
    Reading {
        unix_seconds: sighting.unix_seconds,
        attenuation_db,
        tx_power_known,
    }
}

fn windows_of_match(exposure: &ExposureMatch, config: &RiskConfiguration) -> Vec<ExposureWindow> {
    let report_type = config.effective_report_type(exposure.key.report_type);
    let infectiousness = config.infectiousness(exposure.key.days_since_onset_of_symptoms);
    if matches!(report_type, ReportType::Revoked | ReportType::Unknown)
        || infectiousness == Infectiousness::None
    {
        return Vec::new();
    }

    let mut readings: Vec<Reading> = exposure
        .sightings
        .iter()
        .map(|sighting| reading(sighting, config))
        .collect();
    // The matching engine promises time order; sorting anyway keeps this total on any input.
    readings.sort_unstable();

    let mut windows: Vec<ExposureWindow> = Vec::new();
    let mut previous_slot_start: Option<u64> = None;
    for scan in readings.chunk_by(|a, b| slot_start(a.unix_seconds) == slot_start(b.unix_seconds)) {
        let Some(first) = scan.first() else { continue };
        let start = slot_start(first.unix_seconds);
        let since_previous = match previous_slot_start {
            None => DEFAULT_SECONDS_SINCE_LAST_SCAN,
            Some(previous) => u32::try_from(start - previous).unwrap_or(u32::MAX),
        };
        // Time before midnight belongs to the previous day's windows: crediting it here
        // would let a sighting on one day lower the score of the next.
        let since_midnight =
            u32::try_from(start % SECONDS_PER_DAY + SCAN_SLOT_SECONDS).unwrap_or(u32::MAX);
        let seconds_since_last_scan = since_previous
            .min(MAXIMUM_SECONDS_SINCE_LAST_SCAN)
            .min(since_midnight);
        previous_slot_start = Some(start);

        let instance = ScanInstance {
            typical_attenuation_db: rounded_mean(scan),
            min_attenuation_db: scan.iter().map(|r| r.attenuation_db).min().unwrap_or(0),
            seconds_since_last_scan,
        };
        let all_known = scan.iter().all(|r| r.tx_power_known);
        let window_start = start - start % WINDOW_SECONDS;

        match windows.last_mut() {
            Some(window) if window.start_unix_seconds == window_start => {
                window.scan_instances.push(instance);
                if !all_known {
                    window.calibration_confidence = CalibrationConfidence::Lowest;
                }
            }
            _ => windows.push(ExposureWindow {
                date_days_since_epoch: u32::try_from(window_start / SECONDS_PER_DAY)
                    .unwrap_or(u32::MAX),
                start_unix_seconds: window_start,
                report_type,
                infectiousness,
                calibration_confidence: if all_known {
                    CalibrationConfidence::Low
                } else {
                    CalibrationConfidence::Lowest
                },
                scan_instances: vec![instance],
            }),
        }
    }
    windows
}

fn slot_start(unix_seconds: u64) -> u64 {
    unix_seconds - unix_seconds % SCAN_SLOT_SECONDS
}

/// The mean attenuation rounded half up; `scan` is never empty here.
fn rounded_mean(scan: &[Reading]) -> u8 {
    let count = scan.len() as u128;
    if count == 0 {
        return 0;
    }
    let sum: u128 = scan.iter().map(|r| u128::from(r.attenuation_db)).sum();
    u8::try_from((2 * sum + count) / (2 * count)).unwrap_or(u8::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interval::EnIntervalNumber;
    use crate::keys::{DiagnosisKey, TemporaryExposureKey};

    const NOON: u64 = 1_700_006_400 + 12 * 3600; // 2023-11-15T12:00:00Z, a half-hour edge

    fn key(days_since_onset: Option<i32>, report_type: ReportType) -> DiagnosisKey {
        DiagnosisKey {
            key: TemporaryExposureKey {
                key_data: [7; 16],
                rolling_start_interval_number: EnIntervalNumber::from_unix_seconds(NOON)
                    .day_start(),
                rolling_period: 144,
            },
            transmission_risk_level: 0,
            report_type,
            days_since_onset_of_symptoms: days_since_onset,
        }
    }

    fn sighting(unix_seconds: u64, attenuation_db: u8) -> MatchedSighting {
        MatchedSighting {
            unix_seconds,
            interval: EnIntervalNumber::from_unix_seconds(unix_seconds),
            rssi: (-10 - i16::from(attenuation_db)).clamp(-128, 0) as i8,
            tx_power: Some(-10),
            attenuation_db: Some(attenuation_db),
        }
    }

    fn windows(sightings: Vec<MatchedSighting>) -> Vec<ExposureWindow> {
        let exposure = ExposureMatch {
            key: key(Some(0), ReportType::ConfirmedTest),
            sightings,
        };
        exposure_windows(&[exposure], &RiskConfiguration::default())
    }

    #[test]
    fn sightings_of_one_scan_form_one_instance_with_mean_and_minimum() {
        let found = windows(vec![
            sighting(NOON + 1, 50),
            sighting(NOON + 2, 53),
            sighting(NOON + 4, 60),
        ]);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].scan_instances,
            vec![ScanInstance {
                typical_attenuation_db: 54, // (50 + 53 + 60) / 3 = 54.33
                min_attenuation_db: 50,
                seconds_since_last_scan: DEFAULT_SECONDS_SINCE_LAST_SCAN,
            }]
        );
        assert_eq!(found[0].date_days_since_epoch, (NOON / 86_400) as u32);
        assert_eq!(found[0].start_unix_seconds, NOON);
        assert_eq!(found[0].calibration_confidence, CalibrationConfidence::Low);
    }

    #[test]
    fn means_round_half_up_like_enf() {
        let found = windows(vec![sighting(NOON, 50), sighting(NOON + 1, 51)]);
        assert_eq!(found[0].scan_instances[0].typical_attenuation_db, 51);
    }

    #[test]
    fn each_scan_stands_for_the_time_since_the_previous_one_capped_at_five_minutes() {
        let found = windows(vec![
            sighting(NOON + 5, 50),
            sighting(NOON + 65, 50),    // 60 s later
            sighting(NOON + 365, 50),   // 300 s later
            sighting(NOON + 1_565, 50), // 20 minutes later: capped
        ]);
        let seconds: Vec<u32> = found[0]
            .scan_instances
            .iter()
            .map(|scan| scan.seconds_since_last_scan)
            .collect();
        assert_eq!(seconds, vec![120, 60, 300, 300]);
        assert_eq!(found[0].duration_seconds(), 780);
    }

    #[test]
    fn unsorted_sightings_give_the_same_windows_as_sorted_ones() {
        let sorted = vec![
            sighting(NOON, 50),
            sighting(NOON + 300, 60),
            sighting(NOON + 2_000, 70),
        ];
        let mut shuffled = sorted.clone();
        shuffled.reverse();
        assert_eq!(windows(shuffled), windows(sorted));
    }

    #[test]
    fn windows_split_at_half_hours_and_the_scan_time_carries_over() {
        // Scans every 5 minutes for an hour: two windows of six scans, then one more.
        let found = windows((0..=12).map(|i| sighting(NOON + i * 300, 50)).collect());
        assert_eq!(found.len(), 3);
        assert_eq!(found[0].start_unix_seconds, NOON);
        assert_eq!(found[1].start_unix_seconds, NOON + 1_800);
        assert_eq!(found[2].start_unix_seconds, NOON + 3_600);
        assert_eq!(found[0].scan_instances.len(), 6);
        assert_eq!(found[1].scan_instances.len(), 6);
        assert_eq!(found[0].duration_seconds(), 120 + 5 * 300);
        assert_eq!(found[1].duration_seconds(), 6 * 300);
    }

    #[test]
    fn windows_never_cross_utc_midnight() {
        let midnight = NOON + 12 * 3600;
        let found = windows(vec![
            sighting(midnight - 300, 50),
            sighting(midnight - 1, 50),
            sighting(midnight + 60, 50),
        ]);
        assert_eq!(found.len(), 2);
        assert_eq!(
            found[1].date_days_since_epoch,
            found[0].date_days_since_epoch + 1
        );
        // 360 s after the previous scan, but only 90 s after midnight (to the slot's end).
        assert_eq!(found[1].scan_instances[0].seconds_since_last_scan, 90);
        let just_after = windows(vec![
            sighting(midnight - 300, 50),
            sighting(midnight + 5, 50),
        ]);
        assert_eq!(just_after[1].scan_instances[0].seconds_since_last_scan, 30);
    }

    #[test]
    fn unknown_tx_power_assumes_the_default_and_lowers_the_confidence() {
        let mut unknown = sighting(NOON, 0);
        unknown.rssi = -70;
        unknown.tx_power = None;
        unknown.attenuation_db = None;
        let found = windows(vec![sighting(NOON + 600, 50), unknown]);
        // −15 dBm assumed − (−70 dBm) = 55 dB.
        assert_eq!(found[0].scan_instances[0].typical_attenuation_db, 55);
        assert_eq!(
            found[0].calibration_confidence,
            CalibrationConfidence::Lowest
        );
    }

    #[test]
    fn a_tx_power_without_attenuation_is_used_to_compute_it() {
        let mut partial = sighting(NOON, 0);
        partial.tx_power = Some(-5);
        partial.rssi = -65;
        partial.attenuation_db = None;
        let found = windows(vec![partial]);
        assert_eq!(found[0].scan_instances[0].typical_attenuation_db, 60);
        assert_eq!(found[0].calibration_confidence, CalibrationConfidence::Low);
    }

    #[test]
    fn revoked_and_non_infectious_keys_give_no_windows() {
        let config = RiskConfiguration::default();
        let sightings = vec![sighting(NOON, 40)];
        for key in [
            key(Some(0), ReportType::Revoked),
            key(Some(10), ReportType::ConfirmedTest),
            key(Some(-9), ReportType::ConfirmedTest),
        ] {
            let exposure = ExposureMatch {
                key,
                sightings: sightings.clone(),
            };
            assert!(exposure_windows(&[exposure], &config).is_empty(), "{key:?}");
        }
    }

    #[test]
    fn unknown_report_types_are_mapped_and_infectiousness_recorded() {
        let exposure = ExposureMatch {
            key: key(None, ReportType::Unknown),
            sightings: vec![sighting(NOON, 40)],
        };
        let found = exposure_windows(&[exposure], &RiskConfiguration::default());
        assert_eq!(found[0].report_type, ReportType::ConfirmedTest);
        assert_eq!(found[0].infectiousness, Infectiousness::Standard);
    }

    #[test]
    fn hostile_times_do_not_panic() {
        let found = windows(vec![sighting(u64::MAX, 50), sighting(0, 50)]);
        assert_eq!(found.len(), 2);
        assert_eq!(found[1].scan_instances[0].seconds_since_last_scan, 300);
    }
}
