//! Advertisements heard from other phones.
//!
//! A scanner hears the same advertisement many times a second; the phone keeps one
//! sighting per identifier per scan slot ([`SCAN_SLOT_SECONDS`], the slot risk scoring
//! groups sightings by), the loudest one, so that the log grows with time spent near
//! someone, not with how chatty the radio is.

use exposure::matching::Sighting;
use exposure::risk::SCAN_SLOT_SECONDS;
use rusqlite::params;

use crate::{Phone, PhoneError};

impl Phone {
    /// Records advertisements heard at the times they carry. Returns how many were new
    /// (not a repeat of a sighting of the same identifier in the same scan slot).
    pub fn observe(&mut self, now: u64, sightings: &[Sighting]) -> Result<usize, PhoneError> {
        self.purge(now)?;
        self.ensure_active()?;
        let transaction = self.db.transaction()?;
        let mut recorded = 0;
        {
            let mut insert = transaction.prepare(
                "INSERT INTO sightings (unix_seconds, scan_slot, rpi, aem, rssi)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (rpi, scan_slot) DO UPDATE SET rssi = excluded.rssi,
                     unix_seconds = excluded.unix_seconds, aem = excluded.aem
                 WHERE excluded.rssi > sightings.rssi",
            )?;
            let mut exists =
                transaction.prepare("SELECT 1 FROM sightings WHERE rpi = ?1 AND scan_slot = ?2")?;
            for sighting in sightings {
                let slot = sighting.unix_seconds / SCAN_SLOT_SECONDS;
                if !exists.exists(params![sighting.rpi.as_slice(), slot])? {
                    recorded += 1;
                }
                insert.execute(params![
                    sighting.unix_seconds,
                    slot,
                    sighting.rpi.as_slice(),
                    sighting.aem.as_slice(),
                    sighting.rssi
                ])?;
            }
        }
        transaction.commit()?;
        Ok(recorded)
    }

    /// Every sighting kept, in time order.
    pub fn sightings(&self) -> Result<Vec<Sighting>, PhoneError> {
        let mut statement = self
            .db
            .prepare("SELECT unix_seconds, rpi, aem, rssi FROM sightings ORDER BY unix_seconds")?;
        let rows = statement.query_map([], |row| {
            Ok((
                row.get::<_, u64>(0)?,
                row.get::<_, Vec<u8>>(1)?,
                row.get::<_, Vec<u8>>(2)?,
                row.get::<_, i8>(3)?,
            ))
        })?;
        let mut sightings = Vec::new();
        for row in rows {
            let (unix_seconds, rpi, aem, rssi) = row?;
            // Rows are only ever written from fixed-size arrays; skip anything else.
            if let (Ok(rpi), Ok(aem)) = (rpi.try_into(), aem.try_into()) {
                sightings.push(Sighting {
                    unix_seconds,
                    rpi,
                    aem,
                    rssi,
                });
            }
        }
        Ok(sightings)
    }
}

/// Parses one line of a `keys match` sightings file: `unix_seconds,rpi_hex[,aem_hex[,rssi]]`.
/// `rssi_override` replaces the line's RSSI; a line without either is an error.
pub fn parse_sighting_line(line: &str, rssi_override: Option<i8>) -> Result<Sighting, String> {
    let mut fields = line.trim().split(',').map(str::trim);
    let unix_seconds = fields
        .next()
        .and_then(|field| field.parse::<u64>().ok())
        .ok_or("the first field must be unix seconds")?;
    let rpi: [u8; 16] = fields
        .next()
        .and_then(|field| hex::decode(field).ok())
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or("the second field must be a 16-byte RPI in hex")?;
    let aem: [u8; 4] = match fields.next() {
        None | Some("") => [0; 4],
        Some(field) => hex::decode(field)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or("the third field must be a 4-byte AEM in hex")?,
    };
    let line_rssi = match fields.next() {
        None | Some("") => None,
        Some(field) => Some(
            field
                .parse::<i8>()
                .map_err(|_| "the fourth field must be an RSSI in dBm (-128..127)")?,
        ),
    };
    if fields.next().is_some() {
        return Err("too many fields (expected unix_seconds,rpi_hex,aem_hex,rssi)".into());
    }
    let rssi = rssi_override
        .or(line_rssi)
        .ok_or("no RSSI on the line: add it as a fourth field or pass --rssi")?;
    Ok(Sighting {
        unix_seconds,
        rpi,
        aem,
        rssi,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000;

    fn sighting(unix_seconds: u64, rpi: u8, rssi: i8) -> Sighting {
        Sighting {
            unix_seconds,
            rpi: [rpi; 16],
            aem: [9; 4],
            rssi,
        }
    }

    #[test]
    fn repeats_within_a_scan_keep_one_loudest_sighting() {
        let mut phone = Phone::open_in_memory().unwrap();
        let new = phone
            .observe(
                NOW,
                &[
                    sighting(NOW, 1, -80),
                    sighting(NOW + 1, 1, -60),
                    sighting(NOW + 2, 1, -70),
                    sighting(NOW + 2, 2, -70),
                    sighting(NOW + 300, 1, -90),
                ],
            )
            .unwrap();
        assert_eq!(new, 3);
        let kept = phone.sightings().unwrap();
        assert_eq!(kept.len(), 3);
        assert_eq!(kept[0].rssi.max(kept[1].rssi), -60);
        assert_eq!(phone.observe(NOW, &[sighting(NOW, 1, -99)]).unwrap(), 0);
    }

    #[test]
    fn sighting_lines_parse_with_and_without_rssi() {
        let rpi = "00112233445566778899aabbccddeeff";
        let parsed = parse_sighting_line(&format!("{NOW},{rpi},01020304,-55"), None).unwrap();
        assert_eq!(parsed.rssi, -55);
        assert_eq!(parsed.aem, [1, 2, 3, 4]);
        let overridden =
            parse_sighting_line(&format!("{NOW},{rpi},01020304,-55"), Some(-95)).unwrap();
        assert_eq!(overridden.rssi, -95);
        assert!(parse_sighting_line(&format!("{NOW},{rpi}"), None).is_err());
        assert!(parse_sighting_line(&format!("{NOW},{rpi}"), Some(-70)).is_ok());
        assert!(parse_sighting_line("x,y", Some(-70)).is_err());
        assert!(parse_sighting_line(&format!("{NOW},{rpi},0102"), Some(-70)).is_err());
    }
}
