//! Venue presence tracing (CWA event-registration format), sans I/O.
//!
//! Venues print a QR code; visitors' phones check in and out. Someone who tests positive
//! uploads their visits as protected reports that only people who scanned the same code
//! can read; other visitors' phones, and the venue's owner, match them locally.
//!
//! This crate is pure: it never reads the clock, the network or the disk. Times come in
//! as unix seconds, randomness as a [`rand_core::CryptoRng`], bytes as slices. Parsers
//! never panic on hostile input and are bounded by the `MAX_*` constants.
//!
//! # Layout
//!
//! - [`messages`]: the protobuf messages (QR payloads of CWA and CrowdNotifier, check-in
//!   records, protected reports, warning packages), hand-written `prost` structs.
//! - [`venue_type`]: the CWA venue types 0–12 and which of them are events.
//! - [`venue_code`]: reading QR code URLs (our prefix, CWA, CrowdNotifier v3/v4),
//!   validation, limits and the errors a venue owner can act on.
//! - [`venue`]: creating a venue's QR code (the [`Venue`] builder).
//! - [`location_id`]: location ids (`SHA256("CWA-GUID" ‖ payload)`) and their hashes.
//! - [`check_in_report`]: encrypting, authenticating and decrypting check-in records;
//!   fake reports.
//! - [`time_derivation`]: 10-minute intervals, CWA's time derivation (minimum stay,
//!   aerosol time, alignment) and the split at UTC midnight.
//! - [`upload`]: what a positive visitor's phone uploads (derived, split, encrypted,
//!   padded, shuffled) and a venue owner's warning on behalf of their venue.
//! - [`matching`]: guests' and owners' matching of downloaded reports, risk scores.
//! - [`venue_file`]: the venue owner's venue file (JSON): a new venue's rooms and their QR
//!   codes, reading a file back and checking every room against its code.

pub mod check_in_report;
pub mod location_id;
pub mod matching;
pub mod messages;
pub mod time_derivation;
pub mod upload;
pub mod venue;
pub mod venue_code;
pub mod venue_file;
pub mod venue_type;

pub use check_in_report::{
    ReportError, encrypt_check_in_record, encrypt_check_in_record_with_iv, fake_report,
};
pub use location_id::{LocationId, LocationIdHash};
pub use matching::{
    GuestCheckIn, OwnedVenue, RiskLevel, VenueReport, VenueWarning, match_guest_check_ins,
    match_owned_venues, transmission_risk_weight,
};
pub use messages::{
    CWALocationData, CheckInProtectedReport, CheckInRecord, CrowdNotifierData, QRCodePayload,
    TraceLocation, TraceWarningPackage,
};
pub use time_derivation::{TimeWindow, UtcDay, derive_time};
pub use upload::{
    CheckIn, WarnOnBehalfError, fake_upload, prepare_upload, upload_records, warn_on_behalf,
    warn_on_behalf_window,
};
pub use venue::{CWA_CROWD_NOTIFIER_PUBLIC_KEY, Venue};
pub use venue_code::{
    CWA_QR_CODE_PREFIX, CodeFormat, CrowdNotifierDetails, DEFAULT_QR_CODE_PREFIX,
    MAX_QR_PAYLOAD_BYTES, MAX_QR_URL_LENGTH, VenueCode, VenueCodeError, decode_payload,
    decode_qr_url, decode_qr_url_with_prefix,
};
pub use venue_file::{NewVenue, Room, VenueFile, VenueFileError, file_name_stem, parse_venue_type};
pub use venue_type::VenueType;
