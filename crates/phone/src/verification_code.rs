//! The offline check of a health-authority code (PROTOCOLS.md §3).
//!
//! Codes are 12 digits whose last one is a Verhoeff check digit, so that the phone catches
//! a typo (any single wrong digit, any swap of neighbours) before sending anything. This
//! is the same algorithm as `server::codes`; the phone has its own copy so that it does not
//! depend on the whole backend (database drivers, web framework) for ten lines.

/// Digits in a code.
pub const CODE_DIGITS: usize = 12;

const MULTIPLICATION: [[u8; 10]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];

const PERMUTATION: [[u8; 10]; 8] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];

/// Removes the spaces and dashes people type or see on printed codes.
pub fn normalize(input: &str) -> String {
    input
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '\u{a0}'))
        .collect()
}

/// The Verhoeff checksum of `digits` (values 0–9), the rightmost digit at `first_position`.
fn verhoeff(digits: impl DoubleEndedIterator<Item = u8>, first_position: usize) -> u8 {
    digits
        .rev()
        .enumerate()
        .fold(0u8, |check, (position, digit)| {
            let row = PERMUTATION[(position + first_position) % 8];
            let permuted = row[usize::from(digit % 10)];
            MULTIPLICATION[usize::from(check % 10)][usize::from(permuted)]
        })
}

/// The Verhoeff check digit to append to `digits` (values 0–9).
pub fn check_digit(digits: &[u8]) -> u8 {
    const INVERSE: [u8; 10] = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9];
    INVERSE[usize::from(verhoeff(digits.iter().copied(), 1) % 10)]
}

/// Whether `code` (already normalised) is 12 digits with a correct Verhoeff check digit.
pub fn is_well_formed(code: &str) -> bool {
    code.len() == CODE_DIGITS
        && code.bytes().all(|byte| byte.is_ascii_digit())
        && verhoeff(code.bytes().map(|byte| byte - b'0'), 0) == 0
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
}
