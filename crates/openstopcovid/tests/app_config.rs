//! The authority's app configuration from the server to a phone, over real HTTP: a
//! server on loopback, a phone core that met someone who then reported.
//!
//! - One change of a threshold turns the same sightings from low into high.
//! - One change of a text reaches the phone, with the warning.
//! - A tampered configuration (its body changed on the way, its signature kept) is
//!   refused and the last good one kept; the next good one is taken again.
//! - `openstopcovid authority config show|set`: a file round trip, and a bad file that
//!   names its fields and saves nothing.

// Test helpers outside #[test] functions may unwrap: a failure there is a failed test.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use exposure::matching::Sighting;
use messages::app_settings::{AppSettings, InfectiousnessLevel};
use phone::{Phone, PhoneStatus};
use serde_json::Value;
use server::{Config, MockClock, ServerHandle};

/// 2026-11-20 09:00 UTC.
const MEETING: u64 = 1_795_597_200;
const HOUR: u64 = 3600;

/// Settings where every published key counts fully (whatever its days since onset and
/// report type), so that the score is the weighted minutes of contact: 21 minutes at
/// the immediate weight 1.75 score about 37. Low from 5, high from 60: low.
fn settings_where_the_meeting_is_low() -> AppSettings {
    let mut settings = AppSettings::default();
    let risk = &mut settings.risk;
    risk.infectiousness_by_days_since_onset = vec![InfectiousnessLevel::High; 29];
    risk.infectiousness_when_onset_missing = InfectiousnessLevel::High;
    risk.infectiousness_weights.high = 1.0;
    risk.report_type_weights.confirmed_test = 1.0;
    risk.report_type_weights.confirmed_clinical_diagnosis = 1.0;
    risk.report_type_weights.self_report = 1.0;
    risk.low_risk_minutes = 5.0;
    risk.high_risk_minutes = 60.0;
    settings
}

fn heard(ads: &[phone::Advertisement], rssi: i8) -> Vec<Sighting> {
    ads.iter()
        .map(|ad| Sighting {
            unix_seconds: ad.unix_seconds,
            rpi: ad.rpi,
            aem: ad.aem,
            rssi,
        })
        .collect()
}

/// A server whose first settings version makes the meeting low risk, and a phone (B)
/// that spent 20 minutes at arm's length from a phone (A) that then reported; A's keys
/// are released. `server_url_for_b` may point B at a proxy in front of the server.
struct World {
    runtime: tokio::runtime::Runtime,
    server: ServerHandle,
    b: Phone,
    now: u64,
    _dir: tempfile::TempDir,
}

impl World {
    fn new(proxy: Option<&TamperingProxy>) -> World {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(MockClock::new(MEETING as i64));
        let config = Config {
            data_dir: dir.path().join("server"),
            listen: "127.0.0.1:0".parse().unwrap(),
            min_response_millis: 0,
            export_store_url: Some("memory:///".into()),
            ..Config::default()
        };
        let server = runtime
            .block_on(server::spawn(config, clock.clone()))
            .unwrap();
        let version = runtime
            .block_on(server::app_config::save(
                &server.state.store,
                MEETING as i64,
                "admin@authority.example",
                &settings_where_the_meeting_is_low(),
            ))
            .unwrap();
        assert_eq!(version, 1);
        let api_key = runtime
            .block_on(server::codes::create_api_key(
                &server.state.store,
                "lab",
                MEETING as i64,
            ))
            .unwrap();
        let url = server.base_url();
        if let Some(proxy) = proxy {
            proxy.forward_to(&url);
        }
        let b_url = proxy.map_or(url.clone(), TamperingProxy::url);
        let mut a = Phone::open(&dir.path().join("a")).unwrap();
        a.init(&url, MEETING).unwrap();
        let mut b = Phone::open(&dir.path().join("b")).unwrap();
        b.init(&b_url, MEETING).unwrap();
        let mut rng = rand::rng();

        // 20 minutes at arm's length (-50 dBm: 35 dB, the immediate bucket).
        let advertised = a.broadcast(MEETING, 20, &mut rng).unwrap();
        b.observe(MEETING + 20 * 60, &heard(&advertised, -50))
            .unwrap();

        let report_time = MEETING + 24 * HOUR;
        clock.set(report_time as i64);
        let code: Value = ureq::post(&format!("{url}/v1/authority/codes"))
            .header("Authorization", &format!("Bearer {api_key}"))
            .send_json(serde_json::json!({}))
            .unwrap()
            .into_body()
            .read_json()
            .unwrap();
        a.report(code["code"].as_str().unwrap(), report_time, &mut rng)
            .unwrap();
        let now = report_time + 2 * HOUR;
        clock.set(now as i64);
        runtime.block_on(server.run_jobs_now()).unwrap();
        World {
            runtime,
            server,
            b,
            now,
            _dir: dir,
        }
    }

    fn sync(&mut self) -> PhoneStatus {
        self.now += HOUR;
        self.b.sync(self.now, &mut rand::rng()).unwrap()
    }

    /// What an administrator does at /authority/config: saves a new version.
    fn save(&self, settings: &AppSettings) -> i64 {
        self.runtime
            .block_on(server::app_config::save(
                &self.server.state.store,
                self.now as i64,
                "admin@authority.example",
                settings,
            ))
            .unwrap()
    }

    fn stop(self) {
        self.runtime.block_on(self.server.shutdown()).unwrap();
    }
}

#[test]
fn one_change_of_a_threshold_turns_the_same_sightings_from_low_into_high() {
    let mut world = World::new(None);
    let before = world.sync();
    assert_eq!(before.exposure.risk, "low", "{before:?}");
    assert_eq!(before.configuration.version, Some(1));
    let low_text = AppSettings::default().texts.en.exposure_low;
    assert_eq!(
        before.instructions.en.what_to_do.as_deref(),
        Some(low_text.as_str())
    );

    let mut stricter = settings_where_the_meeting_is_low();
    stricter.risk.high_risk_minutes = 20.0;
    assert_eq!(world.save(&stricter), 2);
    let after = world.sync();
    assert_eq!(after.exposure.risk, "high", "{after:?}");
    assert_eq!(after.configuration.version, Some(2));
    // The day's notification rose with it: the user is told again, at the new level.
    assert_eq!(after.exposure.notifications.len(), 1);
    assert_eq!(after.exposure.notifications[0].risk, "high");
    let high_text = AppSettings::default().texts.fr.exposure_high;
    assert_eq!(
        after.instructions.fr.what_to_do.as_deref(),
        Some(high_text.as_str())
    );
    // Nothing was downloaded again: the same sightings and keys, scored anew.
    assert_eq!(
        before.exposure.exposure_minutes,
        after.exposure.exposure_minutes
    );
    world.stop();
}

#[test]
fn one_change_of_a_text_reaches_the_phone_with_the_warning() {
    let mut world = World::new(None);
    let warned = world.sync();
    assert_eq!(warned.exposure.risk, "low");

    let mut settings = settings_where_the_meeting_is_low();
    settings.texts.en.exposure_low =
        "Get a free test at any pharmacy within 3 days; call 0 800 555 010 with questions.".into();
    settings.texts.en.info_banner = "Vaccination is open to everyone over 12.".into();
    world.save(&settings);
    let told = world.sync();
    assert_eq!(
        told.instructions.en.what_to_do.as_deref(),
        Some(settings.texts.en.exposure_low.as_str())
    );
    assert_eq!(
        told.instructions.en.info_banner.as_deref(),
        Some("Vaccination is open to everyone over 12.")
    );
    // French speakers keep their own text.
    assert_eq!(
        told.instructions.fr.what_to_do.as_deref(),
        Some(settings.texts.fr.exposure_low.as_str())
    );
    assert_eq!(told.instructions.fr.info_banner, None);
    // The same answer offline, from what the phone kept.
    let offline = world.b.status(world.now).unwrap();
    assert_eq!(offline.instructions, told.instructions);
    world.stop();
}

#[test]
fn a_tampered_configuration_is_refused_and_the_last_good_one_kept() {
    let proxy = TamperingProxy::start();
    let mut world = World::new(Some(&proxy));
    let good = world.sync();
    assert_eq!(good.configuration.version, Some(1));
    assert_eq!(good.exposure.risk, "low");

    // Version 2 would make the meeting high risk and change the text; on the way, its
    // body is changed to tell the phone to ignore everything, the signature left as is.
    let mut next = settings_where_the_meeting_is_low();
    next.risk.high_risk_minutes = 20.0;
    next.texts.en.exposure_high = "Get tested today at the town hall.".into();
    world.save(&next);
    proxy.tamper(true);
    let refused = world.sync();
    let why = refused.configuration.refused.clone().unwrap_or_default();
    assert!(
        why.starts_with("not signed by the server's pinned key"),
        "{why}"
    );
    assert_eq!(
        refused.configuration.version,
        Some(1),
        "the last good one kept"
    );
    assert_eq!(
        refused.exposure.risk, "low",
        "scored with the last good one"
    );
    assert_eq!(refused.instructions, good.instructions);

    // Untouched again: version 2 is taken, and the refusal is over.
    proxy.tamper(false);
    let fixed = world.sync();
    assert_eq!(fixed.configuration.version, Some(2));
    assert_eq!(fixed.configuration.refused, None);
    assert_eq!(fixed.exposure.risk, "high");
    assert_eq!(
        fixed.instructions.en.what_to_do.as_deref(),
        Some("Get tested today at the town hall.")
    );
    world.stop();
}

fn authority_config(data_dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_openstopcovid"))
        .args(["authority", "config"])
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .unwrap()
}

#[test]
fn the_command_line_shows_a_file_that_set_takes_and_refuses_a_bad_one_whole() {
    let dir = tempfile::tempdir().unwrap();
    let shown = authority_config(dir.path(), &["show"]);
    assert!(shown.status.success());
    assert!(String::from_utf8_lossy(&shown.stderr).contains("built-in defaults"));
    let mut settings: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(
        serde_json::from_value::<AppSettings>(settings.clone()).unwrap(),
        AppSettings::default()
    );

    settings["texts"]["en"]["hotline"] = serde_json::json!("+44 800 555 0100");
    let file = dir.path().join("settings.json");
    std::fs::write(&file, settings.to_string()).unwrap();
    let set = authority_config(dir.path(), &["set", file.to_str().unwrap()]);
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&set.stdout).trim(), "1");
    let again = authority_config(dir.path(), &["show"]);
    assert!(String::from_utf8_lossy(&again.stderr).starts_with("version 1 saved"));
    let kept: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(kept["texts"]["en"]["hotline"], "+44 800 555 0100");

    // Every problem named by its field, exit status 2, nothing saved.
    settings["risk"]["lowRiskMinutes"] = serde_json::json!(30.0);
    settings["texts"]["fr"]["testSiteUrl"] = serde_json::json!("http://tests.example");
    std::fs::write(&file, settings.to_string()).unwrap();
    let refused = authority_config(dir.path(), &["set", file.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2));
    let errors = String::from_utf8_lossy(&refused.stderr);
    assert!(
        errors.contains("risk.lowRiskMinutes: must not be above the high-risk threshold"),
        "{errors}"
    );
    assert!(
        errors.contains("texts.fr.testSiteUrl: must be an https:// address"),
        "{errors}"
    );
    settings["risk"]["lowRiskMinute"] = serde_json::json!(3.0);
    std::fs::write(&file, settings.to_string()).unwrap();
    let misspelt = authority_config(dir.path(), &["set", file.to_str().unwrap()]);
    assert_eq!(misspelt.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&misspelt.stderr).contains("risk.lowRiskMinute: is not a setting")
    );
    let still = authority_config(dir.path(), &["show"]);
    assert!(String::from_utf8_lossy(&still.stderr).starts_with("version 1 saved"));
}

/// A plain HTTP/1.1 proxy on loopback that forwards every request to the server and,
/// when told to, changes the body of `/v1/config` answers while keeping their headers
/// (and so their `Signature`): what an attacker on the network path could do.
struct TamperingProxy {
    address: String,
    upstream: Arc<std::sync::Mutex<String>>,
    tampering: Arc<AtomicBool>,
}

impl TamperingProxy {
    fn start() -> TamperingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let upstream = Arc::new(std::sync::Mutex::new(String::new()));
        let tampering = Arc::new(AtomicBool::new(false));
        let (to, tamper) = (upstream.clone(), tampering.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let base = to.lock().unwrap().clone();
                let _ = forward(stream, &base, tamper.load(Ordering::SeqCst));
            }
        });
        TamperingProxy {
            address,
            upstream,
            tampering,
        }
    }

    fn url(&self) -> String {
        self.address.clone()
    }

    fn forward_to(&self, base_url: &str) {
        *self.upstream.lock().unwrap() = base_url.to_owned();
    }

    fn tamper(&self, on: bool) {
        self.tampering.store(on, Ordering::SeqCst);
    }
}

/// One request, answered with `Connection: close`.
fn forward(stream: TcpStream, base_url: &str, tamper: bool) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut parts = request_line.split_whitespace();
    let (method, target) = (
        parts.next().unwrap_or("GET").to_owned(),
        parts.next().unwrap_or("/").to_owned(),
    );
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            let (name, value) = (name.trim().to_ascii_lowercase(), value.trim().to_owned());
            if name == "content-length" {
                length = value.parse().unwrap_or(0);
            }
            if !matches!(
                name.as_str(),
                "host" | "content-length" | "connection" | "accept-encoding"
            ) {
                headers.push((name, value));
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!("{base_url}{target}");
    let response = if method == "GET" {
        let mut request = agent.get(&url);
        for (name, value) in &headers {
            request = request.header(name, value);
        }
        request.call()
    } else {
        let mut request = agent.post(&url);
        for (name, value) in &headers {
            request = request.header(name, value);
        }
        request.send(body.as_slice())
    }
    .map_err(std::io::Error::other)?;
    let status = response.status();
    let answer_headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .filter(|(name, _)| {
            !matches!(
                name.as_str(),
                "content-length" | "transfer-encoding" | "connection"
            )
        })
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                value.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let mut answer = response
        .into_body()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_vec()
        .map_err(std::io::Error::other)?;
    if tamper && target.starts_with("/v1/config") {
        let mut document: Value = serde_json::from_slice(&answer).unwrap();
        document["risk"]["highRiskMinutes"] = serde_json::json!(1440.0);
        document["risk"]["lowRiskMinutes"] = serde_json::json!(1440.0);
        document["texts"]["en"]["exposureHigh"] = serde_json::json!("Nothing to do.");
        answer = serde_json::to_vec(&document).unwrap();
    }
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 {} {}\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    )?;
    for (name, value) in answer_headers {
        write!(out, "{name}: {value}\r\n")?;
    }
    write!(
        out,
        "content-length: {}\r\nconnection: close\r\n\r\n",
        answer.len()
    )?;
    out.write_all(&answer)?;
    out.flush()
}
