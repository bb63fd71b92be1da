//! Moving to a new phone: an encrypted backup of the phone's state.
//!
//! The backup holds every table (own keys, sightings, check-ins, matched keys,
//! notifications, analytics events, settings): 14 days of history are exactly what a person who changes
//! phones must not lose. It is encrypted with `age` to a passphrase (scrypt), so that it
//! can travel through any cloud or cable. [`Phone::move_to_new_phone`] also retires the
//! old phone: two phones broadcasting one person's keys would double-count every contact.

use std::io::{Read, Write};

use age::secrecy::SecretString;
use rusqlite::types::{Value, ValueRef};
use serde::{Deserialize, Serialize};
use serde_json::Map;

use crate::store::{self, NEXT_FAKE_UPLOAD, RETIRED};
use crate::{Phone, PhoneError};

/// Tables copied by a backup, in an order that restores cleanly.
const BACKED_UP_TABLES: &[&str] = &[
    "own_keys",
    "next_day_uploads",
    "sightings",
    "matched_keys",
    "check_ins",
    "notifications",
    "analytics_events",
    "settings",
];

/// Settings that belong to one device and are never copied.
const DEVICE_SETTINGS: &[&str] = &[RETIRED, NEXT_FAKE_UPLOAD];

/// scrypt work factor (N = 2^16: 64 MiB, about a second on a phone).
pub const BACKUP_WORK_FACTOR: u8 = 16;

/// Largest backup accepted (14 days of a busy phone's sightings fit many times over).
pub const MAX_BACKUP_BYTES: u64 = 256 * 1024 * 1024;

/// Format version of the plaintext.
const BACKUP_FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
struct BackupContent {
    format: u32,
    schema_version: usize,
    /// Table name → rows (column name → value; blobs as `{"hex": …}`).
    tables: Map<String, serde_json::Value>,
}

fn to_json(value: ValueRef<'_>) -> serde_json::Value {
    match value {
        ValueRef::Null => serde_json::Value::Null,
        ValueRef::Integer(number) => number.into(),
        ValueRef::Real(number) => number.into(),
        ValueRef::Text(text) => String::from_utf8_lossy(text).into_owned().into(),
        ValueRef::Blob(bytes) => serde_json::json!({ "hex": hex::encode(bytes) }),
    }
}

fn from_json(value: &serde_json::Value) -> Result<Value, PhoneError> {
    Ok(match value {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Number(number) => match number.as_i64() {
            Some(integer) => Value::Integer(integer),
            None => Value::Real(number.as_f64().unwrap_or_default()),
        },
        serde_json::Value::String(text) => Value::Text(text.clone()),
        serde_json::Value::Object(object) => {
            let bytes = object
                .get("hex")
                .and_then(|hex| hex.as_str())
                .and_then(|hex| hex::decode(hex).ok())
                .ok_or_else(|| PhoneError::Backup("a value of the backup is unreadable".into()))?;
            Value::Blob(bytes)
        }
        _ => {
            return Err(PhoneError::Backup(
                "a value of the backup is unreadable".into(),
            ));
        }
    })
}

impl Phone {
    /// An encrypted backup of the whole state.
    pub fn export_backup(&mut self, passphrase: &str, now: u64) -> Result<Vec<u8>, PhoneError> {
        self.export_backup_with_work_factor(passphrase, now, BACKUP_WORK_FACTOR)
    }

    /// [`Phone::export_backup`] with another scrypt work factor (tests use a small one).
    pub fn export_backup_with_work_factor(
        &mut self,
        passphrase: &str,
        now: u64,
        work_factor: u8,
    ) -> Result<Vec<u8>, PhoneError> {
        self.purge(now)?;
        if passphrase.is_empty() {
            return Err(PhoneError::InvalidInput(
                "a backup needs a passphrase".into(),
            ));
        }
        let mut tables = Map::new();
        for table in BACKED_UP_TABLES {
            let mut statement = self.db.prepare(&format!("SELECT * FROM {table}"))?;
            let columns: Vec<String> = statement
                .column_names()
                .into_iter()
                .map(str::to_owned)
                .collect();
            let mut rows = statement.query([])?;
            let mut dumped = Vec::new();
            while let Some(row) = rows.next()? {
                let mut object = Map::new();
                for (index, column) in columns.iter().enumerate() {
                    object.insert(column.clone(), to_json(row.get_ref(index)?));
                }
                let device_only = *table == "settings"
                    && object
                        .get("name")
                        .and_then(|name| name.as_str())
                        .is_some_and(|name| DEVICE_SETTINGS.contains(&name));
                if !device_only {
                    dumped.push(serde_json::Value::Object(object));
                }
            }
            tables.insert((*table).to_owned(), dumped.into());
        }
        let content = BackupContent {
            format: BACKUP_FORMAT,
            schema_version: store::schema_version(&self.db)?,
            tables,
        };
        let plaintext =
            serde_json::to_vec(&content).map_err(|error| PhoneError::Backup(error.to_string()))?;

        let mut recipient = age::scrypt::Recipient::new(SecretString::from(passphrase.to_owned()));
        recipient.set_work_factor(work_factor.clamp(1, 22));
        let encryptor =
            age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
                .map_err(|error| PhoneError::Backup(error.to_string()))?;
        let mut encrypted = Vec::new();
        let mut writer = encryptor.wrap_output(&mut encrypted)?;
        writer.write_all(&plaintext)?;
        writer.finish()?;
        Ok(encrypted)
    }

    /// Exports a backup and retires this phone: it stops broadcasting and reporting.
    pub fn move_to_new_phone(&mut self, passphrase: &str, now: u64) -> Result<Vec<u8>, PhoneError> {
        let backup = self.export_backup(passphrase, now)?;
        store::set_setting(&self.db, RETIRED, &now.to_string())?;
        Ok(backup)
    }

    /// Replaces this phone's state with a backup's. A wrong passphrase (or a file that is
    /// not a backup) changes nothing.
    pub fn restore_backup(
        &mut self,
        backup: &[u8],
        passphrase: &str,
        now: u64,
    ) -> Result<(), PhoneError> {
        let decryptor = age::Decryptor::new(backup).map_err(|_| PhoneError::WrongPassphrase)?;
        let mut identity = age::scrypt::Identity::new(SecretString::from(passphrase.to_owned()));
        identity.set_max_work_factor(22);
        let reader = decryptor
            .decrypt(std::iter::once(&identity as &dyn age::Identity))
            .map_err(|_| PhoneError::WrongPassphrase)?;
        let mut plaintext = Vec::new();
        reader
            .take(MAX_BACKUP_BYTES)
            .read_to_end(&mut plaintext)
            .map_err(|_| PhoneError::WrongPassphrase)?;
        let content: BackupContent = serde_json::from_slice(&plaintext)
            .map_err(|error| PhoneError::Backup(format!("unreadable content: {error}")))?;
        if content.format != BACKUP_FORMAT || content.schema_version > store::MIGRATIONS.len() {
            return Err(PhoneError::Backup(
                "this backup was made by a newer app: update the app first".into(),
            ));
        }

        let transaction = self.db.transaction()?;
        for table in BACKED_UP_TABLES {
            transaction.execute(&format!("DELETE FROM {table}"), [])?;
            let rows = content
                .tables
                .get(*table)
                .and_then(|rows| rows.as_array())
                .map(Vec::as_slice)
                .unwrap_or_default();
            for row in rows {
                let Some(object) = row.as_object() else {
                    return Err(PhoneError::Backup(format!(
                        "a row of {table} is unreadable"
                    )));
                };
                let names: Vec<&str> = object.keys().map(String::as_str).collect();
                if names
                    .iter()
                    .any(|name| !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                {
                    return Err(PhoneError::Backup(format!(
                        "a column of {table} is unreadable"
                    )));
                }
                let values = object
                    .values()
                    .map(from_json)
                    .collect::<Result<Vec<_>, _>>()?;
                let placeholders = vec!["?"; values.len()].join(", ");
                transaction.execute(
                    &format!(
                        "INSERT INTO {table} ({}) VALUES ({placeholders})",
                        names.join(", ")
                    ),
                    rusqlite::params_from_iter(values),
                )?;
            }
        }
        transaction.commit()?;
        self.purge(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use exposure::matching::Sighting;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    const NOW: u64 = 1_700_000_000;
    const PEM: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE49JY6kekDgxj3Crm4y6kEHdfoKQF\nSNDM4mV9cgDb+e5nOAw0GeRoRThCu9/wX5wDT2QloFoOjl2pGZHI0f3C3w==\n-----END PUBLIC KEY-----\n";

    fn old_phone() -> Phone {
        let mut phone = Phone::open_in_memory().unwrap();
        let mut rng = StdRng::seed_from_u64(4);
        phone
            .init_with_public_key("http://127.0.0.1:1", PEM, NOW)
            .unwrap();
        phone.current_key(NOW - 86_400, &mut rng).unwrap();
        phone.current_key(NOW, &mut rng).unwrap();
        phone
            .observe(
                NOW,
                &[Sighting {
                    unix_seconds: NOW,
                    rpi: [3; 16],
                    aem: [4; 4],
                    rssi: -61,
                }],
            )
            .unwrap();
        phone
    }

    #[test]
    fn a_backup_restores_keys_sightings_and_settings_on_a_new_phone() {
        let mut old = old_phone();
        let backup = old
            .export_backup_with_work_factor("correct horse", NOW, 4)
            .unwrap();
        let mut new = Phone::open_in_memory().unwrap();
        new.restore_backup(&backup, "correct horse", NOW + 60)
            .unwrap();
        assert_eq!(new.own_keys().unwrap(), old.own_keys().unwrap());
        assert_eq!(new.sightings().unwrap(), old.sightings().unwrap());
        assert_eq!(new.server_url().unwrap(), "http://127.0.0.1:1");
        let mut rng = StdRng::seed_from_u64(5);
        assert_eq!(
            new.current_key(NOW, &mut rng).unwrap(),
            old.current_key(NOW, &mut rng).unwrap(),
            "the new phone goes on with today's key"
        );
    }

    #[test]
    fn a_wrong_passphrase_fails_cleanly_and_changes_nothing() {
        let mut old = old_phone();
        let backup = old
            .export_backup_with_work_factor("correct horse", NOW, 4)
            .unwrap();
        let mut new = Phone::open_in_memory().unwrap();
        assert!(matches!(
            new.restore_backup(&backup, "wrong horse", NOW),
            Err(PhoneError::WrongPassphrase)
        ));
        assert!(matches!(
            new.restore_backup(b"not a backup", "correct horse", NOW),
            Err(PhoneError::WrongPassphrase)
        ));
        assert!(new.own_keys().unwrap().is_empty());
        assert!(matches!(new.server_url(), Err(PhoneError::NotInitialised)));
    }

    #[test]
    fn the_old_phone_stops_broadcasting_after_moving() {
        let mut old = old_phone();
        // The default work factor, as a real move uses.
        let backup = old.move_to_new_phone("correct horse", NOW).unwrap();
        assert!(!backup.is_empty());
        let mut rng = StdRng::seed_from_u64(6);
        assert!(matches!(
            old.broadcast(NOW, 1, &mut rng),
            Err(PhoneError::Retired)
        ));
        let mut new = Phone::open_in_memory().unwrap();
        new.restore_backup(&backup, "correct horse", NOW).unwrap();
        assert!(!new.is_retired().unwrap());
        assert_eq!(new.broadcast(NOW, 1, &mut rng).unwrap().len(), 1);
    }
}
