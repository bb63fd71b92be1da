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

fn key(state: &AppState) -> Option<LessSafeKey> {
    let bytes = state.keys.keyed_hash("issued-code-address", &[]);
    UnboundKey::new(&AES_256_GCM, &bytes)
        .ok()
        .map(LessSafeKey::new)
}

/// The sealed form of `shown` for `user_id`, for the address.
pub(crate) fn seal<T: Serialize>(state: &AppState, user_id: &str, shown: &T) -> Option<String> {
    let key = key(state)?;
    let mut nonce = [0u8; NONCE_LEN];
    rand::fill(&mut nonce);
    let mut data = serde_json::to_vec(shown).ok()?;
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

/// What is sealed in `text` for `user_id`; `None` if it was sealed for someone else,
/// altered, is not ours, or is not a `T`.
pub(crate) fn open<T: DeserializeOwned>(state: &AppState, user_id: &str, text: &str) -> Option<T> {
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
    let plain = key(state)?
        .open_in_place(nonce, Aad::from(user_id.as_bytes()), &mut data)
        .ok()?;
    serde_json::from_slice(plain).ok()
}
