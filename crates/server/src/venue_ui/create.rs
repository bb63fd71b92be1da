//! Creating a venue: `POST /venues` checks the form and answers `303` to
//! `/venues/created?v=<sealed>`; that page and its downloads (`/venues/created/file`,
//! `/venues/created/poster`) make the venue again from the sealed form and seed.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{PreEscaped, html};
use poster::poster_svg;
use presence::venue_code::MAX_DEFAULT_CHECK_IN_LENGTH_MINUTES;
use presence::venue_file::MAX_ROOMS;
use presence::{NewVenue, VenueCodeError, VenueFile, VenueFileError, parse_venue_type};
use rand::SeedableRng as _;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use time::macros::format_description;
use time::{PrimitiveDateTime, UtcOffset};

use super::posters::{PosterFormat, poster_download, venue_file_download};
use super::{FormVisitor, HOME, home, layout};
use crate::state::AppState;
use crate::web::csrf::{CsrfForm, CsrfRefusal};
use crate::web::layout::{Notice, html_response, notice};
use crate::web::{Language, sealed};

/// What the sealing key of created venues is derived for.
const CREATED_PURPOSE: &str = "created-venue-address";
/// Longest sealed venue read: a hundred rooms of the longest names fit well within it.
const MAX_SEALED_VENUE_LENGTH: usize = 64 * 1024;
/// Farthest a time zone is from UTC, in minutes (UTC−12 to UTC+14, with room).
const MAX_UTC_OFFSET_MINUTES: i32 = 18 * 60;

/// The creation form as typed; shown again as it was when something is wrong.
#[derive(Serialize, Deserialize, Default, Clone, Debug)]
pub(crate) struct CreateForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub address: String,
    #[serde(default, rename = "type")]
    pub venue_type: String,
    #[serde(default)]
    pub default_stay: String,
    #[serde(default)]
    pub rooms: String,
    /// An event's start and end as typed in `datetime-local` fields (`2026-07-14T20:00`).
    #[serde(default)]
    pub start: String,
    #[serde(default)]
    pub end: String,
    /// The browser's offset from UTC at the start and at the end, in minutes east of
    /// UTC, filled in by the page's script; without it, times are read as UTC.
    #[serde(default)]
    pub start_offset: String,
    #[serde(default)]
    pub end_offset: String,
}

/// What the result page's address carries, sealed: the form and the seed of the venue's
/// keys, so that the page makes the same venue however often it is loaded.
#[derive(Serialize, Deserialize)]
struct CreatedVenue {
    form: CreateForm,
    /// 32 random bytes, hex.
    seed: String,
}

/// `2026-07-14T20:00` at `offset` minutes east of UTC to unix seconds; `Ok(None)` when
/// empty.
fn parse_local_time(text: &str, offset: &str) -> Result<Option<u64>, ()> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let offset_minutes = match offset.trim() {
        "" => 0,
        minutes => minutes.parse::<i32>().map_err(|_| ())?,
    };
    if offset_minutes.abs() > MAX_UTC_OFFSET_MINUTES {
        return Err(());
    }
    let offset = UtcOffset::from_whole_seconds(offset_minutes * 60).map_err(|_| ())?;
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let time = PrimitiveDateTime::parse(text.trim(), &format).map_err(|_| ())?;
    u64::try_from(time.assume_offset(offset).unix_timestamp())
        .map(Some)
        .map_err(|_| ())
}

/// What is wrong with the usual length of a visit.
fn stay_error(language: Language) -> String {
    language.text_with(
        "venues-error-stay",
        &[("max", MAX_DEFAULT_CHECK_IN_LENGTH_MINUTES.to_string())],
    )
}

/// The venue the form describes, or what is wrong, in the page's language.
fn new_venue(language: Language, form: &CreateForm) -> Result<NewVenue, String> {
    let venue_type =
        parse_venue_type(&form.venue_type).ok_or_else(|| language.text("venues-error-type"))?;
    let default_stay_minutes = match form.default_stay.trim() {
        "" => None,
        text => Some(text.parse::<u32>().map_err(|_| stay_error(language))?),
    };
    let time_error = |_| language.text("venues-error-time");
    let start = parse_local_time(&form.start, &form.start_offset).map_err(time_error)?;
    let end = parse_local_time(&form.end, &form.end_offset).map_err(time_error)?;
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

/// Why a venue cannot be created, in the page's language: what to change in the form,
/// never the protocol's English or a unix time.
fn venue_error(language: Language, error: &VenueFileError) -> String {
    let numbers = |pairs: &[(&'static str, usize)]| -> Vec<(&'static str, String)> {
        pairs
            .iter()
            .map(|(name, value)| (*name, value.to_string()))
            .collect()
    };
    match error {
        VenueFileError::HalfAnEvent
        | VenueFileError::Venue(VenueCodeError::MissingTimeWindow { .. }) => {
            language.text("venues-error-event-times")
        }
        VenueFileError::RoomCount(_) => {
            language.text_with("venues-error-rooms", &numbers(&[("max", MAX_ROOMS)]))
        }
        VenueFileError::Venue(error) => match error {
            VenueCodeError::EmptyDescription => language.text("venues-error-name-empty"),
            VenueCodeError::EmptyAddress => language.text("venues-error-address-empty"),
            VenueCodeError::FieldTooLong { field, length, max } => language.text_with(
                if *field == "address" {
                    "venues-error-address-too-long"
                } else {
                    "venues-error-name-too-long"
                },
                &numbers(&[("length", *length), ("max", *max)]),
            ),
            VenueCodeError::NotOneLine { .. } => language.text("venues-error-one-line"),
            VenueCodeError::UnexpectedTimeWindow { .. } => {
                language.text("venues-error-place-times")
            }
            VenueCodeError::StartNotBeforeEnd { .. } | VenueCodeError::EndBeforeStart { .. } => {
                language.text("venues-error-end-before-start")
            }
            VenueCodeError::ZeroCheckInLength | VenueCodeError::CheckInLengthTooLong { .. } => {
                stay_error(language)
            }
            _ => language.text("venues-error-venue"),
        },
        _ => language.text("venues-error-venue"),
    }
}

/// The venue of a sealed creation, made again, identical every time.
fn venue_file(
    state: &AppState,
    language: Language,
    created: &CreatedVenue,
) -> Result<VenueFile, String> {
    let new = new_venue(language, &created.form)?;
    let mut seed = [0u8; 32];
    hex::decode_to_slice(&created.seed, &mut seed)
        .map_err(|_| language.text("venues-error-venue"))?;
    VenueFile::create(
        &new,
        &state.config.venue_code_prefix(),
        &mut StdRng::from_seed(seed),
    )
    .map_err(|error| venue_error(language, &error))
}

/// `POST /venues`: checks the form; a venue that can be made is shown at its own address.
pub(super) async fn create(
    State(state): State<AppState>,
    language: Language,
    visitor: FormVisitor,
    form: Result<CsrfForm<CreateForm>, CsrfRefusal<CreateForm>>,
) -> Response {
    let form = match form {
        Ok(CsrfForm(form)) => form,
        Err(CsrfRefusal::Forged { form, .. }) => {
            let error = language.text("form-forged");
            let status = StatusCode::FORBIDDEN;
            return home::form_again(&state, language, &visitor, status, &error, &form).await;
        }
        Err(refusal) => return refusal.into_response(),
    };
    let mut seed = [0u8; 32];
    rand::fill(&mut seed);
    let created = CreatedVenue {
        form,
        seed: hex::encode(seed),
    };
    if let Err(error) = venue_file(&state, language, &created) {
        let status = StatusCode::BAD_REQUEST;
        return home::form_again(&state, language, &visitor, status, &error, &created.form).await;
    }
    match sealed::seal(&state.keys, CREATED_PURPOSE, &visitor.cookie, &created) {
        Some(sealed) => Redirect::to(&format!("{HOME}/created?v={sealed}")).into_response(),
        None => {
            let error = language.text("error-internal");
            let status = StatusCode::INTERNAL_SERVER_ERROR;
            home::form_again(&state, language, &visitor, status, &error, &created.form).await
        }
    }
}

#[derive(Deserialize)]
pub(super) struct CreatedQuery {
    #[serde(default)]
    v: String,
    #[serde(default)]
    room: String,
    #[serde(default)]
    format: String,
}

/// The venue sealed in the address for this visitor, if it still opens.
fn opened(
    state: &AppState,
    language: Language,
    visitor: &FormVisitor,
    sealed: &str,
) -> Option<VenueFile> {
    let created: CreatedVenue = sealed::open(
        &state.keys,
        CREATED_PURPOSE,
        &visitor.cookie,
        sealed,
        MAX_SEALED_VENUE_LENGTH,
    )?;
    venue_file(state, language, &created).ok()
}

/// What an address that no longer opens shows: the venue file holds everything.
fn expired(language: Language, visitor: &FormVisitor) -> Response {
    let page = layout(
        language,
        html! {
            div class="card" {
                (notice(&Notice::Info(language.text("venues-created-expired"))))
                p { a href=(HOME) { (language.text("venues-back")) } }
            }
        },
    );
    visitor.remember(html_response(StatusCode::NOT_FOUND, page))
}

/// `GET /venues/created?v=`: the new venue, its file and posters to download.
pub(super) async fn created(
    State(state): State<AppState>,
    language: Language,
    visitor: FormVisitor,
    Query(query): Query<CreatedQuery>,
) -> Response {
    let Some(file) = opened(&state, language, &visitor, &query.v) else {
        return expired(language, &visitor);
    };
    let t = |id: &str| language.text(id);
    let link = |path: &str, extra: &str| format!("{HOME}/created/{path}?v={}{extra}", query.v);
    let mut rooms = Vec::new();
    for (index, room) in file.rooms.iter().enumerate() {
        let Ok(svg) = poster_svg(&file, room) else {
            return expired(language, &visitor);
        };
        rooms.push((index, room, svg));
    }
    let page = layout(
        language,
        html! {
            section id="created" class="card" {
                h2 { (t("venues-created-heading")) }
                (notice(&Notice::Info(t("venues-created-keep-file"))))
                p {
                    a id="download-venue-file" class="button" download href=(link("file", "")) {
                        (t("venues-download-file"))
                    }
                }
                @for (index, room, svg) in &rooms {
                    article class="room" {
                        h3 { (room.description) }
                        div class="poster" { (PreEscaped(svg)) }
                        p class="downloads" {
                            a class="button download-pdf" download href=(link("poster", &format!("&room={index}&format=pdf"))) { (t("venues-download-pdf")) }
                            a class="button secondary download-svg" download href=(link("poster", &format!("&room={index}&format=svg"))) { (t("venues-download-svg")) }
                        }
                    }
                }
                p { a href=(HOME) { (t("venues-back")) } }
            }
        },
    );
    html_response(StatusCode::OK, page)
}

/// `GET /venues/created/file?v=`: the new venue's file.
pub(super) async fn created_file(
    State(state): State<AppState>,
    language: Language,
    visitor: FormVisitor,
    Query(query): Query<CreatedQuery>,
) -> Response {
    match opened(&state, language, &visitor, &query.v) {
        Some(file) => venue_file_download(&file),
        None => expired(language, &visitor),
    }
}

/// `GET /venues/created/poster?v=&room=&format=pdf|svg`: one room's poster.
pub(super) async fn created_poster(
    State(state): State<AppState>,
    language: Language,
    visitor: FormVisitor,
    Query(query): Query<CreatedQuery>,
) -> Response {
    let poster = opened(&state, language, &visitor, &query.v).and_then(|file| {
        let room = query.room.parse::<usize>().ok()?;
        let format = PosterFormat::parse(&query.format)?;
        poster_download(&file, room, format)
    });
    poster.unwrap_or_else(|| expired(language, &visitor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_are_read_at_the_browsers_offset() {
        // 2026-07-14 20:00 in Paris (UTC+2) is 18:00 UTC.
        assert_eq!(
            parse_local_time("2026-07-14T20:00", "120"),
            Ok(Some(1_784_052_000))
        );
        assert_eq!(
            parse_local_time("2026-07-14T18:00", ""),
            Ok(Some(1_784_052_000))
        );
        assert_eq!(parse_local_time("  ", "120"), Ok(None));
        assert_eq!(parse_local_time("14/07/2026 20:00", "0"), Err(()));
        assert_eq!(parse_local_time("2026-07-14T20:00", "5000"), Err(()));
        assert_eq!(parse_local_time("2026-07-14T20:00", "x"), Err(()));
    }

    #[test]
    fn errors_are_in_the_pages_language_without_timestamps() {
        let form = CreateForm {
            name: "Concert".into(),
            address: "Parc".into(),
            venue_type: "cultural-event".into(),
            start: "2026-07-14T23:00".into(),
            end: "2026-07-14T20:00".into(),
            ..CreateForm::default()
        };
        let new = new_venue(Language::French, &form).expect("a readable form");
        let error = VenueFile::create(
            &new,
            presence::DEFAULT_QR_CODE_PREFIX,
            &mut StdRng::seed_from_u64(1),
        )
        .expect_err("an event that ends before it starts");
        let message = venue_error(Language::French, &error);
        assert_eq!(message, "L'événement doit finir après son début.");
        assert!(!message.chars().any(|c| c.is_ascii_digit()), "{message}");
        let long = CreateForm {
            name: "Café".into(),
            address: "Rue".into(),
            venue_type: "food-service".into(),
            rooms: "x".repeat(120),
            ..CreateForm::default()
        };
        let new = new_venue(Language::French, &long).expect("a readable form");
        let error = VenueFile::create(
            &new,
            presence::DEFAULT_QR_CODE_PREFIX,
            &mut StdRng::seed_from_u64(1),
        )
        .expect_err("too long");
        assert_eq!(
            venue_error(Language::French, &error),
            "Le nom, suivi du nom d'une salle, compte au plus 100 caractères ; celui-ci en compte 127."
        );
        assert_eq!(
            new_venue(
                Language::French,
                &CreateForm {
                    venue_type: "casino".into(),
                    ..CreateForm::default()
                }
            )
            .expect_err("no such type"),
            "Choisissez un type de lieu."
        );
    }
}
