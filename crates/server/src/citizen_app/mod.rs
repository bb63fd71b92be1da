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
//! server, no third party; the page's own script and style are inlined (see [`inline`])
//! and allowed by their hashes alone.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use tower_http::compression::CompressionLayer;

use crate::state::AppState;

mod inline;

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
            bytes: include_bytes!(concat!("../../static/app/", $name)),
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

fn entity_tag(bytes: &[u8]) -> HeaderValue {
    let digest = Sha256::digest(bytes);
    HeaderValue::from_str(&format!("\"{}\"", hex::encode(&digest[..16])))
        .unwrap_or_else(|_| HeaderValue::from_static("\"\""))
}

/// `"<hex of SHA-256>"` of each asset, in the order of [`ASSETS`].
static ENTITY_TAGS: LazyLock<Vec<HeaderValue>> =
    LazyLock::new(|| ASSETS.iter().map(|asset| entity_tag(asset.bytes)).collect());

fn asset_text(name: &str) -> &'static str {
    ASSETS
        .iter()
        .find(|asset| asset.name == name)
        .and_then(|asset| std::str::from_utf8(asset.bytes).ok())
        .unwrap_or_default()
}

/// The page a poster opens, with its style sheet and modules inlined (one round trip).
struct Page {
    html: String,
    tag: HeaderValue,
    policy: HeaderValue,
}

fn inlined_index() -> Result<Page, String> {
    let source = |name: &'static str| inline::Source {
        name,
        text: asset_text(name.trim_start_matches("./")),
    };
    let page = inline::inline_page(
        asset_text("index.html"),
        asset_text("app.css"),
        &source("./app.js"),
        // Each after the modules it imports.
        &[
            source("./messages.js"),
            source("./protocol.js"),
            source("./storage.js"),
        ],
    )
    .map_err(|error| error.to_string())?;
    let policy = CONTENT_SECURITY_POLICY
        .replace(
            "script-src 'self'",
            &format!("script-src 'self' {}", page.script_hash),
        )
        .replace(
            "style-src 'self'",
            &format!("style-src 'self' {}", page.style_hash),
        );
    Ok(Page {
        tag: entity_tag(page.html.as_bytes()),
        policy: HeaderValue::from_str(&policy).map_err(|error| error.to_string())?,
        html: page.html,
    })
}

/// Built once, on the first visit; `None` (the plain page, which loads its files) only if
/// the files compiled in use a form the inliner does not read, which its tests rule out.
static INDEX: LazyLock<Option<Page>> = LazyLock::new(|| {
    inlined_index()
        .inspect_err(|error| {
            tracing::error!(%error, "the web app's page could not be inlined; serving it plain")
        })
        .ok()
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
    let (bytes, tag, policy) = match (&*INDEX, asset.name) {
        (Some(page), "index.html") => (page.html.as_bytes(), page.tag.clone(), page.policy.clone()),
        _ => (
            asset.bytes,
            ENTITY_TAGS[index].clone(),
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
    };
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
            bytes,
        )
            .into_response()
    };
    let headers = response.headers_mut();
    headers.insert(header::ETAG, tag);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::CONTENT_SECURITY_POLICY, policy);
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
    fn the_page_a_poster_opens_needs_no_other_request_to_show_check_in() {
        let page = inlined_index().unwrap();
        assert!(!page.html.contains("src=\"/app/"), "no external script");
        assert!(
            !page.html.contains("rel=\"stylesheet\""),
            "no external style sheet"
        );
        assert!(!page.html.contains("modulepreload"));
        assert!(page.html.contains("function decodeVenueUrl"));
        assert!(page.html.contains("id=\"check-in\""));
        let policy = page.policy.to_str().unwrap();
        assert!(policy.contains("script-src 'self' 'sha256-"), "{policy}");
        assert!(!policy.contains("unsafe-inline"));
    }

    #[test]
    fn the_worker_keeps_the_page_and_what_it_still_loads() {
        let worker = asset_text("sw.js");
        for file in ["/app/", "/app/manifest.webmanifest", "/app/icon.svg"] {
            assert!(
                worker.contains(&format!("\"{file}\"")),
                "the service worker must keep {file} for offline use"
            );
        }
    }
}
