#![allow(clippy::unwrap_used)]
//! What a hostile tester found in `serve` (issue: security hardening), each held over real
//! HTTP: the guessing defence has no global off-switch and says when to come back, the
//! client behind a trusted proxy is the one in `X-Forwarded-For`, answers that carry codes
//! or tokens stay out of caches, `/metrics` tells no fake from real and can move to a
//! private address, and the small items (405, `bearer`, body limit, HSTS).
//!
//! The connection bounds are in `connections.rs`, the timing of fakes in `fake_traffic.rs`.

use std::sync::Arc;

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::{Config, MockClock, ServerHandle};

const START: i64 = 1_700_000_000;

struct Server {
    handle: ServerHandle,
    http: reqwest::Client,
    api_key: String,
    _dir: tempfile::TempDir,
}

async fn start(configure: impl FnOnce(&mut Config)) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        data_dir: dir.path().to_owned(),
        listen: "127.0.0.1:0".parse().unwrap(),
        min_response_millis: 0,
        ..Config::default()
    };
    configure(&mut config);
    let handle = common::spawn(config, Arc::new(MockClock::new(START)), None).await;
    let api_key = server::codes::create_api_key(&handle.state.store, "lab", START)
        .await
        .unwrap();
    Server {
        handle,
        http: reqwest::Client::new(),
        api_key,
        _dir: dir,
    }
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.handle.base_url())
    }

    async fn issue_code(&self) -> String {
        let issued: Value = self
            .http
            .post(self.url("/v1/authority/codes"))
            .bearer_auth(&self.api_key)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        issued["code"].as_str().unwrap().to_owned()
    }

    /// A code check as if from `client`, through the proxy on this machine (trusted by
    /// default).
    async fn verify_from(&self, client: &str, code: &str) -> reqwest::Response {
        self.http
            .post(self.url("/v1/codes/verify"))
            .header("x-forwarded-for", client)
            .json(&json!({"code": code, "fake": false}))
            .send()
            .await
            .unwrap()
    }
}

/// A well-formed code that nobody issued (a valid check digit, so it is a real guess).
fn wrong_code(seed: u64) -> String {
    let digits: Vec<u8> = format!("{:011}", seed * 7_919 % 100_000_000_000)
        .bytes()
        .map(|byte| byte - b'0')
        .collect();
    let check = messages::code::check_digit(&digits);
    digits
        .iter()
        .chain([check].iter())
        .map(|digit| char::from(b'0' + digit))
        .collect()
}

async fn problem_type(response: reqwest::Response) -> String {
    let problem: Value = response.json().await.unwrap();
    problem["type"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn guessers_spend_their_own_networks_budget_and_never_a_patients_elsewhere() {
    let server = start(|config| {
        config.verify_per_client_per_minute = 1000;
        config.verify_failures_per_network_per_hour = 20;
    })
    .await;
    // 17 addresses of one network guess until their network's budget is spent.
    let mut refused = None;
    'guessing: for round in 0..10u64 {
        for host in 1..=17u64 {
            let response = server
                .verify_from(
                    &format!("198.51.100.{host}"),
                    &wrong_code(round * 100 + host),
                )
                .await;
            if response.status() == StatusCode::TOO_MANY_REQUESTS {
                refused = Some(response);
                break 'guessing;
            }
            assert_eq!(response.status(), StatusCode::NOT_FOUND);
        }
    }
    let refused = refused.expect("the network's budget ran out");
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=3600).contains(&retry_after),
        "Retry-After: {retry_after}"
    );
    assert_eq!(
        problem_type(refused).await,
        "https://openstopcovid.org/problems/too-many-code-checks"
    );
    // A patient elsewhere still gets their token: there is no global budget.
    let code = server.issue_code().await;
    let response = server.verify_from("203.0.113.50", &code).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    // Typos (a wrong check digit) spend nothing of their network's budget.
    let server = start(|config| {
        config.verify_per_client_per_minute = 1000;
        config.verify_failures_per_network_per_hour = 5;
    })
    .await;
    for attempt in 0..50u64 {
        let mut typo = wrong_code(attempt);
        let last = typo.pop().unwrap();
        typo.push(if last == '0' { '1' } else { '0' });
        let response = server.verify_from("192.0.2.7", &typo).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "typo {attempt}");
    }
    let code = server.issue_code().await;
    assert_eq!(
        server.verify_from("192.0.2.8", &code).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_client_over_its_rate_is_told_when_to_come_back() {
    let server = start(|config| config.verify_per_client_per_minute = 3).await;
    for _ in 0..3 {
        let response = server.verify_from("192.0.2.1", &wrong_code(1)).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
    let response = server.verify_from("192.0.2.1", &wrong_code(1)).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        response.headers()["retry-after"],
        "20",
        "one check back every 20 s"
    );
    // Behind the trusted proxy, another client is another client.
    let response = server.verify_from("192.0.2.2", &wrong_code(1)).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // A client cannot pose as another by adding to the header: only the right-most
    // untrusted address counts.
    let response = server
        .verify_from("192.0.2.99, 192.0.2.1", &wrong_code(1))
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn without_trusted_proxies_the_header_is_ignored() {
    let server = start(|config| {
        config.verify_per_client_per_minute = 2;
        config.trusted_proxies = server::config::TrustedProxies::new(Vec::new());
    })
    .await;
    for (index, client) in ["192.0.2.1", "192.0.2.2", "192.0.2.3"].iter().enumerate() {
        let response = server.verify_from(client, &wrong_code(1)).await;
        let expected = if index < 2 {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(response.status(), expected, "all three are this machine");
    }
}

#[tokio::test]
async fn metrics_tell_no_fake_from_real_and_can_move_to_a_private_address() {
    let server = start(|_| {}).await;
    // One real and one fake check: the counters cannot tell which is which.
    let code = server.issue_code().await;
    server.verify_from("192.0.2.1", &code).await;
    let fake = server
        .http
        .post(server.url("/v1/codes/verify"))
        .json(&json!({"code": "123456789012", "fake": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(fake.status(), StatusCode::OK);
    let metrics = server
        .http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!metrics.contains("fake"), "{metrics}");
    assert!(
        metrics.contains("openstopcovid_code_verifications_total{outcome=\"accepted\"} 2"),
        "{metrics}"
    );

    let private = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let private_addr = private.local_addr().unwrap();
    drop(private);
    let server = start(|config| config.metrics_listen = Some(private_addr)).await;
    let public = server
        .http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND);
    let private = server
        .http
        .get(format!("http://{private_addr}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(private.status(), StatusCode::OK);
    assert!(
        private
            .text()
            .await
            .unwrap()
            .contains("openstopcovid_codes_issued_total")
    );
}

#[tokio::test]
async fn the_small_items() {
    let server = start(|config| config.hsts_max_age_seconds = Some(31_536_000)).await;
    // 405 is a problem document like every other error.
    let response = server
        .http
        .get(server.url("/v1/codes/verify"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    // HSTS when asked for.
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    // The scheme of Authorization is case-insensitive (RFC 9110 §11.1).
    let issued = server
        .http
        .post(server.url("/v1/authority/codes"))
        .header("authorization", format!("bearer {}", server.api_key))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(issued.status(), StatusCode::CREATED);
    assert_eq!(
        issued.headers()["cache-control"],
        "no-store",
        "a code must not be cached"
    );
    // The largest check-in upload the API allows fits the default body limit.
    let code = server.issue_code().await;
    let token: Value = server
        .verify_from("192.0.2.1", &code)
        .await
        .json()
        .await
        .unwrap();
    let report = json!({
        "locationIdHash": STANDARD.encode([1u8; 32]),
        "iv": STANDARD.encode([2u8; 16]),
        "encryptedCheckInRecord": STANDARD.encode([3u8; 64]),
        "mac": STANDARD.encode([4u8; 32]),
    });
    let body = serde_json::to_string_pretty(&json!({
        "checkInProtectedReports": vec![report; 300],
        "fake": 0,
    }))
    .unwrap();
    assert!(
        body.len() > 64 * 1024,
        "{} bytes: more than the old limit",
        body.len()
    );
    let response = server
        .http
        .post(server.url("/v1/checkins"))
        .bearer_auth(token["accessToken"].as_str().unwrap())
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // Found by schemathesis: a cursor near i64::MAX made the server panic (overflow), and an
    // array was read as a code request.
    let response = server
        .http
        .get(server.url("/v1/warnings?since=9223372036854775806"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    for format in ["xml", ""] {
        let response = server
            .http
            .get(server.url(&format!("/v1/warnings?format={format}")))
            .send()
            .await
            .unwrap();
        assert_eq!(
            problem_type(response).await,
            "https://openstopcovid.org/problems/invalid-query",
            "format={format}"
        );
    }
    let response = server
        .http
        .post(server.url("/v1/authority/codes"))
        .bearer_auth(&server.api_key)
        .json(&json!([]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // Without the setting, no HSTS (plain-HTTP test servers must not pin browsers).
    let server = start(|_| {}).await;
    let response = server
        .http
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .get("strict-transport-security")
            .is_none()
    );
}
