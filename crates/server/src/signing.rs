//! The server's secrets: the export/response signing keys, the upload-token keys and the
//! code secret, kept as files in `<data_dir>/keys/`, plus the ES256 JWTs made with them.
//!
//! - `keys/export/<created>.pem`: ECDSA P-256 keys (PKCS#8 PEM) that sign export files and
//!   the `Signature` header of every response. Files are signed by every key present,
//!   newest first, so that phones holding an older public key keep verifying during a
//!   rotation overlap; `/v1/export-public-key` serves the newest.
//! - `keys/token/<created>.pem`: keys that sign upload tokens; the newest signs, all
//!   verify (tokens name their key in the `kid` header).
//! - `keys/code-secret`: 32 random bytes (hex); codes are stored only as HMAC-SHA256 under it.
//!
//! Everything is created on first start with mode 0600. [`rotate`] adds a new export and
//! token key and removes keys that were superseded longer than the overlap ago; a running
//! server picks rotated keys up when restarted.
//!
//! JWTs are ES256 only and written here rather than with a JWT crate: one algorithm, a
//! fixed header and p256 0.14 (shared with the export files) are all we need, and
//! refusing every other `alg` up front rules out algorithm-confusion attacks.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use exposure::export::{ExportSigner, SignatureInfo};
use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::elliptic_curve::Generate;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, UnparsedPublicKey,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

/// Longest JWT accepted, in bytes; ours are about 400.
pub const MAX_JWT_BYTES: usize = 2048;

/// Secrets could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("key file {path} is not a P-256 PKCS#8 PEM private key")]
    InvalidKey { path: PathBuf },
    #[error("the code secret {path} is not 64 hex digits")]
    InvalidSecret { path: PathBuf },
}

/// One signing key and the name it goes by (its creation time, unix seconds).
#[derive(Clone, Debug)]
pub struct NamedKey {
    pub created: i64,
    pub key: SigningKey,
    /// The same key for `ring`, which signs and verifies tokens on the hot path.
    token_pair: Arc<EcdsaKeyPair>,
    /// The uncompressed SEC1 public point, for `ring` verification.
    public_point: Arc<[u8]>,
}

impl NamedKey {
    /// Names `key`.
    pub fn new(created: i64, key: SigningKey) -> Self {
        let public_point: Arc<[u8]> = VerifyingKey::from(&key)
            .to_sec1_point(false)
            .as_bytes()
            .into();
        let token_pair = EcdsaKeyPair::from_private_key_and_public_key(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &key.to_bytes(),
            &public_point,
            &SystemRandom::new(),
        )
        // A valid p256 scalar and its own public point are always a valid ring key pair.
        .expect("a P-256 key pair is a valid ring key pair");
        Self {
            created,
            key,
            token_pair: Arc::new(token_pair),
            public_point,
        }
    }

    /// The `kid` / key version string: `v<created>`.
    pub fn key_id(&self) -> String {
        format!("v{}", self.created)
    }
}

/// All the server's secrets, loaded once at start.
#[derive(Clone)]
pub struct KeyRing {
    /// Newest first; never empty.
    export_keys: Vec<NamedKey>,
    /// Newest first; never empty.
    token_keys: Vec<NamedKey>,
    code_secret: [u8; 32],
    region: String,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print secrets, even in debug output.
        f.debug_struct("KeyRing")
            .field("export_keys", &self.export_keys.len())
            .field("token_keys", &self.token_keys.len())
            .finish_non_exhaustive()
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes `contents` to a new file readable by the owner only.
fn write_private_file(path: &Path, contents: &[u8]) -> Result<(), KeyError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io_error(path))?;
    file.write_all(contents).map_err(io_error(path))?;
    file.sync_all().map_err(io_error(path))
}

fn create_key_file(dir: &Path, created: i64) -> Result<(), KeyError> {
    let key = SigningKey::generate_from_rng(&mut rand::rng());
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|_| KeyError::InvalidKey {
            path: dir.to_owned(),
        })?;
    write_private_file(&dir.join(format!("{created}.pem")), pem.as_bytes())
}

/// Reads every `<created>.pem` in `dir`, newest first.
fn read_key_dir(dir: &Path) -> Result<Vec<NamedKey>, KeyError> {
    let mut keys = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_error(dir))? {
        let path = entry.map_err(io_error(dir))?.path();
        let Some(created) = path
            .file_name()
            .and_then(|name| name.to_str())
            .and_then(|name| name.strip_suffix(".pem"))
            .and_then(|stem| stem.parse::<i64>().ok())
        else {
            continue;
        };
        let pem = fs::read_to_string(&path).map_err(io_error(&path))?;
        let key = SigningKey::from_pkcs8_pem(&pem)
            .map_err(|_| KeyError::InvalidKey { path: path.clone() })?;
        keys.push(NamedKey::new(created, key));
    }
    keys.sort_by_key(|named| std::cmp::Reverse(named.created));
    Ok(keys)
}

fn key_dirs(data_dir: &Path) -> (PathBuf, PathBuf) {
    let keys = data_dir.join("keys");
    (keys.join("export"), keys.join("token"))
}

impl KeyRing {
    /// Loads the secrets from `<data_dir>/keys`, creating whatever is missing.
    pub fn load_or_create(data_dir: &Path, now: i64, region: &str) -> Result<Self, KeyError> {
        let (export_dir, token_dir) = key_dirs(data_dir);
        for dir in [&export_dir, &token_dir] {
            fs::create_dir_all(dir).map_err(io_error(dir))?;
            if read_key_dir(dir)?.is_empty() {
                create_key_file(dir, now)?;
            }
        }
        let secret_path = data_dir.join("keys").join("code-secret");
        if !secret_path.exists() {
            let mut secret = [0u8; 32];
            rand::fill(&mut secret);
            write_private_file(&secret_path, hex::encode(secret).as_bytes())?;
        }
        let secret_text = fs::read_to_string(&secret_path).map_err(io_error(&secret_path))?;
        let code_secret: [u8; 32] = hex::decode(secret_text.trim())
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| KeyError::InvalidSecret {
                path: secret_path.clone(),
            })?;
        let export_keys = read_key_dir(&export_dir)?;
        let token_keys = read_key_dir(&token_dir)?;
        if export_keys.is_empty() || token_keys.is_empty() {
            return Err(KeyError::InvalidKey { path: export_dir });
        }
        Ok(Self {
            export_keys,
            token_keys,
            code_secret,
            region: region.to_owned(),
        })
    }

    /// The newest export key.
    pub fn export_key(&self) -> &NamedKey {
        &self.export_keys[0]
    }

    /// PEM (SubjectPublicKeyInfo) of the newest export key.
    pub fn export_public_key_pem(&self) -> String {
        self.export_key()
            .key
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap_or_default()
    }

    /// Signers for export files: every export key, newest first.
    pub fn export_signers(&self) -> Vec<ExportSigner> {
        self.export_keys
            .iter()
            .take(exposure::export::MAX_SIGNATURES)
            .map(|named| ExportSigner {
                info: SignatureInfo::new(named.key_id(), self.region.clone()),
                key: named.key.clone(),
            })
            .collect()
    }

    /// The secret under which codes are stored (HMAC-SHA256).
    pub fn code_secret(&self) -> &[u8; 32] {
        &self.code_secret
    }

    /// HMAC-SHA256 under the server's secret of `data`, for one `label`'s purpose: an
    /// identifier that only this server can compute or link, and that differs between
    /// labels (sign-in form tokens, sign-in backoff of an email, token uses). Labels
    /// hold no NUL byte, so `label ‖ 0 ‖ data` never reads two ways; codes are HMACs of
    /// 12 digits, never of such a string.
    pub fn keyed_hash(&self, label: &str, data: &[u8]) -> [u8; 32] {
        use hmac::{KeyInit, Mac};
        let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&self.code_secret)
            .expect("HMAC takes any key length");
        mac.update(label.as_bytes());
        mac.update(&[0]);
        mac.update(data);
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&mac.finalize().into_bytes());
        hash
    }

    /// Signs `claims` as an upload-token JWT with the newest token key.
    pub fn sign_token<C: Serialize>(&self, claims: &C) -> String {
        sign_jwt(&self.token_keys[0], claims)
    }

    /// Checks a token's signature against the token keys and decodes its claims.
    /// Expiry and scope are the caller's business (they need the clock and the route).
    pub fn verify_token<C: DeserializeOwned>(&self, token: &str) -> Result<C, JwtError> {
        verify_jwt(&self.token_keys, token)
    }

    /// The `Signature` header value for a response body: an ES256 JWT whose claims carry
    /// the base64 SHA-256 of the body (DP-3T style), signed with the newest export key.
    pub fn sign_response_body(&self, body: &[u8], now: i64) -> String {
        let digest = Sha256::digest(body);
        let claims = serde_json::json!({
            "iss": "openstopcovid",
            "iat": now,
            "exp": now + 21 * 86_400,
            "content-hash": STANDARD.encode(digest),
            "hash-alg": "sha-256",
        });
        sign_jwt(self.export_key(), &claims)
    }
}

/// Adds a new export key and a new token key, and deletes keys superseded more than
/// `overlap_seconds` ago. Returns the paths of the deleted files.
pub fn rotate(data_dir: &Path, now: i64, overlap_seconds: i64) -> Result<Vec<PathBuf>, KeyError> {
    let (export_dir, token_dir) = key_dirs(data_dir);
    let mut deleted = Vec::new();
    for dir in [&export_dir, &token_dir] {
        fs::create_dir_all(dir).map_err(io_error(dir))?;
        let existing = read_key_dir(dir)?;
        // A key named after `now` may already exist (two rotations in one second).
        let created = existing
            .first()
            .map_or(now, |newest| now.max(newest.created + 1));
        create_key_file(dir, created)?;
        // A key stops being needed `overlap` after its successor appeared; the successor
        // of existing[i] is existing[i-1] (or the new key for existing[0]).
        let mut successor_created = created;
        for key in &existing {
            if successor_created + overlap_seconds <= now {
                let path = dir.join(format!("{}.pem", key.created));
                fs::remove_file(&path).map_err(io_error(&path))?;
                deleted.push(path);
            }
            successor_created = key.created;
        }
    }
    Ok(deleted)
}

/// Why a JWT was refused. Deliberately coarse: the client learns only "invalid".
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwtError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token is not signed by this server")]
    BadSignature,
}

#[derive(Serialize, serde::Deserialize)]
struct JwtHeader {
    alg: String,
    typ: String,
    kid: String,
}

fn sign_jwt<C: Serialize>(named: &NamedKey, claims: &C) -> String {
    let header = JwtHeader {
        alg: "ES256".to_owned(),
        typ: "JWT".to_owned(),
        kid: named.key_id(),
    };
    // Serializing these plain structs cannot fail.
    let header_json = serde_json::to_vec(&header).unwrap_or_default();
    let claims_json = serde_json::to_vec(claims).unwrap_or_default();
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header_json),
        URL_SAFE_NO_PAD.encode(claims_json)
    );
    // ring signs with a fresh random nonce from the system; it fails only if the system
    // has no randomness, and a server without it must not run.
    let signature = named
        .token_pair
        .sign(&SystemRandom::new(), signing_input.as_bytes())
        .expect("the system random generator works");
    format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature.as_ref())
    )
}

fn verify_jwt<C: DeserializeOwned>(keys: &[NamedKey], token: &str) -> Result<C, JwtError> {
    if token.len() > MAX_JWT_BYTES {
        return Err(JwtError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let header: JwtHeader = URL_SAFE_NO_PAD
        .decode(header_b64)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(JwtError::Malformed)?;
    if header.alg != "ES256" {
        return Err(JwtError::BadSignature);
    }
    let key = keys
        .iter()
        .find(|named| named.key_id() == header.kid)
        .ok_or(JwtError::BadSignature)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .ok()
        .filter(|bytes| bytes.len() == 64)
        .ok_or(JwtError::Malformed)?;
    let signing_input_len = header_b64.len() + 1 + claims_b64.len();
    let signing_input = token.get(..signing_input_len).ok_or(JwtError::Malformed)?;
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &*key.public_point)
        .verify(signing_input.as_bytes(), &signature)
        .map_err(|_| JwtError::BadSignature)?;
    URL_SAFE_NO_PAD
        .decode(claims_b64)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(JwtError::Malformed)
}

/// Checks a response `Signature` header against a public key and the body it came with;
/// returns the decoded claims. For clients and tests.
pub fn verify_response_signature(
    public_key: &VerifyingKey,
    signature_header: &str,
    body: &[u8],
) -> Result<serde_json::Value, JwtError> {
    use messages::response_signature::ResponseSignatureError;
    messages::response_signature::verify_response_signature(public_key, signature_header, body)
        .map_err(|error| match error {
            ResponseSignatureError::Malformed => JwtError::Malformed,
            ResponseSignatureError::BadSignature | ResponseSignatureError::OtherBody => {
                JwtError::BadSignature
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_created_once_with_owner_only_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let first = KeyRing::load_or_create(dir.path(), 1_000, "CH").unwrap();
        let again = KeyRing::load_or_create(dir.path(), 2_000, "CH").unwrap();
        assert_eq!(first.export_public_key_pem(), again.export_public_key_pem());
        assert_eq!(first.code_secret(), again.code_secret());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join("keys/export/1000.pem"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn tokens_verify_and_tampering_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let ring = KeyRing::load_or_create(dir.path(), 1_000, "CH").unwrap();
        let token = ring.sign_token(&serde_json::json!({"scope": "exposed"}));
        let claims: serde_json::Value = ring.verify_token(&token).unwrap();
        assert_eq!(claims["scope"], "exposed");

        let forged_claims = URL_SAFE_NO_PAD.encode(br#"{"scope":"admin"}"#);
        let mut parts: Vec<&str> = token.split('.').collect();
        parts[1] = &forged_claims;
        let forged = parts.join(".");
        assert_eq!(
            ring.verify_token::<serde_json::Value>(&forged).unwrap_err(),
            JwtError::BadSignature
        );
        let none_alg = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT","kid":"v1000"}"#),
            forged_claims
        );
        assert!(ring.verify_token::<serde_json::Value>(&none_alg).is_err());
    }

    #[test]
    fn rotated_out_token_keys_verify_during_the_overlap_only() {
        let dir = tempfile::tempdir().unwrap();
        let old = KeyRing::load_or_create(dir.path(), 1_000, "CH").unwrap();
        let token = old.sign_token(&serde_json::json!({"scope": "exposed"}));

        rotate(dir.path(), 2_000, 500).unwrap();
        let during = KeyRing::load_or_create(dir.path(), 2_000, "CH").unwrap();
        assert!(during.verify_token::<serde_json::Value>(&token).is_ok());
        assert_eq!(during.export_signers().len(), 2);
        assert_ne!(during.export_public_key_pem(), old.export_public_key_pem());

        rotate(dir.path(), 2_600, 500).unwrap();
        let after = KeyRing::load_or_create(dir.path(), 2_600, "CH").unwrap();
        assert_eq!(
            after.verify_token::<serde_json::Value>(&token).unwrap_err(),
            JwtError::BadSignature
        );
    }

    #[test]
    fn response_signatures_bind_the_body() {
        let dir = tempfile::tempdir().unwrap();
        let ring = KeyRing::load_or_create(dir.path(), 1_000, "CH").unwrap();
        let header = ring.sign_response_body(b"hello", 1_000);
        let public_key = VerifyingKey::from(&ring.export_key().key);
        let claims = verify_response_signature(&public_key, &header, b"hello").unwrap();
        assert_eq!(claims["hash-alg"], "sha-256");
        assert!(verify_response_signature(&public_key, &header, b"hellO").is_err());
    }
}
