//! The server routes the phone calls (API.md), over blocking HTTP.
//!
//! A phone app calls the core from a background worker, one request at a time, so a
//! blocking client (`ureq`) is all it needs: no async runtime in the app's process. Every
//! download is bounded ([`MAX_DOWNLOAD_BYTES`]) and every request times out
//! ([`REQUEST_TIMEOUT`]); a failed request changes nothing on the phone.

use std::time::Duration;

use messages::app_config::{AppConfiguration, MAX_APP_CONFIGURATION_BYTES};
use messages::authority::{AccessToken, FakeFlag, VerifyRequest};
use messages::check_ins::CheckInUploadRequest;
use messages::keys::{GaenNextDayRequest, GaenUploadRequest, PushAnswer, UploadAnswer};
use messages::response_signature::verify_response_signature;
use ureq::Agent;
use ureq::http::Response;

use crate::PhoneError;
use crate::app_config::ConfigurationDownload;

/// Longest wait for one request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Largest body the phone accepts (a key export is at most 16 MB, PROTOCOLS.md §2).
pub const MAX_DOWNLOAD_BYTES: u64 = 16 * 1024 * 1024 + 64 * 1024;

/// Header carrying the key-bundle cursor.
pub const KEY_BUNDLE_TAG_HEADER: &str = "x-key-bundle-tag";

/// Header carrying the venue-warnings cursor.
pub const WARNINGS_UNTIL_HEADER: &str = "x-warnings-until";

/// The longest the server holds a push request (`/v1/push/keys`).
pub const MAX_PUSH_WAIT_SECONDS: u64 = 300;

/// A key download: the zip and the cursor for the next one. `None` zip: nothing new.
pub struct KeyDownload {
    pub zip: Option<Vec<u8>>,
    pub next_tag: Option<String>,
}

/// A venue-warnings download: the protobuf package and the cursor for the next one.
pub struct WarningsDownload {
    pub package: Vec<u8>,
    pub next_cursor: Option<String>,
}

/// The HTTP side of one server.
pub struct ServerApi {
    base_url: String,
    agent: Agent,
}

impl ServerApi {
    pub fn new(base_url: &str) -> Self {
        let agent: Agent = Agent::config_builder()
            .timeout_global(Some(REQUEST_TIMEOUT))
            .http_status_as_error(false)
            .build()
            .into();
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            agent,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// `GET /v1/export-public-key`: the PEM that signs export files.
    pub fn export_public_key(&self) -> Result<String, PhoneError> {
        let response = self
            .agent
            .get(self.url("/v1/export-public-key"))
            .call()
            .map_err(network)?;
        let body = success_body(response)?;
        String::from_utf8(body)
            .map_err(|_| PhoneError::Network("the export public key is not text".into()))
    }

    /// `POST /v1/codes/verify`: a code for an upload token. `fake` requests are answered
    /// like real ones and change nothing.
    pub fn verify_code(&self, code: &str, fake: bool) -> Result<String, PhoneError> {
        let response = self
            .agent
            .post(self.url("/v1/codes/verify"))
            .send_json(VerifyRequest {
                code: code.to_owned(),
                fake: Some(FakeFlag::Bool(fake)),
            })
            .map_err(network)?;
        if response.status().as_u16() == 404 && !fake {
            return Err(PhoneError::CodeRejected);
        }
        let body = success_body(response)?;
        let answer: AccessToken = serde_json::from_slice(&body)
            .map_err(|error| PhoneError::Network(format!("unreadable verify answer: {error}")))?;
        Ok(answer.access_token)
    }

    /// `POST /v2/gaen/exposed`; returns the next-day token.
    pub fn upload_keys(
        &self,
        token: &str,
        upload: &GaenUploadRequest,
    ) -> Result<Option<String>, PhoneError> {
        let response = self
            .agent
            .post(self.url("/v2/gaen/exposed"))
            .header("Authorization", format!("Bearer {token}"))
            .send_json(upload)
            .map_err(network)?;
        let header_token = response
            .headers()
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::to_owned);
        let body = success_body(response)?;
        let body_token = serde_json::from_slice::<UploadAnswer>(&body)
            .ok()
            .and_then(|answer| answer.next_day_token);
        Ok(body_token.or(header_token))
    }

    /// `POST /v1/gaen/exposednextday`.
    pub fn upload_next_day_key(
        &self,
        token: &str,
        upload: &GaenNextDayRequest,
    ) -> Result<(), PhoneError> {
        let response = self
            .agent
            .post(self.url("/v1/gaen/exposednextday"))
            .header("Authorization", format!("Bearer {token}"))
            .send_json(upload)
            .map_err(network)?;
        success_body(response).map(drop)
    }

    /// `POST /v1/checkins`.
    pub fn upload_check_ins(
        &self,
        token: &str,
        upload: &CheckInUploadRequest,
    ) -> Result<(), PhoneError> {
        let response = self
            .agent
            .post(self.url("/v1/checkins"))
            .header("Authorization", format!("Bearer {token}"))
            .send_json(upload)
            .map_err(network)?;
        success_body(response).map(drop)
    }

    /// `GET /v2/gaen/exposed?lastKeyBundleTag=`.
    pub fn download_keys(&self, last_tag: Option<&str>) -> Result<KeyDownload, PhoneError> {
        let mut request = self.agent.get(self.url("/v2/gaen/exposed"));
        if let Some(tag) = last_tag {
            request = request.query("lastKeyBundleTag", tag);
        }
        let response = request.call().map_err(network)?;
        let next_tag = header_text(&response, KEY_BUNDLE_TAG_HEADER);
        if response.status().as_u16() == 204 {
            return Ok(KeyDownload {
                zip: None,
                next_tag,
            });
        }
        let zip = success_body(response)?;
        Ok(KeyDownload {
            zip: Some(zip),
            next_tag,
        })
    }

    /// `GET /v1/push/keys`: waits up to `wait_seconds` (the server caps it at 300) for
    /// keys newer than `last_tag`; true when a download would now bring some.
    pub fn wait_for_keys(
        &self,
        last_tag: Option<&str>,
        wait_seconds: u64,
    ) -> Result<bool, PhoneError> {
        let wait_seconds = wait_seconds.min(MAX_PUSH_WAIT_SECONDS);
        let mut request = self
            .agent
            .get(self.url("/v1/push/keys"))
            .query("waitSeconds", wait_seconds.to_string());
        if let Some(tag) = last_tag {
            request = request.query("lastKeyBundleTag", tag);
        }
        let response = request
            .config()
            .timeout_global(Some(Duration::from_secs(wait_seconds) + REQUEST_TIMEOUT))
            .build()
            .call()
            .map_err(network)?;
        let body = success_body(response)?;
        let answer: PushAnswer =
            serde_json::from_slice(&body).map_err(|error| PhoneError::Server {
                status: 200,
                detail: format!("the push answer is not understood: {error}"),
            })?;
        Ok(answer.new_keys)
    }

    /// `GET /v1/warnings?since=` (protobuf `TraceWarningPackage`).
    pub fn download_warnings(&self, since: Option<&str>) -> Result<WarningsDownload, PhoneError> {
        let mut request = self
            .agent
            .get(self.url("/v1/warnings"))
            .header("Accept", "application/x-protobuf");
        if let Some(since) = since {
            request = request.query("since", since);
        }
        let response = request.call().map_err(network)?;
        let next_cursor = header_text(&response, WARNINGS_UNTIL_HEADER);
        let package = success_body(response)?;
        Ok(WarningsDownload {
            package,
            next_cursor,
        })
    }
}

impl ServerApi {
    /// `GET /v1/config`: the authority's configuration for the apps, checked against the
    /// pinned export key (its `Signature` header): whoever can change it can send this
    /// phone's analytics to another aggregator, or tell it to ignore exposures.
    pub fn app_configuration(
        &self,
        public_key: &p256::ecdsa::VerifyingKey,
    ) -> Result<AppConfiguration, PhoneError> {
        match self.fetch_app_configuration(public_key, None)? {
            ConfigurationDownload::Fetched { configuration, .. } => Ok(*configuration),
            ConfigurationDownload::NotModified => Err(PhoneError::Server {
                status: 304,
                detail: "not modified, though nothing was cached".to_owned(),
            }),
        }
    }

    /// `GET /v1/config` with `If-None-Match: etag` when one is kept. The body is bounded
    /// ([`MAX_APP_CONFIGURATION_BYTES`]) and its signature verified before it is parsed.
    pub(crate) fn fetch_app_configuration(
        &self,
        public_key: &p256::ecdsa::VerifyingKey,
        etag: Option<&str>,
    ) -> Result<ConfigurationDownload, PhoneError> {
        let mut request = self.agent.get(self.url("/v1/config"));
        if let Some(etag) = etag {
            request = request.header("If-None-Match", etag);
        }
        let response = request.call().map_err(network)?;
        if response.status().as_u16() == 304 {
            return Ok(ConfigurationDownload::NotModified);
        }
        let signature = header_text(&response, "signature").ok_or_else(|| {
            PhoneError::BadSignature("the configuration came without a signature".to_owned())
        })?;
        let etag = header_text(&response, "etag");
        let body = bounded_success_body(response, MAX_APP_CONFIGURATION_BYTES as u64)?;
        verify_response_signature(public_key, &signature, &body)
            .map_err(|error| PhoneError::BadSignature(format!("configuration: {error}")))?;
        let configuration = serde_json::from_slice(&body).map_err(|error| PhoneError::Server {
            status: 200,
            detail: format!("the configuration is not understood: {error}"),
        })?;
        Ok(ConfigurationDownload::Fetched {
            configuration: Box::new(configuration),
            etag,
        })
    }
}

/// `PUT {leader}/tasks/{task}/reports` of DAP-09: one sealed report to the leader, which
/// forwards the helper's share (encrypted to the helper) when it aggregates.
pub fn upload_dap_report(
    leader: &str,
    reports_path: &str,
    report: &[u8],
) -> Result<(), PhoneError> {
    let agent: Agent = Agent::config_builder()
        .timeout_global(Some(REQUEST_TIMEOUT))
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!("{}/{reports_path}", leader.trim_end_matches('/'));
    let response = agent
        .put(&url)
        .header("Content-Type", analytics::dap::REPORT_MEDIA_TYPE)
        .send(report)
        .map_err(network)?;
    success_body(response).map(|_| ())
}

fn network(error: ureq::Error) -> PhoneError {
    PhoneError::Network(error.to_string())
}

fn header_text(response: &Response<ureq::Body>, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// The body of a 2xx answer; anything else becomes [`PhoneError::Server`] with the
/// problem document's `detail` when there is one.
fn success_body(response: Response<ureq::Body>) -> Result<Vec<u8>, PhoneError> {
    bounded_success_body(response, MAX_DOWNLOAD_BYTES)
}

/// [`success_body`] with its own bound: a larger body is an error, never read whole.
fn bounded_success_body(response: Response<ureq::Body>, limit: u64) -> Result<Vec<u8>, PhoneError> {
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|error| match error {
            ureq::Error::BodyExceedsLimit(limit) => PhoneError::Server {
                status,
                detail: format!("the answer is larger than the {limit} bytes allowed"),
            },
            other => network(other),
        })?;
    if (200..300).contains(&status) {
        return Ok(body);
    }
    let detail = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|problem| problem.get("detail")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(200).collect());
    Err(PhoneError::Server { status, detail })
}
