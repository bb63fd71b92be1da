//! Key-export files against the published fixtures (../shared/vectors/gaen/, see its
//! README), malformed and hostile inputs, and property tests of the format.

use std::io::{Cursor, Read, Write};

use base64::Engine;
use exposure::export::{
    self, BatchNumbering, ECDSA_P256_SHA256_OID, EXPORT_HEADER, ExportArchive, ExportBatch,
    ExportError, ExportSigner, MAX_EXPORT_FILE_BYTES, MAX_KEYS_PER_FILE, SignatureInfo,
};
use exposure::interval::EnIntervalNumber;
use exposure::keys::{DiagnosisKey, ReportType, TemporaryExposureKey};
use p256::ecdsa::SigningKey;
use proptest::prelude::*;
use rand::SeedableRng;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/vectors/gaen/");

/// The key that signs `sample_diagnosis_key_file.zip` (vectors README).
const SAMPLE_PUBLIC_KEY: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE49JY6kekDgxj3Crm4y6kEHdfoKQFSNDM4mV9cgDb+e5nOAw0GeRoRThCu9/wX5wDT2QloFoOjl2pGZHI0f3C3w==";
/// A key that must not verify it.
const OTHER_PUBLIC_KEY: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEUczyMAkfSeoU77Nmcb1G7t7xyGCAhQqMOIVDFLFas3J+elP7CiotovigCLWj706F07j1EPL27ThRzZl7Ha9uOA==";

fn vector(name: &str) -> Vec<u8> {
    std::fs::read(format!("{VECTORS}{name}")).unwrap_or_else(|error| panic!("{name}: {error}"))
}

fn vector_text(name: &str) -> String {
    String::from_utf8(vector(name)).expect("UTF-8 fixture")
}

/// The raw bytes of one zip entry, read with the zip crate directly.
fn zip_entry(zip: &[u8], name: &str) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(Cursor::new(zip)).expect("zip");
    let mut content = Vec::new();
    archive
        .by_name(name)
        .expect("entry")
        .read_to_end(&mut content)
        .expect("read");
    content
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

fn unhex<const N: usize>(text: &str) -> [u8; N] {
    hex::decode(text).expect("hex").try_into().expect("length")
}

fn key(key_data: [u8; 16], rolling_start: u32, rolling_period: u32) -> DiagnosisKey {
    DiagnosisKey {
        key: TemporaryExposureKey {
            key_data,
            rolling_start_interval_number: EnIntervalNumber(rolling_start),
            rolling_period,
        },
        transmission_risk_level: 0,
        report_type: ReportType::Unknown,
        days_since_onset_of_symptoms: None,
    }
}

fn is_sorted_by_key_bytes(keys: &[DiagnosisKey]) -> bool {
    keys.windows(2)
        .all(|pair| pair[0].key.key_data <= pair[1].key.key_data)
}

// ---------------------------------------------------------------------------------------
// sample_diagnosis_key_file.zip

#[test]
fn sample_file_parses_with_its_published_header_and_140_daily_keys() {
    let zip = vector("sample_diagnosis_key_file.zip");
    let file = export::read_zip(&zip).expect("sample file reads");
    let batch = &file.batch;
    assert_eq!(batch.region, "US");
    assert_eq!(batch.start_timestamp, 1_593_633_600);
    assert_eq!(batch.end_timestamp, 1_593_633_900);
    assert_eq!((batch.batch_num, batch.batch_size), (1, 1));
    assert_eq!(batch.keys.len(), 140);
    assert!(batch.revised_keys.is_empty());
    assert!(batch.keys.iter().all(|key| key.key.rolling_period == 144));
    assert!(is_sorted_by_key_bytes(&batch.keys));
    let info = SignatureInfo {
        verification_key_version: "v1".into(),
        verification_key_id: "310".into(),
        signature_algorithm: ECDSA_P256_SHA256_OID.into(),
    };
    assert_eq!(batch.signature_infos, vec![info.clone()]);
    assert_eq!(file.signatures.len(), 1);
    assert_eq!(file.signatures[0].signature_info, info);
    assert_eq!(
        (file.signatures[0].batch_num, file.signatures[0].batch_size),
        (1, 1)
    );
    assert_eq!(
        file.export_bin_sha256,
        sha256(&zip_entry(&zip, "export.bin"))
    );
}

#[test]
fn sample_file_verifies_with_its_key_and_not_with_another() {
    let file = export::read_zip(&vector("sample_diagnosis_key_file.zip")).expect("reads");
    let right = export::public_key_from_base64_der(SAMPLE_PUBLIC_KEY).expect("key");
    let wrong = export::public_key_from_base64_der(OTHER_PUBLIC_KEY).expect("key");
    assert_eq!(file.verify(&right).expect("valid signature"), 0);
    assert!(matches!(
        file.verify(&wrong),
        Err(ExportError::SignatureInvalid)
    ));
}

#[test]
fn sample_file_reencodes_to_the_same_export_bin() {
    let zip = vector("sample_diagnosis_key_file.zip");
    let file = export::read_zip(&zip).expect("reads");
    assert_eq!(
        export::encode_export_bin(&file.batch).expect("encodes"),
        zip_entry(&zip, "export.bin")
    );
}

#[test]
fn streaming_the_sample_file_gives_the_same_keys_digest_and_verdict() {
    let zip = vector("sample_diagnosis_key_file.zip");
    let whole = export::read_zip(&zip).expect("reads");
    let mut archive = ExportArchive::new(Cursor::new(&zip)).expect("opens");
    let signatures = archive.signatures().to_vec();
    let mut stream = archive.stream_keys().expect("streams");
    let first = stream.next().expect("a key").expect("valid key");
    // The header fields precede the keys, so they are known once the first key is out.
    assert_eq!(stream.metadata().region, "US");
    let mut keys = vec![first];
    keys.extend(stream.by_ref().map(|key| key.expect("valid key")));
    let finished = stream.finish().expect("finishes");
    assert_eq!(keys, whole.batch.keys);
    assert_eq!(finished.key_count, 140);
    assert_eq!(finished.export_bin_sha256, whole.export_bin_sha256);
    let right = export::public_key_from_base64_der(SAMPLE_PUBLIC_KEY).expect("key");
    assert_eq!(
        export::verify_digest(&finished.export_bin_sha256, &signatures, &right).expect("valid"),
        0
    );
}

#[test]
fn finishing_a_stream_early_still_hashes_the_whole_file() {
    let zip = vector("sample_diagnosis_key_file.zip");
    let mut archive = ExportArchive::new(Cursor::new(&zip)).expect("opens");
    let mut stream = archive.stream_keys().expect("streams");
    stream.next().expect("a key").expect("valid");
    let finished = stream.finish().expect("finishes");
    assert_eq!(finished.key_count, 140);
    assert_eq!(
        finished.export_bin_sha256,
        sha256(&zip_entry(&zip, "export.bin"))
    );
}

// ---------------------------------------------------------------------------------------
// testExport-2-records-1-of-1.zip (google/exposure-notifications-server examples/export)

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeysJson {
    temporary_exposure_keys: Vec<KeyJson>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyJson {
    key: String,
    rolling_start_number: u32,
    rolling_period: u32,
    transmission_risk: i32,
}

fn test_export_keys() -> Vec<DiagnosisKey> {
    let json: KeysJson =
        serde_json::from_str(&vector_text("testExport-keys.json")).expect("keys json");
    json.temporary_exposure_keys
        .into_iter()
        .map(|entry| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(&entry.key)
                .expect("base64");
            DiagnosisKey {
                transmission_risk_level: entry.transmission_risk,
                ..key(
                    bytes.try_into().expect("16 bytes"),
                    entry.rolling_start_number,
                    entry.rolling_period,
                )
            }
        })
        .collect()
}

#[test]
fn test_export_parses_and_its_keys_equal_the_published_json() {
    let file = export::read_zip(&vector("testExport-2-records-1-of-1.zip")).expect("reads");
    let batch = &file.batch;
    assert_eq!(batch.start_timestamp, 1_590_159_600);
    assert_eq!(batch.end_timestamp, 1_590_246_000);
    assert_eq!(batch.region, "US");
    assert_eq!((batch.batch_num, batch.batch_size), (1, 1));
    let info = SignatureInfo::new("1", "some_id");
    assert_eq!(batch.signature_infos, vec![info.clone()]);
    assert_eq!(file.signatures.len(), 1);
    assert_eq!(file.signatures[0].signature_info, info);
    let mut expected = test_export_keys();
    expected.sort_by_key(|key| key.key.key_data);
    assert_eq!(batch.keys, expected);
    assert!(batch.revised_keys.is_empty());
}

#[test]
fn test_export_keys_derive_the_published_identifiers() {
    let keys = export::read_zip(&vector("testExport-2-records-1-of-1.zip"))
        .expect("reads")
        .batch
        .keys;
    for (tek, rpik, interval, rpi) in [
        (
            "172fc480e598490c34177604339b1543",
            "069133794970fe9d2c8778bb4256173a",
            2_649_980,
            "9d8833fab07f3897eff530e1e550a44b",
        ),
        (
            "2b63053ac483238de176169e861f3dcd",
            "d7a73c519682cab51fec1c1b39cb418d",
            2_649_866,
            "e701abe1763d2f30f0487c3daf0af30a",
        ),
    ] {
        let key = keys
            .iter()
            .find(|key| key.key.key_data == unhex::<16>(tek))
            .unwrap_or_else(|| panic!("{tek} in the file"));
        assert_eq!(key.key.rolling_start_interval_number.0, interval);
        let derived = key.key.rolling_proximity_identifier_key();
        assert_eq!(derived.0, unhex::<16>(rpik));
        assert_eq!(
            derived
                .rolling_proximity_identifier(EnIntervalNumber(interval))
                .0,
            unhex::<16>(rpi)
        );
    }
}

#[test]
fn test_export_verifies_with_its_public_key() {
    let file = export::read_zip(&vector("testExport-2-records-1-of-1.zip")).expect("reads");
    let public = export::public_key_from_pem(&vector_text("testExport-public.pem")).expect("pem");
    assert_eq!(file.verify(&public).expect("valid"), 0);
    let other = export::public_key_from_base64_der(SAMPLE_PUBLIC_KEY).expect("key");
    assert!(matches!(
        file.verify(&other),
        Err(ExportError::SignatureInvalid)
    ));
}

#[test]
fn encoding_the_published_keys_gives_the_reference_servers_bytes() {
    let zip = vector("testExport-2-records-1-of-1.zip");
    let batch = ExportBatch {
        signature_infos: vec![SignatureInfo::new("1", "some_id")],
        keys: test_export_keys(),
        ..ExportBatch::new(1_590_159_600, 1_590_246_000, "US")
    };
    assert_eq!(
        export::encode_export_bin(&batch).expect("encodes"),
        zip_entry(&zip, "export.bin")
    );
}

fn test_export_signer() -> ExportSigner {
    let secret =
        p256::SecretKey::from_sec1_pem(&vector_text("testExport-private.pem")).expect("EC key");
    ExportSigner {
        info: SignatureInfo::new("1", "some_id"),
        key: SigningKey::from(secret),
    }
}

#[test]
fn signing_with_the_published_private_key_gives_a_file_that_verifies() {
    let original = vector("testExport-2-records-1-of-1.zip");
    let batch = ExportBatch {
        keys: test_export_keys(),
        ..ExportBatch::new(1_590_159_600, 1_590_246_000, "US")
    };
    let zip = export::write_signed_zip(&batch, &[test_export_signer()]).expect("writes");

    let names: Vec<String> = {
        let archive = zip::ZipArchive::new(Cursor::new(&zip)).expect("zip");
        (0..archive.len())
            .map(|index| {
                let name = archive.name_for_index(index).expect("entry").expect("name");
                name.into_owned()
            })
            .collect()
    };
    assert_eq!(names, ["export.bin", "export.sig"]);
    assert_eq!(
        zip_entry(&zip, "export.bin"),
        zip_entry(&original, "export.bin")
    );
    let file = export::read_zip(&zip).expect("reads back");
    let public = export::public_key_from_pem(&vector_text("testExport-public.pem")).expect("pem");
    assert_eq!(file.verify(&public).expect("valid"), 0);
    assert_eq!(
        file.signatures[0].signature_info,
        SignatureInfo::new("1", "some_id")
    );
    // Verifying the raw bytes gives the same verdict as the reader.
    let signatures = export::decode_signature_list(&zip_entry(&zip, "export.sig")).expect("sig");
    assert_eq!(
        export::verify(&zip_entry(&zip, "export.bin"), &signatures, &public).expect("valid"),
        0
    );
}

// ---------------------------------------------------------------------------------------
// unsigned_export_110_keys.bin and unsigned_export_200_keys.bin

#[test]
fn unsigned_110_keys_parses_skipping_the_legacy_signature_info_field() {
    let bytes = vector("unsigned_export_110_keys.bin");
    let batch = export::decode_export_bin(&bytes).expect("reads");
    assert_eq!(batch.keys.len(), 110);
    assert_eq!(batch.region, "US");
    assert_eq!(batch.start_timestamp, 1_588_885_200);
    assert_eq!(batch.end_timestamp, 1_588_890_000);
    // Its only signature info sets nothing but the legacy field 2: all fields read empty.
    assert_eq!(batch.signature_infos, vec![SignatureInfo::default()]);
    let tek = unhex::<16>("2b714d3ec93c14e5d345003e59027aea");
    let found = batch
        .keys
        .iter()
        .find(|key| key.key.key_data == tek)
        .expect("the published TEK");
    assert_eq!(found.key.rolling_start_interval_number.0, 2_646_801);
    assert_eq!(found.key.rolling_period, 89);
    let rpi = found
        .key
        .rolling_proximity_identifier_key()
        .rolling_proximity_identifier(EnIntervalNumber(2_646_801));
    assert_eq!(rpi.0, unhex::<16>("3d37caf51d1bf4ba54e758e0ac74c892"));
    // A bare file through the any-format reader: same keys, no signature to check.
    let file = export::read_export_file(&bytes).expect("reads");
    assert_eq!(file.batch, batch);
    assert!(file.signatures.is_empty());
    assert_eq!(file.export_bin_sha256, sha256(&bytes));
}

#[test]
fn unsigned_200_keys_parses_with_its_many_rolling_periods() {
    let batch = export::decode_export_bin(&vector("unsigned_export_200_keys.bin")).expect("reads");
    assert_eq!(batch.keys.len(), 200);
    assert_eq!(batch.region, "US");
    assert_eq!(batch.start_timestamp, 1_588_425_586);
    assert_eq!(batch.end_timestamp, 1_588_857_586);
    for period in [141, 9, 104, 1, 144] {
        assert!(
            batch
                .keys
                .iter()
                .any(|key| key.key.rolling_period == period),
            "a key with rolling period {period}"
        );
    }
    assert!(
        batch
            .keys
            .iter()
            .all(|key| (1..=144).contains(&key.key.rolling_period))
    );
}

// ---------------------------------------------------------------------------------------
// Malformed and hostile input

/// A zip with the given entries, deflated.
fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, content) in entries {
        writer
            .start_file(*name, zip::write::SimpleFileOptions::default())
            .expect("entry");
        writer.write_all(content).expect("write");
    }
    writer.finish().expect("finish").into_inner()
}

fn valid_export_bin() -> Vec<u8> {
    zip_entry(&vector("testExport-2-records-1-of-1.zip"), "export.bin")
}

#[test]
fn a_truncated_export_bin_is_reported_as_such() {
    let bytes = valid_export_bin();
    // Cut inside the first key's 16 bytes.
    let cut = &bytes[..bytes.len() - 40];
    assert!(matches!(
        export::decode_export_bin(cut),
        Err(ExportError::Truncated)
    ));
    // Cut inside the header.
    assert!(matches!(
        export::decode_export_bin(&bytes[..10]),
        Err(ExportError::BadHeader)
    ));
}

#[test]
fn a_wrong_header_is_rejected() {
    let mut bytes = valid_export_bin();
    bytes[3] = b'X';
    assert!(matches!(
        export::decode_export_bin(&bytes),
        Err(ExportError::BadHeader)
    ));
    let zip = zip_of(&[("export.bin", &bytes), ("export.sig", b"")]);
    assert!(matches!(
        export::read_zip(&zip),
        Err(ExportError::BadHeader)
    ));
}

#[test]
fn a_zip_must_hold_exactly_export_bin_and_export_sig() {
    let bin = valid_export_bin();
    let three = zip_of(&[
        ("export.bin", &bin),
        ("export.sig", b""),
        ("readme.txt", b"hello"),
    ]);
    assert!(matches!(
        export::read_zip(&three),
        Err(ExportError::WrongEntryCount { count: 3 })
    ));
    let misnamed = zip_of(&[("export.bin", &bin), ("signature", b"")]);
    assert!(matches!(
        export::read_zip(&misnamed),
        Err(ExportError::MissingEntry("export.sig"))
    ));
    assert!(matches!(
        export::read_zip(b"PK\x03\x04 definitely not a zip"),
        Err(ExportError::InvalidZip(_))
    ));
    assert!(matches!(
        export::read_export_file(b"garbage"),
        Err(ExportError::InvalidZip(_))
    ));
}

#[test]
fn a_key_of_17_bytes_is_rejected() {
    let mut bytes = EXPORT_HEADER.to_vec();
    // keys (7) { key_data (1): 17 bytes }
    bytes.extend_from_slice(&[0x3a, 19, 0x0a, 17]);
    bytes.extend_from_slice(&[0xab; 17]);
    assert!(matches!(
        export::decode_export_bin(&bytes),
        Err(ExportError::KeyLength(17))
    ));
}

#[test]
fn negative_and_overflowing_numbers_are_rejected() {
    let key_message = |extra: &[u8]| {
        let mut message = vec![0x0a, 16];
        message.extend_from_slice(&[1; 16]);
        message.extend_from_slice(extra);
        let mut bytes = EXPORT_HEADER.to_vec();
        bytes.extend_from_slice(&[0x3a, message.len() as u8]);
        bytes.extend_from_slice(&message);
        export::decode_export_bin(&bytes)
    };
    // rolling_start_interval_number = -1 (ten-byte sign-extended varint).
    let minus_one = [
        0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
    ];
    assert!(matches!(
        key_message(&minus_one),
        Err(ExportError::NumberOutOfRange {
            field: "rolling_start_interval_number",
            value: -1
        })
    ));
    // rolling_period = 2^32: does not fit an int32.
    assert!(matches!(
        key_message(&[0x20, 0x80, 0x80, 0x80, 0x80, 0x10]),
        Err(ExportError::NumberOutOfRange {
            field: "rolling_period",
            ..
        })
    ));
    // rolling_period = 145: longer than a day.
    assert!(matches!(
        key_message(&[0x20, 145, 1]),
        Err(ExportError::NumberOutOfRange {
            field: "rolling_period",
            value: 145
        })
    ));
    // days_since_onset_of_symptoms = -3 is fine (sint32 zig-zag 5).
    let key = key_message(&[0x30, 5]).expect("valid").keys[0];
    assert_eq!(key.days_since_onset_of_symptoms, Some(-3));
    // batch_num = -1.
    let mut bytes = EXPORT_HEADER.to_vec();
    bytes.extend_from_slice(&[
        0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
    ]);
    assert!(matches!(
        export::decode_export_bin(&bytes),
        Err(ExportError::NumberOutOfRange {
            field: "batch_num",
            ..
        })
    ));
}

/// Overwrites the uncompressed size of every entry, in the local headers and the central
/// directory, as a hostile zip would.
fn lie_about_sizes(zip: &mut [u8], declared: u32) {
    let mut position = 0;
    while position + 4 <= zip.len() {
        let offset = match &zip[position..position + 4] {
            b"PK\x03\x04" => Some(22),
            b"PK\x01\x02" => Some(24),
            _ => None,
        };
        if let Some(offset) = offset {
            zip[position + offset..position + offset + 4].copy_from_slice(&declared.to_le_bytes());
        }
        position += 1;
    }
}

#[test]
fn a_zip_bomb_is_stopped_at_the_size_limit() {
    // A well-formed start, then one unknown field announcing 80 MiB of zeros: it inflates
    // from a few dozen kilobytes to more than the reader's limit.
    let length: usize = 80 * 1024 * 1024;
    let mut bin = EXPORT_HEADER.to_vec();
    bin.push(0x7a); // field 15, length-delimited
    let mut varint = length;
    while varint >= 0x80 {
        bin.push((varint as u8) | 0x80);
        varint >>= 7;
    }
    bin.push(varint as u8);
    bin.resize(bin.len() + length, 0);
    let mut zip = zip_of(&[("export.bin", &bin), ("export.sig", b"")]);
    drop(bin);
    assert!(zip.len() < 1024 * 1024, "a bomb: {} bytes", zip.len());

    // Honest declared size: refused before inflating anything.
    assert!(matches!(
        export::read_zip(&zip),
        Err(ExportError::TooLarge {
            what: "export.bin",
            ..
        })
    ));
    // Declared 1,000 bytes: the zip reader stops inflating past the declared size (and the
    // stream's own byte count would stop it at the limit otherwise); nothing is allocated
    // beyond one read buffer.
    lie_about_sizes(&mut zip, 1_000);
    let result = export::read_zip(&zip);
    assert!(
        matches!(&result, Err(ExportError::Io(error)) if error.kind() == std::io::ErrorKind::InvalidData),
        "{result:?}"
    );
}

#[test]
fn an_endless_stream_is_stopped_at_the_size_limit() {
    // Header, then field 15 announcing a terabyte, then zeros for ever.
    let mut start = EXPORT_HEADER.to_vec();
    start.extend_from_slice(&[0x7a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20]);
    let endless = Cursor::new(start).chain(std::io::repeat(0));
    let stream = export::KeyStream::new(endless).expect("header is fine");
    assert!(matches!(
        stream.finish(),
        Err(ExportError::TooLarge {
            what: "export.bin",
            limit: export::MAX_EXPORT_BIN_BYTES
        })
    ));
}

#[test]
fn a_huge_declared_signature_entry_is_refused_before_reading() {
    let mut zip = zip_of(&[("export.bin", &valid_export_bin()), ("export.sig", b"")]);
    lie_about_sizes(&mut zip, u32::MAX - 1);
    assert!(matches!(
        export::read_zip(&zip),
        Err(ExportError::TooLarge {
            what: "export.sig",
            ..
        })
    ));
}

// ---------------------------------------------------------------------------------------
// Writing

fn sample_keys(count: usize, rng: &mut impl rand::Rng) -> Vec<DiagnosisKey> {
    (0..count)
        .map(|index| {
            let mut key_data = [0u8; 16];
            rng.fill_bytes(&mut key_data);
            DiagnosisKey {
                transmission_risk_level: (index % 8) as i32 + 1,
                report_type: ReportType::ConfirmedTest,
                days_since_onset_of_symptoms: Some((index % 29) as i32 - 14),
                ..key(key_data, 2_650_000 + 144 * (index as u32 % 14), 144)
            }
        })
        .collect()
}

#[test]
fn written_keys_are_sorted_and_default_rolling_periods_are_left_out() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let mut keys = sample_keys(50, &mut rng);
    keys[3].key.rolling_period = 17;
    let batch = ExportBatch {
        keys: keys.clone(),
        ..ExportBatch::new(10, 20, "CH")
    };
    let bytes = export::encode_export_bin(&batch).expect("encodes");
    let raw = <export::proto::TemporaryExposureKeyExport as prost::Message>::decode(
        &bytes[EXPORT_HEADER.len()..],
    )
    .expect("prost decodes it");
    assert!(
        raw.keys
            .windows(2)
            .all(|pair| pair[0].key_data <= pair[1].key_data)
    );
    for wire in &raw.keys {
        let original = keys
            .iter()
            .find(|key| Some(key.key.key_data.to_vec()) == wire.key_data)
            .expect("same key");
        let expected = (original.key.rolling_period != 144).then_some(17);
        assert_eq!(wire.rolling_period, expected);
        assert_eq!(wire.report_type, Some(1));
    }
    assert_eq!((raw.batch_num, raw.batch_size), (Some(1), Some(1)));
}

#[test]
fn several_signers_each_sign_the_file() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(2);
    let signers = [
        ExportSigner {
            info: SignatureInfo::new("v2", "228"),
            key: SigningKey::from_slice(&[3; 32]).expect("key"),
        },
        ExportSigner {
            info: SignatureInfo::new("v1", "228"),
            key: SigningKey::from_slice(&[4; 32]).expect("key"),
        },
    ];
    let batch = ExportBatch {
        keys: sample_keys(10, &mut rng),
        ..ExportBatch::new(10, 20, "CH")
    };
    let file = export::read_zip(&export::write_signed_zip(&batch, &signers).expect("writes"))
        .expect("reads");
    assert_eq!(
        file.batch.signature_infos,
        vec![signers[0].info.clone(), signers[1].info.clone()]
    );
    assert_eq!(
        file.verify(signers[0].key.verifying_key()).expect("valid"),
        0
    );
    assert_eq!(
        file.verify(signers[1].key.verifying_key()).expect("valid"),
        1
    );

    let mismatched = ExportBatch {
        signature_infos: vec![SignatureInfo::new("v9", "1")],
        ..batch.clone()
    };
    assert!(matches!(
        export::write_signed_zip(&mismatched, &signers),
        Err(ExportError::SignatureInfoMismatch)
    ));
    assert!(matches!(
        export::write_signed_zip(&batch, &[]),
        Err(ExportError::NoSigner)
    ));
}

#[test]
fn writers_refuse_files_over_the_limits_and_splitting_respects_them() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let keys = sample_keys(MAX_KEYS_PER_FILE + 1, &mut rng);
    let batch = ExportBatch {
        keys,
        ..ExportBatch::new(1_000, 2_000, "CH")
    };
    assert!(matches!(
        export::encode_export_bin(&batch),
        Err(ExportError::TooManyKeys { .. })
    ));
    let under_count = ExportBatch {
        keys: batch.keys[..MAX_KEYS_PER_FILE].to_vec(),
        ..batch.clone()
    };
    // 750,000 keys with full metadata take about 23 MB: over the byte limit.
    assert!(matches!(
        export::encode_export_bin(&under_count),
        Err(ExportError::TooLarge { .. })
    ));

    let files = export::split_into_batches(&batch, BatchNumbering::Numbered).expect("splits");
    assert_eq!(files.len(), 2);
    let mut all = Vec::new();
    for (index, file) in files.iter().enumerate() {
        assert_eq!((file.batch_num, file.batch_size), (index as u32 + 1, 2));
        assert_eq!((file.start_timestamp, file.end_timestamp), (1_000, 2_000));
        let bytes = export::encode_export_bin(file).expect("each file fits");
        assert!(bytes.len() <= MAX_EXPORT_FILE_BYTES);
        all.extend_from_slice(&file.keys);
    }
    let mut expected = batch.keys.clone();
    expected.sort_by_key(|key| key.key.key_data);
    assert_eq!(all, expected);

    let separate =
        export::split_into_batches(&batch, BatchNumbering::EachOneOfOne).expect("splits");
    let ends: Vec<_> = separate
        .iter()
        .map(|file| (file.batch_num, file.batch_size, file.end_timestamp))
        .collect();
    assert_eq!(ends, [(1, 1, 2_000), (1, 1, 2_001)]);
}

#[test]
fn padding_makes_one_uploader_and_many_look_the_same() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(4);
    let template = sample_keys(1, &mut rng)[0];
    let uploads = |count: usize, rng: &mut rand::rngs::StdRng| {
        let mut keys: Vec<DiagnosisKey> = (0..count)
            .map(|_| {
                let mut key = template;
                rng.fill_bytes(&mut key.key.key_data);
                key
            })
            .collect();
        let added = export::pad_with_fake_keys(&mut keys, rng);
        assert_eq!(added, export::padded_key_count(count) - count);
        keys
    };
    let one = uploads(14, &mut rng);
    let many = uploads(700, &mut rng);
    assert_eq!(one.len(), 1_000);
    assert_eq!(many.len(), 1_000);
    // Fakes copy real metadata, so the two files have exactly the same size.
    let size = |keys: Vec<DiagnosisKey>| {
        export::encode_export_bin(&ExportBatch {
            keys,
            ..ExportBatch::new(0, 1, "CH")
        })
        .expect("encodes")
        .len()
    };
    assert_eq!(size(one), size(many));
    let mut nothing = Vec::new();
    assert_eq!(export::pad_with_fake_keys(&mut nothing, &mut rng), 0);
}

// ---------------------------------------------------------------------------------------
// Properties

fn arbitrary_key() -> impl Strategy<Value = DiagnosisKey> {
    (
        any::<[u8; 16]>(),
        0..=i32::MAX as u32,
        1..=144u32,
        0..=i32::MAX,
        0..=5i32,
        proptest::option::of(any::<i32>()),
    )
        .prop_map(
            |(key_data, rolling_start, rolling_period, risk, report, onset)| DiagnosisKey {
                transmission_risk_level: risk,
                report_type: ReportType::from_wire(report).unwrap_or_default(),
                days_since_onset_of_symptoms: onset,
                ..key(key_data, rolling_start, rolling_period)
            },
        )
}

fn arbitrary_batch() -> impl Strategy<Value = ExportBatch> {
    (
        any::<u64>(),
        any::<u64>(),
        ".{0,8}",
        0..=i32::MAX as u32,
        0..=i32::MAX as u32,
        proptest::collection::vec(("[a-z0-9_]{0,4}", "[a-z0-9_]{0,4}"), 0..3),
        proptest::collection::vec(arbitrary_key(), 0..40),
        proptest::collection::vec(arbitrary_key(), 0..5),
    )
        .prop_map(
            |(start, end, region, batch_num, batch_size, infos, keys, revised_keys)| ExportBatch {
                start_timestamp: start,
                end_timestamp: end,
                region,
                batch_num,
                batch_size,
                signature_infos: infos
                    .into_iter()
                    .map(|(version, id)| SignatureInfo::new(version, id))
                    .collect(),
                keys,
                revised_keys,
            },
        )
}

proptest! {
    #[test]
    fn encoding_then_decoding_gives_the_batch_back_with_sorted_keys(batch in arbitrary_batch()) {
        let bytes = export::encode_export_bin(&batch).expect("encodes");
        let decoded = export::decode_export_bin(&bytes).expect("decodes");
        let mut expected = batch.clone();
        expected.keys.sort_by_key(|key| key.key.key_data);
        expected.revised_keys.sort_by_key(|key| key.key.key_data);
        prop_assert_eq!(&decoded, &expected);
        // prost's own decoder agrees on the keys.
        let raw = <export::proto::TemporaryExposureKeyExport as prost::Message>::decode(
            &bytes[EXPORT_HEADER.len()..],
        ).expect("prost decodes");
        prop_assert_eq!(raw.keys.len(), batch.keys.len());
        // Encoding is canonical: decoding and encoding again gives the same bytes.
        prop_assert_eq!(export::encode_export_bin(&decoded).expect("encodes"), bytes);
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = export::decode_export_bin(&tail);
        let _ = export::read_export_file(&tail);
        let mut with_header = EXPORT_HEADER.to_vec();
        with_header.extend_from_slice(&tail);
        let _ = export::decode_export_bin(&with_header);
        let _ = export::decode_signature_list(&tail);
    }

    #[test]
    fn corrupting_a_valid_zip_never_panics(position in 0usize..600, value in any::<u8>()) {
        let mut zip = vector("testExport-2-records-1-of-1.zip");
        if let Some(byte) = zip.get_mut(position % 505) {
            *byte = value;
        }
        let _ = export::read_zip(&zip);
    }
}

/// The sample key of the GAEN documentation (`testExport-public.pem`) in every form OpenSSL
/// reads: as `openssl pkey -pubout` writes it, all on one line (how the documentation and
/// many health authorities publish keys), CRLF, surrounded by blank lines, and bare base64.
#[test]
fn public_keys_are_read_as_openssl_reads_them() {
    let file = export::read_zip(&vector("testExport-2-records-1-of-1.zip")).expect("reads");
    let pem = vector_text("testExport-public.pem");
    let base64: String = pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let forms = [
        pem.clone(),
        format!("-----BEGIN PUBLIC KEY-----{base64}-----END PUBLIC KEY-----"),
        format!("-----BEGIN PUBLIC KEY-----\n{base64}\n-----END PUBLIC KEY-----\n"),
        pem.replace('\n', "\r\n"),
        format!("\n\n  {pem}  \n\n"),
        format!("Google's sample key:\n{pem}\n"),
        base64.clone(),
        format!("{}\n{}\n", &base64[..40], &base64[40..]),
    ];
    for form in &forms {
        let key =
            export::public_key_from_pem(form).unwrap_or_else(|error| panic!("{form:?}: {error}"));
        assert_eq!(file.verify(&key).expect("valid"), 0, "{form:?}");
    }
    let refused = [
        format!("-----BEGIN PUBLIC KEY-----{base64}"),
        format!(
            "-----BEGIN PUBLIC KEY-----{}-----END PUBLIC KEY-----",
            &base64[..80]
        ),
        format!("-----BEGIN CERTIFICATE-----{base64}-----END CERTIFICATE-----"),
        "x".repeat(export::MAX_PUBLIC_KEY_TEXT + 1),
        String::new(),
    ];
    for form in &refused {
        assert!(export::public_key_from_pem(form).is_err(), "{form:?}");
    }
}
