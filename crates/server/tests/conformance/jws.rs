//! The part of a JWT library both SDKs rely on: a compact JWS whose ES256 signature
//! verifies with the pinned key. What each SDK then checks in the claims (which ones, the
//! leeway, the content hash) is in its own client, as its source has it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use serde_json::Value;

/// The claims of a JWS whose signature verified.
pub struct VerifiedJws {
    pub claims: Value,
}

/// Verifies `token` (`header.payload.signature`, base64url) as ES256 with `key`: the
/// header's `alg` must be `ES256` (SwiftJWT's `JWTVerifier.es256` and jjwt both refuse
/// another algorithm for a P-256 key), the signature the 64-byte `r || s` of RFC 7518.
pub fn verify_es256(token: &str, key: &VerifyingKey) -> Result<VerifiedJws, String> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("not a compact JWS".to_owned());
    };
    let decode = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|error| format!("bad base64url: {error}"))
    };
    let header_json: Value =
        serde_json::from_slice(&decode(header)?).map_err(|error| format!("bad header: {error}"))?;
    if header_json["alg"] != "ES256" {
        return Err(format!("algorithm {} is not ES256", header_json["alg"]));
    }
    let signature = Signature::from_slice(&decode(signature)?)
        .map_err(|error| format!("bad signature encoding: {error}"))?;
    key.verify(format!("{header}.{payload}").as_bytes(), &signature)
        .map_err(|_| "signature does not verify".to_owned())?;
    let claims: Value = serde_json::from_slice(&decode(payload)?)
        .map_err(|error| format!("bad claims: {error}"))?;
    Ok(VerifiedJws { claims })
}

/// Seconds since the epoch from an HTTP `Date` header (`Sun, 06 Nov 1994 08:49:37 GMT`),
/// the format both SDKs parse.
pub fn parse_http_date(text: &str) -> Option<i64> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::PrimitiveDateTime::parse(text, &format)
        .ok()
        .map(|date| date.assume_utc().unix_timestamp())
}
