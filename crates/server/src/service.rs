//! The HTTP application: shared state, router assembly, response signing, timing
//! normalisation, serving with graceful shutdown.
//!
//! # Adding a service
//!
//! Write a module with `pub(crate) fn routes() -> Router<AppState>` whose handlers take
//! `State<AppState>` (the store, clock, keys, metrics and config are on it) and return
//! `Result<_, Problem>`; then merge it in [`app`]. Every route then gets the body limit,
//! the `Signature` header, problem+json errors, and appears in `/openapi.json` once added
//! to [`crate::openapi`].

use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use object_store::ObjectStore;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::clock::SharedClock;
use crate::codes::VerifyLimiter;
use crate::config::{Config, ConfigError};
use crate::group_commit::UploadWriter;
use crate::metrics::Metrics;
use crate::problem::Problem;
use crate::push::News;
use crate::signing::{KeyError, KeyRing};
use crate::store::{Store, StoreError};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("export store: {0}")]
    ExportStore(String),
    #[error("cannot create the data directory or listen: {0}")]
    Io(#[from] std::io::Error),
}

/// What every handler and job shares. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<SharedState>,
}

/// The contents of [`AppState`].
pub struct SharedState {
    pub config: Config,
    pub store: Store,
    pub keys: KeyRing,
    pub clock: SharedClock,
    pub metrics: Metrics,
    /// Where daily export files are written (local directory, memory or S3).
    pub exports: Arc<dyn ObjectStore>,
    /// Identifies this process in database leases.
    pub instance_id: String,
    pub(crate) verify_limiter: VerifyLimiter,
    /// Wakes the phones waiting on `/v1/push/keys` (see [`crate::push`]).
    pub news: News,
    /// Group commit of key uploads (see [`crate::group_commit`]).
    pub(crate) upload_writer: UploadWriter,
}

impl Deref for AppState {
    type Target = SharedState;
    fn deref(&self) -> &SharedState {
        &self.inner
    }
}

impl AppState {
    /// Opens the store, loads or creates the keys and the export store.
    pub async fn open(config: Config, clock: SharedClock) -> Result<Self, StartError> {
        config.validate()?;
        std::fs::create_dir_all(&config.data_dir)?;
        let now = clock.now_unix_seconds();
        let keys = KeyRing::load_or_create(&config.data_dir, now, &config.region)?;
        let store = Store::connect(&config.effective_database_url()).await?;
        Self::with_store(config, clock, store, keys)
    }

    /// Builds the state around an already opened store (tests pick their own schema).
    pub fn with_store(
        config: Config,
        clock: SharedClock,
        store: Store,
        keys: KeyRing,
    ) -> Result<Self, StartError> {
        let exports = open_export_store(&config)?;
        let metrics = Metrics::default();
        Ok(Self {
            inner: Arc::new(SharedState {
                verify_limiter: VerifyLimiter::new(
                    config.verify_per_client_per_minute,
                    config.verify_failures_per_hour,
                ),
                config,
                store,
                keys,
                clock,
                upload_writer: UploadWriter::new(metrics.keys_stored.clone()),
                news: News::default(),
                metrics,
                exports,
                instance_id: uuid::Uuid::new_v4().to_string(),
            }),
        })
    }

    /// The current time, unix seconds.
    pub fn now(&self) -> i64 {
        self.clock.now_unix_seconds()
    }
}

fn open_export_store(config: &Config) -> Result<Arc<dyn ObjectStore>, StartError> {
    let failed = |error: &dyn std::fmt::Display| StartError::ExportStore(error.to_string());
    let local = |dir: std::path::PathBuf| -> Result<Arc<dyn ObjectStore>, StartError> {
        std::fs::create_dir_all(&dir)?;
        let store =
            object_store::local::LocalFileSystem::new_with_prefix(&dir).map_err(|e| failed(&e))?;
        Ok(Arc::new(store))
    };
    match config.export_store_url.as_deref() {
        None => local(config.data_dir.join("exports")),
        Some(url) if url.starts_with("memory:") => {
            Ok(Arc::new(object_store::memory::InMemory::new()))
        }
        Some(url) if url.starts_with("file://") => {
            local(std::path::PathBuf::from(&url["file://".len()..]))
        }
        #[cfg(feature = "s3")]
        Some(url) if url.starts_with("s3://") => {
            let store = object_store::aws::AmazonS3Builder::from_env()
                .with_url(url)
                .build()
                .map_err(|e| failed(&e))?;
            Ok(Arc::new(store))
        }
        Some(_) => Err(StartError::ExportStore(
            "export_store_url must be file:///dir, memory:/// or (with the s3 feature) s3://bucket"
                .to_owned(),
        )),
    }
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let max_body = state.config.max_body_bytes;
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(crate::openapi::serve))
        .merge(crate::codes::routes())
        .merge(crate::authority_ui::routes())
        .merge(crate::keys::routes())
        .merge(crate::presence::routes())
        .merge(crate::venue_ui::routes())
        .merge(crate::citizen_app::routes())
        .merge(crate::jobs::routes())
        .merge(crate::push::routes())
        .fallback(|| async { Problem::not_found("no such route") })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            sign_and_count,
        ))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}

async fn healthz(State(state): State<AppState>) -> Result<&'static str, Problem> {
    if state.store.is_reachable().await {
        Ok("ok\n")
    } else {
        Err(Problem::unavailable("the database does not answer"))
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}

/// Adds the `Signature` header (ES256 JWT over the SHA-256 of the body) to every answer,
/// and counts error answers by status.
async fn sign_and_count(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let (mut parts, body) = response.into_parts();
    if parts.status.is_client_error() || parts.status.is_server_error() {
        let status: &'static str = match parts.status.as_u16() {
            400 => "400",
            401 => "401",
            403 => "403",
            404 => "404",
            413 => "413",
            415 => "415",
            429 => "429",
            500 => "500",
            503 => "503",
            _ => "other",
        };
        Metrics::count(&state.metrics.failures, "status", status);
    }
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(error) => return Problem::internal(&error).into_response(),
    };
    let signature = state.keys.sign_response_body(&bytes, state.now());
    if let Ok(value) = HeaderValue::from_str(&signature) {
        parts.headers.insert("signature", value);
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// The bearer credential of a request, if any.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// Runs `work`, then waits until `config.min_response_millis` have passed since `start`, so
/// that fake and real requests (which do different amounts of work) answer alike in time.
pub(crate) async fn with_minimum_duration<T>(
    state: &AppState,
    start: tokio::time::Instant,
    work: impl Future<Output = T>,
) -> T {
    let result = work.await;
    let minimum = Duration::from_millis(state.config.min_response_millis);
    tokio::time::sleep_until(start + minimum).await;
    result
}

/// A running server: its address, its state, and the way to stop it.
pub struct ServerHandle {
    /// The address it listens on (the real port when the config said port 0).
    pub addr: SocketAddr,
    /// Its shared state (store, clock, keys...), for tests and the demo.
    pub state: AppState,
    stop: watch::Sender<bool>,
    task: JoinHandle<std::io::Result<()>>,
}

impl ServerHandle {
    /// `http://<addr>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Runs the background jobs once, now (tests move a mock clock, then call this).
    pub async fn run_jobs_now(&self) -> Result<crate::jobs::JobReport, crate::jobs::JobError> {
        crate::jobs::run_once(&self.state).await
    }

    /// Stops accepting connections, lets requests in flight finish, stops the jobs and
    /// closes the database.
    pub async fn shutdown(self) -> std::io::Result<()> {
        self.state.news.close();
        let _ = self.stop.send(true);
        let result = self
            .task
            .await
            .unwrap_or_else(|join| Err(std::io::Error::other(join)));
        self.state.store.close().await;
        result
    }
}

/// Starts a server for `state` on `listen` (port 0 for any free port) with its
/// background jobs, and returns at once.
pub async fn spawn_with_state(
    state: AppState,
    listen: SocketAddr,
) -> Result<ServerHandle, StartError> {
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = watch::channel(false);
    crate::jobs::spawn_background(state.clone(), stopped.clone());
    let router = app(state.clone());
    let mut shutdown = stopped;
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        })
        .await
    });
    tracing::info!(%addr, "listening");
    Ok(ServerHandle {
        addr,
        state,
        stop,
        task,
    })
}

/// Opens everything described by `config` and starts serving; returns at once.
pub async fn spawn(config: Config, clock: SharedClock) -> Result<ServerHandle, StartError> {
    let listen = config.listen;
    let state = AppState::open(config, clock).await?;
    spawn_with_state(state, listen).await
}

/// Serves until `shutdown` completes (e.g. Ctrl-C), then stops gracefully.
pub async fn run(
    config: Config,
    clock: SharedClock,
    shutdown: impl Future<Output = ()>,
) -> Result<(), StartError> {
    let handle = spawn(config, clock).await?;
    shutdown.await;
    tracing::info!("shutting down");
    handle.shutdown().await?;
    Ok(())
}
