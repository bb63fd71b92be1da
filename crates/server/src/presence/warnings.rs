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
//!
//! Each package is built and signed once per hour and format ([`crate::prebuilt`]): every
//! phone gets the same bytes, with a strong `ETag` (`If-None-Match` gets `304`) and
//! `Cache-Control: public, max-age=` the seconds until the next hour's package. Without
//! release buckets, storing a report forgets the packages built (they no longer hold it).

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use messages::check_ins::{ProtectedReportJson, WarningPackageJson};
use presence::TraceWarningPackage;
use prost::Message;
use serde::Deserialize;

use crate::prebuilt::{self, AnswerKey, Prebuilt};
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
        ("If-None-Match" = Option<String>, Header, description = "the ETag of the package already held: 304 when it is still the answer"),
    ),
    responses(
        (status = 200, description = "a TraceWarningPackage (CWA pt/trace_warning.proto: 1 intervalNumber = until, 2 region, 4 checkInProtectedReports) or its JSON form; the same bytes for every request until the next hour's package comes out",
            content(
                (Vec<u8> = "application/x-protobuf"),
                (WarningPackageJson = "application/json"),
            ),
            headers(
                ("x-warnings-until" = String, description = "the next since"),
                ("ETag" = String, description = "strong ETag of the package"),
                ("Cache-Control" = String, description = "public, max-age=<seconds until the next hour's package>"),
            )),
        (status = 304, description = "If-None-Match names this package's ETag: keep the package held",
            headers(
                ("x-warnings-until" = String, description = "the next since"),
                ("ETag" = String, description = "strong ETag of the package"),
            )),
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
    let now = state.now();
    let current_hour = now.div_euclid(3600);
    let filling = state.config.release_bucket_seconds == 0;
    let last_complete_hour = if filling {
        current_hour
    } else {
        current_hour - 1
    };
    let json = wants_json(&headers, &query);
    let answer = if since > last_complete_hour {
        // A cursor ahead of the server's clock gets an empty answer that keeps it.
        WarningsAnswer {
            since,
            until: since,
            json,
        }
    } else {
        WarningsAnswer {
            // The protobuf package does not name `since`, and nothing older than the
            // retention window is published: one answer serves every older cursor.
            since: if json {
                since
            } else {
                since.max(last_complete_hour - RETENTION_HOURS)
            },
            until: last_complete_hour,
            json,
        }
    };
    // Cursors ahead of the clock are built apart: they must not push the answers phones
    // ask for out of the cache.
    let mut response = if state.config.prebuilt_downloads && since <= last_complete_hour {
        state
            .warnings
            .get_or_build(
                answer,
                prebuilt::stored_or_built(&state, &answer, answer.build(&state)),
            )
            .await?
            .respond(&headers)
    } else {
        answer.build(&state).await?.respond(&headers)
    };
    // Packages change once an hour: every phone gets the same bytes until the next one.
    let max_age = if filling {
        0
    } else {
        (current_hour + 1) * 3600 - now
    };
    let response_headers = response.headers_mut();
    response_headers.insert(WARNINGS_UNTIL_HEADER, HeaderValue::from(answer.until));
    response_headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_str(&format!("public, max-age={max_age}"))
            .unwrap_or(HeaderValue::from_static("no-cache")),
    );
    response_headers.insert(header::VARY, HeaderValue::from_static("Accept"));
    Ok(response)
}

/// Hours of reports kept (and so published at most).
const RETENTION_HOURS: i64 = messages::retention::SECONDS / 3600;

/// One warnings answer: the reports that arrived in the hours `since + 1 ..= until`, in
/// one format. Everything its bytes depend on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct WarningsAnswer {
    since: i64,
    until: i64,
    json: bool,
}

impl AnswerKey for WarningsAnswer {
    const KIND: &'static str = "warnings";

    fn epoch(&self) -> i64 {
        self.until
    }

    fn object_name(&self) -> String {
        let format = if self.json { "json" } else { "protobuf" };
        format!("{}.{format}", self.since)
    }

    /// The newest complete hour and the one before (a request at the turn of the hour).
    fn oldest_epoch_asked(_state: &AppState, now: i64) -> i64 {
        now.div_euclid(3600) - 2
    }
}

impl WarningsAnswer {
    /// Queries, encodes and signs the package (once: see [`crate::prebuilt`]).
    async fn build(self, state: &AppState) -> Result<Prebuilt, Problem> {
        let reports = state
            .store
            .check_in_reports_between(
                self.since.saturating_mul(3600),
                self.until.saturating_mul(3600),
            )
            .await?;
        let (body, content_type) = if self.json {
            let package = WarningPackageJson {
                since: self.since,
                interval_number: self.until,
                region: state.config.region.clone(),
                check_in_protected_reports: reports.iter().map(ProtectedReportJson::from).collect(),
            };
            (
                serde_json::to_vec(&package).map_err(|error| Problem::internal(&error))?,
                "application/json",
            )
        } else {
            let package = TraceWarningPackage {
                interval_number: u32::try_from(self.until).unwrap_or(u32::MAX),
                region: state.config.region.clone(),
                check_in_protected_reports: reports,
            };
            (package.encode_to_vec(), "application/x-protobuf")
        };
        Prebuilt::new(
            state,
            StatusCode::OK,
            Bytes::from(body),
            Some(HeaderValue::from_static(content_type)),
        )
    }
}
