//! `export.sig`: ECDSA P-256 / SHA-256 signatures over the whole `export.bin`.

use base64::Engine;
use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::DecodePublicKey;
use prost::Message;
use sha2::{Digest, Sha256};

use super::{ExportError, MAX_EXPORT_SIG_BYTES, MAX_SIGNATURES, SignatureInfo, proto};

/// A key that signs export files, with the info phones use to pick the right public key.
#[derive(Clone, Debug)]
pub struct ExportSigner {
    pub info: SignatureInfo,
    pub key: SigningKey,
}

/// One signature of `export.sig`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TekSignature {
    pub signature_info: SignatureInfo,
    /// Must equal the signed file's `batch_num`.
    pub batch_num: u32,
    /// Must equal the signed file's `batch_size`.
    pub batch_size: u32,
    /// DER-encoded ECDSA signature (`SEQUENCE { r, s }`).
    pub signature: Vec<u8>,
}

/// Signs `export_bin` with every signer, in order.
pub(crate) fn sign(
    export_bin: &[u8],
    batch_num: u32,
    batch_size: u32,
    signers: &[ExportSigner],
) -> Result<Vec<TekSignature>, ExportError> {
    let digest: [u8; 32] = Sha256::digest(export_bin).into();
    signers
        .iter()
        .map(|signer| {
            // RFC 6979 deterministic nonces: no randomness needed, same file, same signature.
            let signature: Signature = signer
                .key
                .sign_prehash(&digest)
                .map_err(|_| ExportError::Signing)?;
            Ok(TekSignature {
                signature_info: signer.info.clone(),
                batch_num,
                batch_size,
                signature: signature.to_der().as_bytes().to_vec(),
            })
        })
        .collect()
}

/// Encodes a signature list as `export.sig` (`TEKSignatureList`).
pub fn encode_signature_list(signatures: &[TekSignature]) -> Vec<u8> {
    let list = proto::TekSignatureList {
        signatures: signatures
            .iter()
            .map(|signature| proto::TekSignature {
                signature_info: Some(signature.signature_info.to_proto()),
                batch_num: Some(i32::try_from(signature.batch_num).unwrap_or(i32::MAX)),
                batch_size: Some(i32::try_from(signature.batch_size).unwrap_or(i32::MAX)),
                signature: Some(signature.signature.clone()),
            })
            .collect(),
    };
    list.encode_to_vec()
}

/// Decodes `export.sig` (at most [`MAX_EXPORT_SIG_BYTES`], [`MAX_SIGNATURES`] signatures).
pub fn decode_signature_list(export_sig: &[u8]) -> Result<Vec<TekSignature>, ExportError> {
    if export_sig.len() as u64 > MAX_EXPORT_SIG_BYTES {
        return Err(ExportError::TooLarge {
            what: "export.sig",
            limit: MAX_EXPORT_SIG_BYTES,
        });
    }
    let list = proto::TekSignatureList::decode(export_sig)?;
    if list.signatures.len() > MAX_SIGNATURES {
        return Err(ExportError::TooManySignatures {
            limit: MAX_SIGNATURES,
        });
    }
    list.signatures
        .into_iter()
        .map(|signature| {
            Ok(TekSignature {
                signature_info: SignatureInfo::from_proto(
                    signature.signature_info.unwrap_or_default(),
                ),
                batch_num: batch_number("batch_num", signature.batch_num)?,
                batch_size: batch_number("batch_size", signature.batch_size)?,
                signature: signature.signature.unwrap_or_default(),
            })
        })
        .collect()
}

fn batch_number(field: &'static str, value: Option<i32>) -> Result<u32, ExportError> {
    let value = value.unwrap_or(0);
    u32::try_from(value).map_err(|_| ExportError::NumberOutOfRange {
        field,
        value: i64::from(value),
    })
}

/// Checks that at least one signature of the list is a valid signature of `export_bin`
/// by `public_key`; returns the position of the first that is.
pub fn verify(
    export_bin: &[u8],
    signatures: &[TekSignature],
    public_key: &VerifyingKey,
) -> Result<usize, ExportError> {
    verify_digest(&Sha256::digest(export_bin).into(), signatures, public_key)
}

/// [`verify`] from the SHA-256 of `export.bin`, as [`super::KeyStream::finish`] gives it.
///
/// Signatures must be DER, as the format requires.
pub fn verify_digest(
    export_bin_sha256: &[u8; 32],
    signatures: &[TekSignature],
    public_key: &VerifyingKey,
) -> Result<usize, ExportError> {
    if signatures.is_empty() {
        return Err(ExportError::NoSignature);
    }
    signatures
        .iter()
        .position(|signature| {
            Signature::from_der(&signature.signature).is_ok_and(|decoded| {
                public_key
                    .verify_prehash(export_bin_sha256, &decoded)
                    .is_ok()
            })
        })
        .ok_or(ExportError::SignatureInvalid)
}

/// The armour of a SubjectPublicKeyInfo in PEM, as `openssl pkey -pubout` writes it.
const PEM_BEGIN: &str = "-----BEGIN PUBLIC KEY-----";
const PEM_END: &str = "-----END PUBLIC KEY-----";
/// Longest key text read: a P-256 key is under 200 characters of PEM; anything much longer
/// is not one, and is refused before any decoding.
pub const MAX_PUBLIC_KEY_TEXT: usize = 4096;

/// A public key (SubjectPublicKeyInfo) as OpenSSL reads it: PEM whose base64 has lines of
/// any length — 64 characters as `GET /v1/export-public-key` serves it, or all on one
/// line, even on the armour's lines, as the GAEN documentation and many health
/// authorities publish their keys — with CRLF or LF line ends and anything around the
/// armour; or, without armour, the bare base64 of the DER (see
/// [`public_key_from_base64_der`]).
///
/// Strict PEM parsers (RFC 7468's, which `p256` uses) refuse the one-line form that
/// OpenSSL and Python accept, so the base64 between the armour lines is read here, with
/// all whitespace ignored, and handed to the DER parser.
pub fn public_key_from_pem(pem: &str) -> Result<VerifyingKey, ExportError> {
    if pem.len() > MAX_PUBLIC_KEY_TEXT {
        return Err(ExportError::InvalidPublicKey(format!(
            "longer than {MAX_PUBLIC_KEY_TEXT} characters: not a public key"
        )));
    }
    let Some(begin) = pem.find(PEM_BEGIN) else {
        return public_key_from_base64_der(pem);
    };
    let body = &pem[begin + PEM_BEGIN.len()..];
    let end = body
        .find(PEM_END)
        .ok_or_else(|| ExportError::InvalidPublicKey(format!("{PEM_BEGIN} without {PEM_END}")))?;
    public_key_from_base64_der(&body[..end])
}

/// A public key from the base64 of its DER SubjectPublicKeyInfo, the form Apple and
/// Google publish in their key registries (whitespace anywhere is ignored).
pub fn public_key_from_base64_der(base64_der: &str) -> Result<VerifyingKey, ExportError> {
    if base64_der.len() > MAX_PUBLIC_KEY_TEXT {
        return Err(ExportError::InvalidPublicKey(format!(
            "longer than {MAX_PUBLIC_KEY_TEXT} characters: not a public key"
        )));
    }
    let compact: String = base64_der
        .chars()
        .filter(|character| !character.is_ascii_whitespace())
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|error| ExportError::InvalidPublicKey(error.to_string()))?;
    VerifyingKey::from_public_key_der(&der)
        .map_err(|error| ExportError::InvalidPublicKey(error.to_string()))
}
