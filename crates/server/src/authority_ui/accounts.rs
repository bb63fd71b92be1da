//! Physicians' and administrators' accounts: argon2id password hashes and the password
//! rule, sign-in, and the admin's account list.
//!
//! A sign-in (issue 14, items 2 and 4):
//!
//! 1. waits if failures made its email address or its client address wait (a growing,
//!    capped delay: [`crate::sign_in_limits`]), without checking the password;
//! 2. checks the password through the server's [`PasswordGate`](crate::sign_in_limits::PasswordGate)
//!    (a bounded number at once, or "busy"): the account's hash, or for an unknown or
//!    disabled email a decoy hash with the same parameters, so that it costs the same;
//! 3. on failure, counts it against the email address, known or not, and the client.
//!
//! An unknown email and a wrong password are one outcome, with one answer, after one
//! argon2 check, and they make later sign-ins wait alike: nothing tells which emails
//! have accounts. No failure locks the right password out: once the wait has run out
//! (at most [`ACCOUNT_BACKOFF`]'s cap after the last failure), it is accepted.

use std::net::IpAddr;

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

use crate::datastore::accounts::NewUserRow;
use crate::datastore::{DatastoreError, Role, Store};
use crate::sign_in_limits::{ACCOUNT_BACKOFF, FORGET_FAILURES_AFTER_SECONDS};
use crate::signing::KeyRing;
use crate::state::AppState;

/// Shortest password an account may get.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Fewest different characters in a password: "aaaaaaaaaaaa" or "abababababab" are
/// twelve characters long and guessed at once.
pub const MIN_DISTINCT_PASSWORD_CHARS: usize = 5;
/// Longest password accepted (argon2 takes any length; this bounds the work per request).
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Longest email address accepted (RFC 5321's limit).
pub const MAX_EMAIL_BYTES: usize = 254;

/// Words that make the bulk of the passwords guessers try first, in English and French
/// (and this service's own name). A password made of one of them and a few more
/// characters ("password1234", "azertyuiop12") is refused.
const COMMON_PASSWORD_WORDS: &[&str] = &[
    "password",
    "passw0rd",
    "motdepasse",
    "mot de passe",
    "azerty",
    "qwerty",
    "qwertz",
    "123456",
    "654321",
    "abcdef",
    "iloveyou",
    "jetaime",
    "soleil",
    "bonjour",
    "welcome",
    "admin",
    "letmein",
    "monkey",
    "dragon",
    "football",
    "baseball",
    "sunshine",
    "princess",
    "secret",
    "master",
    "chocolat",
    "doudou",
    "loulou",
    "marseille",
    "paris",
    "covid",
    "stopcovid",
    "openstopcovid",
    "coronavirus",
    "medecin",
    "docteur",
    "doctor",
    "sante",
    "hopital",
    "hospital",
    "changeme",
    "default",
];
/// How many characters a password must have besides a common word it contains.
const MIN_CHARS_BESIDES_A_COMMON_WORD: usize = 8;

/// Why an account could not be created.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("not a valid email address")]
    InvalidEmail,
    #[error(
        "the password needs at least {MIN_PASSWORD_CHARS} characters (and at most {MAX_PASSWORD_BYTES} bytes)"
    )]
    InvalidPassword,
    #[error(
        "the password is too easy to guess: use at least {MIN_DISTINCT_PASSWORD_CHARS} different characters, no run like 123456789 or abcdef, and more than a common word (a few unrelated words make a good one)"
    )]
    WeakPassword,
    #[error("an account with this email address already exists")]
    AlreadyExists,
    #[error("could not hash the password")]
    Hashing,
    #[error(transparent)]
    Database(#[from] DatastoreError),
}

/// The outcome of a sign-in attempt. Unknown email and wrong password are one outcome, so
/// that the form does not reveal which addresses have accounts.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SignIn {
    Accepted {
        user_id: String,
    },
    Refused,
    /// Failures of this email address or client make sign-ins wait until this time
    /// (unix seconds); the password was not checked.
    Wait {
        until: i64,
    },
    /// Too many password checks are running or waiting: try again in a few seconds.
    Busy,
}

/// Email addresses are compared case-insensitively; stored lower-case and trimmed.
pub(crate) fn normalize_email(email: &str) -> Option<String> {
    let email = email.trim().to_lowercase();
    let (local, domain) = email.split_once('@')?;
    let plausible = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && email.len() <= MAX_EMAIL_BYTES
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    plausible.then_some(email)
}

/// The keyed hash an email address's failed sign-ins are counted under (see
/// `datastore::accounts`): the same for what was typed, whether it has an account or not.
pub(crate) fn email_key(keys: &KeyRing, typed_email: &str) -> [u8; 32] {
    let email = normalize_email(typed_email).unwrap_or_else(|| typed_email.trim().to_lowercase());
    keys.keyed_hash("sign-in-backoff", email.as_bytes())
}

fn hash_password(password: &str) -> Result<String, AccountError> {
    // argon2's defaults are argon2id, 19 MiB, 2 passes: OWASP's recommended minimum.
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|_| AccountError::Hashing)
}

fn password_matches(password: &str, stored_hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), stored_hash)
        .is_ok()
}

/// A real hash of a password nobody knows, with the parameters of every account's, checked
/// when the email is unknown so that an unknown address costs the same time as a wrong
/// password. Made on the first sign-in of any kind, inside its password check.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password that matches nothing").unwrap_or_default())
}

/// Whether `password` may be an account's: long enough, and not one a guesser tries in
/// their first few thousand guesses. A small rule of our own rather than a strength
/// estimator crate (zxcvbn brings megabytes of dictionaries and a regex engine to the
/// server for one admin form): length, variety, no keyboard or alphabet run, not a
/// common word with a few characters around it.
pub fn check_password(password: &str) -> Result<(), AccountError> {
    if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
        return Err(AccountError::InvalidPassword);
    }
    let lower = password.to_lowercase();
    let chars: Vec<char> = lower.chars().collect();
    let mut distinct = chars.clone();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < MIN_DISTINCT_PASSWORD_CHARS {
        return Err(AccountError::WeakPassword);
    }
    // One step repeated throughout: 123456789012, abcdefghijkl, 987654321098.
    let steps: Vec<i64> = chars
        .windows(2)
        .map(|pair| i64::from(u32::from(pair[1])) - i64::from(u32::from(pair[0])))
        .collect();
    let up = steps.iter().all(|step| *step == 1 || *step == -9);
    let down = steps.iter().all(|step| *step == -1 || *step == 9);
    if up || down {
        return Err(AccountError::WeakPassword);
    }
    // A common word, however often, and a few characters around it.
    for word in COMMON_PASSWORD_WORDS {
        if lower.contains(word) {
            let rest = lower.replace(word, "");
            let mut rest_chars: Vec<char> = rest.chars().collect();
            let besides = rest_chars.len();
            rest_chars.sort_unstable();
            rest_chars.dedup();
            if besides < MIN_CHARS_BESIDES_A_COMMON_WORD || rest_chars.len() < 3 {
                return Err(AccountError::WeakPassword);
            }
        }
    }
    Ok(())
}

/// Creates an account; returns its id. Used by `openstopcovid authority user add` and by
/// the admin page.
pub async fn add_user(
    store: &Store,
    email: &str,
    role: Role,
    password: &str,
    now: i64,
) -> Result<String, AccountError> {
    let email = normalize_email(email).ok_or(AccountError::InvalidEmail)?;
    check_password(password)?;
    let password = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|_| AccountError::Hashing)??;
    let id = uuid::Uuid::new_v4().to_string();
    let inserted = store
        .insert_user(&NewUserRow {
            id: &id,
            email: &email,
            role,
            password_hash: &hash,
            created_at: now,
        })
        .await?;
    if !inserted {
        return Err(AccountError::AlreadyExists);
    }
    Ok(id)
}

/// Checks an email and password from `client` (see the module documentation).
pub(crate) async fn sign_in(
    state: &AppState,
    client: IpAddr,
    email: &str,
    password: &str,
) -> Result<SignIn, DatastoreError> {
    let now = state.now();
    let key = email_key(&state.keys, email);
    if let Some(until) = wait_until(state, client, &key, now).await? {
        return Ok(SignIn::Wait { until });
    }
    let email = normalize_email(email).unwrap_or_default();
    let row = state.store.user_for_sign_in(&email).await?;
    let stored_hash = row.as_ref().map(|account| account.password_hash.clone());
    let candidate = password
        .get(..MAX_PASSWORD_BYTES.min(password.len()))
        .unwrap_or_default()
        .to_owned();
    // The same work whatever the email: one argon2 check, against the decoy when there
    // is no account (the decoy is fetched either way, so the first sign-in of each kind
    // also costs the same).
    let checked = state
        .sign_in
        .gate
        .run(move || {
            let decoy = decoy_hash();
            password_matches(&candidate, stored_hash.as_deref().unwrap_or(decoy))
        })
        .await;
    let Ok(matches) = checked else {
        return Ok(SignIn::Busy);
    };
    if let (Some(account), true) = (row, matches) {
        state.store.clear_sign_in_failures(&key).await?;
        return Ok(SignIn::Accepted {
            user_id: account.id,
        });
    }
    count_failure(state, client, &key, now).await?;
    Ok(SignIn::Refused)
}

/// Until when failures of the email address with this key, or of `client`, make checks
/// wait; `None` when they need not.
async fn wait_until(
    state: &AppState,
    client: IpAddr,
    key: &[u8],
    now: i64,
) -> Result<Option<i64>, DatastoreError> {
    let account_wait = state.store.sign_in_wait(key, now).await?;
    let client_wait = state.sign_in.clients.wait_until(client, now);
    Ok(account_wait.into_iter().chain(client_wait).max())
}

/// Counts a failed check (a password, a second-factor code) against the email address
/// with this key and against `client`.
async fn count_failure(
    state: &AppState,
    client: IpAddr,
    key: &[u8],
    now: i64,
) -> Result<(), DatastoreError> {
    state
        .store
        .record_sign_in_failure(key, now, now - FORGET_FAILURES_AFTER_SECONDS, |failures| {
            ACCOUNT_BACKOFF.delay_after(failures)
        })
        .await?;
    state.sign_in.clients.record_failure(client, now);
    Ok(())
}

/// The outcome of a second-factor code.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SecondFactor {
    Accepted,
    /// Wrong, or a code already used (a replay): counted as a failed sign-in.
    Refused,
    /// Failures make checks wait until this time; the code was not checked.
    Wait {
        until: i64,
    },
}

/// Checks the TOTP code `typed` of account `user_id` (`email`) from `client`, under the
/// same waits as a password, and spends its step so that it is never accepted again.
pub(crate) async fn check_second_factor(
    state: &AppState,
    client: IpAddr,
    user_id: &str,
    email: &str,
    typed: &str,
) -> Result<SecondFactor, DatastoreError> {
    let now = state.now();
    let key = email_key(&state.keys, email);
    if let Some(until) = wait_until(state, client, &key, now).await? {
        return Ok(SecondFactor::Wait { until });
    }
    let secret = state
        .store
        .totp_secret(user_id)
        .await?
        .and_then(|sealed| second_factor_secret(state, user_id, &sealed));
    let step = secret.and_then(|secret| super::totp::matching_step(&secret, typed, now));
    if let Some(step) = step
        && state.store.spend_totp_step(user_id, step).await?
    {
        state.store.clear_sign_in_failures(&key).await?;
        return Ok(SecondFactor::Accepted);
    }
    count_failure(state, client, &key, now).await?;
    Ok(SecondFactor::Refused)
}

/// The TOTP secret sealed in `sealed` for account `user_id`.
pub(crate) fn second_factor_secret(
    state: &AppState,
    user_id: &str,
    sealed: &str,
) -> Option<Vec<u8>> {
    super::shown_code::open_for(
        state,
        super::shown_code::Purpose::SecondFactor,
        user_id,
        sealed,
    )
}

/// How long an administrator's password-reset link stays usable.
pub const RESET_LINK_SECONDS: i64 = 24 * 3600;

/// Why a new password was not set.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NewPasswordRefusal {
    /// The current password was wrong (counted like a failed sign-in).
    WrongCurrent,
    /// Failures of this email address or client make checks wait until this time.
    Wait { until: i64 },
    /// Too many password checks are running: try again in a few seconds.
    Busy,
    /// The two new passwords differ.
    Mismatch,
    /// Too short, too long or too easy to guess (see [`check_password`]).
    Rule(PasswordRule),
    /// The reset link is unknown, used, expired, or its account disabled.
    UnknownLink,
}

/// Which password rule a new password broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PasswordRule {
    Length,
    Strength,
}

/// A new password, checked against the rule and its confirmation, hashed through the
/// server's bounded password gate.
async fn new_password_hash(
    state: &AppState,
    password: &str,
    confirmation: &str,
) -> Result<String, NewPasswordRefusal> {
    if password != confirmation {
        return Err(NewPasswordRefusal::Mismatch);
    }
    check_password(password).map_err(|error| match error {
        AccountError::InvalidPassword => NewPasswordRefusal::Rule(PasswordRule::Length),
        _ => NewPasswordRefusal::Rule(PasswordRule::Strength),
    })?;
    let password = password.to_owned();
    match state
        .sign_in
        .gate
        .run(move || hash_password(&password))
        .await
    {
        Ok(Ok(hash)) => Ok(hash),
        // Hashing does not fail on a valid password; a failure is as good as busy.
        Ok(Err(_)) | Err(_) => Err(NewPasswordRefusal::Busy),
    }
}

/// Changes the password of the signed-in account `user_id` (`email`), from `client`: the
/// current password is checked exactly as a sign-in checks it (same waits after failures,
/// same bounded gate, failures counted the same), so that a session left open does not
/// let anyone try passwords faster. Every other session of the account ends; the one
/// with `keep` (the session that changed it) goes on.
pub(crate) async fn change_password(
    state: &AppState,
    client: IpAddr,
    user_id: &str,
    email: &str,
    current: &str,
    new: (&str, &str),
    keep: Option<&[u8]>,
) -> Result<Result<(), NewPasswordRefusal>, DatastoreError> {
    match sign_in(state, client, email, current).await? {
        SignIn::Accepted { user_id: checked } if checked == user_id => {}
        SignIn::Accepted { .. } | SignIn::Refused => {
            return Ok(Err(NewPasswordRefusal::WrongCurrent));
        }
        SignIn::Wait { until } => return Ok(Err(NewPasswordRefusal::Wait { until })),
        SignIn::Busy => return Ok(Err(NewPasswordRefusal::Busy)),
    }
    let hash = match new_password_hash(state, new.0, new.1).await {
        Ok(hash) => hash,
        Err(refusal) => return Ok(Err(refusal)),
    };
    state.store.set_password(user_id, &hash, keep).await?;
    Ok(Ok(()))
}

/// Makes a one-time password-reset link for account `user_id`, valid
/// [`RESET_LINK_SECONDS`], replacing any earlier one: its token (256 random bits, of which
/// only the hash is stored).
pub(crate) async fn create_reset_link(
    state: &AppState,
    user_id: &str,
    now: i64,
) -> Result<String, DatastoreError> {
    let token = crate::web::csrf::random_token();
    state
        .store
        .insert_password_reset(
            &super::sessions::token_hash(&token),
            user_id,
            now,
            now + RESET_LINK_SECONDS,
        )
        .await?;
    Ok(token)
}

/// Sets a new password through the reset link with `token`, once: the account's email.
/// The password is hashed only for a live link, so an unknown one costs nothing; every
/// session of the account ends.
pub(crate) async fn reset_password(
    state: &AppState,
    token: &str,
    new: (&str, &str),
) -> Result<Result<String, NewPasswordRefusal>, DatastoreError> {
    let now = state.now();
    let token_hash = super::sessions::token_hash(token);
    if state
        .store
        .password_reset_email(&token_hash, now)
        .await?
        .is_none()
    {
        return Ok(Err(NewPasswordRefusal::UnknownLink));
    }
    let hash = match new_password_hash(state, new.0, new.1).await {
        Ok(hash) => hash,
        Err(refusal) => return Ok(Err(refusal)),
    };
    // Used once: of two posts of the same link, one sets the password.
    Ok(state
        .store
        .use_password_reset(&token_hash, &hash, now)
        .await?
        .ok_or(NewPasswordRefusal::UnknownLink))
}

/// What an admin can do to another account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StateChange {
    Disable,
    Enable,
    Unlock,
}

impl StateChange {
    pub(crate) fn parse(text: &str) -> Option<StateChange> {
        match text {
            "disable" => Some(StateChange::Disable),
            "enable" => Some(StateChange::Enable),
            "unlock" => Some(StateChange::Unlock),
            _ => None,
        }
    }

    pub(crate) fn audit_action(self) -> &'static str {
        match self {
            StateChange::Disable => "user-disabled",
            StateChange::Enable => "user-enabled",
            StateChange::Unlock => "user-unlocked",
        }
    }
}

/// Applies `change` to the account `id` (whose email is `email`); disabling also ends its
/// sessions. False when there is no such account.
pub(crate) async fn change_state(
    state: &AppState,
    id: &str,
    email: &str,
    change: StateChange,
    now: i64,
) -> Result<bool, DatastoreError> {
    match change {
        StateChange::Disable => state.store.disable_user(id, now).await,
        StateChange::Enable => state.store.enable_user(id).await,
        StateChange::Unlock => {
            state
                .store
                .clear_sign_in_failures(&email_key(&state.keys, email))
                .await?;
            Ok(true)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_and_checked() {
        assert_eq!(
            normalize_email("  Dr.Martin@Sante.FR "),
            Some("dr.martin@sante.fr".into())
        );
        for bad in [
            "",
            "martin",
            "@sante.fr",
            "martin@sante",
            "martin@.fr",
            "a b@sante.fr",
            "a@b\n.fr",
        ] {
            assert_eq!(normalize_email(bad), None, "{bad:?}");
        }
    }

    /// Issue 14, item 8: twelve times one letter was a valid password.
    #[test]
    fn trivial_passwords_are_refused_and_good_ones_kept() {
        for weak in [
            "aaaaaaaaaaaa",
            "AAAAAAAAAAAAAAAAAAAA",
            "abababababab",
            "abcabcabcabc",
            "123456789012",
            "abcdefghijklmn",
            "987654321098",
            "password1234",
            "Password2024!",
            "azertyuiop12",
            "motdepasse123",
            "openstopcovid1",
            "admin admin admin",
        ] {
            assert!(
                matches!(check_password(weak), Err(AccountError::WeakPassword)),
                "{weak:?} is accepted"
            );
        }
        assert!(matches!(
            check_password("short"),
            Err(AccountError::InvalidPassword)
        ));
        for good in [
            "correct horse battery staple",
            "stéthoscope bleu 42",
            "admin password 2020",
            "the right password 1",
            "a long enough password",
            "Tr0ub4dor&3xyz",
        ] {
            assert!(check_password(good).is_ok(), "{good:?} is refused");
        }
    }

    #[test]
    fn passwords_are_hashed_with_argon2id_and_verified() {
        let hash = hash_password("correct horse battery").expect("hashes");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains("correct horse"));
        assert!(password_matches("correct horse battery", &hash));
        assert!(!password_matches("correct horse battery!", &hash));
        assert!(!password_matches("correct horse battery", "not a hash"));
    }
}
