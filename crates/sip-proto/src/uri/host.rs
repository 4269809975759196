//! Hosts of SIP URIs and Via headers: domain names, IPv4 addresses and
//! IPv6 references (RFC 3261 §25.1 `host`).

use std::borrow::Cow;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::error::SyntaxError;
use crate::grammar::{find_byte, is_host_char, padded16};
use wide::u8x32;

use super::read_port;

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

/// An IPv4 address from text known to hold only digits and dots: four
/// decimal octets of one to three digits, at most 255, no leading zero
/// (as the standard library reads them, in one pass over what is left).
fn ipv4_from_digits_and_dots(text: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let (mut n, mut value, mut digits) = (0usize, 0u32, 0u32);
    for &c in text {
        if c == b'.' {
            *octets.get_mut(n).filter(|_| digits > 0 && n < 3)? = u8::try_from(value).ok()?;
            (n, value, digits) = (n + 1, 0, 0);
        } else {
            if digits == 3 || (digits == 1 && value == 0) {
                return None;
            }
            value = value * 10 + u32::from(c.wrapping_sub(b'0'));
            digits += 1;
        }
    }
    *octets.get_mut(n).filter(|_| digits > 0 && n == 3)? = u8::try_from(value).ok()?;
    Some(Ipv4Addr::from(octets))
}

/// What the host grammar decides on, learnt from one look at the text.
#[derive(Debug, PartialEq, Eq)]
struct Shape {
    /// Host characters (letters, digits, '-', '.', '_') at the start.
    len: usize,
    /// Starts with a digit and holds only digits and dots: IPv4 or nothing
    /// (names start their top label with a letter).
    numeric: bool,
    /// No empty label and no label starting or ending with '-'; a final
    /// dot only ends the name.
    labels_ok: bool,
    /// The top label (the last one, before any final dot) starts with a
    /// letter.
    top_label_alpha: bool,
}

/// Bytes the vector look covers; longer hosts take the byte walk.
const VECTOR: usize = 32;

/// `b` (shorter than a vector) followed by zeros: sixteen bytes or more
/// as their first and last sixteen, two fixed copies that may overlap;
/// eight to fifteen by [`padded16`]; fewer copied as they are.
#[inline]
fn padded(b: &[u8]) -> Option<[u8; VECTOR]> {
    let mut bytes = [0u8; VECTOR];
    if let (Some(first), Some(last)) = (b.first_chunk::<16>(), b.last_chunk::<16>()) {
        *bytes.first_chunk_mut::<16>()? = *first;
        *bytes.get_mut(b.len() - 16..)?.first_chunk_mut::<16>()? = *last;
    } else if let Some(v) = padded16(b) {
        *bytes.first_chunk_mut::<16>()? = v;
    } else {
        bytes.get_mut(..b.len())?.copy_from_slice(b);
    }
    Some(bytes)
}

impl Shape {
    /// The shape from one 32-byte vector: each character class a bit mask,
    /// the label rules bit arithmetic on them. `None` when the host
    /// characters run to the end of the vector.
    #[inline]
    fn of_vector(b: &[u8]) -> Option<Shape> {
        // Zero is not a host character: the padding ends a short host.
        let bytes = match b.first_chunk::<VECTOR>() {
            Some(chunk) => *chunk,
            None => padded(b)?,
        };
        let v = u8x32::from(bytes);
        let between = |x: u8x32, low: u8, span: u8| {
            let d = x - u8x32::splat(low);
            d.min(u8x32::splat(span)).simd_eq(d).to_bitmask()
        };
        let alpha = between(v | u8x32::splat(0x20), b'a', b'z' - b'a');
        let digit = between(v, b'0', 9);
        let dot = v.simd_eq(u8x32::splat(b'.')).to_bitmask();
        let hyphen = v.simd_eq(u8x32::splat(b'-')).to_bitmask();
        let underscore = v.simd_eq(u8x32::splat(b'_')).to_bitmask();
        let len = (!(alpha | digit | dot | hyphen | underscore)).trailing_zeros();
        if len as usize >= VECTOR {
            return None;
        }
        if len == 0 {
            return Some(Shape {
                len: 0,
                numeric: false,
                labels_ok: false,
                top_label_alpha: false,
            });
        }
        let within = (1u32 << len) - 1;
        let (alpha, digit, dot, hyphen) = (
            alpha & within,
            digit & within,
            dot & within,
            hyphen & within,
        );
        let last = 1u32 << (len - 1);
        // Empty labels: a dot first, or two in a row.
        let empty = dot & 1 != 0 || dot & (dot << 1) != 0;
        // '-' opening a label (first, or after a dot) or closing one (last,
        // or before a dot).
        let bad_hyphen = hyphen & ((dot << 1) | 1 | (dot >> 1) | last) != 0;
        // The top label starts after the last dot that is not the final one.
        let inner_dots = if dot & last != 0 { dot & !last } else { dot };
        let top_start = u32::BITS - inner_dots.leading_zeros();
        Some(Shape {
            len: len as usize,
            numeric: digit & 1 != 0 && (digit | dot) == within,
            labels_ok: !empty && !bad_hyphen,
            top_label_alpha: (alpha >> top_start) & 1 != 0,
        })
    }

    /// The same, one byte at a time, checking labels at each dot.
    fn of_bytes(b: &[u8]) -> Shape {
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
        let text = b.get(..i).unwrap_or(&[]);
        let numeric = b.first().is_some_and(u8::is_ascii_digit)
            && text.iter().all(|c| c.is_ascii_digit() || *c == b'.');
        // A final dot ends a name: its top label is the one before.
        let top_start = if label_start == i && i > 0 {
            b.get(..i - 1)
                .and_then(|n| n.iter().rposition(|c| *c == b'.'))
                .map_or(0, |d| d + 1)
        } else {
            labels_ok &= label_ok(b, label_start, i);
            label_start
        };
        Shape {
            len: i,
            numeric,
            labels_ok: labels_ok && i > 0,
            top_label_alpha: text.get(top_start).is_some_and(u8::is_ascii_alphabetic),
        }
    }
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
    /// of bytes read: one vector look at its first 32 bytes (or a walk
    /// over longer ones) decides its characters, labels and kind.
    /// [`Host::parse`] is this, reading all of `s`.
    pub(crate) fn parse_prefix(s: &'a str) -> Result<(Self, usize), SyntaxError> {
        let b = s.as_bytes();
        if b.first() == Some(&b'[') {
            let end = find_byte(s, b']').ok_or_else(|| SyntaxError::new("IPv6 reference", s))?;
            return Ok((Host::parse(s.get(..=end).unwrap_or(""))?, end + 1));
        }
        let shape = Shape::of_vector(b).unwrap_or_else(|| Shape::of_bytes(b));
        let i = shape.len;
        let text = s.get(..i).unwrap_or("");
        let host = if i == 0 {
            return Err(SyntaxError::new("host", s));
        } else if shape.numeric {
            ipv4_from_digits_and_dots(text.as_bytes())
                .map(Host::V4)
                .ok_or_else(|| SyntaxError::new("IPv4 address", text))?
        } else if shape.labels_ok && shape.top_label_alpha {
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
            let (port, n) = read_port(b.get(used + 1..).unwrap_or(&[]))
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn shapes_of_usual_hosts() {
        let shape = |s: &str| Shape::of_vector(s.as_bytes()).unwrap();
        assert_eq!(
            shape("pc33.atlanta.example.com:5060"),
            Shape {
                len: 24,
                numeric: false,
                labels_ok: true,
                top_label_alpha: true
            }
        );
        assert_eq!(
            shape("192.0.2.10;branch"),
            Shape {
                len: 10,
                numeric: true,
                labels_ok: true,
                top_label_alpha: false
            }
        );
        assert!(!shape("a..b").labels_ok);
        assert!(!shape("-a.b").labels_ok);
        assert!(!shape("a-.b").labels_ok);
        assert!(!shape("a.-b").labels_ok);
        assert!(!shape("a.b-").labels_ok);
        assert!(shape("a.b.").labels_ok && shape("a.b.").top_label_alpha);
        assert!(!shape("a.1b").top_label_alpha);
        assert!(Shape::of_vector(b"a-host-name-of-exactly-32-bytes.").is_none());
    }

    proptest! {
        /// The vector look and the byte walk agree on every text.
        #[test]
        fn vector_and_byte_walk_agree(
            text in proptest::collection::vec(
                prop::sample::select(b"aZ09.-_:;>[ \x00\xc3\xa9".to_vec()), 0..40)
        ) {
            if let Some(v) = Shape::of_vector(&text) {
                prop_assert_eq!(v, Shape::of_bytes(&text));
            } else {
                prop_assert!(Shape::of_bytes(&text).len >= VECTOR);
            }
        }

        /// The IPv4 reader refuses and accepts what the standard library's does.
        #[test]
        fn ipv4_reader_agrees_with_std(s in "[0-9]{0,4}(\\.[0-9]{0,4}){0,4}\\.?") {
            prop_assert_eq!(ipv4_from_digits_and_dots(s.as_bytes()), Ipv4Addr::from_str(&s).ok());
        }

        /// Every address reads back from its text.
        #[test]
        fn ipv4_reader_reads_every_address(a: [u8; 4]) {
            let addr = Ipv4Addr::from(a);
            prop_assert_eq!(ipv4_from_digits_and_dots(addr.to_string().as_bytes()), Some(addr));
        }
    }
}
