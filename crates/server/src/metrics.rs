//! Prometheus metrics, served as text at `/metrics`.
//!
//! Counters say how much happens, never to whom: no label carries a code, a token, a key
//! or anything about a client.

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
    /// Code checks by outcome: `accepted`, `rejected`, `fake`, `rate_limited`.
    pub code_verifications: Family<Labels, Counter>,
    /// Key uploads by kind: `real`, `fake`, `next_day`, `next_day_fake`.
    pub key_uploads: Family<Labels, Counter>,
    /// Diagnosis keys stored (after validation and de-duplication).
    pub keys_stored: Counter,
    /// Error answers by HTTP status.
    pub failures: Family<Labels, Counter>,
    /// Sizes of export files served or written, in bytes.
    pub export_bytes: Histogram,
    /// Rows deleted by the retention purge, by table.
    pub purged_rows: Family<Labels, Counter>,
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
        registry.register("keys_stored", "Diagnosis keys stored", keys_stored.clone());
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
        Self {
            registry,
            codes_issued,
            code_verifications,
            key_uploads,
            keys_stored,
            failures,
            export_bytes,
            purged_rows,
        }
    }
}

impl Metrics {
    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
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
