//! The Google/Apple Exposure Notification protocol (cryptography v1.2), sans I/O.
//!
//! This crate is the proximity-tracing core of OpenStopCovid. It is pure: it never
//! reads the clock, the network or the disk. Time comes in as an argument (an
//! [`interval::EnIntervalNumber`] or unix seconds), randomness as an
//! [`rand_core::CryptoRng`], bytes as slices. That makes every rule here
//! deterministic, testable against the published vectors, fuzzable and benchmarkable.
//!
//! # Layout
//!
//! - [`interval`]: the 10-minute interval number (ENIN), rolling periods and day boundaries.
//! - [`keys`]: Temporary Exposure Keys and everything derived from them: RPIK, RPI, AEMK,
//!   associated encrypted metadata, Bluetooth metadata (version, TX power).
//! - [`ble`]: the Bluetooth LE advertisement payload (service UUID 0xFD6F, RPI ‖ AEM).
//! - [`export`]: key-export files (`export.bin`, `export.sig`, the zip around them):
//!   reading with bounds, writing byte-exact, ECDSA P-256 signing and verification.
//! - [`matching`]: sightings against published keys: the ±2 h window, the 20-minute
//!   replay rule, attenuation from the decrypted metadata; fast, streaming, multi-core.
//! - [`risk`]: GAEN v2 exposure windows and risk scoring (attenuation buckets,
//!   infectiousness, report types, daily summaries).

pub mod ble;
pub mod export;
pub mod interval;
pub mod keys;
pub mod matching;
pub mod risk;
