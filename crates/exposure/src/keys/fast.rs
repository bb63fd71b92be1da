//! The fast path: the same RPIK, AEMK and RPIs as the reference path, at the speed that
//! matching a million published keys needs.
//!
//! - HKDF-SHA256 with the protocol's constant empty salt is written out as SHA-256
//!   compressions: the HMAC states of the all-zero salt are computed once, so one key
//!   costs 2 compressions for HKDF-Extract and 4 for each 16-byte HKDF-Expand (two for
//!   the HMAC key schedule of the PRK, two for the message), instead of the dozen and the
//!   allocations-free but generic bookkeeping of the `hkdf` crate.
//! - [`rolling_proximity_identifier_keys`] derives the RPIKs of [`KEYS_PER_DERIVATION`]
//!   keys at once, their compressions interleaved (`sha_hardware`): the SHA unit works on
//!   some keys while the others wait for a result.
//! - The 144 RPIs of a key are encrypted as one batch (`aes_hardware`: AES-NI or VAES
//!   with a pipelined round loop when the CPU has them, the `aes` crate otherwise).
//!
//! Everything here is checked against the reference path in this module's tests and in
//! `tests/gaen_vectors.rs` (property test over random keys).

use std::sync::LazyLock;

use sha2::block_api::compress256;

use super::aes_hardware;
use super::sha_hardware::{self, LANES};
use super::{
    AEMK_INFO, AssociatedEncryptedMetadataKey, KEY_LENGTH, RPIK_INFO, RollingProximityIdentifierKey,
};
use crate::interval::EnIntervalNumber;

/// How many RPIs [`rolling_proximity_identifiers`] derives at once: a full day.
pub const IDENTIFIERS_PER_BATCH: usize = aes_hardware::BATCH;

/// SHA-256 initial hash value (FIPS 180-4 §5.3.3).
const SHA256_INITIAL_STATE: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

const SHA256_BLOCK: usize = 64;

/// HMAC-SHA256 with its key already absorbed: the states after the `ipad` and `opad`
/// blocks.
#[derive(Clone, Copy)]
struct HmacStates {
    inner: [u32; 8],
    outer: [u32; 8],
}

impl HmacStates {
    /// Absorbs a 32-byte key (2 compressions).
    fn for_key(key: &[u8; 32]) -> Self {
        let (inner_pad, outer_pad) = key_pads(key);
        let mut inner = SHA256_INITIAL_STATE;
        compress256(&mut inner, &[inner_pad]);
        let mut outer = SHA256_INITIAL_STATE;
        compress256(&mut outer, &[outer_pad]);
        Self { inner, outer }
    }

    /// HMAC of a message short enough to fit with its padding in one block
    /// (2 compressions).
    fn mac_short<const N: usize>(&self, message: &[u8; N]) -> [u8; 32] {
        let inner_digest = finish(self.inner, message);
        finish(self.outer, &inner_digest)
    }
}

/// The HMAC `ipad` and `opad` blocks of a 32-byte key.
fn key_pads(key: &[u8; 32]) -> ([u8; SHA256_BLOCK], [u8; SHA256_BLOCK]) {
    let mut inner_pad = [0x36u8; SHA256_BLOCK];
    let mut outer_pad = [0x5cu8; SHA256_BLOCK];
    for ((inner, outer), byte) in inner_pad.iter_mut().zip(&mut outer_pad).zip(key) {
        *inner ^= byte;
        *outer ^= byte;
    }
    (inner_pad, outer_pad)
}

/// The last block of a message of one already-compressed 64-byte block and `message`:
/// `message`, the 0x80 byte, zeros, and the length in bits.
fn padded_block<const N: usize>(message: &[u8; N]) -> [u8; SHA256_BLOCK] {
    const {
        assert!(
            N <= 55,
            "message must fit one SHA-256 block with its padding"
        )
    };
    let mut block = [0u8; SHA256_BLOCK];
    block[..N].copy_from_slice(message);
    block[N] = 0x80;
    let bits = ((SHA256_BLOCK + N) as u64) * 8;
    block[56..].copy_from_slice(&bits.to_be_bytes());
    block
}

/// The digest bytes of a final state.
fn digest_bytes(state: [u32; 8]) -> [u8; 32] {
    let mut digest = [0u8; 32];
    for (bytes, word) in digest.chunks_exact_mut(4).zip(state) {
        bytes.copy_from_slice(&word.to_be_bytes());
    }
    digest
}

/// Pads `message` (which follows one already-compressed 64-byte block) and compresses it.
fn finish<const N: usize>(mut state: [u32; 8], message: &[u8; N]) -> [u8; 32] {
    compress256(&mut state, &[padded_block(message)]);
    digest_bytes(state)
}

/// HKDF-Expand's one message for 16 bytes of output: `info ‖ 0x01`.
fn expand_message(info: &[u8; 7]) -> [u8; 8] {
    let mut message = [1u8; 8];
    message[..7].copy_from_slice(info);
    message
}

/// The first 16 bytes of a digest: HKDF-Expand's output for 16 bytes.
fn first_16(digest: &[u8; 32]) -> [u8; KEY_LENGTH] {
    let mut out = [0u8; KEY_LENGTH];
    out.copy_from_slice(&digest[..KEY_LENGTH]);
    out
}

/// HMAC states of the protocol's salt: HKDF without salt uses 32 zero bytes.
static ZERO_SALT: LazyLock<HmacStates> = LazyLock::new(|| HmacStates::for_key(&[0; 32]));

/// HKDF-Extract(no salt, TEK): 2 compressions, then the PRK's HMAC states: 2 more.
fn pseudorandom_key_states(tek: &[u8; KEY_LENGTH]) -> HmacStates {
    HmacStates::for_key(&ZERO_SALT.mac_short(tek))
}

/// HKDF-Expand to 16 bytes: T(1) = HMAC(PRK, info ‖ 0x01), first 16 bytes.
fn expand_16(prk: &HmacStates, info: &[u8; 7]) -> [u8; KEY_LENGTH] {
    first_16(&prk.mac_short(&expand_message(info)))
}

/// How many keys [`rolling_proximity_identifier_keys`] derives at once.
pub const KEYS_PER_DERIVATION: usize = LANES;

/// [`finish`] in every lane.
fn finish_lanes<const N: usize>(
    engine: sha_hardware::Engine,
    mut states: [[u32; 8]; LANES],
    messages: &[[u8; N]; LANES],
) -> [[u8; 32]; LANES] {
    engine.compress(&mut states, &messages.each_ref().map(padded_block));
    states.map(digest_bytes)
}

/// The RPIKs of [`KEYS_PER_DERIVATION`] TEKs: `out[i]` is the RPIK of `teks[i]`, exactly
/// as [`rolling_proximity_identifier_key`] gives it, for about the cost of one key when
/// the CPU has SHA instructions.
pub fn rolling_proximity_identifier_keys(
    teks: &[[u8; KEY_LENGTH]; KEYS_PER_DERIVATION],
) -> [RollingProximityIdentifierKey; KEYS_PER_DERIVATION] {
    let engine = sha_hardware::Engine::detect();
    let salt = &*ZERO_SALT;
    // HKDF-Extract: PRK = HMAC(32 zero bytes, TEK).
    let inner = finish_lanes(engine, [salt.inner; LANES], teks);
    let prks = finish_lanes(engine, [salt.outer; LANES], &inner);
    // The PRKs' HMAC states.
    let pads = prks.map(|prk| key_pads(&prk));
    let mut prk_inner = [SHA256_INITIAL_STATE; LANES];
    engine.compress(&mut prk_inner, &pads.map(|(inner, _)| inner));
    let mut prk_outer = [SHA256_INITIAL_STATE; LANES];
    engine.compress(&mut prk_outer, &pads.map(|(_, outer)| outer));
    // HKDF-Expand: T(1) = HMAC(PRK, "EN-RPIK" ‖ 0x01), first 16 bytes.
    let inner = finish_lanes(engine, prk_inner, &[expand_message(RPIK_INFO); LANES]);
    let outer = finish_lanes(engine, prk_outer, &inner);
    outer.map(|digest| RollingProximityIdentifierKey(first_16(&digest)))
}

/// RPIK of a TEK (6 SHA-256 compressions).
pub fn rolling_proximity_identifier_key(tek: &[u8; KEY_LENGTH]) -> RollingProximityIdentifierKey {
    let prk = pseudorandom_key_states(tek);
    RollingProximityIdentifierKey(expand_16(&prk, RPIK_INFO))
}

/// RPIK and AEMK of a TEK, sharing HKDF-Extract (8 compressions).
pub fn identifier_and_metadata_keys(
    tek: &[u8; KEY_LENGTH],
) -> (
    RollingProximityIdentifierKey,
    AssociatedEncryptedMetadataKey,
) {
    let prk = pseudorandom_key_states(tek);
    (
        RollingProximityIdentifierKey(expand_16(&prk, RPIK_INFO)),
        AssociatedEncryptedMetadataKey(expand_16(&prk, AEMK_INFO)),
    )
}

/// The RPIs of the [`IDENTIFIERS_PER_BATCH`] intervals from `first`: `out[j]` is the RPI
/// of interval `first + j`.
///
/// Interval numbers past `u32::MAX` wrap, as the little-endian field of the padded block
/// does; callers use only the intervals a key really covers
/// (see [`TemporaryExposureKey::broadcast_intervals`](super::TemporaryExposureKey::broadcast_intervals)).
pub fn rolling_proximity_identifiers(
    rpik: &RollingProximityIdentifierKey,
    first: EnIntervalNumber,
    out: &mut [[u8; KEY_LENGTH]; IDENTIFIERS_PER_BATCH],
) {
    aes_hardware::encrypt_interval_blocks(&rpik.0, first.0, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::TemporaryExposureKey;

    fn key(seed: u8) -> TemporaryExposureKey {
        let mut key_data = [0u8; 16];
        for (i, b) in key_data.iter_mut().enumerate() {
            *b = seed.wrapping_mul(31).wrapping_add(i as u8 * 7);
        }
        TemporaryExposureKey {
            key_data,
            rolling_start_interval_number: EnIntervalNumber(2_650_000 + u32::from(seed)),
            rolling_period: 144,
        }
    }

    #[test]
    fn hkdf_equals_the_hkdf_crate() {
        for seed in 0..=255 {
            let tek = key(seed);
            let (rpik, aemk) = identifier_and_metadata_keys(&tek.key_data);
            assert_eq!(rpik, tek.rolling_proximity_identifier_key());
            assert_eq!(aemk, tek.associated_encrypted_metadata_key());
            assert_eq!(rolling_proximity_identifier_key(&tek.key_data), rpik);
        }
    }

    #[test]
    fn keys_derived_together_equal_keys_derived_alone() {
        for seed in (0..=255).step_by(KEYS_PER_DERIVATION) {
            let teks: [[u8; 16]; KEYS_PER_DERIVATION] =
                core::array::from_fn(|lane| key(seed + lane as u8).key_data);
            let together = rolling_proximity_identifier_keys(&teks);
            for (tek, rpik) in teks.iter().zip(together) {
                assert_eq!(rpik, rolling_proximity_identifier_key(tek));
            }
        }
        // The same key in every lane.
        let tek = key(9).key_data;
        let rpik = key(9).rolling_proximity_identifier_key();
        assert!(
            rolling_proximity_identifier_keys(&[tek; KEYS_PER_DERIVATION])
                .iter()
                .all(|r| *r == rpik)
        );
    }

    #[test]
    fn batch_equals_one_block_at_a_time() {
        let mut out = [[0u8; 16]; IDENTIFIERS_PER_BATCH];
        for seed in [0, 1, 77, 255] {
            let tek = key(seed);
            let rpik = tek.rolling_proximity_identifier_key();
            rolling_proximity_identifiers(&rpik, tek.rolling_start_interval_number, &mut out);
            for (j, rpi) in out.iter().enumerate() {
                let interval = tek.rolling_start_interval_number.offset(j as i64);
                assert_eq!(*rpi, rpik.rolling_proximity_identifier(interval).0);
            }
        }
    }
}
