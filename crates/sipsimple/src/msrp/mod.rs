//! MSRP on the engine's runtime: the connections that carry MSRP sessions
//! (RFC 4975) over TCP or TLS, and the one listening port every session
//! of an application shares.
//!
//! Owns: the socket side of an MSRP session: reading and writing with
//! back-pressure ([`MsrpConnection`]), accepting connections on the
//! shared port and handing each to the session its first request names
//! ([`MsrpServer`], [`MsrpEndpoint`]), connecting out ([`connect`]).
//! Does not own: the protocol (the sans-IO `msrp-proto` crate: framing,
//! chunking, reports, transactions), SDP and the streams' API
//! (`crate::streams::msrp`).
//!
//! Why one connection per session, as a rule: RFC 6135's alternative
//! connection model and the original SDK both open a connection per MSRP
//! session; it keeps a slow file transfer from delaying a chat on the
//! same port. RFC 4975 §5.4 lets a device carry several sessions on one
//! connection, so a connection is a demux of sessions (`msrp_proto::
//! demux`) with one [`MsrpConnection`] handle per session: a peer that
//! reaches another of our sessions over a connection it has with our
//! shared port is served on it ([`Joinable`], the `connection::join` module), and
//! with the account setting `msrp.connection_reuse` we carry a session
//! we connect for on a live connection of ours to the same first hop
//! (`MsrpEndpoint::connect_shared`, the `reuse` module), and a session
//! through our relay AUTHs and runs on our live connection to that relay
//! (`MsrpEndpoint::authorize_shared`, the `relay_share` module).

mod connection;
pub mod log;
mod relay;
mod relay_share;
mod reuse;
mod server;
mod tls;
pub mod trace;

use std::net::IpAddr;

pub use connection::join::{JoinHook, Joinable};
pub use connection::{ConnectionEvent, EventSink, MsrpConnection, MsrpSendError, ReadGate};
pub use log::{LogLevel, MsrpLog};
pub use relay::{authorize, RelayDiscovery, RelayFinder, RelayLink, RelayPath};
pub use relay_share::RelaySeat;
pub use server::{
    bind_for_connect, connect, connect_to, Accepted, Handed, MsrpEndpoint, MsrpServer,
    Registration, SessionBinding,
};

use msrp_proto::uri::Host;

/// A byte stream an MSRP connection runs on (TCP, or TLS over it).
pub trait MsrpIo: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin {}

impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin> MsrpIo for T {}

/// An account's MSRP relay (RFC 4976): where it is and the credentials
/// of the account's AUTH to it.
#[derive(Clone, PartialEq, Eq)]
pub struct MsrpRelaySettings {
    /// The relay's URI (`msrps://relay.example.com:2855;tcp`).
    pub uri: msrp_proto::MsrpUri,
    pub username: String,
    pub password: String,
    /// `nat_traversal.use_msrp_relay_for_outbound`: sessions we start
    /// use the relay too (incoming ones always do).
    pub for_outbound: bool,
    /// Where the relay was found by DNS (its `_msrps._tcp` SRV); None:
    /// the URI's host is resolved when connecting.
    pub address: Option<std::net::SocketAddr>,
}

impl std::fmt::Debug for MsrpRelaySettings {
    // The password stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MsrpRelaySettings")
            .field("uri", &self.uri.to_string())
            .field("username", &self.username)
            .field("for_outbound", &self.for_outbound)
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl MsrpRelaySettings {
    /// Reads `nat_traversal.msrp_relay`: an MSRP URI, or `host[:port]`
    /// (port 2855, `msrps` when `tls`).
    pub fn parse_relay(text: &str, tls: bool) -> Result<msrp_proto::MsrpUri, String> {
        let text = text.trim();
        if text.starts_with("msrp://") || text.starts_with("msrps://") {
            return msrp_proto::MsrpUri::parse(text).map_err(|e| format!("{text:?}: {e}"));
        }
        let scheme = if tls { "msrps" } else { "msrp" };
        let with_port = if text
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        {
            text.to_owned()
        } else {
            format!("{text}:2855")
        };
        msrp_proto::MsrpUri::parse(&format!("{scheme}://{with_port};tcp"))
            .map_err(|e| format!("{text:?}: {e}"))
    }
}

/// The URI host for an address.
pub fn host_of(ip: IpAddr) -> Host {
    match ip {
        IpAddr::V4(a) => Host::Ipv4(a),
        IpAddr::V6(a) => Host::Ipv6(a),
    }
}

/// A fresh session-id (RFC 4975 §14.1: hard to guess, ≥ 80 bits of
/// randomness): 20 random letters and digits.
pub fn new_session_id() -> String {
    crate::random::letters(20)
}

/// A fresh Message-ID (an RFC 4975 ident).
pub fn new_message_id() -> String {
    crate::random::letters(16)
}
