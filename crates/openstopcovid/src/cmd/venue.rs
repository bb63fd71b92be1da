//! `openstopcovid venue …`: tools for venue QR codes.
//!
//! One file per subcommand under `venue/`; add a variant here and a module there.

use std::process::ExitCode;

mod decode;

#[derive(clap::Subcommand, Debug)]
pub enum VenueCommand {
    /// Decode a venue QR code (ours, Corona-Warn-App's or CrowdNotifier's) and print its
    /// fields as JSON.
    Decode(decode::DecodeArgs),
}

pub fn run(command: VenueCommand) -> anyhow::Result<ExitCode> {
    match command {
        VenueCommand::Decode(args) => decode::run(args),
    }
}
