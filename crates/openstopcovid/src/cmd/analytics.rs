//! `openstopcovid authority analytics …`: the epidemiologists' side of private analytics.
//!
//! `tasks` prints what to provision in the two DAP aggregators (Janus) for each metric;
//! `collect` asks the leader for a range of days of every metric (DAP-09 collection jobs),
//! opens the two aggregate shares with the collector's HPKE key, prints the histograms and
//! draws them as an SVG chart.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use analytics::dap::{
    COLLECTION_MEDIA_TYPE, COLLECTION_REQUEST_MEDIA_TYPE, CollectorKey, collection_request,
    days_interval, open_collection,
};
use analytics::{Collected, Metric};
use anyhow::{Context, anyhow, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use plotters::prelude::*;
use rand::RngExt;
use serde::Serialize;

#[derive(clap::Subcommand, Debug)]
pub enum AnalyticsCommand {
    /// Prints the DAP task of every metric as the aggregators must provision it: VDAF,
    /// histogram length and chunk length, differential-privacy noise, minimum batch
    /// size, time precision (docs/analytics.md explains each).
    ///
    /// Example: openstopcovid authority analytics tasks --config openstopcovid.toml
    Tasks {
        /// The server's configuration file; its `[analytics]` section sets ε, the minimum
        /// batch size and the time precision (defaults when absent).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Collects days of every metric from the DAP leader, prints the noisy histograms and
    /// writes them as an SVG chart. Each metric is its own DAP task (from the `[analytics]`
    /// section of the server's configuration); a range of days with fewer reports than
    /// the minimum batch size gives nothing.
    ///
    /// Example: openstopcovid authority analytics collect --config openstopcovid.toml
    ///          --credential collector.json --from 2026-11-20 --to 2026-11-26
    Collect {
        /// The server's configuration file, with the `[analytics]` section.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// The collector's credential (JSON, as `janus_cli`/divviup write it: `id`, `kem`,
        /// `kdf`, `aead`, `public_key`, `private_key`, `token`).
        #[arg(long, value_name = "FILE")]
        credential: PathBuf,
        /// First day collected (YYYY-MM-DD, UTC). Default: yesterday.
        #[arg(long, value_name = "DATE")]
        from: Option<String>,
        /// Last day collected, inclusive (YYYY-MM-DD, UTC). Default: the first.
        #[arg(long, value_name = "DATE")]
        to: Option<String>,
        /// Collect only this metric (repeat for several). Default: every metric.
        #[arg(long, value_name = "NAME")]
        metric: Vec<String>,
        /// Where to write the chart.
        #[arg(long, value_name = "FILE", default_value = "analytics.svg")]
        chart: PathBuf,
        /// How long to wait for the aggregators to finish a collection.
        #[arg(long, default_value_t = 600)]
        timeout_seconds: u64,
        /// Print the results as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(command: AnalyticsCommand) -> anyhow::Result<ExitCode> {
    match command {
        AnalyticsCommand::Tasks { config } => {
            let config = super::serve::load_config(config.as_deref(), None)?;
            print_tasks(config.analytics.as_ref());
            Ok(ExitCode::SUCCESS)
        }
        AnalyticsCommand::Collect {
            config,
            credential,
            from,
            to,
            metric,
            chart,
            timeout_seconds,
            json,
        } => {
            let config = super::serve::load_config(config.as_deref(), None)?;
            let setting = config.analytics.ok_or_else(|| {
                anyhow!("the configuration has no [analytics] section: no tasks to collect")
            })?;
            setting.validate()?;
            let credential = Credential::read(&credential)?;
            let today = u32::try_from(server::Clock::now_unix_seconds(&server::RealClock) / 86_400)
                .unwrap_or(0);
            let first = match from {
                Some(text) => day_of_date(&text)?,
                None => today.saturating_sub(1),
            };
            let last = match to {
                Some(text) => day_of_date(&text)?,
                None => first,
            };
            if last < first {
                bail!("--to is before --from");
            }
            let metrics: Vec<Metric> = if metric.is_empty() {
                Metric::ALL.to_vec()
            } else {
                metric
                    .iter()
                    .map(|name| {
                        Metric::from_name(name).ok_or_else(|| {
                            anyhow!("no metric is called {name:?} (see `analytics tasks`)")
                        })
                    })
                    .collect::<anyhow::Result<_>>()?
            };
            let mut results = Vec::new();
            for metric in metrics {
                let task = setting
                    .tasks
                    .get(metric.name())
                    .ok_or_else(|| anyhow!("no task for {metric}"))?;
                let collected = collect(
                    &setting.leader,
                    metric,
                    &task.task_id,
                    first,
                    last,
                    &credential,
                    Duration::from_secs(timeout_seconds),
                )
                .with_context(|| format!("collecting {metric}"))?;
                results.push(MetricResult::new(metric, collected));
            }
            let title = format!(
                "OpenStopCovid private analytics, {} to {} (ε = {} per metric and day)",
                phone::status::date_of_day(u64::from(first)),
                phone::status::date_of_day(u64::from(last)),
                setting.epsilon
            );
            std::fs::write(&chart, chart_svg(&results, &title)?)
                .with_context(|| format!("cannot write the chart to {}", chart.display()))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&results)?);
            } else {
                print_results(&results);
                println!("chart: {}", chart.display());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_tasks(setting: Option<&server::config::AnalyticsSetting>) {
    let epsilon = setting.map_or(1.0, |setting| setting.epsilon);
    let min_batch_size = setting.map_or(analytics::privacy::DEFAULT_MIN_BATCH_SIZE, |setting| {
        setting.min_batch_size
    });
    let time_precision = setting.map_or(
        server::config::DEFAULT_ANALYTICS_TIME_PRECISION_SECONDS,
        |setting| setting.time_precision_seconds,
    );
    println!(
        "Every task: query type TimeInterval, time_precision {time_precision} s, \
         min_batch_size {min_batch_size}, HPKE X25519HkdfSha256/HkdfSha256/Aes128Gcm"
    );
    println!(
        "Every VDAF: Prio3Histogram with dp_strategy PureDpDiscreteLaplace, budget epsilon {epsilon}"
    );
    for metric in Metric::ALL {
        println!(
            "  {:34} length {:2}  chunk_length {}  ({})",
            metric.name(),
            metric.length(),
            metric.chunk_length(),
            metric.description()
        );
    }
}

/// The collector's credential, as Janus's `PrivateCollectorCredential` is written.
struct Credential {
    key: CollectorKey,
    token: String,
}

impl Credential {
    fn read(path: &std::path::Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let json: serde_json::Value =
            serde_json::from_str(&text).context("the credential is not JSON")?;
        let field = |name: &str| {
            json.get(name)
                .ok_or_else(|| anyhow!("the credential has no {name:?}"))
        };
        for (name, expected) in [
            ("kem", "X25519HkdfSha256"),
            ("kdf", "HkdfSha256"),
            ("aead", "Aes128Gcm"),
        ] {
            let value = field(name)?.as_str().unwrap_or_default();
            // Janus writes the KDF as "Sha256" in its credentials.
            if value != expected && !(name == "kdf" && value == "Sha256") {
                bail!("the credential's {name} is {value:?}; only {expected} is supported");
            }
        }
        let config_id = field("id")?
            .as_u64()
            .and_then(|id| u8::try_from(id).ok())
            .ok_or_else(|| anyhow!("the credential's id is not a number from 0 to 255"))?;
        let private_key = URL_SAFE_NO_PAD
            .decode(field("private_key")?.as_str().unwrap_or_default())
            .context("the credential's private_key is not base64url")?;
        let token = field("token")?
            .as_str()
            .ok_or_else(|| anyhow!("the credential's token is not text"))?
            .to_owned();
        Ok(Self {
            key: CollectorKey {
                config_id,
                private_key,
            },
            token,
        })
    }
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date.
fn day_of_date(text: &str) -> anyhow::Result<u32> {
    let date = time::Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .with_context(|| format!("{text:?} is not a date (YYYY-MM-DD)"))?;
    let seconds = date.midnight().assume_utc().unix_timestamp();
    u32::try_from(seconds / 86_400).map_err(|_| anyhow!("{text} is before 1970"))
}

/// One DAP-09 collection: `PUT` the job, `POST` to it until the aggregators are done.
fn collect(
    leader: &str,
    metric: Metric,
    task_id: &str,
    first_day: u32,
    last_day: u32,
    credential: &Credential,
    timeout: Duration,
) -> anyhow::Result<Option<Collected>> {
    let interval = days_interval(first_day, last_day)?;
    let task = janus_task_id(task_id)?;
    let job_id: [u8; 16] = rand::rng().random();
    let url = format!(
        "{}/tasks/{task_id}/collection_jobs/{}",
        leader.trim_end_matches('/'),
        URL_SAFE_NO_PAD.encode(job_id)
    );
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(60)))
        .http_status_as_error(false)
        .build()
        .into();
    let authorization = format!("Bearer {}", credential.token);
    let response = agent
        .put(&url)
        .header("Content-Type", COLLECTION_REQUEST_MEDIA_TYPE)
        .header("Authorization", &authorization)
        .send(&collection_request(interval)?[..])?;
    check_status(response, "creating the collection job")?;
    let started = Instant::now();
    loop {
        let response = agent
            .post(&url)
            .header("Authorization", &authorization)
            .send_empty()?;
        let status = response.status().as_u16();
        if status == 202 {
            if started.elapsed() > timeout {
                bail!(
                    "the aggregators did not finish within {} s",
                    timeout.as_secs()
                );
            }
            let wait = response
                .headers()
                .get("retry-after")
                .and_then(|value| value.to_str().ok()?.parse().ok())
                .unwrap_or(5u64)
                .clamp(1, 60);
            std::thread::sleep(Duration::from_secs(wait));
            continue;
        }
        if status == 200 {
            let content_type = response
                .headers()
                .get("content-type")
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            if content_type != COLLECTION_MEDIA_TYPE {
                bail!("the leader answered {content_type:?}, not a DAP collection");
            }
            let body = response.into_body().read_to_vec()?;
            return Ok(Some(open_collection(
                metric,
                &task,
                interval,
                &body,
                &credential.key,
            )?));
        }
        // DAP's "batch too small" (and "invalid batch size") mean: nothing to release.
        let body = response.into_body().read_to_string().unwrap_or_default();
        if body.contains("invalidBatchSize") || body.contains("batchMismatch") {
            return Ok(None);
        }
        bail!("the leader answered {status}: {}", problem_detail(&body));
    }
}

fn janus_task_id(task_id: &str) -> anyhow::Result<janus_messages::TaskId> {
    let bytes = URL_SAFE_NO_PAD
        .decode(task_id)
        .context("a task id is not base64url")?;
    janus_messages::TaskId::try_from(bytes.as_slice())
        .map_err(|_| anyhow!("a task id is not 32 bytes"))
}

fn check_status(response: ureq::http::Response<ureq::Body>, what: &str) -> anyhow::Result<()> {
    let status = response.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(());
    }
    let body = response.into_body().read_to_string().unwrap_or_default();
    bail!(
        "{what}: the leader answered {status}: {}",
        problem_detail(&body)
    )
}

fn problem_detail(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|problem| {
            let kind = problem.get("type")?.as_str()?.to_owned();
            let detail = problem.get("detail").and_then(|d| d.as_str()).unwrap_or("");
            Some(format!("{kind} {detail}"))
        })
        .unwrap_or_else(|| body.chars().take(200).collect())
}

/// One metric's collection, for people (text, chart) and machines (JSON).
#[derive(Serialize)]
struct MetricResult {
    metric: &'static str,
    description: &'static str,
    buckets: &'static [&'static str],
    /// `null` when the batch was below the minimum size.
    counts: Option<Vec<i64>>,
    report_count: Option<u64>,
}

impl MetricResult {
    fn new(metric: Metric, collected: Option<Collected>) -> Self {
        Self {
            metric: metric.name(),
            description: metric.description(),
            buckets: metric.buckets(),
            report_count: collected.as_ref().map(|c| c.report_count),
            counts: collected.map(|c| c.counts),
        }
    }
}

fn print_results(results: &[MetricResult]) {
    for result in results {
        match (&result.counts, result.report_count) {
            (Some(counts), Some(reports)) => {
                println!(
                    "{} ({}), {reports} reports:",
                    result.metric, result.description
                );
                for (bucket, count) in result.buckets.iter().zip(counts) {
                    println!("  {bucket:28} {count:>8}");
                }
            }
            _ => println!(
                "{}: nothing released (fewer reports than the minimum batch size)",
                result.metric
            ),
        }
    }
}

/// The histograms as a grid of bar charts, one per metric; noisy counts below zero are
/// drawn as zero.
fn chart_svg(results: &[MetricResult], title: &str) -> anyhow::Result<String> {
    let columns = 3;
    let rows = results.len().div_ceil(columns).max(1);
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (1200, 60 + 300 * rows as u32)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let root = root
            .titled(title, ("sans-serif", 22))
            .map_err(chart_error)?;
        let panels = root.split_evenly((rows, columns));
        for (result, panel) in results.iter().zip(panels.iter()) {
            let counts = result.counts.clone().unwrap_or_default();
            let top = counts.iter().copied().max().unwrap_or(0).max(1) as f64 * 1.15;
            let length = result.buckets.len();
            let caption = match result.report_count {
                Some(reports) => format!("{} ({reports} reports)", result.metric),
                None => format!("{} (below minimum batch)", result.metric),
            };
            let mut chart = ChartBuilder::on(panel)
                .caption(caption, ("sans-serif", 15))
                .margin(10)
                .x_label_area_size(30)
                .y_label_area_size(45)
                .build_cartesian_2d(0.0..length as f64, 0.0..top)
                .map_err(chart_error)?;
            let buckets = result.buckets;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(length)
                .x_label_formatter(&|x| {
                    let index = (*x - 0.5).round();
                    if index >= 0.0 && (*x - 0.5 - index).abs() < 0.01 {
                        buckets
                            .get(index as usize)
                            .map(|label| (*label).to_owned())
                            .unwrap_or_default()
                    } else {
                        String::new()
                    }
                })
                .draw()
                .map_err(chart_error)?;
            chart
                .draw_series(counts.iter().enumerate().map(|(index, &count)| {
                    let x = index as f64;
                    Rectangle::new(
                        [(x + 0.1, 0.0), (x + 0.9, count.max(0) as f64)],
                        RGBColor(20, 90, 180).filled(),
                    )
                }))
                .map_err(chart_error)?;
        }
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

fn chart_error<E: std::error::Error + Send + Sync>(
    error: DrawingAreaErrorKind<E>,
) -> anyhow::Error {
    anyhow!("cannot draw the chart: {error}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_draws_every_metric_released_or_not() {
        let mut results: Vec<MetricResult> = Metric::ALL
            .into_iter()
            .map(|metric| {
                MetricResult::new(
                    metric,
                    Some(Collected {
                        counts: (0..metric.length() as i64).map(|i| 100 - 7 * i).collect(),
                        report_count: 100,
                    }),
                )
            })
            .collect();
        results.push(MetricResult::new(Metric::WarningShown, None));
        let svg = chart_svg(&results, "test").unwrap();
        assert!(svg.starts_with("<svg"));
        for metric in Metric::ALL {
            assert!(svg.contains(metric.name()), "{metric}");
        }
        assert!(svg.contains("below minimum batch"));
    }

    #[test]
    fn a_janus_collector_credential_is_read_and_other_suites_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("collector.json");
        let credential = serde_json::json!({
            "id": 7, "kem": "X25519HkdfSha256", "kdf": "Sha256", "aead": "Aes128Gcm",
            "public_key": URL_SAFE_NO_PAD.encode([1u8; 32]),
            "private_key": URL_SAFE_NO_PAD.encode([2u8; 32]),
            "token": "secret",
        });
        std::fs::write(&path, credential.to_string()).unwrap();
        let read = Credential::read(&path).unwrap();
        assert_eq!(read.key.config_id, 7);
        assert_eq!(read.key.private_key, [2u8; 32]);
        assert_eq!(read.token, "secret");
        let mut other = credential;
        other["kem"] = "P256HkdfSha256".into();
        std::fs::write(&path, other.to_string()).unwrap();
        assert!(Credential::read(&path).is_err());
    }
}
