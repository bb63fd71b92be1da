//! Location ids: the secret that only people who scanned a venue's QR code know, and its
//! public hash under which reports about the venue are published.

use std::fmt;

use sha2::{Digest, Sha256};

/// Domain-separation prefix of the location id (CWA).
const LOCATION_ID_PREFIX: &[u8] = b"CWA-GUID";

/// `SHA256("CWA-GUID" ‖ raw QR payload bytes)`.
///
/// It keys the encryption of check-in reports, so it must stay on the phones (and with the
/// venue owner). It is computed over the payload bytes exactly as decoded from the QR
/// code: re-encoding a parsed payload could order or omit fields differently and give
/// another id, so the decoders keep the raw bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LocationId(pub [u8; 32]);

/// `SHA256(location id)`: published with every report about the venue.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LocationIdHash(pub [u8; 32]);

impl LocationId {
    /// The location id of a QR payload (the base64url-decoded bytes after `#`).
    pub fn from_qr_payload(raw_payload: &[u8]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(LOCATION_ID_PREFIX);
        hasher.update(raw_payload);
        LocationId(hasher.finalize().into())
    }

    /// The published form of this id.
    pub fn hash(&self) -> LocationIdHash {
        LocationIdHash(Sha256::digest(self.0).into())
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, as shown by `openstopcovid venue decode`.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl LocationIdHash {
    /// Reads a hash from the 32 bytes of a report; `None` for any other length.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(LocationIdHash)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

// Debug shows hex rather than a byte list, so that logs and test failures are readable.
impl fmt::Debug for LocationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LocationId({})", self.to_hex())
    }
}

impl fmt::Debug for LocationIdHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LocationIdHash({})", self.to_hex())
    }
}

impl fmt::Display for LocationIdHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}
