-- Unlinkable storage (issue 14, item 6). Keep in step with
-- ../sqlite/0007_unlinkable_storage.sql.
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

-- check_in_reports: random ids drawn by the server instead of a sequence, which numbered
-- the reports in upload order (dropping the column drops its sequence). Existing rows get
-- random ids too.
--
-- PostgreSQL stores rows in its heap roughly in insertion order whatever their ids (a
-- row's ctid), and rewrites them only on VACUUM FULL or CLUSTER: the server shuffles each
-- upload's rows (and each group commit's keys), so a batch does not list one upload's rows
-- in order, but someone reading the heap pages can still tell batches apart. Run
-- `CLUSTER exposed_keys USING exposed_keys_pkey` (by key bytes, which are random) after
-- an incident if that matters; SQLite stores rows by their random ids.
ALTER TABLE check_in_reports DROP COLUMN id;
ALTER TABLE check_in_reports ADD COLUMN id BIGINT;
UPDATE check_in_reports SET id = floor((random() * 2 - 1) * 9.2e18)::BIGINT;
ALTER TABLE check_in_reports ALTER COLUMN id SET NOT NULL;
ALTER TABLE check_in_reports ADD PRIMARY KEY (id);
