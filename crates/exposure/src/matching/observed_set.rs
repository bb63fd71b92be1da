//! The set of sightings a phone holds, laid out for millions of lookups per second.
//!
//! RPIs are outputs of AES under a secret key, so their bytes are uniformly random: they
//! serve as their own hash, and no hashing is done at all.
//!
//! - `sightings`: every sighting (32 bytes), sorted by RPI then time, so that all the
//!   sightings of one RPI are adjacent and in time order.
//! - `bucket_starts`: where each run of RPIs with the same leading `k` bits starts, with
//!   `2^k` the smallest power of two ≥ half the number of sightings (a radix index: one
//!   or two sightings per bucket on average, no probing, no empty slots to skip).
//! - day filters: for every UTC day (144 intervals) with sightings, a blocked Bloom filter
//!   with one 64-bit word per entry, in which each entry sets two bits of the word its
//!   RPI's bytes choose (see [`DayFilter`]). A day's entries are its own sightings and
//!   those of the neighbouring days that its RPIs' ±[`MATCHING_WINDOW_INTERVALS`] windows
//!   reach (the last 12 intervals of the day before, the first 12 of the day after), so
//!   that the RPIs of a day are all looked up in one filter. A lookup of an RPI that was
//!   never seen (all but a handful of the 144 million lookups of a big export) stops at
//!   one word of a filter a fourteenth the size of one for all days, which stays in the
//!   CPU's first-level cache for a phone with 4,000 sightings a day while the keys of
//!   that day are matched ([`ObservedSet::match_keys`] takes them day by day). Two bits
//!   in one word cost one memory access like one bit does, and square the rate at which
//!   unseen RPIs get through (about 3 % of the bits are set: 1 in 500 gets through
//!   instead of 1 in 32).
//!
//! Memory, heap only, for `n` sightings on `d ≤ n` days: `32 n` (sightings)
//! `+ 4 (2^k + 1)` with `2^k < n + 2` (index) `+ 8 e` with `e ≤ 2n` entries, `e ≈ 1.2 n`
//! for sightings spread over the day (filters) `+ 8 d + 4` (days): about 50 bytes per
//! sighting for a phone, and at most `60 n + 12` however the sightings fall, within
//! [`MAX_BYTES_PER_SIGHTING`] (checked by tests).

use crate::interval::{EnIntervalNumber, INTERVALS_PER_DAY};
use crate::keys::KEY_LENGTH;
use crate::matching::{MATCHING_WINDOW_INTERVALS, Sighting};

/// Upper bound of [`ObservedSet::memory_bytes`] per sighting, for 32 sightings or more
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
    /// The days (interval number / 144) with sightings, ascending.
    days: Box<[u32]>,
    /// The filter of `days[i]` is `filter_words[day_starts[i]..day_starts[i + 1]]`.
    day_starts: Box<[u32]>,
    filter_words: Box<[u64]>,
}

/// The blocked Bloom filter of one day's sightings.
#[derive(Clone, Copy)]
pub(crate) struct DayFilter<'a> {
    words: &'a [u64],
}

impl DayFilter<'_> {
    /// Where an RPI sits: one word, chosen by bits 32..64 of the RPI's last 8 bytes
    /// (little-endian) scaled to the filter's length (a multiply, not a modulo), and two
    /// bits in it, chosen by the lowest 6 bits of each half.
    #[inline]
    fn position(&self, rpi: &[u8; KEY_LENGTH]) -> (usize, u64) {
        let (first, last) = little_endian_halves(rpi);
        let word = (((last >> 32) * self.words.len() as u64) >> 32) as usize;
        (word, (1u64 << (last & 63)) | (1u64 << (first & 63)))
    }

    /// False when `rpi` was certainly not seen this day; true when it may have been.
    #[inline]
    pub(crate) fn may_contain(&self, rpi: &[u8; KEY_LENGTH]) -> bool {
        let (word, bits) = self.position(rpi);
        self.words.get(word).is_some_and(|w| w & bits == bits)
    }

    fn insert(words: &mut [u64], rpi: &[u8; KEY_LENGTH]) {
        let (word, bits) = DayFilter { words }.position(rpi);
        if let Some(w) = words.get_mut(word) {
            *w |= bits;
        }
    }
}

/// The RPI's first and last 8 bytes, little-endian (the filters' view: any fixed view of
/// random bytes is as good, and this one loads without swapping bytes).
#[inline]
fn little_endian_halves(rpi: &[u8; KEY_LENGTH]) -> (u64, u64) {
    let value = u128::from_le_bytes(*rpi);
    (value as u64, (value >> 64) as u64)
}

/// Runs of a day of RPIs (at most 144) whose own day and the days their ±2 h windows
/// touch stay the same: a day's worth of intervals crosses one midnight and the two edges
/// of the window around it.
const MAX_RUNS: usize = 5;

const _: () = assert!(
    2 * MATCHING_WINDOW_INTERVALS < INTERVALS_PER_DAY,
    "a window touches at most two days"
);

/// Identifiers up to `end` (exclusive) are looked up in these filters.
#[derive(Clone, Copy, Default)]
struct Run<'a> {
    end: usize,
    filters: [Option<DayFilter<'a>>; 2],
}

/// Which day filters the RPIs of up to a day of intervals are looked up in, worked out
/// once for all the keys that start in the same interval.
#[derive(Clone, Copy)]
pub(crate) struct CandidateFilters<'a> {
    first: u32,
    runs: [Run<'a>; MAX_RUNS],
    len: usize,
}

impl CandidateFilters<'_> {
    /// The first interval these filters were worked out for.
    pub(crate) fn first(&self) -> u32 {
        self.first
    }

    /// Calls `visit(j)` for every `identifiers[j]`, the RPI of interval `first + j`, that
    /// may have been seen within ±[`MATCHING_WINDOW_INTERVALS`] of its interval, in
    /// ascending `j`; the others were certainly not.
    #[inline]
    pub(crate) fn for_each_candidate(
        &self,
        identifiers: &[[u8; KEY_LENGTH]],
        mut visit: impl FnMut(usize),
    ) {
        let mut start = 0;
        for run in self.runs.iter().take(self.len) {
            let rpis = identifiers
                .get(start..run.end.min(identifiers.len()))
                .unwrap_or_default();
            match run.filters {
                [Some(only), None] | [None, Some(only)] => {
                    for (j, rpi) in rpis.iter().enumerate() {
                        if only.may_contain(rpi) {
                            visit(start + j);
                        }
                    }
                }
                [Some(a), Some(b)] => {
                    for (j, rpi) in rpis.iter().enumerate() {
                        if a.may_contain(rpi) || b.may_contain(rpi) {
                            visit(start + j);
                        }
                    }
                }
                [None, None] => {}
            }
            start = run.end;
        }
    }
}

/// Where the filter of the `index`-th day lies in the filter words.
fn filter_range(day_starts: &[u32], index: usize) -> Option<std::ops::Range<usize>> {
    Some(*day_starts.get(index)? as usize..*day_starts.get(index + 1)? as usize)
}

/// A day number as the filters are keyed (interval numbers are `u32`, so every real day
/// fits; a larger number, past the last interval, has no filter).
fn day_of_number(day: u64) -> u32 {
    u32::try_from(day).unwrap_or(u32::MAX)
}

/// The interval and the day a sighting was heard in.
fn interval_and_day(unix_seconds: u64) -> (u32, u32) {
    let interval = EnIntervalNumber::from_unix_seconds(unix_seconds).0;
    (interval, interval / INTERVALS_PER_DAY)
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

        // About two sightings per bucket: half the index of one per bucket, and the run
        // to search is still a single cache line.
        let buckets = sightings.len().div_ceil(2).max(1).next_power_of_two();
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

        // Day filters. The days with sightings, then each filter's entries: the day's own
        // sightings, and those of the neighbouring days heard within the matching window
        // of this day's RPIs (the last 12 intervals of the day before, the first 12 of the
        // day after), so that an RPI is looked up in one filter.
        let mut days: Vec<u32> = sightings
            .iter()
            .map(|s| interval_and_day(s.unix_seconds).1)
            .collect();
        days.sort_unstable();
        days.dedup();
        let filters_of = |unix_seconds: u64| {
            let (interval, day) = interval_and_day(unix_seconds);
            let offset = interval % INTERVALS_PER_DAY;
            let before = (offset < MATCHING_WINDOW_INTERVALS)
                .then(|| day.checked_sub(1))
                .flatten();
            let after = (offset >= INTERVALS_PER_DAY - MATCHING_WINDOW_INTERVALS)
                .then(|| day.checked_add(1))
                .flatten();
            [Some(day), before, after]
                .into_iter()
                .flatten()
                .filter_map(|d| days.binary_search(&d).ok())
        };
        let mut entries = vec![0u32; days.len()];
        for sighting in &sightings {
            for index in filters_of(sighting.unix_seconds) {
                if let Some(count) = entries.get_mut(index) {
                    *count += 1;
                }
            }
        }
        // One word per entry, so that about 3 % of the bits are set (entries are at most
        // twice the sightings: under 2^31).
        let mut day_starts = Vec::with_capacity(days.len() + 1);
        day_starts.push(0u32);
        for count in entries {
            let start = day_starts.last().copied().unwrap_or(0);
            day_starts.push(start + count);
        }
        let mut filter_words = vec![0u64; day_starts.last().copied().unwrap_or(0) as usize];
        for sighting in &sightings {
            for index in filters_of(sighting.unix_seconds) {
                if let Some(words) =
                    filter_range(&day_starts, index).and_then(|range| filter_words.get_mut(range))
                {
                    DayFilter::insert(words, &sighting.rpi);
                }
            }
        }
        Ok(Self {
            sightings,
            bucket_starts,
            bucket_shift,
            days: days.into_boxed_slice(),
            day_starts: day_starts.into_boxed_slice(),
            filter_words: filter_words.into_boxed_slice(),
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

    /// Bytes used: the struct and its heap arrays.
    pub fn memory_bytes(&self) -> usize {
        size_of::<Self>()
            + size_of_val(&*self.sightings)
            + size_of_val(&*self.bucket_starts)
            + size_of_val(&*self.days)
            + size_of_val(&*self.day_starts)
            + size_of_val(&*self.filter_words)
    }

    /// The filter of the sightings of `day`, if there were any.
    #[inline]
    fn day_filter(&self, day: u32) -> Option<DayFilter<'_>> {
        let index = self.days.binary_search(&day).ok()?;
        Some(DayFilter {
            words: self
                .filter_words
                .get(filter_range(&self.day_starts, index)?)?,
        })
    }

    /// The filters to look up the RPIs of `count` intervals from `first` in (at most a
    /// day of them: see [`CandidateFilters`]).
    pub(crate) fn filters_for(&self, first: u32, count: usize) -> CandidateFilters<'_> {
        let window = u64::from(MATCHING_WINDOW_INTERVALS);
        let day = u64::from(INTERVALS_PER_DAY);
        let count = count.min(INTERVALS_PER_DAY as usize);
        let mut filters = CandidateFilters {
            first,
            runs: [Run::default(); MAX_RUNS],
            len: 0,
        };
        let mut offset = 0usize;
        while offset < count && filters.len < MAX_RUNS {
            let interval = u64::from(first) + offset as u64;
            let own = interval / day;
            let low = interval.saturating_sub(window) / day;
            let high = (interval + window) / day;
            // The run lasts while the RPI's own day and the days its window touches stay.
            let end = ((own + 1) * day)
                .min((low + 1) * day + window)
                .min((high + 1) * day - window)
                .saturating_sub(u64::from(first))
                .min(count as u64) as usize;
            // The own day's filter holds what the window reaches of the neighbours too;
            // without sightings that day, the neighbours' own filters hold the rest.
            let run_filters = match self.day_filter(day_of_number(own)) {
                Some(own_filter) => [Some(own_filter), None],
                None => [
                    (low != own)
                        .then(|| self.day_filter(day_of_number(low)))
                        .flatten(),
                    (high != own)
                        .then(|| self.day_filter(day_of_number(high)))
                        .flatten(),
                ],
            };
            if let Some(run) = filters.runs.get_mut(filters.len) {
                *run = Run {
                    end,
                    filters: run_filters,
                };
                filters.len += 1;
            }
            offset = end.max(offset + 1);
        }
        filters
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

    /// Whether the filters let `rpi`, broadcast in `interval`, through.
    fn passes(set: &ObservedSet, rpi: [u8; 16], interval: u32) -> bool {
        let mut visited = Vec::new();
        set.filters_for(interval, 1)
            .for_each_candidate(&[rpi], |j| visited.push(j));
        !visited.is_empty()
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
            let interval = EnIntervalNumber::from_unix_seconds(s.unix_seconds).0;
            assert!(passes(&set, s.rpi, interval));
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
        // The filters let through only a small fraction of unseen RPIs.
        let passed = unseen.filter(|rpi| passes(&set, *rpi, 1)).count();
        assert!(
            passed < 10_000 / 500,
            "{passed} of 10000 unseen RPIs passed the filter"
        );
    }

    #[test]
    fn memory_stays_within_the_promised_bytes_per_sighting() {
        const DAY: u64 = 86_400;
        // Where sightings fall: one day; a phone's fortnight; and the worst case, one
        // sighting a day, each within the window of the next day's RPIs, so that every
        // sighting is in two filters and every day has its own.
        type Layout = (&'static str, fn(u64) -> u64);
        let layouts: [Layout; 3] = [
            ("one day", |i| i),
            ("fourteen days", |i| i * 7919 % (14 * DAY)),
            ("a day each, before midnight", |i| i * DAY + DAY - 300),
        ];
        for n in [32, 33, 1000, 50_000, 65_536, 65_537] {
            for (layout, time) in layouts {
                let set = ObservedSet::new((0..n).map(|i| sighting(i, time(i)))).unwrap();
                let bytes = set.memory_bytes();
                assert!(
                    bytes <= MAX_BYTES_PER_SIGHTING * n as usize,
                    "{n} sightings ({layout}) use {bytes} bytes"
                );
            }
        }
        let empty = ObservedSet::new([]).unwrap();
        assert!(empty.is_empty());
        assert!(empty.sightings_of(&[0; 16]).is_empty());
    }
}
