//! Download answers built once and served from memory (issue 13): the key downloads of
//! `GET /v2/gaen/exposed` and the warning packages of `GET /v1/warnings`.
//!
//! Every phone asks for the same few answers: the keys released since one of the ~170
//! bundle tags of the last 14 days, up to the newest release bucket. Each answer is
//! therefore built once (query, padding, zip, export signature, the response's
//! `Signature` header, a strong `ETag`) and kept in an [`AnswerCache`]; a request then
//! costs a hash-map lookup and the copy of shared bytes onto the socket, never a query, a
//! zip or a signature. An answer whose `If-None-Match` names its ETag is a `304` without
//! a body.
//!
//! # Bounds
//!
//! A cache holds at most [`MAX_CACHED_ANSWERS`] answers and [`MAX_CACHED_BYTES`] bytes
//! of bodies, evicting the least recently used answer beyond either; an answer evicted is
//! built again, identically, when it is asked for next. When the newest "epoch" of the
//! keys asked for moves on (a new release bucket, a new hour of warnings), answers of older
//! epochs are dropped at once: no request can ask for them any more.
//!
//! # One build per answer
//!
//! Requests for an answer not built yet wait for one build ([`tokio::sync::OnceCell`]):
//! 64 phones asking at the same moment cost one query, not 64. A failed build is not
//! kept; the next request tries again.
//!
//! # Shared through the object store
//!
//! With release buckets (`release_bucket_seconds > 0`), an answer never changes once its
//! epoch is out, so it is also kept in the object store of the export files, under
//! `prebuilt/<kind>/<epoch>/`: the first instance that needs an answer builds it and puts
//! it there with a conditional put (`PutMode::Create`, S3's `If-None-Match: *`), so it is
//! written once; every other instance, and this one after a restart, reads those bytes
//! instead of querying, zipping and signing them again. Only the response's `Signature`
//! header is made by each instance (one signature per answer). Answers are identical on
//! every instance anyway (fixed padding, deterministic export signatures): the store
//! saves the work, not the consistency. The background jobs delete the folders of epochs
//! no request can ask for any more ([`purge_stored`]). Without buckets (tests, the demo)
//! answers change every second and stay in memory only.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, PutMode, PutPayload};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use crate::problem::Problem;
use crate::state::AppState;

/// Most answers one cache keeps (about 170 bundle tags × a few formats is all phones ask for).
pub const MAX_CACHED_ANSWERS: usize = 512;

/// Most bytes of answer bodies one cache keeps (a full 14-day download at 50,000 keys,
/// padded per bucket, is about 5 MB; an incremental one, tens of kilobytes).
pub const MAX_CACHED_BYTES: usize = 256 * 1024 * 1024;

/// One answer, ready to be served: its body and every header that depends on the body.
#[derive(Debug)]
pub(crate) struct Prebuilt {
    /// 200, or 204 when there is nothing to download (no body then).
    pub status: StatusCode,
    pub body: Bytes,
    pub content_type: Option<HeaderValue>,
    /// A strong ETag: the first 16 bytes of the body's SHA-256, in hex and quotes.
    pub etag: HeaderValue,
    /// The response `Signature` header (ES256 JWT over the body's SHA-256), made once.
    pub signature: HeaderValue,
}

impl Prebuilt {
    /// Signs `body` once and derives its ETag.
    pub(crate) fn new(
        state: &AppState,
        status: StatusCode,
        body: Bytes,
        content_type: Option<HeaderValue>,
    ) -> Result<Self, Problem> {
        let digest = Sha256::digest(&body);
        let etag = HeaderValue::from_str(&format!("\"{}\"", hex::encode(&digest[..16])))
            .map_err(|error| Problem::internal(&error))?;
        let signature = HeaderValue::from_str(&state.keys.sign_response_body(&body, state.now()))
            .map_err(|error| Problem::internal(&error))?;
        Ok(Self {
            status,
            body,
            content_type,
            etag,
            signature,
        })
    }

    /// The HTTP answer to a request with `request_headers`: the prebuilt one, or `304 Not
    /// Modified` (no body, same ETag and `Signature` header, which stays valid for the body
    /// the client already holds) when its `If-None-Match` names this answer.
    pub(crate) fn respond(&self, request_headers: &HeaderMap) -> Response {
        let not_modified = self.status == StatusCode::OK
            && if_none_match_names(request_headers, self.etag.as_bytes());
        let mut response = if not_modified {
            Response::new(Body::empty())
        } else {
            Response::new(Body::from(self.body.clone()))
        };
        *response.status_mut() = if not_modified {
            StatusCode::NOT_MODIFIED
        } else {
            self.status
        };
        let headers = response.headers_mut();
        if self.status == StatusCode::OK {
            headers.insert(header::ETAG, self.etag.clone());
        }
        if let (Some(content_type), false) = (&self.content_type, not_modified) {
            headers.insert(header::CONTENT_TYPE, content_type.clone());
        }
        // The response middleware leaves an answer that is already signed alone.
        headers.insert(crate::service::SIGNATURE_HEADER, self.signature.clone());
        response
    }
}

/// Whether `If-None-Match` lists `etag` or is `*` (RFC 9110 §13.1.2, weak comparison).
fn if_none_match_names(headers: &HeaderMap, etag: &[u8]) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .flat_map(|value| value.as_bytes().split(|byte| *byte == b','))
        .map(|candidate| candidate.trim_ascii())
        .any(|candidate| {
            candidate == b"*" || candidate.strip_prefix(b"W/").unwrap_or(candidate) == etag
        })
}

/// What identifies one answer in a cache; `epoch` orders answers in time (a release bucket's
/// end, an hour), so that older ones can be dropped once a newer one is asked for.
pub(crate) trait AnswerKey: Clone + Eq + Hash {
    /// The kind of answer: the folder of the object store under `prebuilt/`, and the
    /// `kind` label of the `prebuilt_answers` metric.
    const KIND: &'static str;

    fn epoch(&self) -> i64;

    /// The answer's file name in its epoch's folder: everything else its bytes depend on.
    fn object_name(&self) -> String;

    /// The oldest epoch a request can still ask for at `now` (older folders are purged).
    fn oldest_epoch_asked(state: &AppState, now: i64) -> i64;
}

/// The folder of the object store that holds shared answers.
const STORE_FOLDER: &str = "prebuilt";

/// Longest first line of a stored answer (`<status> <content type>`).
const MAX_STORED_HEADER: usize = 256;

fn object_path<K: AnswerKey>(key: &K) -> ObjectPath {
    ObjectPath::from(format!(
        "{STORE_FOLDER}/{}/{}/{}",
        K::KIND,
        key.epoch(),
        key.object_name()
    ))
}

/// Whether answers are shared through the object store: only when they cannot change
/// once their epoch is out (see the module docs).
fn shares_answers(state: &AppState) -> bool {
    state.config.release_bucket_seconds > 0
}

/// A stored answer: `<status> <content type or ->\n` and the body.
fn encode_stored(answer: &Prebuilt) -> PutPayload {
    let content_type = answer
        .content_type
        .as_ref()
        .and_then(|value| value.to_str().ok())
        .unwrap_or("-");
    let header = format!("{} {content_type}\n", answer.status.as_u16());
    PutPayload::from_iter([Bytes::from(header), answer.body.clone()])
}

/// The answer in `stored`, signed for this instance; `None` if it is not one this
/// server wrote (it is then built again).
fn decode_stored(state: &AppState, stored: Bytes) -> Option<Result<Prebuilt, Problem>> {
    let end = stored
        .iter()
        .take(MAX_STORED_HEADER)
        .position(|byte| *byte == b'\n')?;
    let header = std::str::from_utf8(&stored[..end]).ok()?;
    let (status, content_type) = header.split_once(' ')?;
    let status = StatusCode::from_u16(status.parse().ok()?).ok()?;
    let content_type = match content_type {
        "-" => None,
        value => Some(HeaderValue::from_str(value).ok()?),
    };
    Some(Prebuilt::new(
        state,
        status,
        stored.slice(end + 1..),
        content_type,
    ))
}

/// The answer for `key`: read from the object store when another instance (or this one
/// before a restart) put it there, else built by `build` and put there, once.
///
/// The store is a shortcut, never a dependency: when it cannot be read or written, the
/// answer is built and served all the same, and the failure logged.
pub(crate) async fn stored_or_built<K, F>(
    state: &AppState,
    key: &K,
    build: F,
) -> Result<Prebuilt, Problem>
where
    K: AnswerKey,
    F: Future<Output = Result<Prebuilt, Problem>>,
{
    let count = |source: &'static str| {
        state
            .metrics
            .prebuilt_answers
            .get_or_create(&[("kind", K::KIND), ("source", source)])
            .inc();
    };
    if !shares_answers(state) {
        count("built");
        return build.await;
    }
    let path = object_path(key);
    match state.exports.get(&path).await {
        Ok(found) => match found.bytes().await {
            Ok(bytes) => match decode_stored(state, bytes) {
                Some(answer) => {
                    count("stored");
                    return answer;
                }
                None => tracing::warn!(%path, "a stored answer is unreadable; building it again"),
            },
            Err(error) => tracing::warn!(%path, %error, "reading a stored answer failed"),
        },
        Err(object_store::Error::NotFound { .. }) => {}
        Err(error) => tracing::warn!(%path, %error, "reading a stored answer failed"),
    }
    let answer = build.await?;
    count("built");
    let put = state
        .exports
        .put_opts(&path, encode_stored(&answer), PutMode::Create.into())
        .await;
    let put = match put {
        // A store without conditional writes: the bytes are the same on every instance,
        // so a second write changes nothing but the store's version count.
        Err(object_store::Error::NotImplemented { .. }) => state
            .exports
            .put(&path, encode_stored(&answer))
            .await
            .map(|_| ()),
        other => other.map(|_| ()),
    };
    match put {
        // Another instance put the same bytes first.
        Ok(()) | Err(object_store::Error::AlreadyExists { .. }) => {}
        Err(error) => tracing::warn!(%path, %error, "storing a built answer failed"),
    }
    Ok(answer)
}

/// Deletes the stored answers of `K`'s epochs that no request can ask for at `now`;
/// returns how many objects went.
pub(crate) async fn purge_stored<K: AnswerKey>(
    state: &AppState,
    now: i64,
) -> Result<u64, object_store::Error> {
    let oldest = K::oldest_epoch_asked(state, now);
    let kind_folder = ObjectPath::from(format!("{STORE_FOLDER}/{}", K::KIND));
    let listing = state
        .exports
        .list_with_delimiter(Some(&kind_folder))
        .await?;
    let mut deleted = 0;
    for folder in listing.common_prefixes {
        let too_old = folder
            .filename()
            .and_then(|epoch| epoch.parse::<i64>().ok())
            .is_some_and(|epoch| epoch < oldest);
        if !too_old {
            continue;
        }
        let locations = state
            .exports
            .list(Some(&folder))
            .map_ok(|meta| meta.location)
            .boxed();
        let mut results = state.exports.delete_stream(locations);
        while let Some(result) = results.next().await {
            match result {
                Ok(_) => deleted += 1,
                Err(object_store::Error::NotFound { .. }) => {}
                Err(error) => return Err(error),
            }
        }
    }
    Ok(deleted)
}

/// Answers by key, built once each (see the module docs for the bounds).
pub(crate) struct AnswerCache<K> {
    inner: Mutex<Entries<K>>,
}

struct Entries<K> {
    slots: HashMap<K, Slot>,
    /// Sum of the recorded `bytes` of the slots.
    bytes: usize,
    /// Counts uses, for least-recently-used eviction.
    uses: u64,
    /// The newest epoch asked for.
    newest_epoch: i64,
}

impl<K: AnswerKey> Entries<K> {
    /// Drops the least recently used answers beyond the bounds.
    fn evict(&mut self) {
        while self.slots.len() > MAX_CACHED_ANSWERS || self.bytes > MAX_CACHED_BYTES {
            let Some(oldest) = self
                .slots
                .iter()
                .min_by_key(|(_, slot)| slot.last_use)
                .map(|(key, _)| key.clone())
            else {
                break;
            };
            if let Some(slot) = self.slots.remove(&oldest) {
                self.bytes -= slot.bytes;
            }
        }
    }
}

struct Slot {
    answer: Arc<OnceCell<Arc<Prebuilt>>>,
    last_use: u64,
    /// Body bytes, recorded once built (0 before).
    bytes: usize,
}

impl<K: AnswerKey> Default for AnswerCache<K> {
    fn default() -> Self {
        Self {
            inner: Mutex::new(Entries {
                slots: HashMap::new(),
                bytes: 0,
                uses: 0,
                newest_epoch: i64::MIN,
            }),
        }
    }
}

impl<K: AnswerKey> AnswerCache<K> {
    /// The answer for `key`, built by `build` unless it is already there (or being built,
    /// in which case this waits for that build).
    pub(crate) async fn get_or_build<F>(&self, key: K, build: F) -> Result<Arc<Prebuilt>, Problem>
    where
        F: Future<Output = Result<Prebuilt, Problem>>,
    {
        let cell = {
            let mut entries = self.lock();
            entries.uses += 1;
            let uses = entries.uses;
            if key.epoch() > entries.newest_epoch {
                entries.newest_epoch = key.epoch();
                let newest = key.epoch();
                entries.slots.retain(|old, _| old.epoch() >= newest);
                entries.bytes = entries.slots.values().map(|slot| slot.bytes).sum();
            }
            let slot = entries.slots.entry(key.clone()).or_insert_with(|| Slot {
                answer: Arc::new(OnceCell::new()),
                last_use: uses,
                bytes: 0,
            });
            slot.last_use = uses;
            let cell = slot.answer.clone();
            entries.evict();
            cell
        };
        if let Some(answer) = cell.get() {
            return Ok(answer.clone());
        }
        let answer = cell
            .get_or_try_init(|| async { build.await.map(Arc::new) })
            .await?
            .clone();
        self.record_size(&key, &cell, answer.body.len());
        Ok(answer)
    }

    /// Counts a built answer's bytes (once) and evicts what exceeds the bounds.
    fn record_size(&self, key: &K, cell: &Arc<OnceCell<Arc<Prebuilt>>>, bytes: usize) {
        let mut entries = self.lock();
        let counted = match entries.slots.get_mut(key) {
            Some(slot) if Arc::ptr_eq(&slot.answer, cell) && slot.bytes == 0 => {
                slot.bytes = bytes.max(1);
                slot.bytes
            }
            _ => 0,
        };
        entries.bytes += counted;
        entries.evict();
    }

    /// Forgets every answer (their contents changed: see `presence::warnings`).
    pub(crate) fn clear(&self) {
        let mut entries = self.lock();
        entries.slots.clear();
        entries.bytes = 0;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries<K>> {
        // The entries stay consistent between statements: a panic elsewhere leaves them usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().slots.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, PartialEq, Eq, Hash, Debug)]
    struct Key(i64, i64);

    impl AnswerKey for Key {
        const KIND: &'static str = "test";

        fn epoch(&self) -> i64 {
            self.0
        }

        fn object_name(&self) -> String {
            self.1.to_string()
        }

        fn oldest_epoch_asked(_state: &AppState, now: i64) -> i64 {
            now
        }
    }

    fn answer(bytes: usize) -> Prebuilt {
        Prebuilt {
            status: StatusCode::OK,
            body: Bytes::from(vec![7; bytes]),
            content_type: None,
            etag: HeaderValue::from_static("\"e\""),
            signature: HeaderValue::from_static("s"),
        }
    }

    #[tokio::test]
    async fn an_answer_is_built_once_and_older_epochs_are_forgotten() {
        let cache = AnswerCache::<Key>::default();
        let builds = std::sync::atomic::AtomicUsize::new(0);
        let build = || async {
            builds.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(answer(10))
        };
        for _ in 0..3 {
            cache.get_or_build(Key(1, 0), build()).await.unwrap();
        }
        cache.get_or_build(Key(1, 5), build()).await.unwrap();
        assert_eq!(builds.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert_eq!(cache.len(), 2);
        cache.get_or_build(Key(2, 0), build()).await.unwrap();
        assert_eq!(cache.len(), 1, "epoch 1 can no longer be asked for");
    }

    #[tokio::test]
    async fn the_cache_stays_within_its_bounds() {
        let cache = AnswerCache::<Key>::default();
        for tag in 0..(MAX_CACHED_ANSWERS as i64 + 10) {
            cache
                .get_or_build(Key(1, tag), async { Ok(answer(1)) })
                .await
                .unwrap();
        }
        assert_eq!(cache.len(), MAX_CACHED_ANSWERS);
        let big = MAX_CACHED_BYTES / 3 + 1;
        for tag in 0..3 {
            cache
                .get_or_build(Key(1, 1000 + tag), async move { Ok(answer(big)) })
                .await
                .unwrap();
        }
        assert!(cache.lock().bytes <= MAX_CACHED_BYTES);
    }

    #[test]
    fn if_none_match_lists_and_wildcards_match() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"x\", W/\"abc\""),
        );
        assert!(if_none_match_names(&headers, b"\"abc\""));
        assert!(!if_none_match_names(&headers, b"\"ab\""));
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(if_none_match_names(&headers, b"\"abc\""));
        assert!(!if_none_match_names(&HeaderMap::new(), b"\"abc\""));
    }
}
