//! `GET /venues`: the creation form, and the tools of an opened venue file (whether a
//! positive visitor came and what to do, warning the guests of a room, posters printed
//! again, the paper register), which `static/venues.js` runs in the browser.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use messages::app_settings::{AppSettings, LocalizedTexts};
use presence::VenueType;

use super::create::CreateForm;
use super::{FormVisitor, HOME, layout};
use crate::app_config::current_settings;
use crate::state::AppState;
use crate::web::Language;
use crate::web::csrf::hidden_field;
use crate::web::layout::{Notice, html_response, notice};

/// Messages the script shows, in the page's language, with the names of their
/// arguments: the script fills in `{name}`.
const SCRIPT_MESSAGES: &[(&str, &[&str])] = &[
    ("venues-status-loading", &[]),
    ("venues-status-none", &[]),
    ("venues-status-found", &[]),
    ("venues-status-bad-file", &[]),
    ("venues-status-unreachable", &[]),
    ("venues-report-item", &["room", "day", "from", "to"]),
    ("venues-level-high", &[]),
    ("venues-level-low", &[]),
    ("venues-advice-heading", &[]),
    ("venues-advice-guests", &["advice"]),
    ("venues-warn-sending", &[]),
    ("venues-warn-sent", &["room", "day", "from", "to"]),
    ("venues-warn-error-code", &[]),
    ("venues-warn-error-times", &[]),
    ("venues-warn-error-window", &[]),
    ("venues-warn-error-too-long", &[]),
    ("venues-warn-error-future", &[]),
    ("venues-warn-refused-code", &[]),
    ("venues-warn-refused-kind", &[]),
    ("venues-warn-failed", &[]),
    ("venues-register-wrong-passphrase", &[]),
    ("venues-register-damaged", &[]),
    ("venues-register-passphrase-short", &[]),
    ("venues-register-error-entry", &[]),
    ("venues-register-empty", &[]),
    (
        "venues-register-entry",
        &["name", "phone", "room", "day", "from", "to"],
    ),
    ("venues-register-delete", &[]),
    ("venues-register-delete-confirm", &["name"]),
    ("venues-register-clear-confirm", &[]),
    ("venues-register-saved", &[]),
    ("venues-register-purged", &["count"]),
    ("venues-register-matches", &[]),
    ("venues-register-matches-intro", &[]),
    (
        "venues-register-match",
        &["name", "phone", "room", "day", "minutes", "level"],
    ),
    ("venues-register-advice", &["level", "advice"]),
    ("venues-register-no-match", &[]),
    ("venues-register-locked", &[]),
];

/// The script's messages: ours, the owner's advice with the authority's hotline, and
/// what the authority tells warned guests (its app configuration, `/authority/config`).
fn script_messages(language: Language, texts: &LocalizedTexts) -> Vec<(String, String)> {
    let mut messages: Vec<(String, String)> = SCRIPT_MESSAGES
        .iter()
        .map(|(id, arguments)| {
            let placeholders: Vec<(&'static str, String)> = arguments
                .iter()
                .map(|name| (*name, format!("{{{name}}}")))
                .collect();
            ((*id).to_owned(), language.text_with(id, &placeholders))
        })
        .collect();
    for level in ["high", "low"] {
        messages.push((
            format!("venues-advice-{level}"),
            language.text_with(
                &format!("venues-advice-{level}"),
                &[("hotline", texts.hotline.clone())],
            ),
        ));
    }
    messages.push(("authority-venue-high".to_owned(), texts.venue_high.clone()));
    messages.push(("authority-venue-low".to_owned(), texts.venue_low.clone()));
    messages
}

fn type_options(language: Language, selected: Option<VenueType>) -> Markup {
    html! {
        @for venue_type in VenueType::ALL.iter().copied().filter(|t| *t != VenueType::Unspecified) {
            @let value = venue_type.name().replace(' ', "-");
            option value=(value) selected[selected == Some(venue_type)] {
                (language.text(&format!("venues-type-{value}")))
            }
        }
    }
}

/// A labelled field: the label names the field by its id.
fn field(id: &str, label: &str, input: Markup) -> Markup {
    html! {
        label for=(id) { (label) }
        (input)
    }
}

fn create_section(
    language: Language,
    csrf: &str,
    error: Option<&str>,
    form: &CreateForm,
) -> Markup {
    let t = |id: &str| language.text(id);
    html! {
        section id="create" class="card" aria-labelledby="create-heading" {
            h2 id="create-heading" { (t("venues-create-heading")) }
            p { (t("venues-create-intro")) }
            @if let Some(error) = error {
                div class="notice error" role="alert" id="create-error" { (error) }
            }
            form id="create-form" method="post" action=(HOME) {
                (hidden_field(csrf))
                (field("name", &t("venues-name"), html! { input id="name" name="name" type="text" required maxlength="100" autocomplete="organization" value=(form.name); }))
                (field("address", &t("venues-address"), html! { input id="address" name="address" type="text" required maxlength="100" autocomplete="street-address" value=(form.address); }))
                (field("type", &t("venues-type"), html! { select id="type" name="type" { (type_options(language, presence::parse_venue_type(&form.venue_type))) } }))
                (field("default_stay", &t("venues-default-stay"), html! { input id="default_stay" name="default_stay" type="number" min="1" max="1440" value=(form.default_stay); }))
                label for="rooms" { (t("venues-rooms")) span class="hint" id="rooms-hint" { (t("venues-rooms-hint")) } }
                textarea id="rooms" name="rooms" rows="3" aria-describedby="rooms-hint" { (form.rooms) }
                fieldset {
                    legend { (t("venues-event")) }
                    p class="hint" { (t("venues-event-hint")) }
                    (field("start", &t("venues-start"), html! { input id="start" name="start" type="datetime-local" value=(form.start); }))
                    (field("end", &t("venues-end"), html! { input id="end" name="end" type="datetime-local" value=(form.end); }))
                    // The browser's offsets from UTC, filled in by the script on submit.
                    input type="hidden" name="start_offset" value=(form.start_offset);
                    input type="hidden" name="end_offset" value=(form.end_offset);
                }
                button type="submit" { (t("venues-create-button")) }
            }
        }
    }
}

/// The tools of an opened venue file; the script shows them once a file is open.
fn venue_file_sections(language: Language, csrf: &str, texts: &LocalizedTexts) -> Markup {
    let t = |id: &str| language.text(id);
    let messages = script_messages(language, texts);
    html! {
        section id="open" class="card" aria-labelledby="open-heading" {
            h2 id="open-heading" { (t("venues-open-heading")) }
            p { (t("venues-open-intro")) }
            noscript { p class="notice" { (t("venues-open-no-script")) } }
            (field("venue-file", &t("venues-status-file"), html! { input type="file" id="venue-file" accept=".json,application/json"; }))
            div id="venue-status" role="status" aria-live="polite" {}
            // The script's messages, in the page's language.
            div id="messages" hidden {
                @for (id, text) in &messages {
                    span data-message=(id) { (text) }
                }
            }
        }
        div id="venue-tools" hidden {
            section id="warn" class="card" aria-labelledby="warn-heading" {
                h2 id="warn-heading" { (t("venues-warn-heading")) }
                p { (t("venues-warn-intro")) }
                form id="warn-form" novalidate {
                    (field("warn-room", &t("venues-warn-room"), html! { select id="warn-room" {} }))
                    div class="field-pair" {
                        div { (field("warn-from", &t("venues-warn-from"), html! { input id="warn-from" type="datetime-local" required aria-describedby="warn-times-hint"; })) }
                        div { (field("warn-to", &t("venues-warn-to"), html! { input id="warn-to" type="datetime-local" required aria-describedby="warn-times-hint"; })) }
                    }
                    p class="hint" id="warn-times-hint" { (t("venues-warn-times-hint")) }
                    (field("warn-code", &t("venues-warn-code"), html! { input id="warn-code" type="text" inputmode="numeric" autocomplete="off" required maxlength="20"; }))
                    button type="submit" { (t("venues-warn-button")) }
                }
                div id="warn-status" role="status" aria-live="polite" {}
            }
            section id="posters" class="card" aria-labelledby="posters-heading" {
                h2 id="posters-heading" { (t("venues-posters-heading")) }
                p { (t("venues-posters-intro")) }
                form id="reprint-form" method="post" action={ (HOME) "/poster" } {
                    (hidden_field(csrf))
                    input type="hidden" name="venue_file" id="reprint-file";
                    (field("reprint-room", &t("venues-posters-room"), html! { select id="reprint-room" name="room" {} }))
                    p class="downloads" {
                        button type="submit" name="format" value="pdf" { (t("venues-posters-pdf")) }
                        button type="submit" class="secondary" name="format" value="svg" { (t("venues-posters-svg")) }
                    }
                }
            }
            section id="register" class="card" aria-labelledby="register-heading" {
                h2 id="register-heading" { (t("venues-register-heading")) }
                p { (t("venues-register-intro")) }
                form id="register-unlock" novalidate {
                    label for="register-passphrase" {
                        (t("venues-register-passphrase"))
                        span class="hint" id="register-passphrase-hint" { (t("venues-register-passphrase-hint")) }
                    }
                    input id="register-passphrase" type="password" autocomplete="current-password" minlength="8" required aria-describedby="register-passphrase-hint";
                    button type="submit" { (t("venues-register-unlock")) }
                }
                div id="register-status" role="status" aria-live="polite" {}
                div id="register-open" hidden {
                    form id="register-form" novalidate {
                        (field("register-room", &t("venues-register-room"), html! { select id="register-room" {} }))
                        (field("register-name", &t("venues-register-name"), html! { input id="register-name" type="text" autocomplete="off" maxlength="100" required; }))
                        (field("register-phone", &t("venues-register-phone"), html! { input id="register-phone" type="tel" autocomplete="off" maxlength="40" required; }))
                        div class="field-pair" {
                            div { (field("register-arrival", &t("venues-register-arrival"), html! { input id="register-arrival" type="datetime-local" required; })) }
                            div { (field("register-departure", &t("venues-register-departure"), html! { input id="register-departure" type="datetime-local" required; })) }
                        }
                        button type="submit" { (t("venues-register-add")) }
                    }
                    h3 { (t("venues-register-entries")) }
                    ul id="register-entries" class="entries" {}
                    p class="downloads" {
                        button type="button" id="register-export" class="secondary" { (t("venues-register-export")) }
                        button type="button" id="register-clear" class="danger" { (t("venues-register-clear")) }
                    }
                }
            }
        }
    }
}

/// The page: `top` above everything, the creation form (with `form_error` and what was
/// typed) and the venue file's tools.
async fn page(
    state: &AppState,
    language: Language,
    visitor: &FormVisitor,
    status: StatusCode,
    top: Option<&Notice>,
    form_error: Option<&str>,
    form: &CreateForm,
) -> Response {
    let texts = authority_texts(state, language).await;
    let body = layout(
        language,
        html! {
            @if let Some(top) = top { (notice(top)) }
            p class="intro" { (language.text("venues-intro")) }
            (create_section(language, &visitor.token, form_error, form))
            (venue_file_sections(language, &visitor.token, &texts))
        },
    );
    visitor.remember(html_response(status, body))
}

/// The authority's texts in the page's language; the built-in ones if the store cannot
/// be read (the page stays usable).
async fn authority_texts(state: &AppState, language: Language) -> LocalizedTexts {
    let settings = match current_settings(&state.store).await {
        Ok((_, settings)) => settings,
        Err(error) => {
            tracing::error!(%error, "venue pages: app configuration unreadable");
            AppSettings::default()
        }
    };
    match language {
        Language::French => settings.texts.fr,
        Language::English => settings.texts.en,
    }
}

/// `GET /venues`.
pub(super) async fn home(
    State(state): State<AppState>,
    language: Language,
    visitor: FormVisitor,
) -> Response {
    let form = CreateForm::default();
    page(
        &state,
        language,
        &visitor,
        StatusCode::OK,
        None,
        None,
        &form,
    )
    .await
}

/// The page again after a refused creation form, with `error` and what was typed.
pub(super) async fn form_again(
    state: &AppState,
    language: Language,
    visitor: &FormVisitor,
    status: StatusCode,
    error: &str,
    form: &CreateForm,
) -> Response {
    page(state, language, visitor, status, None, Some(error), form).await
}

/// The page with `message` at the top (a poster that could not be made).
pub(super) async fn with_notice(
    state: &AppState,
    language: Language,
    visitor: &FormVisitor,
    status: StatusCode,
    message: &Notice,
) -> Response {
    let form = CreateForm::default();
    page(state, language, visitor, status, Some(message), None, &form).await
}
