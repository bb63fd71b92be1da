-- Uploaded keys are appended, not inserted into a unique index on key_data.
--
-- A unique index on random 16-byte keys makes every stored key dirty a random page of
-- the index, which SQLite then writes whole to the WAL at each commit: that was most of
-- the cost of an upload. SQLite serves from a single process, whose one upload writer
-- keeps the keys of the retention window in memory and drops duplicates before it
-- writes (server::group_commit); PostgreSQL, where several servers write at once, keeps
-- its primary key.
CREATE TABLE exposed_keys_appended (
    key_data BLOB NOT NULL,
    rolling_start INTEGER NOT NULL,
    rolling_period INTEGER NOT NULL,
    transmission_risk_level INTEGER NOT NULL,
    report_type INTEGER NOT NULL,
    days_since_onset INTEGER,
    received_hour INTEGER NOT NULL,
    release_at INTEGER NOT NULL
);
INSERT INTO exposed_keys_appended
    SELECT key_data, rolling_start, rolling_period, transmission_risk_level, report_type,
           days_since_onset, received_hour, release_at
    FROM exposed_keys;
DROP TABLE exposed_keys;
ALTER TABLE exposed_keys_appended RENAME TO exposed_keys;
CREATE INDEX exposed_keys_release_at ON exposed_keys (release_at);
