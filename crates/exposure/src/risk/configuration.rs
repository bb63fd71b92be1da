//! The parameters of the risk model and their defaults (see the [module docs](super)).

use crate::keys::ReportType;

/// Days since onset covered by [`RiskConfiguration::days_since_onset_to_infectiousness`]:
/// `-MAXIMUM_DAYS_SINCE_ONSET..=MAXIMUM_DAYS_SINCE_ONSET` (GAEN `DiagnosisKeysDataMapping`).
pub const MAXIMUM_DAYS_SINCE_ONSET: i32 = 14;

/// Entries in the days-since-onset table: one per day from −14 to +14.
pub const DAYS_SINCE_ONSET_ENTRIES: usize = 2 * MAXIMUM_DAYS_SINCE_ONSET as usize + 1;

/// Largest weight GAEN accepts for any bucket, infectiousness or report type (250 %).
pub const MAXIMUM_WEIGHT: f64 = 2.5;

/// How infectious the person who published a key was on the key's day (GAEN `Infectiousness`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Infectiousness {
    /// Not infectious: windows of such keys are dropped, as GAEN ≥ 1.7 does.
    None = 0,
    Standard = 1,
    High = 2,
}

/// The distance class of a scan, from its typical attenuation (GAEN `DistanceEstimate`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AttenuationBucket {
    /// `attenuation <= thresholds[0]`.
    Immediate = 0,
    /// `thresholds[0] < attenuation <= thresholds[1]`.
    Near = 1,
    /// `thresholds[1] < attenuation <= thresholds[2]`.
    Medium = 2,
    /// `thresholds[2] < attenuation`.
    Other = 3,
}

/// Weights of the two infectiousness levels that count (`None` always weighs 0).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InfectiousnessWeights {
    pub standard: f64,
    pub high: f64,
}

/// Weights of the report types that count (`Revoked` never counts; `Unknown` is first
/// mapped to [`RiskConfiguration::report_type_when_missing`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReportTypeWeights {
    pub confirmed_test: f64,
    pub confirmed_clinical_diagnosis: f64,
    pub self_report: f64,
    pub recursive: f64,
}

/// Every parameter of the risk model. [`Default`] gives the documented defaults.
///
/// A plain struct on purpose: the crate has no serde, so callers that load a configuration
/// from a file map their own type onto this one and then call [`validate`](Self::validate).
#[derive(Clone, Debug, PartialEq)]
pub struct RiskConfiguration {
    /// Immediate, near and medium bucket edges in dB, strictly increasing, inclusive.
    pub attenuation_bucket_thresholds_db: [u8; 3],
    /// Weights of the immediate, near, medium and other buckets, each in `0..=2.5` and
    /// never increasing with distance (so that moving closer never lowers a score).
    pub attenuation_bucket_weights: [f64; 4],
    /// Infectiousness for days since onset −14 (index 0) to +14 (index 28).
    pub days_since_onset_to_infectiousness: [Infectiousness; DAYS_SINCE_ONSET_ENTRIES],
    /// Infectiousness of keys published without days since onset.
    pub infectiousness_when_days_since_onset_missing: Infectiousness,
    /// Infectiousness of keys whose days since onset lie outside −14..=14.
    pub infectiousness_when_days_since_onset_out_of_range: Infectiousness,
    pub infectiousness_weights: InfectiousnessWeights,
    /// Report type assumed for keys published as `Unknown`.
    pub report_type_when_missing: ReportType,
    pub report_type_weights: ReportTypeWeights,
    /// TX power (dBm) assumed for sightings whose metadata gave none.
    pub tx_power_when_unknown_dbm: i8,
    /// Windows scoring below this (weighted seconds) are left out of the daily summaries.
    pub minimum_window_score: f64,
    /// A day whose score sum (weighted seconds) reaches this is a low-risk day.
    pub low_risk_daily_score_seconds: f64,
    /// A day whose score sum (weighted seconds) reaches this is a high-risk day.
    pub high_risk_daily_score_seconds: f64,
}

/// The default days-since-onset table: the Risk Score Symposium's v2 curve.
const DEFAULT_DAYS_SINCE_ONSET_TO_INFECTIOUSNESS: [Infectiousness; DAYS_SINCE_ONSET_ENTRIES] = {
    use Infectiousness::{High as H, None as N, Standard as S};
    [
        // −14 … −5
        N, N, N, N, N, N, N, N, N, N, //
        // −4, −3
        S, S, //
        // −2 … +3
        H, H, H, H, H, H, //
        // +4, +5
        S, S, //
        // +6 … +14
        N, N, N, N, N, N, N, N, N,
    ]
};

impl Default for RiskConfiguration {
    fn default() -> Self {
        Self {
            attenuation_bucket_thresholds_db: [55, 67, 75],
            attenuation_bucket_weights: [1.75, 1.0, 0.33, 0.0],
            days_since_onset_to_infectiousness: DEFAULT_DAYS_SINCE_ONSET_TO_INFECTIOUSNESS,
            infectiousness_when_days_since_onset_missing: Infectiousness::Standard,
            infectiousness_when_days_since_onset_out_of_range: Infectiousness::None,
            infectiousness_weights: InfectiousnessWeights {
                standard: 0.3,
                high: 1.0,
            },
            report_type_when_missing: ReportType::ConfirmedTest,
            report_type_weights: ReportTypeWeights {
                confirmed_test: 1.0,
                confirmed_clinical_diagnosis: 0.75,
                self_report: 0.5,
                recursive: 0.0,
            },
            tx_power_when_unknown_dbm: -15,
            minimum_window_score: 0.0,
            low_risk_daily_score_seconds: 5.0 * 60.0,
            high_risk_daily_score_seconds: 15.0 * 60.0,
        }
    }
}

/// Why a [`RiskConfiguration`] cannot be used.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RiskConfigurationError {
    #[error("attenuation bucket thresholds must increase strictly, got {0:?}")]
    ThresholdsNotIncreasing([u8; 3]),
    #[error("{name} weight {value} is outside 0..=2.5")]
    WeightOutOfRange { name: &'static str, value: f64 },
    #[error("attenuation bucket weights must not grow with distance, got {0:?}")]
    WeightsGrowWithDistance([f64; 4]),
    #[error("{name} must be a finite number ≥ 0, got {value}")]
    InvalidScore { name: &'static str, value: f64 },
    #[error("the low-risk threshold ({low}) is above the high-risk threshold ({high})")]
    LowAboveHigh { low: f64, high: f64 },
    #[error("the report type assumed for missing ones cannot be Unknown or Revoked")]
    InvalidMissingReportType,
}

impl RiskConfiguration {
    /// Checks the ranges GAEN enforces, plus the orderings this model relies on.
    pub fn validate(&self) -> Result<(), RiskConfigurationError> {
        let [immediate, near, medium] = self.attenuation_bucket_thresholds_db;
        if !(immediate < near && near < medium) {
            return Err(RiskConfigurationError::ThresholdsNotIncreasing(
                self.attenuation_bucket_thresholds_db,
            ));
        }
        let [w0, w1, w2, w3] = self.attenuation_bucket_weights;
        let weights = [
            ("immediate bucket", w0),
            ("near bucket", w1),
            ("medium bucket", w2),
            ("other bucket", w3),
            (
                "standard infectiousness",
                self.infectiousness_weights.standard,
            ),
            ("high infectiousness", self.infectiousness_weights.high),
            ("confirmed test", self.report_type_weights.confirmed_test),
            (
                "confirmed clinical diagnosis",
                self.report_type_weights.confirmed_clinical_diagnosis,
            ),
            ("self report", self.report_type_weights.self_report),
            ("recursive", self.report_type_weights.recursive),
        ];
        for (name, value) in weights {
            if !(0.0..=MAXIMUM_WEIGHT).contains(&value) {
                return Err(RiskConfigurationError::WeightOutOfRange { name, value });
            }
        }
        if !(w0 >= w1 && w1 >= w2 && w2 >= w3) {
            return Err(RiskConfigurationError::WeightsGrowWithDistance(
                self.attenuation_bucket_weights,
            ));
        }
        let scores = [
            ("minimum window score", self.minimum_window_score),
            ("low-risk threshold", self.low_risk_daily_score_seconds),
            ("high-risk threshold", self.high_risk_daily_score_seconds),
        ];
        for (name, value) in scores {
            if !(value.is_finite() && value >= 0.0) {
                return Err(RiskConfigurationError::InvalidScore { name, value });
            }
        }
        if self.low_risk_daily_score_seconds > self.high_risk_daily_score_seconds {
            return Err(RiskConfigurationError::LowAboveHigh {
                low: self.low_risk_daily_score_seconds,
                high: self.high_risk_daily_score_seconds,
            });
        }
        if matches!(
            self.report_type_when_missing,
            ReportType::Unknown | ReportType::Revoked
        ) {
            return Err(RiskConfigurationError::InvalidMissingReportType);
        }
        Ok(())
    }

    /// The infectiousness of a key published with `days_since_onset_of_symptoms`.
    pub fn infectiousness(&self, days_since_onset_of_symptoms: Option<i32>) -> Infectiousness {
        let Some(days) = days_since_onset_of_symptoms else {
            return self.infectiousness_when_days_since_onset_missing;
        };
        days.checked_add(MAXIMUM_DAYS_SINCE_ONSET)
            .and_then(|index| usize::try_from(index).ok())
            .and_then(|index| self.days_since_onset_to_infectiousness.get(index))
            .copied()
            .unwrap_or(self.infectiousness_when_days_since_onset_out_of_range)
    }

    /// The report type a window gets for a key published as `report_type`.
    pub fn effective_report_type(&self, report_type: ReportType) -> ReportType {
        match report_type {
            ReportType::Unknown => self.report_type_when_missing,
            known => known,
        }
    }

    /// The bucket of a scan whose typical attenuation is `attenuation_db`.
    pub fn attenuation_bucket(&self, attenuation_db: u8) -> AttenuationBucket {
        let [immediate, near, medium] = self.attenuation_bucket_thresholds_db;
        if attenuation_db <= immediate {
            AttenuationBucket::Immediate
        } else if attenuation_db <= near {
            AttenuationBucket::Near
        } else if attenuation_db <= medium {
            AttenuationBucket::Medium
        } else {
            AttenuationBucket::Other
        }
    }

    /// The weight of an attenuation bucket.
    pub fn attenuation_bucket_weight(&self, bucket: AttenuationBucket) -> f64 {
        let [immediate, near, medium, other] = self.attenuation_bucket_weights;
        match bucket {
            AttenuationBucket::Immediate => immediate,
            AttenuationBucket::Near => near,
            AttenuationBucket::Medium => medium,
            AttenuationBucket::Other => other,
        }
    }

    /// The weight of an infectiousness level (`None` weighs nothing).
    pub fn infectiousness_weight(&self, infectiousness: Infectiousness) -> f64 {
        match infectiousness {
            Infectiousness::None => 0.0,
            Infectiousness::Standard => self.infectiousness_weights.standard,
            Infectiousness::High => self.infectiousness_weights.high,
        }
    }

    /// The weight of a report type (`Revoked` weighs nothing; `Unknown` is mapped first).
    pub fn report_type_weight(&self, report_type: ReportType) -> f64 {
        let weights = &self.report_type_weights;
        match self.effective_report_type(report_type) {
            ReportType::ConfirmedTest => weights.confirmed_test,
            ReportType::ConfirmedClinicalDiagnosis => weights.confirmed_clinical_diagnosis,
            ReportType::SelfReport => weights.self_report,
            ReportType::Recursive => weights.recursive,
            ReportType::Revoked | ReportType::Unknown => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid() {
        assert_eq!(RiskConfiguration::default().validate(), Ok(()));
    }

    #[test]
    fn infectiousness_follows_the_symposium_curve() {
        let config = RiskConfiguration::default();
        let expected = |days: i32| match days {
            -4 | -3 | 4 | 5 => Infectiousness::Standard,
            -2..=3 => Infectiousness::High,
            _ => Infectiousness::None,
        };
        for days in -20..=20 {
            assert_eq!(
                config.infectiousness(Some(days)),
                expected(days),
                "day {days}"
            );
        }
        assert_eq!(config.infectiousness(None), Infectiousness::Standard);
        assert_eq!(config.infectiousness(Some(i32::MIN)), Infectiousness::None);
        assert_eq!(config.infectiousness(Some(i32::MAX)), Infectiousness::None);
    }

    #[test]
    fn bucket_edges_are_inclusive_like_gaen() {
        let config = RiskConfiguration::default();
        assert_eq!(config.attenuation_bucket(0), AttenuationBucket::Immediate);
        assert_eq!(config.attenuation_bucket(55), AttenuationBucket::Immediate);
        assert_eq!(config.attenuation_bucket(56), AttenuationBucket::Near);
        assert_eq!(config.attenuation_bucket(67), AttenuationBucket::Near);
        assert_eq!(config.attenuation_bucket(68), AttenuationBucket::Medium);
        assert_eq!(config.attenuation_bucket(75), AttenuationBucket::Medium);
        assert_eq!(config.attenuation_bucket(76), AttenuationBucket::Other);
        assert_eq!(config.attenuation_bucket(255), AttenuationBucket::Other);
    }

    #[test]
    fn unknown_report_types_count_as_confirmed_tests_and_revoked_ones_never_count() {
        let config = RiskConfiguration::default();
        assert_eq!(
            config.effective_report_type(ReportType::Unknown),
            ReportType::ConfirmedTest
        );
        assert_eq!(config.report_type_weight(ReportType::Unknown), 1.0);
        assert_eq!(config.report_type_weight(ReportType::SelfReport), 0.5);
        assert_eq!(config.report_type_weight(ReportType::Revoked), 0.0);
    }

    #[test]
    fn validation_rejects_what_gaen_rejects_and_what_breaks_monotonicity() {
        let valid = RiskConfiguration::default();
        let with = |change: fn(&mut RiskConfiguration)| {
            let mut config = valid.clone();
            change(&mut config);
            config.validate()
        };
        assert!(matches!(
            with(|c| c.attenuation_bucket_thresholds_db = [60, 60, 70]),
            Err(RiskConfigurationError::ThresholdsNotIncreasing(_))
        ));
        assert!(matches!(
            with(|c| c.attenuation_bucket_weights[0] = 3.0),
            Err(RiskConfigurationError::WeightOutOfRange {
                name: "immediate bucket",
                ..
            })
        ));
        assert!(matches!(
            with(|c| c.infectiousness_weights.high = f64::NAN),
            Err(RiskConfigurationError::WeightOutOfRange {
                name: "high infectiousness",
                ..
            })
        ));
        assert!(matches!(
            with(|c| c.attenuation_bucket_weights = [1.0, 1.5, 0.5, 0.0]),
            Err(RiskConfigurationError::WeightsGrowWithDistance(_))
        ));
        assert!(matches!(
            with(|c| c.minimum_window_score = -1.0),
            Err(RiskConfigurationError::InvalidScore { .. })
        ));
        assert!(matches!(
            with(|c| c.low_risk_daily_score_seconds = 2000.0),
            Err(RiskConfigurationError::LowAboveHigh { .. })
        ));
        assert_eq!(
            with(|c| c.report_type_when_missing = ReportType::Revoked),
            Err(RiskConfigurationError::InvalidMissingReportType)
        );
    }
}
