//! The peer's side of an MSRP stream, as its m-line says it: its path,
//! what it accepts, `a=setup`, and its c=/m= address (where CEMA, RFC
//! 6714, connects).

use std::net::IpAddr;

use msrp_proto::uri::{Host, MsrpUri};
use sdp::{SessionDescription, Setup};

use crate::streams::interface::StreamError;

/// The peer's side of the stream, from its m-line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteMedia {
    pub path: Vec<MsrpUri>,
    pub accept_types: Vec<String>,
    pub accept_wrapped_types: Vec<String>,
    pub setup: Option<Setup>,
    /// `TCP/TLS/MSRP`.
    pub tls: bool,
    /// The tokens of the peer's `a=chatroom` (RFC 7701 §6), e.g.
    /// `nickname`, `private-messages`: a chat room's focus says what it
    /// supports here. Empty for a plain peer.
    pub chatroom: Vec<String>,
    /// The m-line has `a=msrp-cema` (RFC 6714).
    pub cema: bool,
    /// Its c= address and m= port, where CEMA connects.
    pub media_address: Option<MediaAddress>,
}

impl RemoteMedia {
    /// Reads m-line `index` of `sdp`.
    pub fn from_sdp(sdp: &SessionDescription, index: usize) -> Result<RemoteMedia, StreamError> {
        let m = sdp
            .media
            .get(index)
            .ok_or_else(|| StreamError::from("no such m-line"))?;
        let path = m
            .msrp_path()
            .into_iter()
            .flat_map(|p| p.split_ascii_whitespace())
            .map(|u| MsrpUri::parse(u).map_err(|e| StreamError(format!("bad a=path {u:?}: {e}"))))
            .collect::<Result<Vec<_>, _>>()?;
        if path.is_empty() {
            return Err("the MSRP m-line has no a=path".into());
        }
        Ok(RemoteMedia {
            path,
            accept_types: words(m.accept_types()),
            accept_wrapped_types: words(m.accept_wrapped_types()),
            setup: m.setup(),
            tls: m.protocol.eq_ignore_ascii_case("TCP/TLS/MSRP"),
            chatroom: words(m.attribute_values("chatroom").collect()),
            cema: m.msrp_cema(),
            media_address: MediaAddress::of(sdp, index),
        })
    }
}

fn words(values: Vec<&str>) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| v.split_ascii_whitespace())
        .map(str::to_owned)
        .collect()
}

/// The peer's c= address and m= port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaAddress {
    /// An IP address or a host name (SDP allows both in c=).
    pub host: String,
    pub port: u16,
}

impl std::fmt::Display for MediaAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl MediaAddress {
    /// m-line `index`'s port under the c= that applies to it.
    pub(super) fn of(sdp: &SessionDescription, index: usize) -> Option<MediaAddress> {
        let m = sdp.media.get(index)?;
        let c = sdp.connection_for(index)?;
        Some(MediaAddress {
            host: c.address.clone(),
            port: m.port,
        })
    }

    /// Whether this is where `uri` points: then CEMA and RFC 4975 agree.
    pub(super) fn is_authority_of(&self, uri: &MsrpUri) -> bool {
        let same_host = match (&uri.host, self.host.parse::<IpAddr>()) {
            (Host::Ipv4(a), Ok(ip)) => IpAddr::V4(*a) == ip,
            (Host::Ipv6(a), Ok(ip)) => IpAddr::V6(*a) == ip,
            (Host::Name(n), _) => n.eq_ignore_ascii_case(&self.host),
            _ => false,
        };
        same_host && uri.port.unwrap_or(2855) == self.port
    }
}
