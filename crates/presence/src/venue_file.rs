//! The venue file: a venue owner's own record of their venue and its rooms (JSON).
//!
//! It is the owner's backup (move to a new computer, print posters again) and what
//! `venue status`, `venue warn` and the `/venues` page read. It holds each room's QR code
//! URL, payload and location id, so whoever has it can read the reports about the venue;
//! the server never stores it. On loading, every room's location id is computed again
//! from its QR code and must equal the stored one.
//!
//! The `/venues` page may add the owner's paper register to the file it exports
//! (`paperRegister`: guests' names and phone numbers, encrypted in the browser with the
//! owner's passphrase, see `docs/venue-owners.md`). This crate never opens it; it only
//! keeps it, so that a file read and written again does not lose it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};

use crate::matching::OwnedVenue;
use crate::venue::Venue;
use crate::venue_code::{VenueCode, VenueCodeError, decode_qr_url};
use crate::venue_type::VenueType;

/// Version written in every venue file (`openstopcovidVenueFile`).
pub const VENUE_FILE_VERSION: u32 = 1;
/// The most rooms one venue file may hold (one QR code each).
pub const MAX_ROOMS: usize = 100;
/// Venue files larger than this are refused unread.
pub const MAX_VENUE_FILE_BYTES: usize = 1024 * 1024;

/// Why a venue could not be created or a venue file not read.
#[derive(Debug, thiserror::Error)]
pub enum VenueFileError {
    #[error("{0}")]
    Venue(#[from] VenueCodeError),
    #[error("an event needs both a start and an end")]
    HalfAnEvent,
    #[error("a venue has 1 to {MAX_ROOMS} rooms, not {0}")]
    RoomCount(usize),
    #[error("this is not a venue file: {0}")]
    NotAVenueFile(String),
    #[error("this venue file is of version {0}; this program reads version {VENUE_FILE_VERSION}")]
    Version(u32),
    #[error(
        "room {0:?}: the location id or payload does not belong to its QR code (the file was altered)"
    )]
    Altered(String),
    #[error("there is no room {index}; this venue has rooms 0 to {last}")]
    NoSuchRoom { index: usize, last: usize },
}

/// What an owner tells about a new venue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewVenue {
    pub name: String,
    pub address: String,
    pub venue_type: VenueType,
    pub default_stay_minutes: Option<u32>,
    /// Room names; empty for one code for the whole venue.
    pub rooms: Vec<String>,
    /// Start and end (unix seconds) of an event.
    pub start: Option<u64>,
    pub end: Option<u64>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct VenueFile {
    pub openstopcovid_venue_file: u32,
    pub name: String,
    pub address: String,
    /// CWA venue type, 0–12.
    #[serde(rename = "type")]
    pub venue_type: u8,
    pub type_name: String,
    pub default_check_in_length_in_minutes: Option<u32>,
    /// Unix seconds; 0 for a permanent place.
    pub start_timestamp: u64,
    pub end_timestamp: u64,
    pub rooms: Vec<Room>,
    /// The owner's paper register, sealed with their passphrase by the `/venues` page;
    /// opaque here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paper_register: Option<serde_json::Value>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Room {
    /// The room's own name ("" when the venue has one code for everything).
    pub name: String,
    /// What phones show: the venue's name, with the room's.
    pub description: String,
    /// The text of the QR code.
    pub url: String,
    /// The QR payload, base64url without padding (what follows `#` in the URL).
    pub payload: String,
    /// `SHA256("CWA-GUID" ‖ payload)`, hex.
    pub location_id: String,
    pub location_id_hash: String,
}

/// Reads a venue type from its name with dashes (`food-service`) or its number (1–12).
pub fn parse_venue_type(text: &str) -> Option<VenueType> {
    let wanted = text.trim().to_ascii_lowercase().replace(['_', ' '], "-");
    VenueType::ALL
        .iter()
        .copied()
        .filter(|t| *t != VenueType::Unspecified)
        .find(|t| t.name().replace(' ', "-") == wanted || t.wire_value().to_string() == wanted)
}

/// A file name stem from a venue's or room's name, as its owner would type it: letters
/// and digits kept, accents included, in lower case; every run of anything else one dash
/// (`Café des Arts – Terrasse` → `café-des-arts-terrasse`); `venue` when nothing is left.
pub fn file_name_stem(name: &str) -> String {
    let words: Vec<String> = name
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect();
    if words.is_empty() {
        "venue".to_owned()
    } else {
        words.join("-")
    }
}

impl Room {
    fn from_code(name: &str, code: &VenueCode) -> Self {
        Room {
            name: name.to_owned(),
            description: code.description.clone(),
            url: code.url.clone(),
            payload: URL_SAFE_NO_PAD.encode(&code.raw_payload),
            location_id: code.location_id.to_hex(),
            location_id_hash: code.location_id_hash().to_hex(),
        }
    }

    /// The room's code, decoded again from its URL and checked against the stored id.
    pub fn code(&self) -> Result<VenueCode, VenueFileError> {
        let code = decode_qr_url(&self.url)?;
        if code.location_id.to_hex() != self.location_id.to_ascii_lowercase()
            || URL_SAFE_NO_PAD.encode(&code.raw_payload) != self.payload
        {
            return Err(VenueFileError::Altered(self.name.clone()));
        }
        Ok(code)
    }
}

impl VenueFile {
    /// A new venue: one fresh QR code (a new random seed, so a new location id) per room.
    pub fn create<R: CryptoRng + ?Sized>(
        new: &NewVenue,
        prefix: &str,
        rng: &mut R,
    ) -> Result<Self, VenueFileError> {
        let mut venue = Venue::new(new.name.trim(), new.address.trim(), new.venue_type);
        if let Some(minutes) = new.default_stay_minutes {
            venue = venue.with_default_check_in_length_minutes(minutes);
        }
        match (new.start, new.end) {
            (Some(start), Some(end)) => venue = venue.with_time_window(start, end),
            (None, None) => {}
            _ => return Err(VenueFileError::HalfAnEvent),
        }
        if new.rooms.len() > MAX_ROOMS {
            return Err(VenueFileError::RoomCount(new.rooms.len()));
        }
        let names: Vec<String> = if new.rooms.is_empty() {
            vec![String::new()]
        } else {
            new.rooms
                .iter()
                .map(|room| room.trim().to_owned())
                .collect()
        };
        let mut rooms = Vec::with_capacity(names.len());
        for name in &names {
            let mut room_venue = venue.clone();
            if !name.is_empty() {
                room_venue.description = format!("{} – {name}", venue.description);
            }
            rooms.push(Room::from_code(
                name,
                &room_venue.create_qr_code(prefix, rng)?,
            ));
        }
        Ok(VenueFile {
            openstopcovid_venue_file: VENUE_FILE_VERSION,
            name: venue.description.clone(),
            address: venue.address.clone(),
            venue_type: new.venue_type.wire_value(),
            type_name: new.venue_type.name().to_owned(),
            default_check_in_length_in_minutes: new.default_stay_minutes,
            start_timestamp: new.start.unwrap_or(0),
            end_timestamp: new.end.unwrap_or(0),
            rooms,
            paper_register: None,
        })
    }

    /// Reads and checks a venue file's text.
    pub fn parse(text: &str) -> Result<Self, VenueFileError> {
        if text.len() > MAX_VENUE_FILE_BYTES {
            return Err(VenueFileError::NotAVenueFile(format!(
                "{} bytes is too long",
                text.len()
            )));
        }
        let file: VenueFile = serde_json::from_str(text)
            .map_err(|error| VenueFileError::NotAVenueFile(error.to_string()))?;
        if file.openstopcovid_venue_file != VENUE_FILE_VERSION {
            return Err(VenueFileError::Version(file.openstopcovid_venue_file));
        }
        if file.rooms.is_empty() || file.rooms.len() > MAX_ROOMS {
            return Err(VenueFileError::RoomCount(file.rooms.len()));
        }
        for room in &file.rooms {
            room.code()?;
        }
        Ok(file)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// Every room as an owned venue, for matching published reports.
    pub fn owned_venues(&self) -> Result<Vec<OwnedVenue>, VenueFileError> {
        self.rooms
            .iter()
            .map(|room| {
                Ok(OwnedVenue {
                    location_id: room.code()?.location_id,
                    description: room.description.clone(),
                })
            })
            .collect()
    }

    /// The name to save this file under: `café-des-arts.venue.json`.
    pub fn file_name(&self) -> String {
        format!("{}.venue.json", file_name_stem(&self.name))
    }

    /// The room at `index` (0-based).
    pub fn room(&self, index: usize) -> Result<&Room, VenueFileError> {
        self.rooms.get(index).ok_or(VenueFileError::NoSuchRoom {
            index,
            last: self.rooms.len().saturating_sub(1),
        })
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    fn cafe() -> VenueFile {
        VenueFile::create(
            &NewVenue {
                name: "Café des Arts".into(),
                address: "1 place du Marché, Lyon".into(),
                venue_type: VenueType::FoodService,
                default_stay_minutes: Some(60),
                rooms: vec!["Terrasse".into(), "Salle".into()],
                start: None,
                end: None,
            },
            crate::DEFAULT_QR_CODE_PREFIX,
            &mut StdRng::seed_from_u64(1),
        )
        .unwrap()
    }

    #[test]
    fn a_venue_file_reads_back_and_refuses_tampering() {
        let file = cafe();
        assert_eq!(file.rooms.len(), 2);
        assert_eq!(file.rooms[0].description, "Café des Arts – Terrasse");
        assert_ne!(file.rooms[0].location_id, file.rooms[1].location_id);
        assert_eq!(VenueFile::parse(&file.to_json()).unwrap(), file);
        let mut altered = file.clone();
        altered.rooms[0].location_id = file.rooms[1].location_id.clone();
        assert!(matches!(
            VenueFile::parse(&altered.to_json()),
            Err(VenueFileError::Altered(_))
        ));
        assert!(matches!(
            VenueFile::parse("{\"hello\": 1}"),
            Err(VenueFileError::NotAVenueFile(_))
        ));
    }

    #[test]
    fn bad_venues_are_refused_with_the_reason() {
        let mut new = NewVenue {
            name: "Concert".into(),
            address: "Parc".into(),
            venue_type: VenueType::CulturalEvent,
            default_stay_minutes: None,
            rooms: vec![],
            start: Some(200),
            end: Some(100),
        };
        let mut rng = StdRng::seed_from_u64(2);
        let prefix = crate::DEFAULT_QR_CODE_PREFIX;
        assert!(
            VenueFile::create(&new, prefix, &mut rng)
                .unwrap_err()
                .to_string()
                .contains("200")
        );
        new.end = None;
        assert!(matches!(
            VenueFile::create(&new, prefix, &mut rng),
            Err(VenueFileError::HalfAnEvent)
        ));
        new.name = "x".repeat(101);
        new.end = Some(300);
        assert!(VenueFile::create(&new, prefix, &mut rng).is_err());
        assert_eq!(
            parse_venue_type("food-service"),
            Some(VenueType::FoodService)
        );
        assert_eq!(parse_venue_type("9"), Some(VenueType::CulturalEvent));
        assert_eq!(parse_venue_type("casino"), None);
    }

    #[test]
    fn file_names_keep_accents_and_drop_punctuation() {
        assert_eq!(cafe().file_name(), "café-des-arts.venue.json");
        assert_eq!(
            file_name_stem("Café des Arts – Terrasse"),
            "café-des-arts-terrasse"
        );
        assert_eq!(file_name_stem("ÉCOLE Jules-Ferry"), "école-jules-ferry");
        assert_eq!(file_name_stem("../../etc/passwd"), "etc-passwd");
        assert_eq!(file_name_stem(" – "), "venue");
    }

    #[test]
    fn a_paper_register_in_the_file_is_kept_unread() {
        let mut file = cafe();
        let sealed =
            serde_json::json!({"format": "openstopcovid-paper-register", "ciphertext": "AAAA"});
        file.paper_register = Some(sealed.clone());
        let read = VenueFile::parse(&file.to_json()).unwrap();
        assert_eq!(read.paper_register, Some(sealed));
        assert!(!cafe().to_json().contains("paperRegister"));
    }
}
