//! `openstopcovid bench upload`: how many key uploads per second a server takes, over
//! real HTTP on loopback, each one durable before it is answered.
//!
//! The server runs in this process (SQLite in a temporary directory, or the PostgreSQL
//! database given with `--database-url`), exactly as `serve` runs it, except that the
//! minimum response time that hides fake traffic is off (it pads latency, not load).
//! Upload tokens are minted up front with the server's own key, as `/v1/codes/verify`
//! would sign them, and every request is serialized up front, so that only uploads are
//! timed. Each of the `--concurrency` clients keeps one HTTP/1.1 connection alive and
//! sends its next request when the answer to the last one is complete (as `wrk` does):
//! the load generator shares the machine with the server, so it does as little as a
//! client can. Each upload carries 30 keys, as the phones send them: 11 real (the last
//! 10 days and today) and 19 fake padding keys, each real key new.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clap::{Args, Subcommand};
use exposure::interval::{EnIntervalNumber, INTERVALS_PER_DAY};
use indicatif::{ProgressBar, ProgressStyle};
use messages::keys::{GaenKey, GaenUploadRequest};
use rand::{Rng, SeedableRng};
use serde_json::json;
use server::datastore::Store;
use server::signing::KeyRing;
use server::{AppState, Config, RealClock};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Measure the server's throughput.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Key uploads per second (DP-3T `POST /v2/gaen/exposed`, 30 keys each, durable).
    ///
    /// Examples:
    ///   openstopcovid bench upload
    ///   openstopcovid bench upload --database-url postgres://postgres@127.0.0.1:5432/test
    ///   openstopcovid bench upload --uploads 50000 --concurrency 256 --json
    #[command(verbatim_doc_comment)]
    Upload(UploadArgs),
}

#[derive(Debug, Args)]
pub struct UploadArgs {
    /// PostgreSQL database to store into (a fresh schema is created and left there for
    /// inspection); without it, SQLite in a temporary directory.
    #[arg(long)]
    pub database_url: Option<String>,
    /// How many uploads to send.
    #[arg(long, default_value_t = 20_000)]
    pub uploads: usize,
    /// Uploads in flight at once (phones uploading at the same moment). A server taking
    /// 5,000 uploads/s that answers each in 50 ms has 250 in flight (Little's law).
    #[arg(long, default_value_t = 256)]
    pub concurrency: usize,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Real keys in each upload (the last 10 days and today); the rest of 30 are fake.
const REAL_KEYS_PER_UPLOAD: usize = 11;
const KEYS_PER_UPLOAD: usize = 30;

pub fn run(command: BenchCommand) -> anyhow::Result<std::process::ExitCode> {
    match command {
        BenchCommand::Upload(args) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            runtime.block_on(upload(args))?;
            Ok(std::process::ExitCode::SUCCESS)
        }
    }
}

fn upload_body(today: u32, rng: &mut impl Rng) -> String {
    let key = |start: u32, fake: u8, rng: &mut dyn FnMut() -> [u8; 16]| GaenKey {
        key_data: STANDARD.encode(rng()),
        rolling_start_number: start,
        rolling_period: i64::from(INTERVALS_PER_DAY),
        fake,
    };
    let mut random = || {
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        bytes
    };
    let mut gaen_keys: Vec<GaenKey> = (1..REAL_KEYS_PER_UPLOAD as u32)
        .map(|day| key(today - day * INTERVALS_PER_DAY, 0, &mut random))
        .collect();
    gaen_keys.push(key(today, 0, &mut random));
    while gaen_keys.len() < KEYS_PER_UPLOAD {
        gaen_keys.push(key(today, 1, &mut random));
    }
    let upload = GaenUploadRequest {
        gaen_keys,
        delayed_key_date: Some(today),
        with_federation_gateway: None,
    };
    // A struct of strings and numbers always serializes.
    serde_json::to_string(&upload).unwrap_or_default()
}

async fn upload(args: UploadArgs) -> anyhow::Result<()> {
    if args.uploads == 0 || args.concurrency == 0 {
        bail!("--uploads and --concurrency must be at least 1");
    }
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let config = Config {
        data_dir: dir.path().to_owned(),
        listen: "127.0.0.1:0".parse()?,
        min_response_millis: 0,
        export_store_url: Some("memory:///".into()),
        ..Config::default()
    };
    let clock: server::SharedClock = Arc::new(RealClock);
    let (store, backend) = match &args.database_url {
        None => (
            Store::connect(&config.effective_database_url()).await?,
            "sqlite".to_owned(),
        ),
        Some(url) => {
            let schema = format!("bench_{}", random_hex());
            (
                Store::connect_in_schema(url, Some(&schema)).await?,
                format!("postgresql (schema {schema}, left for inspection)"),
            )
        }
    };
    let keys = KeyRing::load_or_create(&config.data_dir, clock.now_unix_seconds(), &config.region)?;
    let listen = config.listen;
    let state = AppState::with_store(config, clock, store, keys)?;
    let handle = server::spawn_with_state(state, listen)
        .await
        .context("starting the server")?;
    let state = handle.state.clone();
    let now = state.now();
    let today = EnIntervalNumber::from_unix_seconds(u64::try_from(now).unwrap_or(0))
        .day_start()
        .0;
    let onset = time::OffsetDateTime::from_unix_timestamp(now - 3 * 86_400)?.date();

    let preparing = progress(args.uploads as u64, "preparing tokens and bodies");
    let mut rng = rand::rngs::StdRng::from_rng(&mut rand::rng());
    let address = handle.addr;
    let requests: Vec<Vec<u8>> = (0..args.uploads)
        .map(|_| {
            preparing.inc(1);
            let token = server::tokens::issue_upload_token(
                &state,
                messages::authority::CodeKind::Patient,
                exposure::keys::ReportType::ConfirmedTest,
                onset,
                now - now % 3600,
                false,
                now,
            );
            upload_request(address, &token, &upload_body(today, &mut rng))
        })
        .collect();
    preparing.finish_and_clear();
    let requests = Arc::new(requests);

    let next = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicUsize::new(0));
    let bar = progress(args.uploads as u64, "uploading");
    let started = Instant::now();
    let workers: Vec<_> = (0..args.concurrency)
        .map(|_| {
            let (next, failures, requests, bar) = (
                next.clone(),
                failures.clone(),
                requests.clone(),
                bar.clone(),
            );
            tokio::spawn(async move {
                let mut connection: Option<TcpStream> = None;
                let mut buffer = Vec::with_capacity(4096);
                while let Some(request) = requests.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let answer = tokio::time::timeout(
                        REQUEST_TIMEOUT,
                        exchange(&mut connection, address, request, &mut buffer),
                    )
                    .await;
                    if !matches!(answer, Ok(Ok(200))) {
                        failures.fetch_add(1, Ordering::Relaxed);
                        // Start again on a new connection.
                        connection = None;
                    }
                    bar.inc(1);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await?;
    }
    let elapsed = started.elapsed();
    bar.finish_and_clear();

    let failed = failures.load(Ordering::Relaxed);
    // Every key stored is counted by the time the last release is reached.
    let stored = state.metrics.keys_released(i64::MAX);
    let expected = ((args.uploads - failed) * REAL_KEYS_PER_UPLOAD) as u64;
    handle
        .shutdown()
        .await
        .context("shutting the server down")?;
    let per_second = (args.uploads - failed) as f64 / elapsed.as_secs_f64();
    let result = json!({
        "backend": backend,
        "uploads": args.uploads,
        "failed": failed,
        "concurrency": args.concurrency,
        "keys_per_upload": KEYS_PER_UPLOAD,
        "keys_stored": stored,
        "seconds": elapsed.as_secs_f64(),
        "uploads_per_second": per_second,
    });
    if args.json {
        println!("{result}");
    } else {
        println!(
            "{} uploads of {KEYS_PER_UPLOAD} keys to {backend} in {:.2} s: {per_second:.0} uploads/s \
             ({} in flight, {failed} failed, {stored} real keys stored)",
            args.uploads,
            elapsed.as_secs_f64(),
            args.concurrency,
        );
    }
    if failed > 0 || stored != expected {
        bail!("{failed} uploads failed; {stored} keys stored, {expected} expected");
    }
    Ok(())
}

/// How long one upload may take before it counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The bytes of one `POST /v2/gaen/exposed`.
fn upload_request(address: SocketAddr, token: &str, body: &str) -> Vec<u8> {
    format!(
        "POST /v2/gaen/exposed HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Sends `request` on the kept-alive connection (opened if there is none) and reads the
/// whole response; its status code.
async fn exchange(
    connection: &mut Option<TcpStream>,
    address: SocketAddr,
    request: &[u8],
    buffer: &mut Vec<u8>,
) -> std::io::Result<u16> {
    let stream = match connection {
        Some(stream) => stream,
        None => {
            let stream = TcpStream::connect(address).await?;
            stream.set_nodelay(true)?;
            connection.insert(stream)
        }
    };
    stream.write_all(request).await?;
    buffer.clear();
    let mut chunk = [0u8; 4096];
    loop {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buffer.extend_from_slice(chunk.get(..read).unwrap_or_default());
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        let head = match response.parse(buffer) {
            Ok(httparse::Status::Complete(head)) => head,
            Ok(httparse::Status::Partial) => continue,
            Err(error) => return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, error)),
        };
        let length = response
            .headers
            .iter()
            .find(|header| header.name.eq_ignore_ascii_case("content-length"))
            .and_then(|header| std::str::from_utf8(header.value).ok())
            .and_then(|value| value.trim().parse::<usize>().ok())
            .ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::InvalidData, "no Content-Length")
            })?;
        if buffer.len() >= head + length {
            return Ok(response.code.unwrap_or(0));
        }
    }
}

fn random_hex() -> String {
    let mut bytes = [0u8; 8];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn progress(length: u64, message: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(length);
    bar.set_style(
        ProgressStyle::with_template("{msg:28} [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(message);
    bar
}
