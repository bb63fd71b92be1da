-- What a code lets in (issue 14, item 7). A patient's code gives a token for keys and
-- check-ins only; warning on behalf of a venue needs a code issued for that purpose.
-- Codes issued before this migration were all patients' codes.
-- Keep in step with ../postgres/0005_code_kinds.sql.
ALTER TABLE codes ADD COLUMN kind TEXT NOT NULL DEFAULT 'patient'
    CHECK (kind IN ('patient', 'venue-warning'));
