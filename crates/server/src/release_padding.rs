//! The fake keys of a release bucket: fixed once and for all, so that no two downloads can
//! be compared to tell real keys from fake ones (issue 13).
//!
//! A download from any bundle tag is the union of the release buckets after that tag, and
//! phones see single buckets in their incremental downloads. If padding were drawn afresh
//! for every answer (as it was), the keys two answers share would be exactly the real ones.
//! So each bucket carries its own fake keys, the same in every answer that covers the bucket,
//! on every instance, before and after a restart:
//!
//! - **How many**: a bucket holding `n` real keys (those still in the retention window)
//!   gets `padded_key_count(n) - n` fake ones (`exposure::export::padding`): one bucket's
//!   count is hidden exactly as a file's was. A download then holds the sum of its buckets'
//!   padded counts; an empty bucket stays empty.
//! - **Which**: an endless sequence of fake keys per bucket, drawn from a ChaCha generator
//!   seeded with an HMAC of the bucket's end under the server's secret
//!   ([`KeyRing::keyed_hash`]): nobody without the secret can predict or recognise them,
//!   and every instance sharing the data directory's keys draws the same ones. A bucket
//!   takes the first fake keys of its sequence that are still in the retention window.
//!   Each fake key is dated like a real one, so fake and real keys leave the window alike,
//!   day by day, and the fakes a bucket keeps from one day to the next are the same keys.
//! - **Metadata**: modelled on an upload: an onset 0–12 days before the bucket's release
//!   day, a key of one of the days from `infectious_days_before_onset` days before the
//!   onset to the day before the release (at most 14 days back), with the matching
//!   `days_since_onset`, a whole day's rolling period, risk level 0: what
//!   `keys::store_keys` writes for real keys; and a report type, a clinical diagnosis for
//!   [`CLINICAL_DIAGNOSIS_PER_MILLE`] of them, a confirmed test otherwise.
//!
//! What remains visible: when a bucket's count of real keys in the window crosses a padding
//! step (at a midnight, as old keys leave), a few fake keys appear in or leave that bucket
//! while their date is still in the window, and so are known to be fake; the real keys are
//! never told apart.
//!
//! Report types: since codes carry a test type (issue 16), real keys may be clinical
//! diagnoses (report type 2). Were every fake a confirmed test, a bucket's count of
//! clinical diagnoses would be a lower bound of its real keys; so fakes are drawn as
//! clinical diagnoses too, from a generator of their own (the key data of every fake stays
//! what it was). Buckets released before [`REPORT_TYPES_FROM_BUCKET_END`] keep the
//! all-confirmed fakes they were served with: changing them would let a download from
//! before the change, compared with one from after, tell their fakes apart.

use exposure::interval::{EnIntervalNumber, INTERVALS_PER_DAY};
use exposure::keys::{DiagnosisKey, KEY_LENGTH, ReportType, TemporaryExposureKey};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::signing::KeyRing;

const DAY_SECONDS: i64 = 86_400;

/// Latest onset of a fake key's modelled uploader, in days before the release day.
const LATEST_ONSET_DAYS: u64 = 12;

/// Fake keys drawn as clinical diagnoses, per thousand: about the share of diagnoses
/// made without a test when tests are short, so that the real ones hide among them.
const CLINICAL_DIAGNOSIS_PER_MILLE: u64 = 200;

/// The first bucket end (2026-12-04T00:00:00Z) whose fakes are drawn with report types;
/// buckets released before were served with confirmed tests only (see the module docs).
/// Two weeks after it, every bucket that was not is out of the retention window.
const REPORT_TYPES_FROM_BUCKET_END: i64 = 1_796_342_400;

/// Draws tried per fake key wanted before giving up (a bucket near the end of the window
/// keeps only its most recent fake keys; fewer than one draw in 14 is that recent).
const DRAWS_PER_FAKE_KEY: usize = 64;

/// The fake keys of the release bucket that ends at `bucket_end` (unix seconds), for a
/// bucket holding `real_keys` real keys dated at or after `oldest_start` (an interval
/// number). See the module docs.
pub(crate) fn bucket_padding(
    secrets: &KeyRing,
    bucket_end: i64,
    real_keys: usize,
    oldest_start: i64,
    infectious_days_before_onset: u32,
) -> Vec<DiagnosisKey> {
    let wanted = exposure::export::padded_key_count(real_keys).saturating_sub(real_keys);
    let seed = secrets.keyed_hash("release bucket padding", &bucket_end.to_be_bytes());
    let mut rng = StdRng::from_seed(seed);
    let report_type_seed = secrets.keyed_hash(
        "release bucket padding report types",
        &bucket_end.to_be_bytes(),
    );
    let mut report_types = StdRng::from_seed(report_type_seed);
    let draws_report_types = bucket_end >= REPORT_TYPES_FROM_BUCKET_END;
    let release_day = (bucket_end - 1).div_euclid(DAY_SECONDS);
    let retention_days = u64::from(messages::retention::DAYS);
    let mut fakes = Vec::with_capacity(wanted);
    for _ in 0..wanted.saturating_mul(DRAWS_PER_FAKE_KEY) {
        if fakes.len() == wanted {
            break;
        }
        // Every draw takes the same numbers from the generators, kept or not, so that the
        // sequence of fake keys of a bucket never depends on the window.
        let clinical_diagnosis =
            report_types.next_u64() % 1000 < CLINICAL_DIAGNOSIS_PER_MILLE && draws_report_types;
        let onset = rng.next_u64() % (LATEST_ONSET_DAYS + 1);
        let earliest = (onset + u64::from(infectious_days_before_onset)).clamp(1, retention_days);
        let age = 1 + rng.next_u64() % earliest;
        let mut key_data = [0u8; KEY_LENGTH];
        rng.fill_bytes(&mut key_data);
        let day = release_day - i64::try_from(age).unwrap_or(0);
        let rolling_start = day * i64::from(INTERVALS_PER_DAY);
        let Ok(start) = u32::try_from(rolling_start) else {
            continue;
        };
        if rolling_start < oldest_start {
            continue;
        }
        fakes.push(DiagnosisKey {
            key: TemporaryExposureKey {
                key_data,
                rolling_start_interval_number: EnIntervalNumber(start),
                rolling_period: INTERVALS_PER_DAY,
            },
            transmission_risk_level: 0,
            report_type: if clinical_diagnosis {
                ReportType::ConfirmedClinicalDiagnosis
            } else {
                ReportType::ConfirmedTest
            },
            days_since_onset_of_symptoms: i32::try_from(onset)
                .ok()
                .zip(i32::try_from(age).ok())
                .map(|(onset, age)| onset - age),
        });
    }
    fakes
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUCKET_END: i64 = 1_700_006_400; // 2023-11-15T00:00:00Z

    fn secrets(dir: &std::path::Path) -> KeyRing {
        KeyRing::load_or_create(dir, 1_000, "XX").unwrap()
    }

    fn oldest(now: i64) -> i64 {
        messages::retention::first_kept_interval(now)
    }

    #[test]
    fn a_bucket_has_the_same_fake_keys_for_every_instance_and_only_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let one = bucket_padding(&secrets(dir.path()), BUCKET_END, 10, oldest(BUCKET_END), 2);
        // Another process on the same data directory (another instance, a restart).
        let again = bucket_padding(&secrets(dir.path()), BUCKET_END, 10, oldest(BUCKET_END), 2);
        assert_eq!(one, again);
        assert_eq!(one.len(), exposure::export::padded_key_count(10) - 10);
        let next = bucket_padding(
            &secrets(dir.path()),
            BUCKET_END + 7200,
            10,
            oldest(BUCKET_END),
            2,
        );
        assert!(next.iter().all(|fake| !one.contains(fake)));
        // Another server's secret: other keys.
        let other = tempfile::tempdir().unwrap();
        let foreign = bucket_padding(
            &secrets(other.path()),
            BUCKET_END,
            10,
            oldest(BUCKET_END),
            2,
        );
        assert!(foreign.iter().all(|fake| !one.contains(fake)));
    }

    #[test]
    fn some_fake_keys_are_clinical_diagnoses_from_the_first_bucket_of_report_types() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = secrets(dir.path());
        let share = |bucket_end: i64| {
            let fakes = bucket_padding(&secrets, bucket_end, 100, oldest(bucket_end), 2);
            let clinical = fakes
                .iter()
                .filter(|fake| fake.report_type == ReportType::ConfirmedClinicalDiagnosis)
                .count();
            (clinical, fakes.len())
        };
        let (clinical, all) = share(REPORT_TYPES_FROM_BUCKET_END);
        // 20 % of about 1,000 draws: far from none and from all.
        assert!(
            clinical * 1000 > all * 120 && clinical * 1000 < all * 280,
            "{clinical} of {all}"
        );
        // Buckets served before keep their all-confirmed fakes.
        assert_eq!(share(REPORT_TYPES_FROM_BUCKET_END - 7200).0, 0);
    }

    #[test]
    fn fake_keys_are_dated_like_real_ones_and_leave_the_window_like_them() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = secrets(dir.path());
        let today = bucket_padding(&secrets, BUCKET_END, 10, oldest(BUCKET_END), 2);
        let release_day_start = (BUCKET_END - 1).div_euclid(DAY_SECONDS) * DAY_SECONDS;
        for fake in &today {
            let start = i64::from(fake.key.rolling_start_interval_number.0) * 600;
            assert!(start < release_day_start, "expired before its release");
            assert!(start >= oldest(BUCKET_END) * 600, "in the window");
            assert_eq!(fake.key.rolling_period, 144);
            let onset_days = fake.days_since_onset_of_symptoms.unwrap();
            assert!((-2..=11).contains(&onset_days), "{onset_days}");
        }
        // Ten days later, the fake keys kept are those of today's still in the window, in
        // the same order, topped up with later ones of the same sequence.
        let later_oldest = oldest(BUCKET_END + 10 * DAY_SECONDS);
        let later = bucket_padding(&secrets, BUCKET_END, 10, later_oldest, 2);
        assert_eq!(later.len(), today.len());
        let survivors: Vec<&DiagnosisKey> = today
            .iter()
            .filter(|fake| i64::from(fake.key.rolling_start_interval_number.0) >= later_oldest)
            .collect();
        assert!(!survivors.is_empty());
        assert!(survivors.iter().all(|fake| later.contains(fake)));
    }
}
