//! The HTTP application at the top of the server: the router assembled from every
//! service's and UI's routes, response signing, serving with graceful shutdown. Nothing
//! imports this module but `lib.rs`.
//!
//! # Adding a service
//!
//! Write a module with `pub(crate) fn routes() -> Router<AppState>` whose handlers take
//! `State<AppState>` (from [`crate::state`]: the store, clock, keys, metrics and config
//! are on it) and return `Result<_, Problem>`; then merge it in [`app`]. Every route then
//! gets the body limit, the request timeout, the `Signature` header, `no-store` unless it
//! sets its own `Cache-Control`, problem+json errors, and appears in
//! `/openapi.json` once added to [`crate::openapi`]. A page of a web UI goes through
//! [`crate::web`] instead (see there).

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::connections;
use crate::metrics::Metrics;
use crate::problem::{Problem, ProblemKind};
use crate::state::{AppState, StartError};

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let max_body = state.config.max_body_bytes;
    let mut bounded = Router::new()
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(crate::openapi::serve))
        .merge(crate::web::routes())
        .merge(crate::codes::routes())
        .merge(crate::authority_ui::routes(state.clone()))
        .merge(crate::keys::routes())
        .merge(crate::presence::routes())
        .merge(crate::venue_ui::routes(state.clone()))
        .merge(crate::citizen_app::routes())
        .merge(crate::jobs::routes());
    if state.config.metrics_listen.is_none() {
        bounded = bounded.route("/metrics", get(metrics));
    }
    Router::new()
        .merge(bounded.layer(middleware::from_fn(connections::request_deadline)))
        // The long poll waits up to its own bound (`push::MAX_WAIT_SECONDS`).
        .merge(crate::push::routes())
        .merge(crate::app_config::routes())
        .fallback(|| async { Problem::new(ProblemKind::NotFound, "no such route") })
        .method_not_allowed_fallback(|| async {
            Problem::new(
                ProblemKind::MethodNotAllowed,
                "this route does not take this method (see /openapi.json)",
            )
        })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            sign_and_count,
        ))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}

/// The operator's private address for `/metrics` (config `metrics_listen`).
fn metrics_app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .fallback(|| async { Problem::new(ProblemKind::NotFound, "only /metrics here") })
        .with_state(state)
}

#[utoipa::path(
    get, path = "/healthz", tag = "operations",
    summary = "200 when the store is reachable",
    responses(
        (status = 200, description = "healthy", body = String, content_type = "text/plain"),
        (status = 503, description = "the database does not answer", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn healthz(State(state): State<AppState>) -> Result<&'static str, Problem> {
    if state.store.is_reachable().await {
        Ok("ok\n")
    } else {
        Err(Problem::new(
            ProblemKind::Unavailable,
            "the database does not answer",
        ))
    }
}

#[utoipa::path(
    get, path = "/metrics", tag = "operations",
    summary = "Prometheus metrics (never tells fake traffic from real)",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"))
)]
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(state.now()),
    )
}

/// The response header carrying the body's signature (PROTOCOLS.md §4).
pub(crate) const SIGNATURE_HEADER: &str = "signature";

/// Adds the `Signature` header (ES256 JWT over the SHA-256 of the body) to every answer,
/// and counts error answers by status. An answer that already carries one (a prebuilt
/// download, [`crate::prebuilt`], signed once for every phone) is passed on as it is:
/// hashing a 5 MB download at every request would cost more than serving it.
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
    let body = if parts.headers.contains_key(SIGNATURE_HEADER) {
        body
    } else {
        let bytes = match axum::body::to_bytes(body, usize::MAX).await {
            Ok(bytes) => bytes,
            Err(error) => return Problem::internal(&error).into_response(),
        };
        let signature = state.keys.sign_response_body(&bytes, state.now());
        if let Ok(value) = HeaderValue::from_str(&signature) {
            parts.headers.insert(SIGNATURE_HEADER, value);
        }
        Body::from(bytes)
    };
    // Answers carry codes and tokens: none stays in a cache unless its route says so.
    parts
        .headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    if let Some(value) = state.config.hsts_max_age_seconds.and_then(|max_age| {
        HeaderValue::from_str(&format!("max-age={max_age}; includeSubDomains")).ok()
    }) {
        parts
            .headers
            .insert(header::STRICT_TRANSPORT_SECURITY, value);
    }
    // `Date` from the server's clock (hyper would write the wall clock's, which a test's
    // mock clock does not move): the DP-3T SDKs refuse answers whose `Date` is more than
    // 10 minutes off the phone's time, and the signature's `iat` is from this clock too.
    if let Some(value) = http_date(state.now()) {
        parts.headers.insert(header::DATE, value);
    }
    Response::from_parts(parts, body)
}

/// An HTTP date (RFC 9110 IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`).
fn http_date(unix_seconds: i64) -> Option<HeaderValue> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let text = time::OffsetDateTime::from_unix_timestamp(unix_seconds)
        .ok()?
        .format(&format)
        .ok()?;
    HeaderValue::from_str(&text).ok()
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
    let metrics_listener = match state.config.metrics_listen {
        Some(address) => Some(TcpListener::bind(address).await?),
        None => None,
    };
    let (stop, stopped) = watch::channel(false);
    crate::jobs::spawn_background(state.clone(), stopped.clone());
    let router = app(state.clone());
    let limits = connections::Limits::from_config(&state.config);
    if let Some(metrics_listener) = metrics_listener {
        let metrics_addr = metrics_listener.local_addr()?;
        tokio::spawn(connections::serve(
            metrics_listener,
            metrics_app(state.clone()),
            limits.clone(),
            stopped.clone(),
        ));
        tracing::info!(%metrics_addr, "serving /metrics");
    }
    let task = tokio::spawn(connections::serve(listener, router, limits, stopped));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_as_http_wants_them() {
        assert_eq!(
            http_date(784_111_777).unwrap(),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
    }
}
