//! `GET /v1/warnings?since=<hour>`: the check-in reports published after an hour cursor.
//!
//! Hours are counted since the Unix epoch (CWA's `intervalNumber` of trace warning
//! packages). Reports that arrived during hour `h` are published once `h` is over. An
//! answer covers the hours `since + 1 ..= until`, where `until` is the last complete hour;
//! the client keeps `until` (also in the `x-warnings-until` header) as its next `since`.
//! `since` defaults to 0 (everything still kept, i.e. the last 14 days). A server run with
//! `release_bucket_seconds = 0` (tests, demos) publishes the current hour too.
//!
//! The default answer is a protobuf `TraceWarningPackage` (`application/x-protobuf`)
//! whose `intervalNumber` is `until`; with `Accept: application/json` (or
//! `?format=json`) it is [`WarningPackageJson`], the form the venue owners' page matches in
//! the browser. Both carry the `Signature` header of every answer. Reports come sorted by
//! location id hash, which mixes uploads together.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use messages::check_ins::{ProtectedReportJson, WarningPackageJson};
use presence::TraceWarningPackage;
use prost::Message;
use serde::Deserialize;

use crate::problem::{Problem, ProblemKind};
use crate::state::AppState;

/// Header carrying the cursor for the next download.
pub const WARNINGS_UNTIL_HEADER: &str = "x-warnings-until";

#[derive(Deserialize, Debug)]
pub(super) struct WarningsQuery {
    since: Option<i64>,
    format: Option<WarningsFormat>,
}

/// The values of `?format=`.
#[derive(Deserialize, Debug, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
enum WarningsFormat {
    Protobuf,
    Json,
}

fn wants_json(headers: &HeaderMap, query: &WarningsQuery) -> bool {
    query.format == Some(WarningsFormat::Json)
        || headers
            .get(header::ACCEPT)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|accept| accept.contains("application/json"))
}

#[utoipa::path(
    get, path = "/v1/warnings", tag = "presence",
    summary = "Check-in reports published after the hour `since` (hours since 1970-01-01), up to the last complete hour; keep the `x-warnings-until` header (= intervalNumber) as the next `since`",
    params(
        ("since" = Option<u64>, Query, description = "the last x-warnings-until (default 0: everything kept)"),
        ("format" = Option<WarningsFormat>, Query, description = "`protobuf` (default) or `json`; or send Accept: application/json"),
    ),
    responses(
        (status = 200, description = "a TraceWarningPackage (CWA pt/trace_warning.proto: 1 intervalNumber = until, 2 region, 4 checkInProtectedReports) or its JSON form",
            content(
                (Vec<u8> = "application/x-protobuf"),
                (WarningPackageJson = "application/json"),
            ),
            headers(("x-warnings-until" = String, description = "the next since"))),
        (status = 400, description = "bad cursor or format", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn download(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<WarningsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Problem> {
    let Query(query) = query.map_err(|_| {
        Problem::new(
            ProblemKind::InvalidQuery,
            "since must be an hour number (hours since 1970-01-01) and format json or protobuf",
        )
    })?;
    let since = query.since.unwrap_or(0);
    if since < 0 {
        return Err(Problem::new(
            ProblemKind::InvalidQuery,
            "since must not be negative",
        ));
    }
    // With `release_bucket_seconds = 0` (tests and demos, as for keys) the current hour is
    // published as it fills; otherwise only complete hours are.
    let current_hour = state.now().div_euclid(3600);
    let last_complete_hour = if state.config.release_bucket_seconds == 0 {
        current_hour
    } else {
        current_hour - 1
    };
    // A cursor ahead of the server's clock gets an empty answer that keeps it.
    let until = last_complete_hour.max(since);
    let reports = state
        .store
        .check_in_reports_between(since.saturating_mul(3600), until.saturating_mul(3600))
        .await?;
    let mut response = if wants_json(&headers, &query) {
        Json(WarningPackageJson {
            since,
            interval_number: until,
            region: state.config.region.clone(),
            check_in_protected_reports: reports.iter().map(ProtectedReportJson::from).collect(),
        })
        .into_response()
    } else {
        let package = TraceWarningPackage {
            interval_number: u32::try_from(until).unwrap_or(u32::MAX),
            region: state.config.region.clone(),
            check_in_protected_reports: reports,
        };
        (
            [(header::CONTENT_TYPE, "application/x-protobuf")],
            package.encode_to_vec(),
        )
            .into_response()
    };
    response
        .headers_mut()
        .insert(WARNINGS_UNTIL_HEADER, HeaderValue::from(until));
    // Packages change at most once an hour; a CDN may keep one for a few minutes.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    Ok(response)
}
