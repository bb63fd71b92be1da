use std::process::ExitCode;

/// (in progress)
#[derive(clap::Args, Debug)]
pub struct DeriveArgs {}

pub fn run(_args: DeriveArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not yet available")
}
