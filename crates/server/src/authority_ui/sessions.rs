//! Sessions and anti-forgery tokens.
//!
//! A session is a random 256-bit token in an `HttpOnly`, `Secure`, `SameSite=Strict` cookie
//! scoped to `/authority`; the database keeps only its SHA-256, so a stolen database
//! backup opens no session. Each session has its own anti-forgery token, put in every form
//! and compared in constant time on every POST.
//!
//! Before sign-in there is no session, so the sign-in form is bound to a short-lived
//! pre-session cookie instead (`web::csrf`'s form cookie: its token is the server's keyed
//! hash of the cookie, so a planted cookie gains an attacker nothing).

use axum::http::{HeaderMap, HeaderValue};
use cookie::SameSite;
use jiff::tz::TimeZone;
use sha2::{Digest, Sha256};

use super::views::{BASE, Viewer};
use crate::datastore::accounts::NewSessionRow;
use crate::datastore::{DatastoreError, Store};
use crate::signing::KeyRing;
use crate::web::cookies::{self, cookie};
use crate::web::csrf::{self, random_token};

/// The session cookie.
pub(crate) const SESSION_COOKIE: &str = "osc_session";
/// The sign-in form's anti-forgery cookie.
pub(crate) const SIGN_IN_COOKIE: &str = "osc_sign_in";
/// How long a session lasts: one working day, then sign in again.
pub const SESSION_SECONDS: i64 = 8 * 3600;
/// How long a sign-in form stays valid.
pub const SIGN_IN_FORM_SECONDS: i64 = 3600;

/// What a sign-in form's token is derived for (see `web::csrf`'s form cookie).
const SIGN_IN_FORM_PURPOSE: &str = "sign-in-form";

/// A new sign-in form at `now`: the pre-session cookie's value and the form's token.
pub(crate) fn new_sign_in_form(keys: &KeyRing, now: i64) -> (String, String) {
    csrf::new_form_cookie(keys, SIGN_IN_FORM_PURPOSE, now, SIGN_IN_FORM_SECONDS)
}

/// The token a sign-in form must carry for this pre-session cookie value, if the cookie
/// is one of ours and its form has not expired at `now`.
pub(crate) fn expected_sign_in_token(keys: &KeyRing, cookie: &str, now: i64) -> Option<String> {
    csrf::expected_form_token(
        keys,
        SIGN_IN_FORM_PURPOSE,
        cookie,
        now,
        SIGN_IN_FORM_SECONDS,
    )
}

/// The SHA-256 a random token (a session's, a password-reset link's) is stored as.
pub(crate) fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A `Set-Cookie` value for one of this UI's cookies (sent back only under `/authority`,
/// `SameSite=Strict`); `max_age_seconds` 0 deletes it.
pub(crate) fn set_cookie(name: &'static str, value: &str, max_age_seconds: i64) -> HeaderValue {
    cookies::set_cookie(name, value, BASE, max_age_seconds, SameSite::Strict)
}

/// A signed-in user and their session.
#[derive(Clone)]
pub(crate) struct Session {
    pub user_id: String,
    pub viewer: Viewer,
    /// Whether the account has a second factor (see `require_totp`).
    pub has_second_factor: bool,
}

/// Opens a session for `user_id`; returns the cookie value.
pub(crate) async fn open(store: &Store, user_id: &str, now: i64) -> Result<String, DatastoreError> {
    let token = random_token();
    store
        .open_session(
            &NewSessionRow {
                token_hash: &token_hash(&token),
                user_id,
                csrf_token: &random_token(),
                created_at: now,
                expires_at: now + SESSION_SECONDS,
            },
            now,
        )
        .await?;
    Ok(token)
}

/// The session the request's cookie belongs to, if it is live and its account enabled;
/// its pages write times in `time_zone`.
pub(crate) async fn find(
    store: &Store,
    headers: &HeaderMap,
    now: i64,
    time_zone: &TimeZone,
) -> Result<Option<Session>, DatastoreError> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let row = store.session(&token_hash(&token), now).await?;
    Ok(row.map(|row| Session {
        has_second_factor: row.has_second_factor,
        user_id: row.user_id,
        viewer: Viewer {
            email: row.email,
            role: row.role,
            csrf: row.csrf_token,
            time_zone: time_zone.clone(),
        },
    }))
}

/// The stored hash of the request's session token, if it carries one.
pub(crate) fn current_token_hash(headers: &HeaderMap) -> Option<Vec<u8>> {
    cookie(headers, SESSION_COOKIE).map(|token| token_hash(&token))
}

/// Ends the request's session.
pub(crate) async fn close(store: &Store, headers: &HeaderMap) -> Result<(), DatastoreError> {
    if let Some(token) = cookie(headers, SESSION_COOKIE) {
        store.close_session(&token_hash(&token)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_cookies_are_locked_down() {
        let value = set_cookie(SESSION_COOKIE, "abc", 60);
        let text = value.to_str().expect("ascii");
        for attribute in [
            "HttpOnly",
            "Secure",
            "SameSite=Strict",
            "Path=/authority",
            "Max-Age=60",
        ] {
            assert!(text.contains(attribute), "{text} lacks {attribute}");
        }
    }

    #[test]
    fn a_sign_in_form_token_is_bound_to_its_cookie_and_expires() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let keys = KeyRing::load_or_create(dir.path(), 1_800_000_000, "CH").expect("keys");
        let (cookie, token) = new_sign_in_form(&keys, 1_800_000_000);
        assert_eq!(
            expected_sign_in_token(&keys, &cookie, 1_800_000_000).as_deref(),
            Some(token.as_str())
        );
        assert_ne!(token, cookie, "not a double submit");
        // A cookie the attacker made up: no token can match it (it is not even one of
        // ours), and one made like ours expects a token only the server can compute.
        assert_eq!(
            expected_sign_in_token(&keys, "attacker", 1_800_000_000),
            None
        );
        let planted = format!("{}.{}", 1_800_000_100, random_token());
        let expected = expected_sign_in_token(&keys, &planted, 1_800_000_000);
        assert!(expected.is_some_and(|expected| expected != planted && expected.len() == 43));
        // Expired with its form, on the server's clock.
        assert_eq!(
            expected_sign_in_token(&keys, &cookie, 1_800_000_000 + SIGN_IN_FORM_SECONDS),
            None
        );
        // Another server's secret expects another token.
        let other_dir = tempfile::tempdir().expect("a temporary directory");
        let other = KeyRing::load_or_create(other_dir.path(), 1_800_000_000, "CH").expect("keys");
        assert_ne!(
            expected_sign_in_token(&other, &cookie, 1_800_000_000).as_deref(),
            Some(token.as_str())
        );
    }

    #[test]
    fn tokens_are_long_and_fresh() {
        let token = random_token();
        assert_eq!(token.len(), 43);
        assert_ne!(token, random_token());
    }
}
