//! Printable A4 venue posters, one per room of a venue file: a big QR code, the venue's
//! name and short instructions in French and English, as SVG (composed by hand: a few
//! rectangles and text) or PDF (`pdf-writer`, with the standard Helvetica font, so nothing
//! is embedded).
//!
//! A crate of its own so that both the server's `/venues` pages and the command line's
//! `venue create|poster` draw the same poster, and the command line does so without
//! linking the server. Pure: it turns a [`VenueFile`] into bytes.
//!
//! # Layout
//!
//! Everything is in this file: [`poster_svg`], [`poster_pdf`], and [`qr_modules`] (the
//! QR code both draw). The tests rasterise each poster and decode its QR code back
//! (`rqrr`), as a phone's camera would.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};
use presence::{Room, VenueFile};
use qrcode::{EcLevel, QrCode};

/// A4 in PDF points (1/72 inch).
pub const A4_WIDTH: f32 = 595.0;
pub const A4_HEIGHT: f32 = 842.0;
/// Side of the printed QR code, in points (about 15 cm): scannable from a few metres.
const QR_SIDE: f32 = 425.0;
/// Quiet zone around the code, in modules (the QR standard asks for 4).
const QUIET_ZONE_MODULES: usize = 4;
const QR_TOP: f32 = 170.0;

const INSTRUCTIONS: [&str; 4] = [
    "Scannez ce code à l'entrée et à la sortie.",
    "Aucun nom n'est enregistré ; tout est effacé après 14 jours.",
    "Scan this code when you arrive and when you leave.",
    "No names are recorded; everything is deleted after 14 days.",
];

/// The room's URL does not fit in a QR code (it cannot happen with the venue limits).
#[derive(Debug, thiserror::Error)]
#[error("the QR code URL is too long for a QR code")]
pub struct PosterError;

/// The dark modules of a room's QR code: `(side in modules, dark(x, y))`, quiet zone
/// not included. Medium error correction survives a smudge or a torn corner.
pub fn qr_modules(url: &str) -> Result<(usize, Vec<bool>), PosterError> {
    let code =
        QrCode::with_error_correction_level(url.as_bytes(), EcLevel::M).map_err(|_| PosterError)?;
    let side = code.width();
    let dark = code
        .to_colors()
        .into_iter()
        .map(|color| color == qrcode::Color::Dark)
        .collect();
    Ok((side, dark))
}

fn lines(file: &VenueFile, room: &Room) -> (String, Vec<String>) {
    let mut details = Vec::new();
    if !room.name.is_empty() {
        details.push(room.name.clone());
    }
    details.push(file.address.clone());
    (file.name.clone(), details)
}

fn escape_xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The poster as SVG, sized A4 (millimetres via the view box in points).
pub fn poster_svg(file: &VenueFile, room: &Room) -> Result<String, PosterError> {
    let (side, dark) = qr_modules(&room.url)?;
    let module = QR_SIDE / (side + 2 * QUIET_ZONE_MODULES) as f32;
    let left = (A4_WIDTH - QR_SIDE) / 2.0 + QUIET_ZONE_MODULES as f32 * module;
    let top = QR_TOP + QUIET_ZONE_MODULES as f32 * module;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"210mm\" height=\"297mm\" viewBox=\"0 0 {A4_WIDTH} {A4_HEIGHT}\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n"
    );
    let (title, details) = lines(file, room);
    svg += &format!(
        "<text x=\"{}\" y=\"90\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"34\" font-weight=\"bold\" text-anchor=\"middle\">{}</text>\n",
        A4_WIDTH / 2.0,
        escape_xml(&title)
    );
    for (index, detail) in details.iter().enumerate() {
        svg += &format!(
            "<text x=\"{}\" y=\"{}\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"18\" text-anchor=\"middle\">{}</text>\n",
            A4_WIDTH / 2.0,
            122.0 + 24.0 * index as f32,
            escape_xml(detail)
        );
    }
    svg += "<g id=\"qr\" fill=\"#000\" shape-rendering=\"crispEdges\">\n";
    for y in 0..side {
        for x in 0..side {
            if dark.get(y * side + x).copied().unwrap_or(false) {
                svg += &format!(
                    "<rect x=\"{:.3}\" y=\"{:.3}\" width=\"{module:.3}\" height=\"{module:.3}\"/>\n",
                    left + x as f32 * module,
                    top + y as f32 * module
                );
            }
        }
    }
    svg += "</g>\n";
    for (index, line) in INSTRUCTIONS.iter().enumerate() {
        svg += &format!(
            "<text x=\"{}\" y=\"{}\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"17\" text-anchor=\"middle\"{}>{}</text>\n",
            A4_WIDTH / 2.0,
            QR_TOP + QR_SIDE + 50.0 + 28.0 * index as f32 + if index >= 2 { 16.0 } else { 0.0 },
            if index >= 2 {
                " font-style=\"italic\""
            } else {
                ""
            },
            escape_xml(line)
        );
    }
    svg += "</svg>\n";
    Ok(svg)
}

/// Latin-1 for the standard fonts' WinAnsiEncoding (French and most European names);
/// other characters print as '?'.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '’' => b'\'',
            '–' | '—' => b'-',
            c if (c as u32) < 0x80 || (0xA0..=0xFF).contains(&(c as u32)) => c as u32 as u8,
            _ => b'?',
        })
        .collect()
}

/// Rough width of Helvetica text (average glyph 0.55 em), for centring.
fn centred_x(text: &str, size: f32) -> f32 {
    ((A4_WIDTH - text.chars().count() as f32 * size * 0.55) / 2.0).max(20.0)
}

/// The poster as a one-page A4 PDF.
pub fn poster_pdf(file: &VenueFile, room: &Room) -> Result<Vec<u8>, PosterError> {
    let (side, dark) = qr_modules(&room.url)?;
    let module = QR_SIDE / (side + 2 * QUIET_ZONE_MODULES) as f32;
    let left = (A4_WIDTH - QR_SIDE) / 2.0 + QUIET_ZONE_MODULES as f32 * module;
    // PDF's y axis points up.
    let top = A4_HEIGHT - QR_TOP - QUIET_ZONE_MODULES as f32 * module;

    let catalog_id = Ref::new(1);
    let page_tree_id = Ref::new(2);
    let page_id = Ref::new(3);
    let content_id = Ref::new(4);
    let font_id = Ref::new(5);
    let bold_id = Ref::new(6);
    let regular = Name(b"F1");
    let bold = Name(b"F2");

    let mut content = Content::new();
    let (title, details) = lines(file, room);
    let text = |content: &mut Content, font: Name, size: f32, y: f32, line: &str| {
        content
            .begin_text()
            .set_font(font, size)
            .next_line(centred_x(line, size), y)
            .show(Str(&win_ansi(line)))
            .end_text();
    };
    text(&mut content, bold, 34.0, A4_HEIGHT - 90.0, &title);
    for (index, detail) in details.iter().enumerate() {
        text(
            &mut content,
            regular,
            18.0,
            A4_HEIGHT - 122.0 - 24.0 * index as f32,
            detail,
        );
    }
    content.set_fill_gray(0.0);
    for y in 0..side {
        for x in 0..side {
            if dark.get(y * side + x).copied().unwrap_or(false) {
                content.rect(
                    left + x as f32 * module,
                    top - (y + 1) as f32 * module,
                    module,
                    module,
                );
            }
        }
    }
    content.fill_nonzero();
    for (index, line) in INSTRUCTIONS.iter().enumerate() {
        let y = A4_HEIGHT
            - (QR_TOP + QR_SIDE + 50.0 + 28.0 * index as f32 + if index >= 2 { 16.0 } else { 0.0 });
        text(&mut content, regular, 17.0, y, line);
    }

    let mut pdf = Pdf::new();
    pdf.catalog(catalog_id).pages(page_tree_id);
    pdf.pages(page_tree_id).kids([page_id]).count(1);
    let mut page = pdf.page(page_id);
    page.parent(page_tree_id)
        .media_box(Rect::new(0.0, 0.0, A4_WIDTH, A4_HEIGHT))
        .contents(content_id);
    page.resources()
        .fonts()
        .pair(regular, font_id)
        .pair(bold, bold_id);
    page.finish();
    pdf.type1_font(font_id)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold_id)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.stream(content_id, &content.finish());
    Ok(pdf.finish())
}

#[cfg(test)]
mod tests {
    use presence::{NewVenue, VenueType, decode_qr_url};
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    /// Pixels per PDF point when rasterising a poster for the decoder.
    const SCALE: f32 = 2.0;

    fn venue_file() -> VenueFile {
        VenueFile::create(
            &NewVenue {
                name: "Café des Arts".into(),
                address: "1 place du Marché, Lyon".into(),
                venue_type: VenueType::FoodService,
                default_stay_minutes: Some(60),
                rooms: vec!["Terrasse".into(), "Salle".into()],
                start: None,
                end: None,
            },
            presence::DEFAULT_QR_CODE_PREFIX,
            &mut StdRng::seed_from_u64(1),
        )
        .unwrap()
    }

    /// Paints rectangles (in points, y down) on a white A4 page and decodes the one QR
    /// code on it, as a phone's camera would.
    fn decode_rectangles(rectangles: &[(f32, f32, f32, f32)]) -> String {
        let width = (A4_WIDTH * SCALE) as usize;
        let height = (A4_HEIGHT * SCALE) as usize;
        let mut pixels = vec![255u8; width * height];
        for &(x, y, w, h) in rectangles {
            let (x0, y0) = ((x * SCALE).round() as usize, (y * SCALE).round() as usize);
            let (x1, y1) = (
                ((x + w) * SCALE).round() as usize,
                ((y + h) * SCALE).round() as usize,
            );
            for row in y0..y1.min(height) {
                for column in x0..x1.min(width) {
                    pixels[row * width + column] = 0;
                }
            }
        }
        let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| {
            pixels[y * width + x]
        });
        let grids = image.detect_grids();
        assert_eq!(grids.len(), 1, "one QR code on the poster");
        grids[0].decode().unwrap().1
    }

    fn number_after(text: &str, key: &str) -> f32 {
        let start = text.find(key).unwrap() + key.len();
        let end = start + text[start..].find('"').unwrap();
        text[start..end].parse().unwrap()
    }

    #[test]
    fn the_svg_posters_qr_code_reads_back_as_the_rooms_code() {
        let file = venue_file();
        for room in &file.rooms {
            let svg = poster_svg(&file, room).unwrap();
            assert!(svg.contains("Café des Arts"));
            assert!(svg.contains(&room.name));
            assert!(svg.contains("Scannez ce code"));
            assert!(svg.contains("Scan this code"));
            let qr_group = &svg[svg.find("<g id=\"qr\"").unwrap()..svg.find("</g>").unwrap()];
            let rectangles: Vec<_> = qr_group
                .lines()
                .filter(|line| line.starts_with("<rect"))
                .map(|line| {
                    (
                        number_after(line, "x=\""),
                        number_after(line, "y=\""),
                        number_after(line, "width=\""),
                        number_after(line, "height=\""),
                    )
                })
                .collect();
            let url = decode_rectangles(&rectangles);
            assert_eq!(url, room.url);
            let code = decode_qr_url(&url).unwrap();
            assert_eq!(code.location_id.to_hex(), room.location_id);
            assert_eq!(code.description, format!("Café des Arts – {}", room.name));
        }
    }

    #[test]
    fn the_pdf_poster_is_one_a4_page_whose_qr_code_reads_back() {
        let file = venue_file();
        let room = &file.rooms[1];
        let pdf = poster_pdf(&file, room).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("/MediaBox [0 0 595 842]"));
        assert!(text.contains("/Count 1"));
        // Latin-1 text: "Café des Arts" with é as WinAnsi byte E9 (a hex string).
        assert!(text.contains("<436166E9206465732041727473> Tj"));
        let rectangles: Vec<_> = text
            .lines()
            .filter_map(|line| line.strip_suffix(" re"))
            .map(|numbers| {
                let n: Vec<f32> = numbers.split(' ').map(|n| n.parse().unwrap()).collect();
                // Back to a y axis pointing down.
                (n[0], A4_HEIGHT - n[1] - n[3], n[2], n[3])
            })
            .collect();
        assert_eq!(decode_rectangles(&rectangles), room.url);
    }
}
