//! Private analytics on the phone: the user's opt-in, the day's facts read from the store,
//! and which day is due for a report.
//!
//! A phone that opted in sends, once a day, a measurement of every metric of the
//! `analytics` crate for the UTC day just over, even when nothing happened (every metric
//! has a "nothing" bucket): the traffic of a warned phone and of any other look the same.
//! The facts come from what the phone keeps anyway (own keys, notifications, check-ins)
//! and from two events the report records (code verified, keys uploaded) in
//! `analytics_events`, purged with everything else after 14 days. Nothing leaves the phone
//! without the opt-in; opting out stops the next report.
//!
//! Sending: the sync fetches the authority's signed configuration (`GET /v1/config`,
//! checked against the pinned key), seals one DAP report per metric (Prio3 shares, each
//! encrypted to its aggregator) and `PUT`s them to the leader. A failure there never
//! fails the sync: the day stays due and the next sync tries again.

use analytics::Metric;
use analytics::dap::{ReportTask, seal_report};
use analytics::encode::{Channel, CodeVerified, DailyFacts, LOOK_BACK_DAYS, WarningShown};
use analytics::{DailyMeasurements, encode};
use exposure::export::public_key_from_pem;
use rand_core::CryptoRng;
use rusqlite::{OptionalExtension, params};

use crate::exposure_check::EXPOSURE_NOTIFICATION;
use crate::server_api::{ServerApi, upload_dap_report};
use crate::store::{self, ANALYTICS_LAST_DAY, ANALYTICS_OPT_IN, EXPORT_PUBLIC_KEY_PEM};
use crate::venue_warnings::VENUE_NOTIFICATION;
use crate::{Phone, PhoneError};

/// Event: the phone traded its code for an upload token (`hours` from the code's issue).
pub(crate) const CODE_VERIFIED: &str = "code_verified";
/// Event: the phone's keys were uploaded.
pub(crate) const KEYS_UPLOADED: &str = "keys_uploaded";

const DAY_SECONDS: u64 = 86_400;

/// A day's measurements, ready to send.
#[derive(Clone, Debug)]
pub(crate) struct AnalyticsDue {
    pub(crate) day: u32,
    measurements: DailyMeasurements,
    public_key_pem: String,
}

/// Sends `due`'s reports to the aggregators the authority configured: one DAP report per
/// metric to the leader. `Ok` once every report was accepted, or when the authority runs
/// no analytics (nothing to send for the day).
pub(crate) fn send_analytics<R: CryptoRng + ?Sized>(
    api: &ServerApi,
    due: &AnalyticsDue,
    rng: &mut R,
) -> Result<(), PhoneError> {
    let public_key = public_key_from_pem(&due.public_key_pem)
        .map_err(|error| PhoneError::BadSignature(format!("pinned key unreadable: {error}")))?;
    let Some(configuration) = api.app_configuration(&public_key)?.analytics else {
        return Ok(());
    };
    let failure = |error: analytics::AnalyticsError| PhoneError::Analytics(error.to_string());
    // Every report of the day carries the day's start (rounded to the task's precision):
    // the time says which daily batch it belongs to, and nothing finer.
    let report_time = u64::from(due.day) * DAY_SECONDS;
    let mut reports = Vec::new();
    for task in &configuration.tasks {
        // A metric this app does not know yet (a newer authority's) is left out.
        let Some(metric) = Metric::from_name(&task.metric) else {
            continue;
        };
        let task = ReportTask::from_base64(
            metric,
            &task.task_id,
            &task.leader_hpke_config,
            &task.helper_hpke_config,
        )
        .map_err(failure)?;
        let report = seal_report(
            &task,
            due.measurements.bucket(metric),
            report_time,
            configuration.time_precision_seconds,
            rng,
        )
        .map_err(failure)?;
        reports.push((task.reports_path(), report));
    }
    for (path, report) in &reports {
        upload_dap_report(&configuration.leader, path, report)?;
    }
    Ok(())
}

/// The UTC day (days since 1970-01-01) of unix seconds.
pub fn day_of(unix_seconds: u64) -> u32 {
    u32::try_from(unix_seconds / DAY_SECONDS).unwrap_or(u32::MAX)
}

impl Phone {
    /// Whether the user agreed to send private analytics.
    pub fn analytics_opted_in(&self) -> Result<bool, PhoneError> {
        Ok(store::setting(&self.db, ANALYTICS_OPT_IN)?.as_deref() == Some("1"))
    }

    /// Records the user's choice. Opting in at `now` makes yesterday the first day due
    /// only if the phone was already running then; opting out stops every report.
    pub fn set_analytics_opt_in(&mut self, opted_in: bool, now: u64) -> Result<(), PhoneError> {
        if opted_in == self.analytics_opted_in()? {
            return Ok(());
        }
        store::set_setting(&self.db, ANALYTICS_OPT_IN, if opted_in { "1" } else { "0" })?;
        if opted_in {
            // The first day reported is the first whole day of the opt-in: today, once
            // it is over.
            let yesterday = day_of(now).saturating_sub(1);
            store::set_setting(&self.db, ANALYTICS_LAST_DAY, &yesterday.to_string())?;
        }
        Ok(())
    }

    /// The day whose report is due at `now`: yesterday, if the user opted in and it was not
    /// sent yet. Days missed while the phone was off are not made up (they would be sent
    /// late, in another day's batch).
    pub fn analytics_day_due(&self, now: u64) -> Result<Option<u32>, PhoneError> {
        if !self.analytics_opted_in()? {
            return Ok(None);
        }
        let yesterday = day_of(now).saturating_sub(1);
        let last: Option<u32> =
            store::setting(&self.db, ANALYTICS_LAST_DAY)?.and_then(|text| text.parse().ok());
        Ok(match last {
            Some(last) if last >= yesterday => None,
            _ => Some(yesterday),
        })
    }

    /// The day's measurements to send in this sync, if a day is due.
    pub(crate) fn plan_analytics(&self, now: u64) -> Result<Option<AnalyticsDue>, PhoneError> {
        let Some(day) = self.analytics_day_due(now)? else {
            return Ok(None);
        };
        let public_key_pem =
            store::setting(&self.db, EXPORT_PUBLIC_KEY_PEM)?.ok_or(PhoneError::NotInitialised)?;
        Ok(Some(AnalyticsDue {
            day,
            measurements: self.daily_measurements(day)?,
            public_key_pem,
        }))
    }

    /// Sends the day that is due now, if any, outside a sync (the CLI's `phone analytics
    /// send`); returns the day sent.
    pub fn send_analytics_now<R: CryptoRng + ?Sized>(
        &mut self,
        now: u64,
        rng: &mut R,
    ) -> Result<Option<u32>, PhoneError> {
        self.purge(now)?;
        self.ensure_active()?;
        let Some(due) = self.plan_analytics(now)? else {
            return Ok(None);
        };
        send_analytics(&ServerApi::new(&self.server_url()?), &due, rng)?;
        self.analytics_day_sent(due.day)?;
        Ok(Some(due.day))
    }

    /// Marks `day`'s report as sent.
    pub fn analytics_day_sent(&mut self, day: u32) -> Result<(), PhoneError> {
        store::set_setting(&self.db, ANALYTICS_LAST_DAY, &day.to_string())?;
        Ok(())
    }

    /// What the phone knows about `day` and the 14 days before it.
    pub fn daily_facts(&self, day: u32) -> Result<DailyFacts, PhoneError> {
        let day_start = u64::from(day) * DAY_SECONDS;
        let day_end = day_start + DAY_SECONDS;
        let first_interval = u64::from(day) * 144;
        let broadcast: bool = self.db.query_row(
            "SELECT EXISTS (SELECT 1 FROM own_keys WHERE rolling_start >= ?1 AND rolling_start < ?2)",
            params![first_interval, first_interval + 144],
            |row| row.get(0),
        )?;
        let mut warnings = Vec::new();
        {
            let mut statement = self.db.prepare(
                "SELECT kind, day, risk, recorded_at FROM notifications
                 WHERE recorded_at >= ?1 AND recorded_at < ?2",
            )?;
            let look_back_start =
                day_start.saturating_sub(u64::from(LOOK_BACK_DAYS - 1) * DAY_SECONDS);
            let rows = statement.query_map(params![look_back_start, day_end], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, u32>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, u64>(3)?,
                ))
            })?;
            for row in rows {
                let (kind, exposure_day, risk, recorded_at) = row?;
                let channel = match kind.as_str() {
                    EXPOSURE_NOTIFICATION => Channel::Proximity,
                    VENUE_NOTIFICATION => Channel::Venue,
                    _ => continue,
                };
                warnings.push(WarningShown {
                    channel,
                    high_risk: risk == "high",
                    exposure_day,
                    shown_day: day_of(recorded_at),
                });
            }
        }
        let event = |kind: &str| -> Result<Option<(u32, Option<u32>)>, PhoneError> {
            Ok(self
                .db
                .query_row(
                    "SELECT day, hours FROM analytics_events WHERE kind = ?1 AND day <= ?2
                     ORDER BY day DESC LIMIT 1",
                    params![kind, day],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?)
        };
        let code_verified = event(CODE_VERIFIED)?.map(|(day, hours)| CodeVerified {
            day,
            hours_since_issued: hours,
        });
        let keys_uploaded_day = event(KEYS_UPLOADED)?.map(|(day, _)| day);
        let check_ins: u32 = self.db.query_row(
            "SELECT count(*) FROM check_ins WHERE start_seconds >= ?1 AND start_seconds < ?2",
            params![day_start, day_end],
            |row| row.get(0),
        )?;
        Ok(DailyFacts {
            day,
            broadcast,
            warnings,
            code_verified,
            keys_uploaded_day,
            check_ins,
        })
    }

    /// `day`'s measurement of every metric.
    pub fn daily_measurements(&self, day: u32) -> Result<DailyMeasurements, PhoneError> {
        Ok(encode(&self.daily_facts(day)?))
    }

    /// Records an event of the report for the analytics (kept 14 days like the rest).
    pub(crate) fn record_analytics_event(
        &self,
        kind: &str,
        now: u64,
        hours: Option<u32>,
    ) -> Result<(), PhoneError> {
        self.db.execute(
            "INSERT OR REPLACE INTO analytics_events (kind, day, hours) VALUES (?1, ?2, ?3)",
            params![kind, day_of(now), hours],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use analytics::Metric;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    const NOW: u64 = 1_700_000_000;

    #[test]
    fn nothing_is_due_without_the_opt_in_and_one_day_is_due_after_it() {
        let mut phone = Phone::open_in_memory().unwrap();
        assert!(!phone.analytics_opted_in().unwrap());
        assert_eq!(
            phone.analytics_day_due(NOW + 5 * DAY_SECONDS).unwrap(),
            None
        );

        phone.set_analytics_opt_in(true, NOW).unwrap();
        assert!(phone.analytics_opted_in().unwrap());
        // The day of the opt-in is not due until it is over.
        assert_eq!(phone.analytics_day_due(NOW).unwrap(), None);
        let tomorrow = NOW + DAY_SECONDS;
        assert_eq!(
            phone.analytics_day_due(tomorrow).unwrap(),
            Some(day_of(NOW))
        );
        phone.analytics_day_sent(day_of(NOW)).unwrap();
        assert_eq!(phone.analytics_day_due(tomorrow).unwrap(), None);

        phone.set_analytics_opt_in(false, tomorrow).unwrap();
        assert_eq!(
            phone.analytics_day_due(NOW + 3 * DAY_SECONDS).unwrap(),
            None
        );
    }

    #[test]
    fn a_day_of_broadcasting_and_a_report_is_measured_from_the_store() {
        let mut phone = Phone::open_in_memory().unwrap();
        let mut rng = StdRng::seed_from_u64(1);
        phone.current_key(NOW, &mut rng).unwrap();
        phone
            .record_analytics_event(CODE_VERIFIED, NOW, Some(2))
            .unwrap();
        phone
            .record_analytics_event(KEYS_UPLOADED, NOW, None)
            .unwrap();
        let measurements = phone.daily_measurements(day_of(NOW)).unwrap();
        assert_eq!(measurements.bucket(Metric::ActivePhones), 1);
        assert_eq!(measurements.bucket(Metric::CodeVerifiedByEarlierWarning), 1);
        assert_eq!(measurements.bucket(Metric::KeysUploadedByEarlierWarning), 1);
        assert_eq!(measurements.bucket(Metric::HoursCodeIssuedToVerified), 2);
        let next_day = phone.daily_measurements(day_of(NOW) + 1).unwrap();
        assert_eq!(next_day.bucket(Metric::ActivePhones), 0);
        assert_eq!(next_day.bucket(Metric::CodeVerifiedByEarlierWarning), 0);
    }
}
