//! Anti-forgery for every form: [`CsrfForm<T>`] reads a posted form and lets it through
//! only when its `csrf` field is the token expected for this visitor, so that no handler
//! carries a token field or compares tokens itself.
//!
//! Which token is expected is decided before the handler runs, by whatever identified
//! the visitor: the physicians' UI puts its session's token (or, before sign-in, the
//! sign-in form's cookie) in the request's extensions as an [`ExpectedCsrfToken`]. A
//! form posted where nothing set one is refused.
//!
//! Visitors without a session (before sign-in, venue owners) are identified by a
//! short-lived form cookie instead ([`new_form_cookie`], [`expected_form_token`]): the
//! cookie holds `<expiry>.<random nonce>`, and the form's token is the server's keyed
//! hash (HMAC under its secret) of that cookie value. A plain double submit (the same
//! value in the cookie and the form) lets anyone who can set a cookie on the victim's
//! browser pick both; here, whatever cookie an attacker plants, they cannot compute the
//! token the server expects for it, and an old form stops working when its expiry
//! (checked on the server's clock) has passed.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use maud::{Markup, html};
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use super::language::Language;
use super::layout::{self, Notice};
use crate::signing::KeyRing;

/// The name of the hidden field that carries the token.
pub(crate) const CSRF_FIELD: &str = "csrf";

/// The token this request's forms must carry (see the module documentation).
#[derive(Clone, Debug)]
pub(crate) struct ExpectedCsrfToken(pub String);

/// The hidden field to put in every form.
pub(crate) fn hidden_field(token: &str) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(token); }
}

/// Constant-time comparison of a submitted token with the expected one; an empty
/// expected token matches nothing.
pub(crate) fn tokens_match(submitted: &str, expected: &str) -> bool {
    !expected.is_empty() && bool::from(submitted.as_bytes().ct_eq(expected.as_bytes()))
}

/// A fresh random token, URL-safe base64 of 32 bytes.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new form cookie at `now`, valid `lifetime_seconds`, for the forms of `purpose`: the
/// cookie's value and the token its forms carry.
pub(crate) fn new_form_cookie(
    keys: &KeyRing,
    purpose: &str,
    now: i64,
    lifetime_seconds: i64,
) -> (String, String) {
    let cookie = format!("{}.{}", now + lifetime_seconds, random_token());
    let token = form_token(keys, purpose, &cookie);
    (cookie, token)
}

fn form_token(keys: &KeyRing, purpose: &str, cookie: &str) -> String {
    URL_SAFE_NO_PAD.encode(keys.keyed_hash(purpose, cookie.as_bytes()))
}

/// The token the forms of `purpose` must carry for this form cookie value, if the cookie
/// is one of ours (at most `lifetime_seconds` long) and has not expired at `now`.
pub(crate) fn expected_form_token(
    keys: &KeyRing,
    purpose: &str,
    cookie: &str,
    now: i64,
    lifetime_seconds: i64,
) -> Option<String> {
    let (expiry, nonce) = cookie.split_once('.')?;
    let expiry: i64 = expiry.parse().ok()?;
    (expiry > now && expiry <= now + lifetime_seconds && nonce.len() == 43)
        .then(|| form_token(keys, purpose, cookie))
}

/// A posted `application/x-www-form-urlencoded` form whose anti-forgery token matched.
pub(crate) struct CsrfForm<T>(pub T);

/// Why a form was refused. Handlers that want to answer differently take
/// `Result<CsrfForm<T>, CsrfRefusal<T>>`; the others let the refusal answer itself.
pub(crate) enum CsrfRefusal<T> {
    /// The token is missing or not the expected one; the form as it was posted, so that
    /// it can be shown again.
    Forged { language: Language, form: T },
    /// The body is not a form we can read.
    Unreadable {
        language: Language,
        status: StatusCode,
    },
}

impl<T> IntoResponse for CsrfRefusal<T> {
    fn into_response(self) -> Response {
        let (language, status, message) = match self {
            CsrfRefusal::Forged { language, .. } => {
                (language, StatusCode::FORBIDDEN, "form-forged")
            }
            CsrfRefusal::Unreadable { language, status } => (language, status, "form-unreadable"),
        };
        layout::error_response(language, status, &Notice::Error(language.text(message)))
    }
}

impl<T, S> FromRequest<S> for CsrfForm<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = CsrfRefusal<T>;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let language = Language::of_request(&parts);
        let unreadable = |status| CsrfRefusal::Unreadable { language, status };
        let is_form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(unreadable(StatusCode::UNSUPPORTED_MEDIA_TYPE));
        }
        let expected = parts.extensions.get::<ExpectedCsrfToken>().cloned();
        // The body limit of the whole application applies here.
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|rejection| unreadable(rejection.status()))?;
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| unreadable(StatusCode::BAD_REQUEST))?;
        let form: T = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| unreadable(StatusCode::BAD_REQUEST))?;
        let submitted = fields
            .iter()
            .find(|(name, _)| name == CSRF_FIELD)
            .map_or("", |(_, value)| value.as_str());
        match expected {
            Some(ExpectedCsrfToken(expected)) if tokens_match(submitted, &expected) => {
                Ok(CsrfForm(form))
            }
            _ => Err(CsrfRefusal::Forged { language, form }),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use serde::Deserialize;

    use super::*;

    #[derive(Deserialize, Debug, PartialEq)]
    struct Onset {
        #[serde(default)]
        onset: String,
    }

    async fn post(body: &'static str, expected: Option<&str>) -> Result<Onset, StatusCode> {
        let mut request = Request::builder()
            .method("POST")
            .uri("/authority/issue")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("a valid request");
        if let Some(expected) = expected {
            request
                .extensions_mut()
                .insert(ExpectedCsrfToken(expected.to_owned()));
        }
        match CsrfForm::<Onset>::from_request(request, &()).await {
            Ok(CsrfForm(form)) => Ok(form),
            Err(refusal) => Err(refusal.into_response().status()),
        }
    }

    #[tokio::test]
    async fn a_form_with_the_expected_token_is_read() {
        assert_eq!(
            post("csrf=s3cret&onset=2026-11-20", Some("s3cret")).await,
            Ok(Onset {
                onset: "2026-11-20".into()
            })
        );
    }

    #[tokio::test]
    async fn forged_and_tokenless_forms_are_refused() {
        assert_eq!(
            post("csrf=guessed&onset=", Some("s3cret")).await,
            Err(StatusCode::FORBIDDEN)
        );
        assert_eq!(
            post("onset=", Some("s3cret")).await,
            Err(StatusCode::FORBIDDEN)
        );
        assert_eq!(
            post("csrf=&onset=", Some("")).await,
            Err(StatusCode::FORBIDDEN)
        );
        // Nothing identified the visitor: no token can be right.
        assert_eq!(
            post("csrf=s3cret&onset=", None).await,
            Err(StatusCode::FORBIDDEN)
        );
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(tokens_match("abc", "abc"));
        assert!(!tokens_match("ab", "abc"));
        assert!(!tokens_match("", ""));
    }
}
