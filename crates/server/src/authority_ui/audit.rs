//! The audit log: who issued, expired or created what, and when. Entries name staff
//! accounts and code ids, never a code or anything about a patient.

use super::views::AuditRow;
use crate::store::Store;

/// How many entries the admin page shows (newest first).
pub const AUDIT_PAGE_SIZE: i64 = 500;

/// Records that `actor` (an email) did `action` (an `audit-action-*` message suffix) to
/// `target` (an email, a code id, an API key name).
pub(crate) async fn record(
    store: &Store,
    now: i64,
    actor: &str,
    action: &str,
    target: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO authority_audit_log (at, actor, action, target) VALUES ($1, $2, $3, $4)",
    )
    .bind(now)
    .bind(actor)
    .bind(action)
    .bind(target)
    .execute(store.pool())
    .await?;
    Ok(())
}

/// The newest entries.
pub(crate) async fn latest(store: &Store) -> Result<Vec<AuditRow>, sqlx::Error> {
    let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
        "SELECT at, actor, action, target FROM authority_audit_log ORDER BY id DESC LIMIT $1",
    )
    .bind(AUDIT_PAGE_SIZE)
    .fetch_all(store.pool())
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
