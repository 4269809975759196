//! Hosts of SIP URIs and Via headers: domain names, IPv4 addresses and
//! IPv6 references (RFC 3261 §25.1 `host`).

use std::borrow::Cow;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::error::SyntaxError;
use crate::grammar::{find_byte, is_host_char};

use super::parse_port;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host<'a> {
    Domain(Cow<'a, str>),
    V4(Ipv4Addr),
    V6(Ipv6Addr),
}

/// `b[start..end]` is a domain label: not empty, no '-' at either end.
#[inline]
fn label_ok(b: &[u8], start: usize, end: usize) -> bool {
    end > start
        && b.get(start) != Some(&b'-')
        && end.checked_sub(1).and_then(|l| b.get(l)) != Some(&b'-')
}

impl<'a> Host<'a> {
    pub fn parse(s: &'a str) -> Result<Self, SyntaxError> {
        let b = s.as_bytes();
        match b.first() {
            None => Err(SyntaxError::new("host", s)),
            Some(b'[') => {
                let inner = s
                    .get(1..s.len() - 1)
                    .filter(|_| b.last() == Some(&b']'))
                    .ok_or_else(|| SyntaxError::new("IPv6 reference", s))?;
                Ipv6Addr::from_str(inner)
                    .map(Host::V6)
                    .map_err(|_| SyntaxError::new("IPv6 address", s))
            }
            Some(_) => match Host::parse_prefix(s)? {
                (host, used) if used == s.len() => Ok(host),
                _ => Err(SyntaxError::new("host name", s)),
            },
        }
    }

    /// Reads a host from the start of `s` and returns it with the number
    /// of bytes read: one walk over its characters that checks its labels
    /// at each dot. [`Host::parse`] is this, reading all of `s`.
    pub(crate) fn parse_prefix(s: &'a str) -> Result<(Self, usize), SyntaxError> {
        let b = s.as_bytes();
        if b.first() == Some(&b'[') {
            let end = find_byte(s, b']').ok_or_else(|| SyntaxError::new("IPv6 reference", s))?;
            return Ok((Host::parse(s.get(..=end).unwrap_or(""))?, end + 1));
        }
        // One walk: the host's characters, its labels checked at each dot
        // (not empty, no '-' at either end), and where the top label starts.
        let mut i = 0;
        let mut label_start = 0;
        let mut labels_ok = true;
        while let Some(&c) = b.get(i) {
            if c == b'.' {
                labels_ok &= label_ok(b, label_start, i);
                label_start = i + 1;
            } else if !is_host_char(c) {
                break;
            }
            i += 1;
        }
        let text = s.get(..i).unwrap_or("");
        // Only digits and dots is IPv4 (names start their top label with a
        // letter); only worth a look when it starts with a digit.
        let numeric = b.first().is_some_and(u8::is_ascii_digit)
            && text.bytes().all(|c| c.is_ascii_digit() || c == b'.');
        // A trailing dot ends a name: its top label is the one before.
        let top_start = if label_start == i && i > 0 {
            b.get(..i - 1)
                .and_then(|n| n.iter().rposition(|c| *c == b'.'))
                .map_or(0, |d| d + 1)
        } else {
            labels_ok &= label_ok(b, label_start, i);
            label_start
        };
        let host = if i == 0 {
            return Err(SyntaxError::new("host", s));
        } else if numeric {
            Ipv4Addr::from_str(text)
                .map(Host::V4)
                .map_err(|_| SyntaxError::new("IPv4 address", text))?
        } else if labels_ok && b.get(top_start).is_some_and(u8::is_ascii_alphabetic) {
            // RFC 3261 §25.1 hostname: labels not empty and not starting or
            // ending with '-', the top label starting with a letter.
            // Underscores are not in RFC 1034 names but common in the wild
            // (SRV-style names); accepting them costs nothing.
            Host::Domain(Cow::Borrowed(text))
        } else {
            return Err(SyntaxError::new(
                "host name (labels of letters, digits, '-')",
                text,
            ));
        };
        Ok((host, i))
    }

    /// Reads `host[:port]` from the start of `s` (a URI's hostport) and
    /// returns it with the number of bytes read; what follows is the
    /// caller's to check.
    pub(crate) fn parse_hostport_prefix(
        s: &'a str,
    ) -> Result<(Self, Option<u16>, usize), SyntaxError> {
        let b = s.as_bytes();
        let (host, mut used) = Host::parse_prefix(s)?;
        let port = if b.get(used) == Some(&b':') {
            let digits = b.get(used + 1..).unwrap_or(&[]);
            let n = digits.iter().take_while(|c| c.is_ascii_digit()).count();
            let port = parse_port(digits.get(..n).unwrap_or(&[]))
                .ok_or_else(|| SyntaxError::new("port number", s.get(used..).unwrap_or("")))?;
            used += 1 + n;
            Some(port)
        } else {
            None
        };
        Ok((host, port, used))
    }

    pub fn into_owned(self) -> Host<'static> {
        match self {
            Host::Domain(d) => Host::Domain(Cow::Owned(d.into_owned())),
            Host::V4(a) => Host::V4(a),
            Host::V6(a) => Host::V6(a),
        }
    }

    /// Host comparison: domain names case-insensitively, addresses by value.
    pub fn equivalent(&self, other: &Host<'_>) -> bool {
        match (self, other) {
            (Host::Domain(a), Host::Domain(b)) => a.eq_ignore_ascii_case(b),
            (Host::V4(a), Host::V4(b)) => a == b,
            (Host::V6(a), Host::V6(b)) => a == b,
            _ => false,
        }
    }
}

impl fmt::Display for Host<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Domain(d) => f.write_str(d),
            Host::V4(a) => write!(f, "{a}"),
            Host::V6(a) => write!(f, "[{a}]"),
        }
    }
}
