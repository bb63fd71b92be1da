//! The 14-day retention purge.
//!
//! Every public operation of [`Phone`] calls [`Phone::purge`] first with its `now`. There
//! is no background task: a phone app is suspended most of the time, and the next thing it
//! does after waking is an operation, so the purge happens exactly when the data could next
//! be read. Nothing older than the retention window ([`messages::retention`], shared with
//! the server) survives: sightings, check-ins, matched keys and notifications by their
//! time, own keys by their day (today and the 13 days before, see [`KEPT_KEY_DAYS`]).

use exposure::interval::{EnIntervalNumber, INTERVALS_PER_DAY};
use messages::retention;
use rusqlite::params;

use crate::schedule::KEPT_KEY_DAYS;
use crate::{Phone, PhoneError};

impl Phone {
    /// Deletes everything older than the retention period at `now`.
    pub fn purge(&mut self, now: u64) -> Result<(), PhoneError> {
        let cutoff_seconds = now.saturating_sub(retention::SECONDS.unsigned_abs());
        let today = EnIntervalNumber::from_unix_seconds(now).day_start();
        let first_kept_key_start = today
            .0
            .saturating_sub((KEPT_KEY_DAYS - 1) * INTERVALS_PER_DAY);
        let cutoff_interval = EnIntervalNumber::from_unix_seconds(cutoff_seconds).0;
        let cutoff_day = cutoff_seconds / 86_400;
        let transaction = self.db.transaction()?;
        transaction.execute(
            "DELETE FROM sightings WHERE unix_seconds < ?1",
            params![cutoff_seconds],
        )?;
        transaction.execute(
            "DELETE FROM next_day_uploads WHERE key_data IN
                (SELECT key_data FROM own_keys WHERE rolling_start < ?1)",
            params![first_kept_key_start],
        )?;
        transaction.execute(
            "DELETE FROM own_keys WHERE rolling_start < ?1",
            params![first_kept_key_start],
        )?;
        transaction.execute(
            "DELETE FROM matched_keys WHERE rolling_start + rolling_period < ?1",
            params![cutoff_interval],
        )?;
        transaction.execute(
            "DELETE FROM check_ins WHERE coalesce(end_seconds, automatic_end_seconds) < ?1",
            params![cutoff_seconds],
        )?;
        transaction.execute(
            "DELETE FROM notifications WHERE day < ?1",
            params![cutoff_day],
        )?;
        transaction.execute(
            "DELETE FROM analytics_events WHERE day < ?1",
            params![cutoff_day],
        )?;
        transaction.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use exposure::matching::Sighting;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use crate::Phone;

    const NOW: u64 = 1_700_000_000;

    #[test]
    fn after_fifteen_days_nothing_of_the_first_day_is_left() {
        let mut phone = Phone::open_in_memory().unwrap();
        let mut rng = StdRng::seed_from_u64(5);
        let first_key = phone.current_key(NOW, &mut rng).unwrap();
        let heard = Sighting {
            unix_seconds: NOW,
            rpi: [7; 16],
            aem: [0; 4],
            rssi: -60,
        };
        phone.observe(NOW, &[heard]).unwrap();

        // One key a day for 15 days.
        for day in 1..15 {
            phone.current_key(NOW + day * 86_400, &mut rng).unwrap();
        }
        let later = NOW + 15 * 86_400;
        phone.purge(later).unwrap();
        let keys = phone.own_keys().unwrap();
        assert!(keys.len() <= 14);
        assert!(keys.iter().all(|own| own.key != first_key));
        assert!(phone.sightings().unwrap().is_empty());

        // Thirteen days later the same sighting would still be kept.
        phone
            .observe(
                later,
                &[Sighting {
                    unix_seconds: later,
                    ..heard
                }],
            )
            .unwrap();
        phone.purge(later + 13 * 86_400).unwrap();
        assert_eq!(phone.sightings().unwrap().len(), 1);
    }
}
