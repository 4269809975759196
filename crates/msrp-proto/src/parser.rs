//! The incremental stream parser: bytes in as they arrive, events out.
//!
//! The head (start line and headers) is read line by line under
//! [`Limits`] and handed on whole; the body is handed on in pieces as it
//! arrives ([`Event::BodyData`]) and never buffered whole, so a chunk of
//! any size costs at most one read plus the end-line's length. A chunk ends
//! at `\r\n-------<tid><flag>\r\n` with the request's own transaction id:
//! the same text with another id is body (RFC 4975 §7.1), and so is the
//! id followed by anything but a flag and CRLF.
//!
//! Any split of the input gives the same events, up to where body pieces
//! are cut. After an error the parser stays failed and says so on every
//! call: MSRP has no resynchronisation point, so the connection is bad.

use bytes::{Bytes, BytesMut};

use crate::message::{Flag, Head, MessageError};
use crate::search::{find_from, partial_suffix};

/// Bounds on what one head may cost. Bodies are streamed, so their bound
/// is optional and only a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest line (start line or header), without its CRLF.
    pub max_line_len: usize,
    /// Longest head, start line to the end of the headers.
    pub max_head_bytes: usize,
    pub max_headers: usize,
    /// Longest body of one chunk, if bounded.
    pub max_body_bytes: Option<u64>,
}

impl Default for Limits {
    /// A To-Path through two relays is under 300 bytes and a chunk head
    /// under 1 KiB; these leave room for large digest and extension
    /// headers while keeping a hostile head to a few tens of KiB.
    fn default() -> Self {
        Limits {
            max_line_len: 8 * 1024,
            max_head_bytes: 32 * 1024,
            max_headers: 64,
            max_body_bytes: None,
        }
    }
}

/// What the stream holds next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A complete head. Body pieces, if any, and then [`Event::End`] follow.
    Head(Head),
    /// The next piece of the current request's body.
    BodyData(Bytes),
    /// The end-line of the current message, with its flag.
    End(Flag),
}

/// Why the stream was given up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    #[error("line longer than {0} bytes")]
    LineTooLong(usize),
    #[error("head longer than {0} bytes")]
    HeadTooLarge(usize),
    #[error("more than {0} headers")]
    TooManyHeaders(usize),
    #[error("body longer than {0} bytes")]
    BodyTooLarge(u64),
    #[error("head is not UTF-8")]
    NotUtf8,
    #[error(transparent)]
    Syntax(#[from] MessageError),
    #[error("end-line {0:?} does not end this transaction")]
    BadEndLine(String),
    #[error("a response carries a body")]
    ResponseBody,
    #[error("the stream ended inside a message")]
    Truncated,
}

#[derive(Debug)]
enum State {
    StartLine,
    Headers {
        head: Head,
        bytes: usize,
    },
    Body {
        /// `\r\n-------<tid>`; a flag and CRLF must follow.
        needle: Vec<u8>,
        /// Leading buffer bytes that are not body: the CRLF of the empty
        /// line is left in place so an end-line straight after it (an
        /// empty body written without its CRLF) is found like any other.
        skip: usize,
        seen: u64,
    },
    Failed(StreamError),
}

/// The MSRP stream parser for one connection.
#[derive(Debug)]
pub struct Parser {
    limits: Limits,
    buf: BytesMut,
    /// How far the current line was already searched for CRLF.
    scanned: usize,
    state: State,
    /// An end-line read in the head, reported after the head itself.
    pending_end: Option<Flag>,
}

impl Default for Parser {
    fn default() -> Self {
        Parser::new(Limits::default())
    }
}

impl Parser {
    pub fn new(limits: Limits) -> Self {
        Parser {
            limits,
            buf: BytesMut::new(),
            scanned: 0,
            state: State::StartLine,
            pending_end: None,
        }
    }

    /// Appends received bytes. Call [`Parser::poll`] until it returns
    /// `Ok(None)` before feeding more, or the buffer holds what was fed.
    pub fn feed(&mut self, data: &[u8]) -> Result<(), StreamError> {
        if let State::Failed(e) = &self.state {
            return Err(e.clone());
        }
        self.buf.extend_from_slice(data);
        Ok(())
    }

    /// Bytes held and not yet reported.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    pub fn is_failed(&self) -> bool {
        matches!(self.state, State::Failed(_))
    }

    /// Whether the stream is between messages with nothing held: the only
    /// state in which a connection may close cleanly.
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::StartLine) && self.buf.is_empty() && self.pending_end.is_none()
    }

    /// For the transport's EOF: an error if a message was cut off.
    pub fn finish(&mut self) -> Result<(), StreamError> {
        if let State::Failed(e) = &self.state {
            return Err(e.clone());
        }
        if self.is_idle() {
            Ok(())
        } else {
            Err(self.fail(StreamError::Truncated))
        }
    }

    /// The next event, `Ok(None)` if more input is needed.
    pub fn poll(&mut self) -> Result<Option<Event>, StreamError> {
        if let Some(flag) = self.pending_end.take() {
            return Ok(Some(Event::End(flag)));
        }
        let r = self.step();
        if let Err(e) = &r {
            if !self.is_failed() {
                self.state = State::Failed(e.clone());
            }
        }
        r
    }

    fn fail(&mut self, e: StreamError) -> StreamError {
        self.state = State::Failed(e.clone());
        e
    }

    fn step(&mut self) -> Result<Option<Event>, StreamError> {
        loop {
            match &mut self.state {
                State::Failed(e) => return Err(e.clone()),
                State::Body { .. } => return self.body(),
                State::StartLine | State::Headers { .. } => {
                    let Some(line) = self.next_line()? else {
                        return Ok(None);
                    };
                    if let Some(ev) = self.head_line(&line)? {
                        return Ok(Some(ev));
                    }
                }
            }
        }
    }

    /// Splits off the next line (without CRLF), if complete.
    fn next_line(&mut self) -> Result<Option<String>, StreamError> {
        let from = self.scanned.saturating_sub(1);
        let Some(pos) = find_from(&self.buf, b"\r\n", from) else {
            if self.buf.len() > self.limits.max_line_len + 1 {
                return Err(StreamError::LineTooLong(self.limits.max_line_len));
            }
            self.scanned = self.buf.len();
            return Ok(None);
        };
        if pos > self.limits.max_line_len {
            return Err(StreamError::LineTooLong(self.limits.max_line_len));
        }
        self.scanned = 0;
        if let State::Headers { bytes, .. } = &mut self.state {
            *bytes += pos + 2;
            if *bytes > self.limits.max_head_bytes {
                return Err(StreamError::HeadTooLarge(self.limits.max_head_bytes));
            }
        }
        // The empty line ending a head stays in the buffer (see `skip`).
        if pos == 0 {
            return Ok(Some(String::new()));
        }
        let line = self.buf.split_to(pos + 2);
        let text = line.get(..pos).unwrap_or_default();
        String::from_utf8(text.to_vec())
            .map(Some)
            .map_err(|_| StreamError::NotUtf8)
    }

    fn head_line(&mut self, line: &str) -> Result<Option<Event>, StreamError> {
        match std::mem::replace(&mut self.state, State::StartLine) {
            State::StartLine => {
                if line.is_empty() {
                    return Err(MessageError::StartLine(String::new()).into());
                }
                let head = Head::parse_start_line(line)?;
                self.state = State::Headers {
                    head,
                    bytes: line.len() + 2,
                };
                Ok(None)
            }
            State::Headers { mut head, bytes } => {
                if line.is_empty() {
                    if matches!(head, Head::Response(_)) {
                        return Err(StreamError::ResponseBody);
                    }
                    let mut needle = b"\r\n-------".to_vec();
                    needle.extend_from_slice(head.tid().as_str().as_bytes());
                    self.state = State::Body {
                        needle,
                        skip: 2,
                        seen: 0,
                    };
                    return Ok(Some(Event::Head(head)));
                }
                if let Some(rest) = line.strip_prefix("-------") {
                    let flag = rest
                        .strip_prefix(head.tid().as_str())
                        .and_then(|f| match f.as_bytes() {
                            [b] => Flag::from_byte(*b),
                            _ => None,
                        })
                        .ok_or_else(|| StreamError::BadEndLine(line.to_owned()))?;
                    self.pending_end = Some(flag);
                    return Ok(Some(Event::Head(head)));
                }
                if head.headers().len() >= self.limits.max_headers {
                    return Err(StreamError::TooManyHeaders(self.limits.max_headers));
                }
                let h = Head::parse_header_line(line)?;
                head.headers_mut().push(h.name, h.value);
                self.state = State::Headers { head, bytes };
                Ok(None)
            }
            other => {
                self.state = other;
                Ok(None)
            }
        }
    }

    fn body(&mut self) -> Result<Option<Event>, StreamError> {
        let State::Body { needle, skip, seen } = &mut self.state else {
            return Ok(None);
        };
        let n = needle.len();
        let mut from = 0;
        // Where the body known so far ends, and whether the chunk ends.
        let (upto, end) = loop {
            match find_from(&self.buf, needle, from) {
                Some(p) => match self.buf.get(p + n..p + n + 3) {
                    None => break (p, None),
                    Some([f, b'\r', b'\n']) if Flag::from_byte(*f).is_some() => {
                        break (p, Flag::from_byte(*f));
                    }
                    Some(_) => from = p + 1,
                },
                None => break (self.buf.len() - partial_suffix(&self.buf, needle), None),
            }
        };
        let data = self.buf.split_to(upto);
        let body = if data.len() > *skip {
            let mut d = data;
            let _ = d.split_to(*skip);
            *skip = 0;
            d.freeze()
        } else {
            *skip -= data.len();
            Bytes::new()
        };
        *seen = seen.saturating_add(body.len() as u64);
        if let Some(max) = self.limits.max_body_bytes {
            if *seen > max {
                return Err(StreamError::BodyTooLarge(max));
            }
        }
        if let Some(flag) = end {
            let _ = self.buf.split_to(n + 3);
            self.state = State::StartLine;
            if body.is_empty() {
                return Ok(Some(Event::End(flag)));
            }
            self.pending_end = Some(flag);
        }
        if body.is_empty() {
            return Ok(None);
        }
        Ok(Some(Event::BodyData(body)))
    }
}

/// Parses one complete chunk held in memory: its head, its body joined,
/// and its flag. For tests, tools and fuzzing; connections use [`Parser`].
pub fn parse_chunk(data: &[u8]) -> Result<(Head, Option<Vec<u8>>, Flag), StreamError> {
    let mut p = Parser::new(Limits::default());
    p.feed(data)?;
    let mut head = None;
    let mut body: Option<Vec<u8>> = None;
    while let Some(ev) = p.poll()? {
        match ev {
            Event::Head(h) => head = Some(h),
            Event::BodyData(b) => body.get_or_insert_with(Vec::new).extend_from_slice(&b),
            Event::End(f) => {
                let h = head.ok_or(StreamError::Truncated)?;
                // A SEND with an empty body has Content-Type yet no data.
                if body.is_none() && h.headers().get("Content-Type").is_some() {
                    body = Some(Vec::new());
                }
                return Ok((h, body, f));
            }
        }
    }
    Err(StreamError::Truncated)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(data: &[u8], step: usize) -> Result<Vec<Event>, StreamError> {
        let mut p = Parser::default();
        let mut out = Vec::new();
        for piece in data.chunks(step.max(1)) {
            p.feed(piece)?;
            while let Some(e) = p.poll()? {
                out.push(e);
            }
        }
        Ok(merge(out))
    }

    /// Joins adjacent body pieces, which depend on how input was split.
    pub(crate) fn merge(evs: Vec<Event>) -> Vec<Event> {
        let mut out: Vec<Event> = Vec::new();
        for e in evs {
            match (out.last_mut(), e) {
                (Some(Event::BodyData(a)), Event::BodyData(b)) => {
                    let mut v = a.to_vec();
                    v.extend_from_slice(&b);
                    *a = Bytes::from(v);
                }
                (_, e) => out.push(e),
            }
        }
        out
    }

    const SEND: &[u8] = b"MSRP a786hjs2 SEND\r\nTo-Path: msrp://b.example.com:1/x;tcp\r\n\
From-Path: msrp://a.example.com:2/y;tcp\r\nMessage-ID: 87652491\r\nByte-Range: 1-*/*\r\n\
Content-Type: text/plain\r\n\r\nbody\r\n-------a786hjsX$\r\n-------a786hjs2\r\n\
-------a786hjs2x\r\n-------a786hjs2$\r\n";

    #[test]
    fn other_tids_and_non_flags_are_body() {
        for step in [1, 2, 3, 7, 1000] {
            let ev = events(SEND, step).unwrap();
            assert_eq!(ev.len(), 3, "step {step}");
            assert_eq!(
                ev.get(1),
                Some(&Event::BodyData(Bytes::from_static(
                    b"body\r\n-------a786hjsX$\r\n-------a786hjs2\r\n-------a786hjs2x"
                )))
            );
            assert_eq!(ev.get(2), Some(&Event::End(Flag::Complete)));
        }
    }

    #[test]
    fn bodiless_and_back_to_back() {
        let two = b"MSRP abcd 200 OK\r\nTo-Path: msrp://a:1/x;tcp\r\n-------abcd$\r\n\
MSRP efgh SEND\r\nTo-Path: msrp://a:1/x;tcp\r\nContent-Type: text/plain\r\n\r\n\r\n-------efgh+\r\n\
MSRP ijkl SEND\r\nContent-Type: text/plain\r\n\r\n-------ijkl#\r\n";
        for step in [1, 5, 1000] {
            let ev = events(two, step).unwrap();
            let kinds: Vec<_> = ev
                .iter()
                .map(|e| match e {
                    Event::Head(_) => "H",
                    Event::BodyData(_) => "B",
                    Event::End(Flag::Complete) => "$",
                    Event::End(Flag::More) => "+",
                    Event::End(Flag::Aborted) => "#",
                })
                .collect();
            assert_eq!(kinds, ["H", "$", "H", "+", "H", "#"], "step {step}");
        }
    }

    #[test]
    fn errors_stick() {
        let mut p = Parser::default();
        p.feed(b"HTTP/1.1 200 OK\r\n").unwrap();
        assert!(matches!(p.poll(), Err(StreamError::Syntax(_))));
        assert!(p.is_failed());
        assert!(p.poll().is_err());
        assert!(p.feed(b"x").is_err());
    }

    #[test]
    fn limits() {
        let lim = Limits {
            max_line_len: 40,
            max_head_bytes: 100,
            max_headers: 2,
            max_body_bytes: Some(3),
        };
        let run = |data: &[u8]| {
            let mut p = Parser::new(lim);
            p.feed(data)?;
            while p.poll()?.is_some() {}
            Ok::<_, StreamError>(())
        };
        assert_eq!(run(&[b'M'; 60]), Err(StreamError::LineTooLong(40)));
        assert_eq!(
            run(b"MSRP abcd SEND\r\nA: 1\r\nB: 2\r\nC: 3\r\n"),
            Err(StreamError::TooManyHeaders(2))
        );
        assert_eq!(
            run(b"MSRP abcd SEND\r\nA: 1\r\n\r\nabcdef"),
            Err(StreamError::BodyTooLarge(3))
        );
        assert_eq!(
            run(b"MSRP abcd 200 OK\r\nA: 1\r\n\r\n"),
            Err(StreamError::ResponseBody)
        );
        assert_eq!(
            run(b"MSRP abcd SEND\r\n-------abce$\r\n"),
            Err(StreamError::BadEndLine("-------abce$".into()))
        );
        let mut p = Parser::new(lim);
        p.feed(b"MSRP abcd SEND\r\n").unwrap();
        assert_eq!(p.poll(), Ok(None));
        assert_eq!(p.finish(), Err(StreamError::Truncated));
    }

    #[test]
    fn in_memory_chunk() {
        let (h, body, flag) = parse_chunk(SEND).unwrap();
        assert_eq!(h.tid().as_str(), "a786hjs2");
        assert!(body.is_some_and(|b| crate::search::find(&b, b"-------a786hjsX$").is_some()));
        assert_eq!(flag, Flag::Complete);
    }
}
