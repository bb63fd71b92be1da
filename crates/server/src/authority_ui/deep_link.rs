//! The deep link a patient's phone opens when it scans a code's QR code, and its SVG rendering.
//!
//! The link is `openstopcovid://report?code=<12 digits>`: the app registers the
//! `openstopcovid` scheme, opens its "report a positive test" screen and fills in the code,
//! so the patient only confirms. The link carries the code and nothing else.
//!
//! A server with a `public_url` puts the citizen web app's report screen in the QR code
//! instead, `{public_url}/app/#report=<code>` (the code stays in the fragment, which the
//! browser never sends); the native link above stays valid for apps.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// The URL scheme the OpenStopCovid app registers.
pub const DEEP_LINK_SCHEME: &str = "openstopcovid";

/// The deep link for a validation code.
pub fn report_link(code: &str) -> String {
    format!("{DEEP_LINK_SCHEME}://report?code={code}")
}

/// The link in a code's QR code: the web app's report screen when the server has a public
/// address, else the native deep link.
pub fn patient_link(public_url: Option<&str>, code: &str) -> String {
    match public_url {
        Some(url) => crate::config::web_report_link(url, code),
        None => report_link(code),
    }
}

/// An inline SVG QR code of `link` (see [`patient_link`]). Medium error correction survives a smudged print
/// and keeps the symbol small (version 2 for our 40-character links).
pub fn report_qr_svg(link: &str) -> Option<String> {
    let symbol = QrCode::with_error_correction_level(link, EcLevel::M).ok()?;
    let document = symbol
        .render::<svg::Color<'_>>()
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .quiet_zone(true)
        .min_dimensions(200, 200)
        .build();
    // Inline in HTML, the XML declaration before `<svg` has no place.
    let start = document.find("<svg")?;
    Some(document[start..].to_owned())
}

/// Splits a 12-digit code into groups of four for dictation: `1234 5678 9012`.
pub fn grouped_for_dictation(code: &str) -> String {
    let digits: Vec<char> = code.chars().collect();
    digits
        .chunks(4)
        .map(|group| group.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_carries_the_code() {
        assert_eq!(
            report_link("123456789012"),
            "openstopcovid://report?code=123456789012"
        );
    }

    #[test]
    fn codes_are_grouped_by_four() {
        assert_eq!(grouped_for_dictation("123456789012"), "1234 5678 9012");
        assert_eq!(grouped_for_dictation("12345"), "1234 5");
    }

    #[test]
    fn the_qr_code_is_an_inline_svg_that_depends_on_the_code() {
        let svg = report_qr_svg(&report_link("123456789012")).expect("a short link fits");
        assert!(svg.starts_with("<svg"));
        assert!(
            !svg.contains("style="),
            "inline styles would be blocked by our CSP"
        );
        assert!(svg.contains("</svg>"));
        // The same link always gives the same symbol, so printed sheets are reproducible.
        assert_eq!(
            svg,
            report_qr_svg(&report_link("123456789012")).expect("fits")
        );
        assert_ne!(
            svg,
            report_qr_svg(&report_link("123456789013")).expect("fits")
        );
        assert_eq!(
            patient_link(Some("https://covid.example.org"), "123456789012"),
            "https://covid.example.org/app/#report=123456789012"
        );
    }
}
