//! Venue presence (PROTOCOLS.md §5): encrypted check-in reports in, hourly signed
//! warning packages out. The server never sees a venue, a time or a risk level: reports
//! are opaque ciphertexts that only phones (and venue owners) who scanned the venue's QR
//! code can read. What the server checks is what it can see: sizes, counts, the upload
//! token, and age (it deletes everything 14 days after it arrived).
//!
//! - [`reports`]: `POST /v1/checkins` (a positive visitor's phone, with the same upload
//!   token as its keys) and `POST /v1/venues/warnings` (a venue owner warning on behalf
//!   of their venue, with the token of an authority code); validation and storage.
//! - [`warnings`]: `GET /v1/warnings?since=<hour>`, the reports published since an hour
//!   cursor, as a protobuf `TraceWarningPackage` or as JSON for browsers.
//!
//! Reports are stored with the hour they arrived in (`received_hour`, nothing finer) and
//! published once that hour is over, so that a download never reveals when within the
//! hour an upload came, and every phone sees the same packages.

mod reports;
pub(crate) mod warnings;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

pub use reports::{MAX_CHECK_INS_PER_DAY, MAX_REPORTS_PER_UPLOAD, UPLOAD_DAYS};
pub use warnings::WARNINGS_UNTIL_HEADER;

/// The OpenAPI description of these routes, merged into `/openapi.json` by
/// [`crate::openapi`].
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    reports::upload_check_ins,
    reports::upload_venue_warning,
    warnings::download
))]
pub(crate) struct PresenceDocument;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/checkins", post(reports::upload_check_ins))
        .route("/v1/venues/warnings", post(reports::upload_venue_warning))
        .route("/v1/warnings", get(warnings::download))
}
