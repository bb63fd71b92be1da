//! Uploads under fire. Phones upload keys without pause while the database and the
//! server are killed and restarted: PostgreSQL (a cluster of this test's own, stopped
//! with `pg_ctl stop -m immediate`), then `openstopcovid serve` (SIGKILL); on SQLite,
//! the server. Each phone does what a phone does when it gets no answer or a 5xx: it
//! sends the same upload again with the same token until it has an answer.
//!
//! What must hold: every upload ends acknowledged (a commit whose answer was lost is
//! answered like the first time on retry, never "token already used"); every
//! acknowledged key is stored exactly once; no upload is ever answered 500.
//!
//! PostgreSQL's part needs `initdb` and `pg_ctl` (on `PATH`, or in the directory named by
//! `OPENSTOPCOVID_TEST_PG_BIN`); without them it is skipped with a message, unless
//! `OPENSTOPCOVID_TEST_REQUIRE_PG_CTL` is set (CI sets it), which makes it fail.

// Test helpers outside #[test] functions may unwrap: a failure there is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use exposure::interval::EnIntervalNumber;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_openstopcovid");

/// Phones uploading at once.
const PHONES: usize = 12;
/// Uploads acknowledged after each restart before the next step of the script.
const UPLOADS_BETWEEN_STEPS: u64 = 25;
/// Kills of the server (and, on PostgreSQL, of the database as many times).
const KILLS: usize = 4;
/// How long the database stays down.
const DATABASE_DOWNTIME: Duration = Duration::from_secs(2);
/// The whole run, restarts included, must end within this (else the test fails).
const RUN_LIMIT: Duration = Duration::from_secs(180);
/// Uploads on their way when the database or the server is killed.
const UPLOADS_IN_FLIGHT_AT_A_KILL: u64 = 8;
/// Real keys in each upload (the other 20 of the 30 are fake padding).
const REAL_KEYS: u32 = 10;

/// A free loopback port (the listener is dropped, so the port is free again).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `openstopcovid serve` on `port`, once it listens.
fn serve(data_dir: &Path, port: u16, database_url: Option<&str>) -> Child {
    let mut command = Command::new(BIN);
    command
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(data_dir)
        .env("RUST_LOG", "error")
        .env("OPENSTOPCOVID_MIN_RESPONSE_MILLIS", "0")
        .env("OPENSTOPCOVID_VERIFY_PER_CLIENT_PER_MINUTE", "1000000")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(url) = database_url {
        command.args(["--database-url", url]);
    }
    let mut child = command.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("listening on "), "serve printed {line:?}");
    child
}

/// What every phone saw.
#[derive(Default)]
struct Tally {
    /// Real keys of acknowledged uploads.
    acknowledged_keys: Vec<[u8; 16]>,
    /// Answers by status (0: no answer at all).
    statuses: HashMap<u16, u64>,
    /// Uploads answered with something other than 200 at last.
    refused: Vec<(u16, String)>,
}

struct Load {
    url: String,
    api_key: String,
    today: u32,
    onset: String,
    next_phone: AtomicU64,
    acknowledged: AtomicU64,
    /// Uploads sent and not yet answered.
    in_flight: AtomicU64,
    stop: AtomicBool,
    tally: Mutex<Tally>,
}

impl Load {
    /// Sends until there is an answer that is not "try again" (no answer, 408, 5xx).
    fn send(&self, agent: &ureq::Agent, path: &str, bearer: &str, body: &Value) -> (u16, Value) {
        let (status, answer, _) = self.send_counting(agent, path, bearer, body);
        (status, answer)
    }

    /// [`Load::send`], and whether an earlier attempt went unanswered (or 408, 5xx).
    fn send_counting(
        &self,
        agent: &ureq::Agent,
        path: &str,
        bearer: &str,
        body: &Value,
    ) -> (u16, Value, bool) {
        let started = Instant::now();
        let mut retried = false;
        loop {
            assert!(started.elapsed() < RUN_LIMIT, "{path} never got an answer");
            let sent = agent
                .post(&format!("{}{path}", self.url))
                .header("Authorization", &format!("Bearer {bearer}"))
                .send_json(body);
            let (status, answer) = match sent {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let answer = response
                        .into_body()
                        .read_json::<Value>()
                        .unwrap_or(Value::Null);
                    (status, answer)
                }
                Err(_) => (0, Value::Null),
            };
            if path == "/v2/gaen/exposed" {
                *self
                    .tally
                    .lock()
                    .unwrap()
                    .statuses
                    .entry(status)
                    .or_insert(0) += 1;
            }
            if status == 0 || status == 408 || status >= 500 {
                // The server or its database is restarting: come back a moment later.
                retried = true;
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
            return (status, answer, retried);
        }
    }

    /// A code from the lab, traded for an upload token. A code is spent by the check that
    /// took it, answered or not (API.md: a used code is 404): when that answer was lost,
    /// the check sent again is refused, and the patient asks the lab for another code.
    fn token(&self, agent: &ureq::Agent) -> String {
        loop {
            let (status, code) = self.send(
                agent,
                "/v1/authority/codes",
                &self.api_key,
                &json!({"onsetDate": self.onset}),
            );
            assert_eq!(status, 201, "{code}");
            let (status, verified, retried) = self.send_counting(
                agent,
                "/v1/codes/verify",
                "",
                &json!({"code": code["code"], "fake": false}),
            );
            if status == 404 && retried {
                continue;
            }
            assert_eq!(status, 200, "a code checked once: {verified}");
            return verified["accessToken"].as_str().unwrap().to_owned();
        }
    }

    /// One phone: a token, then one upload of 10 real keys.
    fn phone(&self, agent: &ureq::Agent) {
        let phone = self.next_phone.fetch_add(1, Ordering::SeqCst);
        let token = self.token(agent);
        let real: Vec<[u8; 16]> = (1..=REAL_KEYS)
            .map(|day| {
                let mut key = [0u8; 16];
                key[..8].copy_from_slice(&phone.to_be_bytes());
                key[8..12].copy_from_slice(&day.to_be_bytes());
                key[15] = 0x5a;
                key
            })
            .collect();
        let mut keys: Vec<Value> = real
            .iter()
            .zip(1..=REAL_KEYS)
            .map(|(key, day)| {
                json!({"keyData": STANDARD.encode(key), "rollingStartNumber": self.today - day * 144,
                       "rollingPeriod": 144, "fake": 0})
            })
            .collect();
        keys.extend((0..20u8).map(|i| {
            json!({"keyData": STANDARD.encode([i; 16]), "rollingStartNumber": self.today,
                   "rollingPeriod": 144, "fake": 1})
        }));
        let upload = json!({"gaenKeys": keys});
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let (status, answer) = self.send(agent, "/v2/gaen/exposed", &token, &upload);
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        let mut tally = self.tally.lock().unwrap();
        if status == 200 {
            tally.acknowledged_keys.extend(real);
            drop(tally);
            self.acknowledged.fetch_add(1, Ordering::SeqCst);
        } else {
            tally.refused.push((status, answer.to_string()));
        }
    }
}

/// Starts `PHONES` phones uploading without pause until `stop`; returns their threads.
fn start_load(load: &Arc<Load>) -> Vec<std::thread::JoinHandle<()>> {
    (0..PHONES)
        .map(|_| {
            let load = Arc::clone(load);
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(Duration::from_secs(40)))
                    .build()
                    .into();
                while !load.stop.load(Ordering::SeqCst) {
                    load.phone(&agent);
                }
            })
        })
        .collect()
}

/// Waits until `count` more uploads than now are acknowledged, then until some are on
/// their way (so that what comes next hits uploads in flight).
fn wait_for_uploads(load: &Load, count: u64) {
    let target = load.acknowledged.load(Ordering::SeqCst) + count;
    let started = Instant::now();
    while load.acknowledged.load(Ordering::SeqCst) < target
        || load.in_flight.load(Ordering::SeqCst) < UPLOADS_IN_FLIGHT_AT_A_KILL
    {
        assert!(
            started.elapsed() < RUN_LIMIT,
            "uploads stopped going through"
        );
        std::thread::yield_now();
    }
}

/// An authority API key, made in the database the server will use.
fn api_key(data_dir: &Path, database_url: Option<&str>) -> String {
    let mut command = Command::new(BIN);
    command
        .args([
            "authority",
            "api-key",
            "create",
            "--name",
            "lab",
            "--data-dir",
        ])
        .arg(data_dir);
    if let Some(url) = database_url {
        command.env("OPENSTOPCOVID_DATABASE_URL", url);
    }
    let output = command.output().unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

fn new_load(api_key: String, port: u16) -> Arc<Load> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // Symptoms 8 days ago: the 10 days of keys are all in the infectious period.
    let onset = (time::OffsetDateTime::now_utc().date() - time::Duration::days(8))
        .format(time::macros::format_description!("[year]-[month]-[day]"))
        .unwrap();
    Arc::new(Load {
        url: format!("http://127.0.0.1:{port}"),
        api_key,
        today: EnIntervalNumber::from_unix_seconds(now).day_start().0,
        onset,
        next_phone: AtomicU64::new(0),
        acknowledged: AtomicU64::new(0),
        in_flight: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        tally: Mutex::new(Tally::default()),
    })
}

/// Stops the phones once their uploads in flight have an answer.
fn stop(load: &Load, phones: Vec<std::thread::JoinHandle<()>>) {
    load.stop.store(true, Ordering::SeqCst);
    for phone in phones {
        phone.join().unwrap();
    }
}

/// Checks what the phones saw against the keys stored.
fn check(load: &Load, stored: Vec<Vec<u8>>) {
    let tally = load.tally.lock().unwrap();
    eprintln!(
        "{} uploads acknowledged; answers by status (0: none): {:?}",
        load.acknowledged.load(Ordering::SeqCst),
        tally.statuses
    );
    assert!(
        tally.refused.is_empty(),
        "uploads refused although every phone sent its own upload with its own token: {:?}",
        tally.refused
    );
    assert_eq!(tally.statuses.get(&500), None, "no upload is answered 500");
    let unanswered: u64 = tally
        .statuses
        .iter()
        .filter(|(status, _)| **status != 200)
        .map(|(_, count)| count)
        .sum();
    assert!(
        unanswered > 0,
        "the kills hit uploads in flight, which were sent again"
    );
    let mut counts: HashMap<Vec<u8>, u32> = HashMap::new();
    for key in stored {
        *counts.entry(key).or_insert(0) += 1;
    }
    for key in &tally.acknowledged_keys {
        assert_eq!(
            counts.get(key.as_slice()),
            Some(&1),
            "an acknowledged key is stored exactly once"
        );
    }
    assert_eq!(
        counts.len(),
        tally.acknowledged_keys.len(),
        "nothing is stored that no phone saw acknowledged"
    );
}

#[test]
fn sqlite_uploads_survive_server_kills() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path();
    let port = free_port();
    let load = new_load(api_key(data_dir, None), port);
    let mut server = serve(data_dir, port, None);
    let phones = start_load(&load);
    for _ in 0..KILLS {
        wait_for_uploads(&load, UPLOADS_BETWEEN_STEPS);
        server.kill().unwrap();
        server.wait().unwrap();
        server = serve(data_dir, port, None);
    }
    wait_for_uploads(&load, UPLOADS_BETWEEN_STEPS);
    stop(&load, phones);
    server.kill().unwrap();
    server.wait().unwrap();
    let connection = rusqlite::Connection::open(data_dir.join("openstopcovid.sqlite3")).unwrap();
    let mut statement = connection
        .prepare("SELECT key_data FROM exposed_keys")
        .unwrap();
    let stored: Vec<Vec<u8>> = statement
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    check(&load, stored);
}

/// A PostgreSQL cluster in a temporary directory, on its own port, stopped on drop.
struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    /// As root, PostgreSQL's tools run as the `postgres` user (initdb refuses root).
    as_postgres: bool,
    _dir: tempfile::TempDir,
}

impl Cluster {
    fn tool(&self, name: &str) -> Command {
        let tool = self.bin.join(name);
        if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(tool);
            command
        } else {
            Command::new(tool)
        }
    }

    fn run(&self, name: &str, args: &[&str]) {
        let output = self.tool(name).args(args).output().unwrap();
        assert!(
            output.status.success(),
            "{name} {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn new(bin: PathBuf) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let as_postgres = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|output| output.stdout.trim_ascii() == b"0");
        if as_postgres {
            let status = Command::new("chown")
                .args(["postgres:"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success());
        }
        let cluster = Cluster {
            bin,
            data: dir.path().join("data"),
            port: free_port(),
            as_postgres,
            _dir: dir,
        };
        let data = cluster.data.to_str().unwrap().to_owned();
        cluster.run(
            "initdb",
            &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
        );
        cluster.start();
        cluster
    }

    fn start(&self) {
        let data = self.data.to_str().unwrap();
        let socket_dir = self.data.parent().unwrap().to_str().unwrap();
        let options = format!(
            "-p {} -k {socket_dir} -c listen_addresses=127.0.0.1",
            self.port
        );
        let log = format!("{socket_dir}/postgres.log");
        self.run(
            "pg_ctl",
            &["-D", data, "-o", &options, "-l", &log, "-w", "start"],
        );
    }

    /// Kills the server processes at once: no checkpoint, connections cut mid-statement.
    fn kill(&self) {
        let data = self.data.to_str().unwrap();
        self.run("pg_ctl", &["-D", data, "-m", "immediate", "-w", "stop"]);
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data.to_str().unwrap_or_default().to_owned();
        let _ = self
            .tool("pg_ctl")
            .args(["-D", &data, "-m", "immediate", "stop"])
            .output();
    }
}

/// The directory of `initdb` and `pg_ctl`, if this machine has them.
fn postgres_tools() -> Option<PathBuf> {
    let found = std::env::var_os("OPENSTOPCOVID_TEST_PG_BIN")
        .map(PathBuf::from)
        .into_iter()
        .chain(
            std::env::var_os("PATH")
                .iter()
                .flat_map(std::env::split_paths),
        )
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
        // Where the link on PATH leads: `psql` is beside the real `pg_ctl`.
        .and_then(|dir| Some(dir.join("pg_ctl").canonicalize().ok()?.parent()?.to_owned()));
    if found.is_none() {
        assert!(
            std::env::var_os("OPENSTOPCOVID_TEST_REQUIRE_PG_CTL").is_none(),
            "initdb and pg_ctl are required here, and not found"
        );
        eprintln!("skipped: initdb and pg_ctl not found (set OPENSTOPCOVID_TEST_PG_BIN)");
    }
    found
}

#[test]
fn postgres_uploads_survive_database_and_server_kills() {
    let Some(bin) = postgres_tools() else {
        return;
    };
    let cluster = Cluster::new(bin);
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path();
    let port = free_port();
    let database_url = cluster.url();
    let load = new_load(api_key(data_dir, Some(&database_url)), port);
    let mut server = serve(data_dir, port, Some(&database_url));
    let phones = start_load(&load);

    for kill in 0..KILLS {
        wait_for_uploads(&load, UPLOADS_BETWEEN_STEPS);
        cluster.kill();
        // Once down for a while (requests wait, then get 503), then straight back.
        if kill == 0 {
            std::thread::sleep(DATABASE_DOWNTIME);
        }
        cluster.start();

        wait_for_uploads(&load, UPLOADS_BETWEEN_STEPS);
        server.kill().unwrap();
        server.wait().unwrap();
        server = serve(data_dir, port, Some(&database_url));
    }

    wait_for_uploads(&load, UPLOADS_BETWEEN_STEPS);
    stop(&load, phones);
    server.kill().unwrap();
    server.wait().unwrap();
    let output = cluster
        .tool("psql")
        .args(["-h", "127.0.0.1", "-p", &cluster.port.to_string()])
        .args(["-U", "postgres", "-At", "-c"])
        .arg("SELECT encode(key_data, 'hex') FROM exposed_keys")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stored: Vec<Vec<u8>> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| hex::decode(line).unwrap())
        .collect();
    check(&load, stored);
}
