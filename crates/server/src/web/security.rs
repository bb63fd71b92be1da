//! The protective headers of every HTML page and static file, in one middleware.

use axum::http::{HeaderValue, header};
use axum::response::Response;

/// Scripts, styles and fetches only from this server, no inline script or style, images
/// from here or `data:` (QR codes, posters), forms post only here, never framed.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// Adds the Content-Security-Policy, `X-Frame-Options: DENY`, `nosniff`,
/// `Referrer-Policy: no-referrer` (addresses of our pages never leave the site) and,
/// unless the handler chose its own caching, `no-store`: pages may show codes or
/// accounts and must not stay in a shared computer's cache.
pub(crate) async fn protective_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}
