//! Splitting a message head into its start line and header fields in one
//! pass: line ends are found eight bytes at a time (SWAR), which also finds
//! any CR that does not end a line, and header values are recorded as
//! spans of the head, which is checked as UTF-8 once at the end.

use bytes::Bytes;
use bytestring::ByteString;

use crate::error::{ParseError, SyntaxError};
use crate::grammar::{is_token, is_ws};
use crate::headers::{HeaderName, Headers};

use super::Limits;

const ONES: u64 = 0x0101_0101_0101_0101;
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;

/// The high bit of each byte of the result is set exactly where that byte
/// of `w` equals `b` (no false positives, unlike the simpler zero test).
#[inline]
fn byte_markers(w: u64, b: u8) -> u64 {
    let x = w ^ ONES.wrapping_mul(u64::from(b));
    !(((x & LOW7).wrapping_add(LOW7)) | x | LOW7)
}

/// Line ends of `buf` from a position, eight bytes at a time, noting the
/// first CR not followed by LF.
struct LineScan<'b> {
    buf: &'b [u8],
    next_word: usize,
    base: usize,
    lf: u64,
    bare_cr: Option<usize>,
}

impl<'b> LineScan<'b> {
    fn new(buf: &'b [u8], from: usize) -> Self {
        LineScan {
            buf,
            next_word: from,
            base: from,
            lf: 0,
            bare_cr: None,
        }
    }

    fn load(&self, at: usize) -> u64 {
        match self.buf.get(at..at + 8) {
            Some(s) => u64::from_le_bytes(<[u8; 8]>::try_from(s).unwrap_or([0; 8])),
            None => {
                let mut w = [0u8; 8];
                for (d, s) in w.iter_mut().zip(self.buf.get(at..).unwrap_or(&[])) {
                    *d = *s;
                }
                u64::from_le_bytes(w)
            }
        }
    }

    /// The next LF position, or `None` past the end of the buffer.
    #[inline]
    fn next_lf(&mut self) -> Option<usize> {
        loop {
            if self.lf != 0 {
                let i = self.base + (self.lf.trailing_zeros() / 8) as usize;
                self.lf &= self.lf - 1;
                return Some(i);
            }
            if self.next_word >= self.buf.len() {
                return None;
            }
            self.base = self.next_word;
            self.next_word += 8;
            let w = self.load(self.base);
            self.lf = byte_markers(w, b'\n');
            let cr = byte_markers(w, b'\r');
            if cr != 0 && self.bare_cr.is_none() {
                // A CR is fine when the next byte is LF (maybe in the next word).
                let lf_after =
                    (self.lf >> 8) | (u64::from(self.buf.get(self.base + 8) == Some(&b'\n')) << 63);
                let bare = cr & !lf_after;
                if bare != 0 {
                    self.bare_cr = Some(self.base + (bare.trailing_zeros() / 8) as usize);
                }
            }
        }
    }
}

/// The head as found.
pub(super) struct Split {
    pub(super) start_line: (usize, usize),
    pub(super) headers: Headers,
    /// First body byte.
    pub(super) body_start: usize,
    /// The head as text when it is valid UTF-8 (spans index it).
    pub(super) text: Option<ByteString>,
    pub(super) base: usize,
}

impl Split {
    /// `data[s..e]` as text: a slice of the head text, or a lossy copy.
    pub(super) fn text_of(&self, data: &[u8], s: usize, e: usize) -> ByteString {
        if let Some(t) = &self.text {
            if let Some(sub) = t.get(s.saturating_sub(self.base)..e.saturating_sub(self.base)) {
                return t.slice_ref(sub);
            }
        }
        ByteString::from(String::from_utf8_lossy(data.get(s..e).unwrap_or(&[])).into_owned())
    }
}

fn strip_cr(buf: &[u8], start: usize, line_end: usize) -> usize {
    if line_end > start && buf.get(line_end - 1) == Some(&b'\r') {
        line_end - 1
    } else {
        line_end
    }
}

fn trim_range(buf: &[u8], s: usize, e: usize) -> (usize, usize) {
    let part = buf.get(s..e).unwrap_or(&[]);
    let lead = part.iter().take_while(|b| is_ws(**b)).count();
    let trail = part
        .get(lead..)
        .unwrap_or(&[])
        .iter()
        .rev()
        .take_while(|b| is_ws(**b))
        .count();
    (s + lead, e - trail)
}

fn line_error(line_no: usize, expected: &'static str, line: &[u8]) -> ParseError {
    ParseError::HeaderLine {
        line: line_no,
        error: SyntaxError::new(expected, &String::from_utf8_lossy(line)),
    }
}

/// Splits `data[pos..]`: start line, header lines (with folding) up to the
/// blank line. Without a blank line the head runs to the end of `data` (a
/// datagram bounds its message).
pub(super) fn split(data: &Bytes, pos: usize, limits: &Limits) -> Result<Split, ParseError> {
    let buf: &[u8] = data;
    let max_end = pos.saturating_add(limits.max_head_bytes);
    let mut lines = LineScan::new(buf, pos);
    let mut headers = Headers::for_parser(16);
    // Unknown names are named once the head text exists.
    let mut unknown: Vec<(usize, usize, usize)> = Vec::new();
    let mut start_line = None;
    let mut ls = pos;
    let mut line_no = 0;
    let (mut head_end, mut body_start) = (buf.len(), buf.len());
    while ls < buf.len() {
        let nl = lines.next_lf().unwrap_or(buf.len());
        if nl > max_end {
            return Err(ParseError::HeadTooLarge {
                limit: limits.max_head_bytes,
            });
        }
        let le = strip_cr(buf, ls, nl);
        let line_start = ls;
        ls = nl + 1;
        line_no += 1;
        if start_line.is_none() {
            start_line = Some((line_start, le));
            continue;
        }
        if line_start == le {
            head_end = line_start;
            body_start = ls.min(buf.len());
            break;
        }
        let line = buf.get(line_start..le).unwrap_or(&[]);
        if line.first().copied().is_some_and(is_ws) {
            // A fold: LWS = [*WSP CRLF] 1*WSP, equivalent to one SP.
            let (s, e) = trim_range(buf, line_start, le);
            let raw = buf.get(pos..).unwrap_or(&[]);
            match headers.extend_last(raw, buf.get(s..e).unwrap_or(&[])) {
                None => {
                    return Err(line_error(
                        line_no,
                        "a header name before a continuation line",
                        line,
                    ))
                }
                Some(len) if len > limits.max_header_bytes => {
                    return Err(ParseError::HeaderTooLong {
                        name: format!("header on line {line_no}"),
                        limit: limits.max_header_bytes,
                    })
                }
                Some(_) => continue,
            }
        }
        // field-name = token, optional WS, ':'.
        let name_len = line
            .iter()
            .position(|b| !is_token(*b))
            .unwrap_or(line.len());
        let ws = line
            .get(name_len..)
            .unwrap_or(&[])
            .iter()
            .take_while(|b| is_ws(**b))
            .count();
        if name_len == 0 || line.get(name_len + ws) != Some(&b':') {
            return Err(line_error(line_no, "a header name (token) and ':'", line));
        }
        if headers.len() >= limits.max_headers {
            return Err(ParseError::TooManyHeaders {
                limit: limits.max_headers,
            });
        }
        let name_bytes = line.get(..name_len).unwrap_or(&[]);
        let (vs, ve) = trim_range(buf, line_start + name_len + ws + 1, le);
        if ve - vs > limits.max_header_bytes {
            return Err(ParseError::HeaderTooLong {
                name: String::from_utf8_lossy(name_bytes).into_owned(),
                limit: limits.max_header_bytes,
            });
        }
        let name = match HeaderName::known(name_bytes) {
            Some(n) => n,
            None => {
                unknown.push((headers.len(), line_start, line_start + name_len));
                HeaderName::Other(ByteString::new())
            }
        };
        headers.push_span(name, vs - pos, ve - pos);
    }
    let start_line = start_line.ok_or(ParseError::Incomplete)?;
    // A CR not ending a line is a line break to some parsers and text to
    // others: refusing it keeps every element reading the same headers.
    if let Some(p) = lines.bare_cr.filter(|p| *p < head_end) {
        let before = buf.get(pos..p).unwrap_or(&[]);
        let line = 1 + before.iter().filter(|b| **b == b'\n').count();
        return Err(ParseError::HeaderLine {
            line,
            error: SyntaxError::new("no CR except before LF", ""),
        });
    }
    let raw_head = buf.get(pos..head_end).unwrap_or(&[]);
    let text = ByteString::try_from(data.slice(pos..head_end)).ok();
    let mut split = Split {
        start_line,
        headers,
        body_start,
        text,
        base: pos,
    };
    for (i, s, e) in unknown {
        let name = split.text_of(buf, s, e);
        split.headers.set_name(i, HeaderName::Other(name));
    }
    match &split.text {
        Some(t) => split.headers.set_text(t.clone()),
        None => split.headers.own_spans_lossy(raw_head),
    }
    Ok(split)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_exact() {
        let w = u64::from_le_bytes(*b"a\r\nb\n\x8a\x0a\r");
        let lf = byte_markers(w, b'\n');
        let positions: Vec<_> = (0..8).filter(|i| lf & (0x80 << (8 * i)) != 0).collect();
        assert_eq!(positions, [2, 4, 6]);
    }

    #[test]
    fn line_scan_finds_all_and_bare_cr() {
        let buf = b"0123456\n89\r\nbc\rxyz\nlast";
        let mut s = LineScan::new(buf, 0);
        let ends: Vec<_> = std::iter::from_fn(|| s.next_lf()).collect();
        assert_eq!(ends, [7, 11, 18]);
        assert_eq!(s.bare_cr, Some(14));
        // A CR at the end of a word followed by LF in the next is fine.
        let buf = b"1234567\r\nabc";
        let mut s = LineScan::new(buf, 0);
        while s.next_lf().is_some() {}
        assert_eq!(s.bare_cr, None);
    }
}
