//! Published keys against own sightings: matching, risk, notifications.
//!
//! A downloaded export is verified against the key pinned at `init` before a single key
//! is looked at, then matched by the `exposure` crate's engine against every sighting
//! kept. Matching keys are stored (a few per exposure, 14 days), so that the risk can be
//! recomputed offline at any time from the matched keys and the sightings still kept, and
//! so that it falls back to "none" by itself once the exposure is older than 14 days.

use exposure::export::{public_key_from_pem, read_zip};
use exposure::interval::EnIntervalNumber;
use exposure::keys::{DiagnosisKey, ReportType, TemporaryExposureKey};
use exposure::matching::{ExposureMatch, ObservedSet};
use exposure::risk::{RiskAssessment, RiskLevel, assess};
use rusqlite::params;

use crate::store::{self, EXPORT_PUBLIC_KEY_PEM};
use crate::{Phone, PhoneError};

/// Notification kind of an exposure (one per UTC day at or above low risk).
pub const EXPOSURE_NOTIFICATION: &str = "exposure";

impl Phone {
    /// Verifies a downloaded export zip with the pinned key and stores the keys that match
    /// own sightings. Returns how many keys matched.
    pub fn check_export(&mut self, zip: &[u8]) -> Result<usize, PhoneError> {
        let pem =
            store::setting(&self.db, EXPORT_PUBLIC_KEY_PEM)?.ok_or(PhoneError::NotInitialised)?;
        let public_key = public_key_from_pem(&pem)
            .map_err(|error| PhoneError::BadSignature(format!("pinned key unreadable: {error}")))?;
        let export = read_zip(zip)?;
        export
            .verify(&public_key)
            .map_err(|error| PhoneError::BadSignature(error.to_string()))?;
        let observed = ObservedSet::new(self.sightings()?)
            .map_err(|error| PhoneError::InvalidInput(error.to_string()))?;
        let matches = observed.match_keys(export.batch.keys);
        let mut insert = self.db.prepare(
            "INSERT OR REPLACE INTO matched_keys (key_data, rolling_start, rolling_period,
                transmission_risk_level, report_type, days_since_onset)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for found in &matches {
            let key = &found.key;
            insert.execute(params![
                key.key.key_data.as_slice(),
                key.key.rolling_start_interval_number.0,
                key.key.rolling_period,
                key.transmission_risk_level,
                key.report_type.to_wire(),
                key.days_since_onset_of_symptoms
            ])?;
        }
        Ok(matches.len())
    }

    /// Published keys that matched, still kept.
    fn matched_keys(&self) -> Result<Vec<DiagnosisKey>, PhoneError> {
        let mut statement = self.db.prepare(
            "SELECT key_data, rolling_start, rolling_period, transmission_risk_level,
                    report_type, days_since_onset FROM matched_keys",
        )?;
        let rows = statement.query_map([], |row| {
            Ok((
                row.get::<_, Vec<u8>>(0)?,
                row.get::<_, u32>(1)?,
                row.get::<_, u32>(2)?,
                row.get::<_, i32>(3)?,
                row.get::<_, i32>(4)?,
                row.get::<_, Option<i32>>(5)?,
            ))
        })?;
        let mut keys = Vec::new();
        for row in rows {
            let (key_data, start, period, level, report_type, onset) = row?;
            let Ok(key_data) = key_data.try_into() else {
                continue;
            };
            keys.push(DiagnosisKey {
                key: TemporaryExposureKey {
                    key_data,
                    rolling_start_interval_number: EnIntervalNumber(start),
                    rolling_period: period,
                },
                transmission_risk_level: level,
                report_type: ReportType::from_wire(report_type).unwrap_or(ReportType::Unknown),
                days_since_onset_of_symptoms: onset,
            });
        }
        Ok(keys)
    }

    /// The risk from the matched keys and the sightings kept, computed offline.
    pub fn assess_exposure(&self) -> Result<RiskAssessment, PhoneError> {
        let observed = ObservedSet::new(self.sightings()?)
            .map_err(|error| PhoneError::InvalidInput(error.to_string()))?;
        let matches: Vec<ExposureMatch> = observed.match_keys(self.matched_keys()?);
        Ok(assess(&matches, &self.risk_configuration()?))
    }

    /// Records one notification per exposure day at or above low risk; returns how many
    /// are new (days the user has not been told about yet, or days that rose from low to
    /// high, for instance under a stricter configuration). A notification shown is never
    /// lowered: the user was told, and a later configuration does not take it back.
    pub(crate) fn record_exposure_notifications(
        &mut self,
        assessment: &RiskAssessment,
        now: u64,
    ) -> Result<usize, PhoneError> {
        let config = self.risk_configuration()?;
        let mut new = 0;
        for summary in &assessment.daily_summaries {
            let level = summary.risk_level(&config);
            if level == RiskLevel::None {
                continue;
            }
            let minutes = assessment
                .windows
                .iter()
                .filter(|window| window.date_days_since_epoch == summary.day)
                .map(|window| window.duration_seconds())
                .sum::<u64>()
                .saturating_add(30)
                / 60;
            new += self.db.execute(
                "INSERT INTO notifications (kind, day, subject, risk, minutes, recorded_at)
                 VALUES (?1, ?2, x'', ?3, ?4, ?5)
                 ON CONFLICT (kind, day, subject) DO UPDATE
                 SET risk = excluded.risk, minutes = excluded.minutes,
                     recorded_at = excluded.recorded_at
                 WHERE notifications.risk = 'low' AND excluded.risk = 'high'",
                params![
                    EXPOSURE_NOTIFICATION,
                    summary.day,
                    level.as_str(),
                    minutes,
                    now
                ],
            )?;
        }
        Ok(new)
    }
}
