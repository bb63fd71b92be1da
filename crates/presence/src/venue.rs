//! Creating venue QR codes: a [`Venue`] as its owner describes it becomes a QR URL with
//! our prefix, in the CWA payload format.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use prost::Message as _;
use rand_core::CryptoRng;

use crate::messages::{CWALocationData, CrowdNotifierData, QRCodePayload, TraceLocation};
use crate::venue_code::{
    AddressRule, CWA_SEED_LENGTH, MAX_DEFAULT_CHECK_IN_LENGTH_MINUTES, QR_PAYLOAD_VERSION,
    VenueCode, VenueCodeError, check_address, check_description, decode_qr_url_with_prefix,
    host_and_version,
};
use crate::venue_type::VenueType;

/// The CrowdNotifier public key that the CWA apps and CWA-compatible generators put in
/// every event code (`environmentSetup.crowdNotifierPublicKey` in cwa-app-android,
/// production). CWA never used CrowdNotifier's encryption, so the field only has to be
/// present and well-formed; CWA fills it with one fixed key for all venues rather than
/// random bytes, and so do we by default, keeping our payloads shaped exactly like CWA's.
pub const CWA_CROWD_NOTIFIER_PUBLIC_KEY: [u8; 96] = [
    0x83, 0x02, 0xcc, 0xcc, 0x4d, 0x79, 0xde, 0xd4, 0x30, 0x00, 0xe7, 0xf6, //
    0x31, 0x9a, 0x14, 0x5d, 0x77, 0xf3, 0x59, 0x37, 0x65, 0x4a, 0x97, 0xd2, //
    0xf7, 0xd8, 0x99, 0x7d, 0xf9, 0x9c, 0x9b, 0x13, 0x86, 0xf6, 0x78, 0xd2, //
    0x2b, 0x84, 0x53, 0x8a, 0x61, 0x4e, 0x17, 0x00, 0xe1, 0xea, 0xdd, 0x13, //
    0xcb, 0x0f, 0x17, 0x47, 0x4d, 0x6e, 0x80, 0x36, 0x23, 0xb6, 0xe2, 0xb0, //
    0x8e, 0x3b, 0x8a, 0xe3, 0xd3, 0xa1, 0xf3, 0x71, 0x56, 0x72, 0xde, 0x97, //
    0xa5, 0xe7, 0xcf, 0x8b, 0xd4, 0xa4, 0x8f, 0x1b, 0xef, 0xcf, 0x9d, 0xe2, //
    0xf6, 0x06, 0x8c, 0x99, 0x41, 0x1c, 0xf7, 0xaa, 0x5b, 0xb6, 0x86, 0x80, //
];

/// The longest CrowdNotifier public key a venue may carry (a BLS12-381 G2 point is 96
/// bytes; the bound only keeps codes scannable).
pub const MAX_CROWD_NOTIFIER_PUBLIC_KEY_LENGTH: usize = 256;

/// A venue as its owner describes it, before it becomes a QR code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Venue {
    /// The venue's name, shown to visitors (one line, at most 100 characters).
    pub description: String,
    /// One line, at most 100 characters.
    pub address: String,
    pub venue_type: VenueType,
    /// Start and end (unix seconds) of an event; `None` for a permanent place.
    pub time_window: Option<(u64, u64)>,
    /// How long a visit usually lasts; phones use it for the automatic check-out.
    pub default_check_in_length_minutes: Option<u32>,
    pub crowd_notifier_public_key: Vec<u8>,
}

impl Venue {
    pub fn new(
        description: impl Into<String>,
        address: impl Into<String>,
        venue_type: VenueType,
    ) -> Self {
        Venue {
            description: description.into(),
            address: address.into(),
            venue_type,
            time_window: None,
            default_check_in_length_minutes: None,
            crowd_notifier_public_key: CWA_CROWD_NOTIFIER_PUBLIC_KEY.to_vec(),
        }
    }

    /// Makes this an event from `start` to `end` (unix seconds).
    pub fn with_time_window(mut self, start: u64, end: u64) -> Self {
        self.time_window = Some((start, end));
        self
    }

    pub fn with_default_check_in_length_minutes(mut self, minutes: u32) -> Self {
        self.default_check_in_length_minutes = Some(minutes);
        self
    }

    pub fn with_crowd_notifier_public_key(mut self, key: Vec<u8>) -> Self {
        self.crowd_notifier_public_key = key;
        self
    }

    /// Checks everything a QR code needs, with the same rules phones apply when scanning,
    /// plus: events need a window that ends after it starts; places have none.
    pub fn validate(&self) -> Result<(), VenueCodeError> {
        check_description(&self.description)?;
        check_address(&self.address, AddressRule::Required)?;
        match (self.venue_type.is_temporary(), self.time_window) {
            (true, None) => {
                return Err(VenueCodeError::MissingTimeWindow {
                    venue_type: self.venue_type,
                });
            }
            (false, Some(_)) => {
                return Err(VenueCodeError::UnexpectedTimeWindow {
                    venue_type: self.venue_type,
                });
            }
            (true, Some((start, end))) if start >= end => {
                return Err(VenueCodeError::StartNotBeforeEnd { start, end });
            }
            _ => {}
        }
        match self.default_check_in_length_minutes {
            Some(0) => return Err(VenueCodeError::ZeroCheckInLength),
            Some(minutes) if minutes > MAX_DEFAULT_CHECK_IN_LENGTH_MINUTES => {
                return Err(VenueCodeError::CheckInLengthTooLong {
                    minutes,
                    max: MAX_DEFAULT_CHECK_IN_LENGTH_MINUTES,
                });
            }
            _ => {}
        }
        if self.crowd_notifier_public_key.len() > MAX_CROWD_NOTIFIER_PUBLIC_KEY_LENGTH {
            return Err(VenueCodeError::PublicKeyTooLong {
                found: self.crowd_notifier_public_key.len(),
                max: MAX_CROWD_NOTIFIER_PUBLIC_KEY_LENGTH,
            });
        }
        Ok(())
    }

    /// Serialized `QRCodePayload` with a fresh random 16-byte seed: every call gives a
    /// new venue (a new location id), even for identical descriptions.
    pub fn payload<R: CryptoRng + ?Sized>(&self, rng: &mut R) -> Result<Vec<u8>, VenueCodeError> {
        self.validate()?;
        let mut seed = vec![0u8; CWA_SEED_LENGTH];
        rng.fill_bytes(&mut seed);
        let (start_timestamp, end_timestamp) = self.time_window.unwrap_or((0, 0));
        let vendor_data = CWALocationData {
            version: QR_PAYLOAD_VERSION,
            r#type: i32::from(self.venue_type.wire_value()),
            default_check_in_length_in_minutes: self.default_check_in_length_minutes.unwrap_or(0),
        };
        let payload = QRCodePayload {
            version: QR_PAYLOAD_VERSION,
            location_data: Some(TraceLocation {
                version: QR_PAYLOAD_VERSION,
                description: self.description.clone(),
                address: self.address.clone(),
                start_timestamp,
                end_timestamp,
            }),
            crowd_notifier_data: Some(CrowdNotifierData {
                version: QR_PAYLOAD_VERSION,
                public_key: self.crowd_notifier_public_key.clone(),
                cryptographic_seed: seed,
                r#type: 0,
            }),
            vendor_data: vendor_data.encode_to_vec(),
        };
        Ok(payload.encode_to_vec())
    }

    /// Creates the venue's QR code under `prefix` (e.g. [`crate::DEFAULT_QR_CODE_PREFIX`]).
    /// The result is what a phone decodes from the printed code, location id included.
    pub fn create_qr_code<R: CryptoRng + ?Sized>(
        &self,
        prefix: &str,
        rng: &mut R,
    ) -> Result<VenueCode, VenueCodeError> {
        check_prefix(prefix)?;
        let payload = self.payload(rng)?;
        let url = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(&payload));
        // Decoding what we just wrote guarantees that phones read the code back exactly.
        decode_qr_url_with_prefix(&url, prefix)
    }
}

fn check_prefix(prefix: &str) -> Result<(), VenueCodeError> {
    let bad = || VenueCodeError::BadPrefix {
        prefix: prefix.to_owned(),
    };
    let base = prefix.strip_suffix('#').ok_or_else(bad)?;
    if base.contains('#')
        || base.chars().any(char::is_whitespace)
        || host_and_version(base).is_none()
    {
        return Err(bad());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;
    use crate::venue_code::{CodeFormat, DEFAULT_QR_CODE_PREFIX};

    #[test]
    fn a_place_round_trips_through_its_qr_code() {
        let mut rng = StdRng::seed_from_u64(7);
        let venue = Venue::new(
            "Bäckerei Müller",
            "Hauptstraße 1, Berlin",
            VenueType::Retail,
        )
        .with_default_check_in_length_minutes(15);
        let code = venue
            .create_qr_code(DEFAULT_QR_CODE_PREFIX, &mut rng)
            .unwrap();
        assert!(code.url.starts_with(DEFAULT_QR_CODE_PREFIX));
        assert_eq!(code.format, CodeFormat::OpenStopCovid);
        assert_eq!(code.description, "Bäckerei Müller");
        assert_eq!(code.address, "Hauptstraße 1, Berlin");
        assert!(code.is_permanent());
        assert_eq!(code.venue_type, Some(VenueType::Retail));
        assert_eq!(code.default_check_in_length_minutes, Some(15));
        assert_eq!(
            code.crowd_notifier_public_key,
            CWA_CROWD_NOTIFIER_PUBLIC_KEY
        );
        assert_eq!(code.cryptographic_seed.len(), CWA_SEED_LENGTH);
    }

    #[test]
    fn two_codes_for_the_same_venue_are_different_venues() {
        let mut rng = StdRng::seed_from_u64(8);
        let venue = Venue::new("Club", "Street 2", VenueType::Workplace);
        let first = venue
            .create_qr_code(DEFAULT_QR_CODE_PREFIX, &mut rng)
            .unwrap();
        let second = venue
            .create_qr_code(DEFAULT_QR_CODE_PREFIX, &mut rng)
            .unwrap();
        assert_ne!(first.location_id, second.location_id);
    }

    #[test]
    fn events_need_a_window_and_places_must_not_have_one() {
        let event = Venue::new("Concert", "Park", VenueType::CulturalEvent);
        assert!(matches!(
            event.validate(),
            Err(VenueCodeError::MissingTimeWindow { .. })
        ));
        assert!(matches!(
            event.clone().with_time_window(100, 100).validate(),
            Err(VenueCodeError::StartNotBeforeEnd { .. })
        ));
        assert!(event.with_time_window(100, 200).validate().is_ok());
        let place = Venue::new("Shop", "Street", VenueType::Retail).with_time_window(1, 2);
        assert!(matches!(
            place.validate(),
            Err(VenueCodeError::UnexpectedTimeWindow { .. })
        ));
    }

    #[test]
    fn bad_check_in_lengths_and_prefixes_are_refused() {
        let venue = Venue::new("Shop", "Street", VenueType::Retail);
        assert_eq!(
            venue
                .clone()
                .with_default_check_in_length_minutes(0)
                .validate(),
            Err(VenueCodeError::ZeroCheckInLength)
        );
        assert!(matches!(
            venue
                .clone()
                .with_default_check_in_length_minutes(24 * 60 + 1)
                .validate(),
            Err(VenueCodeError::CheckInLengthTooLong { .. })
        ));
        let mut rng = StdRng::seed_from_u64(9);
        for prefix in [
            "https://qr.example.org?v=1",
            "qr.example.org?v=1#",
            "https://x#?v=1#",
        ] {
            assert!(
                matches!(
                    venue.create_qr_code(prefix, &mut rng),
                    Err(VenueCodeError::BadPrefix { .. })
                ),
                "{prefix}"
            );
        }
        let code = venue
            .create_qr_code("https://venues.example.org/c?v=1#", &mut rng)
            .unwrap();
        assert_eq!(code.format, CodeFormat::OpenStopCovid);
    }
}
