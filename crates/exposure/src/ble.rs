//! The Bluetooth LE advertisement of exposure notification.
//!
//! A phone advertises the 16-bit service UUID [`SERVICE_UUID`] (0xFD6F) and, as service
//! data for it, the current RPI (16 bytes) followed by its AEM (4 bytes). A legacy
//! advertisement holding it is exactly 31 bytes of AD structures:
//!
//! | AD structure | bytes |
//! |---|---|
//! | flags (type 0x01) | `02 01 1a` |
//! | complete list of 16-bit service UUIDs (0x03) | `03 03 6f fd` |
//! | service data, 16-bit UUID (0x16) | `17 16 6f fd` RPI ‖ AEM |
//!
//! [`decode_advertisement`] reads any AD sequence a scanner hands over (up to
//! [`MAX_ADVERTISEMENT_LENGTH`] bytes, structures in any order, others ignored); it is a
//! fuzz target and never panics.

use crate::keys::{AssociatedEncryptedMetadata, KEY_LENGTH, RollingProximityIdentifier};

/// The exposure-notification service UUID (16-bit, Bluetooth SIG assigned).
pub const SERVICE_UUID: u16 = 0xFD6F;

/// Length of the service data: RPI (16) ‖ AEM (4).
pub const SERVICE_DATA_LENGTH: usize = KEY_LENGTH + 4;

/// The longest advertisement accepted: the Bluetooth 5 extended advertising data limit.
pub const MAX_ADVERTISEMENT_LENGTH: usize = 1650;

/// Length of [`ExposureAdvertisement::to_advertisement`]: a full legacy advertisement.
pub const ADVERTISEMENT_LENGTH: usize = 31;

/// AD type: flags.
pub const AD_TYPE_FLAGS: u8 = 0x01;
/// AD type: incomplete list of 16-bit service UUIDs.
pub const AD_TYPE_INCOMPLETE_16_BIT_UUIDS: u8 = 0x02;
/// AD type: complete list of 16-bit service UUIDs.
pub const AD_TYPE_COMPLETE_16_BIT_UUIDS: u8 = 0x03;
/// AD type: service data with a 16-bit UUID.
pub const AD_TYPE_SERVICE_DATA_16_BIT: u8 = 0x16;

/// Flags the reference apps advertise: LE general discoverable, BR/EDR not supported,
/// simultaneous LE and BR/EDR (controller and host).
pub const ADVERTISED_FLAGS: u8 = 0x1a;

/// What is wrong with an advertisement or service data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BleError {
    #[error("exposure-notification service data must be {SERVICE_DATA_LENGTH} bytes, got {found}")]
    WrongServiceDataLength { found: usize },
    #[error("advertisement of {found} bytes is longer than {MAX_ADVERTISEMENT_LENGTH}")]
    TooLong { found: usize },
    #[error("AD structure at byte {offset} runs past the end of the advertisement")]
    Truncated { offset: usize },
    #[error("16-bit service UUID list at byte {offset} has an odd length")]
    OddUuidList { offset: usize },
    #[error("no exposure-notification service data (UUID 0xFD6F)")]
    MissingServiceData,
    #[error("the advertisement does not list service UUID 0xFD6F")]
    MissingServiceUuid,
    #[error("exposure-notification service data appears more than once")]
    DuplicateServiceData,
}

/// One exposure-notification broadcast: the identifier and its encrypted metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExposureAdvertisement {
    pub rpi: RollingProximityIdentifier,
    pub aem: AssociatedEncryptedMetadata,
}

impl ExposureAdvertisement {
    /// The service data: RPI ‖ AEM.
    pub fn to_service_data(&self) -> [u8; SERVICE_DATA_LENGTH] {
        let mut data = [0u8; SERVICE_DATA_LENGTH];
        data[..KEY_LENGTH].copy_from_slice(&self.rpi.0);
        data[KEY_LENGTH..].copy_from_slice(&self.aem.0);
        data
    }

    /// Parses the service data of UUID 0xFD6F (exactly 20 bytes).
    pub fn from_service_data(data: &[u8]) -> Result<Self, BleError> {
        let data: &[u8; SERVICE_DATA_LENGTH] = data
            .try_into()
            .map_err(|_| BleError::WrongServiceDataLength { found: data.len() })?;
        let (rpi, aem) = data.split_at(KEY_LENGTH);
        // Both conversions follow from the array length; the error arm is never taken.
        let wrong = |_| BleError::WrongServiceDataLength {
            found: SERVICE_DATA_LENGTH,
        };
        Ok(Self {
            rpi: RollingProximityIdentifier::from_slice(rpi).map_err(wrong)?,
            aem: AssociatedEncryptedMetadata::from_slice(aem).map_err(wrong)?,
        })
    }

    /// The whole legacy advertisement: flags, UUID list, service data (31 bytes).
    pub fn to_advertisement(&self) -> [u8; ADVERTISEMENT_LENGTH] {
        let mut out = [0u8; ADVERTISEMENT_LENGTH];
        let uuid = SERVICE_UUID.to_le_bytes();
        let header = [
            2,
            AD_TYPE_FLAGS,
            ADVERTISED_FLAGS,
            3,
            AD_TYPE_COMPLETE_16_BIT_UUIDS,
            uuid[0],
            uuid[1],
            (SERVICE_DATA_LENGTH + 3) as u8,
            AD_TYPE_SERVICE_DATA_16_BIT,
            uuid[0],
            uuid[1],
        ];
        out[..header.len()].copy_from_slice(&header);
        out[header.len()..].copy_from_slice(&self.to_service_data());
        out
    }
}

/// Decodes the AD structures of an advertisement and returns its exposure-notification
/// payload.
///
/// Requires service data for 0xFD6F (exactly once) and 0xFD6F in a 16-bit service UUID
/// list; ignores flags and every other structure. A zero length byte ends the
/// significant part (the rest is padding, as in the Bluetooth Core specification).
pub fn decode_advertisement(bytes: &[u8]) -> Result<ExposureAdvertisement, BleError> {
    if bytes.len() > MAX_ADVERTISEMENT_LENGTH {
        return Err(BleError::TooLong { found: bytes.len() });
    }
    let mut payload = None;
    let mut uuid_listed = false;
    let mut offset = 0;
    let mut rest = bytes;
    while let Some((&length, after_length)) = rest.split_first() {
        if length == 0 {
            break;
        }
        let length = usize::from(length);
        let structure = after_length
            .get(..length)
            .ok_or(BleError::Truncated { offset })?;
        let (&ad_type, data) = structure
            .split_first()
            .ok_or(BleError::Truncated { offset })?;
        match ad_type {
            AD_TYPE_COMPLETE_16_BIT_UUIDS | AD_TYPE_INCOMPLETE_16_BIT_UUIDS => {
                let (uuids, odd) = data.as_chunks::<2>();
                if !odd.is_empty() {
                    return Err(BleError::OddUuidList { offset });
                }
                uuid_listed |= uuids
                    .iter()
                    .any(|uuid| u16::from_le_bytes(*uuid) == SERVICE_UUID);
            }
            AD_TYPE_SERVICE_DATA_16_BIT => {
                if let Some((uuid, service_data)) = data.split_first_chunk::<2>()
                    && u16::from_le_bytes(*uuid) == SERVICE_UUID
                {
                    if payload.is_some() {
                        return Err(BleError::DuplicateServiceData);
                    }
                    payload = Some(ExposureAdvertisement::from_service_data(service_data)?);
                }
            }
            _ => {}
        }
        offset += 1 + length;
        rest = after_length.get(length..).unwrap_or_default();
    }
    let payload = payload.ok_or(BleError::MissingServiceData)?;
    if !uuid_listed {
        return Err(BleError::MissingServiceUuid);
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ExposureAdvertisement {
        ExposureAdvertisement {
            rpi: RollingProximityIdentifier(core::array::from_fn(|i| i as u8)),
            aem: AssociatedEncryptedMetadata([0xde, 0xad, 0xbe, 0xef]),
        }
    }

    #[test]
    fn advertisement_is_the_31_bytes_phones_send() {
        let bytes = sample().to_advertisement();
        assert_eq!(
            &bytes[..11],
            &[2, 1, 0x1a, 3, 3, 0x6f, 0xfd, 23, 0x16, 0x6f, 0xfd]
        );
        assert_eq!(&bytes[11..27], &sample().rpi.0);
        assert_eq!(&bytes[27..], &sample().aem.0);
        assert_eq!(decode_advertisement(&bytes), Ok(sample()));
    }

    #[test]
    fn other_structures_order_and_trailing_padding_are_accepted() {
        let service = sample().to_advertisement();
        let mut bytes = vec![3, 0x09, b'h', b'i']; // a local name
        bytes.extend_from_slice(&service[7..]); // service data first
        bytes.extend_from_slice(&[5, 0x03, 0x0f, 0x18, 0x6f, 0xfd]); // UUIDs 0x180F, 0xFD6F
        bytes.extend_from_slice(&[0, 0, 0]);
        assert_eq!(decode_advertisement(&bytes), Ok(sample()));
    }

    #[test]
    fn broken_advertisements_name_their_fault() {
        let good = sample().to_advertisement();
        assert_eq!(
            decode_advertisement(&good[..30]),
            Err(BleError::Truncated { offset: 7 })
        );
        assert_eq!(
            decode_advertisement(&good[..7]),
            Err(BleError::MissingServiceData)
        );
        assert_eq!(
            decode_advertisement(&good[7..]),
            Err(BleError::MissingServiceUuid)
        );
        let mut twice = good.to_vec();
        twice.extend_from_slice(&good[7..]);
        assert_eq!(
            decode_advertisement(&twice),
            Err(BleError::DuplicateServiceData)
        );
        let mut short = good[..30].to_vec();
        short[7] = 22;
        assert_eq!(
            decode_advertisement(&short),
            Err(BleError::WrongServiceDataLength { found: 19 })
        );
        assert_eq!(
            decode_advertisement(&[4, 3, 0x6f, 0xfd, 0x00]),
            Err(BleError::OddUuidList { offset: 0 })
        );
        assert_eq!(
            decode_advertisement(&[0; MAX_ADVERTISEMENT_LENGTH + 1]),
            Err(BleError::TooLong {
                found: MAX_ADVERTISEMENT_LENGTH + 1
            })
        );
        assert_eq!(
            ExposureAdvertisement::from_service_data(&[0; 21]),
            Err(BleError::WrongServiceDataLength { found: 21 })
        );
    }
}
