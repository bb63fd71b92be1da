//! What a phone (or a venue owner warning on behalf of their venue) uploads.
//!
//! Check-ins are derived ([`derive_time`]), split at UTC midnight, encrypted, padded with
//! fake reports up to a multiple of [`UPLOAD_REPORT_BUCKET`] and shuffled, so that neither
//! the order nor the number of reports tells how many places someone visited.

use rand::seq::SliceRandom;
use rand_core::CryptoRng;

use crate::check_in_report::{encrypt_check_in_record, fake_report};
use crate::location_id::LocationId;
use crate::matching::transmission_risk_weight;
use crate::messages::{CheckInProtectedReport, CheckInRecord};
use crate::time_derivation::{INTERVAL_SECONDS, MAX_STAY_SECONDS, TimeWindow, derive_time};

/// Uploads carry a multiple of this many reports (at least one bucket, even for a fake
/// upload or someone who went nowhere).
pub const UPLOAD_REPORT_BUCKET: usize = 10;

/// A guest present up to this long after the end of a window a venue owner reports is
/// still warned (aerosols linger after the infected person left).
pub const WARN_ON_BEHALF_EXTENSION_SECONDS: u64 = 30 * 60;

/// The longest window a venue owner may report at once.
pub const MAX_WARN_ON_BEHALF_WINDOW_SECONDS: u64 = MAX_STAY_SECONDS;

/// A check-in of someone who tested positive, as their phone uploads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckIn {
    pub location_id: LocationId,
    /// Unix seconds.
    pub check_in: u64,
    pub check_out: u64,
    /// 1–8, from the days since symptom onset of that visit (the phone decides).
    pub transmission_risk_level: u32,
}

/// The records a set of check-ins becomes, before encryption: derived, split per UTC day.
/// Check-ins shorter than 10 minutes, and those whose level weighs nothing (1–2 or
/// invalid; they could never raise anyone's risk), are left out, as CWA does.
pub fn upload_records(check_ins: &[CheckIn]) -> Vec<(LocationId, CheckInRecord)> {
    check_ins
        .iter()
        .filter(|check_in| transmission_risk_weight(check_in.transmission_risk_level) > 0.0)
        .filter_map(|check_in| {
            derive_time(check_in.check_in, check_in.check_out).map(|window| (check_in, window))
        })
        .flat_map(|(check_in, window)| {
            window.split_at_utc_midnight().filter_map(move |piece| {
                piece
                    .to_record(check_in.transmission_risk_level)
                    .map(|record| (check_in.location_id, record))
            })
        })
        .collect()
}

/// The protected reports to upload for these check-ins: encrypted, padded with fake
/// reports to a multiple of [`UPLOAD_REPORT_BUCKET`], shuffled.
pub fn prepare_upload<R: CryptoRng + ?Sized>(
    check_ins: &[CheckIn],
    rng: &mut R,
) -> Vec<CheckInProtectedReport> {
    let records = upload_records(check_ins);
    encrypt_pad_and_shuffle(&records, rng)
}

/// A fake upload, the same size as that of someone with a few check-ins.
pub fn fake_upload<R: CryptoRng + ?Sized>(rng: &mut R) -> Vec<CheckInProtectedReport> {
    encrypt_pad_and_shuffle(&[], rng)
}

/// How many reports an upload of `real` reports carries.
pub fn padded_report_count(real: usize) -> usize {
    real.div_ceil(UPLOAD_REPORT_BUCKET).max(1) * UPLOAD_REPORT_BUCKET
}

/// Why a venue owner's warning cannot be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WarnOnBehalfError {
    #[error("the window must end after it starts (start {start}, end {end})")]
    EmptyWindow { start: u64, end: u64 },
    #[error("the window lasts {seconds} seconds; at most {max} (14 days) can be reported at once")]
    WindowTooLong { seconds: u64, max: u64 },
    #[error("transmission risk level {level} cannot warn anyone; use 3 to 8")]
    IneffectiveRiskLevel { level: u32 },
    #[error("the window lies outside the range of the protocol's interval numbers")]
    OutOfRange,
}

/// The window actually reported when a venue owner reports `window`: the start aligned
/// down to a 10-minute interval, the end extended by
/// [`WARN_ON_BEHALF_EXTENSION_SECONDS`] and aligned up. A guest whose stay overlaps it by
/// at least one minute — present during the window or up to 30 minutes after it — is
/// warned; the extra 30 minutes count in their overlap like any other minute.
pub fn warn_on_behalf_window(window: TimeWindow) -> TimeWindow {
    let start = window.start / INTERVAL_SECONDS * INTERVAL_SECONDS;
    let extended_end = window.end.saturating_add(WARN_ON_BEHALF_EXTENSION_SECONDS);
    let end = extended_end
        .div_ceil(INTERVAL_SECONDS)
        .saturating_mul(INTERVAL_SECONDS);
    TimeWindow::new(start, end)
}

/// Reports a venue owner uploads (with a code from the health authority) so that guests
/// present during `window` or up to 30 minutes after are warned: the extended window
/// ([`warn_on_behalf_window`]) split per UTC day, encrypted for `location_id` with the
/// given level, padded and shuffled like a phone's upload.
pub fn warn_on_behalf<R: CryptoRng + ?Sized>(
    location_id: &LocationId,
    window: TimeWindow,
    transmission_risk_level: u32,
    rng: &mut R,
) -> Result<Vec<CheckInProtectedReport>, WarnOnBehalfError> {
    if window.end <= window.start {
        return Err(WarnOnBehalfError::EmptyWindow {
            start: window.start,
            end: window.end,
        });
    }
    if window.duration_seconds() > MAX_WARN_ON_BEHALF_WINDOW_SECONDS {
        return Err(WarnOnBehalfError::WindowTooLong {
            seconds: window.duration_seconds(),
            max: MAX_WARN_ON_BEHALF_WINDOW_SECONDS,
        });
    }
    if transmission_risk_weight(transmission_risk_level) == 0.0 {
        return Err(WarnOnBehalfError::IneffectiveRiskLevel {
            level: transmission_risk_level,
        });
    }
    let records = warn_on_behalf_window(window)
        .split_at_utc_midnight()
        .map(|piece| {
            piece
                .to_record(transmission_risk_level)
                .map(|record| (*location_id, record))
                .ok_or(WarnOnBehalfError::OutOfRange)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(encrypt_pad_and_shuffle(&records, rng))
}

fn encrypt_pad_and_shuffle<R: CryptoRng + ?Sized>(
    records: &[(LocationId, CheckInRecord)],
    rng: &mut R,
) -> Vec<CheckInProtectedReport> {
    let mut reports: Vec<CheckInProtectedReport> = records
        .iter()
        .map(|(location_id, record)| encrypt_check_in_record(location_id, record, rng))
        .collect();
    let padded = padded_report_count(reports.len());
    while reports.len() < padded {
        reports.push(fake_report(rng));
    }
    reports.shuffle(rng);
    reports
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;
    use crate::matching::{GuestCheckIn, RiskLevel, match_guest_check_ins};
    use crate::time_derivation::SECONDS_PER_DAY;

    const CAFE: LocationId = LocationId([7; 32]);
    /// 2021-03-04 00:00 UTC.
    const DAY_START: u64 = 1_614_816_000;

    fn at(hour: u64, minute: u64) -> u64 {
        DAY_START + hour * 3600 + minute * 60
    }

    fn check_in(from: u64, to: u64, level: u32) -> CheckIn {
        CheckIn {
            location_id: CAFE,
            check_in: from,
            check_out: to,
            transmission_risk_level: level,
        }
    }

    fn guest(from: u64, to: u64) -> GuestCheckIn {
        GuestCheckIn {
            location_id: CAFE,
            description: "Café".into(),
            check_in: from,
            check_out: to,
        }
    }

    #[test]
    fn a_night_out_is_split_at_utc_midnight() {
        let records = upload_records(&[check_in(at(23, 0), at(24 + 1, 0), 6)]);
        // 23:00 → 01:00 plus 30 minutes of aerosol: 23:00–24:00 and 00:00–01:30.
        let windows: Vec<TimeWindow> = records
            .iter()
            .map(|(_, r)| TimeWindow::from_record(r))
            .collect();
        assert_eq!(
            windows,
            vec![
                TimeWindow::new(at(23, 0), at(24, 0)),
                TimeWindow::new(at(24, 0), at(25, 30)),
            ]
        );
        assert!(
            records
                .iter()
                .all(|(id, r)| *id == CAFE && r.transmission_risk_level == 6)
        );
    }

    #[test]
    fn short_stays_and_harmless_levels_are_not_uploaded() {
        assert!(upload_records(&[check_in(at(12, 0), at(12, 9), 8)]).is_empty());
        assert!(upload_records(&[check_in(at(12, 0), at(14, 0), 2)]).is_empty());
        assert!(upload_records(&[check_in(at(12, 0), at(14, 0), 9)]).is_empty());
    }

    #[test]
    fn uploads_are_padded_to_the_bucket_and_readable_by_guests() {
        let mut rng = StdRng::seed_from_u64(11);
        let upload = prepare_upload(&[check_in(at(12, 0), at(13, 0), 7)], &mut rng);
        assert_eq!(upload.len(), UPLOAD_REPORT_BUCKET);
        assert_eq!(fake_upload(&mut rng).len(), UPLOAD_REPORT_BUCKET);
        assert_eq!(
            upload
                .iter()
                .filter(|r| r.location_id_hash() == Some(CAFE.hash()))
                .count(),
            1
        );
        let warnings = match_guest_check_ins(&[guest(at(12, 30), at(14, 0))], &upload);
        // The reported window is 12:00–13:30 (30 minutes of aerosol): 60 minutes overlap.
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].overlap_minutes, 60);
        assert_eq!(warnings[0].risk_level, RiskLevel::High);
    }

    #[test]
    fn padding_rounds_up_to_whole_buckets() {
        assert_eq!(padded_report_count(0), 10);
        assert_eq!(padded_report_count(10), 10);
        assert_eq!(padded_report_count(11), 20);
    }

    #[test]
    fn warn_on_behalf_reaches_guests_up_to_thirty_minutes_after_the_window() {
        let mut rng = StdRng::seed_from_u64(12);
        let reports =
            warn_on_behalf(&CAFE, TimeWindow::new(at(18, 5), at(20, 0)), 8, &mut rng).unwrap();
        assert_eq!(reports.len(), UPLOAD_REPORT_BUCKET);
        assert_eq!(
            warn_on_behalf_window(TimeWindow::new(at(18, 5), at(20, 0))),
            TimeWindow::new(at(18, 0), at(20, 30))
        );
        let during = match_guest_check_ins(&[guest(at(19, 0), at(19, 20))], &reports);
        assert_eq!(during.len(), 1);
        let just_after = match_guest_check_ins(&[guest(at(20, 10), at(21, 0))], &reports);
        assert_eq!(just_after[0].overlap_minutes, 20);
        let too_late = match_guest_check_ins(&[guest(at(20, 30), at(21, 30))], &reports);
        assert!(too_late.is_empty());
    }

    #[test]
    fn warn_on_behalf_refuses_useless_or_absurd_requests() {
        let mut rng = StdRng::seed_from_u64(13);
        let window = TimeWindow::new(at(18, 0), at(20, 0));
        assert!(matches!(
            warn_on_behalf(&CAFE, TimeWindow::new(at(20, 0), at(18, 0)), 8, &mut rng),
            Err(WarnOnBehalfError::EmptyWindow { .. })
        ));
        assert!(matches!(
            warn_on_behalf(&CAFE, window, 2, &mut rng),
            Err(WarnOnBehalfError::IneffectiveRiskLevel { level: 2 })
        ));
        assert!(matches!(
            warn_on_behalf(&CAFE, TimeWindow::new(0, 15 * SECONDS_PER_DAY), 8, &mut rng),
            Err(WarnOnBehalfError::WindowTooLong { .. })
        ));
    }
}
