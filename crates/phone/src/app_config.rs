//! The authority's configuration on the phone (`GET /v1/config`): fetched at every sync,
//! verified, validated, kept and applied.
//!
//! The document must carry a valid `Signature` by the key pinned at `init` (the same
//! check as every signed answer, [`crate::server_api`]), fit in
//! [`MAX_APP_CONFIGURATION_BYTES`], parse, and pass the authority's own validator
//! (`AppSettings::validate`): a configuration that could tell the phone to ignore every
//! exposure, or show a stranger's hotline, is refused whole. A refused configuration
//! changes nothing: the phone keeps the last good one (or the built-in defaults, which
//! are the server's defaults too) and says why in its status. A refusal does not fail
//! the sync: keys and warnings are signed on their own and still come in.
//!
//! Applied: the risk parameters score proximity exposures ([`Phone::risk_configuration`]),
//! the venue rules filter venue warnings, and the texts are what [`Phone::status`] shows.
//!
//! [`MAX_APP_CONFIGURATION_BYTES`]: messages::app_config::MAX_APP_CONFIGURATION_BYTES

use exposure::risk::RiskConfiguration;
use messages::app_config::AppConfiguration;
use messages::app_settings::AppSettings;

use crate::store::{
    self, APP_CONFIGURATION_ETAG, APP_CONFIGURATION_REFUSED, APP_CONFIGURATION_VERSION,
    APP_SETTINGS,
};
use crate::{Phone, PhoneError};

/// What a configuration download brought.
pub(crate) enum ConfigurationDownload {
    /// The server's `ETag` matched the one kept: nothing changed.
    NotModified,
    /// A signed document (already verified) and its `ETag`.
    Fetched {
        configuration: Box<AppConfiguration>,
        etag: Option<String>,
    },
}

/// The configuration a phone works with, and whether the last one offered was refused.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigurationInUse {
    /// The authority's version number; `None` for the built-in defaults.
    pub version: Option<u64>,
    pub settings: AppSettings,
    /// Why the last configuration the server offered was refused, until a good one comes.
    pub refused: Option<String>,
}

impl Phone {
    /// The configuration in use: the last good one fetched, else the built-in defaults.
    pub fn configuration(&self) -> Result<ConfigurationInUse, PhoneError> {
        let stored = store::setting(&self.db, APP_SETTINGS)?
            .and_then(|json| serde_json::from_str::<AppSettings>(&json).ok())
            .filter(|settings| settings.validate().is_ok());
        let refused = store::setting(&self.db, APP_CONFIGURATION_REFUSED)?;
        Ok(match stored {
            Some(settings) => ConfigurationInUse {
                version: store::setting(&self.db, APP_CONFIGURATION_VERSION)?
                    .and_then(|text| text.parse().ok()),
                settings,
                refused,
            },
            None => ConfigurationInUse {
                version: None,
                settings: AppSettings::default(),
                refused,
            },
        })
    }

    /// The risk model's parameters in use.
    pub fn risk_configuration(&self) -> Result<RiskConfiguration, PhoneError> {
        Ok(self
            .configuration()?
            .settings
            .risk
            .to_risk_configuration()
            .unwrap_or_default())
    }

    /// The `ETag` of the configuration kept, to revalidate it for nothing.
    pub(crate) fn configuration_etag(&self) -> Result<Option<String>, PhoneError> {
        Ok(store::setting(&self.db, APP_CONFIGURATION_ETAG)?)
    }

    /// Takes a downloaded configuration when it is good, else records why not and keeps
    /// the one in use.
    pub(crate) fn apply_configuration(
        &mut self,
        download: Result<ConfigurationDownload, PhoneError>,
    ) -> Result<(), PhoneError> {
        let (configuration, etag) = match download {
            // The server confirms the one kept is current: an earlier refusal is over.
            Ok(ConfigurationDownload::NotModified) => {
                return Ok(store::delete_setting(&self.db, APP_CONFIGURATION_REFUSED)?);
            }
            Ok(ConfigurationDownload::Fetched {
                configuration,
                etag,
            }) => (configuration, etag),
            // Unreachable server: the configuration kept is still the authority's.
            Err(PhoneError::Network(_)) => return Ok(()),
            Err(PhoneError::BadSignature(detail)) => {
                return self.refuse_configuration(&format!(
                    "not signed by the server's pinned key: {}",
                    detail.trim_start_matches("configuration: ")
                ));
            }
            Err(refusal) => return self.refuse_configuration(&refusal.to_string()),
        };
        let Some(settings) = configuration.settings() else {
            // A server that serves no settings (an older one): the defaults apply.
            return Ok(());
        };
        if let Err(errors) = settings.validate() {
            return self.refuse_configuration(&format!(
                "the configuration breaks the authority's own rules: {}",
                errors
                    .0
                    .first()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            ));
        }
        let json = serde_json::to_string(&settings)
            .map_err(|error| PhoneError::InvalidInput(error.to_string()))?;
        store::set_setting(&self.db, APP_SETTINGS, &json)?;
        match configuration.version {
            Some(version) => {
                store::set_setting(&self.db, APP_CONFIGURATION_VERSION, &version.to_string())?
            }
            None => store::delete_setting(&self.db, APP_CONFIGURATION_VERSION)?,
        }
        match etag {
            Some(etag) => store::set_setting(&self.db, APP_CONFIGURATION_ETAG, &etag)?,
            None => store::delete_setting(&self.db, APP_CONFIGURATION_ETAG)?,
        }
        store::delete_setting(&self.db, APP_CONFIGURATION_REFUSED)?;
        Ok(())
    }

    fn refuse_configuration(&mut self, why: &str) -> Result<(), PhoneError> {
        store::set_setting(&self.db, APP_CONFIGURATION_REFUSED, why)?;
        Ok(())
    }
}
