//! Server configuration: built-in defaults, then a TOML file, then `OPENSTOPCOVID_*`
//! environment variables, then command-line flags (each layer overrides the previous).
//!
//! The TOML keys are the field names below (`data_dir`, `listen`, `database_url`,
//! `release_bucket_seconds`, ...); the environment variable for a key is its name in
//! upper case with the `OPENSTOPCOVID_` prefix, e.g. `OPENSTOPCOVID_RELEASE_BUCKET_SECONDS`.
//! The layers are merged by `figment`.
//!
//! A misspelt key is an error, in the file and in the environment alike: an operator who
//! writes `OPENSTOPCOVID_RELEASE_BUKET_SECONDS=0` must learn it at start, not find out
//! weeks later that keys were published in the default buckets. The only variables with
//! the prefix that the server leaves alone are those of the project's own tools
//! ([`TOOL_VARIABLES`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Prefix of the environment variables that configure the server.
pub const ENVIRONMENT_PREFIX: &str = "OPENSTOPCOVID_";

/// Variables with [`ENVIRONMENT_PREFIX`] that belong to the project's tests and tools, not to
/// `serve` (a name ending in `_` matches every variable that starts with it). They are in the
/// environment of servers that tests start, so they are skipped rather than refused.
pub const TOOL_VARIABLES: &[&str] = &[
    "OPENSTOPCOVID_TEST_",
    "OPENSTOPCOVID_BIN",
    "OPENSTOPCOVID_JANUS_BIN",
];

/// Default release bucket: keys become downloadable in 2-hour steps.
pub const DEFAULT_RELEASE_BUCKET_SECONDS: u64 = 7200;
/// Default lifetime of an authority code.
pub const DEFAULT_CODE_LIFETIME_SECONDS: u64 = 24 * 3600;
/// Longest lifetime of an upload token (PROTOCOLS.md §3).
pub const MAX_TOKEN_LIFETIME_SECONDS: u64 = 3600;
/// Default overlap during which a rotated-out signing key still verifies.
pub const DEFAULT_KEY_OVERLAP_SECONDS: u64 = 7 * 86_400;
/// Default days before the onset date whose keys are published: people are infectious
/// about two days before their symptoms start (PROTOCOLS.md §4).
pub const DEFAULT_INFECTIOUS_DAYS_BEFORE_ONSET: u32 = 2;

/// Default for `verify_failures_per_network_per_hour`.
pub const DEFAULT_VERIFY_FAILURES_PER_NETWORK_PER_HOUR: u32 = 60;
/// Default largest body: the largest upload the API allows (300 check-in reports of the
/// largest size, about 85 KB of JSON) with room for formatting.
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;

/// The proxies whose `X-Forwarded-For` the server believes (see `trusted_proxies`).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct TrustedProxies(Vec<ipnet::IpNet>);

impl TrustedProxies {
    pub fn new(networks: Vec<ipnet::IpNet>) -> Self {
        Self(networks)
    }

    /// This machine (127.0.0.0/8 and ::1): the default, for a reverse proxy on the same
    /// host, which carries everybody's connections. Nobody else can connect from there.
    pub fn loopback() -> Self {
        Self(vec![
            ipnet::IpNet::from(ipnet::Ipv4Net::new_assert(std::net::Ipv4Addr::LOCALHOST, 8)),
            ipnet::IpNet::from(ipnet::Ipv6Net::new_assert(
                std::net::Ipv6Addr::LOCALHOST,
                128,
            )),
        ])
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|network| network.contains(&ip))
    }

    /// The client of a request that came from `peer` with these `X-Forwarded-For` values:
    /// `peer` itself unless it is trusted; else the right-most address of the header that
    /// is not a trusted proxy (everything left of it could be made up by the client).
    pub fn client(&self, peer: std::net::IpAddr, forwarded_for: &[&str]) -> std::net::IpAddr {
        if !self.contains(peer) {
            return peer;
        }
        let mut client = peer;
        for entry in forwarded_for
            .iter()
            .rev()
            .flat_map(|value| value.rsplit(','))
        {
            let Ok(ip) = entry.trim().parse::<std::net::IpAddr>() else {
                // An unreadable entry: nothing left of it can be trusted.
                return client;
            };
            client = ip;
            if !self.contains(ip) {
                return ip;
            }
        }
        client
    }
}

/// Everything `serve` needs.
#[derive(Clone, Debug, Deserialize, Serialize)]
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
    #[serde(deserialize_with = "text")]
    pub region: String,
    /// Where daily export files go: unset means `<data_dir>/exports` on the local disk;
    /// `file:///abs/dir`, `memory:///`, or `s3://bucket/prefix` (needs the `s3` feature).
    pub export_store_url: Option<String>,
    /// Fake and real code checks and uploads answer no sooner than this, so that their
    /// timing does not tell them apart. 0 turns it off (tests, benchmarks).
    pub min_response_millis: u64,
    /// Code checks one client (an address; an IPv6 /64) may make per minute before getting
    /// 429 (a sliding window: one more check every `60 / n` seconds after the first `n`).
    pub verify_per_client_per_minute: u32,
    /// Failed checks of well-formed codes one network (an IPv4 /24, an IPv6 /48) may make
    /// per hour before its checks get 429. A typo never counts (the check digit catches it
    /// before any lookup). There is no server-wide budget: nobody can stop patients
    /// elsewhere from reporting. See SECURITY.md for the arithmetic of guessing a code.
    pub verify_failures_per_network_per_hour: u32,
    /// Load balancers and CDNs whose `X-Forwarded-For` names the client (IP addresses or
    /// CIDR blocks, e.g. `["127.0.0.0/8", "10.0.0.0/8"]`); they have no per-client
    /// connection cap either. Default: this machine only (a reverse proxy on the same host).
    /// `[]`: the peer is always the client.
    pub trusted_proxies: TrustedProxies,
    /// Most connections served at once (each holds one file descriptor; keep it below
    /// `ulimit -n` less the database pool). Past it, the server stops accepting.
    pub max_connections: usize,
    /// Most connections one client (address, IPv6 /64) may hold; trusted proxies exempt.
    pub max_connections_per_client: usize,
    /// Adds `Strict-Transport-Security: max-age=<this>` to every answer (set it when the
    /// server is reached over HTTPS only, e.g. 31536000 for a year; unset: no header).
    pub hsts_max_age_seconds: Option<u64>,
    /// Serve `/metrics` on this address only (e.g. `127.0.0.1:9090`, reachable by the
    /// operator's Prometheus alone); unset: on the public address (it never tells fake
    /// traffic from real either way).
    pub metrics_listen: Option<SocketAddr>,
    /// Seconds between two runs of the background jobs (export files, retention purge).
    pub jobs_interval_seconds: u64,
    /// Whether downloads are padded with fake keys (see `exposure::export::padded_key_count`).
    pub pad_exports: bool,
    /// Whether key downloads and warning packages are built once per answer and served
    /// from memory (see `server::prebuilt`). `false` builds every answer at every request,
    /// as before issue 13: only for measuring the difference (`cargo bench -p server
    /// --bench download`).
    pub prebuilt_downloads: bool,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// The address people reach this server at (`https://…`; `http://` only for
    /// localhost and 127.0.0.1). When set, venue codes open the citizen web app:
    /// `{public_url}/app/?v=1#<payload>`, and the physician's code QR opens its report screen.
    pub public_url: Option<String>,
    /// Uploaded keys dated more than this many days before the token's onset date are
    /// dropped: the person was not yet infectious then.
    pub infectious_days_before_onset: u32,
    /// The health authority's time zone, an IANA name (`Europe/Paris`): the authority
    /// pages show times in it until the reader's browser puts them in its own zone, and
    /// the days of onset and test dates are counted in it. Default `UTC`.
    pub time_zone: String,
    /// Whether every staff account must have a second factor (a TOTP app): an account
    /// without one is sent to set it up before any other page, and none can turn it off.
    pub require_totp: bool,
    /// Private analytics (`[analytics]`): the DAP aggregators and one task per metric,
    /// served to phones in `GET /v1/config`. Absent: phones send no analytics.
    pub analytics: Option<AnalyticsSetting>,
}

/// Default DAP time precision of the analytics tasks: one day, the batch of a daily metric.
pub const DEFAULT_ANALYTICS_TIME_PRECISION_SECONDS: u64 = 86_400;

/// `[analytics]`: where opted-in phones send their daily Prio3 reports (docs/analytics.md).
///
/// ```toml
/// [analytics]
/// leader = "https://leader.example.org/"
/// helper = "https://helper.example.net/"
/// min_batch_size = 100
/// epsilon = 1.0
/// [analytics.tasks.active_phones]
/// task_id = "…43 base64url characters…"
/// leader_hpke_config = "…"
/// helper_hpke_config = "…"
/// # … one table per metric
/// ```
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AnalyticsSetting {
    /// The DAP leader's base URL.
    pub leader: String,
    /// The DAP helper's base URL, run by an organisation independent of the leader's.
    pub helper: String,
    /// The tasks' DAP time precision.
    #[serde(default = "default_time_precision")]
    pub time_precision_seconds: u64,
    /// The tasks' minimum batch size (as provisioned in the aggregators).
    #[serde(default = "default_min_batch_size")]
    pub min_batch_size: u64,
    /// ε of each aggregator's noise per daily batch (as provisioned in the aggregators).
    #[serde(default = "default_epsilon")]
    pub epsilon: f64,
    /// The task of every metric, by the metric's name.
    pub tasks: std::collections::BTreeMap<String, AnalyticsTaskSetting>,
}

/// One metric's DAP task.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AnalyticsTaskSetting {
    /// The DAP task id, 32 bytes in base64url without padding.
    pub task_id: String,
    /// The leader's HPKE configuration (DAP encoding, base64url without padding).
    pub leader_hpke_config: String,
    /// The helper's HPKE configuration (same encoding).
    pub helper_hpke_config: String,
}

fn default_time_precision() -> u64 {
    DEFAULT_ANALYTICS_TIME_PRECISION_SECONDS
}

fn default_min_batch_size() -> u64 {
    analytics::privacy::DEFAULT_MIN_BATCH_SIZE
}

fn default_epsilon() -> f64 {
    let (numerator, denominator) = analytics::privacy::DEFAULT_EPSILON;
    f64::from(numerator) / f64::from(denominator)
}

impl AnalyticsSetting {
    /// Checks that phones can use it: both URLs, a task for every metric and no other,
    /// well-formed ids and keys, a useful batch size and ε.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |message: String| Err(ConfigError::Invalid(format!("analytics: {message}")));
        for (name, url) in [("leader", &self.leader), ("helper", &self.helper)] {
            check_public_url(url)
                .map_err(|_| ConfigError::Invalid(format!("analytics: {name} {url:?} must be https://host[/path] (http:// only for localhost)")))?;
        }
        if self.leader == self.helper {
            return invalid("leader and helper must be two aggregators".to_owned());
        }
        if self.time_precision_seconds == 0 || 86_400 % self.time_precision_seconds != 0 {
            return invalid("time_precision_seconds must divide a day".to_owned());
        }
        if self.min_batch_size == 0 {
            return invalid("min_batch_size must be at least 1".to_owned());
        }
        if !(self.epsilon.is_finite() && self.epsilon > 0.0) {
            return invalid("epsilon must be a positive number".to_owned());
        }
        for name in self.tasks.keys() {
            if analytics::Metric::from_name(name).is_none() {
                return invalid(format!("no metric is called {name:?}"));
            }
        }
        for metric in analytics::Metric::ALL {
            let Some(task) = self.tasks.get(metric.name()) else {
                return invalid(format!(
                    "the metric {metric} has no task (every phone sends every metric)"
                ));
            };
            let decoded = |text: &str| {
                base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, text)
            };
            if decoded(&task.task_id).map(|id| id.len()) != Ok(32) {
                return invalid(format!(
                    "the task id of {metric} is not 32 bytes of base64url"
                ));
            }
            for key in [&task.leader_hpke_config, &task.helper_hpke_config] {
                if decoded(key).map_or(true, |bytes| bytes.is_empty()) {
                    return invalid(format!(
                        "an HPKE configuration of {metric} is not base64url"
                    ));
                }
            }
        }
        Ok(())
    }

    /// The `analytics` member of `GET /v1/config`.
    pub fn to_wire(&self) -> messages::app_config::AnalyticsConfiguration {
        messages::app_config::AnalyticsConfiguration {
            leader: self.leader.clone(),
            helper: self.helper.clone(),
            time_precision_seconds: self.time_precision_seconds,
            min_batch_size: self.min_batch_size,
            epsilon: self.epsilon,
            tasks: self
                .tasks
                .iter()
                .map(|(metric, task)| messages::app_config::AnalyticsTask {
                    metric: metric.clone(),
                    task_id: task.task_id.clone(),
                    leader_hpke_config: task.leader_hpke_config.clone(),
                    helper_hpke_config: task.helper_hpke_config.clone(),
                })
                .collect(),
        }
    }
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
            verify_failures_per_network_per_hour: DEFAULT_VERIFY_FAILURES_PER_NETWORK_PER_HOUR,
            trusted_proxies: TrustedProxies::loopback(),
            max_connections: crate::connections::DEFAULT_MAX_CONNECTIONS,
            max_connections_per_client: crate::connections::DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
            hsts_max_age_seconds: None,
            metrics_listen: None,
            jobs_interval_seconds: 300,
            pad_exports: true,
            prebuilt_downloads: true,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            public_url: None,
            infectious_days_before_onset: DEFAULT_INFECTIOUS_DAYS_BEFORE_ONSET,
            time_zone: "UTC".to_owned(),
            require_totp: false,
            analytics: None,
        }
    }
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read, a value has the wrong type or a key is unknown; the
    /// message names the key and where it came from (file or variable).
    #[error("configuration: {0}")]
    Load(Box<figment::Error>),
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// Defaults, overridden by the TOML file at `path` (if any), then by the process's
    /// `OPENSTOPCOVID_*` environment variables.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let mut layers = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = path {
            if !path.is_file() {
                return Err(ConfigError::Invalid(format!(
                    "the configuration file {} does not exist",
                    path.display()
                )));
            }
            layers = layers.merge(Toml::file_exact(path));
        }
        let environment = Env::prefixed(ENVIRONMENT_PREFIX).filter(|key| {
            let name = format!("{ENVIRONMENT_PREFIX}{}", key.as_str().to_ascii_uppercase());
            !is_tool_variable(&name)
        });
        layers
            .merge(environment)
            .extract()
            .map_err(|error| ConfigError::Load(Box::new(error)))
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
        // A code lives at most as long as it is kept: the purge deletes it after the
        // retention window.
        if self.code_lifetime_seconds == 0
            || self.code_lifetime_seconds > messages::retention::SECONDS.unsigned_abs()
        {
            return Err(ConfigError::Invalid(format!(
                "code_lifetime_seconds must be between 1 and {} days",
                messages::retention::DAYS
            )));
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
        if self.infectious_days_before_onset > messages::retention::DAYS {
            return Err(ConfigError::Invalid(format!(
                "infectious_days_before_onset must be at most {} (the retention window)",
                messages::retention::DAYS
            )));
        }
        if crate::web::local_time::time_zone(&self.time_zone).is_none() {
            return Err(ConfigError::Invalid(format!(
                "time_zone {:?} is not a time zone name such as Europe/Paris or UTC",
                self.time_zone
            )));
        }
        if self.jobs_interval_seconds == 0 {
            return Err(ConfigError::Invalid(
                "jobs_interval_seconds must be at least 1".to_owned(),
            ));
        }
        if let Some(url) = &self.public_url {
            check_public_url(url)?;
        }
        if let Some(analytics) = &self.analytics {
            analytics.validate()?;
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

/// A string field that the environment layer may hand over as a number: figment reads
/// `OPENSTOPCOVID_REGION=250` as the integer 250 (its issue #42), and a numeric ISO 3166
/// region code is a legitimate value.
fn text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Text {
        Text(String),
        Number(u64),
    }
    Ok(match Text::deserialize(deserializer)? {
        Text::Text(text) => text,
        Text::Number(number) => number.to_string(),
    })
}

/// Whether `name` is one of [`TOOL_VARIABLES`].
fn is_tool_variable(name: &str) -> bool {
    TOOL_VARIABLES
        .iter()
        .any(|tool| match tool.strip_suffix('_') {
            Some(_) => name.starts_with(tool),
            None => name == *tool,
        })
}

#[cfg(test)]
// figment's `Jail` closures return its own (large) error type; that is its API, not ours.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment_override_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "server.toml",
                "release_bucket_seconds = 600\nregion = \"FR\"\n",
            )?;
            jail.set_env("OPENSTOPCOVID_REGION", "CH");
            jail.set_env("OPENSTOPCOVID_PAD_EXPORTS", "false");
            jail.set_env("OPENSTOPCOVID_LISTEN", "0.0.0.0:9000");
            let config = Config::load(Some(Path::new("server.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(config.release_bucket_seconds, 600);
            assert_eq!(config.region, "CH");
            assert!(!config.pad_exports);
            assert_eq!(config.listen, "0.0.0.0:9000".parse().unwrap());
            assert_eq!(config.code_lifetime_seconds, DEFAULT_CODE_LIFETIME_SECONDS);
            Ok(())
        });
    }

    #[test]
    fn a_numeric_region_from_the_environment_stays_a_region() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("OPENSTOPCOVID_REGION", "250");
            let config = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(config.region, "250");
            Ok(())
        });
    }

    #[test]
    fn misspelt_keys_in_the_file_or_the_environment_are_refused_by_name() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("server.toml", "relase_bucket_seconds = 600\n")?;
            let error = Config::load(Some(Path::new("server.toml"))).unwrap_err();
            assert!(
                error.to_string().contains("relase_bucket_seconds"),
                "{error}"
            );

            jail.clear_env();
            jail.set_env("OPENSTOPCOVID_RELEASE_BUKET_SECONDS", "0");
            let error = Config::load(None).unwrap_err();
            assert!(
                error.to_string().contains("release_buket_seconds"),
                "{error}"
            );
            Ok(())
        });
    }

    #[test]
    fn bad_values_and_missing_files_are_errors_but_tool_variables_are_not() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("OPENSTOPCOVID_TEST_DATABASE_URL", "postgres://x/y");
            jail.set_env("OPENSTOPCOVID_BIN", "/bin/true");
            assert!(Config::load(None).is_ok());
            assert!(Config::load(Some(Path::new("missing.toml"))).is_err());
            jail.set_env("OPENSTOPCOVID_LISTEN", "nowhere");
            assert!(matches!(Config::load(None), Err(ConfigError::Load(_))));
            Ok(())
        });
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
