//! `authority_users`, `authority_sessions` and `sign_in_backoff`: staff accounts
//! (argon2id password hashes), their sessions (by SHA-256 of the cookie's token, so a
//! stolen backup opens no session), and the consecutive failed sign-ins of each email
//! address, known or not (by a keyed hash of the address, so that the table names no
//! one and an unknown address is treated exactly like a known one).

use super::{DatastoreError, Store};

/// What a signed-in user may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Physician,
    Admin,
}

impl Role {
    /// The role as stored and as typed on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Physician => "physician",
            Role::Admin => "admin",
        }
    }

    /// Reads `physician` or `admin`.
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "physician" => Some(Role::Physician),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// An account as the admin page lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub created_at: i64,
    pub disabled: bool,
    /// Sign-ins wait until this time after failures, if the wait is still running (filled
    /// in by the caller from [`Store::sign_in_waits`]).
    pub locked_until: Option<i64>,
}

/// What a sign-in checks of an enabled account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignInRecord {
    pub id: String,
    pub password_hash: String,
}

/// A live session's account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRow {
    pub user_id: String,
    pub email: String,
    pub role: Role,
    /// The session's anti-forgery token.
    pub csrf_token: String,
    /// Whether the account has a second factor.
    pub has_second_factor: bool,
}

/// A new account.
pub struct NewUserRow<'a> {
    pub id: &'a str,
    /// Normalised (lower-case, trimmed).
    pub email: &'a str,
    pub role: Role,
    /// An argon2id PHC string.
    pub password_hash: &'a str,
    pub created_at: i64,
}

/// A new session.
pub struct NewSessionRow<'a> {
    pub token_hash: &'a [u8],
    pub user_id: &'a str,
    pub csrf_token: &'a str,
    pub created_at: i64,
    pub expires_at: i64,
}

/// id, email, role, created_at, disabled_at.
type UserColumns = (String, String, String, i64, Option<i64>);

impl Store {
    /// Stores a new account; false when the email is taken.
    pub async fn insert_user(&self, user: &NewUserRow<'_>) -> Result<bool, DatastoreError> {
        let inserted = sqlx::query(
            "INSERT INTO authority_users (id, email, role, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (email) DO NOTHING",
        )
        .bind(user.id)
        .bind(user.email)
        .bind(user.role.as_str())
        .bind(user.password_hash)
        .bind(user.created_at)
        .execute(&self.pool)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    /// The enabled account with this (normalised) email, for a sign-in.
    pub async fn user_for_sign_in(
        &self,
        email: &str,
    ) -> Result<Option<SignInRecord>, DatastoreError> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT id, password_hash FROM authority_users WHERE email = $1 AND disabled_at IS NULL",
        )
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(id, password_hash)| SignInRecord { id, password_hash }))
    }

    /// Until when sign-ins with the email whose keyed hash is `email_key` wait, if
    /// failures made them wait and the wait is running at `now`.
    pub async fn sign_in_wait(
        &self,
        email_key: &[u8],
        now: i64,
    ) -> Result<Option<i64>, DatastoreError> {
        Ok(sqlx::query_scalar(
            "SELECT not_before FROM sign_in_backoff WHERE email_key = $1 AND not_before > $2",
        )
        .bind(email_key)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Every running wait, by email key (for the admin's account list).
    pub async fn sign_in_waits(&self, now: i64) -> Result<Vec<(Vec<u8>, i64)>, DatastoreError> {
        Ok(sqlx::query_as(
            "SELECT email_key, not_before FROM sign_in_backoff WHERE not_before > $1",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Counts a failed sign-in with the email `email_key` at `now` (failures older than
    /// `forget_before` start a fresh count) and makes the next ones wait `delay_after`
    /// the new count, seconds. Also deletes the counts that are forgotten anyway, so
    /// that the table stays small whatever emails are tried. Returns the count.
    pub async fn record_sign_in_failure(
        &self,
        email_key: &[u8],
        now: i64,
        forget_before: i64,
        delay_after: impl Fn(i64) -> i64,
    ) -> Result<i64, DatastoreError> {
        let mut transaction = self.begin().await?;
        sqlx::query("DELETE FROM sign_in_backoff WHERE last_failure < $1")
            .bind(forget_before)
            .execute(&mut *transaction.inner)
            .await?;
        let failures: i64 = sqlx::query_scalar(
            "INSERT INTO sign_in_backoff (email_key, failures, not_before, last_failure) \
             VALUES ($1, 1, $2, $2) ON CONFLICT (email_key) DO UPDATE \
             SET failures = sign_in_backoff.failures + 1, last_failure = $2 RETURNING failures",
        )
        .bind(email_key)
        .bind(now)
        .fetch_one(&mut *transaction.inner)
        .await?;
        sqlx::query("UPDATE sign_in_backoff SET not_before = $1 WHERE email_key = $2")
            .bind(now.saturating_add(delay_after(failures)))
            .bind(email_key)
            .execute(&mut *transaction.inner)
            .await?;
        transaction.commit().await?;
        Ok(failures)
    }

    /// Forgets the failed sign-ins of the email `email_key` (after a successful sign-in,
    /// or when an admin lifts the wait).
    pub async fn clear_sign_in_failures(&self, email_key: &[u8]) -> Result<(), DatastoreError> {
        sqlx::query("DELETE FROM sign_in_backoff WHERE email_key = $1")
            .bind(email_key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Every account, by email (`locked_until` left for the caller: see
    /// [`Store::sign_in_waits`]).
    pub async fn users(&self) -> Result<Vec<UserRow>, DatastoreError> {
        let rows: Vec<UserColumns> = sqlx::query_as(
            "SELECT id, email, role, created_at, disabled_at FROM authority_users ORDER BY email",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, email, role, created_at, disabled_at)| UserRow {
                id,
                email,
                // The table's CHECK allows only the two roles.
                role: Role::parse(&role).unwrap_or(Role::Physician),
                created_at,
                disabled: disabled_at.is_some(),
                locked_until: None,
            })
            .collect())
    }

    /// The email of an account.
    pub async fn user_email(&self, id: &str) -> Result<Option<String>, DatastoreError> {
        Ok(
            sqlx::query_scalar("SELECT email FROM authority_users WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Disables an account and ends its sessions, together; false when there is no
    /// such account.
    pub async fn disable_user(&self, id: &str, now: i64) -> Result<bool, DatastoreError> {
        let mut transaction = self.begin().await?;
        sqlx::query("DELETE FROM authority_sessions WHERE user_id = $1")
            .bind(id)
            .execute(&mut *transaction.inner)
            .await?;
        let result = sqlx::query("UPDATE authority_users SET disabled_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&mut *transaction.inner)
            .await?;
        transaction.commit().await?;
        Ok(result.rows_affected() == 1)
    }

    /// Enables a disabled account; false when there is no such account.
    pub async fn enable_user(&self, id: &str) -> Result<bool, DatastoreError> {
        let result = sqlx::query("UPDATE authority_users SET disabled_at = NULL WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Opens a session, clearing the sessions that ran out first (sign-ins are rare, so
    /// no job is needed for them).
    pub async fn open_session(
        &self,
        session: &NewSessionRow<'_>,
        now: i64,
    ) -> Result<(), DatastoreError> {
        sqlx::query("DELETE FROM authority_sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO authority_sessions (token_hash, user_id, csrf_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(session.token_hash)
        .bind(session.user_id)
        .bind(session.csrf_token)
        .bind(session.created_at)
        .bind(session.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The account of the live session with this token hash, if it is enabled.
    pub async fn session(
        &self,
        token_hash: &[u8],
        now: i64,
    ) -> Result<Option<SessionRow>, DatastoreError> {
        let row: Option<(String, String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT u.id, u.email, u.role, s.csrf_token, u.totp_secret FROM authority_sessions s \
             JOIN authority_users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(
            row.and_then(|(user_id, email, role, csrf_token, totp_secret)| {
                Some(SessionRow {
                    user_id,
                    email,
                    role: Role::parse(&role)?,
                    csrf_token,
                    has_second_factor: totp_secret.is_some(),
                })
            }),
        )
    }

    /// Sets the password hash of account `id` and ends its sessions, all but the one
    /// with `keep` (the session that changed it); false when there is no such account.
    pub async fn set_password(
        &self,
        id: &str,
        password_hash: &str,
        keep: Option<&[u8]>,
    ) -> Result<bool, DatastoreError> {
        let mut transaction = self.begin().await?;
        let result = sqlx::query("UPDATE authority_users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(id)
            .execute(&mut *transaction.inner)
            .await?;
        sqlx::query("DELETE FROM authority_sessions WHERE user_id = $1 AND token_hash <> $2")
            .bind(id)
            .bind(keep.unwrap_or_default())
            .execute(&mut *transaction.inner)
            .await?;
        transaction.commit().await?;
        Ok(result.rows_affected() == 1)
    }

    /// Stores a password-reset link for account `user_id` by its token's hash, replacing
    /// any earlier link of the account, and drops the links that ran out.
    pub async fn insert_password_reset(
        &self,
        token_hash: &[u8],
        user_id: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), DatastoreError> {
        let mut transaction = self.begin().await?;
        sqlx::query("DELETE FROM password_resets WHERE user_id = $1 OR expires_at <= $2")
            .bind(user_id)
            .bind(now)
            .execute(&mut *transaction.inner)
            .await?;
        sqlx::query(
            "INSERT INTO password_resets (token_hash, user_id, expires_at) VALUES ($1, $2, $3)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(expires_at)
        .execute(&mut *transaction.inner)
        .await?;
        transaction.commit().await?;
        Ok(())
    }

    /// The email of the enabled account a live reset link with this token hash is for.
    pub async fn password_reset_email(
        &self,
        token_hash: &[u8],
        now: i64,
    ) -> Result<Option<String>, DatastoreError> {
        Ok(sqlx::query_scalar(
            "SELECT u.email FROM password_resets r JOIN authority_users u ON u.id = r.user_id \
             WHERE r.token_hash = $1 AND r.expires_at > $2 AND u.disabled_at IS NULL",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Uses the live reset link with this token hash, once: deletes it, sets the account's
    /// new password hash, removes its second factor (the link is how someone who lost
    /// their phone gets back in: they set one up again) and ends every session of the
    /// account, in one transaction. The account's email, or `None` when the link is
    /// unknown, used, expired or its account disabled.
    pub async fn use_password_reset(
        &self,
        token_hash: &[u8],
        password_hash: &str,
        now: i64,
    ) -> Result<Option<String>, DatastoreError> {
        let mut transaction = self.begin().await?;
        let user_id: Option<String> = sqlx::query_scalar(
            "DELETE FROM password_resets WHERE token_hash = $1 AND expires_at > $2 RETURNING user_id",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&mut *transaction.inner)
        .await?;
        let Some(user_id) = user_id else {
            return Ok(None);
        };
        let email: Option<String> = sqlx::query_scalar(
            "UPDATE authority_users SET password_hash = $1, totp_secret = NULL, totp_last_step = NULL \
             WHERE id = $2 AND disabled_at IS NULL RETURNING email",
        )
        .bind(password_hash)
        .bind(&user_id)
        .fetch_optional(&mut *transaction.inner)
        .await?;
        // A disabled account: the link stays unused (the transaction is rolled back).
        let Some(email) = email else {
            return Ok(None);
        };
        sqlx::query("DELETE FROM authority_sessions WHERE user_id = $1")
            .bind(&user_id)
            .execute(&mut *transaction.inner)
            .await?;
        transaction.commit().await?;
        Ok(Some(email))
    }

    /// The sealed TOTP secret of account `id`, if it has one.
    pub async fn totp_secret(&self, id: &str) -> Result<Option<String>, DatastoreError> {
        let secret: Option<Option<String>> =
            sqlx::query_scalar("SELECT totp_secret FROM authority_users WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(secret.flatten())
    }

    /// Gives account `id` the sealed TOTP secret `sealed`, whose code of `step` was just
    /// typed (so that code is spent), or removes its second factor (`None`).
    pub async fn set_totp_secret(
        &self,
        id: &str,
        sealed: Option<&str>,
        step: Option<i64>,
    ) -> Result<bool, DatastoreError> {
        let result = sqlx::query(
            "UPDATE authority_users SET totp_secret = $1, totp_last_step = $2 WHERE id = $3",
        )
        .bind(sealed)
        .bind(step)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Spends the TOTP code of `step` for account `id`: false when a code of this step or
    /// a later one was already accepted (a replay).
    pub async fn spend_totp_step(&self, id: &str, step: i64) -> Result<bool, DatastoreError> {
        let result = sqlx::query(
            "UPDATE authority_users SET totp_last_step = $1 \
             WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
        )
        .bind(step)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Ends the session with this token hash.
    pub async fn close_session(&self, token_hash: &[u8]) -> Result<(), DatastoreError> {
        sqlx::query("DELETE FROM authority_sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
