-- OpenStopCovid schema, SQLite flavour. Times are unix seconds (INTEGER); upload times
-- are kept to the hour only. Keep in step with ../postgres/0001_initial.sql.

-- Health authorities' API keys (stored as SHA-256 of the random key, never in clear).
CREATE TABLE authority_api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    key_hash BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

-- One-time codes issued to patients, stored as HMAC-SHA256 under the server secret.
CREATE TABLE codes (
    id TEXT PRIMARY KEY,
    code_hmac BLOB NOT NULL UNIQUE,
    onset_date TEXT,
    issued_by TEXT NOT NULL,
    created_hour INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_hour INTEGER
);
CREATE INDEX codes_expires_at ON codes (expires_at);

-- Upload tokens already used, per purpose (one key upload, one check-in upload).
CREATE TABLE token_uses (
    jti TEXT NOT NULL,
    purpose TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (jti, purpose)
);
CREATE INDEX token_uses_expires_at ON token_uses (expires_at);

-- Diagnosis keys. A key is published once (primary key on its bytes) and only from
-- release_at on (embargo of still-valid keys, rounded up to the hour).
CREATE TABLE exposed_keys (
    key_data BLOB PRIMARY KEY,
    rolling_start INTEGER NOT NULL,
    rolling_period INTEGER NOT NULL,
    transmission_risk_level INTEGER NOT NULL,
    report_type INTEGER NOT NULL,
    days_since_onset INTEGER,
    received_hour INTEGER NOT NULL,
    release_at INTEGER NOT NULL
);
CREATE INDEX exposed_keys_release_at ON exposed_keys (release_at);

-- Daily export files written to the object store (one row per UTC day, written once).
CREATE TABLE export_files (
    day INTEGER PRIMARY KEY,
    object_name TEXT NOT NULL,
    key_count INTEGER NOT NULL,
    byte_count INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

-- Leases so that one instance at a time runs a job (export building, purge).
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
