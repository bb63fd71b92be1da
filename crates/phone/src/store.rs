//! The phone's SQLite file: schema, migrations and settings.
//!
//! The schema version is SQLite's `user_version`; [`MIGRATIONS`] lists every step, and a
//! phone opened by a newer app runs the missing ones in one transaction. Nothing here is
//! ever edited once released: a change is a new step at the end.
//!
//! | table | holds |
//! |---|---|
//! | `own_keys` | own TEKs: key, rolling start, period, upload state |
//! | `next_day_uploads` | today's key at report time, and the token to upload it tomorrow |
//! | `sightings` | advertisements heard: time, scan slot, RPI, AEM, RSSI |
//! | `matched_keys` | published keys that matched own sightings |
//! | `check_ins` | venue visits: URL, venue, start, end |
//! | `notifications` | exposures and venue warnings already shown |
//! | `settings` | server URL, pinned export key, sync cursors, retirement, analytics opt-in, the authority's configuration (last good one, its version and `ETag`, the last refusal) |
//! | `analytics_events` | the day the phone verified a code (and the code's age), uploaded keys |

use rusqlite::{Connection, OptionalExtension, params};

/// Setting: base URL of the server.
pub const SERVER_URL: &str = "server_url";
/// Setting: PEM of the export-signing public key, fetched once at `init` and pinned.
pub const EXPORT_PUBLIC_KEY_PEM: &str = "export_public_key_pem";
/// Setting: the `x-key-bundle-tag` of the last key download.
pub const LAST_KEY_BUNDLE_TAG: &str = "last_key_bundle_tag";
/// Setting: the cursor of the last venue-warning download.
pub const WARNINGS_CURSOR: &str = "warnings_cursor";
/// Setting: unix seconds of the last successful sync.
pub const LAST_SYNC: &str = "last_sync";
/// Setting: present once this phone's state was moved to a new phone.
pub const RETIRED: &str = "retired";
/// Setting: unix seconds before which no fake upload is due.
pub const NEXT_FAKE_UPLOAD: &str = "next_fake_upload";

/// Setting: `"1"` once the user opted in to private analytics, `"0"` after opting out.
pub const ANALYTICS_OPT_IN: &str = "analytics_opt_in";
/// Setting: the last UTC day (days since 1970-01-01) whose analytics report was sent.
pub const ANALYTICS_LAST_DAY: &str = "analytics_last_day";

/// Setting: the authority's settings last fetched from `/v1/config` and found good (JSON).
pub const APP_SETTINGS: &str = "app_settings";
/// Setting: their version number, when the authority numbered them.
pub const APP_CONFIGURATION_VERSION: &str = "app_configuration_version";
/// Setting: the `ETag` of the configuration kept.
pub const APP_CONFIGURATION_ETAG: &str = "app_configuration_etag";
/// Setting: why the last configuration offered was refused (until a good one comes).
pub const APP_CONFIGURATION_REFUSED: &str = "app_configuration_refused";

/// Schema steps; step `i` brings `user_version` from `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    "CREATE TABLE own_keys (
        key_data BLOB PRIMARY KEY,
        rolling_start INTEGER NOT NULL,
        rolling_period INTEGER NOT NULL,
        -- 0 not reported, 1 uploaded, 2 waiting for its next-day upload
        upload_state INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE next_day_uploads (
        key_data BLOB PRIMARY KEY,
        token TEXT NOT NULL
    );
    CREATE TABLE sightings (
        unix_seconds INTEGER NOT NULL,
        scan_slot INTEGER NOT NULL,
        rpi BLOB NOT NULL,
        aem BLOB NOT NULL,
        rssi INTEGER NOT NULL,
        PRIMARY KEY (rpi, scan_slot)
    );
    CREATE INDEX sightings_by_time ON sightings (unix_seconds);
    CREATE TABLE matched_keys (
        key_data BLOB NOT NULL,
        rolling_start INTEGER NOT NULL,
        rolling_period INTEGER NOT NULL,
        transmission_risk_level INTEGER NOT NULL,
        report_type INTEGER NOT NULL,
        days_since_onset INTEGER,
        PRIMARY KEY (key_data, rolling_start)
    );
    CREATE TABLE check_ins (
        id INTEGER PRIMARY KEY,
        url TEXT NOT NULL,
        description TEXT NOT NULL,
        address TEXT NOT NULL,
        location_id BLOB NOT NULL,
        start_seconds INTEGER NOT NULL,
        end_seconds INTEGER,
        automatic_end_seconds INTEGER NOT NULL
    );
    CREATE TABLE notifications (
        kind TEXT NOT NULL,
        day INTEGER NOT NULL,
        subject BLOB NOT NULL,
        risk TEXT NOT NULL,
        minutes INTEGER NOT NULL,
        -- what the user is shown besides: the venue's name and when, for venue warnings
        detail TEXT NOT NULL DEFAULT '',
        recorded_at INTEGER NOT NULL,
        PRIMARY KEY (kind, day, subject)
    );
    CREATE TABLE settings (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );",
    // 2: private analytics: events of the report, by UTC day.
    "CREATE TABLE analytics_events (
        kind TEXT NOT NULL,
        day INTEGER NOT NULL,
        -- code_verified: whole hours from the code's issue, when the server said
        hours INTEGER,
        PRIMARY KEY (kind, day)
    );",
];

/// Brings the schema up to date.
pub fn migrate(db: &Connection) -> rusqlite::Result<()> {
    let version: usize = db.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if version >= MIGRATIONS.len() {
        return Ok(());
    }
    db.execute_batch("BEGIN IMMEDIATE")?;
    let result = (|| {
        for (step, sql) in MIGRATIONS.iter().enumerate().skip(version) {
            db.execute_batch(sql)?;
            db.pragma_update(None, "user_version", step + 1)?;
        }
        Ok(())
    })();
    match result {
        Ok(()) => db.execute_batch("COMMIT"),
        Err(error) => {
            let _ = db.execute_batch("ROLLBACK");
            Err(error)
        }
    }
}

/// The schema version of an open database.
pub fn schema_version(db: &Connection) -> rusqlite::Result<usize> {
    db.query_row("PRAGMA user_version", [], |row| row.get(0))
}

pub(crate) fn setting(db: &Connection, name: &str) -> rusqlite::Result<Option<String>> {
    db.query_row(
        "SELECT value FROM settings WHERE name = ?1",
        [name],
        |row| row.get(0),
    )
    .optional()
}

pub(crate) fn set_setting(db: &Connection, name: &str, value: &str) -> rusqlite::Result<()> {
    db.execute(
        "INSERT INTO settings (name, value) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        params![name, value],
    )?;
    Ok(())
}

pub(crate) fn delete_setting(db: &Connection, name: &str) -> rusqlite::Result<()> {
    db.execute("DELETE FROM settings WHERE name = ?1", [name])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_database_gets_the_latest_schema_and_reopening_changes_nothing() {
        let db = Connection::open_in_memory().unwrap();
        migrate(&db).unwrap();
        assert_eq!(schema_version(&db).unwrap(), MIGRATIONS.len());
        set_setting(&db, SERVER_URL, "http://a").unwrap();
        migrate(&db).unwrap();
        assert_eq!(
            setting(&db, SERVER_URL).unwrap().as_deref(),
            Some("http://a")
        );
    }

    #[test]
    fn settings_are_replaced_not_duplicated() {
        let db = Connection::open_in_memory().unwrap();
        migrate(&db).unwrap();
        set_setting(&db, LAST_KEY_BUNDLE_TAG, "1").unwrap();
        set_setting(&db, LAST_KEY_BUNDLE_TAG, "2").unwrap();
        assert_eq!(
            setting(&db, LAST_KEY_BUNDLE_TAG).unwrap().as_deref(),
            Some("2")
        );
        assert_eq!(setting(&db, WARNINGS_CURSOR).unwrap(), None);
    }
}
