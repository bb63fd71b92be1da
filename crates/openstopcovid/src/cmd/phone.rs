//! `openstopcovid phone …`: the citizen phone core driven from a shell.
//!
//! The phone's clock is `--now` (RFC 3339 or unix seconds), so that a script can move
//! several phones through days in seconds; without it, the real time. This is the only
//! place where the phone's time is read from the wall clock.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use phone::Phone;
use phone::check_ins::ScanOutcome;
use phone::sightings::parse_sighting_line;

#[derive(clap::Args, Debug)]
#[command(
    about = "Run a citizen's phone: broadcast, observe, check in, report, sync",
    after_long_help = "\
Examples (two phones meet for 30 minutes, one reports, the other is warned):

  openstopcovid phone --state alice init --server http://127.0.0.1:8080
  openstopcovid phone --state bob   init --server http://127.0.0.1:8080
  openstopcovid phone --state alice --now 2026-11-20T12:00:00Z broadcast --minutes 30 > alice.txt
  openstopcovid phone --state bob   --now 2026-11-20T12:30:00Z observe alice.txt --rssi -55
  openstopcovid phone --state alice --now 2026-11-21T09:00:00Z report 123456789012
  openstopcovid phone --state bob   --now 2026-11-21T10:00:00Z sync
  {\"exposure\":{\"risk\":\"high\",…},\"venueWarnings\":[]}

Sightings files have one advertisement per line: unix_seconds,rpi_hex,aem_hex[,rssi_dbm]
(the format of `keys match`). `broadcast` prints them without RSSI, since only the
receiver knows it: give it to `observe` with --rssi, or add it to each line."
)]
pub struct PhoneArgs {
    /// Directory holding the phone's state (created if missing).
    #[arg(long, value_name = "DIR")]
    state: PathBuf,
    /// The phone's clock: RFC 3339 (2026-11-20T12:00:00Z) or unix seconds. Default: now.
    #[arg(long, value_name = "RFC3339")]
    now: Option<String>,
    #[command(subcommand)]
    command: PhoneCommand,
}

#[derive(clap::Subcommand, Debug)]
enum PhoneCommand {
    /// Set the server and pin its export-signing public key (fetched now).
    Init {
        /// Base URL of the server, e.g. http://127.0.0.1:8080
        #[arg(long, value_name = "URL")]
        server: String,
    },
    /// Print the advertisements this phone sends over the next minutes, one per minute.
    Broadcast {
        #[arg(long, value_name = "M")]
        minutes: u64,
    },
    /// Record the advertisements of a sightings file (`-` for stdin) as heard.
    Observe {
        file: PathBuf,
        /// Received signal strength in dBm for every line (overrides the lines' own).
        #[arg(long, value_name = "DBM", allow_hyphen_values = true)]
        rssi: Option<i8>,
    },
    /// Scan a venue QR code: check in (or out, when it is the current venue).
    Checkin { url: String },
    /// Check out of the current venue.
    Checkout,
    /// Report a positive test with the 12-digit code from the physician.
    Report { code: String },
    /// Download keys and warnings, upload what is due, print the status as JSON.
    ///
    /// With `--wait S`, first wait up to S seconds (at most 300) for the server to say
    /// that new keys are out (`/v1/push/keys`), as the app's background worker does.
    Sync {
        #[arg(long, value_name = "SECONDS")]
        wait: Option<u64>,
    },
    /// Print the status as JSON, without network.
    Status,
}

fn parse_now(text: Option<&str>) -> anyhow::Result<u64> {
    let Some(text) = text else {
        return Ok(std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .context("the system clock is before 1970")?
            .as_secs());
    };
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(seconds);
    }
    let parsed = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .with_context(|| {
            format!("--now {text:?} is neither RFC 3339 (2026-11-20T12:00:00Z) nor unix seconds")
        })?;
    u64::try_from(parsed.unix_timestamp()).context("--now must be after 1970")
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}

pub fn run(args: PhoneArgs) -> anyhow::Result<ExitCode> {
    let now = parse_now(args.now.as_deref())?;
    let mut phone = Phone::open(&args.state)
        .with_context(|| format!("opening the phone state in {}", args.state.display()))?;
    let mut rng = rand::rng();
    match args.command {
        PhoneCommand::Init { server } => {
            phone.init(&server, now)?;
            eprintln!("phone set up for {server}; its export public key is pinned");
        }
        PhoneCommand::Broadcast { minutes } => {
            for advertisement in phone.broadcast(now, minutes, &mut rng)? {
                println!("{}", advertisement.to_sighting_line(None));
            }
        }
        PhoneCommand::Observe { file, rssi } => {
            let reader: Box<dyn BufRead> = if file.as_os_str() == "-" {
                Box::new(BufReader::new(std::io::stdin()))
            } else {
                Box::new(BufReader::new(
                    std::fs::File::open(&file)
                        .with_context(|| format!("opening {}", file.display()))?,
                ))
            };
            let mut sightings = Vec::new();
            for (number, line) in reader.lines().enumerate() {
                let line = line.with_context(|| format!("reading {}", file.display()))?;
                if line.trim().is_empty() || line.starts_with('#') {
                    continue;
                }
                match parse_sighting_line(&line, rssi) {
                    Ok(sighting) => sightings.push(sighting),
                    Err(error) => bail!("{}:{}: {error}", file.display(), number + 1),
                }
            }
            let new = phone.observe(now, &sightings)?;
            eprintln!("recorded {new} new sightings ({} lines)", sightings.len());
        }
        PhoneCommand::Checkin { url } => match phone.checkin(&url, now)? {
            ScanOutcome::CheckedIn(visit) => print_json(&serde_json::json!({
                "checkedIn": visit.description, "address": visit.address,
                "start": visit.start, "automaticCheckOut": visit.automatic_end,
            }))?,
            ScanOutcome::CheckedOut(visit) => print_json(&serde_json::json!({
                "checkedOut": visit.description, "start": visit.start, "end": visit.end(),
            }))?,
        },
        PhoneCommand::Checkout => match phone.checkout(now)? {
            Some(visit) => print_json(&serde_json::json!({
                "checkedOut": visit.description, "start": visit.start, "end": visit.end(),
            }))?,
            None => eprintln!("not checked in anywhere"),
        },
        PhoneCommand::Report { code } => print_json(&phone.report(&code, now, &mut rng)?)?,
        PhoneCommand::Sync { wait } => {
            if let Some(seconds) = wait {
                let news = phone.wait_for_new_keys(seconds)?;
                eprintln!(
                    "{}",
                    if news {
                        "the server has new keys"
                    } else {
                        "no new keys yet"
                    }
                );
            }
            print_json(&phone.sync(now, &mut rng)?)?
        }
        PhoneCommand::Status => print_json(&phone.status(now)?)?,
    }
    Ok(ExitCode::SUCCESS)
}
