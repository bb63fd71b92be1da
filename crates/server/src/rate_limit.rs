//! The guessing defence of `POST /v1/codes/verify`: how many code checks one client may
//! make, and how many failed checks the server accepts, over time. The arithmetic is
//! `governor`'s GCRA (a sliding window: a client that used its burst gets one more check
//! each `60 / per_minute` seconds, so there is no window boundary to burst across),
//! driven by the server's [`Clock`] so that tests move time instead of sleeping.
//!
//! Clients are keyed by a truncated SHA-256 of a per-process random salt and their IP
//! address: the limiter never holds an address, and the salt dies with the process. An
//! IPv6 client is keyed by its /64, which one user usually holds whole.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use governor::clock::Reference;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use sha2::{Digest, Sha256};

use crate::clock::SharedClock;

/// Most clients tracked at once; past it, forgotten clients are dropped, and if the flood
/// is still that large new checks are refused (a flood of addresses must not exhaust memory).
pub const MAX_TRACKED_CLIENTS: usize = 1_000_000;

/// The server's clock as `governor` sees it: nanoseconds since the epoch.
#[derive(Clone)]
struct GovernorClock(SharedClock);

impl governor::clock::Clock for GovernorClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        let seconds = u64::try_from(self.0.now_unix_seconds()).unwrap_or(0);
        Nanos::from(Duration::from_secs(seconds))
    }
}

type ClientLimiter =
    RateLimiter<[u8; 16], DefaultKeyedStateStore<[u8; 16]>, GovernorClock, NoOpMiddleware<Nanos>>;
type FailureLimiter = RateLimiter<NotKeyed, InMemoryState, GovernorClock, NoOpMiddleware<Nanos>>;

/// Limits code checks per client and failed checks per server.
pub(crate) struct VerifyLimiter {
    clock: GovernorClock,
    salt: [u8; 16],
    clients: ClientLimiter,
    failures: FailureLimiter,
    /// Unix second until which the failure budget is spent (0: it is not).
    failures_exhausted_until: AtomicI64,
}

impl VerifyLimiter {
    /// `per_client_per_minute` checks per client, `failures_per_hour` failed checks in all;
    /// 0 in either refuses every check.
    pub(crate) fn new(
        clock: SharedClock,
        per_client_per_minute: u32,
        failures_per_hour: u32,
    ) -> Self {
        let clock = GovernorClock(clock);
        let mut salt = [0u8; 16];
        rand::fill(&mut salt);
        let per_minute =
            Quota::per_minute(NonZeroU32::new(per_client_per_minute).unwrap_or(NonZeroU32::MIN));
        let per_hour =
            Quota::per_hour(NonZeroU32::new(failures_per_hour).unwrap_or(NonZeroU32::MIN));
        let refuse_all = per_client_per_minute == 0 || failures_per_hour == 0;
        Self {
            clients: RateLimiter::new(per_minute, DefaultKeyedStateStore::default(), clock.clone()),
            failures: RateLimiter::direct_with_clock(per_hour, clock.clone()),
            failures_exhausted_until: AtomicI64::new(if refuse_all { i64::MAX } else { 0 }),
            clock,
            salt,
        }
    }

    fn client_key(&self, peer: SocketAddr) -> [u8; 16] {
        let mut hasher = Sha256::new();
        hasher.update(self.salt);
        match peer.ip() {
            IpAddr::V4(ip) => hasher.update(ip.octets()),
            IpAddr::V6(ip) => hasher.update(&ip.octets()[..8]),
        }
        let digest = hasher.finalize();
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        key
    }

    /// Counts one check by `peer`; false when the client is over its limit.
    pub(crate) fn admit(&self, peer: SocketAddr) -> bool {
        if self.clients.len() >= MAX_TRACKED_CLIENTS {
            self.clients.retain_recent();
            if self.clients.len() >= MAX_TRACKED_CLIENTS {
                return false;
            }
        }
        self.clients.check_key(&self.client_key(peer)).is_ok()
    }

    /// Whether the server's budget of failed checks is spent for now.
    pub(crate) fn failure_budget_exhausted(&self) -> bool {
        let now = self.clock.0.now_unix_seconds();
        now < self.failures_exhausted_until.load(Ordering::Relaxed)
    }

    /// Counts one failed check against the server's budget.
    pub(crate) fn record_failure(&self) {
        if let Err(not_until) = self.failures.check() {
            let wait = not_until
                .earliest_possible()
                .duration_since(governor::clock::Clock::now(&self.clock));
            let now = self.clock.0.now_unix_seconds();
            let until = now.saturating_add(
                i64::try_from(Duration::from(wait).as_secs().max(1)).unwrap_or(i64::MAX),
            );
            self.failures_exhausted_until
                .fetch_max(until, Ordering::Relaxed);
        }
    }

    /// Forgets clients whose limit has fully recovered (called by the periodic jobs, so
    /// that memory follows the clients of the last minute).
    pub(crate) fn forget_idle_clients(&self) {
        self.clients.retain_recent();
        self.clients.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::MockClock;

    #[test]
    fn each_client_gets_its_checks_per_minute_and_then_one_more_per_share_of_a_minute() {
        let clock = MockClock::new(1_700_000_000);
        let limiter = VerifyLimiter::new(Arc::new(clock.clone()), 2, 1000);
        let alice: SocketAddr = "192.0.2.1:5000".parse().unwrap();
        let alice_other_port: SocketAddr = "192.0.2.1:6000".parse().unwrap();
        let bob: SocketAddr = "192.0.2.2:5000".parse().unwrap();
        assert!(limiter.admit(alice));
        assert!(
            limiter.admit(alice_other_port),
            "one client is one address, any port"
        );
        assert!(!limiter.admit(alice));
        assert!(limiter.admit(bob), "another client has its own budget");
        clock.advance(29);
        assert!(!limiter.admit(alice), "no window boundary to burst across");
        clock.advance(1);
        assert!(
            limiter.admit(alice),
            "one check back every 30 s at 2 a minute"
        );
        assert!(!limiter.admit(alice));
    }

    #[test]
    fn an_ipv6_client_is_its_slash_64() {
        let clock = MockClock::new(1_700_000_000);
        let limiter = VerifyLimiter::new(Arc::new(clock), 1, 1000);
        let one: SocketAddr = "[2001:db8:1:2::1]:443".parse().unwrap();
        let same_64: SocketAddr = "[2001:db8:1:2::ffff]:443".parse().unwrap();
        let other_64: SocketAddr = "[2001:db8:1:3::1]:443".parse().unwrap();
        assert!(limiter.admit(one));
        assert!(!limiter.admit(same_64));
        assert!(limiter.admit(other_64));
    }

    #[test]
    fn the_failure_budget_is_spent_by_failures_and_comes_back_with_time() {
        let clock = MockClock::new(1_700_000_000);
        let limiter = VerifyLimiter::new(Arc::new(clock.clone()), 10, 3);
        for _ in 0..3 {
            assert!(!limiter.failure_budget_exhausted());
            limiter.record_failure();
        }
        assert!(
            !limiter.failure_budget_exhausted(),
            "three failures fit a budget of three"
        );
        limiter.record_failure();
        assert!(limiter.failure_budget_exhausted());
        clock.advance(3600);
        assert!(!limiter.failure_budget_exhausted());
    }

    #[test]
    fn idle_clients_are_forgotten() {
        let clock = MockClock::new(1_700_000_000);
        let limiter = VerifyLimiter::new(Arc::new(clock.clone()), 2, 10);
        for last in 0..100u8 {
            assert!(limiter.admit(SocketAddr::from(([198, 51, 100, last], 1))));
        }
        assert_eq!(limiter.clients.len(), 100);
        clock.advance(60);
        limiter.forget_idle_clients();
        assert_eq!(limiter.clients.len(), 0);
    }
}
