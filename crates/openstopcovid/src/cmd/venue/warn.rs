//! `openstopcovid venue warn VENUE-FILE --code CODE --from T --to T --server URL`: the
//! venue owner, with a venue-warning code from the health authority (issued for that
//! purpose: a patient's code is refused), warns the guests of one room and time window. The reports are made here (encrypted with the room's location id, padded
//! and shuffled by `presence::warn_on_behalf`); the server gets only ciphertexts.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use messages::authority::{AccessToken, FakeFlag, VerifyRequest};
use messages::check_ins::{CheckInUploadRequest, ProtectedReportJson};
use presence::{TimeWindow, warn_on_behalf};

use super::create::parse_time;
use super::load_venue_file;
use super::status::{http_agent, problem_detail};

/// Risk level of an owner's warning: the authority decided there was an outbreak.
pub const WARN_ON_BEHALF_RISK_LEVEL: u32 = 8;

#[derive(clap::Args, Debug)]
pub struct WarnArgs {
    /// The venue file written by `venue create`.
    pub venue_file: PathBuf,
    /// Which room (0 for the first).
    #[arg(long, default_value_t = 0)]
    pub room: usize,
    /// The 12-digit venue-warning code the health authority gave you (a patient's code
    /// cannot warn on behalf of a venue).
    #[arg(long)]
    pub code: String,
    /// Start of the window (RFC 3339).
    #[arg(long, value_parser = parse_time)]
    pub from: u64,
    /// End of the window (RFC 3339); guests up to 30 minutes later are warned too.
    #[arg(long, value_parser = parse_time)]
    pub to: u64,
    #[arg(long)]
    pub server: String,
}

pub fn run(args: WarnArgs) -> anyhow::Result<ExitCode> {
    let file = load_venue_file(&args.venue_file)?;
    let room = file.room(args.room)?;
    let code = room.code()?;
    let reports = warn_on_behalf(
        &code.location_id,
        TimeWindow::new(args.from, args.to),
        WARN_ON_BEHALF_RISK_LEVEL,
        &mut rand::rng(),
    )?;
    let server = args.server.trim_end_matches('/');
    let agent = http_agent();
    let digits: String = args.code.chars().filter(char::is_ascii_digit).collect();
    let mut verified = agent
        .post(&format!("{server}/v1/codes/verify"))
        .send_json(VerifyRequest {
            code: digits,
            fake: Some(FakeFlag::Bool(false)),
        })
        .with_context(|| format!("cannot reach {server}"))?;
    if !verified.status().is_success() {
        bail!("the code was refused: {}", problem_detail(&mut verified));
    }
    let AccessToken {
        access_token: token,
    } = verified
        .body_mut()
        .read_json()
        .context("the server did not answer with a token")?;
    let body = CheckInUploadRequest {
        check_in_protected_reports: reports.iter().map(ProtectedReportJson::from).collect(),
        fake: 0,
    };
    let mut uploaded = agent
        .post(&format!("{server}/v1/venues/warnings"))
        .header("Authorization", &format!("Bearer {token}"))
        .send_json(body)?;
    if !uploaded.status().is_success() {
        bail!("the warning was refused: {}", problem_detail(&mut uploaded));
    }
    println!(
        "Warning sent for {}. Guests who were there then (or up to 30 minutes later) will be warned within the hour.",
        room.description
    );
    Ok(ExitCode::SUCCESS)
}
