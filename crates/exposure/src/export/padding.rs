//! Padding export files with fake keys, so that a file's size does not reveal how many
//! people uploaded keys in its window.
//!
//! # The bucket rule
//!
//! A non-empty list of `n` keys is padded to [`padded_key_count`]`(n)`:
//!
//! - at least [`PADDING_MIN_KEYS`] (1,000) keys: any window with fewer real keys, from one
//!   person's 14 keys to about 70 people's, gives a file of the same size;
//! - above that, `n` is rounded up to a multiple of a step that grows with `n`: 1,000, or
//!   one eighth of the power of two at or above `n` (between n/8 and n/4) when that is
//!   larger. Small counts are thus hidden among ~70 uploaders at least, large ones among
//!   an eighth of all uploaders at least, and padding adds fewer than max(1,000, n/4) keys.
//!
//! Fake keys have 16 random bytes and copy the metadata (rolling start, period,
//! transmission risk, report type, days since onset) of a real key chosen at random, so
//! they follow the real keys' distribution and cannot be told apart from them; the writer
//! sorts keys by their bytes, which mixes fakes among real keys. Fake keys never match:
//! no phone ever broadcast identifiers derived from them.
//!
//! An empty list stays empty: there is no real key to copy plausible metadata from, and
//! an empty window reveals no one. (This is also what the reference server does.)

use rand_core::CryptoRng;

use crate::keys::{DiagnosisKey, KEY_LENGTH};

/// The fewest keys a padded, non-empty file holds.
pub const PADDING_MIN_KEYS: usize = 1_000;

/// The number of keys a list of `real_keys` keys is padded to (see the module docs).
pub fn padded_key_count(real_keys: usize) -> usize {
    if real_keys == 0 {
        return 0;
    }
    let step = PADDING_MIN_KEYS.max(real_keys.next_power_of_two() / 8);
    real_keys
        .div_ceil(step)
        .saturating_mul(step)
        .max(PADDING_MIN_KEYS)
}

/// Appends fake keys to `keys` until it holds [`padded_key_count`] keys; returns how
/// many were added. Randomness comes from `rng` (key bytes and which real key's metadata
/// each fake copies).
pub fn pad_with_fake_keys<R: CryptoRng + ?Sized>(
    keys: &mut Vec<DiagnosisKey>,
    rng: &mut R,
) -> usize {
    let real = keys.len();
    let target = padded_key_count(real);
    keys.reserve(target.saturating_sub(real));
    while keys.len() < target {
        // Modulo bias is below 2^-40 for any list that fits in memory: irrelevant here.
        let model_index = (rng.next_u64() % real as u64) as usize;
        let Some(model) = keys.get(model_index).copied() else {
            break;
        };
        let mut key_data = [0u8; KEY_LENGTH];
        rng.fill_bytes(&mut key_data);
        let mut fake = model;
        fake.key.key_data = key_data;
        keys.push(fake);
    }
    keys.len() - real
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_hide_small_counts_and_bound_the_overhead() {
        assert_eq!(padded_key_count(0), 0);
        assert_eq!(padded_key_count(1), 1_000);
        assert_eq!(padded_key_count(14), 1_000);
        assert_eq!(padded_key_count(1_000), 1_000);
        assert_eq!(padded_key_count(1_001), 2_000);
        // 8,001 → step 16,384 / 8 = 2,048 → 4 steps.
        assert_eq!(padded_key_count(8_001), 8_192);
        // 100,000 → step 131,072 / 8 = 16,384 → 7 steps.
        assert_eq!(padded_key_count(100_000), 114_688);
        for n in [1usize, 999, 1_001, 5_000, 70_000, 300_001, 1_000_000] {
            let padded = padded_key_count(n);
            assert!(padded >= n);
            assert!(padded < n + (n / 4).max(PADDING_MIN_KEYS), "{n} → {padded}");
        }
    }
}
