//! What the user is shown: the exposure risk and venue warnings, as the JSON of API.md
//! (`{"exposure":{"risk":"none"|"low"|"high", …},"venueWarnings":[…]}`), with the
//! authority's instructions (what to do, the hotline, where to get tested) in French and
//! English, from the configuration in use ([`crate::app_config`]).

use exposure::risk::RiskLevel;
use messages::app_settings::{Channel, LocalizedTexts, Texts, WarningLevel};
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
    /// What the authority tells the user now, in each language of the apps.
    pub instructions: InstructionsByLanguage,
    /// Which configuration of the authority is in use.
    pub configuration: ConfigurationStatus,
}

/// The instructions in French and in English.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct InstructionsByLanguage {
    pub fr: Instructions,
    pub en: Instructions,
}

/// What the authority tells the user, in one language.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Instructions {
    /// What to do: after a positive test once reported, else for the most serious
    /// warning (proximity or venue, high before low); `None` when there is nothing to do.
    pub what_to_do: Option<String>,
    pub hotline: String,
    pub test_site_url: String,
    /// The authority's banner for everyone, when there is one.
    pub info_banner: Option<String>,
}

/// The authority's configuration on this phone.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConfigurationStatus {
    /// The authority's version number; `None` while the built-in defaults apply.
    pub version: Option<u64>,
    /// Why the last configuration the server offered was refused (a bad signature, a
    /// broken rule); the one in use was kept.
    pub refused: Option<String>,
}

/// The situation the instructions are for.
fn instructions(
    texts: &LocalizedTexts,
    reported: bool,
    warning: Option<(Channel, WarningLevel)>,
) -> Instructions {
    let what_to_do = if reported {
        Some(texts.after_positive_test.clone())
    } else {
        warning.map(|(channel, level)| texts.when_warned(channel, level).to_owned())
    };
    Instructions {
        what_to_do,
        hotline: texts.hotline.clone(),
        test_site_url: texts.test_site_url.clone(),
        info_banner: Some(texts.info_banner.clone()).filter(|banner| !banner.trim().is_empty()),
    }
}

/// The most serious warning: the higher level, proximity before venue at the same level.
fn most_serious_warning(
    exposure: RiskLevel,
    venue_warnings: &[VenueWarningStatus],
) -> Option<(Channel, WarningLevel)> {
    let exposure = match exposure {
        RiskLevel::None => None,
        RiskLevel::Low => Some((Channel::Exposure, WarningLevel::Low)),
        RiskLevel::High => Some((Channel::Exposure, WarningLevel::High)),
    };
    let venue = venue_warnings
        .iter()
        .map(|warning| match warning.risk.as_str() {
            "high" => WarningLevel::High,
            _ => WarningLevel::Low,
        })
        .max()
        .map(|level| (Channel::Venue, level));
    match (exposure, venue) {
        (Some(exposure), Some(venue)) if venue.1 > exposure.1 => Some(venue),
        (Some(exposure), _) => Some(exposure),
        (None, venue) => venue,
    }
}

fn instructions_by_language(
    texts: &Texts,
    reported: bool,
    warning: Option<(Channel, WarningLevel)>,
) -> InstructionsByLanguage {
    InstructionsByLanguage {
        fr: instructions(&texts.fr, reported, warning),
        en: instructions(&texts.en, reported, warning),
    }
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
        let configuration = self.configuration()?;
        let warning = most_serious_warning(assessment.level, &venue_warnings);
        Ok(PhoneStatus {
            instructions: instructions_by_language(
                &configuration.settings.texts,
                reported,
                warning,
            ),
            configuration: ConfigurationStatus {
                version: configuration.version,
                refused: configuration.refused,
            },
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
        assert_eq!(
            json["instructions"]["en"]["whatToDo"],
            serde_json::Value::Null
        );
        assert_eq!(json["configuration"]["version"], serde_json::Value::Null);
    }

    #[test]
    fn the_instructions_follow_the_most_serious_warning() {
        let venue = |risk: &str| VenueWarningStatus {
            venue: "Café".into(),
            date: "2026-11-20".into(),
            from: 0,
            until: 0,
            overlap_minutes: 30,
            risk: risk.into(),
        };
        assert_eq!(most_serious_warning(RiskLevel::None, &[]), None);
        assert_eq!(
            most_serious_warning(RiskLevel::Low, &[venue("high")]),
            Some((Channel::Venue, WarningLevel::High))
        );
        assert_eq!(
            most_serious_warning(RiskLevel::High, &[venue("high")]),
            Some((Channel::Exposure, WarningLevel::High))
        );
        let texts = messages::app_settings::AppSettings::default().texts;
        let shown =
            instructions_by_language(&texts, false, Some((Channel::Exposure, WarningLevel::High)));
        assert_eq!(
            shown.fr.what_to_do.as_deref(),
            Some(texts.fr.exposure_high.as_str())
        );
        let reported = instructions_by_language(&texts, true, None);
        assert_eq!(
            reported.en.what_to_do.as_deref(),
            Some(texts.en.after_positive_test.as_str())
        );
    }
}
