//! Who is asking: every request to `/authority` has its session looked up once, before
//! its handler runs; handlers then take [`SignedIn`] or [`Admin`] as an argument, and
//! posted forms are checked against the session's anti-forgery token by
//! `web::csrf::CsrfForm`.

use axum::extract::{FromRequestParts, OptionalFromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::pages::error_page;
use super::sessions::{self, SIGN_IN_COOKIE, Session};
use crate::datastore::Role;
use crate::state::AppState;
use crate::web::Language;
use crate::web::cookies;
use crate::web::csrf::ExpectedCsrfToken;

/// Where an account sets up its second factor.
pub(crate) const SECOND_FACTOR_SETUP: &str = "/authority/account/second-factor";

/// Middleware of every `/authority` route: finds the request's session and puts it in
/// the request's extensions with the token its forms must carry: the session's, or,
/// before sign-in, the server's keyed hash of the sign-in form's pre-session cookie (see
/// `sessions`).
pub(crate) async fn identify(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let session = match sessions::find(
        &state.store,
        request.headers(),
        state.now(),
        &state.time_zone,
    )
    .await
    {
        Ok(session) => session,
        Err(error) => {
            let language = Language::of_request(&request.into_parts().0);
            tracing::error!(%error, "authority UI: database error");
            return error_page(
                language,
                None,
                StatusCode::INTERNAL_SERVER_ERROR,
                "error-internal",
            );
        }
    };
    let expected = match &session {
        Some(session) => Some(session.viewer.csrf.clone()),
        None => cookies::cookie(request.headers(), SIGN_IN_COOKIE)
            .and_then(|cookie| sessions::expected_sign_in_token(&state.keys, &cookie, state.now())),
    };
    if let Some(expected) = expected {
        request.extensions_mut().insert(ExpectedCsrfToken(expected));
    }
    if let Some(session) = session {
        // With `require_totp`, an account without a second factor sets one up before it
        // sees anything else (it may still sign out).
        let path = request.uri().path();
        let free = path.starts_with(SECOND_FACTOR_SETUP) || path == "/authority/sign-out";
        if state.config.require_totp && !session.has_second_factor && !free {
            return Redirect::to(SECOND_FACTOR_SETUP).into_response();
        }
        request.extensions_mut().insert(session);
    }
    next.run(request).await
}

/// A signed-in user (physician or administrator) and their language; anyone else is
/// sent to the sign-in page.
pub(crate) struct SignedIn {
    pub language: Language,
    pub session: Session,
}

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Response> {
        let language = Language::of_request(parts);
        match parts.extensions.get::<Session>() {
            Some(session) => Ok(SignedIn {
                language,
                session: session.clone(),
            }),
            None => Err(Redirect::to("/authority/sign-in").into_response()),
        }
    }
}

/// Pages that anyone may see, and that change for a signed-in user (the sign-in page).
impl<S: Send + Sync> OptionalFromRequestParts<S> for SignedIn {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(
            <SignedIn as FromRequestParts<S>>::from_request_parts(parts, state)
                .await
                .ok(),
        )
    }
}

/// A signed-in administrator; a physician gets a 403 page.
pub(crate) struct Admin(pub SignedIn);

impl<S: Send + Sync> FromRequestParts<S> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        let signed_in = <SignedIn as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        if signed_in.session.viewer.role != Role::Admin {
            return Err(error_page(
                signed_in.language,
                Some(&signed_in.session.viewer),
                StatusCode::FORBIDDEN,
                "error-forbidden",
            ));
        }
        Ok(Admin(signed_in))
    }
}
