//! Protected check-in reports: a [`CheckInRecord`] encrypted and authenticated with keys
//! derived from the venue's location id, so that only those who scanned the venue's QR
//! code can read when an infected person was there.
//!
//! - encryption key `SHA256("CWA-ENCRYPTION-KEY" ‖ locationId)`, AES-256-CBC, PKCS#7,
//!   a random 16-byte IV per report;
//! - MAC key `SHA256("CWA-MAC-KEY" ‖ locationId)`, HMAC-SHA256 over `iv ‖ ciphertext`,
//!   checked in constant time before anything is decrypted.

use aes::Aes256;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use hmac::{Hmac, KeyInit, Mac};
use prost::Message as _;
use rand_core::CryptoRng;
use sha2::{Digest, Sha256};

use crate::location_id::{LocationId, LocationIdHash};
use crate::messages::{CheckInProtectedReport, CheckInRecord};

type Aes256CbcEncryptor = cbc::Encryptor<Aes256>;
type Aes256CbcDecryptor = cbc::Decryptor<Aes256>;
type HmacSha256 = Hmac<Sha256>;

pub const IV_LENGTH: usize = 16;
pub const MAC_LENGTH: usize = 32;
pub const LOCATION_ID_HASH_LENGTH: usize = 32;
/// Ciphertext length of every record a phone uploads: a record split per day serializes
/// to at most 11 bytes (interval number ≤ 5-byte varint, period ≤ 144, level ≤ 8, with
/// tags), which PKCS#7 pads to one block. Fake reports use the same length.
pub const ENCRYPTED_RECORD_LENGTH: usize = 16;
/// The longest ciphertext we decrypt; longer ones are refused unread.
pub const MAX_ENCRYPTED_RECORD_LENGTH: usize = 64;

/// Why a report cannot be read with a given location id.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("the report's IV is {found} bytes long instead of {IV_LENGTH}")]
    BadIvLength { found: usize },
    #[error("the report's MAC is {found} bytes long instead of {MAC_LENGTH}")]
    BadMacLength { found: usize },
    #[error(
        "the report's encrypted record is {found} bytes long; expected a multiple of 16 up to {MAX_ENCRYPTED_RECORD_LENGTH}"
    )]
    BadCiphertextLength { found: usize },
    /// Tampered, or made for another venue.
    #[error("the report's MAC does not match: it was altered or is not about this venue")]
    MacMismatch,
    #[error("the report decrypts to malformed padding")]
    BadPadding,
    #[error("the report decrypts to something that is not a check-in record")]
    BadRecord,
}

fn derived_key(label: &[u8], location_id: &LocationId) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(label);
    hasher.update(location_id.as_bytes());
    hasher.finalize().into()
}

fn encryption_key(location_id: &LocationId) -> [u8; 32] {
    derived_key(b"CWA-ENCRYPTION-KEY", location_id)
}

fn mac_key(location_id: &LocationId) -> [u8; 32] {
    derived_key(b"CWA-MAC-KEY", location_id)
}

fn mac_over(location_id: &LocationId, iv: &[u8], ciphertext: &[u8]) -> HmacSha256 {
    // HMAC pads a key shorter than the hash's 64-byte block with zeros (RFC 2104), so
    // passing the padded block is the same MAC, with no fallible length check on the way.
    let mut key_block = [0u8; 64];
    key_block[..32].copy_from_slice(&mac_key(location_id));
    let mut mac = <HmacSha256 as KeyInit>::new(&key_block.into());
    mac.update(iv);
    mac.update(ciphertext);
    mac
}

/// Encrypts `record` for the venue `location_id` with a fresh random IV.
pub fn encrypt_check_in_record<R: CryptoRng + ?Sized>(
    location_id: &LocationId,
    record: &CheckInRecord,
    rng: &mut R,
) -> CheckInProtectedReport {
    let mut iv = [0u8; IV_LENGTH];
    rng.fill_bytes(&mut iv);
    encrypt_check_in_record_with_iv(location_id, record, iv)
}

/// Encrypts with a given IV: deterministic, for test vectors. Never reuse an IV.
pub fn encrypt_check_in_record_with_iv(
    location_id: &LocationId,
    record: &CheckInRecord,
    iv: [u8; IV_LENGTH],
) -> CheckInProtectedReport {
    let ciphertext = Aes256CbcEncryptor::new(&encryption_key(location_id).into(), &iv.into())
        .encrypt_padded_vec::<Pkcs7>(&record.encode_to_vec());
    let mac = mac_over(location_id, &iv, &ciphertext)
        .finalize()
        .into_bytes();
    CheckInProtectedReport {
        location_id_hash: location_id.hash().0.to_vec(),
        iv: iv.to_vec(),
        encrypted_check_in_record: ciphertext,
        mac: mac.to_vec(),
    }
}

/// A report indistinguishable by size and shape from a real one (random hash, IV,
/// ciphertext and MAC): it matches no venue and decrypts for nobody.
pub fn fake_report<R: CryptoRng + ?Sized>(rng: &mut R) -> CheckInProtectedReport {
    let mut random = |length: usize| {
        let mut bytes = vec![0u8; length];
        rng.fill_bytes(&mut bytes);
        bytes
    };
    CheckInProtectedReport {
        location_id_hash: random(LOCATION_ID_HASH_LENGTH),
        iv: random(IV_LENGTH),
        encrypted_check_in_record: random(ENCRYPTED_RECORD_LENGTH),
        mac: random(MAC_LENGTH),
    }
}

impl CheckInProtectedReport {
    /// The venue this report is about, if the field has the right length.
    pub fn location_id_hash(&self) -> Option<LocationIdHash> {
        LocationIdHash::from_slice(&self.location_id_hash)
    }

    /// Checks the MAC with the venue's location id (constant time), then decrypts.
    pub fn decrypt(&self, location_id: &LocationId) -> Result<CheckInRecord, ReportError> {
        let iv: [u8; IV_LENGTH] =
            self.iv
                .as_slice()
                .try_into()
                .map_err(|_| ReportError::BadIvLength {
                    found: self.iv.len(),
                })?;
        if self.mac.len() != MAC_LENGTH {
            return Err(ReportError::BadMacLength {
                found: self.mac.len(),
            });
        }
        let ciphertext = &self.encrypted_check_in_record;
        if ciphertext.is_empty()
            || !ciphertext.len().is_multiple_of(16)
            || ciphertext.len() > MAX_ENCRYPTED_RECORD_LENGTH
        {
            return Err(ReportError::BadCiphertextLength {
                found: ciphertext.len(),
            });
        }
        mac_over(location_id, &iv, ciphertext)
            .verify_slice(&self.mac)
            .map_err(|_| ReportError::MacMismatch)?;
        let plaintext = Aes256CbcDecryptor::new(&encryption_key(location_id).into(), &iv.into())
            .decrypt_padded_vec::<Pkcs7>(ciphertext)
            .map_err(|_| ReportError::BadPadding)?;
        CheckInRecord::decode(plaintext.as_slice()).map_err(|_| ReportError::BadRecord)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    fn record() -> CheckInRecord {
        CheckInRecord {
            start_interval_number: 2_710_445,
            period: 28,
            transmission_risk_level: 7,
        }
    }

    #[test]
    fn another_venue_cannot_read_a_report() {
        let mut rng = StdRng::seed_from_u64(1);
        let venue = LocationId([1; 32]);
        let other = LocationId([2; 32]);
        let report = encrypt_check_in_record(&venue, &record(), &mut rng);
        assert_eq!(report.decrypt(&venue), Ok(record()));
        assert_eq!(report.decrypt(&other), Err(ReportError::MacMismatch));
        assert_eq!(report.location_id_hash(), Some(venue.hash()));
    }

    #[test]
    fn fake_reports_have_the_size_of_real_ones() {
        let mut rng = StdRng::seed_from_u64(2);
        let largest = CheckInRecord {
            start_interval_number: u32::MAX,
            period: 144,
            transmission_risk_level: 8,
        };
        let real = encrypt_check_in_record(&LocationId([3; 32]), &largest, &mut rng);
        let fake = fake_report(&mut rng);
        assert_eq!(real.encoded_len(), fake.encoded_len());
        assert_eq!(
            real.encrypted_check_in_record.len(),
            ENCRYPTED_RECORD_LENGTH
        );
        assert!(matches!(
            fake.decrypt(&LocationId([3; 32])),
            Err(ReportError::MacMismatch)
        ));
    }

    #[test]
    fn malformed_reports_are_refused_before_any_decryption() {
        let mut rng = StdRng::seed_from_u64(3);
        let venue = LocationId([4; 32]);
        let good = encrypt_check_in_record(&venue, &record(), &mut rng);
        let mut short_iv = good.clone();
        short_iv.iv.pop();
        assert_eq!(
            short_iv.decrypt(&venue),
            Err(ReportError::BadIvLength { found: 15 })
        );
        let mut odd = good.clone();
        odd.encrypted_check_in_record.push(0);
        assert_eq!(
            odd.decrypt(&venue),
            Err(ReportError::BadCiphertextLength { found: 17 })
        );
        let mut short_mac = good;
        short_mac.mac.truncate(16);
        assert_eq!(
            short_mac.decrypt(&venue),
            Err(ReportError::BadMacLength { found: 16 })
        );
    }
}
