//! `openstopcovid keys inspect` as an operator runs it.

use std::io::Write;
use std::process::{Command, Output};

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/vectors/gaen/");

/// SubjectPublicKeyInfo (base64 DER) of the key that signs the sample file.
const SAMPLE_KEY: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE49JY6kekDgxj3Crm4y6kEHdfoKQFSNDM4mV9cgDb+e5nOAw0GeRoRThCu9/wX5wDT2QloFoOjl2pGZHI0f3C3w==";
/// A key that does not sign it.
const OTHER_KEY: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEUczyMAkfSeoU77Nmcb1G7t7xyGCAhQqMOIVDFLFas3J+elP7CiotovigCLWj706F07j1EPL27ThRzZl7Ha9uOA==";

fn pem_file(base64_der: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    writeln!(file, "-----BEGIN PUBLIC KEY-----").expect("write");
    for line in base64_der.as_bytes().chunks(64) {
        file.write_all(line).expect("write");
        writeln!(file).expect("write");
    }
    writeln!(file, "-----END PUBLIC KEY-----").expect("write");
    file
}

fn inspect(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_openstopcovid"))
        .args(["keys", "inspect"])
        .args(args)
        .output()
        .expect("the binary runs")
}

fn sample_zip() -> String {
    format!("{VECTORS}sample_diagnosis_key_file.zip")
}

#[test]
fn the_sample_file_with_its_key_is_valid_and_lists_140_keys() {
    let key = pem_file(SAMPLE_KEY);
    let output = inspect(&[
        &sample_zip(),
        "--public-key",
        key.path().to_str().expect("path"),
    ]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let stdout = String::from_utf8(output.stdout).expect("UTF-8");
    assert!(stdout.contains(r#""signature":"valid""#), "{stdout}");
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(json["keys"].as_array().expect("keys").len(), 140);
    assert_eq!(json["region"], "US");
    assert_eq!(json["startTimestamp"], 1_593_633_600);
    assert_eq!(json["endTimestamp"], 1_593_633_900);
    assert_eq!(json["signatureInfos"][0]["verificationKeyId"], "310");
    let first = &json["keys"][0];
    assert_eq!(first["keyData"].as_str().expect("hex").len(), 32);
    assert_eq!(first["rollingPeriod"], 144);
    for field in [
        "rollingStartIntervalNumber",
        "transmissionRiskLevel",
        "reportType",
        "daysSinceOnsetOfSymptoms",
    ] {
        assert!(first.get(field).is_some(), "{field} in {first}");
    }
}

#[test]
fn the_wrong_key_exits_1_and_says_invalid() {
    let key = pem_file(OTHER_KEY);
    let output = inspect(&[
        &sample_zip(),
        "--public-key",
        key.path().to_str().expect("path"),
    ]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stdout = String::from_utf8(output.stdout).expect("UTF-8");
    assert!(stdout.contains(r#""signature":"invalid""#), "{stdout}");
}

#[test]
fn without_a_key_the_signature_is_unchecked() {
    let output = inspect(&[&sample_zip()]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains(r#""signature":"unchecked""#));
}

#[test]
fn a_bare_export_bin_is_read_too() {
    let output = inspect(&[&format!("{VECTORS}unsigned_export_110_keys.bin")]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(json["keys"].as_array().expect("keys").len(), 110);
    let key = json["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|key| key["keyData"] == "2b714d3ec93c14e5d345003e59027aea")
        .expect("the published key");
    assert_eq!(key["rollingStartIntervalNumber"], 2_646_801);
    assert_eq!(key["rollingPeriod"], 89);
}

#[test]
fn a_garbage_file_exits_2_with_a_message() {
    let mut garbage = tempfile::NamedTempFile::new().expect("temp file");
    garbage
        .write_all(b"this is not an export file")
        .expect("write");
    let output = inspect(&[garbage.path().to_str().expect("path")]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(output.stdout.is_empty());
    assert!(!output.stderr.is_empty());
}

#[test]
fn help_shows_an_example() {
    let output = inspect(&["--help"]);
    assert_eq!(output.status.code(), Some(0));
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("--public-key"), "{help}");
    assert!(help.contains("Example"), "{help}");
}

/// The Google sample key as the GAEN documentation and many health authorities publish
/// keys — PEM all on one line, or the bare base64 — is read as OpenSSL reads it.
#[test]
fn a_one_line_pem_and_a_bare_base64_key_are_accepted() {
    for text in [
        format!("-----BEGIN PUBLIC KEY-----{SAMPLE_KEY}-----END PUBLIC KEY-----\n"),
        format!("-----BEGIN PUBLIC KEY-----\r\n{SAMPLE_KEY}\r\n-----END PUBLIC KEY-----\r\n"),
        format!("  {SAMPLE_KEY}\n"),
    ] {
        let mut key = tempfile::NamedTempFile::new().expect("temp file");
        key.write_all(text.as_bytes()).expect("write");
        let output = inspect(&[
            &sample_zip(),
            "--public-key",
            key.path().to_str().expect("path"),
        ]);
        assert_eq!(output.status.code(), Some(0), "{text:?}: {output:?}");
        let stdout = String::from_utf8(output.stdout).expect("UTF-8");
        assert!(stdout.contains(r#""signature":"valid""#), "{stdout}");
    }
}
