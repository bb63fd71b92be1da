//! The stored rows as someone who copied the database would read them, in the order they
//! are stored (SQLite: rowid; PostgreSQL: ctid, the heap position). Only for the tests
//! that check what the rows reveal about the people behind them (issue 14, item 6); the
//! server never reads this.

use sqlx::AssertSqlSafe;

use super::{Backend, DatastoreError, Store};

/// What the rows of the tables that hold uploads say.
#[derive(Clone, Debug, Default)]
pub struct StoredRows {
    /// `token_uses`: use id, purpose, expires_at.
    pub token_uses: Vec<(String, String, i64)>,
    /// `codes`: issued_by, kind, created_hour, expires_at, used_hour.
    pub codes: Vec<(String, String, i64, i64, Option<i64>)>,
    /// `exposed_keys`: key bytes and received hour, in storage order.
    pub keys: Vec<(Vec<u8>, i64)>,
    /// `check_in_reports`: id, MAC and received hour, in storage order.
    pub check_in_reports: Vec<(i64, Vec<u8>, i64)>,
}

impl Store {
    /// Every row of the upload tables, in storage order (see the module documentation).
    #[doc(hidden)]
    pub async fn stored_rows(&self) -> Result<StoredRows, DatastoreError> {
        let order = match self.backend {
            Backend::Sqlite => "rowid",
            Backend::Postgres => "ctid",
        };
        Ok(StoredRows {
            token_uses: sqlx::query_as(AssertSqlSafe(format!(
                "SELECT use_id, purpose, expires_at FROM token_uses ORDER BY {order}"
            )))
            .fetch_all(&self.pool)
            .await?,
            codes: sqlx::query_as(AssertSqlSafe(format!(
                "SELECT issued_by, kind, created_hour, expires_at, used_hour FROM codes ORDER BY {order}"
            )))
            .fetch_all(&self.pool)
            .await?,
            keys: sqlx::query_as(AssertSqlSafe(format!(
                "SELECT key_data, received_hour FROM exposed_keys ORDER BY {order}"
            )))
            .fetch_all(&self.pool)
            .await?,
            check_in_reports: sqlx::query_as(AssertSqlSafe(format!(
                "SELECT id, mac, received_hour FROM check_in_reports ORDER BY {order}"
            )))
            .fetch_all(&self.pool)
            .await?,
        })
    }
}
