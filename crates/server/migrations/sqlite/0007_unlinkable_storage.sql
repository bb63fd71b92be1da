-- Unlinkable storage (issue 14, item 6). Keep in step with
-- ../postgres/0007_unlinkable_storage.sql.
--
-- token_uses: a use is now stored under a keyed hash of the token's jti and the purpose
-- (so one patient's key and check-in uploads share no id) and the token's expiry rounded
-- up to the hour. The rows of the hour before the upgrade are dropped: they carry the
-- raw jti, which links them. (A token spent in that hour could be spent once more until
-- it expires, within the hour; what it lets in is refused again as a duplicate.)
DELETE FROM token_uses;
ALTER TABLE token_uses RENAME COLUMN jti TO use_id;

-- codes: the expiry sits next to the issuer; to the hour, rounded up, like every other
-- time in the row (the code lives at most an hour longer than configured).
UPDATE codes SET expires_at = ((expires_at + 3599) / 3600) * 3600;

-- check_in_reports: random ids drawn by the server instead of an autoincrement, which
-- numbered the reports in upload order. Existing rows get random ids too.
CREATE TABLE check_in_reports_unordered (
    id INTEGER PRIMARY KEY,
    location_id_hash BLOB NOT NULL,
    iv BLOB NOT NULL,
    encrypted_check_in_record BLOB NOT NULL,
    mac BLOB NOT NULL UNIQUE,
    received_hour INTEGER NOT NULL
);
INSERT INTO check_in_reports_unordered
    (id, location_id_hash, iv, encrypted_check_in_record, mac, received_hour)
    SELECT random(), location_id_hash, iv, encrypted_check_in_record, mac, received_hour
    FROM check_in_reports;
DROP TABLE check_in_reports;
ALTER TABLE check_in_reports_unordered RENAME TO check_in_reports;
CREATE INDEX check_in_reports_received_hour ON check_in_reports (received_hour);

-- exposed_keys: the server now inserts each key at a random rowid (the table is stored in
-- rowid order, which was upload order); the keys already stored move to random rowids.
CREATE TABLE exposed_keys_unordered (
    key_data BLOB NOT NULL,
    rolling_start INTEGER NOT NULL,
    rolling_period INTEGER NOT NULL,
    transmission_risk_level INTEGER NOT NULL,
    report_type INTEGER NOT NULL,
    days_since_onset INTEGER,
    received_hour INTEGER NOT NULL,
    release_at INTEGER NOT NULL
);
INSERT INTO exposed_keys_unordered
    (rowid, key_data, rolling_start, rolling_period, transmission_risk_level, report_type,
     days_since_onset, received_hour, release_at)
    SELECT random(), key_data, rolling_start, rolling_period, transmission_risk_level,
           report_type, days_since_onset, received_hour, release_at
    FROM exposed_keys;
DROP TABLE exposed_keys;
ALTER TABLE exposed_keys_unordered RENAME TO exposed_keys;
CREATE INDEX exposed_keys_release_at ON exposed_keys (release_at);
