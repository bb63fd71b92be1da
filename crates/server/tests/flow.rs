//! End-to-end tests over real HTTP on an ephemeral port, with a mock clock: authority key →
//! code → verify → upload → release → signed download; races, bad input, retention.
//!
//! Every test runs on SQLite, and also on PostgreSQL when `OPENSTOPCOVID_TEST_DATABASE_URL`
//! is set (each test in its own schema, so they run in parallel).

// Test helpers outside #[test] functions may unwrap: a failure there is a failed test.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use exposure::interval::EnIntervalNumber;
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::problem::ProblemKind;
use server::{Config, MockClock, ServerHandle};

/// 2023-11-14T22:13:20Z.
const START: i64 = 1_700_000_000;

struct TestServer {
    handle: ServerHandle,
    clock: MockClock,
    http: reqwest::Client,
    api_key: String,
    /// The data directory, when the server owns it.
    _dir: Option<tempfile::TempDir>,
}

/// The configuration of every test server: releases at once, no padding of response
/// times, and (unlike production) padded exports.
fn test_config(data_dir: &std::path::Path) -> Config {
    Config {
        data_dir: data_dir.to_owned(),
        listen: "127.0.0.1:0".parse().unwrap(),
        release_bucket_seconds: 0,
        min_response_millis: 0,
        verify_per_client_per_minute: 1000,
        pad_exports: true,
        ..Config::default()
    }
}

/// Starts a server on `config` and gives it an API key.
async fn serve(
    config: Config,
    clock: MockClock,
    postgres: Option<&str>,
    dir: Option<tempfile::TempDir>,
) -> TestServer {
    let handle = common::spawn(config, Arc::new(clock.clone()), postgres).await;
    let api_key = server::codes::create_api_key(&handle.state.store, "test lab", START)
        .await
        .unwrap();
    TestServer {
        handle,
        clock,
        http: reqwest::Client::new(),
        api_key,
        _dir: dir,
    }
}

async fn start(postgres: Option<&str>) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path());
    serve(config, MockClock::new(START), postgres, Some(dir)).await
}

impl TestServer {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.handle.base_url())
    }

    /// A code whose onset lies 10 days back, so that the 10 days of keys of
    /// [`upload_body`] are all in the infectious period.
    async fn issue_code(&self) -> Value {
        let onset = time::OffsetDateTime::from_unix_timestamp(self.clock_now() - 10 * 86_400)
            .unwrap()
            .date();
        let response = self
            .http
            .post(self.url("/v1/authority/codes"))
            .bearer_auth(&self.api_key)
            .json(&json!({"onsetDate": onset.to_string()}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.unwrap()
    }

    async fn verify(&self, code: &str, fake: bool) -> reqwest::Response {
        self.http
            .post(self.url("/v1/codes/verify"))
            .json(&json!({"code": code, "fake": fake}))
            .send()
            .await
            .unwrap()
    }

    async fn token(&self) -> String {
        let code = self.issue_code().await;
        let response = self.verify(code["code"].as_str().unwrap(), false).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        body["accessToken"].as_str().unwrap().to_owned()
    }

    async fn upload(&self, token: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url("/v2/gaen/exposed"))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    async fn get_text(&self, path: &str) -> String {
        let response = self.http.get(self.url(path)).send().await.unwrap();
        response.text().await.unwrap()
    }

    async fn download(&self, tag: i64) -> reqwest::Response {
        self.http
            .get(self.url(&format!("/v2/gaen/exposed?lastKeyBundleTag={tag}")))
            .send()
            .await
            .unwrap()
    }

    fn today(&self) -> u32 {
        EnIntervalNumber::from_unix_seconds(self.clock_now() as u64)
            .day_start()
            .0
    }

    fn clock_now(&self) -> i64 {
        use server::Clock;
        self.clock.now_unix_seconds()
    }
}

fn gaen_key(byte: u8, start: u32, fake: u8) -> Value {
    json!({"keyData": STANDARD.encode([byte; 16]), "rollingStartNumber": start, "rollingPeriod": 144, "fake": fake})
}

/// 10 real keys for the last 10 days, today's key, and 19 fake keys.
fn upload_body(today: u32) -> Value {
    let mut keys: Vec<Value> = (1..=10)
        .map(|day| gaen_key(day as u8, today - day * 144, 0))
        .collect();
    keys.push(gaen_key(100, today, 0));
    keys.extend((0..19).map(|i| gaen_key(200 + i, today, 1)));
    json!({"gaenKeys": keys, "delayedKeyDate": today})
}

/// The `type` of a problem document: what clients (and these tests) tell problems apart by.
async fn problem_type(response: reqwest::Response) -> String {
    assert!(problem_of(&response));
    let problem: Value = response.json().await.unwrap();
    problem["type"].as_str().unwrap_or_default().to_owned()
}

fn problem_of(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get("content-type")
        .is_some_and(|value| value == "application/problem+json")
}

#[tokio::test]
async fn a_code_becomes_published_keys_in_a_signed_export() {
    for backend in common::backends() {
        let server = start(backend.as_deref()).await;
        let code = server.issue_code().await;
        let code_text = code["code"].as_str().unwrap();
        assert!(messages::code::is_well_formed(code_text));
        let status_url = server.url(&format!(
            "/v1/authority/codes/{}",
            code["id"].as_str().unwrap()
        ));
        let status: Value = server
            .http
            .get(&status_url)
            .bearer_auth(&server.api_key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(status["status"], "unused");

        let response = server.verify(code_text, false).await;
        assert_eq!(response.status(), StatusCode::OK);
        let token = response.json::<Value>().await.unwrap()["accessToken"]
            .as_str()
            .unwrap()
            .to_owned();
        let status: Value = server
            .http
            .get(&status_url)
            .bearer_auth(&server.api_key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(status["status"], "used");
        let reused = server.verify(code_text, false).await;
        assert_eq!(reused.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            problem_type(reused).await,
            ProblemKind::CodeRejected.type_uri()
        );

        let today = server.today();
        let response = server.upload(&token, &upload_body(today)).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers().get("authorization").is_some());
        let next_day_token = response.headers()["authorization"]
            .to_str()
            .unwrap()
            .to_owned();
        // The same upload again (a phone that lost the answer): answered like the first
        // time, with a next-day token that is spent with the first one.
        let again = server.upload(&token, &upload_body(today)).await;
        assert_eq!(again.status(), StatusCode::OK);
        let next_day_again = again.headers()["authorization"]
            .to_str()
            .unwrap()
            .to_owned();
        let jti = |bearer: &str| -> Value {
            let payload = bearer
                .trim_start_matches("Bearer ")
                .split('.')
                .nth(1)
                .unwrap();
            let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap();
            serde_json::from_slice::<Value>(&json).unwrap()["jti"].clone()
        };
        assert_eq!(jti(&next_day_token), jti(&next_day_again));
        // A token authorises one upload: other keys with it are refused.
        let mut other = upload_body(today);
        other["gaenKeys"][0] = gaen_key(77, today - 144, 0);
        let replay = server.upload(&token, &other).await;
        assert_eq!(replay.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            problem_type(replay).await,
            ProblemKind::TokenUsed.type_uri()
        );

        // Nothing is released before the hour after the upload.
        let nothing = server.download(0).await;
        assert_eq!(nothing.status(), StatusCode::NO_CONTENT);

        server.clock.advance(2 * 3600);
        let response = server.download(0).await;
        assert_eq!(response.status(), StatusCode::OK);
        let tag: i64 = response.headers()["x-key-bundle-tag"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let signature = response.headers()["signature"].to_str().unwrap().to_owned();
        let zip = response.bytes().await.unwrap();

        let pem = server.get_text("/v1/export-public-key").await;
        let public_key = exposure::export::public_key_from_pem(&pem).unwrap();
        server::signing::verify_response_signature(&public_key, &signature, &zip).unwrap();
        let export = exposure::export::read_zip(&zip).unwrap();
        export.verify(&public_key).unwrap();
        let published: Vec<[u8; 16]> = export
            .batch
            .keys
            .iter()
            .map(|key| key.key.key_data)
            .collect();
        for day in 1..=10u8 {
            assert!(
                published.contains(&[day; 16]),
                "real key {day} is published"
            );
        }
        assert!(!published.contains(&[100; 16]), "today's key is embargoed");
        for fake in 200..219u8 {
            assert!(
                !published.contains(&[fake; 16]),
                "fake keys are never published"
            );
        }
        assert_eq!(published.len(), exposure::export::padded_key_count(10));

        // After today's key has expired, it comes in the next bundle, alone.
        let day_end = i64::from(today + 144) * 600;
        server.clock.set(day_end + 3600);
        let response = server.download(tag).await;
        assert_eq!(response.status(), StatusCode::OK);
        let export = exposure::export::read_zip(&response.bytes().await.unwrap()).unwrap();
        let published: Vec<[u8; 16]> = export
            .batch
            .keys
            .iter()
            .map(|key| key.key.key_data)
            .collect();
        assert!(published.contains(&[100; 16]));
        assert!(
            !published.contains(&[1; 16]),
            "keys already fetched are not sent again"
        );
        server.handle.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn forty_racing_checks_of_one_code_get_exactly_one_token() {
    for backend in common::backends() {
        let server = Arc::new(start(backend.as_deref()).await);
        let code = server.issue_code().await["code"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut tasks = Vec::new();
        for _ in 0..40 {
            let server = server.clone();
            let code = code.clone();
            tasks.push(tokio::spawn(async move {
                server.verify(&code, false).await.status()
            }));
        }
        let mut statuses = Vec::new();
        for task in tasks {
            statuses.push(task.await.unwrap());
        }
        assert_eq!(
            statuses
                .iter()
                .filter(|status| **status == StatusCode::OK)
                .count(),
            1
        );
        assert_eq!(
            statuses
                .iter()
                .filter(|status| **status == StatusCode::NOT_FOUND)
                .count(),
            39
        );
    }
}

/// Issue 16, item 2: a physician's clinical diagnosis (no test) reaches phones: its keys
/// are published as GAEN's `CONFIRMED_CLINICAL_DIAGNOSIS`, their days since onset counted
/// from the test date when no symptom onset is given.
#[tokio::test]
async fn a_clinical_diagnosis_publishes_its_report_type_and_dates_from_the_test() {
    let server = start(None).await;
    let test_day = time::OffsetDateTime::from_unix_timestamp(server.clock_now() - 4 * 86_400)
        .unwrap()
        .date();
    let issued: Value = server
        .http
        .post(server.url("/v1/authority/codes"))
        .bearer_auth(&server.api_key)
        .json(&json!({"testType": "clinical-diagnosis", "testDate": test_day.to_string()}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let response = server.verify(issued["code"].as_str().unwrap(), false).await;
    let token = response.json::<Value>().await.unwrap()["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let today = server.today();
    assert_eq!(
        server.upload(&token, &upload_body(today)).await.status(),
        StatusCode::OK
    );
    server.clock.advance(2 * 3600);
    let response = server.download(0).await;
    let export = exposure::export::read_zip(&response.bytes().await.unwrap()).unwrap();
    // The test was 4 days ago; keys from 2 days before it (infectious_days_before_onset)
    // to yesterday are kept: 1 to 6 days back.
    let real: Vec<_> = export
        .batch
        .keys
        .iter()
        .filter(|key| {
            let day = key.key.key_data[0];
            (1..=10).contains(&day) && key.key.key_data == [day; 16]
        })
        .collect();
    assert_eq!(real.len(), 6, "days 1 to 6 back");
    for key in real {
        let days_back = i32::from(key.key.key_data[0]);
        assert_eq!(
            key.report_type,
            exposure::keys::ReportType::ConfirmedClinicalDiagnosis
        );
        assert_eq!(key.days_since_onset_of_symptoms, Some(4 - days_back));
    }
}

/// The keys a download from tag 0 publishes, once the clock is past their release.
async fn published_keys(server: &TestServer) -> Vec<[u8; 16]> {
    let response = server.download(0).await;
    assert_eq!(response.status(), StatusCode::OK);
    let export = exposure::export::read_zip(&response.bytes().await.unwrap()).unwrap();
    export
        .batch
        .keys
        .iter()
        .map(|key| key.key.key_data)
        .collect()
}

async fn keys_stored_metric(server: &TestServer) -> String {
    let metrics = server.get_text("/metrics").await;
    metrics
        .lines()
        .find(|line| line.starts_with("openstopcovid_keys_stored_total "))
        .unwrap_or_default()
        .to_owned()
}

/// A person who tests positive twice uploads the same keys with a second code: both
/// uploads are accepted, and each key is stored and published once, also after the
/// server restarts (SQLite keeps no unique index on the keys: its writer remembers them).
#[tokio::test]
async fn keys_uploaded_again_with_another_token_are_published_once() {
    for backend in common::backends() {
        let dir = tempfile::tempdir().unwrap();
        let clock = MockClock::new(START);
        // Unpadded, so that the export holds exactly the published keys.
        let config = || Config {
            pad_exports: false,
            ..test_config(dir.path())
        };
        let server = serve(config(), clock.clone(), backend.as_deref(), None).await;
        let today = server.today();
        for _ in 0..2 {
            let token = server.token().await;
            let response = server.upload(&token, &upload_body(today)).await;
            assert_eq!(response.status(), StatusCode::OK);
        }
        // Counted only once released (so that a scrape cannot tell a real upload from a
        // fake one), and each key once.
        assert_eq!(
            keys_stored_metric(&server).await,
            "openstopcovid_keys_stored_total 0"
        );
        server.clock.advance(2 * 3600);
        let mut published = published_keys(&server).await;
        published.sort();
        let expected: Vec<[u8; 16]> = (1..=10u8).map(|day| [day; 16]).collect();
        assert_eq!(published, expected);
        // Once today's key is out too (an hour after its day ends): eleven, not twenty-two.
        server.clock.advance(3600);
        assert_eq!(
            keys_stored_metric(&server).await,
            "openstopcovid_keys_stored_total 11"
        );
        server.clock.advance(-3600);
        server.handle.shutdown().await.unwrap();

        if backend.is_some() {
            // A PostgreSQL restart here would open a fresh schema: nothing to compare.
            continue;
        }
        let server = serve(config(), clock.clone(), None, None).await;
        let token = server.token().await;
        let response = server.upload(&token, &upload_body(today)).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            keys_stored_metric(&server).await,
            "openstopcovid_keys_stored_total 0"
        );
        let mut published = published_keys(&server).await;
        published.sort();
        assert_eq!(published, expected);
        server.handle.shutdown().await.unwrap();
    }
}

/// Uploads share commits (group commit); a token must still let in exactly one upload
/// when its copies race each other, and every other racing upload must still get in.
#[tokio::test]
async fn racing_uploads_share_commits_and_a_token_still_counts_once() {
    for backend in common::backends() {
        let server = Arc::new(start(backend.as_deref()).await);
        let today = server.today();
        let shared = server.token().await;
        let mut own = Vec::new();
        for _ in 0..10 {
            own.push(server.token().await);
        }
        let mut tasks = Vec::new();
        for (index, token) in std::iter::repeat_n(shared.clone(), 20)
            .chain(own)
            .enumerate()
        {
            let server = server.clone();
            tasks.push(tokio::spawn(async move {
                // Distinct keys per upload, so that each accepted upload stores its own.
                let mut keys: Vec<Value> = (1..=10u32)
                    .map(|day| {
                        json!({"keyData": STANDARD.encode([index as u8; 15].iter().copied().chain([day as u8]).collect::<Vec<u8>>()),
                               "rollingStartNumber": today - day * 144, "rollingPeriod": 144, "fake": 0})
                    })
                    .collect();
                // Padded to the 30 keys every upload carries.
                keys.extend((0..20).map(|i| gaen_key(200 + i, today, 1)));
                let body = json!({"gaenKeys": keys, "delayedKeyDate": today});
                (index, server.upload(&token, &body).await.status())
            }));
        }
        let mut statuses = Vec::new();
        for task in tasks {
            statuses.push(task.await.unwrap());
        }
        let shared_ok = statuses
            .iter()
            .filter(|(index, status)| *index < 20 && *status == StatusCode::OK)
            .count();
        let shared_refused = statuses
            .iter()
            .filter(|(index, status)| *index < 20 && *status == StatusCode::FORBIDDEN)
            .count();
        assert_eq!((shared_ok, shared_refused), (1, 19), "{statuses:?}");
        assert!(
            statuses
                .iter()
                .filter(|(index, _)| *index >= 20)
                .all(|(_, status)| *status == StatusCode::OK),
            "{statuses:?}"
        );
        // 11 accepted uploads of 10 keys each, all of them stored (counted once released).
        server.clock.advance(86_400);
        let metrics = server.get_text("/metrics").await;
        assert!(
            metrics
                .lines()
                .any(|line| line.starts_with("openstopcovid_keys_stored_total 110")),
            "{metrics}"
        );
    }
}

/// A phone waiting on the push route hears of new keys as soon as their release time
/// has come and the jobs have run, and then downloads them; with nothing new, a wait of
/// zero seconds answers at once that nothing is new.
#[tokio::test]
async fn a_waiting_phone_hears_of_new_keys_when_they_are_released() {
    for backend in common::backends() {
        let server = Arc::new(start(backend.as_deref()).await);
        let push = |tag: i64, wait: u64| {
            let server = server.clone();
            async move {
                let response = server
                    .http
                    .get(server.url(&format!(
                        "/v1/push/keys?lastKeyBundleTag={tag}&waitSeconds={wait}"
                    )))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::OK);
                response.json::<Value>().await.unwrap()
            }
        };
        let nothing = push(0, 0).await;
        assert_eq!(nothing["newKeys"], false);
        let tag = nothing["keyBundleTag"].as_i64().unwrap();

        // A phone starts waiting (up to 5 minutes) before anything is uploaded.
        let waiting = tokio::spawn(push(tag, 300));
        let token = server.token().await;
        let today = server.today();
        assert_eq!(
            server.upload(&token, &upload_body(today)).await.status(),
            StatusCode::OK
        );
        // The keys are embargoed until the next hour: the phone hears nothing yet.
        assert_eq!(push(tag, 0).await["newKeys"], false);
        server.clock.advance(2 * 3600);
        server.handle.run_jobs_now().await.unwrap();
        let heard = waiting.await.unwrap();
        assert_eq!(heard["newKeys"], true, "{heard}");
        let response = server.download(tag).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            heard["keyBundleTag"].as_i64().unwrap() > tag,
            "the tag moves on: {heard}"
        );
        let bad = server
            .http
            .get(server.url("/v1/push/keys?lastKeyBundleTag=-5"))
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        assert!(problem_of(&bad));
    }
}

#[tokio::test]
async fn fake_checks_and_uploads_look_real_and_change_nothing() {
    for backend in common::backends() {
        let server = start(backend.as_deref()).await;
        let real_code = server.issue_code().await["code"]
            .as_str()
            .unwrap()
            .to_owned();
        let fake = server.verify("123456789012", true).await;
        let real = server.verify(&real_code, false).await;
        assert_eq!(fake.status(), real.status());
        let fake_token = fake.json::<Value>().await.unwrap()["accessToken"]
            .as_str()
            .unwrap()
            .to_owned();
        let real_token = real.json::<Value>().await.unwrap()["accessToken"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(fake_token.len(), real_token.len());

        let today = server.today();
        let fake_upload = server.upload(&fake_token, &upload_body(today)).await;
        assert_eq!(fake_upload.status(), StatusCode::OK);
        let fake_size = fake_upload.bytes().await.unwrap().len();
        server.clock.advance(3 * 86_400);
        assert_eq!(
            server.download(0).await.status(),
            StatusCode::NO_CONTENT,
            "a fake upload stores nothing"
        );
        assert!(fake_size > 0);
    }
}

#[tokio::test]
async fn bad_input_is_refused_with_a_problem_and_stores_nothing() {
    for backend in common::backends() {
        let server = start(backend.as_deref()).await;
        let token = server.token().await;
        let today = server.today();

        let broken = server
            .http
            .post(server.url("/v2/gaen/exposed"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body("{\"gaenKeys\": [")
            .send()
            .await
            .unwrap();
        assert_eq!(broken.status(), StatusCode::BAD_REQUEST);
        assert!(problem_of(&broken));

        let wrong_types = server
            .upload(
                &token,
                &json!({"gaenKeys": "many", "delayedKeyDate": "today"}),
            )
            .await;
        assert_eq!(wrong_types.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            problem_type(wrong_types).await,
            ProblemKind::MalformedBody.type_uri()
        );

        let mut short_key = upload_body(today);
        short_key["gaenKeys"][0]["keyData"] = json!(STANDARD.encode([1u8; 15]));
        let response = server.upload(&token, &short_key).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            problem_type(response).await,
            ProblemKind::InvalidKeys.type_uri()
        );

        let mut too_few = upload_body(today);
        too_few["gaenKeys"].as_array_mut().unwrap().pop();
        assert_eq!(
            server.upload(&token, &too_few).await.status(),
            StatusCode::BAD_REQUEST
        );

        let huge = "x".repeat(2 * 1024 * 1024);
        let response = server
            .http
            .post(server.url("/v2/gaen/exposed"))
            .bearer_auth(&token)
            .json(&json!({"gaenKeys": [], "delayedKeyDate": 0, "padding": huge}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(problem_of(&response));

        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[1] =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"scope":"exposed"}"#);
        let forged = parts.join(".");
        assert_eq!(
            server.upload(&forged, &upload_body(today)).await.status(),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            server.upload("", &upload_body(today)).await.status(),
            StatusCode::UNAUTHORIZED
        );

        server.clock.advance(2 * 3600);
        let expired = server.upload(&token, &upload_body(today)).await;
        assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            problem_type(expired).await,
            ProblemKind::InvalidToken.type_uri()
        );

        server.clock.advance(3 * 86_400);
        assert_eq!(
            server.download(0).await.status(),
            StatusCode::NO_CONTENT,
            "nothing was stored"
        );
    }
}

#[tokio::test]
async fn everything_is_purged_after_fourteen_days() {
    for backend in common::backends() {
        let server = start(backend.as_deref()).await;
        let token = server.token().await;
        let today = server.today();
        assert_eq!(
            server.upload(&token, &upload_body(today)).await.status(),
            StatusCode::OK
        );
        server.clock.advance(2 * 86_400);
        let report = server.handle.run_jobs_now().await.unwrap();
        assert_eq!(report.keys_purged, 0);
        assert!(!report.export_days_written.is_empty());

        server.clock.advance(15 * 86_400);
        server.handle.run_jobs_now().await.unwrap();
        assert!(
            server
                .handle
                .state
                .store
                .released_keys(0, i64::MAX, 0)
                .await
                .unwrap()
                .is_empty(),
            "no key is kept past the window"
        );
        assert_eq!(
            server.handle.state.store.token_uses_kept().await.unwrap(),
            0,
            "used tokens are forgotten once expired"
        );
        assert_eq!(server.download(0).await.status(), StatusCode::NO_CONTENT);
    }
}

/// Issue 14, item 6: someone who copies the database after three patients uploaded their
/// keys and check-ins cannot tell which rows came from one patient. `token_uses` shared
/// one id across a token's purposes and dated the code check to the second; keys were
/// stored in upload order and check-in reports numbered by an autoincrement.
#[tokio::test]
async fn the_database_cannot_group_rows_by_patient() {
    for backend in common::backends() {
        let server = start(backend.as_deref()).await;
        let today = server.today();
        let mut keys_of = Vec::new();
        let mut macs_of = Vec::new();
        for patient in 0..3u8 {
            let token = server.token().await;
            // 11 real keys a patient (distinct bytes, one a day), fake ones up to 30.
            let mut keys: Vec<Value> = (0..=10u8)
                .map(|day| gaen_key(patient * 50 + day + 1, today - u32::from(day) * 144, 0))
                .collect();
            keys.extend((0..19).map(|i| gaen_key(200 + i, today, 1)));
            let body = json!({"gaenKeys": keys, "delayedKeyDate": today});
            assert_eq!(server.upload(&token, &body).await.status(), StatusCode::OK);
            keys_of.push(
                (0..=10u8)
                    .map(|day| vec![patient * 50 + day + 1; 16])
                    .collect::<Vec<_>>(),
            );
            let macs: Vec<Vec<u8>> = (0..10u8).map(|i| vec![patient * 50 + i; 32]).collect();
            let reports: Vec<Value> = macs
                .iter()
                .map(|mac| {
                    json!({
                        "locationIdHash": STANDARD.encode([7u8; 32]),
                        "iv": STANDARD.encode([8u8; 16]),
                        "encryptedCheckInRecord": STANDARD.encode([9u8; 16]),
                        "mac": STANDARD.encode(mac),
                    })
                })
                .collect();
            let response = server
                .http
                .post(server.url("/v1/checkins"))
                .bearer_auth(&token)
                .json(&json!({"checkInProtectedReports": reports, "fake": 0}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            macs_of.push(macs);
            server.clock.advance(47);
        }
        let rows = server.handle.state.store.stored_rows().await.unwrap();

        // Token uses: one row per upload, no id twice, and one expiry hour for all.
        assert_eq!(rows.token_uses.len(), 6);
        let mut ids: Vec<&String> = rows.token_uses.iter().map(|(id, _, _)| id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 6, "no id shared between a token's purposes");
        for (_, _, expires_at) in &rows.token_uses {
            assert_eq!(expires_at % 3600, 0, "to the hour");
            assert_eq!(
                *expires_at, rows.token_uses[0].2,
                "the same for every patient"
            );
        }
        // Codes: no time finer than the hour next to their issuer.
        assert_eq!(rows.codes.len(), 3);
        for (_, kind, created_hour, expires_at, used_hour) in &rows.codes {
            assert_eq!(kind, "patient");
            assert_eq!(created_hour % 3600, 0);
            assert_eq!(
                expires_at % 3600,
                0,
                "the expiry next to the issuer, to the hour"
            );
            assert_eq!(used_hour.unwrap() % 3600, 0);
        }
        assert!(rows.codes.iter().all(|code| code.3 == rows.codes[0].3));

        // Keys and check-in reports: received in the same hour, and (SQLite) stored in an
        // order that does not follow the uploads. Of a random order of 3 × 11 keys about
        // 10 neighbours come from the same patient; in upload order 30 do.
        let patient_of_key = |key: &Vec<u8>| keys_of.iter().position(|keys| keys.contains(key));
        let stored_keys: Vec<usize> = rows
            .keys
            .iter()
            .map(|(key, _)| patient_of_key(key).unwrap())
            .collect();
        assert_eq!(stored_keys.len(), 33);
        assert!(rows.keys.iter().all(|(_, hour)| *hour == rows.keys[0].1));
        let patient_of_report = |mac: &Vec<u8>| macs_of.iter().position(|macs| macs.contains(mac));
        let stored_reports: Vec<usize> = rows
            .check_in_reports
            .iter()
            .map(|(_, mac, _)| patient_of_report(mac).unwrap())
            .collect();
        assert_eq!(stored_reports.len(), 30);
        let same_neighbours = |patients: &[usize]| {
            patients
                .windows(2)
                .filter(|pair| pair[0] == pair[1])
                .count()
        };
        // Report ids are random, not a count of uploads.
        let ids: Vec<i64> = rows.check_in_reports.iter().map(|(id, _, _)| *id).collect();
        assert!(ids.iter().any(|id| *id < 0 || *id > 1_000_000), "{ids:?}");
        if backend.is_none() {
            assert!(
                same_neighbours(&stored_keys) < 22,
                "keys stored by patient: {stored_keys:?}"
            );
            assert!(
                same_neighbours(&stored_reports) < 21,
                "reports stored by patient: {stored_reports:?}"
            );
        }
    }
}

/// Issue 14, item 8: an API key follows its own codes only. Another key (another lab)
/// asking for a code's status gets the same 404 as for a code that does not exist.
#[tokio::test]
async fn an_api_key_reads_the_status_of_its_own_codes_only() {
    for backend in common::backends() {
        let server = start(backend.as_deref()).await;
        let code = server.issue_code().await;
        let status_url = server.url(&format!(
            "/v1/authority/codes/{}",
            code["id"].as_str().unwrap()
        ));
        let other_lab =
            server::codes::create_api_key(&server.handle.state.store, "other lab", START)
                .await
                .unwrap();
        let own = server
            .http
            .get(&status_url)
            .bearer_auth(&server.api_key)
            .send()
            .await
            .unwrap();
        assert_eq!(own.status(), StatusCode::OK);
        let foreign = server
            .http
            .get(&status_url)
            .bearer_auth(&other_lab)
            .send()
            .await
            .unwrap();
        assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
        let unknown = server
            .http
            .get(server.url("/v1/authority/codes/no-such-id"))
            .bearer_auth(&other_lab)
            .send()
            .await
            .unwrap();
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
        let (foreign, unknown): (Value, Value) =
            (foreign.json().await.unwrap(), unknown.json().await.unwrap());
        assert_eq!(
            foreign, unknown,
            "nothing tells another key's code from none"
        );
    }
}

/// The sign-in backoff's statements on both databases (the sign-in tests over HTTP run on
/// SQLite): failures count up, are forgotten a day later, and a success clears them.
#[tokio::test]
async fn sign_in_failures_count_and_clear_on_both_databases() {
    for backend in common::backends() {
        let server = start(backend.as_deref()).await;
        let store = &server.handle.state.store;
        let key = [7u8; 32];
        let delay = |failures: i64| failures * 10;
        let forget = START - 86_400;
        assert_eq!(
            store
                .record_sign_in_failure(&key, START, forget, delay)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            store
                .record_sign_in_failure(&key, START, forget, delay)
                .await
                .unwrap(),
            2
        );
        assert_eq!(
            store.sign_in_wait(&key, START).await.unwrap(),
            Some(START + 20)
        );
        assert_eq!(store.sign_in_wait(&key, START + 20).await.unwrap(), None);
        assert_eq!(
            store.sign_in_waits(START).await.unwrap(),
            vec![(key.to_vec(), START + 20)]
        );
        // A day later the count starts again.
        let later = START + 86_401;
        assert_eq!(
            store
                .record_sign_in_failure(&key, later, later - 86_400, delay)
                .await
                .unwrap(),
            1
        );
        store.clear_sign_in_failures(&key).await.unwrap();
        assert_eq!(store.sign_in_wait(&key, later).await.unwrap(), None);
    }
}

/// Who did what in the authority UI is kept for the retention window, like everything
/// else, and then forgotten.
#[tokio::test]
async fn the_audit_log_is_purged_after_fourteen_days() {
    for backend in common::backends() {
        let server = start(backend.as_deref()).await;
        let store = &server.handle.state.store;
        store
            .record_audit(START, "admin@example.org", "api-key-created", "test lab")
            .await
            .unwrap();
        server.clock.advance(13 * 86_400);
        let report = server.handle.run_jobs_now().await.unwrap();
        assert_eq!(report.audit_entries_purged, 0);
        assert_eq!(store.latest_audit(10).await.unwrap().len(), 1);

        server.clock.advance(2 * 86_400);
        // The store, not the report, is checked: the server's own background run may
        // purge first.
        server.handle.run_jobs_now().await.unwrap();
        assert!(store.latest_audit(10).await.unwrap().is_empty());
    }
}

/// A run that fails while writing export files gives the export lease back, so that
/// another instance (or this one, on its next run) can build them at once instead of
/// waiting for the lease to run out.
#[tokio::test]
async fn a_failed_export_run_gives_the_export_lease_back() {
    for backend in common::backends() {
        let server = start(backend.as_deref()).await;
        let token = server.token().await;
        let today = server.today();
        assert_eq!(
            server.upload(&token, &upload_body(today)).await.status(),
            StatusCode::OK
        );
        server.clock.advance(2 * 86_400);
        // The injected failure: a file where the object store puts its `exports/` folder
        // (which the first run made, for the index of the empty days before the upload).
        let folder = server._dir.as_ref().unwrap().path().join("exports/exports");
        std::fs::remove_dir_all(&folder).unwrap();
        std::fs::write(&folder, b"in the way").unwrap();
        assert!(
            matches!(
                server.handle.run_jobs_now().await,
                Err(server::jobs::JobError::ObjectStore(_))
            ),
            "the export file cannot be written"
        );
        let taken = server
            .handle
            .state
            .store
            .try_lease(
                server::jobs::EXPORT_LEASE,
                "another instance",
                server.clock_now(),
                600,
            )
            .await
            .unwrap();
        assert!(taken, "the failed run gave the lease back");
    }
}

#[tokio::test]
async fn health_metrics_and_openapi_answer() {
    let server = start(None).await;
    let health = server
        .http
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert!(health.headers().get("signature").is_some());
    server.token().await;
    let metrics = server.get_text("/metrics").await;
    assert!(
        metrics.contains("openstopcovid_code_verifications_total{outcome=\"accepted\"} 1"),
        "{metrics}"
    );
    let openapi: Value = server
        .http
        .get(server.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (path, method) in [
        ("/healthz", "get"),
        ("/metrics", "get"),
        ("/openapi.json", "get"),
        ("/v1/export-public-key", "get"),
        ("/v1/authority/codes", "post"),
        ("/v1/authority/codes/{id}", "get"),
        ("/v1/codes/verify", "post"),
        ("/v2/gaen/exposed", "post"),
        ("/v2/gaen/exposed", "get"),
        ("/v1/gaen/exposednextday", "post"),
        ("/v1/checkins", "post"),
        ("/v1/venues/warnings", "post"),
        ("/v1/warnings", "get"),
        ("/v1/push/keys", "get"),
        ("/v1/exports/{file}", "get"),
    ] {
        assert!(
            openapi["paths"][path].get(method).is_some(),
            "{method} {path}"
        );
    }
    // Bodies are described by the shared wire types, problems by their type URIs.
    let upload = &openapi["paths"]["/v2/gaen/exposed"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"]["$ref"];
    assert_eq!(upload, "#/components/schemas/GaenUploadRequest");
    let problem_types = &openapi["components"]["schemas"]["Problem"]["properties"]["type"]["enum"];
    for kind in ProblemKind::ALL {
        assert!(
            problem_types
                .as_array()
                .unwrap()
                .contains(&Value::from(kind.type_uri())),
            "{kind:?} missing from {problem_types}"
        );
    }
}

/// Issue 13: downloads are built once per release bucket and served as the same bytes.
mod prebuilt_downloads {
    use super::*;

    /// 2023-11-15T00:00:00Z, the first 2-hour bucket boundary after [`START`].
    const MIDNIGHT: i64 = 1_700_006_400;
    const BUCKET: i64 = 7200;

    /// A server releasing keys in 2-hour buckets, as in production.
    async fn start_with_buckets(postgres: Option<&str>) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            release_bucket_seconds: BUCKET as u64,
            ..test_config(dir.path())
        };
        serve(config, MockClock::new(START), postgres, Some(dir)).await
    }

    /// An upload of keys `[first + day; 16]` for the 10 days before `today`, today's key
    /// `[first + 100; 16]` and 19 fake keys.
    fn upload_of(first: u8, today: u32) -> Value {
        let mut keys: Vec<Value> = (1..=10)
            .map(|day| gaen_key(first + day as u8, today - day * 144, 0))
            .collect();
        keys.push(gaen_key(first + 100, today, 0));
        keys.extend((0..19).map(|i| gaen_key(200 + i, today, 1)));
        json!({"gaenKeys": keys})
    }

    async fn upload_at(server: &TestServer, first: u8) {
        let token = server.token().await;
        let response = server
            .upload(&token, &upload_of(first, server.today()))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }

    fn header(response: &reqwest::Response, name: &str) -> String {
        response.headers()[name].to_str().unwrap().to_owned()
    }

    fn keys_of(zip: &[u8]) -> Vec<exposure::keys::DiagnosisKey> {
        exposure::export::read_zip(zip).unwrap().batch.keys
    }

    #[tokio::test]
    async fn every_phone_gets_the_same_signed_bytes_until_the_next_release() {
        for backend in common::backends() {
            let server = start_with_buckets(backend.as_deref()).await;
            upload_at(&server, 0).await;
            server.clock.set(MIDNIGHT + 600);
            let first = server.download(0).await;
            assert_eq!(first.status(), StatusCode::OK);
            let etag = header(&first, "etag");
            assert!(etag.starts_with('"') && !etag.starts_with("W/"), "{etag}");
            // Cacheable until the next bucket comes out, 01:50 later.
            assert_eq!(header(&first, "cache-control"), "public, max-age=6600");
            let tag = header(&first, "x-key-bundle-tag");
            assert_eq!(tag, (MIDNIGHT * 1000).to_string());
            let body = first.bytes().await.unwrap();

            server.clock.advance(1000);
            let again = server.download(0).await;
            assert_eq!(header(&again, "etag"), etag);
            assert_eq!(header(&again, "cache-control"), "public, max-age=5600");
            let signature = header(&again, "signature");
            assert_eq!(again.bytes().await.unwrap(), body, "the same bytes");
            let pem = server.get_text("/v1/export-public-key").await;
            let public_key = exposure::export::public_key_from_pem(&pem).unwrap();
            server::signing::verify_response_signature(&public_key, &signature, &body).unwrap();
            exposure::export::read_zip(&body)
                .unwrap()
                .verify(&public_key)
                .unwrap();

            // A phone (or a CDN) holding the answer revalidates it for nothing.
            let url = server.url("/v2/gaen/exposed?lastKeyBundleTag=0");
            let revalidated = server
                .http
                .get(&url)
                .header("If-None-Match", &etag)
                .send()
                .await
                .unwrap();
            assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
            assert_eq!(header(&revalidated, "etag"), etag);
            assert_eq!(header(&revalidated, "x-key-bundle-tag"), tag);
            assert_eq!(
                header(&revalidated, "cache-control"),
                "public, max-age=5600"
            );
            // The signature a cache stores with the 304 still fits the body it holds.
            let kept_signature = header(&revalidated, "signature");
            server::signing::verify_response_signature(&public_key, &kept_signature, &body)
                .unwrap();
            assert!(revalidated.bytes().await.unwrap().is_empty());
            let other = server
                .http
                .get(&url)
                .header("If-None-Match", "\"something else\"")
                .send()
                .await
                .unwrap();
            assert_eq!(other.status(), StatusCode::OK);
            assert_eq!(other.bytes().await.unwrap(), body);

            // The next release: a new answer.
            server.clock.set(MIDNIGHT + BUCKET + 600);
            upload_at(&server, 20).await;
            server.clock.set(MIDNIGHT + 2 * BUCKET);
            let next = server.download(0).await;
            assert_ne!(header(&next, "etag"), etag);
            assert_eq!(header(&next, "cache-control"), "public, max-age=7200");
            server.handle.shutdown().await.unwrap();
        }
    }

    #[tokio::test]
    async fn fake_keys_are_fixed_per_bucket_so_that_downloads_cannot_be_compared() {
        for backend in common::backends() {
            let server = start_with_buckets(backend.as_deref()).await;
            upload_at(&server, 0).await;
            server.clock.set(MIDNIGHT + 600);
            let before = server.download(0).await;
            let tag: i64 = header(&before, "x-key-bundle-tag").parse().unwrap();
            let before = keys_of(&before.bytes().await.unwrap());
            assert_eq!(before.len(), exposure::export::padded_key_count(10));

            upload_at(&server, 20).await;
            server.clock.set(MIDNIGHT + BUCKET + 600);
            let incremental = server.download(tag).await;
            assert_eq!(incremental.status(), StatusCode::OK);
            let incremental = keys_of(&incremental.bytes().await.unwrap());
            let data: Vec<[u8; 16]> = incremental.iter().map(|key| key.key.key_data).collect();
            // Only what is new: the second upload's keys, and the first one's key of
            // yesterday now that it has expired; nothing the phone already has.
            for day in 1..=10u8 {
                assert!(data.contains(&[20 + day; 16]));
                assert!(!data.contains(&[day; 16]));
            }
            assert!(data.contains(&[100; 16]));
            assert_eq!(incremental.len(), exposure::export::padded_key_count(11));

            // A new phone's full download is exactly the two buckets: every key of the
            // first answer (fake ones included) and of the incremental one, and nothing
            // else, so no key is in one answer and missing from another.
            let full = keys_of(&server.download(0).await.bytes().await.unwrap());
            assert_eq!(full.len(), before.len() + incremental.len());
            for key in before.iter().chain(&incremental) {
                assert!(full.contains(key), "{key:?}");
            }
            server.handle.shutdown().await.unwrap();
        }
    }

    #[tokio::test]
    async fn two_instances_on_one_database_serve_the_same_bytes() {
        for backend in common::backends() {
            let dir = tempfile::tempdir().unwrap();
            let clock = MockClock::new(START);
            let config = || Config {
                release_bucket_seconds: BUCKET as u64,
                ..test_config(dir.path())
            };
            let spawn = |schema: Option<String>| {
                let clock = clock.clone();
                let config = config();
                let backend = backend.clone();
                async move {
                    let store = match (&backend, schema) {
                        (Some(url), Some(schema)) => {
                            server::datastore::Store::connect_in_schema(url, Some(&schema))
                                .await
                                .unwrap()
                        }
                        _ => server::datastore::Store::connect(&config.effective_database_url())
                            .await
                            .unwrap(),
                    };
                    let keys = server::signing::KeyRing::load_or_create(
                        &config.data_dir,
                        START,
                        &config.region,
                    )
                    .unwrap();
                    let listen = config.listen;
                    let state =
                        server::AppState::with_store(config, Arc::new(clock), store, keys).unwrap();
                    server::spawn_with_state(state, listen).await.unwrap()
                }
            };
            let schema = format!("t{}", uuid::Uuid::new_v4().simple());
            let one = spawn(Some(schema.clone())).await;
            let two = spawn(Some(schema)).await;
            let api_key = server::codes::create_api_key(&one.state.store, "lab", START)
                .await
                .unwrap();
            let server = TestServer {
                handle: one,
                clock: clock.clone(),
                http: reqwest::Client::new(),
                api_key,
                _dir: None,
            };
            upload_at(&server, 0).await;
            server.clock.set(MIDNIGHT + 600);
            let from_one = server.download(0).await;
            let from_two = server
                .http
                .get(format!("{}/v2/gaen/exposed", two.base_url()))
                .send()
                .await
                .unwrap();
            assert_eq!(header(&from_one, "etag"), header(&from_two, "etag"));
            assert_eq!(
                from_one.bytes().await.unwrap(),
                from_two.bytes().await.unwrap()
            );
            // The second instance read the first one's answer from the object store
            // instead of querying, zipping and signing it again.
            let built = r#"openstopcovid_prebuilt_answers_total{kind="keys",source="built"} 1"#;
            let stored = r#"openstopcovid_prebuilt_answers_total{kind="keys",source="stored"} 1"#;
            let metrics_one = server.handle.state.metrics.render(MIDNIGHT + 600);
            let metrics_two = two.state.metrics.render(MIDNIGHT + 600);
            assert!(metrics_one.contains(built), "{metrics_one}");
            assert!(metrics_two.contains(stored), "{metrics_two}");
            assert!(!metrics_two.contains(&built.replace(" 1", "")));
            let bucket_folder = dir.path().join(format!("exports/prebuilt/keys/{MIDNIGHT}"));
            assert_eq!(std::fs::read_dir(&bucket_folder).unwrap().count(), 1);
            // Two buckets later no request can ask for that answer: the jobs delete it
            // (this run, or a background run of either instance that came first).
            server.clock.set(MIDNIGHT + 2 * BUCKET + 1);
            server.handle.run_jobs_now().await.unwrap();
            assert!(!bucket_folder.exists());
            server.handle.shutdown().await.unwrap();
            two.shutdown().await.unwrap();
        }
    }

    #[tokio::test]
    async fn warning_packages_are_the_same_bytes_for_the_hour_and_revalidate() {
        let server = start_with_buckets(None).await;
        let url = server.url("/v1/warnings?since=0");
        let first = server.http.get(&url).send().await.unwrap();
        assert_eq!(first.status(), StatusCode::OK);
        let etag = header(&first, "etag");
        let until = header(&first, "x-warnings-until");
        // START is 22:13:20: the next package comes out at 23:00.
        assert_eq!(header(&first, "cache-control"), "public, max-age=2800");
        let body = first.bytes().await.unwrap();
        // Shared with the other instances through the export store, as built.
        let stored = std::fs::read(server._dir.as_ref().unwrap().path().join(format!(
            "exports/prebuilt/warnings/{until}/{}.protobuf",
            until.parse::<i64>().unwrap() - 14 * 24
        )))
        .unwrap();
        assert!(stored.ends_with(&body));
        server.clock.advance(800);
        let again = server.http.get(&url).send().await.unwrap();
        assert_eq!(header(&again, "etag"), etag);
        assert_eq!(header(&again, "cache-control"), "public, max-age=2000");
        assert_eq!(again.bytes().await.unwrap(), body);
        let revalidated = server
            .http
            .get(&url)
            .header("If-None-Match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(header(&revalidated, "x-warnings-until"), until);
        // The JSON form is another answer, with its own ETag.
        let json = server
            .http
            .get(&url)
            .header("Accept", "application/json")
            .header("If-None-Match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(json.status(), StatusCode::OK);
        assert_ne!(header(&json, "etag"), etag);
        assert_eq!(header(&json, "vary"), "Accept");
        // The next hour: a new package.
        server.clock.advance(2000);
        let next = server.http.get(&url).send().await.unwrap();
        assert_ne!(header(&next, "x-warnings-until"), until);
        assert_ne!(header(&next, "etag"), etag);
        server.handle.shutdown().await.unwrap();
    }
}
