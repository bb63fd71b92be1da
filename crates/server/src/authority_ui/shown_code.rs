//! POST → redirect → GET for a newly issued code: the issuing POST answers `303 See
//! Other` to `/authority/issue/shown?c=<sealed>`, and that page shows the code, so that a
//! reload shows the same code and never issues another.
//!
//! The server keeps no clear code (only its HMAC), so the digits travel in the address,
//! sealed (`web::sealed`) and bound to the physician who issued them: another account, a
//! changed address or another server's secret opens nothing. The page is `no-store`; the
//! address stays in the physician's own browser history, sealed.

use messages::authority::CodeKind;
use serde::{Deserialize, Serialize};

use crate::state::AppState;
use crate::web::sealed;

/// Longest sealed value read (a code, an id and a time are far shorter).
const MAX_SEALED_LENGTH: usize = 1024;
/// What the sealing key is derived for.
const PURPOSE: &str = "issued-code-address";

/// What the page shows again.
#[derive(Serialize, Deserialize, Debug, PartialEq, Eq)]
pub(crate) struct ShownCode {
    pub id: String,
    pub code: String,
    pub kind: CodeKind,
    pub expires_at: i64,
}

/// The sealed form of `shown` for `user_id`, for the address.
pub(crate) fn seal(state: &AppState, user_id: &str, shown: &ShownCode) -> Option<String> {
    sealed::seal(&state.keys, PURPOSE, user_id, shown)
}

/// The code sealed in `text` for `user_id`; `None` if it was sealed for someone else,
/// altered, or is not ours.
pub(crate) fn open(state: &AppState, user_id: &str, text: &str) -> Option<ShownCode> {
    sealed::open(&state.keys, PURPOSE, user_id, text, MAX_SEALED_LENGTH)
}
