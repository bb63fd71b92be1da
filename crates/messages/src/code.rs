//! The offline check of a health-authority code (PROTOCOLS.md §3).
//!
//! Codes are 12 digits whose last one is a Verhoeff check digit, so that the phone catches
//! a typo (any single wrong digit, any swap of neighbours) before sending anything. The
//! server issues and checks them with these same functions.

use verhoeff::Verhoeff;

/// Digits in a code.
pub const CODE_DIGITS: usize = 12;

/// Removes the spaces and dashes people type or see on printed codes.
pub fn normalize(input: &str) -> String {
    input
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '\u{a0}'))
        .collect()
}

/// The Verhoeff check digit to append to `digits` (values 0–9).
pub fn check_digit(digits: &[u8]) -> u8 {
    digits.calculate_verhoeff_check_digit()
}

/// Whether `code` (already normalised) is 12 digits with a correct Verhoeff check digit.
pub fn is_well_formed(code: &str) -> bool {
    code.len() == CODE_DIGITS
        && code.bytes().all(|byte| byte.is_ascii_digit())
        && code.validate_verhoeff_check_digit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_check_digit(digits: &[u8]) -> String {
        let mut all = digits.to_vec();
        all.push(check_digit(digits));
        all.iter().map(|digit| char::from(b'0' + digit)).collect()
    }

    #[test]
    fn verhoeffs_own_example_236_has_check_digit_3() {
        assert_eq!(check_digit(&[2, 3, 6]), 3);
    }

    #[test]
    fn every_single_typo_and_neighbour_swap_is_caught() {
        let code = with_check_digit(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
        assert!(is_well_formed(&code));
        let bytes = code.as_bytes();
        for position in 0..CODE_DIGITS {
            for digit in b'0'..=b'9' {
                if digit == bytes[position] {
                    continue;
                }
                let mut typo = bytes.to_vec();
                typo[position] = digit;
                assert!(!is_well_formed(std::str::from_utf8(&typo).unwrap()));
            }
            if position + 1 < CODE_DIGITS && bytes[position] != bytes[position + 1] {
                let mut swapped = bytes.to_vec();
                swapped.swap(position, position + 1);
                assert!(!is_well_formed(std::str::from_utf8(&swapped).unwrap()));
            }
        }
        assert!(!is_well_formed(&code[..11]), "too short");
        assert!(!is_well_formed(&format!("{}a", &code[..11])));
        assert_eq!(normalize("1234 5678-9012"), "123456789012");
    }

    #[test]
    fn malformed_codes_are_refused_without_panicking() {
        for input in [
            "",
            "12345678901",
            "1234567890123",
            "12345678901a",
            "１２３４５６７８９０１２",
        ] {
            assert!(!is_well_formed(input), "{input}");
        }
    }
}
