//! Every error answer, in one place: RFC 9457 `application/problem+json` documents.
//!
//! Handlers return `Result<_, Problem>`; a `Problem` carries the status, a short title
//! and a human-readable `detail`. Details never carry codes, tokens or keys, and
//! problems are never logged with request data.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Media type of problem documents.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// A URI naming the kind of problem; `about:blank` means "see the status code".
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
}

impl Problem {
    fn new(
        status: StatusCode,
        kind: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            title,
            status: status.as_u16(),
            detail: detail.into(),
        }
    }

    /// 400: the request is malformed or breaks a rule of the protocol.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "about:blank",
            "Bad Request",
            detail,
        )
    }

    /// 401: missing or invalid credentials (API key or upload token).
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "about:blank",
            "Unauthorized",
            detail,
        )
    }

    /// 403: valid credentials that do not allow this request (wrong scope, reused token).
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "about:blank", "Forbidden", detail)
    }

    /// 404: nothing here (also: unknown, used or expired code).
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "about:blank", "Not Found", detail)
    }

    /// 413: the body is larger than the route accepts.
    pub fn payload_too_large(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "about:blank",
            "Payload Too Large",
            detail,
        )
    }

    /// 415: the body is not JSON.
    pub fn unsupported_media_type(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "about:blank",
            "Unsupported Media Type",
            detail,
        )
    }

    /// 429: too many requests from this client, or too many failures overall.
    pub fn too_many_requests(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "about:blank",
            "Too Many Requests",
            detail,
        )
    }

    /// 500: our fault. The cause goes to the log (without request data), not to the client.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "about:blank",
            "Internal Server Error",
            "the server failed to handle the request; it has been logged",
        )
    }

    /// 503: the store is unreachable.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "about:blank",
            "Service Unavailable",
            detail,
        )
    }

    /// The HTTP status of this problem.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self).unwrap_or_else(|_| b"{}".to_vec());
        let mut response = (self.status(), body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response
    }
}

/// The one place a datastore failure becomes an answer: the cause is logged (it never
/// carries request data), the client learns only that it was our fault, or that the
/// server is stopping.
impl From<crate::datastore::DatastoreError> for Problem {
    fn from(error: crate::datastore::DatastoreError) -> Self {
        match error {
            crate::datastore::DatastoreError::WriterStopped => {
                Problem::unavailable("the server is shutting down")
            }
            crate::datastore::DatastoreError::Database(_) => Problem::internal(&error),
        }
    }
}

/// JSON body extraction failures (syntax, types, size, content type) as problems.
impl From<axum::extract::rejection::JsonRejection> for Problem {
    fn from(rejection: axum::extract::rejection::JsonRejection) -> Self {
        use axum::extract::rejection::JsonRejection;
        match rejection {
            JsonRejection::MissingJsonContentType(_) => Problem::unsupported_media_type(
                "the body must be JSON (Content-Type: application/json)",
            ),
            JsonRejection::JsonSyntaxError(_) => Problem::bad_request("the body is not valid JSON"),
            JsonRejection::JsonDataError(error) => {
                // serde's message names the field and the expected type; it goes back only to
                // the sender and is never logged.
                Problem::bad_request(format!(
                    "the JSON does not have the expected shape: {}",
                    error.body_text()
                ))
            }
            JsonRejection::BytesRejection(error)
                if error.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Problem::payload_too_large("the body is larger than this route accepts")
            }
            other => Problem::bad_request(format!("unreadable body: {}", other.body_text())),
        }
    }
}
