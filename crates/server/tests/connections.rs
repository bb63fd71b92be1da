#![allow(clippy::unwrap_used)]
//! The accept loop's bounds (`server::connections`), with tokio's clock paused and moved:
//! what 300 half-sent requests did to a server without them (all its file descriptors, for
//! as long as the attacker liked) cannot happen.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use server::config::TrustedProxies;
use server::connections::{self, HEADER_READ_TIMEOUT, Limits, REQUEST_TIMEOUT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;

fn limits(max_connections: usize, per_client: usize) -> Limits {
    Limits {
        max_connections,
        max_connections_per_client: per_client,
        header_read_timeout: HEADER_READ_TIMEOUT,
        max_connection_lifetime: connections::MAX_CONNECTION_LIFETIME,
        trusted_proxies: TrustedProxies::new(vec!["127.0.0.9/32".parse().unwrap()]),
    }
}

async fn start(limits: Limits) -> (SocketAddr, watch::Sender<bool>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = Router::new()
        .route("/", get(|| async { "ok" }))
        .route("/echo", post(|body: String| async move { body }))
        .layer(axum::middleware::from_fn(connections::request_deadline));
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(connections::serve(listener, router, limits, stopped));
    (addr, stop)
}

/// A connection from `source` (any 127.x address: they all reach this machine).
async fn connect_from(source: [u8; 4], addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((source, 0))).unwrap();
    socket.connect(addr).await.unwrap()
}

/// Reads until the server closes; what it sent.
async fn until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
        }
    }
    String::from_utf8_lossy(&received).into_owned()
}

const HALF_A_REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: example\r\nX-Slow: ";

async fn get_ok(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: example\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    until_closed(stream).await
}

#[tokio::test(start_paused = true)]
async fn half_sent_headers_are_cut_at_the_header_timeout() {
    let (addr, _stop) = start(limits(16, 16)).await;
    let mut slow = connect_from([127, 0, 0, 2], addr).await;
    slow.write_all(HALF_A_REQUEST).await.unwrap();
    let started = Instant::now();
    until_closed(&mut slow).await;
    let held = started.elapsed();
    assert!(
        held >= HEADER_READ_TIMEOUT && held < HEADER_READ_TIMEOUT + Duration::from_secs(1),
        "held for {held:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_idle_kept_alive_connection_is_closed_at_the_header_timeout() {
    let (addr, _stop) = start(limits(16, 16)).await;
    let mut idle = connect_from([127, 0, 0, 2], addr).await;
    idle.write_all(b"GET / HTTP/1.1\r\nHost: example\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = [0u8; 1024];
    let n = idle.read(&mut buffer).await.unwrap();
    assert!(String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 200"));
    let started = Instant::now();
    until_closed(&mut idle).await;
    let held = started.elapsed();
    assert!(
        held >= HEADER_READ_TIMEOUT && held < HEADER_READ_TIMEOUT + Duration::from_secs(1),
        "held for {held:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_body_sent_too_slowly_gets_408_at_the_request_timeout() {
    let (addr, _stop) = start(limits(16, 16)).await;
    let mut slow = connect_from([127, 0, 0, 2], addr).await;
    slow.write_all(
        b"POST /echo HTTP/1.1\r\nHost: example\r\nContent-Length: 100\r\n\r\nten bytes.",
    )
    .await
    .unwrap();
    let started = Instant::now();
    let answer = until_closed(&mut slow).await;
    let held = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(
        held >= REQUEST_TIMEOUT && held < REQUEST_TIMEOUT + Duration::from_secs(1),
        "held for {held:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn one_client_cannot_hold_more_than_its_share_of_connections() {
    let (addr, _stop) = start(limits(64, 4)).await;
    let mut attacker = Vec::new();
    for _ in 0..4 {
        let mut stream = connect_from([127, 0, 0, 2], addr).await;
        stream.write_all(HALF_A_REQUEST).await.unwrap();
        attacker.push(stream);
    }
    let started = Instant::now();
    let mut fifth = connect_from([127, 0, 0, 2], addr).await;
    assert_eq!(
        get_ok(&mut fifth).await,
        "",
        "the fifth is closed unanswered"
    );
    assert!(started.elapsed() < Duration::from_secs(1), "and at once");
    let mut other = connect_from([127, 0, 0, 3], addr).await;
    let answer = get_ok(&mut other).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "another client is served at once"
    );
    // A trusted proxy (127.0.0.9 here) carries many clients: it has no per-client cap.
    let mut proxied = Vec::new();
    for _ in 0..6 {
        let mut stream = connect_from([127, 0, 0, 9], addr).await;
        stream.write_all(HALF_A_REQUEST).await.unwrap();
        proxied.push(stream);
    }
    let mut seventh = connect_from([127, 0, 0, 9], addr).await;
    let answer = get_ok(&mut seventh).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test(start_paused = true)]
async fn past_the_cap_clients_wait_for_a_slot_instead_of_exhausting_descriptors() {
    let (addr, _stop) = start(limits(8, 64)).await;
    let mut attacker = Vec::new();
    for _ in 0..8 {
        let mut stream = connect_from([127, 0, 0, 2], addr).await;
        stream.write_all(HALF_A_REQUEST).await.unwrap();
        attacker.push(stream);
    }
    // The ninth connection waits in the kernel's backlog, holding no descriptor of the
    // server's, and is served as soon as the half-sent requests are cut.
    let started = Instant::now();
    let mut patient = connect_from([127, 0, 0, 3], addr).await;
    let answer = get_ok(&mut patient).await;
    let waited = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        waited >= HEADER_READ_TIMEOUT - Duration::from_secs(1)
            && waited < HEADER_READ_TIMEOUT + Duration::from_secs(1),
        "served after {waited:?}"
    );
}
