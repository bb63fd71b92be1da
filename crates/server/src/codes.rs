//! Authority codes (PROTOCOLS.md §3): health authorities issue one-time codes; a patient's
//! phone trades a code for an upload token.
//!
//! - A code is 12 decimal digits: 11 random digits and a Verhoeff check digit. Verhoeff
//!   (rather than Luhn) catches every single-digit error *and* every swap of two adjacent
//!   digits, so [`messages::code::is_well_formed`] lets a phone refuse a mistyped code
//!   offline.
//! - Codes are stored only as HMAC-SHA256 under the server's secret; the clear code is
//!   shown once, in the answer to the authority. Looking a guess up by its keyed hash tells
//!   a guesser nothing through timing: without the secret, hashes of nearby guesses are
//!   unrelated.
//! - Redemption is one conditional `UPDATE … RETURNING`: of any number of concurrent
//!   requests with the same code, exactly one gets a token.
//! - Guessing defence: a per-client limit (clients told apart by a salted hash of their IP
//!   address, kept in memory only, never stored or logged) and a global budget of failed
//!   checks per hour; over either, 429. 11 random digits against at most a few hundred
//!   thousand live codes leave a guesser odds of about 1 in 400,000 per try.
//! - Fake checks (`"fake": true`) run the same path, read instead of write, and answer
//!   200 with a token marked `fake: "1"`, of the same size, after the same minimum time.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use messages::code::{self, CODE_DIGITS};
use rand::RngExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use crate::clock::{date_of, format_date, parse_date};
use crate::metrics::Metrics;
use crate::problem::Problem;
use crate::state::{AppState, with_minimum_duration};
use crate::store::floor_to_hour;
use crate::tokens::{self, bearer};

/// How far back an onset date may lie, in days (older keys are not kept anyway).
pub const MAX_ONSET_AGE_DAYS: i64 = 14;

/// A fresh random code.
fn generate_code() -> String {
    let mut rng = rand::rng();
    let mut digits: Vec<u8> = (0..CODE_DIGITS - 1)
        .map(|_| rng.random_range(0..10u8))
        .collect();
    digits.push(code::check_digit(&digits));
    digits
        .iter()
        .map(|digit| char::from(b'0' + digit))
        .collect()
}

/// HMAC-SHA256 of a code under the server's secret: all that is stored of it.
fn code_hmac(secret: &[u8; 32], code: &str) -> Vec<u8> {
    let mut mac =
        <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(code.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn rfc3339(unix_seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix_seconds)
        .ok()
        .and_then(|time| {
            time.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/authority/codes", post(issue))
        .route("/v1/authority/codes/{id}", get(status))
        .route("/v1/codes/verify", post(verify))
}

// ----- authority API keys -----

/// Prefix of authority API keys, so that a leaked key is recognisable in scanners.
pub const API_KEY_PREFIX: &str = "osc_";

fn api_key_hash(key: &str) -> Vec<u8> {
    Sha256::digest(key.as_bytes()).to_vec()
}

/// Creates an authority API key named `name`; returns the key, which is stored only as
/// its SHA-256 (the key is 256 random bits, so a plain hash cannot be brute-forced).
pub async fn create_api_key(
    store: &crate::store::Store,
    name: &str,
    now: i64,
) -> Result<String, sqlx::Error> {
    let mut secret = [0u8; 32];
    rand::fill(&mut secret);
    let key = format!("{API_KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(secret));
    sqlx::query(
        "INSERT INTO authority_api_keys (id, name, key_hash, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(name)
    .bind(api_key_hash(&key))
    .bind(now)
    .execute(store.pool())
    .await?;
    Ok(key)
}

/// The id of the authority API key presented as `Authorization: Bearer …`.
pub(crate) async fn authenticate_authority(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<String, Problem> {
    let unauthorized =
        || Problem::unauthorized("an authority API key is required (Authorization: Bearer …)");
    let key = bearer(headers).ok_or_else(unauthorized)?;
    if !key.starts_with(API_KEY_PREFIX) || key.len() > 128 {
        return Err(unauthorized());
    }
    let hash = api_key_hash(key);
    let row: Option<(String, Vec<u8>)> = sqlx::query_as(
        "SELECT id, key_hash FROM authority_api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
    )
    .bind(&hash)
    .fetch_optional(state.store.pool())
    .await?;
    match row {
        Some((id, stored)) if bool::from(stored.ct_eq(&hash)) => Ok(id),
        _ => Err(unauthorized()),
    }
}

// ----- issuing and status -----

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct IssueRequest {
    onset_date: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IssuedCode {
    id: String,
    code: String,
    expires_at: String,
}

async fn issue(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<IssueRequest>, JsonRejection>,
) -> Result<Response, Problem> {
    let authority = authenticate_authority(&state, &headers).await?;
    let Json(request) = body?;
    let issued = issue_code(&state, &authority, request.onset_date.as_deref())
        .await
        .map_err(|error| match error {
            IssueError::InvalidOnset(detail) => Problem::bad_request(detail),
            IssueError::Database(error) => Problem::from(error),
            IssueError::NoFreshCode => Problem::internal(&"could not draw a fresh code"),
        })?;
    let body = IssuedCode {
        id: issued.id,
        code: issued.code,
        expires_at: rfc3339(issued.expires_at),
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// A code just issued: the only moment its digits exist outside the patient's hands.
pub struct NewCode {
    pub id: String,
    /// The 12 digits, to show once.
    pub code: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Why no code was issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("{0}")]
    InvalidOnset(&'static str),
    #[error("could not draw a fresh code")]
    NoFreshCode,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// Issues a code on behalf of `issuer` (an API key id, or `user:<id>` for a physician
/// signed in to the web UI), with an optional onset date `YYYY-MM-DD`. The one place
/// codes are made: the API and the web UI both call it.
pub async fn issue_code(
    state: &AppState,
    issuer: &str,
    onset_date: Option<&str>,
) -> Result<NewCode, IssueError> {
    let now = state.now();
    let onset = match onset_date {
        None => None,
        Some(text) => {
            let date = parse_date(text).ok_or(IssueError::InvalidOnset(
                "onsetDate must be a date YYYY-MM-DD",
            ))?;
            let today = date_of(now);
            if date > today {
                return Err(IssueError::InvalidOnset("onsetDate is in the future"));
            }
            if (today - date).whole_days() > MAX_ONSET_AGE_DAYS {
                return Err(IssueError::InvalidOnset(
                    "onsetDate is more than 14 days ago",
                ));
            }
            Some(format_date(date))
        }
    };
    let expires_at =
        now + i64::try_from(state.config.code_lifetime_seconds).unwrap_or(i64::MAX / 2);
    let id = uuid::Uuid::new_v4().to_string();
    // A collision with a live code has odds of about 1 in 10^6 at most; retry a few times.
    for _ in 0..5 {
        let code = generate_code();
        let inserted = sqlx::query(
            "INSERT INTO codes (id, code_hmac, onset_date, issued_by, created_hour, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (code_hmac) DO NOTHING",
        )
        .bind(&id)
        .bind(code_hmac(state.keys.code_secret(), &code))
        .bind(onset.as_deref())
        .bind(issuer)
        .bind(floor_to_hour(now))
        .bind(expires_at)
        .execute(state.store.pool())
        .await?;
        if inserted.rows_affected() == 1 {
            state.metrics.codes_issued.inc();
            return Ok(NewCode {
                id,
                code,
                expires_at,
            });
        }
    }
    Err(IssueError::NoFreshCode)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CodeStatus {
    id: String,
    status: &'static str,
    expires_at: String,
}

async fn status(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<CodeStatus>, Problem> {
    authenticate_authority(&state, &headers).await?;
    let row: Option<(i64, Option<i64>)> =
        sqlx::query_as("SELECT expires_at, used_hour FROM codes WHERE id = $1")
            .bind(&id)
            .fetch_optional(state.store.pool())
            .await?;
    let (expires_at, used_hour) = row.ok_or_else(|| Problem::not_found("no code with this id"))?;
    let status = if used_hour.is_some() {
        "used"
    } else if expires_at <= state.now() {
        "expired"
    } else {
        "unused"
    };
    Ok(Json(CodeStatus {
        id,
        status,
        expires_at: rfc3339(expires_at),
    }))
}

// ----- verification -----

/// `fake` as DP-3T clients send it: a boolean, or 0/1.
#[derive(Deserialize, Clone, Copy)]
#[serde(untagged)]
enum FakeFlag {
    Bool(bool),
    Number(u8),
}

impl FakeFlag {
    fn is_fake(self) -> Result<bool, Problem> {
        match self {
            FakeFlag::Bool(value) => Ok(value),
            FakeFlag::Number(0) => Ok(false),
            FakeFlag::Number(1) => Ok(true),
            FakeFlag::Number(_) => Err(Problem::bad_request("fake must be true, false, 0 or 1")),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyRequest {
    code: String,
    fake: Option<FakeFlag>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AccessToken {
    access_token: String,
}

async fn verify(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Result<Json<VerifyRequest>, JsonRejection>,
) -> Result<Json<AccessToken>, Problem> {
    let start = tokio::time::Instant::now();
    with_minimum_duration(&state, start, verify_inner(&state, peer, body)).await
}

async fn verify_inner(
    state: &AppState,
    peer: SocketAddr,
    body: Result<Json<VerifyRequest>, JsonRejection>,
) -> Result<Json<AccessToken>, Problem> {
    let now = state.now();
    if !state.verify_limiter.admit(peer, now) {
        Metrics::count(&state.metrics.code_verifications, "outcome", "rate_limited");
        return Err(Problem::too_many_requests(
            "too many code checks from this client; wait a minute",
        ));
    }
    if state.verify_limiter.failure_budget_exhausted(now) {
        Metrics::count(&state.metrics.code_verifications, "outcome", "rate_limited");
        return Err(Problem::too_many_requests(
            "too many failed code checks on this server; try again later",
        ));
    }
    let Json(request) = body?;
    let fake = request.fake.map_or(Ok(false), FakeFlag::is_fake)?;
    let code = code::normalize(&request.code);
    let hmac = code_hmac(state.keys.code_secret(), &code);
    let onset: Option<Option<String>> = if fake {
        // Same lookup as a real check, but reading: a fake check changes nothing.
        sqlx::query_scalar::<_, Option<String>>("SELECT onset_date FROM codes WHERE code_hmac = $1 AND used_hour IS NULL AND expires_at > $2")
            .bind(&hmac)
            .bind(now)
            .fetch_optional(state.store.pool())
            .await?;
        Some(None)
    } else if !code::is_well_formed(&code) {
        None
    } else {
        sqlx::query_scalar(
            "UPDATE codes SET used_hour = $1 WHERE code_hmac = $2 AND used_hour IS NULL AND expires_at > $3 \
             RETURNING onset_date",
        )
        .bind(floor_to_hour(now))
        .bind(&hmac)
        .bind(now)
        .fetch_optional(state.store.pool())
        .await?
    };
    let Some(onset) = onset else {
        state.verify_limiter.record_failure(now);
        Metrics::count(&state.metrics.code_verifications, "outcome", "rejected");
        return Err(Problem::not_found(
            "this code is unknown, already used or expired",
        ));
    };
    // Without a known onset, DP-3T counts from the day of the check; fakes do the same
    // so that their tokens look alike.
    let onset = onset
        .and_then(|text| parse_date(&text))
        .unwrap_or_else(|| date_of(now));
    Metrics::count(
        &state.metrics.code_verifications,
        "outcome",
        if fake { "fake" } else { "accepted" },
    );
    Ok(Json(AccessToken {
        access_token: tokens::issue_upload_token(state, onset, fake, now),
    }))
}

/// In-memory guessing defence for code checks.
///
/// Clients are keyed by a truncated SHA-256 of a per-process random salt and their IP
/// address: the map never holds an address, and the salt dies with the process. A fixed
/// one-minute window (the map is emptied each minute) bounds memory by the clients of
/// one minute; a `std::sync::Mutex` suffices because the critical section never awaits.
pub(crate) struct VerifyLimiter {
    per_client_per_minute: u32,
    failures_per_hour: u32,
    salt: [u8; 16],
    windows: Mutex<LimiterWindows>,
}

#[derive(Default)]
struct LimiterWindows {
    minute: i64,
    clients: HashMap<[u8; 16], u32>,
    hour: i64,
    failures: u32,
}

/// Most clients tracked in one minute; beyond it, new clients are refused until the
/// window turns (a flood of addresses must not exhaust memory).
const MAX_TRACKED_CLIENTS: usize = 1_000_000;

impl VerifyLimiter {
    pub(crate) fn new(per_client_per_minute: u32, failures_per_hour: u32) -> Self {
        let mut salt = [0u8; 16];
        rand::fill(&mut salt);
        Self {
            per_client_per_minute,
            failures_per_hour,
            salt,
            windows: Mutex::new(LimiterWindows::default()),
        }
    }

    fn client_key(&self, peer: SocketAddr) -> [u8; 16] {
        let mut hasher = Sha256::new();
        hasher.update(self.salt);
        match peer.ip() {
            std::net::IpAddr::V4(ip) => hasher.update(ip.octets()),
            // One IPv6 user usually holds a whole /64: limit by prefix.
            std::net::IpAddr::V6(ip) => hasher.update(&ip.octets()[..8]),
        }
        let digest = hasher.finalize();
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        key
    }

    /// Counts one check by `peer`; false when the client is over its limit.
    pub(crate) fn admit(&self, peer: SocketAddr, now: i64) -> bool {
        let key = self.client_key(peer);
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let minute = now.div_euclid(60);
        if windows.minute != minute {
            windows.minute = minute;
            windows.clients.clear();
        }
        let tracked = windows.clients.len();
        match windows.clients.get_mut(&key) {
            Some(count) if *count >= self.per_client_per_minute => false,
            Some(count) => {
                *count += 1;
                true
            }
            None if tracked >= MAX_TRACKED_CLIENTS => false,
            None => {
                windows.clients.insert(key, 1);
                true
            }
        }
    }

    fn current_failures(windows: &mut LimiterWindows, now: i64) -> &mut u32 {
        let hour = now.div_euclid(3600);
        if windows.hour != hour {
            windows.hour = hour;
            windows.failures = 0;
        }
        &mut windows.failures
    }

    pub(crate) fn failure_budget_exhausted(&self, now: i64) -> bool {
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *Self::current_failures(&mut windows, now) >= self.failures_per_hour
    }

    pub(crate) fn record_failure(&self, now: i64) {
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let failures = Self::current_failures(&mut windows, now);
        *failures = failures.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_are_well_formed() {
        for _ in 0..1000 {
            let generated = generate_code();
            assert!(code::is_well_formed(&generated), "{generated}");
        }
    }

    #[test]
    fn limiter_counts_per_client_per_minute_and_failures_per_hour() {
        let limiter = VerifyLimiter::new(2, 3);
        let alice: SocketAddr = "192.0.2.1:5000".parse().unwrap();
        let alice_other_port: SocketAddr = "192.0.2.1:6000".parse().unwrap();
        let bob: SocketAddr = "192.0.2.2:5000".parse().unwrap();
        assert!(limiter.admit(alice, 60));
        assert!(limiter.admit(alice_other_port, 61));
        assert!(!limiter.admit(alice, 62));
        assert!(limiter.admit(bob, 62));
        assert!(limiter.admit(alice, 120), "a new minute resets the window");

        for _ in 0..3 {
            assert!(!limiter.failure_budget_exhausted(3600));
            limiter.record_failure(3600);
        }
        assert!(limiter.failure_budget_exhausted(3601));
        assert!(!limiter.failure_budget_exhausted(7200));
    }
}
