-- Venue presence: protected check-in reports (PROTOCOLS.md §5), opaque to the server.
-- Only the hour of arrival is kept; rows are deleted 14 days after it.
-- Keep in step with ../sqlite/0003_presence.sql.
CREATE TABLE check_in_reports (
    id BIGSERIAL PRIMARY KEY,
    location_id_hash BYTEA NOT NULL,
    iv BYTEA NOT NULL,
    encrypted_check_in_record BYTEA NOT NULL,
    -- Unique: the same report uploaded twice is published once.
    mac BYTEA NOT NULL UNIQUE,
    received_hour BIGINT NOT NULL
);
CREATE INDEX check_in_reports_received_hour ON check_in_reports (received_hour);
