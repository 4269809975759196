//! MSRP URIs (RFC 4975 §6, grammar §9):
//! `msrp[s]://[userinfo@]host[:port][/session-id];transport[;param[=value]]*`.
//!
//! Equality is the RFC 4975 §6.1 comparison, not text equality: scheme and
//! host compare without regard to case, IP addresses by value, an explicit
//! port only equals the same explicit port, the session-id compares exactly,
//! the transport without regard to case, and userinfo and other parameters
//! take no part. That is what a receiver needs to match a To-Path against
//! the session it owns, so the derived text equality would be a trap.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// Longer URIs are refused: a path with a few relays stays far below this,
/// and the bound keeps a hostile header from costing more than a scan.
pub const MAX_URI_LEN: usize = 2048;

/// Why a URI was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    #[error("URI longer than {MAX_URI_LEN} bytes")]
    TooLong,
    #[error("scheme is not msrp or msrps")]
    Scheme,
    #[error("'//' missing after the scheme")]
    NoAuthority,
    #[error("bad userinfo")]
    UserInfo,
    #[error("bad host")]
    Host,
    #[error("bad port")]
    Port,
    #[error("bad session-id")]
    SessionId,
    #[error("transport parameter missing")]
    NoTransport,
    #[error("bad transport")]
    Transport,
    #[error("bad URI parameter")]
    Param,
}

/// The host part of the authority.
#[derive(Debug, Clone)]
pub enum Host {
    Ipv4(Ipv4Addr),
    /// Written in brackets.
    Ipv6(Ipv6Addr),
    /// A registered name, kept as received (compared without case).
    Name(String),
}

impl PartialEq for Host {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Host::Ipv4(a), Host::Ipv4(b)) => a == b,
            (Host::Ipv6(a), Host::Ipv6(b)) => a == b,
            (Host::Name(a), Host::Name(b)) => a.eq_ignore_ascii_case(b),
            _ => false,
        }
    }
}

impl Eq for Host {}

impl Hash for Host {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Host::Ipv4(a) => (0u8, a).hash(state),
            Host::Ipv6(a) => (1u8, a).hash(state),
            Host::Name(n) => {
                2u8.hash(state);
                for b in n.bytes() {
                    b.to_ascii_lowercase().hash(state);
                }
            }
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ipv4(a) => write!(f, "{a}"),
            Host::Ipv6(a) => write!(f, "[{a}]"),
            Host::Name(n) => f.write_str(n),
        }
    }
}

/// An MSRP URI. Equality and hashing follow RFC 4975 §6.1.
#[derive(Debug, Clone)]
pub struct MsrpUri {
    /// `msrps` (TLS) rather than `msrp`.
    pub secure: bool,
    pub userinfo: Option<String>,
    pub host: Host,
    pub port: Option<u16>,
    pub session_id: Option<String>,
    /// `tcp` in RFC 4975; other values are extensions. Kept as received.
    pub transport: String,
    /// Parameters after the transport, in order, as received.
    pub params: Vec<(String, Option<String>)>,
}

impl MsrpUri {
    /// A URI with the parts a session needs and the `tcp` transport.
    pub fn new(secure: bool, host: Host, port: Option<u16>, session_id: Option<&str>) -> Self {
        MsrpUri {
            secure,
            userinfo: None,
            host,
            port,
            session_id: session_id.map(str::to_owned),
            transport: "tcp".to_owned(),
            params: Vec::new(),
        }
    }

    pub fn parse(s: &str) -> Result<Self, UriError> {
        if s.len() > MAX_URI_LEN {
            return Err(UriError::TooLong);
        }
        let (scheme, rest) = s.split_once(':').ok_or(UriError::Scheme)?;
        let secure = if scheme.eq_ignore_ascii_case("msrps") {
            true
        } else if scheme.eq_ignore_ascii_case("msrp") {
            false
        } else {
            return Err(UriError::Scheme);
        };
        let rest = rest.strip_prefix("//").ok_or(UriError::NoAuthority)?;
        // The authority ends at the first '/' (session-id) or ';' (params);
        // neither may occur in userinfo or host of an MSRP URI.
        let auth_end = rest.find(['/', ';']).unwrap_or(rest.len());
        let (authority, rest) = rest.split_at(auth_end);
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => {
                if !u.bytes().all(is_userinfo_byte) {
                    return Err(UriError::UserInfo);
                }
                (Some(u.to_owned()), h)
            }
            None => (None, authority),
        };
        let (host, port) = parse_hostport(hostport)?;
        let (session_id, rest) = match rest.strip_prefix('/') {
            Some(r) => {
                let end = r.find(';').unwrap_or(r.len());
                let (sid, rest) = r.split_at(end);
                if sid.is_empty() || !sid.bytes().all(is_session_id_byte) {
                    return Err(UriError::SessionId);
                }
                (Some(sid.to_owned()), rest)
            }
            None => (None, rest),
        };
        let rest = rest.strip_prefix(';').ok_or(UriError::NoTransport)?;
        let mut parts = rest.split(';');
        let transport = parts.next().unwrap_or("");
        if transport.is_empty() || !transport.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(UriError::Transport);
        }
        let mut params = Vec::new();
        for p in parts {
            let (name, value) = match p.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (p, None),
            };
            if !is_token(name) || value.is_some_and(|v| !is_token(v)) {
                return Err(UriError::Param);
            }
            params.push((name.to_owned(), value.map(str::to_owned)));
        }
        Ok(MsrpUri {
            secure,
            userinfo,
            host,
            port,
            session_id,
            transport: transport.to_owned(),
            params,
        })
    }

    pub fn scheme(&self) -> &'static str {
        if self.secure {
            "msrps"
        } else {
            "msrp"
        }
    }

    /// The value of parameter `name` (case-insensitive): `Some(None)` for a
    /// parameter without a value.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }
}

fn parse_hostport(s: &str) -> Result<(Host, Option<u16>), UriError> {
    let (host, port) = if let Some(r) = s.strip_prefix('[') {
        let (v6, after) = r.split_once(']').ok_or(UriError::Host)?;
        let addr = Ipv6Addr::from_str(v6).map_err(|_| UriError::Host)?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or(UriError::Port)?),
        };
        (Host::Ipv6(addr), port)
    } else {
        let (h, port) = match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        };
        if h.is_empty() || !h.bytes().all(is_reg_name_byte) {
            return Err(UriError::Host);
        }
        // A dotted quad is an address; anything else a name (RFC 3986
        // §3.2.2: reg-name is tried only when IPv4address fails).
        let host = match Ipv4Addr::from_str(h) {
            Ok(a) => Host::Ipv4(a),
            Err(_) => Host::Name(h.to_owned()),
        };
        (host, port)
    };
    let port = match port {
        None => None,
        Some(p) => {
            if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(UriError::Port);
            }
            Some(p.parse::<u16>().map_err(|_| UriError::Port)?)
        }
    };
    Ok((host, port))
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn is_sub_delim_no_semi(b: u8) -> bool {
    matches!(
        b,
        b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b'='
    )
}

fn is_userinfo_byte(b: u8) -> bool {
    is_unreserved(b) || is_sub_delim_no_semi(b) || matches!(b, b'%' | b':')
}

fn is_reg_name_byte(b: u8) -> bool {
    is_unreserved(b) || is_sub_delim_no_semi(b) || b == b'%'
}

fn is_session_id_byte(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'+' | b'=' | b'/')
}

pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
                )
        })
}

impl FromStr for MsrpUri {
    type Err = UriError;
    fn from_str(s: &str) -> Result<Self, UriError> {
        MsrpUri::parse(s)
    }
}

impl fmt::Display for MsrpUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme())?;
        if let Some(u) = &self.userinfo {
            write!(f, "{u}@")?;
        }
        write!(f, "{}", self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        if let Some(s) = &self.session_id {
            write!(f, "/{s}")?;
        }
        write!(f, ";{}", self.transport)?;
        for (n, v) in &self.params {
            match v {
                Some(v) => write!(f, ";{n}={v}")?,
                None => write!(f, ";{n}")?,
            }
        }
        Ok(())
    }
}

impl PartialEq for MsrpUri {
    fn eq(&self, other: &Self) -> bool {
        self.secure == other.secure
            && self.host == other.host
            && self.port == other.port
            && self.session_id == other.session_id
            && self.transport.eq_ignore_ascii_case(&other.transport)
    }
}

impl Eq for MsrpUri {}

impl Hash for MsrpUri {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.secure.hash(state);
        self.host.hash(state);
        self.port.hash(state);
        self.session_id.hash(state);
        for b in self.transport.bytes() {
            b.to_ascii_lowercase().hash(state);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> MsrpUri {
        MsrpUri::parse(s).unwrap()
    }

    #[test]
    fn parts() {
        let x = u("msrp://bob@biloxi.example.com:12763/kjhd37s2s20w2a;tcp;foo=bar;baz");
        assert!(!x.secure);
        assert_eq!(x.userinfo.as_deref(), Some("bob"));
        assert_eq!(x.host, Host::Name("biloxi.example.com".into()));
        assert_eq!(x.port, Some(12763));
        assert_eq!(x.session_id.as_deref(), Some("kjhd37s2s20w2a"));
        assert_eq!(x.transport, "tcp");
        assert_eq!(x.param("foo"), Some(Some("bar")));
        assert_eq!(x.param("baz"), Some(None));
        assert_eq!(
            x.to_string(),
            "msrp://bob@biloxi.example.com:12763/kjhd37s2s20w2a;tcp;foo=bar;baz"
        );
    }

    #[test]
    fn hosts() {
        assert_eq!(
            u("msrps://[2001:db8::1]:9000/s;tcp").host,
            Host::Ipv6("2001:db8::1".parse().unwrap())
        );
        assert_eq!(
            u("msrp://192.0.2.1/s;tcp").host,
            Host::Ipv4(Ipv4Addr::new(192, 0, 2, 1))
        );
        assert_eq!(u("msrps://relay.example.com;tcp").session_id, None);
    }

    #[test]
    fn refused() {
        for (s, e) in [
            ("sip://a;tcp", UriError::Scheme),
            ("msrp:a;tcp", UriError::NoAuthority),
            ("msrp://a/s", UriError::NoTransport),
            ("msrp://a:99999/s;tcp", UriError::Port),
            ("msrp://a:/s;tcp", UriError::Port),
            ("msrp://[::1/s;tcp", UriError::Host),
            ("msrp:///s;tcp", UriError::Host),
            ("msrp://a/;tcp", UriError::SessionId),
            ("msrp://a/s?x;tcp", UriError::SessionId),
            ("msrp://a/s;", UriError::Transport),
            ("msrp://a/s;tcp;=x", UriError::Param),
        ] {
            assert_eq!(MsrpUri::parse(s), Err(e), "{s}");
        }
    }

    #[test]
    fn rfc4975_6_1_comparison() {
        // Scheme and host without case; transport without case.
        assert_eq!(
            u("MSRP://Host.Example.COM:7/abc;TCP"),
            u("msrp://host.example.com:7/abc;tcp")
        );
        // Userinfo and other parameters take no part.
        assert_eq!(u("msrp://alice@h:7/abc;tcp;x=1"), u("msrp://h:7/abc;tcp"));
        // IPv6 addresses by value.
        assert_eq!(
            u("msrp://[2001:db8:0::1]:7/a;tcp"),
            u("msrp://[2001:DB8::1]:7/a;tcp")
        );
        // Session-id is case-sensitive.
        assert_ne!(u("msrp://h:7/abc;tcp"), u("msrp://h:7/ABC;tcp"));
        // An explicit port never equals an absent one.
        assert_ne!(u("msrp://h:2855/a;tcp"), u("msrp://h/a;tcp"));
        // A session-id never equals none.
        assert_ne!(u("msrp://h:7/a;tcp"), u("msrp://h:7;tcp"));
        // Different transports or schemes never match.
        assert_ne!(u("msrp://h:7/a;tcp"), u("msrp://h:7/a;sctp"));
        assert_ne!(u("msrp://h:7/a;tcp"), u("msrps://h:7/a;tcp"));
    }
}
