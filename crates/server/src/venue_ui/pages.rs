//! `GET /venues` and `POST /venues`.

use axum::Router;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use maud::{Markup, PreEscaped, html};
use poster::{poster_pdf, poster_svg};
use presence::{NewVenue, VenueFile, VenueType, parse_venue_type};
use serde::Deserialize;
use time::PrimitiveDateTime;
use time::macros::format_description;

use crate::state::AppState;
use crate::web::layout::{self, Chrome, html_response};
use crate::web::{self, Language};

/// Where the pages are.
const HOME: &str = "/venues";

/// Messages the script shows, passed as `data-` attributes of the page.
const SCRIPT_MESSAGES: [&str; 7] = [
    "venues-status-loading",
    "venues-status-none",
    "venues-status-found",
    "venues-status-bad-file",
    "venues-status-unreachable",
    "venues-status-risk",
    "venues-status-utc",
];

pub(crate) fn routes() -> Router<AppState> {
    web::html_routes(Router::new().route(HOME, get(home).post(create)))
}

/// The site's layout with this UI's stylesheet and script, and the title as the page's
/// heading.
fn layout(language: Language, body: Markup) -> Markup {
    let title = language.text("venues-title");
    let chrome = Chrome {
        language,
        stylesheet: Some("venues.css"),
        script: Some("venues.js"),
        home: Some(HOME),
        tagline: Some("venues-tagline"),
        here: HOME,
        user: None,
        menu: None,
    };
    layout::page(
        &chrome,
        &title,
        html! {
            h1 { (title) }
            (body)
        },
    )
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

fn home_page(language: Language, error: Option<&str>, form: &CreateForm) -> Markup {
    let t = |id: &str| language.text(id);
    let messages: Vec<(&str, String)> = SCRIPT_MESSAGES.iter().map(|id| (*id, t(id))).collect();
    layout(
        language,
        html! {
            section id="create" class="card" {
                h2 { (t("venues-create-heading")) }
                p { (t("venues-create-intro")) }
                @if let Some(error) = error {
                    div class="notice error" role="alert" id="create-error" { (error) }
                }
                form method="post" action=(HOME) {
                    input type="hidden" name="creation" value=(creation_id(form));
                    label { (t("venues-name")) input name="name" required maxlength="100" value=(form.name); }
                    label { (t("venues-address")) input name="address" required maxlength="100" value=(form.address); }
                    label { (t("venues-type")) select name="type" { (type_options(language, parse_venue_type(&form.venue_type))) } }
                    label { (t("venues-default-stay")) input name="default_stay" type="number" min="1" max="1440" value=(form.default_stay); }
                    label { (t("venues-rooms")) textarea name="rooms" rows="3" { (form.rooms) } }
                    fieldset {
                        legend { (t("venues-event")) }
                        label { (t("venues-start")) input name="start" type="datetime-local" value=(form.start); }
                        label { (t("venues-end")) input name="end" type="datetime-local" value=(form.end); }
                    }
                    button type="submit" { (t("venues-create-button")) }
                }
            }
            section id="status" class="card" {
                h2 { (t("venues-status-heading")) }
                p { (t("venues-status-intro")) }
                label { (t("venues-status-file")) input type="file" id="venue-file" accept=".json,application/json"; }
                div id="venue-status" role="status" aria-live="polite" {}
                // The script's messages, in the page's language.
                div id="messages" hidden {
                    @for (id, text) in &messages {
                        span data-message=(id) { (text) }
                    }
                }
            }
        },
    )
}

async fn home(language: Language) -> Response {
    html_response(
        StatusCode::OK,
        home_page(language, None, &CreateForm::default()),
    )
}

#[derive(Deserialize, Default)]
pub(crate) struct CreateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    address: String,
    #[serde(default, rename = "type")]
    venue_type: String,
    #[serde(default)]
    default_stay: String,
    #[serde(default)]
    rooms: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
    /// Drawn when the form is shown: the same form sent again (a reload of the result)
    /// makes the same venue, with the same keys (see [`venue_rng`]).
    #[serde(default)]
    creation: String,
}

/// Longest creation id read from a form.
const MAX_CREATION_ID_LENGTH: usize = 64;

/// The form's creation id, or a fresh one for a fresh form.
fn creation_id(form: &CreateForm) -> String {
    if !form.creation.is_empty() && form.creation.len() <= MAX_CREATION_ID_LENGTH {
        return form.creation.clone();
    }
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes);
    hex::encode(bytes)
}

/// The randomness of a new venue's keys: drawn from the server's secret, the form's
/// creation id and every field, so that sending the same form again (a reload of the
/// result page) makes the same venue instead of a second one with other keys, while any
/// changed field, or another form, gives keys of its own. Without a creation id (an old
/// form, a script), fresh randomness.
fn venue_rng(state: &AppState, form: &CreateForm) -> rand::rngs::StdRng {
    use rand::SeedableRng as _;
    if form.creation.is_empty() || form.creation.len() > MAX_CREATION_ID_LENGTH {
        return rand::rngs::StdRng::from_rng(&mut rand::rng());
    }
    let fields = [
        &form.creation,
        &form.name,
        &form.address,
        &form.venue_type,
        &form.default_stay,
        &form.rooms,
        &form.start,
        &form.end,
    ];
    let mut data = Vec::new();
    for field in fields {
        data.extend_from_slice(&(field.len() as u64).to_be_bytes());
        data.extend_from_slice(field.as_bytes());
    }
    rand::rngs::StdRng::from_seed(state.keys.keyed_hash("venue-creation", &data))
}

/// `2026-07-14T20:00` (a `datetime-local` field, read as UTC) to unix seconds.
fn parse_local_time(text: &str) -> Option<Option<u64>> {
    if text.trim().is_empty() {
        return Some(None);
    }
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let time = PrimitiveDateTime::parse(text.trim(), &format).ok()?;
    u64::try_from(time.assume_utc().unix_timestamp())
        .ok()
        .map(Some)
}

fn new_venue(language: Language, form: &CreateForm) -> Result<NewVenue, String> {
    let venue_type =
        parse_venue_type(&form.venue_type).ok_or_else(|| language.text("venues-error-type"))?;
    let default_stay_minutes = match form.default_stay.trim() {
        "" => None,
        text => Some(
            text.parse::<u32>()
                .map_err(|_| language.text("venues-error-stay"))?,
        ),
    };
    let start = parse_local_time(&form.start).ok_or_else(|| language.text("venues-error-time"))?;
    let end = parse_local_time(&form.end).ok_or_else(|| language.text("venues-error-time"))?;
    Ok(NewVenue {
        name: form.name.clone(),
        address: form.address.clone(),
        venue_type,
        default_stay_minutes,
        rooms: form
            .rooms
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .collect(),
        start,
        end,
    })
}

fn data_url(media_type: &str, bytes: &[u8]) -> String {
    format!("data:{media_type};base64,{}", STANDARD.encode(bytes))
}

fn file_stem(name: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let stem = stem
        .split('-')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if stem.is_empty() {
        "venue".to_owned()
    } else {
        stem
    }
}

fn created_page(language: Language, file: &VenueFile) -> Result<Markup, String> {
    let t = |id: &str| language.text(id);
    let stem = file_stem(&file.name);
    let mut rooms = Vec::new();
    for (index, room) in file.rooms.iter().enumerate() {
        let svg = poster_svg(file, room).map_err(|error| error.to_string())?;
        let pdf = poster_pdf(file, room).map_err(|error| error.to_string())?;
        rooms.push((index, room, svg, pdf));
    }
    Ok(layout(
        language,
        html! {
            section id="created" class="card" {
                h2 { (t("venues-created-heading")) }
                p class="warning" { (t("venues-created-keep-file")) }
                p {
                    a id="download-venue-file" class="button" download={ (stem) ".venue.json" }
                        href=(data_url("application/json", file.to_json().as_bytes())) { (t("venues-download-file")) }
                }
                @for (index, room, svg, pdf) in &rooms {
                    article class="room" {
                        h3 { (room.description) }
                        div class="poster" { (PreEscaped(svg)) }
                        p {
                            a class="button download-pdf" download={ (stem) "-" (index) ".pdf" } href=(data_url("application/pdf", pdf)) { (t("venues-download-pdf")) }
                            " "
                            a class="button download-svg" download={ (stem) "-" (index) ".svg" } href=(data_url("image/svg+xml", svg.as_bytes())) { (t("venues-download-svg")) }
                        }
                    }
                }
                p { a href=(HOME) { (t("venues-back")) } }
            }
        },
    ))
}

/// Creating a venue stores nothing and changes nothing on the server (the venue file and
/// posters go back to the browser that asked), so a form posted from elsewhere gains an
/// attacker nothing: this form has no anti-forgery token.
async fn create(
    State(state): State<AppState>,
    language: Language,
    Form(form): Form<CreateForm>,
) -> Response {
    let refused = |error: String| {
        html_response(
            StatusCode::BAD_REQUEST,
            home_page(language, Some(&error), &form),
        )
    };
    let new = match new_venue(language, &form) {
        Ok(new) => new,
        Err(error) => return refused(error),
    };
    let prefix = state.config.venue_code_prefix();
    let file = match VenueFile::create(&new, &prefix, &mut venue_rng(&state, &form)) {
        Ok(file) => file,
        Err(error) => return refused(format!("{}: {error}", language.text("venues-error-venue"))),
    };
    match created_page(language, &file) {
        Ok(page) => html_response(StatusCode::OK, page),
        Err(error) => refused(error),
    }
}
