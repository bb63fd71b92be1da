//! `authority_api_keys` and `codes`: the authorities' API keys (stored as SHA-256 of a
//! 256-bit random key) and the one-time codes (stored as HMAC-SHA256 under the server's
//! secret). Issue and use times of a code are kept to the hour, and its expiry is
//! rounded up to the hour (see `codes::code_expiry`), so that no time in a code's row
//! is finer than an hour.

use super::{DatastoreError, Store};

pub use messages::authority::{CodeKind, TestType};

/// The state of a code, as its issuer sees it: the wire type of the API, worked out by
/// [`CodeStatus::at`] for the API and the web UI alike.
pub use messages::authority::CodeState as CodeStatus;

/// A stored code (never its digits: only its HMAC is kept).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeRecord {
    pub id: String,
    pub kind: CodeKind,
    /// Issue time, kept to the hour.
    pub issued_hour: i64,
    pub expires_at: i64,
    /// Redemption time, kept to the hour.
    pub used_hour: Option<i64>,
}

impl CodeRecord {
    /// The code's state at `now`.
    pub fn status(&self, now: i64) -> CodeStatus {
        CodeStatus::at(self.expires_at, self.used_hour, now)
    }
}

/// What a redeemed (or peeked) code lets in: its kind and its onset date (`YYYY-MM-DD`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedeemedCode {
    pub kind: CodeKind,
    pub onset_date: Option<String>,
    /// The report type of the keys it lets in.
    pub test_type: TestType,
    /// The hour the code was issued (analytics: hours from issue to use).
    pub created_hour: i64,
}

/// A code to store.
pub struct NewCodeRow<'a> {
    pub id: &'a str,
    pub code_hmac: &'a [u8],
    pub kind: CodeKind,
    /// `YYYY-MM-DD`.
    pub onset_date: Option<&'a str>,
    pub test_type: TestType,
    /// An API key id, or `user:<id>` for a physician signed in to the web UI.
    pub issued_by: &'a str,
    pub created_hour: i64,
    pub expires_at: i64,
}

/// An authority API key as the admin page lists it (never the key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyRow {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub revoked: bool,
}

impl Store {
    /// Stores an API key by its hash.
    pub async fn insert_api_key(
        &self,
        id: &str,
        name: &str,
        key_hash: &[u8],
        now: i64,
    ) -> Result<(), DatastoreError> {
        sqlx::query(
            "INSERT INTO authority_api_keys (id, name, key_hash, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(name)
        .bind(key_hash)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The id of the live (not revoked) API key with this hash.
    ///
    /// The lookup is by the SHA-256 of the presented key, so the index compares hashes,
    /// not keys: timing can at most tell an attacker how many leading bytes of the *hash*
    /// of their guess match a stored one, which says nothing about a key they cannot
    /// invert SHA-256 to find. Comparing the returned hash with the searched one again
    /// would compare a value with itself, so it is not done.
    pub async fn live_api_key_id(&self, key_hash: &[u8]) -> Result<Option<String>, DatastoreError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM authority_api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
        )
        .bind(key_hash)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Every API key, newest first.
    pub async fn api_keys(&self) -> Result<Vec<ApiKeyRow>, DatastoreError> {
        let rows: Vec<(String, String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT id, name, created_at, revoked_at FROM authority_api_keys ORDER BY created_at DESC, name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, created_at, revoked_at)| ApiKeyRow {
                id,
                name,
                created_at,
                revoked: revoked_at.is_some(),
            })
            .collect())
    }

    /// Revokes a live API key; its name, or `None` when there is no such live key.
    pub async fn revoke_api_key(
        &self,
        id: &str,
        now: i64,
    ) -> Result<Option<String>, DatastoreError> {
        Ok(sqlx::query_scalar(
            "UPDATE authority_api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING name",
        )
        .bind(now)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Stores a new code; false when its HMAC is already taken (draw another code).
    pub async fn insert_code(&self, code: &NewCodeRow<'_>) -> Result<bool, DatastoreError> {
        let inserted = sqlx::query(
            "INSERT INTO codes (id, code_hmac, kind, onset_date, test_type, issued_by, created_hour, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (code_hmac) DO NOTHING",
        )
        .bind(code.id)
        .bind(code.code_hmac)
        .bind(code.kind.as_str())
        .bind(code.onset_date)
        .bind(code.test_type.as_str())
        .bind(code.issued_by)
        .bind(code.created_hour)
        .bind(code.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    /// The code with this id, if it is still kept and `issuer` issued it: an issuer
    /// follows its own codes only, never another key's or physician's.
    pub async fn code_issued_by(
        &self,
        id: &str,
        issuer: &str,
    ) -> Result<Option<CodeRecord>, DatastoreError> {
        let row: Option<CodeColumns> = sqlx::query_as(
            "SELECT id, kind, created_hour, expires_at, used_hour FROM codes \
             WHERE id = $1 AND issued_by = $2",
        )
        .bind(id)
        .bind(issuer)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(code_record))
    }

    /// The newest `limit` codes issued by `issuer`.
    pub async fn codes_issued_by(
        &self,
        issuer: &str,
        limit: i64,
    ) -> Result<Vec<CodeRecord>, DatastoreError> {
        let rows: Vec<CodeColumns> = sqlx::query_as(
            "SELECT id, kind, created_hour, expires_at, used_hour FROM codes WHERE issued_by = $1 \
             ORDER BY created_hour DESC, expires_at DESC LIMIT $2",
        )
        .bind(issuer)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(code_record).collect())
    }

    /// Redeems the live code with this HMAC (exactly one of concurrent redemptions
    /// wins): its kind, onset date and the hour it was issued when it was live, `None`
    /// otherwise.
    pub async fn redeem_code(
        &self,
        code_hmac: &[u8],
        used_hour: i64,
        now: i64,
    ) -> Result<Option<RedeemedCode>, DatastoreError> {
        let row: Option<RedeemedColumns> = sqlx::query_as(
            "UPDATE codes SET used_hour = $1 WHERE code_hmac = $2 AND used_hour IS NULL AND expires_at > $3 \
             RETURNING kind, onset_date, test_type, created_hour",
        )
        .bind(used_hour)
        .bind(code_hmac)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(redeemed))
    }

    /// Expires `issuer`'s unused, unexpired code `id` now (it keeps its history and is
    /// purged with the others); false when there is no such code.
    pub async fn expire_code(
        &self,
        id: &str,
        issuer: &str,
        now: i64,
    ) -> Result<bool, DatastoreError> {
        // Expired from the start of this hour: the row keeps no time finer than an hour.
        let expired = sqlx::query(
            "UPDATE codes SET expires_at = $1 WHERE id = $2 AND issued_by = $3 \
             AND used_hour IS NULL AND expires_at > $4",
        )
        .bind(super::floor_to_hour(now))
        .bind(id)
        .bind(issuer)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(expired.rows_affected() == 1)
    }

    /// Deletes the codes issued before `cutoff`; returns how many.
    pub async fn purge_codes(&self, cutoff: i64) -> Result<u64, DatastoreError> {
        Ok(sqlx::query("DELETE FROM codes WHERE created_hour < $1")
            .bind(cutoff)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }
}

/// id, kind, created_hour, expires_at, used_hour.
type CodeColumns = (String, String, i64, i64, Option<i64>);

/// The table's CHECK allows only the two kinds; anything else reads as a patient's code,
/// the kind that lets the least through a venue warning.
fn kind_of(text: &str) -> CodeKind {
    CodeKind::parse(text).unwrap_or(CodeKind::Patient)
}

/// kind, onset_date, test_type, created_hour.
type RedeemedColumns = (String, Option<String>, String, i64);

fn redeemed((kind, onset_date, test_type, created_hour): RedeemedColumns) -> RedeemedCode {
    RedeemedCode {
        kind: kind_of(&kind),
        onset_date,
        // The table's CHECK allows only the two types.
        test_type: TestType::parse(&test_type).unwrap_or_default(),
        created_hour,
    }
}

fn code_record((id, kind, issued_hour, expires_at, used_hour): CodeColumns) -> CodeRecord {
    CodeRecord {
        id,
        kind: kind_of(&kind),
        issued_hour,
        expires_at,
        used_hour,
    }
}

#[cfg(test)]
mod tests {
    use super::CodeStatus;

    #[test]
    fn a_used_code_stays_used_after_its_expiry() {
        assert_eq!(CodeStatus::at(100, Some(0), 50), CodeStatus::Used);
        assert_eq!(CodeStatus::at(100, Some(0), 500), CodeStatus::Used);
        assert_eq!(CodeStatus::at(100, None, 99), CodeStatus::Unused);
        assert_eq!(CodeStatus::at(100, None, 100), CodeStatus::Expired);
    }
}
