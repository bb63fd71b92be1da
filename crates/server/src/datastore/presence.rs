//! `check_in_reports`: protected check-in reports, opaque to the server, kept with the
//! hour they arrived in and deleted after the retention window.

use presence::CheckInProtectedReport;
use rand::seq::SliceRandom;

use super::{DatastoreError, Store, Transaction, multi_row_insert};

impl Transaction {
    /// Stores `reports` as arrived in the hour starting at `received_hour`; a report
    /// already stored (same MAC, a replay with another token) is kept once. Returns how
    /// many were new.
    pub async fn insert_check_in_reports(
        &mut self,
        reports: &[CheckInProtectedReport],
        received_hour: i64,
    ) -> Result<u64, DatastoreError> {
        if reports.is_empty() {
            return Ok(0);
        }
        // Each report at a random id, in shuffled order (issue 14, item 6): ids and the
        // table's order do not group the reports of one upload.
        let mut reports: Vec<&CheckInProtectedReport> = reports.iter().collect();
        reports.shuffle(&mut rand::rng());
        let sql = multi_row_insert(
            self.backend,
            "check_in_reports",
            &[
                "id",
                "location_id_hash",
                "iv",
                "encrypted_check_in_record",
                "mac",
                "received_hour",
            ],
            reports.len(),
            "ON CONFLICT (mac) DO NOTHING",
        );
        let mut insert = sqlx::query(sql);
        for report in reports {
            insert = insert
                .bind(rand::random::<i64>())
                .bind(report.location_id_hash.clone())
                .bind(report.iv.clone())
                .bind(report.encrypted_check_in_record.clone())
                .bind(report.mac.clone())
                .bind(received_hour);
        }
        Ok(insert.execute(&mut *self.inner).await?.rows_affected())
    }
}

/// location_id_hash, iv, encrypted_check_in_record, mac.
type ReportColumns = (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>);

impl Store {
    /// The reports that arrived in `(after, until]` (unix seconds of hour starts),
    /// sorted by location id hash, which mixes uploads together.
    pub async fn check_in_reports_between(
        &self,
        after: i64,
        until: i64,
    ) -> Result<Vec<CheckInProtectedReport>, DatastoreError> {
        let rows: Vec<ReportColumns> = sqlx::query_as(
            "SELECT location_id_hash, iv, encrypted_check_in_record, mac FROM check_in_reports \
             WHERE received_hour > $1 AND received_hour <= $2 ORDER BY location_id_hash, mac",
        )
        .bind(after)
        .bind(until)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(location_id_hash, iv, encrypted_check_in_record, mac)| CheckInProtectedReport {
                    location_id_hash,
                    iv,
                    encrypted_check_in_record,
                    mac,
                },
            )
            .collect())
    }

    /// Deletes the reports that arrived before `cutoff`; returns how many.
    pub async fn purge_check_in_reports(&self, cutoff: i64) -> Result<u64, DatastoreError> {
        Ok(
            sqlx::query("DELETE FROM check_in_reports WHERE received_hour < $1")
                .bind(cutoff)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}
