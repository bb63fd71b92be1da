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
//! - Guessing defence ([`crate::rate_limit`]): a per-client rate and a per-network budget
//!   of failed checks, both sliding; over either, 429 with `Retry-After`. No server-wide
//!   budget: nobody can stop patients elsewhere from reporting. SECURITY.md works out the
//!   expected time to guess a code.
//! - Fake checks (`"fake": true`) run the same checks, touch no row, and answer 200 with a
//!   token marked `fake: "1"`, of the same size, in the same time ([`crate::timing`]).

use std::net::IpAddr;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};
use messages::authority::{
    AccessToken, CodeKind, CodeStatus, IssueCodeRequest, IssuedCode, TestType, VerifyRequest,
};
use messages::code::{self, CODE_DIGITS};
use rand::RngExt;
use sha2::{Digest, Sha256};
use time::{Date, OffsetDateTime};

use crate::client_address::ClientAddress;
use crate::clock::{date_of, format_date, parse_date};
use crate::datastore::codes::{NewCodeRow, RedeemedCode};
use crate::datastore::{DatastoreError, Store, floor_to_hour};
use crate::metrics::Metrics;
use crate::problem::{Problem, ProblemKind};
use crate::rate_limit::Refusal;
use crate::state::AppState;
use crate::timing::{self, Endpoint, Kind};
use crate::tokens::{self, bearer};

/// How far back an onset or test date may lie, in days (older keys are not kept anyway).
pub const MAX_ONSET_AGE_DAYS: i64 = messages::retention::DAYS as i64;

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
pub async fn create_api_key(store: &Store, name: &str, now: i64) -> Result<String, DatastoreError> {
    let mut secret = [0u8; 32];
    rand::fill(&mut secret);
    let key = format!("{API_KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(secret));
    store
        .insert_api_key(
            &uuid::Uuid::new_v4().to_string(),
            name,
            &api_key_hash(&key),
            now,
        )
        .await?;
    Ok(key)
}

/// The id of the authority API key presented as `Authorization: Bearer …`.
pub(crate) async fn authenticate_authority(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<String, Problem> {
    let unauthorized = || {
        Problem::new(
            ProblemKind::InvalidApiKey,
            "an authority API key is required (Authorization: Bearer …)",
        )
    };
    let key = bearer(headers).ok_or_else(unauthorized)?;
    if !key.starts_with(API_KEY_PREFIX) || key.len() > 128 {
        return Err(unauthorized());
    }
    // Looked up by its hash: why that needs no constant-time comparison after it is said
    // at `Store::live_api_key_id`.
    state
        .store
        .live_api_key_id(&api_key_hash(key))
        .await?
        .ok_or_else(unauthorized)
}

// ----- issuing and status -----

#[utoipa::path(
    post, path = "/v1/authority/codes", tag = "codes",
    summary = "Issue a one-time code (12 digits, Verhoeff check digit)",
    request_body = IssueCodeRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "issued", body = IssuedCode),
        (status = 400, description = "bad onset or test date (each a day of the last 14, in the server's time_zone), or bad body (dates and testType are for patient codes only)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or unknown API key", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "the body is not JSON (Content-Type: application/json)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn issue(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<Response, Problem> {
    let authority = authenticate_authority(&state, &headers).await?;
    let request: IssueCodeRequest = crate::problem::object_body(body)?;
    let kind = request.kind.unwrap_or_default();
    let wanted = CodeRequest {
        kind,
        test_type: request.test_type,
        symptom_date: request.onset_date.as_deref(),
        test_date: request.test_date.as_deref(),
    };
    let issued = issue_code(&state, &authority, &wanted)
        .await
        .map_err(|error| match error {
            IssueError::InvalidDate { .. } | IssueError::PatientOnly(_) => {
                Problem::new(ProblemKind::InvalidOnsetDate, error.to_string())
            }
            IssueError::Database(error) => Problem::from(error),
            IssueError::NoFreshCode => Problem::internal(&"could not draw a fresh code"),
        })?;
    let body = IssuedCode {
        id: issued.id,
        code: issued.code,
        expires_at: rfc3339(issued.expires_at),
        kind,
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

/// What a code is issued for.
#[derive(Clone, Copy, Debug, Default)]
pub struct CodeRequest<'a> {
    pub kind: CodeKind,
    /// Patient codes only; a confirmed test when absent.
    pub test_type: Option<TestType>,
    /// Onset of symptoms, `YYYY-MM-DD`; patient codes only.
    pub symptom_date: Option<&'a str>,
    /// The day of the test, `YYYY-MM-DD`; patient codes only.
    pub test_date: Option<&'a str>,
}

/// The two dates a patient's code may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateField {
    SymptomOnset,
    Test,
}

impl DateField {
    /// Its name in the API's body.
    pub fn wire_name(self) -> &'static str {
        match self {
            DateField::SymptomOnset => "onsetDate",
            DateField::Test => "testDate",
        }
    }
}

/// Why no code was issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// A date that is not a day of the last [`MAX_ONSET_AGE_DAYS`] days (in the server's
    /// `time_zone`), or not a date.
    #[error("{} {problem}", field.wire_name())]
    InvalidDate {
        field: DateField,
        problem: &'static str,
    },
    /// A date or a test type for a venue-warning code.
    #[error("{0} is for patient codes only")]
    PatientOnly(&'static str),
    #[error("could not draw a fresh code")]
    NoFreshCode,
    #[error(transparent)]
    Database(#[from] DatastoreError),
}

/// When a code issued at `now` expires: after `lifetime_seconds`, rounded up to the
/// next full hour. The code's row sits next to its issuer, so it keeps no time finer
/// than an hour (its issue hour is `created_hour`); the code lives at most an hour
/// longer than configured, never shorter, and its expiry is still enforced exactly at the
/// stored time.
pub fn code_expiry(now: i64, lifetime_seconds: u64) -> i64 {
    let exact = now.saturating_add(i64::try_from(lifetime_seconds).unwrap_or(i64::MAX / 2));
    floor_to_hour(exact.saturating_add(3599))
}

/// `text` as a day of the last [`MAX_ONSET_AGE_DAYS`] days up to `today`.
fn recent_date(field: DateField, text: &str, today: Date) -> Result<Date, IssueError> {
    let invalid = |problem| IssueError::InvalidDate { field, problem };
    let date = parse_date(text.trim()).ok_or(invalid("must be a date YYYY-MM-DD"))?;
    if date > today {
        return Err(invalid("is in the future"));
    }
    if (today - date).whole_days() > MAX_ONSET_AGE_DAYS {
        return Err(invalid("is more than 14 days ago"));
    }
    Ok(date)
}

/// Issues a code on behalf of `issuer` (an API key id, or `user:<id>` for a physician
/// signed in to the web UI). The one place codes are made: the API and the web UI both
/// call it.
///
/// A patient's code carries the day their infection is counted from, which sets the
/// `days_since_onset` of the keys they upload: the onset of symptoms when known, else the
/// day of the test (a patient without symptoms), else none (the phone's check day then
/// stands in, as DP-3T does). Both dates must be days of the last
/// [`MAX_ONSET_AGE_DAYS`] days in the server's `time_zone`, where the physician is.
pub async fn issue_code(
    state: &AppState,
    issuer: &str,
    request: &CodeRequest<'_>,
) -> Result<NewCode, IssueError> {
    let now = state.now();
    let kind = request.kind;
    if kind != CodeKind::Patient {
        let patient_only = [
            (request.symptom_date.is_some(), "onsetDate"),
            (request.test_date.is_some(), "testDate"),
            (request.test_type.is_some(), "testType"),
        ];
        if let Some((_, name)) = patient_only.iter().find(|(given, _)| *given) {
            return Err(IssueError::PatientOnly(name));
        }
    }
    let today = crate::web::local_time::local_date(&state.time_zone, now);
    let symptom_onset = request
        .symptom_date
        .map(|text| recent_date(DateField::SymptomOnset, text, today))
        .transpose()?;
    let test_day = request
        .test_date
        .map(|text| recent_date(DateField::Test, text, today))
        .transpose()?;
    let onset = symptom_onset.or(test_day).map(format_date);
    let test_type = request.test_type.unwrap_or_default();
    let expires_at = code_expiry(now, state.config.code_lifetime_seconds);
    let id = uuid::Uuid::new_v4().to_string();
    // A collision with a live code has odds of about 1 in 10^6 at most; retry a few times.
    for _ in 0..5 {
        let code = generate_code();
        let inserted = state
            .store
            .insert_code(&NewCodeRow {
                id: &id,
                code_hmac: &code_hmac(state.keys.code_secret(), &code),
                kind,
                onset_date: onset.as_deref(),
                test_type,
                issued_by: issuer,
                created_hour: floor_to_hour(now),
                expires_at,
            })
            .await?;
        if inserted {
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

#[utoipa::path(
    get, path = "/v1/authority/codes/{id}", tag = "codes",
    summary = "Status of a code this API key issued",
    params(("id" = String, Path, description = "the id given when the code was issued")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "status", body = CodeStatus),
        (status = 401, description = "missing or unknown API key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such code issued by this API key", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn status(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<CodeStatus>, Problem> {
    let authority = authenticate_authority(&state, &headers).await?;
    // A key sees its own codes only: another key's code is as unknown as no code.
    let code = state
        .store
        .code_issued_by(&id, &authority)
        .await?
        .ok_or_else(|| {
            Problem::new(
                ProblemKind::UnknownCodeId,
                "no code with this id issued by this API key",
            )
        })?;
    Ok(Json(CodeStatus {
        id,
        status: code.status(state.now()),
        expires_at: rfc3339(code.expires_at),
    }))
}

// ----- verification -----

#[utoipa::path(
    post, path = "/v1/codes/verify", tag = "codes",
    summary = "Trade a code for an upload token (ES256 JWT, at most 60 minutes)",
    request_body = VerifyRequest,
    responses(
        (status = 200, description = "token", body = AccessToken),
        (status = 400, description = "malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "unknown, used or expired code", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "too many checks from this client, or too many failed ones from its network; see `Retry-After`", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "seconds to wait"))),
        (status = 415, description = "the body is not JSON (Content-Type: application/json)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn verify(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    body: Result<Json<VerifyRequest>, JsonRejection>,
) -> Result<Response, Problem> {
    let start = tokio::time::Instant::now();
    let refused = match state.verify_limiter.admit(client) {
        Ok(()) => None,
        Err(refusal) => {
            Metrics::count(&state.metrics.code_verifications, "outcome", "rate_limited");
            Some(refusal)
        }
    };
    if let Some(refusal) = refused {
        let detail = match refusal {
            Refusal::Client { .. } => {
                "too many code checks from this client; try again after Retry-After seconds"
            }
            Refusal::Network { .. } => {
                "too many failed code checks from this network; try again after Retry-After seconds (or from another network)"
            }
        };
        let mut response = Problem::new(ProblemKind::TooManyCodeChecks, detail).into_response();
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(refusal.retry_after_seconds()),
        );
        return Ok(response);
    }
    timing::answer_alike(
        &state,
        Endpoint::Verify,
        start,
        verify_inner(&state, client, body),
    )
    .await
    .map(|token| {
        let mut response = token.into_response();
        no_store(&mut response);
        response
    })
}

/// Answers that carry a code or a token must not stay in any cache.
pub(crate) fn no_store(response: &mut Response) {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

async fn verify_inner(
    state: &AppState,
    client: IpAddr,
    body: Result<Json<VerifyRequest>, JsonRejection>,
) -> Result<(Json<AccessToken>, Kind), Problem> {
    let now = state.now();
    let Json(request) = body?;
    let fake = match request.fake {
        None => false,
        Some(flag) => flag.is_fake().ok_or_else(|| {
            Problem::new(
                ProblemKind::MalformedBody,
                "fake must be true, false, 0 or 1",
            )
        })?,
    };
    let code = code::normalize(&request.code);
    let hmac = code_hmac(state.keys.code_secret(), &code);
    let well_formed = code::is_well_formed(&code);
    let redeemed: Option<RedeemedCode> = if fake {
        // A fake changes nothing and reads nothing: it answers when a real check would
        // (`crate::timing`), which a lookup of its own would only make later. Its token
        // claims this hour as the code's, so that it looks like a real one.
        Some(RedeemedCode {
            kind: CodeKind::Patient,
            onset_date: None,
            test_type: TestType::ConfirmedTest,
            created_hour: floor_to_hour(now),
        })
    } else if !well_formed {
        None
    } else {
        state
            .store
            .redeem_code(&hmac, floor_to_hour(now), now)
            .await?
    };
    let Some(redeemed) = redeemed else {
        // A typo (caught by the check digit) cannot match any code: it is no guess, and
        // spends only the client's own rate, not its network's failure budget.
        if well_formed {
            state.verify_limiter.record_failure(client);
        }
        Metrics::count(&state.metrics.code_verifications, "outcome", "rejected");
        return Err(Problem::new(
            ProblemKind::CodeRejected,
            "this code is unknown, already used or expired",
        ));
    };
    // Without a known onset, DP-3T counts from the day of the check; fakes do the same
    // so that their tokens look alike.
    let onset = redeemed
        .onset_date
        .and_then(|text| parse_date(&text))
        .unwrap_or_else(|| date_of(now));
    // Fake checks are counted as accepted: nothing public tells them apart.
    Metrics::count(&state.metrics.code_verifications, "outcome", "accepted");
    Ok((
        Json(AccessToken {
            access_token: tokens::issue_upload_token(
                state,
                redeemed.kind,
                tokens::report_type_of(redeemed.test_type),
                onset,
                redeemed.created_hour,
                fake,
                now,
            ),
        }),
        if fake { Kind::Fake } else { Kind::Real },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_expiries_are_whole_hours_never_before_the_lifetime() {
        let issued = 1_800_000_123;
        let expiry = code_expiry(issued, 86_400);
        assert_eq!(expiry % 3600, 0);
        assert!(expiry >= issued + 86_400 && expiry < issued + 86_400 + 3600);
        assert_eq!(code_expiry(1_800_003_600, 3600), 1_800_007_200);
    }

    #[test]
    fn generated_codes_are_well_formed() {
        for _ in 0..1000 {
            let generated = generate_code();
            assert!(code::is_well_formed(&generated), "{generated}");
        }
    }
}
