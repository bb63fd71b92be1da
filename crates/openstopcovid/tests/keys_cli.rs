//! `openstopcovid keys derive` and `keys match`, run as a user runs them.

// Test helpers outside #[test] functions may unwrap: a failure there is a failed test.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use exposure::export::{self, ExportBatch, ExportSigner, SignatureInfo};
use exposure::interval::EnIntervalNumber;
use exposure::keys::{DiagnosisKey, TemporaryExposureKey};

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/vectors/gaen/crypto_test_vectors.json"
);

fn openstopcovid(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_openstopcovid"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

#[test]
fn derive_prints_the_official_vectors() {
    let vectors: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(VECTORS).unwrap()).unwrap();
    let tek = vectors["tek"].as_str().unwrap();
    let start = vectors["rolling_start_interval_number"].as_u64().unwrap();
    let metadata = vectors["bluetooth_metadata"].as_str().unwrap();
    let out = stdout(&openstopcovid(&[
        "keys",
        "derive",
        "--tek",
        tek,
        "--interval",
        &start.to_string(),
        "--metadata",
        metadata,
    ]));
    let lines: Vec<&str> = out.lines().collect();
    let intervals = vectors["intervals"].as_array().unwrap();
    assert_eq!(lines.len(), 144);
    for (line, expected) in [(lines[0], &intervals[0]), (lines[143], &intervals[143])] {
        assert_eq!(
            line,
            format!(
                "{} {} {}",
                expected["interval_number"],
                expected["rpi"].as_str().unwrap(),
                expected["aem"].as_str().unwrap()
            )
        );
    }
    // The default metadata is the vectors' own (version 1.0, TX power +8 dBm).
    let default = stdout(&openstopcovid(&[
        "keys",
        "derive",
        "--tek",
        tek,
        "--interval",
        &start.to_string(),
        "--count",
        "1",
    ]));
    assert_eq!(default.trim_end(), lines[0]);
}

#[test]
fn derive_rejects_bad_input_with_status_2() {
    for args in [
        &["keys", "derive", "--tek", "75c7", "--interval", "1"][..],
        &["keys", "derive", "--tek", "zz", "--interval", "1"],
        &[
            "keys",
            "derive",
            "--tek",
            "75c734c6dd1a782de7a965da5eb93125",
            "--interval",
            "1",
            "--metadata",
            "4008",
        ],
        &[
            "keys",
            "derive",
            "--tek",
            "75c734c6dd1a782de7a965da5eb93125",
            "--interval",
            "4294967295",
            "--count",
            "2",
        ],
    ] {
        let output = openstopcovid(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(!output.stderr.is_empty());
    }
}

fn key(byte: u8, start: u32) -> TemporaryExposureKey {
    TemporaryExposureKey {
        key_data: [byte; 16],
        rolling_start_interval_number: EnIntervalNumber(start),
        rolling_period: 144,
    }
}

fn write_export(path: &Path, keys: &[TemporaryExposureKey]) {
    let signer = ExportSigner {
        info: SignatureInfo::new("v1", "test"),
        key: p256::ecdsa::SigningKey::from_slice(&[7; 32]).unwrap(),
    };
    let batch = ExportBatch {
        keys: keys.iter().copied().map(DiagnosisKey::confirmed).collect(),
        ..ExportBatch::new(1_600_000_000, 1_600_007_200, "CH")
    };
    std::fs::write(path, export::write_signed_zip(&batch, &[signer]).unwrap()).unwrap();
}

#[test]
fn match_finds_the_keys_whose_advertisements_were_heard() {
    let dir = tempfile::tempdir().unwrap();
    let start = 2_650_032;
    let sick = key(0x11, start);
    let also_sick = key(0x22, start);
    let stranger = key(0x33, start);

    // What the phone heard: three advertisements of `sick` (derived by the CLI itself),
    // one of `also_sick` far outside its ±2 h window, and noise.
    let derived = stdout(&openstopcovid(&[
        "keys",
        "derive",
        "--tek",
        &hex::encode(sick.key_data),
        "--interval",
        &(start + 40).to_string(),
        "--count",
        "3",
        "--metadata",
        "40f40000",
    ]));
    let mut file = String::from("# unix_seconds,rpi,aem,rssi\n\n");
    for line in derived.lines() {
        let [interval, rpi, aem] = line.split(' ').collect::<Vec<_>>()[..] else {
            panic!("derive prints three fields: {line}");
        };
        let seconds = interval.parse::<u64>().unwrap() * 600 + 120;
        file.push_str(&format!("{seconds},{rpi},{aem},-70\n"));
    }
    let far = stdout(&openstopcovid(&[
        "keys",
        "derive",
        "--tek",
        &hex::encode(also_sick.key_data),
        "--interval",
        &start.to_string(),
        "--count",
        "1",
    ]));
    let rpi = far.split(' ').nth(1).unwrap();
    file.push_str(&format!("{},{rpi}\n", u64::from(start + 20) * 600));
    file.push_str(&format!("{},{}\n", u64::from(start) * 600, "ab".repeat(16)));
    let sightings = dir.path().join("heard.csv");
    std::fs::write(&sightings, file).unwrap();

    let zip = dir.path().join("export.zip");
    write_export(&zip, &[stranger, also_sick, sick]);
    let out = stdout(&openstopcovid(&[
        "keys",
        "match",
        "--sightings",
        sightings.to_str().unwrap(),
        zip.to_str().unwrap(),
    ]));
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(
        lines,
        vec![serde_json::json!({
            "keyData": hex::encode(sick.key_data),
            "rollingStartIntervalNumber": start,
            "rollingPeriod": 144,
            "sightings": 3,
        })]
    );
    // One thread gives the same answer.
    let single = stdout(&openstopcovid(&[
        "keys",
        "match",
        "--threads",
        "1",
        "--sightings",
        sightings.to_str().unwrap(),
        zip.to_str().unwrap(),
    ]));
    assert_eq!(single, out);
}

#[test]
fn match_names_the_malformed_line() {
    let dir = tempfile::tempdir().unwrap();
    let sightings = dir.path().join("heard.csv");
    std::fs::write(
        &sightings,
        format!("# ok\n1600000000,{}\n1600000000,abcd\n", "00".repeat(16)),
    )
    .unwrap();
    let zip = dir.path().join("export.zip");
    write_export(&zip, &[key(1, 2_650_032)]);
    let output = openstopcovid(&[
        "keys",
        "match",
        "--sightings",
        sightings.to_str().unwrap(),
        zip.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("heard.csv:3:"), "{stderr}");
    assert!(stderr.contains("RPI"), "{stderr}");

    std::fs::write(&sightings, "").unwrap();
    let not_a_zip = dir.path().join("not.zip");
    std::fs::write(&not_a_zip, b"hello").unwrap();
    let output = openstopcovid(&[
        "keys",
        "match",
        "--sightings",
        sightings.to_str().unwrap(),
        not_a_zip.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
}

/// A bare `export.bin` with `count` random-looking keys, written by hand because the
/// export writer (rightly) refuses more than 750,000 keys per file.
fn large_export_bin(count: u32, start: u32) -> (Vec<u8>, [u8; 16]) {
    let mut bin = export::EXPORT_HEADER.to_vec();
    let mut first = None;
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..count {
        let mut key_data = [0u8; 16];
        for byte in &mut key_data {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *byte = state as u8;
        }
        first.get_or_insert(key_data);
        let mut message = vec![0x0a, 16];
        message.extend_from_slice(&key_data);
        message.extend_from_slice(&[0x10, 1, 0x18]); // transmission risk 1, then rsin varint
        let mut value = start;
        while value >= 0x80 {
            message.push((value as u8) | 0x80);
            value >>= 7;
        }
        message.push(value as u8);
        message.extend_from_slice(&[0x28, 1]); // confirmed test
        bin.push(0x3a);
        bin.push(message.len() as u8);
        bin.extend_from_slice(&message);
    }
    (bin, first.unwrap_or_default())
}

/// The end-to-end figure: `keys match` over a zip of 1,000,000 keys. Not a timed
/// assertion; run it by hand and read the printed time:
/// `cargo test --release -p openstopcovid --test keys_cli -- --ignored --nocapture`
#[test]
#[ignore = "builds a 1,000,000-key export; run by hand for the timing"]
fn match_over_a_million_keys() {
    let dir = tempfile::tempdir().unwrap();
    let start = 2_650_032;
    let (bin, first_key) = large_export_bin(1_000_000, start);
    let zip = dir.path().join("million.zip");
    std::fs::write(&zip, export::write_zip(&bin, &[]).unwrap()).unwrap();
    let heard = TemporaryExposureKey {
        key_data: first_key,
        ..key(0, start)
    };
    let rpi = heard
        .rolling_proximity_identifier_key()
        .rolling_proximity_identifier(EnIntervalNumber(start + 5));
    let mut file = String::new();
    for i in 0..50_000u64 {
        file.push_str(&format!(
            "{},{:032x}\n",
            u64::from(start) * 600 + i,
            u128::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)
        ));
    }
    file.push_str(&format!(
        "{},{}\n",
        u64::from(start + 5) * 600,
        hex::encode(rpi.0)
    ));
    let sightings = dir.path().join("heard.csv");
    std::fs::write(&sightings, file).unwrap();
    let started = std::time::Instant::now();
    let out = stdout(&openstopcovid(&[
        "keys",
        "match",
        "--sightings",
        sightings.to_str().unwrap(),
        zip.to_str().unwrap(),
    ]));
    let elapsed = started.elapsed();
    eprintln!(
        "keys match: 1,000,000 keys against 50,001 sightings in {:.3} s wall ({} bytes of zip)",
        elapsed.as_secs_f64(),
        std::fs::metadata(&zip).unwrap().len()
    );
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains(&hex::encode(first_key)));
}
