//! Properties that must hold for every input, not just the published vectors.

use presence::{
    CheckIn, CheckInRecord, CodeFormat, DEFAULT_QR_CODE_PREFIX, LocationId, ReportError,
    TimeWindow, Venue, VenueType, decode_payload, decode_qr_url, derive_time,
    encrypt_check_in_record_with_iv, match_guest_check_ins, prepare_upload,
};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

fn record() -> impl Strategy<Value = CheckInRecord> {
    (any::<u32>(), 0u32..=144, 1u32..=8).prop_map(|(start, period, level)| CheckInRecord {
        start_interval_number: start,
        period,
        transmission_risk_level: level,
    })
}

/// One line of 1–100 printable characters (what a venue owner may type).
fn one_line() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 äöüßéèçñ,.'&()-]{1,100}".prop_filter("not blank", |s| !s.trim().is_empty())
}

proptest! {
    #[test]
    fn reports_decrypt_to_what_was_encrypted(id in any::<[u8; 32]>(), record in record(), iv in any::<[u8; 16]>()) {
        let location_id = LocationId(id);
        let report = encrypt_check_in_record_with_iv(&location_id, &record, iv);
        prop_assert_eq!(report.decrypt(&location_id), Ok(record));
    }

    #[test]
    fn any_altered_byte_fails_the_mac(
        id in any::<[u8; 32]>(),
        record in record(),
        iv in any::<[u8; 16]>(),
        position in 0usize..(16 + 16 + 32),
        flip in 1u8..=255,
    ) {
        let location_id = LocationId(id);
        let mut report = encrypt_check_in_record_with_iv(&location_id, &record, iv);
        match position {
            p if p < 16 => report.iv[p] ^= flip,
            p if p < 32 => report.encrypted_check_in_record[p - 16] ^= flip,
            p => report.mac[p - 32] ^= flip,
        }
        prop_assert_eq!(report.decrypt(&location_id), Err(ReportError::MacMismatch));
    }

    #[test]
    fn decoding_any_text_never_panics(text in any::<String>()) {
        let _ = decode_qr_url(&text);
    }

    #[test]
    fn decoding_any_fragment_behind_a_known_prefix_never_panics(
        prefix in prop::sample::select(vec![
            DEFAULT_QR_CODE_PREFIX,
            "https://e.coronawarn.app?v=1#",
            "https://qr.notify-me.ch?v=3#",
            "https://qr.swisscovid.ch?v=4#",
        ]),
        fragment in "[A-Za-z0-9_+/=-]{0,400}",
    ) {
        let _ = decode_qr_url(&format!("{prefix}{fragment}"));
    }

    #[test]
    fn decoding_any_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        for format in [CodeFormat::OpenStopCovid, CodeFormat::Cwa, CodeFormat::CrowdNotifier] {
            let _ = decode_payload(format, &bytes);
        }
    }

    #[test]
    fn a_created_code_reads_back_with_every_field(
        description in one_line(),
        address in one_line(),
        type_index in 0usize..13,
        start in 1u64..4_000_000_000,
        length in 1u64..1_000_000,
        minutes in prop::option::of(1u32..=1440),
        seed in any::<u64>(),
    ) {
        let venue_type = VenueType::ALL[type_index];
        let mut venue = Venue::new(description.clone(), address.clone(), venue_type);
        if venue_type.is_temporary() {
            venue = venue.with_time_window(start, start + length);
        }
        if let Some(minutes) = minutes {
            venue = venue.with_default_check_in_length_minutes(minutes);
        }
        let mut rng = StdRng::seed_from_u64(seed);
        let created = venue.create_qr_code(DEFAULT_QR_CODE_PREFIX, &mut rng).unwrap();
        let scanned = decode_qr_url(&created.url).unwrap();
        prop_assert_eq!(&scanned, &created);
        prop_assert_eq!(scanned.format, CodeFormat::OpenStopCovid);
        prop_assert_eq!(&scanned.description, &description);
        prop_assert_eq!(&scanned.address, &address);
        prop_assert_eq!(scanned.venue_type, Some(venue_type));
        prop_assert_eq!(scanned.default_check_in_length_minutes, minutes);
        let (expected_start, expected_end) = venue.time_window.unwrap_or((0, 0));
        prop_assert_eq!(scanned.start_timestamp, expected_start);
        prop_assert_eq!(scanned.end_timestamp, expected_end);
        prop_assert_eq!(scanned.location_id, LocationId::from_qr_payload(&scanned.raw_payload));
    }

    #[test]
    fn derived_windows_are_aligned_and_cover_part_of_the_stay(
        check_in in 1_600_000_000u64..1_700_000_000,
        stay in 0u64..(3 * 86_400),
    ) {
        let check_out = check_in + stay;
        match derive_time(check_in, check_out) {
            None => prop_assert!(stay < 600),
            Some(window) => {
                prop_assert!(stay >= 600);
                prop_assert_eq!(window.start % 600, 0);
                prop_assert_eq!(window.end % 600, 0);
                prop_assert!(window.end > window.start);
                prop_assert!(window.overlap_seconds(&TimeWindow::new(check_in, check_out)) > 0);
                // At most 30 minutes of aerosol plus one interval of rounding.
                prop_assert!(window.duration_seconds() <= stay + 1800 + 600);
            }
        }
    }

    #[test]
    fn every_upload_is_whole_buckets_and_warns_a_guest_who_was_there(
        check_in in 1_600_000_000u64..1_700_000_000,
        stay in 600u64..(2 * 86_400),
        level in 3u32..=8,
        seed in any::<u64>(),
    ) {
        let venue = LocationId([9; 32]);
        let mut rng = StdRng::seed_from_u64(seed);
        let upload = prepare_upload(
            &[CheckIn { location_id: venue, check_in, check_out: check_in + stay, transmission_risk_level: level }],
            &mut rng,
        );
        prop_assert_eq!(upload.len() % presence::upload::UPLOAD_REPORT_BUCKET, 0);
        // A guest there through the reporter's stay and the aerosol time after it. (One
        // who left with the reporter may share as little as a second with the reported
        // window: CWA's derivation rounds it toward the aerosol end, e.g. a stay of
        // 11 min 11 s from hh:08:50 is reported as hh:10–hh:30.)
        let guest = presence::GuestCheckIn {
            location_id: venue,
            description: "Venue".into(),
            check_in,
            check_out: check_in + stay + 1800 + 600,
        };
        prop_assert!(!match_guest_check_ins(&[guest], &upload).is_empty());
    }
}
