-- The authority's app settings (issue 16, item 1): every saved version, served by
-- GET /v1/config (the newest one) and listed with its author at /authority/config.
-- Keep in step with ../postgres/0008_app_configuration.sql.
--
-- A version is never changed or deleted: a roll back saves a new version equal to an
-- old one (restored_from names it). The settings are the JSON of
-- messages::app_settings::AppSettings, validated before they are stored. Staff emails
-- only; nothing about a patient.
CREATE TABLE app_configuration_versions (
    version INTEGER PRIMARY KEY,
    saved_at INTEGER NOT NULL,
    author TEXT NOT NULL,
    settings TEXT NOT NULL,
    restored_from INTEGER
);
