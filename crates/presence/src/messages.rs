//! The protobuf messages of venue presence tracing, written by hand with `prost` derives.
//!
//! Field numbers follow corona-warn-app/cwa-server `pt/trace_location.proto`,
//! `pt/check_in.proto`, `pt/trace_warning.proto` and CrowdNotifier's `proto.proto`
//! (QR payload version 3). All messages are proto3: absent scalars read as zero.
//!
//! CWA and CrowdNotifier both call their messages `QRCodePayload` and `TraceLocation`,
//! but number the timestamps differently (5/6 against 4/5) and give field 4 of the
//! payload a different meaning, so each format has its own structs here.

/// The CWA (and OpenStopCovid) QR code payload, version 1.
#[derive(Clone, PartialEq, prost::Message)]
pub struct QRCodePayload {
    #[prost(uint32, tag = "1")]
    pub version: u32,
    #[prost(message, optional, tag = "2")]
    pub location_data: Option<TraceLocation>,
    #[prost(message, optional, tag = "3")]
    pub crowd_notifier_data: Option<CrowdNotifierData>,
    /// A serialized [`CWALocationData`].
    #[prost(bytes = "vec", tag = "4")]
    pub vendor_data: Vec<u8>,
}

/// What a visitor sees of a venue, in the CWA numbering.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TraceLocation {
    #[prost(uint32, tag = "1")]
    pub version: u32,
    #[prost(string, tag = "2")]
    pub description: String,
    #[prost(string, tag = "3")]
    pub address: String,
    /// Unix seconds; 0 together with `end_timestamp` 0 for a permanent venue.
    #[prost(uint64, tag = "5")]
    pub start_timestamp: u64,
    #[prost(uint64, tag = "6")]
    pub end_timestamp: u64,
}

/// The CrowdNotifier part shared by every format: key material of the venue.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CrowdNotifierData {
    #[prost(uint32, tag = "1")]
    pub version: u32,
    #[prost(bytes = "vec", tag = "2")]
    pub public_key: Vec<u8>,
    #[prost(bytes = "vec", tag = "3")]
    pub cryptographic_seed: Vec<u8>,
    /// Used by CrowdNotifier v3 codes only; its meaning was never specified.
    #[prost(uint32, tag = "4")]
    pub r#type: u32,
}

/// CWA's vendor data: the venue type and the default length of a stay.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CWALocationData {
    #[prost(uint32, tag = "1")]
    pub version: u32,
    /// A `TraceLocationType` enum on the wire (varint int32), see [`crate::VenueType`].
    #[prost(int32, tag = "2")]
    pub r#type: i32,
    #[prost(uint32, tag = "3")]
    pub default_check_in_length_in_minutes: u32,
}

/// The CrowdNotifier / NotifyMe / SwissCovid QR code payload (payload version 3).
#[derive(Clone, PartialEq, prost::Message)]
pub struct CrowdNotifierQRCodePayload {
    #[prost(uint32, tag = "1")]
    pub version: u32,
    #[prost(message, optional, tag = "2")]
    pub location_data: Option<CrowdNotifierTraceLocation>,
    #[prost(message, optional, tag = "3")]
    pub crowd_notifier_data: Option<CrowdNotifierData>,
    /// Opaque, country-specific data (e.g. SwissCovid's check-out reminders).
    #[prost(bytes = "vec", tag = "4")]
    pub country_data: Vec<u8>,
}

/// The `countryData` of CrowdNotifier codes: NotifyMe's `NotifyMeLocationData` (v3: fields
/// 1 to 3) and SwissCovid's `SwissCovidLocationData` (v4: all fields), which extends it
/// (DP-3T/swisscovid-app documentation, `crowdnotifier_v4` proto).
#[derive(Clone, PartialEq, prost::Message)]
pub struct CrowdNotifierCountryData {
    #[prost(uint32, tag = "1")]
    pub version: u32,
    /// An enum on the wire. SwissCovid: 0 a user's own code (`USER_QR_CODE`), 1 a code of
    /// the health authority's contact tracing (`CONTACT_TRACING_QR_CODE`); NotifyMe: 0
    /// other, 1 meeting room, 2 cafeteria, 3 private event, 4 canteen, 5 library, 6
    /// lecture room, 7 shop, 8 gym, 9 kitchen area, 10 office space.
    #[prost(int32, tag = "2")]
    pub r#type: i32,
    #[prost(string, tag = "3")]
    pub room: String,
    /// SwissCovid: when the app reminds a guest who has not checked out.
    #[prost(int64, tag = "4")]
    pub checkout_warning_delay_ms: i64,
    /// SwissCovid: when the app checks a guest out by itself (the field's name is spelt
    /// `automaticCheckoutDelaylMs` there).
    #[prost(int64, tag = "5")]
    pub automatic_checkout_delay_ms: i64,
    #[prost(int64, repeated, tag = "6")]
    pub reminder_delay_options_ms: Vec<i64>,
}

/// CrowdNotifier's `TraceLocation`: the timestamps are fields 4 and 5.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CrowdNotifierTraceLocation {
    #[prost(uint32, tag = "1")]
    pub version: u32,
    #[prost(string, tag = "2")]
    pub description: String,
    #[prost(string, tag = "3")]
    pub address: String,
    #[prost(uint64, tag = "4")]
    pub start_timestamp: u64,
    #[prost(uint64, tag = "5")]
    pub end_timestamp: u64,
}

/// One stay at one venue on one UTC day, as encrypted into a protected report.
#[derive(Clone, Copy, PartialEq, Eq, Hash, prost::Message)]
pub struct CheckInRecord {
    /// 10-minute intervals since the Unix epoch.
    #[prost(uint32, tag = "1")]
    pub start_interval_number: u32,
    /// Number of 10-minute intervals.
    #[prost(uint32, tag = "2")]
    pub period: u32,
    /// 1–8, see [`crate::matching::transmission_risk_weight`].
    #[prost(uint32, tag = "3")]
    pub transmission_risk_level: u32,
}

/// An encrypted check-in as uploaded and published; only phones that scanned the venue's
/// QR code (and so know its location id) can read it.
#[derive(Clone, PartialEq, Eq, Hash, prost::Message)]
pub struct CheckInProtectedReport {
    /// SHA-256 of the location id (32 bytes).
    #[prost(bytes = "vec", tag = "1")]
    pub location_id_hash: Vec<u8>,
    /// 16 random bytes.
    #[prost(bytes = "vec", tag = "2")]
    pub iv: Vec<u8>,
    /// AES-256-CBC/PKCS#7 of a serialized [`CheckInRecord`].
    #[prost(bytes = "vec", tag = "3")]
    pub encrypted_check_in_record: Vec<u8>,
    /// HMAC-SHA256 over `iv ‖ encrypted_check_in_record` (32 bytes).
    #[prost(bytes = "vec", tag = "4")]
    pub mac: Vec<u8>,
}

/// A published package of protected reports (CWA `TraceWarningPackage`; field 3, the
/// deprecated clear-text warnings, is not carried).
#[derive(Clone, PartialEq, prost::Message)]
pub struct TraceWarningPackage {
    /// Hours since the Unix epoch.
    #[prost(uint32, tag = "1")]
    pub interval_number: u32,
    #[prost(string, tag = "2")]
    pub region: String,
    #[prost(message, repeated, tag = "4")]
    pub check_in_protected_reports: Vec<CheckInProtectedReport>,
}
