//! The set of sightings a phone holds, laid out for millions of lookups per second.
//!
//! RPIs are outputs of AES under a secret key, so their bytes are uniformly random: they
//! serve as their own hash, and no hashing is done at all.
//!
//! - `sightings`: every sighting (32 bytes), sorted by RPI then time, so that all the
//!   sightings of one RPI are adjacent and in time order.
//! - `bucket_starts`: where each run of RPIs with the same leading `k` bits starts, with
//!   `2^k` the smallest power of two ≥ the number of sightings (a radix index: one
//!   sighting per bucket on average, no probing, no empty slots to skip).
//! - `bitmap`: `2^k` words of 64 bits, a blocked Bloom filter: each sighting sets two
//!   bits of the word its RPI's last bytes choose (see `filter_position`); a lookup of an
//!   RPI that was never seen (all but a handful of the 144 million lookups of a big
//!   export) stops at this one word with a false-positive rate below 1/1,000. It is small
//!   enough to stay in the CPU's L2 cache for typical phones (128 KiB for 10,000
//!   sightings).
//!
//! Memory, heap only: `32 n + 4 (2^k + 1) + 8 · 2^k` bytes for `n` sightings, with
//! `2^k < 2n`: under 56 bytes per sighting plus 4 bytes ([`MAX_BYTES_PER_SIGHTING`] is
//! the promise, checked by tests).

use crate::keys::KEY_LENGTH;
use crate::matching::Sighting;

/// Upper bound of [`ObservedSet::memory_bytes`] per sighting, for 16 sightings or more
/// (below that, the fixed size of the struct itself dominates).
pub const MAX_BYTES_PER_SIGHTING: usize = 64;

/// The most sightings one set holds (positions are stored as `u32`). Fourteen days of a
/// crowded commute are a few hundred thousand.
pub const MAX_SIGHTINGS: usize = 1 << 30;

/// A sighting as stored: 32 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StoredSighting {
    pub(crate) rpi: [u8; KEY_LENGTH],
    pub(crate) unix_seconds: u64,
    pub(crate) aem: [u8; 4],
    pub(crate) rssi: i8,
}

const _: () = assert!(size_of::<StoredSighting>() == 32);

/// More sightings than [`MAX_SIGHTINGS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{found} sightings is more than the {MAX_SIGHTINGS} a set can hold")]
pub struct TooManySightings {
    pub found: usize,
}

/// Sightings indexed by RPI. Build once, then match any number of keys against it, from
/// any number of threads.
#[derive(Clone, Debug)]
pub struct ObservedSet {
    sightings: Box<[StoredSighting]>,
    bucket_starts: Box<[u32]>,
    /// `64 - k`, where `2^k` is the number of buckets; shifts the RPI's first 8 bytes.
    bucket_shift: u32,
    bitmap: Box<[u64]>,
    /// Mask of the bit index taken from the RPI's last 8 bytes.
    bitmap_mask: u64,
}

/// The RPI's first 8 bytes (big-endian, so their order is the RPI's byte order) and last 8.
#[inline]
fn halves(rpi: &[u8; KEY_LENGTH]) -> (u64, u64) {
    let value = u128::from_be_bytes(*rpi);
    ((value >> 64) as u64, value as u64)
}

impl ObservedSet {
    /// Indexes the sightings (any order).
    pub fn new(sightings: impl IntoIterator<Item = Sighting>) -> Result<Self, TooManySightings> {
        let mut stored: Vec<StoredSighting> = sightings
            .into_iter()
            .map(|sighting| StoredSighting {
                rpi: sighting.rpi,
                unix_seconds: sighting.unix_seconds,
                aem: sighting.aem,
                rssi: sighting.rssi,
            })
            .collect();
        if stored.len() > MAX_SIGHTINGS {
            return Err(TooManySightings {
                found: stored.len(),
            });
        }
        stored.sort_unstable_by_key(|a| (a.rpi, a.unix_seconds));
        let sightings = stored.into_boxed_slice();

        let buckets = sightings.len().max(1).next_power_of_two();
        let bucket_bits = buckets.trailing_zeros();
        let bucket_shift = 64 - bucket_bits;
        let mut bucket_starts = vec![0u32; buckets + 1].into_boxed_slice();
        // Counting pass, then prefix sums: bucket_starts[b] = first sighting of bucket b.
        for sighting in &sightings {
            let bucket = bucket_of(sighting.rpi, bucket_shift);
            if let Some(count) = bucket_starts.get_mut(bucket + 1) {
                *count += 1;
            }
        }
        for b in 1..bucket_starts.len() {
            let previous = bucket_starts.get(b - 1).copied().unwrap_or(0);
            if let Some(start) = bucket_starts.get_mut(b) {
                *start += previous;
            }
        }

        let bitmap_bits = (buckets as u64) * 64;
        let mut bitmap = vec![0u64; buckets].into_boxed_slice();
        let bitmap_mask = bitmap_bits - 1;
        for sighting in &sightings {
            let (word_index, bits) = filter_position(&sighting.rpi, bitmap_mask);
            if let Some(word) = bitmap.get_mut(word_index) {
                *word |= bits;
            }
        }
        Ok(Self {
            sightings,
            bucket_starts,
            bucket_shift,
            bitmap,
            bitmap_mask,
        })
    }

    /// Number of sightings held.
    pub fn len(&self) -> usize {
        self.sightings.len()
    }

    /// Whether no sighting is held.
    pub fn is_empty(&self) -> bool {
        self.sightings.is_empty()
    }

    /// Bytes used: the struct and its three heap arrays.
    pub fn memory_bytes(&self) -> usize {
        size_of::<Self>()
            + size_of_val(&*self.sightings)
            + size_of_val(&*self.bucket_starts)
            + size_of_val(&*self.bitmap)
    }

    /// False when `rpi` was certainly not seen; true when it may have been.
    #[inline]
    pub(crate) fn may_contain(&self, rpi: &[u8; KEY_LENGTH]) -> bool {
        let (word_index, bits) = filter_position(rpi, self.bitmap_mask);
        self.bitmap
            .get(word_index)
            .is_some_and(|word| word & bits == bits)
    }

    /// All sightings of `rpi`, in time order (empty when never seen).
    pub(crate) fn sightings_of(&self, rpi: &[u8; KEY_LENGTH]) -> &[StoredSighting] {
        let bucket = bucket_of(*rpi, self.bucket_shift);
        let start = self.bucket_starts.get(bucket).copied().unwrap_or(0) as usize;
        let end = self.bucket_starts.get(bucket + 1).copied().unwrap_or(0) as usize;
        let run = self.sightings.get(start..end).unwrap_or_default();
        let first = run.partition_point(|s| s.rpi < *rpi);
        let past = run.partition_point(|s| s.rpi <= *rpi);
        run.get(first..past).unwrap_or_default()
    }
}

/// Where an RPI sits in the bitmap: one 64-bit word, chosen by bits 6.. of the RPI's
/// last 8 bytes, and two bits in it, chosen by the lowest 6 bits of each half (the bucket
/// uses the highest bits of the first half, the word index the bits above 6 of the last). Two bits in one word cost one memory access like one bit does, and
/// square the rate at which unseen RPIs get through (about 2.5 % of the bits are set: 1 in
/// 1,600 gets through instead of 1 in 40), so a lookup almost never leaves the bitmap.
#[inline]
fn filter_position(rpi: &[u8; KEY_LENGTH], bitmap_mask: u64) -> (usize, u64) {
    let (first, last) = halves(rpi);
    let word_index = ((last & bitmap_mask) >> 6) as usize;
    let bits = (1u64 << (last & 63)) | (1u64 << (first & 63));
    (word_index, bits)
}

#[inline]
fn bucket_of(rpi: [u8; KEY_LENGTH], bucket_shift: u32) -> usize {
    halves(&rpi).0.checked_shr(bucket_shift).unwrap_or(0) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sighting(seed: u64, unix_seconds: u64) -> Sighting {
        let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let rpi = core::array::from_fn(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        });
        Sighting {
            unix_seconds,
            rpi,
            aem: [1, 2, 3, 4],
            rssi: -60,
        }
    }

    #[test]
    fn finds_every_sighting_and_nothing_else() {
        let sightings: Vec<_> = (0..5000).map(|i| sighting(i, 1000 + i)).collect();
        // The same RPI seen three times, inserted out of order.
        let repeated = sighting(42, 0);
        let mut all = sightings.clone();
        all.push(Sighting {
            unix_seconds: 99_999,
            ..repeated
        });
        all.push(Sighting {
            unix_seconds: 5,
            ..repeated
        });
        let set = ObservedSet::new(all).unwrap();
        for s in &sightings {
            let found = set.sightings_of(&s.rpi);
            assert!(set.may_contain(&s.rpi));
            assert!(found.iter().any(|f| f.unix_seconds == s.unix_seconds));
            assert!(found.iter().all(|f| f.rpi == s.rpi));
        }
        let times: Vec<u64> = set
            .sightings_of(&repeated.rpi)
            .iter()
            .map(|s| s.unix_seconds)
            .collect();
        assert_eq!(times, vec![5, 1042, 99_999]);
        let unseen = (10_000..20_000).map(|i| sighting(i, 0).rpi);
        assert!(unseen.clone().all(|rpi| set.sightings_of(&rpi).is_empty()));
        // The bitmap lets through only a small fraction of unseen RPIs.
        let passed = unseen.filter(|rpi| set.may_contain(rpi)).count();
        assert!(
            passed < 10_000 / 500,
            "{passed} of 10000 unseen RPIs passed the bitmap"
        );
    }

    #[test]
    fn memory_stays_within_the_promised_bytes_per_sighting() {
        for n in [16, 17, 1000, 50_000, 65_536, 65_537] {
            let set = ObservedSet::new((0..n).map(|i| sighting(i, i))).unwrap();
            let bytes = set.memory_bytes();
            assert!(
                bytes <= MAX_BYTES_PER_SIGHTING * n as usize,
                "{n} sightings use {bytes} bytes"
            );
        }
        let empty = ObservedSet::new([]).unwrap();
        assert!(empty.is_empty());
        assert!(empty.sightings_of(&[0; 16]).is_empty());
    }
}
