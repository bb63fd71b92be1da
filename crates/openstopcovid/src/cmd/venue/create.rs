//! `openstopcovid venue create`: a new venue (or event) with one QR code per room,
//! written as a venue file.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use presence::{DEFAULT_QR_CODE_PREFIX, NewVenue, VenueFile, VenueType, parse_venue_type};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  openstopcovid venue create --name 'Café des Arts' --address '1 place du Marché, Lyon' \\
      --type food-service --default-stay 60 --room Terrasse --room Salle
  openstopcovid venue create --name 'Concert' --address 'Parc' --type cultural-event \\
      --start 2026-07-14T20:00:00+02:00 --end 2026-07-14T23:30:00+02:00

Types: other-place, other-event, retail, food-service, craft, workplace,
educational-institution, public-building, cultural-event, club-activity,
private-event, worship-service (or their numbers 1-12). Events need --start and --end.
Prints the path of the venue file: keep it; it is the venue's backup and needed to
print posters again and to learn about warnings.")]
pub struct CreateArgs {
    /// The venue's name, as visitors' phones show it (one line, at most 100 characters).
    #[arg(long)]
    pub name: String,
    /// One line, at most 100 characters.
    #[arg(long)]
    pub address: String,
    /// Kind of venue (see "Types" below); it sets the phones' default risk rules.
    #[arg(long = "type", value_parser = venue_type)]
    pub venue_type: VenueType,
    /// Usual length of a visit, in minutes (phones check out automatically after it).
    #[arg(long)]
    pub default_stay: Option<u32>,
    /// A room with its own QR code (repeat for several rooms; none: one code).
    #[arg(long = "room")]
    pub rooms: Vec<String>,
    /// Start of an event (RFC 3339).
    #[arg(long, value_parser = parse_time)]
    pub start: Option<u64>,
    /// End of an event (RFC 3339).
    #[arg(long, value_parser = parse_time)]
    pub end: Option<u64>,
    /// Where to write the venue file (default: <name>.venue.json here).
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Prefix of this deployment's venue codes (default: {--public-url}/app/?v=1# when a
    /// public address is given, else the protocol's default prefix).
    #[arg(long)]
    pub prefix: Option<String>,
    /// The server's public address (as `serve --public-url`; default
    /// OPENSTOPCOVID_PUBLIC_URL): the codes open the citizen web app there.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
}

fn venue_type(text: &str) -> Result<VenueType, String> {
    parse_venue_type(text).ok_or_else(|| format!("unknown venue type {text:?} (see --help)"))
}

pub fn parse_time(text: &str) -> Result<u64, String> {
    let time = OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|_| format!("{text:?} is not an RFC 3339 time like 2026-07-14T20:00:00+02:00"))?;
    u64::try_from(time.unix_timestamp()).map_err(|_| format!("{text:?} is before 1970"))
}

pub fn run(args: CreateArgs) -> anyhow::Result<ExitCode> {
    let new = NewVenue {
        name: args.name.clone(),
        address: args.address.clone(),
        venue_type: args.venue_type,
        default_stay_minutes: args.default_stay,
        rooms: args.rooms.clone(),
        start: args.start,
        end: args.end,
    };
    let public_url = args
        .public_url
        .clone()
        .or_else(|| std::env::var("OPENSTOPCOVID_PUBLIC_URL").ok());
    let prefix = match (&args.prefix, public_url) {
        (Some(prefix), _) => prefix.clone(),
        (None, Some(url)) => {
            server::config::check_public_url(&url)?;
            server::config::venue_code_prefix(&url)
        }
        (None, None) => DEFAULT_QR_CODE_PREFIX.to_owned(),
    };
    let file = VenueFile::create(&new, &prefix, &mut rand::rng())?;
    let path = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(file.file_name()));
    if path.exists() {
        bail!(
            "{} exists already; choose another --output (a venue file is the venue's only key)",
            path.display()
        );
    }
    std::fs::write(&path, file.to_json())
        .map_err(|error| anyhow::anyhow!("cannot write {}: {error}", path.display()))?;
    println!("{}", path.display());
    Ok(ExitCode::SUCCESS)
}
