//! A client that sends and checks exactly what the DP-3T Android SDK does, written from
//! DP-3T/dp3t-sdk-android at two commits:
//!
//! - 6566cebfc0ea936fda5c594e4b19fc39b17e64da (2022-04-05, the newest): uploads and
//!   downloads.
//!   - `internal/backend/ReportService.kt`, `BackendReportRepository.kt`:
//!     `POST v2/gaen/exposed` with `Accept: application/json`, the app's `Authorization`
//!     header, Gson's `Content-Type: application/json; charset=UTF-8`, the `User-Agent`
//!     of `UserAgentInterceptor`; any 2xx is success, and the answer's `Authorization`
//!     header is what the SDK keeps.
//!   - `internal/backend/models/GaenRequest.java`, `GaenKey.java`: the body
//!     `{"gaenKeys":[…],"delayedKeyDate":N,"fake":0|1,"withFederationGateway":true|false}`
//!     (Gson omits a null `withFederationGateway`); each key `keyData`,
//!     `rollingStartNumber`, `rollingPeriod`, `transmissionRiskLevel`, `fake`; padding to
//!     30 with random keys one day apart before the oldest real key (`fake: 1`).
//!     `delayedKeyDate` is today's rolling start (`DateUtil.getCurrentRollingStartNumber`).
//!   - `DP3T.java` `uploadTEKsInternal`: keys from the onset day on;
//!     `DP3TKotlin.kt` `sendFakeInfectedRequest`: no keys, request `fake = 1`.
//!   - `internal/backend/BucketService.kt`, `BackendBucketRepository.kt`:
//!     `GET v2/gaen/exposed?lastKeyBundleTag=…&withFederationGateway=…` (null parameters
//!     left out); interceptors in order `UserAgentInterceptor`,
//!     `TimingVerificationInterceptor` (`Date` + `Age` within 10 minutes of the phone),
//!     `SignatureVerificationInterceptor` (every 2xx answer, 204 included: the lower-case
//!     `signature` header, jjwt `parseClaimsJws` with the pinned key — ES256, `exp` and
//!     `nbf` checked with no clock skew — then `content-hash`, base64 of the body's
//!     SHA-256, compared with the body).
//!   - `internal/SyncWorker.kt`: a non-204 answer is handed to Google's framework; the
//!     `x-key-bundle-tag` header becomes the next `lastKeyBundleTag` in both cases.
//! - 524257e3633722b7c610aacc036b2d8f31fcfc74 (2021-03-04), the last commit with the
//!   next-day upload (removed by 8a777efe "removed pending gaen key logic"):
//!   `DP3T.java` stores a `PendingKey(delayedKeyDate, authToken, fake)` with the answer's
//!   `Authorization` header; `SyncWorker.uploadPendingKeys` sends it once that day is over
//!   (pending keys older than yesterday are dropped) as
//!   `POST v1/gaen/exposednextday` `{"delayedKey":{…},"fake":0|1}` with that header as
//!   `Authorization` (`ReportService.addPendingGaenKey`, `models/GaenSecondDay.java`); a
//!   fake pending key is a random key with `fake: 1`.

use base64::Engine;
use base64::alphabet;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use p256::ecdsa::VerifyingKey;
use serde::Serialize;
use server::{Clock, MockClock};
use sha2::{Digest, Sha256};

use super::jws;

/// `TimingVerificationInterceptor.ALLOWED_SERVER_TIME_DIFF`: 10 minutes.
const ALLOWED_SERVER_TIME_DIFF: i64 = 600;
const KEYS_PER_REQUEST: usize = 30;

/// `models/GaenKey.java`, fields in declaration order (Gson keeps it).
#[derive(Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct GaenKey {
    pub key_data: String,
    pub rolling_start_number: i32,
    pub rolling_period: i32,
    pub transmission_risk_level: i32,
    pub fake: i32,
}

/// A `TemporaryExposureKey` as Google's framework gives it.
#[derive(Clone, Copy, Debug)]
pub struct TemporaryExposureKey {
    pub key_data: [u8; 16],
    pub rolling_start_interval_number: i32,
    pub rolling_period: i32,
}

impl GaenKey {
    fn from_tek(key: &TemporaryExposureKey) -> Self {
        GaenKey {
            key_data: STANDARD.encode(key.key_data),
            rolling_start_number: key.rolling_start_interval_number,
            rolling_period: key.rolling_period,
            transmission_risk_level: 0,
            fake: 0,
        }
    }

    fn random_fake(rolling_start_number: i32) -> Self {
        GaenKey {
            key_data: STANDARD.encode(rand::random::<[u8; 16]>()),
            rolling_start_number,
            rolling_period: 144,
            transmission_risk_level: 0,
            fake: 1,
        }
    }
}

/// `models/GaenRequest.java`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GaenRequest {
    gaen_keys: Vec<GaenKey>,
    delayed_key_date: i32,
    fake: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    with_federation_gateway: Option<bool>,
}

/// `models/GaenSecondDay.java`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GaenSecondDay {
    delayed_key: GaenKey,
    fake: i32,
}

/// `storage/models/PendingKey.java`.
#[derive(Clone, Debug)]
pub struct PendingKey {
    pub rolling_start_number: i32,
    /// The upload answer's `Authorization` header, `Bearer …`.
    pub token: String,
    pub fake: bool,
}

/// One app built on the SDK.
pub struct AndroidSdk {
    pub http: reqwest::Client,
    pub base_url: String,
    pub user_agent: String,
    /// `DP3T.setBucketSignaturePublicKey`.
    pub bucket_signature_public_key: VerifyingKey,
    /// The phone's clock: the server's, shifted by `clock_skew` seconds.
    pub clock: MockClock,
    pub clock_skew: i64,
    pub with_federation_gateway: Option<bool>,
    /// `AppConfigManager.lastKeyBundleTag`.
    pub last_key_bundle_tag: Option<String>,
    /// `PendingKeyUploadStorage` (the older SDK).
    pub pending_keys: Vec<PendingKey>,
    /// What Google's framework holds.
    pub tek_history: Vec<TemporaryExposureKey>,
}

/// An answer of the bucket service that passed the interceptors.
#[derive(Debug)]
pub struct BucketAnswer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl AndroidSdk {
    pub fn new(base_url: String, public_key: VerifyingKey, clock: MockClock) -> Self {
        AndroidSdk {
            http: reqwest::Client::new(),
            base_url,
            // What apps pass to `DP3T.setUserAgent` (SwissCovid's format).
            user_agent: "ch.admin.bag.dp3t;2.6.0;260;Android;30".to_owned(),
            bucket_signature_public_key: public_key,
            clock,
            clock_skew: 0,
            with_federation_gateway: None,
            last_key_bundle_tag: None,
            pending_keys: Vec::new(),
            tek_history: Vec::new(),
        }
    }

    fn now(&self) -> i64 {
        self.clock.now_unix_seconds() + self.clock_skew
    }

    /// `DateUtil.getCurrentRollingStartNumber`.
    fn current_rolling_start_number(&self) -> i32 {
        i32::try_from(self.now().div_euclid(86_400) * 144).unwrap_or(0)
    }

    /// `new GaenRequest(keys, delayedKeyDate, withFederationGateway)`.
    fn gaen_request(&self, keys: &[TemporaryExposureKey], delayed_key_date: i32) -> GaenRequest {
        let mut rolling_start_number = self.current_rolling_start_number();
        let mut gaen_keys: Vec<GaenKey> = keys
            .iter()
            .inspect(|key| {
                rolling_start_number = rolling_start_number.min(key.rolling_start_interval_number)
            })
            .map(GaenKey::from_tek)
            .collect();
        while gaen_keys.len() < KEYS_PER_REQUEST {
            rolling_start_number -= 144;
            gaen_keys.push(GaenKey::random_fake(rolling_start_number));
        }
        GaenRequest {
            gaen_keys,
            delayed_key_date,
            fake: 0,
            with_federation_gateway: self.with_federation_gateway,
        }
    }

    /// `ReportService.addGaenExposee`; returns the answer's `Authorization` header.
    async fn add_gaen_exposee(
        &self,
        request: &GaenRequest,
        authorization: &str,
    ) -> Result<Option<String>, String> {
        let response = self
            .http
            .post(format!("{}/v2/gaen/exposed", self.base_url))
            .header("Accept", "application/json")
            .header("Authorization", authorization)
            .header("Content-Type", "application/json; charset=UTF-8")
            .header("User-Agent", &self.user_agent)
            .body(serde_json::to_vec(request).map_err(|error| error.to_string())?)
            .send()
            .await
            .map_err(|error| format!("IOException: {error}"))?;
        if !response.status().is_success() {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            return Err(format!("StatusCodeException {status}: {body}"));
        }
        Ok(response
            .headers()
            .get("Authorization")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned))
    }

    /// `DP3T.uploadTEKsInternal` (newest SDK): keys from the onset day on, today's
    /// rolling start as `delayedKeyDate`. `authorization` is what the app passes in
    /// `ExposeeAuthMethodAuthorization`: `Bearer <token>`.
    pub async fn send_i_am_infected(
        &mut self,
        onset: i64,
        authorization: &str,
    ) -> Result<Option<String>, String> {
        let onset_start = i32::try_from(onset.div_euclid(86_400) * 144).unwrap_or(0);
        let keys: Vec<TemporaryExposureKey> = self
            .tek_history
            .iter()
            .filter(|key| key.rolling_start_interval_number >= onset_start)
            .copied()
            .collect();
        let delayed_key_date = self.current_rolling_start_number();
        let request = self.gaen_request(&keys, delayed_key_date);
        self.add_gaen_exposee(&request, authorization).await
    }

    /// The older SDK's flow: the same upload, then a pending key for today with the
    /// answer's `Authorization` header (fake when today's key was already sent).
    pub async fn send_i_am_infected_with_next_day_key(
        &mut self,
        onset: i64,
        authorization: &str,
    ) -> Result<(), String> {
        let delayed_key_date = self.current_rolling_start_number();
        let delayed_key_already_present = self
            .tek_history
            .iter()
            .any(|key| key.rolling_start_interval_number == delayed_key_date);
        let token = self
            .send_i_am_infected(onset, authorization)
            .await?
            .ok_or("no Authorization header in the upload answer")?;
        self.pending_keys.push(PendingKey {
            rolling_start_number: delayed_key_date,
            token,
            fake: delayed_key_already_present,
        });
        Ok(())
    }

    /// `DP3TKotlin.sendFakeInfectedRequest` (newest SDK) — and, in the older one, its
    /// fake pending key.
    pub async fn send_fake_infected_request(
        &mut self,
        authorization: &str,
        with_pending_key: bool,
    ) -> Result<(), String> {
        let delayed_key_date = self.current_rolling_start_number();
        let mut request = self.gaen_request(&[], delayed_key_date);
        request.fake = 1;
        let token = self.add_gaen_exposee(&request, authorization).await?;
        if with_pending_key {
            self.pending_keys.push(PendingKey {
                rolling_start_number: delayed_key_date,
                token: token.ok_or("no Authorization header in the fake upload answer")?,
                fake: true,
            });
        }
        Ok(())
    }

    /// `SyncWorker.uploadPendingKeys` (older SDK). Returns how many were sent.
    pub async fn upload_pending_keys(&mut self) -> Result<usize, String> {
        let today = self.current_rolling_start_number();
        let mut sent = 0;
        self.pending_keys
            .sort_by_key(|key| key.rolling_start_number);
        while self
            .pending_keys
            .first()
            .is_some_and(|key| key.rolling_start_number < today)
        {
            let pending = self.pending_keys.remove(0);
            if pending.rolling_start_number < today - 144 {
                // "ignore pendingKeys older than one day, upload token will be invalid"
                continue;
            }
            let gaen_key =
                if pending.fake {
                    GaenKey::random_fake(pending.rolling_start_number)
                } else {
                    let Some(key) = self.tek_history.iter().find(|key| {
                        key.rolling_start_interval_number == pending.rolling_start_number
                    }) else {
                        continue;
                    };
                    GaenKey::from_tek(key)
                };
            let body = GaenSecondDay {
                fake: gaen_key.fake,
                delayed_key: gaen_key,
            };
            let response = self
                .http
                .post(format!("{}/v1/gaen/exposednextday", self.base_url))
                .header("Accept", "application/json")
                .header("Authorization", &pending.token)
                .header("Content-Type", "application/json; charset=UTF-8")
                .header("User-Agent", &self.user_agent)
                .body(serde_json::to_vec(&body).map_err(|error| error.to_string())?)
                .send()
                .await
                .map_err(|error| format!("IOException: {error}"))?;
            if !response.status().is_success() {
                let status = response.status();
                self.pending_keys.push(pending);
                return Err(format!("StatusCodeException {status}"));
            }
            sent += 1;
        }
        Ok(sent)
    }

    /// `SyncWorker.doSyncInternal`: one download through the interceptors; the tag is
    /// kept whether or not there was content.
    pub async fn sync(&mut self) -> Result<BucketAnswer, String> {
        let mut query = Vec::new();
        if let Some(tag) = &self.last_key_bundle_tag {
            query.push(format!("lastKeyBundleTag={tag}"));
        }
        if let Some(gateway) = self.with_federation_gateway {
            query.push(format!("withFederationGateway={gateway}"));
        }
        let url = if query.is_empty() {
            format!("{}/v2/gaen/exposed", self.base_url)
        } else {
            format!("{}/v2/gaen/exposed?{}", self.base_url, query.join("&"))
        };
        let response = self
            .http
            .get(url)
            .header("User-Agent", &self.user_agent)
            .send()
            .await
            .map_err(|error| format!("IOException: {error}"))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(|error| error.to_string())?;
        self.verify_timing(&headers)?;
        if status.is_success() {
            self.verify_signature(&headers, &body)?;
        } else {
            return Err(format!("StatusCodeException {status}"));
        }
        self.last_key_bundle_tag = headers
            .get("x-key-bundle-tag")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        Ok(BucketAnswer {
            status: status.as_u16(),
            body: body.to_vec(),
        })
    }

    /// `TimingVerificationInterceptor`.
    fn verify_timing(&self, headers: &reqwest::header::HeaderMap) -> Result<(), String> {
        let Some(server_time) = headers
            .get("Date")
            .and_then(|value| value.to_str().ok())
            .and_then(jws::parse_http_date)
        else {
            return Ok(());
        };
        let age = headers
            .get("Age")
            .and_then(|value| value.to_str().ok())
            .and_then(|text| text.parse::<i64>().ok())
            .unwrap_or(0);
        if (self.now() - (server_time + age)).abs() > ALLOWED_SERVER_TIME_DIFF {
            return Err("ServerTimeOffsetException".to_owned());
        }
        Ok(())
    }

    /// `SignatureVerificationInterceptor` and `SignatureUtil.getVerifiedContentHash`.
    pub fn verify_signature(
        &self,
        headers: &reqwest::header::HeaderMap,
        body: &[u8],
    ) -> Result<(), String> {
        let jws_header = headers
            .get("signature")
            .and_then(|value| value.to_str().ok())
            .ok_or("SignatureException: JWS header not found")?;
        let jws = jws::verify_es256(jws_header, &self.bucket_signature_public_key)
            .map_err(|error| format!("SignatureException: {error}"))?;
        // jjwt's default: `exp` and `nbf` against the phone's time, no clock skew.
        let now = self.now();
        if jws.claims["exp"].as_i64().is_some_and(|exp| now > exp) {
            return Err("SignatureException: ExpiredJwtException".to_owned());
        }
        if jws.claims["nbf"].as_i64().is_some_and(|nbf| now < nbf) {
            return Err("PrematureJwtException".to_owned());
        }
        let hash = jws.claims["content-hash"]
            .as_str()
            .ok_or("SignatureException: no content-hash claim")?;
        // `android.util.Base64.decode(…, NO_WRAP)`: standard alphabet, padding optional.
        let lenient = GeneralPurpose::new(
            &alphabet::STANDARD,
            GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
        );
        let signed = lenient
            .decode(hash)
            .map_err(|_| "SignatureException: content-hash is not base64")?;
        if signed != Sha256::digest(body).to_vec() {
            return Err("SignatureException: Signature mismatch".to_owned());
        }
        Ok(())
    }
}
