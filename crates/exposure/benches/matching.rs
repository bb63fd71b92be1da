//! Matching speed: a phone's 50,000 sightings against an export of 1,000,000 keys.
//!
//! `cargo bench -p exposure --bench matching`
//!
//! - `matching/optimized_one_core`: the engine on the calling thread (keys per second).
//! - `matching/optimized_all_cores`: the same with the rayon pool.
//! - `matching/naive_one_core`: the obvious design (`hkdf` crate per key, `aes` crate per
//!   block, `std` `HashSet` of RPIs) on a smaller sample, same unit.
//!
//! Before criterion starts, one timed pass of each prints keys/s and the speed-up ratio.

use std::collections::HashSet;
use std::hint::black_box;
use std::time::{Duration, Instant};

use aes::Aes128;
use aes::cipher::{Array, BlockCipherEncrypt, KeyInit};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use exposure::interval::EnIntervalNumber;
use exposure::keys::fast::{self, IDENTIFIERS_PER_BATCH};
use exposure::keys::{BluetoothMetadata, DiagnosisKey, TemporaryExposureKey, padded_data};
use exposure::matching::{ObservedSet, Sighting};
use hkdf::Hkdf;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use sha2::Sha256;

const KEYS: usize = 1_000_000;
const NAIVE_KEYS: usize = 20_000;
const SIGHTINGS: usize = 50_000;
/// Of the sightings, how many come from published keys (the rest are strangers).
const MATCHING_SIGHTINGS: usize = 500;
const FIRST_DAY: u32 = 2_650_032;

fn published_keys(rng: &mut StdRng) -> Vec<DiagnosisKey> {
    (0..KEYS)
        .map(|i| {
            DiagnosisKey::confirmed(TemporaryExposureKey {
                key_data: rng.random(),
                rolling_start_interval_number: EnIntervalNumber(FIRST_DAY + 144 * (i % 14) as u32),
                rolling_period: 144,
            })
        })
        .collect()
}

fn observed_sightings(rng: &mut StdRng, keys: &[DiagnosisKey]) -> Vec<Sighting> {
    let mut sightings: Vec<Sighting> = (0..SIGHTINGS - MATCHING_SIGHTINGS)
        .map(|_| Sighting {
            unix_seconds: EnIntervalNumber(FIRST_DAY).unix_seconds()
                + rng.random_range(0..14 * 86_400),
            rpi: rng.random(),
            aem: rng.random(),
            rssi: -60,
        })
        .collect();
    for i in 0..MATCHING_SIGHTINGS {
        let key = keys[i * (KEYS / MATCHING_SIGHTINGS)].key;
        let interval = key
            .rolling_start_interval_number
            .offset(rng.random_range(0..144));
        let rpi = key
            .rolling_proximity_identifier_key()
            .rolling_proximity_identifier(interval);
        let aem = key
            .associated_encrypted_metadata_key()
            .encrypt(&rpi, BluetoothMetadata::new(-8));
        sightings.push(Sighting {
            unix_seconds: interval.unix_seconds() + 60,
            rpi: rpi.0,
            aem: aem.0,
            rssi: -70,
        });
    }
    sightings
}

/// The obvious implementation: what a first version would look like.
fn naive_match(observed: &HashSet<[u8; 16]>, keys: &[DiagnosisKey]) -> usize {
    let mut matched = 0;
    for key in keys {
        let mut rpik = [0u8; 16];
        Hkdf::<Sha256>::new(None, &key.key.key_data)
            .expand(b"EN-RPIK", &mut rpik)
            .expect("16 bytes is a valid HKDF output length");
        let cipher = Aes128::new(&Array::from(rpik));
        let mut hit = false;
        for interval in key.key.broadcast_intervals() {
            let mut block = Array::from(padded_data(interval));
            cipher.encrypt_block(&mut block);
            hit |= observed.contains(&<[u8; 16]>::from(block));
        }
        matched += usize::from(hit);
    }
    matched
}

fn keys_per_second(keys: usize, elapsed: Duration) -> f64 {
    keys as f64 / elapsed.as_secs_f64()
}

/// Time this thread has spent on a CPU (Linux: `/proc/thread-self/schedstat`), so that
/// the printed one-core figures hold on a machine shared with other work; `None`
/// elsewhere.
fn thread_cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanoseconds = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanoseconds))
}

/// Runs `work` on this thread and returns (wall time, CPU time or wall time).
fn timed<T>(work: impl FnOnce() -> T) -> (T, Duration, Duration) {
    let cpu_before = thread_cpu_time();
    let started = Instant::now();
    let result = black_box(work());
    let wall = started.elapsed();
    let cpu = match (cpu_before, thread_cpu_time()) {
        (Some(before), Some(after)) => after.saturating_sub(before),
        _ => wall,
    };
    (result, wall, cpu)
}

fn matching(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(0x0c0_41d);
    let keys = published_keys(&mut rng);
    let sightings = observed_sightings(&mut rng, &keys);
    let observed = ObservedSet::new(sightings.iter().copied()).expect("50,000 sightings fit");
    let naive_set: HashSet<[u8; 16]> = sightings.iter().map(|s| s.rpi).collect();
    let naive_keys = &keys[..NAIVE_KEYS];

    // One timed pass of each, so the ratio is printed in the same run.
    let (found, wall, cpu) = timed(|| observed.match_keys(keys.iter().copied()).len());
    let (optimized_wall, optimized_cpu) = (keys_per_second(KEYS, wall), keys_per_second(KEYS, cpu));
    let (naive_found, wall, cpu) = timed(|| naive_match(&naive_set, naive_keys));
    let (naive_wall, naive_cpu) = (
        keys_per_second(NAIVE_KEYS, wall),
        keys_per_second(NAIVE_KEYS, cpu),
    );
    let (_, wall, _) = timed(|| observed.match_keys_parallel(keys.iter().copied(), 0));
    let parallel = keys_per_second(KEYS, wall);
    assert_eq!(found, MATCHING_SIGHTINGS, "every planted sighting is found");
    assert!(naive_found >= NAIVE_KEYS / (KEYS / MATCHING_SIGHTINGS));
    eprintln!(
        "matching {KEYS} keys x 144 intervals against {SIGHTINGS} sightings \
         (observed set {} bytes, {:.1} per sighting)\n\
         \x20 optimized, one core: {:.2} M keys per CPU second ({:.2} M keys/s wall)\n\
         \x20 naive, one core:     {:.2} M keys per CPU second ({:.2} M keys/s wall)\n\
         \x20 ratio (CPU time):    {:.1}x\n\
         \x20 optimized, {} threads: {:.2} M keys/s wall",
        observed.memory_bytes(),
        observed.memory_bytes() as f64 / SIGHTINGS as f64,
        optimized_cpu / 1e6,
        optimized_wall / 1e6,
        naive_cpu / 1e6,
        naive_wall / 1e6,
        optimized_cpu / naive_cpu,
        rayon::current_num_threads(),
        parallel / 1e6,
    );

    // Where the time goes: key derivation alone (keys taken together, as matching does),
    // then with the 144 AES blocks.
    let derive_all = |with_blocks: bool| {
        let mut batch = [[0u8; 16]; IDENTIFIERS_PER_BATCH];
        let mut folded = 0u8;
        for group in keys.chunks_exact(fast::KEYS_PER_DERIVATION) {
            let teks = std::array::from_fn(|lane| group[lane].key.key_data);
            for (key, rpik) in group
                .iter()
                .zip(fast::rolling_proximity_identifier_keys(&teks))
            {
                folded ^= rpik.0[0];
                if with_blocks {
                    let start = key.key.rolling_start_interval_number;
                    fast::rolling_proximity_identifiers(&rpik, start, &mut batch);
                    folded ^= batch[143][0];
                }
            }
        }
        folded
    };
    let (_, _, derive_cpu) = timed(|| derive_all(false));
    let (_, _, encrypt_cpu) = timed(|| derive_all(true));
    eprintln!(
        "  per key, CPU time: HKDF {:.0} ns, + 144 AES blocks {:.0} ns, + lookups {:.0} ns",
        derive_cpu.as_nanos() as f64 / KEYS as f64,
        (encrypt_cpu.as_nanos() as f64 - derive_cpu.as_nanos() as f64) / KEYS as f64,
        1e9 / optimized_cpu - encrypt_cpu.as_nanos() as f64 / KEYS as f64,
    );

    let mut group = c.benchmark_group("matching");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Elements(KEYS as u64));
    group.bench_function("optimized_one_core", |b| {
        b.iter(|| observed.match_keys(black_box(&keys).iter().copied()))
    });
    group.bench_function("optimized_all_cores", |b| {
        b.iter(|| observed.match_keys_parallel(black_box(&keys).iter().copied(), 0))
    });
    group.throughput(Throughput::Elements(NAIVE_KEYS as u64));
    group.bench_function("naive_one_core", |b| {
        b.iter(|| naive_match(&naive_set, black_box(naive_keys)))
    });
    group.finish();
}

criterion_group!(benches, matching);
criterion_main!(benches);
