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

Prints JSON with format (openstopcovid, cwa or crowdnotifier), description, address,
startTimestamp, endTimestamp (0 and 0 for a permanent place), type, typeName,
defaultCheckInLengthInMinutes, locationId and locationIdHash (hex; null for
CrowdNotifier codes, which use another warning channel).
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
    let (location_id, location_id_hash) = if code.format.has_location_id() {
        (
            Value::from(code.location_id.to_hex()),
            Value::from(code.location_id_hash().to_hex()),
        )
    } else {
        (Value::Null, Value::Null)
    };
    json!({
        "format": code.format.as_str(),
        "payloadVersion": code.payload_version,
        "description": code.description,
        "address": code.address,
        "startTimestamp": code.start_timestamp,
        "endTimestamp": code.end_timestamp,
        "type": code.venue_type.map(|t| t.wire_value()),
        "typeName": code.venue_type.map(|t| t.name()),
        "defaultCheckInLengthInMinutes": code.default_check_in_length_minutes,
        "locationId": location_id,
        "locationIdHash": location_id_hash,
    })
}
