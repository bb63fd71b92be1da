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

/// A public key from PEM (`-----BEGIN PUBLIC KEY-----`, SubjectPublicKeyInfo), as
/// `GET /v1/export-public-key` serves it.
pub fn public_key_from_pem(pem: &str) -> Result<VerifyingKey, ExportError> {
    VerifyingKey::from_public_key_pem(pem.trim())
        .map_err(|error| ExportError::InvalidPublicKey(error.to_string()))
}

/// A public key from the base64 of its DER SubjectPublicKeyInfo, the form Apple and
/// Google publish in their key registries.
pub fn public_key_from_base64_der(base64_der: &str) -> Result<VerifyingKey, ExportError> {
    let der = base64::engine::general_purpose::STANDARD
        .decode(base64_der.trim())
        .map_err(|error| ExportError::InvalidPublicKey(error.to_string()))?;
    VerifyingKey::from_public_key_der(&der)
        .map_err(|error| ExportError::InvalidPublicKey(error.to_string()))
}
