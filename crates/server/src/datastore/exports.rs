//! `export_files`: the daily export files written to the object store, one row per UTC
//! day (days since 1970-01-01), inserted once, so that no day is published twice.

use super::{DatastoreError, Store};

/// A day's export file as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportFile {
    /// Days since 1970-01-01.
    pub day: i64,
    /// The object's name under `exports/`; empty when the day had no keys.
    pub object_name: String,
    pub key_count: i64,
    pub byte_count: i64,
}

impl Store {
    /// The days from `first_day` on that have their file (or were found empty).
    pub async fn export_days_from(&self, first_day: i64) -> Result<Vec<i64>, DatastoreError> {
        Ok(
            sqlx::query_scalar("SELECT day FROM export_files WHERE day >= $1")
                .bind(first_day)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Records a day's file (once: a day already recorded stays as it is).
    pub async fn record_export_file(
        &self,
        file: &ExportFile,
        now: i64,
    ) -> Result<(), DatastoreError> {
        sqlx::query(
            "INSERT INTO export_files (day, object_name, key_count, byte_count, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (day) DO NOTHING",
        )
        .bind(file.day)
        .bind(&file.object_name)
        .bind(file.key_count)
        .bind(file.byte_count)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The names of the non-empty files from `first_day` on, oldest first.
    pub async fn export_names_from(&self, first_day: i64) -> Result<Vec<String>, DatastoreError> {
        Ok(sqlx::query_scalar(
            "SELECT object_name FROM export_files WHERE day >= $1 AND object_name <> '' ORDER BY day",
        )
        .bind(first_day)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The files of the days before `day`: day and object name.
    pub async fn export_files_before(
        &self,
        day: i64,
    ) -> Result<Vec<(i64, String)>, DatastoreError> {
        Ok(
            sqlx::query_as("SELECT day, object_name FROM export_files WHERE day < $1")
                .bind(day)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Forgets a day's file (after its object was deleted).
    pub async fn delete_export_file(&self, day: i64) -> Result<(), DatastoreError> {
        sqlx::query("DELETE FROM export_files WHERE day = $1")
            .bind(day)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
