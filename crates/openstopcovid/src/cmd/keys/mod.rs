//! `openstopcovid keys …`: tools over GAEN keys and key-export files.

use std::process::ExitCode;

mod derive;
mod inspect;
mod matching;

#[derive(clap::Subcommand, Debug)]
pub enum KeysCommand {
    Derive(derive::DeriveArgs),
    Inspect(inspect::InspectArgs),
    Match(matching::MatchArgs),
}

pub fn run(command: KeysCommand) -> anyhow::Result<ExitCode> {
    match command {
        KeysCommand::Derive(args) => derive::run(args),
        KeysCommand::Inspect(args) => inspect::run(args),
        KeysCommand::Match(args) => matching::run(args),
    }
}
