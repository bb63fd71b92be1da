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

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::keys::{RETENTION_SECONDS, bucket_end, parse_bundle_tag};
use crate::problem::Problem;
use crate::service::AppState;

/// How long a push request waits when it does not say.
pub const DEFAULT_WAIT_SECONDS: u64 = 60;
/// The longest a push request may wait.
pub const MAX_WAIT_SECONDS: u64 = 300;

/// Wakes waiting push requests.
#[derive(Debug)]
pub struct News {
    generation: watch::Sender<u64>,
    closing: AtomicBool,
}

impl Default for News {
    fn default() -> Self {
        Self {
            generation: watch::Sender::new(0),
            closing: AtomicBool::new(false),
        }
    }
}

impl News {
    /// Something may have changed: waiting requests look again.
    pub fn announce(&self) {
        self.generation
            .send_modify(|generation| *generation = generation.wrapping_add(1));
    }

    /// The server is stopping: waiting requests answer now, so that shutdown need not
    /// wait for them.
    pub fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
        self.announce();
    }

    fn is_closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }
}

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

async fn wait_for_keys(
    State(state): State<AppState>,
    query: Result<Query<PushQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, Problem> {
    let Query(query) = query.map_err(|_| {
        Problem::bad_request("lastKeyBundleTag and waitSeconds must be non-negative numbers")
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
    let mut news = state.news.generation.subscribe();
    loop {
        let now = state.now();
        let until = bucket_end(now, state.config.release_bucket_seconds);
        let after = (last_tag_ms / 1000).max(now - RETENTION_SECONDS);
        let tag = until.saturating_mul(1000);
        if after < until && any_released(&state, after, until).await? {
            return Ok(Json(json!({"newKeys": true, "keyBundleTag": tag})));
        }
        if state.news.is_closing() {
            return Ok(Json(json!({"newKeys": false, "keyBundleTag": tag})));
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
                    return Ok(Json(json!({"newKeys": false, "keyBundleTag": tag})));
                }
            }
            () = tokio::time::sleep_until(deadline) => {
                return Ok(Json(json!({"newKeys": false, "keyBundleTag": tag})));
            }
        }
    }
}

/// When the next stored key not yet out (released after `until`) comes out: its release
/// time, rounded up to the end of its release bucket.
async fn next_release(state: &AppState, until: i64) -> Result<Option<i64>, sqlx::Error> {
    let next: Option<(Option<i64>,)> =
        sqlx::query_as("SELECT MIN(release_at) FROM exposed_keys WHERE release_at > $1")
            .bind(until)
            .fetch_optional(state.store.pool())
            .await?;
    let Some(release_at) = next.and_then(|(at,)| at) else {
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
async fn any_released(state: &AppState, after: i64, until: i64) -> Result<bool, sqlx::Error> {
    let oldest_start = messages::retention::first_kept_interval(state.now());
    let found: Option<(i64,)> = sqlx::query_as(
        "SELECT rolling_start FROM exposed_keys \
         WHERE release_at > $1 AND release_at <= $2 AND rolling_start >= $3 LIMIT 1",
    )
    .bind(after)
    .bind(until)
    .bind(oldest_start)
    .fetch_optional(state.store.pool())
    .await?;
    Ok(found.is_some())
}
