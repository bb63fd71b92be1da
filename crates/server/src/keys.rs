//! Diagnosis keys (PROTOCOLS.md §4, DP-3T GAEN v2): upload, next-day upload, download.
//!
//! - `POST /v2/gaen/exposed`: exactly 30 keys, real ones and `fake: 1` padding. Real keys
//!   older than 14 days or starting in the future are dropped; malformed keys, duplicate
//!   keys and overlapping keys reject the whole upload. The answer carries the next-day
//!   token in the `Authorization` header (DP-3T) and in the body.
//! - Every stored key gets `release_at`: the hour after the later of "now" and the key's
//!   end, so still-valid keys are embargoed until they expire and no stored time is finer
//!   than the hour.
//! - `GET /v2/gaen/exposed?lastKeyBundleTag=T`: the keys released after `T` up to the end
//!   of the last complete release bucket, as a signed GAEN export zip, padded with fake
//!   keys; the bucket end (milliseconds, DP-3T) is the `x-key-bundle-tag`. When nothing
//!   new is there the answer is **204 No Content** with the tag header (as DP-3T does):
//!   phones skip an empty download.

use std::collections::HashSet;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use exposure::export::{ExportBatch, pad_with_fake_keys, write_signed_zip};
use exposure::interval::{EnIntervalNumber, INTERVAL_SECONDS, INTERVALS_PER_DAY};
use exposure::keys::{DiagnosisKey, KEY_LENGTH, ReportType, TemporaryExposureKey};
use messages::keys::{GaenKey, GaenNextDayRequest, GaenUploadRequest, UploadAnswer};
use messages::{Purpose, retention};
use serde::Deserialize;

use crate::datastore::{DatastoreError, KeyRow, WriteOutcome, floor_to_hour};
use crate::metrics::Metrics;

use crate::problem::{Problem, ProblemKind};
use crate::state::{AppState, with_minimum_duration};
use crate::tokens::{self, SCOPE_EXPOSED, SCOPE_NEXT_DAY, UploadClaims};

/// Keys in every upload: real keys padded with fake ones (DP-3T v2).
pub const KEYS_PER_UPLOAD: usize = 30;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v2/gaen/exposed", post(upload).get(download))
        .route("/v1/gaen/exposednextday", post(upload_next_day))
        .route("/v1/export-public-key", get(export_public_key))
}

/// A key that passed the checks, ready to store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct AcceptedKey {
    key: TemporaryExposureKey,
    fake: bool,
}

fn decode_key(key: &GaenKey) -> Result<AcceptedKey, Problem> {
    let bytes = STANDARD
        .decode(key.key_data.as_bytes())
        .map_err(|_| Problem::new(ProblemKind::InvalidKeys, "keyData must be base64"))?;
    let key_data: [u8; KEY_LENGTH] = bytes.try_into().map_err(|bytes: Vec<u8>| {
        Problem::new(
            ProblemKind::InvalidKeys,
            format!("keyData must be 16 bytes, not {}", bytes.len()),
        )
    })?;
    if !(1..=INTERVALS_PER_DAY).contains(&key.rolling_period) {
        return Err(Problem::new(
            ProblemKind::InvalidKeys,
            "rollingPeriod must be between 1 and 144",
        ));
    }
    let fake = match key.fake {
        0 => false,
        1 => true,
        _ => {
            return Err(Problem::new(
                ProblemKind::InvalidKeys,
                "fake must be 0 or 1",
            ));
        }
    };
    Ok(AcceptedKey {
        key: TemporaryExposureKey {
            key_data,
            rolling_start_interval_number: EnIntervalNumber(key.rolling_start_number),
            rolling_period: key.rolling_period,
        },
        fake,
    })
}

/// Checks an upload against the rules of the module docs and returns the real keys to
/// store. Pure, so that every rule is unit-tested.
fn validate_upload(keys: &[GaenKey], now: i64) -> Result<Vec<TemporaryExposureKey>, Problem> {
    if keys.len() != KEYS_PER_UPLOAD {
        return Err(Problem::new(
            ProblemKind::InvalidKeys,
            format!(
                "an upload holds exactly {KEYS_PER_UPLOAD} keys (pad with fake keys), not {}",
                keys.len()
            ),
        ));
    }
    let decoded = keys.iter().map(decode_key).collect::<Result<Vec<_>, _>>()?;
    let mut real: Vec<TemporaryExposureKey> = decoded
        .into_iter()
        .filter(|accepted| !accepted.fake)
        .map(|accepted| accepted.key)
        .filter(|key| is_within_retention_and_not_future(key, now))
        .collect();
    let mut seen = HashSet::new();
    if !real.iter().all(|key| seen.insert(key.key_data)) {
        return Err(Problem::new(
            ProblemKind::InvalidKeys,
            "the same key appears twice",
        ));
    }
    real.sort_by_key(|key| key.rolling_start_interval_number);
    if real
        .windows(2)
        .any(|pair| pair[0].end_interval_number() > pair[1].rolling_start_interval_number)
    {
        return Err(Problem::new(
            ProblemKind::InvalidKeys,
            "two keys cover the same time",
        ));
    }
    Ok(real)
}

fn is_within_retention_and_not_future(key: &TemporaryExposureKey, now: i64) -> bool {
    let now_interval = EnIntervalNumber::from_unix_seconds(u64::try_from(now).unwrap_or(0));
    let oldest_day_start = now_interval
        .day_start()
        .offset(-i64::from(retention::DAYS * INTERVALS_PER_DAY));
    key.rolling_start_interval_number <= now_interval
        && key.rolling_start_interval_number >= oldest_day_start
}

/// The release time of a key stored at `now`, always strictly after now (so that a
/// download tagged now never misses it):
/// - a key still valid (still broadcast): the hour after it ends (embargo);
/// - an expired key, with release buckets: the hour after now (the bucket then mixes it
///   with the others);
/// - an expired key, without buckets (`release_bucket_seconds = 0`): the next second.
fn release_at(key: &TemporaryExposureKey, now: i64, bucket_seconds: u64) -> i64 {
    let key_end = i64::from(key.end_interval_number().0) * INTERVAL_SECONDS as i64;
    if key_end > now {
        floor_to_hour(key_end) + 3600
    } else if bucket_seconds == 0 {
        now + 1
    } else {
        floor_to_hour(now) + 3600
    }
}

async fn store_keys(
    state: &AppState,
    claims: &UploadClaims,
    purpose: Purpose,
    keys: &[TemporaryExposureKey],
    now: i64,
) -> Result<(), Problem> {
    let rows = keys
        .iter()
        .map(|key| {
            let start_seconds =
                i64::from(key.rolling_start_interval_number.0) * INTERVAL_SECONDS as i64;
            KeyRow {
                key_data: key.key_data.to_vec(),
                rolling_start: i64::from(key.rolling_start_interval_number.0),
                rolling_period: i64::from(key.rolling_period),
                transmission_risk_level: 0,
                report_type: i64::from(ReportType::ConfirmedTest.to_wire()),
                days_since_onset: tokens::days_since_onset(claims, start_seconds).map(i64::from),
                received_hour: floor_to_hour(now),
                release_at: release_at(key, now, state.config.release_bucket_seconds),
            }
        })
        .collect();
    // Durable when this returns: the writer answers after its commit.
    let outcome = state
        .store
        .write_keys(tokens::use_for(claims, purpose), rows)
        .await?;
    match outcome {
        WriteOutcome::Stored { new_keys } => {
            state.metrics.keys_stored.inc_by(new_keys);
            state.news.announce();
            Ok(())
        }
        WriteOutcome::TokenAlreadyUsed => Err(Problem::new(
            ProblemKind::TokenUsed,
            "this upload token has already been used",
        )),
    }
}

fn upload_answer(token: String) -> Response {
    let mut response = Json(UploadAnswer {
        next_day_token: token.clone(),
    })
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}")) {
        response.headers_mut().insert(header::AUTHORIZATION, value);
    }
    response
}

#[utoipa::path(
    post, path = "/v2/gaen/exposed", tag = "keys",
    summary = "Upload exactly 30 keys (real and fake: 1 padding)",
    request_body = GaenUploadRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "stored; the next-day token is in the Authorization header and the body", body = UploadAnswer),
        (status = 400, description = "invalid keys, or a malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing, invalid or expired token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "token already used or of another scope", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "body too large", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<GaenUploadRequest>, JsonRejection>,
) -> Result<Response, Problem> {
    let start = tokio::time::Instant::now();
    with_minimum_duration(&state, start, async {
        let claims = tokens::authorize(&state, &headers, SCOPE_EXPOSED)?;
        let Json(request) = body?;
        let now = state.now();
        let keys = validate_upload(&request.gaen_keys, now)?;
        let today =
            EnIntervalNumber::from_unix_seconds(u64::try_from(now).unwrap_or(0)).day_start();
        let delayed = request.delayed_key_date;
        if delayed % INTERVALS_PER_DAY != 0
            || !(today.0.saturating_sub(INTERVALS_PER_DAY)..=today.0).contains(&delayed)
        {
            return Err(Problem::new(
                ProblemKind::InvalidKeys,
                "delayedKeyDate must be the rolling start of today's or yesterday's key",
            ));
        }
        if claims.is_fake() {
            // Same checks, no writes: a fake upload changes nothing.
            Metrics::count(&state.metrics.key_uploads, "kind", "fake");
        } else {
            store_keys(&state, &claims, Purpose::Keys, &keys, now).await?;
            Metrics::count(&state.metrics.key_uploads, "kind", "real");
        }
        Ok(upload_answer(tokens::issue_next_day_token(
            &state, &claims, delayed, now,
        )))
    })
    .await
}

#[utoipa::path(
    post, path = "/v1/gaen/exposednextday", tag = "keys",
    summary = "Upload yesterday's key with the next-day token",
    request_body = GaenNextDayRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "stored", body = Object),
        (status = 400, description = "invalid key, or a malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing, invalid or expired token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "token already used or of another scope", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn upload_next_day(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<GaenNextDayRequest>, JsonRejection>,
) -> Result<Response, Problem> {
    let start = tokio::time::Instant::now();
    with_minimum_duration(&state, start, async {
        let claims = tokens::authorize(&state, &headers, SCOPE_NEXT_DAY)?;
        let Json(request) = body?;
        let now = state.now();
        let accepted = decode_key(&request.delayed_key)?;
        let expected_start = claims
            .delayed_key_date
            .as_deref()
            .and_then(|text| text.parse::<u32>().ok())
            .ok_or_else(|| {
                Problem::new(ProblemKind::InvalidToken, "the next-day token is not valid")
            })?;
        if !accepted.fake && accepted.key.rolling_start_interval_number.0 != expected_start {
            return Err(Problem::new(
                ProblemKind::InvalidKeys,
                "the delayed key does not start at the token's delayedKeyDate",
            ));
        }
        let keep = !accepted.fake && is_within_retention_and_not_future(&accepted.key, now);
        if claims.is_fake() {
            Metrics::count(&state.metrics.key_uploads, "kind", "next_day_fake");
        } else {
            let keys = if keep { vec![accepted.key] } else { Vec::new() };
            store_keys(&state, &claims, Purpose::NextDayKeys, &keys, now).await?;
            Metrics::count(&state.metrics.key_uploads, "kind", "next_day");
        }
        Ok(Json(serde_json::json!({})).into_response())
    })
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DownloadQuery {
    last_key_bundle_tag: Option<String>,
}

/// End of the last complete release bucket at `now` (seconds).
pub(crate) fn bucket_end(now: i64, bucket_seconds: u64) -> i64 {
    match i64::try_from(bucket_seconds) {
        Ok(bucket) if bucket > 0 => now - now.rem_euclid(bucket),
        _ => now,
    }
}

/// The interval number before which a key's start is outside the retention window at
/// `now`.
pub(crate) fn oldest_key_start(now: i64) -> i64 {
    (now - retention::SECONDS).div_euclid(INTERVAL_SECONDS as i64)
}

/// Reads the keys released in `(after, until]` still inside the retention window.
pub(crate) async fn released_keys(
    state: &AppState,
    after: i64,
    until: i64,
    now: i64,
) -> Result<Vec<DiagnosisKey>, DatastoreError> {
    let rows = state
        .store
        .released_keys(after, until, oldest_key_start(now))
        .await?;
    let mut keys: Vec<DiagnosisKey> = rows
        .into_iter()
        .filter_map(|row| {
            Some(DiagnosisKey {
                key: TemporaryExposureKey {
                    key_data: row.key_data.try_into().ok()?,
                    rolling_start_interval_number: EnIntervalNumber(
                        u32::try_from(row.rolling_start).ok()?,
                    ),
                    rolling_period: u32::try_from(row.rolling_period).ok()?,
                },
                transmission_risk_level: i32::try_from(row.transmission_risk_level).ok()?,
                report_type: ReportType::from_wire(i32::try_from(row.report_type).ok()?)?,
                days_since_onset_of_symptoms: row
                    .days_since_onset
                    .and_then(|days| i32::try_from(days).ok()),
            })
        })
        .collect();
    // Sorted by key bytes: a key stored twice (which the upload writer prevents) would
    // still be published once.
    keys.dedup_by(|a, b| a.key.key_data == b.key.key_data);
    Ok(keys)
}

/// Builds a signed export zip of `keys` (padded when the config says so) off the async
/// threads: signing and zipping a large file takes a while.
pub(crate) async fn build_export(
    state: &AppState,
    mut keys: Vec<DiagnosisKey>,
    start: i64,
    end: i64,
) -> Result<Vec<u8>, Problem> {
    let signers = state.keys.export_signers();
    let region = state.config.region.clone();
    let pad = state.config.pad_exports;
    let zip = tokio::task::spawn_blocking(move || {
        if pad {
            pad_with_fake_keys(&mut keys, &mut rand::rng());
        }
        let batch = ExportBatch {
            keys,
            ..ExportBatch::new(
                u64::try_from(start).unwrap_or(0),
                u64::try_from(end).unwrap_or(0),
                region,
            )
        };
        write_signed_zip(&batch, &signers)
    })
    .await
    .map_err(|error| Problem::internal(&error))?
    .map_err(|error| Problem::internal(&error))?;
    state.metrics.export_bytes.observe(zip.len() as f64);
    Ok(zip)
}

/// A `lastKeyBundleTag` (milliseconds; absent or empty: from the beginning).
pub(crate) fn parse_bundle_tag(text: Option<&str>) -> Result<i64, Problem> {
    match text {
        None | Some("") => Ok(0),
        Some(text) => text
            .parse::<u64>()
            .ok()
            .and_then(|tag| i64::try_from(tag).ok())
            .ok_or_else(|| {
                Problem::new(
                    ProblemKind::InvalidQuery,
                    "lastKeyBundleTag must be a non-negative number (milliseconds)",
                )
            }),
    }
}

#[utoipa::path(
    get, path = "/v2/gaen/exposed", tag = "keys",
    summary = "Signed GAEN export zip of the keys released since lastKeyBundleTag",
    params(("lastKeyBundleTag" = Option<u64>, Query, description = "the x-key-bundle-tag of the last download (milliseconds)")),
    responses(
        (status = 200, description = "export zip; new tag in x-key-bundle-tag", body = Vec<u8>, content_type = "application/zip",
            headers(("x-key-bundle-tag" = String, description = "the next lastKeyBundleTag"))),
        (status = 204, description = "nothing new; new tag in x-key-bundle-tag",
            headers(("x-key-bundle-tag" = String, description = "the next lastKeyBundleTag"))),
        (status = 400, description = "bad tag", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn download(
    State(state): State<AppState>,
    query: Result<Query<DownloadQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Problem> {
    let Query(query) = query.map_err(|_| {
        Problem::new(
            ProblemKind::InvalidQuery,
            "lastKeyBundleTag must be a number",
        )
    })?;
    let now = state.now();
    let last_tag_ms = parse_bundle_tag(query.last_key_bundle_tag.as_deref())?;
    let until = bucket_end(now, state.config.release_bucket_seconds);
    let after = (last_tag_ms / 1000).max(now - retention::SECONDS);
    let keys = if after < until {
        released_keys(&state, after, until, now).await?
    } else {
        Vec::new()
    };
    let tag = HeaderValue::from(until.saturating_mul(1000));
    let max_age = match state.config.release_bucket_seconds {
        0 => 0,
        bucket => until + i64::try_from(bucket).unwrap_or(0) - now,
    };
    let cache_control = HeaderValue::from_str(&format!("public, max-age={max_age}"))
        .unwrap_or(HeaderValue::from_static("no-cache"));
    if keys.is_empty() {
        let mut response = StatusCode::NO_CONTENT.into_response();
        response.headers_mut().insert("x-key-bundle-tag", tag);
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, cache_control);
        return Ok(response);
    }
    let zip = build_export(&state, keys, after, until).await?;
    let mut response = zip.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    headers.insert("x-key-bundle-tag", tag);
    headers.insert(header::CACHE_CONTROL, cache_control);
    Ok(response)
}

#[utoipa::path(
    get, path = "/v1/export-public-key", tag = "keys",
    summary = "PEM (SubjectPublicKeyInfo) of the key that signs export files and responses",
    responses((status = 200, description = "PEM", body = String, content_type = "application/x-pem-file"))
)]
async fn export_public_key(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/x-pem-file")],
        state.keys.export_public_key_pem(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_600_000_000; // 2020-09-13T12:26:40Z
    fn today() -> u32 {
        EnIntervalNumber::from_unix_seconds(NOW as u64)
            .day_start()
            .0
    }

    fn key(byte: u8, start: u32, period: u32, fake: u8) -> GaenKey {
        GaenKey {
            key_data: STANDARD.encode([byte; 16]),
            rolling_start_number: start,
            rolling_period: period,
            fake,
        }
    }

    fn padded(mut real: Vec<GaenKey>) -> Vec<GaenKey> {
        while real.len() < KEYS_PER_UPLOAD {
            real.push(key(200 + real.len() as u8, today(), 144, 1));
        }
        real
    }

    #[test]
    fn fake_keys_and_out_of_window_keys_are_dropped() {
        let keys = padded(vec![
            key(1, today() - 144, 144, 0),
            key(2, today() - 15 * 144, 144, 0),
            key(3, today() + 144, 144, 0),
        ]);
        let real = validate_upload(&keys, NOW).unwrap();
        assert_eq!(real.len(), 1);
        assert_eq!(real[0].key_data, [1; 16]);
    }

    #[test]
    fn wrong_counts_lengths_periods_duplicates_and_overlaps_are_rejected() {
        assert!(validate_upload(&padded(vec![])[..29], NOW).is_err());
        let mut short = padded(vec![]);
        short[0].key_data = STANDARD.encode([1u8; 15]);
        assert!(
            validate_upload(&short, NOW)
                .unwrap_err()
                .detail
                .contains("16 bytes")
        );
        assert!(validate_upload(&padded(vec![key(1, today() - 144, 0, 0)]), NOW).is_err());
        assert!(validate_upload(&padded(vec![key(1, today() - 144, 145, 0)]), NOW).is_err());
        assert!(validate_upload(&padded(vec![key(1, today() - 144, 144, 2)]), NOW).is_err());
        let duplicate = padded(vec![
            key(1, today() - 144, 144, 0),
            key(1, today() - 288, 144, 0),
        ]);
        assert!(
            validate_upload(&duplicate, NOW)
                .unwrap_err()
                .detail
                .contains("twice")
        );
        let overlap = padded(vec![
            key(1, today() - 144, 144, 0),
            key(2, today() - 100, 50, 0),
        ]);
        assert!(
            validate_upload(&overlap, NOW)
                .unwrap_err()
                .detail
                .contains("same time")
        );
    }

    #[test]
    fn still_valid_keys_are_embargoed_until_the_hour_after_they_expire() {
        let todays = TemporaryExposureKey {
            key_data: [1; 16],
            rolling_start_interval_number: EnIntervalNumber(today()),
            rolling_period: 144,
        };
        let day_end = i64::from(today() + 144) * 600;
        assert_eq!(release_at(&todays, NOW, 7200), day_end + 3600);
        assert_eq!(release_at(&todays, NOW, 0), day_end + 3600);
        let yesterdays = TemporaryExposureKey {
            rolling_start_interval_number: EnIntervalNumber(today() - 144),
            ..todays
        };
        assert_eq!(
            release_at(&yesterdays, NOW, 7200),
            floor_to_hour(NOW) + 3600
        );
        // Without buckets, an expired key goes out with the next second's downloads.
        assert_eq!(release_at(&yesterdays, NOW, 0), NOW + 1);
    }

    #[test]
    fn buckets_end_on_multiples_of_their_length() {
        assert_eq!(bucket_end(7300, 7200), 7200);
        assert_eq!(bucket_end(7300, 0), 7300);
    }
}
