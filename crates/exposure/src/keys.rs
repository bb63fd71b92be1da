//! Temporary Exposure Keys and the values derived from them (GAEN cryptography v1.2).

use crate::interval::{EnIntervalNumber, INTERVALS_PER_DAY};

/// Length of a Temporary Exposure Key, an RPI, an RPIK and an AEMK.
pub const KEY_LENGTH: usize = 16;

/// A Temporary Exposure Key: 16 random bytes, valid for `rolling_period` intervals
/// from `rolling_start_interval_number`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TemporaryExposureKey {
    pub key_data: [u8; KEY_LENGTH],
    pub rolling_start_interval_number: EnIntervalNumber,
    /// In intervals; 144 (one day) unless the key was replaced early.
    pub rolling_period: u32,
}

impl TemporaryExposureKey {
    /// The first interval after this key stopped being broadcast.
    pub fn end_interval_number(&self) -> EnIntervalNumber {
        self.rolling_start_interval_number
            .offset(i64::from(self.rolling_period))
    }

    /// Whether the key is still being broadcast at `now` (and so must not be published yet).
    pub fn is_valid_at(&self, now: EnIntervalNumber) -> bool {
        self.rolling_start_interval_number <= now && now < self.end_interval_number()
    }
}

/// The report type of a published key (export proto field 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum ReportType {
    #[default]
    Unknown = 0,
    ConfirmedTest = 1,
    ConfirmedClinicalDiagnosis = 2,
    SelfReport = 3,
    Recursive = 4,
    Revoked = 5,
}

impl ReportType {
    /// The wire value of this report type.
    pub fn to_wire(self) -> i32 {
        self as i32
    }

    /// The report type for a wire value; `None` for values the protocol does not define.
    pub fn from_wire(value: i32) -> Option<Self> {
        Some(match value {
            0 => Self::Unknown,
            1 => Self::ConfirmedTest,
            2 => Self::ConfirmedClinicalDiagnosis,
            3 => Self::SelfReport,
            4 => Self::Recursive,
            5 => Self::Revoked,
            _ => return None,
        })
    }
}

/// A key as a health authority publishes it: the TEK and what the diagnosis says about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DiagnosisKey {
    pub key: TemporaryExposureKey,
    /// 0 when unset; 1–8 in the GAEN v1 model.
    pub transmission_risk_level: i32,
    pub report_type: ReportType,
    /// Days from the onset of symptoms (or the test) to the key's day; `None` when unknown.
    pub days_since_onset_of_symptoms: Option<i32>,
}

impl DiagnosisKey {
    /// A diagnosis key with no metadata beyond a confirmed test.
    pub fn confirmed(key: TemporaryExposureKey) -> Self {
        Self {
            key,
            transmission_risk_level: 0,
            report_type: ReportType::ConfirmedTest,
            days_since_onset_of_symptoms: None,
        }
    }
}

/// Default rolling period (one UTC day).
pub const DEFAULT_ROLLING_PERIOD: u32 = INTERVALS_PER_DAY;
