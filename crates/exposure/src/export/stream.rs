//! Streaming decoder of `export.bin`: walks the top-level protobuf fields one by one over
//! any `Read`, decodes each key message on its own, and hashes the bytes as they pass.
//!
//! Why not `prost::Message::decode` on the whole file: it needs the whole file in memory
//! and materialises every key as a heap-allocated `Vec<u8>`; a million-key file would
//! cost a million allocations before matching could start. Here a key is decoded straight
//! from the read buffer into a [`DiagnosisKey`] (no allocation), and memory stays at one
//! read buffer whatever the file size.
//!
//! The decoder is stricter than prost in one way: a varint that does not fit its `int32`
//! or `sint32` field is an error instead of being silently truncated.

use std::io::{ErrorKind, Read};

use prost::Message;
use prost::encoding::{WireType, decode_key, decode_varint};
use sha2::{Digest, Sha256};

use super::{
    EXPORT_HEADER, ExportBatch, ExportError, MAX_EXPORT_BIN_BYTES, MAX_FIELD_BYTES, MAX_KEYS_READ,
    MAX_ROLLING_PERIOD, MAX_SIGNATURES, SignatureInfo, proto,
};
use crate::interval::EnIntervalNumber;
use crate::keys::{
    DEFAULT_ROLLING_PERIOD, DiagnosisKey, KEY_LENGTH, ReportType, TemporaryExposureKey,
};

/// Bytes asked from the reader at a time.
const READ_CHUNK: usize = 64 * 1024;

/// A field key and a length delimiter take at most 10 bytes each.
const MAX_KEY_AND_LENGTH: usize = 20;

/// Keys of `export.bin`, one at a time, from any reader of its bytes.
///
/// Iterate it for the keys of field 7 (`keys`); the other fields (timestamps, region,
/// signature infos, revised keys) are collected on the way and returned by
/// [`KeyStream::finish`], which also reads whatever is left and returns the SHA-256 of
/// the whole `export.bin`, ready for [`super::verify_digest`]. After an error the
/// iterator ends.
pub struct KeyStream<R> {
    fields: FieldReader<R>,
    metadata: ExportBatch,
    keys_read: usize,
    finished: bool,
}

/// What [`KeyStream::finish`] returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamedExport {
    /// The header fields and the revised keys; `keys` is left empty (they were streamed).
    pub metadata: ExportBatch,
    /// How many keys of field 7 the file holds.
    pub key_count: usize,
    /// SHA-256 of the whole `export.bin`, header included.
    pub export_bin_sha256: [u8; 32],
}

impl<R: Read> KeyStream<R> {
    /// Starts reading an `export.bin`: checks its header. Reads at most
    /// [`MAX_EXPORT_BIN_BYTES`] bytes from `export_bin`.
    pub fn new(export_bin: R) -> Result<Self, ExportError> {
        Self::with_hashing(export_bin, true)
    }

    pub(crate) fn with_hashing(export_bin: R, hashing: bool) -> Result<Self, ExportError> {
        let mut fields = FieldReader {
            reader: export_bin,
            buffer: Vec::new(),
            position: 0,
            end: 0,
            at_end: false,
            bytes_read: 0,
            hasher: hashing.then(Sha256::new),
        };
        fields.fill(EXPORT_HEADER.len())?;
        if fields.available().get(..EXPORT_HEADER.len()) != Some(EXPORT_HEADER.as_slice()) {
            return Err(ExportError::BadHeader);
        }
        fields.position += EXPORT_HEADER.len();
        Ok(Self {
            fields,
            metadata: ExportBatch::default(),
            keys_read: 0,
            finished: false,
        })
    }

    /// The fields seen so far. The reference server writes them all before the keys, so
    /// after the first key this is normally complete; only [`KeyStream::finish`] is sure.
    pub fn metadata(&self) -> &ExportBatch {
        &self.metadata
    }

    /// Reads to the end of `export.bin` (discarding keys not yet iterated) and returns
    /// the header fields, the number of keys and the SHA-256 of the file.
    pub fn finish(mut self) -> Result<StreamedExport, ExportError> {
        while let Some(key) = self.next_key() {
            key?;
        }
        let export_bin_sha256 = self
            .fields
            .hasher
            .take()
            .map(|hasher| hasher.finalize().into())
            .unwrap_or_default();
        Ok(StreamedExport {
            metadata: self.metadata,
            key_count: self.keys_read,
            export_bin_sha256,
        })
    }

    /// Reads up to the next key of field 7, recording every other field on the way.
    fn next_key(&mut self) -> Option<Result<DiagnosisKey, ExportError>> {
        if self.finished {
            return None;
        }
        loop {
            let field = match self.fields.next_field() {
                Ok(Some(field)) => field,
                Ok(None) => {
                    self.finished = true;
                    return None;
                }
                Err(error) => {
                    self.finished = true;
                    return Some(Err(error));
                }
            };
            match self.record(field) {
                Ok(Some(key)) => return Some(Ok(key)),
                Ok(None) => {}
                Err(error) => {
                    self.finished = true;
                    return Some(Err(error));
                }
            }
        }
    }

    fn record(&mut self, field: TopLevelField) -> Result<Option<DiagnosisKey>, ExportError> {
        let metadata = &mut self.metadata;
        match field {
            TopLevelField::StartTimestamp(value) => metadata.start_timestamp = value,
            TopLevelField::EndTimestamp(value) => metadata.end_timestamp = value,
            TopLevelField::Region(value) => metadata.region = value,
            TopLevelField::BatchNum(value) => metadata.batch_num = value,
            TopLevelField::BatchSize(value) => metadata.batch_size = value,
            TopLevelField::SignatureInfo(info) => {
                if metadata.signature_infos.len() >= MAX_SIGNATURES {
                    return Err(ExportError::TooManySignatures {
                        limit: MAX_SIGNATURES,
                    });
                }
                metadata.signature_infos.push(info);
            }
            TopLevelField::Key(key) | TopLevelField::RevisedKey(key) => {
                if self.keys_read + metadata.revised_keys.len() >= MAX_KEYS_READ {
                    return Err(ExportError::TooManyKeys {
                        limit: MAX_KEYS_READ,
                    });
                }
                if matches!(field, TopLevelField::RevisedKey(_)) {
                    metadata.revised_keys.push(key);
                } else {
                    self.keys_read += 1;
                    return Ok(Some(key));
                }
            }
            TopLevelField::Skipped => {}
        }
        Ok(None)
    }
}

impl<R: Read> Iterator for KeyStream<R> {
    type Item = Result<DiagnosisKey, ExportError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_key()
    }
}

/// One decoded top-level field of `TemporaryExposureKeyExport`.
enum TopLevelField {
    StartTimestamp(u64),
    EndTimestamp(u64),
    Region(String),
    BatchNum(u32),
    BatchSize(u32),
    SignatureInfo(SignatureInfo),
    Key(DiagnosisKey),
    RevisedKey(DiagnosisKey),
    /// An unknown field, skipped as proto2 asks.
    Skipped,
}

/// A window over the reader: `buffer[position..end]` holds bytes read but not yet parsed.
struct FieldReader<R> {
    reader: R,
    buffer: Vec<u8>,
    position: usize,
    end: usize,
    at_end: bool,
    bytes_read: u64,
    hasher: Option<Sha256>,
}

impl<R: Read> FieldReader<R> {
    fn available(&self) -> &[u8] {
        self.buffer.get(self.position..self.end).unwrap_or_default()
    }

    /// Makes at least `wanted` bytes available, unless the input ends first.
    fn fill(&mut self, wanted: usize) -> Result<(), ExportError> {
        while self.end - self.position < wanted && !self.at_end {
            if self.position > 0 {
                self.buffer.copy_within(self.position..self.end, 0);
                self.end -= self.position;
                self.position = 0;
            }
            let room = wanted.max(READ_CHUNK);
            if self.buffer.len() < self.end + room {
                self.buffer.resize(self.end + room, 0);
            }
            let target = &mut self.buffer[self.end..];
            let count = match self.reader.read(target) {
                Ok(count) => count,
                Err(error) if error.kind() == ErrorKind::Interrupted => continue,
                Err(error) => return Err(error.into()),
            };
            if count == 0 {
                self.at_end = true;
                break;
            }
            if let Some(hasher) = self.hasher.as_mut() {
                hasher.update(&self.buffer[self.end..self.end + count]);
            }
            self.end += count;
            self.bytes_read += count as u64;
            if self.bytes_read > MAX_EXPORT_BIN_BYTES {
                return Err(ExportError::TooLarge {
                    what: "export.bin",
                    limit: MAX_EXPORT_BIN_BYTES,
                });
            }
        }
        Ok(())
    }

    /// Takes `length` bytes that [`Self::fill`] made available.
    fn take(&mut self, length: usize) -> Result<&[u8], ExportError> {
        self.fill(length)?;
        let start = self.position;
        if self.end - start < length {
            return Err(ExportError::Truncated);
        }
        self.position += length;
        self.buffer
            .get(start..start + length)
            .ok_or(ExportError::Truncated)
    }

    /// Skips `length` bytes, which may be far more than the buffer holds.
    fn skip(&mut self, mut length: u64) -> Result<(), ExportError> {
        while length > 0 {
            if self.end == self.position {
                self.fill(1)?;
                if self.end == self.position {
                    return Err(ExportError::Truncated);
                }
            }
            let step =
                (self.end - self.position).min(usize::try_from(length).unwrap_or(usize::MAX));
            self.position += step;
            length -= step as u64;
        }
        Ok(())
    }

    /// Decodes a varint at the current position (the caller has filled enough bytes).
    fn varint(&mut self) -> Result<u64, ExportError> {
        let mut bytes = self.available();
        let before = bytes.len();
        let value = decode_varint(&mut bytes)?;
        self.position += before - bytes.len();
        Ok(value)
    }

    fn next_field(&mut self) -> Result<Option<TopLevelField>, ExportError> {
        self.fill(MAX_KEY_AND_LENGTH)?;
        if self.available().is_empty() {
            return Ok(None);
        }
        let mut bytes = self.available();
        let before = bytes.len();
        let (tag, wire_type) = decode_key(&mut bytes)?;
        self.position += before - bytes.len();
        let field = match (tag, wire_type) {
            (1 | 2, WireType::SixtyFourBit) => {
                let bytes = self.take(8)?;
                let value =
                    u64::from_le_bytes(bytes.try_into().map_err(|_| ExportError::Truncated)?);
                if tag == 1 {
                    TopLevelField::StartTimestamp(value)
                } else {
                    TopLevelField::EndTimestamp(value)
                }
            }
            (4 | 5, WireType::Varint) => {
                let name = if tag == 4 { "batch_num" } else { "batch_size" };
                let value = non_negative(name, int32(name, self.varint()?)?)?;
                if tag == 4 {
                    TopLevelField::BatchNum(value)
                } else {
                    TopLevelField::BatchSize(value)
                }
            }
            (3 | 6 | 7 | 8, WireType::LengthDelimited) => {
                let length = self.length(tag)?;
                let bytes = self.take(length)?;
                match tag {
                    3 => TopLevelField::Region(
                        String::from_utf8(bytes.to_vec())
                            .map_err(|_| ExportError::InvalidUtf8 { field: "region" })?,
                    ),
                    6 => TopLevelField::SignatureInfo(SignatureInfo::from_proto(
                        proto::SignatureInfo::decode(bytes)?,
                    )),
                    7 => TopLevelField::Key(decode_key_message(bytes)?),
                    _ => TopLevelField::RevisedKey(decode_key_message(bytes)?),
                }
            }
            (1..=8, _) => return Err(ExportError::WrongWireType { field: tag }),
            (_, WireType::Varint) => {
                self.varint()?;
                TopLevelField::Skipped
            }
            (_, WireType::SixtyFourBit) => {
                self.skip(8)?;
                TopLevelField::Skipped
            }
            (_, WireType::ThirtyTwoBit) => {
                self.skip(4)?;
                TopLevelField::Skipped
            }
            (_, WireType::LengthDelimited) => {
                let length = self.varint()?;
                self.skip(length)?;
                TopLevelField::Skipped
            }
            // Groups are long deprecated and this schema never had one; skipping them
            // would need a nested streaming walk for no real file.
            (_, WireType::StartGroup | WireType::EndGroup) => {
                return Err(ExportError::WrongWireType { field: tag });
            }
        };
        Ok(Some(field))
    }

    /// Reads the length of a known length-delimited field and checks it against the bound.
    fn length(&mut self, tag: u32) -> Result<usize, ExportError> {
        let length = self.varint()?;
        match usize::try_from(length) {
            Ok(length) if length <= MAX_FIELD_BYTES => Ok(length),
            _ => Err(ExportError::TooLarge {
                what: match tag {
                    3 => "region",
                    6 => "a signature info",
                    _ => "a key message",
                },
                limit: MAX_FIELD_BYTES as u64,
            }),
        }
    }
}

/// Decodes one `TemporaryExposureKey` message.
fn decode_key_message(mut bytes: &[u8]) -> Result<DiagnosisKey, ExportError> {
    let mut fields = WireKeyFields::default();
    while !bytes.is_empty() {
        let (tag, wire_type) = decode_key(&mut bytes)?;
        match (tag, wire_type) {
            (1, WireType::LengthDelimited) => {
                let length = usize::try_from(decode_varint(&mut bytes)?).unwrap_or(usize::MAX);
                let (data, rest) = bytes
                    .split_at_checked(length)
                    .ok_or(ExportError::Truncated)?;
                fields.key_data = Some(data);
                bytes = rest;
            }
            (2, WireType::Varint) => {
                fields.transmission_risk_level = Some(int32(
                    "transmission_risk_level",
                    decode_varint(&mut bytes)?,
                )?);
            }
            (3, WireType::Varint) => {
                fields.rolling_start_interval_number = Some(int32(
                    "rolling_start_interval_number",
                    decode_varint(&mut bytes)?,
                )?);
            }
            (4, WireType::Varint) => {
                fields.rolling_period = Some(int32("rolling_period", decode_varint(&mut bytes)?)?);
            }
            (5, WireType::Varint) => {
                fields.report_type = Some(int32("report_type", decode_varint(&mut bytes)?)?);
            }
            (6, WireType::Varint) => {
                fields.days_since_onset_of_symptoms = Some(sint32(
                    "days_since_onset_of_symptoms",
                    decode_varint(&mut bytes)?,
                )?);
            }
            // Variant of concern (8) is not part of [`DiagnosisKey`]: checked, not kept.
            (8, WireType::Varint) => {
                int32("variant_of_concern", decode_varint(&mut bytes)?)?;
            }
            (1..=6 | 8, _) => return Err(ExportError::WrongWireType { field: tag }),
            _ => prost::encoding::skip_field(
                wire_type,
                tag,
                &mut bytes,
                prost::encoding::DecodeContext::default(),
            )?,
        }
    }
    fields.into_diagnosis_key()
}

/// The fields of one key message as found on the wire (proto2: each may be absent).
#[derive(Default)]
pub(crate) struct WireKeyFields<'a> {
    pub(crate) key_data: Option<&'a [u8]>,
    pub(crate) transmission_risk_level: Option<i32>,
    pub(crate) rolling_start_interval_number: Option<i32>,
    pub(crate) rolling_period: Option<i32>,
    pub(crate) report_type: Option<i32>,
    pub(crate) days_since_onset_of_symptoms: Option<i32>,
}

impl WireKeyFields<'_> {
    /// Applies proto2 defaults and the protocol's ranges.
    pub(crate) fn into_diagnosis_key(self) -> Result<DiagnosisKey, ExportError> {
        let key_data = self.key_data.unwrap_or_default();
        let key_data: [u8; KEY_LENGTH] = key_data
            .try_into()
            .map_err(|_| ExportError::KeyLength(key_data.len()))?;
        let rolling_start = non_negative(
            "rolling_start_interval_number",
            self.rolling_start_interval_number.unwrap_or(0),
        )?;
        let rolling_period = match self.rolling_period {
            None => DEFAULT_ROLLING_PERIOD,
            Some(value) => match u32::try_from(value) {
                Ok(period) if (1..=MAX_ROLLING_PERIOD).contains(&period) => period,
                _ => {
                    return Err(ExportError::NumberOutOfRange {
                        field: "rolling_period",
                        value: i64::from(value),
                    });
                }
            },
        };
        let transmission_risk_level = self.transmission_risk_level.unwrap_or(0);
        non_negative("transmission_risk_level", transmission_risk_level)?;
        Ok(DiagnosisKey {
            key: TemporaryExposureKey {
                key_data,
                rolling_start_interval_number: EnIntervalNumber(rolling_start),
                rolling_period,
            },
            transmission_risk_level,
            // proto2: an enum value this reader does not know reads as if absent (UNKNOWN).
            report_type: self
                .report_type
                .and_then(ReportType::from_wire)
                .unwrap_or_default(),
            days_since_onset_of_symptoms: self.days_since_onset_of_symptoms,
        })
    }
}

/// An `int32` varint: non-negative values take up to 5 bytes, negative ones are
/// sign-extended to 64 bits. Anything else does not fit and is rejected.
fn int32(field: &'static str, raw: u64) -> Result<i32, ExportError> {
    let value = raw as i64;
    i32::try_from(value).map_err(|_| ExportError::NumberOutOfRange { field, value })
}

/// A `sint32` varint (zig-zag): must fit in 32 bits.
fn sint32(field: &'static str, raw: u64) -> Result<i32, ExportError> {
    let zigzag = u32::try_from(raw).map_err(|_| ExportError::NumberOutOfRange {
        field,
        value: raw as i64,
    })?;
    Ok(((zigzag >> 1) as i32) ^ -((zigzag & 1) as i32))
}

fn non_negative(field: &'static str, value: i32) -> Result<u32, ExportError> {
    u32::try_from(value).map_err(|_| ExportError::NumberOutOfRange {
        field,
        value: i64::from(value),
    })
}
