//! Sessions and anti-forgery tokens.
//!
//! A session is a random 256-bit token in an `HttpOnly`, `Secure`, `SameSite=Strict` cookie
//! scoped to `/authority`; the database keeps only its SHA-256, so a stolen database
//! backup opens no session. Each session has its own anti-forgery token, put in every form
//! and compared in constant time on every POST. Before sign-in, the sign-in form gets the
//! same protection from a short-lived cookie holding its token (double submit).

use axum::http::{HeaderMap, HeaderValue};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cookie::SameSite;
use sha2::{Digest, Sha256};

use super::views::{BASE, Viewer};
use crate::datastore::accounts::NewSessionRow;
use crate::datastore::{DatastoreError, Store};
use crate::web::cookies::{self, cookie};

/// The session cookie.
pub(crate) const SESSION_COOKIE: &str = "osc_session";
/// The sign-in form's anti-forgery cookie.
pub(crate) const SIGN_IN_COOKIE: &str = "osc_sign_in";
/// How long a session lasts: one working day, then sign in again.
pub const SESSION_SECONDS: i64 = 8 * 3600;
/// How long a sign-in form stays valid.
pub const SIGN_IN_FORM_SECONDS: i64 = 3600;

/// A fresh random token, URL-safe base64 of 32 bytes.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn token_hash(token: &str) -> Vec<u8> {
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

/// The session the request's cookie belongs to, if it is live and its account enabled.
pub(crate) async fn find(
    store: &Store,
    headers: &HeaderMap,
    now: i64,
) -> Result<Option<Session>, DatastoreError> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let row = store.session(&token_hash(&token), now).await?;
    Ok(row.map(|row| Session {
        user_id: row.user_id,
        viewer: Viewer {
            email: row.email,
            role: row.role,
            csrf: row.csrf_token,
        },
    }))
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
    fn tokens_are_long_and_fresh() {
        let token = random_token();
        assert_eq!(token.len(), 43);
        assert_ne!(token, random_token());
    }
}
