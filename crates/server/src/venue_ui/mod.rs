//! The venue owners' web pages at `/venues` (no account): create a venue with its rooms
//! or an event, download the venue file and each room's poster (PDF and SVG); open a
//! venue file to learn whether a visitor who tested positive was there and what to do,
//! to warn the guests of a room with a code from the health authority, to print posters
//! again and to keep a paper register for guests without a phone.
//!
//! Opening a venue file happens **in the browser**: `static/venues.js` reads the file
//! and does everything with the web app's protocol module (`/app/protocol.js`, WebCrypto):
//! matching the published reports (`GET /v1/warnings`), building a warning on behalf of a
//! room (the reports `openstopcovid venue warn` builds, sent to `/v1/codes/verify` and
//! `/v1/venues/warnings` like the command line), sealing the paper register with the
//! owner's passphrase. The file's location ids never leave the browser; the server only
//! sees ciphertexts, as from a phone. Printing a poster again is the one exception: the
//! browser posts the venue file to `POST /venues/poster`, which draws the chosen room's
//! poster and forgets the file (a poster shows the room's QR code anyway).
//!
//! Creating a venue is POST → redirect → GET: the form is checked and answered with `303`
//! to `/venues/created?v=<sealed>`, which carries the form and a fresh random seed sealed
//! for this browser (`web::sealed`, bound to the form cookie); that page, and the
//! downloads it links, make the venue again from them, identical every time. A reload
//! changes nothing and the server keeps nothing: no venue, no key, no log of either.
//!
//! Every form carries an anti-forgery token bound to a day-long form cookie
//! (`web::csrf`'s form cookie), set by the first page a visitor opens.
//!
//! French and English (`locales/{en,fr}/venues.ftl`), in the site's layout, stylesheet
//! and protective headers from [`crate::web`]: scripts and styles only from this server,
//! no inline script.
//!
//! # Layout
//!
//! - `home`: `GET /venues`, the page with the creation form and the venue file's tools.
//! - `create`: the creation form (`POST /venues`), its errors in the page's language, and
//!   the result page and downloads under `/venues/created`.
//! - `posters`: poster and venue file downloads (names with their accents), and
//!   `POST /venues/poster`, a poster printed again from a venue file.

mod create;
mod home;
mod posters;

use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use cookie::SameSite;
use maud::{Markup, html};

use crate::state::AppState;
use crate::web::csrf::{self, ExpectedCsrfToken};
use crate::web::layout::{self, Chrome};
use crate::web::{self, Language, cookies};

/// Where the pages are.
const HOME: &str = "/venues";
/// The cookie that binds this UI's forms and result pages to one browser.
const FORM_COOKIE: &str = "osc_venue_form";
/// What the form cookie's tokens are derived for.
const FORM_PURPOSE: &str = "venue-form";
/// How long a form, and the result page of a venue created with it, keep working: a
/// day, time enough to download everything.
pub const VENUE_FORM_SECONDS: i64 = 24 * 3600;

pub(crate) fn routes(state: AppState) -> Router<AppState> {
    web::html_routes(
        Router::new()
            .route(HOME, get(home::home).post(create::create))
            .route("/venues/created", get(create::created))
            .route("/venues/created/file", get(create::created_file))
            .route("/venues/created/poster", get(create::created_poster))
            .route("/venues/poster", post(posters::reprint))
            .layer(middleware::from_fn_with_state(state, identify)),
    )
}

/// A visitor of these pages, known by their form cookie.
#[derive(Clone, Debug)]
pub(crate) struct FormVisitor {
    /// The cookie's value, to which result pages are bound.
    cookie: String,
    /// The token this visitor's forms carry.
    token: String,
    /// Whether the cookie is new, and the answer must set it.
    new: bool,
}

impl FormVisitor {
    /// `response` with this visitor's cookie set, if it is new.
    fn remember(&self, mut response: Response) -> Response {
        if self.new {
            response.headers_mut().append(
                header::SET_COOKIE,
                cookies::set_cookie(
                    FORM_COOKIE,
                    &self.cookie,
                    HOME,
                    VENUE_FORM_SECONDS,
                    SameSite::Strict,
                ),
            );
        }
        response
    }
}

/// Middleware of every route here: a visitor whose form cookie is ours and still valid
/// is put in the request's extensions, with the token their forms must carry.
async fn identify(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let visitor = cookies::cookie(request.headers(), FORM_COOKIE).and_then(|cookie| {
        csrf::expected_form_token(
            &state.keys,
            FORM_PURPOSE,
            &cookie,
            state.now(),
            VENUE_FORM_SECONDS,
        )
        .map(|token| FormVisitor {
            cookie,
            token,
            new: false,
        })
    });
    if let Some(visitor) = visitor {
        request
            .extensions_mut()
            .insert(ExpectedCsrfToken(visitor.token.clone()));
        request.extensions_mut().insert(visitor);
    }
    next.run(request).await
}

/// The request's visitor, or a new one whose cookie the answer sets.
impl FromRequestParts<AppState> for FormVisitor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(visitor) = parts.extensions.get::<FormVisitor>() {
            return Ok(visitor.clone());
        }
        let (cookie, token) =
            csrf::new_form_cookie(&state.keys, FORM_PURPOSE, state.now(), VENUE_FORM_SECONDS);
        Ok(FormVisitor {
            cookie,
            token,
            new: true,
        })
    }
}

/// The site's layout with this UI's stylesheet and script, and the title as the page's
/// heading.
fn layout(language: Language, body: Markup) -> Markup {
    let title = language.text("venues-title");
    let chrome = Chrome {
        language,
        stylesheet: Some("venues.css"),
        script: Some("venues.js"),
        home: Some(HOME),
        tagline: Some("venues-tagline"),
        here: HOME,
        user: None,
        menu: None,
    };
    layout::page(
        &chrome,
        &title,
        html! {
            h1 { (title) }
            (body)
        },
    )
}
