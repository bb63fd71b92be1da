//! Reading venue QR codes: our own, CWA's and CrowdNotifier's (NotifyMe, SwissCovid).
//!
//! A venue QR code is a URL `<prefix>?v=<version>#<base64url of a protobuf payload>`.
//! Everything here is bounded and returns a [`VenueCodeError`] whose message a venue
//! owner or a visitor can act on; nothing panics on hostile input.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use prost::Message as _;

use crate::location_id::{LocationId, LocationIdHash};
use crate::messages::{
    CWALocationData, CrowdNotifierCountryData, CrowdNotifierQRCodePayload, QRCodePayload,
};
use crate::venue_type::VenueType;

/// Where OpenStopCovid's own codes point unless an operator configures another prefix.
pub const DEFAULT_QR_CODE_PREFIX: &str = "https://qr.openstopcovid.org?v=1#";
/// Prefix of Corona-Warn-App event codes (same payload format as ours).
pub const CWA_QR_CODE_PREFIX: &str = "https://e.coronawarn.app?v=1#";
/// Host of Corona-Warn-App event codes.
const CWA_HOST: &str = "e.coronawarn.app";
/// The path of the citizen web app, which deployments with a public address put in their
/// venue codes (`{public_url}/app/?v=1#…`).
const WEB_APP_PATH: &str = "app";

/// The most bytes a QR code can hold (version 40, low error correction, byte mode): a
/// longer text cannot have come from a QR code.
pub const MAX_QR_URL_LENGTH: usize = 2953;
/// The most payload bytes (after base64url decoding) we read.
pub const MAX_QR_PAYLOAD_BYTES: usize = 2048;
/// Description (the venue's name) and address: at most 100 characters, counted in UTF-16
/// code units as the CWA apps count them, so that every code we accept they accept too.
pub const MAX_DESCRIPTION_LENGTH: usize = 100;
pub const MAX_ADDRESS_LENGTH: usize = 100;
/// Length of the cryptographic seed in CWA (and our) codes.
pub const CWA_SEED_LENGTH: usize = 16;
/// Length of the cryptographic seed in CrowdNotifier v3/v4 codes.
pub const CROWD_NOTIFIER_SEED_LENGTH: usize = 32;
/// The longest default check-in length a code may carry: one day.
pub const MAX_DEFAULT_CHECK_IN_LENGTH_MINUTES: u32 = 24 * 60;
/// When a venue says nothing about the length of a visit, a forgotten check-out ends
/// automatically after this long.
pub const FALLBACK_AUTOMATIC_CHECK_OUT_SECONDS: u64 = 12 * 3600;
/// Version of the CWA / OpenStopCovid payload and of its parts.
pub const QR_PAYLOAD_VERSION: u32 = 1;
/// Payload versions of CrowdNotifier codes we read (URLs `?v=3` and `?v=4` carry them).
pub const CROWD_NOTIFIER_PAYLOAD_VERSIONS: [u32; 2] = [3, 4];

/// Which family a venue code belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CodeFormat {
    /// Our own prefix (configurable), CWA payload format.
    OpenStopCovid,
    /// `https://e.coronawarn.app?v=1#…`.
    Cwa,
    /// CrowdNotifier / NotifyMe / SwissCovid, `?v=3#…` or `?v=4#…` on any host.
    CrowdNotifier,
}

impl CodeFormat {
    /// The name used by `openstopcovid venue decode`.
    pub fn as_str(self) -> &'static str {
        match self {
            CodeFormat::OpenStopCovid => "openstopcovid",
            CodeFormat::Cwa => "cwa",
            CodeFormat::CrowdNotifier => "crowdnotifier",
        }
    }

    /// Whether reports about this venue can travel through CWA-style protected reports
    /// (true for ours and CWA's; CrowdNotifier has its own warning channel).
    pub fn has_location_id(self) -> bool {
        !matches!(self, CodeFormat::CrowdNotifier)
    }
}

/// Why a text is not a usable venue QR code.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VenueCodeError {
    #[error("the text is {length} bytes long; a venue QR code holds at most {max}")]
    UrlTooLong { length: usize, max: usize },
    #[error(
        "this is not a venue QR code: expected an address such as {DEFAULT_QR_CODE_PREFIX}… \
         or {CWA_QR_CODE_PREFIX}…"
    )]
    NotAVenueCode,
    #[error("this venue QR code has version {version}, which this app cannot read")]
    UnsupportedVersion { version: String },
    #[error("the venue data in this QR code is damaged (it is not valid base64url)")]
    BadBase64,
    #[error("the venue data in this QR code is {length} bytes long; at most {max} are allowed")]
    PayloadTooLarge { length: usize, max: usize },
    #[error("the venue data in this QR code is damaged (it is not a venue record)")]
    BadProtobuf,
    #[error("the venue record has version {found}, which this app cannot read")]
    PayloadVersion { found: u32 },
    #[error("the venue record has no {part}")]
    MissingPart { part: &'static str },
    #[error("the venue has no description (its name)")]
    EmptyDescription,
    #[error("the venue has no address")]
    EmptyAddress,
    #[error("the {field} is {length} characters long; at most {max} are allowed")]
    FieldTooLong {
        field: &'static str,
        length: usize,
        max: usize,
    },
    #[error("the {field} must be a single line of text, without line breaks or control characters")]
    NotOneLine { field: &'static str },
    #[error("the venue's key (cryptographic seed) is {found} bytes long instead of {expected}")]
    BadSeedLength { found: usize, expected: usize },
    #[error("the venue type {found} is unknown (types go from 0 to 12)")]
    UnknownVenueType { found: i64 },
    #[error("the venue's type and check-in length data is damaged")]
    BadVendorData,
    #[error("the event ends (unix time {end}) before it starts (unix time {start})")]
    EndBeforeStart { start: u64, end: u64 },
    #[error(
        "the default check-in length of {minutes} minutes is longer than the maximum of {max} minutes"
    )]
    CheckInLengthTooLong { minutes: u32, max: u32 },
    // Errors only a venue owner creating a code can meet.
    #[error("an event ({venue_type}) needs a start and an end time")]
    MissingTimeWindow { venue_type: VenueType },
    #[error("a permanent place ({venue_type}) has no start and end time; choose an event type")]
    UnexpectedTimeWindow { venue_type: VenueType },
    #[error("the event must end after it starts (start {start}, end {end})")]
    StartNotBeforeEnd { start: u64, end: u64 },
    #[error("the default check-in length must be at least one minute")]
    ZeroCheckInLength,
    #[error("the QR code prefix {prefix:?} must be an https address ending with '#'")]
    BadPrefix { prefix: String },
    #[error("the venue's public key is {found} bytes long; at most {max} are allowed")]
    PublicKeyTooLong { found: usize, max: usize },
}

/// A decoded, validated venue QR code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VenueCode {
    /// The URL as read (surrounding whitespace removed) or as created.
    pub url: String,
    pub format: CodeFormat,
    /// `QRCodePayload.version`: 1 for ours and CWA's, 3 (or 4) for CrowdNotifier.
    pub payload_version: u32,
    pub description: String,
    pub address: String,
    /// Unix seconds; both 0 for a permanent place in our and CWA's codes.
    pub start_timestamp: u64,
    pub end_timestamp: u64,
    /// `None` for CrowdNotifier codes, which carry no CWA type.
    pub venue_type: Option<VenueType>,
    /// `None` when the code does not say (field absent or 0).
    pub default_check_in_length_minutes: Option<u32>,
    pub cryptographic_seed: Vec<u8>,
    pub crowd_notifier_public_key: Vec<u8>,
    /// The payload bytes exactly as decoded from the URL.
    pub raw_payload: Vec<u8>,
    /// `SHA256("CWA-GUID" ‖ raw_payload)`. Meaningful for warnings only when
    /// [`CodeFormat::has_location_id`]; for CrowdNotifier codes it is still a stable,
    /// private identifier of the venue on this phone.
    pub location_id: LocationId,
}

/// What a CrowdNotifier code says beyond the fields every format has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrowdNotifierDetails {
    /// `CrowdNotifierData.type` (its meaning was never specified; 0 in most codes).
    pub crowd_notifier_type: u32,
    /// The venue type of the `countryData` (see [`crate::messages::CrowdNotifierCountryData`]),
    /// when the code carries country data.
    pub venue_type: Option<i32>,
    /// The room, when the country data names one.
    pub room: Option<String>,
    /// SwissCovid (v4): minutes after which the app checks a guest out by itself, when set.
    pub automatic_check_out_delay_minutes: Option<u64>,
}

impl VenueCode {
    pub fn location_id_hash(&self) -> LocationIdHash {
        self.location_id.hash()
    }

    /// The CrowdNotifier-specific fields of a CrowdNotifier code (`None` for other
    /// formats). Country data that does not parse is left out, as the SwissCovid app does.
    pub fn crowd_notifier_details(&self) -> Option<CrowdNotifierDetails> {
        if self.format != CodeFormat::CrowdNotifier {
            return None;
        }
        let payload = CrowdNotifierQRCodePayload::decode(self.raw_payload.as_slice()).ok()?;
        let country = (!payload.country_data.is_empty())
            .then(|| CrowdNotifierCountryData::decode(payload.country_data.as_slice()).ok())
            .flatten();
        Some(CrowdNotifierDetails {
            crowd_notifier_type: payload.crowd_notifier_data.map_or(0, |data| data.r#type),
            venue_type: country.as_ref().map(|country| country.r#type),
            room: country
                .as_ref()
                .map(|country| country.room.clone())
                .filter(|room| !room.is_empty()),
            automatic_check_out_delay_minutes: country
                .as_ref()
                .and_then(|country| u64::try_from(country.automatic_checkout_delay_ms).ok())
                .filter(|ms| *ms > 0)
                .map(|ms| ms / 60_000),
        })
    }

    /// A place without a time window (start and end both 0).
    pub fn is_permanent(&self) -> bool {
        self.start_timestamp == 0 && self.end_timestamp == 0
    }

    /// When a phone checks a visitor out who forgot to (unix seconds), for a check-in at
    /// `check_in`: after the venue's default check-in length; without one, at the end of
    /// the event if it ends within 12 hours; otherwise after 12 hours.
    pub fn automatic_check_out(&self, check_in: u64) -> u64 {
        let fallback = check_in.saturating_add(FALLBACK_AUTOMATIC_CHECK_OUT_SECONDS);
        if let Some(minutes) = self.default_check_in_length_minutes {
            return check_in.saturating_add(u64::from(minutes) * 60);
        }
        if !self.is_permanent() && self.end_timestamp > check_in && self.end_timestamp < fallback {
            return self.end_timestamp;
        }
        fallback
    }
}

/// Decodes a scanned text with our default prefix. Suitable as a fuzz target: any input
/// gives `Ok` or a typed error.
pub fn decode_qr_url(url: &str) -> Result<VenueCode, VenueCodeError> {
    decode_qr_url_with_prefix(url, DEFAULT_QR_CODE_PREFIX)
}

/// Decodes a scanned text; `own_prefix` (e.g. `https://qr.example.org?v=1#`) is the
/// prefix of the operator's own codes.
pub fn decode_qr_url_with_prefix(url: &str, own_prefix: &str) -> Result<VenueCode, VenueCodeError> {
    if url.len() > MAX_QR_URL_LENGTH {
        return Err(VenueCodeError::UrlTooLong {
            length: url.len(),
            max: MAX_QR_URL_LENGTH,
        });
    }
    // Scanners and copy-paste often add a trailing newline or spaces.
    let url = url.trim();
    let (base, fragment) = url.split_once('#').ok_or(VenueCodeError::NotAVenueCode)?;
    let format = classify(base, own_prefix)?;
    let payload = decode_base64url(fragment)?;
    let mut code = decode_payload(format, &payload)?;
    code.url = url.to_owned();
    Ok(code)
}

/// Decodes and validates payload bytes of a known format (the part after `#`, already
/// base64url-decoded). The returned code's `url` is empty.
pub fn decode_payload(format: CodeFormat, payload: &[u8]) -> Result<VenueCode, VenueCodeError> {
    if payload.len() > MAX_QR_PAYLOAD_BYTES {
        return Err(VenueCodeError::PayloadTooLarge {
            length: payload.len(),
            max: MAX_QR_PAYLOAD_BYTES,
        });
    }
    match format {
        CodeFormat::OpenStopCovid | CodeFormat::Cwa => decode_cwa_payload(format, payload),
        CodeFormat::CrowdNotifier => decode_crowd_notifier_payload(payload),
    }
}

/// Tells the format from the part before `#`, e.g. `https://e.coronawarn.app?v=1`.
fn classify(base: &str, own_prefix: &str) -> Result<CodeFormat, VenueCodeError> {
    let own_base = own_prefix.strip_suffix('#').unwrap_or(own_prefix);
    if base.eq_ignore_ascii_case(own_base) {
        return Ok(CodeFormat::OpenStopCovid);
    }
    let (host, path, version) = host_path_and_version(base).ok_or(VenueCodeError::NotAVenueCode)?;
    // Deployments with a public address print `{public_url}/app/?v=1#…`: the web app's
    // address, whatever the host (OPENSTOPCOVID_PUBLIC_URL of the server).
    let path = path.trim_end_matches('/');
    let is_web_app = path == WEB_APP_PATH
        || path
            .strip_suffix(WEB_APP_PATH)
            .is_some_and(|parent| parent.ends_with('/'));
    if is_web_app && version == "1" {
        return Ok(CodeFormat::OpenStopCovid);
    }
    let unsupported = || VenueCodeError::UnsupportedVersion {
        version: version.to_owned(),
    };
    if host.eq_ignore_ascii_case(CWA_HOST) {
        return if version == "1" {
            Ok(CodeFormat::Cwa)
        } else {
            Err(unsupported())
        };
    }
    if host_and_version(own_base).is_some_and(|(own_host, _)| host.eq_ignore_ascii_case(own_host)) {
        return Err(unsupported());
    }
    // CrowdNotifier codes come from many hosts (qr.notify-me.ch, qr.swisscovid.ch, test
    // hosts): recognise them by their version, and let the payload decoder check the shape.
    let is_crowd_notifier = CROWD_NOTIFIER_PAYLOAD_VERSIONS
        .iter()
        .any(|v| version == v.to_string());
    if is_crowd_notifier {
        Ok(CodeFormat::CrowdNotifier)
    } else {
        Err(VenueCodeError::NotAVenueCode)
    }
}

/// `https://host[/path]?…v=N…` → (host, N). `None` if it has not that shape. `http://` is
/// accepted for this machine only (`localhost`, `127.0.0.1`: a server tried out locally).
pub(crate) fn host_and_version(base: &str) -> Option<(&str, &str)> {
    host_path_and_version(base).map(|(host, _path, version)| (host, version))
}

/// `https://host[/path]?…v=N…` → (host, path, N).
fn host_path_and_version(base: &str) -> Option<(&str, &str, &str)> {
    let starts_with = |scheme: &str| {
        base.get(..scheme.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
    };
    let (rest, secure) = if starts_with("https://") {
        (base.get("https://".len()..)?, true)
    } else if starts_with("http://") {
        (base.get("http://".len()..)?, false)
    } else {
        return None;
    };
    let (authority_and_path, query) = rest.split_once('?')?;
    let (host, path) = authority_and_path
        .split_once('/')
        .unwrap_or((authority_and_path, ""));
    if host.is_empty() {
        return None;
    }
    if !secure {
        let name = host.rsplit_once(':').map_or(host, |(name, _port)| name);
        if !matches!(name, "localhost" | "127.0.0.1") {
            return None;
        }
    }
    let version = query.split('&').find_map(|parameter| {
        parameter
            .strip_prefix("v=")
            .or_else(|| parameter.strip_prefix("V="))
    })?;
    Some((host, path, version))
}

/// Base64url without padding is the standard; we also accept padding and the classic
/// alphabet, which some third-party generators produce.
fn decode_base64url(fragment: &str) -> Result<Vec<u8>, VenueCodeError> {
    let config = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    let alphabet = if fragment.contains(['+', '/']) {
        &alphabet::STANDARD
    } else {
        &alphabet::URL_SAFE
    };
    let engine = GeneralPurpose::new(alphabet, config);
    let payload = engine
        .decode(fragment)
        .map_err(|_| VenueCodeError::BadBase64)?;
    if payload.is_empty() {
        return Err(VenueCodeError::BadBase64);
    }
    Ok(payload)
}

fn decode_cwa_payload(format: CodeFormat, raw: &[u8]) -> Result<VenueCode, VenueCodeError> {
    let payload = QRCodePayload::decode(raw).map_err(|_| VenueCodeError::BadProtobuf)?;
    if payload.version != QR_PAYLOAD_VERSION {
        return Err(VenueCodeError::PayloadVersion {
            found: payload.version,
        });
    }
    let location = payload.location_data.ok_or(VenueCodeError::MissingPart {
        part: "location data (name and address)",
    })?;
    let crowd_notifier = payload
        .crowd_notifier_data
        .ok_or(VenueCodeError::MissingPart {
            part: "key data (cryptographic seed)",
        })?;
    check_description(&location.description)?;
    check_address(&location.address, AddressRule::Required)?;
    check_time_window(location.start_timestamp, location.end_timestamp)?;
    check_seed(&crowd_notifier.cryptographic_seed, CWA_SEED_LENGTH)?;
    let vendor = CWALocationData::decode(payload.vendor_data.as_slice())
        .map_err(|_| VenueCodeError::BadVendorData)?;
    let venue_type =
        VenueType::from_wire(i64::from(vendor.r#type)).ok_or(VenueCodeError::UnknownVenueType {
            found: i64::from(vendor.r#type),
        })?;
    let minutes = vendor.default_check_in_length_in_minutes;
    if minutes > MAX_DEFAULT_CHECK_IN_LENGTH_MINUTES {
        return Err(VenueCodeError::CheckInLengthTooLong {
            minutes,
            max: MAX_DEFAULT_CHECK_IN_LENGTH_MINUTES,
        });
    }
    Ok(VenueCode {
        url: String::new(),
        format,
        payload_version: payload.version,
        description: location.description,
        address: location.address,
        start_timestamp: location.start_timestamp,
        end_timestamp: location.end_timestamp,
        venue_type: Some(venue_type),
        default_check_in_length_minutes: (minutes > 0).then_some(minutes),
        cryptographic_seed: crowd_notifier.cryptographic_seed,
        crowd_notifier_public_key: crowd_notifier.public_key,
        raw_payload: raw.to_vec(),
        location_id: LocationId::from_qr_payload(raw),
    })
}

fn decode_crowd_notifier_payload(raw: &[u8]) -> Result<VenueCode, VenueCodeError> {
    let payload =
        CrowdNotifierQRCodePayload::decode(raw).map_err(|_| VenueCodeError::BadProtobuf)?;
    if !CROWD_NOTIFIER_PAYLOAD_VERSIONS.contains(&payload.version) {
        return Err(VenueCodeError::PayloadVersion {
            found: payload.version,
        });
    }
    let location = payload.location_data.ok_or(VenueCodeError::MissingPart {
        part: "location data (name and address)",
    })?;
    let crowd_notifier = payload
        .crowd_notifier_data
        .ok_or(VenueCodeError::MissingPart {
            part: "key data (cryptographic seed)",
        })?;
    check_description(&location.description)?;
    // CrowdNotifier venues often have a room name only, so no address is fine.
    check_address(&location.address, AddressRule::Optional)?;
    check_time_window(location.start_timestamp, location.end_timestamp)?;
    check_seed(
        &crowd_notifier.cryptographic_seed,
        CROWD_NOTIFIER_SEED_LENGTH,
    )?;
    Ok(VenueCode {
        url: String::new(),
        format: CodeFormat::CrowdNotifier,
        payload_version: payload.version,
        description: location.description,
        address: location.address,
        start_timestamp: location.start_timestamp,
        end_timestamp: location.end_timestamp,
        venue_type: None,
        default_check_in_length_minutes: None,
        cryptographic_seed: crowd_notifier.cryptographic_seed,
        crowd_notifier_public_key: crowd_notifier.public_key,
        raw_payload: raw.to_vec(),
        location_id: LocationId::from_qr_payload(raw),
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum AddressRule {
    Required,
    Optional,
}

pub(crate) fn check_description(description: &str) -> Result<(), VenueCodeError> {
    if description.trim().is_empty() {
        return Err(VenueCodeError::EmptyDescription);
    }
    check_line("description", description, MAX_DESCRIPTION_LENGTH)
}

pub(crate) fn check_address(address: &str, rule: AddressRule) -> Result<(), VenueCodeError> {
    if rule == AddressRule::Required && address.trim().is_empty() {
        return Err(VenueCodeError::EmptyAddress);
    }
    check_line("address", address, MAX_ADDRESS_LENGTH)
}

fn check_line(field: &'static str, text: &str, max: usize) -> Result<(), VenueCodeError> {
    let length = text.encode_utf16().count();
    if length > max {
        return Err(VenueCodeError::FieldTooLong { field, length, max });
    }
    // `is_control` covers \n, \r and NEL; the two Unicode separators also break lines.
    if text
        .chars()
        .any(|c| c.is_control() || c == '\u{2028}' || c == '\u{2029}')
    {
        return Err(VenueCodeError::NotOneLine { field });
    }
    Ok(())
}

/// Both 0: a permanent place. Otherwise the end may not come before the start (the CWA
/// apps accept a zero-length window, and so do we when reading).
fn check_time_window(start: u64, end: u64) -> Result<(), VenueCodeError> {
    if end < start {
        return Err(VenueCodeError::EndBeforeStart { start, end });
    }
    Ok(())
}

fn check_seed(seed: &[u8], expected: usize) -> Result<(), VenueCodeError> {
    if seed.len() != expected {
        return Err(VenueCodeError::BadSeedLength {
            found: seed.len(),
            expected,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_formats_apart_by_host_and_version() {
        let own = DEFAULT_QR_CODE_PREFIX;
        assert_eq!(
            classify("https://qr.openstopcovid.org?v=1", own),
            Ok(CodeFormat::OpenStopCovid)
        );
        assert_eq!(
            classify("HTTPS://E.CORONAWARN.APP?V=1", own),
            Ok(CodeFormat::Cwa)
        );
        assert_eq!(
            classify("https://qr.notify-me.ch?v=3", own),
            Ok(CodeFormat::CrowdNotifier)
        );
        assert_eq!(
            classify("https://qr.swisscovid.ch/?v=4", own),
            Ok(CodeFormat::CrowdNotifier)
        );
        assert_eq!(
            classify("https://e.coronawarn.app?v=2", own),
            Err(VenueCodeError::UnsupportedVersion {
                version: "2".into()
            })
        );
        assert_eq!(
            classify("https://qr.openstopcovid.org?v=7", own),
            Err(VenueCodeError::UnsupportedVersion {
                version: "7".into()
            })
        );
        assert_eq!(
            classify("https://example.org?v=1", own),
            Err(VenueCodeError::NotAVenueCode)
        );
        assert_eq!(
            classify("http://qr.notify-me.ch?v=3", own),
            Err(VenueCodeError::NotAVenueCode)
        );
    }

    #[test]
    fn web_app_addresses_are_our_codes_and_plain_http_only_for_this_machine() {
        let own = DEFAULT_QR_CODE_PREFIX;
        for ours in [
            "https://covid.example.org/app/?v=1",
            "https://example.org/town/app?v=1",
            "http://127.0.0.1:8080/app/?v=1",
            "http://localhost/app/?v=1",
        ] {
            assert_eq!(classify(ours, own), Ok(CodeFormat::OpenStopCovid), "{ours}");
        }
        for theirs in [
            "http://covid.example.org/app/?v=1",
            "https://example.org/myapp/?v=1",
            "https://example.org/app/?v=2",
        ] {
            assert!(classify(theirs, own).is_err(), "{theirs}");
        }
    }

    #[test]
    fn a_configured_prefix_is_recognised() {
        let own = "https://venues.health.example/c?v=1#";
        assert_eq!(
            classify("https://venues.health.example/c?v=1", own),
            Ok(CodeFormat::OpenStopCovid)
        );
        assert_eq!(
            classify("https://qr.openstopcovid.org?v=1", own),
            Err(VenueCodeError::NotAVenueCode)
        );
    }

    #[test]
    fn text_that_is_not_a_url_is_not_a_venue_code() {
        for text in ["", "#", "hello", "https://e.coronawarn.app", "mailto:x#y"] {
            assert!(decode_qr_url(text).is_err(), "{text:?}");
        }
        assert_eq!(decode_qr_url("hello"), Err(VenueCodeError::NotAVenueCode));
    }

    fn code(default_minutes: Option<u32>, start: u64, end: u64) -> VenueCode {
        VenueCode {
            url: String::new(),
            format: CodeFormat::OpenStopCovid,
            payload_version: 1,
            description: "Venue".into(),
            address: "Street".into(),
            start_timestamp: start,
            end_timestamp: end,
            venue_type: Some(VenueType::CulturalEvent),
            default_check_in_length_minutes: default_minutes,
            cryptographic_seed: vec![0; 16],
            crowd_notifier_public_key: Vec::new(),
            raw_payload: Vec::new(),
            location_id: LocationId([0; 32]),
        }
    }

    #[test]
    fn forgotten_check_outs_end_at_the_default_length_the_event_end_or_after_twelve_hours() {
        let noon = 1_614_859_200;
        assert_eq!(
            code(Some(90), 0, 0).automatic_check_out(noon),
            noon + 90 * 60
        );
        assert_eq!(
            code(None, noon - 3600, noon + 7200).automatic_check_out(noon),
            noon + 7200
        );
        assert_eq!(
            code(None, noon, noon + 86_400).automatic_check_out(noon),
            noon + 12 * 3600
        );
        assert_eq!(code(None, 0, 0).automatic_check_out(noon), noon + 12 * 3600);
        // An event already over when scanned: the 12-hour fallback, not the past.
        assert_eq!(
            code(None, noon - 7200, noon - 3600).automatic_check_out(noon),
            noon + 12 * 3600
        );
    }

    #[test]
    fn description_rules() {
        assert_eq!(
            check_description(" "),
            Err(VenueCodeError::EmptyDescription)
        );
        assert!(check_description(&"a".repeat(100)).is_ok());
        assert_eq!(
            check_description(&"a".repeat(101)),
            Err(VenueCodeError::FieldTooLong {
                field: "description",
                length: 101,
                max: 100
            })
        );
        assert_eq!(
            check_description("Café\nBar"),
            Err(VenueCodeError::NotOneLine {
                field: "description"
            })
        );
        // 50 emoji are 100 UTF-16 units: the limit the CWA apps apply.
        assert!(check_description(&"😀".repeat(50)).is_ok());
        assert!(check_description(&"😀".repeat(51)).is_err());
    }
}
