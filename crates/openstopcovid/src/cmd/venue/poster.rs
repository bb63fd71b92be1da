//! `openstopcovid venue poster VENUE-FILE [--room N] --format pdf|svg --output FILE`: a
//! room's printable A4 poster (see the `poster` crate).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use poster::{poster_pdf, poster_svg};

use super::load_venue_file;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PosterFormat {
    Pdf,
    Svg,
}

#[derive(clap::Args, Debug)]
pub struct PosterArgs {
    /// The venue file written by `venue create`.
    pub venue_file: PathBuf,
    /// Which room (0 for the first).
    #[arg(long, default_value_t = 0)]
    pub room: usize,
    #[arg(long, value_enum)]
    pub format: PosterFormat,
    #[arg(long)]
    pub output: PathBuf,
}

pub fn run(args: PosterArgs) -> anyhow::Result<ExitCode> {
    let file = load_venue_file(&args.venue_file)?;
    let room = file.room(args.room)?;
    let bytes = match args.format {
        PosterFormat::Svg => poster_svg(&file, room)?.into_bytes(),
        PosterFormat::Pdf => poster_pdf(&file, room)?,
    };
    std::fs::write(&args.output, bytes)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    println!("{}", args.output.display());
    Ok(ExitCode::SUCCESS)
}
