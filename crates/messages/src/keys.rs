//! Diagnosis-key bodies, as DP-3T GAEN v2 apps send them (PROTOCOLS.md §4), and the answer
//! of the key push.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use exposure::keys::TemporaryExposureKey;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One key as DP-3T apps send it. Fields this server does not use (the SDKs'
/// `transmissionRiskLevel`) are ignored, as the reference backend ignores them.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GaenKey {
    /// Base64 of the 16 key bytes.
    #[schema(format = Byte)]
    pub key_data: String,
    /// First interval (10 minutes since 1970) of the key's validity.
    pub rolling_start_number: u32,
    /// Intervals the key is valid for, 1 to 144. Signed, as the reference's `Integer`: a key
    /// with a zero or negative period is dropped, not a reason to refuse the upload.
    pub rolling_period: i64,
    /// 1 for padding, 0 for a real key; absent means 0 (reference `GaenKey.fake = 0`).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1, default = 0)]
    pub fake: u8,
}

impl GaenKey {
    /// `key` as it is uploaded; `fake` marks padding.
    pub fn new(key: &TemporaryExposureKey, fake: bool) -> Self {
        Self {
            key_data: STANDARD.encode(key.key_data),
            rolling_start_number: key.rolling_start_interval_number.0,
            rolling_period: i64::from(key.rolling_period),
            fake: u8::from(fake),
        }
    }
}

/// `withFederationGateway` as the SDKs spell it: `true`/`false` (Android SDK, reference
/// backend) or `1`/`0` (the iOS SDK's `ExposeeListModel` encodes it as a number).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, ToSchema)]
#[serde(untagged)]
pub enum FederationGatewayChoice {
    Flag(bool),
    Number(u8),
}

/// The body of `POST /v2/gaen/exposed`: exactly 30 keys, real ones padded with fake ones;
/// the reference's `GaenV2UploadKeysRequest`, plus the older Android SDK's
/// `delayedKeyDate`. Unknown fields (the SDKs' request-level `fake`) are ignored: the token
/// says whether an upload is fake.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GaenUploadRequest {
    #[schema(min_items = 30, max_items = 30)]
    pub gaen_keys: Vec<GaenKey>,
    /// Rolling start (interval number) of today's key, to be uploaded tomorrow; only the
    /// older Android SDK sends it (the iOS SDK never does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delayed_key_date: Option<u32>,
    /// Whether the keys may be shared with a federation gateway (none here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_federation_gateway: Option<FederationGatewayChoice>,
}

/// The body of `POST /v1/gaen/exposednextday`: yesterday's key, sent with the next-day token.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GaenNextDayRequest {
    pub delayed_key: GaenKey,
}

/// The answer to `POST /v2/gaen/exposed`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UploadAnswer {
    /// The token for `/v1/gaen/exposednextday` (also in the `Authorization` header), when
    /// the upload announced a `delayedKeyDate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_day_token: Option<String>,
}

/// The answer of the long poll `GET /v1/push/keys`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PushAnswer {
    /// Whether a download from the client's tag would now bring keys.
    pub new_keys: bool,
    /// The tag a download now would end at (milliseconds, DP-3T).
    pub key_bundle_tag: i64,
}

#[cfg(test)]
mod tests {
    use exposure::interval::EnIntervalNumber;

    use super::*;

    #[test]
    fn an_upload_reads_as_dp3t_apps_write_it() {
        let key = TemporaryExposureKey {
            key_data: [7; 16],
            rolling_start_interval_number: EnIntervalNumber(2_650_000),
            rolling_period: 144,
        };
        let upload = GaenUploadRequest {
            gaen_keys: vec![GaenKey::new(&key, false)],
            delayed_key_date: Some(2_650_144),
            with_federation_gateway: None,
        };
        let text = serde_json::to_string(&upload).unwrap();
        assert_eq!(
            text,
            r#"{"gaenKeys":[{"keyData":"BwcHBwcHBwcHBwcHBwcHBw==","rollingStartNumber":2650000,"rollingPeriod":144,"fake":0}],"delayedKeyDate":2650144}"#
        );
        assert_eq!(
            serde_json::from_str::<GaenUploadRequest>(&text).unwrap(),
            upload
        );
    }
}
