//! Background work: daily export files and the retention purge.
//!
//! [`spawn_background`] runs [`run_once`] every `jobs_interval_seconds` of real time until
//! the server stops (the stop signal is a `watch` channel, so the loop ends as soon as
//! shutdown begins instead of finishing a sleep). Tests with a mock clock call
//! [`run_once`] themselves after moving the clock.
//!
//! - **Daily export files**: for every UTC day that is over and has no file yet, the keys
//!   released that day go into one signed export zip written to the object store as
//!   `exports/<day>.zip` (`day` = days since 1970-01-01), and `exports/index.txt` lists the
//!   files, oldest first. A database lease makes sure only one instance builds them (it is
//!   given back whether the building succeeds or fails), and the `export_files` row
//!   (inserted once per day) makes sure no day is published twice.
//!   `GET /v1/exports/index.txt` and `GET /v1/exports/{file}` serve them with an ETag and
//!   cache headers, for a CDN in front.
//! - **Retention purge**: keys whose validity ended more than 14 days ago, codes issued
//!   more than 14 days ago, check-in reports and audit log entries older than 14 days,
//!   used tokens past their expiry, and export files older than 14 days are deleted.

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use messages::retention;

use crate::datastore::DatastoreError;
use crate::datastore::exports::ExportFile;
use crate::keys::{build_export, oldest_key_start, released_keys};
use crate::metrics::Metrics;
use crate::prebuilt;
use crate::problem::{Problem, ProblemKind};
use crate::state::AppState;

/// Name of the lease that guards export building.
pub const EXPORT_LEASE: &str = "daily-export-files";
/// How long the lease is held before another instance may take over.
const EXPORT_LEASE_SECONDS: i64 = 600;

/// A job failed; the next run tries again.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Database(#[from] DatastoreError),
    #[error("object store: {0}")]
    ObjectStore(#[from] object_store::Error),
    #[error("export: {0}")]
    Export(String),
}

/// What one run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct JobReport {
    /// Days whose export file was written by this run.
    pub export_days_written: Vec<i64>,
    /// Keys deleted by the purge.
    pub keys_purged: u64,
    /// Codes deleted by the purge.
    pub codes_purged: u64,
    /// Token uses deleted by the purge.
    pub tokens_purged: u64,
    /// Check-in reports deleted by the purge.
    pub check_in_reports_purged: u64,
    /// Audit log entries deleted by the purge.
    pub audit_entries_purged: u64,
    /// Download answers shared through the object store, deleted once no request can
    /// ask for them (see `server::prebuilt`).
    pub stored_answers_purged: u64,
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/v1/exports/{file}", get(serve_export_file))
}

/// Runs the background jobs until `stop` turns true.
pub(crate) fn spawn_background(state: AppState, mut stop: watch::Receiver<bool>) {
    let interval = std::time::Duration::from_secs(state.config.jobs_interval_seconds);
    tokio::spawn(async move {
        loop {
            if let Err(error) = run_once(&state).await {
                tracing::warn!(%error, "background job failed; retrying at the next run");
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = stop.wait_for(|stop| *stop) => break,
            }
        }
    });
}

/// Runs every job once: export files, then the purge; counts the run in the metrics.
pub async fn run_once(state: &AppState) -> Result<JobReport, JobError> {
    let result = run_jobs(state).await;
    let outcome = if result.is_ok() { "ok" } else { "failed" };
    Metrics::count(&state.metrics.job_runs, "outcome", outcome);
    result
}

async fn run_jobs(state: &AppState) -> Result<JobReport, JobError> {
    let mut report = JobReport::default();
    write_daily_exports(state, &mut report).await?;
    purge(state, &mut report).await?;
    state.verify_limiter.forget_idle_clients();
    // Time has passed: keys may have come out of their release bucket.
    state.news.announce();
    Ok(report)
}

fn object_path(day: i64) -> ObjectPath {
    ObjectPath::from(format!("exports/{day}.zip"))
}

/// Builds the missing daily files under the export lease, and gives the lease back
/// whatever happened: a failed run must not keep every instance (this one included)
/// from trying again until the lease runs out.
async fn write_daily_exports(state: &AppState, report: &mut JobReport) -> Result<(), JobError> {
    let now = state.now();
    if !state
        .store
        .try_lease(EXPORT_LEASE, &state.instance_id, now, EXPORT_LEASE_SECONDS)
        .await?
    {
        return Ok(());
    }
    let written = write_missing_exports(state, report, now).await;
    let released = state
        .store
        .release_lease(EXPORT_LEASE, &state.instance_id)
        .await;
    // The building's error, if any, says more than the release's.
    written?;
    released?;
    Ok(())
}

/// The work done under the export lease.
async fn write_missing_exports(
    state: &AppState,
    report: &mut JobReport,
    now: i64,
) -> Result<(), JobError> {
    let today = now.div_euclid(86_400);
    let first_day = (now - retention::SECONDS).div_euclid(86_400);
    let written = state.store.export_days_from(first_day).await?;
    for day in first_day..today {
        if written.contains(&day) {
            continue;
        }
        // The keys downloads served during that day, in the window as it was then.
        let window_at = (day + 1) * 86_400 - 1;
        let keys = released_keys(state, day * 86_400, (day + 1) * 86_400, window_at).await?;
        let key_count = keys.len();
        let zip = if keys.is_empty() {
            None
        } else {
            Some(
                build_export(
                    state,
                    keys,
                    day * 86_400,
                    (day + 1) * 86_400,
                    oldest_key_start(window_at),
                )
                .await
                .map_err(|problem| JobError::Export(problem.detail))?,
            )
        };
        if let Some(zip) = &zip {
            state
                .exports
                .put(&object_path(day), PutPayload::from(zip.clone()))
                .await?;
        }
        // Recorded even when empty, so that the day is not looked at again.
        let file = ExportFile {
            day,
            object_name: if zip.is_some() {
                format!("{day}.zip")
            } else {
                String::new()
            },
            key_count: i64::try_from(key_count).unwrap_or(i64::MAX),
            byte_count: zip
                .as_ref()
                .map_or(0, |zip| i64::try_from(zip.len()).unwrap_or(i64::MAX)),
        };
        state.store.record_export_file(&file, now).await?;
        report.export_days_written.push(day);
    }
    if !report.export_days_written.is_empty() {
        write_index(state, first_day).await?;
    }
    Ok(())
}

async fn write_index(state: &AppState, first_day: i64) -> Result<(), JobError> {
    let names = state.store.export_names_from(first_day).await?;
    let mut index = names.join("\n");
    if !index.is_empty() {
        index.push('\n');
    }
    state
        .exports
        .put(
            &ObjectPath::from("exports/index.txt"),
            PutPayload::from(index.into_bytes()),
        )
        .await?;
    Ok(())
}

async fn purge(state: &AppState, report: &mut JobReport) -> Result<(), JobError> {
    let now = state.now();
    let cutoff = now - retention::SECONDS;
    let store = &state.store;
    // The window that upload and download use: a key is purged the moment it can no
    // longer be published.
    report.keys_purged = store
        .purge_keys(retention::first_kept_interval(now))
        .await?;
    report.codes_purged = store.purge_codes(cutoff).await?;
    // Venue check-in reports: 14 days after the hour they arrived.
    report.check_in_reports_purged = store.purge_check_in_reports(cutoff).await?;
    report.tokens_purged = store.purge_token_uses(now).await?;
    report.audit_entries_purged = store.purge_audit(cutoff).await?;
    let old_days = store.export_files_before(cutoff.div_euclid(86_400)).await?;
    for (day, name) in &old_days {
        if !name.is_empty() {
            match state.exports.delete(&object_path(*day)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(error) => return Err(error.into()),
            }
        }
        store.delete_export_file(*day).await?;
    }
    if !old_days.is_empty() {
        write_index(state, cutoff.div_euclid(86_400)).await?;
    }
    report.stored_answers_purged =
        prebuilt::purge_stored::<crate::keys::DownloadAnswer>(state, now).await?
            + prebuilt::purge_stored::<crate::presence::warnings::WarningsAnswer>(state, now)
                .await?;
    state
        .metrics
        .purged_rows
        .get_or_create(&[("table", "exposed_keys")])
        .inc_by(report.keys_purged);
    state
        .metrics
        .purged_rows
        .get_or_create(&[("table", "codes")])
        .inc_by(report.codes_purged);
    state
        .metrics
        .purged_rows
        .get_or_create(&[("table", "token_uses")])
        .inc_by(report.tokens_purged);
    state
        .metrics
        .purged_rows
        .get_or_create(&[("table", "check_in_reports")])
        .inc_by(report.check_in_reports_purged);
    state
        .metrics
        .purged_rows
        .get_or_create(&[("table", "authority_audit_log")])
        .inc_by(report.audit_entries_purged);
    state
        .metrics
        .purged_rows
        .get_or_create(&[("table", "stored_answers")])
        .inc_by(report.stored_answers_purged);
    Ok(())
}

/// Serves `index.txt` or `<day>.zip` from the object store, with a strong ETag and
/// `If-None-Match` support, so that a CDN and phones revalidate cheaply.
#[utoipa::path(
    get, path = "/v1/exports/{file}", tag = "keys",
    summary = "Daily export files (`<day>.zip`) and their list (`index.txt`), with ETag",
    params(("file" = String, Path, description = "`index.txt` or `<day>.zip`")),
    responses(
        (status = 200, description = "the file", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 304, description = "not modified"),
        (status = 404, description = "no such file", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn serve_export_file(
    State(state): State<AppState>,
    UrlPath(file): UrlPath<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let is_index = file == "index.txt";
    let is_day_file = file.strip_suffix(".zip").is_some_and(|day| {
        !day.is_empty() && day.len() <= 12 && day.bytes().all(|b| b.is_ascii_digit())
    });
    if !is_index && !is_day_file {
        return Err(Problem::new(ProblemKind::NotFound, "no such export file"));
    }
    let bytes = match state
        .exports
        .get(&ObjectPath::from(format!("exports/{file}")))
        .await
    {
        Ok(result) => result
            .bytes()
            .await
            .map_err(|error| Problem::internal(&error))?,
        Err(object_store::Error::NotFound { .. }) if is_index => axum::body::Bytes::new(),
        Err(object_store::Error::NotFound { .. }) => {
            return Err(Problem::new(ProblemKind::NotFound, "no such export file"));
        }
        Err(error) => return Err(Problem::internal(&error)),
    };
    let etag = format!("\"{}\"", hex::encode(&Sha256::digest(&bytes)[..16]));
    let cache_control = if is_index {
        "public, max-age=300"
    } else {
        // A day's file never changes once written.
        "public, max-age=86400, immutable"
    };
    let mut response = if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.split(',').any(|tag| tag.trim() == etag))
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        bytes.into_response()
    };
    let response_headers = response.headers_mut();
    response_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(if is_index {
            "text/plain; charset=utf-8"
        } else {
            "application/zip"
        }),
    );
    response_headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response_headers.insert(header::ETAG, value);
    }
    Ok(response)
}
