-- OpenStopCovid schema, PostgreSQL flavour. Times are unix seconds (BIGINT); upload times
-- are kept to the hour only. Keep in step with ../sqlite/0001_initial.sql.

-- Health authorities' API keys (stored as SHA-256 of the random key, never in clear).
CREATE TABLE authority_api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    key_hash BYTEA NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

-- One-time codes issued to patients, stored as HMAC-SHA256 under the server secret.
CREATE TABLE codes (
    id TEXT PRIMARY KEY,
    code_hmac BYTEA NOT NULL UNIQUE,
    onset_date TEXT,
    issued_by TEXT NOT NULL,
    created_hour BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_hour BIGINT
);
CREATE INDEX codes_expires_at ON codes (expires_at);

-- Upload tokens already used, per purpose (one key upload, one check-in upload).
CREATE TABLE token_uses (
    jti TEXT NOT NULL,
    purpose TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (jti, purpose)
);
CREATE INDEX token_uses_expires_at ON token_uses (expires_at);

-- Diagnosis keys. A key is published once (primary key on its bytes) and only from
-- release_at on (embargo of still-valid keys, rounded up to the hour).
CREATE TABLE exposed_keys (
    key_data BYTEA PRIMARY KEY,
    rolling_start BIGINT NOT NULL,
    rolling_period BIGINT NOT NULL,
    transmission_risk_level BIGINT NOT NULL,
    report_type BIGINT NOT NULL,
    days_since_onset BIGINT,
    received_hour BIGINT NOT NULL,
    release_at BIGINT NOT NULL
);
CREATE INDEX exposed_keys_release_at ON exposed_keys (release_at);

-- Daily export files written to the object store (one row per UTC day, written once).
CREATE TABLE export_files (
    day BIGINT PRIMARY KEY,
    object_name TEXT NOT NULL,
    key_count BIGINT NOT NULL,
    byte_count BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Leases so that one instance at a time runs a job (export building, purge).
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
