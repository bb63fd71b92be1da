use std::process::ExitCode;

/// (in progress)
#[derive(clap::Args, Debug)]
pub struct MatchArgs {}

pub fn run(_args: MatchArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not yet available")
}
