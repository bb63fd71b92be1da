//! What every handler and job shares: [`AppState`] (configuration, store, keys, clock,
//! metrics, export store, the verify limiter, push news, the upload writer), how it is
//! opened, and why opening it can fail.
//!
//! The lowest module of the HTTP side: route modules and jobs import it, and it imports
//! none of them, so that imports only run downwards (the router is assembled on top, in
//! the `service` module).

use std::ops::Deref;
use std::sync::Arc;

use object_store::ObjectStore;

use crate::clock::SharedClock;
use crate::config::{Config, ConfigError};
use crate::datastore::{Store, StoreError};
use crate::metrics::Metrics;
use crate::news::News;
use crate::prebuilt::AnswerCache;
use crate::rate_limit::VerifyLimiter;
use crate::sign_in_limits::SignInLimits;
use crate::signing::{KeyError, KeyRing};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("export store: {0}")]
    ExportStore(String),
    #[error("cannot create the data directory or listen: {0}")]
    Io(#[from] std::io::Error),
}

/// What every handler and job shares. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<SharedState>,
}

/// The contents of [`AppState`].
pub struct SharedState {
    pub config: Config,
    pub store: Store,
    pub keys: KeyRing,
    pub clock: SharedClock,
    pub metrics: Metrics,
    /// Where daily export files are written (local directory, memory or S3).
    pub exports: Arc<dyn ObjectStore>,
    /// Identifies this process in database leases.
    pub instance_id: String,
    pub(crate) verify_limiter: VerifyLimiter,
    /// Recent real work durations, for fakes to wait as long ([`crate::timing`]).
    pub(crate) timings: crate::timing::Timings,
    /// Wakes the phones waiting on `/v1/push/keys` (see [`crate::push`]).
    pub news: News,
    /// Bounded password checks and per-client backoff of the physicians' sign-in.
    pub sign_in: SignInLimits,
    /// Key download answers, each built once ([`crate::prebuilt`]).
    pub(crate) downloads: AnswerCache<crate::keys::DownloadAnswer>,
    /// Warning packages, each built once ([`crate::prebuilt`]).
    pub(crate) warnings: AnswerCache<crate::presence::warnings::WarningsAnswer>,
    /// The zone of `config.time_zone`, read once (the configuration was validated).
    pub time_zone: jiff::tz::TimeZone,
}

impl Deref for AppState {
    type Target = SharedState;
    fn deref(&self) -> &SharedState {
        &self.inner
    }
}

impl AppState {
    /// Opens the store, loads or creates the keys and the export store.
    pub async fn open(config: Config, clock: SharedClock) -> Result<Self, StartError> {
        config.validate()?;
        std::fs::create_dir_all(&config.data_dir)?;
        let now = clock.now_unix_seconds();
        let keys = KeyRing::load_or_create(&config.data_dir, now, &config.region)?;
        let store = Store::connect(&config.effective_database_url()).await?;
        Self::with_store(config, clock, store, keys)
    }

    /// Builds the state around an already opened store (tests pick their own schema).
    pub fn with_store(
        config: Config,
        clock: SharedClock,
        store: Store,
        keys: KeyRing,
    ) -> Result<Self, StartError> {
        let exports = open_export_store(&config)?;
        let metrics = Metrics::default();
        let time_zone = crate::web::local_time::time_zone(&config.time_zone).ok_or_else(|| {
            crate::config::ConfigError::Invalid(format!("unknown time_zone {:?}", config.time_zone))
        })?;
        Ok(Self {
            inner: Arc::new(SharedState {
                verify_limiter: VerifyLimiter::new(
                    clock.clone(),
                    config.verify_per_client_per_minute,
                    config.verify_failures_per_network_per_hour,
                ),
                config,
                store,
                keys,
                clock,
                news: News::default(),
                sign_in: SignInLimits::default(),
                metrics,
                timings: crate::timing::Timings::default(),
                downloads: AnswerCache::default(),
                warnings: AnswerCache::default(),
                exports,
                instance_id: uuid::Uuid::new_v4().to_string(),
                time_zone,
            }),
        })
    }

    /// The current time, unix seconds.
    pub fn now(&self) -> i64 {
        self.clock.now_unix_seconds()
    }
}

fn open_export_store(config: &Config) -> Result<Arc<dyn ObjectStore>, StartError> {
    let failed = |error: &dyn std::fmt::Display| StartError::ExportStore(error.to_string());
    let local = |dir: std::path::PathBuf| -> Result<Arc<dyn ObjectStore>, StartError> {
        std::fs::create_dir_all(&dir)?;
        // Folders emptied by the purge go too (those of stored answers, one per epoch).
        let store = object_store::local::LocalFileSystem::new_with_prefix(&dir)
            .map_err(|e| failed(&e))?
            .with_automatic_cleanup(true);
        Ok(Arc::new(store))
    };
    match config.export_store_url.as_deref() {
        None => local(config.data_dir.join("exports")),
        Some(url) if url.starts_with("memory:") => {
            Ok(Arc::new(object_store::memory::InMemory::new()))
        }
        Some(url) if url.starts_with("file://") => {
            local(std::path::PathBuf::from(&url["file://".len()..]))
        }
        #[cfg(feature = "s3")]
        Some(url) if url.starts_with("s3://") => {
            let store = object_store::aws::AmazonS3Builder::from_env()
                .with_url(url)
                .build()
                .map_err(|e| failed(&e))?;
            // The builder reads the bucket from the URL and ignores the rest: the prefix
            // (`s3://bucket/prefix`) is applied here, so that several deployments can
            // share a bucket.
            let prefix = s3_prefix(url);
            if prefix.is_empty() {
                Ok(Arc::new(store))
            } else {
                Ok(Arc::new(object_store::prefix::PrefixStore::new(
                    store, prefix,
                )))
            }
        }
        Some(_) => Err(StartError::ExportStore(
            "export_store_url must be file:///dir, memory:/// or (with the s3 feature) s3://bucket"
                .to_owned(),
        )),
    }
}

/// The object prefix of `s3://bucket/prefix/…` (without slashes around it; empty for none).
#[cfg(any(feature = "s3", test))]
fn s3_prefix(url: &str) -> &str {
    let rest = url.strip_prefix("s3://").unwrap_or(url);
    rest.split_once('/')
        .map_or("", |(_, prefix)| prefix.trim_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::s3_prefix;

    #[test]
    fn the_prefix_of_an_s3_url_is_what_follows_the_bucket() {
        assert_eq!(s3_prefix("s3://exports"), "");
        assert_eq!(s3_prefix("s3://exports/"), "");
        assert_eq!(s3_prefix("s3://exports/fr/prod/"), "fr/prod");
    }
}
