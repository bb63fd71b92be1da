//! SHA-256 compressions of several independent messages at once, with the CPU's SHA
//! instructions.
//!
//! HKDF of a TEK is a chain of six SHA-256 compressions, each waiting for the one before.
//! On x86-64 the SHA extensions compute one compression in about 120 cycles, most of it
//! waiting for the latency of `sha256rnds2`, while the unit could start independent
//! rounds far more often. Compressing the blocks of [`LANES`] keys with their rounds
//! interleaved fills that gap (the `sha2` crate compresses one message at a time, as its
//! API is made for). Measured on a Zen 3 core by the `matching` bench: HKDF per key
//! 250 ns with 2 lanes, 195 ns with 4, 172 ns with 8, against 288 ns one at a time.
//!
//! - x86-64 with SHA, SSSE3 and SSE4.1: [`LANES`] messages interleaved round by round.
//! - everything else: `sha2::block_api::compress256` per message (with its own hardware
//!   backends, such as the ARMv8 SHA2 instructions).
//!
//! The CPU is asked at run time (`is_x86_feature_detected!`, cached by std). Tests below
//! compare every path this CPU supports with the `sha2` crate.

// Intrinsics are `unsafe` to call; each call site states why it is sound (the CPU
// feature was detected at run time, the slices have the lengths the intrinsics read).
#![allow(unsafe_code)]

use sha2::block_api::compress256;

/// Messages compressed together (see the figures above; more lanes no longer fit the
/// registers and gain little).
pub(crate) const LANES: usize = 8;

/// One SHA-256 message block.
pub(crate) type Block = [u8; 64];

/// Which implementation compresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Engine {
    Portable,
    #[cfg(target_arch = "x86_64")]
    ShaNi,
}

impl Engine {
    /// The fastest engine this CPU runs.
    pub(crate) fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("sha")
                && std::is_x86_feature_detected!("ssse3")
                && std::is_x86_feature_detected!("sse4.1")
            {
                return Self::ShaNi;
            }
        }
        Self::Portable
    }

    /// Every engine this CPU runs (for tests).
    #[cfg(test)]
    pub(crate) fn available() -> Vec<Self> {
        let mut engines = vec![Self::Portable];
        #[cfg(target_arch = "x86_64")]
        if Self::detect() == Self::ShaNi {
            engines.push(Self::ShaNi);
        }
        engines
    }

    /// `states[i]` absorbs `blocks[i]`, for every lane.
    #[inline]
    pub(crate) fn compress(self, states: &mut [[u32; 8]; LANES], blocks: &[Block; LANES]) {
        match self {
            Self::Portable => {
                for (state, block) in states.iter_mut().zip(blocks) {
                    compress256(state, core::slice::from_ref(block));
                }
            }
            // SAFETY: `detect` (or `available`) chose this engine only after checking
            // that the CPU has `sha`, `ssse3` and `sse4.1`.
            #[cfg(target_arch = "x86_64")]
            Self::ShaNi => unsafe { x86::compress_lanes(states, blocks) },
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::{
        __m128i, _mm_add_epi32, _mm_alignr_epi8, _mm_blend_epi16, _mm_loadu_si128, _mm_set_epi64x,
        _mm_sha256msg1_epu32, _mm_sha256msg2_epu32, _mm_sha256rnds2_epu32, _mm_shuffle_epi8,
        _mm_shuffle_epi32, _mm_storeu_si128,
    };

    use super::{Block, LANES};

    /// SHA-256 round constants (FIPS 180-4 §4.2.2).
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];

    /// Four rounds of every lane: `words[lane]` holds W[4i..4i+4].
    #[inline]
    #[target_feature(enable = "sha,ssse3,sse4.1")]
    fn rounds4(
        abef: &mut [__m128i; LANES],
        cdgh: &mut [__m128i; LANES],
        words: &[__m128i; LANES],
        i: usize,
    ) {
        // SAFETY: `K` has 64 words and i < 16, so 4i..4i+4 is in bounds; `loadu` has no
        // alignment requirement.
        let k = unsafe { _mm_loadu_si128(K.as_ptr().add(4 * i).cast()) };
        let mut sums = *words;
        for sum in &mut sums {
            *sum = _mm_add_epi32(*sum, k);
        }
        for lane in 0..LANES {
            cdgh[lane] = _mm_sha256rnds2_epu32(cdgh[lane], abef[lane], sums[lane]);
        }
        for lane in 0..LANES {
            let high = _mm_shuffle_epi32::<0x0e>(sums[lane]);
            abef[lane] = _mm_sha256rnds2_epu32(abef[lane], cdgh[lane], high);
        }
    }

    /// The message schedule: W[4i..4i+4] from the 16 words before them.
    #[inline]
    #[target_feature(enable = "sha,ssse3,sse4.1")]
    fn schedule(w0: __m128i, w1: __m128i, w2: __m128i, w3: __m128i) -> __m128i {
        _mm_sha256msg2_epu32(
            _mm_add_epi32(_mm_sha256msg1_epu32(w0, w1), _mm_alignr_epi8::<4>(w3, w2)),
            w3,
        )
    }

    /// Compresses `blocks[lane]` into `states[lane]`, the lanes' rounds interleaved.
    ///
    /// # Safety
    /// The CPU must support `sha`, `ssse3` and `sse4.1`.
    #[target_feature(enable = "sha,ssse3,sse4.1")]
    pub(super) unsafe fn compress_lanes(states: &mut [[u32; 8]; LANES], blocks: &[Block; LANES]) {
        // Byte order: each 32-bit word of the block is big-endian.
        let big_endian = _mm_set_epi64x(0x0c0d_0e0f_0809_0a0b, 0x0405_0607_0001_0203);
        let zero = _mm_set_epi64x(0, 0);
        let mut abef = [zero; LANES];
        let mut cdgh = [zero; LANES];
        for lane in 0..LANES {
            let state = states[lane].as_ptr();
            // SAFETY: `state` points to 8 readable u32; `loadu` has no alignment requirement.
            let (dcba, hgfe) = unsafe {
                (
                    _mm_loadu_si128(state.cast()),
                    _mm_loadu_si128(state.add(4).cast()),
                )
            };
            let cdab = _mm_shuffle_epi32::<0xb1>(dcba);
            let efgh = _mm_shuffle_epi32::<0x1b>(hgfe);
            abef[lane] = _mm_alignr_epi8::<8>(cdab, efgh);
            cdgh[lane] = _mm_blend_epi16::<0xf0>(efgh, cdab);
        }
        let (abef_start, cdgh_start) = (abef, cdgh);

        // The last 16 message words, W[4(i-4)..4i] in w[(i-4) % 4] .. w[(i-1) % 4].
        let mut w = [[zero; LANES]; 4];
        for lane in 0..LANES {
            let block = blocks[lane].as_ptr();
            for (j, words) in w.iter_mut().enumerate() {
                // SAFETY: a block is 64 readable bytes, j < 4; no alignment requirement.
                let bytes = unsafe { _mm_loadu_si128(block.add(16 * j).cast()) };
                words[lane] = _mm_shuffle_epi8(bytes, big_endian);
            }
        }
        for (i, words) in w.iter().enumerate() {
            rounds4(&mut abef, &mut cdgh, words, i);
        }
        for i in 4..16 {
            let mut next = [zero; LANES];
            for (lane, word) in next.iter_mut().enumerate() {
                *word = schedule(
                    w[i % 4][lane],
                    w[(i + 1) % 4][lane],
                    w[(i + 2) % 4][lane],
                    w[(i + 3) % 4][lane],
                );
            }
            rounds4(&mut abef, &mut cdgh, &next, i);
            w[i % 4] = next;
        }

        for lane in 0..LANES {
            let abef = _mm_add_epi32(abef[lane], abef_start[lane]);
            let cdgh = _mm_add_epi32(cdgh[lane], cdgh_start[lane]);
            let feba = _mm_shuffle_epi32::<0x1b>(abef);
            let dchg = _mm_shuffle_epi32::<0xb1>(cdgh);
            let dcba = _mm_blend_epi16::<0xf0>(feba, dchg);
            let hgef = _mm_alignr_epi8::<8>(dchg, feba);
            let state = states[lane].as_mut_ptr();
            // SAFETY: `state` points to 8 writable u32; no alignment requirement.
            unsafe {
                _mm_storeu_si128(state.cast(), dcba);
                _mm_storeu_si128(state.add(4).cast(), hgef);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_engine_equals_the_sha2_crate() {
        let engines = Engine::available();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..200 {
            let states: [[u32; 8]; LANES] =
                core::array::from_fn(|_| core::array::from_fn(|_| next() as u32));
            let blocks: [Block; LANES] =
                core::array::from_fn(|_| core::array::from_fn(|_| next() as u8));
            let mut expected = states;
            for (state, block) in expected.iter_mut().zip(&blocks) {
                compress256(state, core::slice::from_ref(block));
            }
            for engine in &engines {
                let mut actual = states;
                engine.compress(&mut actual, &blocks);
                assert_eq!(actual, expected, "{engine:?}");
            }
        }
    }

    #[test]
    fn detected_engine_is_the_fastest_available() {
        assert_eq!(Engine::available().last(), Some(&Engine::detect()));
    }
}
