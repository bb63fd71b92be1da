//! `openstopcovid`: the one binary of OpenStopCovid.
//!
//! # Layout
//!
//! - `cmd::keys`: `keys derive | inspect | match`, tools over GAEN keys and export files.
//! - `cmd::venue`: `venue …`, venue QR codes and posters.
//! - `cmd::serve`: `serve`, the backend.
//! - `cmd::authority`: `authority api-key | user | keys`, the health authority's administration.
//! - `cmd::phone`: `phone …`, the citizen's phone core driven from the command line.
//! - `cmd::demo`: `demo` and `simulate`, the whole system on a simulated town.
//! - `town_run`: drives the simulated town's phones against an in-process server.
//!
//! Each command group lives in its own module under `cmd/` and exposes an
//! `Args` type (clap) and a `run` function returning the process exit code.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;
mod town_run;

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
    /// Venues: create them, print their QR posters, check warnings, warn guests, decode codes.
    #[command(subcommand)]
    Venue(cmd::venue::VenueCommand),
    /// Run the backend server.
    Serve(cmd::serve::ServeArgs),
    /// Health-authority administration: API keys, accounts, signing keys.
    #[command(subcommand)]
    Authority(cmd::authority::AuthorityCommand),
    /// The citizen's phone core from the command line (simulation and tests).
    Phone(cmd::phone::PhoneArgs),
    /// Run the whole system on this machine: a server, physicians and a simulated town.
    Demo(cmd::demo::DemoArgs),
    /// Simulate a larger town against an in-process server and report throughput.
    Simulate(cmd::demo::SimulateArgs),
    /// Measure the server: `bench upload` (key uploads per second over HTTP, durable).
    #[command(subcommand)]
    Bench(cmd::bench::BenchCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keys(command) => cmd::keys::run(command),
        Command::Venue(command) => cmd::venue::run(command),
        Command::Serve(args) => cmd::serve::run(args),
        Command::Authority(command) => cmd::authority::run(command),
        Command::Phone(args) => cmd::phone::run(args),
        Command::Demo(args) => cmd::demo::run_demo(args),
        Command::Simulate(args) => cmd::demo::run_simulate(args),
        Command::Bench(command) => cmd::bench::run(command),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}
