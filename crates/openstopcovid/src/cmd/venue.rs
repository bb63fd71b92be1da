//! `openstopcovid venue …`: a venue owner's tools (create a venue, print its posters,
//! learn whether a positive visitor was there, warn guests with an authority code) and
//! the decoder of any venue QR code.
//!
//! One file per subcommand under `venue/`; add a variant here and a module there.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use presence::VenueFile;

mod create;
mod decode;
mod poster;
mod status;
mod warn;

#[derive(clap::Subcommand, Debug)]
pub enum VenueCommand {
    /// Create a venue (one or more rooms, or a temporary event) and write its venue file:
    /// the owner's private backup, from which posters are printed and warnings matched.
    Create(create::CreateArgs),
    /// Print the A4 poster (PDF or SVG) with the QR code of each room of a venue file.
    Poster(poster::PosterArgs),
    /// Decode a venue QR code (ours, Corona-Warn-App's or CrowdNotifier's) and print its
    /// fields as JSON.
    Decode(decode::DecodeArgs),
    /// Download the published warnings and say whether a positive visitor was at one of
    /// the venue file's rooms (matched here: the file never leaves this machine).
    Status(status::StatusArgs),
    /// Warn the guests of one room and time window, with a code from the health authority.
    Warn(warn::WarnArgs),
}

pub fn run(command: VenueCommand) -> anyhow::Result<ExitCode> {
    match command {
        VenueCommand::Create(args) => create::run(args),
        VenueCommand::Poster(args) => poster::run(args),
        VenueCommand::Decode(args) => decode::run(args),
        VenueCommand::Status(args) => status::run(args),
        VenueCommand::Warn(args) => warn::run(args),
    }
}

/// Reads a venue file written by `venue create` or downloaded from the `/venues` pages.
pub(crate) fn load_venue_file(path: &Path) -> anyhow::Result<VenueFile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the venue file {}", path.display()))?;
    VenueFile::parse(&text)
        .with_context(|| format!("{} is not a usable venue file", path.display()))
}
