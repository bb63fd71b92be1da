//! The authority's configuration for the apps, `GET /v1/config`: one signed JSON document
//! with an `ETag`, which phones fetch when they sync and keep until it changes.
//!
//! It carries the private analytics (`analytics`: the DAP aggregators, and one task per
//! metric, from the server's configuration file) and what the authority tunes without
//! shipping an app ([`crate::app_settings`]: `risk`, `venues`, `texts`, with the
//! `version` an administrator saved). A later field is one more optional member, which
//! older phones ignore; phones bound the document's size ([`MAX_APP_CONFIGURATION_BYTES`]).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app_settings::{AppSettings, RiskParameters, Texts, VenueParameters};

/// Largest `/v1/config` document a phone reads. The settings' texts are bounded (ten
/// instructions of 1,000 characters, up to 4 bytes each, and a few short fields); this
/// leaves room for analytics and later members.
pub const MAX_APP_CONFIGURATION_BYTES: usize = 256 * 1024;

/// The answer to `GET /v1/config`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppConfiguration {
    /// Private analytics; absent when the authority collects none (phones then send
    /// nothing, whatever their user chose).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analytics: Option<AnalyticsConfiguration>,
    /// The version of the settings below, counted from 1 by every save; absent while the
    /// authority serves the built-in defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// The risk model's parameters (proximity channel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<RiskParameters>,
    /// The venue channel's rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub venues: Option<VenueParameters>,
    /// What the phone tells its user, in French and English.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub texts: Option<Texts>,
}

impl AppConfiguration {
    /// The authority's settings, when the document carries all of them.
    pub fn settings(&self) -> Option<AppSettings> {
        Some(AppSettings {
            risk: self.risk.clone()?,
            venues: self.venues.clone()?,
            texts: self.texts.clone()?,
        })
    }
}

/// Where and how opted-in phones send their daily analytics reports (DAP-09, Prio3).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsConfiguration {
    /// The DAP leader's base URL (reports go to `{leader}/tasks/{taskId}/reports`).
    pub leader: String,
    /// The DAP helper's base URL (run by an organisation independent of the leader's).
    pub helper: String,
    /// DAP time precision of the tasks, in seconds: report times are rounded down to it.
    pub time_precision_seconds: u64,
    /// The tasks' minimum batch size: the aggregators release no smaller batch.
    pub min_batch_size: u64,
    /// ε of the discrete-Laplace noise each aggregator adds to a daily batch, for the
    /// app's explanation to its user (the aggregators' tasks enforce it).
    pub epsilon: f64,
    /// One DAP task per metric.
    pub tasks: Vec<AnalyticsTask>,
}

/// One metric's DAP task.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnalyticsTask {
    /// The metric's name (`active_phones`, `warning_shown`, ...; docs/analytics.md).
    pub metric: String,
    /// The DAP task id: 32 bytes, base64url without padding.
    pub task_id: String,
    /// The leader's HPKE configuration for the task (DAP `HpkeConfig` encoding,
    /// base64url without padding): the key the leader's share is encrypted to.
    pub leader_hpke_config: String,
    /// The helper's HPKE configuration for the task (same encoding).
    pub helper_hpke_config: String,
}
