//! `openstopcovid demo` and `openstopcovid simulate`: the whole system at work on a
//! simulated town, with warnings measured against the ground truth.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use simulator::town::TownConfig;

use crate::town_run::{self, Outcome, Progress};

/// Runs the whole system on this machine: a server (embedded SQLite in a temporary
/// directory), physicians, and a simulated town of a few hundred phones and a dozen venues
/// over two weeks, everyone talking HTTP to the server. Prints how the warnings matched
/// what really happened (recall and precision, per channel, every miss and false warning
/// by cause) and writes two SVG charts: the days of the run, and precision against recall
/// as each channel's warning threshold varies. Every phone also volunteers for private
/// analytics: each day's measurements go through the two aggregators' Prio3 preparation
/// in-process, with the differential-privacy noise Janus would add, and the outcome puts
/// what was collected next to the truth (`analytics` in the JSON).
///
/// Example: openstopcovid demo --json > demo.json
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Print the outcome as JSON (with `recall` and `precision` per channel) instead of text.
    #[arg(long)]
    json: bool,
    /// Where to write the SVG chart of infections, reports and warnings.
    #[arg(long, value_name = "FILE", default_value_os_t = town_run::default_chart_path())]
    chart: PathBuf,
    /// Where to write the precision/recall curves (default: the chart's name with
    /// `-curves` added).
    #[arg(long, value_name = "FILE")]
    curves: Option<PathBuf>,
    /// Seed of the town and its epidemic: the same seed gives the same story.
    #[arg(long, default_value_t = TownConfig::default().seed)]
    seed: u64,
    /// Share of app users' venue visits at which they check in (0-1).
    #[arg(long, default_value_t = TownConfig::default().check_in_share)]
    check_in_share: f64,
    /// Share of checked-in visits at which they check out on leaving (0-1); the others
    /// forget, and the phone's automatic check-out ends the stay.
    #[arg(long, default_value_t = TownConfig::default().check_out_share)]
    check_out_share: f64,
    /// Afterwards, keep a server up at this address (e.g. 127.0.0.1:8080) to try the
    /// citizen web app: prints a venue's web check-in URL and a physician's code, and
    /// serves until Ctrl-C.
    #[arg(long, value_name = "ADDR")]
    serve: Option<std::net::SocketAddr>,
}

/// Simulates a larger town and reports throughput (phone-days simulated per second, with
/// every phone syncing over HTTP every day).
///
/// Example: openstopcovid simulate --people 2000 --days 7
#[derive(clap::Args, Debug)]
pub struct SimulateArgs {
    /// People in the town (nine in ten run the app).
    #[arg(long, default_value_t = 1000)]
    people: usize,
    /// Venues with a QR code at the door.
    #[arg(long, default_value_t = 40)]
    venues: usize,
    /// Days to simulate.
    #[arg(long, default_value_t = 14)]
    days: u32,
    /// Seed of the town and its epidemic.
    #[arg(long, default_value_t = TownConfig::default().seed)]
    seed: u64,
    /// Print the outcome as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run_demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let config = TownConfig {
        seed: args.seed,
        check_in_share: args.check_in_share,
        check_out_share: args.check_out_share,
        ..TownConfig::default()
    };
    let outcome = run_town(config, !args.json)?;
    let svg = outcome
        .timeline
        .chart_svg("OpenStopCovid demo: two weeks in a simulated town")?;
    std::fs::write(&args.chart, svg)
        .with_context(|| format!("cannot write the chart to {}", args.chart.display()))?;
    let curves_path = args
        .curves
        .unwrap_or_else(|| town_run::curves_path_next_to(&args.chart));
    let curves = simulator::curves::curves_svg(
        &outcome.curves,
        "Precision and recall as the warning thresholds vary",
    )?;
    std::fs::write(&curves_path, curves)
        .with_context(|| format!("cannot write the curves to {}", curves_path.display()))?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json_outcome(&outcome)?)?
        );
    } else {
        print_outcome(&outcome);
        println!(
            "  charts: {} and {}",
            args.chart.display(),
            curves_path.display()
        );
    }
    if let Some(listen) = args.serve {
        serve_web_app_demo(listen)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// A real-clock server whose venue codes open its web app: one venue and one code to try
/// checking in, reporting and being warned from a browser (or two), until Ctrl-C.
fn serve_web_app_demo(listen: std::net::SocketAddr) -> anyhow::Result<()> {
    let directory = town_run::temporary_directory()?;
    let public_url = format!("http://{listen}");
    let config = server::Config {
        data_dir: directory.path().join("server"),
        listen,
        release_bucket_seconds: 0,
        public_url: Some(public_url.clone()),
        ..server::Config::default()
    };
    let prefix = config.venue_code_prefix();
    let runtime = tokio::runtime::Runtime::new().context("cannot start the runtime")?;
    runtime.block_on(async {
        let handle = server::spawn(config, std::sync::Arc::new(server::RealClock))
            .await
            .context("cannot start the server (is the address free?)")?;
        let venue = presence::Venue::new(
            "Café de la Gare",
            "1 place de la Gare",
            presence::VenueType::FoodService,
        )
        .with_default_check_in_length_minutes(60)
        .create_qr_code(&prefix, &mut rand::rng())
        .map_err(|error| anyhow::anyhow!("cannot create the demo venue: {error}"))?;
        let code = server::codes::issue_code(
            &handle.state,
            "demo",
            &server::codes::CodeRequest::default(),
        )
        .await
        .map_err(|error| anyhow::anyhow!("cannot issue a code: {error}"))?;
        println!("\nThe citizen web app is served at {public_url}/app/");
        println!("  check in at a demo venue: {}", venue.url);
        println!(
            "  report with a physician's code: {}",
            server::config::web_report_link(&public_url, &code.code)
        );
        println!("  (Ctrl-C stops the server)");
        let _ = tokio::signal::ctrl_c().await;
        handle.shutdown().await?;
        anyhow::Ok(())
    })
}

pub fn run_simulate(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    let config = TownConfig {
        people: args.people,
        venues: args.venues,
        days: args.days,
        seed: args.seed,
        ..TownConfig::default()
    };
    let outcome = run_town(config, !args.json)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json_outcome(&outcome)?)?
        );
    } else {
        print_outcome(&outcome);
        println!(
            "  throughput: {:.0} phone-days/s, {:.0} syncs/s, {:.0} sightings/s",
            outcome.phone_days_per_second,
            outcome.syncs as f64 / outcome.elapsed_seconds,
            outcome.sightings_recorded as f64 / outcome.elapsed_seconds,
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn run_town(config: TownConfig, show_progress: bool) -> anyhow::Result<Outcome> {
    let directory = town_run::temporary_directory()?;
    let bar = if show_progress {
        ProgressBar::new(u64::from(config.days))
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} day {pos}/{len} {bar:30} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("starting the server and the phones");
    let outcome = town_run::run(config, directory.path(), |progress| match progress {
        Progress::Started { app_users, .. } => {
            bar.set_message(format!("{app_users} phones"));
        }
        Progress::Day { stats } => {
            bar.inc(1);
            bar.set_message(format!(
                "{} reported today; {} warned by Bluetooth, {} by venue so far",
                stats.reports, stats.proximity_warned, stats.venue_warned
            ));
        }
    })?;
    bar.finish_and_clear();
    Ok(outcome)
}

fn percent(ratio: f64) -> String {
    format!("{:.1} %", ratio * 100.0)
}

fn print_outcome(outcome: &Outcome) {
    println!(
        "OpenStopCovid: {} people ({} with the app), {} venues, {} days, server {}",
        outcome.people, outcome.app_users, outcome.venues, outcome.days, outcome.server_url
    );
    println!(
        "  epidemic: {} infected, {} diagnosed, {} reported with a physician's code",
        outcome.infected, outcome.diagnosed, outcome.reporters
    );
    println!(
        "  phones: {} encounters, {} Bluetooth sightings recorded, {} venue check-ins, {} syncs over HTTP",
        outcome.encounters, outcome.sightings_recorded, outcome.check_ins, outcome.syncs
    );
    for (name, report, curve) in [
        (
            "Bluetooth proximity",
            &outcome.breakdown.proximity,
            outcome.curves.first(),
        ),
        (
            "venue check-in",
            &outcome.breakdown.presence,
            outcome.curves.get(1),
        ),
    ] {
        let score = &report.score;
        println!(
            "  {name}: {} should have been warned, {} were (recall {}); {} warned, {} rightly (precision {})",
            score.truly_exposed,
            score.correctly_warned,
            percent(score.recall),
            score.warned,
            score.correctly_warned,
            percent(score.precision)
        );
        for (what, causes) in [
            ("missed", &report.missed),
            ("falsely warned", &report.false_warnings),
            ("exposed out of reach", &report.unreachable),
        ] {
            if !causes.is_empty() {
                let listed: Vec<String> = causes
                    .iter()
                    .map(|(cause, count)| format!("{count} {}", cause.describe()))
                    .collect();
                println!("    {what}: {}", listed.join(", "));
            }
        }
        if let Some(best) = curve.and_then(|curve| {
            curve
                .points
                .iter()
                .max_by(|a, b| f1(a.recall, a.precision).total_cmp(&f1(b.recall, b.precision)))
        }) {
            println!(
                "    best threshold on this run: {:.1} (recall {}, precision {}); default {:.1}",
                best.threshold,
                percent(best.recall),
                percent(best.precision),
                curve.map_or(0.0, |curve| curve.default.threshold),
            );
        }
    }
    print_analytics(&outcome.analytics);
    println!("  took {:.1} s", outcome.elapsed_seconds);
}

/// The private analytics: per metric, what the phones measured and what the aggregators
/// released, summed over the days.
fn print_analytics(analytics: &town_run::AnalyticsOutcome) {
    println!(
        "  private analytics: {} daily batches ({} released, at least {} phones each), \
         ε = {} per metric and day, each daily bucket within ±{} of the truth",
        analytics.batches,
        analytics.batches_released,
        analytics.min_batch_size,
        analytics.epsilon_per_batch,
        analytics.noise_bound_per_batch
    );
    for (name, metric) in &analytics.metrics {
        let buckets: Vec<String> = metric
            .buckets
            .iter()
            .zip(metric.truth.iter().zip(&metric.collected))
            .map(|(bucket, (truth, collected))| format!("{bucket} {truth}/{collected}"))
            .collect();
        println!("    {name} (true/collected): {}", buckets.join(", "));
    }
}

/// The harmonic mean of recall and precision.
fn f1(recall: f64, precision: f64) -> f64 {
    if recall + precision == 0.0 {
        0.0
    } else {
        2.0 * recall * precision / (recall + precision)
    }
}

fn json_outcome(outcome: &Outcome) -> serde_json::Result<serde_json::Value> {
    let mut value = serde_json::to_value(outcome)?;
    // Top-level recall/precision per channel, as promised by the demo's contract.
    value["recall"] = serde_json::json!({
        "proximity": outcome.proximity.recall,
        "presence": outcome.presence.recall,
    });
    value["precision"] = serde_json::json!({
        "proximity": outcome.proximity.precision,
        "presence": outcome.presence.precision,
    });
    Ok(value)
}
