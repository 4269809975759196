//! Splitting bytes into messages: the start line, header lines (with line
//! folding) and the body, for datagrams and for byte streams.
//!
//! Work is bounded by [`Limits`]: no input makes the parser allocate or
//! scan more than the limits allow. Header values are slices of the input
//! buffer; only folded values are copied (to remove the fold).

use bytes::{Buf, Bytes, BytesMut};
use bytestring::ByteString;

mod head;

use crate::error::{ParseError, SyntaxError};
use crate::grammar::is_token;
use crate::headers::{HeaderName, Headers};
use crate::message::{Message, Method, Request, Response, StatusCode, Version};

/// Bounds on what the parser accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Start line and headers, including the blank line.
    pub max_head_bytes: usize,
    pub max_headers: usize,
    /// One header value after unfolding.
    pub max_header_bytes: usize,
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head_bytes: 32 * 1024,
            max_headers: 256,
            max_header_bytes: 8 * 1024,
            max_body_bytes: 1024 * 1024,
        }
    }
}

impl Limits {
    /// The largest message these limits admit.
    pub fn max_message_bytes(&self) -> usize {
        self.max_head_bytes.saturating_add(self.max_body_bytes)
    }
}

/// Number of leading CRLF (or LF) bytes before a start line; RFC 3261 §7.5
/// says to ignore them.
fn leading_newlines(buf: &[u8]) -> usize {
    buf.iter()
        .take_while(|b| **b == b'\r' || **b == b'\n')
        .count()
}

/// Finds the blank line ending the header section of `buf[from..]`.
/// Returns (end of the last header line including its newline, body start).
fn find_head_end(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    let hay = buf.get(from..)?;
    for i in memchr::memchr_iter(b'\n', hay) {
        let after = hay.get(i + 1..).unwrap_or(&[]);
        if after.starts_with(b"\r\n") {
            return Some((from + i + 1, from + i + 3));
        }
        if after.starts_with(b"\n") {
            return Some((from + i + 1, from + i + 2));
        }
    }
    None
}

fn parse_version(v: &[u8]) -> Result<Version, SyntaxError> {
    if v == b"SIP/2.0" {
        return Ok(Version::SIP_2_0);
    }
    let bad = || SyntaxError::new("SIP-Version like SIP/2.0", &String::from_utf8_lossy(v));
    let rest = match v.get(..4) {
        Some(p) if p.eq_ignore_ascii_case(b"SIP/") => v.get(4..).unwrap_or(&[]),
        _ => return Err(bad()),
    };
    let s = std::str::from_utf8(rest).map_err(|_| bad())?;
    let (maj, min) = crate::grammar::split_byte(s, b'.').ok_or_else(bad)?;
    let num = |x: &str| -> Result<u16, SyntaxError> {
        if x.is_empty() || x.len() > 4 || !x.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        x.parse().map_err(|_| bad())
    };
    Ok(Version {
        major: num(maj)?,
        minor: num(min)?,
    })
}

#[derive(Debug)]
enum StartLine {
    Request(Method, ByteString, Version),
    Response(Version, StatusCode, ByteString),
}

fn parse_start_line(data: &[u8], split: &head::Split) -> Result<StartLine, ParseError> {
    let (ls, le) = split.start_line;
    let line = data.get(ls..le).unwrap_or(&[]);
    let err = |what| ParseError::StartLine(SyntaxError::new(what, &String::from_utf8_lossy(line)));
    if line
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"SIP/"))
    {
        // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
        let mut parts = line.splitn(3, |b| *b == b' ');
        let version = parse_version(parts.next().unwrap_or(&[])).map_err(ParseError::StartLine)?;
        let code = parts.next().unwrap_or(&[]);
        if code.len() != 3 || !code.iter().all(u8::is_ascii_digit) {
            return Err(err("a 3-digit status code"));
        }
        let code = code
            .iter()
            .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
        let status =
            StatusCode::new(code).ok_or_else(|| err("a status code between 100 and 699"))?;
        // An empty reason phrase is legal (RFC 4475 §3.1.1.13); so is a
        // missing SP before it, which we tolerate.
        let reason = match parts.next() {
            Some(r) => {
                if r.iter().any(|b| *b < 0x20 && *b != b'\t') {
                    return Err(err("a reason phrase without control characters"));
                }
                let start = ls + (line.len() - r.len());
                split.text_of(data, start, le)
            }
            None => ByteString::new(),
        };
        return Ok(StartLine::Response(version, status, reason));
    }
    // Request-Line = Method SP Request-URI SP SIP-Version: exactly two SPs
    // (RFC 4475 §3.1.2.8-10 refuse extra or trailing whitespace). One walk:
    // the method's token characters, the URI's visible ones, the version.
    let method_end = crate::grammar::walk_alnum_from(line, 0, is_token);
    if method_end == 0 || line.get(method_end) != Some(&b' ') {
        return Err(if line.get(method_end).is_none_or(|b| *b == b' ') {
            err("Method SP Request-URI SP SIP-Version separated by single spaces")
        } else {
            err("a method token")
        });
    }
    let uri_start = method_end + 1;
    let uri_end = crate::grammar::walk_alnum_from(line, uri_start, |b| b.is_ascii_graphic());
    match line.get(uri_end) {
        Some(b' ') if uri_end > uri_start => {}
        Some(b' ') | None => {
            return Err(err(
                "Method SP Request-URI SP SIP-Version separated by single spaces",
            ))
        }
        Some(_) => return Err(err("a Request-URI of visible ASCII characters")),
    }
    let version = line.get(uri_end + 1..).unwrap_or(&[]);
    if version.contains(&b' ') {
        return Err(err(
            "Method SP Request-URI SP SIP-Version separated by single spaces",
        ));
    }
    let version = parse_version(version).map_err(ParseError::StartLine)?;
    // Token characters are ASCII.
    let method = std::str::from_utf8(line.get(..method_end).unwrap_or(&[])).unwrap_or_default();
    Ok(StartLine::Request(
        Method::from_token(method),
        split.text_of(data, ls + uri_start, ls + uri_end),
        version,
    ))
}

/// Values of every Content-Length header, or an error if one is malformed.
fn content_lengths(headers: &Headers) -> Result<Option<(usize, bool)>, ParseError> {
    let mut found: Option<(usize, bool)> = None;
    for h in headers.get_all(&HeaderName::ContentLength) {
        let n = crate::grammar::parse_u32(h.value, "Content-Length as a non-negative decimal")
            .map_err(|e| ParseError::header("Content-Length", e))?;
        let n = n as usize;
        found = Some(match found {
            None => (n, false),
            Some((m, conflict)) => (m, conflict || m != n),
        });
    }
    Ok(found)
}

fn assemble(start: StartLine, headers: Headers, body: Bytes) -> Message {
    match start {
        StartLine::Request(method, uri, version) => Message::Request(Request {
            method,
            uri,
            version,
            headers,
            body,
        }),
        StartLine::Response(version, status, reason) => Message::Response(Response {
            status,
            reason,
            version,
            headers,
            body,
        }),
    }
}

/// A datagram's start line and header split, within the size limit.
#[inline]
fn datagram_head(data: &Bytes, limits: &Limits) -> Result<(StartLine, head::Split), ParseError> {
    if data.len() > limits.max_message_bytes() {
        return Err(ParseError::MessageTooLarge {
            limit: limits.max_message_bytes(),
        });
    }
    let skip = leading_newlines(data);
    let split = head::split(data, skip, limits)?;
    let start = parse_start_line(data, &split)?;
    Ok((start, split))
}

/// Parses a datagram. Content-Length is optional; octets after the body it
/// declares are ignored (RFC 3261 §18.3, RFC 4475 §3.1.1.8); a body shorter
/// than declared is an error (RFC 4475 §3.1.2.2).
pub(crate) fn parse_datagram(data: Bytes, limits: &Limits) -> Result<Message, ParseError> {
    let (start, split) = datagram_head(&data, limits)?;
    let body_start = split.body_start;
    let headers = split.headers;
    let available = data.len() - body_start;
    let body_len = match content_lengths(&headers)? {
        // Conflicting values can't frame anything; the datagram bounds the
        // body and the UA layer answers 400 (RFC 4475 §3.3.9).
        Some((_, true)) | None => available,
        Some((n, false)) if n > available => {
            return Err(ParseError::BodyTruncated {
                declared: n,
                available,
            })
        }
        Some((n, false)) => n,
    };
    if body_len > limits.max_body_bytes {
        return Err(ParseError::BodyTooLarge {
            length: body_len,
            limit: limits.max_body_bytes,
        });
    }
    let body = data.slice(body_start..body_start + body_len);
    Ok(assemble(start, headers, body))
}

/// The head of a datagram with an empty body (see
/// `Message::parse_head_unvalidated`).
pub(crate) fn parse_datagram_head(data: Bytes, limits: &Limits) -> Result<Message, ParseError> {
    let (start, split) = datagram_head(&data, limits)?;
    Ok(assemble(start, split.headers, Bytes::new()))
}

/// Whether a datagram is only CRLFs: a keep-alive, not a message.
pub fn is_keepalive(data: &[u8]) -> bool {
    !data.is_empty() && leading_newlines(data) == data.len()
}

/// What a stream yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A framed message (not yet [validated](Message::validate)).
    Message(Message),
    /// A framed message whose start line could not be parsed; the stream
    /// stays usable.
    Invalid { error: ParseError, raw: Bytes },
    /// RFC 5626 §4.4.1 keep-alive ping (CRLFCRLF): answer with a pong.
    Ping,
    /// RFC 5626 keep-alive pong (a single CRLF).
    Pong,
}

/// Frames messages on a TCP/TLS byte stream. Content-Length is mandatory
/// (RFC 3261 §18.3). After an error the framer refuses more data: the
/// connection must be closed, since the next message boundary is unknown.
#[derive(Debug)]
pub struct StreamFramer {
    buf: BytesMut,
    limits: Limits,
    failed: Option<ParseError>,
    /// A head already parsed whose body is still arriving, so a peer that
    /// trickles a body byte by byte costs one head parse, not one per read.
    pending: Option<PendingHead>,
    /// Where to resume looking for the end of an incomplete head.
    scan_from: usize,
}

#[derive(Debug)]
struct PendingHead {
    start: Result<StartLine, ParseError>,
    headers: Headers,
    body_start: usize,
    body_len: usize,
}

impl StreamFramer {
    pub fn new(limits: Limits) -> Self {
        StreamFramer {
            buf: BytesMut::new(),
            limits,
            failed: None,
            pending: None,
            scan_from: 0,
        }
    }

    /// Bytes received but not yet framed.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Appends received bytes. Refuses data beyond one maximal message.
    pub fn push(&mut self, data: &[u8]) -> Result<(), ParseError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if self.buf.len() + data.len() > self.limits.max_message_bytes() + 4 {
            return Err(self.fail(ParseError::MessageTooLarge {
                limit: self.limits.max_message_bytes(),
            }));
        }
        self.buf.extend_from_slice(data);
        Ok(())
    }

    fn fail(&mut self, e: ParseError) -> ParseError {
        self.failed = Some(e.clone());
        self.buf.clear();
        self.pending = None;
        e
    }

    /// The next complete frame, `Ok(None)` if more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, ParseError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if self.pending.is_none() {
            match self.parse_head()? {
                Some(p) => self.pending = Some(p),
                None => return self.keepalive_or_wait(),
            }
        }
        let Some(p) = self.pending.as_ref() else {
            return Ok(None);
        };
        if self.buf.len() < p.body_start + p.body_len {
            return Ok(None);
        }
        let Some(p) = self.pending.take() else {
            return Ok(None);
        };
        let whole = self.buf.split_to(p.body_start + p.body_len).freeze();
        let body = whole.slice(p.body_start..);
        Ok(Some(match p.start {
            Ok(start) => Frame::Message(assemble(start, p.headers, body)),
            Err(error) => Frame::Invalid { error, raw: whole },
        }))
    }

    /// Handles CRLF keep-alives at a message boundary; `Ok(None)` = wait.
    fn keepalive_or_wait(&mut self) -> Result<Option<Frame>, ParseError> {
        if self.buf.starts_with(b"\r\n\r\n") {
            self.buf.advance(4);
            return Ok(Some(Frame::Ping));
        }
        if self.buf.starts_with(b"\r\n") && !self.buf.get(2..).is_some_and(|r| r.starts_with(b"\r"))
        {
            self.buf.advance(2);
            return Ok(Some(Frame::Pong));
        }
        if self.buf.starts_with(b"\n") {
            // A bare LF can never start a frame.
            self.buf.advance(1);
            return self.next_frame();
        }
        Ok(None)
    }

    /// Parses the head at the start of the buffer; `Ok(None)` if the buffer
    /// starts with a newline or the head is not complete yet.
    fn parse_head(&mut self) -> Result<Option<PendingHead>, ParseError> {
        if self.buf.first().is_some_and(|b| *b == b'\r' || *b == b'\n') {
            return Ok(None);
        }
        let limit = self.limits.max_head_bytes;
        let Some((head_end, body_start)) = find_head_end(&self.buf, self.scan_from) else {
            // The blank line may straddle this read and the next.
            self.scan_from = self.buf.len().saturating_sub(3);
            if self.buf.len() > limit {
                return Err(self.fail(ParseError::HeadTooLarge { limit }));
            }
            return Ok(None);
        };
        self.scan_from = 0;
        if head_end > limit {
            return Err(self.fail(ParseError::HeadTooLarge { limit }));
        }
        let head = Bytes::copy_from_slice(self.buf.get(..body_start).unwrap_or(&[]));
        let split = match head::split(&head, 0, &self.limits) {
            Ok(s) => s,
            Err(e) => return Err(self.fail(e)),
        };
        let start = parse_start_line(&head, &split);
        let headers = split.headers;
        let body_len = match content_lengths(&headers) {
            Ok(Some((n, false))) => n,
            Ok(Some((_, true))) => return Err(self.fail(ParseError::ConflictingContentLength)),
            Ok(None) => return Err(self.fail(ParseError::MissingContentLength)),
            Err(e) => return Err(self.fail(e)),
        };
        if body_len > self.limits.max_body_bytes {
            let limit = self.limits.max_body_bytes;
            return Err(self.fail(ParseError::BodyTooLarge {
                length: body_len,
                limit,
            }));
        }
        Ok(Some(PendingHead {
            start,
            headers,
            body_start,
            body_len,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nContent-Length: 5\r\n\r\nhello";

    #[test]
    fn a_truncated_datagram_still_has_a_head_to_answer() {
        let text: &[u8] = b"MESSAGE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nContent-Length: 9\r\n\r\nabc";
        let limits = Limits::default();
        assert_eq!(
            Message::parse_unvalidated(text, &limits).err(),
            Some(ParseError::BodyTruncated {
                declared: 9,
                available: 3
            })
        );
        let Message::Request(r) = Message::parse_head_unvalidated(text, &limits).unwrap() else {
            panic!("a request")
        };
        assert_eq!(r.method, crate::Method::Message);
        assert!(r.body.is_empty());
        assert!(r.headers.contains(&HeaderName::Via));
    }

    #[test]
    fn stream_frames_across_reads_with_keepalives() {
        let mut f = StreamFramer::new(Limits::default());
        let mut input = b"\r\n\r\n".to_vec();
        input.extend_from_slice(OPTIONS);
        input.extend_from_slice(b"\r\n");
        input.extend_from_slice(OPTIONS);
        let mut frames = Vec::new();
        for chunk in input.chunks(7) {
            f.push(chunk).unwrap();
            while let Some(fr) = f.next_frame().unwrap() {
                frames.push(fr);
            }
        }
        assert_eq!(frames.len(), 4, "{frames:?}");
        assert_eq!(frames[0], Frame::Ping);
        assert_eq!(frames[2], Frame::Pong);
        for i in [1, 3] {
            let Frame::Message(m) = &frames[i] else {
                panic!()
            };
            assert_eq!(&m.body()[..], b"hello");
        }
        assert_eq!(f.buffered(), 0);
    }

    #[test]
    fn stream_requires_content_length_and_poisons() {
        let mut f = StreamFramer::new(Limits::default());
        f.push(b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n\r\n")
            .unwrap();
        assert_eq!(f.next_frame(), Err(ParseError::MissingContentLength));
        assert!(f.push(OPTIONS).is_err());
    }

    #[test]
    fn stream_head_is_bounded() {
        let limits = Limits {
            max_head_bytes: 64,
            ..Limits::default()
        };
        let mut f = StreamFramer::new(limits);
        f.push(&[b'a'; 65]).unwrap();
        assert!(matches!(
            f.next_frame(),
            Err(ParseError::HeadTooLarge { .. })
        ));
    }

    #[test]
    fn stream_invalid_start_line_keeps_stream() {
        let mut f = StreamFramer::new(Limits::default());
        f.push(b"BAD  LINE\r\nContent-Length: 0\r\n\r\n").unwrap();
        f.push(OPTIONS).unwrap();
        assert!(matches!(f.next_frame(), Ok(Some(Frame::Invalid { .. }))));
        assert!(matches!(f.next_frame(), Ok(Some(Frame::Message(_)))));
    }

    #[test]
    fn bare_cr_refused_with_its_line() {
        let m = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nX: a\rb\r\n\r\n";
        match parse_datagram(Bytes::from_static(m), &Limits::default()) {
            Err(ParseError::HeaderLine { line: 3, .. }) => {}
            other => panic!("{other:?}"),
        }
        let lf_only = b"OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h\n\n";
        assert!(parse_datagram(Bytes::from_static(lf_only), &Limits::default()).is_ok());
    }

    #[test]
    fn header_names_known_unknown_and_refused() {
        let parse = |head: &str| {
            parse_datagram(
                Bytes::from(format!("OPTIONS sip:h SIP/2.0\r\n{head}")),
                &Limits::default(),
            )
        };
        let m = parse(
            "vIA: SIP/2.0/UDP h\r\nX-A-Rather-Long-Extension-Name: 1\r\nCONTENT-disposition: x\r\nf\t:\t<sip:a@b>\r\nCSeq: 1 OPTIONS",
        )
        .unwrap();
        let names: Vec<_> = m
            .headers()
            .iter()
            .map(|h| h.name.as_str().to_owned())
            .collect();
        assert_eq!(
            names,
            [
                "Via",
                "X-A-Rather-Long-Extension-Name",
                "Content-Disposition",
                "From",
                "CSeq"
            ]
        );
        assert_eq!(m.headers().get_str(&HeaderName::CSeq), Some("1 OPTIONS"));
        assert_eq!(m.headers().get_str(&HeaderName::From), Some("<sip:a@b>"));
        // Bytes that bit 0x20 would fold onto a known name's are not a name.
        for bad in [
            "V\u{7f}a: x\r\n",
            "Vi@: x\r\n",
            "C[eq: 1\r\n",
            "Vi\u{e1}: x\r\n",
            ": x\r\n",
            "Via x\r\n",
        ] {
            assert!(
                matches!(parse(bad), Err(ParseError::HeaderLine { line: 2, .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn request_lines() {
        let parse = |line: &str| {
            let m = format!("{line}\r\nContent-Length: 0\r\n\r\n");
            parse_datagram(Bytes::from(m), &Limits::default())
        };
        let m = parse("INVITE sip:bob@h SIP/2.0").unwrap();
        assert!(
            matches!(&m, Message::Request(r) if r.method == Method::Invite && &*r.uri == "sip:bob@h")
        );
        assert!(
            matches!(parse("FOO sip:h SIP/2.0"), Ok(Message::Request(r)) if r.method.as_str() == "FOO")
        );
        for bad in [
            "INVITE  sip:h SIP/2.0",
            "INVITE sip:h  SIP/2.0",
            "INVITE sip:h SIP/2.0 ",
            " INVITE sip:h SIP/2.0",
            "INVITE sip:h",
            "INVITE",
            "INV@TE sip:h SIP/2.0",
            "INVITE sip:a\tb SIP/2.0",
            "INVITE sip:h SIP/3",
            "INVITE sip:h\u{e9} SIP/2.0",
        ] {
            assert!(
                matches!(parse(bad), Err(ParseError::StartLine(_))),
                "{bad:?}: {:?}",
                parse(bad)
            );
        }
    }

    #[test]
    fn limits_on_datagrams() {
        let tight = Limits {
            max_headers: 1,
            ..Limits::default()
        };
        assert_eq!(
            parse_datagram(Bytes::from_static(OPTIONS), &tight),
            Err(ParseError::TooManyHeaders { limit: 1 })
        );
        let tight = Limits {
            max_header_bytes: 10,
            ..Limits::default()
        };
        assert!(matches!(
            parse_datagram(Bytes::from_static(OPTIONS), &tight),
            Err(ParseError::HeaderTooLong { .. })
        ));
        assert!(is_keepalive(b"\r\n\r\n"));
        assert!(!is_keepalive(OPTIONS));
    }
}
