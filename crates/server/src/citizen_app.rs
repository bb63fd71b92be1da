//! The citizen web app at `/app/`: static files (HTML, CSS, plain ES modules, a service
//! worker and a web manifest) compiled into the binary, so that `cargo run` and a bare
//! `serve` need no build step and no file next to the binary.
//!
//! The app speaks only the public API (`/v1/codes/verify`, `/v2/gaen/exposed`,
//! `/v1/checkins`, `/v1/warnings`, `/v1/export-public-key`). A venue poster's URL is
//! `{public_url}/app/?v=1#<payload>`: the payload sits in the fragment, which browsers
//! never send, so the server never learns which venue a visitor opened.
//!
//! Every file is answered with its content type, an `ETag` (SHA-256 of the content: a
//! new binary means new tags) and `Cache-Control: no-cache`, so that browsers revalidate
//! with a 304 of a few bytes and an update reaches phones on their next visit; the
//! service worker keeps the app for offline use. Text is compressed (gzip or brotli,
//! whichever the browser prefers) because a venue's door often has a poor network.
//! The Content-Security-Policy is as strict as the other pages': everything from this
//! server, no inline script or style, no third party.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use tower_http::compression::CompressionLayer;

use crate::state::AppState;

const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; manifest-src 'self'; worker-src 'self'; \
     form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

/// One file of the app.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $content_type:literal) => {
        Asset {
            name: $name,
            content_type: $content_type,
            bytes: include_bytes!(concat!("../static/app/", $name)),
        }
    };
}

/// The app's files; `index.html` is also served at `/app/`.
const ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("app.js", "text/javascript; charset=utf-8"),
    asset!("protocol.js", "text/javascript; charset=utf-8"),
    asset!("storage.js", "text/javascript; charset=utf-8"),
    asset!("messages.js", "text/javascript; charset=utf-8"),
    asset!("sw.js", "text/javascript; charset=utf-8"),
    asset!("manifest.webmanifest", "application/manifest+json"),
    asset!("icon.svg", "image/svg+xml"),
];

/// `"<hex of SHA-256>"` of each asset, in the order of [`ASSETS`].
static ENTITY_TAGS: LazyLock<Vec<HeaderValue>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|asset| {
            let digest = Sha256::digest(asset.bytes);
            HeaderValue::from_str(&format!("\"{}\"", hex::encode(&digest[..16])))
                .unwrap_or_else(|_| HeaderValue::from_static("\"\""))
        })
        .collect()
});

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/app", get(|| async { Redirect::permanent("/app/") }))
        .route("/app/", get(index))
        .route("/app/{name}", get(file))
        .layer(CompressionLayer::new())
}

#[utoipa::path(
    get, path = "/app/", tag = "citizen app",
    summary = "The citizen web app (static files in the binary); `{public_url}/app/?v=1#<venue payload>` is the URL in our venue QR codes",
    responses(
        (status = 200, description = "the app's page", content_type = "text/html"),
        (status = 304, description = "not modified (ETag)"),
    )
)]
pub(crate) async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

async fn file(Path(name): Path<String>, headers: HeaderMap) -> Response {
    serve(&name, &headers)
}

fn serve(name: &str, request_headers: &HeaderMap) -> Response {
    let Some(index) = ASSETS.iter().position(|asset| asset.name == name) else {
        return crate::problem::Problem::new(
            crate::problem::ProblemKind::NotFound,
            "no such file in the web app",
        )
        .into_response();
    };
    let asset = &ASSETS[index];
    let tag = ENTITY_TAGS[index].clone();
    let unchanged = request_headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.split(',').any(|candidate| candidate.trim() == tag));
    let mut response = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            )],
            asset.bytes,
        )
            .into_response()
    };
    let headers = response.headers_mut();
    headers.insert(header::ETAG, tag);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // No referrer: a venue's URL (with its fragment stripped anyway) is nobody's business.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(self), geolocation=(), microphone=()"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_the_page_and_the_worker_name_is_served() {
        let index = std::str::from_utf8(ASSETS[0].bytes).unwrap_or_default();
        let worker = ASSETS
            .iter()
            .find(|asset| asset.name == "sw.js")
            .map(|asset| std::str::from_utf8(asset.bytes).unwrap_or_default())
            .unwrap_or_default();
        for asset in &ASSETS[1..] {
            if asset.name == "sw.js" {
                continue;
            }
            assert!(
                worker.contains(&format!("\"/app/{}\"", asset.name)),
                "the service worker must keep {} for offline use",
                asset.name
            );
        }
        assert!(index.contains("app.js") && index.contains("app.css"));
    }
}
