//! A client that sends and checks exactly what the DP-3T iOS SDK does, written from
//! DP-3T/dp3t-sdk-ios at commit 002a66ec4a6564c3803d1410e955eabdf0556a3c (2022-03-17):
//!
//! - `Networking/ExposeeServiceClient.swift`: the upload (`POST v2/gaen/exposed`,
//!   `Content-Type: application/json`, `Content-Length`, `User-Agent`
//!   `appId;version;build;iOS;osVersion`, the app's `Authorization` header, 200 only is
//!   success) and the download (`GET v2/gaen/exposed?lastKeyBundleTag=…&withFederationGateway=…`,
//!   `Accept: application/zip`; the `Date`/`Age` time-shift check of 10 minutes; 204 is
//!   "nothing new" and is not verified; 200 is verified; the `x-key-bundle-tag` header is
//!   kept for the next call).
//! - `Models/ExposeeListModel.swift`: the body, `{"gaenKeys":[…],"withFederationGateway":1|0
//!   (only when set),"fake":1|0}`; each key `keyData` (base64), `rollingPeriod`,
//!   `rollingStartNumber`, `transmissionRiskLevel`, `fake`. **No `delayedKeyDate`.**
//! - `DP3TSDK.swift` `sendTEKs`: keys dated after the onset, padded to 30
//!   (`numberOfKeysToSubmit`) with `getFakeKeys` from `Cryptography/DiagnosisKeysProvider.swift`:
//!   one fake key a day counting back from the day before the oldest real key (or from
//!   yesterday), rolling period 144, risk 0, `fake: 1`. A fake request sends 30 fake keys.
//! - `utils/JWTVerification.swift`: the `Signature` header is an ES256 JWT whose claims
//!   `iss`, `iat`, `exp` (numeric dates), `content-hash` and `hash-alg` must all be present;
//!   `validateClaims(leeway: 10)`: `exp` not more than 10 s past, `iat`/`nbf` not more than
//!   10 s ahead; `content-hash` is the standard base64 of the body's SHA-256.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use p256::ecdsa::VerifyingKey;
use reqwest::StatusCode;
use serde::Serialize;
use server::{Clock, MockClock};
use sha2::{Digest, Sha256};

use super::jws;

/// `Default.shared.parameters.networking.numberOfKeysToSubmit`.
const NUMBER_OF_KEYS_TO_SUBMIT: usize = 30;
/// `allowedServerTimeDiff`: 10 minutes.
const ALLOWED_SERVER_TIME_DIFF: i64 = 600;
/// `validateClaims(leeway: 10)`.
const CLAIMS_LEEWAY: i64 = 10;
const DAY: i64 = 86_400;

/// `CodableDiagnosisKey`, fields in declaration order (`JSONEncoder` keeps it).
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CodableDiagnosisKey {
    /// `Data`, which `JSONEncoder` writes as standard base64.
    pub key_data: String,
    pub rolling_period: u32,
    pub rolling_start_number: u32,
    pub transmission_risk_level: u8,
    pub fake: u8,
}

impl CodableDiagnosisKey {
    /// A real key as `ENTemporaryExposureKey` gives it.
    pub fn real(key_data: [u8; 16], rolling_start_number: u32, rolling_period: u32) -> Self {
        CodableDiagnosisKey {
            key_data: STANDARD.encode(key_data),
            rolling_period,
            rolling_start_number,
            transmission_risk_level: 0,
            fake: 0,
        }
    }

    fn date(&self) -> i64 {
        i64::from(self.rolling_start_number) * 600
    }
}

/// `ExposeeListModel.encode(to:)`: `withFederationGateway` only when set, as a number.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExposeeListModel {
    gaen_keys: Vec<CodableDiagnosisKey>,
    #[serde(skip_serializing_if = "Option::is_none")]
    with_federation_gateway: Option<u8>,
    fake: u8,
}

/// One app built on the SDK.
pub struct IosSdk {
    pub http: reqwest::Client,
    pub base_url: String,
    /// `ApplicationDescriptor.jwtPublicKey`.
    pub jwt_public_key: VerifyingKey,
    /// The phone's clock: the server's, shifted by `clock_skew` seconds.
    pub clock: MockClock,
    pub clock_skew: i64,
    /// `FederationGateway`: `.yes`, `.no` or `.unspecified` (`None`).
    pub federation_gateway: Option<bool>,
    /// `Default.shared.lastKeyBundleTag`.
    pub last_key_bundle_tag: Option<String>,
}

/// What `getExposee` hands to the Exposure Notification framework.
#[derive(Debug)]
pub struct ExposeeSuccess {
    pub data: Option<Vec<u8>>,
    pub key_bundle_tag: Option<String>,
}

impl IosSdk {
    pub fn new(base_url: String, jwt_public_key: VerifyingKey, clock: MockClock) -> Self {
        IosSdk {
            http: reqwest::Client::new(),
            base_url,
            jwt_public_key,
            clock,
            clock_skew: 0,
            federation_gateway: Some(false),
            last_key_bundle_tag: None,
        }
    }

    fn now(&self) -> i64 {
        self.clock.now_unix_seconds() + self.clock_skew
    }

    /// `ExposeeServiceClient.userAgent`.
    fn user_agent(&self) -> String {
        ["ch.admin.bag.dp3t", "2.6.0", "260", "iOS", "15.4"].join(";")
    }

    /// `getFakeKeys(count:startingFrom:)`: one key a day, counting back from `starting_from`.
    fn fake_keys(count: usize, starting_from: i64) -> Vec<CodableDiagnosisKey> {
        (0..count)
            .map(|day| {
                let date = starting_from - DAY * day as i64;
                // `DayDate(date:).period`: the day's first interval.
                let period = u32::try_from(date.div_euclid(DAY) * 144).unwrap_or(0);
                CodableDiagnosisKey {
                    key_data: STANDARD.encode(rand::random::<[u8; 16]>()),
                    rolling_period: 144,
                    rolling_start_number: period,
                    transmission_risk_level: 0,
                    fake: 1,
                }
            })
            .collect()
    }

    /// `DP3TSDK.sendTEKs` then `addExposeeList`: the app passes
    /// `.HTTPAuthorizationHeader(header: "Authorization", value: "Bearer <token>")`.
    /// Returns the body sent, so that tests can look at it.
    pub async fn send_teks(
        &self,
        onset: i64,
        tek_history: &[CodableDiagnosisKey],
        is_fake: bool,
        token: &str,
    ) -> Result<serde_json::Value, String> {
        let mut keys: Vec<CodableDiagnosisKey> = tek_history
            .iter()
            .filter(|key| key.date() > onset)
            .cloned()
            .collect();
        let fake_key_count = NUMBER_OF_KEYS_TO_SUBMIT.saturating_sub(keys.len());
        let oldest = keys
            .iter()
            .map(|key| key.rolling_start_number)
            .min()
            .map_or_else(
                || (self.now() - DAY).div_euclid(DAY) * DAY,
                |start| i64::from(start) * 600,
            );
        keys.extend(Self::fake_keys(fake_key_count, oldest - DAY));
        let model = ExposeeListModel {
            gaen_keys: keys,
            with_federation_gateway: self.federation_gateway.map(u8::from),
            fake: u8::from(is_fake),
        };
        let payload = serde_json::to_vec(&model).map_err(|error| error.to_string())?;
        let response = self
            .http
            .post(format!("{}/v2/gaen/exposed", self.base_url))
            .header("Content-Type", "application/json")
            .header("Content-Length", payload.len().to_string())
            .header("User-Agent", self.user_agent())
            .header("Authorization", format!("Bearer {token}"))
            .body(payload.clone())
            .send()
            .await
            .map_err(|error| format!("networkSessionError: {error}"))?;
        if response.status() != StatusCode::OK {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            return Err(format!("HTTPFailureResponse {status}: {body}"));
        }
        serde_json::from_slice(&payload).map_err(|error| error.to_string())
    }

    /// `KnownCasesSynchronizer` → `getExposee`: one download, the tag kept on success.
    pub async fn sync(&mut self) -> Result<ExposeeSuccess, String> {
        let mut url = format!("{}/v2/gaen/exposed", self.base_url);
        let mut query = Vec::new();
        if let Some(tag) = &self.last_key_bundle_tag {
            query.push(format!("lastKeyBundleTag={tag}"));
        }
        if let Some(gateway) = self.federation_gateway {
            query.push(format!("withFederationGateway={gateway}"));
        }
        if !query.is_empty() {
            url = format!("{url}?{}", query.join("&"));
        }
        let response = self
            .http
            .get(url)
            .header("Accept", "application/zip")
            .header("User-Agent", self.user_agent())
            .send()
            .await
            .map_err(|error| format!("networkSessionError: {error}"))?;
        self.detect_timeshift(response.headers())?;
        let key_bundle_tag = header(response.headers(), "x-key-bundle-tag");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(|error| error.to_string())?;
        let success = match status.as_u16() {
            200 => {
                self.verify(&headers, &body)?;
                ExposeeSuccess {
                    data: Some(body.to_vec()),
                    key_bundle_tag,
                }
            }
            // "204 response means there is no data for this day"
            204 => ExposeeSuccess {
                data: None,
                key_bundle_tag,
            },
            _ => return Err(format!("HTTPFailureResponse {status}")),
        };
        if let Some(tag) = &success.key_bundle_tag {
            self.last_key_bundle_tag = Some(tag.clone());
        }
        Ok(success)
    }

    /// `detectTimeshift`: `Date` plus `Age` within 10 minutes of the phone's time; no
    /// `Date`, no check.
    fn detect_timeshift(&self, headers: &reqwest::header::HeaderMap) -> Result<(), String> {
        let Some(date) = header(headers, "date").and_then(|text| jws::parse_http_date(&text))
        else {
            return Ok(());
        };
        let age = header(headers, "age")
            .and_then(|text| text.parse::<i64>().ok())
            .unwrap_or(0);
        let shift = (self.now() - (date + age)).abs();
        if shift > ALLOWED_SERVER_TIME_DIFF {
            return Err(format!("timeInconsistency(shift: {shift})"));
        }
        Ok(())
    }

    /// `DP3TJWTVerifier.verify(claimType: ExposeeClaims.self, …)`.
    pub fn verify(&self, headers: &reqwest::header::HeaderMap, body: &[u8]) -> Result<(), String> {
        let token = header(headers, "Signature")
            .ok_or("jwtSignatureError(1): no JWT in the Signature header")?;
        let jws = jws::verify_es256(&token, &self.jwt_public_key)
            .map_err(|error| format!("jwtSignatureError(5): {error}"))?;
        let claims = &jws.claims;
        // `ExposeeClaims` decodes these five, none optional; dates are numbers.
        let iat = claims["iat"].as_f64().ok_or("claims: iat missing")?;
        let exp = claims["exp"].as_f64().ok_or("claims: exp missing")?;
        claims["iss"].as_str().ok_or("claims: iss missing")?;
        claims["hash-alg"]
            .as_str()
            .ok_or("claims: hash-alg missing")?;
        let content_hash = claims["content-hash"]
            .as_str()
            .ok_or("claims: content-hash missing")?;
        let now = self.now() as f64;
        let leeway = CLAIMS_LEEWAY as f64;
        if exp + leeway < now || iat > now + leeway {
            return Err("jwtSignatureError(2): claims not valid now".to_owned());
        }
        if let Some(nbf) = claims["nbf"].as_f64()
            && nbf > now + leeway
        {
            return Err("jwtSignatureError(2): not yet valid".to_owned());
        }
        // `Data(base64Encoded:)`: standard alphabet, padding required.
        let claimed = STANDARD
            .decode(content_hash)
            .map_err(|_| "jwtSignatureError(4): content-hash is not base64")?;
        if claimed != Sha256::digest(body).to_vec() {
            return Err("jwtSignatureError(4): Content Hash missmatch".to_owned());
        }
        Ok(())
    }
}

fn header(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}
