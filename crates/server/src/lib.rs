//! The OpenStopCovid backend: authority codes, upload tokens, GAEN key upload and signed
//! export downloads, on SQLite or PostgreSQL.
//!
//! # Layout
//!
//! - [`service`]: the HTTP application: shared state, router, response signing, serving
//!   and graceful shutdown; how to add a service module.
//! - [`authority_ui`]: the physicians' web UI at `/authority` (French and English): sign-in,
//!   issuing codes, following them, statistics, accounts, API keys, audit log.
//! - [`codes`]: authority API keys, issuing codes (Verhoeff check digit), code status,
//!   `POST /v1/codes/verify` with its guessing defence.
//! - [`tokens`]: upload and next-day tokens (ES256 JWT claims), single use per purpose.
//! - [`keys`]: `POST /v2/gaen/exposed`, `POST /v1/gaen/exposednextday`,
//!   `GET /v2/gaen/exposed`, `GET /v1/export-public-key`.
//! - [`presence`]: `POST /v1/checkins`, `POST /v1/venues/warnings`, `GET /v1/warnings`
//!   (venue check-in reports in, hourly signed warning packages out).
//! - [`venue_ui`]: the venue owners' pages at `/venues`: create a venue, its venue file and
//!   posters (PDF, SVG); open a venue file and match warnings in the browser.
//! - [`citizen_app`]: the citizen web app at `/app/` (static files in the binary):
//!   check in from a poster, report a positive test, be warned.
//! - [`jobs`]: background work: daily export files in the object store, retention purge.
//! - [`store`]: database connection, SQL migrations for SQLite and PostgreSQL, leases.
//! - [`signing`]: export, response and token keys on disk; ES256 JWTs; key rotation.
//! - [`problem`]: RFC 9457 problem+json error answers.
//! - [`clock`]: the `Clock` trait, the real clock and a mock clock for tests.
//! - [`config`]: configuration from defaults, TOML, `OPENSTOPCOVID_*` variables and flags.
//! - [`metrics`]: Prometheus counters served at `/metrics`.
//! - [`openapi`]: the OpenAPI 3 document served at `/openapi.json`.
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

pub mod authority_ui;
pub mod citizen_app;
pub mod clock;
pub mod codes;
pub mod config;
pub mod group_commit;
pub mod jobs;
pub mod keys;
pub mod metrics;
pub mod openapi;
pub mod presence;
pub mod problem;
pub mod push;
pub mod service;
pub mod signing;
pub mod store;
pub mod tokens;
pub mod venue_ui;

pub use clock::{Clock, MockClock, RealClock, SharedClock};
pub use config::Config;
pub use service::{AppState, ServerHandle, StartError, app, run, spawn, spawn_with_state};
