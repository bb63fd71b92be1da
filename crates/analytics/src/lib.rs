//! Private analytics of OpenStopCovid: what opted-in phones tell epidemiologists, and how
//! no one learns what any one phone said.
//!
//! Every opted-in phone sends, once a day, one measurement of every [`Metric`] as a Prio3
//! histogram, split into two shares for DAP's leader and helper (two aggregators run by
//! independent organisations); neither sees a phone's answer, and each adds
//! differential-privacy noise to what it releases. This crate is the pure core of that:
//! no network, no clock, no files. Time and randomness come in as arguments. The phone
//! core (`crates/phone`) gathers the facts and uploads; the command line
//! (`openstopcovid authority analytics collect`) collects. `docs/analytics.md` is the
//! design note, with the privacy arithmetic.
//!
//! # Layout
//!
//! - [`metric`]: the nine daily metrics, their buckets, their Prio3 VDAFs.
//! - [`encode`]: a phone's facts about a day to one bucket per metric.
//! - [`privacy`]: ε, the minimum batch size, the noise scale and bounds, the budget.
//! - [`aggregate`]: a batch aggregated in-process through both aggregators' preparation.
//! - [`dap`]: DAP-09 messages: a phone's sealed report; the collector's request and the
//!   opening of a collection.

pub mod aggregate;
pub mod dap;
pub mod encode;
pub mod metric;
pub mod privacy;

pub use aggregate::{Collected, aggregate_in_process, true_counts};
pub use encode::{DailyFacts, DailyMeasurements, encode};
pub use metric::Metric;
pub use privacy::Noise;

/// What can go wrong in the analytics core.
#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    #[error("VDAF: {0}")]
    Vdaf(#[from] prio::vdaf::VdafError),
    #[error("differential privacy parameters: {0}")]
    Privacy(#[from] prio::dp::DpError),
    #[error("Prio3 preparation asked for a second round; it has one")]
    UnexpectedRound,
    #[error("DAP encoding: {0}")]
    Codec(#[from] prio::codec::CodecError),
    #[error("HPKE: {0}")]
    Hpke(hpke::HpkeError),
    #[error("analytics configuration: {0}")]
    Config(String),
    #[error("bucket {bucket} is outside {metric}'s {length} buckets")]
    BucketOutOfRange {
        metric: Metric,
        bucket: usize,
        length: usize,
    },
}
