//! GAEN v2 risk scoring: exposure windows, daily summaries and a none/low/high verdict.
//!
//! The matching engine tells which published keys this phone saw and when
//! ([`ExposureMatch`]). This module turns that into what a person needs to know: was I
//! close enough, long enough, to someone infectious enough to act on it? It follows the
//! model of the Exposure Notification framework v2 (`ExposureWindow`, `ScanInstance`,
//! `DiagnosisKeysDataMapping`, `DailySummariesConfig`, `DailySummary`), computed here on
//! the phone's own sightings. Everything is pure: no clock, no I/O.
//!
//! # The model, step by step
//!
//! 1. **Key metadata.** Each key's `days_since_onset_of_symptoms` maps to an
//!    [`Infectiousness`] (`None`, `Standard`, `High`) through a table for days −14..=14;
//!    a missing value and a value outside the table have their own settings. A key published
//!    with report type `Unknown` is treated as
//!    [`report_type_when_missing`](RiskConfiguration::report_type_when_missing). Keys that
//!    are `Revoked`, or whose infectiousness is `None`, are dropped here: they never count
//!    (ENF ≥ 1.7 drops them too). The v1 `transmission_risk_level` is not used.
//! 2. **Scan instances.** Time is cut into fixed [`SCAN_SLOT_SECONDS`] (30 s) slots; the
//!    sightings of one key in one slot are one scan ([`ScanInstance`]), with the rounded mean
//!    (`typical_attenuation_db`) and minimum of their attenuations. Each scan stands for the
//!    time since the previous scan that saw this key, at most
//!    [`MAXIMUM_SECONDS_SINCE_LAST_SCAN`] (5 min); the first scan of a key stands for
//!    [`DEFAULT_SECONDS_SINCE_LAST_SCAN`] (2 min), the values ENF uses. A scan never
//!    stands for time before the UTC midnight preceding it (days are scored apart, so the
//!    time before midnight belongs to the previous day). A phone that scans
//!    every 5 minutes thus credits about 5 minutes per scan, and one that reports sightings
//!    continuously credits the time between them, so both measure the same duration.
//! 3. **Attenuation.** From the matched sighting (`tx_power − rssi`). When the metadata
//!    gave no TX power, [`tx_power_when_unknown_dbm`](RiskConfiguration::tx_power_when_unknown_dbm)
//!    is assumed and the window's [`CalibrationConfidence`] is `Lowest`.
//! 4. **Exposure windows.** The scans of one key are grouped into [`ExposureWindow`]s of at
//!    most [`WINDOW_SECONDS`] (30 min), aligned to UTC half hours so that a window never
//!    crosses midnight and belongs to exactly one day. (ENF starts a window at its first
//!    sighting instead; fixed edges mean a new sighting never regroups the others.)
//! 5. **Window score.** Each scan's seconds are weighted by its attenuation bucket
//!    (immediate ≤ t₀ < near ≤ t₁ < medium ≤ t₂ < other, on the typical attenuation):
//!    `weighted duration = Σ seconds × bucket weight`, then
//!    `score = weighted duration × report-type weight × infectiousness weight`.
//!    Windows scoring below [`minimum_window_score`](RiskConfiguration::minimum_window_score)
//!    are left out.
//! 6. **Daily summaries.** Per UTC day: the maximum window score, the sum of window scores
//!    and the sum of weighted durations ([`DailySummary`]). Units are weighted seconds.
//! 7. **Verdict.** A day whose score sum reaches
//!    [`high_risk_daily_score_seconds`](RiskConfiguration::high_risk_daily_score_seconds) is a
//!    high-risk day; one that reaches
//!    [`low_risk_daily_score_seconds`](RiskConfiguration::low_risk_daily_score_seconds) is a
//!    low-risk day. The overall [`RiskLevel`] is that of the worst day.
//!
//! # Defaults and where they come from
//!
//! | parameter | default | source |
//! |---|---|---|
//! | bucket thresholds | 55 / 67 / 75 dB | LFPH Risk Score Symposium, "Narrow Net v2" (lfph/gaen-risk-scoring) |
//! | bucket weights | 175 % / 100 % / 33 % / 0 % | same |
//! | days since onset → infectiousness | −14…−5 none, −4…−3 standard, −2…+3 high, +4…+5 standard, +6…+14 none | same, v2 symptom-onset map |
//! | infectiousness weights | standard 30 %, high 100 % | same |
//! | days since onset missing | standard | our choice: a published key is infectious, but how much is unknown |
//! | days since onset outside −14…14 | none | our choice (ENF falls back to the "missing" value); such keys are long past infectiousness |
//! | report type missing | confirmed test | CWA `diagnosis-keys-data-mapping` (`report-type-when-missing: 1`) |
//! | report-type weights | confirmed test 100 %, clinical diagnosis 75 %, self report 50 %, recursive 0 % | ratios of CWA's transmission-risk encoding (offsets 6/4/2/0, multiplier 0.2, high infectiousness: 1.6/1.2/0.8; recursive falls under its TRL 1–2 filter) |
//! | minimum window score | 0 | ENF's recommendation ("use 0 to consider all windows") |
//! | low-risk day | ≥ 5 weighted minutes (300) | LFPH tiered notifications: under 5 none, 5–15 advisory |
//! | high-risk day | ≥ 15 weighted minutes (900) | LFPH / CDC close contact: 15 minutes within 24 h |
//! | TX power when unknown | −15 dBm | ENF's reference advertiser transmits at Android's `TX_POWER_LOW` (−15 dBm) |
//!
//! # Guarantees
//!
//! With a configuration that passes [`RiskConfiguration::validate`] (bucket weights never
//! grow with distance): moving any sighting closer never lowers a score or the level; a
//! further exposure (another key, or later scans of a key) never lowers them; and a new
//! sighting at least as close as every other sighting of its key never lowers them. A
//! *farther* sighting can lower a score: a far scan between two close ones is evidence that
//! the contact moved away, and, as in ENF, the time since the previous scan is then credited
//! at the far attenuation. `tests/risk.rs` checks these properties.
//!
//! Retention (14 days) is the caller's business: this module scores whatever it is given.

mod configuration;
mod summary;
mod window;

pub use configuration::{
    AttenuationBucket, DAYS_SINCE_ONSET_ENTRIES, Infectiousness, InfectiousnessWeights,
    MAXIMUM_DAYS_SINCE_ONSET, MAXIMUM_WEIGHT, ReportTypeWeights, RiskConfiguration,
    RiskConfigurationError,
};
pub use summary::{DailySummary, daily_summaries};
pub use window::{
    CalibrationConfidence, DEFAULT_SECONDS_SINCE_LAST_SCAN, ExposureWindow,
    MAXIMUM_SECONDS_SINCE_LAST_SCAN, SCAN_SLOT_SECONDS, SECONDS_PER_DAY, ScanInstance,
    WINDOW_SECONDS, exposure_windows,
};

use crate::matching::ExposureMatch;
use core::fmt;

/// The verdict shown to the user. Ordered: `None < Low < High`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum RiskLevel {
    /// No day reached the low-risk threshold.
    #[default]
    None,
    /// Some day reached the low-risk threshold, none the high one.
    Low,
    /// Some day reached the high-risk threshold.
    High,
}

impl RiskLevel {
    /// The lowercase name used in JSON output: `"none"`, `"low"` or `"high"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Low => "low",
            Self::High => "high",
        }
    }
}

impl fmt::Display for RiskLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything [`assess`] found.
#[derive(Clone, Debug, PartialEq)]
pub struct RiskAssessment {
    /// Every window of every counted key (including windows below the minimum score).
    pub windows: Vec<ExposureWindow>,
    /// One per UTC day with a window at or above the minimum score, in day order.
    pub daily_summaries: Vec<DailySummary>,
    /// The level of the worst day.
    pub level: RiskLevel,
    /// The most recent UTC day that was a high-risk day.
    pub most_recent_high_risk_day: Option<u32>,
    /// The most recent UTC day that was at least a low-risk day: the date to show as
    /// "last exposure".
    pub most_recent_exposure_day: Option<u32>,
    /// Seconds of contact (unweighted) in the windows that reached the minimum score.
    pub exposure_seconds: u64,
}

impl RiskAssessment {
    /// [`exposure_seconds`](Self::exposure_seconds) in whole minutes, rounded to nearest.
    pub fn exposure_minutes(&self) -> u64 {
        self.exposure_seconds.saturating_add(30) / 60
    }
}

/// Scores the matches of one phone: windows, daily summaries and the verdict.
///
/// Pure and total: any input gives an answer. Pass a configuration that passes
/// [`RiskConfiguration::validate`]; an invalid one gives a meaningless (but safe) answer.
pub fn assess(matches: &[ExposureMatch], config: &RiskConfiguration) -> RiskAssessment {
    let windows = exposure_windows(matches, config);
    let daily_summaries = daily_summaries(&windows, config);
    let exposure_seconds = windows
        .iter()
        .filter(|window| config.window_score(window) >= config.minimum_window_score)
        .map(ExposureWindow::duration_seconds)
        .fold(0u64, u64::saturating_add);
    let most_recent_day_at_least = |level: RiskLevel| {
        daily_summaries
            .iter()
            .filter(|summary| summary.risk_level(config) >= level)
            .map(|summary| summary.day)
            .max()
    };
    let level = daily_summaries
        .iter()
        .map(|summary| summary.risk_level(config))
        .max()
        .unwrap_or(RiskLevel::None);
    RiskAssessment {
        most_recent_high_risk_day: most_recent_day_at_least(RiskLevel::High),
        most_recent_exposure_day: most_recent_day_at_least(RiskLevel::Low),
        level,
        exposure_seconds,
        daily_summaries,
        windows,
    }
}
