//! Values a page hands to the browser's address bar for the next page to read back, so
//! that a result page can be a plain GET (POST → redirect → GET: a reload shows the same
//! result and does nothing again) without the server keeping anything.
//!
//! The value is serialized as JSON and sealed with AES-256-GCM under a key derived from
//! the server's secret for one `purpose`, and bound to whoever it was made for (a user
//! id, a form cookie) as associated data: another purpose, another visitor, another
//! server's secret or one changed character opens nothing. Any instance behind the load
//! balancer can open it. Pages that show sealed values are `no-store`; their addresses
//! stay in their visitor's own browser history, sealed.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::signing::KeyRing;

fn key(keys: &KeyRing, purpose: &str) -> Option<LessSafeKey> {
    let bytes = keys.keyed_hash(purpose, &[]);
    UnboundKey::new(&AES_256_GCM, &bytes)
        .ok()
        .map(LessSafeKey::new)
}

/// `value` sealed for `purpose` and `bound_to`, as URL-safe text.
pub(crate) fn seal<T: Serialize>(
    keys: &KeyRing,
    purpose: &str,
    bound_to: &str,
    value: &T,
) -> Option<String> {
    let key = key(keys, purpose)?;
    let mut nonce = [0u8; NONCE_LEN];
    rand::fill(&mut nonce);
    let mut data = serde_json::to_vec(value).ok()?;
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(bound_to.as_bytes()),
        &mut data,
    )
    .ok()?;
    let mut sealed = nonce.to_vec();
    sealed.extend_from_slice(&data);
    Some(URL_SAFE_NO_PAD.encode(sealed))
}

/// The value sealed in `text` for `purpose` and `bound_to`; `None` if it is longer than
/// `max_length`, was sealed for another purpose or visitor, altered, or is not ours.
pub(crate) fn open<T: DeserializeOwned>(
    keys: &KeyRing,
    purpose: &str,
    bound_to: &str,
    text: &str,
    max_length: usize,
) -> Option<T> {
    if text.len() > max_length {
        return None;
    }
    let sealed = URL_SAFE_NO_PAD.decode(text).ok()?;
    if sealed.len() <= NONCE_LEN {
        return None;
    }
    let (nonce, data) = sealed.split_at(NONCE_LEN);
    let mut data = data.to_vec();
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let plain = key(keys, purpose)?
        .open_in_place(nonce, Aad::from(bound_to.as_bytes()), &mut data)
        .ok()?;
    serde_json::from_slice(plain).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> (tempfile::TempDir, KeyRing) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let keys = KeyRing::load_or_create(dir.path(), 1_800_000_000, "CH").expect("keys");
        (dir, keys)
    }

    #[test]
    fn a_sealed_value_opens_only_for_its_purpose_and_visitor() {
        let (_dir, keys) = keys();
        let value = ("Café des Arts".to_owned(), 42u32);
        let text = seal(&keys, "venue", "visitor-a", &value).expect("sealed");
        assert!(
            !text.contains("Caf"),
            "the value is not readable in the address"
        );
        let open_as = |purpose: &str, visitor: &str, text: &str| {
            open::<(String, u32)>(&keys, purpose, visitor, text, 1024)
        };
        assert_eq!(open_as("venue", "visitor-a", &text), Some(value));
        assert_eq!(open_as("venue", "visitor-b", &text), None);
        assert_eq!(open_as("code", "visitor-a", &text), None);
        let mut altered = text.clone().into_bytes();
        altered[20] = if altered[20] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).expect("ascii");
        assert_eq!(open_as("venue", "visitor-a", &altered), None);
        assert_eq!(open_as("venue", "visitor-a", "not sealed"), None);
        assert_eq!(
            open::<(String, u32)>(&keys, "venue", "visitor-a", &text, 10),
            None
        );
        let (_other_dir, other) = self::keys();
        assert_eq!(
            open::<(String, u32)>(&other, "venue", "visitor-a", &text, 1024),
            None
        );
    }
}
