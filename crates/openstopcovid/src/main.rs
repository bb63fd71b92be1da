//! `openstopcovid`: the one binary of OpenStopCovid.
//!
//! # Layout
//!
//! - `cmd::keys`: `keys derive | inspect | match`, tools over GAEN keys and export files.
//! - `cmd::venue`: `venue …`, venue QR codes and posters.
//!
//! Each command group lives in its own module under `cmd/` and exposes an
//! `Args` type (clap) and a `run` function returning the process exit code.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;

/// OpenStopCovid: privacy-preserving exposure notification for public-health authorities.
#[derive(Parser, Debug)]
#[command(name = "openstopcovid", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Derive identifiers, inspect export files and match sightings against them.
    #[command(subcommand)]
    Keys(cmd::keys::KeysCommand),
    /// Venue QR codes: decode them (and, with the presence features, create and print them).
    #[command(subcommand)]
    Venue(cmd::venue::VenueCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keys(command) => cmd::keys::run(command),
        Command::Venue(command) => cmd::venue::run(command),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}
