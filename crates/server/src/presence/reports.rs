//! `POST /v1/checkins` and `POST /v1/venues/warnings`: protected check-in reports in.
//!
//! Both take `{"checkInProtectedReports":[{"locationIdHash","iv","encryptedCheckInRecord",
//! "mac"}],"fake":0|1}` (base64 fields) with `Authorization: Bearer <upload token>` from
//! `/v1/codes/verify`. A phone's token (from a patient's code) authorises one key upload
//! and one check-in upload, never a venue warning; a venue owner's (from a venue-warning
//! code the authority issued for that purpose, scope `venueWarning`) one venue warning
//! and nothing else. The whole upload is checked before anything is written; one bad
//! report rejects it all.
//!
//! A fake upload (`fake: 1` in the body, or a fake token) runs the same checks and
//! answers the same way, and stores nothing.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use messages::Purpose;
use messages::check_ins::{CheckInUploadRequest, ProtectedReportJson};
use presence::CheckInProtectedReport;
use presence::check_in_report::{
    IV_LENGTH, LOCATION_ID_HASH_LENGTH, MAC_LENGTH, MAX_ENCRYPTED_RECORD_LENGTH,
};

use crate::datastore::floor_to_hour;
use crate::problem::{Problem, ProblemKind};
use crate::state::AppState;
use crate::timing::{self, Endpoint, Kind};
use crate::tokens::{self, SCOPE_EXPOSED, SCOPE_VENUE_WARNING, UploadClaims};

/// A phone keeps at most this many check-ins a day (a shop assistant's busy day), so an
/// honest upload never holds more real reports than this times [`UPLOAD_DAYS`].
pub const MAX_CHECK_INS_PER_DAY: usize = 20;
/// Days an upload may cover: the 14 days of retention and today.
pub const UPLOAD_DAYS: usize = 15;
/// The most reports one `POST /v1/checkins` may carry, fake padding included (a multiple
/// of the phones' padding bucket, so that a full honest upload fits).
pub const MAX_REPORTS_PER_UPLOAD: usize = MAX_CHECK_INS_PER_DAY * UPLOAD_DAYS;
/// The most reports a venue warning may carry: a window of at most 14 days split at
/// midnight gives at most 15 reports, padded to 20.
pub const MAX_REPORTS_PER_VENUE_WARNING: usize = 20;

/// Decodes one base64 field and checks its length, naming the field and the report in
/// the error so that a client developer knows what to fix.
fn field(
    index: usize,
    name: &str,
    text: &str,
    valid: impl Fn(usize) -> bool,
    expected: &str,
) -> Result<Vec<u8>, Problem> {
    let bytes = STANDARD.decode(text.as_bytes()).map_err(|_| {
        Problem::new(
            ProblemKind::InvalidReports,
            format!("report {index}: {name} is not valid base64"),
        )
    })?;
    if !valid(bytes.len()) {
        return Err(Problem::new(
            ProblemKind::InvalidReports,
            format!(
                "report {index}: {name} is {} bytes long; expected {expected}",
                bytes.len()
            ),
        ));
    }
    Ok(bytes)
}

fn decode_report(
    index: usize,
    report: &ProtectedReportJson,
) -> Result<CheckInProtectedReport, Problem> {
    let exactly = |n: usize| move |len: usize| len == n;
    Ok(CheckInProtectedReport {
        location_id_hash: field(
            index,
            "locationIdHash",
            &report.location_id_hash,
            exactly(LOCATION_ID_HASH_LENGTH),
            &LOCATION_ID_HASH_LENGTH.to_string(),
        )?,
        iv: field(
            index,
            "iv",
            &report.iv,
            exactly(IV_LENGTH),
            &IV_LENGTH.to_string(),
        )?,
        encrypted_check_in_record: field(
            index,
            "encryptedCheckInRecord",
            &report.encrypted_check_in_record,
            |len| len > 0 && len % 16 == 0 && len <= MAX_ENCRYPTED_RECORD_LENGTH,
            &format!("a multiple of 16 up to {MAX_ENCRYPTED_RECORD_LENGTH}"),
        )?,
        mac: field(
            index,
            "mac",
            &report.mac,
            exactly(MAC_LENGTH),
            &MAC_LENGTH.to_string(),
        )?,
    })
}

/// Checks a whole upload (count, then every field of every report) and returns the
/// reports to store. Pure, so that every rule is unit-tested.
fn validate_upload(
    request: &CheckInUploadRequest,
    max_reports: usize,
) -> Result<Vec<CheckInProtectedReport>, Problem> {
    let count = request.check_in_protected_reports.len();
    if count == 0 {
        return Err(Problem::new(
            ProblemKind::InvalidReports,
            "checkInProtectedReports is empty (pad with fake reports)",
        ));
    }
    if count > max_reports {
        return Err(Problem::new(
            ProblemKind::InvalidReports,
            format!(
                "an upload holds at most {max_reports} reports ({MAX_CHECK_INS_PER_DAY} a day over {UPLOAD_DAYS} days), not {count}"
            ),
        ));
    }
    if request.fake > 1 {
        return Err(Problem::new(
            ProblemKind::InvalidReports,
            "fake must be 0 or 1",
        ));
    }
    request
        .check_in_protected_reports
        .iter()
        .enumerate()
        .map(|(index, report)| decode_report(index, report))
        .collect()
}

async fn store_reports(
    state: &AppState,
    claims: &UploadClaims,
    purpose: Purpose,
    reports: &[CheckInProtectedReport],
    now: i64,
) -> Result<u64, Problem> {
    let mut transaction = state.store.begin().await?;
    // First write: a replayed token stops here before anything is stored.
    if !transaction
        .record_token_use(&tokens::use_for(state, claims, purpose))
        .await?
    {
        return Err(Problem::new(
            ProblemKind::TokenUsed,
            "this upload token has already been used for this",
        ));
    }
    // The same report uploaded again (a replay with another token) is kept once.
    let inserted = transaction
        .insert_check_in_reports(reports, floor_to_hour(now))
        .await?;
    transaction.commit().await?;
    if state.config.release_bucket_seconds == 0 {
        // Without buckets the current hour's package is published as it fills: the
        // packages built so far no longer hold every report.
        state.warnings.clear();
    }
    Ok(inserted)
}

async fn upload(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Json<CheckInUploadRequest>, JsonRejection>,
    purpose: Purpose,
    max_reports: usize,
) -> Result<(Json<serde_json::Value>, Kind), Problem> {
    let scope = match purpose {
        Purpose::VenueWarning => SCOPE_VENUE_WARNING,
        _ => SCOPE_EXPOSED,
    };
    let claims = tokens::authorize(state, headers, scope).map_err(|problem| {
        if problem.kind() == ProblemKind::TokenScope && purpose == Purpose::VenueWarning {
            Problem::new(
                ProblemKind::TokenScope,
                "a patient's code cannot warn on behalf of a venue: ask the health authority \
                 for a venue-warning code",
            )
        } else {
            problem
        }
    })?;
    let Json(request) = body?;
    let reports = validate_upload(&request, max_reports)?;
    // No log line here: one written by real uploads alone would tell them from fakes.
    let kind = if request.fake == 0 && !claims.is_fake() {
        store_reports(state, &claims, purpose, &reports, state.now()).await?;
        Kind::Real
    } else {
        Kind::Fake
    };
    // Same answer for fake and real uploads.
    Ok((Json(serde_json::json!({})), kind))
}

#[utoipa::path(
    post, path = "/v1/checkins", tag = "presence",
    summary = "Upload a positive visitor's protected check-in reports (same token as the keys; one use)",
    request_body = CheckInUploadRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "stored (nothing for fake: 1)", body = Object),
        (status = 400, description = "malformed reports: base64, sizes, more than 300 reports", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing, invalid or expired token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "token already used for check-ins or of another scope", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "the body is not JSON (Content-Type: application/json)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn upload_check_ins(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<CheckInUploadRequest>, JsonRejection>,
) -> Result<Json<serde_json::Value>, Problem> {
    let start = tokio::time::Instant::now();
    timing::answer_alike(
        &state,
        Endpoint::CheckIns,
        start,
        upload(
            &state,
            &headers,
            body,
            Purpose::CheckIns,
            MAX_REPORTS_PER_UPLOAD,
        ),
    )
    .await
}

#[utoipa::path(
    post, path = "/v1/venues/warnings", tag = "presence",
    summary = "A venue owner warns their guests of one time window (reports made by the owner's client with presence::warn_on_behalf; token from a venue-warning code, never a patient's; at most 20 reports)",
    request_body = CheckInUploadRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "stored (nothing for fake: 1)", body = Object),
        (status = 400, description = "malformed reports", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing, invalid or expired token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "token already used for a venue warning, or not from a venue-warning code", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "the body is not JSON (Content-Type: application/json)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub(super) async fn upload_venue_warning(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<CheckInUploadRequest>, JsonRejection>,
) -> Result<Json<serde_json::Value>, Problem> {
    let start = tokio::time::Instant::now();
    timing::answer_alike(
        &state,
        Endpoint::VenueWarning,
        start,
        upload(
            &state,
            &headers,
            body,
            Purpose::VenueWarning,
            MAX_REPORTS_PER_VENUE_WARNING,
        ),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> ProtectedReportJson {
        ProtectedReportJson {
            location_id_hash: STANDARD.encode([1u8; 32]),
            iv: STANDARD.encode([2u8; 16]),
            encrypted_check_in_record: STANDARD.encode([3u8; 16]),
            mac: STANDARD.encode([4u8; 32]),
        }
    }

    fn request(reports: Vec<ProtectedReportJson>) -> CheckInUploadRequest {
        CheckInUploadRequest {
            check_in_protected_reports: reports,
            fake: 0,
        }
    }

    fn detail(result: Result<Vec<CheckInProtectedReport>, Problem>) -> String {
        format!("{:?}", result.expect_err("must be refused"))
    }

    #[test]
    fn a_well_formed_upload_is_accepted() {
        let reports =
            validate_upload(&request(vec![report(); 10]), MAX_REPORTS_PER_UPLOAD).unwrap();
        assert_eq!(reports.len(), 10);
        assert_eq!(reports[0].mac, vec![4u8; 32]);
    }

    #[test]
    fn every_malformed_field_is_named_in_the_refusal() {
        let mut broken = report();
        broken.iv = "not base64!".into();
        assert!(
            detail(validate_upload(&request(vec![report(), broken]), 300))
                .contains("report 1: iv is not valid base64")
        );
        let mut short = report();
        short.location_id_hash = STANDARD.encode([1u8; 31]);
        assert!(
            detail(validate_upload(&request(vec![short]), 300))
                .contains("locationIdHash is 31 bytes")
        );
        let mut long = report();
        long.encrypted_check_in_record = STANDARD.encode([0u8; 80]);
        assert!(
            detail(validate_upload(&request(vec![long]), 300))
                .contains("encryptedCheckInRecord is 80 bytes")
        );
        let mut odd = report();
        odd.encrypted_check_in_record = STANDARD.encode([0u8; 17]);
        assert!(detail(validate_upload(&request(vec![odd]), 300)).contains("multiple of 16"));
        let mut mac = report();
        mac.mac = STANDARD.encode([0u8; 16]);
        assert!(detail(validate_upload(&request(vec![mac]), 300)).contains("mac is 16 bytes"));
    }

    #[test]
    fn empty_and_oversized_uploads_are_refused() {
        assert!(detail(validate_upload(&request(vec![]), 300)).contains("empty"));
        assert!(
            detail(validate_upload(&request(vec![report(); 301]), 300)).contains("at most 300")
        );
        let mut fake_two = request(vec![report()]);
        fake_two.fake = 2;
        assert!(detail(validate_upload(&fake_two, 300)).contains("fake must be 0 or 1"));
    }
}
