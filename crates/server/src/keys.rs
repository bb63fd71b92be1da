//! Diagnosis keys (PROTOCOLS.md §4, DP-3T GAEN v2): upload, next-day upload, download.
//!
//! The rules follow the DP-3T reference backend (`dp3t-sdk-backend`, module
//! `dpppt-backend-sdk-ws`), so that apps built on the DP-3T iOS and Android SDKs work
//! unchanged; each rule below names the reference file it follows.
//!
//! - `POST /v2/gaen/exposed`: exactly 30 keys, real ones and `fake: 1` padding
//!   (`fake` absent means 0). A malformed key (not base64 of 16 bytes, `fake` not 0 or 1)
//!   rejects the whole upload; a key out of range is dropped and the rest is stored: a
//!   fake key, a rolling period outside 1..=144, a key dated before the retention window
//!   ([`messages::retention`]), after tomorrow, or more than
//!   `infectious_days_before_onset` days before the token's onset date. Duplicates are
//!   stored once; overlapping keys (a phone whose key rotated mid-day) are all kept.
//!   `delayedKeyDate` (older Android SDKs) is optional; when present it must be the
//!   midnight of yesterday, today or tomorrow, and the answer carries the next-day token in
//!   the `Authorization` header (DP-3T) and in the body. `withFederationGateway` (`true`,
//!   `false`, or the iOS SDK's `1`/`0`) is accepted; this server has no gateway.
//! - Every stored key gets `release_at`: the hour after the later of "now" and the key's
//!   end, so still-valid keys are embargoed until they expire and no stored time is finer
//!   than the hour.
//! - `GET /v2/gaen/exposed?lastKeyBundleTag=T`: the keys released after `T` up to the end
//!   of the last complete release bucket, as a signed GAEN export zip, padded with fake
//!   keys; the bucket end (milliseconds, DP-3T) is the `x-key-bundle-tag`. When nothing
//!   new is there the answer is **204 No Content** with the tag header (as DP-3T does):
//!   phones skip an empty download. A tag off a bucket boundary is a 400, a tag later than
//!   now a 404 (the reference's `isValidBatchReleaseTime`).
//! - Downloads are prebuilt (issue 13): an answer is the keys released after the tag (or
//!   in the retention window before the bucket end, whichever is later) up to the bucket
//!   end, padded per release bucket with that bucket's fixed fake keys
//!   ([`crate::release_padding`]), zipped and signed once, and then served from memory
//!   ([`crate::prebuilt`]) to every phone until the next release: `Cache-Control: public,
//!   max-age=<seconds until the next release>`, a strong `ETag`, `304` on `If-None-Match`.
//!   Every instance on one database builds the same bytes.

use std::collections::HashSet;

use axum::body::Bytes;
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
use crate::prebuilt::{self, AnswerKey, Prebuilt};

use crate::problem::{Problem, ProblemKind};
use crate::state::AppState;
use crate::timing::{self, Endpoint, Kind};
use crate::tokens::{self, SCOPE_EXPOSED, SCOPE_NEXT_DAY, UploadClaims};

/// Keys in every upload: real keys padded with fake ones (DP-3T v2).
pub const KEYS_PER_UPLOAD: usize = 30;

const DAY_SECONDS: i64 = 86_400;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v2/gaen/exposed", post(upload).get(download))
        .route("/v1/gaen/exposednextday", post(upload_next_day))
        .route("/v1/export-public-key", get(export_public_key))
}

/// A key that is well formed (else the upload is refused), not yet checked for range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct DecodedKey {
    key_data: [u8; KEY_LENGTH],
    rolling_start_number: u32,
    rolling_period: i64,
    fake: bool,
}

/// Reference `AssertKeyFormat` (every key base64 of 16 bytes, else the whole upload is
/// refused) and the `@Min(0) @Max(1)` on `GaenKey.fake`.
fn decode_key(key: &GaenKey) -> Result<DecodedKey, Problem> {
    let bytes = STANDARD
        .decode(key.key_data.as_bytes())
        .map_err(|_| Problem::new(ProblemKind::InvalidKeys, "keyData must be base64"))?;
    let key_data: [u8; KEY_LENGTH] = bytes.try_into().map_err(|bytes: Vec<u8>| {
        Problem::new(
            ProblemKind::InvalidKeys,
            format!("keyData must be 16 bytes, not {}", bytes.len()),
        )
    })?;
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
    Ok(DecodedKey {
        key_data,
        rolling_start_number: key.rolling_start_number,
        rolling_period: key.rolling_period,
        fake,
    })
}

/// The interval numbers a real key may start in: from `first` (included) to `end`
/// (excluded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct KeyWindow {
    first: i64,
    end: i64,
}

impl KeyWindow {
    /// The window at `now` for a token whose onset day starts at `onset_day_start` (unix
    /// seconds):
    /// - reference `EnforceRetentionPeriod`: not before the retention window's first day
    ///   (and see [`KeyWindow::for_claims`]);
    /// - reference `EnforceMatchingJWTClaimsForExposed`: not before the onset, moved back
    ///   by `infectious_days_before_onset` (the reference's onset claim already is);
    /// - reference `RemoveKeysFromFuture`: dated before the day after tomorrow, so that a
    ///   phone whose clock is a little ahead at midnight keeps its key (still-valid keys
    ///   are embargoed until they expire anyway).
    fn new(now: i64, onset_day_start: i64, infectious_days_before_onset: u32) -> Self {
        let intervals = |seconds: i64| seconds.div_euclid(INTERVAL_SECONDS as i64);
        let infectious_from =
            onset_day_start - i64::from(infectious_days_before_onset) * DAY_SECONDS;
        let today_start = now - now.rem_euclid(DAY_SECONDS);
        KeyWindow {
            first: retention::first_kept_interval(now).max(intervals(infectious_from)),
            end: intervals(today_start + 2 * DAY_SECONDS),
        }
    }

    /// The window of an upload at `now` with `claims`. Its first day is also the window's
    /// when the keys come out ([`published_at`]), so that every key accepted is published:
    /// a key of day −14 uploaded in the day's last hour would otherwise come out after
    /// midnight, when downloads no longer serve it.
    fn for_claims(state: &AppState, claims: &UploadClaims, now: i64) -> Result<Self, Problem> {
        let onset = claims.onset_date().ok_or_else(|| {
            Problem::new(ProblemKind::InvalidToken, "the upload token is not valid")
        })?;
        let onset_day_start = onset.midnight().assume_utc().unix_timestamp();
        let mut window = Self::new(
            now,
            onset_day_start,
            state.config.infectious_days_before_onset,
        );
        let published = published_at(now, state.config.release_bucket_seconds);
        window.first = window.first.max(retention::first_kept_interval(published));
        Ok(window)
    }

    /// The key to store, or `None` when it is dropped: fake (reference `RemoveFakeKeys`),
    /// a rolling period outside 1..=144 (reference `EnforceValidRollingPeriod`), or dated
    /// outside the window.
    fn keep(&self, key: &DecodedKey) -> Option<TemporaryExposureKey> {
        let rolling_period = u32::try_from(key.rolling_period)
            .ok()
            .filter(|period| (1..=INTERVALS_PER_DAY).contains(period))?;
        let start = i64::from(key.rolling_start_number);
        if key.fake || start < self.first || start >= self.end {
            return None;
        }
        Some(TemporaryExposureKey {
            key_data: key.key_data,
            rolling_start_interval_number: EnIntervalNumber(key.rolling_start_number),
            rolling_period,
        })
    }
}

/// Checks an upload against the rules of the module docs and returns the real keys to
/// store. Pure, so that every rule is unit-tested.
fn validate_upload(
    keys: &[GaenKey],
    window: KeyWindow,
) -> Result<Vec<TemporaryExposureKey>, Problem> {
    // Reference `GaenV2UploadKeysRequest`: `@Size(min = 30, max = 30)`.
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
    // The same key twice is stored once (the reference upserts); overlapping keys are all
    // kept: a phone whose key rotated mid-day broadcast both.
    let mut seen = HashSet::new();
    Ok(decoded
        .iter()
        .filter_map(|key| window.keep(key))
        .filter(|key| seen.insert(key.key_data))
        .collect())
}

/// Reference `ValidationUtils.assertDelayedKeyDate` (a 400 otherwise): a midnight, of
/// yesterday, today or tomorrow (a phone clock a little ahead at midnight).
fn check_delayed_key_date(delayed_key_date: u32, now: i64) -> Result<(), Problem> {
    let today = i64::from(
        EnIntervalNumber::from_unix_seconds(u64::try_from(now).unwrap_or(0))
            .day_start()
            .0,
    );
    let per_day = i64::from(INTERVALS_PER_DAY);
    let date = i64::from(delayed_key_date);
    if date % per_day != 0 || !(today - per_day..=today + per_day).contains(&date) {
        return Err(Problem::new(
            ProblemKind::InvalidKeys,
            "delayedKeyDate must be the rolling start of yesterday's, today's or tomorrow's key",
        ));
    }
    Ok(())
}

/// When an expired key stored at `now` first comes out of a download: its [`release_at`],
/// rounded up to the end of its release bucket.
fn published_at(now: i64, bucket_seconds: u64) -> i64 {
    let released = if bucket_seconds == 0 {
        now + 1
    } else {
        floor_to_hour(now) + 3600
    };
    bucket_containing(released, bucket_seconds)
}

/// The end of the release bucket a key released at `release_at` comes out with: the first
/// bucket boundary at or after it (the second itself without buckets).
pub(crate) fn bucket_containing(release_at: i64, bucket_seconds: u64) -> i64 {
    match i64::try_from(bucket_seconds) {
        Ok(bucket) if bucket > 0 => release_at + (bucket - release_at.rem_euclid(bucket)) % bucket,
        _ => release_at,
    }
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
                // `tokens::authorize` let in only a patient's report types.
                report_type: i64::from(
                    claims
                        .report_type()
                        .unwrap_or(ReportType::ConfirmedTest)
                        .to_wire(),
                ),
                days_since_onset: tokens::days_since_onset(claims, start_seconds).map(i64::from),
                received_hour: floor_to_hour(now),
                release_at: release_at(key, now, state.config.release_bucket_seconds),
            }
        })
        .collect::<Vec<KeyRow>>();
    // Counted once all of them are out (see `crate::metrics`).
    let last_release = rows.iter().map(|row| row.release_at).max().unwrap_or(now);
    // Durable when this returns: the writer answers after its commit.
    let outcome = state
        .store
        .write_keys(tokens::use_for(state, claims, purpose), rows.clone())
        .await?;
    match outcome {
        WriteOutcome::Stored { new_keys } => {
            state.metrics.keys_stored(new_keys, last_release);
            state.news.announce();
            Ok(())
        }
        // The same upload sent again, after a commit whose answer was lost (a dropped
        // connection, a database or server restart): it gets the same answer as the
        // first time, since what it asked for is done. Other keys with a used token are
        // refused.
        WriteOutcome::TokenAlreadyUsed if state.store.keys_already_stored(&rows).await? => Ok(()),
        WriteOutcome::TokenAlreadyUsed => Err(Problem::new(
            ProblemKind::TokenUsed,
            "this upload token has already been used",
        )),
    }
}

fn upload_answer(next_day_token: Option<String>) -> Response {
    let header_value = next_day_token
        .as_deref()
        .and_then(|token| HeaderValue::from_str(&format!("Bearer {token}")).ok());
    let mut response = Json(UploadAnswer { next_day_token }).into_response();
    if let Some(value) = header_value {
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
        (status = 415, description = "the body is not JSON (Content-Type: application/json)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<GaenUploadRequest>, JsonRejection>,
) -> Result<Response, Problem> {
    let start = tokio::time::Instant::now();
    timing::answer_alike(&state, Endpoint::Keys, start, async {
        let claims = tokens::authorize(&state, &headers, SCOPE_EXPOSED)?;
        let Json(request) = body?;
        let now = state.now();
        let window = KeyWindow::for_claims(&state, &claims, now)?;
        let keys = validate_upload(&request.gaen_keys, window)?;
        if let Some(delayed) = request.delayed_key_date {
            check_delayed_key_date(delayed, now)?;
        }
        let kind = if claims.is_fake() {
            // Same checks, no writes: a fake upload changes nothing.
            Kind::Fake
        } else {
            store_keys(&state, &claims, Purpose::Keys, &keys, now).await?;
            Kind::Real
        };
        // One count for both kinds: nothing public tells them apart.
        Metrics::count(&state.metrics.key_uploads, "kind", "keys");
        let answer = upload_answer(
            request
                .delayed_key_date
                .map(|delayed| tokens::issue_next_day_token(&state, &claims, delayed, now)),
        );
        Ok((answer, kind))
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
        (status = 415, description = "the body is not JSON (Content-Type: application/json)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn upload_next_day(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<GaenNextDayRequest>, JsonRejection>,
) -> Result<Response, Problem> {
    let start = tokio::time::Instant::now();
    timing::answer_alike(&state, Endpoint::NextDayKeys, start, async {
        let claims = tokens::authorize(&state, &headers, SCOPE_NEXT_DAY)?;
        let Json(request) = body?;
        let now = state.now();
        let decoded = decode_key(&request.delayed_key)?;
        let expected_start = claims
            .delayed_key_date
            .as_deref()
            .and_then(|text| text.parse::<u32>().ok())
            .ok_or_else(|| {
                Problem::new(ProblemKind::InvalidToken, "the next-day token is not valid")
            })?;
        // Reference `EnforceMatchingJWTClaimsForExposedNextDay`: a key that does not start
        // at the token's `delayedKeyDate` is dropped, like any other key out of range.
        let keys: Vec<TemporaryExposureKey> = KeyWindow::for_claims(&state, &claims, now)?
            .keep(&decoded)
            .filter(|key| key.rolling_start_interval_number.0 == expected_start)
            .into_iter()
            .collect();
        let kind = if claims.is_fake() {
            Kind::Fake
        } else {
            store_keys(&state, &claims, Purpose::NextDayKeys, &keys, now).await?;
            Kind::Real
        };
        Metrics::count(&state.metrics.key_uploads, "kind", "next_day");
        Ok((Json(serde_json::json!({})).into_response(), kind))
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
    retention::first_kept_interval(now)
}

/// A published key and the release bucket it came out with.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReleasedKey {
    /// End of its release bucket (unix seconds; see [`bucket_containing`]).
    pub bucket_end: i64,
    pub key: DiagnosisKey,
}

/// Reads the keys released in `(after, until]` still inside the retention window at `now`.
pub(crate) async fn released_keys(
    state: &AppState,
    after: i64,
    until: i64,
    now: i64,
) -> Result<Vec<ReleasedKey>, DatastoreError> {
    released_keys_from(state, after, until, oldest_key_start(now)).await
}

/// Reads the keys released in `(after, until]` that start at or after `oldest_start`.
async fn released_keys_from(
    state: &AppState,
    after: i64,
    until: i64,
    oldest_start: i64,
) -> Result<Vec<ReleasedKey>, DatastoreError> {
    let rows = state
        .store
        .released_keys(after, until, oldest_start)
        .await?;
    let bucket_seconds = state.config.release_bucket_seconds;
    let mut keys: Vec<ReleasedKey> = rows
        .into_iter()
        .filter_map(|row| {
            let key = DiagnosisKey {
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
            };
            Some(ReleasedKey {
                bucket_end: bucket_containing(row.release_at, bucket_seconds),
                key,
            })
        })
        .collect();
    // Sorted by key bytes: a key stored twice (which the upload writer prevents) would
    // still be published once.
    keys.dedup_by(|a, b| a.key.key.key_data == b.key.key.key_data);
    Ok(keys)
}

/// Builds a signed export zip of `keys` released in `(start, end]` off the async threads
/// (signing and zipping a large file takes a while). When the config says so, each
/// release bucket is padded with its own fixed fake keys dated at or after `oldest_start`
/// ([`crate::release_padding`]), so that every file covering a bucket carries the same ones.
pub(crate) async fn build_export(
    state: &AppState,
    keys: Vec<ReleasedKey>,
    start: i64,
    end: i64,
    oldest_start: i64,
) -> Result<Vec<u8>, Problem> {
    let state_for_build = state.clone();
    let zip = tokio::task::spawn_blocking(move || {
        let state = state_for_build;
        // Without release buckets (`release_bucket_seconds = 0`: tests, demos) every
        // upload is released alone, and padding each would multiply the file by a
        // thousand fake keys an upload: the whole answer is then padded as one.
        let unbucketed = state.config.release_bucket_seconds == 0;
        let mut real_per_bucket = std::collections::BTreeMap::<i64, usize>::new();
        for key in &keys {
            let group = if unbucketed { end } else { key.bucket_end };
            *real_per_bucket.entry(group).or_default() += 1;
        }
        let mut keys: Vec<DiagnosisKey> = keys.into_iter().map(|released| released.key).collect();
        if state.config.pad_exports {
            for (bucket_end, real) in real_per_bucket {
                keys.extend(crate::release_padding::bucket_padding(
                    &state.keys,
                    bucket_end,
                    real,
                    oldest_start,
                    state.config.infectious_days_before_onset,
                ));
            }
        }
        write_export(&state, keys, start, end)
    })
    .await
    .map_err(|error| Problem::internal(&error))??;
    state.metrics.export_bytes.observe(zip.len() as f64);
    Ok(zip)
}

/// Signs and zips `keys` as the export of `(start, end]`.
fn write_export(
    state: &AppState,
    keys: Vec<DiagnosisKey>,
    start: i64,
    end: i64,
) -> Result<Vec<u8>, Problem> {
    let batch = ExportBatch {
        keys,
        ..ExportBatch::new(
            u64::try_from(start).unwrap_or(0),
            u64::try_from(end).unwrap_or(0),
            state.config.region.clone(),
        )
    };
    write_signed_zip(&batch, &state.keys.export_signers())
        .map_err(|error| Problem::internal(&error))
}

/// A `lastKeyBundleTag` (milliseconds; absent or empty: from the beginning).
pub(crate) fn parse_bundle_tag(text: Option<&str>) -> Result<i64, Problem> {
    match text {
        None | Some("") => Ok(0),
        // A number past i64 (292 million years away) is a tag in the future, like any other.
        Some(text) => text
            .parse::<u64>()
            .ok()
            .map(|tag| i64::try_from(tag).unwrap_or(i64::MAX))
            .ok_or_else(|| {
                Problem::new(
                    ProblemKind::InvalidQuery,
                    "lastKeyBundleTag must be a non-negative number (milliseconds)",
                )
            }),
    }
}

/// Reference `ValidationUtils.isValidBatchReleaseTime` and `GaenV2Controller.getExposedKeys`:
/// a tag this server can have given falls on a release bucket boundary (whole seconds when
/// keys are released without buckets), else 400; a tag later than now is a 404, not an
/// empty answer with a lower tag that would send the phone back in time.
fn check_bundle_tag(tag_ms: i64, now: i64, bucket_seconds: u64) -> Result<(), Problem> {
    let boundary_ms = i64::try_from(bucket_seconds.max(1))
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000);
    if tag_ms % boundary_ms != 0 {
        return Err(Problem::new(
            ProblemKind::InvalidQuery,
            "lastKeyBundleTag is not a tag this server gave (not on a release bucket boundary)",
        ));
    }
    if tag_ms > now.saturating_mul(1000) {
        return Err(Problem::new(
            ProblemKind::FutureBundleTag,
            "lastKeyBundleTag is in the future",
        ));
    }
    Ok(())
}

#[utoipa::path(
    get, path = "/v2/gaen/exposed", tag = "keys",
    summary = "Signed GAEN export zip of the keys released since lastKeyBundleTag",
    description = "Every request for a tag gets the same bytes until the next release bucket comes out: the answer is built once, its fake keys are fixed per release bucket, and it is cacheable (`Cache-Control: public, max-age=<seconds until the next release>`, a strong `ETag`; `If-None-Match` gets `304`).",
    params(
        ("lastKeyBundleTag" = Option<u64>, Query, description = "the x-key-bundle-tag of the last download (milliseconds)"),
        ("If-None-Match" = Option<String>, Header, description = "the ETag of the answer already held: 304 when it is still the answer"),
    ),
    responses(
        (status = 200, description = "export zip; new tag in x-key-bundle-tag", body = Vec<u8>, content_type = "application/zip",
            headers(
                ("x-key-bundle-tag" = String, description = "the next lastKeyBundleTag"),
                ("ETag" = String, description = "strong ETag of the zip"),
                ("Cache-Control" = String, description = "public, max-age=<seconds until the next release bucket>"),
            )),
        (status = 204, description = "nothing new; new tag in x-key-bundle-tag",
            headers(
                ("x-key-bundle-tag" = String, description = "the next lastKeyBundleTag"),
                ("Cache-Control" = String, description = "public, max-age=<seconds until the next release bucket>"),
            )),
        (status = 304, description = "If-None-Match names this answer's ETag: keep the zip held (its Signature header is repeated)",
            headers(
                ("x-key-bundle-tag" = String, description = "the next lastKeyBundleTag"),
                ("ETag" = String, description = "strong ETag of the zip"),
                ("Cache-Control" = String, description = "public, max-age=<seconds until the next release bucket>"),
            )),
        (status = 400, description = "bad tag (not on a release bucket boundary)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "tag in the future", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn download(
    State(state): State<AppState>,
    headers: HeaderMap,
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
    let bucket_seconds = state.config.release_bucket_seconds;
    check_bundle_tag(last_tag_ms, now, bucket_seconds)?;
    let until = bucket_end(now, bucket_seconds);
    let mut response = if state.config.prebuilt_downloads {
        let answer = DownloadAnswer {
            // The retention window before the bucket end, not before now: every request
            // in a bucket then asks for one of the same few answers.
            after: (last_tag_ms / 1000).max(until - retention::SECONDS),
            until,
            oldest_start: oldest_key_start(now),
        };
        state
            .downloads
            .get_or_build(
                answer,
                prebuilt::stored_or_built(&state, &answer, answer.build(&state)),
            )
            .await?
            .respond(&headers)
    } else {
        download_built_per_request(&state, last_tag_ms, until, now).await?
    };
    let max_age = match bucket_seconds {
        0 => 0,
        bucket => until + i64::try_from(bucket).unwrap_or(0) - now,
    };
    let headers = response.headers_mut();
    headers.insert(
        "x-key-bundle-tag",
        HeaderValue::from(until.saturating_mul(1000)),
    );
    // Until the next release, every phone gets these same bytes: a CDN may keep them.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_str(&format!("public, max-age={max_age}"))
            .unwrap_or(HeaderValue::from_static("no-cache")),
    );
    Ok(response)
}

/// One download answer: the keys released in `(after, until]` that start at or after
/// `oldest_start`, padded per release bucket. Everything an answer's bytes depend on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct DownloadAnswer {
    after: i64,
    until: i64,
    oldest_start: i64,
}

impl AnswerKey for DownloadAnswer {
    const KIND: &'static str = "keys";

    fn epoch(&self) -> i64 {
        self.until
    }

    fn object_name(&self) -> String {
        format!("{}-{}", self.after, self.oldest_start)
    }

    /// A request that came in just before the newest bucket's release may still be
    /// building the previous bucket's answers.
    fn oldest_epoch_asked(state: &AppState, now: i64) -> i64 {
        let bucket = state.config.release_bucket_seconds;
        bucket_end(now, bucket) - i64::try_from(bucket).unwrap_or(0)
    }
}

impl DownloadAnswer {
    /// Queries, pads, zips and signs the answer (once: see [`crate::prebuilt`]). The same
    /// bytes on every instance: the keys come from the shared database, the fake keys are
    /// fixed per bucket, and export signatures use deterministic nonces.
    async fn build(self, state: &AppState) -> Result<Prebuilt, Problem> {
        let keys = if self.after < self.until {
            released_keys_from(state, self.after, self.until, self.oldest_start).await?
        } else {
            Vec::new()
        };
        if keys.is_empty() {
            return Prebuilt::new(state, StatusCode::NO_CONTENT, Bytes::new(), None);
        }
        let zip = build_export(state, keys, self.after, self.until, self.oldest_start).await?;
        Prebuilt::new(
            state,
            StatusCode::OK,
            Bytes::from(zip),
            Some(HeaderValue::from_static("application/zip")),
        )
    }
}

/// How every download was answered before issue 13, kept for `prebuilt_downloads =
/// false` (the download benchmark measures it against the prebuilt answers in the same
/// run): a query, fresh random padding, a zip and a signature at every request.
async fn download_built_per_request(
    state: &AppState,
    last_tag_ms: i64,
    until: i64,
    now: i64,
) -> Result<Response, Problem> {
    let after = (last_tag_ms / 1000).max(now - retention::SECONDS);
    let mut keys: Vec<DiagnosisKey> = if after < until {
        released_keys(state, after, until, now)
            .await?
            .into_iter()
            .map(|released| released.key)
            .collect()
    } else {
        Vec::new()
    };
    if keys.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let state_for_build = state.clone();
    let zip = tokio::task::spawn_blocking(move || {
        if state_for_build.config.pad_exports {
            pad_with_fake_keys(&mut keys, &mut rand::rng());
        }
        write_export(&state_for_build, keys, after, until)
    })
    .await
    .map_err(|error| Problem::internal(&error))??;
    Ok(([(header::CONTENT_TYPE, "application/zip")], zip).into_response())
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

    fn key(byte: u8, start: u32, period: i64, fake: u8) -> GaenKey {
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

    /// The window of a token whose onset was long ago (only retention and the future
    /// limit apply).
    fn window() -> KeyWindow {
        KeyWindow::new(NOW, NOW - 30 * DAY_SECONDS, 2)
    }

    fn kept(keys: Vec<GaenKey>, window: KeyWindow) -> Vec<[u8; 16]> {
        validate_upload(&padded(keys), window)
            .unwrap()
            .iter()
            .map(|key| key.key_data)
            .collect()
    }

    #[test]
    fn the_key_of_day_minus_14_is_kept_and_day_minus_15_dropped() {
        let keys = vec![
            key(1, today() - 14 * 144, 144, 0),
            key(2, today() - 15 * 144, 144, 0),
            // One interval before day −14 starts.
            key(3, today() - 14 * 144 - 1, 144, 0),
        ];
        assert_eq!(kept(keys, window()), vec![[1; 16]]);
        // Whatever the hour: at the last second of the day, day −14 is still in.
        let late = KeyWindow::new(NOW - NOW.rem_euclid(DAY_SECONDS) + DAY_SECONDS - 1, 0, 2);
        assert_eq!(
            kept(vec![key(1, today() - 14 * 144, 144, 0)], late),
            vec![[1; 16]]
        );
        // And it is what downloads and purges use.
        assert_eq!(window().first, retention::first_kept_interval(NOW));
    }

    #[test]
    fn a_key_leaving_the_window_before_it_comes_out_is_not_accepted() {
        let midnight = NOW - NOW.rem_euclid(DAY_SECONDS) + DAY_SECONDS;
        // 23:30 with 2-hour buckets: released at 00:00, out at 00:00 (a bucket end).
        assert_eq!(published_at(midnight - 1800, 7200), midnight);
        // 12:26: released at 13:00, out at the next bucket end: 14:00, or 16:00 with
        // 4-hour buckets.
        assert_eq!(published_at(NOW, 7200), floor_to_hour(NOW) + 2 * 3600);
        assert_eq!(published_at(NOW, 4 * 3600), floor_to_hour(NOW) + 4 * 3600);
        assert_eq!(published_at(NOW, 0), NOW + 1);
        let day_minus_14 = vec![key(1, today() - 14 * 144, 144, 0)];
        let late = KeyWindow::new(published_at(midnight - 1800, 7200), 0, 2);
        assert!(kept(day_minus_14.clone(), late).is_empty());
        let early = KeyWindow::new(published_at(midnight - 4 * 3600, 7200), 0, 2);
        assert_eq!(kept(day_minus_14, early), vec![[1; 16]]);
    }

    #[test]
    fn keys_up_to_tomorrow_are_kept_and_later_ones_dropped() {
        let keys = vec![
            key(1, today(), 144, 0),
            key(2, today() + 144, 144, 0),
            key(3, today() + 2 * 144, 144, 0),
        ];
        assert_eq!(kept(keys, window()), vec![[1; 16], [2; 16]]);
    }

    #[test]
    fn out_of_range_rolling_periods_drop_the_key_not_the_upload() {
        let keys = vec![
            key(1, today() - 144, 0, 0),
            key(2, today() - 2 * 144, -1, 0),
            key(3, today() - 3 * 144, 145, 0),
            key(4, today() - 4 * 144, 1, 0),
            key(5, today() - 5 * 144, 144, 0),
            // A fake key with a zero period (padding) is simply dropped too.
            key(6, today() - 6 * 144, 0, 1),
        ];
        assert_eq!(kept(keys, window()), vec![[4; 16], [5; 16]]);
    }

    #[test]
    fn keys_more_than_the_configured_days_before_the_onset_are_dropped() {
        let onset_day_start = i64::from(today() - 5 * 144) * 600;
        let keys = || {
            vec![
                key(1, today() - 5 * 144, 144, 0), // the onset day
                key(2, today() - 7 * 144, 144, 0), // two days before: infectious
                key(3, today() - 8 * 144, 144, 0), // three days before
            ]
        };
        let two_days = KeyWindow::new(NOW, onset_day_start, 2);
        assert_eq!(kept(keys(), two_days), vec![[1; 16], [2; 16]]);
        let none_before = KeyWindow::new(NOW, onset_day_start, 0);
        assert_eq!(kept(keys(), none_before), vec![[1; 16]]);
        // The retention window still bounds an onset long ago.
        assert_eq!(
            KeyWindow::new(NOW, 0, 2).first,
            retention::first_kept_interval(NOW)
        );
    }

    #[test]
    fn duplicates_are_stored_once_and_overlapping_keys_all_kept() {
        let keys = vec![
            key(1, today() - 144, 144, 0),
            key(1, today() - 144, 144, 0),
            key(2, today() - 100, 50, 0),
        ];
        assert_eq!(kept(keys, window()), vec![[1; 16], [2; 16]]);
    }

    #[test]
    fn malformed_keys_and_wrong_counts_refuse_the_upload() {
        assert!(validate_upload(&padded(vec![])[..29], window()).is_err());
        let mut short = padded(vec![]);
        short[0].key_data = STANDARD.encode([1u8; 15]);
        assert!(
            validate_upload(&short, window())
                .unwrap_err()
                .detail
                .contains("16 bytes")
        );
        let mut not_base64 = padded(vec![]);
        not_base64[3].key_data = "not base64!".to_owned();
        assert!(validate_upload(&not_base64, window()).is_err());
        assert!(validate_upload(&padded(vec![key(1, today() - 144, 144, 2)]), window()).is_err());
    }

    #[test]
    fn bodies_as_each_sdk_sends_them_are_read() {
        // iOS SDK: no delayedKeyDate, withFederationGateway and fake as numbers, a
        // transmissionRiskLevel on each key.
        let ios: GaenUploadRequest = serde_json::from_str(
            r#"{"gaenKeys":[{"keyData":"AQEBAQEBAQEBAQEBAQEBAQ==","rollingPeriod":144,
                "rollingStartNumber":2666736,"transmissionRiskLevel":0,"fake":0}],
                "withFederationGateway":1,"fake":0}"#,
        )
        .unwrap();
        assert_eq!(ios.delayed_key_date, None);
        assert_eq!(
            ios.with_federation_gateway,
            Some(messages::keys::FederationGatewayChoice::Number(1))
        );
        // Reference backend v2: a boolean, and a key without `fake`.
        let reference: GaenUploadRequest = serde_json::from_str(
            r#"{"gaenKeys":[{"keyData":"AQEBAQEBAQEBAQEBAQEBAQ==","rollingStartNumber":2666736,
                "rollingPeriod":144}],"withFederationGateway":false}"#,
        )
        .unwrap();
        assert_eq!(reference.gaen_keys[0].fake, 0);
        // Older Android SDK: delayedKeyDate.
        let android: GaenUploadRequest =
            serde_json::from_str(r#"{"gaenKeys":[],"delayedKeyDate":2666736,"fake":1}"#).unwrap();
        assert_eq!(android.delayed_key_date, Some(2_666_736));
    }

    #[test]
    fn delayed_key_dates_from_yesterday_to_tomorrow_are_accepted() {
        for date in [today() - 144, today(), today() + 144] {
            assert!(check_delayed_key_date(date, NOW).is_ok(), "{date}");
        }
        for date in [today() - 288, today() + 288, today() + 1] {
            assert!(check_delayed_key_date(date, NOW).is_err(), "{date}");
        }
    }

    #[test]
    fn bundle_tags_must_be_on_a_bucket_boundary_and_not_in_the_future() {
        let bucket = 7200;
        let last_bucket_ms = bucket_end(NOW, bucket) * 1000;
        assert!(check_bundle_tag(last_bucket_ms, NOW, bucket).is_ok());
        assert!(check_bundle_tag(0, NOW, bucket).is_ok());
        let off = check_bundle_tag(last_bucket_ms - 1000, NOW, bucket).unwrap_err();
        assert_eq!(off.status(), StatusCode::BAD_REQUEST);
        let future = check_bundle_tag(last_bucket_ms + 7_200_000, NOW, bucket).unwrap_err();
        assert_eq!(future.status(), StatusCode::NOT_FOUND);
        // Without buckets, whole seconds up to now.
        assert!(check_bundle_tag(NOW * 1000, NOW, 0).is_ok());
        assert_eq!(
            check_bundle_tag(NOW * 1000 + 1000, NOW, 0)
                .unwrap_err()
                .status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            check_bundle_tag(NOW * 1000 - 1, NOW, 0)
                .unwrap_err()
                .status(),
            StatusCode::BAD_REQUEST
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
