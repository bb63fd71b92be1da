//! Distance to Bluetooth attenuation and RSSI, with the noise real phones see.
//!
//! Attenuation follows a log-distance path-loss model fitted to the field measurements
//! that informed GAEN's attenuation buckets (about 50 dB at 1 m, 60 dB at 2.5–3 m, 70 dB
//! near 8 m): `A(d) = 48 + 25·log10(d)` dB, plus the body-shadowing and multipath noise
//! of a phone in a pocket (normal, σ = 4 dB). The observing phone sees
//! `RSSI = tx_power − A`, where `tx_power` is what the broadcasting phone advertises in its
//! Bluetooth metadata.

use rand::{Rng, RngExt};

/// Attenuation at one metre, dB.
pub const ATTENUATION_AT_ONE_METRE_DB: f64 = 48.0;

/// Path-loss exponent × 10.
pub const PATH_LOSS_SLOPE_DB: f64 = 25.0;

/// Standard deviation of the per-scan noise, dB.
pub const NOISE_SIGMA_DB: f64 = 4.0;

/// The mean attenuation at `distance_m` metres (at least 0.3 m: phones are never closer).
pub fn mean_attenuation_db(distance_m: f64) -> f64 {
    ATTENUATION_AT_ONE_METRE_DB + PATH_LOSS_SLOPE_DB * distance_m.max(0.3).log10()
}

/// The RSSI one scan reports for a phone at `distance_m` that advertises `tx_power` dBm.
pub fn sample_rssi(distance_m: f64, tx_power: i8, rng: &mut impl Rng) -> i8 {
    let attenuation = mean_attenuation_db(distance_m) + normal(rng) * NOISE_SIGMA_DB;
    (f64::from(tx_power) - attenuation)
        .round()
        .clamp(-127.0, 0.0) as i8
}

/// A standard normal sample (Box–Muller), so the simulator needs no distribution crate.
fn normal(rng: &mut impl Rng) -> f64 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random_range(0.0..1.0);
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn closer_is_louder_on_average() {
        let mut rng = StdRng::seed_from_u64(3);
        let mean = |d: f64, rng: &mut StdRng| {
            (0..2000)
                .map(|_| f64::from(sample_rssi(d, 8, rng)))
                .sum::<f64>()
                / 2000.0
        };
        let near = mean(1.0, &mut rng);
        let far = mean(8.0, &mut rng);
        assert!((near - (8.0 - 48.0)).abs() < 1.0, "1 m gives {near} dBm");
        assert!(
            far < near - 20.0,
            "8 m ({far}) must be much weaker than 1 m ({near})"
        );
    }
}
