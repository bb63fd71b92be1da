//! Setting the phone up against a server, and the periodic sync.
//!
//! `init` fetches the export-signing public key once and pins it: every later download
//! must be signed by that key, so a compromised network path cannot feed the phone keys
//! (or make it warn anyone). A sync runs, in order: the next-day upload of a reported
//! key whose day is over, the key download and matching, the venue warnings, the
//! notifications of new exposure days, and a fake upload when one is due.

use exposure::export::public_key_from_pem;
use rand_core::CryptoRng;

use crate::server_api::ServerApi;
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
        self.ensure_active()?;
        let api = ServerApi::new(&self.server_url()?);
        let last_tag = store::setting(&self.db, LAST_KEY_BUNDLE_TAG)?;
        api.wait_for_keys(last_tag.as_deref(), wait_seconds)
    }

    /// Downloads keys and warnings, uploads what is due, and returns the status.
    pub fn sync<R: CryptoRng + ?Sized>(
        &mut self,
        now: u64,
        rng: &mut R,
    ) -> Result<PhoneStatus, PhoneError> {
        self.purge(now)?;
        self.ensure_active()?;
        let api = ServerApi::new(&self.server_url()?);
        self.upload_next_day_keys(&api, now)?;

        let last_tag = store::setting(&self.db, LAST_KEY_BUNDLE_TAG)?;
        let download = api.download_keys(last_tag.as_deref())?;
        if let Some(zip) = &download.zip {
            self.check_export(zip)?;
        }
        // The cursor moves only once the keys it covers were matched.
        if let Some(tag) = &download.next_tag {
            store::set_setting(&self.db, LAST_KEY_BUNDLE_TAG, tag)?;
        }

        self.sync_venue_warnings(&api, now)?;
        let assessment = self.assess_exposure()?;
        self.record_exposure_notifications(&assessment, now)?;
        self.fake_traffic(now, rng)?;
        store::set_setting(&self.db, LAST_SYNC, &now.to_string())?;
        self.status(now)
    }
}
