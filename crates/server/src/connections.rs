//! Accepting connections with bounds an outsider cannot stretch: a cap on connections in
//! all and per client, and timeouts on every phase in which a client could hold a
//! connection without doing anything.
//!
//! | phase | bound | what happens |
//! |---|---|---|
//! | all connections | `max_connections` (config, default [`DEFAULT_MAX_CONNECTIONS`]) | the server stops accepting until one closes; the kernel's backlog holds the rest |
//! | connections of one client | `max_connections_per_client` (default [`DEFAULT_MAX_CONNECTIONS_PER_CLIENT`]); trusted proxies exempt | closed at once |
//! | request headers, and the wait for the next request on a kept-alive connection | [`HEADER_READ_TIMEOUT`] | closed |
//! | a request (reading its body included; not the long poll of `/v1/push/keys`) | [`REQUEST_TIMEOUT`] from its headers | `408` (problem+json), then closed |
//! | a whole connection | [`MAX_CONNECTION_LIFETIME`] | asked to close after its request in flight (a long poll lasts at most [`crate::push::MAX_WAIT_SECONDS`]), cut [`SHUTDOWN_GRACE`] later |
//!
//! Every connection is one file descriptor: `max_connections` plus the database pool must
//! stay under the process's limit (`ulimit -n`). Without these bounds, 300 sockets that
//! send half a request's headers exhausted the descriptors of a server with the default
//! limit of 1024, and partial bodies stayed open for over 75 s.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt as _;

use crate::client_address::client_prefix;
use crate::config::TrustedProxies;

/// Default for `max_connections`.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Default for `max_connections_per_client` (one address; an IPv6 client is its /64).
pub const DEFAULT_MAX_CONNECTIONS_PER_CLIENT: usize = 32;
/// How long a client may take to send a request's headers, and how long a kept-alive
/// connection may wait for its next request.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a request may take from its headers to its answer, reading its body
/// included (the largest body the API takes, about 85 KB, needs 7 s at 100 kbit/s).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// After this a connection is asked to close once its request in flight is answered.
pub const MAX_CONNECTION_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// How long a connection asked to close (by its lifetime or a shutdown) may still take.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The bounds of one listener.
#[derive(Clone, Debug)]
pub struct Limits {
    pub max_connections: usize,
    pub max_connections_per_client: usize,
    pub header_read_timeout: Duration,
    pub max_connection_lifetime: Duration,
    pub trusted_proxies: TrustedProxies,
}

impl Limits {
    pub fn from_config(config: &crate::config::Config) -> Self {
        Self {
            max_connections: config.max_connections.max(1),
            max_connections_per_client: config.max_connections_per_client.max(1),
            header_read_timeout: HEADER_READ_TIMEOUT,
            max_connection_lifetime: MAX_CONNECTION_LIFETIME,
            trusted_proxies: config.trusted_proxies.clone(),
        }
    }
}

/// Open connections per client ([`client_prefix`]: an IPv4 address or an IPv6 /64).
#[derive(Default)]
struct PerClient(Mutex<HashMap<[u8; 16], usize>>);

impl PerClient {
    /// Counts one more connection of `ip`; false when it already has `max`.
    fn enter(&self, ip: IpAddr, max: usize) -> bool {
        let mut open = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = open.entry(client_prefix(ip)).or_insert(0);
        if *count >= max {
            return false;
        }
        *count += 1;
        true
    }

    fn leave(&self, ip: IpAddr) {
        let mut open = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = client_prefix(ip);
        if let Some(count) = open.get_mut(&key) {
            *count -= 1;
            if *count == 0 {
                open.remove(&key);
            }
        }
    }
}

/// Serves `router` on `listener` within `limits` until `stop` turns true; then lets the
/// requests in flight finish (at most [`SHUTDOWN_GRACE`]).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let per_client = Arc::new(PerClient::default());
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(64 * 1024);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(32)
        .keep_alive_interval(Some(limits.header_read_timeout))
        .keep_alive_timeout(limits.header_read_timeout);
    let builder = Arc::new(builder);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = stopped(&mut stop) => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors or a connection reset before accept: wait a little
                    // rather than spin, and go on.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = stopped(&mut stop) => break,
        };
        let exempt = limits.trusted_proxies.contains(peer.ip());
        if !exempt && !per_client.enter(peer.ip(), limits.max_connections_per_client) {
            drop(stream);
            continue;
        }
        while connections.try_join_next().is_some() {}
        let router = router.clone();
        let builder = builder.clone();
        let per_client = per_client.clone();
        let stop = stop.clone();
        let lifetime = limits.max_connection_lifetime;
        connections.spawn(async move {
            serve_connection(&builder, stream, peer, router, lifetime, stop).await;
            if !exempt {
                per_client.leave(peer.ip());
            }
            drop(permit);
        });
    }
    drop(listener);
    // Requests in flight finish (each connection saw `stop` and closes after its answer).
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    connections.abort_all();
    Ok(())
}

/// Returns once `stop` is true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

async fn serve_connection(
    builder: &auto::Builder<TokioExecutor>,
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    lifetime: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let router = router.clone();
        async move { router.oneshot(request).await }
    });
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let ended = tokio::select! {
        result = connection.as_mut() => Some(result),
        _ = tokio::time::sleep(lifetime) => None,
        () = stopped(&mut stop) => None,
    };
    if ended.is_none() {
        connection.as_mut().graceful_shutdown();
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, connection).await;
    }
}

/// Middleware: a request that has not been answered [`REQUEST_TIMEOUT`] after its headers
/// (a body sent a byte at a time, say) gets 408 and its connection is closed.
pub async fn request_deadline(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => crate::problem::Problem::new(
            crate::problem::ProblemKind::RequestTimeout,
            "the request took too long to arrive",
        )
        .into_response(),
    }
}
