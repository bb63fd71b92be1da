//! Conformance with the clients that exist: the DP-3T iOS and Android SDKs and the DP-3T
//! reference backend's own controller tests, each reproduced from its source (the commit
//! followed is named at the top of each client's file) and driven against a real server
//! on an ephemeral port, with a mock clock moved through the release buckets and days.
//!
//! - [`ios`]: DP-3T/dp3t-sdk-ios 002a66ec4a6564c3803d1410e955eabdf0556a3c.
//! - [`android`]: DP-3T/dp3t-sdk-android 6566cebfc0ea936fda5c594e4b19fc39b17e64da, and
//!   524257e3633722b7c610aacc036b2d8f31fcfc74 for the older next-day upload.
//! - [`reference`]: DP-3T/dp3t-sdk-backend 810346819ca81927fe1a105f12e00f01cff25ed4
//!   (`GaenV2ControllerTest.java`).
//!
//! Every test runs on SQLite, and on PostgreSQL too when `OPENSTOPCOVID_TEST_DATABASE_URL`
//! is set (CI sets it).

// Test helpers outside #[test] functions may unwrap: a failure there is a failed test.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

#[path = "common/mod.rs"]
mod common;

#[path = "conformance/android.rs"]
mod android;
#[path = "conformance/ios.rs"]
mod ios;
#[path = "conformance/jws.rs"]
mod jws;
#[path = "conformance/reference.rs"]
mod reference;

use p256::ecdsa::VerifyingKey;
use reqwest::StatusCode;
use serde_json::json;
use server::{Config, MockClock, ServerHandle};

/// 2023-11-14T00:00:00Z, a Tuesday.
const DAY_START: i64 = 1_699_920_000;
const HOUR: i64 = 3600;
const DAY: i64 = 86_400;
/// Release buckets of 2 hours, the reference backend's default and ours.
const BUCKET_SECONDS: u64 = 7200;

/// A server as an authority runs it: 2-hour release buckets, padded exports.
pub struct Deployment {
    handle: ServerHandle,
    clock: MockClock,
    http: reqwest::Client,
    api_key: String,
    public_key: VerifyingKey,
    _dir: tempfile::TempDir,
}

impl Deployment {
    /// Starts at noon of [`DAY_START`].
    async fn start(postgres: Option<&str>) -> Deployment {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: dir.path().to_owned(),
            listen: "127.0.0.1:0".parse().unwrap(),
            release_bucket_seconds: BUCKET_SECONDS,
            min_response_millis: 0,
            verify_per_client_per_minute: 1000,
            ..Config::default()
        };
        let clock = MockClock::new(DAY_START + 12 * HOUR);
        let handle = common::spawn(config, Arc::new(clock.clone()), postgres).await;
        let api_key = server::codes::create_api_key(&handle.state.store, "lab", DAY_START)
            .await
            .unwrap();
        let http = reqwest::Client::new();
        let pem = http
            .get(format!("{}/v1/export-public-key", handle.base_url()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let public_key = exposure::export::public_key_from_pem(&pem).unwrap();
        Deployment {
            handle,
            clock,
            http,
            api_key,
            public_key,
            _dir: dir,
        }
    }

    fn base_url(&self) -> String {
        self.handle.base_url()
    }

    fn set_time(&self, unix_seconds: i64) {
        self.clock.set(unix_seconds);
    }

    /// An upload token, as the app gets it: a physician's code with the onset date
    /// `onset_days_ago` days before today, traded at `/v1/codes/verify`; a fake one is
    /// what the apps' dummy traffic gets for a dummy code.
    async fn token(&self, onset_days_ago: i64, fake: bool) -> String {
        use server::Clock;
        let code = if fake {
            "000000000000".to_owned()
        } else {
            let today = self.clock.now_unix_seconds().div_euclid(DAY) * DAY;
            let onset = time::OffsetDateTime::from_unix_timestamp(today - onset_days_ago * DAY)
                .unwrap()
                .date();
            let issued: serde_json::Value = self
                .http
                .post(format!("{}/v1/authority/codes", self.base_url()))
                .bearer_auth(&self.api_key)
                .json(&json!({"onsetDate": onset.to_string()}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            issued["code"].as_str().unwrap().to_owned()
        };
        let response = self
            .http
            .post(format!("{}/v1/codes/verify", self.base_url()))
            .json(&json!({"code": code, "fake": fake}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: serde_json::Value = response.json().await.unwrap();
        body["accessToken"].as_str().unwrap().to_owned()
    }

    /// The keys of an export zip whose signature verifies with the pinned key, without
    /// the padding (known keys only: padding keys are random).
    fn published(&self, zip: &[u8], known: &[[u8; 16]]) -> Vec<[u8; 16]> {
        let export = exposure::export::read_zip(zip).unwrap();
        export.verify(&self.public_key).unwrap();
        let mut keys: Vec<[u8; 16]> = export
            .batch
            .keys
            .iter()
            .map(|key| key.key.key_data)
            .filter(|key| known.contains(key))
            .collect();
        keys.sort();
        keys
    }
}

/// Interval number of the first interval of day `days` relative to [`DAY_START`].
fn day(days: i64) -> u32 {
    u32::try_from((DAY_START + days * DAY) / 600).unwrap()
}

/// Key bytes for the key of day `-days_ago`.
fn key_bytes(days_ago: u8) -> [u8; 16] {
    [days_ago + 1; 16]
}

fn sorted(mut keys: Vec<[u8; 16]>) -> Vec<[u8; 16]> {
    keys.sort();
    keys
}

#[tokio::test]
async fn ios_sdk_uploads_without_delayed_key_date_and_syncs_as_it_checks() {
    for backend in common::backends() {
        let deployment = Deployment::start(backend.as_deref()).await;
        let mut phone = ios::IosSdk::new(
            deployment.base_url(),
            deployment.public_key,
            deployment.clock.clone(),
        );
        // Today's key and the 14 days before, as `ENManager.getDiagnosisKeys` gives them
        // (newest first).
        let history: Vec<ios::CodableDiagnosisKey> = (0..=14u8)
            .map(|days_ago| {
                ios::CodableDiagnosisKey::real(key_bytes(days_ago), day(-i64::from(days_ago)), 144)
            })
            .collect();
        let token = deployment.token(12, false).await;
        // The app's onset: the day before day −14, so that `date > onset` keeps day −14.
        let body = phone
            .send_teks(DAY_START - 15 * DAY, &history, false, &token)
            .await
            .unwrap();
        assert!(
            body.get("delayedKeyDate").is_none(),
            "the iOS SDK never sends it"
        );
        assert_eq!(body["withFederationGateway"], 0);
        assert_eq!(body["gaenKeys"].as_array().unwrap().len(), 30);

        // The dummy traffic every iPhone sends, with a dummy token.
        let fake_token = deployment.token(0, true).await;
        phone
            .send_teks(DAY_START, &[], true, &fake_token)
            .await
            .unwrap();

        // 12:00: nothing is out yet (released at 13:00, in the bucket ending at 14:00).
        let first = phone.sync().await.unwrap();
        assert!(first.data.is_none());
        assert_eq!(
            first.key_bundle_tag.as_deref(),
            Some((DAY_START + 12 * HOUR) * 1000)
                .map(|tag| tag.to_string())
                .as_deref()
        );

        deployment.set_time(DAY_START + 14 * HOUR);
        let second = phone.sync().await.unwrap();
        let known: Vec<[u8; 16]> = (0..=15).map(key_bytes).collect();
        let published = deployment.published(&second.data.unwrap(), &known);
        // Days −1 to −14, day −14 included; today's key is embargoed until it expires.
        assert_eq!(published, sorted((1..=14).map(key_bytes).collect()));
        assert!(phone.sync().await.unwrap().data.is_none());

        deployment.set_time(DAY_START + DAY + 2 * HOUR);
        let next_day = phone.sync().await.unwrap();
        assert_eq!(
            deployment.published(&next_day.data.unwrap(), &known),
            vec![key_bytes(0)]
        );
        deployment.handle.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn android_sdk_uploads_sends_fakes_and_syncs_as_it_checks() {
    for backend in common::backends() {
        let deployment = Deployment::start(backend.as_deref()).await;
        let mut phone = android::AndroidSdk::new(
            deployment.base_url(),
            deployment.public_key,
            deployment.clock.clone(),
        );
        phone.with_federation_gateway = Some(true);
        phone.tek_history = (0..=10u8)
            .map(|days_ago| android::TemporaryExposureKey {
                key_data: key_bytes(days_ago),
                rolling_start_interval_number: i32::try_from(day(-i64::from(days_ago))).unwrap(),
                rolling_period: 144,
            })
            .collect();
        let token = deployment.token(5, false).await;
        let next_day_header = phone
            .send_i_am_infected(DAY_START - 5 * DAY, &format!("Bearer {token}"))
            .await
            .unwrap();
        assert!(
            next_day_header.is_some_and(|value| value.starts_with("Bearer ")),
            "the answer carries the next-day token where the SDK reads it"
        );
        let fake_token = deployment.token(0, true).await;
        phone
            .send_fake_infected_request(&format!("Bearer {fake_token}"), false)
            .await
            .unwrap();

        // 204s are signed too: the SDK verifies every successful answer.
        let first = phone.sync().await.unwrap();
        assert_eq!(first.status, 204);
        assert!(phone.last_key_bundle_tag.is_some());

        deployment.set_time(DAY_START + 14 * HOUR);
        let second = phone.sync().await.unwrap();
        assert_eq!(second.status, 200);
        let known: Vec<[u8; 16]> = (0..=10).map(key_bytes).collect();
        assert_eq!(
            deployment.published(&second.body, &known),
            sorted((1..=5).map(key_bytes).collect())
        );
        assert_eq!(phone.sync().await.unwrap().status, 204);

        deployment.set_time(DAY_START + DAY + 2 * HOUR);
        let next_day = phone.sync().await.unwrap();
        assert_eq!(
            deployment.published(&next_day.body, &known),
            vec![key_bytes(0)]
        );
        deployment.handle.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn older_android_sdk_uploads_todays_key_the_next_day() {
    for backend in common::backends() {
        let deployment = Deployment::start(backend.as_deref()).await;
        let clock = deployment.clock.clone();
        let mut phone =
            android::AndroidSdk::new(deployment.base_url(), deployment.public_key, clock.clone());
        // The framework of the time did not give today's key.
        phone.tek_history = (1..=5u8)
            .map(|days_ago| android::TemporaryExposureKey {
                key_data: key_bytes(days_ago),
                rolling_start_interval_number: i32::try_from(day(-i64::from(days_ago))).unwrap(),
                rolling_period: 144,
            })
            .collect();
        // The physician's onset is day −3; the app sends from day −5 on, the server keeps
        // what lies within its two infectious days before the onset.
        let token = deployment.token(3, false).await;
        phone
            .send_i_am_infected_with_next_day_key(DAY_START - 5 * DAY, &format!("Bearer {token}"))
            .await
            .unwrap();
        assert_eq!(phone.pending_keys.len(), 1);
        assert!(!phone.pending_keys[0].fake);

        // Another phone's dummy traffic, with its fake pending key.
        let mut other =
            android::AndroidSdk::new(deployment.base_url(), deployment.public_key, clock);
        let fake_token = deployment.token(0, true).await;
        other
            .send_fake_infected_request(&format!("Bearer {fake_token}"), true)
            .await
            .unwrap();

        // The same day nothing is sent; the next morning the key of the day before is.
        assert_eq!(phone.upload_pending_keys().await.unwrap(), 0);
        deployment.set_time(DAY_START + DAY + 8 * HOUR);
        phone.tek_history.push(android::TemporaryExposureKey {
            key_data: key_bytes(0),
            rolling_start_interval_number: i32::try_from(day(0)).unwrap(),
            rolling_period: 144,
        });
        assert_eq!(phone.upload_pending_keys().await.unwrap(), 1);
        assert_eq!(other.upload_pending_keys().await.unwrap(), 1);
        assert!(phone.pending_keys.is_empty() && other.pending_keys.is_empty());

        deployment.set_time(DAY_START + DAY + 10 * HOUR);
        let answer = phone.sync().await.unwrap();
        let known: Vec<[u8; 16]> = (0..=5).map(key_bytes).collect();
        // Onset day −3, infectious from day −5: all five, and today's the next day.
        assert_eq!(
            deployment.published(&answer.body, &known),
            sorted((0..=5).map(key_bytes).collect())
        );
        deployment.handle.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn each_sdk_refuses_a_server_whose_time_or_signature_is_off() {
    let deployment = Deployment::start(None).await;
    let token = deployment.token(2, false).await;
    let mut uploader = android::AndroidSdk::new(
        deployment.base_url(),
        deployment.public_key,
        deployment.clock.clone(),
    );
    uploader.tek_history = vec![android::TemporaryExposureKey {
        key_data: key_bytes(1),
        rolling_start_interval_number: i32::try_from(day(-1)).unwrap(),
        rolling_period: 144,
    }];
    uploader
        .send_i_am_infected(DAY_START - 2 * DAY, &format!("Bearer {token}"))
        .await
        .unwrap();
    deployment.set_time(DAY_START + 14 * HOUR);

    // A phone 9 minutes off is served; 11 minutes off refuses the answer.
    let mut iphone = ios::IosSdk::new(
        deployment.base_url(),
        deployment.public_key,
        deployment.clock.clone(),
    );
    iphone.clock_skew = 9 * 60;
    assert!(iphone.sync().await.is_ok());
    iphone.clock_skew = 11 * 60;
    iphone.last_key_bundle_tag = None;
    assert!(
        iphone
            .sync()
            .await
            .unwrap_err()
            .contains("timeInconsistency")
    );
    let mut android_phone = android::AndroidSdk::new(
        deployment.base_url(),
        deployment.public_key,
        deployment.clock.clone(),
    );
    android_phone.clock_skew = -11 * 60;
    assert!(
        android_phone
            .sync()
            .await
            .unwrap_err()
            .contains("ServerTimeOffset")
    );

    // Signed by another key, or a body changed on the way: both SDKs refuse.
    let other_key = p256::ecdsa::SigningKey::from_slice(&[7; 32]).unwrap();
    let response = deployment
        .http
        .get(format!("{}/v2/gaen/exposed", deployment.base_url()))
        .send()
        .await
        .unwrap();
    let headers = response.headers().clone();
    let mut body = response.bytes().await.unwrap().to_vec();
    iphone.clock_skew = 0;
    assert!(iphone.verify(&headers, &body).is_ok());
    let android_phone_ok = android::AndroidSdk::new(
        deployment.base_url(),
        deployment.public_key,
        deployment.clock.clone(),
    );
    assert!(android_phone_ok.verify_signature(&headers, &body).is_ok());
    let stranger = ios::IosSdk::new(
        deployment.base_url(),
        *other_key.verifying_key(),
        deployment.clock.clone(),
    );
    assert!(stranger.verify(&headers, &body).is_err());
    body[0] ^= 1;
    assert!(
        iphone
            .verify(&headers, &body)
            .unwrap_err()
            .contains("Content Hash")
    );
    assert!(
        android_phone_ok
            .verify_signature(&headers, &body)
            .unwrap_err()
            .contains("mismatch")
    );
    // Three weeks later the same signature has expired for both.
    deployment.set_time(DAY_START + 22 * DAY);
    body[0] ^= 1;
    assert!(iphone.verify(&headers, &body).is_err());
    assert!(android_phone_ok.verify_signature(&headers, &body).is_err());
    deployment.handle.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_reference_backends_v2_controller_tests_pass() {
    for backend in common::backends() {
        let deployment = Deployment::start(backend.as_deref()).await;
        reference::v2_controller_expectations(&deployment).await;
        deployment.handle.shutdown().await.unwrap();
    }
}
