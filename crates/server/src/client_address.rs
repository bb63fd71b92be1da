//! Who the client of a request is, for the limits that count per client: the peer of the
//! connection, or, when the peer is one of the configured `trusted_proxies` (a load
//! balancer, a CDN), the right-most address of `X-Forwarded-For` that is not a trusted
//! proxy. The address is used in memory for limits only: it is never stored or logged.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use crate::problem::Problem;
use crate::state::AppState;

/// The client's address (see the module's documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ClientAddress(pub(crate) IpAddr);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| peer.ip())
            .ok_or_else(|| Problem::internal(&"no peer address on the request"))?;
        let forwarded: Vec<&str> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect();
        Ok(Self(state.config.trusted_proxies.client(peer, &forwarded)))
    }
}
