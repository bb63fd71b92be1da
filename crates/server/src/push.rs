//! Push: phones learn within minutes that new keys are out, instead of once a day.
//!
//! `GET /v1/push/keys?lastKeyBundleTag=T&waitSeconds=S` is a long poll. It answers at once
//! with `{"newKeys":true,"keyBundleTag":…}` when a download with `lastKeyBundleTag=T`
//! would bring keys; otherwise it holds the request until that becomes true or `S`
//! seconds pass (default [`DEFAULT_WAIT_SECONDS`], at most [`MAX_WAIT_SECONDS`]) and then
//! answers `{"newKeys":false,…}`. The phone then downloads as usual (signed export) and
//! asks again. The answer carries nothing but the bundle tag, which every phone already
//! sees in `x-key-bundle-tag`, so it tells nobody anything about anyone.
//!
//! What wakes waiting requests: every accepted key upload, the moment the next stored key
//! comes out of its embargo and release bucket, and every run of the background jobs
//! (every `jobs_interval_seconds`). So a phone hears of new keys as they come out.
//!
//! Scale: one open connection per waiting phone is right for a city served by one
//! process. A country's 40 M phones would rather get the same signal from the
//! platform push services (FCM, APNs) or poll the CDN-cached export with its
//! `Cache-Control: max-age` (which ends at the next release bucket); this route is what
//! such a relay would long-poll itself.

use std::time::Duration;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use messages::keys::PushAnswer;
use serde::Deserialize;

use messages::retention;

use crate::datastore::DatastoreError;
use crate::keys::{bucket_end, oldest_key_start, parse_bundle_tag};
use crate::problem::{Problem, ProblemKind};
use crate::state::AppState;

/// How long a push request waits when it does not say.
pub const DEFAULT_WAIT_SECONDS: u64 = 60;
/// The longest a push request may wait.
pub const MAX_WAIT_SECONDS: u64 = 300;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/v1/push/keys", get(wait_for_keys))
}

#[derive(Debug, Deserialize)]
struct PushQuery {
    #[serde(rename = "lastKeyBundleTag")]
    last_key_bundle_tag: Option<String>,
    #[serde(rename = "waitSeconds")]
    wait_seconds: Option<u64>,
}

#[utoipa::path(
    get, path = "/v1/push/keys", tag = "keys",
    summary = "Long poll: answers as soon as a download from lastKeyBundleTag would bring keys, or after waitSeconds (default 60, at most 300)",
    params(
        ("lastKeyBundleTag" = Option<u64>, Query, description = "the x-key-bundle-tag of the last download"),
        ("waitSeconds" = Option<u64>, Query, maximum = 300, description = "how long to wait at most"),
    ),
    responses(
        (status = 200, description = "whether new keys are out", body = PushAnswer),
        (status = 400, description = "bad tag or wait", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn wait_for_keys(
    State(state): State<AppState>,
    query: Result<Query<PushQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<PushAnswer>, Problem> {
    let Query(query) = query.map_err(|_| {
        Problem::new(
            ProblemKind::InvalidQuery,
            "lastKeyBundleTag and waitSeconds must be non-negative numbers",
        )
    })?;
    let last_tag_ms = parse_bundle_tag(query.last_key_bundle_tag.as_deref())?;
    let wait = Duration::from_secs(
        query
            .wait_seconds
            .unwrap_or(DEFAULT_WAIT_SECONDS)
            .min(MAX_WAIT_SECONDS),
    );
    let deadline = tokio::time::Instant::now() + wait;
    // Subscribed before looking, so that news between the look and the wait is not lost.
    let mut news = state.news.subscribe();
    loop {
        let now = state.now();
        let until = bucket_end(now, state.config.release_bucket_seconds);
        let after = (last_tag_ms / 1000).max(now - retention::SECONDS);
        let tag = until.saturating_mul(1000);
        if after < until && any_released(&state, after, until).await? {
            return Ok(Json(PushAnswer {
                new_keys: true,
                key_bundle_tag: tag,
            }));
        }
        if state.news.is_closing() {
            return Ok(Json(PushAnswer {
                new_keys: false,
                key_bundle_tag: tag,
            }));
        }
        // Keys already stored but not yet out wake the request when they come out.
        let release_in = next_release(&state, until)
            .await?
            .map(|at| Duration::from_secs(u64::try_from(at - now).unwrap_or(0).max(1)));
        let wake = match release_in {
            Some(delay) => (tokio::time::Instant::now() + delay).min(deadline),
            None => deadline,
        };
        tokio::select! {
            () = tokio::time::sleep_until(wake), if wake < deadline => {}
            changed = news.changed() => {
                if changed.is_err() {
                    return Ok(Json(PushAnswer {
                new_keys: false,
                key_bundle_tag: tag,
            }));
                }
            }
            () = tokio::time::sleep_until(deadline) => {
                return Ok(Json(PushAnswer {
                new_keys: false,
                key_bundle_tag: tag,
            }));
            }
        }
    }
}

/// When the next stored key not yet out (released after `until`) comes out: its release
/// time, rounded up to the end of its release bucket.
async fn next_release(state: &AppState, until: i64) -> Result<Option<i64>, DatastoreError> {
    let Some(release_at) = state.store.next_key_release(until).await? else {
        return Ok(None);
    };
    Ok(Some(
        match i64::try_from(state.config.release_bucket_seconds) {
            Ok(bucket) if bucket > 0 => {
                release_at.div_euclid(bucket) * bucket
                    + bucket * i64::from(release_at.rem_euclid(bucket) != 0)
            }
            _ => release_at,
        },
    ))
}

/// Whether any key is released in `(after, until]` (what a download would return).
async fn any_released(state: &AppState, after: i64, until: i64) -> Result<bool, DatastoreError> {
    state
        .store
        .any_key_released(after, until, oldest_key_start(state.now()))
        .await
}
