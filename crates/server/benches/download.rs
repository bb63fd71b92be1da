//! Key downloads per second over real HTTP on loopback (issue 13): prebuilt answers
//! against the per-request builder they replace, measured in the same run.
//!
//! `cargo bench -p server --bench download` (about two minutes on 2 cores).
//!
//! Two servers run in this process on one SQLite database holding 50,000 real keys,
//! uploaded over `POST /v2/gaen/exposed` as phones send them (6 real keys each: the 5 days
//! before the upload and the embargoed key of the day), spread evenly over the last 14
//! days of 2-hour release buckets: the steady state of a server in use. One server has
//! `prebuilt_downloads = false` (today's code before issue 13: query, fresh padding, zip
//! and signatures at every request), the other the default. The clock is a mock clock
//! standing still 10 minutes into a release bucket, so every download of a run sees the
//! same bucket.
//!
//! A client keeps 64 requests in flight (64 connections kept alive) and reads each body
//! to its end. Measured, for both servers:
//! - **full**: `GET /v2/gaen/exposed` without a tag (a new phone: the whole 14 days);
//! - **incremental**: `?lastKeyBundleTag=` the previous bucket's end (a phone that synced
//!   two hours ago).
//!
//! Criterion prints the time per download (and downloads/s); the ratios are printed last.

// A benchmark's set-up may unwrap: a failure there is a failed run.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use messages::keys::{GaenKey, GaenUploadRequest};
use server::{Clock, Config, MockClock, ServerHandle};

/// Keys stored by the set-up.
const KEYS: usize = 50_000;
/// Real keys in each upload: the 5 days before and today's (embargoed until it expires).
const REAL_KEYS_PER_UPLOAD: usize = 6;
/// Requests in flight.
const IN_FLIGHT: usize = 64;
/// The default release bucket.
const BUCKET_SECONDS: i64 = 7200;
/// 2023-11-14T00:00:00Z + 10 minutes: ten minutes into a release bucket.
const NOW: i64 = 1_699_920_000 + 600;

struct Servers {
    today: ServerHandle,
    prebuilt: ServerHandle,
    _dir: tempfile::TempDir,
}

fn config(dir: &std::path::Path, prebuilt_downloads: bool) -> Config {
    Config {
        data_dir: dir.to_owned(),
        listen: "127.0.0.1:0".parse().unwrap(),
        release_bucket_seconds: BUCKET_SECONDS as u64,
        min_response_millis: 0,
        export_store_url: Some("memory:///".into()),
        // The background jobs run once at start (nothing to do then), never during a run.
        jobs_interval_seconds: 86_400,
        max_connections_per_client: 10_000,
        prebuilt_downloads,
        ..Config::default()
    }
}

/// Uploads of 6 real keys, evenly over the 14 days before `NOW`.
async fn seed(server: &ServerHandle, clock: &MockClock, http: &reqwest::Client) {
    let uploads = KEYS / REAL_KEYS_PER_UPLOAD;
    let first = NOW - messages::retention::SECONDS;
    let state = &server.state;
    let url = format!("{}/v2/gaen/exposed", server.base_url());
    let step = messages::retention::SECONDS as f64 / uploads as f64;
    let mut batch = Vec::new();
    for upload in 0..uploads {
        let at = first + (upload as f64 * step) as i64;
        // Uploads of the same hour go together.
        if !batch.is_empty() && clock.now_unix_seconds() / 3600 != at / 3600 {
            send_all(http, &url, std::mem::take(&mut batch)).await;
        }
        clock.set(at);
        let onset = time::OffsetDateTime::from_unix_timestamp(at - 3 * 86_400)
            .unwrap()
            .date();
        let token = server::tokens::issue_upload_token(
            state,
            messages::authority::CodeKind::Patient,
            exposure::keys::ReportType::ConfirmedTest,
            onset,
            at - at % 3600,
            false,
            at,
        );
        batch.push((token, upload_body(at)));
    }
    send_all(http, &url, batch).await;
    clock.set(NOW);
}

async fn send_all(http: &reqwest::Client, url: &str, batch: Vec<(String, GaenUploadRequest)>) {
    let sends = batch.into_iter().map(|(token, body)| {
        let request = http.post(url).bearer_auth(token).json(&body).send();
        async move { assert_eq!(request.await.unwrap().status(), 200) }
    });
    futures_join_all(sends).await;
}

/// Runs the futures concurrently (no `futures` crate needed for this).
async fn futures_join_all<F: Future<Output = ()> + Send + 'static>(
    futures: impl IntoIterator<Item = F>,
) {
    let tasks: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    for task in tasks {
        task.await.unwrap();
    }
}

fn upload_body(at: i64) -> GaenUploadRequest {
    let today = u32::try_from(at / 86_400 * 144).unwrap();
    let mut gaen_keys: Vec<GaenKey> = (0..REAL_KEYS_PER_UPLOAD as u32)
        .map(|days_back| GaenKey {
            key_data: STANDARD.encode(rand::random::<[u8; 16]>()),
            rolling_start_number: today - days_back * 144,
            rolling_period: 144,
            fake: 0,
        })
        .collect();
    while gaen_keys.len() < server::keys::KEYS_PER_UPLOAD {
        gaen_keys.push(GaenKey {
            key_data: STANDARD.encode(rand::random::<[u8; 16]>()),
            rolling_start_number: today,
            rolling_period: 144,
            fake: 1,
        });
    }
    GaenUploadRequest {
        gaen_keys,
        delayed_key_date: None,
        with_federation_gateway: None,
    }
}

async fn start() -> Servers {
    let dir = tempfile::tempdir().unwrap();
    let clock = MockClock::new(NOW - messages::retention::SECONDS);
    let shared: server::SharedClock = Arc::new(clock.clone());
    let prebuilt = server::spawn(config(dir.path(), true), shared.clone())
        .await
        .unwrap();
    let today = server::spawn(config(dir.path(), false), shared)
        .await
        .unwrap();
    seed(&prebuilt, &clock, &reqwest::Client::new()).await;
    Servers {
        today,
        prebuilt,
        _dir: dir,
    }
}

/// `iterations` downloads of `url` with [`IN_FLIGHT`] in flight; how long they took.
async fn download_many(http: &reqwest::Client, url: &str, iterations: u64) -> Duration {
    let left = Arc::new(AtomicUsize::new(usize::try_from(iterations).unwrap()));
    let started = Instant::now();
    let workers: Vec<_> = (0..IN_FLIGHT)
        .map(|_| {
            let (http, url, left) = (http.clone(), url.to_owned(), left.clone());
            tokio::spawn(async move {
                while left
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                    .is_ok()
                {
                    let mut response = http.get(&url).send().await.unwrap();
                    assert_eq!(response.status(), 200, "{url}");
                    // Read to the end without keeping the body, as a phone streams it to disk.
                    while response.chunk().await.unwrap().is_some() {}
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    started.elapsed()
}

/// What one download of `url` returns: (body bytes, keys in the export).
async fn inspect(http: &reqwest::Client, url: &str) -> (usize, usize) {
    let body = http.get(url).send().await.unwrap().bytes().await.unwrap();
    let export = exposure::export::read_zip(&body).unwrap();
    (body.len(), export.batch.keys.len())
}

fn downloads(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let servers = runtime.block_on(start());
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(IN_FLIGHT)
        .build()
        .unwrap();
    let until = NOW - NOW.rem_euclid(BUCKET_SECONDS);
    let cases = [
        ("full", String::new()),
        (
            "incremental",
            format!("?lastKeyBundleTag={}", (until - BUCKET_SECONDS) * 1000),
        ),
    ];
    let rates: Mutex<Vec<(String, f64)>> = Mutex::new(Vec::new());
    for (case, query) in &cases {
        let mut group = c.benchmark_group(format!("download {case}"));
        group
            .throughput(Throughput::Elements(1))
            .sample_size(10)
            .warm_up_time(Duration::from_secs(2))
            .measurement_time(Duration::from_secs(12));
        for (name, handle) in [
            ("today (per request)", &servers.today),
            ("prebuilt", &servers.prebuilt),
        ] {
            let url = format!("{}/v2/gaen/exposed{query}", handle.base_url());
            let (bytes, keys) = runtime.block_on(inspect(&http, &url));
            eprintln!("{case} download from {name}: {keys} keys, {bytes} bytes");
            let mut total = (0u64, Duration::ZERO);
            group.bench_function(name, |b| {
                b.iter_custom(|iterations| {
                    let took = runtime.block_on(download_many(&http, &url, iterations));
                    total.0 += iterations;
                    total.1 += took;
                    took
                })
            });
            let per_second = total.0 as f64 / total.1.as_secs_f64();
            rates
                .lock()
                .unwrap()
                .push((format!("{case} {name}"), per_second));
        }
        group.finish();
    }
    let rates = rates.into_inner().unwrap();
    eprintln!("\n{KEYS} keys stored, {IN_FLIGHT} downloads in flight, loopback HTTP:");
    for pair in rates.chunks(2) {
        if let [(today_name, today), (prebuilt_name, prebuilt)] = pair {
            eprintln!(
                "  {today_name}: {today:.1}/s; {prebuilt_name}: {prebuilt:.0}/s; ratio {:.0}x",
                prebuilt / today
            );
        }
    }
    runtime.block_on(async {
        servers.today.shutdown().await.unwrap();
        servers.prebuilt.shutdown().await.unwrap();
    });
}

criterion_group!(benches, downloads);
criterion_main!(benches);
