//! What bounds the sign-in of the physicians' UI (issue 14, items 2 and 4), kept in the
//! [`AppState`](crate::AppState) so that every sign-in shares it:
//!
//! - [`PasswordGate`]: at most [`MAX_CONCURRENT_PASSWORD_CHECKS`] argon2id checks at once
//!   (each takes 19 MiB and tens of milliseconds of CPU), at most
//!   [`MAX_WAITING_PASSWORD_CHECKS`] sign-ins waiting for one, each for at most
//!   [`PASSWORD_CHECK_WAIT`]; anything beyond is answered "busy" (503) at once, so that a
//!   flood of sign-ins costs a bounded amount of memory instead of a gigabyte per hundred.
//! - [`Backoff`]: how long sign-ins wait after consecutive failures: a few free tries,
//!   then a delay that doubles with each failure up to a cap, measured by the server's
//!   clock. Never a lock: once the delay has run out, the right password is accepted.
//!   [`ACCOUNT_BACKOFF`] applies to an email address (known or not, stored in the
//!   database: see `datastore::accounts`), [`CLIENT_BACKOFF`] to a client address
//!   ([`ClientBackoff`], in memory only).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::client_address::client_prefix;

/// Password checks that run at once. Each is an argon2id verification with 19 MiB of
/// memory: four take at most 76 MiB, and keep a core or two busy, which is all a server
/// of this size should give to sign-ins (a legitimate sign-in takes one check).
pub const MAX_CONCURRENT_PASSWORD_CHECKS: usize = 4;
/// Sign-ins that may wait for a check; the next ones are answered "busy" at once. A
/// waiting sign-in holds a few kilobytes, never an argon2 buffer.
pub const MAX_WAITING_PASSWORD_CHECKS: usize = 64;
/// How long a sign-in waits for a check before it is answered "busy".
pub const PASSWORD_CHECK_WAIT: Duration = Duration::from_secs(10);
/// The `Retry-After` of a "busy" answer, seconds.
pub const BUSY_RETRY_AFTER_SECONDS: u64 = 5;

/// Consecutive failures are forgotten a day after the last one.
pub const FORGET_FAILURES_AFTER_SECONDS: i64 = 86_400;
/// Client addresses whose failures are remembered at most; beyond, the oldest are
/// forgotten first (the memory stays bounded whatever the number of addresses).
pub const MAX_TRACKED_CLIENTS: usize = 65_536;

/// How long to wait after consecutive failed sign-ins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// Failures that cost no wait (typos).
    pub free_failures: i64,
    /// The wait after the first failure that costs one, seconds; it doubles with each
    /// failure after it.
    pub first_delay_seconds: i64,
    /// The longest wait, seconds: the right password is never kept out longer than this
    /// after the last failure.
    pub max_delay_seconds: i64,
}

/// Per email address (known or not, alike): 3 free tries, then 2 s, 4 s, 8 s … up to
/// 15 minutes. An online guesser gets about 100 guesses a day at one account.
pub const ACCOUNT_BACKOFF: Backoff = Backoff {
    free_failures: 3,
    first_delay_seconds: 2,
    max_delay_seconds: 15 * 60,
};

/// Per client address: 10 free tries (a shared clinic address sees several people's
/// typos), then 2 s doubling up to 15 minutes, whatever emails it tries: this is what
/// slows a guesser who tries one password on many accounts.
pub const CLIENT_BACKOFF: Backoff = Backoff {
    free_failures: 10,
    first_delay_seconds: 2,
    max_delay_seconds: 15 * 60,
};

impl Backoff {
    /// The wait after `failures` consecutive failures, seconds.
    pub fn delay_after(&self, failures: i64) -> i64 {
        if failures < self.free_failures {
            return 0;
        }
        let doublings = u32::try_from(failures - self.free_failures)
            .unwrap_or(u32::MAX)
            .min(62);
        self.first_delay_seconds
            .saturating_mul(2i64.saturating_pow(doublings))
            .min(self.max_delay_seconds)
    }
}

/// The password check could not start in time: the server is busy checking others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Busy;

/// Bounds the argon2 checks of sign-ins (see the module documentation).
pub struct PasswordGate {
    checks: Arc<Semaphore>,
    waiting: Arc<Semaphore>,
    wait: Duration,
    checks_run: AtomicU64,
}

impl Default for PasswordGate {
    fn default() -> Self {
        Self::new(
            MAX_CONCURRENT_PASSWORD_CHECKS,
            MAX_WAITING_PASSWORD_CHECKS,
            PASSWORD_CHECK_WAIT,
        )
    }
}

impl PasswordGate {
    /// A gate letting `concurrent` checks run and `waiting` more wait, each at most
    /// `wait`.
    pub fn new(concurrent: usize, waiting: usize, wait: Duration) -> Self {
        Self {
            checks: Arc::new(Semaphore::new(concurrent)),
            waiting: Arc::new(Semaphore::new(waiting)),
            wait,
            checks_run: AtomicU64::new(0),
        }
    }

    /// Runs `check` (an argon2 verification, or the hash of a new password) on the
    /// blocking pool once a slot is free, or answers [`Busy`]. The slot is held until the
    /// check ends, even if the request that asked for it is gone, so the bound holds.
    pub async fn run<F, T>(&self, check: F) -> Result<T, Busy>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let place = self.waiting.try_acquire().map_err(|_| Busy)?;
        let permit = tokio::time::timeout(self.wait, self.checks.clone().acquire_owned())
            .await
            .map_err(|_| Busy)?
            .map_err(|_| Busy)?;
        drop(place);
        self.checks_run.fetch_add(1, Ordering::Relaxed);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            check()
        })
        .await
        .map_err(|_| Busy)
    }

    /// How many checks have run (for tests and for the operator: every sign-in, known
    /// email or not, runs exactly one).
    pub fn checks_run(&self) -> u64 {
        self.checks_run.load(Ordering::Relaxed)
    }

    /// Takes every slot and every place in the queue, as a flood of sign-ins would
    /// (tests); they come back when the result is dropped.
    #[doc(hidden)]
    pub fn take_every_slot(&self) -> Vec<tokio::sync::OwnedSemaphorePermit> {
        let checks = std::iter::from_fn(|| self.checks.clone().try_acquire_owned().ok());
        let waiting = std::iter::from_fn(|| self.waiting.clone().try_acquire_owned().ok());
        checks.chain(waiting).collect()
    }
}

/// One client's or account's consecutive failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failures {
    pub count: i64,
    /// No password is checked before this time (unix seconds).
    pub not_before: i64,
    /// When the last failure happened.
    pub last: i64,
}

/// The failed sign-ins of client addresses, in memory only (never stored or logged).
/// IPv6 clients are counted by their /64, which one host can change at will.
#[derive(Default)]
pub struct ClientBackoff {
    failures: Mutex<HashMap<[u8; 16], Failures>>,
}

impl ClientBackoff {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 16], Failures>> {
        self.failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Until when `client` must wait, if it must.
    pub fn wait_until(&self, client: IpAddr, now: i64) -> Option<i64> {
        self.lock()
            .get(&client_prefix(client))
            .map(|failures| failures.not_before)
            .filter(|not_before| *not_before > now)
    }

    /// Counts a failed sign-in of `client` at `now`.
    pub fn record_failure(&self, client: IpAddr, now: i64) {
        let mut failures = self.lock();
        if failures.len() >= MAX_TRACKED_CLIENTS {
            failures.retain(|_, entry| entry.last + FORGET_FAILURES_AFTER_SECONDS > now);
            if failures.len() >= MAX_TRACKED_CLIENTS
                && let Some(oldest) = failures
                    .iter()
                    .min_by_key(|(_, entry)| entry.last)
                    .map(|(key, _)| *key)
            {
                failures.remove(&oldest);
            }
        }
        let entry = failures.entry(client_prefix(client)).or_insert(Failures {
            count: 0,
            not_before: now,
            last: now,
        });
        if entry.last + FORGET_FAILURES_AFTER_SECONDS <= now {
            entry.count = 0;
        }
        entry.count += 1;
        entry.last = now;
        entry.not_before = now + CLIENT_BACKOFF.delay_after(entry.count);
    }
}

/// The sign-in limits every request shares.
#[derive(Default)]
pub struct SignInLimits {
    pub gate: PasswordGate,
    pub clients: ClientBackoff,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_grows_then_stops_at_the_cap() {
        let waits: Vec<i64> = (0..8).map(|n| ACCOUNT_BACKOFF.delay_after(n)).collect();
        assert_eq!(waits, [0, 0, 0, 2, 4, 8, 16, 32]);
        assert_eq!(ACCOUNT_BACKOFF.delay_after(30), 15 * 60);
        assert_eq!(ACCOUNT_BACKOFF.delay_after(i64::MAX), 15 * 60);
        assert_eq!(CLIENT_BACKOFF.delay_after(9), 0);
        assert_eq!(CLIENT_BACKOFF.delay_after(10), 2);
    }

    #[test]
    fn a_client_waits_after_its_free_failures_and_is_forgotten_a_day_later() {
        let clients = ClientBackoff::default();
        let client: IpAddr = "203.0.113.7".parse().unwrap();
        for _ in 0..CLIENT_BACKOFF.free_failures - 1 {
            clients.record_failure(client, 1000);
        }
        assert_eq!(clients.wait_until(client, 1000), None);
        clients.record_failure(client, 1000);
        assert_eq!(clients.wait_until(client, 1000), Some(1002));
        assert_eq!(clients.wait_until(client, 1002), None);
        // Another /64 is another client; the same /64 is the same one.
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        let same_64: IpAddr = "2001:db8::ffff:1".parse().unwrap();
        for _ in 0..CLIENT_BACKOFF.free_failures {
            clients.record_failure(v6, 1000);
        }
        assert_eq!(clients.wait_until(same_64, 1000), Some(1002));
        clients.record_failure(client, 1000 + FORGET_FAILURES_AFTER_SECONDS);
        assert_eq!(
            clients.wait_until(client, 1000 + FORGET_FAILURES_AFTER_SECONDS),
            None
        );
    }

    #[tokio::test]
    async fn a_check_beyond_the_bound_is_turned_away_not_queued_forever() {
        let gate = PasswordGate::new(1, 1, Duration::ZERO);
        assert_eq!(gate.run(|| true).await, Ok(true));
        let held = gate.take_every_slot();
        assert_eq!(
            held.len(),
            2,
            "the one check and the one place in the queue"
        );
        assert_eq!(gate.run(|| true).await, Err(Busy));
        drop(held);
        assert_eq!(gate.run(|| false).await, Ok(false));
        let no_waiting_room = PasswordGate::new(1, 0, Duration::from_secs(60));
        assert_eq!(no_waiting_room.run(|| true).await, Err(Busy));
        assert_eq!(gate.checks_run(), 2);
    }
}
