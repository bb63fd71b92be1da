//! The health authority's code bodies: issuing a code and asking for its status
//! (`/v1/authority/codes`), and the phone trading a code for an upload token
//! (`/v1/codes/verify`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a code lets its holder upload, decided when it is issued.
///
/// A patient's code lets their phone upload its keys and its check-ins, never a venue
/// warning; warning on behalf of a venue takes a code issued for that purpose, so that a
/// patient's code (or a stolen one) cannot warn every guest of a venue the patient once
/// visited without the health authority deciding so.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CodeKind {
    /// A patient who tested positive: keys (`/v2/gaen/exposed`) and check-ins
    /// (`/v1/checkins`).
    #[default]
    Patient,
    /// A venue owner warning their guests (`/v1/venues/warnings`) of an outbreak the
    /// health authority confirmed.
    VenueWarning,
}

impl CodeKind {
    /// The kind as stored and as written on the wire (`patient`, `venue-warning`).
    pub fn as_str(self) -> &'static str {
        match self {
            CodeKind::Patient => "patient",
            CodeKind::VenueWarning => "venue-warning",
        }
    }

    /// Reads a stored or typed kind.
    pub fn parse(text: &str) -> Option<CodeKind> {
        match text {
            "patient" => Some(CodeKind::Patient),
            "venue-warning" => Some(CodeKind::VenueWarning),
            _ => None,
        }
    }
}

/// How a patient's infection was established: the report type of the keys they upload
/// (GAEN's `CONFIRMED_TEST` or `CONFIRMED_CLINICAL_DIAGNOSIS`), which phones weigh
/// differently (`reportTypeWeights` of the app configuration).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TestType {
    /// A positive laboratory test.
    #[default]
    ConfirmedTest,
    /// A physician's diagnosis without a test.
    ClinicalDiagnosis,
}

impl TestType {
    /// The type as stored and as written on the wire (`confirmed-test`,
    /// `clinical-diagnosis`).
    pub fn as_str(self) -> &'static str {
        match self {
            TestType::ConfirmedTest => "confirmed-test",
            TestType::ClinicalDiagnosis => "clinical-diagnosis",
        }
    }

    /// Reads a stored or typed type.
    pub fn parse(text: &str) -> Option<TestType> {
        match text {
            "confirmed-test" => Some(TestType::ConfirmedTest),
            "clinical-diagnosis" => Some(TestType::ClinicalDiagnosis),
            _ => None,
        }
    }
}

/// The body of `POST /v1/authority/codes`: `{}`, `{"onsetDate":"YYYY-MM-DD"}` or
/// `{"kind":"venue-warning"}`; for a patient, also `testType` and `testDate`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IssueCodeRequest {
    /// Onset of symptoms (or the test's date), at most 14 days ago; patient codes only.
    /// When both this and `testDate` are given, this one dates the infection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = Date)]
    pub onset_date: Option<String>,
    /// The day the patient was tested, at most 14 days ago; patient codes only. Dates the
    /// infection when no `onsetDate` is given (a patient without symptoms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = Date)]
    pub test_date: Option<String>,
    /// `confirmed-test` (the default) or `clinical-diagnosis`; patient codes only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_type: Option<TestType>,
    /// What the code is for; `patient` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<CodeKind>,
}

/// The answer to `POST /v1/authority/codes` (201): the only time the digits are shown.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssuedCode {
    pub id: String,
    /// 12 digits, the last a Verhoeff check digit.
    #[schema(pattern = "^[0-9]{12}$")]
    pub code: String,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub expires_at: String,
    /// What the code is for.
    pub kind: CodeKind,
}

/// Where an issued code stands.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CodeState {
    /// Neither used nor expired: the patient can still enter it.
    Unused,
    /// Traded for an upload token.
    Used,
    /// Past its lifetime, or withdrawn by a physician.
    Expired,
}

impl CodeState {
    /// A code used at some hour is used, even once past its expiry; otherwise it is
    /// expired from `expires_at` on. The API's `GET /v1/authority/codes/{id}` and the
    /// physicians' "my codes" both ask this.
    pub fn at(expires_at: i64, used_hour: Option<i64>, now: i64) -> CodeState {
        if used_hour.is_some() {
            CodeState::Used
        } else if expires_at <= now {
            CodeState::Expired
        } else {
            CodeState::Unused
        }
    }
}

/// The answer to `GET /v1/authority/codes/{id}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CodeStatus {
    pub id: String,
    pub status: CodeState,
    /// RFC 3339.
    #[schema(format = DateTime)]
    pub expires_at: String,
}

/// `fake` as DP-3T clients send it: a boolean, or 0/1.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(untagged)]
pub enum FakeFlag {
    Bool(bool),
    Number(u8),
}

/// `true`/`false` or the integers 0 and 1, as the schema says (any other number is refused).
impl utoipa::PartialSchema for FakeFlag {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::Boolean))
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .enum_values(Some([0, 1])),
            )
            .description(Some("dummy traffic: true or 1; real: false or 0"))
            .into()
    }
}

impl utoipa::ToSchema for FakeFlag {}

impl FakeFlag {
    /// Whether the request is dummy traffic; `None` for a number other than 0 or 1.
    pub fn is_fake(self) -> Option<bool> {
        match self {
            FakeFlag::Bool(value) => Some(value),
            FakeFlag::Number(0) => Some(false),
            FakeFlag::Number(1) => Some(true),
            FakeFlag::Number(_) => None,
        }
    }
}

/// The body of `POST /v1/codes/verify`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The code as typed (spaces and dashes are removed).
    pub code: String,
    /// Dummy traffic: answered like a real request, changes nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fake: Option<FakeFlag>,
}

/// The answer to `POST /v1/codes/verify`: an upload token.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessToken {
    /// ES256 JWT, valid at most 60 minutes.
    pub access_token: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_requests_read_as_dp3t_clients_write_them() {
        let request = VerifyRequest {
            code: "123456789012".into(),
            fake: Some(FakeFlag::Bool(false)),
        };
        assert_eq!(
            serde_json::to_string(&request).unwrap(),
            r#"{"code":"123456789012","fake":false}"#
        );
        for (text, fake) in [
            (r#"{"code":"1"}"#, None),
            (r#"{"code":"1","fake":true}"#, Some(true)),
            (r#"{"code":"1","fake":1}"#, Some(true)),
            (r#"{"code":"1","fake":0}"#, Some(false)),
        ] {
            let request: VerifyRequest = serde_json::from_str(text).unwrap();
            assert_eq!(request.fake.and_then(FakeFlag::is_fake), fake, "{text}");
        }
        assert_eq!(FakeFlag::Number(2).is_fake(), None);
        assert!(serde_json::from_str::<VerifyRequest>(r#"{"code":"1","pin":2}"#).is_err());
    }

    #[test]
    fn code_kinds_read_and_write_in_kebab_case() {
        let request: IssueCodeRequest =
            serde_json::from_str(r#"{"kind":"venue-warning"}"#).unwrap();
        assert_eq!(request.kind, Some(CodeKind::VenueWarning));
        assert_eq!(
            serde_json::from_str::<IssueCodeRequest>("{}").unwrap().kind,
            None
        );
        for kind in [CodeKind::Patient, CodeKind::VenueWarning] {
            assert_eq!(CodeKind::parse(kind.as_str()), Some(kind));
            assert_eq!(
                serde_json::to_string(&kind).unwrap(),
                format!("\"{}\"", kind.as_str())
            );
        }
        assert!(serde_json::from_str::<IssueCodeRequest>(r#"{"kind":"venue"}"#).is_err());
    }

    #[test]
    fn a_status_names_its_state_in_lowercase() {
        let status = CodeStatus {
            id: "a".into(),
            status: CodeState::Expired,
            expires_at: "2026-01-01T00:00:00Z".into(),
        };
        assert_eq!(
            serde_json::to_string(&status).unwrap(),
            r#"{"id":"a","status":"expired","expiresAt":"2026-01-01T00:00:00Z"}"#
        );
    }
}
