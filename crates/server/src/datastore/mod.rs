//! The datastore: every SQL statement of the server, behind typed functions.
//!
//! One schema, two databases. SQLite (default, a file under `--data-dir`) or
//! PostgreSQL (`--database-url postgres://…`), both through sqlx's `Any` driver so that
//! every statement is written once (portable SQL, `$1` placeholders, which SQLite
//! accepts too). Times are stored as unix seconds in 64-bit integers.
//!
//! Services never see SQL, a pool or an `sqlx` type: they call the methods below on a
//! [`Store`] (one statement, its own transaction) or on a [`Transaction`] (several
//! statements that must commit together), get datastore row types back, and map a
//! [`DatastoreError`] to their own errors (`Problem` for the API, see
//! `crate::problem`). The connection pool stays private.
//!
//! # Layout
//!
//! One file per group of tables (`docs/DATA_MODEL.md` describes every column):
//!
//! - [`codes`]: `authority_api_keys` and `codes`: API keys, issuing, redeeming and
//!   following codes; a code's status ([`CodeStatus`]), worked out here only.
//! - [`tokens`]: `token_uses`: recording that an upload token was spent on a purpose,
//!   in one place for every upload route.
//! - [`keys`]: `exposed_keys`: group commit of key uploads ([`UploadWriter`]), released
//!   keys for downloads and exports.
//! - [`exports`]: `export_files`: the daily export files written to the object store.
//! - [`presence`]: `check_in_reports`: venue check-in reports in and out.
//! - [`accounts`]: `authority_users`, `authority_sessions` and `sign_in_backoff`: staff
//!   accounts, sessions, the failed sign-ins of each email address (known or not).
//! - [`audit`]: the audit log, `authority_audit_log`.
//! - [`app_config`]: `app_configuration_versions`: every saved version of the
//!   authority's app settings (`/v1/config`), with its author.
//! - [`statistics`]: daily counts over codes, token uses and keys.
//! - [`leases`]: `leases`: one instance at a time runs a job.
//! - this file: opening, migrations (`migrations/sqlite/`, `migrations/postgres/`,
//!   identical in number and meaning), transactions, errors, multi-row inserts.
//!
//! The schema lives in plain SQL under `migrations/sqlite/` and `migrations/postgres/`,
//! embedded in the binary and applied on start by an sqlx [`Migrator`] (PostgreSQL runs
//! them under an advisory lock, so several instances can start at once). Migrations that
//! shipped never change (sqlx checksums them): a change is a new migration, on both
//! databases, with the same number.
//!
//! # SQLite durability
//!
//! The file runs in WAL mode with `synchronous = FULL`: every commit fsyncs the WAL
//! before it returns, so an upload that got its 200 survives `kill -9` and a power cut.
//! (`NORMAL` would survive a process crash but may lose the last commits on power loss;
//! an acknowledged diagnosis key must not be lost, and group commits keep the cost low.)
//! A background task checkpoints the WAL every 250 ms, so that commits do not
//! (see `checkpoint_in_the_background`); the page cache is 64 MiB and reads go through
//! `mmap`, so that the key index stays in memory.
//! `busy_timeout` lets concurrent writers queue instead of failing; write transactions
//! start with a write, so they never need to upgrade a stale read snapshot.

pub mod accounts;
pub mod app_config;
pub mod audit;
pub mod codes;
pub mod exports;
#[doc(hidden)]
pub mod inspection;
pub mod keys;
pub mod leases;
pub mod presence;
pub mod statistics;
pub mod tokens;

pub use accounts::{Role, SignInRecord, UserRow};
pub use audit::{AuditFilter, AuditRow};
pub use codes::{ApiKeyRow, CodeRecord, CodeStatus};
pub use keys::{KeyRow, UploadWriter, WriteOutcome};
pub use statistics::{DayCounts, IssuerCounts};
pub use tokens::TokenUse;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, AssertSqlSafe, Executor, SqlSafeStr};

/// Which database the store speaks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// How often the SQLite WAL is copied back into the database file, off the writer.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// Copies the WAL back into the database file from a connection of its own, so that
/// committing uploads never waits for it: SQLite otherwise checkpoints inside the commit
/// that fills the WAL past `wal_autocheckpoint` (kept as a safety net, at 64 MiB).
/// `PASSIVE` never blocks writers or readers. Ends when the pool is closed.
async fn checkpoint_in_the_background(pool: AnyPool) {
    let mut ticks = tokio::time::interval(CHECKPOINT_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if pool.is_closed() {
            return;
        }
        if let Err(error) = pool.execute("PRAGMA wal_checkpoint(PASSIVE)").await {
            if pool.is_closed() {
                return;
            }
            tracing::warn!(%error, "background WAL checkpoint failed");
        }
    }
}

/// The database could not be opened or migrated.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL (use sqlite://… or postgres://…)")]
    UnsupportedUrl,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("invalid schema name {0:?} (letters, digits and _ only)")]
    InvalidSchema(String),
    #[error("cannot create or protect the database file: {0}")]
    File(std::io::Error),
}

/// A statement failed. Services map it to their own error in one place (for the API,
/// `impl From<DatastoreError> for Problem`, which logs the cause).
#[derive(Debug, thiserror::Error)]
pub enum DatastoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The group-commit writer is gone: the server is shutting down.
    #[error("the upload writer has stopped (shutting down)")]
    WriterStopped,
}

impl DatastoreError {
    /// Whether the database could not be reached or gave up for a reason that passes:
    /// connection lost or refused, server shutting down or starting, out of connections,
    /// busy, a serialization conflict. The same request may then work a moment later,
    /// and a write may have been committed although its answer was lost (an upload sent
    /// again is recognized: see `keys::store_keys`). Anything else is a bug of ours.
    pub fn is_transient(&self) -> bool {
        match self {
            DatastoreError::WriterStopped => true,
            DatastoreError::Database(error) => match error {
                sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::Protocol(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed => true,
                sqlx::Error::Database(database) => {
                    database.code().is_some_and(|code| transient_code(&code))
                }
                _ => false,
            },
        }
    }
}

/// PostgreSQL SQLSTATE classes 08 (connection exception), 53 (insufficient resources),
/// 57 (operator intervention: shutdown, starting up) and the two retryable conflicts
/// (40001 serialization failure, 40P01 deadlock); SQLite's primary codes 5 (BUSY) and
/// 6 (LOCKED), which it reports with their extended codes in the high bits.
fn transient_code(code: &str) -> bool {
    if let Ok(sqlite) = code.parse::<u32>() {
        return matches!(sqlite & 0xff, 5 | 6);
    }
    ["08", "53", "57"]
        .iter()
        .any(|class| code.starts_with(class))
        || code == "40001"
        || code == "40P01"
}

/// A pool of connections to the migrated database, and the group-commit writer of key
/// uploads. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    upload_writer: Arc<UploadWriter>,
}

/// Several statements that commit together or not at all. Dropped without
/// [`Transaction::commit`], it rolls back.
pub struct Transaction {
    inner: sqlx::Transaction<'static, sqlx::Any>,
    backend: Backend,
}

impl Transaction {
    /// Makes every statement of the transaction durable.
    pub async fn commit(self) -> Result<(), DatastoreError> {
        self.inner.commit().await?;
        Ok(())
    }
}

const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../../migrations/sqlite/0001_initial.sql"),
    ),
    (
        2,
        "authority_ui",
        include_str!("../../migrations/sqlite/0002_authority_ui.sql"),
    ),
    (
        3,
        "presence",
        include_str!("../../migrations/sqlite/0003_presence.sql"),
    ),
    (
        4,
        "exposed_keys_append_only",
        include_str!("../../migrations/sqlite/0004_exposed_keys_append_only.sql"),
    ),
    (
        5,
        "code_kinds",
        include_str!("../../migrations/sqlite/0005_code_kinds.sql"),
    ),
    (
        6,
        "sign_in_backoff",
        include_str!("../../migrations/sqlite/0006_sign_in_backoff.sql"),
    ),
    (
        7,
        "unlinkable_storage",
        include_str!("../../migrations/sqlite/0007_unlinkable_storage.sql"),
    ),
    (
        8,
        "app_configuration",
        include_str!("../../migrations/sqlite/0008_app_configuration.sql"),
    ),
    (
        9,
        "physician_pages",
        include_str!("../../migrations/sqlite/0009_physician_pages.sql"),
    ),
];

const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "authority_ui",
        include_str!("../../migrations/postgres/0002_authority_ui.sql"),
    ),
    (
        3,
        "presence",
        include_str!("../../migrations/postgres/0003_presence.sql"),
    ),
    (
        4,
        "exposed_keys_append_only",
        include_str!("../../migrations/postgres/0004_exposed_keys_append_only.sql"),
    ),
    (
        5,
        "code_kinds",
        include_str!("../../migrations/postgres/0005_code_kinds.sql"),
    ),
    (
        6,
        "sign_in_backoff",
        include_str!("../../migrations/postgres/0006_sign_in_backoff.sql"),
    ),
    (
        7,
        "unlinkable_storage",
        include_str!("../../migrations/postgres/0007_unlinkable_storage.sql"),
    ),
    (
        8,
        "app_configuration",
        include_str!("../../migrations/postgres/0008_app_configuration.sql"),
    ),
    (
        9,
        "physician_pages",
        include_str!("../../migrations/postgres/0009_physician_pages.sql"),
    ),
];

fn migrator(backend: Backend) -> Migrator {
    migrator_of(match backend {
        Backend::Sqlite => SQLITE_MIGRATIONS,
        Backend::Postgres => POSTGRES_MIGRATIONS,
    })
}

fn migrator_of(sources: &'static [(i64, &'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        sources
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// How long a request waits for a database connection before it is answered 503 (with
/// `Retry-After`): well inside the request deadline, so that while the database restarts
/// or fails over a phone learns to come back instead of waiting for a timeout.
const POOL_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

impl Store {
    /// Opens (creating if needed) and migrates the database at `url`.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_in_schema(url, None).await
    }

    /// Like [`Store::connect`], but on PostgreSQL inside `schema` (created if missing).
    /// Tests use one schema each so that they can run in parallel on one database.
    pub async fn connect_in_schema(url: &str, schema: Option<&str>) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        if let Some(schema) = schema
            && !schema
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(StoreError::InvalidSchema(schema.to_owned()));
        }
        if backend == Backend::Sqlite
            && let Some(path) = sqlite_file(url)
        {
            make_private(&path)?;
        }
        let schema = schema.map(str::to_owned);
        if let Some(schema) = &schema
            && backend == Backend::Postgres
        {
            let mut connection = <sqlx::AnyConnection as sqlx::Connection>::connect(url).await?;
            connection
                .execute(AssertSqlSafe(format!(
                    "CREATE SCHEMA IF NOT EXISTS \"{schema}\""
                )))
                .await?;
        }
        let options = AnyPoolOptions::new()
            .max_connections(match backend {
                // Readers run in parallel under WAL; writers queue on the file lock anyway.
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            })
            .acquire_timeout(POOL_ACQUIRE_TIMEOUT)
            .after_connect(move |connection, _| {
                let schema = schema.clone();
                Box::pin(async move {
                    match backend {
                        Backend::Sqlite => {
                            connection
                                .execute(
                                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                                     PRAGMA busy_timeout = 30000; PRAGMA foreign_keys = ON; \
                                     PRAGMA cache_size = -65536; PRAGMA mmap_size = 268435456; \
                                     PRAGMA wal_autocheckpoint = 16384;",
                                )
                                .await?;
                        }
                        Backend::Postgres => {
                            if let Some(schema) = schema {
                                connection
                                    .execute(AssertSqlSafe(format!(
                                        "SET search_path TO \"{schema}\""
                                    )))
                                    .await?;
                            }
                        }
                    }
                    Ok(())
                })
            });
        let pool = options.connect(url).await?;
        migrator(backend).run(&pool).await?;
        if backend == Backend::Sqlite && tokio::runtime::Handle::try_current().is_ok() {
            tokio::spawn(checkpoint_in_the_background(pool.clone()));
        }
        Ok(Self {
            pool,
            backend,
            upload_writer: Arc::new(UploadWriter::default()),
        })
    }

    /// Starts a transaction, for statements that must commit together.
    pub async fn begin(&self) -> Result<Transaction, DatastoreError> {
        Ok(Transaction {
            inner: self.pool.begin().await?,
            backend: self.backend,
        })
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether the database answers (for `/healthz`).
    pub async fn is_reachable(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// Closes every connection (on shutdown, after the last request).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The file of an `sqlite://path?…` or `sqlite:path` URL; `None` for an in-memory one.
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| std::path::PathBuf::from(path))
}

/// Creates the SQLite file readable and writable by its owner only (0600), or takes
/// those rights away from others on a file an earlier version created (it holds
/// password and API key hashes). SQLite gives its `-wal` and `-shm` files the mode of
/// the database file; existing ones are narrowed here too.
fn make_private(path: &std::path::Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        if !path.exists() {
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(path)
                .map_err(StoreError::File)?;
        }
        let mut companions = vec![path.to_owned()];
        for suffix in ["-wal", "-shm", "-journal"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            companions.push(std::path::PathBuf::from(name));
        }
        for file in companions.iter().filter(|file| file.exists()) {
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))
                .map_err(StoreError::File)?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// `unix_seconds` rounded down to the hour: the finest time kept about an upload.
pub fn floor_to_hour(unix_seconds: i64) -> i64 {
    unix_seconds - unix_seconds.rem_euclid(3600)
}

/// `INSERT INTO {table} ({columns}) VALUES (…), (…) {tail}` for `rows` rows, with the
/// placeholders `backend` reads best. Bind `rows × columns` values in order.
/// The table and column names are this module's constants, never input.
///
/// - PostgreSQL: numbered, `$1, $2, …` (the only kind it reads; sqlx's `QueryBuilder`
///   writes `?` for the Any driver, which PostgreSQL rejects).
/// - SQLite: anonymous, `?`. It reads numbered ones too, but sqlx then asks SQLite the
///   name of every parameter, which SQLite finds by a linear search: quadratic in the
///   number of values, and most of the cost of a 32-row insert.
fn multi_row_insert(
    backend: Backend,
    table: &str,
    columns: &[&str],
    rows: usize,
    tail: &str,
) -> AssertSqlSafe<String> {
    let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
    let mut number = 0;
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns.len() {
            number += 1;
            if column > 0 {
                sql.push_str(", ");
            }
            match backend {
                Backend::Postgres => {
                    sql.push('$');
                    sql.push_str(&number.to_string());
                }
                Backend::Sqlite => sql.push('?'),
            }
        }
        sql.push(')');
    }
    sql.push(' ');
    sql.push_str(tail);
    AssertSqlSafe(sql)
}

#[cfg(test)]
mod sql_tests {
    use super::{Backend, multi_row_insert};

    #[test]
    fn multi_row_insert_numbers_every_placeholder_for_postgres() {
        let sql = multi_row_insert(
            Backend::Postgres,
            "t",
            &["a", "b"],
            2,
            "ON CONFLICT (a) DO NOTHING",
        );
        assert_eq!(
            sql.0,
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4) ON CONFLICT (a) DO NOTHING"
        );
    }

    /// A database made by an earlier version (migrations 1–3, keys under a unique index)
    /// keeps its keys when migration 4 makes the table append-only.
    #[tokio::test]
    async fn sqlite_keys_survive_the_move_to_an_append_only_table() {
        use sqlx::Row;
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("old.sqlite3").display()
        );
        sqlx::any::install_default_drivers();
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await
            .unwrap();
        let earlier = super::migrator_of(&super::SQLITE_MIGRATIONS[..3]);
        earlier.run(&pool).await.unwrap();
        sqlx::query(
            "INSERT INTO exposed_keys (key_data, rolling_start, rolling_period, \
             transmission_risk_level, report_type, days_since_onset, received_hour, release_at) \
             VALUES (?, 2650032, 144, 0, 1, 3, 1700000000, 1700003600)",
        )
        .bind(vec![7u8; 16])
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;

        let store = super::Store::connect(&url).await.unwrap();
        let row = sqlx::query("SELECT key_data, days_since_onset, release_at FROM exposed_keys")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(row.get::<Vec<u8>, _>(0), vec![7u8; 16]);
        assert_eq!(row.get::<Option<i64>, _>(1), Some(3));
        assert_eq!(row.get::<i64, _>(2), 1_700_003_600);
        store.close().await;
    }

    /// Both databases have the same migrations, by number and name, so that a schema
    /// version means the same thing on either.
    #[test]
    fn both_databases_have_the_same_migrations() {
        let names = |list: &[(i64, &'static str, &str)]| {
            list.iter()
                .map(|(version, name, _)| (*version, *name))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(super::SQLITE_MIGRATIONS),
            names(super::POSTGRES_MIGRATIONS)
        );
    }

    /// Issue 14, item 8: the database (password and API key hashes) and its WAL files
    /// were created world-readable, by the umask.
    #[cfg(unix)]
    #[tokio::test]
    async fn the_sqlite_files_are_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("private.sqlite3");
        let store = super::Store::connect(&format!("sqlite://{}?mode=rwc", path.display()))
            .await
            .unwrap();
        // A write, so that the WAL and its index exist.
        store
            .record_audit(1, "a@b.org", "signed-in", "")
            .await
            .unwrap();
        for suffix in ["", "-wal", "-shm"] {
            let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
            let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{} is {mode:o}", file.display());
        }
        store.close().await;
        // A file an earlier version left readable is narrowed on the next start.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let store = super::Store::connect(&format!("sqlite://{}?mode=rwc", path.display()))
            .await
            .unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        store.close().await;
        assert_eq!(
            super::sqlite_file("sqlite::memory:"),
            None,
            "nothing to protect in memory"
        );
    }

    #[test]
    fn multi_row_insert_uses_anonymous_placeholders_for_sqlite() {
        let sql = multi_row_insert(Backend::Sqlite, "t", &["a", "b"], 2, "");
        assert_eq!(sql.0, "INSERT INTO t (a, b) VALUES (?, ?), (?, ?) ");
    }
}
