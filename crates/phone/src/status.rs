//! What the user is shown: the exposure risk and venue warnings, as the JSON of API.md
//! (`{"exposure":{"risk":"none"|"low"|"high", …},"venueWarnings":[…]}`).

use exposure::risk::RiskLevel;
use serde::Serialize;

use crate::check_ins::CheckIn;
use crate::exposure_check::EXPOSURE_NOTIFICATION;
use crate::venue_warnings::VENUE_NOTIFICATION;
use crate::{Phone, PhoneError, store};

/// The phone's status.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PhoneStatus {
    pub exposure: ExposureStatus,
    pub venue_warnings: Vec<VenueWarningStatus>,
    /// The venue the user is checked into, if any.
    pub checked_in_at: Option<String>,
    /// Unix seconds of the last successful sync.
    pub last_sync: Option<u64>,
    /// Whether the user reported a positive test (the phone then stops tracing with the
    /// reported keys).
    pub reported: bool,
    /// Whether this phone's state was moved to a new phone.
    pub retired: bool,
}

/// Proximity exposure.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExposureStatus {
    /// `"none"`, `"low"` or `"high"`.
    pub risk: &'static str,
    /// The most recent day with an exposure (`YYYY-MM-DD`).
    pub last_exposure_date: Option<String>,
    /// Minutes of contact counted.
    pub exposure_minutes: u64,
    /// Exposure days, one per notification shown.
    pub notifications: Vec<ExposureNotification>,
}

/// One exposure day.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExposureNotification {
    pub date: String,
    pub risk: String,
    pub minutes: u64,
}

/// One venue warning.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VenueWarningStatus {
    pub venue: String,
    pub date: String,
    /// Unix seconds of the first and last moment of overlap.
    pub from: u64,
    pub until: u64,
    pub overlap_minutes: u64,
    pub risk: String,
}

/// `YYYY-MM-DD` of a day number (days since 1970-01-01), civil-from-days (H. Hinnant).
pub fn date_of_day(day: u64) -> String {
    let z = day as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day_of_month = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day_of_month:02}")
}

impl Phone {
    /// The status at `now`, without network.
    pub fn status(&mut self, now: u64) -> Result<PhoneStatus, PhoneError> {
        self.purge(now)?;
        let assessment = self.assess_exposure()?;
        let mut exposure_notifications = Vec::new();
        let mut venue_warnings = Vec::new();
        {
            let mut statement = self.db.prepare(
                "SELECT kind, day, risk, minutes, detail FROM notifications ORDER BY day, kind",
            )?;
            let rows = statement.query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, u64>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, u64>(3)?,
                    row.get::<_, String>(4)?,
                ))
            })?;
            for row in rows {
                let (kind, day, risk, minutes, detail) = row?;
                match kind.as_str() {
                    EXPOSURE_NOTIFICATION => exposure_notifications.push(ExposureNotification {
                        date: date_of_day(day),
                        risk,
                        minutes,
                    }),
                    VENUE_NOTIFICATION => {
                        let detail: serde_json::Value =
                            serde_json::from_str(&detail).unwrap_or_default();
                        venue_warnings.push(VenueWarningStatus {
                            venue: detail["venue"].as_str().unwrap_or_default().to_owned(),
                            date: date_of_day(day),
                            from: detail["from"].as_u64().unwrap_or_default(),
                            until: detail["until"].as_u64().unwrap_or_default(),
                            overlap_minutes: minutes,
                            risk,
                        })
                    }
                    _ => {}
                }
            }
        }
        let reported = self
            .own_keys()?
            .iter()
            .any(|own| own.upload_state != crate::schedule::UploadState::NotReported);
        Ok(PhoneStatus {
            exposure: ExposureStatus {
                risk: assessment.level.as_str(),
                last_exposure_date: assessment
                    .most_recent_exposure_day
                    .filter(|_| assessment.level > RiskLevel::None)
                    .map(|day| date_of_day(u64::from(day))),
                exposure_minutes: assessment.exposure_minutes(),
                notifications: exposure_notifications,
            },
            venue_warnings,
            checked_in_at: self
                .current_check_in(now)?
                .map(|visit: CheckIn| visit.description),
            last_sync: store::setting(&self.db, store::LAST_SYNC)?
                .and_then(|text| text.parse().ok()),
            reported,
            retired: self.is_retired()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_become_calendar_dates() {
        assert_eq!(date_of_day(0), "1970-01-01");
        assert_eq!(date_of_day(18_262), "2020-01-01");
        assert_eq!(date_of_day(18_321), "2020-02-29");
        assert_eq!(date_of_day(20_780), "2026-11-23");
    }

    #[test]
    fn a_fresh_phone_is_not_at_risk_and_says_so_in_the_documented_json() {
        let mut phone = Phone::open_in_memory().unwrap();
        let status = phone.status(1_700_000_000).unwrap();
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(json["exposure"]["risk"], "none");
        assert_eq!(json["venueWarnings"], serde_json::json!([]));
    }
}
