//! A day's batch of one metric aggregated in-process, exactly as DAP's leader and helper
//! aggregate it: each phone's measurement sharded by the Prio3 client, both aggregators'
//! preparation (the verification of the proof that the share is one bucket), each
//! aggregator's aggregate share with its own differential-privacy noise, the collector's
//! unsharding. Used by the tests and by the demo, which has no Janus to talk to.
//!
//! The VDAF draws the secret randomness of its shares from the operating system (as a
//! phone must); the nonces and the verification key, which DAP makes public or shares
//! between aggregators, come from the caller's generator.

use prio::field::{Field128, FieldElementWithInteger};
use prio::vdaf::prio3::Prio3Histogram;
use prio::vdaf::{Aggregator, AggregatorWithNoise, Client, Collector, PrepareTransition};
use rand_core::CryptoRng;

use crate::AnalyticsError;
use crate::metric::{AGGREGATORS, Metric};
use crate::privacy::Noise;

/// Prio3's verification key and nonce sizes (16 bytes each for TurboSHAKE128).
const VERIFY_KEY_SIZE: usize = 16;
const NONCE_SIZE: usize = 16;

/// What a collection gives: per bucket, the count (noisy counts may be negative).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Collected {
    pub counts: Vec<i64>,
    /// Reports in the batch (DAP tells the collector this too).
    pub report_count: u64,
}

/// The true histogram of `measurements`: how many fell in each bucket.
pub fn true_counts(metric: Metric, measurements: &[usize]) -> Vec<u64> {
    let mut counts = vec![0u64; metric.length()];
    for &bucket in measurements {
        if let Some(count) = counts.get_mut(bucket) {
            *count += 1;
        }
    }
    counts
}

/// Aggregates one batch of `metric` through Prio3's two-party preparation, with `noise`
/// added by each aggregator. `Ok(None)` when the batch is smaller than `min_batch_size`:
/// the aggregators release nothing.
pub fn aggregate_in_process<R: CryptoRng + ?Sized>(
    metric: Metric,
    measurements: &[usize],
    noise: Noise,
    min_batch_size: u64,
    rng: &mut R,
) -> Result<Option<Collected>, AnalyticsError> {
    let report_count = measurements.len() as u64;
    if report_count < min_batch_size {
        return Ok(None);
    }
    let vdaf = metric.vdaf()?;
    let mut verify_key = [0u8; VERIFY_KEY_SIZE];
    rng.fill_bytes(&mut verify_key);
    let mut output_shares: Vec<Vec<_>> = (0..AGGREGATORS).map(|_| Vec::new()).collect();
    for &measurement in measurements {
        let measurement = metric.check_bucket(measurement)?;
        let mut nonce = [0u8; NONCE_SIZE];
        rng.fill_bytes(&mut nonce);
        let (public_share, input_shares) = vdaf.shard(&measurement, &nonce)?;
        for (aggregator, share) in
            prepare(&vdaf, &verify_key, &nonce, &public_share, &input_shares)?
                .into_iter()
                .enumerate()
        {
            output_shares[aggregator].push(share);
        }
    }
    let strategy = noise.strategy()?;
    let mut aggregate_shares = Vec::with_capacity(output_shares.len());
    for shares in output_shares {
        let mut aggregate_share = vdaf.aggregate(&(), shares)?;
        if let Some(strategy) = &strategy {
            vdaf.add_noise_to_agg_share(strategy, &(), &mut aggregate_share, measurements.len())?;
        }
        aggregate_shares.push(aggregate_share);
    }
    let result = vdaf.unshard(&(), aggregate_shares, measurements.len())?;
    Ok(Some(Collected {
        counts: result.into_iter().map(signed_count).collect(),
        report_count,
    }))
}

/// Both aggregators' preparation of one report (one round for Prio3): each turns its input
/// share into a prepare share, the shares combine into the prepare message, and each
/// aggregator gets its output share once the proof checked out.
fn prepare(
    vdaf: &Prio3Histogram,
    verify_key: &[u8; VERIFY_KEY_SIZE],
    nonce: &[u8; NONCE_SIZE],
    public_share: &<Prio3Histogram as prio::vdaf::Vdaf>::PublicShare,
    input_shares: &[<Prio3Histogram as prio::vdaf::Vdaf>::InputShare],
) -> Result<Vec<<Prio3Histogram as prio::vdaf::Vdaf>::OutputShare>, AnalyticsError> {
    let mut states = Vec::with_capacity(input_shares.len());
    let mut prepare_shares = Vec::with_capacity(input_shares.len());
    for (aggregator, input_share) in input_shares.iter().enumerate() {
        let (state, share) = vdaf.prepare_init(
            verify_key,
            aggregator,
            &(),
            nonce,
            public_share,
            input_share,
        )?;
        states.push(state);
        prepare_shares.push(share);
    }
    let message = vdaf.prepare_shares_to_prepare_message(&(), prepare_shares)?;
    states
        .into_iter()
        .map(|state| match vdaf.prepare_next(state, message.clone())? {
            PrepareTransition::Finish(output_share) => Ok(output_share),
            PrepareTransition::Continue(..) => Err(AnalyticsError::UnexpectedRound),
        })
        .collect()
}

/// A field element of an aggregate read as a signed count: noise below zero wraps around
/// the field's modulus, and the upper half of the field is where it lands.
pub fn signed_count(value: u128) -> i64 {
    let modulus = Field128::modulus();
    if value > modulus / 2 {
        -i64::try_from(modulus - value).unwrap_or(i64::MAX)
    } else {
        i64::try_from(value).unwrap_or(i64::MAX)
    }
}
