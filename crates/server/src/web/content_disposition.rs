//! `Content-Disposition: attachment` for downloads whose names keep their accents
//! (`café-des-arts.pdf`), as RFC 6266 says: `filename*=UTF-8''…` (RFC 8187 percent
//! encoding) for every browser of the last decade, after an ASCII `filename="…"` for
//! anything older, with accents taken off rather than lost (`cafe-des-arts.pdf`).

use axum::http::HeaderValue;

/// Characters RFC 8187 lets through unencoded (`attr-char`).
fn is_attr_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte)
}

/// The letter without its accent, for the ASCII name; `None` for what has no plain form.
fn plain_letters(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => "a",
        'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => "A",
        'ç' => "c",
        'Ç' => "C",
        'è' | 'é' | 'ê' | 'ë' => "e",
        'È' | 'É' | 'Ê' | 'Ë' => "E",
        'ì' | 'í' | 'î' | 'ï' => "i",
        'Ì' | 'Í' | 'Î' | 'Ï' => "I",
        'ñ' => "n",
        'Ñ' => "N",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => "o",
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => "O",
        'ù' | 'ú' | 'û' | 'ü' => "u",
        'Ù' | 'Ú' | 'Û' | 'Ü' => "U",
        'ý' | 'ÿ' => "y",
        'Ý' | 'Ÿ' => "Y",
        'œ' => "oe",
        'Œ' => "OE",
        'æ' => "ae",
        'Æ' => "AE",
        'ß' => "ss",
        _ => return None,
    })
}

/// `file_name` in ASCII for old browsers: accents taken off, anything else that a quoted
/// string cannot hold safely (quotes, backslashes, control and other characters) `_`.
pub(crate) fn ascii_file_name(file_name: &str) -> String {
    file_name
        .chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' => c.to_string(),
            _ => plain_letters(c).unwrap_or("_").to_owned(),
        })
        .collect()
}

/// `Content-Disposition: attachment; filename="…"; filename*=UTF-8''…` for `file_name`.
pub(crate) fn attachment(file_name: &str) -> HeaderValue {
    let mut encoded = String::new();
    for byte in file_name.bytes() {
        if is_attr_char(byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    let value = format!(
        "attachment; filename=\"{}\"; filename*=UTF-8''{encoded}",
        ascii_file_name(file_name)
    );
    // Only printable ASCII is left, which a header value always holds.
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accents_are_kept_for_browsers_and_taken_off_for_the_ascii_name() {
        assert_eq!(
            attachment("café-des-arts-terrasse.pdf")
                .to_str()
                .expect("ascii"),
            "attachment; filename=\"cafe-des-arts-terrasse.pdf\"; \
             filename*=UTF-8''caf%C3%A9-des-arts-terrasse.pdf"
        );
        assert_eq!(ascii_file_name("œuvre-ÉTÉ.svg"), "oeuvre-ETE.svg");
        assert_eq!(ascii_file_name("a\"b\\c\n北.json"), "a_b_c__.json");
        assert_eq!(
            attachment("a b;c.pdf").to_str().expect("ascii"),
            "attachment; filename=\"a b;c.pdf\"; filename*=UTF-8''a%20b%3Bc.pdf"
        );
    }
}
