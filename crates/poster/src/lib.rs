//! Printable A4 venue posters, one per room of a venue file: the venue's name, the room's
//! name in large letters, the address, a big QR code and short instructions in French and
//! English, as SVG (composed by hand: a few rectangles and text) or PDF (`pdf-writer`,
//! with the standard Helvetica fonts, so nothing is embedded).
//!
//! A crate of its own so that both the server's `/venues` pages and the command line's
//! `venue create|poster` draw the same poster, and the command line does so without
//! linking the server. Pure: it turns a [`VenueFile`] into bytes.
//!
//! Both formats draw the same [`poster_lines`]: each line's size is chosen once, with
//! Helvetica's own advance widths ([`text_width`]), so that a long name shrinks to fit
//! the page instead of running off it, and the PDF, which has no "centre this" operator,
//! starts each line exactly half its measured width left of the page's middle. Text is
//! written in WinAnsiEncoding, which holds every French letter (é, ç, œ…) and the
//! typographic dash and apostrophe.
//!
//! # Layout
//!
//! - this file: [`poster_svg`], [`poster_pdf`], [`poster_lines`] (what both write, and
//!   where), [`text_width`], and [`qr_modules`] (the QR code both draw). The tests
//!   rasterise each poster and decode its QR code back (`rqrr`), as a phone's camera
//!   would, and check that every line of the PDF is centred.
//! - `metrics`: Helvetica's advance widths.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};
use presence::{Room, VenueFile, file_name_stem};
use qrcode::{EcLevel, QrCode};

mod metrics;

/// A4 in PDF points (1/72 inch).
pub const A4_WIDTH: f32 = 595.0;
pub const A4_HEIGHT: f32 = 842.0;
/// Side of the printed QR code, in points (about 15 cm): scannable from a few metres.
const QR_SIDE: f32 = 425.0;
/// Quiet zone around the code, in modules (the QR standard asks for 4).
const QR_QUIET_ZONE_MODULES: usize = 4;
/// Top of the QR code (with its quiet zone), in points from the top of the page.
const QR_TOP: f32 = 175.0;
/// No line comes closer than this to either side of the page: a long name is set smaller.
pub const TEXT_MARGIN: f32 = 36.0;
/// The widest a line may be.
pub const MAX_TEXT_WIDTH: f32 = A4_WIDTH - 2.0 * TEXT_MARGIN;

/// The venue's name above a room's name, which is what a guest looks for at the door.
const VENUE_NAME_ABOVE_ROOM_SIZE: f32 = 28.0;
const ROOM_NAME_SIZE: f32 = 52.0;
/// The venue's name alone, when the venue has one code for everything.
const VENUE_NAME_ALONE_SIZE: f32 = 44.0;
const ADDRESS_SIZE: f32 = 17.0;
const INSTRUCTION_SIZE: f32 = 17.0;

/// Instructions under the code: French, then English in italics.
const INSTRUCTIONS: [(&str, Font); 4] = [
    ("Scannez ce code à l’entrée et à la sortie.", Font::Regular),
    (
        "Aucun nom n’est enregistré ; tout est effacé après 14 jours.",
        Font::Regular,
    ),
    (
        "Scan this code when you arrive and when you leave.",
        Font::Italic,
    ),
    (
        "No names are recorded; everything is deleted after 14 days.",
        Font::Italic,
    ),
];

/// The room's URL does not fit in a QR code (it cannot happen with the venue limits).
#[derive(Debug, thiserror::Error)]
#[error("the QR code URL is too long for a QR code")]
pub struct PosterError;

/// The three faces a poster uses: PDF's standard Helvetica family, or in SVG whatever
/// sans-serif the viewer has (Arial shares Helvetica's widths).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Font {
    Regular,
    Bold,
    Italic,
}

impl Font {
    fn widths(self) -> &'static [u16; 256] {
        match self {
            Font::Regular | Font::Italic => &metrics::HELVETICA_WIDTHS,
            Font::Bold => &metrics::HELVETICA_BOLD_WIDTHS,
        }
    }

    fn pdf_base_font(self) -> Name<'static> {
        match self {
            Font::Regular => Name(b"Helvetica"),
            Font::Bold => Name(b"Helvetica-Bold"),
            Font::Italic => Name(b"Helvetica-Oblique"),
        }
    }

    /// The name of the font in the PDF page's resources.
    fn pdf_resource(self) -> Name<'static> {
        match self {
            Font::Regular => Name(b"F1"),
            Font::Bold => Name(b"F2"),
            Font::Italic => Name(b"F3"),
        }
    }

    fn svg_style(self) -> &'static str {
        match self {
            Font::Regular => "",
            Font::Bold => " font-weight=\"bold\"",
            Font::Italic => " font-style=\"italic\"",
        }
    }
}

/// One line of text on the poster, centred on the page.
#[derive(Clone, Debug, PartialEq)]
pub struct PosterLine {
    pub text: String,
    pub font: Font,
    /// Font size in points, already reduced when the text would not fit.
    pub size: f32,
    /// Baseline, in points from the top of the page.
    pub baseline: f32,
}

/// Width of `text` set in `font` at `size` points, as a PDF reader lays it out.
pub fn text_width(text: &str, font: Font, size: f32) -> f32 {
    let widths = font.widths();
    let thousandths: u32 = win_ansi(text)
        .iter()
        .map(|&byte| u32::from(widths[usize::from(byte)]))
        .sum();
    thousandths as f32 * size / 1000.0
}

/// `size`, or smaller so that `text` fits within [`MAX_TEXT_WIDTH`].
fn fitted_size(text: &str, font: Font, size: f32) -> f32 {
    let width = text_width(text, font, size);
    if width > MAX_TEXT_WIDTH {
        size * MAX_TEXT_WIDTH / width
    } else {
        size
    }
}

fn line(text: &str, font: Font, size: f32, baseline: f32) -> PosterLine {
    PosterLine {
        text: text.to_owned(),
        font,
        size: fitted_size(text, font, size),
        baseline,
    }
}

/// Every line of a room's poster, top to bottom.
pub fn poster_lines(file: &VenueFile, room: &Room) -> Vec<PosterLine> {
    let mut lines = if room.name.is_empty() {
        vec![
            line(&file.name, Font::Bold, VENUE_NAME_ALONE_SIZE, 100.0),
            line(&file.address, Font::Regular, ADDRESS_SIZE, 145.0),
        ]
    } else {
        vec![
            line(&file.name, Font::Bold, VENUE_NAME_ABOVE_ROOM_SIZE, 68.0),
            line(&room.name, Font::Bold, ROOM_NAME_SIZE, 128.0),
            line(&file.address, Font::Regular, ADDRESS_SIZE, 160.0),
        ]
    };
    let first_instruction = QR_TOP + QR_SIDE + 45.0;
    for (index, (text, font)) in INSTRUCTIONS.iter().enumerate() {
        // A little more room between the French and the English.
        let gap = if index >= 2 { 16.0 } else { 0.0 };
        lines.push(line(
            text,
            *font,
            INSTRUCTION_SIZE,
            first_instruction + 28.0 * index as f32 + gap,
        ));
    }
    lines
}

/// The name to save a room's poster under: `café-des-arts-terrasse.pdf`, or
/// `café-des-arts.pdf` for a venue with one code; `extension` without its dot.
pub fn poster_file_name(file: &VenueFile, room: &Room, extension: &str) -> String {
    let name = if room.name.is_empty() {
        file.name.clone()
    } else {
        format!("{} {}", file.name, room.name)
    };
    format!("{}.{extension}", file_name_stem(&name))
}

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

/// The QR code's dark modules as squares `(left, top, side)` in points from the page's
/// top left corner.
fn qr_squares(url: &str) -> Result<Vec<(f32, f32, f32)>, PosterError> {
    let (side, dark) = qr_modules(url)?;
    let module = QR_SIDE / (side + 2 * QR_QUIET_ZONE_MODULES) as f32;
    let left = (A4_WIDTH - QR_SIDE) / 2.0 + QR_QUIET_ZONE_MODULES as f32 * module;
    let top = QR_TOP + QR_QUIET_ZONE_MODULES as f32 * module;
    let mut squares = Vec::new();
    for y in 0..side {
        for x in 0..side {
            if dark.get(y * side + x).copied().unwrap_or(false) {
                squares.push((left + x as f32 * module, top + y as f32 * module, module));
            }
        }
    }
    Ok(squares)
}

fn escape_xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The poster as SVG, sized A4 (millimetres via the view box in points).
pub fn poster_svg(file: &VenueFile, room: &Room) -> Result<String, PosterError> {
    let squares = qr_squares(&room.url)?;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"210mm\" height=\"297mm\" viewBox=\"0 0 {A4_WIDTH} {A4_HEIGHT}\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n"
    );
    for line in poster_lines(file, room) {
        // The width Helvetica would take, imposed: a viewer without Helvetica or Arial
        // fits its own sans-serif to it instead of running off the page.
        svg += &format!(
            "<text x=\"{}\" y=\"{}\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"{:.2}\"{} text-anchor=\"middle\" textLength=\"{:.2}\" lengthAdjust=\"spacingAndGlyphs\">{}</text>\n",
            A4_WIDTH / 2.0,
            line.baseline,
            line.size,
            line.font.svg_style(),
            text_width(&line.text, line.font, line.size),
            escape_xml(&line.text)
        );
    }
    svg += "<g id=\"qr\" fill=\"#000\" shape-rendering=\"crispEdges\">\n";
    for (x, y, side) in squares {
        svg += &format!(
            "<rect x=\"{x:.3}\" y=\"{y:.3}\" width=\"{side:.3}\" height=\"{side:.3}\"/>\n"
        );
    }
    svg += "</g>\n</svg>\n";
    Ok(svg)
}

/// `text` in WinAnsiEncoding, the encoding of the standard fonts: ASCII, Latin-1 and the
/// typographic signs WinAnsi places at 0x80–0x9F; any other character prints as '?'.
pub fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            ' '..='~' | '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '€' => 0x80,
            '‚' => 0x82,
            'ƒ' => 0x83,
            '„' => 0x84,
            '…' => 0x85,
            '†' => 0x86,
            '‡' => 0x87,
            'ˆ' => 0x88,
            '‰' => 0x89,
            'Š' => 0x8A,
            '‹' => 0x8B,
            'Œ' => 0x8C,
            'Ž' => 0x8E,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '˜' => 0x98,
            '™' => 0x99,
            'š' => 0x9A,
            '›' => 0x9B,
            'œ' => 0x9C,
            'ž' => 0x9E,
            'Ÿ' => 0x9F,
            _ => b'?',
        })
        .collect()
}

/// The poster as a one-page A4 PDF.
pub fn poster_pdf(file: &VenueFile, room: &Room) -> Result<Vec<u8>, PosterError> {
    let squares = qr_squares(&room.url)?;
    let catalog_id = Ref::new(1);
    let page_tree_id = Ref::new(2);
    let page_id = Ref::new(3);
    let content_id = Ref::new(4);
    let fonts = [
        (Font::Regular, Ref::new(5)),
        (Font::Bold, Ref::new(6)),
        (Font::Italic, Ref::new(7)),
    ];

    let mut content = Content::new();
    for line in poster_lines(file, room) {
        let width = text_width(&line.text, line.font, line.size);
        content
            .begin_text()
            .set_font(line.font.pdf_resource(), line.size)
            // PDF's y axis points up.
            .next_line((A4_WIDTH - width) / 2.0, A4_HEIGHT - line.baseline)
            .show(Str(&win_ansi(&line.text)))
            .end_text();
    }
    content.set_fill_gray(0.0);
    for (x, y, side) in squares {
        content.rect(x, A4_HEIGHT - y - side, side, side);
    }
    content.fill_nonzero();

    let mut pdf = Pdf::new();
    pdf.catalog(catalog_id).pages(page_tree_id);
    pdf.pages(page_tree_id).kids([page_id]).count(1);
    let mut page = pdf.page(page_id);
    page.parent(page_tree_id)
        .media_box(Rect::new(0.0, 0.0, A4_WIDTH, A4_HEIGHT))
        .contents(content_id);
    let mut resources = page.resources();
    let mut font_resources = resources.fonts();
    for (font, id) in fonts {
        font_resources.pair(font.pdf_resource(), id);
    }
    font_resources.finish();
    resources.finish();
    page.finish();
    for (font, id) in fonts {
        pdf.type1_font(id)
            .base_font(font.pdf_base_font())
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
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

    fn venue(name: &str, rooms: &[&str]) -> VenueFile {
        VenueFile::create(
            &NewVenue {
                name: name.into(),
                address: "1 place du Marché, Lyon".into(),
                venue_type: VenueType::FoodService,
                default_stay_minutes: Some(60),
                rooms: rooms.iter().map(|room| (*room).to_owned()).collect(),
                start: None,
                end: None,
            },
            presence::DEFAULT_QR_CODE_PREFIX,
            &mut StdRng::seed_from_u64(1),
        )
        .unwrap()
    }

    fn venue_file() -> VenueFile {
        venue("Café des Arts", &["Terrasse", "Salle"])
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

    /// A line of text as the PDF's content stream places it.
    #[derive(Debug)]
    struct PlacedText {
        font: String,
        size: f32,
        x: f32,
        bytes: Vec<u8>,
    }

    /// Reads a PDF string operand: `<hex>` or `(literal)` with backslash escapes.
    fn pdf_string(operand: &str) -> Vec<u8> {
        if let Some(hex) = operand.strip_prefix('<').and_then(|s| s.strip_suffix('>')) {
            return (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
        }
        let literal = operand
            .strip_prefix('(')
            .unwrap()
            .strip_suffix(')')
            .unwrap();
        let mut bytes = Vec::new();
        let mut escaped = false;
        for byte in literal.bytes() {
            if escaped || byte != b'\\' {
                bytes.push(byte);
                escaped = false;
            } else {
                escaped = true;
            }
        }
        bytes
    }

    /// Every `Tf … Td … Tj` of the content stream, in order.
    fn placed_texts(pdf: &[u8]) -> Vec<PlacedText> {
        let text = String::from_utf8_lossy(pdf);
        let mut placed = Vec::new();
        let (mut font, mut size, mut x) = (String::new(), 0.0, 0.0);
        for line in text.lines() {
            let words: Vec<&str> = line.split(' ').collect();
            match words.last() {
                Some(&"Tf") => {
                    font = words[0].to_owned();
                    size = words[1].parse().unwrap();
                }
                Some(&"Td") => x = words[0].parse().unwrap(),
                Some(&"Tj") => placed.push(PlacedText {
                    font: font.clone(),
                    size,
                    x,
                    bytes: pdf_string(line.strip_suffix(" Tj").unwrap()),
                }),
                _ => {}
            }
        }
        placed
    }

    fn measured_width(placed: &PlacedText) -> f32 {
        let widths = if placed.font == "/F2" {
            &metrics::HELVETICA_BOLD_WIDTHS
        } else {
            &metrics::HELVETICA_WIDTHS
        };
        let thousandths: u32 = placed
            .bytes
            .iter()
            .map(|&byte| u32::from(widths[usize::from(byte)]))
            .sum();
        thousandths as f32 * placed.size / 1000.0
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
            // Every line centred on the page and no wider than the margins allow.
            for text in svg.lines().filter(|line| line.starts_with("<text")) {
                assert!(text.contains("x=\"297.5\"") && text.contains("text-anchor=\"middle\""));
                assert!(
                    number_after(text, "textLength=\"") <= MAX_TEXT_WIDTH,
                    "{text}"
                );
            }
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

    /// Issue 16: the PDF's text sat 40–55 pt left of centre (its width was guessed from
    /// the number of letters). Each line now starts half its Helvetica width left of the
    /// middle, whatever its letters.
    #[test]
    fn every_line_of_the_pdf_poster_is_centred_on_the_page() {
        let long_name = "Brasserie de l’Œuvre — Maison fondée en 1923 à Saint-Étienne";
        let venues = [
            venue_file(),
            venue("Librairie", &[]),
            venue(long_name, &["WWWWWWWWWWWWWWWWWWWWWWWWWWWWWW"]),
        ];
        for file in &venues {
            for room in &file.rooms {
                let placed = placed_texts(&poster_pdf(file, room).unwrap());
                assert_eq!(placed.len(), poster_lines(file, room).len());
                for text in &placed {
                    let width = measured_width(text);
                    let left = text.x;
                    let right = A4_WIDTH - text.x - width;
                    assert!(
                        (left - right).abs() < 0.05,
                        "{:?}: {left} pt on the left, {right} pt on the right",
                        String::from_utf8_lossy(&text.bytes)
                    );
                    assert!(left >= TEXT_MARGIN - 0.05, "{text:?} runs off the page");
                }
            }
        }
        // By hand, from Helvetica-Bold's AFM: C 722, a 556, f 333, é 556, space 278,
        // d 611, e 556, s 556, space 278, A 722, r 389, t 333, s 556 = 6,446 thousandths;
        // at 28 pt that is 180.49 pt, so the line starts at (595 - 180.49) / 2.
        let cafe = &venues[0];
        let title = &placed_texts(&poster_pdf(cafe, &cafe.rooms[0]).unwrap())[0];
        assert_eq!(title.bytes, b"Caf\xe9 des Arts");
        assert!((title.x - (A4_WIDTH - 6446.0 * 28.0 / 1000.0) / 2.0).abs() < 0.01);
    }

    #[test]
    fn the_room_name_is_the_largest_line_and_long_names_shrink_to_fit() {
        let file = venue_file();
        let lines = poster_lines(&file, &file.rooms[0]);
        assert_eq!(lines[1].text, "Terrasse");
        let largest = lines
            .iter()
            .max_by(|a, b| a.size.total_cmp(&b.size))
            .unwrap();
        assert_eq!(largest.text, "Terrasse");
        assert_eq!(largest.size, ROOM_NAME_SIZE);
        let wide = venue("Salle", &["WWWWWWWWWWWWWWWWWWWWWWWWWWWWWW"]);
        let lines = poster_lines(&wide, &wide.rooms[0]);
        assert!(lines[1].size < ROOM_NAME_SIZE);
        assert!(
            (text_width(&lines[1].text, Font::Bold, lines[1].size) - MAX_TEXT_WIDTH).abs() < 0.01
        );
        // One code for the whole venue: its name is the headline.
        let shop = venue("Librairie", &[]);
        let lines = poster_lines(&shop, &shop.rooms[0]);
        assert_eq!(lines[0].text, "Librairie");
        assert_eq!(lines[0].size, VENUE_NAME_ALONE_SIZE);
    }

    #[test]
    fn poster_file_names_keep_the_accents_of_venue_and_room() {
        let file = venue_file();
        assert_eq!(
            poster_file_name(&file, &file.rooms[0], "pdf"),
            "café-des-arts-terrasse.pdf"
        );
        let shop = venue("Librairie Étoile", &[]);
        assert_eq!(
            poster_file_name(&shop, &shop.rooms[0], "svg"),
            "librairie-étoile.svg"
        );
    }

    #[test]
    fn french_letters_and_typographic_signs_print_as_themselves() {
        assert_eq!(win_ansi("Œuvre – l’été"), b"\x8cuvre \x96 l\x92\xe9t\xe9");
        assert_eq!(win_ansi("北京"), b"??");
    }
}
