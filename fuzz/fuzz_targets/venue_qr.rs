//! A scanned QR code (any text a camera may read): decoding must never panic, and a
//! venue that decodes must give a location id and an automatic check-out time.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(code) = presence::decode_qr_url(text) {
        let _ = code.location_id_hash();
        let check_out = code.automatic_check_out(1_700_000_000);
        assert!(check_out >= 1_700_000_000);
    }
});
