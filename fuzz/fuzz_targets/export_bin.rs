//! A bare `export.bin`, decoded whole: must never panic, and a file that decodes must
//! re-encode (when within the writer's limits) to bytes that decode to the same batch,
//! keys sorted as the writer sorts them.
#![no_main]

use exposure::export;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut batch) = export::decode_export_bin(data) else {
        return;
    };
    if let Ok(encoded) = export::encode_export_bin(&batch) {
        let again = export::decode_export_bin(&encoded).expect("our own encoding must decode");
        batch.keys.sort_by_key(|key| key.key.key_data);
        batch.revised_keys.sort_by_key(|key| key.key.key_data);
        assert_eq!(again, batch);
    }
});
