//! Time-based one-time passwords (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps), the
//! optional second factor of the authority pages, as every authenticator app computes
//! them.
//!
//! Written on RustCrypto's `hmac` and `sha1` (already in the build for other uses) rather
//! than a TOTP crate: the algorithm is the twenty lines below, checked against the RFC's
//! own test vectors, and the crates that wrap it pull in older copies of the same
//! primitives.
//!
//! A code is accepted one step early or late (clocks drift, people type slowly), and each
//! step only once per account: the caller stores the step a code matched and refuses any
//! step not after it, so a code seen over a shoulder cannot be replayed.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// Seconds per step.
pub const STEP_SECONDS: i64 = 30;
/// Digits of a code.
pub const DIGITS: usize = 6;
/// Bytes of a secret: 160 bits, RFC 4226's recommendation.
pub const SECRET_BYTES: usize = 20;
/// Steps accepted either side of the current one.
const WINDOW_STEPS: i64 = 1;

/// A fresh random secret.
pub(crate) fn new_secret() -> [u8; SECRET_BYTES] {
    let mut secret = [0u8; SECRET_BYTES];
    rand::fill(&mut secret);
    secret
}

/// The step `unix_seconds` falls in.
pub fn step_of(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

/// The code of `step` (RFC 4226's HOTP with the step as counter), as a number.
fn code_at(secret: &[u8], step: i64) -> u32 {
    let Ok(mut mac) = <Hmac<Sha1> as KeyInit>::new_from_slice(secret) else {
        return 0;
    };
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    // Dynamic truncation: four bytes from where the last nibble says.
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let bytes = [
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ];
    u32::from_be_bytes(bytes) % 10u32.pow(DIGITS as u32)
}

/// The code of `step`, as the app shows it (`012345`).
pub fn code_text(secret: &[u8], step: i64) -> String {
    format!("{:0width$}", code_at(secret, step), width = DIGITS)
}

/// The step whose code `typed` is, within one step of `now`'s; `None` if none is. Spaces
/// are ignored; every candidate is compared in constant time.
pub(crate) fn matching_step(secret: &[u8], typed: &str, now: i64) -> Option<i64> {
    let typed: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    if typed.len() != DIGITS || !typed.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let current = step_of(now);
    let mut found = None;
    for step in current - WINDOW_STEPS..=current + WINDOW_STEPS {
        let expected = code_text(secret, step);
        if bool::from(expected.as_bytes().ct_eq(typed.as_bytes())) {
            found = Some(step);
        }
    }
    found
}

/// RFC 4648 base32 without padding, how authenticator apps take a secret typed by hand.
pub(crate) fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut text = String::new();
    for chunk in bytes.chunks(5) {
        let mut block = [0u8; 5];
        block[..chunk.len()].copy_from_slice(chunk);
        let bits = block
            .iter()
            .fold(0u64, |bits, byte| (bits << 8) | u64::from(*byte));
        let characters = (chunk.len() * 8).div_ceil(5);
        for index in 0..characters {
            let value = (bits >> (35 - 5 * index)) & 0x1f;
            text.push(char::from(ALPHABET[value as usize]));
        }
    }
    text
}

/// The secret in groups of four, easier to type: `JBSW Y3DP EHPK 3PXP`.
pub(crate) fn grouped(secret_text: &str) -> String {
    secret_text
        .as_bytes()
        .chunks(4)
        .map(|group| String::from_utf8_lossy(group).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `otpauth://` address an app reads from the enrolment QR code.
pub(crate) fn enrolment_uri(secret: &[u8], issuer: &str, account: &str) -> String {
    let escape = |text: &str| -> String {
        text.bytes()
            .map(|byte| match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                    char::from(byte).to_string()
                }
                _ => format!("%{byte:02X}"),
            })
            .collect()
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        escape(issuer),
        escape(account),
        base32(secret),
        escape(issuer),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B, SHA-1: the secret is "12345678901234567890", codes of 8
    /// digits; the last 6 of them are ours.
    #[test]
    fn codes_match_the_rfc_6238_vectors() {
        let secret = b"12345678901234567890";
        for (time, eight_digits) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(
                code_text(secret, step_of(time)),
                eight_digits[2..],
                "{time}"
            );
        }
    }

    #[test]
    fn a_code_is_accepted_one_step_either_side_and_no_further() {
        let secret = b"12345678901234567890";
        let now = 1_234_567_890;
        let step = step_of(now);
        for (offset, accepted) in [(-2, false), (-1, true), (0, true), (1, true), (2, false)] {
            let code = code_text(secret, step + offset);
            assert_eq!(
                matching_step(secret, &code, now),
                accepted.then_some(step + offset),
                "{offset}"
            );
        }
        let spaced = format!(
            "{} {}",
            &code_text(secret, step)[..3],
            &code_text(secret, step)[3..]
        );
        assert_eq!(matching_step(secret, &spaced, now), Some(step));
        assert_eq!(matching_step(secret, "12345", now), None);
        assert_eq!(matching_step(secret, "abcdef", now), None);
    }

    #[test]
    fn secrets_are_written_in_base32_for_apps() {
        // RFC 4648's test vectors.
        assert_eq!(base32(b""), "");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32(b"fo"), "MZXQ");
        assert_eq!(base32(b"foo"), "MZXW6");
        assert_eq!(base32(b"foob"), "MZXW6YQ");
        assert_eq!(base32(b"fooba"), "MZXW6YTB");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(grouped("MZXW6YTBOI"), "MZXW 6YTB OI");
        let uri = enrolment_uri(b"12345678901234567890", "OpenStopCovid", "dr.a@example.org");
        assert_eq!(
            uri,
            "otpauth://totp/OpenStopCovid:dr.a@example.org?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=OpenStopCovid&algorithm=SHA1&digits=6&period=30"
        );
        assert_ne!(new_secret(), new_secret());
    }
}
