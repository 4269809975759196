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
//! Why one connection per session: RFC 6135's alternative connection
//! model and the original SDK both open a connection per MSRP session;
//! it keeps a slow file transfer from delaying a chat on the same port.

mod connection;
mod server;
mod tls;

use std::net::IpAddr;

pub use connection::{ConnectionEvent, EventSink, MsrpConnection, MsrpSendError};
pub use server::{bind_for_connect, connect, Accepted, MsrpEndpoint, MsrpServer, Registration};

use msrp_proto::uri::Host;

/// A byte stream an MSRP connection runs on (TCP, or TLS over it).
pub trait MsrpIo: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin {}

impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin> MsrpIo for T {}

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
