-- The physicians' pages (issue 16, item 2). Keep in step with
-- ../postgres/0009_physician_pages.sql.
--
-- codes.test_type: how the patient's infection was established, which becomes the report
-- type of the keys they upload. Codes issued before this migration were confirmed tests,
-- the only report type there was.
ALTER TABLE codes ADD COLUMN test_type TEXT NOT NULL DEFAULT 'confirmed-test'
    CHECK (test_type IN ('confirmed-test', 'clinical-diagnosis'));
