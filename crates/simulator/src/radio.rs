//! Distance to Bluetooth attenuation and RSSI, with the noise real phones see.
//!
//! The model is the log-distance path loss used throughout the Bluetooth proximity
//! literature, `A(d) = A₁ + 10·n·log10(d)` dB, plus a normal per-scan noise:
//!
//! - `A₁ = 48 dB` at one metre and `n = 2.5` put the mean attenuation at 48 dB at 1 m,
//!   58 dB at 2.5 m and 70 dB at 8 m: the distances the LFPH Risk Score Symposium's
//!   attenuation buckets (55 / 67 / 75 dB, our GAEN defaults, `exposure::risk`) were drawn to
//!   separate, on Google/Apple's calibration, in which each phone model's TX power and RSSI
//!   correction (Google's published `en-calibration` table) make `attenuation = TX power −
//!   (RSSI + correction)` comparable across models. `n` between 2 (free space) and 3 is what
//!   indoor BLE measurements report.
//! - Noise: σ = 4 dB per scan, for a phone held in a hand or a pocket in an open room. It is
//!   *optimistic*: Leith and Farrell measured swings of 10–20 dB from body orientation,
//!   pockets and handbags alone ("Coronavirus contact tracing: evaluating the potential of
//!   using Bluetooth received signal strength for proximity detection", ACM SIGCOMM CCR
//!   50(4), 2020), and in metal-rich places (a light-rail tram, PLoS ONE 15(9) e0239943,
//!   2020; a commuter bus, PLoS ONE 16(4) e0250826, 2021) attenuation hardly grew with
//!   distance at all, so that the Swiss, German and Italian GAEN rules they tested did little
//!   better than picking pairs at random. The simulator has no such places: its proximity
//!   figures are an upper bound on what the field would give.
//!
//! The observing phone sees `RSSI = tx_power − A`, where `tx_power` is what the broadcasting
//! phone advertises in its Bluetooth metadata.

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
