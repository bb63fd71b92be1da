//! What every HTML page of the server shares, so that each UI (the physicians' at
//! `/authority`, the venue owners' at `/venues`) only writes its own pages, each a thin
//! handler.
//!
//! # Layout
//!
//! - `language`: the [`Language`] of a visit (an extractor: `?lang=`, the remembered
//!   choice, `Accept-Language`), the Fluent messages of every page, and the switch link
//!   at `/language/{tag}`.
//! - `layout`: one page layout (header, language switch, sign-out, menu, footer),
//!   notices, error pages.
//! - `security`: the protective headers (CSP, no framing, no referrer, `no-store`) of
//!   every page and static file, as one middleware.
//! - `assets`: the stylesheets and scripts at `/static/{name}`, with caching headers.
//! - `csrf`: the [`CsrfForm<T>`](csrf::CsrfForm) extractor that checks a form's
//!   anti-forgery token and reads the form; form cookies for visitors without a session.
//! - `sealed`: values sealed into an address, for POST → redirect → GET result pages.
//! - `content_disposition`: the `Content-Disposition` of a download whose name keeps its
//!   accents.
//! - `cookies`: reading a request's cookies, writing ours.
//! - `local_time`: times and dates in the server's zone and the page's language, in
//!   `<time>` elements a script rewrites in the reader's own zone.
//!
//! # Adding a page
//!
//! Write its handler in the UI's module: take [`Language`] (and a posted form as
//! `CsrfForm<T>`), build the body with maud, wrap it in the UI's `Chrome` with
//! `layout::page`; add the route to the UI's router, which [`html_routes`] protects.

pub(crate) mod assets;
pub(crate) mod content_disposition;
pub(crate) mod cookies;
pub(crate) mod csrf;
pub(crate) mod language;
pub(crate) mod layout;
pub(crate) mod local_time;
pub(crate) mod sealed;
pub(crate) mod security;

use axum::Router;
use axum::middleware;
use axum::routing::get;

pub use language::Language;

/// The routes of the web layer itself: static files and the language switch.
pub(crate) fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    html_routes(
        Router::new()
            .route("/static/{name}", get(assets::serve))
            .route("/language/{tag}", get(language::choose_language)),
    )
}

/// `router` with the protective headers on every answer; every UI's router goes through
/// here.
pub(crate) fn html_routes<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router.layer(middleware::map_response(security::protective_headers))
}
