//! Upload tokens: ES256 JWTs that authorise uploads (DP-3T claims), and their single use.
//!
//! An *upload token* (from `/v1/codes/verify`) has `scope: "exposed"`, `onset`
//! (`YYYY-MM-DD`), `fake` (`"0"`/`"1"`), a random `jti`, and lives at most an hour. It
//! authorises one key upload and one check-in upload: each use is recorded per
//! purpose (table `token_uses`) in the same transaction as the data it lets in, and kept
//! until the token expires, so a replay fails even across instances.
//!
//! A *venue-warning token* (from `/v1/codes/verify` with a code issued for a venue
//! warning) has `scope: "venueWarning"` and authorises one venue warning and nothing
//! else; an upload token, from a patient's code, never authorises a venue warning.
//!
//! A *next-day token* (returned by `/v2/gaen/exposed`) has `scope: "currentDayExposed"`
//! and `delayedKeyDate` (the interval number of the day whose key comes tomorrow); it
//! lives until the end of the following day.

use axum::http::{HeaderMap, header};
use exposure::interval::{INTERVAL_SECONDS, INTERVALS_PER_DAY};
use exposure::keys::ReportType;
use messages::Purpose;
use messages::authority::{CodeKind, TestType};
use serde::{Deserialize, Serialize};
use time::Date;

use crate::clock::{date_of, format_date, parse_date};
use crate::datastore::TokenUse;
use crate::problem::{Problem, ProblemKind};
use crate::state::AppState;

/// Scope of tokens from `/v1/codes/verify`.
pub const SCOPE_EXPOSED: &str = "exposed";
/// Scope of tokens from `/v1/codes/verify` for a venue-warning code: only
/// `/v1/venues/warnings` accepts them, and it accepts nothing else.
pub const SCOPE_VENUE_WARNING: &str = "venueWarning";
/// Scope of tokens for `/v1/gaen/exposednextday`.
pub const SCOPE_NEXT_DAY: &str = "currentDayExposed";

/// What a token says. Field names are DP-3T's.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct UploadClaims {
    pub iss: String,
    pub scope: String,
    /// Onset of symptoms (or test date), `YYYY-MM-DD`.
    pub onset: String,
    /// `"1"` for the dummy traffic that hides real uploads, `"0"` otherwise.
    pub fake: String,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
    /// For next-day tokens: the rolling start (interval number) of the delayed key.
    #[serde(
        rename = "delayedKeyDate",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub delayed_key_date: Option<String>,
    /// For upload tokens: unix seconds of the hour the code was issued (the hour only, as
    /// the server stores it), from which the phone's private analytics measure how long
    /// people took to enter their code.
    #[serde(
        rename = "codeIssuedHour",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub code_issued_hour: Option<i64>,
    /// The GAEN report type of the keys this token lets in: 1 for a confirmed test, 2
    /// for a clinical diagnosis (the code's test type). Always written, as one digit, so
    /// that every token of a kind has the same length whatever the diagnosis (a fake's
    /// too); tokens signed before it existed read as confirmed tests.
    #[serde(rename = "reportType", default = "confirmed_test")]
    pub report_type: i32,
}

fn confirmed_test() -> i32 {
    ReportType::ConfirmedTest.to_wire()
}

/// The report type of a code's test type.
pub fn report_type_of(test_type: TestType) -> ReportType {
    match test_type {
        TestType::ConfirmedTest => ReportType::ConfirmedTest,
        TestType::ClinicalDiagnosis => ReportType::ConfirmedClinicalDiagnosis,
    }
}

impl UploadClaims {
    /// Whether this is a dummy request's token.
    pub fn is_fake(&self) -> bool {
        self.fake == "1"
    }

    /// The onset date.
    pub fn onset_date(&self) -> Option<Date> {
        parse_date(&self.onset)
    }

    /// The report type of the keys it lets in; `None` for one a patient's code cannot
    /// give.
    pub fn report_type(&self) -> Option<ReportType> {
        ReportType::from_wire(self.report_type).filter(|report_type| {
            matches!(
                report_type,
                ReportType::ConfirmedTest | ReportType::ConfirmedClinicalDiagnosis
            )
        })
    }
}

/// The scope of the token a code of `kind` is traded for.
pub fn scope_of(kind: CodeKind) -> &'static str {
    match kind {
        CodeKind::Patient => SCOPE_EXPOSED,
        CodeKind::VenueWarning => SCOPE_VENUE_WARNING,
    }
}

/// Signs a new upload token for a code of `kind` (what `/v1/codes/verify` answers with;
/// also used by `openstopcovid bench upload` to mint its tokens up front).
pub fn issue_upload_token(
    state: &AppState,
    kind: CodeKind,
    report_type: ReportType,
    onset: Date,
    code_issued_hour: i64,
    fake: bool,
    now: i64,
) -> String {
    let lifetime = i64::try_from(state.config.token_lifetime_seconds).unwrap_or(3600);
    state.keys.sign_token(&UploadClaims {
        iss: "openstopcovid".to_owned(),
        scope: scope_of(kind).to_owned(),
        onset: format_date(onset),
        fake: if fake { "1" } else { "0" }.to_owned(),
        jti: uuid::Uuid::new_v4().to_string(),
        iat: now,
        exp: now + lifetime,
        delayed_key_date: None,
        code_issued_hour: Some(code_issued_hour),
        report_type: report_type.to_wire(),
    })
}

/// Signs the token that lets the phone upload the key of the day starting at interval
/// `delayed_key_date` once that day is over. Same onset and fakeness as `upload`.
pub(crate) fn issue_next_day_token(
    state: &AppState,
    upload: &UploadClaims,
    delayed_key_date: u32,
    now: i64,
) -> String {
    let day_end = i64::from(delayed_key_date + INTERVALS_PER_DAY) * INTERVAL_SECONDS as i64;
    state.keys.sign_token(&UploadClaims {
        iss: "openstopcovid".to_owned(),
        scope: SCOPE_NEXT_DAY.to_owned(),
        onset: upload.onset.clone(),
        fake: upload.fake.clone(),
        // Derived from the upload token's: an upload sent again (its first answer lost)
        // gets a next-day token that is spent with the first one, not a second one.
        jti: hex::encode(state.keys.keyed_hash("next-day-jti", upload.jti.as_bytes())),
        iat: now,
        // Valid through the whole next day, whatever the phone's time zone.
        exp: day_end + 86_400,
        delayed_key_date: Some(delayed_key_date.to_string()),
        code_issued_hour: None,
        report_type: upload.report_type,
    })
}

/// The bearer credential of a request, if any.
/// The credentials of `Authorization: Bearer …`; the scheme is case-insensitive
/// (RFC 9110 §11.1), so `bearer` and `BEARER` are read too.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credentials) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credentials.trim())
        .filter(|credentials| !credentials.is_empty())
}

/// Checks the bearer token of a request: signature, expiry and scope.
pub fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    scope: &str,
) -> Result<UploadClaims, Problem> {
    let token = bearer(headers).ok_or_else(|| {
        Problem::new(
            ProblemKind::InvalidToken,
            "an upload token is required (Authorization: Bearer …)",
        )
    })?;
    let claims: UploadClaims = state
        .keys
        .verify_token(token)
        .map_err(|_| Problem::new(ProblemKind::InvalidToken, "the upload token is not valid"))?;
    if claims.exp <= state.now() {
        return Err(Problem::new(
            ProblemKind::InvalidToken,
            "the upload token has expired",
        ));
    }
    if claims.scope != scope {
        return Err(Problem::new(
            ProblemKind::TokenScope,
            "the upload token does not allow this request",
        ));
    }
    if claims.onset_date().is_none()
        || claims.report_type().is_none()
        || !matches!(claims.fake.as_str(), "0" | "1")
    {
        return Err(Problem::new(
            ProblemKind::InvalidToken,
            "the upload token is not valid",
        ));
    }
    Ok(claims)
}

/// The use of `claims` for `purpose`, to record in the transaction that stores the upload
/// (see `crate::datastore::tokens`): a token is spent once per purpose.
///
/// Nothing in the row links it to the token's other uses (issue 14, item 6): its id is a
/// keyed hash of the token's `jti` *and* the purpose, so a patient's key upload and
/// check-in upload leave two unrelated ids, and the expiry is rounded up to the hour, so
/// it does not date the code check to the second (the row is still kept until the token
/// has expired, which is all replay protection needs).
pub fn use_for(state: &AppState, claims: &UploadClaims, purpose: Purpose) -> TokenUse {
    let id = state.keys.keyed_hash(
        "token-use",
        format!("{}\0{}", purpose.as_str(), claims.jti).as_bytes(),
    );
    TokenUse {
        id: hex::encode(id),
        purpose,
        expires_at: ceil_to_hour(claims.exp),
    }
}

/// `unix_seconds` rounded up to the next hour (unchanged on an hour).
pub(crate) fn ceil_to_hour(unix_seconds: i64) -> i64 {
    crate::datastore::floor_to_hour(unix_seconds.saturating_add(3599))
}

/// Days from the onset date to a key's day (negative before the onset).
pub(crate) fn days_since_onset(claims: &UploadClaims, key_start_seconds: i64) -> Option<i32> {
    let onset = claims.onset_date()?;
    i32::try_from((date_of(key_start_seconds) - onset).whole_days()).ok()
}
