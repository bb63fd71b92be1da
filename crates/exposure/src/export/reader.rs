//! Reading export files: the zip, `export.sig`, and `export.bin` through [`KeyStream`].
//!
//! Zip entries are never trusted: an entry's declared size is checked against the limit
//! before it is opened, and its content is read through `Read::take(limit + 1)` (or the
//! stream's own count), so an entry that inflates far beyond what it declares (a zip
//! bomb) is stopped at the limit, with memory bounded by it.

use std::io::{Cursor, Read, Seek};

use p256::ecdsa::VerifyingKey;
use zip::ZipArchive;
use zip::read::ZipFile;

use super::signature::{TekSignature, decode_signature_list, verify_digest};
use super::stream::KeyStream;
use super::{
    EXPORT_BIN_NAME, EXPORT_HEADER, EXPORT_SIG_NAME, ExportBatch, ExportError,
    MAX_EXPORT_BIN_BYTES, MAX_EXPORT_SIG_BYTES,
};

/// A whole export file, read and parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedExport {
    /// The content of `export.bin`.
    pub batch: ExportBatch,
    /// The content of `export.sig`; empty for a bare `export.bin`.
    pub signatures: Vec<TekSignature>,
    /// SHA-256 of `export.bin`, the digest the signatures sign.
    pub export_bin_sha256: [u8; 32],
}

impl SignedExport {
    /// Checks the signatures against `public_key`; returns the position of the first
    /// signature that verifies, [`ExportError::SignatureInvalid`] when none does and
    /// [`ExportError::NoSignature`] for a file without signatures.
    pub fn verify(&self, public_key: &VerifyingKey) -> Result<usize, ExportError> {
        verify_digest(&self.export_bin_sha256, &self.signatures, public_key)
    }
}

/// Reads an export zip held in memory.
pub fn read_zip(zip: &[u8]) -> Result<SignedExport, ExportError> {
    ExportArchive::new(Cursor::new(zip))?.read()
}

/// Reads either an export zip or a bare `export.bin` (told apart by the `export.bin`
/// header); a bare file has no signatures.
pub fn read_export_file(bytes: &[u8]) -> Result<SignedExport, ExportError> {
    if bytes.starts_with(EXPORT_HEADER) {
        let mut stream = KeyStream::new(bytes)?;
        let keys = stream.by_ref().collect::<Result<Vec<_>, _>>()?;
        let streamed = stream.finish()?;
        Ok(SignedExport {
            batch: ExportBatch {
                keys,
                ..streamed.metadata
            },
            signatures: Vec::new(),
            export_bin_sha256: streamed.export_bin_sha256,
        })
    } else {
        read_zip(bytes)
    }
}

/// Decodes a bare `export.bin` (header and protobuf).
pub fn decode_export_bin(export_bin: &[u8]) -> Result<ExportBatch, ExportError> {
    if export_bin.len() as u64 > MAX_EXPORT_BIN_BYTES {
        return Err(ExportError::TooLarge {
            what: "export.bin",
            limit: MAX_EXPORT_BIN_BYTES,
        });
    }
    let mut stream = KeyStream::with_hashing(export_bin, false)?;
    let keys = stream.by_ref().collect::<Result<Vec<_>, _>>()?;
    let streamed = stream.finish()?;
    Ok(ExportBatch {
        keys,
        ..streamed.metadata
    })
}

/// An export zip opened from any `Read + Seek`: its entries are checked and
/// `export.sig` is read; `export.bin` is read on demand, whole or streamed.
pub struct ExportArchive<R> {
    zip: ZipArchive<R>,
    export_bin_index: usize,
    signatures: Vec<TekSignature>,
}

impl<R: Read + Seek> ExportArchive<R> {
    /// Opens the zip: exactly two entries, `export.bin` and `export.sig`, and a valid
    /// `export.sig` of at most [`MAX_EXPORT_SIG_BYTES`].
    pub fn new(reader: R) -> Result<Self, ExportError> {
        let mut zip = ZipArchive::new(reader)?;
        if zip.len() != 2 {
            return Err(ExportError::WrongEntryCount { count: zip.len() });
        }
        let export_bin_index = zip
            .index_for_name(EXPORT_BIN_NAME)
            .ok_or(ExportError::MissingEntry(EXPORT_BIN_NAME))?;
        let export_sig_index = zip
            .index_for_name(EXPORT_SIG_NAME)
            .ok_or(ExportError::MissingEntry(EXPORT_SIG_NAME))?;
        let export_sig = read_bounded(
            zip.by_index(export_sig_index)?,
            EXPORT_SIG_NAME,
            MAX_EXPORT_SIG_BYTES,
        )?;
        let signatures = decode_signature_list(&export_sig)?;
        Ok(Self {
            zip,
            export_bin_index,
            signatures,
        })
    }

    /// The signatures of `export.sig`.
    pub fn signatures(&self) -> &[TekSignature] {
        &self.signatures
    }

    /// Streams the keys of `export.bin` (see [`KeyStream`]); at most
    /// [`MAX_EXPORT_BIN_BYTES`] are decompressed whatever the entry declares.
    pub fn stream_keys(&mut self) -> Result<KeyStream<ZipFile<'_, R>>, ExportError> {
        let entry = self.zip.by_index(self.export_bin_index)?;
        if entry.size() > MAX_EXPORT_BIN_BYTES {
            return Err(ExportError::TooLarge {
                what: EXPORT_BIN_NAME,
                limit: MAX_EXPORT_BIN_BYTES,
            });
        }
        KeyStream::new(entry)
    }

    /// Reads the whole file into memory.
    pub fn read(mut self) -> Result<SignedExport, ExportError> {
        let mut stream = self.stream_keys()?;
        let keys = stream.by_ref().collect::<Result<Vec<_>, _>>()?;
        let streamed = stream.finish()?;
        Ok(SignedExport {
            batch: ExportBatch {
                keys,
                ..streamed.metadata
            },
            signatures: self.signatures,
            export_bin_sha256: streamed.export_bin_sha256,
        })
    }
}

/// Reads a zip entry of at most `limit` bytes, checking the declared size first and the
/// real size while reading.
fn read_bounded<R: Read>(
    entry: ZipFile<'_, R>,
    name: &'static str,
    limit: u64,
) -> Result<Vec<u8>, ExportError> {
    let too_large = ExportError::TooLarge { what: name, limit };
    if entry.size() > limit {
        return Err(too_large);
    }
    let mut content = Vec::new();
    entry.take(limit + 1).read_to_end(&mut content)?;
    if content.len() as u64 > limit {
        return Err(too_large);
    }
    Ok(content)
}
