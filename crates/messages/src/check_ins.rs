//! Protected check-in report bodies (CWA format, base64 fields): the phones' check-in
//! upload, the venue owners' warning upload and the JSON form of a warning package.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use presence::CheckInProtectedReport;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One protected report as JSON (base64 fields), in uploads and in JSON downloads.
///
/// Unknown fields are refused: a client that sends a field the server would ignore has
/// misunderstood the format, and should hear so.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = CheckInProtectedReport)]
pub struct ProtectedReportJson {
    /// SHA-256 of the location id, 32 bytes.
    #[schema(format = Byte)]
    pub location_id_hash: String,
    /// 16 bytes.
    #[schema(format = Byte)]
    pub iv: String,
    /// AES-256-CBC of a `CheckInRecord`, a multiple of 16 bytes up to 64.
    #[schema(format = Byte)]
    pub encrypted_check_in_record: String,
    /// HMAC-SHA256 over IV and ciphertext, 32 bytes.
    #[schema(format = Byte)]
    pub mac: String,
}

impl From<&CheckInProtectedReport> for ProtectedReportJson {
    fn from(report: &CheckInProtectedReport) -> Self {
        Self {
            location_id_hash: STANDARD.encode(&report.location_id_hash),
            iv: STANDARD.encode(&report.iv),
            encrypted_check_in_record: STANDARD.encode(&report.encrypted_check_in_record),
            mac: STANDARD.encode(&report.mac),
        }
    }
}

/// A field of a [`ProtectedReportJson`] that is not base64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotBase64 {
    /// The field's JSON name.
    pub field: &'static str,
}

impl std::fmt::Display for NotBase64 {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{} is not valid base64", self.field)
    }
}

impl std::error::Error for NotBase64 {}

impl ProtectedReportJson {
    /// The report's bytes. Only the base64 is checked here: the sizes are rules of the
    /// protocol, which the server checks on upload and `presence` when decrypting.
    pub fn decode(&self) -> Result<CheckInProtectedReport, NotBase64> {
        let bytes = |field: &'static str, text: &str| {
            STANDARD
                .decode(text.as_bytes())
                .map_err(|_| NotBase64 { field })
        };
        Ok(CheckInProtectedReport {
            location_id_hash: bytes("locationIdHash", &self.location_id_hash)?,
            iv: bytes("iv", &self.iv)?,
            encrypted_check_in_record: bytes(
                "encryptedCheckInRecord",
                &self.encrypted_check_in_record,
            )?,
            mac: bytes("mac", &self.mac)?,
        })
    }
}

/// The body of `POST /v1/checkins` and `POST /v1/venues/warnings`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CheckInUpload)]
pub struct CheckInUploadRequest {
    #[schema(min_items = 1, max_items = 300)]
    pub check_in_protected_reports: Vec<ProtectedReportJson>,
    /// 1 for dummy traffic, 0 (the default) for a real upload.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1)]
    pub fake: u8,
}

/// The JSON form of a warning package (`GET /v1/warnings` with `Accept: application/json`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = WarningPackage)]
pub struct WarningPackageJson {
    /// The cursor the client sent.
    pub since: i64,
    /// The last hour covered (hours since 1970); the next `since`.
    pub interval_number: i64,
    pub region: String,
    pub check_in_protected_reports: Vec<ProtectedReportJson>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_goes_to_json_and_back_and_bad_base64_is_named() {
        let report = CheckInProtectedReport {
            location_id_hash: vec![1; 32],
            iv: vec![2; 16],
            encrypted_check_in_record: vec![3; 32],
            mac: vec![4; 32],
        };
        let json = ProtectedReportJson::from(&report);
        assert_eq!(json.decode(), Ok(report));
        let broken = ProtectedReportJson {
            iv: "not base64!".into(),
            ..json
        };
        assert_eq!(broken.decode(), Err(NotBase64 { field: "iv" }));
    }

    #[test]
    fn unknown_report_fields_are_refused_and_fake_defaults_to_real() {
        let upload: CheckInUploadRequest = serde_json::from_str(
            r#"{"checkInProtectedReports":[{"locationIdHash":"","iv":"","encryptedCheckInRecord":"","mac":""}]}"#,
        )
        .unwrap();
        assert_eq!(upload.fake, 0);
        assert!(
            serde_json::from_str::<ProtectedReportJson>(
                r#"{"locationIdHash":"","iv":"","encryptedCheckInRecord":"","mac":"","extra":1}"#
            )
            .is_err()
        );
    }
}
