//! What the health authority tunes without shipping an app: the risk parameters of the
//! proximity channel (GAEN v2), the venue channel's minimum overlaps, and the texts the
//! phone shows, in French and English. Served as part of `GET /v1/config`
//! ([`crate::app_config`]); edited at `/authority/config` and with
//! `openstopcovid authority config show|set`.
//!
//! One validator, [`AppSettings::validate`], is used by the web page, the command line
//! and the phone (which refuses a signed configuration it cannot use and keeps its last
//! good one). It reports every problem at once, each naming its field by the JSON path
//! (`risk.attenuationThresholdsDb[1]`), so that a file or a form can be fixed in one go.
//!
//! Numbers are carried wider than they are allowed (`i64`, `f64`) on purpose: a value
//! out of range is then a validation error naming the field, not a parse error.

use std::collections::BTreeMap;
use std::fmt;

use exposure::risk::{
    DAYS_SINCE_ONSET_ENTRIES, Infectiousness, InfectiousnessWeights, MAXIMUM_DAYS_SINCE_ONSET,
    MAXIMUM_WEIGHT, ReportTypeWeights, RiskConfiguration,
};
use presence::venue_type::VenueType;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Largest low- or high-risk threshold, in weighted minutes per day (a whole day).
pub const MAXIMUM_DAILY_RISK_MINUTES: f64 = 24.0 * 60.0;
/// Largest minimum score of one exposure window, in weighted minutes (a window is 30 min).
pub const MAXIMUM_WINDOW_MINUTES: f64 = 30.0;
/// Largest minimum overlap at a venue, in minutes (a whole day).
pub const MAXIMUM_VENUE_OVERLAP_MINUTES: i64 = 24 * 60;
/// Longest instruction text (what to do when warned, after a positive test), in characters.
pub const MAXIMUM_INSTRUCTION_CHARS: usize = 1000;
/// Longest info banner, in characters.
pub const MAXIMUM_BANNER_CHARS: usize = 300;
/// Longest hotline (a phone number, possibly with a few words), in characters.
pub const MAXIMUM_HOTLINE_CHARS: usize = 40;
/// Longest test-site link, in characters.
pub const MAXIMUM_URL_CHARS: usize = 300;

/// Everything the authority edits. Every member is required: a file or form sets them all
/// (`openstopcovid authority config show` prints one to start from).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppSettings {
    pub risk: RiskParameters,
    pub venues: VenueParameters,
    pub texts: Texts,
}

/// The GAEN v2 risk model's parameters (see the `exposure` crate's `risk` module).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RiskParameters {
    /// Edges of the immediate, near and medium attenuation buckets in dB: three values,
    /// 0–255, strictly increasing; a scan at or under an edge is in that bucket.
    pub attenuation_thresholds_db: Vec<i64>,
    /// Weights of the immediate, near, medium and other buckets: four values, 0–2.5,
    /// never growing with distance.
    pub attenuation_weights: Vec<f64>,
    /// Infectiousness of a key by the days from symptom onset to its day, from −14
    /// (first) to +14 (last): 29 values.
    pub infectiousness_by_days_since_onset: Vec<InfectiousnessLevel>,
    /// Infectiousness of a key published without days since onset.
    pub infectiousness_when_onset_missing: InfectiousnessLevel,
    /// Weights of standard and high infectiousness, 0–2.5.
    pub infectiousness_weights: InfectiousnessWeightsParameters,
    /// Weights of each report type, 0–2.5 (revoked keys never count).
    pub report_type_weights: ReportTypeWeightsParameters,
    /// Exposure windows scoring less (weighted minutes) are ignored: 0–30.
    pub minimum_window_minutes: f64,
    /// A day whose score reaches this (weighted minutes) is a low-risk day: 0–1440.
    pub low_risk_minutes: f64,
    /// A day whose score reaches this (weighted minutes) is a high-risk day: 0–1440, at
    /// least the low-risk threshold.
    pub high_risk_minutes: f64,
}

/// GAEN's `Infectiousness`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum InfectiousnessLevel {
    None,
    Standard,
    High,
}

impl InfectiousnessLevel {
    /// Every level, as the form offers them.
    pub const ALL: [InfectiousnessLevel; 3] = [Self::None, Self::Standard, Self::High];

    /// The wire name: `none`, `standard` or `high`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Standard => "standard",
            Self::High => "high",
        }
    }

    /// The level of a wire name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|level| level.as_str() == text)
    }

    fn to_model(self) -> Infectiousness {
        match self {
            Self::None => Infectiousness::None,
            Self::Standard => Infectiousness::Standard,
            Self::High => Infectiousness::High,
        }
    }

    fn from_model(level: Infectiousness) -> Self {
        match level {
            Infectiousness::None => Self::None,
            Infectiousness::Standard => Self::Standard,
            Infectiousness::High => Self::High,
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InfectiousnessWeightsParameters {
    pub standard: f64,
    pub high: f64,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReportTypeWeightsParameters {
    pub confirmed_test: f64,
    pub confirmed_clinical_diagnosis: f64,
    pub self_report: f64,
    pub recursive: f64,
}

/// The venue channel's rules.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VenueParameters {
    /// A guest is warned only when they overlapped a positive visitor at least this many
    /// minutes that day (0–1440), unless their venue's type has its own value below.
    pub default_minimum_overlap_minutes: i64,
    /// Minimum overlap by venue type (`foodService`, `workplace`, …; see
    /// [`venue_type_key`]), 0–1440. Types not listed use the default.
    #[serde(default)]
    pub minimum_overlap_minutes_by_type: BTreeMap<String, i64>,
}

impl VenueParameters {
    /// The minimum overlap, in minutes, for a venue of this type (`None`: type unknown,
    /// as in CrowdNotifier codes).
    pub fn minimum_overlap_minutes(&self, venue_type: Option<VenueType>) -> u64 {
        let minutes = venue_type
            .and_then(|venue_type| {
                self.minimum_overlap_minutes_by_type
                    .get(venue_type_key(venue_type))
            })
            .copied()
            .unwrap_or(self.default_minimum_overlap_minutes);
        u64::try_from(minutes).unwrap_or(0)
    }
}

/// The key of a venue type in [`VenueParameters::minimum_overlap_minutes_by_type`].
pub fn venue_type_key(venue_type: VenueType) -> &'static str {
    match venue_type {
        VenueType::Unspecified => "unspecified",
        VenueType::PermanentOther => "permanentOther",
        VenueType::TemporaryOther => "temporaryOther",
        VenueType::Retail => "retail",
        VenueType::FoodService => "foodService",
        VenueType::Craft => "craft",
        VenueType::Workplace => "workplace",
        VenueType::EducationalInstitution => "educationalInstitution",
        VenueType::PublicBuilding => "publicBuilding",
        VenueType::CulturalEvent => "culturalEvent",
        VenueType::ClubActivity => "clubActivity",
        VenueType::PrivateEvent => "privateEvent",
        VenueType::WorshipService => "worshipService",
    }
}

/// The texts in both languages of the apps.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ToSchema)]
pub struct Texts {
    pub fr: LocalizedTexts,
    pub en: LocalizedTexts,
}

impl Texts {
    /// The texts of a language tag (`fr` or `en`).
    pub fn language(&self, tag: &str) -> Option<&LocalizedTexts> {
        match tag {
            "fr" => Some(&self.fr),
            "en" => Some(&self.en),
            _ => None,
        }
    }
}

/// What the phone tells its user, in one language.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocalizedTexts {
    /// What to do after a low-risk proximity exposure.
    pub exposure_low: String,
    /// What to do after a high-risk proximity exposure.
    pub exposure_high: String,
    /// What to do after a low-risk venue warning.
    pub venue_low: String,
    /// What to do after a high-risk venue warning.
    pub venue_high: String,
    /// What to do after reporting a positive test.
    pub after_positive_test: String,
    /// The authority's hotline, as a phone number people can dial.
    pub hotline: String,
    /// Where to find a test site: an `https://` address.
    pub test_site_url: String,
    /// A banner the apps show to everyone (empty: none).
    #[serde(default)]
    pub info_banner: String,
}

/// The warning channel an instruction is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    Exposure,
    Venue,
}

/// A warning's level, as far as instructions go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum WarningLevel {
    Low,
    High,
}

impl LocalizedTexts {
    /// What to do after a warning of this channel and level.
    pub fn when_warned(&self, channel: Channel, level: WarningLevel) -> &str {
        match (channel, level) {
            (Channel::Exposure, WarningLevel::Low) => &self.exposure_low,
            (Channel::Exposure, WarningLevel::High) => &self.exposure_high,
            (Channel::Venue, WarningLevel::Low) => &self.venue_low,
            (Channel::Venue, WarningLevel::High) => &self.venue_high,
        }
    }
}

/// One problem with a field.
#[derive(Clone, Debug, PartialEq)]
pub struct SettingsError {
    /// The field's JSON path, e.g. `risk.attenuationThresholdsDb[1]` or `texts.fr.hotline`.
    pub field: String,
    pub problem: SettingsProblem,
}

/// What is wrong with a field.
#[derive(Clone, Debug, PartialEq)]
pub enum SettingsProblem {
    /// Outside `min..=max` (or not a finite number).
    OutOfRange { min: f64, max: f64 },
    /// Not a number at all (a form field left empty or holding words).
    NotANumber,
    /// A list of the wrong length.
    WrongLength { expected: usize },
    /// Attenuation thresholds must increase strictly.
    NotIncreasing,
    /// Attenuation weights must not grow with distance.
    GrowsWithDistance,
    /// The low-risk threshold is above the high-risk one.
    LowAboveHigh,
    /// A required text is empty.
    Empty,
    /// A text is longer than `max` characters.
    TooLong { max: usize },
    /// A text holds control characters (line breaks are allowed).
    ControlCharacters,
    /// The hotline is not a phone number (digits, spaces, `+`, `-`, `.`, `(`, `)`).
    NotAPhoneNumber,
    /// The address is not `https://…`.
    NotHttps,
    /// Not one of the venue types.
    UnknownVenueType,
    /// A member the document does not have (a typo?).
    UnknownField,
    /// The document does not parse (the detail says why).
    Unreadable(String),
}

impl fmt::Display for SettingsProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OutOfRange { min, max } => write!(f, "must be a number from {min} to {max}"),
            Self::NotANumber => f.write_str("must be a number"),
            Self::WrongLength { expected } => write!(f, "must hold exactly {expected} values"),
            Self::NotIncreasing => {
                f.write_str("must increase strictly (immediate < near < medium)")
            }
            Self::GrowsWithDistance => {
                f.write_str("must not grow with distance (immediate ≥ near ≥ medium ≥ other)")
            }
            Self::LowAboveHigh => f.write_str("must not be above the high-risk threshold"),
            Self::Empty => f.write_str("must not be empty"),
            Self::TooLong { max } => write!(f, "must be at most {max} characters long"),
            Self::ControlCharacters => f.write_str("must not contain control characters"),
            Self::NotAPhoneNumber => f.write_str(
                "must be a phone number (digits, spaces and + - . ( ) only, at least 3 digits)",
            ),
            Self::NotHttps => f.write_str("must be an https:// address"),
            Self::UnknownVenueType => f.write_str("is not a venue type"),
            Self::UnknownField => f.write_str("is not a setting (a typo?)"),
            Self::Unreadable(detail) => f.write_str(detail),
        }
    }
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

/// Every problem found, in field order.
#[derive(Clone, Debug, PartialEq)]
pub struct SettingsErrors(pub Vec<SettingsError>);

impl fmt::Display for SettingsErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SettingsErrors {}

struct Collector(Vec<SettingsError>);

impl Collector {
    fn push(&mut self, field: impl Into<String>, problem: SettingsProblem) {
        self.0.push(SettingsError {
            field: field.into(),
            problem,
        });
    }

    fn number(&mut self, field: impl Into<String>, value: f64, min: f64, max: f64) -> bool {
        let ok = value.is_finite() && (min..=max).contains(&value);
        if !ok {
            self.push(field, SettingsProblem::OutOfRange { min, max });
        }
        ok
    }

    fn text(&mut self, field: String, value: &str, required: bool, max: usize) {
        if value.trim().is_empty() {
            if required {
                self.push(field, SettingsProblem::Empty);
            }
            return;
        }
        if value.chars().count() > max {
            self.push(field, SettingsProblem::TooLong { max });
        } else if value
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        {
            self.push(field, SettingsProblem::ControlCharacters);
        }
    }
}

impl AppSettings {
    /// Checks every range and every rule; `Err` lists every problem.
    pub fn validate(&self) -> Result<(), SettingsErrors> {
        let mut errors = Collector(Vec::new());
        self.risk.check(&mut errors);
        self.venues.check(&mut errors);
        for (tag, texts) in [("fr", &self.texts.fr), ("en", &self.texts.en)] {
            texts.check(&mut errors, &format!("texts.{tag}"));
        }
        if errors.0.is_empty() {
            Ok(())
        } else {
            Err(SettingsErrors(errors.0))
        }
    }

    /// Reads a settings document (JSON), refusing members it does not have, so that a
    /// misspelt setting in a file is an error rather than silently left at its old value.
    /// Then validates it.
    pub fn from_json(text: &str) -> Result<Self, SettingsErrors> {
        let unreadable = |detail: String| {
            SettingsErrors(vec![SettingsError {
                field: String::new(),
                problem: SettingsProblem::Unreadable(detail),
            }])
        };
        let raw: serde_json::Value =
            serde_json::from_str(text).map_err(|error| unreadable(error.to_string()))?;
        let settings: AppSettings =
            serde_json::from_value(raw.clone()).map_err(|error| unreadable(error.to_string()))?;
        let understood =
            serde_json::to_value(&settings).map_err(|error| unreadable(error.to_string()))?;
        let mut unknown = Vec::new();
        unknown_members(&raw, &understood, "", &mut unknown);
        if !unknown.is_empty() {
            return Err(SettingsErrors(
                unknown
                    .into_iter()
                    .map(|field| SettingsError {
                        field,
                        problem: SettingsProblem::UnknownField,
                    })
                    .collect(),
            ));
        }
        settings.validate()?;
        Ok(settings)
    }
}

/// The paths of object members in `raw` that `understood` (the same document read and
/// written back) does not have.
fn unknown_members(
    raw: &serde_json::Value,
    understood: &serde_json::Value,
    path: &str,
    unknown: &mut Vec<String>,
) {
    if let (Some(raw), Some(understood)) = (raw.as_object(), understood.as_object()) {
        for (name, value) in raw {
            let member = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            match understood.get(name) {
                Some(known) => unknown_members(value, known, &member, unknown),
                None => unknown.push(member),
            }
        }
    }
}

impl RiskParameters {
    fn check(&self, errors: &mut Collector) {
        let thresholds = &self.attenuation_thresholds_db;
        if thresholds.len() == 3 {
            let mut in_range = true;
            for (index, value) in thresholds.iter().enumerate() {
                in_range &= errors.number(
                    format!("risk.attenuationThresholdsDb[{index}]"),
                    *value as f64,
                    0.0,
                    255.0,
                );
            }
            if in_range && !thresholds.windows(2).all(|pair| pair[0] < pair[1]) {
                errors.push(
                    "risk.attenuationThresholdsDb",
                    SettingsProblem::NotIncreasing,
                );
            }
        } else {
            errors.push(
                "risk.attenuationThresholdsDb",
                SettingsProblem::WrongLength { expected: 3 },
            );
        }
        let weights = &self.attenuation_weights;
        if weights.len() == 4 {
            let mut in_range = true;
            for (index, value) in weights.iter().enumerate() {
                in_range &= errors.number(
                    format!("risk.attenuationWeights[{index}]"),
                    *value,
                    0.0,
                    MAXIMUM_WEIGHT,
                );
            }
            if in_range && !weights.windows(2).all(|pair| pair[0] >= pair[1]) {
                errors.push(
                    "risk.attenuationWeights",
                    SettingsProblem::GrowsWithDistance,
                );
            }
        } else {
            errors.push(
                "risk.attenuationWeights",
                SettingsProblem::WrongLength { expected: 4 },
            );
        }
        if self.infectiousness_by_days_since_onset.len() != DAYS_SINCE_ONSET_ENTRIES {
            errors.push(
                "risk.infectiousnessByDaysSinceOnset",
                SettingsProblem::WrongLength {
                    expected: DAYS_SINCE_ONSET_ENTRIES,
                },
            );
        }
        let named_weights = [
            (
                "risk.infectiousnessWeights.standard",
                self.infectiousness_weights.standard,
            ),
            (
                "risk.infectiousnessWeights.high",
                self.infectiousness_weights.high,
            ),
            (
                "risk.reportTypeWeights.confirmedTest",
                self.report_type_weights.confirmed_test,
            ),
            (
                "risk.reportTypeWeights.confirmedClinicalDiagnosis",
                self.report_type_weights.confirmed_clinical_diagnosis,
            ),
            (
                "risk.reportTypeWeights.selfReport",
                self.report_type_weights.self_report,
            ),
            (
                "risk.reportTypeWeights.recursive",
                self.report_type_weights.recursive,
            ),
        ];
        for (field, value) in named_weights {
            errors.number(field, value, 0.0, MAXIMUM_WEIGHT);
        }
        errors.number(
            "risk.minimumWindowMinutes",
            self.minimum_window_minutes,
            0.0,
            MAXIMUM_WINDOW_MINUTES,
        );
        let low_ok = errors.number(
            "risk.lowRiskMinutes",
            self.low_risk_minutes,
            0.0,
            MAXIMUM_DAILY_RISK_MINUTES,
        );
        let high_ok = errors.number(
            "risk.highRiskMinutes",
            self.high_risk_minutes,
            0.0,
            MAXIMUM_DAILY_RISK_MINUTES,
        );
        if low_ok && high_ok && self.low_risk_minutes > self.high_risk_minutes {
            errors.push("risk.lowRiskMinutes", SettingsProblem::LowAboveHigh);
        }
    }

    /// The risk model's configuration, or every problem that prevents it.
    pub fn to_risk_configuration(&self) -> Result<RiskConfiguration, SettingsErrors> {
        let mut errors = Collector(Vec::new());
        self.check(&mut errors);
        if !errors.0.is_empty() {
            return Err(SettingsErrors(errors.0));
        }
        let defaults = RiskConfiguration::default();
        let mut thresholds = [0u8; 3];
        for (slot, value) in thresholds.iter_mut().zip(&self.attenuation_thresholds_db) {
            *slot = u8::try_from(*value).unwrap_or(u8::MAX);
        }
        let mut weights = [0.0; 4];
        for (slot, value) in weights.iter_mut().zip(&self.attenuation_weights) {
            *slot = *value;
        }
        let mut table = defaults.days_since_onset_to_infectiousness;
        for (slot, level) in table
            .iter_mut()
            .zip(&self.infectiousness_by_days_since_onset)
        {
            *slot = level.to_model();
        }
        let configuration = RiskConfiguration {
            attenuation_bucket_thresholds_db: thresholds,
            attenuation_bucket_weights: weights,
            days_since_onset_to_infectiousness: table,
            infectiousness_when_days_since_onset_missing: self
                .infectiousness_when_onset_missing
                .to_model(),
            infectiousness_weights: InfectiousnessWeights {
                standard: self.infectiousness_weights.standard,
                high: self.infectiousness_weights.high,
            },
            report_type_weights: ReportTypeWeights {
                confirmed_test: self.report_type_weights.confirmed_test,
                confirmed_clinical_diagnosis: self.report_type_weights.confirmed_clinical_diagnosis,
                self_report: self.report_type_weights.self_report,
                recursive: self.report_type_weights.recursive,
            },
            minimum_window_score: self.minimum_window_minutes * 60.0,
            low_risk_daily_score_seconds: self.low_risk_minutes * 60.0,
            high_risk_daily_score_seconds: self.high_risk_minutes * 60.0,
            ..defaults
        };
        // The model's own rules are the ones above; this keeps the two from drifting.
        configuration.validate().map_err(|error| {
            SettingsErrors(vec![SettingsError {
                field: "risk".to_owned(),
                problem: SettingsProblem::Unreadable(error.to_string()),
            }])
        })?;
        Ok(configuration)
    }

    /// The parameters of a risk model configuration.
    pub fn from_risk_configuration(configuration: &RiskConfiguration) -> Self {
        Self {
            attenuation_thresholds_db: configuration
                .attenuation_bucket_thresholds_db
                .iter()
                .map(|&value| i64::from(value))
                .collect(),
            attenuation_weights: configuration.attenuation_bucket_weights.to_vec(),
            infectiousness_by_days_since_onset: configuration
                .days_since_onset_to_infectiousness
                .iter()
                .map(|&level| InfectiousnessLevel::from_model(level))
                .collect(),
            infectiousness_when_onset_missing: InfectiousnessLevel::from_model(
                configuration.infectiousness_when_days_since_onset_missing,
            ),
            infectiousness_weights: InfectiousnessWeightsParameters {
                standard: configuration.infectiousness_weights.standard,
                high: configuration.infectiousness_weights.high,
            },
            report_type_weights: ReportTypeWeightsParameters {
                confirmed_test: configuration.report_type_weights.confirmed_test,
                confirmed_clinical_diagnosis: configuration
                    .report_type_weights
                    .confirmed_clinical_diagnosis,
                self_report: configuration.report_type_weights.self_report,
                recursive: configuration.report_type_weights.recursive,
            },
            minimum_window_minutes: configuration.minimum_window_score / 60.0,
            low_risk_minutes: configuration.low_risk_daily_score_seconds / 60.0,
            high_risk_minutes: configuration.high_risk_daily_score_seconds / 60.0,
        }
    }

    /// The day since onset of index `index` in
    /// [`infectiousness_by_days_since_onset`](Self::infectiousness_by_days_since_onset).
    pub fn day_since_onset(index: usize) -> i32 {
        i32::try_from(index).unwrap_or(i32::MAX) - MAXIMUM_DAYS_SINCE_ONSET
    }
}

impl VenueParameters {
    fn check(&self, errors: &mut Collector) {
        let max = MAXIMUM_VENUE_OVERLAP_MINUTES as f64;
        errors.number(
            "venues.defaultMinimumOverlapMinutes",
            self.default_minimum_overlap_minutes as f64,
            0.0,
            max,
        );
        for (key, minutes) in &self.minimum_overlap_minutes_by_type {
            let field = format!("venues.minimumOverlapMinutesByType.{key}");
            if VenueType::ALL
                .iter()
                .any(|&venue_type| venue_type_key(venue_type) == key)
            {
                errors.number(field, *minutes as f64, 0.0, max);
            } else {
                errors.push(field, SettingsProblem::UnknownVenueType);
            }
        }
    }
}

impl LocalizedTexts {
    fn check(&self, errors: &mut Collector, path: &str) {
        let instructions = [
            ("exposureLow", &self.exposure_low),
            ("exposureHigh", &self.exposure_high),
            ("venueLow", &self.venue_low),
            ("venueHigh", &self.venue_high),
            ("afterPositiveTest", &self.after_positive_test),
        ];
        for (name, text) in instructions {
            errors.text(
                format!("{path}.{name}"),
                text,
                true,
                MAXIMUM_INSTRUCTION_CHARS,
            );
        }
        let hotline_field = format!("{path}.hotline");
        let hotline = self.hotline.trim();
        if hotline.is_empty() {
            errors.push(hotline_field, SettingsProblem::Empty);
        } else if hotline.chars().count() > MAXIMUM_HOTLINE_CHARS {
            errors.push(
                hotline_field,
                SettingsProblem::TooLong {
                    max: MAXIMUM_HOTLINE_CHARS,
                },
            );
        } else if !(hotline
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '.' | '(' | ')'))
            && hotline.chars().filter(char::is_ascii_digit).count() >= 3)
        {
            errors.push(hotline_field, SettingsProblem::NotAPhoneNumber);
        }
        let url_field = format!("{path}.testSiteUrl");
        let url = self.test_site_url.trim();
        if url.is_empty() {
            errors.push(url_field, SettingsProblem::Empty);
        } else if url.chars().count() > MAXIMUM_URL_CHARS {
            errors.push(
                url_field,
                SettingsProblem::TooLong {
                    max: MAXIMUM_URL_CHARS,
                },
            );
        } else if !(url.starts_with("https://")
            && url.len() > "https://".len()
            && !url.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            errors.push(url_field, SettingsProblem::NotHttps);
        }
        errors.text(
            format!("{path}.infoBanner"),
            &self.info_banner,
            false,
            MAXIMUM_BANNER_CHARS,
        );
    }
}

impl Default for AppSettings {
    /// The settings a server serves until an administrator saves some: the risk model's
    /// documented defaults, a warning after 15 minutes at a venue, and plain texts that
    /// send people to the national hotline.
    fn default() -> Self {
        Self {
            risk: RiskParameters::from_risk_configuration(&RiskConfiguration::default()),
            venues: VenueParameters {
                default_minimum_overlap_minutes: 15,
                minimum_overlap_minutes_by_type: BTreeMap::new(),
            },
            texts: Texts {
                fr: LocalizedTexts {
                    exposure_low: "Vous avez croisé brièvement une personne testée positive. \
                        Surveillez vos symptômes pendant 7 jours et faites un test si vous en avez."
                        .to_owned(),
                    exposure_high: "Vous avez été en contact à risque avec une personne testée \
                        positive. Faites un test dès aujourd'hui et limitez vos contacts en \
                        attendant le résultat."
                        .to_owned(),
                    venue_low: "Une personne testée positive était dans un lieu où vous étiez. \
                        Surveillez vos symptômes pendant 7 jours."
                        .to_owned(),
                    venue_high: "Vous étiez longtemps dans un lieu en même temps qu'une personne \
                        testée positive. Faites un test dès aujourd'hui."
                        .to_owned(),
                    after_positive_test: "Merci d'avoir prévenu les autres. Restez isolé, \
                        prévenez vos proches et suivez les consignes de votre médecin."
                        .to_owned(),
                    hotline: "0 800 130 000".to_owned(),
                    test_site_url: "https://sante.fr/recherche/trouver/DepistageCovid".to_owned(),
                    info_banner: String::new(),
                },
                en: LocalizedTexts {
                    exposure_low: "You were briefly near someone who tested positive. Watch \
                        for symptoms for 7 days and get tested if you have any."
                        .to_owned(),
                    exposure_high: "You were in close contact with someone who tested \
                        positive. Get tested today and limit your contacts until you have \
                        the result."
                        .to_owned(),
                    venue_low: "Someone who tested positive was at a place you visited. \
                        Watch for symptoms for 7 days."
                        .to_owned(),
                    venue_high: "You spent a long time at a place at the same time as someone \
                        who tested positive. Get tested today."
                        .to_owned(),
                    after_positive_test: "Thank you for warning others. Stay at home, tell \
                        the people close to you and follow your doctor's advice."
                        .to_owned(),
                    hotline: "0 800 130 000".to_owned(),
                    test_site_url: "https://sante.fr/recherche/trouver/DepistageCovid".to_owned(),
                    info_banner: String::new(),
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(result: Result<(), SettingsErrors>) -> Vec<String> {
        result
            .err()
            .map(|errors| errors.0.into_iter().map(|error| error.field).collect())
            .unwrap_or_default()
    }

    #[test]
    fn the_defaults_are_valid_and_are_the_risk_models_defaults() {
        let settings = AppSettings::default();
        assert_eq!(settings.validate(), Ok(()));
        assert_eq!(
            settings.risk.to_risk_configuration(),
            Ok(RiskConfiguration::default())
        );
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let mut settings = AppSettings::default();
        settings.risk.attenuation_thresholds_db = vec![55, 300, 75];
        settings.risk.attenuation_weights = vec![1.0, 1.5, 0.5, 0.0];
        settings.risk.low_risk_minutes = 20.0;
        settings.risk.high_risk_minutes = 10.0;
        settings.risk.report_type_weights.self_report = f64::NAN;
        settings.venues.default_minimum_overlap_minutes = -1;
        settings
            .venues
            .minimum_overlap_minutes_by_type
            .insert("disco".into(), 5);
        settings.texts.fr.hotline = "call us".into();
        settings.texts.en.test_site_url = "http://tests.example".into();
        settings.texts.en.exposure_high = "  ".into();
        settings.texts.en.info_banner = "x".repeat(MAXIMUM_BANNER_CHARS + 1);
        assert_eq!(
            fields(settings.validate()),
            [
                "risk.attenuationThresholdsDb[1]",
                "risk.attenuationWeights",
                "risk.reportTypeWeights.selfReport",
                "risk.lowRiskMinutes",
                "venues.defaultMinimumOverlapMinutes",
                "venues.minimumOverlapMinutesByType.disco",
                "texts.fr.hotline",
                "texts.en.exposureHigh",
                "texts.en.testSiteUrl",
                "texts.en.infoBanner",
            ]
        );
    }

    #[test]
    fn lists_of_the_wrong_length_are_refused_not_truncated() {
        let mut settings = AppSettings::default();
        settings.risk.attenuation_thresholds_db = vec![55, 67];
        settings.risk.infectiousness_by_days_since_onset.pop();
        let errors = settings.validate().unwrap_err();
        assert_eq!(
            errors.to_string(),
            "risk.attenuationThresholdsDb: must hold exactly 3 values\n\
             risk.infectiousnessByDaysSinceOnset: must hold exactly 29 values"
        );
    }

    #[test]
    fn a_file_with_a_misspelt_setting_is_refused_with_its_name() {
        let mut document = serde_json::to_value(AppSettings::default()).unwrap();
        document["risk"]["lowRiskMinute"] = serde_json::json!(3);
        let errors = AppSettings::from_json(&document.to_string()).unwrap_err();
        assert_eq!(errors.0[0].field, "risk.lowRiskMinute");
        assert_eq!(errors.0[0].problem, SettingsProblem::UnknownField);
        let round_trip = serde_json::to_string(&AppSettings::default()).unwrap();
        assert_eq!(
            AppSettings::from_json(&round_trip),
            Ok(AppSettings::default())
        );
        assert!(AppSettings::from_json("{").is_err());
        assert!(AppSettings::from_json("[]").is_err());
    }

    /// Every number of the document set to an extreme in turn, and documents that are not
    /// settings at all: each is refused with an error, none panics.
    #[test]
    fn hostile_documents_are_refused_without_panicking() {
        fn numbers(value: &serde_json::Value, path: Vec<String>, found: &mut Vec<Vec<String>>) {
            match value {
                serde_json::Value::Number(_) => found.push(path),
                serde_json::Value::Array(items) => {
                    for (index, item) in items.iter().enumerate() {
                        let mut next = path.clone();
                        next.push(index.to_string());
                        numbers(item, next, found);
                    }
                }
                serde_json::Value::Object(members) => {
                    for (name, member) in members {
                        let mut next = path.clone();
                        next.push(name.clone());
                        numbers(member, next, found);
                    }
                }
                _ => {}
            }
        }
        let document = serde_json::to_value(AppSettings::default()).unwrap();
        let mut paths = Vec::new();
        numbers(&document, Vec::new(), &mut paths);
        assert_eq!(paths.len(), 17, "every number of the settings");
        let extremes = [
            serde_json::json!(i64::MIN),
            serde_json::json!(i64::MAX),
            serde_json::json!(u64::MAX),
            serde_json::json!(-1.0e308),
            serde_json::json!(1.0e308),
            serde_json::json!(-0.5),
        ];
        for path in &paths {
            for extreme in &extremes {
                let mut hostile = document.clone();
                let mut slot = &mut hostile;
                for step in path {
                    slot = match slot {
                        serde_json::Value::Array(items) => {
                            &mut items[step.parse::<usize>().unwrap()]
                        }
                        other => &mut other[step.as_str()],
                    };
                }
                *slot = extreme.clone();
                // Parsed or not, validated or not: an answer, never a panic.
                if let Ok(settings) = AppSettings::from_json(&hostile.to_string()) {
                    assert!(settings.risk.to_risk_configuration().is_ok());
                }
            }
        }
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        for text in [
            "",
            "null",
            "1e999",
            "{\"risk\":1}",
            "\"\\ud800\"",
            deep.as_str(),
        ] {
            assert!(AppSettings::from_json(text).is_err(), "{text:.20}");
        }
    }

    #[test]
    fn venue_types_without_their_own_minimum_use_the_default() {
        let mut venues = AppSettings::default().venues;
        venues
            .minimum_overlap_minutes_by_type
            .insert("workplace".into(), 60);
        assert_eq!(
            venues.minimum_overlap_minutes(Some(VenueType::Workplace)),
            60
        );
        assert_eq!(venues.minimum_overlap_minutes(Some(VenueType::Retail)), 15);
        assert_eq!(venues.minimum_overlap_minutes(None), 15);
    }
}
