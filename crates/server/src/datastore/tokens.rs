//! `token_uses`: which upload tokens were spent on which purpose. Each upload route
//! records its token's use here, first in the transaction that stores what the token
//! lets in, so that a replayed token is refused even across instances; a use is kept
//! until the token expires.
//!
//! A row says "some token was spent on this purpose, and expires within this hour": its
//! id is a keyed hash of the token's id and the purpose (`tokens::use_for`), so the rows
//! of one token's purposes (one patient's keys and check-ins) share nothing.

use std::collections::HashSet;

use messages::Purpose;
use sqlx::Row;

use super::{Backend, DatastoreError, Store, Transaction, multi_row_insert};

/// One spent token: the id of this use (hex of a keyed hash of the token's `jti` and the
/// purpose), what it was spent on, and when the token expires (rounded up to the hour).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenUse {
    pub id: String,
    pub purpose: Purpose,
    pub expires_at: i64,
}

/// Records `uses` (distinct by id and purpose) on `connection` and returns those that
/// were new; the others had been spent before. The one statement that writes
/// `token_uses`, for single uploads and group commits alike.
pub(super) async fn record(
    connection: &mut sqlx::AnyConnection,
    backend: Backend,
    uses: &[&TokenUse],
    rows_per_insert: usize,
) -> Result<HashSet<(String, Purpose)>, sqlx::Error> {
    let mut new_uses = HashSet::new();
    for chunk in uses.chunks(rows_per_insert.max(1)) {
        let sql = multi_row_insert(
            backend,
            "token_uses",
            &["use_id", "purpose", "expires_at"],
            chunk.len(),
            "ON CONFLICT (use_id, purpose) DO NOTHING RETURNING use_id, purpose",
        );
        let mut insert = sqlx::query(sql);
        for token_use in chunk {
            insert = insert
                .bind(token_use.id.clone())
                .bind(token_use.purpose.as_str())
                .bind(token_use.expires_at);
        }
        for row in insert.fetch_all(&mut *connection).await? {
            let id: String = row.try_get(0)?;
            let purpose: String = row.try_get(1)?;
            if let Some(purpose) = Purpose::from_stored(&purpose) {
                new_uses.insert((id, purpose));
            }
        }
    }
    Ok(new_uses)
}

impl Transaction {
    /// Records that the token was spent; false when it already was, for this purpose.
    /// Call first in the transaction that stores the upload.
    pub async fn record_token_use(&mut self, token_use: &TokenUse) -> Result<bool, DatastoreError> {
        let new_uses = record(&mut self.inner, self.backend, &[token_use], 1).await?;
        Ok(!new_uses.is_empty())
    }
}

impl Store {
    /// How many token uses are kept (at most those of the tokens not yet expired, once
    /// the purge has run): what an operator or a test checks the purge against.
    pub async fn token_uses_kept(&self) -> Result<u64, DatastoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM token_uses")
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Deletes the uses of tokens that expired before `now` (a replay is refused by the
    /// expiry then); returns how many.
    pub async fn purge_token_uses(&self, now: i64) -> Result<u64, DatastoreError> {
        Ok(sqlx::query("DELETE FROM token_uses WHERE expires_at < $1")
            .bind(now)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }
}
