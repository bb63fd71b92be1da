//! `authority_audit_log`: who issued, expired or created what, and when. Entries name
//! staff accounts, code ids and API key names, never a code or anything about a patient,
//! and are purged with everything else after the retention window.

use super::{DatastoreError, Store};

/// One audit log entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRow {
    /// Unix seconds.
    pub at: i64,
    /// The staff member's email.
    pub actor: String,
    /// An `audit-action-*` message suffix.
    pub action: String,
    /// An email, a code id or an API key name.
    pub target: String,
}

impl Store {
    /// Records that `actor` did `action` to `target` at `now`.
    pub async fn record_audit(
        &self,
        now: i64,
        actor: &str,
        action: &str,
        target: &str,
    ) -> Result<(), DatastoreError> {
        sqlx::query(
            "INSERT INTO authority_audit_log (at, actor, action, target) VALUES ($1, $2, $3, $4)",
        )
        .bind(now)
        .bind(actor)
        .bind(action)
        .bind(target)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The newest `limit` entries, newest first.
    pub async fn latest_audit(&self, limit: i64) -> Result<Vec<AuditRow>, DatastoreError> {
        let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
            "SELECT at, actor, action, target FROM authority_audit_log ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(at, actor, action, target)| AuditRow {
                at,
                actor,
                action,
                target,
            })
            .collect())
    }

    /// Deletes the entries recorded before `cutoff`; returns how many.
    pub async fn purge_audit(&self, cutoff: i64) -> Result<u64, DatastoreError> {
        Ok(sqlx::query("DELETE FROM authority_audit_log WHERE at < $1")
            .bind(cutoff)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }
}
