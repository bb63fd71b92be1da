-- Sign-in backoff instead of lockout (issue 14, item 4). Keep in step with
-- ../postgres/0006_sign_in_backoff.sql.
--
-- Five failures used to lock an account for 15 minutes, again and again for as long as
-- anyone kept typing wrong passwords, and only known emails locked (which told which
-- emails have accounts). Now every email address, known or not, gets the same growing
-- wait after its failures, capped, and never a lock: one row per address that failed
-- lately, by a keyed hash (HMAC under the server's secret) of the normalised address,
-- so that the table names no one. Rows are deleted a day after their last failure.
CREATE TABLE sign_in_backoff (
    email_key BLOB PRIMARY KEY,
    failures INTEGER NOT NULL,
    not_before INTEGER NOT NULL,
    last_failure INTEGER NOT NULL
);
CREATE INDEX sign_in_backoff_last_failure ON sign_in_backoff (last_failure);
ALTER TABLE authority_users DROP COLUMN failed_sign_ins;
ALTER TABLE authority_users DROP COLUMN locked_until;
