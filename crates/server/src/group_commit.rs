//! Group commit for key uploads: many uploads, one durable commit.
//!
//! A durable commit costs a disk flush, and SQLite takes one writer at a time: with a
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
//! (`KnownKeys`) and leaves the repeated ones out of the insert.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use prometheus_client::metrics::counter::Counter;
use sqlx::Row;
use tokio::sync::{mpsc, oneshot};

use crate::problem::{Problem, ProblemKind};
use crate::store::{Backend, Store, multi_row_insert};

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
    /// Stored (a key already published is kept once).
    Stored,
    /// The token was already used for this purpose; nothing stored.
    TokenAlreadyUsed,
}

struct Write {
    jti: String,
    purpose: &'static str,
    token_expires_at: i64,
    rows: Vec<KeyRow>,
    reply: oneshot::Sender<Result<WriteOutcome, String>>,
}

/// The handle upload handlers write through (one per server).
pub struct UploadWriter {
    sender: OnceLock<mpsc::Sender<Write>>,
    /// Counts the keys that were new.
    keys_stored: Counter,
}

impl UploadWriter {
    /// A writer that counts new keys in `keys_stored`; its task starts with the first
    /// write.
    pub fn new(keys_stored: Counter) -> Self {
        Self {
            sender: OnceLock::new(),
            keys_stored,
        }
    }

    /// Records the use of token `jti` for `purpose` and stores `rows`, durably, in a
    /// commit shared with other uploads. Must be called inside the server's runtime.
    pub async fn write(
        &self,
        store: &Store,
        jti: &str,
        purpose: &'static str,
        token_expires_at: i64,
        rows: Vec<KeyRow>,
    ) -> Result<WriteOutcome, Problem> {
        let sender = self.sender.get_or_init(|| {
            let (sender, receiver) = mpsc::channel(QUEUE_LENGTH);
            let receiver = std::sync::Arc::new(tokio::sync::Mutex::new(receiver));
            for _ in 0..writers(store.backend()) {
                tokio::spawn(run(
                    store.clone(),
                    self.keys_stored.clone(),
                    receiver.clone(),
                ));
            }
            sender
        });
        let (reply, answer) = oneshot::channel();
        let write = Write {
            jti: jti.to_owned(),
            purpose,
            token_expires_at,
            rows,
            reply,
        };
        sender
            .send(write)
            .await
            .map_err(|_| Problem::new(ProblemKind::Unavailable, "the server is shutting down"))?;
        match answer.await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(cause)) => Err(Problem::internal(&cause)),
            Err(_) => Err(Problem::new(
                ProblemKind::Unavailable,
                "the server is shutting down",
            )),
        }
    }
}

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

async fn run(store: Store, keys_stored: Counter, receiver: SharedReceiver) {
    let mut batch = Vec::with_capacity(MAX_WRITES_PER_COMMIT);
    // SQLite: the keys already stored (this is its only writer); PostgreSQL: its index.
    let mut known = (store.backend() == Backend::Sqlite).then(KnownKeys::default);
    // Each writer takes what is waiting when its turn comes; the lock is released before
    // the batch is applied.
    while receiver
        .lock()
        .await
        .recv_many(&mut batch, MAX_WRITES_PER_COMMIT)
        .await
        > 0
    {
        match apply(&store, known.as_mut(), &batch).await {
            Ok((outcomes, inserted)) => {
                keys_stored.inc_by(inserted);
                for (write, outcome) in batch.drain(..).zip(outcomes) {
                    // A handler that went away (client disconnected) needs no answer.
                    let _ = write.reply.send(Ok(outcome));
                }
            }
            Err(_) => {
                for write in batch.drain(..) {
                    let result =
                        match apply(&store, known.as_mut(), std::slice::from_ref(&write)).await {
                            Ok((outcomes, inserted)) => {
                                keys_stored.inc_by(inserted);
                                Ok(outcomes.first().copied().unwrap_or(WriteOutcome::Stored))
                            }
                            Err(error) => Err(error.to_string()),
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
    store: &Store,
    mut known: Option<&mut KnownKeys>,
    writes: &[Write],
) -> Result<(Vec<WriteOutcome>, u64), sqlx::Error> {
    let rows_per_insert = rows_per_insert(store.backend());
    let mut transaction = store.pool().begin().await?;
    // Several writes of one token in a batch: only the first may use it.
    let mut first_of_token = HashMap::new();
    for (index, write) in writes.iter().enumerate() {
        first_of_token
            .entry((write.jti.as_str(), write.purpose))
            .or_insert(index);
    }
    let candidates: Vec<usize> = (0..writes.len())
        .filter(|index| {
            writes
                .get(*index)
                .is_some_and(|w| first_of_token.get(&(w.jti.as_str(), w.purpose)) == Some(index))
        })
        .collect();
    let mut new_tokens = HashSet::new();
    for chunk in candidates.chunks(rows_per_insert) {
        let sql = multi_row_insert(
            store.backend(),
            "token_uses",
            &["jti", "purpose", "expires_at"],
            chunk.len(),
            "ON CONFLICT (jti, purpose) DO NOTHING RETURNING jti, purpose",
        );
        let mut insert = sqlx::query(sql);
        for write in chunk.iter().filter_map(|index| writes.get(*index)) {
            insert = insert
                .bind(write.jti.clone())
                .bind(write.purpose)
                .bind(write.token_expires_at);
        }
        for row in insert.fetch_all(&mut *transaction).await? {
            let jti: String = row.try_get(0)?;
            let purpose: String = row.try_get(1)?;
            new_tokens.insert((jti, purpose));
        }
    }
    let accepted: Vec<bool> = writes
        .iter()
        .enumerate()
        .map(|(index, write)| {
            first_of_token.get(&(write.jti.as_str(), write.purpose)) == Some(&index)
                && new_tokens.contains(&(write.jti.clone(), write.purpose.to_owned()))
        })
        .collect();
    let mut rows: Vec<&KeyRow> = writes
        .iter()
        .zip(&accepted)
        .filter(|(_, accepted)| **accepted)
        .flat_map(|(write, _)| &write.rows)
        .collect();
    // A key already published (a replay with another token) is kept once: SQLite checks
    // the keys it knows, PostgreSQL its primary key.
    let conflict = match known.as_deref_mut() {
        Some(known) => {
            let stored = known.load(&mut transaction).await?;
            let mut in_batch = HashSet::with_capacity(rows.len());
            rows.retain(|row| {
                !stored.contains_key(row.key_data.as_slice()) && in_batch.insert(&row.key_data)
            });
            ""
        }
        None => "ON CONFLICT (key_data) DO NOTHING",
    };
    let mut inserted = 0;
    for chunk in rows.chunks(rows_per_insert) {
        let sql = multi_row_insert(
            store.backend(),
            "exposed_keys",
            &KEY_COLUMNS,
            chunk.len(),
            conflict,
        );
        let mut insert = sqlx::query(sql);
        for row in chunk {
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
        inserted += insert.execute(&mut *transaction).await?.rows_affected();
    }
    transaction.commit().await?;
    if let Some(known) = known {
        known.add(&rows);
    }
    let outcomes = accepted
        .into_iter()
        .map(|accepted| {
            if accepted {
                WriteOutcome::Stored
            } else {
                WriteOutcome::TokenAlreadyUsed
            }
        })
        .collect();
    Ok((outcomes, inserted))
}
