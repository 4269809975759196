//! Via (RFC 3261 §20.42, RFC 3581 rport).

use std::borrow::Cow;
use std::fmt;

use super::{HeaderName, TypedHeader};
use crate::error::SyntaxError;
use crate::grammar::{fold_name, Cursor};
use crate::params::Params;
use crate::uri::Host;

/// The transport of a Via's sent-protocol (any token is legal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport<'a> {
    Udp,
    Tcp,
    Tls,
    Sctp,
    Ws,
    Wss,
    Other(Cow<'a, str>),
}

impl<'a> Transport<'a> {
    pub fn parse(s: &'a str) -> Transport<'a> {
        let mut buf = [0u8; 4];
        if let Some(dst) = buf.get_mut(..s.len()) {
            for (d, c) in dst.iter_mut().zip(s.bytes()) {
                *d = c.to_ascii_uppercase();
            }
            match &*dst {
                b"UDP" => return Transport::Udp,
                b"TCP" => return Transport::Tcp,
                b"TLS" => return Transport::Tls,
                b"SCTP" => return Transport::Sctp,
                b"WS" => return Transport::Ws,
                b"WSS" => return Transport::Wss,
                _ => {}
            }
        }
        Transport::Other(Cow::Borrowed(s))
    }

    pub fn as_str(&self) -> &str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
            Transport::Sctp => "SCTP",
            Transport::Ws => "WS",
            Transport::Wss => "WSS",
            Transport::Other(s) => s,
        }
    }

    /// Whether the transport is reliable (changes timers, RFC 3261 §17).
    pub fn is_reliable(&self) -> bool {
        !matches!(self, Transport::Udp)
    }

    pub fn into_owned(self) -> Transport<'static> {
        match self {
            Transport::Udp => Transport::Udp,
            Transport::Tcp => Transport::Tcp,
            Transport::Tls => Transport::Tls,
            Transport::Sctp => Transport::Sctp,
            Transport::Ws => Transport::Ws,
            Transport::Wss => Transport::Wss,
            Transport::Other(s) => Transport::Other(Cow::Owned(s.into_owned())),
        }
    }
}

/// One Via value: `SIP/2.0/UDP host:port;branch=...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via<'a> {
    pub protocol_name: Cow<'a, str>,
    pub protocol_version: Cow<'a, str>,
    pub transport: Transport<'a>,
    pub host: Host<'a>,
    pub port: Option<u16>,
    pub params: Params<'a>,
}

/// RFC 3261 §8.1.1.7: branches starting with this were made by a
/// RFC 3261 element and are unique across space and time.
pub const BRANCH_MAGIC_COOKIE: &str = "z9hG4bK";

impl<'a> Via<'a> {
    pub fn new(
        transport: Transport<'a>,
        host: Host<'a>,
        port: Option<u16>,
        branch: impl Into<Cow<'a, str>>,
    ) -> Self {
        let mut params = Params::new();
        params.set("branch", Some(branch.into()));
        Via {
            protocol_name: Cow::Borrowed("SIP"),
            protocol_version: Cow::Borrowed("2.0"),
            transport,
            host,
            port,
            params,
        }
    }

    pub fn branch(&self) -> Option<&str> {
        self.params.get("branch").flatten()
    }

    /// Whether the branch carries the RFC 3261 magic cookie followed by
    /// something unique (a bare cookie identifies nothing, RFC 4475 §3.2.1).
    pub fn has_rfc3261_branch(&self) -> bool {
        self.branch().is_some_and(|b| {
            b.len() > BRANCH_MAGIC_COOKIE.len() && b.starts_with(BRANCH_MAGIC_COOKIE)
        })
    }

    pub fn received(&self) -> Option<&str> {
        self.params.get("received").flatten()
    }

    /// `None`: no rport; `Some(None)`: rport requested (no value yet);
    /// `Some(Some(p))`: filled in by the server. A non-numeric value is
    /// treated as absent.
    pub fn rport(&self) -> Option<Option<u16>> {
        match self.params.get("rport")? {
            None => Some(None),
            Some(v) => v.parse().ok().map(Some),
        }
    }

    pub fn maddr(&self) -> Option<&str> {
        self.params.get("maddr").flatten()
    }

    pub fn ttl(&self) -> Option<u8> {
        self.params
            .get("ttl")
            .flatten()
            .and_then(|v| v.parse().ok())
    }

    pub fn into_owned(self) -> Via<'static> {
        Via {
            protocol_name: Cow::Owned(self.protocol_name.into_owned()),
            protocol_version: Cow::Owned(self.protocol_version.into_owned()),
            transport: self.transport.into_owned(),
            host: self.host.into_owned(),
            port: self.port,
            params: self.params.into_owned(),
        }
    }
}

/// The parameters RFC 3261 and RFC 3581 give a syntax: branch, received
/// and maddr need a value, ttl is 0-255, rport is empty or a port.
fn via_param_ok(name: &[u8], v: Option<&[u8]>) -> bool {
    // The usual lowercase spellings first, without the case fold.
    match name {
        b"branch" | b"received" => return v.is_some(),
        b"rport" if v.is_none() => return true,
        _ => {}
    }
    via_param_ok_any_case(name, v)
}

/// [`via_param_ok`] for other spellings and names, kept out of line: the
/// parameter walk it is inlined into stays small.
#[cold]
#[inline(never)]
fn via_param_ok_any_case(name: &[u8], v: Option<&[u8]>) -> bool {
    let mut buf = [0u8; 8];
    let Some(lower) = fold_name(name, &mut buf) else {
        return true;
    };
    // ttl = 1*3DIGIT (0-255), rport = [EQUAL 1*DIGIT] (a port): digits
    // only, all of the value.
    let number = |t: &[u8]| crate::uri::read_port(t).filter(|(_, used)| *used == t.len());
    match lower {
        b"branch" | b"received" | b"maddr" => v.is_some(),
        b"ttl" => v.is_some_and(|t| number(t).is_some_and(|(n, used)| used <= 3 && n <= 255)),
        b"rport" => v.is_none_or(|t| number(t).is_some()),
        _ => true,
    }
}

impl<'a> TypedHeader<'a> for Via<'a> {
    const NAME: HeaderName = HeaderName::Via;
    const LIST: bool = true;

    fn parse(value: &'a str) -> Result<Self, SyntaxError> {
        let mut c = Cursor::new(value);
        let (protocol_name, protocol_version) = match value.get(..8) {
            // Nearly every Via: no need to walk tokens and separators.
            Some("SIP/2.0/") => {
                c.advance(8);
                ("SIP", "2.0")
            }
            _ => {
                // sent-protocol allows LWS around each SLASH (RFC 4475 §3.1.1.1).
                let name = c.token("Via protocol name")?;
                if !c.eat_sep(b'/') {
                    return Err(SyntaxError::new("'/' in Via sent-protocol", c.rest()));
                }
                let version = c.token("Via protocol version")?;
                if !c.eat_sep(b'/') {
                    return Err(SyntaxError::new("'/' in Via sent-protocol", c.rest()));
                }
                (name, version)
            }
        };
        // LWS may follow the last SLASH too.
        c.skip_ws();
        // The usual transports as senders write them, then any token.
        let transport = match c.rest().as_bytes() {
            [b'U', b'D', b'P', b' ', ..] => {
                c.advance(3);
                Transport::Udp
            }
            [b'T', b'C', b'P', b' ', ..] => {
                c.advance(3);
                Transport::Tcp
            }
            [b'T', b'L', b'S', b' ', ..] => {
                c.advance(3);
                Transport::Tls
            }
            _ => Transport::parse(c.token("Via transport")?),
        };
        c.skip_ws();
        // sent-by = host [ COLON port ], COLON = SWS ":" SWS (RFC 3261 §25.1).
        if c.is_empty() {
            return Err(SyntaxError::new("Via sent-by", c.rest()));
        }
        let (host, used) = Host::parse_prefix(c.rest())?;
        c.advance(used);
        let port = if c.eat_sep(b':') {
            let (port, n) = crate::uri::read_port(c.rest().as_bytes())
                .ok_or_else(|| SyntaxError::new("Via port number", c.rest()))?;
            c.advance(n);
            Some(port)
        } else {
            None
        };
        let params = Params::parse_header_checked(&mut c, via_param_ok, "valid Via parameter")?;
        c.expect_end("end of Via value")?;
        Ok(Via {
            protocol_name: Cow::Borrowed(protocol_name),
            protocol_version: Cow::Borrowed(protocol_version),
            transport,
            host,
            port,
            params,
        })
    }
}

impl fmt::Display for Via<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{} {}",
            self.protocol_name,
            self.protocol_version,
            self.transport.as_str(),
            self.host
        )?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, "{}", self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tortuous_via() {
        let v =
            Via::parse("SIP  /    2.0   / UDP  192.168.255.111   ; branch= z9hG4bK30239").unwrap();
        assert_eq!(v.transport, Transport::Udp);
        assert_eq!(v.host, Host::V4([192, 168, 255, 111].into()));
        assert_eq!(v.branch(), Some("z9hG4bK30239"));
        assert_eq!(
            v.to_string(),
            "SIP/2.0/UDP 192.168.255.111;branch=z9hG4bK30239"
        );
    }

    #[test]
    fn rport_and_received() {
        let v = Via::parse(
            "SIP/2.0/UDP [2001:db8::9]:5070;branch=z9hG4bKx;rport=5071;received=192.0.2.1",
        )
        .unwrap();
        assert_eq!(v.rport(), Some(Some(5071)));
        assert_eq!(v.received(), Some("192.0.2.1"));
        assert_eq!(v.port, Some(5070));
        // Any case, at the limits of their ranges.
        assert!(Via::parse("SIP/2.0/UDP h;TTL=255;RPORT=65535;Branch=z9hG4bKq;maddr=m").is_ok());
        assert!(Via::parse("SIP/2.0/UDP h;ttl=0;rport=0;branch=z9hG4bKq").is_ok());
        let v = Via::parse("SIP/2.0/TCP h;rport;branch=z9hG4bKy").unwrap();
        assert_eq!(v.rport(), Some(None));
        assert!(v.has_rfc3261_branch());
    }

    #[test]
    fn transports_any_case_and_unknown() {
        for (text, want) in [
            ("SIP/2.0/UDP h", Transport::Udp),
            ("SIP/2.0/udp h", Transport::Udp),
            ("SIP/2.0/UDP\th", Transport::Udp),
            ("SIP/2.0/TCP h", Transport::Tcp),
            ("SIP/2.0/TLS h", Transport::Tls),
            ("SIP / 2.0 / tls h", Transport::Tls),
            ("SIP/2.0/WSS h", Transport::Wss),
            ("SIP/2.0/TCPX h", Transport::Other("TCPX".into())),
        ] {
            assert_eq!(Via::parse(text).map(|v| v.transport), Ok(want), "{text:?}");
        }
    }

    #[test]
    fn unknown_and_long_parameters_pass() {
        let v = Via::parse("SIP/2.0/UDP host;branch=z9hG4bKa;x_y;received-by=1;a-very-long-name")
            .unwrap();
        assert_eq!(v.params.len(), 4);
    }

    #[test]
    fn refused() {
        for bad in [
            "SIP/2.0/UDP 192.0.2.15;;",
            "",
            "SIP/2.0 host",
            "SIP/2.0/UDP",
            "SIP/2.0/UDP host;ttl=300",
            "SIP/2.0/UDP host;branch",
            "SIP/2.0/UDP host;BRANCH",
            "SIP/2.0/UDP host;Received",
            "SIP/2.0/UDP host;received",
            "SIP/2.0/UDP host;rport=x1",
            "SIP/2.0/UDP host;rport=+5060",
            "SIP/2.0/UDP host;ttl=+5",
            "SIP/2.0/UDP host;ttl=",
            "SIP/2.0/UDP host;maddr",
            "SIP/2.0/UDP host;rport=",
            "SIP/2.0/UDP host;RPort=70000",
            "SIP/2.0/UDP host;TTL=1000",
            "SIP/2.0/UDP host extra",
            "SIP/2.0/UDP h!x;branch=z9hG4bK1",
            "SIP/2.0/UDP [::1;branch=z9hG4bK1",
            "SIP/2.0/UDP ",
            "SIP/2.0/UDP a..b",
            "SIP/2.0/UDP h:99999",
        ] {
            assert!(Via::parse(bad).is_err(), "{bad:?}");
        }
    }
}
