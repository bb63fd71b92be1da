//! Every error answer, in one place: RFC 9457 `application/problem+json` documents.
//!
//! Handlers return `Result<_, Problem>`; a `Problem` carries its [`ProblemKind`], which
//! gives the `type` URI, the status and the title, and a human-readable `detail`. Clients
//! (and tests) tell problems apart by `type`, never by the prose of `detail`, which may be
//! reworded. Details never carry codes, tokens or keys, and problems are never logged with
//! request data.
//!
//! # Problem type URIs
//!
//! Each kind a client can act on has its own absolute URI,
//! `https://openstopcovid.org/problems/<name>` ([`PROBLEM_TYPE_BASE`]), listed with its
//! meaning in `/openapi.json` (`components.schemas.Problem`). An absolute URI names the
//! kind the same way whichever server answered. Where the status says it all (no such
//! route, body too large, not JSON, server error, store down) the type is `about:blank`,
//! as RFC 9457 §4.2.1 intends.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// Media type of problem documents.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// `Retry-After` of a 503: the time a database restart or a failover takes.
pub const UNAVAILABLE_RETRY_AFTER_SECONDS: u64 = 5;

/// What every problem type URI of this server starts with.
pub const PROBLEM_TYPE_BASE: &str = "https://openstopcovid.org/problems/";

/// The kinds of problem the server answers with. Each has one `type` URI, status and title.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProblemKind {
    /// 400: the body is not JSON of the route's shape (syntax, types, unknown fields).
    MalformedBody,
    /// 400: a query parameter (cursor, tag, wait, format) is out of range or unreadable.
    InvalidQuery,
    /// 400: the keys of an upload break a rule of PROTOCOLS.md §4 (count, size, period,
    /// duplicates, overlaps, delayed key date).
    InvalidKeys,
    /// 400: the check-in reports of an upload break a rule (count, base64, sizes, `fake`).
    InvalidReports,
    /// 400: the onset date of a code to issue is unreadable, in the future or too old.
    InvalidOnsetDate,
    /// 401: an authority route without a valid authority API key.
    InvalidApiKey,
    /// 401: an upload route without a valid, unexpired upload token.
    InvalidToken,
    /// 403: a valid upload token that does not allow this route.
    TokenScope,
    /// 403: a valid upload token already used for this purpose.
    TokenUsed,
    /// 404: the code to verify is unknown, already used or expired (indistinguishable on
    /// purpose).
    CodeRejected,
    /// 404: no issued code has this id.
    UnknownCodeId,
    /// 404: a `lastKeyBundleTag` later than now (the reference backend's answer too).
    FutureBundleTag,
    /// 429: too many code checks from this client, or too many failed ones overall.
    TooManyCodeChecks,
    /// 404: no such route or file (`about:blank`).
    NotFound,
    /// 405: the route exists, not with this method (`about:blank`).
    MethodNotAllowed,
    /// 408: the request (headers and body) took longer than the server waits (`about:blank`).
    RequestTimeout,
    /// 413: the body is larger than the route accepts (`about:blank`).
    PayloadTooLarge,
    /// 415: the body is not JSON (`about:blank`).
    UnsupportedMediaType,
    /// 500: our fault (`about:blank`).
    Internal,
    /// 503: the store does not answer or the server is stopping (`about:blank`).
    Unavailable,
}

impl ProblemKind {
    /// Every kind, in the order `/openapi.json` lists them.
    pub const ALL: [ProblemKind; 20] = [
        ProblemKind::MalformedBody,
        ProblemKind::InvalidQuery,
        ProblemKind::InvalidKeys,
        ProblemKind::InvalidReports,
        ProblemKind::InvalidOnsetDate,
        ProblemKind::InvalidApiKey,
        ProblemKind::InvalidToken,
        ProblemKind::TokenScope,
        ProblemKind::TokenUsed,
        ProblemKind::CodeRejected,
        ProblemKind::UnknownCodeId,
        ProblemKind::FutureBundleTag,
        ProblemKind::TooManyCodeChecks,
        ProblemKind::NotFound,
        ProblemKind::MethodNotAllowed,
        ProblemKind::RequestTimeout,
        ProblemKind::PayloadTooLarge,
        ProblemKind::UnsupportedMediaType,
        ProblemKind::Internal,
        ProblemKind::Unavailable,
    ];

    /// The last segment of the type URI; `None` for `about:blank` kinds.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            ProblemKind::MalformedBody => "malformed-body",
            ProblemKind::InvalidQuery => "invalid-query",
            ProblemKind::InvalidKeys => "invalid-keys",
            ProblemKind::InvalidReports => "invalid-reports",
            ProblemKind::InvalidOnsetDate => "invalid-onset-date",
            ProblemKind::InvalidApiKey => "invalid-api-key",
            ProblemKind::InvalidToken => "invalid-token",
            ProblemKind::TokenScope => "token-scope",
            ProblemKind::TokenUsed => "token-used",
            ProblemKind::CodeRejected => "code-rejected",
            ProblemKind::UnknownCodeId => "unknown-code-id",
            ProblemKind::FutureBundleTag => "future-bundle-tag",
            ProblemKind::TooManyCodeChecks => "too-many-code-checks",
            ProblemKind::NotFound
            | ProblemKind::MethodNotAllowed
            | ProblemKind::RequestTimeout
            | ProblemKind::PayloadTooLarge
            | ProblemKind::UnsupportedMediaType
            | ProblemKind::Internal
            | ProblemKind::Unavailable => return None,
        })
    }

    /// The `type` URI.
    pub fn type_uri(self) -> String {
        match self.name() {
            Some(name) => format!("{PROBLEM_TYPE_BASE}{name}"),
            None => "about:blank".to_owned(),
        }
    }

    /// The HTTP status.
    pub fn status(self) -> StatusCode {
        match self {
            ProblemKind::MalformedBody
            | ProblemKind::InvalidQuery
            | ProblemKind::InvalidKeys
            | ProblemKind::InvalidReports
            | ProblemKind::InvalidOnsetDate => StatusCode::BAD_REQUEST,
            ProblemKind::InvalidApiKey | ProblemKind::InvalidToken => StatusCode::UNAUTHORIZED,
            ProblemKind::TokenScope | ProblemKind::TokenUsed => StatusCode::FORBIDDEN,
            ProblemKind::CodeRejected
            | ProblemKind::UnknownCodeId
            | ProblemKind::FutureBundleTag
            | ProblemKind::NotFound => StatusCode::NOT_FOUND,
            ProblemKind::TooManyCodeChecks => StatusCode::TOO_MANY_REQUESTS,
            ProblemKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ProblemKind::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ProblemKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ProblemKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ProblemKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ProblemKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The short, fixed summary of the kind (RFC 9457 `title`).
    pub fn title(self) -> &'static str {
        match self {
            ProblemKind::MalformedBody => "Malformed body",
            ProblemKind::InvalidQuery => "Invalid query parameter",
            ProblemKind::InvalidKeys => "Invalid diagnosis keys",
            ProblemKind::InvalidReports => "Invalid check-in reports",
            ProblemKind::InvalidOnsetDate => "Invalid onset date",
            ProblemKind::InvalidApiKey => "Missing or unknown authority API key",
            ProblemKind::InvalidToken => "Missing, invalid or expired upload token",
            ProblemKind::TokenScope => "Upload token of another scope",
            ProblemKind::TokenUsed => "Upload token already used",
            ProblemKind::CodeRejected => "Unknown, used or expired code",
            ProblemKind::UnknownCodeId => "No code with this id",
            ProblemKind::FutureBundleTag => "Bundle tag in the future",
            ProblemKind::TooManyCodeChecks => "Too many code checks",
            ProblemKind::NotFound => "Not Found",
            ProblemKind::MethodNotAllowed => "Method Not Allowed",
            ProblemKind::RequestTimeout => "Request Timeout",
            ProblemKind::PayloadTooLarge => "Payload Too Large",
            ProblemKind::UnsupportedMediaType => "Unsupported Media Type",
            ProblemKind::Internal => "Internal Server Error",
            ProblemKind::Unavailable => "Service Unavailable",
        }
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// A URI naming the kind of problem; `about:blank` means "see the status code".
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    #[serde(skip)]
    kind: ProblemKind,
}

impl Problem {
    /// A problem of `kind`, with a `detail` that tells the client what to fix.
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self {
            type_uri: kind.type_uri(),
            title: kind.title(),
            status: kind.status().as_u16(),
            detail: detail.into(),
            kind,
        }
    }

    /// 500: our fault. The cause goes to the log (without request data), not to the client.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            ProblemKind::Internal,
            "the server failed to handle the request; it has been logged",
        )
    }

    /// What kind of problem this is.
    pub fn kind(&self) -> ProblemKind {
        self.kind
    }

    /// The HTTP status of this problem.
    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }
}

/// The schema of problem documents in `/openapi.json`, listing every `type` URI with its
/// status and meaning, from [`ProblemKind::ALL`] so that the list cannot fall behind.
impl utoipa::PartialSchema for Problem {
    fn schema() -> RefOr<Schema> {
        let mut types: Vec<String> = ProblemKind::ALL
            .iter()
            .filter(|kind| kind.name().is_some())
            .map(|kind| kind.type_uri())
            .collect();
        types.push("about:blank".to_owned());
        let listing: Vec<String> = ProblemKind::ALL
            .iter()
            .map(|kind| {
                format!(
                    "- `{}` ({}): {}",
                    kind.type_uri(),
                    kind.status().as_u16(),
                    kind.title()
                )
            })
            .collect();
        let text = || ObjectBuilder::new().schema_type(Type::String);
        ObjectBuilder::new()
            .description(Some(
                "An RFC 9457 problem document. Tell problems apart by `type`; `detail` is prose for people and may change.",
            ))
            .property(
                "type",
                text().enum_values(Some(types)).description(Some(format!(
                    "The kind of problem (status in brackets); `about:blank` where the status says it all:\n{}",
                    listing.join("\n")
                ))),
            )
            .required("type")
            .property("title", text())
            .required("title")
            .property("status", ObjectBuilder::new().schema_type(Type::Integer))
            .required("status")
            .property("detail", text())
            .required("detail")
            .into()
    }
}

impl utoipa::ToSchema for Problem {}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self).unwrap_or_else(|_| b"{}".to_vec());
        let mut response = (self.status(), body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if self.kind == ProblemKind::Unavailable {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(UNAVAILABLE_RETRY_AFTER_SECONDS),
            );
        }
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
                Problem::new(ProblemKind::Unavailable, "the server is shutting down")
            }
            // Not a 500: the client should send the same request again (an upload whose
            // commit landed unbeknown to us is then answered like the first time).
            crate::datastore::DatastoreError::Database(_) if error.is_transient() => {
                tracing::warn!(%error, "database unavailable");
                Problem::new(
                    ProblemKind::Unavailable,
                    "the database is unavailable for a moment; send the same request again",
                )
            }
            crate::datastore::DatastoreError::Database(_) => Problem::internal(&error),
        }
    }
}

/// A JSON body that must be an object of `T`'s shape: serde would also read a struct from
/// an array of its fields in order (`[]` for a struct whose fields are all optional), which
/// no schema in `/openapi.json` allows.
pub(crate) fn object_body<T: serde::de::DeserializeOwned>(
    body: Result<axum::Json<serde_json::Value>, axum::extract::rejection::JsonRejection>,
) -> Result<T, Problem> {
    let axum::Json(value) = body?;
    if !value.is_object() {
        return Err(Problem::new(
            ProblemKind::MalformedBody,
            "the body must be a JSON object",
        ));
    }
    serde_json::from_value(value).map_err(|error| {
        Problem::new(
            ProblemKind::MalformedBody,
            format!("the JSON does not have the expected shape: {error}"),
        )
    })
}

/// JSON body extraction failures (syntax, types, size, content type) as problems.
impl From<axum::extract::rejection::JsonRejection> for Problem {
    fn from(rejection: axum::extract::rejection::JsonRejection) -> Self {
        use axum::extract::rejection::JsonRejection;
        match rejection {
            JsonRejection::MissingJsonContentType(_) => Problem::new(
                ProblemKind::UnsupportedMediaType,
                "the body must be JSON (Content-Type: application/json)",
            ),
            JsonRejection::JsonSyntaxError(_) => {
                Problem::new(ProblemKind::MalformedBody, "the body is not valid JSON")
            }
            JsonRejection::JsonDataError(error) => {
                // serde's message names the field and the expected type; it goes back only to
                // the sender and is never logged.
                Problem::new(
                    ProblemKind::MalformedBody,
                    format!(
                        "the JSON does not have the expected shape: {}",
                        error.body_text()
                    ),
                )
            }
            JsonRejection::BytesRejection(error)
                if error.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Problem::new(
                    ProblemKind::PayloadTooLarge,
                    "the body is larger than this route accepts",
                )
            }
            other => Problem::new(
                ProblemKind::MalformedBody,
                format!("unreadable body: {}", other.body_text()),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_type_uri_and_blank_ones_say_so_by_status_alone() {
        let mut seen = std::collections::HashSet::new();
        for kind in ProblemKind::ALL {
            let uri = kind.type_uri();
            match kind.name() {
                Some(name) => {
                    assert_eq!(uri, format!("{PROBLEM_TYPE_BASE}{name}"));
                    assert!(seen.insert(uri), "{kind:?} shares its type");
                }
                None => assert_eq!(uri, "about:blank"),
            }
        }
        let problem = Problem::new(ProblemKind::TokenUsed, "again");
        let json = serde_json::to_value(&problem).unwrap();
        assert_eq!(
            json["type"],
            "https://openstopcovid.org/problems/token-used"
        );
        assert_eq!(json["status"], 403);
        assert_eq!(json.as_object().unwrap().len(), 4, "{json}");
    }
}
