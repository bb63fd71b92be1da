//! Setting the phone up against a server, and the periodic sync.
//!
//! `init` fetches the export-signing public key once and pins it: every later download
//! must be signed by that key, so a compromised network path cannot feed the phone keys
//! (or make it warn anyone). A sync runs, in order: the authority's configuration (kept
//! only when signed and valid, see [`crate::app_config`]; applied before anything is
//! scored), the next-day upload of a reported key whose day is over, the key download
//! and matching, the venue warnings, the notifications of new exposure days, and a fake
//! upload when one is due.

use exposure::export::public_key_from_pem;
use exposure::keys::TemporaryExposureKey;
use rand_core::CryptoRng;

use crate::app_config::ConfigurationDownload;
use crate::report::{NextDayUpload, send_fake_report};
use crate::server_api::{KeyDownload, ServerApi, WarningsDownload};
use crate::status::PhoneStatus;
use crate::store::{self, EXPORT_PUBLIC_KEY_PEM, LAST_KEY_BUNDLE_TAG, LAST_SYNC, SERVER_URL};
use crate::{Phone, PhoneError};

impl Phone {
    /// Sets the server and pins its export public key (fetched now, over the network).
    pub fn init(&mut self, server_url: &str, now: u64) -> Result<(), PhoneError> {
        let pem = ServerApi::new(server_url).export_public_key()?;
        self.init_with_public_key(server_url, &pem, now)
    }

    /// Sets the server and pins the given export public key (PEM), without network.
    pub fn init_with_public_key(
        &mut self,
        server_url: &str,
        public_key_pem: &str,
        now: u64,
    ) -> Result<(), PhoneError> {
        self.purge(now)?;
        if !(server_url.starts_with("http://") || server_url.starts_with("https://")) {
            return Err(PhoneError::InvalidInput(format!(
                "the server URL must start with http:// or https://, not {server_url:?}"
            )));
        }
        public_key_from_pem(public_key_pem).map_err(|error| {
            PhoneError::BadSignature(format!("the server's public key is unreadable: {error}"))
        })?;
        store::set_setting(&self.db, SERVER_URL, server_url.trim_end_matches('/'))?;
        store::set_setting(&self.db, EXPORT_PUBLIC_KEY_PEM, public_key_pem)?;
        Ok(())
    }

    /// Waits (up to `wait_seconds`, at most 5 minutes) until the server says that keys
    /// newer than the last download are out; true when they are, so that a sync now
    /// brings them. An app calls this in a loop from a background worker to sync within
    /// minutes of new keys, not only at its daily sync.
    pub fn wait_for_new_keys(&self, wait_seconds: u64) -> Result<bool, PhoneError> {
        self.key_push_request()?.wait(wait_seconds)
    }

    /// What [`Phone::wait_for_new_keys`] asks the server, to ask without holding the
    /// phone (the answer may take 5 minutes).
    pub(crate) fn key_push_request(&self) -> Result<KeyPushRequest, PhoneError> {
        self.ensure_active()?;
        Ok(KeyPushRequest {
            api: ServerApi::new(&self.server_url()?),
            last_tag: store::setting(&self.db, LAST_KEY_BUNDLE_TAG)?,
        })
    }

    /// Downloads keys and warnings, uploads what is due, and returns the status.
    pub fn sync<R: CryptoRng + ?Sized>(
        &mut self,
        now: u64,
        rng: &mut R,
    ) -> Result<PhoneStatus, PhoneError> {
        let plan = self.plan_sync(now, rng)?;
        let fetched = plan.fetch(now, rng);
        self.apply_sync(&plan, fetched, now, rng)
    }

    /// The first step of a sync: what to ask the server, read from the phone.
    pub(crate) fn plan_sync<R: CryptoRng + ?Sized>(
        &mut self,
        now: u64,
        rng: &mut R,
    ) -> Result<SyncPlan, PhoneError> {
        self.purge(now)?;
        self.ensure_active()?;
        Ok(SyncPlan {
            server_url: self.server_url()?,
            public_key_pem: store::setting(&self.db, EXPORT_PUBLIC_KEY_PEM)?
                .ok_or(PhoneError::NotInitialised)?,
            configuration_etag: self.configuration_etag()?,
            next_day_uploads: self.due_next_day_uploads(now)?,
            last_key_bundle_tag: store::setting(&self.db, LAST_KEY_BUNDLE_TAG)?,
            warnings_since: self.warnings_cursor()?,
            fake_report_due: self.fake_report_due(now, rng)?,
            analytics: self.plan_analytics(now)?,
        })
    }

    /// The last step of a sync: what the network brought, written to the phone. Parts that
    /// were fetched before a failure are kept (an upload done is not redone), then the
    /// failure is returned. A cursor moves only once what it covers was matched.
    pub(crate) fn apply_sync<R: CryptoRng + ?Sized>(
        &mut self,
        plan: &SyncPlan,
        fetched: SyncFetched,
        now: u64,
        rng: &mut R,
    ) -> Result<PhoneStatus, PhoneError> {
        self.ensure_active()?;
        if self.server_url()? != plan.server_url {
            // Set up anew (or restored from a backup) while the requests ran: what came
            // back belongs to another state.
            return self.status(now);
        }
        if let Some(download) = fetched.configuration {
            self.apply_configuration(download)?;
        }
        for key in &fetched.next_day_done {
            self.finish_next_day_upload(key)?;
        }
        if let Some(download) = &fetched.keys {
            if let Some(zip) = &download.zip {
                self.check_export(zip)?;
            }
            if let Some(tag) = &download.next_tag {
                store::set_setting(&self.db, LAST_KEY_BUNDLE_TAG, tag)?;
            }
        }
        if let Some(download) = &fetched.warnings {
            self.apply_venue_warnings(download, now)?;
        }
        if fetched.fake_report_sent {
            self.schedule_next_fake_report(now, rng)?;
        }
        if let Some(day) = fetched.analytics_sent {
            self.analytics_day_sent(day)?;
        }
        if let Some(failure) = fetched.failure {
            return Err(failure);
        }
        let assessment = self.assess_exposure()?;
        self.record_exposure_notifications(&assessment, now)?;
        store::set_setting(&self.db, LAST_SYNC, &now.to_string())?;
        self.status(now)
    }
}

/// A key push long poll, ready to send.
pub(crate) struct KeyPushRequest {
    api: ServerApi,
    last_tag: Option<String>,
}

impl KeyPushRequest {
    /// Sends it and waits for the answer: true when new keys are out.
    pub(crate) fn wait(&self, wait_seconds: u64) -> Result<bool, PhoneError> {
        self.api
            .wait_for_keys(self.last_tag.as_deref(), wait_seconds)
    }
}

/// What a sync asks the server, read from the phone before any request.
pub(crate) struct SyncPlan {
    server_url: String,
    public_key_pem: String,
    configuration_etag: Option<String>,
    next_day_uploads: Vec<NextDayUpload>,
    last_key_bundle_tag: Option<String>,
    warnings_since: Option<String>,
    fake_report_due: bool,
    analytics: Option<crate::analytics::AnalyticsDue>,
}

/// What the server answered, to write to the phone. After a failed request nothing more
/// is asked.
#[derive(Default)]
pub(crate) struct SyncFetched {
    /// The configuration download, good or not: a refusal does not stop the sync.
    configuration: Option<Result<ConfigurationDownload, PhoneError>>,
    /// Next-day uploads sent or refused: either way, done.
    next_day_done: Vec<TemporaryExposureKey>,
    keys: Option<KeyDownload>,
    warnings: Option<WarningsDownload>,
    fake_report_sent: bool,
    /// The day whose analytics reports were accepted.
    analytics_sent: Option<u32>,
    failure: Option<PhoneError>,
}

impl SyncPlan {
    /// Every request of the sync, in order: next-day uploads, the key download, the
    /// warnings download, a fake report when one is due, the day's analytics reports when
    /// the user opted in. Network only, so that it runs
    /// without holding the phone: a sync over a slow network must not block Bluetooth.
    pub(crate) fn fetch<R: CryptoRng + ?Sized>(&self, now: u64, rng: &mut R) -> SyncFetched {
        let api = ServerApi::new(&self.server_url);
        let mut fetched = SyncFetched::default();
        if let Err(failure) = self.fetch_into(&api, &mut fetched, now, rng) {
            fetched.failure = Some(failure);
        }
        fetched
    }

    fn fetch_into<R: CryptoRng + ?Sized>(
        &self,
        api: &ServerApi,
        fetched: &mut SyncFetched,
        now: u64,
        rng: &mut R,
    ) -> Result<(), PhoneError> {
        let public_key = public_key_from_pem(&self.public_key_pem)
            .map_err(|error| PhoneError::BadSignature(format!("pinned key unreadable: {error}")))?;
        fetched.configuration =
            Some(api.fetch_app_configuration(&public_key, self.configuration_etag.as_deref()));
        for upload in &self.next_day_uploads {
            upload.send(api)?;
            fetched.next_day_done.push(upload.key);
        }
        fetched.keys = Some(api.download_keys(self.last_key_bundle_tag.as_deref())?);
        fetched.warnings = Some(api.download_warnings(self.warnings_since.as_deref())?);
        if self.fake_report_due {
            send_fake_report(api, now, rng)?;
            fetched.fake_report_sent = true;
        }
        // Best effort: unreachable aggregators must not make the sync fail; the day stays
        // due and the next sync tries again.
        if let Some(due) = &self.analytics
            && crate::analytics::send_analytics(api, due, rng).is_ok()
        {
            fetched.analytics_sent = Some(due.day);
        }
        Ok(())
    }
}
