//! Key-export files: the signed zips that phones download and hand to their
//! exposure-notification framework (PROTOCOLS.md §2).
//!
//! A file is a zip with exactly two entries, `export.bin` then `export.sig`.
//! `export.bin` is the 16-byte header [`EXPORT_HEADER`] followed by a protobuf
//! `TemporaryExposureKeyExport`; `export.sig` is a `TEKSignatureList` holding one ECDSA
//! P-256 / SHA-256 signature (DER) of the whole `export.bin`, header included, per
//! signing key.
//!
//! # Writing (a server)
//!
//! ```
//! use exposure::export::{self, ExportBatch, ExportSigner, SignatureInfo};
//! # use exposure::keys::{DiagnosisKey, TemporaryExposureKey};
//! # use exposure::interval::EnIntervalNumber;
//! # let signing_key = p256::ecdsa::SigningKey::from_slice(&[7; 32]).unwrap();
//! # let keys = vec![DiagnosisKey::confirmed(TemporaryExposureKey {
//! #     key_data: [1; 16], rolling_start_interval_number: EnIntervalNumber(2_650_000), rolling_period: 144 })];
//! let signer = ExportSigner { info: SignatureInfo::new("v1", "999"), key: signing_key };
//! let batch = ExportBatch { keys, ..ExportBatch::new(1_600_000_000, 1_600_007_200, "CH") };
//! let zip: Vec<u8> = export::write_signed_zip(&batch, &[signer])?;
//! # Ok::<(), export::ExportError>(())
//! ```
//!
//! - [`encode_export_bin`] gives `export.bin` byte for byte as the reference server
//!   (google/exposure-notifications-server) writes it: keys sorted by their raw bytes,
//!   `transmission_risk_level` always present, `rolling_start_interval_number` omitted when
//!   0, `rolling_period` omitted when 144, `report_type` omitted when unknown.
//! - [`write_signed_zip`] adds the signatures and the zip.
//! - Files hold at most [`MAX_KEYS_PER_FILE`] keys and [`MAX_EXPORT_FILE_BYTES`] bytes; a
//!   larger set goes through [`split_into_batches`] first.
//! - [`pad_with_fake_keys`] adds random keys so that a file's size says little about how
//!   many people uploaded (see [`padded_key_count`] for the bucket rule).
//!
//! # Reading (a phone, an operator's tool)
//!
//! - [`read_export_file`] takes a zip or a bare `export.bin`; [`read_zip`] only a zip;
//!   [`decode_export_bin`] only a bare `export.bin`.
//! - [`ExportArchive`] opens a zip from any `Read + Seek` and [`ExportArchive::stream_keys`]
//!   yields the keys one by one without holding them all in memory, hashing the bytes as
//!   they pass so that [`KeyStream::finish`] can hand the digest to [`verify_digest`].
//! - Every input is bounded ([`MAX_EXPORT_BIN_BYTES`], [`MAX_EXPORT_SIG_BYTES`],
//!   [`MAX_KEYS_READ`], [`MAX_SIGNATURES`], [`MAX_FIELD_BYTES`]) and every failure is an
//!   [`ExportError`]; nothing here panics on hostile bytes (the `fuzz/` targets check it).
//!
//! # Signatures
//!
//! [`verify`] / [`verify_digest`] check a signature list against one public key, loaded
//! with [`public_key_from_pem`] or [`public_key_from_base64_der`].

use crate::keys::DiagnosisKey;

mod padding;
pub mod proto;
mod reader;
mod signature;
mod stream;
mod writer;

pub use padding::{PADDING_MIN_KEYS, pad_with_fake_keys, padded_key_count};
pub use reader::{ExportArchive, SignedExport, decode_export_bin, read_export_file, read_zip};
pub use signature::{
    ExportSigner, MAX_PUBLIC_KEY_TEXT, TekSignature, decode_signature_list, encode_signature_list,
    public_key_from_base64_der, public_key_from_pem, verify, verify_digest,
};
pub use stream::{KeyStream, StreamedExport};
pub use writer::{
    BatchNumbering, encode_export_bin, split_into_batches, write_signed_zip, write_zip,
};

/// The 16 bytes every `export.bin` starts with: `EK Export v1` and four spaces.
pub const EXPORT_HEADER: &[u8; 16] = b"EK Export v1    ";

/// Name of the key entry in the zip.
pub const EXPORT_BIN_NAME: &str = "export.bin";

/// Name of the signature entry in the zip.
pub const EXPORT_SIG_NAME: &str = "export.sig";

/// ASN.1 OID of ECDSA with SHA-256, the only algorithm this crate signs and verifies with.
pub const ECDSA_P256_SHA256_OID: &str = "1.2.840.10045.4.3.2";

/// The most keys a writer puts in one file (keys and revised keys together).
pub const MAX_KEYS_PER_FILE: usize = 750_000;

/// The largest `export.bin` a writer produces. Phones' frameworks cap files at 16 MB;
/// staying under 16,000,000 bytes of uncompressed `export.bin` keeps the zip under it
/// whatever the compression does.
pub const MAX_EXPORT_FILE_BYTES: usize = 16_000_000;

/// The largest `export.bin` a reader accepts (decompressed). Much more than a writer
/// produces, because operators' tools inspect files from other servers, with a million
/// keys or more (about 31 bytes a key).
pub const MAX_EXPORT_BIN_BYTES: u64 = 64 * 1024 * 1024;

/// The largest `export.sig` a reader accepts; ten signatures take well under 2 KiB.
pub const MAX_EXPORT_SIG_BYTES: u64 = 64 * 1024;

/// The most keys (and revised keys) a reader accepts in one file.
pub const MAX_KEYS_READ: usize = 4_000_000;

/// The most signature infos in `export.bin`, signatures in `export.sig` and signers when
/// writing; phones do not look past the first ten.
pub const MAX_SIGNATURES: usize = 10;

/// The longest length-delimited field a reader accepts outside the key list (region,
/// signature info, one key message, unknown fields are skipped without a bound).
pub const MAX_FIELD_BYTES: usize = 4096;

/// Longest rolling period a key may have, in intervals (one day).
pub const MAX_ROLLING_PERIOD: u32 = crate::interval::INTERVALS_PER_DAY;

/// One export file's content: the header fields and its keys.
///
/// It is both what a writer takes and what a reader returns. When read, `keys` keeps the
/// file's order; when written, keys are sorted by their bytes (the reference server
/// does so to break any link between a key's position and the upload it came from).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportBatch {
    /// Start of the window of arrival times of these keys, unix seconds.
    pub start_timestamp: u64,
    /// End of that window, unix seconds.
    pub end_timestamp: u64,
    /// Region, e.g. `"US"` or an ISO country code.
    pub region: String,
    /// 1-based position of the file in its batch (1 unless split, see [`BatchNumbering`]).
    pub batch_num: u32,
    /// Number of files in the batch.
    pub batch_size: u32,
    /// Which keys sign the file, most recent first. [`write_signed_zip`] fills it from its
    /// signers when left empty.
    pub signature_infos: Vec<SignatureInfo>,
    /// Keys published for the first time.
    pub keys: Vec<DiagnosisKey>,
    /// Keys whose report type changed since they were published (e.g. revoked).
    pub revised_keys: Vec<DiagnosisKey>,
}

impl ExportBatch {
    /// An empty batch `1 of 1` for the given window and region.
    pub fn new(start_timestamp: u64, end_timestamp: u64, region: impl Into<String>) -> Self {
        Self {
            start_timestamp,
            end_timestamp,
            region: region.into(),
            batch_num: 1,
            batch_size: 1,
            signature_infos: Vec::new(),
            keys: Vec::new(),
            revised_keys: Vec::new(),
        }
    }
}

/// Identifies the key that signs a file. Empty strings stand for absent fields.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SignatureInfo {
    /// Key version for rollovers, e.g. `"v1"` (`[a-zA-Z0-9_]`).
    pub verification_key_version: String,
    /// Alias of the public key registered with Apple and Google (often the mobile country code).
    pub verification_key_id: String,
    /// ASN.1 OID of the algorithm, [`ECDSA_P256_SHA256_OID`].
    pub signature_algorithm: String,
}

impl SignatureInfo {
    /// A signature info for an ECDSA P-256 / SHA-256 key.
    pub fn new(version: impl Into<String>, key_id: impl Into<String>) -> Self {
        Self {
            verification_key_version: version.into(),
            verification_key_id: key_id.into(),
            signature_algorithm: ECDSA_P256_SHA256_OID.to_owned(),
        }
    }

    pub(crate) fn to_proto(&self) -> proto::SignatureInfo {
        // The reference server leaves empty strings out and always names the algorithm.
        let present = |value: &str| (!value.is_empty()).then(|| value.to_owned());
        proto::SignatureInfo {
            verification_key_version: present(&self.verification_key_version),
            verification_key_id: present(&self.verification_key_id),
            signature_algorithm: present(&self.signature_algorithm),
        }
    }

    pub(crate) fn from_proto(info: proto::SignatureInfo) -> Self {
        Self {
            verification_key_version: info.verification_key_version.unwrap_or_default(),
            verification_key_id: info.verification_key_id.unwrap_or_default(),
            signature_algorithm: info.signature_algorithm.unwrap_or_default(),
        }
    }
}

/// Everything that can go wrong reading, writing, signing or verifying an export file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// `export.bin` does not start with [`EXPORT_HEADER`].
    #[error("not an export.bin: the file does not start with \"EK Export v1    \"")]
    BadHeader,
    /// The bytes are not a readable zip archive.
    #[error("not a readable zip archive: {0}")]
    InvalidZip(#[from] zip::result::ZipError),
    /// The zip does not hold exactly the two expected entries.
    #[error("an export zip holds exactly export.bin and export.sig, this one has {count} entries")]
    WrongEntryCount { count: usize },
    /// The zip lacks `export.bin` or `export.sig`.
    #[error("the zip has no {0} entry")]
    MissingEntry(&'static str),
    /// An entry, a file or a field is larger than the reader or writer accepts.
    #[error("{what} is larger than the limit of {limit} bytes")]
    TooLarge { what: &'static str, limit: u64 },
    /// More keys than [`MAX_KEYS_READ`] (reading) or [`MAX_KEYS_PER_FILE`] (writing).
    #[error("more than {limit} keys in one file")]
    TooManyKeys { limit: usize },
    /// More signatures or signature infos than [`MAX_SIGNATURES`].
    #[error("more than {limit} signatures")]
    TooManySignatures { limit: usize },
    /// The file ends in the middle of a field.
    #[error("the export ends in the middle of a field")]
    Truncated,
    /// The protobuf is malformed (bad varint, bad length, invalid UTF-8...).
    #[error("malformed protobuf: {0}")]
    Protobuf(#[from] prost::DecodeError),
    /// A string field is not UTF-8.
    #[error("{field} is not valid UTF-8")]
    InvalidUtf8 { field: &'static str },
    /// A known field arrives with the wrong wire type, or a group (unsupported) appears.
    #[error("field {field} has an unexpected wire type")]
    WrongWireType { field: u32 },
    /// A key's `key_data` is not 16 bytes (0 when absent).
    #[error("a key has {0} bytes of key data instead of 16")]
    KeyLength(usize),
    /// A number is negative where it cannot be, or does not fit its type or range.
    #[error("{field} = {value} is out of range")]
    NumberOutOfRange { field: &'static str, value: i64 },
    /// Writing was asked without any signer.
    #[error("at least one signer is needed to write a signed export")]
    NoSigner,
    /// The batch names signature infos that differ from its signers'.
    #[error("the batch's signature infos differ from its signers'")]
    SignatureInfoMismatch,
    /// `export.sig` has no signature at all.
    #[error("the export carries no signature")]
    NoSignature,
    /// No signature in `export.sig` verifies with the given public key.
    #[error("no signature verifies with the given public key")]
    SignatureInvalid,
    /// A public key could not be decoded (PEM, DER, base64).
    #[error("invalid public key: {0}")]
    InvalidPublicKey(String),
    /// Writing the zip failed.
    #[error("writing the zip failed: {0}")]
    ZipWrite(String),
    /// ECDSA signing failed.
    #[error("signing failed")]
    Signing,
    /// Reading the underlying file or stream failed.
    #[error("reading the export failed: {0}")]
    Io(#[from] std::io::Error),
}
