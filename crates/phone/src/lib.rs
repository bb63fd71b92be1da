//! The citizen phone core of OpenStopCovid.
//!
//! A [`Phone`] is opened on a directory and keeps everything in one SQLite file there. It
//! never reads the clock: every operation takes `now` (unix seconds), so that a simulator,
//! a test or the CLI's `--now` can drive it through days in a second. Randomness comes in
//! as a [`rand_core::CryptoRng`] argument. Every operation first runs the 14-day
//! retention purge, so that nothing older ever survives an app start.
//!
//! # Layout
//!
//! - [`store`]: the SQLite file: schema, `user_version` migrations, settings.
//! - [`schedule`]: own Temporary Exposure Keys (one per UTC day, 14 kept) and the
//!   Bluetooth advertisements derived from them.
//! - [`sightings`]: advertisements heard from other phones, de-duplicated per scan.
//! - [`retention`]: the 14-day purge run by every operation.
//! - [`server_api`]: the blocking HTTP client of the server routes the phone calls.
//! - [`app_config`]: the authority's configuration (`/v1/config`): verified, validated,
//!   the last good one kept; its risk parameters, venue rules and texts applied.
//! - [`sync`]: `init` (pinning the server's export key) and the periodic sync.
//! - [`exposure_check`]: downloading published keys, matching them against own sightings,
//!   scoring the risk, recording notifications.
//! - [`report`]: uploading own keys (and visits) with a code, next-day uploads, fake traffic.
//! - [`check_ins`]: venue check-in and check-out, automatic check-out.
//! - [`venue_warnings`]: downloading venue warnings and matching them against own check-ins.
//! - [`status`]: what the user is shown: the risk and the venue warnings, as JSON.
//! - [`analytics`]: private analytics: the opt-in, the day's facts, the reports due.
//! - [`backup`]: an encrypted (age, passphrase) backup to move to a new phone.
//! - [`mobile`]: the API the Android, iOS and Python bindings call (UniFFI).

pub mod analytics;
pub mod app_config;
pub mod backup;
pub mod check_ins;
pub mod exposure_check;
pub mod mobile;
pub mod report;
pub mod retention;
pub mod schedule;
pub mod server_api;
pub mod sightings;
pub mod status;
pub mod store;
pub mod sync;
pub mod venue_warnings;

use std::path::Path;

use rusqlite::Connection;

pub use schedule::Advertisement;
pub use status::{ExposureStatus, PhoneStatus, VenueWarningStatus};

uniffi::setup_scaffolding!();

/// Name of the database file inside the phone's state directory.
pub const STATE_FILE_NAME: &str = "phone.sqlite3";

/// Everything that can go wrong on the phone, in words a user (or an app developer) can act on.
#[derive(Debug, thiserror::Error)]
pub enum PhoneError {
    #[error("phone storage: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("phone storage directory: {0}")]
    Io(#[from] std::io::Error),
    #[error("this phone is not set up yet: run `init --server URL` first")]
    NotInitialised,
    #[error("this phone was moved to a new phone with a backup and no longer traces")]
    Retired,
    #[error("{0}")]
    InvalidInput(String),
    #[error("the code {0:?} is not a valid code: check it for typos (12 digits)")]
    InvalidCode(String),
    #[error("the server refused the code: it is unknown, already used or expired")]
    CodeRejected,
    #[error("could not reach the server: {0}")]
    Network(String),
    #[error("the server answered {status}: {detail}")]
    Server { status: u16, detail: String },
    #[error("the downloaded keys are not signed by the pinned server key: {0}")]
    BadSignature(String),
    #[error("the downloaded key file is malformed: {0}")]
    Export(#[from] exposure::export::ExportError),
    #[error("venue code: {0}")]
    Venue(#[from] presence::venue_code::VenueCodeError),
    #[error("backup: {0}")]
    Backup(String),
    #[error("wrong passphrase, or not an OpenStopCovid backup")]
    WrongPassphrase,
    #[error("private analytics: {0}")]
    Analytics(String),
}

/// The phone: its state on disk and the operations of the app.
pub struct Phone {
    pub(crate) db: Connection,
}

impl Phone {
    /// Opens (creating if needed) the phone state in `directory`.
    pub fn open(directory: &Path) -> Result<Self, PhoneError> {
        std::fs::create_dir_all(directory)?;
        let db = Connection::open(directory.join(STATE_FILE_NAME))?;
        Self::with_connection(db)
    }

    /// A phone whose state lives in memory only (tests, simulations).
    pub fn open_in_memory() -> Result<Self, PhoneError> {
        Self::with_connection(Connection::open_in_memory()?)
    }

    fn with_connection(db: Connection) -> Result<Self, PhoneError> {
        store::migrate(&db)?;
        Ok(Self { db })
    }

    /// The server this phone talks to, once [`Phone::init`] was run.
    pub fn server_url(&self) -> Result<String, PhoneError> {
        store::setting(&self.db, store::SERVER_URL)?.ok_or(PhoneError::NotInitialised)
    }

    /// Whether this phone handed its state over to a new phone (and so stopped tracing).
    pub fn is_retired(&self) -> Result<bool, PhoneError> {
        Ok(store::setting(&self.db, store::RETIRED)?.is_some())
    }

    pub(crate) fn ensure_active(&self) -> Result<(), PhoneError> {
        if self.is_retired()? {
            return Err(PhoneError::Retired);
        }
        Ok(())
    }
}
