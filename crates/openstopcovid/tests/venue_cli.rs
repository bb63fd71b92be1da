//! `openstopcovid venue decode` against the published CWA and CrowdNotifier codes.

use std::process::{Command, Output};

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

fn venue(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_openstopcovid"))
        .arg("venue")
        .args(args)
        .output()
        .expect("the binary runs")
}

fn decode(url: &str) -> Value {
    let output = venue(&["decode", url]);
    assert!(
        output.status.success(),
        "decode failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("decode prints JSON")
}

#[test]
fn cwa_codes_print_every_published_field() {
    let vectors = vectors();
    for vector in vectors["qr_codes"].as_array().unwrap() {
        let decoded = decode(vector["url"].as_str().unwrap());
        assert_eq!(decoded["format"], "cwa");
        assert_eq!(decoded["description"], vector["description"]);
        assert_eq!(decoded["address"], vector["address"]);
        assert_eq!(decoded["startTimestamp"], vector["startTimestamp"]);
        assert_eq!(decoded["endTimestamp"], vector["endTimestamp"]);
        assert_eq!(decoded["type"], vector["vendorData"]["type"]);
        assert_eq!(
            decoded["defaultCheckInLengthInMinutes"],
            vector["vendorData"]["defaultCheckInLengthInMinutes"]
        );
        assert_eq!(decoded["locationId"], vector["locationId"]);
        assert_eq!(decoded["locationIdHash"], vector["locationIdHash"]);
    }
}

#[test]
fn our_prefix_with_the_same_payload_gives_the_same_venue() {
    let vectors = vectors();
    let cwa_url = vectors["qr_codes"][0]["url"].as_str().unwrap();
    let (_, fragment) = cwa_url.split_once('#').unwrap();
    let ours = decode(&format!("https://qr.openstopcovid.org?v=1#{fragment}"));
    assert_eq!(ours["format"], "openstopcovid");
    assert_eq!(ours["description"], "Kinoabend");
    assert_eq!(ours["typeName"], "cultural event");
    assert_eq!(ours["locationId"], vectors["qr_codes"][0]["locationId"]);

    let configured = venue(&[
        "decode",
        "--prefix",
        "https://venues.example.org?v=1#",
        &format!("https://venues.example.org?v=1#{fragment}"),
    ]);
    assert!(configured.status.success());
    let configured: Value = serde_json::from_slice(&configured.stdout).unwrap();
    assert_eq!(configured["format"], "openstopcovid");
}

#[test]
fn crowd_notifier_codes_decode_without_location_ids() {
    let vectors = vectors();
    let vector = &vectors["crowdnotifier_v4_qr"];
    let decoded = decode(vector["url"].as_str().unwrap());
    assert_eq!(decoded["format"], "crowdnotifier");
    assert_eq!(decoded["description"], vector["description"]);
    assert_eq!(decoded["startTimestamp"], vector["startTimestamp"]);
    assert_eq!(decoded["endTimestamp"], vector["endTimestamp"]);
    // SwissCovid's country data: a user's own code, checked out by the app after 12 h.
    assert_eq!(decoded["type"], 0);
    assert_eq!(decoded["typeName"], "user QR code");
    assert_eq!(decoded["automaticCheckOutDelayMinutes"], 720);
    assert_eq!(decoded["defaultCheckInLengthInMinutes"], Value::Null);
    assert_eq!(decoded["locationId"], Value::Null);
    assert_eq!(decoded["locationIdHash"], Value::Null);
}

/// A CWA code whose vendor data sets no default length (proto3: field absent) shows 0,
/// as the CWA app reads it, not null.
#[test]
fn a_cwa_code_without_a_default_length_shows_zero() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let vectors = vectors();
    let friseur = vectors["qr_codes"][1]["url"].as_str().unwrap();
    let (prefix, fragment) = friseur.split_once('#').unwrap();
    let payload = URL_SAFE_NO_PAD.decode(fragment).unwrap();
    // vendorData (field 4, last) = CWALocationData {version 1, type 5, length 120}.
    let with_length = [0x22, 0x06, 0x08, 0x01, 0x10, 0x05, 0x18, 0x78];
    assert!(payload.ends_with(&with_length));
    let mut without_length = payload[..payload.len() - with_length.len()].to_vec();
    without_length.extend_from_slice(&[0x22, 0x04, 0x08, 0x01, 0x10, 0x05]);
    let decoded = decode(&format!(
        "{prefix}#{}",
        URL_SAFE_NO_PAD.encode(&without_length)
    ));
    assert_eq!(decoded["format"], "cwa");
    assert_eq!(decoded["defaultCheckInLengthInMinutes"], 0);
    let with = decode(friseur);
    assert_eq!(with["defaultCheckInLengthInMinutes"], 120);
}

#[test]
fn anything_else_exits_with_status_two_and_says_why() {
    let cases = [
        ("https://example.org/menu", "not a venue QR code"),
        ("hello", "not a venue QR code"),
        ("https://e.coronawarn.app?v=1#!!!", "not valid base64url"),
        (
            "https://e.coronawarn.app?v=1#CAE",
            "venue record has no location data",
        ),
        ("https://e.coronawarn.app?v=9#CAE", "version 9"),
    ];
    for (text, reason) in cases {
        let output = venue(&["decode", text]);
        assert_eq!(output.status.code(), Some(2), "{text}");
        assert!(output.stdout.is_empty(), "{text}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(reason), "{text}: {stderr}");
    }
}

#[test]
fn help_shows_an_example() {
    let output = venue(&["decode", "--help"]);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("Example:"));
    assert!(help.contains("openstopcovid venue decode"));
    assert!(help.contains("'https://e.coronawarn.app?v=1#"));
}
