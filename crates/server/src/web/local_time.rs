//! Times on the web pages, in the reader's time zone and the page's language.
//!
//! The server writes every time in its own zone (the `time_zone` setting, an IANA name
//! such as `Europe/Paris`; UTC by default) inside a `<time datetime="…Z">` element; the
//! authority UI's script (`static/authority.js`) then rewrites each one in the browser's
//! own zone with the browser's `Intl`, in the same shape (`23 Nov 2026, 22:05`,
//! `23 nov. 2026, 22:05`). A page read without its script still shows local times, the
//! server's, and says which zone they are in. Dates are written with the month's name,
//! never `11/12/2026`, which an English and a French reader take for different days.
//!
//! Countdowns (`<time datetime=… data-countdown>`) are written the same way and kept
//! running by the script.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use maud::{Markup, html};
use time::Date;

use super::Language;

/// Month abbreviations as Chromium's and Firefox's `Intl` write them for `en-GB` and
/// `fr-FR`, so that a page reads the same before and after its script rewrote it.
const MONTHS_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sept", "Oct", "Nov", "Dec",
];
const MONTHS_FR: [&str; 12] = [
    "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.",
    "déc.",
];

/// The time zone named `name` (IANA, e.g. `Europe/Paris`, or `UTC`), from the database
/// built into the binary; `None` for a name it does not know.
pub fn time_zone(name: &str) -> Option<TimeZone> {
    TimeZone::get(name).ok()
}

/// Writes times for one page: its language and the server's zone.
#[derive(Clone, Debug)]
pub(crate) struct LocalTime {
    pub language: Language,
    pub zone: TimeZone,
}

/// A moment's calendar fields in a zone.
struct Fields {
    year: i16,
    month: usize,
    day: i8,
    hour: i8,
    minute: i8,
}

/// `2026-11-23T21:05:00Z`: the `datetime` attribute, which the script reads.
fn machine_time(unix_seconds: i64) -> String {
    Timestamp::from_second(unix_seconds)
        .map(|moment| moment.to_string())
        .unwrap_or_default()
}

impl LocalTime {
    pub(crate) fn new(language: Language, zone: TimeZone) -> LocalTime {
        LocalTime { language, zone }
    }

    /// The zone's name as the page states it (`Europe/Paris`).
    pub(crate) fn zone_name(&self) -> String {
        self.zone.iana_name().unwrap_or("UTC").to_owned()
    }

    fn fields(&self, unix_seconds: i64) -> Option<Fields> {
        let moment = Timestamp::from_second(unix_seconds)
            .ok()?
            .to_zoned_datetime(self.zone.clone());
        Some(Fields {
            year: moment.year(),
            month: usize::try_from(moment.month() - 1).ok()?,
            day: moment.day(),
            hour: moment.hour(),
            minute: moment.minute(),
        })
    }

    fn date_of_fields(&self, fields: &Fields) -> String {
        let months = match self.language {
            Language::English => &MONTHS_EN,
            Language::French => &MONTHS_FR,
        };
        let month = months.get(fields.month).copied().unwrap_or_default();
        format!("{} {month} {}", fields.day, fields.year)
    }

    /// `23 Nov 2026, 22:05` (English), `23 nov. 2026, 22:05` (French), in the server's
    /// zone: for texts that cannot hold an element (a notice's sentence).
    pub(crate) fn date_time_text(&self, unix_seconds: i64) -> String {
        self.fields(unix_seconds)
            .map(|fields| {
                format!(
                    "{}, {:02}:{:02}",
                    self.date_of_fields(&fields),
                    fields.hour,
                    fields.minute
                )
            })
            .unwrap_or_default()
    }

    /// `22:05` in the server's zone.
    fn clock_text(&self, unix_seconds: i64) -> String {
        self.fields(unix_seconds)
            .map(|fields| format!("{:02}:{:02}", fields.hour, fields.minute))
            .unwrap_or_default()
    }

    /// A moment, to the minute.
    pub(crate) fn date_time(&self, unix_seconds: i64) -> Markup {
        html! {
            time datetime=(machine_time(unix_seconds)) data-local="date-time" {
                (self.date_time_text(unix_seconds))
            }
        }
    }

    /// The hour that starts at `unix_hour`, for times kept only to the hour (a code's
    /// issue and use): `23 Nov 2026, 06:00–07:00`, never a minute that was not kept.
    pub(crate) fn hour(&self, unix_hour: i64) -> Markup {
        html! {
            time datetime=(machine_time(unix_hour)) data-local="hour" {
                (self.date_time_text(unix_hour)) "–" (self.clock_text(unix_hour + 3600))
            }
        }
    }

    /// A calendar date (not a moment: no zone applies) as text, `23 Nov 2026`.
    pub(crate) fn date_text(&self, date: Date) -> String {
        self.date_of_fields(&Fields {
            year: i16::try_from(date.year()).unwrap_or_default(),
            month: usize::from(u8::from(date.month())) - 1,
            day: i8::try_from(date.day()).unwrap_or_default(),
            hour: 0,
            minute: 0,
        })
    }

    /// A calendar date in an element, `23 Nov 2026`.
    pub(crate) fn date(&self, date: Date) -> Markup {
        html! {
            time datetime=(crate::clock::format_date(date)) { (self.date_text(date)) }
        }
    }

    /// Time left until `until`, as of `now`: `45 min`, `23 h 05 min`; the script counts it
    /// down while the page is open.
    pub(crate) fn countdown(&self, now: i64, until: i64) -> Markup {
        html! {
            time datetime=(machine_time(until)) data-countdown { (time_left(until - now)) }
        }
    }

    /// Today's date in the server's zone.
    pub(crate) fn today(&self, now: i64) -> Date {
        local_date(&self.zone, now)
    }
}

/// The date of `unix_seconds` in `zone`.
pub(crate) fn local_date(zone: &TimeZone, unix_seconds: i64) -> Date {
    let offset = Timestamp::from_second(unix_seconds)
        .map(|moment| i64::from(zone.to_offset(moment).seconds()))
        .unwrap_or(0);
    crate::clock::date_of(unix_seconds.saturating_add(offset))
}

/// The first second of `date` in `zone` (unix seconds): where a day of a date filter
/// starts for the people who chose it.
pub(crate) fn start_of_day(zone: &TimeZone, date: Date) -> Option<i64> {
    let day = jiff::civil::Date::new(
        i16::try_from(date.year()).ok()?,
        i8::try_from(u8::from(date.month())).ok()?,
        i8::try_from(date.day()).ok()?,
    )
    .ok()?;
    Some(
        day.to_zoned_datetime(zone.clone())
            .ok()?
            .timestamp()
            .as_second(),
    )
}

/// `45 min`, `1 h 00 min`, `23 h 05 min`: whole minutes, rounded up, so that a code shown
/// with "1 min" left is still valid; `0 min` once past. Both languages write it alike.
pub(crate) fn time_left(seconds: i64) -> String {
    let minutes = (seconds.max(0) + 59) / 60;
    if minutes < 60 {
        format!("{minutes} min")
    } else {
        format!("{} h {:02} min", minutes / 60, minutes % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2020-11-23 21:05:00 UTC.
    const MOMENT: i64 = 1_606_165_500;

    #[test]
    fn times_are_in_the_servers_zone_and_the_pages_language() {
        let paris = time_zone("Europe/Paris").expect("a known zone");
        let english = LocalTime::new(Language::English, paris.clone());
        assert_eq!(english.date_time_text(MOMENT), "23 Nov 2020, 22:05");
        let french = LocalTime::new(Language::French, paris);
        assert_eq!(french.date_time_text(MOMENT), "23 nov. 2020, 22:05");
        let utc = LocalTime::new(Language::English, TimeZone::UTC);
        assert_eq!(utc.date_time_text(MOMENT), "23 Nov 2020, 21:05");
        assert_eq!(utc.zone_name(), "UTC");
        // Summer time is applied where it is in force.
        let summer = 1_593_000_000; // 2020-06-24 12:00 UTC
        assert_eq!(
            LocalTime::new(Language::French, time_zone("Europe/Paris").expect("known"))
                .date_time_text(summer),
            "24 juin 2020, 14:00"
        );
        assert!(time_zone("Mars/Olympus_Mons").is_none());
    }

    #[test]
    fn elements_carry_the_moment_for_the_script() {
        let local = LocalTime::new(Language::English, TimeZone::UTC);
        let html = local.date_time(MOMENT).into_string();
        assert_eq!(
            html,
            "<time datetime=\"2020-11-23T21:05:00Z\" data-local=\"date-time\">23 Nov 2020, 21:05</time>"
        );
        let hour = local.hour(MOMENT - 300).into_string();
        assert!(hour.contains(">23 Nov 2020, 21:00–22:00<"), "{hour}");
        let tokyo = LocalTime::new(Language::English, time_zone("Asia/Tokyo").expect("known"));
        // Past midnight in Tokyo: the next day there.
        assert!(
            tokyo
                .hour(MOMENT - 300)
                .into_string()
                .contains(">24 Nov 2020, 06:00–07:00<")
        );
        assert_eq!(tokyo.today(MOMENT), crate::clock::date_of(MOMENT + 86_400));
    }

    #[test]
    fn time_left_rounds_up_to_the_minute() {
        assert_eq!(time_left(-5), "0 min");
        assert_eq!(time_left(1), "1 min");
        assert_eq!(time_left(59 * 60), "59 min");
        assert_eq!(time_left(3600), "1 h 00 min");
        assert_eq!(time_left(23 * 3600 + 4 * 60 + 1), "23 h 05 min");
    }
}
