//! `openstopcovid keys derive`: the identifiers a Temporary Exposure Key broadcasts.

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use exposure::interval::EnIntervalNumber;
use exposure::keys::{BluetoothMetadata, KEY_LENGTH, TemporaryExposureKey};

/// The most intervals one call derives (a key is broadcast for at most 144; more is
/// allowed for exploring, within reason).
const MAX_COUNT: u32 = 144 * 366;

/// Print the Rolling Proximity Identifiers (RPI) and encrypted metadata (AEM) that a
/// Temporary Exposure Key (TEK) broadcasts, one interval per line.
///
/// Each line is `<interval> <rpi hex> <aem hex>`: the 10-minute interval number
/// (unix seconds / 600), the 16-byte RPI and the 4-byte AEM a phone holding this key
/// advertises over Bluetooth during that interval (GAEN cryptography v1.2).
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Example (the official test vector; its key was made at 1585785600 = interval 2642976):

  $ openstopcovid keys derive --tek 75c734c6dd1a782de7a965da5eb93125 --interval 2642976 --count 2
  2642976 8be6cd371c5c891604bfbe49df845096 72033874
  2642977 3c9a1de5dd6b02afa7fded7b570b3e56 c29211b1

The metadata is version byte (40 = v1.0), TX power in dBm as a signed byte (08 = +8),
and two zero bytes.")]
pub struct DeriveArgs {
    /// The TEK: 16 bytes as 32 hex digits.
    #[arg(long, value_name = "HEX", value_parser = parse_key)]
    tek: [u8; KEY_LENGTH],
    /// First interval number to derive (for a key's own day: its rolling start).
    #[arg(long, value_name = "N")]
    interval: u32,
    /// How many consecutive intervals to derive.
    #[arg(long, value_name = "K", default_value_t = 144,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_COUNT)))]
    count: u32,
    /// The 4 Bluetooth metadata bytes to encrypt, as 8 hex digits.
    #[arg(long, value_name = "HEX", default_value = "40080000", value_parser = parse_metadata)]
    metadata: BluetoothMetadata,
}

fn parse_hex<const N: usize>(text: &str, what: &str) -> Result<[u8; N], String> {
    let bytes = hex::decode(text.trim()).map_err(|error| format!("{what} is not hex: {error}"))?;
    let found = bytes.len();
    bytes.try_into().map_err(|_| {
        format!(
            "{what} must be {N} bytes ({} hex digits), got {found}",
            2 * N
        )
    })
}

fn parse_key(text: &str) -> Result<[u8; KEY_LENGTH], String> {
    parse_hex(text, "the TEK")
}

fn parse_metadata(text: &str) -> Result<BluetoothMetadata, String> {
    parse_hex(text, "the metadata").map(BluetoothMetadata::from_bytes)
}

pub fn run(args: DeriveArgs) -> anyhow::Result<ExitCode> {
    let Some(last) = args.interval.checked_add(args.count - 1) else {
        eprintln!(
            "error: --interval {} with --count {} runs past the last interval number ({})",
            args.interval,
            args.count,
            u32::MAX
        );
        return Ok(ExitCode::from(2));
    };
    let key = TemporaryExposureKey {
        key_data: args.tek,
        rolling_start_interval_number: EnIntervalNumber(args.interval),
        rolling_period: args.count,
    };
    let rpik = key.rolling_proximity_identifier_key();
    let aemk = key.associated_encrypted_metadata_key();
    let mut out = BufWriter::new(std::io::stdout().lock());
    for interval in args.interval..=last {
        let rpi = rpik.rolling_proximity_identifier(EnIntervalNumber(interval));
        let aem = aemk.encrypt(&rpi, args.metadata);
        writeln!(
            out,
            "{interval} {} {}",
            hex::encode(rpi.0),
            hex::encode(aem.0)
        )?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
