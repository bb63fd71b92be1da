//! The privacy parameters and their arithmetic (docs/analytics.md explains them).
//!
//! Each aggregator adds discrete-Laplace noise to its aggregate share of every histogram
//! (`prio`'s `PureDpDiscreteLaplace`, the strategy Janus runs), calibrated so that its noise
//! alone makes the day's histogram ε-differentially private: the result stays private as
//! long as one of the two aggregators is honest. A Prio3 histogram has L1 sensitivity 2
//! under substitution (one phone's answer moves one count down and another up), so the
//! scale of the noise is `2 / ε` per bucket and per aggregator.

use prio::dp::distributions::PureDpDiscreteLaplace;
use prio::dp::{DifferentialPrivacyStrategy, PureDpBudget, Rational};

use crate::AnalyticsError;
use crate::metric::Metric;

/// ε of one metric's daily batch, as a fraction (numerator, denominator).
pub const DEFAULT_EPSILON: (u32, u32) = (1, 1);

/// The smallest batch the aggregators release. Below it a collection gives nothing.
pub const DEFAULT_MIN_BATCH_SIZE: u64 = 100;

/// L1 sensitivity of a Prio3 histogram under substitution of one phone's measurement.
pub const HISTOGRAM_SENSITIVITY: f64 = 2.0;

/// Days a phone keeps anything (and so the horizon the budget is written down over).
pub const HORIZON_DAYS: u32 = 14;

/// The noise the aggregators add.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Noise {
    /// None: exact counts (tests, and a demo's truth).
    Exact,
    /// Discrete Laplace noise giving ε-DP per batch, ε = numerator / denominator.
    PureDp { numerator: u32, denominator: u32 },
}

impl Noise {
    /// The default: ε = 1 per daily batch.
    pub const DEFAULT: Noise = Noise::PureDp {
        numerator: DEFAULT_EPSILON.0,
        denominator: DEFAULT_EPSILON.1,
    };

    /// ε as a number, `None` without noise.
    pub fn epsilon(self) -> Option<f64> {
        match self {
            Noise::Exact => None,
            Noise::PureDp {
                numerator,
                denominator,
            } => Some(f64::from(numerator) / f64::from(denominator)),
        }
    }

    /// The `prio` strategy of this noise (what a Janus task's `dp_strategy` names).
    pub(crate) fn strategy(self) -> Result<Option<PureDpDiscreteLaplace>, AnalyticsError> {
        match self {
            Noise::Exact => Ok(None),
            Noise::PureDp {
                numerator,
                denominator,
            } => {
                let epsilon = Rational::from_unsigned(numerator, denominator)?;
                Ok(Some(PureDpDiscreteLaplace::from_budget(PureDpBudget::new(
                    epsilon,
                )?)))
            }
        }
    }
}

/// Scale `b` of the discrete Laplace noise each aggregator adds to each bucket:
/// P(k) ∝ exp(-|k| / b), b = sensitivity / ε.
pub fn laplace_scale(epsilon: f64) -> f64 {
    HISTOGRAM_SENSITIVITY / epsilon
}

/// Standard deviation of one aggregator's noise in one bucket:
/// variance = 2 e^(-1/b) / (1 - e^(-1/b))².
pub fn noise_standard_deviation(epsilon: f64) -> f64 {
    let ratio = (-1.0 / laplace_scale(epsilon)).exp();
    (2.0 * ratio / (1.0 - ratio).powi(2)).sqrt()
}

/// A bound `B` such that a bucket of a collected histogram (both aggregators' noise added)
/// is within `±B` of the true count with probability at least `1 - failure_probability`.
///
/// One aggregator's noise `X` has P(|X| ≥ k) = 2 e^(-k/b) / (1 + e^(-1/b)) ≤ 2 e^(-k/b).
/// The sum of two exceeds `2k` only if one of them exceeds `k`, so
/// P(|X₁ + X₂| ≥ 2k) ≤ 4 e^(-k/b): take k = ⌈b ln(4/δ)⌉ and B = 2k.
pub fn collected_noise_bound(epsilon: f64, failure_probability: f64) -> u64 {
    let scale = laplace_scale(epsilon);
    let k = (scale * (4.0 / failure_probability).ln()).ceil();
    2 * k as u64
}

/// ε a phone spends per day: basic composition over the metrics it sends, each a separate
/// batch released with ε.
pub fn epsilon_per_phone_per_day(epsilon_per_batch: f64) -> f64 {
    epsilon_per_batch * Metric::ALL.len() as f64
}

/// ε a phone spends over the retention horizon, by basic composition of its days.
pub fn epsilon_per_phone_over_horizon(epsilon_per_batch: f64) -> f64 {
    epsilon_per_phone_per_day(epsilon_per_batch) * f64::from(HORIZON_DAYS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epsilon_one_gives_the_numbers_of_the_documentation() {
        assert_eq!(laplace_scale(1.0), 2.0);
        let deviation = noise_standard_deviation(1.0);
        assert!((deviation - 2.80).abs() < 0.01, "{deviation}");
        assert_eq!(collected_noise_bound(1.0, 1e-9), 90);
        assert_eq!(epsilon_per_phone_per_day(1.0), 9.0);
        assert_eq!(epsilon_per_phone_over_horizon(1.0), 126.0);
    }
}
