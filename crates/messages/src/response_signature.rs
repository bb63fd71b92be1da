//! The `Signature` header of every server answer: an ES256 JWT whose claims carry the
//! base64 SHA-256 of the body (`content-hash`, DP-3T style), signed with the export key.
//! The server signs; the phone checks the answers it must trust (`GET /v1/config`)
//! against the key it pinned.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};

/// Why a `Signature` header does not vouch for a body.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResponseSignatureError {
    #[error("the Signature header is not an ES256 JWT")]
    Malformed,
    #[error("the Signature header is not signed by the pinned key")]
    BadSignature,
    #[error("the Signature header is for another body")]
    OtherBody,
}

/// Checks that `signature_header` is a JWT signed by `public_key` whose `content-hash`
/// is the SHA-256 of `body`; returns its claims.
pub fn verify_response_signature(
    public_key: &VerifyingKey,
    signature_header: &str,
    body: &[u8],
) -> Result<serde_json::Value, ResponseSignatureError> {
    let mut parts = signature_header.rsplitn(2, '.');
    let (Some(signature_b64), Some(signing_input)) = (parts.next(), parts.next()) else {
        return Err(ResponseSignatureError::Malformed);
    };
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .ok()
        .and_then(|bytes| Signature::from_slice(&bytes).ok())
        .ok_or(ResponseSignatureError::Malformed)?;
    public_key
        .verify(signing_input.as_bytes(), &signature)
        .map_err(|_| ResponseSignatureError::BadSignature)?;
    let claims_b64 = signing_input
        .split('.')
        .nth(1)
        .ok_or(ResponseSignatureError::Malformed)?;
    let claims: serde_json::Value = URL_SAFE_NO_PAD
        .decode(claims_b64)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(ResponseSignatureError::Malformed)?;
    let expected = STANDARD.encode(Sha256::digest(body));
    if claims.get("content-hash").and_then(|value| value.as_str()) != Some(expected.as_str()) {
        return Err(ResponseSignatureError::OtherBody);
    }
    Ok(claims)
}
