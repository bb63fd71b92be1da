-- The physicians' web UI (/authority): staff accounts, their sessions, the audit log.
-- SQLite flavour; keep in step with ../postgres/0002_authority_ui.sql.

-- Physicians and administrators. Passwords as argon2id PHC strings, never in clear.
CREATE TABLE authority_users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('physician', 'admin')),
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    disabled_at INTEGER,
    failed_sign_ins INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER
);

-- Signed-in sessions, by SHA-256 of the cookie's random token.
CREATE TABLE authority_sessions (
    token_hash BLOB PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES authority_users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX authority_sessions_expires_at ON authority_sessions (expires_at);

-- Who did what, when: staff emails, code ids, API key names; never a code.
CREATE TABLE authority_audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL
);

-- "My codes" lists a physician's codes by issuer.
CREATE INDEX codes_issued_by ON codes (issued_by);
