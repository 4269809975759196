//! `logging.trace_msrp`: every chunk sent or received, as text, for
//! MSRPTransportTrace. Heads whole, bodies cut to [`BODY_SHOWN`] bytes,
//! `Authorization` values masked (the relay AUTH's digest response).
//!
//! Received bytes come in reads that do not follow chunk boundaries, and
//! a large chunk of ours is written in slices, so a second stream parser
//! on each side finds the chunks again; it runs only while tracing is on.

use std::sync::Arc;

use msrp_proto::{encode, Event, Flag, Head, Limits, Parser};

/// Body bytes a trace shows.
pub const BODY_SHOWN: usize = 256;

/// Where traces go: (`"incoming"` or `"outgoing"`, the chunk as text).
pub type TraceSink = Arc<dyn Fn(&'static str, String) + Send + Sync>;

/// A chunk's text for the trace: head lines with secrets masked, the body
/// cut short with its size said.
pub fn describe(head: &str, body: &[u8], total: usize, end_line: &str) -> String {
    let mut out = String::new();
    for line in head.split("\r\n").filter(|l| !l.is_empty()) {
        let masked = line
            .split_once(':')
            .filter(|(name, _)| name.trim().eq_ignore_ascii_case("authorization"))
            .map(|(name, _)| format!("{name}: {}", crate::config::MASKED));
        out.push_str(masked.as_deref().unwrap_or(line));
        out.push_str("\r\n");
    }
    if !body.is_empty() {
        out.push_str("\r\n");
        let shown = body.get(..BODY_SHOWN.min(body.len())).unwrap_or_default();
        out.push_str(&String::from_utf8_lossy(shown));
        if total > shown.len() {
            out.push_str(&format!("\r\n[... {total} bytes in all]"));
        }
        out.push_str("\r\n");
    }
    out.push_str(end_line);
    out
}

/// Finds the chunks in what is read, or written: a large chunk of ours
/// leaves the core in slices (`msrp_proto`'s `writing` module).
pub struct ReadTracer {
    parser: Parser,
    head: Option<Head>,
    body: Vec<u8>,
    body_len: usize,
}

impl ReadTracer {
    pub fn new() -> ReadTracer {
        ReadTracer {
            parser: Parser::new(Limits::default()),
            head: None,
            body: Vec::new(),
            body_len: 0,
        }
    }

    /// Feeds a read; each chunk it completes goes to `out`.
    pub fn feed(&mut self, data: &[u8], out: &mut impl FnMut(String)) {
        if self.parser.feed(data).is_err() {
            return;
        }
        while let Ok(Some(ev)) = self.parser.poll() {
            match ev {
                Event::Head(h) => {
                    self.head = Some(h);
                    self.body.clear();
                    self.body_len = 0;
                }
                Event::BodyData(b) => {
                    self.body_len += b.len();
                    let room = BODY_SHOWN.saturating_sub(self.body.len());
                    self.body
                        .extend_from_slice(b.get(..room.min(b.len())).unwrap_or_default());
                }
                Event::End(flag) => {
                    if let Some(head) = self.head.take() {
                        // The head as the parser typed it, printed again.
                        let text = encode(&head, None, Flag::Complete)
                            .map(|b| String::from_utf8_lossy(&b).into_owned())
                            .unwrap_or_default();
                        let head_text = text.trim_end().rsplit_once("\r\n").map_or("", |(h, _)| h);
                        let tid = head.tid().as_str().to_owned();
                        let end = format!("-------{tid}{}", flag_char(flag));
                        out(describe(head_text, &self.body, self.body_len, &end));
                    }
                }
            }
        }
    }
}

impl Default for ReadTracer {
    fn default() -> Self {
        ReadTracer::new()
    }
}

fn flag_char(f: Flag) -> char {
    match f {
        Flag::More => '+',
        Flag::Complete => '$',
        Flag::Aborted => '#',
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn traced(bytes: &[u8]) -> String {
        let mut seen = Vec::new();
        ReadTracer::new().feed(bytes, &mut |s| seen.push(s));
        seen.concat()
    }

    #[test]
    fn masks_authorization_and_cuts_bodies() {
        let auth = b"MSRP aaa1 AUTH\r\nTo-Path: msrp://r:1;tcp\r\nFrom-Path: msrp://a:2/s;tcp\r\n\
Authorization: Digest username=\"u\", response=\"secretresponse\"\r\n-------aaa1$\r\n";
        let t = traced(auth);
        assert!(!t.contains("secretresponse"), "{t}");
        assert!(t.contains("Authorization: ***masked***"), "{t}");
        assert!(t.ends_with("-------aaa1$"), "{t}");
        let body = "x".repeat(1000);
        let send = format!(
            "MSRP bbb1 SEND\r\nTo-Path: msrp://r:1/s;tcp\r\nFrom-Path: msrp://a:2/s;tcp\r\n\
Message-ID: m1\r\nContent-Type: text/plain\r\n\r\n{body}\r\n-------bbb1$\r\n"
        );
        let t = traced(send.as_bytes());
        assert!(t.contains("[... 1000 bytes in all]"), "{t}");
        assert!(t.len() < 600, "{}", t.len());
        let mut seen = Vec::new();
        let mut r = ReadTracer::new();
        for piece in send.as_bytes().chunks(7) {
            r.feed(piece, &mut |s| seen.push(s));
        }
        assert_eq!(seen.len(), 1);
        assert!(seen[0].starts_with("MSRP bbb1 SEND"), "{}", seen[0]);
        assert!(seen[0].contains("[... 1000 bytes in all]"), "{}", seen[0]);
        assert!(seen[0].contains("Message-ID: m1"), "{}", seen[0]);
    }
}
