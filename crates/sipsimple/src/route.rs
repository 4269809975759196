//! Where a request goes (a [`Route`], the result of an RFC 3263 lookup)
//! and the DNS queries that found it. Plain data shared by the lookup,
//! the transports and the notifications: it depends on none of them, so
//! the notification data can carry it without `notification` and
//! `lookup` importing each other.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use sip_proto::uri::{Host, Scheme, SipUri, Uri};

use sip_proto::transaction::TransportKind;

/// One place to send to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Route {
    pub address: IpAddr,
    pub port: u16,
    pub transport: TransportKind,
}

impl Route {
    /// The route as a URI (the spec's `get_uri()`).
    pub fn uri(&self) -> Uri<'static> {
        let host = match self.address {
            IpAddr::V4(a) => Host::V4(a),
            IpAddr::V6(a) => Host::V6(a),
        };
        let scheme = if self.transport == TransportKind::Tls {
            Scheme::Sips
        } else {
            Scheme::Sip
        };
        let mut u = SipUri::new(scheme, host).with_port(self.port);
        if self.transport != TransportKind::Tls {
            u.params
                .set("transport", Some(self.transport.name().to_owned()));
        }
        Uri::Sip(u)
    }

    pub fn socket_addr(&self) -> SocketAddr {
        SocketAddr::new(self.address, self.port)
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.transport.via_name(), self.socket_addr())
    }
}

/// One DNS query made during a lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryTrace {
    pub name: String,
    pub record_type: &'static str,
    /// The answers in text form, or the error.
    pub result: Result<Vec<String>, String>,
}
