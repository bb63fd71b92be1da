//! The stylesheets and scripts of both UIs, compiled into the binary and served from
//! `/static/{name}`: `site.css` (what every page shares), then each UI's own stylesheet
//! and script on top.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// How long browsers keep a static file: an hour, so a new release reaches every
/// workstation the same day without a cache-busting scheme.
const CACHE_CONTROL: &str = "public, max-age=3600";

const CSS: &str = "text/css; charset=utf-8";
const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// Every static file: name, media type, contents.
const ASSETS: [(&str, &str, &str); 5] = [
    ("site.css", CSS, include_str!("../../static/site.css")),
    (
        "authority.css",
        CSS,
        include_str!("../../static/authority.css"),
    ),
    (
        "authority.js",
        JAVASCRIPT,
        include_str!("../../static/authority.js"),
    ),
    ("venues.css", CSS, include_str!("../../static/venues.css")),
    (
        "venues.js",
        JAVASCRIPT,
        include_str!("../../static/venues.js"),
    ),
];

/// The address of static file `name`, for `<link>` and `<script>` elements.
pub(crate) fn asset_path(name: &str) -> String {
    format!("/static/{name}")
}

/// `GET /static/{name}`.
pub(crate) async fn serve(Path(name): Path<String>) -> Response {
    let Some((_, media_type, contents)) = ASSETS.iter().find(|(known, _, _)| *known == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut response = (*contents).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    response
}
