use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum KeysCommand {}

pub fn run(command: KeysCommand) -> anyhow::Result<ExitCode> {
    match command {}
}
