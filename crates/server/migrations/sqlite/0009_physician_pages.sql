-- The physicians' pages (issue 16, item 2). Keep in step with
-- ../postgres/0009_physician_pages.sql.
--
-- codes.test_type: how the patient's infection was established, which becomes the report
-- type of the keys they upload. Codes issued before this migration were confirmed tests,
-- the only report type there was.
ALTER TABLE codes ADD COLUMN test_type TEXT NOT NULL DEFAULT 'confirmed-test'
    CHECK (test_type IN ('confirmed-test', 'clinical-diagnosis'));

-- password_resets: one-time links an administrator gives a staff member who forgot their
-- password. Only the SHA-256 of the link's random 256-bit token is kept, so a copy of
-- the database opens nothing; a link is deleted when it is used, when a newer one is made
-- for the same account, and once expired.
CREATE TABLE password_resets (
    token_hash BLOB PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES authority_users (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL
);
CREATE INDEX password_resets_user_id ON password_resets (user_id);

-- An optional second factor: the TOTP secret of the account, sealed (AES-256-GCM under a
-- key derived from the server's secret, bound to the account), so that a copy of the
-- database alone computes no code; and the last step a code was accepted for, so that no
-- code is accepted twice.
ALTER TABLE authority_users ADD COLUMN totp_secret TEXT;
ALTER TABLE authority_users ADD COLUMN totp_last_step INTEGER;
