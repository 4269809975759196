//! MIME multipart bodies (RFC 2046 §5.1): multipart/mixed, /alternative,
//! /related and friends, as carried by SIP (RFC 3261 §7.4, RFC 5621).
//!
//! Parts are slices of the message body; a part that is itself multipart
//! is parsed by calling [`Multipart::parse`] on it again.

use bytes::{BufMut, Bytes, BytesMut};
use memchr::memmem;

use crate::error::{ParseError, SyntaxError};
use crate::headers::{ContentType, HeaderName, Headers, MediaType};
use crate::parser::Limits;

/// One body part: its MIME headers and content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub headers: Headers,
    pub body: Bytes,
}

impl Part {
    pub fn new(content_type: &str, body: impl Into<Bytes>) -> Part {
        let mut headers = Headers::new();
        headers.push(HeaderName::ContentType, content_type.to_owned());
        Part {
            headers,
            body: body.into(),
        }
    }

    pub fn content_type(&self) -> Option<Result<ContentType<'_>, ParseError>> {
        self.headers.typed::<ContentType>()
    }
}

/// A parsed multipart body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Multipart {
    pub boundary: String,
    pub parts: Vec<Part>,
}

/// At most this many parts are read from one body.
pub const MAX_PARTS: usize = 64;

impl Multipart {
    pub fn new(boundary: impl Into<String>) -> Multipart {
        Multipart {
            boundary: boundary.into(),
            parts: Vec::new(),
        }
    }

    /// Parses `body` whose Content-Type is `content_type` (a multipart type
    /// with a boundary parameter), at most [`MAX_PARTS`] parts.
    pub fn parse(content_type: &MediaType<'_>, body: &Bytes) -> Result<Multipart, ParseError> {
        Multipart::parse_bounded(content_type, body, MAX_PARTS)
    }

    /// [`parse`](Self::parse) with another bound on the parts (a resource
    /// list's NOTIFY has one per member, RFC 4662 §5): a body with more
    /// is refused.
    pub fn parse_bounded(
        content_type: &MediaType<'_>,
        body: &Bytes,
        max_parts: usize,
    ) -> Result<Multipart, ParseError> {
        let err = |expected| ParseError::header("Content-Type", SyntaxError::new(expected, ""));
        if !content_type.mtype.eq_ignore_ascii_case("multipart") {
            return Err(err("a multipart media type"));
        }
        let boundary = content_type
            .boundary()
            .ok_or_else(|| err("a boundary parameter"))?;
        // RFC 2046: 1 to 70 characters.
        if boundary.is_empty() || boundary.len() > 70 {
            return Err(err("a boundary of 1 to 70 characters"));
        }
        let delim = format!("--{boundary}");
        let body_err = |expected| ParseError::Multipart(SyntaxError::new(expected, ""));
        let finder = memmem::Finder::new(delim.as_bytes());
        // The first delimiter may open the body or follow a preamble line.
        // Line ends are CRLF per RFC 2046; a bare LF is accepted the same
        // way everywhere, so what parses also rebuilds to the same parts.
        let first = finder
            .find_iter(body)
            .find(|&i| i == 0 || body.get(i - 1) == Some(&b'\n'))
            .ok_or_else(|| body_err("an opening boundary delimiter"))?;
        let mut pos = first + delim.len();
        let mut parts = Vec::new();
        let next = format!("\n{delim}");
        let next_finder = memmem::Finder::new(next.as_bytes());
        loop {
            if body.get(pos..pos + 2) == Some(b"--") {
                break;
            }
            // Skip transport padding, then the CRLF ending the delimiter line.
            while body.get(pos).is_some_and(|b| *b == b' ' || *b == b'\t') {
                pos += 1;
            }
            if body.get(pos..pos + 2) == Some(b"\r\n") {
                pos += 2;
            } else if body.get(pos) == Some(&b'\n') {
                pos += 1;
            } else {
                return Err(body_err("CRLF after a boundary delimiter"));
            }
            let rest = body.get(pos..).unwrap_or(&[]);
            let end = next_finder
                .find(rest)
                .ok_or_else(|| body_err("a closing boundary delimiter"))?;
            if parts.len() >= max_parts {
                return Err(body_err("no more body parts than the limit"));
            }
            // The line end before a delimiter belongs to the delimiter.
            let content_end = if end > 0 && rest.get(end - 1) == Some(&b'\r') {
                end - 1
            } else {
                end
            };
            parts.push(parse_part(body.slice(pos..pos + content_end))?);
            pos += end + next.len();
        }
        Ok(Multipart {
            boundary: boundary.into_owned(),
            parts,
        })
    }

    /// The Content-Type value for this body with the given subtype
    /// ("mixed", "alternative", ...).
    pub fn content_type(&self, subtype: &str) -> String {
        format!("multipart/{subtype};boundary={}", self.boundary)
    }

    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::new();
        for p in &self.parts {
            out.put_slice(b"--");
            out.put_slice(self.boundary.as_bytes());
            out.put_slice(b"\r\n");
            for h in p.headers.iter() {
                crate::message::put_line_safe(&mut out, h.name.as_str().as_bytes());
                out.put_slice(b": ");
                crate::message::put_line_safe(&mut out, h.value.as_bytes());
                out.put_slice(b"\r\n");
            }
            out.put_slice(b"\r\n");
            out.put_slice(&p.body);
            out.put_slice(b"\r\n");
        }
        out.put_slice(b"--");
        out.put_slice(self.boundary.as_bytes());
        out.put_slice(b"--\r\n");
        out.freeze()
    }
}

fn parse_part(content: Bytes) -> Result<Part, ParseError> {
    // No headers: the part starts with the blank line.
    if content.starts_with(b"\r\n") {
        return Ok(Part {
            headers: Headers::new(),
            body: content.slice(2..),
        });
    }
    // Reuse the message header splitter: a fake start line keeps the code
    // path identical, and limits apply the same way.
    let mut framed = BytesMut::with_capacity(content.len() + 16);
    framed.put_slice(b"SIP/2.0 200 \r\n");
    framed.put_slice(&content);
    let framed = framed.freeze();
    let msg = crate::parser::parse_datagram(framed, &Limits::default())?;
    Ok(Part {
        headers: msg.headers().clone(),
        body: msg.body().clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_alternative() {
        let mut m = Multipart::new("b1");
        m.parts.push(Part::new("text/plain", "hello"));
        m.parts.push(Part::new("text/html", "<p>hello</p>"));
        let bytes = m.to_bytes();
        let ct = m.content_type("alternative");
        let mt = MediaType::parse(&ct).unwrap();
        assert_eq!(Multipart::parse(&mt, &bytes).unwrap(), m);
    }

    /// Found by the `multipart` fuzz target: a delimiter after a bare LF
    /// is a delimiter, so a parsed part never holds one and rebuilds alike.
    #[test]
    fn bare_lf_before_delimiter() {
        let mt = MediaType::parse("multipart/mixed;boundary=b1").unwrap();
        let body = Bytes::from_static(b"--b1\n\n--b1--\\1-TV\r\n--b1--\\1");
        let m = Multipart::parse(&mt, &body).unwrap();
        assert_eq!(m.parts.len(), 1);
        assert!(m.parts[0].body.is_empty());
        assert_eq!(Multipart::parse(&mt, &m.to_bytes()).unwrap(), m);
    }

    #[test]
    fn refuses_missing_close() {
        let mt = MediaType::parse("multipart/mixed;boundary=x").unwrap();
        let body = Bytes::from_static(b"--x\r\nContent-Type: text/plain\r\n\r\nhi");
        assert!(Multipart::parse(&mt, &body).is_err());
        let mt = MediaType::parse("multipart/mixed").unwrap();
        assert!(Multipart::parse(&mt, &body).is_err());
    }
}
