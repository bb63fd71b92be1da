//! A venue owner's command line against a real server: `venue create`, `venue poster`,
//! `venue warn` with an authority code, and `venue status`, which finds the warning.

// Test helpers outside #[test] functions may unwrap: a failure there is a failed test.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use serde_json::Value;

fn venue(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_openstopcovid"))
        .arg("venue")
        .args(args)
        .output()
        .expect("the binary runs")
}

fn succeeds(args: &[&str]) -> String {
    let output = venue(args);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn path(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn an_owner_creates_prints_warns_and_learns_of_the_warning() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let now = 1_795_600_000; // 2026-11-20 10:06:40 UTC
    let server = runtime.block_on(async {
        let config = server::Config {
            data_dir: dir.path().join("server"),
            listen: "127.0.0.1:0".parse().unwrap(),
            min_response_millis: 0,
            release_bucket_seconds: 0,
            export_store_url: Some("memory:///".into()),
            ..server::Config::default()
        };
        server::spawn(config, Arc::new(server::MockClock::new(now)))
            .await
            .unwrap()
    });
    let base = server.base_url();

    let file = dir.path().join("cafe.venue.json");
    let printed = succeeds(&[
        "create",
        "--name",
        "Café des Arts",
        "--address",
        "1 place du Marché, Lyon",
        "--type",
        "food-service",
        "--default-stay",
        "60",
        "--room",
        "Terrasse",
        "--room",
        "Salle",
        "--output",
        path(&file),
    ]);
    assert_eq!(printed.trim(), path(&file));
    let venue_file: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(venue_file["rooms"].as_array().unwrap().len(), 2);
    // The room's QR code is a venue code that `venue decode` reads back to the same id.
    let decoded: Value = serde_json::from_str(&succeeds(&[
        "decode",
        venue_file["rooms"][1]["url"].as_str().unwrap(),
    ]))
    .unwrap();
    assert_eq!(decoded["locationId"], venue_file["rooms"][1]["locationId"]);
    assert_eq!(decoded["description"], "Café des Arts – Salle");

    for format in ["pdf", "svg"] {
        let poster = dir.path().join(format!("salle.{format}"));
        succeeds(&[
            "poster",
            path(&file),
            "--room",
            "1",
            "--format",
            format,
            "--output",
            path(&poster),
        ]);
        assert!(std::fs::metadata(&poster).unwrap().len() > 1000);
    }
    let missing_room = venue(&[
        "poster",
        path(&file),
        "--room",
        "5",
        "--format",
        "svg",
        "--output",
        "x.svg",
    ]);
    assert!(!missing_room.status.success());
    assert!(String::from_utf8_lossy(&missing_room.stderr).contains("no room 5"));

    let quiet = succeeds(&["status", path(&file), "--server", &base]);
    assert!(quiet.contains("no positive visitor"), "{quiet}");

    // The authority gives a code; the owner warns for the terrace, 08:00–09:00 today.
    let key = runtime
        .block_on(server::codes::create_api_key(
            &server.state.store,
            "lab",
            now,
        ))
        .unwrap();
    let issued: Value = ureq::post(&format!("{base}/v1/authority/codes"))
        .header("Authorization", &format!("Bearer {key}"))
        .send_json(serde_json::json!({"kind": "venue-warning"}))
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    let code = issued["code"].as_str().unwrap().to_owned();
    let warned = succeeds(&[
        "warn",
        path(&file),
        "--room",
        "0",
        "--code",
        &code,
        "--from",
        "2026-11-20T08:00:00Z",
        "--to",
        "2026-11-20T09:00:00Z",
        "--server",
        &base,
    ]);
    assert!(warned.contains("Café des Arts – Terrasse"), "{warned}");
    // The code was used up.
    let again = venue(&[
        "warn",
        path(&file),
        "--code",
        &code,
        "--from",
        "2026-11-20T08:00:00Z",
        "--to",
        "2026-11-20T09:00:00Z",
        "--server",
        &base,
    ]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("code was refused"));

    let status: Value = serde_json::from_str(&succeeds(&[
        "status",
        path(&file),
        "--server",
        &base,
        "--json",
    ]))
    .unwrap();
    let warnings = status["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0]["description"], "Café des Arts – Terrasse");
    assert_eq!(warnings[0]["from"], "2026-11-20T08:00:00Z");
    assert_eq!(warnings[0]["to"], "2026-11-20T09:30:00Z");
    assert_eq!(warnings[0]["transmissionRiskLevel"], 8);

    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{}").unwrap();
    let refused = venue(&["status", path(&broken), "--server", &base]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not a venue file"));

    runtime.block_on(server.shutdown()).unwrap();
}
