//! Writing `export.bin`, `export.sig` and the zip around them, byte-exact with the
//! reference server, within the size limits phones accept.

use std::io::{Cursor, Write};

use prost::Message;
use prost::encoding::{encoded_len_varint, key_len};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::signature::{ExportSigner, encode_signature_list, sign};
use super::{
    EXPORT_BIN_NAME, EXPORT_HEADER, EXPORT_SIG_NAME, ExportBatch, ExportError,
    MAX_EXPORT_FILE_BYTES, MAX_FIELD_BYTES, MAX_KEYS_PER_FILE, MAX_ROLLING_PERIOD, MAX_SIGNATURES,
    SignatureInfo, proto,
};
use crate::keys::{DEFAULT_ROLLING_PERIOD, DiagnosisKey, ReportType};

/// Field numbers of the two key lists in `TemporaryExposureKeyExport`.
const KEYS_FIELD: u32 = 7;
const REVISED_KEYS_FIELD: u32 = 8;

/// Room kept for the header fields when [`split_into_batches`] fills a file: the region
/// and ten signature infos, each at most [`MAX_FIELD_BYTES`].
const HEADER_RESERVE: usize = (MAX_SIGNATURES + 2) * (MAX_FIELD_BYTES + 8);

/// Deflate level of the zip entries. Key bytes are random and do not compress; level 1
/// still squeezes the repeated metadata bytes and is several times faster than the
/// default, which matters when a server writes millions of keys.
const DEFLATE_LEVEL: i64 = 1;

/// Encodes `export.bin` (header and protobuf) exactly as the reference server does.
///
/// Fails when the batch breaks a limit a phone enforces ([`MAX_KEYS_PER_FILE`],
/// [`MAX_EXPORT_FILE_BYTES`], [`MAX_SIGNATURES`]) or holds a value the format cannot carry
/// or a reader would refuse (rolling period outside 1..=144, negative transmission risk,
/// numbers beyond `i32`).
pub fn encode_export_bin(batch: &ExportBatch) -> Result<Vec<u8>, ExportError> {
    encode_with_signature_infos(batch, &batch.signature_infos)
}

fn encode_with_signature_infos(
    batch: &ExportBatch,
    signature_infos: &[SignatureInfo],
) -> Result<Vec<u8>, ExportError> {
    if batch.keys.len() + batch.revised_keys.len() > MAX_KEYS_PER_FILE {
        return Err(ExportError::TooManyKeys {
            limit: MAX_KEYS_PER_FILE,
        });
    }
    if signature_infos.len() > MAX_SIGNATURES {
        return Err(ExportError::TooManySignatures {
            limit: MAX_SIGNATURES,
        });
    }
    // Fields 1 to 6 go through prost; fields 7 and 8 come last in tag order, so appending
    // the key messages after them gives the same bytes as encoding one whole message,
    // without first copying every key into an owned list.
    let header = proto::TemporaryExposureKeyExport {
        start_timestamp: Some(batch.start_timestamp),
        end_timestamp: Some(batch.end_timestamp),
        region: Some(batch.region.clone()),
        batch_num: Some(int32("batch_num", batch.batch_num)?),
        batch_size: Some(int32("batch_size", batch.batch_size)?),
        signature_infos: signature_infos
            .iter()
            .map(SignatureInfo::to_proto)
            .collect(),
        keys: Vec::new(),
        revised_keys: Vec::new(),
    };
    let keys = sorted_wire_keys(&batch.keys)?;
    let revised_keys = sorted_wire_keys(&batch.revised_keys)?;
    let length = EXPORT_HEADER.len()
        + header.encoded_len()
        + keys
            .iter()
            .map(|key| key_field_len(KEYS_FIELD, key))
            .sum::<usize>()
        + revised_keys
            .iter()
            .map(|key| key_field_len(REVISED_KEYS_FIELD, key))
            .sum::<usize>();
    if length > MAX_EXPORT_FILE_BYTES {
        return Err(ExportError::TooLarge {
            what: "export.bin",
            limit: MAX_EXPORT_FILE_BYTES as u64,
        });
    }
    let mut export_bin = Vec::with_capacity(length);
    export_bin.extend_from_slice(EXPORT_HEADER);
    header.encode_raw(&mut export_bin);
    for key in &keys {
        prost::encoding::message::encode(KEYS_FIELD, key, &mut export_bin);
    }
    for key in &revised_keys {
        prost::encoding::message::encode(REVISED_KEYS_FIELD, key, &mut export_bin);
    }
    Ok(export_bin)
}

/// Writes the signed zip a phone downloads: `export.bin` then `export.sig`, one
/// signature per signer (ECDSA P-256, SHA-256, DER; deterministic nonces).
///
/// `export.bin` names the signers' infos, in the signers' order; if `batch.signature_infos`
/// is not empty it must list the same infos, otherwise [`ExportError::SignatureInfoMismatch`].
pub fn write_signed_zip(
    batch: &ExportBatch,
    signers: &[ExportSigner],
) -> Result<Vec<u8>, ExportError> {
    if signers.is_empty() {
        return Err(ExportError::NoSigner);
    }
    let signature_infos: Vec<SignatureInfo> =
        signers.iter().map(|signer| signer.info.clone()).collect();
    if !batch.signature_infos.is_empty() && batch.signature_infos != signature_infos {
        return Err(ExportError::SignatureInfoMismatch);
    }
    let export_bin = encode_with_signature_infos(batch, &signature_infos)?;
    let signatures = sign(&export_bin, batch.batch_num, batch.batch_size, signers)?;
    write_zip(&export_bin, &encode_signature_list(&signatures))
}

/// Zips an already encoded `export.bin` and `export.sig`, in that order.
pub fn write_zip(export_bin: &[u8], export_sig: &[u8]) -> Result<Vec<u8>, ExportError> {
    let failed = |error: &dyn std::fmt::Display| ExportError::ZipWrite(error.to_string());
    let mut zip = ZipWriter::new(Cursor::new(Vec::with_capacity(
        export_bin.len() + export_sig.len() + 512,
    )));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(DEFLATE_LEVEL))
        // A fixed date (1980-01-01, the zip epoch), never the clock's: the same keys give
        // the same bytes, whoever writes them and when (servers sharing a database serve
        // identical downloads).
        .last_modified_time(zip::DateTime::default());
    for (name, content) in [(EXPORT_BIN_NAME, export_bin), (EXPORT_SIG_NAME, export_sig)] {
        zip.start_file(name, options).map_err(|e| failed(&e))?;
        zip.write_all(content).map_err(|e| failed(&e))?;
    }
    Ok(zip.finish().map_err(|e| failed(&e))?.into_inner())
}

/// How [`split_into_batches`] numbers the files of a split batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BatchNumbering {
    /// File `i` of `n`: `batch_num = i`, `batch_size = n`, same timestamps.
    #[default]
    Numbered,
    /// Every file `1 of 1`, with `end_timestamp` moved forward by the file's index so that
    /// files stay distinct. This is what the reference server does, because iOS does not
    /// support `batch_size > 1` and Android de-duplicates files on (start, end, batch_num).
    EachOneOfOne,
}

/// Splits a batch into files that each respect [`MAX_KEYS_PER_FILE`] and
/// [`MAX_EXPORT_FILE_BYTES`], numbered as `numbering` says.
///
/// Keys are sorted by their bytes before they are dealt out, so which file a key lands
/// in says nothing about when it was uploaded. Revised keys follow the keys. A batch
/// that fits stays one file (numbered 1 of 1); an empty batch gives one empty file.
pub fn split_into_batches(
    batch: &ExportBatch,
    numbering: BatchNumbering,
) -> Result<Vec<ExportBatch>, ExportError> {
    let mut keys: Vec<&DiagnosisKey> = batch.keys.iter().collect();
    keys.sort_by_key(|key| key.key.key_data);
    let mut revised_keys: Vec<&DiagnosisKey> = batch.revised_keys.iter().collect();
    revised_keys.sort_by_key(|key| key.key.key_data);

    let empty = || ExportBatch {
        keys: Vec::new(),
        revised_keys: Vec::new(),
        ..batch.clone_header()
    };
    let byte_budget = MAX_EXPORT_FILE_BYTES - HEADER_RESERVE;
    let mut files = vec![empty()];
    let mut bytes = 0;
    let tagged = keys.into_iter().map(|key| (KEYS_FIELD, key)).chain(
        revised_keys
            .into_iter()
            .map(|key| (REVISED_KEYS_FIELD, key)),
    );
    for (field, key) in tagged {
        let length = key_field_len(field, &wire_key(key)?);
        let file = files.last_mut().ok_or(ExportError::TooManyKeys {
            limit: MAX_KEYS_PER_FILE,
        })?;
        let count = file.keys.len() + file.revised_keys.len();
        if count > 0 && (count + 1 > MAX_KEYS_PER_FILE || bytes + length > byte_budget) {
            files.push(empty());
            bytes = 0;
        }
        let file = files.last_mut().ok_or(ExportError::TooManyKeys {
            limit: MAX_KEYS_PER_FILE,
        })?;
        if field == KEYS_FIELD {
            file.keys.push(*key);
        } else {
            file.revised_keys.push(*key);
        }
        bytes += length;
    }

    let count = u32::try_from(files.len()).map_err(|_| ExportError::NumberOutOfRange {
        field: "batch_size",
        value: files.len() as i64,
    })?;
    for (file, index) in files.iter_mut().zip(0..count) {
        match numbering {
            BatchNumbering::Numbered => {
                file.batch_num = index + 1;
                file.batch_size = count;
            }
            BatchNumbering::EachOneOfOne => {
                file.batch_num = 1;
                file.batch_size = 1;
                file.end_timestamp = file.end_timestamp.saturating_add(u64::from(index));
            }
        }
    }
    Ok(files)
}

impl ExportBatch {
    /// The batch without its keys.
    fn clone_header(&self) -> ExportBatch {
        ExportBatch {
            start_timestamp: self.start_timestamp,
            end_timestamp: self.end_timestamp,
            region: self.region.clone(),
            batch_num: self.batch_num,
            batch_size: self.batch_size,
            signature_infos: self.signature_infos.clone(),
            keys: Vec::new(),
            revised_keys: Vec::new(),
        }
    }
}

fn sorted_wire_keys(
    keys: &[DiagnosisKey],
) -> Result<Vec<proto::TemporaryExposureKey>, ExportError> {
    let mut sorted: Vec<&DiagnosisKey> = keys.iter().collect();
    // Stable, so that equal key bytes (which only a broken upload produces) still give
    // the same file every time.
    sorted.sort_by_key(|key| key.key.key_data);
    sorted.into_iter().map(wire_key).collect()
}

/// A key as the reference server writes it (`makeTEK` in its `exportfile.go`).
fn wire_key(key: &DiagnosisKey) -> Result<proto::TemporaryExposureKey, ExportError> {
    let rolling_start = key.key.rolling_start_interval_number.0;
    let rolling_period = key.key.rolling_period;
    if !(1..=MAX_ROLLING_PERIOD).contains(&rolling_period) {
        return Err(ExportError::NumberOutOfRange {
            field: "rolling_period",
            value: i64::from(rolling_period),
        });
    }
    if key.transmission_risk_level < 0 {
        return Err(ExportError::NumberOutOfRange {
            field: "transmission_risk_level",
            value: i64::from(key.transmission_risk_level),
        });
    }
    Ok(proto::TemporaryExposureKey {
        key_data: Some(key.key.key_data.to_vec()),
        transmission_risk_level: Some(key.transmission_risk_level),
        rolling_start_interval_number: (rolling_start != 0)
            .then(|| int32("rolling_start_interval_number", rolling_start))
            .transpose()?,
        rolling_period: (rolling_period != DEFAULT_ROLLING_PERIOD)
            .then(|| int32("rolling_period", rolling_period))
            .transpose()?,
        report_type: (key.report_type != ReportType::Unknown).then(|| key.report_type.to_wire()),
        days_since_onset_of_symptoms: key.days_since_onset_of_symptoms,
        variant_of_concern: None,
    })
}

/// Bytes one key takes in `export.bin`, field key and length included.
fn key_field_len(field: u32, key: &proto::TemporaryExposureKey) -> usize {
    let length = key.encoded_len();
    key_len(field) + encoded_len_varint(length as u64) + length
}

fn int32(field: &'static str, value: u32) -> Result<i32, ExportError> {
    i32::try_from(value).map_err(|_| ExportError::NumberOutOfRange {
        field,
        value: i64::from(value),
    })
}
