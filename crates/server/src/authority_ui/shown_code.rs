//! Values sealed for one account (AES-256-GCM under a key derived from the server's secret
//! per purpose, the account's id as associated data): what a page shows again after a
//! redirect, a TOTP secret at rest, a sign-in waiting for its second factor.
//!
//! POST → redirect → GET for newly issued codes: the issuing POST answers `303 See
//! Other` to `/authority/issue/shown?c=<sealed>` (one code) or
//! `/authority/issue/sheet?c=<sealed>` (a printable sheet), and that page shows the codes,
//! so that a reload shows the same codes and never issues others.
//!
//! The server keeps no clear code (only its HMAC), so the digits travel in the address,
//! sealed with AES-256-GCM under a key derived from the server's secret and bound to the
//! physician who issued them: another account, a changed address or another server's
//! secret opens nothing. Any instance behind the load balancer can open it. The page is
//! `no-store`; the address stays in the physician's own browser history, sealed.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use messages::authority::CodeKind;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::state::AppState;

/// Longest sealed value read: a sheet of 50 codes and their ids takes about 4,000
/// characters, well within the address length every browser and proxy accepts.
const MAX_SEALED_LENGTH: usize = 6000;

/// What the page of one code shows again.
#[derive(Serialize, Deserialize, Debug, PartialEq, Eq)]
pub(crate) struct ShownCode {
    pub id: String,
    pub code: String,
    pub kind: CodeKind,
    pub expires_at: i64,
}

/// What a printed sheet shows again: patients' codes issued together.
#[derive(Serialize, Deserialize, Debug, PartialEq, Eq)]
pub(crate) struct ShownSheet {
    pub issued_at: i64,
    /// Each code: its id, its digits, its expiry.
    pub codes: Vec<(String, String, i64)>,
}

/// What a sealed value is for: each purpose has its own key, so that a value sealed for
/// one is never opened as another.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Purpose {
    /// Codes, keys and links shown again on the page an address leads to.
    Address,
    /// An account's TOTP secret, at rest in the database.
    SecondFactor,
    /// A sign-in whose password was right, waiting for its second factor (a cookie).
    SecondStep,
}

impl Purpose {
    fn label(self) -> &'static str {
        match self {
            Purpose::Address => "issued-code-address",
            Purpose::SecondFactor => "totp-secret",
            Purpose::SecondStep => "sign-in-second-step",
        }
    }
}

fn key(state: &AppState, purpose: Purpose) -> Option<LessSafeKey> {
    let bytes = state.keys.keyed_hash(purpose.label(), &[]);
    UnboundKey::new(&AES_256_GCM, &bytes)
        .ok()
        .map(LessSafeKey::new)
}

/// The sealed form of `shown` for `user_id`, for the address.
pub(crate) fn seal<T: Serialize>(state: &AppState, user_id: &str, shown: &T) -> Option<String> {
    seal_for(state, Purpose::Address, user_id, shown)
}

/// What is sealed in `text` for `user_id`; `None` if it was sealed for someone else,
/// altered, is not ours, or is not a `T`.
pub(crate) fn open<T: DeserializeOwned>(state: &AppState, user_id: &str, text: &str) -> Option<T> {
    open_for(state, Purpose::Address, user_id, text)
}

/// `value` sealed for `purpose` and `user_id`, as URL-safe text.
pub(crate) fn seal_for<T: Serialize>(
    state: &AppState,
    purpose: Purpose,
    user_id: &str,
    value: &T,
) -> Option<String> {
    let key = key(state, purpose)?;
    let mut nonce = [0u8; NONCE_LEN];
    rand::fill(&mut nonce);
    let mut data = serde_json::to_vec(value).ok()?;
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(user_id.as_bytes()),
        &mut data,
    )
    .ok()?;
    let mut sealed = nonce.to_vec();
    sealed.extend_from_slice(&data);
    Some(URL_SAFE_NO_PAD.encode(sealed))
}

/// What is sealed in `text` for `purpose` and `user_id`.
pub(crate) fn open_for<T: DeserializeOwned>(
    state: &AppState,
    purpose: Purpose,
    user_id: &str,
    text: &str,
) -> Option<T> {
    if text.len() > MAX_SEALED_LENGTH {
        return None;
    }
    let sealed = URL_SAFE_NO_PAD.decode(text).ok()?;
    if sealed.len() <= NONCE_LEN {
        return None;
    }
    let (nonce, data) = sealed.split_at(NONCE_LEN);
    let mut data = data.to_vec();
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let plain = key(state, purpose)?
        .open_in_place(nonce, Aad::from(user_id.as_bytes()), &mut data)
        .ok()?;
    serde_json::from_slice(plain).ok()
}
