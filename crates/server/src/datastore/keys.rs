//! `exposed_keys`: diagnosis keys in (group commit) and out (downloads, exports, push).
//!
//! # Group commit
//!
//! Many uploads, one durable commit ([`Store::write_keys`]). A durable commit costs a disk flush, and SQLite takes one writer at a time: with a
//! transaction per upload, a server does as many uploads per second as its disk does
//! flushes (under a thousand here). Instead, upload handlers hand their write to a
//! writer task and wait (one task on SQLite, a few on PostgreSQL: see `writers`); the
//! writer takes every write that is waiting (up to
//! [`MAX_WRITES_PER_COMMIT`]), applies them in one transaction, commits once, and only
//! then answers each handler. An upload is still acknowledged only after it is on disk,
//! and a replayed token is still refused: each write records its token's use first,
//! inside the shared transaction, and the second write of one token within a batch sees
//! the first. If a batch fails as a whole, its writes are retried one by one, so that one
//! bad write cannot fail the others.
//!
//! A key uploaded again (with another token) is stored once. PostgreSQL refuses it by
//! its primary key. SQLite's table has no unique index, which would cost a random page
//! write per key (migration 0004): its one writer task remembers the stored keys
//! (`KnownKeys`) and leaves the repeated ones out of the insert. Each write learns how
//! many of its keys were new (PostgreSQL names them with `RETURNING`), for the metric.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use rand::seq::SliceRandom;
use sqlx::Row;
use tokio::sync::{mpsc, oneshot};

use super::tokens::{self, TokenUse};
use super::{Backend, DatastoreError, Store, multi_row_insert};

/// The most uploads one commit carries.
pub const MAX_WRITES_PER_COMMIT: usize = 256;

/// Uploads waiting for the writer before handlers wait for room.
const QUEUE_LENGTH: usize = 4096;

/// One stored key (columns of `exposed_keys`).
#[derive(Clone, Debug)]
pub struct KeyRow {
    pub key_data: Vec<u8>,
    pub rolling_start: i64,
    pub rolling_period: i64,
    pub transmission_risk_level: i64,
    pub report_type: i64,
    pub days_since_onset: Option<i64>,
    pub received_hour: i64,
    pub release_at: i64,
}

/// What happened to one write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Stored; `new_keys` of its keys were not stored before (a key already published is
    /// kept once).
    Stored { new_keys: u64 },
    /// The token was already used for this purpose; nothing stored.
    TokenAlreadyUsed,
}

struct Write {
    token_use: TokenUse,
    rows: Vec<KeyRow>,
    reply: oneshot::Sender<Result<WriteOutcome, DatastoreError>>,
}

/// The queue to the writer tasks (one per [`Store`]); the tasks start with the first
/// write and end when the last handle to the store is gone.
#[derive(Debug, Default)]
pub struct UploadWriter {
    sender: OnceLock<mpsc::Sender<Write>>,
}

impl Store {
    /// Records the use of the token for its purpose and stores `rows`, durably, in a
    /// commit shared with other uploads. Must be called inside the server's runtime.
    pub async fn write_keys(
        &self,
        token_use: TokenUse,
        rows: Vec<KeyRow>,
    ) -> Result<WriteOutcome, DatastoreError> {
        let sender = self.upload_writer.sender.get_or_init(|| {
            let (sender, receiver) = mpsc::channel(QUEUE_LENGTH);
            let receiver = std::sync::Arc::new(tokio::sync::Mutex::new(receiver));
            for _ in 0..writers(self.backend) {
                // The tasks hold the pool, not the store: the store holds the sender,
                // and the tasks must end when the last sender is gone.
                tokio::spawn(run(self.pool.clone(), self.backend, receiver.clone()));
            }
            sender
        });
        let (reply, answer) = oneshot::channel();
        let write = Write {
            token_use,
            rows,
            reply,
        };
        sender
            .send(write)
            .await
            .map_err(|_| DatastoreError::WriterStopped)?;
        answer.await.map_err(|_| DatastoreError::WriterStopped)?
    }
}

impl Store {
    /// Whether every key of `rows` is stored (same bytes, same first interval, same
    /// period): an upload sent again after its commit landed, whose answer was lost. At
    /// most [`MAX_KEYS_LOOKED_UP`] keys are looked up (an upload holds at most 30);
    /// more answer `false`.
    pub async fn keys_already_stored(&self, rows: &[KeyRow]) -> Result<bool, DatastoreError> {
        if rows.len() > MAX_KEYS_LOOKED_UP {
            return Ok(false);
        }
        if rows.is_empty() {
            return Ok(true);
        }
        let placeholders: Vec<String> = (1..=rows.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT key_data, rolling_start, rolling_period FROM exposed_keys \
             WHERE key_data IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for row in rows {
            query = query.bind(row.key_data.clone());
        }
        let found: HashSet<(Vec<u8>, i64, i64)> = query
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                Ok((
                    row.try_get::<Vec<u8>, _>(0)?,
                    row.try_get::<i64, _>(1)?,
                    row.try_get::<i64, _>(2)?,
                ))
            })
            .collect::<Result<_, sqlx::Error>>()?;
        Ok(rows.iter().all(|row| {
            found.contains(&(row.key_data.clone(), row.rolling_start, row.rolling_period))
        }))
    }
}

/// The most keys [`Store::keys_already_stored`] looks up at once.
pub const MAX_KEYS_LOOKED_UP: usize = 64;

/// Writer tasks. SQLite takes one writer at a time, so one task. PostgreSQL runs
/// transactions side by side: while one batch waits for its round trips and its flush,
/// the next ones are being written, which keeps the CPUs busy instead of waiting (one
/// writer left a fifth of the CPU time idle). Two batches with the same token stay
/// correct: the second one's insert of the token waits for the first one's commit, then
/// finds it used.
fn writers(backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => 1,
        Backend::Postgres => 4,
    }
}

type SharedReceiver = std::sync::Arc<tokio::sync::Mutex<mpsc::Receiver<Write>>>;

async fn run(pool: sqlx::AnyPool, backend: Backend, receiver: SharedReceiver) {
    let mut batch = Vec::with_capacity(MAX_WRITES_PER_COMMIT);
    // SQLite: the keys already stored (this is its only writer); PostgreSQL: its index.
    let mut known = (backend == Backend::Sqlite).then(KnownKeys::default);
    // Each writer takes what is waiting when its turn comes; the lock is released before
    // the batch is applied.
    while receiver
        .lock()
        .await
        .recv_many(&mut batch, MAX_WRITES_PER_COMMIT)
        .await
        > 0
    {
        match apply(&pool, backend, known.as_mut(), &batch).await {
            Ok(outcomes) => {
                for (write, outcome) in batch.drain(..).zip(outcomes) {
                    // A handler that went away (client disconnected) needs no answer.
                    let _ = write.reply.send(Ok(outcome));
                }
            }
            Err(_) => {
                for write in batch.drain(..) {
                    let one = std::slice::from_ref(&write);
                    let result = match apply(&pool, backend, known.as_mut(), one).await {
                        Ok(outcomes) => Ok(outcomes
                            .first()
                            .copied()
                            .unwrap_or(WriteOutcome::Stored { new_keys: 0 })),
                        Err(error) => Err(DatastoreError::from(error)),
                    };
                    let _ = write.reply.send(result);
                }
            }
        }
    }
}

/// Rows per insert statement. SQLite runs in this process, where parsing a statement is
/// the cost: statements are cached by their text, so a few sizes (32 and the remainders
/// below it) serve every batch. PostgreSQL is a round trip away, where each statement is
/// the cost: one statement per batch (2048 rows of at most 8 values stay under its
/// 65,535 parameters).
fn rows_per_insert(backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => 32,
        Backend::Postgres => 2048,
    }
}

const KEY_COLUMNS: [&str; 8] = [
    "key_data",
    "rolling_start",
    "rolling_period",
    "transmission_risk_level",
    "report_type",
    "days_since_onset",
    "received_hour",
    "release_at",
];

/// SQLite's columns: its implicit row id first, drawn at random for each key.
const SQLITE_KEY_COLUMNS: [&str; 9] = [
    "rowid",
    "key_data",
    "rolling_start",
    "rolling_period",
    "transmission_risk_level",
    "report_type",
    "days_since_onset",
    "received_hour",
    "release_at",
];

/// The keys stored in SQLite's `exposed_keys`, which has no unique index (migration
/// 0004): key bytes and the interval after the key's last one. 16 bytes of key and some
/// 12 of bookkeeping a key: the 14 days of a country's keys, two million, take about
/// 60 MB.
#[derive(Default)]
struct KnownKeys {
    /// Whether `ends` was read from the database (at the writer's first batch).
    loaded: bool,
    ends: HashMap<[u8; 16], u32>,
    /// The latest key end seen, the clock of the pruning.
    latest_end: u32,
    /// Keys added since the last pruning.
    added_since_pruning: usize,
}

/// Known keys that ended more than this long before the latest one are forgotten: the
/// purge has deleted them, and an upload drops keys that old before they get here.
const KNOWN_KEYS_KEPT_INTERVALS: u32 = 16 * 144;

impl KnownKeys {
    /// The stored keys, read from the database the first time.
    async fn load(
        &mut self,
        connection: &mut sqlx::AnyConnection,
    ) -> Result<&HashMap<[u8; 16], u32>, sqlx::Error> {
        if !self.loaded {
            let rows: Vec<(Vec<u8>, i64, i64)> =
                sqlx::query_as("SELECT key_data, rolling_start, rolling_period FROM exposed_keys")
                    .fetch_all(&mut *connection)
                    .await?;
            self.ends.reserve(rows.len());
            for (key_data, start, period) in &rows {
                self.remember(key_data, *start, *period);
            }
            self.loaded = true;
        }
        Ok(&self.ends)
    }

    fn remember(&mut self, key_data: &[u8], rolling_start: i64, rolling_period: i64) {
        if let Ok(key) = <[u8; 16]>::try_from(key_data) {
            let end =
                u32::try_from(rolling_start.saturating_add(rolling_period)).unwrap_or(u32::MAX);
            self.latest_end = self.latest_end.max(end);
            self.ends.insert(key, end);
        }
    }

    /// Records keys that are now committed.
    fn add(&mut self, rows: &[&KeyRow]) {
        if !self.loaded {
            return;
        }
        for row in rows {
            self.remember(&row.key_data, row.rolling_start, row.rolling_period);
        }
        self.added_since_pruning += rows.len();
        if self.added_since_pruning > 65_536 {
            let oldest = self.latest_end.saturating_sub(KNOWN_KEYS_KEPT_INTERVALS);
            self.ends.retain(|_, end| *end >= oldest);
            self.added_since_pruning = 0;
        }
    }
}

/// One transaction for all of `writes`; their outcomes in order. Two statements per
/// batch, not per write: one records every token's use (and returns the tokens that were
/// new), one stores the keys of the writes whose token was new.
async fn apply(
    pool: &sqlx::AnyPool,
    backend: Backend,
    mut known: Option<&mut KnownKeys>,
    writes: &[Write],
) -> Result<Vec<WriteOutcome>, sqlx::Error> {
    let rows_per_insert = rows_per_insert(backend);
    let mut transaction = pool.begin().await?;
    // Several writes of one token in a batch: only the first may use it.
    let mut first_of_token = HashMap::new();
    for (index, write) in writes.iter().enumerate() {
        first_of_token
            .entry((write.token_use.id.as_str(), write.token_use.purpose))
            .or_insert(index);
    }
    let is_first = |index: usize, write: &Write| {
        first_of_token.get(&(write.token_use.id.as_str(), write.token_use.purpose)) == Some(&index)
    };
    let candidates: Vec<&TokenUse> = writes
        .iter()
        .enumerate()
        .filter(|(index, write)| is_first(*index, write))
        .map(|(_, write)| &write.token_use)
        .collect();
    let new_tokens =
        tokens::record(&mut transaction, backend, &candidates, rows_per_insert).await?;
    let accepted: Vec<bool> = writes
        .iter()
        .enumerate()
        .map(|(index, write)| {
            is_first(index, write)
                && new_tokens.contains(&(write.token_use.id.clone(), write.token_use.purpose))
        })
        .collect();
    // The rows of each accepted write, in order, kept apart so that each write learns
    // how many of its keys were new.
    let mut per_write: Vec<Vec<&KeyRow>> = writes
        .iter()
        .zip(&accepted)
        .map(|(write, accepted)| {
            if *accepted {
                write.rows.iter().collect()
            } else {
                Vec::new()
            }
        })
        .collect();
    // A key already published (a replay with another token) is kept once: SQLite checks
    // the keys it knows, PostgreSQL its primary key.
    if let Some(known) = known.as_deref_mut() {
        let stored = known.load(&mut transaction).await?;
        let mut in_batch = HashSet::new();
        for rows in &mut per_write {
            rows.retain(|row| {
                !stored.contains_key(row.key_data.as_slice()) && in_batch.insert(&row.key_data)
            });
        }
    }
    // Stored in no order that tells the uploads apart (issue 14, item 6): the batch's
    // keys shuffled, and on SQLite each at a random row id, so that the table's order
    // (its rowid b-tree) mixes every upload since the table began.
    let mut rows: Vec<&KeyRow> = per_write.iter().flatten().copied().collect();
    rows.shuffle(&mut rand::rng());
    // PostgreSQL names the keys its primary key let in; SQLite inserts every row left.
    let mut inserted: Option<HashSet<Vec<u8>>> = known.is_none().then(HashSet::new);
    let columns: &[&str] = match backend {
        Backend::Sqlite => &SQLITE_KEY_COLUMNS,
        Backend::Postgres => &KEY_COLUMNS,
    };
    for chunk in rows.chunks(rows_per_insert) {
        let tail = match inserted {
            Some(_) => "ON CONFLICT (key_data) DO NOTHING RETURNING key_data",
            None => "",
        };
        let sql = multi_row_insert(backend, "exposed_keys", columns, chunk.len(), tail);
        let mut insert = sqlx::query(sql);
        for row in chunk {
            if backend == Backend::Sqlite {
                // A repeated id (odds 2^-64 a pair) fails the batch, which is then
                // retried write by write with fresh ids.
                insert = insert.bind(rand::random::<i64>());
            }
            insert = insert
                .bind(row.key_data.clone())
                .bind(row.rolling_start)
                .bind(row.rolling_period)
                .bind(row.transmission_risk_level)
                .bind(row.report_type)
                .bind(row.days_since_onset)
                .bind(row.received_hour)
                .bind(row.release_at);
        }
        match inserted.as_mut() {
            Some(inserted) => {
                for row in insert.fetch_all(&mut *transaction).await? {
                    inserted.insert(row.try_get::<Vec<u8>, _>(0)?);
                }
            }
            None => {
                insert.execute(&mut *transaction).await?;
            }
        }
    }
    if let Some(inserted) = inserted.as_mut() {
        // Each new key counts once, for the first write that carried it.
        for rows in &mut per_write {
            rows.retain(|row| inserted.remove(&row.key_data));
        }
    }
    transaction.commit().await?;
    if let Some(known) = known {
        let stored: Vec<&KeyRow> = per_write.iter().flatten().copied().collect();
        known.add(&stored);
    }
    Ok(accepted
        .into_iter()
        .zip(per_write)
        .map(|(accepted, rows)| {
            if accepted {
                WriteOutcome::Stored {
                    new_keys: rows.len() as u64,
                }
            } else {
                WriteOutcome::TokenAlreadyUsed
            }
        })
        .collect())
}

/// A row of `exposed_keys` as downloads read it: key bytes, rolling start, rolling
/// period, risk level, report type, days since onset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredKey {
    pub key_data: Vec<u8>,
    pub rolling_start: i64,
    pub rolling_period: i64,
    pub transmission_risk_level: i64,
    pub report_type: i64,
    pub days_since_onset: Option<i64>,
    /// When the key came out (unix seconds): its release bucket is the one ending at or
    /// after this.
    pub release_at: i64,
}

/// key_data, rolling_start, rolling_period, transmission_risk_level, report_type,
/// days_since_onset, release_at.
type KeyColumns = (Vec<u8>, i64, i64, i64, i64, Option<i64>, i64);

impl Store {
    /// The keys released in `(after, until]` that start at or after interval
    /// `oldest_start`, sorted by key bytes (which mixes uploads together).
    pub async fn released_keys(
        &self,
        after: i64,
        until: i64,
        oldest_start: i64,
    ) -> Result<Vec<StoredKey>, DatastoreError> {
        let rows: Vec<KeyColumns> = sqlx::query_as(
            "SELECT key_data, rolling_start, rolling_period, transmission_risk_level, report_type, days_since_onset, release_at \
             FROM exposed_keys WHERE release_at > $1 AND release_at <= $2 AND rolling_start >= $3 ORDER BY key_data",
        )
        .bind(after)
        .bind(until)
        .bind(oldest_start)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(key_data, rolling_start, rolling_period, risk, report, onset, release_at)| {
                    StoredKey {
                        key_data,
                        rolling_start,
                        rolling_period,
                        transmission_risk_level: risk,
                        report_type: report,
                        days_since_onset: onset,
                        release_at,
                    }
                },
            )
            .collect())
    }

    /// Whether any key is released in `(after, until]` and starts at or after
    /// `oldest_start` (what a download would return).
    pub async fn any_key_released(
        &self,
        after: i64,
        until: i64,
        oldest_start: i64,
    ) -> Result<bool, DatastoreError> {
        let found: Option<(i64,)> = sqlx::query_as(
            "SELECT rolling_start FROM exposed_keys \
             WHERE release_at > $1 AND release_at <= $2 AND rolling_start >= $3 LIMIT 1",
        )
        .bind(after)
        .bind(until)
        .bind(oldest_start)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    /// The earliest release time after `until`, if a stored key is not out yet.
    pub async fn next_key_release(&self, until: i64) -> Result<Option<i64>, DatastoreError> {
        let next: Option<(Option<i64>,)> =
            sqlx::query_as("SELECT MIN(release_at) FROM exposed_keys WHERE release_at > $1")
                .bind(until)
                .fetch_optional(&self.pool)
                .await?;
        Ok(next.and_then(|(at,)| at))
    }

    /// Deletes the keys whose validity ended before interval `cutoff_interval`; returns
    /// how many.
    pub async fn purge_keys(&self, cutoff_interval: i64) -> Result<u64, DatastoreError> {
        Ok(
            sqlx::query("DELETE FROM exposed_keys WHERE rolling_start + rolling_period < $1")
                .bind(cutoff_interval)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}
