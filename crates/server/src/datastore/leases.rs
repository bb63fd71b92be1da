//! `leases`: a named lease held by one server instance until it expires or is given
//! back, so that two instances never run the same job (export building) at once.

use super::{DatastoreError, Store};

impl Store {
    /// Takes or renews the lease `name` for `holder` until `now + seconds`; true when
    /// `holder` holds it. Another holder's lease blocks until it expires.
    pub async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: i64,
        seconds: i64,
    ) -> Result<bool, DatastoreError> {
        let result = sqlx::query(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE leases.expires_at <= $4 OR leases.holder = excluded.holder",
        )
        .bind(name)
        .bind(holder)
        .bind(now + seconds)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Gives the lease back early.
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<(), DatastoreError> {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
