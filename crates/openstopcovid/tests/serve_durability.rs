//! `openstopcovid serve` killed with SIGKILL right after it acknowledged an upload: the
//! upload is there when the server comes back (SQLite, WAL, synchronous = FULL, and
//! uploads answered only after their commit), the same upload sent again is answered
//! like the first time, and its token stays spent for any other keys.

// Test helpers outside #[test] functions may unwrap: a failure there is a failed test.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use exposure::interval::EnIntervalNumber;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_openstopcovid");

/// Starts `serve` on a free port; returns the process and its base URL.
fn serve(data_dir: &Path) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("serve printed {line:?}"))
        .to_owned();
    (child, url)
}

fn post(agent: &ureq::Agent, url: &str, bearer: &str, body: &Value) -> (u16, Value) {
    let response = agent
        .post(url)
        .header("Authorization", &format!("Bearer {bearer}"))
        .send_json(body)
        .unwrap();
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .read_json::<Value>()
        .unwrap_or(Value::Null);
    (status, body)
}

fn stored_keys(data_dir: &Path) -> i64 {
    let connection = rusqlite::Connection::open(data_dir.join("openstopcovid.sqlite3")).unwrap();
    connection
        .query_row("SELECT COUNT(*) FROM exposed_keys", [], |row| row.get(0))
        .unwrap()
}

#[test]
fn an_acknowledged_upload_survives_kill_dash_nine() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path();
    let api_key = Command::new(BIN)
        .args([
            "authority",
            "api-key",
            "create",
            "--name",
            "lab",
            "--data-dir",
        ])
        .arg(data_dir)
        .output()
        .unwrap();
    assert!(api_key.status.success());
    let api_key = String::from_utf8(api_key.stdout).unwrap().trim().to_owned();

    let (mut server, url) = serve(data_dir);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    // Symptoms 8 days ago: the keys of the last 10 days are all in the infectious period
    // (which starts 2 days before the onset), so every real key is stored.
    let onset = (time::OffsetDateTime::now_utc().date() - time::Duration::days(8))
        .format(time::macros::format_description!("[year]-[month]-[day]"))
        .unwrap();
    let (status, code) = post(
        &agent,
        &format!("{url}/v1/authority/codes"),
        &api_key,
        &json!({"onsetDate": onset}),
    );
    assert_eq!(status, 201, "{code}");
    let verified = agent
        .post(&format!("{url}/v1/codes/verify"))
        .send_json(json!({"code": code["code"], "fake": false}))
        .unwrap()
        .into_body()
        .read_json::<Value>()
        .unwrap();
    let token = verified["accessToken"].as_str().unwrap().to_owned();

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let today = EnIntervalNumber::from_unix_seconds(now).day_start().0;
    let mut keys: Vec<Value> = (1..=10u32)
        .map(|day| {
            json!({"keyData": STANDARD.encode([day as u8; 16]), "rollingStartNumber": today - day * 144,
                   "rollingPeriod": 144, "fake": 0})
        })
        .collect();
    keys.extend((0..20u8).map(|i| {
        json!({"keyData": STANDARD.encode([100 + i; 16]), "rollingStartNumber": today,
               "rollingPeriod": 144, "fake": 1})
    }));
    let upload = json!({"gaenKeys": keys, "delayedKeyDate": today});
    let (status, _) = post(&agent, &format!("{url}/v2/gaen/exposed"), &token, &upload);
    assert_eq!(status, 200);

    // SIGKILL the moment the answer is in: no shutdown, no flush, no checkpoint.
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(stored_keys(data_dir), 10, "the 10 real keys were on disk");

    let (mut server, url) = serve(data_dir);
    // The phone that never saw the answer sends the same upload again: it is done, and
    // is answered so, storing nothing twice.
    let (status, problem) = post(&agent, &format!("{url}/v2/gaen/exposed"), &token, &upload);
    assert_eq!(status, 200, "the same upload again: {problem}");
    // Other keys with that token: the token stayed spent.
    let mut other = upload.clone();
    other["gaenKeys"][0]["keyData"] = json!(STANDARD.encode([99u8; 16]));
    let (status, problem) = post(&agent, &format!("{url}/v2/gaen/exposed"), &token, &other);
    assert_eq!(status, 403, "the token stayed spent: {problem}");
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(stored_keys(data_dir), 10);
}
