-- Migration 4, PostgreSQL flavour: nothing to change in the tables.
--
-- On SQLite, migration 4 drops the unique index on exposed_keys.key_data: its one
-- writer task keeps the retention window's keys in memory and leaves duplicates out
-- itself (server::datastore::keys), and the index cost a random page write per key.
-- PostgreSQL is written by several server instances at once, which cannot share that
-- memory, so it keeps the primary key on key_data and refuses a duplicate there
-- (ON CONFLICT DO NOTHING). This migration exists so that both databases count the same
-- migrations for the same schema; it records the difference on the table itself.
COMMENT ON TABLE exposed_keys IS
    'Diagnosis keys, published once: unique by key_data (primary key). SQLite drops the '
    'index in its migration 4 and de-duplicates in its single writer instead.';
