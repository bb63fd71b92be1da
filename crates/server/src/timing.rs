//! Fake and real requests answer in the same time.
//!
//! Phones send fake code checks and uploads so that an observer of the network cannot
//! tell a patient from anybody else. That fails if a fake answers faster than a real one:
//! a real upload waits for its commit (milliseconds alone, seconds under load), a fake
//! writes nothing. So every such request answers no sooner than `min_response_millis`,
//! and a fake waits in addition as long as a *recent real request of the same endpoint
//! took to do its work* (one drawn at random from the last [`RECENT`]). Both kinds then
//! take `max(minimum, W)` with `W` from the same distribution, whatever the load.
//!
//! Only durations are kept, never anything about a request.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use rand::RngExt;

use crate::state::AppState;

/// Real work durations kept per endpoint.
pub const RECENT: usize = 64;

/// The endpoints whose fake and real requests must look alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Verify = 0,
    Keys = 1,
    NextDayKeys = 2,
    CheckIns = 3,
    VenueWarning = 4,
}

/// What a request turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Did the real work (its duration is recorded).
    Real,
    /// A fake: waits as long as a recent real one.
    Fake,
    /// Refused before the real and fake paths part (bad token, bad body...).
    Refused,
}

/// Recent real work durations per endpoint.
#[derive(Default)]
pub struct Timings {
    recent: [Mutex<VecDeque<Duration>>; 5],
}

impl Timings {
    fn record(&self, endpoint: Endpoint, worked: Duration) {
        let mut recent = self.recent[endpoint as usize]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if recent.len() == RECENT {
            recent.pop_front();
        }
        recent.push_back(worked);
    }

    fn sample(&self, endpoint: Endpoint) -> Duration {
        let recent = self.recent[endpoint as usize]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if recent.is_empty() {
            return Duration::ZERO;
        }
        let index = rand::rng().random_range(0..recent.len());
        recent[index]
    }
}

/// Runs `work` (which says what the request turned out to be; an error is
/// [`Kind::Refused`]), then answers when a request of that endpoint answers, whatever its
/// kind (see the module's documentation).
pub(crate) async fn answer_alike<T, E>(
    state: &AppState,
    endpoint: Endpoint,
    start: tokio::time::Instant,
    work: impl Future<Output = Result<(T, Kind), E>>,
) -> Result<T, E> {
    let (result, kind) = match work.await {
        Ok((value, kind)) => (Ok(value), kind),
        Err(error) => (Err(error), Kind::Refused),
    };
    let minimum = Duration::from_millis(state.config.min_response_millis);
    let wait = match kind {
        Kind::Real => {
            let worked = start.elapsed();
            state.timings.record(endpoint, worked);
            minimum.max(worked)
        }
        Kind::Fake => minimum.max(state.timings.sample(endpoint)),
        Kind::Refused => minimum,
    };
    // Every kind goes through one timer, even a real request whose time is already up: the
    // timer's rounding and wake-up (about a millisecond) would otherwise be added to
    // fakes alone, which is enough to tell them apart.
    tokio::time::sleep_until(start + wait + TIMER_SLACK).await;
    result
}

/// Added to every answer's time so that all of them wake from a timer.
const TIMER_SLACK: Duration = Duration::from_millis(1);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fakes_draw_from_the_real_durations_of_their_endpoint_only() {
        let timings = Timings::default();
        assert_eq!(timings.sample(Endpoint::Keys), Duration::ZERO);
        for millis in [300, 900, 3600] {
            timings.record(Endpoint::Keys, Duration::from_millis(millis));
        }
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            seen.insert(timings.sample(Endpoint::Keys).as_millis());
        }
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![300, 900, 3600]);
        assert_eq!(timings.sample(Endpoint::CheckIns), Duration::ZERO);
        for _ in 0..RECENT + 10 {
            timings.record(Endpoint::Verify, Duration::from_millis(5));
        }
        assert_eq!(timings.recent[0].lock().unwrap().len(), RECENT);
    }
}
