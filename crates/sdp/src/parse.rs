//! The parser: one pass over the lines in the order RFC 8866 §5 fixes,
//! bounded in size, lines, media and attributes. Line ends may be CRLF or
//! a bare LF (RFC 8866 §5 asks parsers to accept both).

use crate::error::{ErrorKind, SdpError};
use crate::model::{
    AddrType, Attribute, Bandwidth, Connection, Media, Origin, SessionDescription, Timing,
};

/// Bounds on what the parser accepts.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_len: usize,
    pub max_lines: usize,
    pub max_media: usize,
    pub max_attributes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_len: 64 * 1024,
            max_lines: 2048,
            max_media: 64,
            max_attributes: 512,
        }
    }
}

/// Session-level line types in their order; each may appear where its
/// rank is not below the previous line's.
fn session_rank(t: char) -> Option<u8> {
    Some(match t {
        'v' => 0,
        'o' => 1,
        's' => 2,
        'i' => 3,
        'u' => 4,
        'e' => 5,
        'p' => 6,
        'c' => 7,
        'b' => 8,
        't' | 'r' => 9,
        'z' => 10,
        'k' => 11,
        'a' => 12,
        _ => return None,
    })
}

fn media_rank(t: char) -> Option<u8> {
    Some(match t {
        'i' => 1,
        'c' => 2,
        'b' => 3,
        'k' => 4,
        'a' => 5,
        _ => return None,
    })
}

const SESSION_ORDER: &str = "v o s i u e p c b t r z k a, then m";
const MEDIA_ORDER: &str = "i c b k a after m";

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`{|}~".contains(&b))
}

fn number<T: std::str::FromStr>(line: usize, what: &'static str, s: &str) -> Result<T, SdpError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SdpError::malformed(line, what, s));
    }
    s.parse().map_err(|_| SdpError::malformed(line, what, s))
}

fn origin(line: usize, v: &str) -> Result<Origin, SdpError> {
    let f: Vec<&str> = v.split(' ').collect();
    let [username, session_id, version, net_type, addr_type, address] = f.as_slice() else {
        return Err(SdpError::malformed(line, "origin (o=)", v));
    };
    if [username, session_id, net_type, addr_type, address]
        .iter()
        .any(|s| s.is_empty())
    {
        return Err(SdpError::malformed(line, "origin (o=)", v));
    }
    if !session_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SdpError::malformed(line, "origin session id", session_id));
    }
    Ok(Origin {
        username: (*username).to_owned(),
        session_id: (*session_id).to_owned(),
        session_version: number(line, "origin session version", version)?,
        net_type: (*net_type).to_owned(),
        addr_type: AddrType::parse(addr_type),
        address: (*address).to_owned(),
    })
}

fn connection(line: usize, v: &str) -> Result<Connection, SdpError> {
    let f: Vec<&str> = v.split(' ').collect();
    let [net_type, addr_type, address] = f.as_slice() else {
        return Err(SdpError::malformed(line, "connection (c=)", v));
    };
    let mut parts = address.split('/');
    let host = parts.next().unwrap_or_default();
    if net_type.is_empty() || addr_type.is_empty() || host.is_empty() {
        return Err(SdpError::malformed(line, "connection (c=)", v));
    }
    let addr_type = AddrType::parse(addr_type);
    let extra: Vec<&str> = parts.collect();
    // IPv4 multicast carries a TTL before the count; IPv6 only a count.
    let (ttl, count) = match (&addr_type, extra.as_slice()) {
        (_, []) => (None, None),
        (AddrType::Ip4, [ttl]) => (Some(number(line, "connection TTL", ttl)?), None),
        (AddrType::Ip4, [ttl, count]) => (
            Some(number(line, "connection TTL", ttl)?),
            Some(number(line, "connection address count", count)?),
        ),
        (AddrType::Ip6, [count]) => (None, Some(number(line, "connection address count", count)?)),
        _ => return Err(SdpError::malformed(line, "connection address", address)),
    };
    Ok(Connection {
        net_type: (*net_type).to_owned(),
        addr_type,
        address: host.to_owned(),
        ttl,
        count,
    })
}

fn bandwidth(line: usize, v: &str) -> Result<Bandwidth, SdpError> {
    let (kind, value) = v
        .split_once(':')
        .ok_or_else(|| SdpError::malformed(line, "bandwidth (b=)", v))?;
    if !is_token(kind) {
        return Err(SdpError::malformed(line, "bandwidth type", kind));
    }
    Ok(Bandwidth {
        kind: kind.to_owned(),
        value: number(line, "bandwidth", value)?,
    })
}

fn timing(line: usize, v: &str) -> Result<Timing, SdpError> {
    let (start, stop) = v
        .split_once(' ')
        .ok_or_else(|| SdpError::malformed(line, "timing (t=)", v))?;
    Ok(Timing {
        start: number(line, "start time", start)?,
        stop: number(line, "stop time", stop)?,
        repeats: Vec::new(),
    })
}

fn attribute(line: usize, v: &str) -> Result<Attribute, SdpError> {
    let (name, value) = match v.split_once(':') {
        Some((n, val)) => (n, Some(val.to_owned())),
        None => (v, None),
    };
    if !is_token(name) {
        return Err(SdpError::malformed(line, "attribute name", name));
    }
    Ok(Attribute {
        name: name.to_owned(),
        value,
    })
}

fn media(line: usize, v: &str) -> Result<Media, SdpError> {
    let mut f = v.split(' ');
    let kind = f.next().unwrap_or_default();
    let port = f.next().unwrap_or_default();
    let protocol = f.next().unwrap_or_default();
    let formats: Vec<String> = f.map(str::to_owned).collect();
    if !is_token(kind) || protocol.is_empty() || formats.is_empty() {
        return Err(SdpError::malformed(line, "media (m=)", v));
    }
    if formats.iter().any(|f| f.is_empty()) {
        return Err(SdpError::malformed(line, "media formats", v));
    }
    let (port, port_count) = match port.split_once('/') {
        Some((p, n)) => (
            number(line, "media port", p)?,
            Some(number(line, "media port count", n)?),
        ),
        None => (number(line, "media port", port)?, None),
    };
    let mut m = Media::new(kind, port, protocol, formats);
    m.port_count = port_count;
    Ok(m)
}

impl SessionDescription {
    /// Parses with the default [`Limits`].
    pub fn parse(text: &[u8]) -> Result<SessionDescription, SdpError> {
        Self::parse_with(text, &Limits::default())
    }

    pub fn parse_with(text: &[u8], limits: &Limits) -> Result<SessionDescription, SdpError> {
        if text.len() > limits.max_len {
            return Err(SdpError::at(
                0,
                ErrorKind::TooLarge(text.len(), limits.max_len),
            ));
        }
        let text = std::str::from_utf8(text).map_err(|_| SdpError::at(0, ErrorKind::NotUtf8))?;
        let mut parser = Parser {
            limits,
            session: None,
            rank: 0,
            seen_v: false,
            seen_s: false,
            media_rank: 0,
        };
        let mut n = 0;
        for raw in text.split('\n') {
            n += 1;
            if n > limits.max_lines {
                return Err(SdpError::at(n, ErrorKind::TooManyLines(limits.max_lines)));
            }
            let l = raw.strip_suffix('\r').unwrap_or(raw);
            if l.is_empty() {
                // Only a final line end may leave an empty "line".
                if text
                    .split('\n')
                    .nth(n)
                    .is_some_and(|rest| !rest.trim().is_empty())
                {
                    return Err(SdpError::at(n, ErrorKind::NotALine(String::new())));
                }
                continue;
            }
            // Text fields may not carry CR or NUL (RFC 8866 §5); a value
            // with one could not be written back as it was read.
            if l.contains(['\r', '\0']) {
                return Err(SdpError::malformed(n, "line (CR or NUL inside)", l));
            }
            parser.line(n, l)?;
        }
        parser.finish()
    }
}

struct Parser<'l> {
    limits: &'l Limits,
    session: Option<SessionDescription>,
    /// Rank of the last session-level line.
    rank: u8,
    seen_v: bool,
    seen_s: bool,
    /// Rank of the last line in the current media section.
    media_rank: u8,
}

impl Parser<'_> {
    fn line(&mut self, n: usize, l: &str) -> Result<(), SdpError> {
        let mut chars = l.chars();
        let (Some(t), Some('=')) = (chars.next(), chars.next()) else {
            return Err(SdpError::at(
                n,
                ErrorKind::NotALine(l.chars().take(80).collect()),
            ));
        };
        let v = l.get(2..).unwrap_or_default();
        if !self.seen_v {
            if t != 'v' {
                return Err(SdpError::at(n, ErrorKind::Missing('v')));
            }
            if v != "0" {
                return Err(SdpError::at(n, ErrorKind::Version(v.to_owned())));
            }
            self.seen_v = true;
            return Ok(());
        }
        let in_media = self.session.as_ref().is_some_and(|s| !s.media.is_empty());
        if t == 'm' {
            let session = self.session.as_mut().ok_or_else(|| {
                SdpError::at(
                    n,
                    ErrorKind::OutOfOrder {
                        found: 'm',
                        expected: SESSION_ORDER,
                    },
                )
            })?;
            if session.timings.is_empty() {
                return Err(SdpError::at(n, ErrorKind::Missing('t')));
            }
            if session.media.len() >= self.limits.max_media {
                return Err(SdpError::at(
                    n,
                    ErrorKind::TooManyMedia(self.limits.max_media),
                ));
            }
            session.media.push(media(n, v)?);
            self.media_rank = 0;
            return Ok(());
        }
        if in_media {
            return self.media_line(n, t, v);
        }
        self.session_line(n, t, v)
    }

    fn session_line(&mut self, n: usize, t: char, v: &str) -> Result<(), SdpError> {
        let rank = session_rank(t).ok_or_else(|| match t {
            'v' => SdpError::at(n, ErrorKind::Repeated('v')),
            _ => SdpError::at(n, ErrorKind::UnknownType(t)),
        })?;
        if rank < self.rank {
            return Err(SdpError::at(
                n,
                ErrorKind::OutOfOrder {
                    found: t,
                    expected: SESSION_ORDER,
                },
            ));
        }
        // `t=` and `r=` share a rank: an `r=` follows its `t=`, a new
        // `t=` may follow an `r=`.
        if rank == self.rank && !matches!(t, 'e' | 'p' | 'b' | 't' | 'r' | 'a') {
            return Err(SdpError::at(n, ErrorKind::Repeated(t)));
        }
        if rank > 2 && !self.seen_s {
            return Err(SdpError::at(n, ErrorKind::Missing('s')));
        }
        self.rank = rank;
        match t {
            'o' => {
                self.session = Some(SessionDescription::new(origin(n, v)?));
                if let Some(s) = self.session.as_mut() {
                    s.timings.clear();
                }
            }
            's' => match self.session.as_mut() {
                Some(session) => {
                    session.session_name = v.to_owned();
                    self.seen_s = true;
                }
                None => return Err(SdpError::at(n, ErrorKind::Missing('o'))),
            },
            _ => {
                let max_attributes = self.limits.max_attributes;
                let s = self.ready(n)?;
                match t {
                    'i' => s.information = Some(v.to_owned()),
                    'u' => s.uri = Some(v.to_owned()),
                    'e' => s.emails.push(v.to_owned()),
                    'p' => s.phones.push(v.to_owned()),
                    'c' => s.connection = Some(connection(n, v)?),
                    'b' => s.bandwidths.push(bandwidth(n, v)?),
                    't' => s.timings.push(timing(n, v)?),
                    'r' => match s.timings.last_mut() {
                        Some(t) => t.repeats.push(v.to_owned()),
                        None => return Err(SdpError::at(n, ErrorKind::Missing('t'))),
                    },
                    'z' => s.time_zones = Some(v.to_owned()),
                    'k' => s.key = Some(v.to_owned()),
                    _ => {
                        if s.attributes.len() >= max_attributes {
                            return Err(SdpError::at(
                                n,
                                ErrorKind::TooManyAttributes(max_attributes),
                            ));
                        }
                        s.attributes.push(attribute(n, v)?)
                    }
                }
            }
        }
        Ok(())
    }

    /// The session once `o=` and `s=` were read.
    fn ready(&mut self, n: usize) -> Result<&mut SessionDescription, SdpError> {
        self.session
            .as_mut()
            .ok_or(SdpError::at(n, ErrorKind::Missing('o')))
    }

    fn media_line(&mut self, n: usize, t: char, v: &str) -> Result<(), SdpError> {
        let rank = media_rank(t).ok_or_else(|| match session_rank(t) {
            Some(_) => SdpError::at(
                n,
                ErrorKind::OutOfOrder {
                    found: t,
                    expected: MEDIA_ORDER,
                },
            ),
            None => SdpError::at(n, ErrorKind::UnknownType(t)),
        })?;
        let repeatable = matches!(t, 'c' | 'b' | 'a');
        if rank < self.media_rank || (rank == self.media_rank && !repeatable) {
            return Err(SdpError::at(
                n,
                ErrorKind::OutOfOrder {
                    found: t,
                    expected: MEDIA_ORDER,
                },
            ));
        }
        self.media_rank = rank;
        let max_attributes = self.limits.max_attributes;
        let m = self
            .session
            .as_mut()
            .and_then(|s| s.media.last_mut())
            .ok_or(SdpError::at(n, ErrorKind::Missing('m')))?;
        match t {
            'i' => m.information = Some(v.to_owned()),
            'c' => m.connections.push(connection(n, v)?),
            'b' => m.bandwidths.push(bandwidth(n, v)?),
            'k' => m.key = Some(v.to_owned()),
            _ => {
                if m.attributes.len() >= max_attributes {
                    return Err(SdpError::at(
                        n,
                        ErrorKind::TooManyAttributes(max_attributes),
                    ));
                }
                m.attributes.push(attribute(n, v)?)
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Result<SessionDescription, SdpError> {
        if !self.seen_v {
            return Err(SdpError::at(0, ErrorKind::Empty));
        }
        let Some(s) = self.session.take() else {
            return Err(SdpError::at(0, ErrorKind::Missing('o')));
        };
        if !self.seen_s {
            return Err(SdpError::at(0, ErrorKind::Missing('s')));
        }
        if s.timings.is_empty() {
            return Err(SdpError::at(0, ErrorKind::Missing('t')));
        }
        if s.connection.is_none() {
            if let Some(i) = s.media.iter().position(|m| m.connections.is_empty()) {
                return Err(SdpError::at(0, ErrorKind::NoConnection(i)));
            }
        }
        Ok(s)
    }
}
