//! `openstopcovid venue decode URL`: what a phone reads from a venue QR code.

use std::process::ExitCode;

use presence::{DEFAULT_QR_CODE_PREFIX, VenueCode, decode_qr_url_with_prefix};
use serde_json::{Value, json};

/// Exit status for a text that is not a venue QR code (API.md).
const NOT_A_VENUE_CODE: u8 = 2;

#[derive(clap::Args, Debug)]
#[command(after_help = "\
Example:
  openstopcovid venue decode 'https://e.coronawarn.app?v=1#CAESEwgBEgdGcmlzZXVyGgZCZXJsaW4adggBEmCDAszMTXne1DAA5_YxmhRdd_NZN2VKl9L32Jl9-ZybE4b2eNIrhFOKYU4XAOHq3RPLDxdHTW6ANiO24rCOO4rj06HzcVZy3pel58-L1KSPG-_PneL2BoyZQRz3qlu2hoAaEATXwzyyIshzBHREtsdmc6kiBggBEAUYeA'

Prints JSON with format (openstopcovid, cwa or crowdnotifier), payloadVersion,
description, address, startTimestamp, endTimestamp (0 and 0 for a permanent place),
type, typeName, defaultCheckInLengthInMinutes, locationId and locationIdHash.

Which fields each format carries:
  openstopcovid, cwa  type: the CWA venue type (0-12); defaultCheckInLengthInMinutes:
                      a number, 0 when the code sets none; locationId and
                      locationIdHash: hex.
  crowdnotifier       type: the venue type of the code's country data (SwissCovid v4:
                      0 user QR code, 1 contact tracing QR code; NotifyMe v3: 0 other,
                      1 meeting room ... 10 office space), null without country data;
                      room; automaticCheckOutDelayMinutes (SwissCovid v4, null when
                      unset); crowdNotifierType; defaultCheckInLengthInMinutes,
                      locationId and locationIdHash: null (these codes use another
                      warning channel).
Exit status 2 when the text is not a venue QR code.")]
pub struct DecodeArgs {
    /// The text of the QR code. Quote it: it contains '?' and '#'.
    pub url: String,
    /// Prefix of this deployment's own venue codes.
    #[arg(long, default_value = DEFAULT_QR_CODE_PREFIX)]
    pub prefix: String,
}

pub fn run(args: DecodeArgs) -> anyhow::Result<ExitCode> {
    match decode_qr_url_with_prefix(&args.url, &args.prefix) {
        Ok(code) => {
            println!("{}", serde_json::to_string_pretty(&to_json(&code))?);
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            eprintln!("error: {error}");
            Ok(ExitCode::from(NOT_A_VENUE_CODE))
        }
    }
}

fn to_json(code: &VenueCode) -> Value {
    if let Some(details) = code.crowd_notifier_details() {
        return json!({
            "format": code.format.as_str(),
            "payloadVersion": code.payload_version,
            "description": code.description,
            "address": code.address,
            "startTimestamp": code.start_timestamp,
            "endTimestamp": code.end_timestamp,
            "type": details.venue_type,
            "typeName": details
                .venue_type
                .and_then(|venue_type| crowd_notifier_type_name(&code.url, venue_type)),
            "room": details.room,
            "automaticCheckOutDelayMinutes": details.automatic_check_out_delay_minutes,
            "crowdNotifierType": details.crowd_notifier_type,
            "defaultCheckInLengthInMinutes": Value::Null,
            "locationId": Value::Null,
            "locationIdHash": Value::Null,
        });
    }
    json!({
        "format": code.format.as_str(),
        "payloadVersion": code.payload_version,
        "description": code.description,
        "address": code.address,
        "startTimestamp": code.start_timestamp,
        "endTimestamp": code.end_timestamp,
        "type": code.venue_type.map(|t| t.wire_value()),
        "typeName": code.venue_type.map(|t| t.name()),
        // proto3: an absent length reads as 0, the length the CWA app shows as "none set".
        "defaultCheckInLengthInMinutes": code.default_check_in_length_minutes.unwrap_or(0),
        "locationId": code.location_id.to_hex(),
        "locationIdHash": code.location_id_hash().to_hex(),
    })
}

/// Names of the country data's venue types: SwissCovid's (`?v=4` codes) and NotifyMe's
/// (`?v=3`); both put payload version 3 inside, so the URL tells them apart.
fn crowd_notifier_type_name(url: &str, venue_type: i32) -> Option<&'static str> {
    const SWISSCOVID: [&str; 2] = ["user QR code", "contact tracing QR code"];
    const NOTIFY_ME: [&str; 11] = [
        "other",
        "meeting room",
        "cafeteria",
        "private event",
        "canteen",
        "library",
        "lecture room",
        "shop",
        "gym",
        "kitchen area",
        "office space",
    ];
    let names: &[&str] = if url.contains("?v=4") {
        &SWISSCOVID
    } else {
        &NOTIFY_ME
    };
    usize::try_from(venue_type)
        .ok()
        .and_then(|index| names.get(index).copied())
}
