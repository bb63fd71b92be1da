//! Prometheus metrics, served as text at `/metrics`.
//!
//! Counters say how much happens, never to whom: no label carries a code, a token, a key
//! or anything about a client. No counter tells fake traffic from real: fake code checks
//! count as accepted, fake uploads as uploads, and stored keys are counted only when they
//! are released for download (a counter that moved at the upload would tell a scraper
//! which upload was real; at release, it says what every download says anyway).

use std::collections::BTreeMap;
use std::sync::Mutex;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = [(&'static str, &'static str); 1];

/// Every metric the server exports.
pub struct Metrics {
    registry: Registry,
    /// Codes issued by authorities.
    pub codes_issued: Counter,
    /// Code checks by outcome: `accepted` (fakes included), `rejected`, `rate_limited`.
    pub code_verifications: Family<Labels, Counter>,
    /// Key uploads by kind: `keys`, `next_day` (fakes included).
    pub key_uploads: Family<Labels, Counter>,
    /// Diagnosis keys stored (after validation and de-duplication), counted once released.
    keys_stored: Counter,
    /// Keys stored but not yet released: count by release time (Unix seconds).
    keys_pending: Mutex<BTreeMap<i64, u64>>,
    /// Error answers by HTTP status.
    pub failures: Family<Labels, Counter>,
    /// Sizes of export files served or written, in bytes.
    pub export_bytes: Histogram,
    /// Rows deleted by the retention purge, by table.
    pub purged_rows: Family<Labels, Counter>,
    /// Runs of the background jobs by outcome: `ok`, `failed` (alert on a rising `failed`).
    pub job_runs: Family<Labels, Counter>,
    /// Download answers made ready for this instance's memory, by kind (`keys`,
    /// `warnings`) and source: `built` here (a query, a zip, a signature) or `stored`
    /// (read from the object store, where another instance, or this one before a
    /// restart, put it).
    pub prebuilt_answers: Family<[(&'static str, &'static str); 2], Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("openstopcovid");
        let codes_issued = Counter::default();
        let code_verifications = Family::<Labels, Counter>::default();
        let key_uploads = Family::<Labels, Counter>::default();
        let keys_stored = Counter::default();
        let failures = Family::<Labels, Counter>::default();
        let export_bytes = Histogram::new(exponential_buckets(1024.0, 4.0, 10));
        let purged_rows = Family::<Labels, Counter>::default();
        let job_runs = Family::<Labels, Counter>::default();
        let prebuilt_answers = Family::<[(&'static str, &'static str); 2], Counter>::default();
        registry.register(
            "codes_issued",
            "Codes issued by health authorities",
            codes_issued.clone(),
        );
        registry.register(
            "code_verifications",
            "Code checks by outcome",
            code_verifications.clone(),
        );
        registry.register("key_uploads", "Key uploads by kind", key_uploads.clone());
        registry.register(
            "keys_stored",
            "Diagnosis keys stored, counted when released for download",
            keys_stored.clone(),
        );
        registry.register("failures", "Error answers by HTTP status", failures.clone());
        registry.register(
            "export_bytes",
            "Sizes of export files in bytes",
            export_bytes.clone(),
        );
        registry.register(
            "purged_rows",
            "Rows deleted by the retention purge",
            purged_rows.clone(),
        );
        registry.register(
            "job_runs",
            "Runs of the background jobs (export files, purge) by outcome",
            job_runs.clone(),
        );
        registry.register(
            "prebuilt_answers",
            "Download answers made ready in memory, by kind and source (built or stored)",
            prebuilt_answers.clone(),
        );
        Self {
            registry,
            codes_issued,
            code_verifications,
            key_uploads,
            keys_stored,
            keys_pending: Mutex::new(BTreeMap::new()),
            failures,
            export_bytes,
            purged_rows,
            job_runs,
            prebuilt_answers,
        }
    }
}

impl Metrics {
    /// Counts `count` keys stored now that will be released at `release_at`.
    pub fn keys_stored(&self, count: u64, release_at: i64) {
        if count > 0 {
            *self
                .keys_pending
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .entry(release_at)
                .or_insert(0) += count;
        }
    }

    /// Keys stored and released by `now`.
    pub fn keys_released(&self, now: i64) -> u64 {
        let mut pending = self
            .keys_pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let later = pending.split_off(&(now.saturating_add(1)));
        let released: u64 = pending.values().sum();
        *pending = later;
        self.keys_stored.inc_by(released);
        self.keys_stored.get()
    }

    /// The Prometheus text exposition of every metric at `now`.
    pub fn render(&self, now: i64) -> String {
        self.keys_released(now);
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }

    /// Counts one event of a labelled counter.
    pub fn count(family: &Family<Labels, Counter>, key: &'static str, value: &'static str) {
        family.get_or_create(&[(key, value)]).inc();
    }
}
