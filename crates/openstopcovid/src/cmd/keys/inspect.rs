use std::process::ExitCode;

/// (in progress)
#[derive(clap::Args, Debug)]
pub struct InspectArgs {}

pub fn run(_args: InspectArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not yet available")
}
