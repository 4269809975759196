//! The serializer: a head to bytes, a chunk's body given separately, the
//! end-line `-------<tid><flag>`, and transaction ids that never occur in
//! the body they frame (RFC 4975 §7.1: the sender must make sure the
//! end-line is not in the body, or the receiver would cut it short).
//!
//! A chunk on the wire is `head`, then, with a body, an empty line, the
//! body and a CRLF, then the end-line. [`head_bytes`] and [`end_line`]
//! write the parts around the body so a file can be streamed from disk;
//! [`encode`] writes a whole chunk held in memory.

use crate::message::{is_utf8text, Flag, Head, TransactionId};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    #[error("a response cannot carry a body (RFC 4975 §7.2)")]
    ResponseBody,
    #[error("header {0:?} has a bad name or a value with control bytes")]
    BadHeader(String),
    #[error("the body contains the end-line of transaction {0}")]
    EndLineInBody(TransactionId),
    #[error("no transaction id found that is absent from the body")]
    TidExhausted,
    #[error("status {0} is not three digits")]
    BadStatus(u16),
}

/// The start line and headers, and the empty line before a body if
/// `has_body`. Refuses header text that could break the framing (a CR or
/// LF in a value would let a peer's text inject headers or an end-line).
pub fn head_bytes(head: &Head, has_body: bool) -> Result<Vec<u8>, WriteError> {
    let mut out = Vec::with_capacity(256);
    write_head(head, has_body, &mut out)?;
    Ok(out)
}

pub fn write_head(head: &Head, has_body: bool, out: &mut Vec<u8>) -> Result<(), WriteError> {
    out.extend_from_slice(b"MSRP ");
    out.extend_from_slice(head.tid().as_str().as_bytes());
    out.push(b' ');
    match head {
        Head::Request(r) => out.extend_from_slice(r.method.as_str().as_bytes()),
        Head::Response(r) => {
            if has_body {
                return Err(WriteError::ResponseBody);
            }
            if r.status > 999 {
                return Err(WriteError::BadStatus(r.status));
            }
            out.extend_from_slice(format!("{:03}", r.status).as_bytes());
            if let Some(c) = &r.comment {
                if !is_utf8text(c) {
                    return Err(WriteError::BadHeader("(comment)".into()));
                }
                out.push(b' ');
                out.extend_from_slice(c.as_bytes());
            }
        }
    }
    out.extend_from_slice(b"\r\n");
    for h in head.headers().iter() {
        let name_ok = h
            .name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic())
            && crate::uri::is_token(&h.name);
        if !name_ok || !is_utf8text(&h.value) {
            return Err(WriteError::BadHeader(h.name.clone()));
        }
        out.extend_from_slice(h.name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(h.value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if has_body {
        out.extend_from_slice(b"\r\n");
    }
    Ok(())
}

/// The end-line, with the CRLF that ends a body before it if `has_body`.
pub fn end_line(tid: &TransactionId, flag: Flag, has_body: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(tid.as_str().len() + 12);
    if has_body {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"-------");
    out.extend_from_slice(tid.as_str().as_bytes());
    out.push(flag.as_byte());
    out.extend_from_slice(b"\r\n");
    out
}

/// Whether `body` may be framed with `tid`: the seven hyphens and the id
/// must not occur in it. This is stricter than the end-line with a flag
/// and CRLF, and costs nothing: a fresh random id is almost never there.
pub fn body_is_safe(tid: &TransactionId, body: &[u8]) -> bool {
    let mut needle = Vec::with_capacity(tid.as_str().len() + 7);
    needle.extend_from_slice(b"-------");
    needle.extend_from_slice(tid.as_str().as_bytes());
    crate::search::find(body, &needle).is_none()
}

/// A whole chunk: head, optional body, end-line.
pub fn encode(head: &Head, body: Option<&[u8]>, flag: Flag) -> Result<Vec<u8>, WriteError> {
    if let Some(b) = body {
        if !body_is_safe(head.tid(), b) {
            return Err(WriteError::EndLineInBody(head.tid().clone()));
        }
    }
    encode_checked(head, body, flag)
}

/// [`encode`] for a head whose transaction id was already checked
/// against the body ([`TidGenerator::next_for_body`]): the body is not
/// scanned again, which for a file is every byte once less.
pub(crate) fn encode_checked(
    head: &Head,
    body: Option<&[u8]>,
    flag: Flag,
) -> Result<Vec<u8>, WriteError> {
    let mut out = Vec::with_capacity(256 + body.map_or(0, <[u8]>::len));
    write_head(head, body.is_some(), &mut out)?;
    if let Some(b) = body {
        out.extend_from_slice(b);
    }
    out.extend_from_slice(&end_line(head.tid(), flag, body.is_some()));
    Ok(out)
}

/// Transaction ids from a seeded generator (the crate reads no global
/// randomness: the engine seeds it from the OS, tests from a constant).
/// Not cryptographic; ids need to be unlikely in bodies and unique per
/// session, not secret.
#[derive(Debug, Clone)]
pub struct TidGenerator {
    state: u64,
}

const ALPHABET: &[u8; 62] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Ids this long (62^12 ≈ 2^71) are picked first; longer ones are tried
/// only if a body defeats a run of them.
const TID_LEN: usize = 12;
const ATTEMPTS: usize = 16;

impl TidGenerator {
    pub fn new(seed: u64) -> Self {
        TidGenerator { state: seed }
    }

    /// splitmix64: one multiply-xorshift step per output, full period.
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn id_of_len(&mut self, len: usize) -> TransactionId {
        let mut s = String::with_capacity(len);
        let mut bits = 0u64;
        let mut left = 0;
        for _ in 0..len {
            if left == 0 {
                bits = self.next_u64();
                left = 10;
            }
            // 6 bits at a time, folded into the 62 symbols; the slight
            // bias is irrelevant for an id.
            let i = usize::from((bits & 0x3f) as u8 % 62);
            bits >>= 6;
            left -= 1;
            s.push(char::from(ALPHABET.get(i).copied().unwrap_or(b'0')));
        }
        TransactionId::from_generated(s)
    }

    /// A fresh id.
    pub fn next_tid(&mut self) -> TransactionId {
        self.id_of_len(TID_LEN)
    }

    /// A fresh id whose end-line does not occur in `body`.
    pub fn next_for_body(&mut self, body: &[u8]) -> Result<TransactionId, WriteError> {
        for attempt in 0..ATTEMPTS {
            let len = if attempt < ATTEMPTS / 2 {
                TID_LEN
            } else {
                TransactionId::MAX_LEN
            };
            let tid = self.id_of_len(len);
            if body_is_safe(&tid, body) {
                return Ok(tid);
            }
        }
        Err(WriteError::TidExhausted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::{ByteRange, MessageId, TypedHeader};
    use crate::message::{Headers, Method, Request, Response};

    fn tid(s: &str) -> TransactionId {
        TransactionId::new(s).unwrap()
    }

    #[test]
    fn writes_request_with_body() {
        let mut headers = Headers::new();
        headers.push("To-Path", "msrp://b.example.com:1/x;tcp");
        headers.push("From-Path", "msrp://a.example.com:2/y;tcp");
        headers.push_typed(&MessageId("m1234".into()));
        headers.push_typed(&ByteRange::parse("1-5/5").unwrap());
        headers.push("Content-Type", "text/plain");
        let head = Head::Request(Request {
            tid: tid("abcd1234"),
            method: Method::Send,
            headers,
        });
        let out = encode(&head, Some(b"hello"), Flag::Complete).unwrap();
        assert_eq!(
            out,
            b"MSRP abcd1234 SEND\r\nTo-Path: msrp://b.example.com:1/x;tcp\r\n\
From-Path: msrp://a.example.com:2/y;tcp\r\nMessage-ID: m1234\r\nByte-Range: 1-5/5\r\n\
Content-Type: text/plain\r\n\r\nhello\r\n-------abcd1234$\r\n"
        );
        let streamed = [
            head_bytes(&head, true).unwrap(),
            b"hello".to_vec(),
            end_line(head.tid(), Flag::Complete, true),
        ]
        .concat();
        assert_eq!(streamed, out);
    }

    #[test]
    fn refuses_unsafe_output() {
        let mut r = Response {
            tid: tid("abcd1234"),
            status: 200,
            comment: Some("OK".into()),
            headers: Headers::new(),
        };
        assert_eq!(
            encode(&Head::Response(r.clone()), Some(b"x"), Flag::Complete),
            Err(WriteError::ResponseBody)
        );
        r.headers.push("X-Evil", "a\r\n-------abcd1234$");
        assert!(matches!(
            encode(&Head::Response(r), None, Flag::Complete),
            Err(WriteError::BadHeader(_))
        ));
        let head = Head::Request(Request {
            tid: tid("abcd1234"),
            method: Method::Send,
            headers: Headers::new(),
        });
        assert!(matches!(
            encode(&head, Some(b"x\r\n-------abcd1234$\r\n"), Flag::Complete),
            Err(WriteError::EndLineInBody(_))
        ));
    }

    #[test]
    fn generated_ids_are_valid_distinct_and_avoid_the_body() {
        let mut g = TidGenerator::new(7);
        let a = g.next_tid();
        let b = g.next_tid();
        assert_ne!(a, b);
        assert!(TransactionId::new(a.as_str()).is_ok());
        // A body that holds the next id the generator would pick.
        let mut probe = g.clone();
        let next = probe.next_tid();
        let body = format!("\r\n-------{next}$\r\n");
        let picked = g.next_for_body(body.as_bytes()).unwrap();
        assert_ne!(picked, next);
        assert!(body_is_safe(&picked, body.as_bytes()));
    }
}
