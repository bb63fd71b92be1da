//! Physicians' and administrators' accounts: argon2id password hashes, sign-in with a delay
//! after each failure and a lockout after repeated failures, and the admin's account list.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

use crate::datastore::accounts::NewUserRow;
use crate::datastore::{DatastoreError, Role, Store};

/// Shortest password an account may get.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password accepted (argon2 takes any length; this bounds the work per request).
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Longest email address accepted (RFC 5321's limit).
pub const MAX_EMAIL_BYTES: usize = 254;
/// Consecutive failed sign-ins after which an account is locked.
pub const MAX_FAILED_SIGN_INS: i64 = 5;
/// How long a locked account stays locked (an admin may unlock it earlier).
pub const LOCKOUT_SECONDS: i64 = 15 * 60;

/// Why an account could not be created.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("not a valid email address")]
    InvalidEmail,
    #[error(
        "the password needs at least {MIN_PASSWORD_CHARS} characters (and at most {MAX_PASSWORD_BYTES} bytes)"
    )]
    InvalidPassword,
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
    /// Locked until this time (unix seconds), whatever the password; `just_now` when this
    /// attempt is the one that locked it.
    Locked {
        until: i64,
        just_now: bool,
    },
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

/// A real hash of a password nobody knows, checked when the email is unknown so that an
/// unknown address costs the same time as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password that matches nothing").unwrap_or_default())
}

fn valid_password(password: &str) -> bool {
    password.chars().count() >= MIN_PASSWORD_CHARS && password.len() <= MAX_PASSWORD_BYTES
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
    if !valid_password(password) {
        return Err(AccountError::InvalidPassword);
    }
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

/// Checks an email and password. Each failure counts; the `MAX_FAILED_SIGN_INS`th in a row
/// locks the account for `LOCKOUT_SECONDS`; a success resets the count.
pub(crate) async fn sign_in(
    store: &Store,
    email: &str,
    password: &str,
    now: i64,
) -> Result<SignIn, DatastoreError> {
    let email = normalize_email(email).unwrap_or_default();
    let row = store.user_for_sign_in(&email).await?;
    let stored_hash = row.as_ref().map_or_else(
        || decoy_hash().to_owned(),
        |account| account.password_hash.clone(),
    );
    let candidate = password
        .get(..MAX_PASSWORD_BYTES.min(password.len()))
        .unwrap_or_default()
        .to_owned();
    // argon2 takes tens of milliseconds of CPU: off the async workers.
    let matches = tokio::task::spawn_blocking(move || password_matches(&candidate, &stored_hash))
        .await
        .unwrap_or(false);
    let Some(account) = row else {
        return Ok(SignIn::Refused);
    };
    let (id, failures, locked_until) = (account.id, account.failed_sign_ins, account.locked_until);
    if let Some(until) = locked_until
        && until > now
    {
        return Ok(SignIn::Locked {
            until,
            just_now: false,
        });
    }
    if matches {
        store.set_sign_in_failures(&id, 0, None).await?;
        return Ok(SignIn::Accepted { user_id: id });
    }
    // A lock that has run out starts a fresh count.
    let failures = if locked_until.is_some() {
        1
    } else {
        failures + 1
    };
    if failures >= MAX_FAILED_SIGN_INS {
        let until = now + LOCKOUT_SECONDS;
        store.set_sign_in_failures(&id, 0, Some(until)).await?;
        return Ok(SignIn::Locked {
            until,
            just_now: true,
        });
    }
    store.set_sign_in_failures(&id, failures, None).await?;
    Ok(SignIn::Refused)
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

/// Applies `change` to the account `id`; disabling also ends its sessions. False when there
/// is no such account.
pub(crate) async fn change_state(
    store: &Store,
    id: &str,
    change: StateChange,
    now: i64,
) -> Result<bool, DatastoreError> {
    match change {
        StateChange::Disable => store.disable_user(id, now).await,
        StateChange::Enable => store.enable_user(id).await,
        StateChange::Unlock => store.set_sign_in_failures(id, 0, None).await,
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
