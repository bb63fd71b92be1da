//! The official GAEN v1.2 test vectors (google/exposure-notifications-internals), every
//! value, plus the other published derivations and property tests of the fast path, the
//! metadata encryption and the BLE payload.

use exposure::ble::{ExposureAdvertisement, decode_advertisement};
use exposure::interval::EnIntervalNumber;
use exposure::keys::fast::{self, IDENTIFIERS_PER_BATCH};
use exposure::keys::{
    AssociatedEncryptedMetadata, BluetoothMetadata, RollingProximityIdentifier,
    TemporaryExposureKey, padded_data,
};
use proptest::prelude::*;
use serde::Deserialize;

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/vectors/gaen/crypto_test_vectors.json"
);

#[derive(Deserialize)]
struct Vectors {
    tek: String,
    rpik: String,
    aemk: String,
    bluetooth_metadata: String,
    key_generation_unix_seconds: u64,
    rolling_start_interval_number: u32,
    rolling_period: u32,
    padded_data_interval_0: String,
    intervals: Vec<Interval>,
}

#[derive(Deserialize)]
struct Interval {
    interval_number: u32,
    rpi: String,
    aem: String,
}

fn vectors() -> Vectors {
    let text = std::fs::read_to_string(VECTORS).expect("shared vectors are beside the checkout");
    serde_json::from_str(&text).expect("vector file is valid JSON")
}

fn bytes<const N: usize>(text: &str) -> [u8; N] {
    let decoded = hex::decode(text).expect("vector is hex");
    decoded.try_into().expect("vector has the expected length")
}

/// The TEK of the vectors, made the way a phone makes it: random bytes at a given time.
fn vector_key(v: &Vectors) -> TemporaryExposureKey {
    struct Replay([u8; 16]);
    impl rand_core::TryRng for Replay {
        type Error = core::convert::Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            unreachable!("key generation asks for bytes")
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            unreachable!("key generation asks for bytes")
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
            dst.copy_from_slice(&self.0[..dst.len()]);
            Ok(())
        }
    }
    impl rand_core::TryCryptoRng for Replay {}
    let now = EnIntervalNumber::from_unix_seconds(v.key_generation_unix_seconds);
    TemporaryExposureKey::generate(&mut Replay(bytes(&v.tek)), now)
}

#[test]
fn key_generation_time_gives_the_rolling_start_and_period() {
    let v = vectors();
    let tek = vector_key(&v);
    assert_eq!(tek.key_data, bytes::<16>(&v.tek));
    assert_eq!(
        tek.rolling_start_interval_number,
        EnIntervalNumber(v.rolling_start_interval_number)
    );
    assert_eq!(tek.rolling_period, v.rolling_period);
    // Generated later the same day, the key still rolls from the day's start.
    let later = TemporaryExposureKey {
        key_data: [0; 16],
        ..tek
    };
    let afternoon = EnIntervalNumber::from_unix_seconds(v.key_generation_unix_seconds + 15 * 3600);
    assert_eq!(afternoon.day_start(), later.rolling_start_interval_number);
}

#[test]
fn rpik_aemk_and_padded_data_equal_the_vectors() {
    let v = vectors();
    let tek = vector_key(&v);
    assert_eq!(
        tek.rolling_proximity_identifier_key().0,
        bytes::<16>(&v.rpik)
    );
    assert_eq!(
        tek.associated_encrypted_metadata_key().0,
        bytes::<16>(&v.aemk)
    );
    let (rpik, aemk) = fast::identifier_and_metadata_keys(&tek.key_data);
    assert_eq!(rpik.0, bytes::<16>(&v.rpik));
    assert_eq!(aemk.0, bytes::<16>(&v.aemk));
    assert_eq!(
        padded_data(EnIntervalNumber(v.rolling_start_interval_number)),
        bytes::<16>(&v.padded_data_interval_0)
    );
}

#[test]
fn all_144_rpis_and_aems_equal_the_vectors() {
    let v = vectors();
    let tek = vector_key(&v);
    let rpik = tek.rolling_proximity_identifier_key();
    let aemk = tek.associated_encrypted_metadata_key();
    let metadata = BluetoothMetadata::from_bytes(bytes(&v.bluetooth_metadata));
    assert_eq!(metadata.tx_power(), Some(8));
    assert_eq!(v.intervals.len(), 144);

    let mut batch = [[0u8; 16]; IDENTIFIERS_PER_BATCH];
    fast::rolling_proximity_identifiers(&rpik, tek.rolling_start_interval_number, &mut batch);
    let intervals: Vec<EnIntervalNumber> = tek.broadcast_intervals().collect();
    assert_eq!(intervals.len(), 144);

    for (j, expected) in v.intervals.iter().enumerate() {
        let interval = EnIntervalNumber(expected.interval_number);
        assert_eq!(intervals[j], interval);
        let rpi = rpik.rolling_proximity_identifier(interval);
        assert_eq!(rpi.0, bytes::<16>(&expected.rpi), "RPI of {interval}");
        assert_eq!(batch[j], rpi.0, "batched RPI of {interval}");
        let aem = aemk.encrypt(&rpi, metadata);
        assert_eq!(aem.0, bytes::<4>(&expected.aem), "AEM of {interval}");
        assert_eq!(aemk.decrypt(&rpi, aem), metadata);
    }
}

#[test]
fn more_published_derivations() {
    for (tek, rpik, interval, rpi) in [
        (
            "172fc480e598490c34177604339b1543",
            "069133794970fe9d2c8778bb4256173a",
            2_649_980,
            "9d8833fab07f3897eff530e1e550a44b",
        ),
        (
            "2b63053ac483238de176169e861f3dcd",
            "d7a73c519682cab51fec1c1b39cb418d",
            2_649_866,
            "e701abe1763d2f30f0487c3daf0af30a",
        ),
        // From unsigned_export_110_keys.bin (vectors/README.md): RPIK not published.
        (
            "2b714d3ec93c14e5d345003e59027aea",
            "",
            2_646_801,
            "3d37caf51d1bf4ba54e758e0ac74c892",
        ),
    ] {
        let key = TemporaryExposureKey {
            key_data: bytes(tek),
            rolling_start_interval_number: EnIntervalNumber(interval),
            rolling_period: 144,
        };
        let derived = key.rolling_proximity_identifier_key();
        if !rpik.is_empty() {
            assert_eq!(derived.0, bytes::<16>(rpik), "RPIK of {tek}");
        }
        assert_eq!(
            fast::rolling_proximity_identifier_key(&key.key_data),
            derived
        );
        assert_eq!(
            derived
                .rolling_proximity_identifier(EnIntervalNumber(interval))
                .0,
            bytes::<16>(rpi),
            "RPI of {tek}"
        );
    }
}

#[test]
fn key_material_is_not_printed_by_debug() {
    let v = vectors();
    let tek = vector_key(&v);
    let printed = format!(
        "{tek:?} {:?} {:?}",
        tek.rolling_proximity_identifier_key(),
        tek.associated_encrypted_metadata_key()
    );
    for secret in [&v.tek, &v.rpik, &v.aemk] {
        assert!(!printed.contains(secret.as_str()), "{printed}");
    }
    assert!(printed.contains("redacted"));
    // Public values are printed, in hex, so that logs stay useful.
    let rpi = RollingProximityIdentifier(bytes(&v.intervals[0].rpi));
    assert_eq!(
        format!("{rpi:?}"),
        format!("RollingProximityIdentifier({})", v.intervals[0].rpi)
    );
}

proptest! {
    #[test]
    fn metadata_decrypts_to_what_was_encrypted(tek: [u8; 16], interval: u32, metadata: [u8; 4]) {
        let key = TemporaryExposureKey {
            key_data: tek,
            rolling_start_interval_number: EnIntervalNumber(interval),
            rolling_period: 144,
        };
        let rpi = key.rolling_proximity_identifier_key().rolling_proximity_identifier(EnIntervalNumber(interval));
        let aemk = key.associated_encrypted_metadata_key();
        let metadata = BluetoothMetadata::from_bytes(metadata);
        prop_assert_eq!(aemk.decrypt(&rpi, aemk.encrypt(&rpi, metadata)), metadata);
    }

    #[test]
    fn fast_path_equals_reference_path(tek: [u8; 16], start: u32) {
        let key = TemporaryExposureKey {
            key_data: tek,
            rolling_start_interval_number: EnIntervalNumber(start),
            rolling_period: 144,
        };
        let rpik = key.rolling_proximity_identifier_key();
        let (fast_rpik, fast_aemk) = fast::identifier_and_metadata_keys(&tek);
        prop_assert_eq!(fast_rpik, rpik);
        prop_assert_eq!(fast_aemk, key.associated_encrypted_metadata_key());
        let mut batch = [[0u8; 16]; IDENTIFIERS_PER_BATCH];
        fast::rolling_proximity_identifiers(&fast_rpik, EnIntervalNumber(start), &mut batch);
        for (j, interval) in key.broadcast_intervals().enumerate() {
            prop_assert_eq!(batch[j], rpik.rolling_proximity_identifier(interval).0);
        }
    }

    #[test]
    fn advertisement_round_trips(rpi: [u8; 16], aem: [u8; 4]) {
        let advertisement = ExposureAdvertisement {
            rpi: RollingProximityIdentifier(rpi),
            aem: AssociatedEncryptedMetadata(aem),
        };
        prop_assert_eq!(decode_advertisement(&advertisement.to_advertisement()), Ok(advertisement));
        prop_assert_eq!(
            ExposureAdvertisement::from_service_data(&advertisement.to_service_data()),
            Ok(advertisement)
        );
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let _ = decode_advertisement(&bytes);
        let _ = ExposureAdvertisement::from_service_data(&bytes);
    }

    #[test]
    fn decoding_mutated_advertisements_never_panics(
        rpi: [u8; 16],
        position in 0usize..31,
        value: u8,
        cut in 0usize..=31,
    ) {
        let advertisement = ExposureAdvertisement {
            rpi: RollingProximityIdentifier(rpi),
            aem: AssociatedEncryptedMetadata([0; 4]),
        };
        let mut bytes = advertisement.to_advertisement();
        bytes[position] = value;
        let _ = decode_advertisement(&bytes[..cut]);
        let _ = decode_advertisement(&bytes);
    }
}
