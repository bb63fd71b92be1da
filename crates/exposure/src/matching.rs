//! Matching sightings against published keys.
//!
//! (The engine is in progress; these are the types the rest of the crate agrees on.)

use crate::interval::EnIntervalNumber;
use crate::keys::DiagnosisKey;

/// One Bluetooth advertisement a phone received: when, what, and how loud.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Sighting {
    pub unix_seconds: u64,
    pub rpi: [u8; 16],
    pub aem: [u8; 4],
    /// Received signal strength, dBm.
    pub rssi: i8,
}

/// A sighting that matched a published key, with what the key's metadata tells about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatchedSighting {
    pub unix_seconds: u64,
    /// The interval of the matched identifier (not of the sighting time).
    pub interval: EnIntervalNumber,
    pub rssi: i8,
    /// TX power from the decrypted metadata, when its version is one we know.
    pub tx_power: Option<i8>,
    /// `tx_power - rssi` in dB, clamped to 0..=255; `None` without a known TX power.
    pub attenuation_db: Option<u8>,
}

/// A published key that this phone saw, with every sighting that counts for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExposureMatch {
    pub key: DiagnosisKey,
    /// Sorted by time; replays and sightings outside the ±2 h window are already removed.
    pub sightings: Vec<MatchedSighting>,
}
