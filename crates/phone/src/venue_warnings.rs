//! Venue warnings: downloading published check-in reports and matching them against own
//! check-ins (PROTOCOLS.md §5). Decryption and overlap are the `presence` crate's; this
//! module keeps the download cursor and records one notification per venue and day whose
//! overlap reaches the authority's minimum for the venue's type (`venues` of the
//! configuration, [`crate::app_config`]).

use std::collections::HashMap;

use presence::location_id::LocationIdHash;
use presence::matching::{GuestCheckIn, match_guest_check_ins};
use presence::venue_code::decode_qr_url;
use presence::{CheckInProtectedReport, TraceWarningPackage};
use prost::Message;
use rusqlite::params;

use crate::server_api::WarningsDownload;
use crate::store::{self, WARNINGS_CURSOR};
use crate::{Phone, PhoneError};

/// Notification kind of a venue warning.
pub const VENUE_NOTIFICATION: &str = "venue";

impl Phone {
    /// The cursor of the next warnings download.
    pub(crate) fn warnings_cursor(&self) -> Result<Option<String>, PhoneError> {
        Ok(store::setting(&self.db, WARNINGS_CURSOR)?)
    }

    /// Records the downloaded warnings that concern own check-ins and moves the cursor;
    /// returns how many are new.
    pub(crate) fn apply_venue_warnings(
        &mut self,
        download: &WarningsDownload,
        now: u64,
    ) -> Result<usize, PhoneError> {
        let package = TraceWarningPackage::decode(download.package.as_slice())
            .map_err(|error| PhoneError::Network(format!("unreadable warning package: {error}")))?;
        let new = self.match_venue_reports(&package.check_in_protected_reports, now)?;
        if let Some(cursor) = &download.next_cursor {
            store::set_setting(&self.db, WARNINGS_CURSOR, cursor)?;
        }
        Ok(new)
    }

    /// Matches published reports against own check-ins; returns how many warnings are new.
    pub fn match_venue_reports(
        &mut self,
        reports: &[CheckInProtectedReport],
        now: u64,
    ) -> Result<usize, PhoneError> {
        let check_ins = self.check_ins()?;
        let venues = self.configuration()?.settings.venues;
        // The venue's type is in its QR code (CrowdNotifier codes carry none).
        let minimum_overlap: HashMap<LocationIdHash, u64> = check_ins
            .iter()
            .map(|visit| {
                let venue_type = decode_qr_url(&visit.url)
                    .ok()
                    .and_then(|code| code.venue_type);
                (
                    visit.location_id.hash(),
                    venues.minimum_overlap_minutes(venue_type),
                )
            })
            .collect();
        let guest_check_ins: Vec<GuestCheckIn> = check_ins
            .into_iter()
            .map(|visit| GuestCheckIn {
                location_id: visit.location_id,
                description: visit.description.clone(),
                check_in: visit.start,
                check_out: visit.end().min(now.max(visit.start)),
            })
            .collect();
        let mut new = 0;
        for warning in match_guest_check_ins(&guest_check_ins, reports) {
            let minimum = minimum_overlap
                .get(&warning.location_id_hash)
                .copied()
                .unwrap_or_default();
            if warning.overlap_minutes < minimum {
                continue;
            }
            let detail = serde_json::json!({
                "venue": warning.description,
                "from": warning.overlap_window.start,
                "until": warning.overlap_window.end,
            })
            .to_string();
            new += self.db.execute(
                "INSERT OR IGNORE INTO notifications (kind, day, subject, risk, minutes, detail, recorded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    VENUE_NOTIFICATION,
                    warning.day.0,
                    warning.location_id_hash.0.as_slice(),
                    warning.risk_level.as_str(),
                    warning.overlap_minutes,
                    detail,
                    now
                ],
            )?;
        }
        Ok(new)
    }
}
