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

/// Which entries of the log to read. The default lets every entry through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditFilter {
    /// One staff member's email, or empty for everyone.
    pub actor: String,
    /// One action, or empty for every action.
    pub action: String,
    /// Entries at or after this time (unix seconds).
    pub since: i64,
    /// Entries before this time.
    pub until: i64,
}

impl Default for AuditFilter {
    fn default() -> Self {
        AuditFilter {
            actor: String::new(),
            action: String::new(),
            since: i64::MIN,
            until: i64::MAX,
        }
    }
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
        self.audit_entries(&AuditFilter::default(), 0, limit).await
    }

    /// The entries `filter` lets through, newest first: `limit` of them after skipping
    /// `offset`.
    pub async fn audit_entries(
        &self,
        filter: &AuditFilter,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<AuditRow>, DatastoreError> {
        // An empty actor or action matches every entry: one statement for every filter.
        let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
            "SELECT at, actor, action, target FROM authority_audit_log \
             WHERE ($1 = '' OR actor = $1) AND ($2 = '' OR action = $2) AND at >= $3 AND at < $4 \
             ORDER BY id DESC LIMIT $5 OFFSET $6",
        )
        .bind(&filter.actor)
        .bind(&filter.action)
        .bind(filter.since)
        .bind(filter.until)
        .bind(limit)
        .bind(offset)
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

    /// Everyone who did something still in the log, and every kind of action in it, each
    /// sorted: the choices of the log's filters.
    pub async fn audit_choices(&self) -> Result<(Vec<String>, Vec<String>), DatastoreError> {
        let actors =
            sqlx::query_scalar("SELECT DISTINCT actor FROM authority_audit_log ORDER BY actor")
                .fetch_all(&self.pool)
                .await?;
        let actions =
            sqlx::query_scalar("SELECT DISTINCT action FROM authority_audit_log ORDER BY action")
                .fetch_all(&self.pool)
                .await?;
        Ok((actors, actions))
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
