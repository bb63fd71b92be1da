//! The phone as the Kotlin, Swift and Python apps see it (UniFFI).
//!
//! A thin facade: [`MobilePhone`] wraps a [`Phone`] in a mutex (the bindings call from any
//! thread) and converts its types to ones every binding language has: strings, integers,
//! byte vectors, records. All behaviour stays in [`Phone`]. The app passes `now` (unix
//! seconds) to every call, as the core never reads the clock; randomness comes from the
//! operating system, as an app has no seed to give. Generating the bindings is described
//! in `bindings/README.md`.
//!
//! The mutex is never held across a request to the server: the key push waits up to 5
//! minutes and a sync may crawl over a poor network, while Bluetooth callbacks
//! (`observe`, `broadcast`) must run at once. Network calls read what they need under the
//! lock, ask the server without it, and write the answer under it again.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use exposure::matching::Sighting;

use crate::check_ins::{CheckIn, ScanOutcome};
use crate::report::ReportOutcome;
use crate::server_api::ServerApi;
use crate::status::{
    ExposureNotification, ExposureStatus, Instructions, PhoneStatus, VenueWarningStatus,
};
use crate::{Advertisement, Phone, PhoneError};

/// Why a call failed: one case per [`PhoneError`], its message in `detail`.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum MobileError {
    #[error("phone storage: {detail}")]
    Database { detail: String },
    #[error("phone storage directory: {detail}")]
    Io { detail: String },
    #[error("this phone is not set up yet: call init with the server URL first")]
    NotInitialised,
    #[error("this phone was moved to a new phone with a backup and no longer traces")]
    Retired,
    #[error("{detail}")]
    InvalidInput { detail: String },
    #[error("the code {code:?} is not a valid code: check it for typos (12 digits)")]
    InvalidCode { code: String },
    #[error("the server refused the code: it is unknown, already used or expired")]
    CodeRejected,
    #[error("could not reach the server: {detail}")]
    Network { detail: String },
    #[error("the server answered {status}: {detail}")]
    Server { status: u16, detail: String },
    #[error("the downloaded keys are not signed by the pinned server key: {detail}")]
    BadSignature { detail: String },
    #[error("the downloaded key file is malformed: {detail}")]
    Export { detail: String },
    #[error("venue code: {detail}")]
    Venue { detail: String },
    #[error("backup: {detail}")]
    Backup { detail: String },
    #[error("wrong passphrase, or not an OpenStopCovid backup")]
    WrongPassphrase,
    #[error("private analytics: {detail}")]
    Analytics { detail: String },
}

impl From<PhoneError> for MobileError {
    fn from(error: PhoneError) -> Self {
        // Exhaustive on purpose: a new PhoneError must get its own case here.
        match error {
            PhoneError::Database(error) => Self::Database {
                detail: error.to_string(),
            },
            PhoneError::Io(error) => Self::Io {
                detail: error.to_string(),
            },
            PhoneError::NotInitialised => Self::NotInitialised,
            PhoneError::Retired => Self::Retired,
            PhoneError::InvalidInput(detail) => Self::InvalidInput { detail },
            PhoneError::InvalidCode(code) => Self::InvalidCode { code },
            PhoneError::CodeRejected => Self::CodeRejected,
            PhoneError::Network(detail) => Self::Network { detail },
            PhoneError::Server { status, detail } => Self::Server { status, detail },
            PhoneError::BadSignature(detail) => Self::BadSignature { detail },
            PhoneError::Export(error) => Self::Export {
                detail: error.to_string(),
            },
            PhoneError::Venue(error) => Self::Venue {
                detail: error.to_string(),
            },
            PhoneError::Backup(detail) => Self::Backup { detail },
            PhoneError::WrongPassphrase => Self::WrongPassphrase,
            PhoneError::Analytics(detail) => Self::Analytics { detail },
        }
    }
}

/// One Bluetooth advertisement to send: the service data is `rpi ‖ aem` (16 + 4 bytes).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct MobileAdvertisement {
    pub unix_seconds: u64,
    pub rpi: Vec<u8>,
    pub aem: Vec<u8>,
}

impl From<Advertisement> for MobileAdvertisement {
    fn from(advertisement: Advertisement) -> Self {
        Self {
            unix_seconds: advertisement.unix_seconds,
            rpi: advertisement.rpi.to_vec(),
            aem: advertisement.aem.to_vec(),
        }
    }
}

/// One advertisement heard from another phone, with its signal strength (dBm).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct MobileSighting {
    pub unix_seconds: u64,
    /// 16 bytes.
    pub rpi: Vec<u8>,
    /// 4 bytes.
    pub aem: Vec<u8>,
    pub rssi: i8,
}

impl TryFrom<MobileSighting> for Sighting {
    type Error = MobileError;

    fn try_from(sighting: MobileSighting) -> Result<Self, MobileError> {
        let wrong_length =
            |field: &str, expected: usize, actual: usize| MobileError::InvalidInput {
                detail: format!("a sighting's {field} has {expected} bytes, not {actual}"),
            };
        let rpi_length = sighting.rpi.len();
        let aem_length = sighting.aem.len();
        Ok(Sighting {
            unix_seconds: sighting.unix_seconds,
            rpi: sighting
                .rpi
                .try_into()
                .map_err(|_| wrong_length("rpi", 16, rpi_length))?,
            aem: sighting
                .aem
                .try_into()
                .map_err(|_| wrong_length("aem", 4, aem_length))?,
            rssi: sighting.rssi,
        })
    }
}

/// What the user is shown (the fields of the status JSON in API.md).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct MobileStatus {
    pub exposure: MobileExposure,
    pub venue_warnings: Vec<MobileVenueWarning>,
    /// The venue the user is checked into, if any.
    pub checked_in_at: Option<String>,
    /// Unix seconds of the last successful sync.
    pub last_sync: Option<u64>,
    /// Whether the user reported a positive test.
    pub reported: bool,
    /// Whether this phone's state was moved to a new phone.
    pub retired: bool,
    /// What the authority tells the user now, in French.
    pub instructions_fr: MobileInstructions,
    /// The same in English.
    pub instructions_en: MobileInstructions,
    /// The authority's configuration version in use; none for the built-in defaults.
    pub configuration_version: Option<u64>,
    /// Why the last configuration offered was refused (the one in use was kept).
    pub configuration_refused: Option<String>,
}

/// What the authority tells the user, in one language.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct MobileInstructions {
    /// What to do now (after a positive test, or for the most serious warning); none
    /// when there is nothing to do.
    pub what_to_do: Option<String>,
    pub hotline: String,
    pub test_site_url: String,
    pub info_banner: Option<String>,
}

impl From<Instructions> for MobileInstructions {
    fn from(instructions: Instructions) -> Self {
        Self {
            what_to_do: instructions.what_to_do,
            hotline: instructions.hotline,
            test_site_url: instructions.test_site_url,
            info_banner: instructions.info_banner,
        }
    }
}

/// Proximity exposure.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct MobileExposure {
    /// `"none"`, `"low"` or `"high"`.
    pub risk: String,
    /// The most recent day with an exposure (`YYYY-MM-DD`).
    pub last_exposure_date: Option<String>,
    /// Minutes of contact counted.
    pub exposure_minutes: u64,
    /// Exposure days, one per notification shown.
    pub notifications: Vec<MobileExposureNotification>,
}

/// One exposure day.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct MobileExposureNotification {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub risk: String,
    pub minutes: u64,
}

/// One venue warning: the user was at a venue when an infected person was.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct MobileVenueWarning {
    pub venue: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Unix seconds of the first and last moment of overlap.
    pub from: u64,
    pub until: u64,
    pub overlap_minutes: u64,
    pub risk: String,
}

impl From<PhoneStatus> for MobileStatus {
    fn from(status: PhoneStatus) -> Self {
        let PhoneStatus {
            exposure,
            venue_warnings,
            checked_in_at,
            last_sync,
            reported,
            retired,
            instructions,
            configuration,
        } = status;
        let ExposureStatus {
            risk,
            last_exposure_date,
            exposure_minutes,
            notifications,
        } = exposure;
        Self {
            exposure: MobileExposure {
                risk: risk.to_owned(),
                last_exposure_date,
                exposure_minutes,
                notifications: notifications
                    .into_iter()
                    .map(
                        |notification: ExposureNotification| MobileExposureNotification {
                            date: notification.date,
                            risk: notification.risk,
                            minutes: notification.minutes,
                        },
                    )
                    .collect(),
            },
            venue_warnings: venue_warnings
                .into_iter()
                .map(|warning: VenueWarningStatus| MobileVenueWarning {
                    venue: warning.venue,
                    date: warning.date,
                    from: warning.from,
                    until: warning.until,
                    overlap_minutes: warning.overlap_minutes,
                    risk: warning.risk,
                })
                .collect(),
            checked_in_at,
            last_sync,
            reported,
            retired,
            instructions_fr: instructions.fr.into(),
            instructions_en: instructions.en.into(),
            configuration_version: configuration.version,
            configuration_refused: configuration.refused,
        }
    }
}

/// A visit kept on the phone.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct MobileCheckIn {
    /// For [`MobilePhone::edit_check_in`].
    pub id: i64,
    pub url: String,
    pub description: String,
    pub address: String,
    /// Unix seconds.
    pub start: u64,
    /// When the user checked out; none while checked in (or never checked out).
    pub checked_out: Option<u64>,
    /// When the phone checks out by itself.
    pub automatic_end: u64,
}

impl From<CheckIn> for MobileCheckIn {
    fn from(visit: CheckIn) -> Self {
        Self {
            id: visit.id,
            url: visit.url,
            description: visit.description,
            address: visit.address,
            start: visit.start,
            checked_out: visit.checked_out,
            automatic_end: visit.automatic_end,
        }
    }
}

/// What scanning a venue QR code did.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum MobileScanOutcome {
    /// Checked into the venue (and out of the previous one, if any).
    CheckedIn { visit: MobileCheckIn },
    /// The venue was the current one: checked out of it.
    CheckedOut { visit: MobileCheckIn },
}

impl From<ScanOutcome> for MobileScanOutcome {
    fn from(outcome: ScanOutcome) -> Self {
        match outcome {
            ScanOutcome::CheckedIn(visit) => Self::CheckedIn {
                visit: visit.into(),
            },
            ScanOutcome::CheckedOut(visit) => Self::CheckedOut {
                visit: visit.into(),
            },
        }
    }
}

/// What a report uploaded.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct MobileReportOutcome {
    /// Real keys uploaded now (today's goes with the first sync of tomorrow).
    pub keys_uploaded: u64,
    /// Visits uploaded.
    pub check_ins_uploaded: u64,
}

impl From<ReportOutcome> for MobileReportOutcome {
    fn from(outcome: ReportOutcome) -> Self {
        Self {
            keys_uploaded: outcome.keys_uploaded as u64,
            check_ins_uploaded: outcome.check_ins_uploaded as u64,
        }
    }
}

/// The citizen phone: its state in one directory, and the operations of the app. Every
/// `now` is unix seconds from the app's clock.
#[derive(uniffi::Object)]
pub struct MobilePhone {
    phone: Mutex<Phone>,
}

impl MobilePhone {
    fn phone(&self) -> MutexGuard<'_, Phone> {
        // A panic inside a call (caught by the bindings) leaves no half-written state:
        // every change is one SQLite transaction, so the phone stays usable.
        self.phone.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[uniffi::export]
impl MobilePhone {
    /// Opens (creating if needed) the phone state in `directory`, the app's private
    /// storage.
    #[uniffi::constructor]
    pub fn open(directory: String) -> Result<Arc<Self>, MobileError> {
        let phone = Phone::open(Path::new(&directory))?;
        Ok(Arc::new(Self {
            phone: Mutex::new(phone),
        }))
    }

    /// Sets the server and pins its export public key (fetched now, over the network).
    pub fn init(&self, server_url: String, now: u64) -> Result<(), MobileError> {
        let pem = ServerApi::new(&server_url).export_public_key()?;
        Ok(self.phone().init_with_public_key(&server_url, &pem, now)?)
    }

    /// Sets the server and pins the given export public key (PEM), without network: the
    /// key an app ships with.
    pub fn init_with_public_key(
        &self,
        server_url: String,
        public_key_pem: String,
        now: u64,
    ) -> Result<(), MobileError> {
        Ok(self
            .phone()
            .init_with_public_key(&server_url, &public_key_pem, now)?)
    }

    /// The server this phone talks to.
    pub fn server_url(&self) -> Result<String, MobileError> {
        Ok(self.phone().server_url()?)
    }

    /// The advertisements to send during `minutes` minutes from `now`, one per minute.
    pub fn broadcast(
        &self,
        now: u64,
        minutes: u64,
    ) -> Result<Vec<MobileAdvertisement>, MobileError> {
        let advertisements = self.phone().broadcast(now, minutes, &mut rand::rng())?;
        Ok(advertisements.into_iter().map(Into::into).collect())
    }

    /// Records advertisements heard; returns how many were new (not a repeat within a
    /// scan).
    pub fn observe(&self, now: u64, sightings: Vec<MobileSighting>) -> Result<u64, MobileError> {
        let sightings = sightings
            .into_iter()
            .map(Sighting::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.phone().observe(now, &sightings)? as u64)
    }

    /// Waits up to `wait_seconds` (at most 300) until the server says that new keys are
    /// out; true when they are. A background worker loops on this, then syncs.
    pub fn wait_for_new_keys(&self, wait_seconds: u64) -> Result<bool, MobileError> {
        let request = self.phone().key_push_request()?;
        Ok(request.wait(wait_seconds)?)
    }

    /// Downloads keys and warnings, uploads what is due, and returns the status.
    pub fn sync(&self, now: u64) -> Result<MobileStatus, MobileError> {
        let mut rng = rand::rng();
        let plan = self.phone().plan_sync(now, &mut rng)?;
        let fetched = plan.fetch(now, &mut rng);
        Ok(self
            .phone()
            .apply_sync(&plan, fetched, now, &mut rng)?
            .into())
    }

    /// The status at `now`, without network.
    pub fn status(&self, now: u64) -> Result<MobileStatus, MobileError> {
        Ok(self.phone().status(now)?.into())
    }

    /// The status at `now` as the JSON documented in API.md.
    pub fn status_json(&self, now: u64) -> Result<String, MobileError> {
        let status = self.phone().status(now)?;
        serde_json::to_string(&status).map_err(|error| MobileError::InvalidInput {
            detail: error.to_string(),
        })
    }

    /// Reports a positive test with the code the physician gave.
    pub fn report(&self, code: String, now: u64) -> Result<MobileReportOutcome, MobileError> {
        Ok(self.phone().report(&code, now, &mut rand::rng())?.into())
    }

    /// Scans a venue QR code: checks in, or out when it is the current venue.
    pub fn checkin(&self, url: String, now: u64) -> Result<MobileScanOutcome, MobileError> {
        Ok(self.phone().checkin(&url, now)?.into())
    }

    /// Checks out of the current venue; none when not checked in.
    pub fn checkout(&self, now: u64) -> Result<Option<MobileCheckIn>, MobileError> {
        Ok(self.phone().checkout(now)?.map(Into::into))
    }

    /// Every check-in kept, oldest first.
    pub fn check_ins(&self) -> Result<Vec<MobileCheckIn>, MobileError> {
        let visits = self.phone().check_ins()?;
        Ok(visits.into_iter().map(Into::into).collect())
    }

    /// Corrects the times of a past check-in.
    pub fn edit_check_in(
        &self,
        id: i64,
        start: u64,
        end: u64,
        now: u64,
    ) -> Result<MobileCheckIn, MobileError> {
        Ok(self.phone().edit_check_in(id, start, end, now)?.into())
    }

    /// An encrypted backup of the whole state (age, passphrase).
    pub fn export_backup(&self, passphrase: String, now: u64) -> Result<Vec<u8>, MobileError> {
        Ok(self.phone().export_backup(&passphrase, now)?)
    }

    /// Exports a backup and retires this phone: it stops broadcasting and reporting.
    pub fn move_to_new_phone(&self, passphrase: String, now: u64) -> Result<Vec<u8>, MobileError> {
        Ok(self.phone().move_to_new_phone(&passphrase, now)?)
    }

    /// Replaces this phone's state with a backup's.
    pub fn restore_backup(
        &self,
        backup: Vec<u8>,
        passphrase: String,
        now: u64,
    ) -> Result<(), MobileError> {
        Ok(self.phone().restore_backup(&backup, &passphrase, now)?)
    }

    /// Whether this phone's state was moved to a new phone.
    pub fn is_retired(&self) -> Result<bool, MobileError> {
        Ok(self.phone().is_retired()?)
    }

    /// Whether the user agreed to send private analytics (off until they do).
    pub fn analytics_opted_in(&self) -> Result<bool, MobileError> {
        Ok(self.phone().analytics_opted_in()?)
    }

    /// Records the user's answer to the analytics question. Once opted in, every sync
    /// after a day is over sends that day's report (every metric, even when nothing
    /// happened: a warned phone's traffic looks like any other); opting out stops it.
    pub fn set_analytics_opt_in(&self, opted_in: bool, now: u64) -> Result<(), MobileError> {
        Ok(self.phone().set_analytics_opt_in(opted_in, now)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_795_176_000;

    /// A P-256 public key, for phones set up without a server.
    const PUBLIC_KEY_PEM: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE49JY6kekDgxj3Crm4y6kEHdfoKQF\nSNDM4mV9cgDb+e5nOAw0GeRoRThCu9/wX5wDT2QloFoOjl2pGZHI0f3C3w==\n-----END PUBLIC KEY-----\n";

    /// Runs `network_call` on its own thread against a server that accepts the request and
    /// never answers, and checks that the phone records a Bluetooth sighting meanwhile.
    fn sightings_are_recorded_while(network_call: fn(&MobilePhone) -> bool) {
        let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let (_directory, phone) = open();
        let url = format!("http://{}", server.local_addr().unwrap());
        phone
            .init_with_public_key(url, PUBLIC_KEY_PEM.into(), NOW)
            .unwrap();
        let calling = Arc::clone(&phone);
        let call = std::thread::spawn(move || network_call(&calling));
        // The request has reached the server, which keeps it waiting.
        let (connection, _) = server.accept().unwrap();

        let (done, finished) = std::sync::mpsc::channel();
        let observing = Arc::clone(&phone);
        std::thread::spawn(move || {
            let heard = MobileSighting {
                unix_seconds: NOW,
                rpi: vec![7; 16],
                aem: vec![1; 4],
                rssi: -60,
            };
            let _ = done.send(
                observing
                    .observe(NOW, vec![heard])
                    .map_err(|e| e.to_string()),
            );
        });
        let recorded = finished.recv_timeout(std::time::Duration::from_secs(20));
        // Hang up on the waiting request, so that the call ends either way.
        drop(connection);
        drop(server);
        assert_eq!(
            recorded.ok(),
            Some(Ok(1)),
            "a sighting must not wait for a request in flight"
        );
        assert!(!call.join().unwrap(), "the unanswered call fails");
    }

    #[test]
    fn a_sighting_is_recorded_while_the_key_push_waits() {
        sightings_are_recorded_while(|phone| phone.wait_for_new_keys(300).is_ok());
    }

    #[test]
    fn a_sighting_is_recorded_while_a_sync_waits_for_the_server() {
        sightings_are_recorded_while(|phone| phone.sync(NOW).is_ok());
    }

    fn open() -> (tempfile::TempDir, Arc<MobilePhone>) {
        let directory = tempfile::tempdir().unwrap();
        let phone = MobilePhone::open(directory.path().to_string_lossy().into_owned()).unwrap();
        (directory, phone)
    }

    #[test]
    fn advertisements_heard_by_another_phone_are_kept_as_its_sightings() {
        let (_a_directory, a) = open();
        let (_b_directory, b) = open();
        let advertisements = a.broadcast(NOW, 30).unwrap();
        assert_eq!(advertisements.len(), 30);
        assert!(
            advertisements
                .iter()
                .all(|ad| ad.rpi.len() == 16 && ad.aem.len() == 4)
        );
        let heard: Vec<MobileSighting> = advertisements
            .iter()
            .map(|ad| MobileSighting {
                unix_seconds: ad.unix_seconds,
                rpi: ad.rpi.clone(),
                aem: ad.aem.clone(),
                rssi: -55,
            })
            .collect();
        assert_eq!(b.observe(NOW + 1800, heard.clone()).unwrap(), 30);
        assert_eq!(b.observe(NOW + 1800, heard).unwrap(), 0, "repeats");
    }

    #[test]
    fn a_sighting_with_a_short_identifier_is_refused_not_truncated() {
        let (_directory, phone) = open();
        let short = MobileSighting {
            unix_seconds: NOW,
            rpi: vec![1; 15],
            aem: vec![0; 4],
            rssi: -60,
        };
        assert!(matches!(
            phone.observe(NOW, vec![short]),
            Err(MobileError::InvalidInput { .. })
        ));
    }

    #[test]
    fn phone_errors_reach_the_app_as_their_own_cases() {
        let (_directory, phone) = open();
        assert!(matches!(phone.sync(NOW), Err(MobileError::NotInitialised)));
        assert!(matches!(
            phone.report("1234-5678-9012".into(), NOW),
            Err(MobileError::InvalidCode { .. } | MobileError::NotInitialised)
        ));
        let status = phone.status(NOW).unwrap();
        assert_eq!(status.exposure.risk, "none");
        assert!(!status.retired);
        let json: serde_json::Value =
            serde_json::from_str(&phone.status_json(NOW).unwrap()).unwrap();
        assert_eq!(json["exposure"]["risk"], "none");
    }

    #[test]
    fn a_backup_moves_the_state_and_retires_the_old_phone() {
        let (_old_directory, old) = open();
        let (_new_directory, new) = open();
        old.broadcast(NOW, 1).unwrap();
        let backup = old.move_to_new_phone("correct horse".into(), NOW).unwrap();
        assert!(old.is_retired().unwrap());
        assert!(matches!(old.broadcast(NOW, 1), Err(MobileError::Retired)));
        assert!(matches!(
            new.restore_backup(backup.clone(), "wrong".into(), NOW),
            Err(MobileError::WrongPassphrase)
        ));
        new.restore_backup(backup, "correct horse".into(), NOW)
            .unwrap();
        assert!(!new.is_retired().unwrap());
        assert_eq!(new.broadcast(NOW, 1).unwrap().len(), 1);
    }
}
