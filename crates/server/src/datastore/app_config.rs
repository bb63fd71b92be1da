//! `app_configuration_versions`: every saved version of the authority's app settings,
//! newest served. Versions are only ever added; a roll back adds a copy of an old one.

use super::{DatastoreError, Store};

/// One saved version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigVersionRow {
    /// 1, 2, 3, … in the order of saving.
    pub version: i64,
    /// Unix seconds.
    pub saved_at: i64,
    /// The staff member's email (or `cli` for the command line).
    pub author: String,
    /// The settings, as JSON (`messages::app_settings::AppSettings`).
    pub settings: String,
    /// The version this one copies, when it was a roll back.
    pub restored_from: Option<i64>,
}

type VersionColumns = (i64, i64, String, String, Option<i64>);

fn row((version, saved_at, author, settings, restored_from): VersionColumns) -> ConfigVersionRow {
    ConfigVersionRow {
        version,
        saved_at,
        author,
        settings,
        restored_from,
    }
}

impl Store {
    /// The newest version, `None` before the first save.
    pub async fn latest_app_configuration(
        &self,
    ) -> Result<Option<ConfigVersionRow>, DatastoreError> {
        let found: Option<VersionColumns> = sqlx::query_as(
            "SELECT version, saved_at, author, settings, restored_from \
             FROM app_configuration_versions ORDER BY version DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.map(row))
    }

    /// Version `version`, if it was saved.
    pub async fn app_configuration_version(
        &self,
        version: i64,
    ) -> Result<Option<ConfigVersionRow>, DatastoreError> {
        let found: Option<VersionColumns> = sqlx::query_as(
            "SELECT version, saved_at, author, settings, restored_from \
             FROM app_configuration_versions WHERE version = $1",
        )
        .bind(version)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.map(row))
    }

    /// The newest `limit` versions, newest first.
    pub async fn app_configuration_history(
        &self,
        limit: i64,
    ) -> Result<Vec<ConfigVersionRow>, DatastoreError> {
        let rows: Vec<VersionColumns> = sqlx::query_as(
            "SELECT version, saved_at, author, settings, restored_from \
             FROM app_configuration_versions ORDER BY version DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(row).collect())
    }

    /// Saves `settings` (already validated) as the next version and records it in the
    /// audit log, together; returns the new version's number. Two saves at the same
    /// moment cannot take the same number: the second one fails and changes nothing.
    pub async fn save_app_configuration(
        &self,
        now: i64,
        author: &str,
        settings: &str,
        restored_from: Option<i64>,
    ) -> Result<i64, DatastoreError> {
        let mut transaction = self.begin().await?;
        let version: i64 = sqlx::query_scalar(
            "INSERT INTO app_configuration_versions \
                 (version, saved_at, author, settings, restored_from) \
             SELECT COALESCE(MAX(version), 0) + 1, $1, $2, $3, $4 \
             FROM app_configuration_versions RETURNING version",
        )
        .bind(now)
        .bind(author)
        .bind(settings)
        .bind(restored_from)
        .fetch_one(&mut *transaction.inner)
        .await?;
        let (action, target) = match restored_from {
            Some(old) => ("config-rolled-back", format!("{version} = {old}")),
            None => ("config-saved", version.to_string()),
        };
        sqlx::query(
            "INSERT INTO authority_audit_log (at, actor, action, target) VALUES ($1, $2, $3, $4)",
        )
        .bind(now)
        .bind(author)
        .bind(action)
        .bind(target)
        .execute(&mut *transaction.inner)
        .await?;
        transaction.commit().await?;
        Ok(version)
    }
}
