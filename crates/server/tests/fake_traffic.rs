#![allow(clippy::unwrap_used)]
//! Fake traffic cannot be told from real over the network: 200 real and 200 fake code
//! checks, then 200 real and 200 fake key uploads, interleaved at random and several at a
//! time, answer with the same status, the same body size and the same headers, and in
//! times that a two-sample Kolmogorov–Smirnov test cannot tell apart.
//!
//! The server runs with `min_response_millis = 0`, so that the floor that normally hides
//! small differences hides nothing here: what is tested is that a fake waits as long as a
//! real request works (`server::timing`). Before that, a fake upload answered in well under
//! a millisecond, a real one only after its commit.
//!
//! Prints `# fake traffic: …` lines with the statistics.

use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::seq::SliceRandom;
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::{Config, MockClock};

const START: i64 = 1_700_000_000;
const EACH: usize = 200;
const IN_FLIGHT: usize = 8;
/// Real requests before the measured ones: a server's first requests are slower (cold
/// caches), and fakes draw from the last `server::timing::RECENT` real ones.
const WARM_UP: usize = 64;

struct Answer {
    fake: bool,
    status: StatusCode,
    body_len: usize,
    header_names: Vec<String>,
    took: Duration,
}

/// Two-sample Kolmogorov–Smirnov: the statistic D and its asymptotic p-value.
fn kolmogorov_smirnov(a: &[f64], b: &[f64]) -> (f64, f64) {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (mut i, mut j, mut d) = (0usize, 0usize, 0f64);
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / a.len() as f64 - j as f64 / b.len() as f64).abs());
    }
    let n = (a.len() * b.len()) as f64 / (a.len() + b.len()) as f64;
    let lambda = (n.sqrt() + 0.12 + 0.11 / n.sqrt()) * d;
    let p: f64 = (1..=100)
        .map(|k| {
            let k = f64::from(k);
            2.0 * (-1f64).powf(k - 1.0) * (-2.0 * k * k * lambda * lambda).exp()
        })
        .sum();
    (d, p.clamp(0.0, 1.0))
}

fn check(name: &str, answers: &[Answer]) {
    let real: Vec<&Answer> = answers.iter().filter(|answer| !answer.fake).collect();
    let fake: Vec<&Answer> = answers.iter().filter(|answer| answer.fake).collect();
    assert_eq!((real.len(), fake.len()), (EACH, EACH));
    for answer in answers {
        assert_eq!(answer.status, StatusCode::OK, "{name}");
        assert_eq!(
            answer.body_len, real[0].body_len,
            "{name}: body sizes differ"
        );
        assert_eq!(
            answer.header_names, real[0].header_names,
            "{name}: headers differ"
        );
    }
    let millis = |list: &[&Answer]| -> Vec<f64> {
        list.iter()
            .map(|answer| answer.took.as_secs_f64() * 1000.0)
            .collect()
    };
    let (real_ms, fake_ms) = (millis(&real), millis(&fake));
    let median = |values: &[f64]| {
        let mut values = values.to_vec();
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let (d, p) = kolmogorov_smirnov(&real_ms, &fake_ms);
    println!(
        "# fake traffic: {name}: {EACH} real (median {:.2} ms), {EACH} fake (median {:.2} ms); \
         same status, body size and headers; Kolmogorov-Smirnov D = {d:.3}, p = {p:.3}",
        median(&real_ms),
        median(&fake_ms),
    );
    // A significance level of 10^-4: a shared CI machine adds noise of its own, and the
    // leaks this guards against are far beyond it (fakes that skip the commit give D near
    // 1; the fake checks that read instead of writing gave D = 0.26, p < 10^-6).
    assert!(
        p > 1e-4,
        "{name}: timings tell fake from real (D = {d:.3}, p = {p:.6})"
    );
}

async fn send(request: reqwest::RequestBuilder, fake: bool) -> (Answer, Value) {
    let started = Instant::now();
    let response = request.send().await.unwrap();
    let status = response.status();
    let mut header_names: Vec<String> = response
        .headers()
        .keys()
        .map(|name| name.as_str().to_owned())
        .collect();
    header_names.sort();
    let bytes = response.bytes().await.unwrap();
    let took = started.elapsed();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (
        Answer {
            fake,
            status,
            body_len: bytes.len(),
            header_names,
            took,
        },
        body,
    )
}

/// Runs `jobs` (each a fake flag and a request) in a random order, `IN_FLIGHT` at a time.
async fn run(mut jobs: Vec<(bool, reqwest::RequestBuilder)>) -> Vec<(Answer, Value)> {
    jobs.shuffle(&mut rand::rng());
    let mut answers = Vec::new();
    let mut jobs = jobs.into_iter();
    loop {
        let batch: Vec<_> = jobs.by_ref().take(IN_FLIGHT).collect();
        if batch.is_empty() {
            break;
        }
        let sent = batch.into_iter().map(|(fake, request)| send(request, fake));
        answers.extend(futures_join_all(sent).await);
    }
    answers
}

async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut outputs = Vec::new();
    for handle in handles {
        outputs.push(handle.await.unwrap());
    }
    outputs
}

fn key(byte: u8, start: u32, fake: u8) -> Value {
    json!({"keyData": STANDARD.encode([byte; 16]), "rollingStartNumber": start,
           "rollingPeriod": 144, "transmissionRiskLevel": 0, "fake": fake})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_and_real_requests_answer_alike() {
    let dir = tempfile::tempdir().unwrap();
    let clock = MockClock::new(START);
    let config = Config {
        data_dir: dir.path().to_owned(),
        listen: "127.0.0.1:0".parse().unwrap(),
        min_response_millis: 0,
        verify_per_client_per_minute: 100_000,
        ..Config::default()
    };
    let handle = common::spawn(config, Arc::new(clock.clone()), None).await;
    let base = handle.base_url();
    let api_key = server::codes::create_api_key(&handle.state.store, "lab", START)
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let onset = time::OffsetDateTime::from_unix_timestamp(START - 5 * 86_400)
        .unwrap()
        .date()
        .to_string();

    // Codes: some to warm up (real work durations to draw from), 200 to measure.
    let mut codes = Vec::new();
    for _ in 0..EACH + WARM_UP {
        let issued: Value = http
            .post(format!("{base}/v1/authority/codes"))
            .bearer_auth(&api_key)
            .json(&json!({"onsetDate": onset}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        codes.push(issued["code"].as_str().unwrap().to_owned());
    }
    let verify = |code: &str, fake: bool| {
        http.post(format!("{base}/v1/codes/verify"))
            .json(&json!({"code": code, "fake": fake}))
    };
    let warm_up: Vec<_> = codes
        .drain(..WARM_UP)
        .map(|code| (false, verify(&code, false)))
        .collect();
    let mut tokens: Vec<String> = run(warm_up)
        .await
        .into_iter()
        .map(|(_, body)| body["accessToken"].as_str().unwrap().to_owned())
        .collect();
    let mut jobs: Vec<_> = codes
        .iter()
        .map(|code| (false, verify(code, false)))
        .collect();
    jobs.extend((0..EACH).map(|i| (true, verify(&format!("{:012}", 31_337 * i), true))));
    let answers = run(jobs).await;
    let mut fake_tokens = Vec::new();
    for (answer, body) in &answers {
        let token = body["accessToken"].as_str().unwrap().to_owned();
        if answer.fake {
            fake_tokens.push(token);
        } else {
            tokens.push(token);
        }
    }
    let verifications: Vec<Answer> = answers.into_iter().map(|(answer, _)| answer).collect();
    check("code checks", &verifications);

    // Uploads: each with 10 real keys of its own, padded to 30; the fakes alike.
    let today = u32::try_from(START / 600 - (START / 600) % 144).unwrap();
    let body = |index: usize| {
        let mut keys: Vec<Value> = (1..=10u32)
            .map(|day| {
                key(
                    ((index * 10 + day as usize) % 251) as u8,
                    today - day * 144,
                    0,
                )
            })
            .collect();
        keys.extend((0..20).map(|i| key(200 + i, today, 1)));
        json!({"gaenKeys": keys, "delayedKeyDate": today})
    };
    let upload = |token: &str, index: usize| {
        http.post(format!("{base}/v2/gaen/exposed"))
            .bearer_auth(token)
            .json(&body(index))
    };
    let warm_up: Vec<_> = tokens
        .drain(..WARM_UP)
        .enumerate()
        .map(|(index, token)| (false, upload(&token, 1000 + index)))
        .collect();
    run(warm_up).await;
    let mut jobs: Vec<_> = tokens
        .iter()
        .enumerate()
        .map(|(index, token)| (false, upload(token, index)))
        .collect();
    jobs.extend(
        fake_tokens
            .iter()
            .enumerate()
            .map(|(index, token)| (true, upload(token, index))),
    );
    let uploads: Vec<Answer> = run(jobs)
        .await
        .into_iter()
        .map(|(answer, _)| answer)
        .collect();
    check("key uploads", &uploads);
    handle.shutdown().await.unwrap();
}

#[test]
fn the_statistic_tells_different_distributions_apart_and_not_equal_ones() {
    let a: Vec<f64> = (0..200).map(f64::from).collect();
    let shifted: Vec<f64> = (0..200).map(|x| f64::from(x) + 60.0).collect();
    let interleaved: Vec<f64> = (0..200).map(|x| f64::from(x) + 0.5).collect();
    let (d, p) = kolmogorov_smirnov(&a, &shifted);
    assert!((d - 0.3).abs() < 1e-9 && p < 0.001, "{d} {p}");
    let (d, p) = kolmogorov_smirnov(&a, &interleaved);
    assert!(d <= 0.005 + 1e-9 && p > 0.99, "{d} {p}");
}
