//! Venue check-ins (PROTOCOLS.md §5-6).
//!
//! What users asked for shapes the rules: a new scan ends the previous check-in (people
//! forget to check out, and nobody is in two places); scanning the venue one is checked
//! into checks out; a forgotten check-out ends by itself after the venue's default stay,
//! [`MAX_AUTOMATIC_STAY_SECONDS`] at most; times can be corrected afterwards.

use presence::location_id::LocationId;
use presence::venue_code::decode_qr_url;
use rusqlite::{OptionalExtension, Row, params};

use crate::{Phone, PhoneError};

/// The longest a check-in lasts when nobody checks out (and when the QR code gives no
/// default stay).
pub const MAX_AUTOMATIC_STAY_SECONDS: u64 = 12 * 3600;

/// The longest stay that can be entered by editing a check-in.
pub const MAX_EDITED_STAY_SECONDS: u64 = 24 * 3600;

/// A visit kept on the phone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckIn {
    pub id: i64,
    pub url: String,
    pub description: String,
    pub address: String,
    pub location_id: LocationId,
    /// Unix seconds.
    pub start: u64,
    /// When the user checked out; `None` while checked in (or never checked out).
    pub checked_out: Option<u64>,
    /// When the phone checks out by itself.
    pub automatic_end: u64,
}

impl CheckIn {
    /// When the stay ended (or will end, for a current one).
    pub fn end(&self) -> u64 {
        self.checked_out.unwrap_or(self.automatic_end)
    }

    /// Whether the user is checked in at `now`.
    pub fn is_current(&self, now: u64) -> bool {
        self.checked_out.is_none() && self.start <= now && now < self.automatic_end
    }
}

/// What scanning a venue code did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScanOutcome {
    /// Checked into the venue (and out of the previous one, if any).
    CheckedIn(CheckIn),
    /// The venue was the current one: checked out of it.
    CheckedOut(CheckIn),
}

fn check_in_from_row(row: &Row<'_>) -> rusqlite::Result<CheckIn> {
    let location_id: Vec<u8> = row.get(4)?;
    Ok(CheckIn {
        id: row.get(0)?,
        url: row.get(1)?,
        description: row.get(2)?,
        address: row.get(3)?,
        location_id: LocationId(location_id.try_into().unwrap_or([0; 32])),
        start: row.get(5)?,
        checked_out: row.get(6)?,
        automatic_end: row.get(7)?,
    })
}

const CHECK_IN_COLUMNS: &str = "id, url, description, address, location_id, start_seconds,
    end_seconds, automatic_end_seconds";

impl Phone {
    /// Scans a venue QR code at `now`: checks in, or checks out when it is the venue the
    /// user is checked into.
    pub fn checkin(&mut self, url: &str, now: u64) -> Result<ScanOutcome, PhoneError> {
        self.purge(now)?;
        self.ensure_active()?;
        let venue = decode_qr_url(url)?;
        if let Some(current) = self.current_check_in(now)? {
            if current.location_id == venue.location_id {
                let ended = self.checkout(now)?.unwrap_or(current);
                return Ok(ScanOutcome::CheckedOut(ended));
            }
            self.checkout(now)?;
        }
        let stay = venue
            .default_check_in_length_minutes
            .map(|minutes| u64::from(minutes) * 60)
            .unwrap_or(MAX_AUTOMATIC_STAY_SECONDS)
            .clamp(60, MAX_AUTOMATIC_STAY_SECONDS);
        self.db.execute(
            "INSERT INTO check_ins (url, description, address, location_id, start_seconds,
                 end_seconds, automatic_end_seconds)
             VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6)",
            params![
                venue.url,
                venue.description,
                venue.address,
                venue.location_id.0.as_slice(),
                now,
                now + stay
            ],
        )?;
        let id = self.db.last_insert_rowid();
        Ok(ScanOutcome::CheckedIn(self.check_in(id)?))
    }

    /// Checks out of the current venue at `now`; `None` when not checked in.
    pub fn checkout(&mut self, now: u64) -> Result<Option<CheckIn>, PhoneError> {
        self.purge(now)?;
        let Some(current) = self.current_check_in(now)? else {
            return Ok(None);
        };
        self.db.execute(
            "UPDATE check_ins SET end_seconds = ?2 WHERE id = ?1",
            params![current.id, now.max(current.start)],
        )?;
        Ok(Some(self.check_in(current.id)?))
    }

    /// The check-in the user is in at `now`, if any.
    pub fn current_check_in(&self, now: u64) -> Result<Option<CheckIn>, PhoneError> {
        Ok(self
            .db
            .query_row(
                &format!(
                    "SELECT {CHECK_IN_COLUMNS} FROM check_ins
                     WHERE end_seconds IS NULL AND start_seconds <= ?1
                       AND automatic_end_seconds > ?1
                     ORDER BY start_seconds DESC LIMIT 1"
                ),
                [now],
                check_in_from_row,
            )
            .optional()?)
    }

    /// Every check-in kept, oldest first.
    pub fn check_ins(&self) -> Result<Vec<CheckIn>, PhoneError> {
        let mut statement = self.db.prepare(&format!(
            "SELECT {CHECK_IN_COLUMNS} FROM check_ins ORDER BY start_seconds, id"
        ))?;
        let check_ins = statement
            .query_map([], check_in_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(check_ins)
    }

    fn check_in(&self, id: i64) -> Result<CheckIn, PhoneError> {
        Ok(self.db.query_row(
            &format!("SELECT {CHECK_IN_COLUMNS} FROM check_ins WHERE id = ?1"),
            [id],
            check_in_from_row,
        )?)
    }

    /// Corrects the times of a past check-in (the user forgot to check out, or checked
    /// in late).
    pub fn edit_check_in(
        &mut self,
        id: i64,
        start: u64,
        end: u64,
        now: u64,
    ) -> Result<CheckIn, PhoneError> {
        self.purge(now)?;
        if end <= start || end - start > MAX_EDITED_STAY_SECONDS || end > now {
            return Err(PhoneError::InvalidInput(format!(
                "a stay must end after it starts, at most {} hours later, and not in the future",
                MAX_EDITED_STAY_SECONDS / 3600
            )));
        }
        let changed = self.db.execute(
            "UPDATE check_ins SET start_seconds = ?2, end_seconds = ?3 WHERE id = ?1",
            params![id, start, end],
        )?;
        if changed == 0 {
            return Err(PhoneError::InvalidInput(format!("no check-in {id}")));
        }
        self.check_in(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use presence::venue::Venue;
    use presence::venue_type::VenueType;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    const NOW: u64 = 1_700_000_000;

    fn venue_url(name: &str, default_minutes: Option<u32>) -> String {
        let mut rng = StdRng::seed_from_u64(name.len() as u64);
        let mut venue = Venue::new(name, "1 Main Street", VenueType::FoodService);
        if let Some(minutes) = default_minutes {
            venue = venue.with_default_check_in_length_minutes(minutes);
        }
        venue
            .create_qr_code(presence::venue_code::DEFAULT_QR_CODE_PREFIX, &mut rng)
            .unwrap()
            .url
    }

    #[test]
    fn a_new_scan_ends_the_previous_check_in_and_rescanning_checks_out() {
        let mut phone = Phone::open_in_memory().unwrap();
        let cafe = venue_url("Cafe", None);
        let gym = venue_url("Gym Club", None);
        let ScanOutcome::CheckedIn(first) = phone.checkin(&cafe, NOW).unwrap() else {
            panic!("expected a check-in");
        };
        assert_eq!(first.description, "Cafe");
        let ScanOutcome::CheckedIn(second) = phone.checkin(&gym, NOW + 3600).unwrap() else {
            panic!("expected a check-in");
        };
        let all = phone.check_ins().unwrap();
        assert_eq!(all[0].checked_out, Some(NOW + 3600));
        let ScanOutcome::CheckedOut(out) = phone.checkin(&gym, NOW + 7200).unwrap() else {
            panic!("expected a check-out");
        };
        assert_eq!(out.id, second.id);
        assert_eq!(out.end(), NOW + 7200);
        assert_eq!(phone.current_check_in(NOW + 7200).unwrap(), None);
        assert_eq!(phone.checkout(NOW + 7300).unwrap(), None);
    }

    #[test]
    fn a_forgotten_check_out_ends_at_the_default_stay_or_twelve_hours() {
        let mut phone = Phone::open_in_memory().unwrap();
        phone.checkin(&venue_url("Bar", Some(90)), NOW).unwrap();
        assert!(phone.current_check_in(NOW + 89 * 60).unwrap().is_some());
        assert_eq!(phone.current_check_in(NOW + 90 * 60).unwrap(), None);
        phone
            .checkin(&venue_url("Office", None), NOW + 86_400)
            .unwrap();
        let office = phone.check_ins().unwrap().pop().unwrap();
        assert_eq!(office.end(), NOW + 86_400 + MAX_AUTOMATIC_STAY_SECONDS);
    }

    #[test]
    fn edited_times_are_kept_and_nonsense_is_refused() {
        let mut phone = Phone::open_in_memory().unwrap();
        let ScanOutcome::CheckedIn(visit) = phone.checkin(&venue_url("Cafe", None), NOW).unwrap()
        else {
            panic!("expected a check-in");
        };
        let edited = phone
            .edit_check_in(visit.id, NOW - 600, NOW + 1800, NOW + 7200)
            .unwrap();
        assert_eq!((edited.start, edited.end()), (NOW - 600, NOW + 1800));
        assert!(
            phone
                .edit_check_in(visit.id, NOW, NOW - 1, NOW + 7200)
                .is_err()
        );
        assert!(
            phone.edit_check_in(visit.id, NOW, NOW + 1, NOW).is_err(),
            "future end"
        );
    }

    #[test]
    fn check_ins_are_forgotten_after_fourteen_days() {
        let mut phone = Phone::open_in_memory().unwrap();
        phone.checkin(&venue_url("Cafe", Some(60)), NOW).unwrap();
        phone.purge(NOW + 15 * 86_400).unwrap();
        assert!(phone.check_ins().unwrap().is_empty());
    }

    #[test]
    fn something_that_is_not_a_venue_code_is_refused() {
        let mut phone = Phone::open_in_memory().unwrap();
        assert!(matches!(
            phone.checkin("https://example.org/", NOW),
            Err(PhoneError::Venue(_))
        ));
    }
}
