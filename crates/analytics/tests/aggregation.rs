#![allow(clippy::unwrap_used)]
//! The metrics through the VDAF: one bucket per encoder, a thousand phones aggregated by
//! both aggregators in-process, exact without noise, within the documented bound with it,
//! nothing below the minimum batch.

use analytics::encode::{Channel, CodeVerified, DailyFacts, WarningShown};
use analytics::privacy::{DEFAULT_MIN_BATCH_SIZE, collected_noise_bound};
use analytics::{Metric, Noise, aggregate_in_process, encode, true_counts};
use prio::field::Field128;
use prio::flp::Type;
use prio::flp::gadgets::{Mul, ParallelSum};
use prio::flp::types::Histogram;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

const DAY: u32 = 20_400;
const PHONES: usize = 1_000;

/// A phone's day drawn at random: any mix of warnings, report and check-ins.
fn random_facts(rng: &mut StdRng) -> DailyFacts {
    let warnings = (0..rng.random_range(0..4))
        .map(|_| {
            let shown_day = DAY - rng.random_range(0..20);
            WarningShown {
                channel: if rng.random_bool(0.5) {
                    Channel::Proximity
                } else {
                    Channel::Venue
                },
                high_risk: rng.random_bool(0.5),
                exposure_day: shown_day - rng.random_range(0..16),
                shown_day,
            }
        })
        .collect();
    let code_day = DAY - rng.random_range(0..3);
    DailyFacts {
        day: DAY,
        broadcast: rng.random_bool(0.9),
        warnings,
        code_verified: rng.random_bool(0.2).then(|| CodeVerified {
            day: code_day,
            hours_since_issued: rng.random_bool(0.9).then(|| rng.random_range(0..100)),
        }),
        keys_uploaded_day: rng.random_bool(0.2).then_some(code_day),
        check_ins: rng.random_range(0..8),
    }
}

/// A day's measurements of `PHONES` random phones, per metric.
fn batch(seed: u64) -> Vec<(Metric, Vec<usize>)> {
    let mut rng = StdRng::seed_from_u64(seed);
    let days: Vec<_> = (0..PHONES)
        .map(|_| encode(&random_facts(&mut rng)))
        .collect();
    Metric::ALL
        .into_iter()
        .map(|metric| (metric, days.iter().map(|day| day.bucket(metric)).collect()))
        .collect()
}

#[test]
fn each_encoder_sets_exactly_one_bucket_of_its_histogram() {
    let mut rng = StdRng::seed_from_u64(1);
    for _ in 0..2_000 {
        let measurements = encode(&random_facts(&mut rng));
        for (metric, bucket) in measurements.iter() {
            // The VDAF's own encoding of the measurement: a vector of 0s with one 1.
            let histogram = Histogram::<Field128, ParallelSum<Field128, Mul<Field128>>>::new(
                metric.length(),
                metric.chunk_length(),
            )
            .unwrap();
            let encoded = histogram.encode_measurement(&bucket).unwrap();
            let ones: Vec<usize> = encoded
                .iter()
                .enumerate()
                .filter(|(_, value)| **value != Field128::from(0u128))
                .map(|(index, _)| index)
                .collect();
            assert_eq!(ones, [bucket], "{metric}");
            assert_eq!(encoded[bucket], Field128::from(1u128), "{metric}");
        }
    }
}

#[test]
fn a_measurement_outside_the_histogram_is_refused_by_the_client() {
    let mut rng = StdRng::seed_from_u64(2);
    let metric = Metric::WarningShown;
    let result = aggregate_in_process(metric, &[metric.length()], Noise::Exact, 1, &mut rng);
    assert!(result.is_err());
}

#[test]
fn a_thousand_phones_aggregated_without_noise_give_the_true_counts() {
    let mut rng = StdRng::seed_from_u64(3);
    for (metric, measurements) in batch(10) {
        let collected = aggregate_in_process(
            metric,
            &measurements,
            Noise::Exact,
            DEFAULT_MIN_BATCH_SIZE,
            &mut rng,
        )
        .unwrap()
        .unwrap();
        let truth: Vec<i64> = true_counts(metric, &measurements)
            .into_iter()
            .map(|count| count as i64)
            .collect();
        assert_eq!(collected.counts, truth, "{metric}");
        assert_eq!(collected.report_count, PHONES as u64);
        assert_eq!(truth.iter().sum::<i64>(), PHONES as i64);
    }
}

#[test]
fn a_thousand_phones_aggregated_with_noise_stay_within_the_stated_bound() {
    let mut rng = StdRng::seed_from_u64(4);
    let epsilon = Noise::DEFAULT.epsilon().unwrap();
    // Every bucket within ±B with probability 1 - 10⁻⁹ (docs/analytics.md).
    let bound = collected_noise_bound(epsilon, 1e-9) as i64;
    let mut noisy_buckets = 0;
    let mut buckets = 0;
    for (metric, measurements) in batch(11) {
        let collected = aggregate_in_process(
            metric,
            &measurements,
            Noise::DEFAULT,
            DEFAULT_MIN_BATCH_SIZE,
            &mut rng,
        )
        .unwrap()
        .unwrap();
        for (bucket, (noisy, truth)) in collected
            .counts
            .iter()
            .zip(true_counts(metric, &measurements))
            .enumerate()
        {
            let error = noisy - truth as i64;
            assert!(
                error.abs() <= bound,
                "{metric} bucket {bucket}: {noisy} for {truth}, beyond ±{bound}"
            );
            noisy_buckets += usize::from(error != 0);
            buckets += 1;
        }
    }
    // The noise is there: with a standard deviation near 4, most buckets move.
    assert!(noisy_buckets * 2 > buckets, "{noisy_buckets} of {buckets}");
}

#[test]
fn fewer_reports_than_the_minimum_batch_give_nothing() {
    let mut rng = StdRng::seed_from_u64(5);
    let too_few = vec![1usize; DEFAULT_MIN_BATCH_SIZE as usize - 1];
    for noise in [Noise::Exact, Noise::DEFAULT] {
        let collected = aggregate_in_process(
            Metric::ActivePhones,
            &too_few,
            noise,
            DEFAULT_MIN_BATCH_SIZE,
            &mut rng,
        )
        .unwrap();
        assert_eq!(collected, None);
    }
    let enough = vec![1usize; DEFAULT_MIN_BATCH_SIZE as usize];
    let collected = aggregate_in_process(
        Metric::ActivePhones,
        &enough,
        Noise::Exact,
        DEFAULT_MIN_BATCH_SIZE,
        &mut rng,
    )
    .unwrap()
    .unwrap();
    assert_eq!(collected.counts, [0, DEFAULT_MIN_BATCH_SIZE as i64]);
}
