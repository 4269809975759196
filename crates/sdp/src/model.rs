//! The SDP model: a session description, its media descriptions, and
//! the lines they carry. Values are kept as received (unknown attributes,
//! `r=`/`z=`/`k=` lines included) so a description round-trips; typed
//! views are in `attributes`.

use std::fmt;
use std::net::IpAddr;

/// `IP4` or `IP6` (anything else is kept as written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrType {
    Ip4,
    Ip6,
    Other(String),
}

impl AddrType {
    pub(crate) fn parse(s: &str) -> AddrType {
        match s {
            "IP4" => AddrType::Ip4,
            "IP6" => AddrType::Ip6,
            other => AddrType::Other(other.to_owned()),
        }
    }

    /// The type for an address.
    pub fn of(ip: IpAddr) -> AddrType {
        match ip {
            IpAddr::V4(_) => AddrType::Ip4,
            IpAddr::V6(_) => AddrType::Ip6,
        }
    }
}

impl fmt::Display for AddrType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddrType::Ip4 => "IP4",
            AddrType::Ip6 => "IP6",
            AddrType::Other(s) => s,
        })
    }
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub username: String,
    /// Kept as text: only its identity matters, and peers send ids of any
    /// length.
    pub session_id: String,
    /// Raised by one for every changed offer (RFC 3264 §8).
    pub session_version: u64,
    pub net_type: String,
    pub addr_type: AddrType,
    pub address: String,
}

/// `c=<nettype> <addrtype> <address>[/<ttl>][/<count>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub net_type: String,
    pub addr_type: AddrType,
    pub address: String,
    /// IPv4 multicast only.
    pub ttl: Option<u8>,
    /// Multicast: this many consecutive addresses.
    pub count: Option<u32>,
}

impl Connection {
    /// `IN IP4|IP6 <ip>`.
    pub fn new(ip: IpAddr) -> Connection {
        Connection {
            net_type: "IN".into(),
            addr_type: AddrType::of(ip),
            address: ip.to_string(),
            ttl: None,
            count: None,
        }
    }

    /// The address as an IP, if it is one (it may be a host name).
    pub fn ip(&self) -> Option<IpAddr> {
        self.address.parse().ok()
    }

    /// The RFC 2543 way of putting a stream on hold (RFC 3264 §8.4).
    pub fn is_hold_address(&self) -> bool {
        self.address == "0.0.0.0"
    }
}

/// `b=<bwtype>:<bandwidth>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bandwidth {
    pub kind: String,
    pub value: u64,
}

/// `t=<start> <stop>` with its `r=` lines (kept as text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timing {
    pub start: u64,
    pub stop: u64,
    pub repeats: Vec<String>,
}

/// `a=<name>[:<value>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    pub value: Option<String>,
}

impl Attribute {
    /// A property attribute (`a=sendrecv`).
    pub fn flag(name: &str) -> Attribute {
        Attribute {
            name: name.to_owned(),
            value: None,
        }
    }

    /// A value attribute (`a=ptime:20`).
    pub fn new(name: &str, value: impl Into<String>) -> Attribute {
        Attribute {
            name: name.to_owned(),
            value: Some(value.into()),
        }
    }
}

/// One `m=` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    /// `audio`, `video`, `message`, `application`, ...
    pub media: String,
    /// 0 rejects or removes the stream (RFC 3264 §6, §8.2).
    pub port: u16,
    pub port_count: Option<u16>,
    /// `RTP/AVP`, `RTP/SAVP`, `TCP/MSRP`, `TCP/TLS/MSRP`, ...
    pub protocol: String,
    /// Payload types for RTP, `*` for MSRP, ...
    pub formats: Vec<String>,
    pub information: Option<String>,
    pub connections: Vec<Connection>,
    pub bandwidths: Vec<Bandwidth>,
    pub key: Option<String>,
    pub attributes: Vec<Attribute>,
}

impl Media {
    /// An `m=` line with nothing under it yet.
    pub fn new(media: &str, port: u16, protocol: &str, formats: Vec<String>) -> Media {
        Media {
            media: media.to_owned(),
            port,
            port_count: None,
            protocol: protocol.to_owned(),
            formats,
            information: None,
            connections: Vec::new(),
            bandwidths: Vec::new(),
            key: None,
            attributes: Vec::new(),
        }
    }

    /// Every value of attribute `name`, in order (property attributes
    /// give `""`).
    pub fn attribute_values<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + 'a {
        values(&self.attributes, name.to_owned())
    }

    /// The first value of attribute `name`.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attribute_values(name).next()
    }

    pub fn has_attribute(&self, name: &str) -> bool {
        self.attributes.iter().any(|a| a.name == name)
    }

    /// Whether this stream was rejected or removed (port 0).
    pub fn is_rejected(&self) -> bool {
        self.port == 0
    }
}

/// A whole session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    pub origin: Origin,
    /// `s=`; `-` when there is nothing to say.
    pub session_name: String,
    pub information: Option<String>,
    pub uri: Option<String>,
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub connection: Option<Connection>,
    pub bandwidths: Vec<Bandwidth>,
    pub timings: Vec<Timing>,
    pub time_zones: Option<String>,
    pub key: Option<String>,
    pub attributes: Vec<Attribute>,
    pub media: Vec<Media>,
}

impl SessionDescription {
    /// A description with an origin, `s=-`, `t=0 0` and nothing else.
    pub fn new(origin: Origin) -> SessionDescription {
        SessionDescription {
            origin,
            session_name: "-".into(),
            information: None,
            uri: None,
            emails: Vec::new(),
            phones: Vec::new(),
            connection: None,
            bandwidths: Vec::new(),
            timings: vec![Timing {
                start: 0,
                stop: 0,
                repeats: Vec::new(),
            }],
            time_zones: None,
            key: None,
            attributes: Vec::new(),
            media: Vec::new(),
        }
    }

    /// Every value of session-level attribute `name`.
    pub fn attribute_values<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + 'a {
        values(&self.attributes, name.to_owned())
    }

    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attribute_values(name).next()
    }

    /// The connection that applies to media `index`: its own first `c=`,
    /// else the session's.
    pub fn connection_for(&self, index: usize) -> Option<&Connection> {
        self.media
            .get(index)
            .and_then(|m| m.connections.first())
            .or(self.connection.as_ref())
    }
}

fn values(attributes: &[Attribute], name: String) -> impl Iterator<Item = &str> {
    attributes
        .iter()
        .filter(move |a| a.name == name)
        .map(|a| a.value.as_deref().unwrap_or(""))
}
