//! Writing and reading a million-key export: what a server does every release bucket
//! and what `keys match` does with a downloaded file.
//!
//! `cargo bench -p exposure --bench export`

use std::hint::black_box;
use std::io::Cursor;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use exposure::export::{
    self, BatchNumbering, ExportArchive, ExportBatch, ExportSigner, SignatureInfo,
};
use exposure::interval::EnIntervalNumber;
use exposure::keys::{DiagnosisKey, ReportType, TemporaryExposureKey};
use p256::ecdsa::SigningKey;
use rand::{Rng, SeedableRng};

const KEYS: usize = 1_000_000;

fn million_keys() -> ExportBatch {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let keys = (0..KEYS)
        .map(|index| {
            let mut key_data = [0u8; 16];
            rng.fill_bytes(&mut key_data);
            DiagnosisKey {
                key: TemporaryExposureKey {
                    key_data,
                    rolling_start_interval_number: EnIntervalNumber(
                        2_650_000 + 144 * (index as u32 % 14),
                    ),
                    rolling_period: 144,
                },
                transmission_risk_level: (index % 8) as i32 + 1,
                report_type: ReportType::ConfirmedTest,
                days_since_onset_of_symptoms: Some((index % 29) as i32 - 14),
            }
        })
        .collect();
    ExportBatch {
        keys,
        ..ExportBatch::new(1_600_000_000, 1_600_007_200, "CH")
    }
}

fn signer() -> ExportSigner {
    ExportSigner {
        info: SignatureInfo::new("v1", "228"),
        key: SigningKey::from_slice(&[9; 32]).expect("a valid scalar"),
    }
}

fn write_files(batch: &ExportBatch, signer: &ExportSigner) -> Vec<Vec<u8>> {
    export::split_into_batches(batch, BatchNumbering::EachOneOfOne)
        .expect("splits")
        .iter()
        .map(|file| export::write_signed_zip(file, std::slice::from_ref(signer)).expect("writes"))
        .collect()
}

fn export_benches(c: &mut Criterion) {
    let batch = million_keys();
    let signer = signer();
    let files = write_files(&batch, &signer);
    assert_eq!(files.len(), 2, "a million keys take two files");

    let mut group = c.benchmark_group("export_1m_keys");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(KEYS as u64));
    group.bench_function("split_sign_and_zip", |b| {
        b.iter(|| write_files(black_box(&batch), &signer))
    });
    group.bench_function("stream_keys_and_verify", |b| {
        b.iter(|| {
            let mut count = 0;
            for file in &files {
                let mut archive = ExportArchive::new(Cursor::new(file)).expect("opens");
                let signatures = archive.signatures().to_vec();
                let mut stream = archive.stream_keys().expect("streams");
                for key in stream.by_ref() {
                    black_box(key.expect("valid"));
                    count += 1;
                }
                let finished = stream.finish().expect("finishes");
                export::verify_digest(
                    &finished.export_bin_sha256,
                    &signatures,
                    signer.key.verifying_key(),
                )
                .expect("valid");
            }
            assert_eq!(count, KEYS);
        })
    });
    group.bench_function("read_whole_zips", |b| {
        b.iter(|| {
            for file in &files {
                black_box(export::read_zip(file).expect("reads"));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, export_benches);
criterion_main!(benches);
