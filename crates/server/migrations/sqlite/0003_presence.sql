-- Venue presence: protected check-in reports (PROTOCOLS.md §5), opaque to the server.
-- Only the hour of arrival is kept; rows are deleted 14 days after it.
-- Keep in step with ../postgres/0003_presence.sql.
CREATE TABLE check_in_reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    location_id_hash BLOB NOT NULL,
    iv BLOB NOT NULL,
    encrypted_check_in_record BLOB NOT NULL,
    -- Unique: the same report uploaded twice is published once.
    mac BLOB NOT NULL UNIQUE,
    received_hour INTEGER NOT NULL
);
CREATE INDEX check_in_reports_received_hour ON check_in_reports (received_hour);
