//! The guessing defence of `POST /v1/codes/verify`: how many code checks one client may
//! make, and how many failed checks one network may make, over time. The arithmetic is
//! `governor`'s GCRA (a sliding window: a client that used its burst gets one more check
//! each `60 / per_minute` seconds, so there is no window boundary to burst across),
//! driven by the server's [`Clock`] so that tests move time instead of sleeping.
//!
//! - A client is an IPv4 address or an IPv6 /64 (which one user usually holds whole).
//! - Failed checks of well-formed codes are budgeted per hour for each network at two
//!   levels: a site (IPv4 /24, IPv6 /48) gets the configured budget, a provider's block
//!   (IPv4 /16, IPv6 /32) [`PROVIDER_BUDGET_FACTOR`] times as much, so that an attacker
//!   cannot multiply the budget by the 65,536 sites of one IPv6 /32. There is no
//!   server-wide budget, which would be an off-switch for every patient that anyone with a
//!   few addresses could flip.
//! - Behind a load balancer the client is read from `X-Forwarded-For` of trusted proxies
//!   only ([`crate::config::TrustedProxies`]).
//!
//! Clients and networks are keyed by a truncated SHA-256 of a per-process random salt and
//! the address: the limiter never holds an address, and the salt dies with the process.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{NotUntil, Quota, RateLimiter};
use sha2::{Digest, Sha256};

use crate::client_address::client_prefix;
use crate::clock::SharedClock;

/// Most clients (or networks) tracked at once; past it, forgotten ones are dropped, and if
/// the flood is still that large new checks are refused (a flood of addresses must not
/// exhaust memory).
pub const MAX_TRACKED_CLIENTS: usize = 1_000_000;

/// A provider's block (IPv4 /16, IPv6 /32) may fail this many times a site's budget.
pub const PROVIDER_BUDGET_FACTOR: u32 = 10;

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

type Key = [u8; 16];
type KeyedLimiter =
    RateLimiter<Key, DefaultKeyedStateStore<Key>, GovernorClock, NoOpMiddleware<Nanos>>;

/// Why a check was refused, and when the client may try again (whole seconds, at least 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// This client made too many checks.
    Client { retry_after_seconds: u64 },
    /// This client's network made too many failed checks.
    Network { retry_after_seconds: u64 },
}

impl Refusal {
    pub(crate) fn retry_after_seconds(self) -> u64 {
        match self {
            Refusal::Client {
                retry_after_seconds,
            }
            | Refusal::Network {
                retry_after_seconds,
            } => retry_after_seconds,
        }
    }
}

/// Limits code checks per client and failed checks per network.
pub(crate) struct VerifyLimiter {
    clock: GovernorClock,
    salt: [u8; 16],
    clients: KeyedLimiter,
    /// Failure budgets of sites, then of providers' blocks.
    network_failures: [KeyedLimiter; 2],
    /// Networks whose failure budget is spent, with the Unix second it comes back.
    exhausted_networks: Mutex<HashMap<Key, i64>>,
    refuse_all: bool,
}

impl VerifyLimiter {
    /// `per_client_per_minute` checks per client, `failures_per_network_per_hour` failed
    /// checks per network; 0 in either refuses every check.
    pub(crate) fn new(
        clock: SharedClock,
        per_client_per_minute: u32,
        failures_per_network_per_hour: u32,
    ) -> Self {
        let clock = GovernorClock(clock);
        let mut salt = [0u8; 16];
        rand::fill(&mut salt);
        let per_minute =
            Quota::per_minute(NonZeroU32::new(per_client_per_minute).unwrap_or(NonZeroU32::MIN));
        let per_hour =
            |budget: u32| Quota::per_hour(NonZeroU32::new(budget).unwrap_or(NonZeroU32::MIN));
        let site = per_hour(failures_per_network_per_hour);
        let provider =
            per_hour(failures_per_network_per_hour.saturating_mul(PROVIDER_BUDGET_FACTOR));
        Self {
            clients: RateLimiter::new(per_minute, DefaultKeyedStateStore::default(), clock.clone()),
            network_failures: [
                RateLimiter::new(site, DefaultKeyedStateStore::default(), clock.clone()),
                RateLimiter::new(provider, DefaultKeyedStateStore::default(), clock.clone()),
            ],
            exhausted_networks: Mutex::new(HashMap::new()),
            refuse_all: per_client_per_minute == 0 || failures_per_network_per_hour == 0,
            clock,
            salt,
        }
    }

    fn key(&self, kind: u8, prefix: &[u8]) -> Key {
        let mut hasher = Sha256::new();
        hasher.update(self.salt);
        hasher.update([kind]);
        hasher.update(prefix);
        let digest = hasher.finalize();
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        key
    }

    fn client_key(&self, client: IpAddr) -> Key {
        self.key(0, &client_prefix(client))
    }

    /// The client's site, then its provider's block.
    fn network_keys(&self, client: IpAddr) -> [Key; 2] {
        match client.to_canonical() {
            IpAddr::V4(ip) => [
                self.key(24, &ip.octets()[..3]),
                self.key(16, &ip.octets()[..2]),
            ],
            IpAddr::V6(ip) => [
                self.key(48, &ip.octets()[..6]),
                self.key(32, &ip.octets()[..4]),
            ],
        }
    }

    fn wait_seconds(&self, not_until: &NotUntil<Nanos>) -> u64 {
        let wait = not_until.wait_time_from(governor::clock::Clock::now(&self.clock));
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        seconds.max(1)
    }

    /// Counts one check by `client`; refused when the client is over its limit or its
    /// network has spent its failure budget.
    pub(crate) fn admit(&self, client: IpAddr) -> Result<(), Refusal> {
        if self.refuse_all {
            return Err(Refusal::Client {
                retry_after_seconds: 3600,
            });
        }
        let now = self.clock.0.now_unix_seconds();
        let exhausted = self
            .exhausted_networks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let until = self
            .network_keys(client)
            .iter()
            .filter_map(|key| exhausted.get(key).copied())
            .filter(|until| *until > now)
            .max();
        drop(exhausted);
        if let Some(until) = until {
            return Err(Refusal::Network {
                retry_after_seconds: u64::try_from(until - now).unwrap_or(1).max(1),
            });
        }
        if self.clients.len() >= MAX_TRACKED_CLIENTS {
            self.clients.retain_recent();
            if self.clients.len() >= MAX_TRACKED_CLIENTS {
                return Err(Refusal::Client {
                    retry_after_seconds: 60,
                });
            }
        }
        self.clients
            .check_key(&self.client_key(client))
            .map_err(|not_until| Refusal::Client {
                retry_after_seconds: self.wait_seconds(&not_until),
            })
    }

    /// Counts one failed check of a well-formed code against `client`'s network.
    pub(crate) fn record_failure(&self, client: IpAddr) {
        for (limiter, network) in self.network_failures.iter().zip(self.network_keys(client)) {
            self.spend(limiter, network);
        }
    }

    fn spend(&self, limiter: &KeyedLimiter, network: Key) {
        if limiter.len() >= MAX_TRACKED_CLIENTS {
            limiter.retain_recent();
        }
        if let Err(not_until) = limiter.check_key(&network) {
            let until =
                self.clock.0.now_unix_seconds().saturating_add(
                    i64::try_from(self.wait_seconds(&not_until)).unwrap_or(i64::MAX),
                );
            let mut exhausted = self
                .exhausted_networks
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if exhausted.len() < MAX_TRACKED_CLIENTS {
                let entry = exhausted.entry(network).or_insert(until);
                *entry = (*entry).max(until);
            }
        }
    }

    /// Forgets clients and networks whose limits have fully recovered (called by the
    /// periodic jobs, so that memory follows the clients of the last hour).
    pub(crate) fn forget_idle_clients(&self) {
        self.clients.retain_recent();
        self.clients.shrink_to_fit();
        for limiter in &self.network_failures {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        let now = self.clock.0.now_unix_seconds();
        self.exhausted_networks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .retain(|_, until| *until > now);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::MockClock;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn each_client_gets_its_checks_per_minute_and_then_one_more_per_share_of_a_minute() {
        let clock = MockClock::new(1_700_000_000);
        let limiter = VerifyLimiter::new(Arc::new(clock.clone()), 2, 1000);
        let alice = ip("192.0.2.1");
        let bob = ip("192.0.2.2");
        assert!(limiter.admit(alice).is_ok());
        assert!(limiter.admit(alice).is_ok());
        assert_eq!(
            limiter.admit(alice),
            Err(Refusal::Client {
                retry_after_seconds: 30
            }),
            "told when to come back"
        );
        assert!(
            limiter.admit(bob).is_ok(),
            "another client has its own budget"
        );
        clock.advance(29);
        assert_eq!(
            limiter.admit(alice),
            Err(Refusal::Client {
                retry_after_seconds: 1
            }),
            "no window boundary to burst across"
        );
        clock.advance(1);
        assert!(
            limiter.admit(alice).is_ok(),
            "one check back every 30 s at 2 a minute"
        );
        assert!(limiter.admit(alice).is_err());
    }

    #[test]
    fn an_ipv6_client_is_its_slash_64() {
        let clock = MockClock::new(1_700_000_000);
        let limiter = VerifyLimiter::new(Arc::new(clock), 1, 1000);
        assert!(limiter.admit(ip("2001:db8:1:2::1")).is_ok());
        assert!(limiter.admit(ip("2001:db8:1:2::ffff")).is_err());
        assert!(limiter.admit(ip("2001:db8:1:3::1")).is_ok());
    }

    #[test]
    fn failures_spend_their_networks_budget_only() {
        let clock = MockClock::new(1_700_000_000);
        let limiter = VerifyLimiter::new(Arc::new(clock.clone()), 1000, 3);
        // Three clients of one /24 fail once each: the network's budget of 3 is used.
        for last in 1..=3 {
            let client = ip(&format!("198.51.100.{last}"));
            assert!(limiter.admit(client).is_ok());
            limiter.record_failure(client);
        }
        assert!(
            limiter.admit(ip("198.51.100.4")).is_ok(),
            "three fit a budget of three"
        );
        limiter.record_failure(ip("198.51.100.4"));
        let refused = limiter.admit(ip("198.51.100.200"));
        assert!(
            matches!(refused, Err(Refusal::Network { retry_after_seconds }) if (1..=1200).contains(&retry_after_seconds)),
            "{refused:?}"
        );
        // A patient on another network is not affected: there is no global off-switch.
        assert!(limiter.admit(ip("203.0.113.9")).is_ok());
        assert!(limiter.admit(ip("2001:db8::1")).is_ok());
        clock.advance(3600);
        limiter.forget_idle_clients();
        assert!(
            limiter.admit(ip("198.51.100.200")).is_ok(),
            "the budget comes back"
        );
    }

    #[test]
    fn the_sites_of_one_provider_block_share_a_larger_budget() {
        let clock = MockClock::new(1_700_000_000);
        let limiter = VerifyLimiter::new(Arc::new(clock.clone()), 1000, 2);
        // 2 failures a site, 20 a /32: ten sites of one /32 use it up, each within its own.
        for site in 0..10 {
            for host in 1..=2 {
                let client = ip(&format!("2001:db8:{site:x}::{host}"));
                assert!(limiter.admit(client).is_ok(), "{client}");
                limiter.record_failure(client);
            }
        }
        // One more failure from yet another site of the /32 is one too many.
        limiter.record_failure(ip("2001:db8:fe::1"));
        assert!(
            limiter.admit(ip("2001:db8:ff::1")).is_err(),
            "an eleventh site of the same /32 gains nothing"
        );
        assert!(
            limiter.admit(ip("2001:db9::1")).is_ok(),
            "another provider is untouched"
        );
    }

    #[test]
    fn idle_clients_are_forgotten() {
        let clock = MockClock::new(1_700_000_000);
        let limiter = VerifyLimiter::new(Arc::new(clock.clone()), 2, 10);
        for last in 0..100u8 {
            assert!(limiter.admit(IpAddr::from([198, 51, 100, last])).is_ok());
        }
        assert_eq!(limiter.clients.len(), 100);
        clock.advance(60);
        limiter.forget_idle_clients();
        assert_eq!(limiter.clients.len(), 0);
    }
}
