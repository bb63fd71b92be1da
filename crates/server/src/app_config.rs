//! `GET /v1/config`: the authority's configuration for the apps, one JSON document.
//!
//! It carries the private analytics (`[analytics]` of the server's configuration: the
//! DAP leader and helper, one task per metric with the aggregators' HPKE keys) and the
//! authority's settings (`messages::app_settings`: risk parameters, venue rules, texts),
//! the newest version saved at `/authority/config` or with
//! `openstopcovid authority config set`, or the built-in defaults before the first save.
//! Like every answer it is signed (`Signature` header, verifiable with
//! `/v1/export-public-key`): a phone that pinned the key cannot be pointed at another
//! aggregator or be told to ignore its exposures. A strong `ETag` lets phones and CDNs
//! revalidate for nothing.
//!
//! Saving ([`save`], [`roll_back`]) is the one way in for the web page and the command
//! line: it validates with the one validator (`AppSettings::validate`), stores a new
//! version and writes the audit log entry in the same transaction.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use messages::app_config::AppConfiguration;
use messages::app_settings::{AppSettings, SettingsErrors};
use sha2::{Digest, Sha256};

use crate::datastore::{DatastoreError, Store};
use crate::problem::Problem;
use crate::state::AppState;

/// How long phones and caches may use the document without revalidating: a change an
/// administrator saves reaches phones behind a CDN within five minutes.
const MAX_AGE_SECONDS: u32 = 300;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/v1/config", get(serve))
}

/// Why settings could not be read or saved.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The settings break a rule; nothing was saved.
    #[error("{0}")]
    Invalid(SettingsErrors),
    #[error(transparent)]
    Database(#[from] DatastoreError),
    /// A stored version does not read back (written by a newer server?).
    #[error("stored settings version {version} is unreadable: {error}")]
    Unreadable {
        version: i64,
        error: serde_json::Error,
    },
}

/// The settings in force: the newest saved version and its number, or the built-in
/// defaults (`None`) before the first save.
pub async fn current_settings(store: &Store) -> Result<(Option<i64>, AppSettings), SettingsError> {
    match store.latest_app_configuration().await? {
        Some(row) => Ok((Some(row.version), read_stored(row.version, &row.settings)?)),
        None => Ok((None, AppSettings::default())),
    }
}

/// The settings of a saved version, `None` if there is no such version.
pub async fn settings_of_version(
    store: &Store,
    version: i64,
) -> Result<Option<AppSettings>, SettingsError> {
    match store.app_configuration_version(version).await? {
        Some(row) => Ok(Some(read_stored(row.version, &row.settings)?)),
        None => Ok(None),
    }
}

fn read_stored(version: i64, settings: &str) -> Result<AppSettings, SettingsError> {
    serde_json::from_str(settings).map_err(|error| SettingsError::Unreadable { version, error })
}

/// Validates `settings` and saves them as a new version by `author` (audited); returns
/// the version's number.
pub async fn save(
    store: &Store,
    now: i64,
    author: &str,
    settings: &AppSettings,
) -> Result<i64, SettingsError> {
    settings.validate().map_err(SettingsError::Invalid)?;
    let json = serde_json::to_string(settings)
        .map_err(|error| SettingsError::Unreadable { version: 0, error })?;
    Ok(store
        .save_app_configuration(now, author, &json, None)
        .await?)
}

/// Saves a new version equal to version `version` (audited); `None` when there is no
/// such version.
pub async fn roll_back(
    store: &Store,
    now: i64,
    author: &str,
    version: i64,
) -> Result<Option<i64>, SettingsError> {
    let Some(row) = store.app_configuration_version(version).await? else {
        return Ok(None);
    };
    // Read back first: a version that no longer reads is not served again.
    read_stored(row.version, &row.settings)?
        .validate()
        .map_err(SettingsError::Invalid)?;
    Ok(Some(
        store
            .save_app_configuration(now, author, &row.settings, Some(version))
            .await?,
    ))
}

/// The document of a server: its analytics and the settings in force.
pub async fn document(state: &AppState) -> Result<AppConfiguration, SettingsError> {
    let (version, settings) = current_settings(&state.store).await?;
    Ok(AppConfiguration {
        analytics: state
            .config
            .analytics
            .as_ref()
            .map(crate::config::AnalyticsSetting::to_wire),
        version: version.and_then(|version| u64::try_from(version).ok()),
        risk: Some(settings.risk),
        venues: Some(settings.venues),
        texts: Some(settings.texts),
    })
}

#[utoipa::path(
    get, path = "/v1/config", tag = "config",
    summary = "The authority's configuration for the apps: risk parameters, venue rules, texts in French and English, private analytics; signed, with ETag",
    responses(
        (status = 200, description = "the configuration", body = AppConfiguration),
        (status = 304, description = "not modified (If-None-Match)"),
    )
)]
pub(crate) async fn serve(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let document = document(&state)
        .await
        .map_err(|error| Problem::internal(&error))?;
    let body = serde_json::to_vec(&document).map_err(|error| Problem::internal(&error))?;
    let etag = format!("\"{}\"", hex::encode(&Sha256::digest(&body)[..16]));
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.split(',').any(|tag| tag.trim() == etag));
    let mut response = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, "application/json")], body).into_response()
    };
    let response_headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&format!("public, max-age={MAX_AGE_SECONDS}")) {
        response_headers.insert(header::CACHE_CONTROL, value);
    }
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response_headers.insert(header::ETAG, value);
    }
    Ok(response)
}
