//! Who the client of a request is, for the limits that count per client: the peer of the
//! connection, or, when the peer is one of the configured `trusted_proxies` (a load
//! balancer, a CDN), the right-most address of `X-Forwarded-For` that is not a trusted
//! proxy. The address is used in memory for limits only: it is never stored or logged.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use crate::problem::Problem;
use crate::state::AppState;

/// The part of an address that names one client, for the per-client limits (connections,
/// code checks, sign-in backoff): an IPv4 address whole, an IPv6 address's /64 (which one
/// host holds whole and can change within at will); an IPv4-mapped IPv6 address is its
/// IPv4 address. As 16 bytes (IPv4 in its mapped form), to key a map with.
pub(crate) fn client_prefix(ip: IpAddr) -> [u8; 16] {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => {
            let mut octets = v6.octets();
            octets[8..].fill(0);
            octets
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_an_ipv4_address_or_an_ipv6_slash_64() {
        let prefix = |text: &str| client_prefix(text.parse().unwrap());
        assert_ne!(prefix("192.0.2.1"), prefix("192.0.2.2"));
        assert_eq!(prefix("192.0.2.1"), prefix("::ffff:192.0.2.1"));
        assert_eq!(prefix("2001:db8:1:2::1"), prefix("2001:db8:1:2:ffff::9"));
        assert_ne!(prefix("2001:db8:1:2::1"), prefix("2001:db8:1:3::1"));
    }
}
