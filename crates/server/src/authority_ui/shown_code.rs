//! Values sealed for one account (`web::sealed`: AES-256-GCM under a key derived from the
//! server's secret per purpose, the account's id as associated data): what a page shows
//! again after a redirect, a TOTP secret at rest, a sign-in waiting for its second factor.
//!
//! POST → redirect → GET for newly issued codes: the issuing POST answers `303 See
//! Other` to `/authority/issue/shown?c=<sealed>` (one code) or
//! `/authority/issue/sheet?c=<sealed>` (a printable sheet), and that page shows the codes,
//! so that a reload shows the same codes and never issues others.
//!
//! The server keeps no clear code (only its HMAC), so the digits travel in the address,
//! sealed and bound to the physician who issued them: another account, a changed address
//! or another server's secret opens nothing. Any instance behind the load balancer can
//! open it. The page is `no-store`; the address stays in the physician's own browser
//! history, sealed.

use messages::authority::CodeKind;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::state::AppState;
use crate::web::sealed;

/// Longest sealed value read: a sheet of 50 codes and their ids takes about 4,600
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
    sealed::seal(&state.keys, purpose.label(), user_id, value)
}

/// What is sealed in `text` for `purpose` and `user_id`.
pub(crate) fn open_for<T: DeserializeOwned>(
    state: &AppState,
    purpose: Purpose,
    user_id: &str,
    text: &str,
) -> Option<T> {
    sealed::open(
        &state.keys,
        purpose.label(),
        user_id,
        text,
        MAX_SEALED_LENGTH,
    )
}
