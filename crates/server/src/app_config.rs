//! `GET /v1/config`: the authority's configuration for the apps, one JSON document.
//!
//! Today it carries the private analytics (`[analytics]` of the server's configuration:
//! the DAP leader and helper, one task per metric with the aggregators' HPKE keys);
//! it is the document later settings for the apps (risk parameters, texts) join. Like
//! every answer it is signed (`Signature` header, verifiable with
//! `/v1/export-public-key`): a phone that pinned the key cannot be pointed at another
//! aggregator. A strong `ETag` lets phones and CDNs revalidate for nothing.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use messages::app_config::AppConfiguration;
use sha2::{Digest, Sha256};

use crate::problem::Problem;
use crate::state::AppState;

/// How long phones and caches may use the document without revalidating.
const MAX_AGE_SECONDS: u32 = 3600;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/v1/config", get(serve))
}

/// The document of a server's configuration.
pub fn document(config: &crate::config::Config) -> AppConfiguration {
    AppConfiguration {
        analytics: config
            .analytics
            .as_ref()
            .map(crate::config::AnalyticsSetting::to_wire),
    }
}

#[utoipa::path(
    get, path = "/v1/config", tag = "config",
    summary = "The authority's configuration for the apps (private analytics' aggregators and tasks), signed, with ETag",
    responses(
        (status = 200, description = "the configuration", body = AppConfiguration),
        (status = 304, description = "not modified (If-None-Match)"),
    )
)]
pub(crate) async fn serve(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let body =
        serde_json::to_vec(&document(&state.config)).map_err(|error| Problem::internal(&error))?;
    let etag = format!("\"{}\"", hex::encode(&Sha256::digest(&body)[..16]));
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.split(',').any(|tag| tag.trim() == etag));
    let mut response = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, "application/json")], body).into_response()
    };
    let response_headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&format!("public, max-age={MAX_AGE_SECONDS}")) {
        response_headers.insert(header::CACHE_CONTROL, value);
    }
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response_headers.insert(header::ETAG, value);
    }
    Ok(response)
}
