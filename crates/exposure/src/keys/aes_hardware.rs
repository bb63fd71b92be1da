//! AES-128 encryption of a day of padded interval blocks, with the CPU's AES instructions.
//!
//! With `sha_hardware` and no other, this module of the crate has `unsafe` code. It exists because matching
//! spends most of its time encrypting 144 blocks per published key, and the generic
//! `aes` crate pays for a full key schedule (encryption and decryption round keys) and
//! a dispatch per call, which costs more than the 144 blocks themselves.
//!
//! - x86-64 with VAES and AVX2: two blocks per instruction, 16 blocks in flight.
//! - x86-64 with AES-NI: 8 blocks in flight, so the pipelined AES unit never waits.
//! - everything else (aarch64, old x86): the `aes` crate, which has its own hardware
//!   backends.
//!
//! The CPU is asked at run time (`is_x86_feature_detected!`, cached by std), so a
//! default release build is fast on new CPUs and correct on old ones. Tests below run
//! every path this CPU supports against the `aes` crate.

// Intrinsics are `unsafe` to call; each call site states why it is sound (the CPU
// feature was detected at run time, the slices have the lengths the intrinsics read).
#![allow(unsafe_code)]

use aes::Aes128;
use aes::cipher::{Array, BlockCipherEncrypt, KeyInit};

use super::padded_data;
use crate::interval::EnIntervalNumber;

/// Blocks per batch: one day of intervals. A multiple of 16, which the VAES loop needs.
pub(crate) const BATCH: usize = 144;

const _: () = assert!(BATCH.is_multiple_of(16));

/// Which implementation encrypts a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Engine {
    Portable,
    #[cfg(target_arch = "x86_64")]
    AesNi,
    #[cfg(target_arch = "x86_64")]
    Vaes,
}

impl Engine {
    /// The fastest engine this CPU runs.
    pub(crate) fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("aes") {
                if std::is_x86_feature_detected!("vaes") && std::is_x86_feature_detected!("avx2") {
                    return Self::Vaes;
                }
                return Self::AesNi;
            }
        }
        Self::Portable
    }

    /// Every engine this CPU runs (for tests).
    #[cfg(test)]
    pub(crate) fn available() -> Vec<Self> {
        let mut engines = vec![Self::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("aes") {
                engines.push(Self::AesNi);
            }
            if Self::detect() == Self::Vaes {
                engines.push(Self::Vaes);
            }
        }
        engines
    }

    /// `out[j]` = AES-128(key, padded block of interval `first + j`), intervals wrapping.
    pub(crate) fn encrypt(self, key: &[u8; 16], first: u32, out: &mut [[u8; 16]; BATCH]) {
        match self {
            Self::Portable => encrypt_portable(key, first, out),
            // SAFETY: `detect` (or `available`) chose this engine only after checking
            // that the CPU has the `aes` feature.
            #[cfg(target_arch = "x86_64")]
            Self::AesNi => unsafe { x86::encrypt_aes_ni(key, first, out) },
            // SAFETY: chosen only after checking `aes`, `vaes` and `avx2`.
            #[cfg(target_arch = "x86_64")]
            Self::Vaes => unsafe { x86::encrypt_vaes(key, first, out) },
        }
    }
}

/// Encrypts one batch with the fastest engine of this CPU.
pub(crate) fn encrypt_interval_blocks(key: &[u8; 16], first: u32, out: &mut [[u8; 16]; BATCH]) {
    Engine::detect().encrypt(key, first, out);
}

fn encrypt_portable(key: &[u8; 16], first: u32, out: &mut [[u8; 16]; BATCH]) {
    let cipher = Aes128::new(&Array::from(*key));
    let mut blocks: [aes::Block; BATCH] = core::array::from_fn(|j| {
        Array::from(padded_data(EnIntervalNumber(first.wrapping_add(j as u32))))
    });
    cipher.encrypt_blocks(&mut blocks);
    for (out, block) in out.iter_mut().zip(blocks) {
        *out = block.into();
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::{
        __m128i, __m256i, _mm_add_epi32, _mm_aesenc_si128, _mm_aesenclast_si128,
        _mm_aeskeygenassist_si128, _mm_loadu_si128, _mm_set_epi32, _mm_setzero_si128,
        _mm_shuffle_epi32, _mm_slli_si128, _mm_storeu_si128, _mm_xor_si128, _mm256_add_epi32,
        _mm256_aesenc_epi128, _mm256_aesenclast_epi128, _mm256_broadcastsi128_si256,
        _mm256_set_epi32, _mm256_storeu_si256, _mm256_xor_si256,
    };

    use super::BATCH;
    use crate::interval::EnIntervalNumber;
    use crate::keys::padded_data;

    /// One step of the AES-128 key schedule (FIPS 197 §5.2) with the round constant `RCON`.
    #[inline]
    #[target_feature(enable = "aes")]
    fn expand_step<const RCON: i32>(previous: __m128i) -> __m128i {
        let word = _mm_shuffle_epi32::<0xff>(_mm_aeskeygenassist_si128::<RCON>(previous));
        let mut key = previous;
        key = _mm_xor_si128(key, _mm_slli_si128::<4>(key));
        key = _mm_xor_si128(key, _mm_slli_si128::<4>(key));
        key = _mm_xor_si128(key, _mm_slli_si128::<4>(key));
        _mm_xor_si128(key, word)
    }

    /// The 11 encryption round keys (no decryption keys: matching never decrypts).
    #[inline]
    #[target_feature(enable = "aes")]
    fn expand_key(key: &[u8; 16]) -> [__m128i; 11] {
        // SAFETY: `key` is 16 readable bytes; `loadu` has no alignment requirement.
        let first = unsafe { _mm_loadu_si128(key.as_ptr().cast()) };
        let mut round_keys = [_mm_setzero_si128(); 11];
        round_keys[0] = first;
        round_keys[1] = expand_step::<0x01>(round_keys[0]);
        round_keys[2] = expand_step::<0x02>(round_keys[1]);
        round_keys[3] = expand_step::<0x04>(round_keys[2]);
        round_keys[4] = expand_step::<0x08>(round_keys[3]);
        round_keys[5] = expand_step::<0x10>(round_keys[4]);
        round_keys[6] = expand_step::<0x20>(round_keys[5]);
        round_keys[7] = expand_step::<0x40>(round_keys[6]);
        round_keys[8] = expand_step::<0x80>(round_keys[7]);
        round_keys[9] = expand_step::<0x1b>(round_keys[8]);
        round_keys[10] = expand_step::<0x36>(round_keys[9]);
        round_keys
    }

    /// The padded block of interval `first`; later intervals only change its last 32-bit
    /// lane (little-endian, as the protocol encodes the interval number).
    #[inline]
    #[target_feature(enable = "aes")]
    fn first_block(first: u32) -> __m128i {
        let block = padded_data(EnIntervalNumber(first));
        // SAFETY: `block` is 16 readable bytes; `loadu` has no alignment requirement.
        unsafe { _mm_loadu_si128(block.as_ptr().cast()) }
    }

    /// AES-NI, 8 blocks in flight.
    ///
    /// # Safety
    /// The CPU must support `aes`.
    #[target_feature(enable = "aes")]
    pub(super) unsafe fn encrypt_aes_ni(key: &[u8; 16], first: u32, out: &mut [[u8; 16]; BATCH]) {
        const LANES: usize = 8;
        let round_keys = expand_key(key);
        let base = first_block(first);
        for (chunk_index, chunk) in out.chunks_exact_mut(LANES).enumerate() {
            let mut blocks = [_mm_setzero_si128(); LANES];
            for (lane, block) in blocks.iter_mut().enumerate() {
                let offset = (chunk_index * LANES + lane) as i32;
                let padded = _mm_add_epi32(base, _mm_set_epi32(offset, 0, 0, 0));
                *block = _mm_xor_si128(padded, round_keys[0]);
            }
            for round_key in &round_keys[1..10] {
                for block in &mut blocks {
                    *block = _mm_aesenc_si128(*block, *round_key);
                }
            }
            for (block, out) in blocks.iter().zip(chunk.iter_mut()) {
                let cipher = _mm_aesenclast_si128(*block, round_keys[10]);
                // SAFETY: `out` is 16 writable bytes; `storeu` has no alignment requirement.
                unsafe { _mm_storeu_si128(out.as_mut_ptr().cast(), cipher) };
            }
        }
    }

    /// VAES on 256-bit registers: two blocks per instruction, 8 registers in flight.
    ///
    /// # Safety
    /// The CPU must support `aes`, `vaes` and `avx2`.
    #[target_feature(enable = "aes,avx2,vaes")]
    pub(super) unsafe fn encrypt_vaes(key: &[u8; 16], first: u32, out: &mut [[u8; 16]; BATCH]) {
        const REGISTERS: usize = 8;
        const BLOCKS: usize = 2 * REGISTERS;
        let round_keys_128 = expand_key(key);
        let mut round_keys = [_mm256_broadcastsi128_si256(round_keys_128[0]); 11];
        for (wide, narrow) in round_keys.iter_mut().zip(round_keys_128) {
            *wide = _mm256_broadcastsi128_si256(narrow);
        }
        let base = _mm256_broadcastsi128_si256(first_block(first));
        for (chunk_index, chunk) in out.chunks_exact_mut(BLOCKS).enumerate() {
            let mut pairs: [__m256i; REGISTERS] = [round_keys[0]; REGISTERS];
            for (register, pair) in pairs.iter_mut().enumerate() {
                let offset = (chunk_index * BLOCKS + 2 * register) as i32;
                let padded =
                    _mm256_add_epi32(base, _mm256_set_epi32(offset + 1, 0, 0, 0, offset, 0, 0, 0));
                *pair = _mm256_xor_si256(padded, round_keys[0]);
            }
            for round_key in &round_keys[1..10] {
                for pair in &mut pairs {
                    *pair = _mm256_aesenc_epi128(*pair, *round_key);
                }
            }
            for (pair, out) in pairs.iter().zip(chunk.chunks_exact_mut(2)) {
                let cipher = _mm256_aesenclast_epi128(*pair, round_keys[10]);
                // SAFETY: `out` is two adjacent [u8; 16] (32 writable bytes in one slice);
                // `storeu` has no alignment requirement.
                unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), cipher) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_engine_equals_the_aes_crate() {
        let engines = Engine::available();
        let mut expected = [[0u8; 16]; BATCH];
        let mut actual = [[0u8; 16]; BATCH];
        for seed in 0u32..64 {
            let key: [u8; 16] = core::array::from_fn(|i| {
                (seed.wrapping_mul(2_654_435_761) >> (i % 4 * 8)) as u8 ^ i as u8
            });
            // Includes starts whose later intervals carry into higher bytes and wrap.
            let first = match seed % 4 {
                0 => 2_642_976 + seed,
                1 => 0x0000_00f0,
                2 => 0x00ff_ffa0,
                _ => u32::MAX - 10,
            };
            encrypt_portable(&key, first, &mut expected);
            for engine in &engines {
                engine.encrypt(&key, first, &mut actual);
                assert_eq!(actual, expected, "{engine:?} seed {seed}");
            }
        }
    }

    #[test]
    fn detected_engine_is_the_fastest_available() {
        assert_eq!(Engine::available().last(), Some(&Engine::detect()));
    }
}
