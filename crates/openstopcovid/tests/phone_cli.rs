//! `openstopcovid phone …`, run as a user runs it (the parts that need no server; the
//! whole journey over HTTP is crates/phone/tests/end_to_end.rs).

use std::process::{Command, Output};

fn phone(state: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_openstopcovid"))
        .arg("phone")
        .arg("--state")
        .arg(state)
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
fn what_one_phone_broadcasts_another_records_and_nobody_is_at_risk_yet() {
    let dir = tempfile::tempdir().unwrap();
    let alice = dir.path().join("alice");
    let bob = dir.path().join("bob");
    let broadcast = stdout(&phone(
        &alice,
        &[
            "--now",
            "2026-11-20T12:00:00Z",
            "broadcast",
            "--minutes",
            "30",
        ],
    ));
    let lines: Vec<&str> = broadcast.lines().collect();
    assert_eq!(lines.len(), 30);
    let fields: Vec<&str> = lines[0].split(',').collect();
    assert_eq!(fields[0], "1795176000");
    assert_eq!(fields[1].len(), 32);
    assert_eq!(fields[2].len(), 8);

    let file = dir.path().join("alice.txt");
    std::fs::write(&file, &broadcast).unwrap();
    let without_rssi = phone(
        &bob,
        &[
            "--now",
            "2026-11-20T12:30:00Z",
            "observe",
            file.to_str().unwrap(),
        ],
    );
    assert!(!without_rssi.status.success());
    assert!(String::from_utf8_lossy(&without_rssi.stderr).contains("--rssi"));
    let observed = phone(
        &bob,
        &[
            "--now",
            "2026-11-20T12:30:00Z",
            "observe",
            file.to_str().unwrap(),
            "--rssi",
            "-55",
        ],
    );
    stdout(&observed);
    assert!(String::from_utf8_lossy(&observed.stderr).contains("recorded 30 new sightings"));

    let status: serde_json::Value = serde_json::from_str(&stdout(&phone(
        &bob,
        &["--now", "2026-11-20T13:00:00Z", "status"],
    )))
    .unwrap();
    assert_eq!(status["exposure"]["risk"], "none");
    assert_eq!(status["venueWarnings"], serde_json::json!([]));
}

#[test]
fn mistakes_get_clear_messages() {
    let dir = tempfile::tempdir().unwrap();
    let bad_time = phone(dir.path(), &["--now", "yesterday", "status"]);
    assert!(!bad_time.status.success());
    assert!(String::from_utf8_lossy(&bad_time.stderr).contains("RFC 3339"));

    let typo = phone(dir.path(), &["report", "123456789011"]);
    assert!(!typo.status.success());
    assert!(String::from_utf8_lossy(&typo.stderr).contains("typos"));

    let not_set_up = phone(dir.path(), &["sync"]);
    assert!(!not_set_up.status.success());
    assert!(String::from_utf8_lossy(&not_set_up.stderr).contains("init --server"));

    let help = Command::new(env!("CARGO_BIN_EXE_openstopcovid"))
        .args(["phone", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("observe alice.txt --rssi -55"));
}
