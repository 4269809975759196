//! The human-readable printer shared by `sip parse` and `sip demo`: start
//! line, headers with their typed interpretation, body, and the reason a
//! message was refused. Everything is written into a `String`; the caller
//! decides where it goes.

mod body;
mod headers;

use std::fmt::Write as _;

use sipsimple::proto::params::Params;
use sipsimple::proto::parser::is_keepalive;
use sipsimple::proto::uri::{Host, Uri};
use sipsimple::proto::{
    Frame, HeaderName, Limits, Message, ParseError, Request, Response, StreamFramer,
};

/// Longest value shown before it is cut with an ellipsis marker.
pub const MAX_VALUE: usize = 100;
/// Raw or text lines shown before the rest is summarised.
const MAX_LINES: usize = 24;
/// Bytes fed to the stream framer at a time, as a socket read would.
const STREAM_CHUNK: usize = 4096;

/// What was printed, and how many messages (or frames) were refused.
#[derive(Debug, Default)]
pub struct Report {
    pub text: String,
    pub refused: usize,
}

/// Prints one datagram: a message validated as [`Message::parse`] does, or
/// a CRLF keep-alive. A refused message is still shown as far as
/// [`Message::parse_unvalidated`] splits it.
pub fn datagram(data: &[u8]) -> Report {
    let mut r = Report::default();
    if is_keepalive(data) {
        let _ = writeln!(
            r.text,
            "keep-alive: {} bytes of CRLF, not a message (RFC 5626 §4.4.1)",
            data.len()
        );
        return r;
    }
    match Message::parse(data.to_vec()) {
        Ok(msg) => message(&mut r.text, &msg, None),
        Err(err) => {
            r.refused += 1;
            match Message::parse_unvalidated(data.to_vec(), &Limits::default()) {
                Ok(msg) => message(&mut r.text, &msg, Some(&err)),
                Err(_) => unsplit(&mut r.text, &err, data, None),
            }
        }
    }
    r
}

/// Feeds a byte stream to [`StreamFramer`] in socket-sized reads and prints
/// every frame: messages (validated), invalid frames, keep-alives, and the
/// framing error that would close the connection.
pub fn stream(data: &[u8]) -> Report {
    let mut r = Report::default();
    let mut framer = StreamFramer::new(Limits::default());
    let (mut messages, mut pings, mut pongs, mut invalid) = (0usize, 0usize, 0usize, 0usize);
    let mut fatal = None;
    let mut n = 0;
    'feed: for chunk in data.chunks(STREAM_CHUNK) {
        if let Err(e) = framer.push(chunk) {
            fatal = Some(e);
            break;
        }
        loop {
            match framer.next_frame() {
                Ok(None) => break,
                Ok(Some(frame)) => {
                    n += 1;
                    match frame {
                        Frame::Ping => {
                            pings += 1;
                            let _ = writeln!(
                                r.text,
                                "frame {n}: ping (CRLFCRLF keep-alive, answer with a pong)\n"
                            );
                        }
                        Frame::Pong => {
                            pongs += 1;
                            let _ = writeln!(r.text, "frame {n}: pong (CRLF keep-alive answer)\n");
                        }
                        Frame::Message(msg) => {
                            messages += 1;
                            let _ = writeln!(r.text, "frame {n}: message");
                            let err = msg.validate().err();
                            r.refused += usize::from(err.is_some());
                            message(&mut r.text, &msg, err.as_ref());
                        }
                        Frame::Invalid { error, raw } => {
                            invalid += 1;
                            r.refused += 1;
                            let _ = writeln!(
                                r.text,
                                "frame {n}: invalid message ({} bytes)",
                                raw.len()
                            );
                            unsplit(&mut r.text, &error, &raw, Some("the stream stays usable"));
                        }
                    }
                }
                Err(e) => {
                    fatal = Some(e);
                    break 'feed;
                }
            }
        }
    }
    if let Some(e) = fatal {
        r.refused += 1;
        let _ = writeln!(
            r.text,
            "framing error: {e}; a UA closes the connection here, the next message boundary is unknown\n"
        );
    } else if framer.buffered() > 0 {
        r.refused += 1;
        let _ = writeln!(
            r.text,
            "incomplete: the last {} bytes do not make a whole message\n",
            framer.buffered()
        );
    }
    let _ = writeln!(
        r.text,
        "stream: {messages} message(s), {invalid} invalid, {pings} ping(s), {pongs} pong(s)"
    );
    r
}

/// One line: why a message was refused and what a UAS answers.
fn refusal(out: &mut String, err: &ParseError, is_response: bool) {
    let status = err.response_status();
    let (code, reason) = (status.code(), status.default_reason());
    let answer = if is_response {
        "a response is never answered: a UA drops it".to_owned()
    } else {
        format!("a UAS would answer {code} {reason}")
    };
    let _ = writeln!(out, "REFUSED: {}; {answer}", clean(&err.to_string(), 300));
}

/// A message refused before it could be split into start line, headers
/// and body: the error, then the raw head with the faulty line marked
/// when the error names it.
fn unsplit(out: &mut String, err: &ParseError, data: &[u8], note: Option<&str>) {
    let is_response = data.trim_ascii_start().starts_with(b"SIP/");
    refusal(out, err, is_response);
    if let Some(note) = note {
        let _ = writeln!(out, "  ({note})");
    }
    // The faulty line: by number, or by the header the error names.
    let (line_no, name) = match err {
        ParseError::HeaderLine { line, .. } => (Some(*line), None),
        ParseError::StartLine(_)
        | ParseError::UnsupportedVersion(_)
        | ParseError::RequestUri(_) => (Some(1), None),
        ParseError::HeaderTooLong { name, .. } | ParseError::InvalidHeader { name, .. } => {
            (None, Some(HeaderName::new(name)))
        }
        ParseError::BodyTruncated { .. } | ParseError::ConflictingContentLength => {
            (None, Some(HeaderName::ContentLength))
        }
        _ => (None, None),
    };
    let is_faulty = |i: usize, line: &[u8]| {
        line_no == Some(i)
            || (i > 1
                && name.as_ref().is_some_and(|n| {
                    let raw = line.split(|b| *b == b':').next().unwrap_or(&[]);
                    let raw = String::from_utf8_lossy(raw);
                    HeaderName::new(raw.trim()) == *n
                }))
    };
    // RFC 3261 §7.5: CRLFs before the start line are ignored, so the parser
    // counts lines from the start line.
    let start = data
        .iter()
        .position(|b| *b != b'\r' && *b != b'\n')
        .unwrap_or(data.len());
    let head = data.get(start..).unwrap_or(&[]);
    if head.is_empty() {
        let _ = writeln!(out, "(no data)\n");
        return;
    }
    let _ = writeln!(out, "raw head (not parsed further):");
    for (i, line) in head.split(|b| *b == b'\n').enumerate().take(MAX_LINES) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        let mark = if is_faulty(i + 1, line) { ">" } else { " " };
        let text = String::from_utf8_lossy(line);
        let _ = writeln!(out, " {mark}{:>3} | {}", i + 1, clean(&text, MAX_VALUE));
    }
    out.push('\n');
}

/// Prints a split message; `err` is why it was refused, if it was.
fn message(out: &mut String, msg: &Message, err: Option<&ParseError>) {
    match err {
        Some(e) => refusal(out, e, !msg.is_request()),
        None => {
            let what = match msg {
                Message::Request(r) => format!("{} request", r.method),
                Message::Response(r) => format!("{} response", r.status),
            };
            let _ = writeln!(out, "valid {what}");
        }
    }
    match msg {
        Message::Request(r) => request_line(out, r),
        Message::Response(r) => status_line(out, r),
    }
    let headers = msg.headers();
    let _ = writeln!(out, "headers ({}):", headers.len());
    for h in headers {
        headers::header(out, &h);
    }
    body::body(out, headers, msg.body(), 0, "body");
    out.push('\n');
}

fn request_line(out: &mut String, r: &Request) {
    let _ = writeln!(
        out,
        "{} {} {}",
        r.method,
        clean(r.uri_str(), MAX_VALUE),
        r.version
    );
    let uri = match r.uri() {
        Ok(uri) => uri,
        Err(e) => {
            let _ = writeln!(
                out,
                "  Request-URI: ! not a URI: {}",
                clean(&e.to_string(), 200)
            );
            return;
        }
    };
    match &uri {
        Uri::Sip(u) => {
            let mut parts = format!("scheme={}", u.scheme.as_str());
            if let Some(user) = &u.user {
                let _ = write!(parts, "  user={}", clean(user, 60));
                if let Some(raw) = u.user_unescaped() {
                    let plain = String::from_utf8_lossy(&raw);
                    if plain != *user {
                        let _ = write!(parts, " (unescaped {:?})", clean(&plain, 60));
                    }
                }
            }
            if u.password.is_some() {
                parts.push_str("  password=(set, deprecated)");
            }
            let _ = write!(parts, "  host={} ({})", u.host, host_kind(&u.host));
            match u.port {
                Some(p) => {
                    let _ = write!(parts, "  port={p}");
                }
                None => parts.push_str("  port=(default)"),
            }
            let _ = writeln!(out, "  Request-URI: {parts}");
            if !u.params.is_empty() {
                let _ = writeln!(out, "    params: {}", param_list(&u.params));
            }
            if !u.headers.is_empty() {
                let _ = writeln!(out, "    URI headers: {}", param_list(&u.headers));
            }
        }
        Uri::Tel(t) => {
            let _ = writeln!(
                out,
                "  Request-URI: scheme=tel  number={}",
                clean(&t.number, 60)
            );
            if !t.params.is_empty() {
                let _ = writeln!(out, "    params: {}", param_list(&t.params));
            }
        }
        Uri::Absolute(a) => {
            let _ = writeln!(
                out,
                "  Request-URI: scheme={}  (not interpreted)  rest={}",
                clean(&a.scheme, 30),
                clean(&a.rest, MAX_VALUE)
            );
        }
    }
}

fn status_line(out: &mut String, r: &Response) {
    let _ = writeln!(
        out,
        "{} {} {}",
        r.version,
        r.status,
        clean(r.reason(), MAX_VALUE)
    );
    let code = r.status.code();
    let class = match code / 100 {
        1 => "provisional",
        2 => "success",
        3 => "redirection",
        4 => "request failure",
        5 => "server failure",
        _ => "global failure",
    };
    let standard = r.status.default_reason();
    let note = if standard.is_empty() {
        " (no standard reason phrase for this code)".to_owned()
    } else if standard.eq_ignore_ascii_case(r.reason()) {
        String::new()
    } else {
        format!(" (standard reason: {standard:?})")
    };
    let _ = writeln!(
        out,
        "  status={code} ({class}, {})  reason={:?}{note}",
        if r.status.is_final() {
            "final"
        } else {
            "not final"
        },
        clean(r.reason(), 60)
    );
}

fn host_kind(h: &Host<'_>) -> &'static str {
    match h {
        Host::Domain(_) => "domain",
        Host::V4(_) => "IPv4",
        Host::V6(_) => "IPv6",
    }
}

/// `a=1, lr, b=2`: URI parameters as written (escaped).
fn param_list(params: &Params<'_>) -> String {
    let mut s = String::new();
    for (i, p) in params.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&clean(&p.name, 40));
        if let Some(v) = &p.value {
            s.push('=');
            s.push_str(&clean(v, 60));
        }
    }
    s
}

/// A value made safe and short for a terminal: control characters escaped,
/// cut after `max` displayed characters with a marker saying how many of
/// the value's characters were left out.
pub(crate) fn clean(s: &str, max: usize) -> String {
    let mut out = String::new();
    let mut shown = 0;
    for (i, c) in s.char_indices() {
        let width = if c.is_control() { 4 } else { 1 };
        if shown + width > max {
            let rest = s.get(i..).map_or(0, |r| r.chars().count());
            let _ = write!(out, "…(+{rest} chars)");
            break;
        }
        if c.is_control() {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        } else {
            out.push(c);
        }
        shown += width;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn clean_caps_and_escapes() {
        assert_eq!(clean("a\u{0}b", 10), "a\\x00b");
        assert_eq!(clean("abcdef", 3), "abc…(+3 chars)");
        assert_eq!(clean("abc", 3), "abc");
        assert_eq!(clean("\u{1}\u{1}", 5), "\\x01…(+1 chars)");
    }
}
