//! Temporary Exposure Keys and the values derived from them (GAEN cryptography v1.2).
//!
//! | value | derivation |
//! |---|---|
//! | TEK | 16 random bytes, rolling from the start of the UTC day it was made in |
//! | RPIK | HKDF-SHA256(TEK, no salt, `"EN-RPIK"`, 16 bytes) |
//! | RPI j | AES-128(RPIK, `"EN-RPI"` ‖ 6 zero bytes ‖ ENIN j as u32 little-endian) |
//! | AEMK | HKDF-SHA256(TEK, no salt, `"EN-AEMK"`, 16 bytes) |
//! | AEM | AES-128-CTR(AEMK, initial counter = RPI, the 4 metadata bytes) |
//!
//! The methods on the types below are the *reference path*: they call the RustCrypto
//! crates (`hkdf`, `aes`, `ctr`) in the most obvious way, so that they can be read against
//! the specification. Matching a million published keys needs more speed than that; the
//! [`fast`] module derives the same values with precomputed HMAC states and hardware AES,
//! and its tests prove it equal to the reference path.

use core::fmt;

use aes::Aes128;
use aes::cipher::{Array, BlockCipherEncrypt, KeyInit, KeyIvInit, StreamCipher};
use hkdf::Hkdf;
use rand_core::CryptoRng;
use sha2::Sha256;

use crate::interval::{EnIntervalNumber, INTERVALS_PER_DAY};

mod aes_hardware;
pub mod fast;
mod sha_hardware;

/// Length of a Temporary Exposure Key, an RPI, an RPIK and an AEMK.
pub const KEY_LENGTH: usize = 16;

/// A Temporary Exposure Key: 16 random bytes, valid for `rolling_period` intervals
/// from `rolling_start_interval_number`.
///
/// `Debug` does not print `key_data`: a TEK in a log would let anyone who reads the log
/// recognise the phone's past broadcasts.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TemporaryExposureKey {
    pub key_data: [u8; KEY_LENGTH],
    pub rolling_start_interval_number: EnIntervalNumber,
    /// In intervals; 144 (one day) unless the key was replaced early.
    pub rolling_period: u32,
}

impl TemporaryExposureKey {
    /// The first interval after this key stopped being broadcast.
    pub fn end_interval_number(&self) -> EnIntervalNumber {
        self.rolling_start_interval_number
            .offset(i64::from(self.rolling_period))
    }

    /// Whether the key is still being broadcast at `now` (and so must not be published yet).
    pub fn is_valid_at(&self, now: EnIntervalNumber) -> bool {
        self.rolling_start_interval_number <= now && now < self.end_interval_number()
    }

    /// A fresh key for the day of `now`: 16 bytes from `rng`, rolling from the first
    /// interval of that UTC day for a whole day.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R, now: EnIntervalNumber) -> Self {
        let mut key_data = [0u8; KEY_LENGTH];
        rng.fill_bytes(&mut key_data);
        Self {
            key_data,
            rolling_start_interval_number: now.day_start(),
            rolling_period: DEFAULT_ROLLING_PERIOD,
        }
    }

    /// RPIK = HKDF-SHA256(TEK, no salt, "EN-RPIK", 16 bytes).
    pub fn rolling_proximity_identifier_key(&self) -> RollingProximityIdentifierKey {
        RollingProximityIdentifierKey(hkdf_16(&self.key_data, RPIK_INFO))
    }

    /// AEMK = HKDF-SHA256(TEK, no salt, "EN-AEMK", 16 bytes).
    pub fn associated_encrypted_metadata_key(&self) -> AssociatedEncryptedMetadataKey {
        AssociatedEncryptedMetadataKey(hkdf_16(&self.key_data, AEMK_INFO))
    }

    /// The intervals this key was broadcast in, capped at [`MAX_ROLLING_PERIOD`] and at the
    /// end of the interval range, so that a hostile `rolling_period` cannot make anyone
    /// derive billions of identifiers.
    pub fn broadcast_intervals(&self) -> impl Iterator<Item = EnIntervalNumber> + use<> {
        let start = self.rolling_start_interval_number.0;
        let count = broadcast_interval_count(start, self.rolling_period);
        (0..count).map(move |j| EnIntervalNumber(start + j))
    }
}

impl fmt::Debug for TemporaryExposureKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TemporaryExposureKey")
            .field("key_data", &Redacted)
            .field(
                "rolling_start_interval_number",
                &self.rolling_start_interval_number,
            )
            .field("rolling_period", &self.rolling_period)
            .finish()
    }
}

/// The longest rolling period the protocol allows (one UTC day, in intervals).
pub const MAX_ROLLING_PERIOD: u32 = INTERVALS_PER_DAY;

/// How many intervals a key with this start and period covers, bounded by
/// [`MAX_ROLLING_PERIOD`] and by the last representable interval.
pub(crate) fn broadcast_interval_count(start: u32, rolling_period: u32) -> u32 {
    let room = u32::MAX - start;
    rolling_period
        .min(MAX_ROLLING_PERIOD)
        .min(room.saturating_add(1))
}

/// HKDF `info` of the RPIK.
pub const RPIK_INFO: &[u8; 7] = b"EN-RPIK";
/// HKDF `info` of the AEMK.
pub const AEMK_INFO: &[u8; 7] = b"EN-AEMK";
/// The constant first 6 bytes of every padded RPI block.
pub const RPI_PADDING_PREFIX: &[u8; 6] = b"EN-RPI";

fn hkdf_16(tek: &[u8; KEY_LENGTH], info: &[u8]) -> [u8; KEY_LENGTH] {
    let mut out = [0u8; KEY_LENGTH];
    // 16 bytes is far below HKDF-SHA256's limit of 255 * 32, so expand cannot fail.
    if Hkdf::<Sha256>::new(None, tek)
        .expand(info, &mut out)
        .is_err()
    {
        unreachable!("16 bytes is a valid HKDF-SHA256 output length");
    }
    out
}

/// The block that is encrypted into the RPI of `interval`:
/// `"EN-RPI"` ‖ 6 zero bytes ‖ ENIN as u32 little-endian.
pub fn padded_data(interval: EnIntervalNumber) -> [u8; 16] {
    let mut block = [0u8; 16];
    block[..6].copy_from_slice(RPI_PADDING_PREFIX);
    block[12..].copy_from_slice(&interval.0.to_le_bytes());
    block
}

/// Shown instead of key material in `Debug` output.
struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))
}

/// A value had the wrong number of bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{what} must be {expected} bytes, got {found}")]
pub struct WrongLength {
    pub what: &'static str,
    pub expected: usize,
    pub found: usize,
}

fn exact<const N: usize>(what: &'static str, bytes: &[u8]) -> Result<[u8; N], WrongLength> {
    bytes.try_into().map_err(|_| WrongLength {
        what,
        expected: N,
        found: bytes.len(),
    })
}

/// RPIK: the AES key that turns interval numbers into Rolling Proximity Identifiers.
/// `Debug` is redacted: whoever has it can link all of one day's identifiers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RollingProximityIdentifierKey(pub [u8; KEY_LENGTH]);

impl RollingProximityIdentifierKey {
    /// The RPI broadcast during `interval` (one AES-128 block, reference path).
    pub fn rolling_proximity_identifier(
        &self,
        interval: EnIntervalNumber,
    ) -> RollingProximityIdentifier {
        let cipher = Aes128::new(&Array::from(self.0));
        let mut block = Array::from(padded_data(interval));
        cipher.encrypt_block(&mut block);
        RollingProximityIdentifier(block.into())
    }
}

impl fmt::Debug for RollingProximityIdentifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RollingProximityIdentifierKey")
            .field(&Redacted)
            .finish()
    }
}

/// RPI: the 16 bytes a phone broadcasts during one interval. Public by design.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RollingProximityIdentifier(pub [u8; KEY_LENGTH]);

impl RollingProximityIdentifier {
    /// From exactly 16 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, WrongLength> {
        exact("a rolling proximity identifier", bytes).map(Self)
    }
}

impl fmt::Debug for RollingProximityIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RollingProximityIdentifier(")?;
        write_hex(f, &self.0)?;
        f.write_str(")")
    }
}

/// AEMK: the key of the metadata broadcast beside each RPI. `Debug` is redacted.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AssociatedEncryptedMetadataKey(pub [u8; KEY_LENGTH]);

type Aes128Ctr = ctr::Ctr128BE<Aes128>;

impl AssociatedEncryptedMetadataKey {
    /// AES-128-CTR with the RPI as initial counter block; encryption and decryption are
    /// the same operation.
    fn apply_keystream(&self, rpi: &RollingProximityIdentifier, data: &mut [u8; 4]) {
        let mut cipher = Aes128Ctr::new(&Array::from(self.0), &Array::from(rpi.0));
        cipher.apply_keystream(data);
    }

    /// Encrypts metadata for broadcast beside `rpi`.
    pub fn encrypt(
        &self,
        rpi: &RollingProximityIdentifier,
        metadata: BluetoothMetadata,
    ) -> AssociatedEncryptedMetadata {
        let mut data = metadata.to_bytes();
        self.apply_keystream(rpi, &mut data);
        AssociatedEncryptedMetadata(data)
    }

    /// Decrypts the metadata received beside `rpi`.
    pub fn decrypt(
        &self,
        rpi: &RollingProximityIdentifier,
        aem: AssociatedEncryptedMetadata,
    ) -> BluetoothMetadata {
        let mut data = aem.0;
        self.apply_keystream(rpi, &mut data);
        BluetoothMetadata::from_bytes(data)
    }
}

impl fmt::Debug for AssociatedEncryptedMetadataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AssociatedEncryptedMetadataKey")
            .field(&Redacted)
            .finish()
    }
}

/// AEM: the 4 encrypted metadata bytes broadcast after the RPI.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AssociatedEncryptedMetadata(pub [u8; 4]);

impl AssociatedEncryptedMetadata {
    /// From exactly 4 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, WrongLength> {
        exact("associated encrypted metadata", bytes).map(Self)
    }
}

impl fmt::Debug for AssociatedEncryptedMetadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AssociatedEncryptedMetadata(")?;
        write_hex(f, &self.0)?;
        f.write_str(")")
    }
}

/// Version byte of metadata format 1.0.
pub const METADATA_VERSION_1_0: u8 = 0x40;
/// Version byte of metadata format 1.1.
pub const METADATA_VERSION_1_1: u8 = 0x50;

/// The 4 metadata bytes: version (major in bits 7–6, minor in bits 5–4), TX power (i8 dBm),
/// two reserved bytes.
///
/// Kept as raw bytes so that decrypting and re-encrypting never changes a byte, whatever
/// a future version puts in the reserved ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BluetoothMetadata([u8; 4]);

impl BluetoothMetadata {
    /// Version 1.0 metadata with this TX power, reserved bytes zero.
    pub fn new(tx_power_dbm: i8) -> Self {
        Self::with_version(METADATA_VERSION_1_0, tx_power_dbm)
    }

    /// Metadata with this version byte and TX power, reserved bytes zero.
    pub fn with_version(version: u8, tx_power_dbm: i8) -> Self {
        Self([version, tx_power_dbm.to_le_bytes()[0], 0, 0])
    }

    /// The 4 bytes as they are, whatever their version.
    pub fn from_bytes(bytes: [u8; 4]) -> Self {
        Self(bytes)
    }

    /// From exactly 4 bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, WrongLength> {
        exact("bluetooth metadata", bytes).map(Self)
    }

    /// The 4 bytes to encrypt.
    pub fn to_bytes(self) -> [u8; 4] {
        self.0
    }

    /// The version byte.
    pub fn version(self) -> u8 {
        self.0[0]
    }

    /// The major version (bits 7–6 of the version byte); 1 for every published format.
    pub fn major_version(self) -> u8 {
        self.0[0] >> 6
    }

    /// The minor version (bits 5–4 of the version byte).
    pub fn minor_version(self) -> u8 {
        (self.0[0] >> 4) & 0b11
    }

    /// Calibrated TX power in dBm, when the major version is one this code understands
    /// (1). Metadata decrypted with the wrong key is random bytes and is mostly rejected
    /// here, instead of yielding a meaningless attenuation.
    pub fn tx_power(self) -> Option<i8> {
        (self.major_version() == 1).then(|| i8::from_le_bytes([self.0[1]]))
    }
}

/// The report type of a published key (export proto field 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum ReportType {
    #[default]
    Unknown = 0,
    ConfirmedTest = 1,
    ConfirmedClinicalDiagnosis = 2,
    SelfReport = 3,
    Recursive = 4,
    Revoked = 5,
}

impl ReportType {
    /// The wire value of this report type.
    pub fn to_wire(self) -> i32 {
        self as i32
    }

    /// The report type for a wire value; `None` for values the protocol does not define.
    pub fn from_wire(value: i32) -> Option<Self> {
        Some(match value {
            0 => Self::Unknown,
            1 => Self::ConfirmedTest,
            2 => Self::ConfirmedClinicalDiagnosis,
            3 => Self::SelfReport,
            4 => Self::Recursive,
            5 => Self::Revoked,
            _ => return None,
        })
    }
}

/// A key as a health authority publishes it: the TEK and what the diagnosis says about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DiagnosisKey {
    pub key: TemporaryExposureKey,
    /// 0 when unset; 1–8 in the GAEN v1 model.
    pub transmission_risk_level: i32,
    pub report_type: ReportType,
    /// Days from the onset of symptoms (or the test) to the key's day; `None` when unknown.
    pub days_since_onset_of_symptoms: Option<i32>,
}

impl DiagnosisKey {
    /// A diagnosis key with no metadata beyond a confirmed test.
    pub fn confirmed(key: TemporaryExposureKey) -> Self {
        Self {
            key,
            transmission_risk_level: 0,
            report_type: ReportType::ConfirmedTest,
            days_since_onset_of_symptoms: None,
        }
    }
}

/// Default rolling period (one UTC day).
pub const DEFAULT_ROLLING_PERIOD: u32 = INTERVALS_PER_DAY;
