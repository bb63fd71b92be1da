use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum VenueCommand {}

pub fn run(command: VenueCommand) -> anyhow::Result<ExitCode> {
    match command {}
}
