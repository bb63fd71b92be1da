//! Every value of `shared/vectors/presence/cwa_vectors.json`, published by the CWA
//! project: QR codes with their fields and location ids, protected reports with the
//! records they decrypt to, the ten time-derivation cases and a CrowdNotifier v4 code.

// Test helpers outside #[test] functions may unwrap: a failure there is a failed test.
#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use presence::{
    CWALocationData, CheckInProtectedReport, CheckInRecord, CodeFormat, LocationId, QRCodePayload,
    TimeWindow, VenueType, decode_qr_url, derive_time,
};
use prost::Message as _;
use serde_json::Value;

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/vectors/presence/cwa_vectors.json"
);

fn vectors() -> Value {
    let text =
        std::fs::read_to_string(VECTORS).expect("the shared vectors are beside the checkout");
    serde_json::from_str(&text).expect("vectors are JSON")
}

fn text(value: &Value) -> &str {
    value.as_str().expect("a string")
}

fn number(value: &Value) -> u64 {
    value.as_u64().expect("a number")
}

fn base64(value: &Value) -> Vec<u8> {
    STANDARD.decode(text(value)).expect("base64")
}

#[test]
fn cwa_qr_codes_decode_to_every_published_field() {
    let vectors = vectors();
    let codes = vectors["qr_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 2);
    for vector in codes {
        let code = decode_qr_url(text(&vector["url"])).unwrap();
        assert_eq!(code.format, CodeFormat::Cwa);
        assert_eq!(code.url, text(&vector["url"]));
        assert_eq!(code.description, text(&vector["description"]));
        assert_eq!(code.address, text(&vector["address"]));
        assert_eq!(code.start_timestamp, number(&vector["startTimestamp"]));
        assert_eq!(code.end_timestamp, number(&vector["endTimestamp"]));
        if let Some(seed) = vector.get("cryptographicSeed") {
            assert_eq!(hex::encode(&code.cryptographic_seed), text(seed));
        }
        let vendor = &vector["vendorData"];
        assert_eq!(code.payload_version, 1);
        // The vendor data's own version is not part of the decoded code: read it raw.
        let payload = QRCodePayload::decode(code.raw_payload.as_slice()).unwrap();
        let vendor_data = CWALocationData::decode(payload.vendor_data.as_slice()).unwrap();
        assert_eq!(u64::from(vendor_data.version), number(&vendor["version"]));
        let venue_type = code.venue_type.unwrap();
        assert_eq!(u64::from(venue_type.wire_value()), number(&vendor["type"]));
        assert_eq!(
            code.default_check_in_length_minutes.map(u64::from),
            Some(number(&vendor["defaultCheckInLengthInMinutes"]))
        );
        assert_eq!(code.location_id.to_hex(), text(&vector["locationId"]));
        assert_eq!(
            code.location_id_hash().to_hex(),
            text(&vector["locationIdHash"])
        );
        assert_eq!(code.is_permanent(), code.start_timestamp == 0);
    }
}

#[test]
fn cwa_qr_codes_have_the_expected_types() {
    let vectors = vectors();
    let kino = decode_qr_url(text(&vectors["qr_codes"][0]["url"])).unwrap();
    assert_eq!(kino.venue_type, Some(VenueType::CulturalEvent));
    assert!(!kino.is_permanent());
    let friseur = decode_qr_url(text(&vectors["qr_codes"][1]["url"])).unwrap();
    assert_eq!(friseur.venue_type, Some(VenueType::Craft));
    assert!(friseur.is_permanent());
}

#[test]
fn protected_reports_verify_and_decrypt_to_the_published_records() {
    let vectors = vectors();
    let reports = vectors["protected_reports"].as_array().unwrap();
    assert_eq!(reports.len(), 2);
    for vector in reports {
        let location_id = LocationId(base64(&vector["locationId_b64"]).try_into().unwrap());
        let report = CheckInProtectedReport {
            location_id_hash: location_id.hash().0.to_vec(),
            iv: base64(&vector["iv_b64"]),
            encrypted_check_in_record: base64(&vector["encryptedCheckInRecord_b64"]),
            mac: base64(&vector["mac_b64"]),
        };
        if let Some(hash) = vector.get("locationIdHash") {
            assert_eq!(location_id.hash().to_hex(), text(hash));
        }
        let expected = &vector["record"];
        let expected = CheckInRecord {
            start_interval_number: number(&expected["startIntervalNumber"]) as u32,
            period: number(&expected["period"]) as u32,
            transmission_risk_level: number(&expected["transmissionRiskLevel"]) as u32,
        };
        assert_eq!(report.decrypt(&location_id), Ok(expected));

        // Re-encrypting the record with the published IV gives the published bytes.
        let iv: [u8; 16] = report.iv.as_slice().try_into().unwrap();
        let again = presence::encrypt_check_in_record_with_iv(&location_id, &expected, iv);
        assert_eq!(again, report);
    }
}

/// "10:21" on 2021-03-04 at UTC+1, as unix seconds.
fn local_time(hh_mm: &str) -> u64 {
    let (hours, minutes) = hh_mm.split_once(':').unwrap();
    let (hours, minutes): (u64, u64) = (hours.parse().unwrap(), minutes.parse().unwrap());
    let midnight_utc = 1_614_816_000; // 2021-03-04T00:00:00Z
    midnight_utc + (hours - 1) * 3600 + minutes * 60
}

#[test]
fn the_ten_time_derivation_cases_match_cwa() {
    let vectors = vectors();
    let cases = vectors["time_derivation_local_utc_plus_1"]["cases"]
        .as_array()
        .unwrap();
    assert_eq!(cases.len(), 10);
    for case in cases {
        let check_in = local_time(text(&case[0]));
        let check_out = local_time(text(&case[1]));
        let expected = case[2].as_array().map(|window| {
            TimeWindow::new(local_time(text(&window[0])), local_time(text(&window[1])))
        });
        assert_eq!(derive_time(check_in, check_out), expected, "case {case}");
    }
}

#[test]
fn the_crowd_notifier_v4_code_decodes() {
    let vectors = vectors();
    let vector = &vectors["crowdnotifier_v4_qr"];
    let code = decode_qr_url(text(&vector["url"])).unwrap();
    assert_eq!(code.format, CodeFormat::CrowdNotifier);
    assert_eq!(
        u64::from(code.payload_version),
        number(&vector["payload_version"])
    );
    assert_eq!(code.description, text(&vector["description"]));
    assert_eq!(code.start_timestamp, number(&vector["startTimestamp"]));
    assert_eq!(code.end_timestamp, number(&vector["endTimestamp"]));
    assert_eq!(code.cryptographic_seed.len(), 32);
    assert_eq!(code.crowd_notifier_public_key.len(), 96);
    assert_eq!(code.venue_type, None);
    assert!(code.address.is_empty());
}
