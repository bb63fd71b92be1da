//! `/authority/config` (administrators): the app configuration phones fetch from
//! `/v1/config`. One form for every setting, a preview of what a phone shows in both
//! languages, the history of versions with a roll back behind a confirmation page.
//!
//! Form fields are named by the settings' JSON paths (`risk.lowRiskMinutes`,
//! `texts.fr.hotline`), the names the validator's errors use, so that each error links
//! to its field. Saving is POST → redirect → GET; a form with problems comes back as it
//! was typed, with every problem listed. "Preview" shows the typed settings as a phone
//! would, without saving.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use messages::app_settings::{
    AppSettings, Channel, InfectiousnessLevel, InfectiousnessWeightsParameters, LocalizedTexts,
    ReportTypeWeightsParameters, RiskParameters, SettingsError, SettingsProblem, Texts,
    VenueParameters, WarningLevel, venue_type_key,
};
use presence::venue_type::VenueType;
use serde::Deserialize;

use super::pages::{PageResult, frame, internal, page, see_other};
use super::signed_in::{Admin, SignedIn};
use super::views::{Frame, Notice, Section, Viewer, layout};
use crate::app_config::{self, SettingsError as SaveError};
use crate::datastore::app_config::ConfigVersionRow;
use crate::state::AppState;
use crate::web::Language;
use crate::web::csrf::{self, CsrfForm};
use crate::web::layout::notice;
use crate::web::local_time::LocalTime;

/// How many versions the history lists (newest first).
pub const HISTORY_PAGE_SIZE: i64 = 50;

const PAGE: &str = "/authority/config";

/// The form's values by field name, as typed (or as stored).
type FormValues = BTreeMap<String, String>;

/// The settings fields of a submitted form, without its CSRF token.
fn submitted_values(fields: Vec<(String, String)>) -> FormValues {
    fields
        .into_iter()
        .filter(|(name, _)| name != "csrf")
        .collect()
}

#[derive(Deserialize)]
pub(super) struct Saved {
    saved: Option<i64>,
}

pub(super) async fn show(
    State(state): State<AppState>,
    Admin(SignedIn { language, session }): Admin,
    Query(query): Query<Saved>,
) -> PageResult {
    let (_, settings) = app_config::current_settings(&state.store)
        .await
        .map_err(failed(language))?;
    let notice = query.saved.map(|version| {
        Notice::Success(language.text_with("config-saved", &[("version", version.to_string())]))
    });
    render(
        &state,
        language,
        &session.viewer,
        StatusCode::OK,
        &form_values(&settings),
        &settings,
        &[],
        notice.as_ref(),
    )
    .await
}

pub(super) async fn submit(
    State(state): State<AppState>,
    Admin(SignedIn { language, session }): Admin,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> PageResult {
    let values = submitted_values(fields);
    let (settings, errors) = settings_from_form(&values);
    if !errors.is_empty() {
        let notice = Notice::Error(language.text("config-not-saved"));
        return render(
            &state,
            language,
            &session.viewer,
            StatusCode::BAD_REQUEST,
            &values,
            &settings,
            &errors,
            Some(&notice),
        )
        .await;
    }
    save_and_redirect(&state, language, &session.viewer.email, &settings).await
}

pub(super) async fn preview(
    State(state): State<AppState>,
    Admin(SignedIn { language, session }): Admin,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> PageResult {
    let values = submitted_values(fields);
    let (settings, errors) = settings_from_form(&values);
    let (status, notice) = if errors.is_empty() {
        (
            StatusCode::OK,
            Notice::Info(language.text("config-preview-only")),
        )
    } else {
        (
            StatusCode::BAD_REQUEST,
            Notice::Error(language.text("config-not-saved")),
        )
    };
    render(
        &state,
        language,
        &session.viewer,
        status,
        &values,
        &settings,
        &errors,
        Some(&notice),
    )
    .await
}

async fn save_and_redirect(
    state: &AppState,
    language: Language,
    author: &str,
    settings: &AppSettings,
) -> PageResult {
    match app_config::save(&state.store, state.now(), author, settings).await {
        Ok(version) => Ok(see_other(&format!("{PAGE}?saved={version}"))),
        Err(error) => Err(failed(language)(error)),
    }
}

pub(super) async fn confirm_roll_back(
    State(state): State<AppState>,
    Admin(SignedIn { language, session }): Admin,
    Path(version): Path<i64>,
) -> PageResult {
    let Some(settings) = app_config::settings_of_version(&state.store, version)
        .await
        .map_err(failed(language))?
    else {
        return Err(super::pages::error_page(
            language,
            Some(&session.viewer),
            StatusCode::NOT_FOUND,
            "config-no-such-version",
        ));
    };
    let frame = frame(language, &session, Section::Config);
    Ok(page(
        StatusCode::OK,
        roll_back_view(&frame, &session.viewer, version, &settings),
    ))
}

pub(super) async fn roll_back(
    State(state): State<AppState>,
    Admin(SignedIn { language, session }): Admin,
    Path(version): Path<i64>,
    CsrfForm(_): CsrfForm<Vec<(String, String)>>,
) -> PageResult {
    match app_config::roll_back(&state.store, state.now(), &session.viewer.email, version).await {
        Ok(Some(new_version)) => Ok(see_other(&format!("{PAGE}?saved={new_version}"))),
        Ok(None) => Err(super::pages::error_page(
            language,
            Some(&session.viewer),
            StatusCode::NOT_FOUND,
            "config-no-such-version",
        )),
        Err(error) => Err(failed(language)(error)),
    }
}

fn failed(language: Language) -> impl FnOnce(SaveError) -> Response {
    move |error| match error {
        SaveError::Database(error) => internal(language)(error),
        other => {
            tracing::error!(error = %other, "authority UI: app configuration");
            super::pages::error_page(
                language,
                None,
                StatusCode::INTERNAL_SERVER_ERROR,
                "error-internal",
            )
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn render(
    state: &AppState,
    language: Language,
    viewer: &Viewer,
    status: StatusCode,
    values: &FormValues,
    preview: &AppSettings,
    errors: &[SettingsError],
    message: Option<&Notice>,
) -> PageResult {
    let history = state
        .store
        .app_configuration_history(HISTORY_PAGE_SIZE)
        .await
        .map_err(internal(language))?;
    let frame = Frame {
        language,
        viewer: Some(viewer),
        section: Section::Config,
    };
    Ok(page(
        status,
        view(&frame, viewer, values, preview, errors, &history, message),
    ))
}

// ----- the form's fields -----

fn number_text(value: f64) -> String {
    format!("{value}")
}

/// The field names and values of `settings`.
fn form_values(settings: &AppSettings) -> FormValues {
    let mut values = FormValues::new();
    let risk = &settings.risk;
    for (index, value) in risk.attenuation_thresholds_db.iter().enumerate() {
        values.insert(
            format!("risk.attenuationThresholdsDb[{index}]"),
            value.to_string(),
        );
    }
    for (index, value) in risk.attenuation_weights.iter().enumerate() {
        values.insert(
            format!("risk.attenuationWeights[{index}]"),
            number_text(*value),
        );
    }
    for (index, level) in risk.infectiousness_by_days_since_onset.iter().enumerate() {
        values.insert(
            format!("risk.infectiousnessByDaysSinceOnset[{index}]"),
            level.as_str().to_owned(),
        );
    }
    values.insert(
        "risk.infectiousnessWhenOnsetMissing".into(),
        risk.infectiousness_when_onset_missing.as_str().to_owned(),
    );
    for (name, value) in number_fields(risk) {
        values.insert(name.to_owned(), number_text(value));
    }
    values.insert(
        "venues.defaultMinimumOverlapMinutes".into(),
        settings.venues.default_minimum_overlap_minutes.to_string(),
    );
    for (key, minutes) in &settings.venues.minimum_overlap_minutes_by_type {
        values.insert(
            format!("venues.minimumOverlapMinutesByType.{key}"),
            minutes.to_string(),
        );
    }
    for (tag, texts) in [("fr", &settings.texts.fr), ("en", &settings.texts.en)] {
        for (name, text) in text_fields(texts) {
            values.insert(format!("texts.{tag}.{name}"), text.to_owned());
        }
    }
    values
}

/// The risk model's single numbers, by field name.
fn number_fields(risk: &RiskParameters) -> [(&'static str, f64); 9] {
    [
        (
            "risk.infectiousnessWeights.standard",
            risk.infectiousness_weights.standard,
        ),
        (
            "risk.infectiousnessWeights.high",
            risk.infectiousness_weights.high,
        ),
        (
            "risk.reportTypeWeights.confirmedTest",
            risk.report_type_weights.confirmed_test,
        ),
        (
            "risk.reportTypeWeights.confirmedClinicalDiagnosis",
            risk.report_type_weights.confirmed_clinical_diagnosis,
        ),
        (
            "risk.reportTypeWeights.selfReport",
            risk.report_type_weights.self_report,
        ),
        (
            "risk.reportTypeWeights.recursive",
            risk.report_type_weights.recursive,
        ),
        ("risk.minimumWindowMinutes", risk.minimum_window_minutes),
        ("risk.lowRiskMinutes", risk.low_risk_minutes),
        ("risk.highRiskMinutes", risk.high_risk_minutes),
    ]
}

/// The texts of one language, by field name (under `texts.{tag}.`).
fn text_fields(texts: &LocalizedTexts) -> [(&'static str, &str); 8] {
    [
        ("exposureLow", texts.exposure_low.as_str()),
        ("exposureHigh", texts.exposure_high.as_str()),
        ("venueLow", texts.venue_low.as_str()),
        ("venueHigh", texts.venue_high.as_str()),
        ("afterPositiveTest", texts.after_positive_test.as_str()),
        ("hotline", texts.hotline.as_str()),
        ("testSiteUrl", texts.test_site_url.as_str()),
        ("infoBanner", texts.info_banner.as_str()),
    ]
}

/// Settings from a posted form, and every problem: fields that are not numbers first,
/// then what the validator finds in the rest.
fn settings_from_form(values: &FormValues) -> (AppSettings, Vec<SettingsError>) {
    let mut errors = Vec::new();
    let text = |name: &str| values.get(name).map(|value| value.trim()).unwrap_or("");
    let mut number = |name: String| -> f64 {
        let typed = text(&name).replace(',', ".");
        match typed.parse::<f64>() {
            Ok(value) if value.is_finite() => value,
            _ => {
                errors.push(SettingsError {
                    field: name,
                    problem: SettingsProblem::NotANumber,
                });
                0.0
            }
        }
    };
    let thresholds = (0..3)
        .map(|index| number(format!("risk.attenuationThresholdsDb[{index}]")) as i64)
        .collect();
    let weights = (0..4)
        .map(|index| number(format!("risk.attenuationWeights[{index}]")))
        .collect();
    let mut single = |name: &str| number(name.to_owned());
    let infectiousness_weights = InfectiousnessWeightsParameters {
        standard: single("risk.infectiousnessWeights.standard"),
        high: single("risk.infectiousnessWeights.high"),
    };
    let report_type_weights = ReportTypeWeightsParameters {
        confirmed_test: single("risk.reportTypeWeights.confirmedTest"),
        confirmed_clinical_diagnosis: single("risk.reportTypeWeights.confirmedClinicalDiagnosis"),
        self_report: single("risk.reportTypeWeights.selfReport"),
        recursive: single("risk.reportTypeWeights.recursive"),
    };
    let minimum_window_minutes = single("risk.minimumWindowMinutes");
    let low_risk_minutes = single("risk.lowRiskMinutes");
    let high_risk_minutes = single("risk.highRiskMinutes");
    let default_minimum_overlap_minutes = single("venues.defaultMinimumOverlapMinutes") as i64;
    let mut minimum_overlap_minutes_by_type = BTreeMap::new();
    for venue_type in VenueType::ALL {
        let name = format!(
            "venues.minimumOverlapMinutesByType.{}",
            venue_type_key(venue_type)
        );
        // Left empty: the default applies.
        if !text(&name).is_empty() {
            let minutes = number(name) as i64;
            minimum_overlap_minutes_by_type.insert(venue_type_key(venue_type).to_owned(), minutes);
        }
    }
    let level =
        |name: &str| InfectiousnessLevel::parse(text(name)).unwrap_or(InfectiousnessLevel::None);
    let infectiousness_by_days_since_onset = (0..exposure::risk::DAYS_SINCE_ONSET_ENTRIES)
        .map(|index| level(&format!("risk.infectiousnessByDaysSinceOnset[{index}]")))
        .collect();
    let localized = |tag: &str| {
        let field = |name: &str| {
            values
                .get(&format!("texts.{tag}.{name}"))
                .map(|value| value.trim().replace("\r\n", "\n"))
                .unwrap_or_default()
        };
        LocalizedTexts {
            exposure_low: field("exposureLow"),
            exposure_high: field("exposureHigh"),
            venue_low: field("venueLow"),
            venue_high: field("venueHigh"),
            after_positive_test: field("afterPositiveTest"),
            hotline: field("hotline"),
            test_site_url: field("testSiteUrl"),
            info_banner: field("infoBanner"),
        }
    };
    let settings = AppSettings {
        risk: RiskParameters {
            attenuation_thresholds_db: thresholds,
            attenuation_weights: weights,
            infectiousness_by_days_since_onset,
            infectiousness_when_onset_missing: level("risk.infectiousnessWhenOnsetMissing"),
            infectiousness_weights,
            report_type_weights,
            minimum_window_minutes,
            low_risk_minutes,
            high_risk_minutes,
        },
        venues: VenueParameters {
            default_minimum_overlap_minutes,
            minimum_overlap_minutes_by_type,
        },
        texts: Texts {
            fr: localized("fr"),
            en: localized("en"),
        },
    };
    if let Err(found) = settings.validate() {
        for error in found.0 {
            let already = errors.iter().any(|known: &SettingsError| {
                known.field == error.field || known.field.starts_with(&format!("{}[", error.field))
            });
            if !already {
                errors.push(error);
            }
        }
    }
    (settings, errors)
}

// ----- the views -----

/// A problem, in the page's language.
fn problem_text(language: Language, problem: &SettingsProblem) -> String {
    let number = |value: f64| number_text(value);
    match problem {
        SettingsProblem::OutOfRange { min, max } => language.text_with(
            "config-error-range",
            &[("min", number(*min)), ("max", number(*max))],
        ),
        SettingsProblem::NotANumber => language.text("config-error-number"),
        SettingsProblem::WrongLength { expected } => {
            language.text_with("config-error-length", &[("max", expected.to_string())])
        }
        SettingsProblem::NotIncreasing => language.text("config-error-increasing"),
        SettingsProblem::GrowsWithDistance => language.text("config-error-distance"),
        SettingsProblem::LowAboveHigh => language.text("config-error-low-above-high"),
        SettingsProblem::Empty => language.text("config-error-empty"),
        SettingsProblem::TooLong { max } => {
            language.text_with("config-error-too-long", &[("max", max.to_string())])
        }
        SettingsProblem::ControlCharacters => language.text("config-error-control"),
        SettingsProblem::NotAPhoneNumber => language.text("config-error-phone"),
        SettingsProblem::NotHttps => language.text("config-error-https"),
        SettingsProblem::UnknownVenueType | SettingsProblem::UnknownField => {
            language.text("config-error-unknown")
        }
        SettingsProblem::Unreadable(detail) => detail.clone(),
    }
}

/// The label of a field, for the list of problems.
fn field_label(language: Language, field: &str) -> String {
    let t = |id: &str| language.text(id);
    if let Some(rest) = field.strip_prefix("texts.")
        && let Some((tag, name)) = rest.split_once('.')
    {
        let language_name = t(if tag == "fr" {
            "config-language-fr"
        } else {
            "config-language-en"
        });
        return format!("{} ({language_name})", t(&text_label(name)));
    }
    let labelled = [
        (
            "risk.attenuationThresholdsDb[0]",
            "config-threshold-immediate",
        ),
        ("risk.attenuationThresholdsDb[1]", "config-threshold-near"),
        ("risk.attenuationThresholdsDb[2]", "config-threshold-medium"),
        ("risk.attenuationThresholdsDb", "config-thresholds-db"),
        ("risk.attenuationWeights[0]", "config-weight-immediate"),
        ("risk.attenuationWeights[1]", "config-weight-near"),
        ("risk.attenuationWeights[2]", "config-weight-medium"),
        ("risk.attenuationWeights[3]", "config-weight-other"),
        ("risk.attenuationWeights", "config-weights"),
        (
            "risk.infectiousnessWeights.standard",
            "config-weight-standard",
        ),
        ("risk.infectiousnessWeights.high", "config-weight-high"),
        (
            "risk.reportTypeWeights.confirmedTest",
            "config-report-confirmed-test",
        ),
        (
            "risk.reportTypeWeights.confirmedClinicalDiagnosis",
            "config-report-clinical",
        ),
        ("risk.reportTypeWeights.selfReport", "config-report-self"),
        (
            "risk.reportTypeWeights.recursive",
            "config-report-recursive",
        ),
        ("risk.minimumWindowMinutes", "config-minimum-window"),
        ("risk.lowRiskMinutes", "config-low-risk"),
        ("risk.highRiskMinutes", "config-high-risk"),
        (
            "venues.defaultMinimumOverlapMinutes",
            "config-venue-default",
        ),
    ];
    if let Some((_, id)) = labelled.iter().find(|(path, _)| *path == field) {
        return t(id);
    }
    if let Some(key) = field.strip_prefix("venues.minimumOverlapMinutesByType.")
        && VenueType::ALL
            .into_iter()
            .any(|venue_type| venue_type_key(venue_type) == key)
    {
        return t(&format!("config-venue-{key}"));
    }
    field.to_owned()
}

fn text_label(name: &str) -> String {
    format!("config-text-{name}")
}

/// The id of the error message of a field, for `aria-describedby`.
fn error_id(field: &str) -> String {
    format!("error-{field}")
}

struct FieldContext<'a> {
    values: &'a FormValues,
    errors: &'a [SettingsError],
    language: Language,
}

impl FieldContext<'_> {
    fn value(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }

    fn error(&self, name: &str) -> Option<&SettingsError> {
        self.errors.iter().find(|error| error.field == name)
    }

    /// The error line under a field, if it has one.
    fn error_line(&self, name: &str) -> Markup {
        html! {
            @if let Some(error) = self.error(name) {
                span class="field-error" id=(error_id(name)) { (problem_text(self.language, &error.problem)) }
            }
        }
    }

    fn number(&self, name: &str, label: &str, min: f64, max: f64, step: &str) -> Markup {
        let invalid = self.error(name).is_some();
        html! {
            div class="field" {
                label for=(name) { (label) }
                input id=(name) name=(name) type="number" inputmode="decimal" step=(step)
                    min=(number_text(min)) max=(number_text(max)) value=(self.value(name))
                    aria-invalid=[invalid.then_some("true")]
                    aria-describedby=[invalid.then(|| error_id(name))];
                (self.error_line(name))
            }
        }
    }

    fn level(&self, name: &str, label: &str) -> Markup {
        let t = |id: &str| self.language.text(id);
        let current = self.value(name);
        html! {
            div class="field" {
                label for=(name) { (label) }
                select id=(name) name=(name) {
                    @for level in InfectiousnessLevel::ALL {
                        option value=(level.as_str()) selected[current == level.as_str()] {
                            (t(&format!("config-infectiousness-{}", level.as_str())))
                        }
                    }
                }
            }
        }
    }

    fn text(&self, tag: &str, name: &str) -> Markup {
        let field = format!("texts.{tag}.{name}");
        let label = self.language.text(&text_label(name));
        let invalid = self.error(&field).is_some();
        let single_line = matches!(name, "hotline" | "testSiteUrl");
        html! {
            div class="field" {
                label for=(field) { (label) }
                @if single_line {
                    input id=(field) name=(field) type=(if name == "hotline" { "tel" } else { "url" })
                        lang=(tag) value=(self.value(&field))
                        aria-invalid=[invalid.then_some("true")]
                        aria-describedby=[invalid.then(|| error_id(&field))];
                } @else {
                    textarea id=(field) name=(field) lang=(tag) rows="4"
                        aria-invalid=[invalid.then_some("true")]
                        aria-describedby=[invalid.then(|| error_id(&field))] { (self.value(&field)) }
                }
                (self.error_line(&field))
            }
        }
    }
}

/// What a phone shows, in both languages, for each situation.
fn preview_table(language: Language, settings: &AppSettings) -> Markup {
    let t = |id: &str| language.text(id);
    // `None`: after a positive test.
    let situations = [
        (
            "config-preview-exposure-low",
            Some((Channel::Exposure, WarningLevel::Low)),
        ),
        (
            "config-preview-exposure-high",
            Some((Channel::Exposure, WarningLevel::High)),
        ),
        (
            "config-preview-venue-low",
            Some((Channel::Venue, WarningLevel::Low)),
        ),
        (
            "config-preview-venue-high",
            Some((Channel::Venue, WarningLevel::High)),
        ),
        ("config-preview-positive", None),
    ];
    let texts = &settings.texts;
    html! {
        div class="preview" {
            @for (tag, texts) in [("fr", &texts.fr), ("en", &texts.en)] {
                section class="phone" lang=(tag) aria-label=(t(&format!("config-language-{tag}"))) {
                    h3 { (t(&format!("config-language-{tag}"))) }
                    @if !texts.info_banner.trim().is_empty() {
                        p class="phone-banner" { (texts.info_banner) }
                    }
                    dl {
                        @for (situation, warning) in situations {
                            dt { (t(situation)) }
                            dd {
                                @match warning {
                                    Some((channel, level)) => { (texts.when_warned(channel, level)) }
                                    None => { (texts.after_positive_test) }
                                }
                            }
                        }
                        dt { (t("config-text-hotline")) }
                        dd { (texts.hotline) }
                        dt { (t("config-text-testSiteUrl")) }
                        dd class="mono" { (texts.test_site_url) }
                    }
                }
            }
        }
    }
}

fn history_table(local: &LocalTime, history: &[ConfigVersionRow]) -> Markup {
    let language = local.language;
    let t = |id: &str| language.text(id);
    let current = history.first().map(|row| row.version);
    html! {
        h2 id="history" { (t("config-history-title")) }
        @if history.is_empty() {
            p { (t("config-history-empty")) }
        } @else {
            div class="table-scroll" {
                table id="config-history" {
                    thead { tr {
                        th scope="col" class="number" { (t("config-version")) }
                        th scope="col" { (t("config-saved-at")) }
                        th scope="col" { (t("config-author")) }
                        th scope="col" { (t("users-action")) }
                    } }
                    tbody {
                        @for row in history {
                            tr {
                                td class="number" { (row.version) }
                                td {
                                    (local.date_time(row.saved_at))
                                    @if let Some(old) = row.restored_from {
                                        br;
                                        span class="hint" { (language.text_with("config-restored-from", &[("version", old.to_string())])) }
                                    }
                                }
                                td { (row.author) }
                                td {
                                    @if Some(row.version) == current {
                                        (t("config-in-force"))
                                    } @else {
                                        a href={ (PAGE) "/versions/" (row.version) "/roll-back" } {
                                            (language.text_with("config-roll-back-to", &[("version", row.version.to_string())]))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn view(
    frame: &Frame<'_>,
    viewer: &Viewer,
    values: &FormValues,
    preview: &AppSettings,
    errors: &[SettingsError],
    history: &[ConfigVersionRow],
    message: Option<&Notice>,
) -> Markup {
    let language = frame.language;
    let t = |id: &str| language.text(id);
    let title = t("config-title");
    let fields = FieldContext {
        values,
        errors,
        language,
    };
    let in_force = history.first();
    let weight = |name: &str, label: &str| {
        fields.number(name, label, 0.0, exposure::risk::MAXIMUM_WEIGHT, "any")
    };
    let onset_days = exposure::risk::DAYS_SINCE_ONSET_ENTRIES;
    layout(
        frame,
        &title,
        html! {
            h1 { (title) }
            p class="intro" { (t("config-intro")) }
            @if let Some(message) = message { (notice(message)) }
            @if !errors.is_empty() {
                div class="notice error" {
                    p { (t("config-problems")) }
                    ul id="config-errors" {
                        @for error in errors {
                            li {
                                a href={ "#" (error.field) } { (field_label(language, &error.field)) }
                                ": " (problem_text(language, &error.problem))
                            }
                        }
                    }
                }
            }
            p id="config-in-force" {
                @match in_force {
                    Some(row) => {
                        (language.text_with("config-in-force-version", &[
                            ("version", row.version.to_string()),
                            ("time", frame.local_time().date_time_text(row.saved_at)),
                            ("email", row.author.clone()),
                        ]))
                    }
                    None => { (t("config-in-force-defaults")) }
                }
            }
            h2 id="preview" { (t("config-preview-title")) }
            p class="hint" { (t("config-preview-intro")) }
            (preview_table(language, preview))

            form method="post" action=(PAGE) novalidate {
                (csrf::hidden_field(&viewer.csrf))
                @for (tag, legend) in [("fr", "config-texts-fr"), ("en", "config-texts-en")] {
                    fieldset class="card" {
                        legend { (t(legend)) }
                        @for name in ["exposureLow", "exposureHigh", "venueLow", "venueHigh", "afterPositiveTest", "hotline", "testSiteUrl", "infoBanner"] {
                            (fields.text(tag, name))
                        }
                    }
                }
                fieldset class="card" {
                    legend { (t("config-risk")) }
                    p class="hint" { (t("config-risk-intro")) }
                    div class="field-row" {
                        @for (index, label) in ["config-threshold-immediate", "config-threshold-near", "config-threshold-medium"].into_iter().enumerate() {
                            (fields.number(&format!("risk.attenuationThresholdsDb[{index}]"), &t(label), 0.0, 255.0, "1"))
                        }
                    }
                    (fields.error_line("risk.attenuationThresholdsDb"))
                    div class="field-row" {
                        @for (index, label) in ["config-weight-immediate", "config-weight-near", "config-weight-medium", "config-weight-other"].into_iter().enumerate() {
                            (weight(&format!("risk.attenuationWeights[{index}]"), &t(label)))
                        }
                    }
                    (fields.error_line("risk.attenuationWeights"))
                    h3 { (t("config-infectiousness")) }
                    div class="onset-grid" {
                        @for index in 0..onset_days {
                            (fields.level(
                                &format!("risk.infectiousnessByDaysSinceOnset[{index}]"),
                                &language.text_with("config-onset-day", &[("days", format!("{:+}", RiskParameters::day_since_onset(index)))]),
                            ))
                        }
                    }
                    div class="field-row" {
                        (fields.level("risk.infectiousnessWhenOnsetMissing", &t("config-onset-missing")))
                        (weight("risk.infectiousnessWeights.standard", &t("config-weight-standard")))
                        (weight("risk.infectiousnessWeights.high", &t("config-weight-high")))
                    }
                    h3 { (t("config-report-types")) }
                    div class="field-row" {
                        (weight("risk.reportTypeWeights.confirmedTest", &t("config-report-confirmed-test")))
                        (weight("risk.reportTypeWeights.confirmedClinicalDiagnosis", &t("config-report-clinical")))
                        (weight("risk.reportTypeWeights.selfReport", &t("config-report-self")))
                        (weight("risk.reportTypeWeights.recursive", &t("config-report-recursive")))
                    }
                    h3 { (t("config-thresholds")) }
                    div class="field-row" {
                        (fields.number("risk.minimumWindowMinutes", &t("config-minimum-window"), 0.0, messages::app_settings::MAXIMUM_WINDOW_MINUTES, "any"))
                        (fields.number("risk.lowRiskMinutes", &t("config-low-risk"), 0.0, messages::app_settings::MAXIMUM_DAILY_RISK_MINUTES, "any"))
                        (fields.number("risk.highRiskMinutes", &t("config-high-risk"), 0.0, messages::app_settings::MAXIMUM_DAILY_RISK_MINUTES, "any"))
                    }
                }
                fieldset class="card" {
                    legend { (t("config-venues")) }
                    p class="hint" { (t("config-venues-intro")) }
                    (fields.number("venues.defaultMinimumOverlapMinutes", &t("config-venue-default"), 0.0, messages::app_settings::MAXIMUM_VENUE_OVERLAP_MINUTES as f64, "1"))
                    div class="field-row" {
                        @for venue_type in VenueType::ALL {
                            (fields.number(
                                &format!("venues.minimumOverlapMinutesByType.{}", venue_type_key(venue_type)),
                                &t(&format!("config-venue-{}", venue_type_key(venue_type))),
                                0.0,
                                messages::app_settings::MAXIMUM_VENUE_OVERLAP_MINUTES as f64,
                                "1",
                            ))
                        }
                    }
                }
                div class="actions" {
                    button type="submit" class="secondary" formaction={ (PAGE) "/preview" } { (t("config-preview-button")) }
                    " "
                    button type="submit" { (t("config-save-button")) }
                }
            }
            (history_table(&frame.local_time(), history))
        },
    )
}

fn roll_back_view(
    frame: &Frame<'_>,
    viewer: &Viewer,
    version: i64,
    settings: &AppSettings,
) -> Markup {
    let language = frame.language;
    let t = |id: &str| language.text(id);
    let title = language.text_with(
        "config-roll-back-title",
        &[("version", version.to_string())],
    );
    layout(
        frame,
        &title,
        html! {
            h1 { (title) }
            p class="intro" { (language.text_with("config-roll-back-intro", &[("version", version.to_string())])) }
            h2 { (t("config-preview-title")) }
            (preview_table(language, settings))
            form class="card" method="post" action={ (PAGE) "/versions/" (version) "/roll-back" } {
                (csrf::hidden_field(&viewer.csrf))
                button type="submit" class="danger" {
                    (language.text_with("config-roll-back-button", &[("version", version.to_string())]))
                }
                " "
                a class="button secondary" href=(PAGE) { (t("config-cancel")) }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_of_some_settings_reads_back_as_the_same_settings() {
        let mut settings = AppSettings::default();
        settings
            .venues
            .minimum_overlap_minutes_by_type
            .insert("workplace".into(), 45);
        settings.texts.en.info_banner = "Vaccination open to all".into();
        let (read, errors) = settings_from_form(&form_values(&settings));
        assert_eq!(errors, []);
        assert_eq!(read, settings);
    }

    #[test]
    fn a_form_with_words_for_numbers_names_each_field_once() {
        let mut values = form_values(&AppSettings::default());
        values.insert("risk.lowRiskMinutes".into(), "five".into());
        values.insert("risk.attenuationThresholdsDb[1]".into(), String::new());
        values.insert("texts.fr.hotline".into(), "appelez-nous".into());
        let (_, errors) = settings_from_form(&values);
        let fields: Vec<&str> = errors.iter().map(|error| error.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "risk.attenuationThresholdsDb[1]",
                "risk.lowRiskMinutes",
                "texts.fr.hotline"
            ]
        );
        assert_eq!(errors[0].problem, SettingsProblem::NotANumber);
    }
}
