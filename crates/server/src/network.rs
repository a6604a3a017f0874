//! How the API faces the network: who a client is when proxies stand in front, which browser
//! origins may call it, and how long a request may take.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::{ApiError, AppState};

/// The HTTP side's settings; [`HttpSettings::default`] is what `carenest serve` starts with.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Peers whose `X-Forwarded-For` is believed: the reverse proxies in front of the service.
    /// Anyone else's header is ignored, so a client can't pick the address it is throttled by.
    pub trusted_proxies: Vec<IpNet>,
    /// Origins whose pages may call the API from a browser. Empty: no CORS headers at all, and
    /// browsers keep other sites' pages out.
    pub cors_origins: Vec<HeaderValue>,
    /// Whether `/metrics` is served with the API; off when it has a listener of its own.
    pub metrics_with_api: bool,
    /// Longest a request may take, from its headers to its answer: 503 after that.
    pub request_timeout: Duration,
    /// Longest the body of a request may pause between two pieces: 408 after that.
    pub body_timeout: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            trusted_proxies: Vec::new(),
            cors_origins: Vec::new(),
            metrics_with_api: true,
            request_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(10),
        }
    }
}

impl HttpSettings {
    /// The CORS layer the settings ask for, if any.
    pub(crate) fn cors(&self) -> Option<CorsLayer> {
        if self.cors_origins.is_empty() {
            return None;
        }
        let request_id = HeaderName::from_static("x-request-id");
        Some(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(self.cors_origins.iter().cloned()))
                .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
                .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::IF_NONE_MATCH])
                .expose_headers([header::RETRY_AFTER, header::ETAG, header::LOCATION, request_id])
                .max_age(Duration::from_secs(600)),
        )
    }
}

/// The client's address: the peer's, or, when the peer is a trusted proxy, the nearest address
/// in `X-Forwarded-For` that is not one of ours. `None` when the router runs without a socket
/// (tests that call it directly).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(address)| address.ip());
        let forwarded = parts.headers.get_all("x-forwarded-for").iter();
        Ok(Self(peer.map(|peer| client_address(peer, forwarded, &state.http.trusted_proxies))))
    }
}

/// Walks `X-Forwarded-For` from the right, as far as the hops are trusted proxies: each proxy
/// appends the address it saw, so everything left of the first untrusted hop was written by
/// the client and proves nothing.
pub fn client_address<'a>(
    peer: IpAddr,
    forwarded_for: impl DoubleEndedIterator<Item = &'a HeaderValue>,
    trusted: &[IpNet],
) -> IpAddr {
    let is_trusted = |address: &IpAddr| trusted.iter().any(|net| net.contains(address));
    let mut client = peer.to_canonical();
    if !is_trusted(&client) {
        return client;
    }
    let hops = forwarded_for.rev().flat_map(|value| {
        let hops: Vec<&str> = value.to_str().unwrap_or("").split(',').collect();
        hops.into_iter().rev()
    });
    for hop in hops {
        // A hop that is no address ends the walk: no proxy of ours wrote it.
        let Some(address) = parse_hop(hop) else { break };
        client = address;
        if !is_trusted(&client) {
            break;
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, perhaps with a port (`203.0.113.7:4711`,
/// `[2001:db8::1]:4711`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|address| address.ip()))
        .ok()
        .map(|address| address.to_canonical())
}

/// Answers 503 when a request takes longer than the limit, its body included.
pub(crate) async fn whole_request_timeout(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::TimedOut { seconds: limit.as_secs().max(1) }.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(peer: &str, headers: &[&str], trusted: &[&str]) -> String {
        let headers: Vec<HeaderValue> = headers.iter().map(|h| HeaderValue::from_str(h).unwrap()).collect();
        let trusted: Vec<IpNet> = trusted.iter().map(|t| t.parse().unwrap()).collect();
        client_address(peer.parse().unwrap(), headers.iter(), &trusted).to_string()
    }

    #[test]
    fn a_peer_that_is_not_a_trusted_proxy_is_the_client_whatever_it_claims() {
        assert_eq!(client("198.51.100.4", &["203.0.113.9"], &[]), "198.51.100.4");
        assert_eq!(client("198.51.100.4", &["203.0.113.9"], &["10.0.0.0/8"]), "198.51.100.4");
    }

    #[test]
    fn behind_trusted_proxies_the_client_is_the_nearest_untrusted_hop() {
        let trusted = ["10.0.0.0/8", "127.0.0.1/32"];
        assert_eq!(client("10.0.0.2", &["203.0.113.9"], &trusted), "203.0.113.9");
        // The client wrote the first entry itself; the proxy appended the real one.
        assert_eq!(client("10.0.0.2", &["1.1.1.1, 203.0.113.9"], &trusted), "203.0.113.9");
        // Two proxies of ours in a row, and headers split over several lines.
        assert_eq!(client("127.0.0.1", &["6.6.6.6, 203.0.113.9", "10.0.0.7"], &trusted), "203.0.113.9");
        assert_eq!(client("10.0.0.2", &["[2001:db8::1]:4711"], &trusted), "2001:db8::1");
    }

    #[test]
    fn garbage_or_a_missing_header_leaves_the_last_address_a_proxy_of_ours_vouched_for() {
        let trusted = ["10.0.0.0/8"];
        assert_eq!(client("10.0.0.2", &[], &trusted), "10.0.0.2");
        assert_eq!(client("10.0.0.2", &["203.0.113.9, not-an-address"], &trusted), "10.0.0.2");
        assert_eq!(client("10.0.0.2", &["not-an-address, 10.0.0.3"], &trusted), "10.0.0.3");
    }

    #[test]
    fn an_ipv4_peer_on_an_ipv6_socket_counts_as_its_ipv4_address() {
        assert_eq!(client("::ffff:10.0.0.2", &["203.0.113.9"], &["10.0.0.0/8"]), "203.0.113.9");
    }
}
