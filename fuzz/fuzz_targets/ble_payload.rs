//! A received Bluetooth LE advertisement (or bare service data): decoding must never
//! panic, and what decodes must come back unchanged through our own encoding.
#![no_main]

use exposure::ble::{self, ExposureAdvertisement};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(advertisement) = ble::decode_advertisement(data) {
        let again = ble::decode_advertisement(&advertisement.to_advertisement())
            .expect("our own advertisement must decode");
        assert_eq!(again.to_service_data(), advertisement.to_service_data());
    }
    if let Ok(payload) = ExposureAdvertisement::from_service_data(data) {
        assert_eq!(payload.to_service_data().as_slice(), data);
    }
});
