//! Matching sightings against published keys.
//!
//! A phone keeps what it heard (a [`Sighting`] per advertisement) in an [`ObservedSet`].
//! For every published [`DiagnosisKey`], the engine derives the key's RPIK once, the RPIs
//! of every interval of its rolling period in one batch, and looks each RPI up in the
//! filters of the days it could have been heard on. Then, per
//! matched RPI (PROTOCOLS.md §1):
//!
//! - a sighting counts only if it was heard within ±[`MATCHING_WINDOW_INTERVALS`]
//!   intervals (±2 h) of the RPI's own interval: an identifier heard far from its time
//!   was recorded and replayed, or the phone's clock is wrong;
//! - of the sightings that count, those more than [`REPLAY_WINDOW_SECONDS`] (20 min)
//!   after the first one are discarded as replays;
//! - the key's AEMK decrypts the metadata, whose TX power gives the attenuation
//!   `tx_power − rssi`.
//!
//! Keys arrive from any iterator and are never collected: an export of a million keys is
//! matched while it is being read. [`ObservedSet::match_keys`] runs on the calling thread;
//! [`ObservedSet::match_keys_parallel`] spreads chunks of [`KEYS_PER_CHUNK`] keys over a
//! rayon pool and returns the same result.

mod observed_set;

use observed_set::CandidateFilters;
use rayon::iter::{ParallelBridge, ParallelIterator};

use crate::interval::EnIntervalNumber;
use crate::keys::fast::{self, IDENTIFIERS_PER_BATCH};
use crate::keys::{
    AssociatedEncryptedMetadata, AssociatedEncryptedMetadataKey, DiagnosisKey, KEY_LENGTH,
    RollingProximityIdentifier, RollingProximityIdentifierKey, broadcast_interval_count,
};
pub use observed_set::{MAX_BYTES_PER_SIGHTING, MAX_SIGHTINGS, ObservedSet, TooManySightings};

/// A sighting counts if heard within this many intervals of its RPI's interval (2 h).
pub const MATCHING_WINDOW_INTERVALS: u32 = 12;

/// Sightings of one RPI more than this long after its first counted sighting are replays.
pub const REPLAY_WINDOW_SECONDS: u64 = 20 * 60;

/// Keys handed to one worker at a time by [`ObservedSet::match_keys_parallel`]: large
/// enough that taking the next chunk costs nothing next to matching it (about a
/// millisecond of work), small enough to spread a small export over every core.
pub const KEYS_PER_CHUNK: usize = 2048;

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

/// `tx_power − rssi`, clamped to what a `u8` holds.
pub fn attenuation_db(tx_power: i8, rssi: i8) -> u8 {
    (i16::from(tx_power) - i16::from(rssi)).clamp(0, 255) as u8
}

impl ObservedSet {
    /// Matches keys on the calling thread; the matches come in the keys' order.
    ///
    /// Keys are read [`KEYS_PER_CHUNK`] at a time and matched in the order of their days,
    /// so that one day's filter serves many keys in a row from the CPU's nearest cache;
    /// their RPIKs are derived [`fast::KEYS_PER_DERIVATION`] at a time.
    pub fn match_keys<I>(&self, keys: I) -> Vec<ExposureMatch>
    where
        I: IntoIterator<Item = DiagnosisKey>,
    {
        let mut matches = Vec::new();
        if self.is_empty() {
            return matches;
        }
        let mut identifiers = [[0u8; KEY_LENGTH]; IDENTIFIERS_PER_BATCH];
        let mut keys = keys.into_iter();
        let mut chunk: Vec<DiagnosisKey> = Vec::with_capacity(KEYS_PER_CHUNK);
        let mut order: Vec<u64> = Vec::with_capacity(KEYS_PER_CHUNK);
        let mut found: Vec<(usize, ExposureMatch)> = Vec::new();
        // Keys come sorted by start: the filters of the last start serve the next key.
        let mut filters: Option<CandidateFilters<'_>> = None;
        loop {
            chunk.clear();
            chunk.extend(keys.by_ref().take(KEYS_PER_CHUNK));
            if chunk.is_empty() {
                return matches;
            }
            // (start interval, position): sorting groups the keys of a day together.
            order.clear();
            order.extend(chunk.iter().enumerate().map(|(position, key)| {
                u64::from(key.key.rolling_start_interval_number.0) << 32 | position as u64
            }));
            order.sort_unstable();
            for group in order.chunks(fast::KEYS_PER_DERIVATION) {
                let positions: [usize; fast::KEYS_PER_DERIVATION] = core::array::from_fn(|lane| {
                    // A short last group repeats its first key in the empty lanes.
                    let packed = group.get(lane).or(group.first()).copied().unwrap_or(0);
                    (packed & u64::from(u32::MAX)) as usize
                });
                let teks = positions.map(|p| chunk.get(p).map_or([0; 16], |k| k.key.key_data));
                let rpiks = fast::rolling_proximity_identifier_keys(&teks);
                for (&position, rpik) in positions.iter().zip(&rpiks).take(group.len()) {
                    let Some(key) = chunk.get(position) else {
                        continue;
                    };
                    let start = key.key.rolling_start_interval_number.0;
                    let day_filters = match filters {
                        Some(known) if known.first() == start => known,
                        _ => *filters.insert(self.filters_for(start, IDENTIFIERS_PER_BATCH)),
                    };
                    if let Some(matched) =
                        self.match_key_with(key, rpik, &day_filters, &mut identifiers)
                    {
                        found.push((position, matched));
                    }
                }
            }
            found.sort_unstable_by_key(|(position, _)| *position);
            matches.extend(found.drain(..).map(|(_, matched)| matched));
        }
    }

    /// Matches one key.
    pub fn match_key(&self, key: &DiagnosisKey) -> Option<ExposureMatch> {
        let mut identifiers = [[0u8; KEY_LENGTH]; IDENTIFIERS_PER_BATCH];
        let rpik = fast::rolling_proximity_identifier_key(&key.key.key_data);
        let start = key.key.rolling_start_interval_number.0;
        let filters = self.filters_for(start, IDENTIFIERS_PER_BATCH);
        self.match_key_with(key, &rpik, &filters, &mut identifiers)
    }

    /// Matches keys on `threads` threads (0: the current rayon pool, which is every core
    /// unless configured otherwise). Same result, in the same order, as [`Self::match_keys`].
    ///
    /// The iterator is read by one worker at a time, a chunk at a time, so reading (say,
    /// inflating and decoding an export) overlaps with matching on the other cores.
    pub fn match_keys_parallel<I>(&self, keys: I, threads: usize) -> Vec<ExposureMatch>
    where
        I: IntoIterator<Item = DiagnosisKey>,
        I::IntoIter: Send,
    {
        let mut keys = keys.into_iter();
        let mut next_chunk = 0usize;
        let chunks = std::iter::from_fn(move || {
            let chunk: Vec<DiagnosisKey> = keys.by_ref().take(KEYS_PER_CHUNK).collect();
            next_chunk += 1;
            (!chunk.is_empty()).then_some((next_chunk, chunk))
        });
        let run = move || {
            let mut found: Vec<(usize, Vec<ExposureMatch>)> = chunks
                .par_bridge()
                .map(|(index, chunk)| (index, self.match_keys(chunk)))
                .filter(|(_, matches)| !matches.is_empty())
                .collect();
            found.sort_unstable_by_key(|(index, _)| *index);
            found.into_iter().flat_map(|(_, matches)| matches).collect()
        };
        if threads == 0 {
            return run();
        }
        match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
            Ok(pool) => pool.install(run),
            // No threads to be had: the current pool gives the same answer.
            Err(_) => run(),
        }
    }

    fn match_key_with(
        &self,
        key: &DiagnosisKey,
        rpik: &RollingProximityIdentifierKey,
        filters: &CandidateFilters<'_>,
        identifiers: &mut [[u8; KEY_LENGTH]; IDENTIFIERS_PER_BATCH],
    ) -> Option<ExposureMatch> {
        let tek = &key.key;
        let start = tek.rolling_start_interval_number;
        let count = broadcast_interval_count(start.0, tek.rolling_period) as usize;
        if count == 0 || self.is_empty() {
            return None;
        }
        fast::rolling_proximity_identifiers(rpik, start, identifiers);

        let mut sightings = Vec::new();
        let mut metadata_key: Option<AssociatedEncryptedMetadataKey> = None;
        let identifiers = identifiers.get(..count).unwrap_or_default();
        filters.for_each_candidate(identifiers, |offset| {
            let Some(rpi) = identifiers.get(offset) else {
                return;
            };
            let seen = self.sightings_of(rpi);
            if seen.is_empty() {
                return;
            }
            let interval = EnIntervalNumber(start.0 + offset as u32);
            let in_window = |unix_seconds: u64| {
                EnIntervalNumber::from_unix_seconds(unix_seconds)
                    .0
                    .abs_diff(interval.0)
                    <= MATCHING_WINDOW_INTERVALS
            };
            // `seen` is in time order, so the first in the window is the first counted.
            let Some(first) = seen.iter().map(|s| s.unix_seconds).find(|&t| in_window(t)) else {
                return;
            };
            let aemk = metadata_key
                .get_or_insert_with(|| fast::identifier_and_metadata_keys(&tek.key_data).1);
            let identifier = RollingProximityIdentifier(*rpi);
            for sighting in seen {
                if !in_window(sighting.unix_seconds)
                    || sighting.unix_seconds - first > REPLAY_WINDOW_SECONDS
                {
                    continue;
                }
                let tx_power = aemk
                    .decrypt(&identifier, AssociatedEncryptedMetadata(sighting.aem))
                    .tx_power();
                sightings.push(MatchedSighting {
                    unix_seconds: sighting.unix_seconds,
                    interval,
                    rssi: sighting.rssi,
                    tx_power,
                    attenuation_db: tx_power.map(|tx| attenuation_db(tx, sighting.rssi)),
                });
            }
        });
        if sightings.is_empty() {
            return None;
        }
        sightings.sort_by_key(|s| (s.unix_seconds, s.interval));
        Some(ExposureMatch {
            key: *key,
            sightings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{BluetoothMetadata, TemporaryExposureKey};

    const DAY_START: u32 = 2_650_032; // a multiple of 144

    fn key(seed: u8) -> DiagnosisKey {
        DiagnosisKey::confirmed(TemporaryExposureKey {
            key_data: [seed; 16],
            rolling_start_interval_number: EnIntervalNumber(DAY_START),
            rolling_period: 144,
        })
    }

    /// What a phone records when it hears `key` at `unix_seconds`, broadcast during
    /// `interval`.
    fn heard(key: &DiagnosisKey, interval: u32, unix_seconds: u64, rssi: i8) -> Sighting {
        let tek = key.key;
        let rpi = tek
            .rolling_proximity_identifier_key()
            .rolling_proximity_identifier(EnIntervalNumber(interval));
        let aem = tek
            .associated_encrypted_metadata_key()
            .encrypt(&rpi, BluetoothMetadata::new(-10));
        Sighting {
            unix_seconds,
            rpi: rpi.0,
            aem: aem.0,
            rssi,
        }
    }

    fn at(interval: u32, seconds: u64) -> u64 {
        EnIntervalNumber(interval).unix_seconds() + seconds
    }

    #[test]
    fn match_gives_time_interval_and_attenuation() {
        let sick = key(1);
        let observed = ObservedSet::new([
            heard(&sick, DAY_START + 10, at(DAY_START + 10, 30), -70),
            heard(&sick, DAY_START + 11, at(DAY_START + 11, 0), -60),
        ])
        .unwrap();
        let matches = observed.match_keys([key(2), sick, key(3)]);
        assert_eq!(matches.len(), 1);
        assert_eq!(matches[0].key, sick);
        let first = matches[0].sightings[0];
        assert_eq!(first.unix_seconds, at(DAY_START + 10, 30));
        assert_eq!(first.interval, EnIntervalNumber(DAY_START + 10));
        assert_eq!(first.tx_power, Some(-10));
        assert_eq!(first.attenuation_db, Some(60));
        assert_eq!(matches[0].sightings[1].attenuation_db, Some(50));
    }

    #[test]
    fn sightings_outside_two_hours_of_their_interval_do_not_count() {
        let sick = key(4);
        let interval = DAY_START + 50;
        let observed = ObservedSet::new([
            heard(&sick, interval, at(interval + 12, 599), -60), // 12 intervals later: counts
            heard(&sick, interval, at(interval - 13, 0), -60),   // 13 before: does not
        ])
        .unwrap();
        let matches = observed.match_keys([sick]);
        let times: Vec<u64> = matches[0]
            .sightings
            .iter()
            .map(|s| s.unix_seconds)
            .collect();
        assert_eq!(times, vec![at(interval + 12, 599)]);

        let late = ObservedSet::new([heard(&sick, interval, at(interval + 13, 0), -60)]).unwrap();
        assert!(late.match_keys([sick]).is_empty());
    }

    #[test]
    fn replays_after_twenty_minutes_are_discarded() {
        let sick = key(5);
        let interval = DAY_START + 70;
        let first = at(interval, 0);
        let observed = ObservedSet::new([
            heard(&sick, interval, first + 1200, -60), // exactly 20 min: kept
            heard(&sick, interval, first, -60),
            heard(&sick, interval, first + 1201, -60), // replay
            heard(&sick, interval + 1, first + 3000, -60), // another RPI: its own first
        ])
        .unwrap();
        let times: Vec<u64> = observed.match_keys([sick])[0]
            .sightings
            .iter()
            .map(|s| s.unix_seconds)
            .collect();
        assert_eq!(times, vec![first, first + 1200, first + 3000]);
    }

    #[test]
    fn unknown_metadata_version_gives_no_attenuation() {
        let sick = key(6);
        let tek = sick.key;
        let interval = EnIntervalNumber(DAY_START + 3);
        let rpi = tek
            .rolling_proximity_identifier_key()
            .rolling_proximity_identifier(interval);
        let aem = tek
            .associated_encrypted_metadata_key()
            .encrypt(&rpi, BluetoothMetadata::with_version(0x80, -10));
        let observed = ObservedSet::new([Sighting {
            unix_seconds: interval.unix_seconds(),
            rpi: rpi.0,
            aem: aem.0,
            rssi: -50,
        }])
        .unwrap();
        let matched = observed.match_keys([sick])[0].sightings[0];
        assert_eq!((matched.tx_power, matched.attenuation_db), (None, None));
    }

    #[test]
    fn short_and_hostile_rolling_periods_are_bounded() {
        let mut short = key(7);
        short.key.rolling_period = 10;
        let mut huge = key(8);
        huge.key.rolling_period = u32::MAX;
        let observed = ObservedSet::new([
            heard(&short, DAY_START + 9, at(DAY_START + 9, 0), -60),
            heard(&short, DAY_START + 10, at(DAY_START + 10, 0), -60), // after its period
            heard(&huge, DAY_START + 143, at(DAY_START + 143, 0), -60),
        ])
        .unwrap();
        let matches = observed.match_keys([short, huge]);
        assert_eq!(matches.len(), 2);
        assert_eq!(matches[0].sightings.len(), 1);
        assert_eq!(matches[1].sightings.len(), 1);

        let mut at_the_end = key(9);
        at_the_end.key.rolling_start_interval_number = EnIntervalNumber(u32::MAX - 1);
        assert!(observed.match_keys([at_the_end]).is_empty());
    }

    #[test]
    fn parallel_gives_the_same_matches_in_the_same_order() {
        let keys: Vec<DiagnosisKey> = (0..=255u8)
            .flat_map(|seed| {
                let mut other = key(seed);
                other.key.key_data[0] ^= 0x80;
                [key(seed), other]
            })
            .collect();
        let sightings = keys
            .iter()
            .step_by(3)
            .map(|k| heard(k, DAY_START + 20, at(DAY_START + 20, 0), -65));
        let observed = ObservedSet::new(sightings).unwrap();
        let sequential = observed.match_keys(keys.iter().copied());
        assert_eq!(sequential.len(), keys.len().div_ceil(3));
        for threads in [0, 1, 2, 3] {
            assert_eq!(
                observed.match_keys_parallel(keys.iter().copied(), threads),
                sequential
            );
        }
    }

    /// Matching written as plainly as the rules read: every interval of every key
    /// against every sighting.
    fn reference_matches(sightings: &[Sighting], keys: &[DiagnosisKey]) -> Vec<ExposureMatch> {
        keys.iter()
            .filter_map(|key| {
                let tek = key.key;
                let rpik = tek.rolling_proximity_identifier_key();
                let aemk = tek.associated_encrypted_metadata_key();
                let mut found = Vec::new();
                for interval in tek.broadcast_intervals() {
                    let rpi = rpik.rolling_proximity_identifier(interval);
                    let mut seen: Vec<&Sighting> = sightings
                        .iter()
                        .filter(|s| s.rpi == rpi.0)
                        .filter(|s| {
                            EnIntervalNumber::from_unix_seconds(s.unix_seconds)
                                .0
                                .abs_diff(interval.0)
                                <= MATCHING_WINDOW_INTERVALS
                        })
                        .collect();
                    seen.sort_by_key(|s| s.unix_seconds);
                    let Some(first) = seen.first().map(|s| s.unix_seconds) else {
                        continue;
                    };
                    for s in seen {
                        if s.unix_seconds - first > REPLAY_WINDOW_SECONDS {
                            continue;
                        }
                        let tx_power = aemk
                            .decrypt(&rpi, AssociatedEncryptedMetadata(s.aem))
                            .tx_power();
                        found.push(MatchedSighting {
                            unix_seconds: s.unix_seconds,
                            interval,
                            rssi: s.rssi,
                            tx_power,
                            attenuation_db: tx_power.map(|tx| attenuation_db(tx, s.rssi)),
                        });
                    }
                }
                found.sort_by_key(|s| (s.unix_seconds, s.interval));
                (!found.is_empty()).then_some(ExposureMatch {
                    key: *key,
                    sightings: found,
                })
            })
            .collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Keys starting anywhere across three days (so across midnights), any rolling
        /// period; sightings of their RPIs heard up to 3 hours off (in and out of the
        /// window), replays, and strangers: the engine finds what the reference finds.
        #[test]
        fn matches_equal_the_plain_reference(
            keys in proptest::collection::vec((proptest::prelude::any::<[u8; 16]>(), 0u32..3 * 144, 1u32..=150), 1..40),
            broadcasts in proptest::collection::vec((0usize..40, 0u32..150, -18i64..=18, 0u64..600, -90i8..-40), 0..120),
            strangers in proptest::collection::vec((proptest::prelude::any::<[u8; 16]>(), 0u64..4 * 86_400), 0..200),
        ) {
            let keys: Vec<DiagnosisKey> = keys
                .into_iter()
                .map(|(key_data, start, period)| {
                    DiagnosisKey::confirmed(TemporaryExposureKey {
                        key_data,
                        rolling_start_interval_number: EnIntervalNumber(DAY_START - 144 + start),
                        rolling_period: period,
                    })
                })
                .collect();
            let mut sightings: Vec<Sighting> = broadcasts
                .into_iter()
                .map(|(which, offset, shift, second, rssi)| {
                    let key = keys[which % keys.len()];
                    let interval = key.key.rolling_start_interval_number.0 + offset;
                    let mut sighting = heard(&key, interval, 0, rssi);
                    let when = i64::from(interval) + shift;
                    sighting.unix_seconds = when as u64 * 600 + second;
                    sighting
                })
                .collect();
            sightings.extend(strangers.into_iter().map(|(rpi, second)| Sighting {
                unix_seconds: EnIntervalNumber(DAY_START - 144).unix_seconds() + second,
                rpi,
                aem: [0; 4],
                rssi: -70,
            }));
            let observed = ObservedSet::new(sightings.iter().copied()).unwrap();
            let expected = reference_matches(&sightings, &keys);
            proptest::prop_assert_eq!(observed.match_keys(keys.iter().copied()), expected.clone());
            let one_by_one: Vec<ExposureMatch> =
                keys.iter().filter_map(|key| observed.match_key(key)).collect();
            proptest::prop_assert_eq!(one_by_one, expected);
        }
    }
}
