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
use presence::{CheckInProtectedReport, TraceWarningPackage};
use prost::Message;
use serde::{Deserialize, Serialize};

use crate::presence::ProtectedReportJson;
use crate::problem::Problem;
use crate::state::AppState;

/// Header carrying the cursor for the next download.
pub const WARNINGS_UNTIL_HEADER: &str = "x-warnings-until";

#[derive(Deserialize, Debug)]
pub(super) struct WarningsQuery {
    since: Option<i64>,
    format: Option<String>,
}

/// One stored report: location id hash, IV, encrypted check-in record, MAC.
type StoredReport = (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>);

/// The JSON form of a warning package.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct WarningPackageJson {
    /// The cursor the client sent.
    pub since: i64,
    /// The last hour covered; the next `since`.
    pub interval_number: i64,
    pub region: String,
    pub check_in_protected_reports: Vec<ProtectedReportJson>,
}

fn wants_json(headers: &HeaderMap, query: &WarningsQuery) -> bool {
    query.format.as_deref() == Some("json")
        || headers
            .get(header::ACCEPT)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|accept| accept.contains("application/json"))
}

pub(super) async fn download(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<WarningsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Problem> {
    let Query(query) = query.map_err(|_| {
        Problem::bad_request("since must be an hour number (hours since 1970-01-01)")
    })?;
    if let Some(format) = query.format.as_deref()
        && !matches!(format, "json" | "protobuf")
    {
        return Err(Problem::bad_request("format must be json or protobuf"));
    }
    let since = query.since.unwrap_or(0);
    if since < 0 {
        return Err(Problem::bad_request("since must not be negative"));
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
    let rows: Vec<StoredReport> = sqlx::query_as(
        "SELECT location_id_hash, iv, encrypted_check_in_record, mac FROM check_in_reports \
         WHERE received_hour > $1 AND received_hour <= $2 ORDER BY location_id_hash, mac",
    )
    .bind(since * 3600)
    .bind(until * 3600)
    .fetch_all(state.store.pool())
    .await?;
    let reports: Vec<CheckInProtectedReport> = rows
        .into_iter()
        .map(
            |(location_id_hash, iv, encrypted_check_in_record, mac)| CheckInProtectedReport {
                location_id_hash,
                iv,
                encrypted_check_in_record,
                mac,
            },
        )
        .collect();
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
