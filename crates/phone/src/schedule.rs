//! Own Temporary Exposure Keys and the advertisements derived from them.
//!
//! The phone makes a new key each UTC day, rolling from the day's first interval, and keeps
//! [`KEPT_KEY_DAYS`] days of them (today's included) so that a positive test can publish
//! them. A key that was reported (or is waiting for its next-day upload) is never broadcast
//! again: the phone rolls to a fresh key at once, starting at the current interval, so that
//! nobody can link what the phone sends after a report to the published key.

use exposure::interval::{EnIntervalNumber, INTERVALS_PER_DAY};
use exposure::keys::{BluetoothMetadata, TemporaryExposureKey};
use rand_core::CryptoRng;
use rusqlite::params;

use crate::{Phone, PhoneError};

/// Days of own keys kept, today's included (PROTOCOLS.md §1: 14 days of retention).
pub const KEPT_KEY_DAYS: u32 = 14;

/// Calibrated TX power (dBm) written in the metadata of every advertisement. A receiving
/// phone computes attenuation as `tx_power − rssi`; −15 dBm is the reference advertiser
/// of the EN framework (Android's `TX_POWER_LOW`), the value risk scoring assumes when
/// metadata is unreadable.
pub const TX_POWER_DBM: i8 = -15;

/// Longest broadcast the phone derives in one call (one week of minutes): a bound so that
/// a typo in a minute count cannot make the phone derive identifiers for years.
pub const MAX_BROADCAST_MINUTES: u64 = 7 * 24 * 60;

/// Whether a key has been published.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UploadState {
    /// Never reported: the key may be broadcast while it is valid.
    NotReported,
    /// Uploaded to the server.
    Uploaded,
    /// Today's key at report time: uploaded by the first sync after it expires.
    AwaitingNextDayUpload,
}

impl UploadState {
    pub(crate) fn to_db(self) -> i64 {
        match self {
            Self::NotReported => 0,
            Self::Uploaded => 1,
            Self::AwaitingNextDayUpload => 2,
        }
    }

    pub(crate) fn from_db(value: i64) -> Self {
        match value {
            1 => Self::Uploaded,
            2 => Self::AwaitingNextDayUpload,
            _ => Self::NotReported,
        }
    }
}

/// One of the phone's own keys and whether it has been published.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OwnKey {
    pub key: TemporaryExposureKey,
    pub upload_state: UploadState,
}

/// One Bluetooth advertisement: the service data (RPI ‖ AEM) sent at `unix_seconds`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Advertisement {
    pub unix_seconds: u64,
    pub rpi: [u8; 16],
    pub aem: [u8; 4],
}

impl Advertisement {
    /// The line of a `keys match` sightings file: `unix_seconds,rpi_hex,aem_hex[,rssi]`.
    pub fn to_sighting_line(&self, rssi: Option<i8>) -> String {
        let mut line = format!(
            "{},{},{}",
            self.unix_seconds,
            hex::encode(self.rpi),
            hex::encode(self.aem)
        );
        if let Some(rssi) = rssi {
            line.push_str(&format!(",{rssi}"));
        }
        line
    }
}

impl Phone {
    /// Every own key still kept, oldest first.
    pub fn own_keys(&self) -> Result<Vec<OwnKey>, PhoneError> {
        let mut statement = self.db.prepare(
            "SELECT key_data, rolling_start, rolling_period, upload_state FROM own_keys
             ORDER BY rolling_start, rowid",
        )?;
        let keys = statement
            .query_map([], |row| {
                let key_data: Vec<u8> = row.get(0)?;
                Ok((
                    key_data,
                    row.get::<_, u32>(1)?,
                    row.get::<_, u32>(2)?,
                    row.get(3)?,
                ))
            })?
            .filter_map(|row| match row {
                Ok((key_data, start, period, state)) => {
                    let key_data: [u8; 16] = key_data.try_into().ok()?;
                    Some(Ok(OwnKey {
                        key: TemporaryExposureKey {
                            key_data,
                            rolling_start_interval_number: EnIntervalNumber(start),
                            rolling_period: period,
                        },
                        upload_state: UploadState::from_db(state),
                    }))
                }
                Err(error) => Some(Err(error)),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(keys)
    }

    /// The key broadcast at `now`, made (and stored) if there is none yet.
    pub fn current_key<R: CryptoRng + ?Sized>(
        &mut self,
        now: u64,
        rng: &mut R,
    ) -> Result<TemporaryExposureKey, PhoneError> {
        self.ensure_active()?;
        let interval = EnIntervalNumber::from_unix_seconds(now);
        let keys = self.own_keys()?;
        if let Some(own) = keys.iter().rev().find(|own| {
            own.upload_state == UploadState::NotReported && own.key.is_valid_at(interval)
        }) {
            return Ok(own.key);
        }
        let day_start = interval.day_start();
        let mut key = TemporaryExposureKey::generate(rng, interval);
        let rolled_today = keys
            .iter()
            .any(|own| own.key.rolling_start_interval_number.day() == interval.day());
        if rolled_today {
            // A key of today was reported: the new one starts now and ends with the day.
            key.rolling_start_interval_number = interval;
            key.rolling_period = INTERVALS_PER_DAY - (interval.0 - day_start.0);
        }
        self.db.execute(
            "INSERT INTO own_keys (key_data, rolling_start, rolling_period, upload_state)
             VALUES (?1, ?2, ?3, 0)",
            params![
                key.key_data.as_slice(),
                key.rolling_start_interval_number.0,
                key.rolling_period
            ],
        )?;
        Ok(key)
    }

    /// The advertisements the phone sends during `minutes` minutes from `now`, one per
    /// minute (a phone advertises continuously; one a minute is what a scanner keeps).
    pub fn broadcast<R: CryptoRng + ?Sized>(
        &mut self,
        now: u64,
        minutes: u64,
        rng: &mut R,
    ) -> Result<Vec<Advertisement>, PhoneError> {
        self.purge(now)?;
        self.ensure_active()?;
        if minutes > MAX_BROADCAST_MINUTES {
            return Err(PhoneError::InvalidInput(format!(
                "at most {MAX_BROADCAST_MINUTES} minutes of broadcast at once"
            )));
        }
        let metadata = BluetoothMetadata::new(TX_POWER_DBM);
        let mut advertisements = Vec::new();
        let mut cached: Option<(TemporaryExposureKey, EnIntervalNumber, Advertisement)> = None;
        for minute in 0..minutes {
            let unix_seconds = now + minute * 60;
            let interval = EnIntervalNumber::from_unix_seconds(unix_seconds);
            // The key stays the current one while it is valid: nothing can report it in the
            // middle of this call, so the database is asked only when a new day starts.
            let key = match cached {
                Some((cached_key, _, _)) if cached_key.is_valid_at(interval) => cached_key,
                _ => self.current_key(unix_seconds, rng)?,
            };
            let (rpi, aem) = match cached {
                Some((cached_key, cached_interval, ad))
                    if cached_key == key && cached_interval == interval =>
                {
                    (ad.rpi, ad.aem)
                }
                _ => {
                    let rpi = key
                        .rolling_proximity_identifier_key()
                        .rolling_proximity_identifier(interval);
                    let aem = key
                        .associated_encrypted_metadata_key()
                        .encrypt(&rpi, metadata);
                    (rpi.0, aem.0)
                }
            };
            let advertisement = Advertisement {
                unix_seconds,
                rpi,
                aem,
            };
            cached = Some((key, interval, advertisement));
            advertisements.push(advertisement);
        }
        Ok(advertisements)
    }

    /// Stops broadcasting `key` (reported or about to be): it ends at the current interval
    /// and the next [`Phone::current_key`] call starts a fresh one.
    pub(crate) fn retire_key(
        &mut self,
        key: &TemporaryExposureKey,
        now: u64,
        state: UploadState,
    ) -> Result<(), PhoneError> {
        let interval = EnIntervalNumber::from_unix_seconds(now);
        let broadcast = interval
            .0
            .saturating_sub(key.rolling_start_interval_number.0)
            .clamp(1, key.rolling_period.max(1));
        self.db.execute(
            "UPDATE own_keys SET rolling_period = ?2, upload_state = ?3 WHERE key_data = ?1",
            params![key.key_data.as_slice(), broadcast, state.to_db()],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use exposure::keys::{AssociatedEncryptedMetadata, RollingProximityIdentifier};
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    const NOON: u64 = 1_605_873_600; // 2020-11-20T12:00:00Z

    #[test]
    fn one_key_per_utc_day_rolling_from_midnight() {
        let mut phone = Phone::open_in_memory().unwrap();
        let mut rng = StdRng::seed_from_u64(1);
        let morning = phone.current_key(NOON - 3 * 3600, &mut rng).unwrap();
        let noon = phone.current_key(NOON, &mut rng).unwrap();
        let tomorrow = phone.current_key(NOON + 86_400, &mut rng).unwrap();
        assert_eq!(morning, noon);
        assert_ne!(noon.key_data, tomorrow.key_data);
        assert_eq!(noon.rolling_start_interval_number.0 % 144, 0);
        assert_eq!(noon.rolling_period, 144);
        assert_eq!(
            tomorrow.rolling_start_interval_number.0,
            noon.rolling_start_interval_number.0 + 144
        );
    }

    #[test]
    fn advertisements_carry_the_keys_identifiers_and_readable_metadata() {
        let mut phone = Phone::open_in_memory().unwrap();
        let mut rng = StdRng::seed_from_u64(2);
        let ads = phone.broadcast(NOON, 30, &mut rng).unwrap();
        assert_eq!(ads.len(), 30);
        let key = phone.current_key(NOON, &mut rng).unwrap();
        let distinct: std::collections::BTreeSet<_> = ads.iter().map(|ad| ad.rpi).collect();
        assert_eq!(distinct.len(), 3, "a new identifier every 10 minutes");
        for ad in &ads {
            let interval = EnIntervalNumber::from_unix_seconds(ad.unix_seconds);
            let rpi = key
                .rolling_proximity_identifier_key()
                .rolling_proximity_identifier(interval);
            assert_eq!(rpi, RollingProximityIdentifier(ad.rpi));
            let metadata = key
                .associated_encrypted_metadata_key()
                .decrypt(&rpi, AssociatedEncryptedMetadata(ad.aem));
            assert_eq!(metadata.version(), 0x40);
            assert_eq!(metadata.tx_power(), Some(TX_POWER_DBM));
        }
        assert_eq!(
            ads[0].to_sighting_line(Some(-55)),
            format!(
                "{NOON},{},{},-55",
                hex::encode(ads[0].rpi),
                hex::encode(ads[0].aem)
            )
        );
    }

    #[test]
    fn a_reported_key_is_never_broadcast_again() {
        let mut phone = Phone::open_in_memory().unwrap();
        let mut rng = StdRng::seed_from_u64(3);
        let key = phone.current_key(NOON, &mut rng).unwrap();
        phone
            .retire_key(&key, NOON, UploadState::AwaitingNextDayUpload)
            .unwrap();
        let next = phone.current_key(NOON, &mut rng).unwrap();
        assert_ne!(next.key_data, key.key_data);
        let interval = EnIntervalNumber::from_unix_seconds(NOON);
        assert_eq!(next.rolling_start_interval_number, interval);
        assert_eq!(
            next.end_interval_number(),
            interval.day_start().offset(144),
            "the fresh key ends with the day"
        );
        let ads = phone.broadcast(NOON, 1, &mut rng).unwrap();
        let old_rpi = key
            .rolling_proximity_identifier_key()
            .rolling_proximity_identifier(interval);
        assert_ne!(ads[0].rpi, old_rpi.0);
    }
}
