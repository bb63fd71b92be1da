//! `openstopcovid venue status VENUE-FILE --server URL`: downloads the published
//! warning packages and matches them against the venue's rooms, on this machine. The
//! venue file is never sent anywhere.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use messages::check_ins::WarningPackageJson;
use presence::{CheckInProtectedReport, RiskLevel, VenueReport, match_owned_venues};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::load_venue_file;

#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    /// The venue file written by `venue create`.
    pub venue_file: PathBuf,
    /// The OpenStopCovid server, e.g. https://api.example.org
    #[arg(long)]
    pub server: String,
    /// Print JSON instead of sentences.
    #[arg(long)]
    pub json: bool,
}

/// An HTTP client that reads problem+json answers instead of failing on their status.
pub fn http_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent()
}

/// The `detail` of a problem+json answer, or the status line.
pub fn problem_detail(response: &mut ureq::http::Response<ureq::Body>) -> String {
    let status = response.status();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|value| value["detail"].as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("the server answered {status}"))
}

/// Every report the server publishes now (the last 14 days).
pub fn download_reports(server: &str) -> anyhow::Result<Vec<CheckInProtectedReport>> {
    let url = format!("{}/v1/warnings?since=0", server.trim_end_matches('/'));
    let mut response = http_agent()
        .get(&url)
        .header("Accept", "application/json")
        .call()
        .with_context(|| format!("cannot reach {url}"))?;
    if !response.status().is_success() {
        anyhow::bail!("{url}: {}", problem_detail(&mut response));
    }
    let package: WarningPackageJson = response
        .body_mut()
        .read_json()
        .with_context(|| format!("{url} did not answer with a warning package"))?;
    package
        .check_in_protected_reports
        .iter()
        .map(|report| {
            report
                .decode()
                .context("the server sent a report that is not base64")
        })
        .collect()
}

fn rfc3339(unix_seconds: u64) -> String {
    i64::try_from(unix_seconds)
        .ok()
        .and_then(|seconds| OffsetDateTime::from_unix_timestamp(seconds).ok())
        .and_then(|time| time.format(&Rfc3339).ok())
        .unwrap_or_else(|| unix_seconds.to_string())
}

pub fn run(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let file = load_venue_file(&args.venue_file)?;
    let reports = download_reports(&args.server)?;
    let found: Vec<VenueReport> = match_owned_venues(&file.owned_venues()?, &reports);
    if args.json {
        let warnings: Vec<serde_json::Value> = found
            .iter()
            .map(|report| {
                serde_json::json!({
                    "description": report.description,
                    "from": rfc3339(report.window.start),
                    "to": rfc3339(report.window.end),
                    "transmissionRiskLevel": report.transmission_risk_level,
                    "riskLevel": report.risk_level().as_str(),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({"venue": file.name, "warnings": warnings})
        );
    } else if found.is_empty() {
        println!(
            "{}: no positive visitor reported in the last 14 days.",
            file.name
        );
    } else {
        println!(
            "{}: a visitor who later tested positive was there ({} report{}):",
            file.name,
            found.len(),
            if found.len() == 1 { "" } else { "s" }
        );
        for report in &found {
            println!(
                "  {}: from {} to {} (UTC), {} risk",
                report.description,
                rfc3339(report.window.start),
                rfc3339(report.window.end),
                match report.risk_level() {
                    RiskLevel::High => "higher",
                    RiskLevel::Low => "lower",
                }
            );
        }
        println!(
            "Guests who were there at the same time have been warned by their phones. Air the \
             room, ask the staff who worked then to watch for symptoms (to get tested today at \
             higher risk), call the guests of your paper register, and call the health \
             authority's hotline if you have questions."
        );
    }
    Ok(ExitCode::SUCCESS)
}
