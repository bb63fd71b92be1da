//! How the published codes survive what happens to QR texts in the wild: other hosts,
//! padding, the classic base64 alphabet, stray whitespace, and codes of one family put
//! behind another family's prefix.

// Test helpers outside #[test] functions may unwrap: a failure there is a failed test.
#![allow(clippy::unwrap_used)]

use presence::{
    CodeFormat, MAX_QR_URL_LENGTH, VenueCodeError, decode_qr_url, decode_qr_url_with_prefix,
};
use serde_json::Value;

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/vectors/presence/cwa_vectors.json"
);

fn url(pointer: &str) -> String {
    let text =
        std::fs::read_to_string(VECTORS).expect("the shared vectors are beside the checkout");
    let vectors: Value = serde_json::from_str(&text).expect("vectors are JSON");
    vectors
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap()
        .to_owned()
}

fn fragment(url: &str) -> &str {
    url.split_once('#').unwrap().1
}

#[test]
fn padding_the_classic_alphabet_and_whitespace_keep_the_location_id() {
    let original = url("/qr_codes/0/url");
    let expected = decode_qr_url(&original).unwrap().location_id;
    let classic = original.replace('-', "+").replace('_', "/");
    let padded = format!(
        "{original}{}",
        "=".repeat((4 - fragment(&original).len() % 4) % 4)
    );
    let spaced = format!("  {original}\n");
    for variant in [classic, padded, spaced] {
        assert_eq!(
            decode_qr_url(&variant).unwrap().location_id,
            expected,
            "{variant}"
        );
    }
}

#[test]
fn crowd_notifier_codes_are_recognised_on_any_host_by_their_version() {
    let v4 = url("/crowdnotifier_v4_qr/url");
    for host in [
        "https://qr.notify-me.ch?v=3#",
        "https://qr.swisscovid.ch?v=4#",
    ] {
        let code = decode_qr_url(&format!("{host}{}", fragment(&v4))).unwrap();
        assert_eq!(code.format, CodeFormat::CrowdNotifier);
        assert_eq!(code.description, "grr");
    }
}

#[test]
fn a_code_behind_the_wrong_family_prefix_is_refused() {
    let cwa = url("/qr_codes/1/url");
    let crowd_notifier = url("/crowdnotifier_v4_qr/url");
    assert_eq!(
        decode_qr_url(&format!("https://qr.notify-me.ch?v=3#{}", fragment(&cwa))),
        Err(VenueCodeError::PayloadVersion { found: 1 })
    );
    assert_eq!(
        decode_qr_url(&format!(
            "https://e.coronawarn.app?v=1#{}",
            fragment(&crowd_notifier)
        )),
        Err(VenueCodeError::PayloadVersion { found: 3 })
    );
}

#[test]
fn a_configured_prefix_reads_the_same_payload_as_our_own_format() {
    let cwa = url("/qr_codes/1/url");
    let prefix = "https://venues.sante.example/checkin?v=1#";
    let code = decode_qr_url_with_prefix(&format!("{prefix}{}", fragment(&cwa)), prefix).unwrap();
    assert_eq!(code.format, CodeFormat::OpenStopCovid);
    assert_eq!(code.location_id, decode_qr_url(&cwa).unwrap().location_id);
}

#[test]
fn texts_longer_than_a_qr_code_are_refused_unread() {
    let long = format!(
        "https://e.coronawarn.app?v=1#{}",
        "A".repeat(MAX_QR_URL_LENGTH)
    );
    assert!(matches!(
        decode_qr_url(&long),
        Err(VenueCodeError::UrlTooLong { .. })
    ));
}

#[test]
fn damaged_codes_say_what_is_wrong() {
    let cwa = url("/qr_codes/0/url");
    // Cut in the middle of the key material.
    let cut = &cwa[..cwa.len() / 2];
    assert!(matches!(
        decode_qr_url(cut),
        Err(VenueCodeError::BadProtobuf | VenueCodeError::BadBase64)
    ));
    assert_eq!(
        decode_qr_url("https://e.coronawarn.app?v=1#"),
        Err(VenueCodeError::BadBase64)
    );
    let message = decode_qr_url("https://example.org/#menu")
        .unwrap_err()
        .to_string();
    assert!(message.contains("not a venue QR code"), "{message}");
}
