//! `openstopcovid keys match`: which published keys did this phone hear?

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use exposure::export::{ExportArchive, ExportError};
use exposure::keys::DiagnosisKey;
use exposure::matching::{ObservedSet, Sighting};

/// RSSI recorded for a sighting line without one: 127 is what Bluetooth controllers
/// report when the RSSI is not available.
const RSSI_NOT_AVAILABLE: i8 = 127;

/// The most bytes a sightings file may have (14 days of a busy phone are a few MB).
const MAX_SIGHTINGS_FILE_BYTES: u64 = 1 << 30;

/// Match recorded Bluetooth sightings against the keys of GAEN export files.
///
/// For every published key, derives the identifiers (RPIs) it broadcast during its
/// rolling period and looks them up among the sightings. A sighting counts when it was
/// heard within ±2 hours of its identifier's interval, and not more than 20 minutes
/// after the first counted sighting of that identifier (replays are discarded).
///
/// Prints one JSON object per line for every key that matched:
/// {"keyData":"<hex>","rollingStartIntervalNumber":N,"rollingPeriod":N,"sightings":K}
/// Nothing is printed when no key matched. Exit status 2 when a file is malformed.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Sightings file: one advertisement per line, `unix_seconds,rpi_hex[,aem_hex[,rssi_dbm]]`;
blank lines and lines starting with `#` are skipped. Example:

  # heard on 2020-04-02 at 00:05:30 UTC, 16-byte RPI, 4-byte AEM, -67 dBm
  1585785930,8be6cd371c5c891604bfbe49df845096,72033874,-67

Example (`keys derive` prints identifiers in a similar form):

  $ openstopcovid keys match --sightings heard.csv export-2020-04-02.zip
  {\"keyData\":\"75c734c6dd1a782de7a965da5eb93125\",\"rollingStartIntervalNumber\":2642976,\"rollingPeriod\":144,\"sightings\":1}

Export files are read as they are matched (a million keys take well under a second on
a few cores); their signatures are not checked here (see `keys inspect --public-key`).")]
pub struct MatchArgs {
    /// The sightings file (see below).
    #[arg(long, value_name = "FILE")]
    sightings: PathBuf,
    /// Export zips to match, in order.
    #[arg(value_name = "EXPORT-ZIP", required = true)]
    exports: Vec<PathBuf>,
    /// Threads to match on; 0 (the default) uses every core.
    #[arg(long, value_name = "N", default_value_t = 0)]
    threads: usize,
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

/// Parses one non-blank, non-comment line.
fn parse_sighting(line: &str) -> Result<Sighting, String> {
    let mut fields = line.split(',').map(str::trim);
    let unix_seconds = fields
        .next()
        .unwrap_or_default()
        .parse::<u64>()
        .map_err(|error| format!("unix_seconds: {error}"))?;
    let rpi = parse_hex(
        fields.next().ok_or("missing the RPI (second field)")?,
        "the RPI",
    )?;
    let aem = match fields.next() {
        Some(text) => parse_hex(text, "the AEM")?,
        None => [0; 4],
    };
    let rssi = match fields.next() {
        Some(text) => text
            .parse::<i8>()
            .map_err(|error| format!("rssi_dbm must be -128..=127: {error}"))?,
        None => RSSI_NOT_AVAILABLE,
    };
    if fields.next().is_some() {
        return Err("more than 4 fields".to_owned());
    }
    Ok(Sighting {
        unix_seconds,
        rpi,
        aem,
        rssi,
    })
}

/// Reads a sightings file (see [`MatchArgs`]); the error says which line is wrong.
fn read_sightings(path: &Path) -> Result<Vec<Sighting>, String> {
    let shown = path.display();
    let size = std::fs::metadata(path)
        .map_err(|error| format!("{shown}: {error}"))?
        .len();
    if size > MAX_SIGHTINGS_FILE_BYTES {
        return Err(format!(
            "{shown}: larger than {MAX_SIGHTINGS_FILE_BYTES} bytes"
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|error| format!("{shown}: {error}"))?;
    let mut sightings = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let sighting =
            parse_sighting(line).map_err(|reason| format!("{shown}:{}: {reason}", index + 1))?;
        sightings.push(sighting);
    }
    Ok(sightings)
}

pub fn run(args: MatchArgs) -> anyhow::Result<ExitCode> {
    let sightings = match read_sightings(&args.sightings) {
        Ok(sightings) => sightings,
        Err(error) => {
            eprintln!("error: {error}");
            return Ok(ExitCode::from(2));
        }
    };
    let observed = ObservedSet::new(sightings)?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    for path in &args.exports {
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let mut archive = match ExportArchive::new(BufReader::new(file)) {
            Ok(archive) => archive,
            Err(error) => return Ok(malformed(path, &error)),
        };
        let stream = match archive.stream_keys() {
            Ok(stream) => stream,
            Err(error) => return Ok(malformed(path, &error)),
        };
        // Keys are matched as they are decoded; the first decoding error stops the
        // stream and is reported once matching is done.
        let mut failure: Option<ExportError> = None;
        let keys = stream.map_while(|key: Result<DiagnosisKey, ExportError>| match key {
            Ok(key) => Some(key),
            Err(error) => {
                failure = Some(error);
                None
            }
        });
        let matches = observed.match_keys_parallel(keys, args.threads);
        if let Some(error) = failure {
            return Ok(malformed(path, &error));
        }
        for found in matches {
            let line = serde_json::json!({
                "keyData": hex::encode(found.key.key.key_data),
                "rollingStartIntervalNumber": found.key.key.rolling_start_interval_number.0,
                "rollingPeriod": found.key.key.rolling_period,
                "sightings": found.sightings.len(),
            });
            writeln!(out, "{line}")?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn malformed(path: &Path, error: &ExportError) -> ExitCode {
    eprintln!("error: {}: {error}", path.display());
    ExitCode::from(2)
}
