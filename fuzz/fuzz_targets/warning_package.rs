//! A downloaded venue-warning package (protobuf `TraceWarningPackage`), matched against a
//! visit: decoding, decrypting and matching hostile reports must never panic. The first 32
//! bytes are the visited venue's location id; every report is made to name that venue,
//! so that its IV, ciphertext and MAC reach the decryption.
#![no_main]

use libfuzzer_sys::fuzz_target;
use presence::{GuestCheckIn, LocationId, TraceWarningPackage, match_guest_check_ins};
use prost::Message;

fuzz_target!(|data: &[u8]| {
    let Some((id, package)) = data.split_first_chunk::<32>() else {
        return;
    };
    let Ok(mut package) = TraceWarningPackage::decode(package) else {
        return;
    };
    let location_id = LocationId(*id);
    for report in &mut package.check_in_protected_reports {
        report.location_id_hash = location_id.hash().0.to_vec();
    }
    let visit = GuestCheckIn {
        location_id,
        description: "fuzz".into(),
        check_in: 1_700_000_000,
        check_out: 1_700_003_600,
    };
    for warning in match_guest_check_ins(&[visit], &package.check_in_protected_reports) {
        assert!(warning.overlap_window.start <= warning.overlap_window.end);
    }
});
