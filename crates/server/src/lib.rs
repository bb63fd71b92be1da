//! The OpenStopCovid backend: authority codes, upload tokens, GAEN key upload and signed
//! export downloads, on SQLite or PostgreSQL.
//!
//! # Layout
//!
//! Three layers; imports only run downwards (see `docs/ARCHITECTURE.md`).
//!
//! At the top:
//! - [`service`]: the router assembled from every module's routes, response signing,
//!   serving and graceful shutdown; how to add a service module.
//!
//! Web (the HTML pages):
//! - [`authority_ui`]: the physicians' web UI at `/authority` (French and English): sign-in,
//!   issuing codes, following them, statistics, accounts, API keys, audit log.
//! - [`venue_ui`]: the venue owners' pages at `/venues`: create a venue, its venue file and
//!   posters (PDF, SVG); open a venue file to see warnings and what to do, warn guests,
//!   print posters again and keep a paper register, in the browser.
//! - [`web`]: what both UIs share: language, page layout, protective headers, static
//!   files at `/static/`, the `CsrfForm` extractor and form cookies, sealed result
//!   addresses, accented download names; how to add a page.
//!
//! Services (the JSON and protobuf API, and the work behind it):
//! - [`codes`]: authority API keys, issuing codes (Verhoeff check digit), code status,
//!   `POST /v1/codes/verify` with its guessing defence.
//! - [`keys`]: `POST /v2/gaen/exposed`, `POST /v1/gaen/exposednextday`,
//!   `GET /v2/gaen/exposed`, `GET /v1/export-public-key`.
//! - [`presence`]: `POST /v1/checkins`, `POST /v1/venues/warnings`, `GET /v1/warnings`
//!   (venue check-in reports in, hourly signed warning packages out).
//! - [`push`]: `GET /v1/push/keys`, the long poll that tells phones new keys are out.
//! - [`app_config`]: `GET /v1/config`, the authority's signed configuration for the apps
//!   (private analytics' aggregators and tasks), with an ETag.
//! - [`citizen_app`]: the citizen web app at `/app/` (static files in the binary):
//!   check in from a poster, report a positive test, be warned.
//! - `prebuilt`: download answers (keys, warnings) built once, signed once, and served
//!   from bounded memory with an ETag and `304 Not Modified`.
//! - `release_padding`: the fixed fake keys of each release bucket.
//! - [`jobs`]: background work: daily export files in the object store, retention purge.
//! - [`tokens`]: upload and next-day tokens (ES256 JWT claims), single use per purpose.
//! - [`datastore`]: every SQL statement, as typed functions, one file per group of tables;
//!   connection, migrations for SQLite and PostgreSQL, group commit of key uploads, leases.
//! - `rate_limit`: the guessing defence of code checks (per client, and failures in all).
//! - [`openapi`]: the OpenAPI 3.1 document served at `/openapi.json`, derived from the
//!   wire types (`messages`) and the handlers' `#[utoipa::path]` attributes.
//!
//! Shared by the layers above:
//! - [`state`]: [`AppState`], what every handler and job shares, and opening it.
//! - [`news`]: what wakes the phones waiting on `/v1/push/keys`.
//! - [`problem`]: RFC 9457 problem+json error answers.
//! - [`signing`]: export, response and token keys on disk; ES256 JWTs; key rotation.
//! - [`metrics`]: Prometheus counters served at `/metrics`.
//! - [`clock`]: the `Clock` trait, the real clock and a mock clock for tests; calendar days.
//! - [`config`]: configuration from defaults, TOML, `OPENSTOPCOVID_*` variables and flags.
//!
//! Datastore (at the bottom):
//! - [`store`], [`group_commit`]: every SQL statement, the migrations of SQLite and
//!   PostgreSQL, leases, the group commit of key uploads.
//!
//! # Starting a server
//!
//! ```no_run
//! # async fn example() -> Result<(), server::StartError> {
//! use std::sync::Arc;
//! let config = server::Config { listen: "127.0.0.1:0".parse().unwrap(), ..Default::default() };
//! let handle = server::spawn(config, Arc::new(server::clock::RealClock)).await?;
//! println!("listening on {}", handle.base_url());
//! handle.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! Logs (`tracing`) never contain client addresses, codes, tokens or keys.

pub mod app_config;
pub mod authority_ui;
pub mod citizen_app;
pub(crate) mod client_address;
pub mod clock;
pub mod codes;
pub mod config;
pub mod connections;
pub mod datastore;
pub mod jobs;
pub mod keys;
pub mod metrics;
pub mod news;
pub mod openapi;
pub(crate) mod prebuilt;
pub mod presence;
pub mod problem;
pub mod push;
pub(crate) mod rate_limit;
pub(crate) mod release_padding;
pub mod service;
pub mod sign_in_limits;
pub mod signing;
pub mod state;
pub(crate) mod timing;
pub mod tokens;
pub mod venue_ui;
pub mod web;

pub use clock::{Clock, MockClock, RealClock, SharedClock};
pub use config::Config;
pub use service::{ServerHandle, app, run, spawn, spawn_with_state};
pub use state::{AppState, StartError};
