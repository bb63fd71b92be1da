//! Server configuration: built-in defaults, then a TOML file, then `OPENSTOPCOVID_*`
//! environment variables, then command-line flags (each layer overrides the previous).
//!
//! The TOML keys are the field names below (`data_dir`, `listen`, `database_url`,
//! `release_bucket_seconds`, ...); the environment variable for a key is its name in
//! upper case with the `OPENSTOPCOVID_` prefix, e.g. `OPENSTOPCOVID_RELEASE_BUCKET_SECONDS`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Default release bucket: keys become downloadable in 2-hour steps.
pub const DEFAULT_RELEASE_BUCKET_SECONDS: u64 = 7200;
/// Default lifetime of an authority code.
pub const DEFAULT_CODE_LIFETIME_SECONDS: u64 = 24 * 3600;
/// Longest lifetime of an upload token (PROTOCOLS.md §3).
pub const MAX_TOKEN_LIFETIME_SECONDS: u64 = 3600;
/// Default overlap during which a rotated-out signing key still verifies.
pub const DEFAULT_KEY_OVERLAP_SECONDS: u64 = 7 * 86_400;

/// Everything `serve` needs.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where signing keys, the code secret, the SQLite database and local export files live.
    pub data_dir: PathBuf,
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// `postgres://…` to use PostgreSQL; `sqlite://…` for another SQLite file; unset means
    /// `<data_dir>/openstopcovid.sqlite3`.
    pub database_url: Option<String>,
    /// Keys are released in buckets of this many seconds (0: as soon as their embargo ends).
    pub release_bucket_seconds: u64,
    /// How long an authority code stays valid.
    pub code_lifetime_seconds: u64,
    /// How long an upload token stays valid (at most [`MAX_TOKEN_LIFETIME_SECONDS`]).
    pub token_lifetime_seconds: u64,
    /// Region written in export files (ISO 3166 code or the operator's own).
    pub region: String,
    /// Where daily export files go: unset means `<data_dir>/exports` on the local disk;
    /// `file:///abs/dir`, `memory:///`, or `s3://bucket/prefix` (needs the `s3` feature).
    pub export_store_url: Option<String>,
    /// Fake and real code checks and uploads answer no sooner than this, so that their
    /// timing does not tell them apart. 0 turns it off (tests, benchmarks).
    pub min_response_millis: u64,
    /// Code checks one client may make per minute before getting 429.
    pub verify_per_client_per_minute: u32,
    /// Failed code checks the whole server accepts per hour before refusing all checks
    /// (guessing defence that per-client limits alone cannot give against many addresses).
    pub verify_failures_per_hour: u32,
    /// Seconds between two runs of the background jobs (export files, retention purge).
    pub jobs_interval_seconds: u64,
    /// Whether downloads are padded with fake keys (see `exposure::export::padded_key_count`).
    pub pad_exports: bool,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// The address people reach this server at (`https://…`; `http://` only for
    /// localhost and 127.0.0.1). When set, venue codes open the citizen web app:
    /// `{public_url}/app/?v=1#<payload>`, and the physician's code QR opens its report screen.
    pub public_url: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("openstopcovid-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: None,
            release_bucket_seconds: DEFAULT_RELEASE_BUCKET_SECONDS,
            code_lifetime_seconds: DEFAULT_CODE_LIFETIME_SECONDS,
            token_lifetime_seconds: MAX_TOKEN_LIFETIME_SECONDS,
            region: "XX".to_owned(),
            export_store_url: None,
            min_response_millis: 250,
            verify_per_client_per_minute: 10,
            verify_failures_per_hour: 10_000,
            jobs_interval_seconds: 300,
            pad_exports: true,
            max_body_bytes: 64 * 1024,
            public_url: None,
        }
    }
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the configuration file {path} is not valid: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("environment variable {name} is not valid: {reason}")]
    Environment { name: String, reason: String },
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// Defaults, overridden by the TOML file at `path` (if any), then by `OPENSTOPCOVID_*`
    /// variables in `environment` (pass `std::env::vars()`).
    pub fn load(
        path: Option<&Path>,
        environment: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut config = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                toml::from_str(&text).map_err(|source| ConfigError::Parse {
                    path: path.to_owned(),
                    source: Box::new(source),
                })?
            }
            None => Config::default(),
        };
        for (name, value) in environment {
            if let Some(key) = name.strip_prefix("OPENSTOPCOVID_") {
                config.apply_environment(&name, key, &value)?;
            }
        }
        Ok(config)
    }

    fn apply_environment(&mut self, name: &str, key: &str, value: &str) -> Result<(), ConfigError> {
        fn parse<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, ConfigError>
        where
            T::Err: std::fmt::Display,
        {
            value
                .parse()
                .map_err(|error: T::Err| ConfigError::Environment {
                    name: name.to_owned(),
                    reason: error.to_string(),
                })
        }
        match key {
            "DATA_DIR" => self.data_dir = PathBuf::from(value),
            "LISTEN" => self.listen = parse(name, value)?,
            "DATABASE_URL" => self.database_url = Some(value.to_owned()),
            "RELEASE_BUCKET_SECONDS" => self.release_bucket_seconds = parse(name, value)?,
            "CODE_LIFETIME_SECONDS" => self.code_lifetime_seconds = parse(name, value)?,
            "TOKEN_LIFETIME_SECONDS" => self.token_lifetime_seconds = parse(name, value)?,
            "REGION" => self.region = value.to_owned(),
            "EXPORT_STORE_URL" => self.export_store_url = Some(value.to_owned()),
            "MIN_RESPONSE_MILLIS" => self.min_response_millis = parse(name, value)?,
            "VERIFY_PER_CLIENT_PER_MINUTE" => {
                self.verify_per_client_per_minute = parse(name, value)?
            }
            "VERIFY_FAILURES_PER_HOUR" => self.verify_failures_per_hour = parse(name, value)?,
            "JOBS_INTERVAL_SECONDS" => self.jobs_interval_seconds = parse(name, value)?,
            "PAD_EXPORTS" => self.pad_exports = parse(name, value)?,
            "MAX_BODY_BYTES" => self.max_body_bytes = parse(name, value)?,
            "PUBLIC_URL" => self.public_url = Some(value.to_owned()),
            // Other tools share the prefix (e.g. OPENSTOPCOVID_TEST_DATABASE_URL); ignore them.
            _ => {}
        }
        Ok(())
    }

    /// Checks the values that could make the server unsafe or useless.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.token_lifetime_seconds == 0
            || self.token_lifetime_seconds > MAX_TOKEN_LIFETIME_SECONDS
        {
            return Err(ConfigError::Invalid(format!(
                "token_lifetime_seconds must be between 1 and {MAX_TOKEN_LIFETIME_SECONDS}"
            )));
        }
        if self.code_lifetime_seconds == 0 || self.code_lifetime_seconds > 14 * 86_400 {
            return Err(ConfigError::Invalid(
                "code_lifetime_seconds must be between 1 and 14 days".to_owned(),
            ));
        }
        if self.release_bucket_seconds > 86_400 {
            return Err(ConfigError::Invalid(
                "release_bucket_seconds must be at most one day".to_owned(),
            ));
        }
        if self.region.is_empty() || self.region.len() > 32 {
            return Err(ConfigError::Invalid(
                "region must have 1 to 32 characters".to_owned(),
            ));
        }
        if self.jobs_interval_seconds == 0 {
            return Err(ConfigError::Invalid(
                "jobs_interval_seconds must be at least 1".to_owned(),
            ));
        }
        if let Some(url) = &self.public_url {
            check_public_url(url)?;
        }
        Ok(())
    }

    /// The prefix of this deployment's venue codes: the web app's address when
    /// `public_url` is set, else the protocol's default prefix.
    pub fn venue_code_prefix(&self) -> String {
        match &self.public_url {
            Some(url) => venue_code_prefix(url),
            None => presence::DEFAULT_QR_CODE_PREFIX.to_owned(),
        }
    }

    /// The database URL actually used: the configured one, or SQLite under `data_dir`.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("openstopcovid.sqlite3").display()
            ),
        }
    }
}

/// The venue code prefix of a deployment reached at `public_url`: its web app, so that a
/// phone's camera opens the app on the venue (the payload stays in the fragment, which
/// browsers never send to a server).
pub fn venue_code_prefix(public_url: &str) -> String {
    format!("{}/app/?v=1#", public_url.trim_end_matches('/'))
}

/// The web app's report screen with `code` filled in; the code stays in the fragment.
pub fn web_report_link(public_url: &str, code: &str) -> String {
    format!("{}/app/#report={code}", public_url.trim_end_matches('/'))
}

/// Accepts `https://host[:port][/path]`, and `http://` only for this machine (a plain-text
/// address would let anyone on the way rewrite the app).
pub fn check_public_url(url: &str) -> Result<(), ConfigError> {
    let invalid = || {
        ConfigError::Invalid(format!(
            "public_url {url:?} must be https://host[/path] (http:// only for localhost or \
             127.0.0.1), without '?' or '#'"
        ))
    };
    if url.contains(['?', '#']) || url.chars().any(char::is_whitespace) {
        return Err(invalid());
    }
    let (rest, https) = if let Some(rest) = url.strip_prefix("https://") {
        (rest, true)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (rest, false)
    } else {
        return Err(invalid());
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = authority
        .rsplit_once(':')
        .map_or(authority, |(host, _port)| host);
    if host.is_empty() || (!https && !matches!(host, "localhost" | "127.0.0.1")) {
        return Err(invalid());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment_override_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.toml");
        std::fs::write(&path, "release_bucket_seconds = 600\nregion = \"FR\"\n").unwrap();
        let config = Config::load(
            Some(&path),
            [
                ("OPENSTOPCOVID_REGION".to_owned(), "CH".to_owned()),
                ("HOME".to_owned(), "/root".to_owned()),
            ],
        )
        .unwrap();
        assert_eq!(config.release_bucket_seconds, 600);
        assert_eq!(config.region, "CH");
        assert_eq!(config.code_lifetime_seconds, DEFAULT_CODE_LIFETIME_SECONDS);
    }

    #[test]
    fn unknown_file_keys_and_bad_environment_values_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.toml");
        std::fs::write(&path, "relase_bucket_seconds = 600\n").unwrap();
        assert!(matches!(
            Config::load(Some(&path), []),
            Err(ConfigError::Parse { .. })
        ));
        let bad = [("OPENSTOPCOVID_LISTEN".to_owned(), "nowhere".to_owned())];
        assert!(matches!(
            Config::load(None, bad),
            Err(ConfigError::Environment { .. })
        ));
    }

    #[test]
    fn public_url_is_https_or_this_machine() {
        for good in [
            "https://covid.example.org",
            "https://covid.example.org/town/",
            "http://127.0.0.1:8080",
            "http://localhost:3000",
        ] {
            assert!(check_public_url(good).is_ok(), "{good}");
        }
        for bad in [
            "http://covid.example.org",
            "ftp://x",
            "https://",
            "https://x.org/?v=1",
            "https://x.org/#a",
            "covid.example.org",
        ] {
            assert!(check_public_url(bad).is_err(), "{bad}");
        }
        let config = Config {
            public_url: Some("https://covid.example.org/".to_owned()),
            ..Config::default()
        };
        assert_eq!(
            config.venue_code_prefix(),
            "https://covid.example.org/app/?v=1#"
        );
        assert_eq!(
            web_report_link("https://covid.example.org", "123"),
            "https://covid.example.org/app/#report=123"
        );
        assert_eq!(
            Config::default().venue_code_prefix(),
            presence::DEFAULT_QR_CODE_PREFIX
        );
    }

    #[test]
    fn token_lifetime_is_capped_at_an_hour() {
        let config = Config {
            token_lifetime_seconds: 7200,
            ..Config::default()
        };
        assert!(config.validate().is_err());
    }
}
