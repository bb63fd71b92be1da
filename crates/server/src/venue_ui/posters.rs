//! Downloads: a venue file and its rooms' posters, named after the venue and room with
//! their accents (`café-des-arts-terrasse.pdf`, `web::content_disposition`), and
//! `POST /venues/poster`, a room's poster printed again from a venue file the browser
//! sends. The file is read, the poster drawn and the file forgotten: nothing is stored
//! or logged.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use poster::{poster_file_name, poster_pdf, poster_svg};
use presence::VenueFile;
use serde::Deserialize;

use super::{FormVisitor, home};
use crate::state::AppState;
use crate::web::Language;
use crate::web::content_disposition::attachment;
use crate::web::csrf::{CsrfForm, CsrfRefusal};
use crate::web::layout::Notice;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PosterFormat {
    Pdf,
    Svg,
}

impl PosterFormat {
    pub(super) fn parse(text: &str) -> Option<PosterFormat> {
        match text {
            "pdf" => Some(PosterFormat::Pdf),
            "svg" => Some(PosterFormat::Svg),
            _ => None,
        }
    }
}

/// `bytes` as a download named `file_name`.
fn download(file_name: &str, media_type: &'static str, bytes: Vec<u8>) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    headers.insert(header::CONTENT_DISPOSITION, attachment(file_name));
    response
}

/// The venue file as a download.
pub(super) fn venue_file_download(file: &VenueFile) -> Response {
    download(
        &file.file_name(),
        "application/json",
        file.to_json().into_bytes(),
    )
}

/// The poster of room `index` as a download; `None` if there is no such room.
pub(super) fn poster_download(
    file: &VenueFile,
    index: usize,
    format: PosterFormat,
) -> Option<Response> {
    let room = file.room(index).ok()?;
    Some(match format {
        PosterFormat::Pdf => download(
            &poster_file_name(file, room, "pdf"),
            "application/pdf",
            poster_pdf(file, room).ok()?,
        ),
        PosterFormat::Svg => download(
            &poster_file_name(file, room, "svg"),
            "image/svg+xml",
            poster_svg(file, room).ok()?.into_bytes(),
        ),
    })
}

/// The reprint form: the venue file's text (the page's script puts it there, without the
/// paper register), the room's index, the format.
#[derive(Deserialize, Default)]
pub(crate) struct ReprintForm {
    #[serde(default)]
    venue_file: String,
    #[serde(default)]
    room: String,
    #[serde(default)]
    format: String,
}

/// `POST /venues/poster`.
pub(super) async fn reprint(
    State(state): State<AppState>,
    language: Language,
    visitor: FormVisitor,
    form: Result<CsrfForm<ReprintForm>, CsrfRefusal<ReprintForm>>,
) -> Response {
    let form = match form {
        Ok(CsrfForm(form)) => form,
        Err(CsrfRefusal::Forged { .. }) => {
            let message = Notice::Error(language.text("form-forged"));
            let status = StatusCode::FORBIDDEN;
            return home::with_notice(&state, language, &visitor, status, &message).await;
        }
        Err(refusal) => return refusal.into_response(),
    };
    let poster = VenueFile::parse(&form.venue_file).ok().and_then(|file| {
        let room = form.room.parse::<usize>().ok()?;
        poster_download(&file, room, PosterFormat::parse(&form.format)?)
    });
    match poster {
        Some(poster) => poster,
        None => {
            let message = Notice::Error(language.text("venues-posters-error"));
            let status = StatusCode::BAD_REQUEST;
            home::with_notice(&state, language, &visitor, status, &message).await
        }
    }
}
