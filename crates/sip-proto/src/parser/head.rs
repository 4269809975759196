//! Splitting a message head into its start line and header fields in one
//! pass: line ends are found sixteen bytes at a time (SWAR), which also finds
//! any CR that does not end a line, and header values are recorded as
//! spans of the head, which is checked as UTF-8 once at the end.

use bytes::Bytes;
use bytestring::ByteString;

use crate::error::{ParseError, SyntaxError};
use crate::grammar::{is_token, is_ws, skip_ws_from};
use crate::headers::{HeaderName, Headers};

use super::Limits;

const ONES: u128 = 0x0101_0101_0101_0101_0101_0101_0101_0101;
const HIGH: u128 = 0x8080_8080_8080_8080_8080_8080_8080_8080;
/// Bytes per step of the line scan.
const STEP: usize = 16;

/// The high bit of each byte of `w` below 0x20 (a control byte). Only the
/// lowest marker is exact: a borrow can mark bytes above a real one, never
/// below, which is all a search for the first one needs.
#[inline]
fn control_markers(w: u128) -> u128 {
    w.wrapping_sub(ONES.wrapping_mul(0x20)) & !w & HIGH
}

#[inline]
fn word_at(buf: &[u8], at: usize) -> Option<u128> {
    let bytes: [u8; STEP] = buf.get(at..at.checked_add(STEP)?)?.try_into().ok()?;
    Some(u128::from_le_bytes(bytes))
}

/// The high bit of each byte of `w` that is ':' or below 0x21 (SP, HTAB,
/// the line end): where a header name stops. Lowest marker exact, as with
/// [`control_markers`].
#[inline]
fn name_stop_markers(w: u128) -> u128 {
    let below_21 = w.wrapping_sub(ONES.wrapping_mul(0x21)) & !w & HIGH;
    let x = w ^ ONES.wrapping_mul(u128::from(b':'));
    let colon = x.wrapping_sub(ONES) & !x & HIGH;
    below_21 | colon
}

/// A header line's name: its length (up to the first ':', SP, HTAB or the
/// line end) and, when it fits in one word, its bytes case-folded for the
/// known-name lookup. One word step for the usual names; `line_start` may
/// be followed by more of the buffer than the line, which the stop bytes
/// (the line's end among them) keep out of the name.
#[inline]
fn read_name(buf: &[u8], line_start: usize, line_end: usize) -> (usize, Option<[u8; STEP]>) {
    let line_len = line_end - line_start;
    if let Some(w) = word_at(buf, line_start) {
        let m = name_stop_markers(w);
        if m != 0 {
            let len = ((m.trailing_zeros() / 8) as usize).min(line_len);
            // `grammar::fold_name`, a word at a time.
            let folded = w | ONES.wrapping_mul(0x20);
            return (len, Some(folded.to_le_bytes()));
        }
    }
    let line = buf.get(line_start..line_end).unwrap_or(&[]);
    let len = line
        .iter()
        .position(|b| *b <= b' ' || *b == b':')
        .unwrap_or(line.len());
    (len, None)
}

/// Where a line ends.
#[derive(Debug, PartialEq, Eq)]
struct LineEnd {
    /// End of the line's content (its CR or LF, or the end of the buffer).
    content: usize,
    /// First byte of the next line.
    next: usize,
}

/// The end of the line holding `buf[from]`, found sixteen bytes at a time:
/// only control bytes stop the word loop, and of those only CR and LF end
/// a line. `Err(at)` is a CR not followed by LF.
fn find_line_end(buf: &[u8], from: usize) -> Result<LineEnd, usize> {
    let mut i = from;
    loop {
        while let Some(w) = word_at(buf, i) {
            let m = control_markers(w);
            if m != 0 {
                i += (m.trailing_zeros() / 8) as usize;
                break;
            }
            i += STEP;
        }
        match buf.get(i) {
            None => {
                return Ok(LineEnd {
                    content: buf.len(),
                    next: buf.len(),
                })
            }
            Some(b'\n') => {
                return Ok(LineEnd {
                    content: i,
                    next: i + 1,
                })
            }
            Some(b'\r') if buf.get(i + 1) == Some(&b'\n') => {
                return Ok(LineEnd {
                    content: i,
                    next: i + 2,
                })
            }
            Some(b'\r') => return Err(i),
            // HTAB and other control bytes are the typed parsers' business.
            Some(_) => i += 1,
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

/// `buf[s..e]` without the SP and HTAB around it.
#[inline]
fn trim_range(buf: &[u8], s: usize, e: usize) -> (usize, usize) {
    let s = skip_ws_from(buf, s).min(e);
    (s, trim_end(buf, s, e))
}

/// `e` moved back over the SP and HTAB before it, not below `s`.
#[inline]
fn trim_end(buf: &[u8], s: usize, mut e: usize) -> usize {
    while e > s && buf.get(e - 1).is_some_and(|b| is_ws(*b)) {
        e -= 1;
    }
    e
}

/// A header line's value span, surrounding whitespace removed, after a
/// name of `name_len` bytes. `None` when the line does not go on with
/// `*WS ":"` there, or the name is empty.
#[inline]
fn header_value(line: &[u8], name_len: usize) -> Option<(usize, usize)> {
    let colon = skip_ws_from(line, name_len);
    if name_len == 0 || line.get(colon) != Some(&b':') {
        return None;
    }
    let start = skip_ws_from(line, colon + 1);
    Some((start, trim_end(line, start, line.len())))
}

#[cold]
#[inline(never)]
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
    let mut headers = Headers::for_parser(16);
    let mut start_line = None;
    let mut ls = pos;
    let mut line_no = 0;
    let (mut head_end, mut body_start) = (buf.len(), buf.len());
    while ls < buf.len() {
        line_no += 1;
        // A CR not ending a line is a line break to some parsers and text
        // to others: refusing it keeps every element reading the same
        // headers.
        let end = find_line_end(buf, ls).map_err(|_| ParseError::HeaderLine {
            line: line_no,
            error: SyntaxError::new("no CR except before LF", ""),
        })?;
        if end.content > max_end {
            return Err(ParseError::HeadTooLarge {
                limit: limits.max_head_bytes,
            });
        }
        let (line_start, le) = (ls, end.content);
        ls = end.next;
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
        // field-name = token, optional WS, ':'. A known name is a token;
        // any other is checked byte by byte.
        let (name_len, folded) = read_name(buf, line_start, le);
        let name_bytes = line.get(..name_len).unwrap_or(&[]);
        let known = match &folded {
            Some(f) => f.get(..name_len).and_then(HeaderName::known_folded),
            None => HeaderName::known_token(name_bytes),
        };
        if known.is_none() && !name_bytes.iter().all(|b| is_token(*b)) {
            return Err(line_error(line_no, "a header name (token) and ':'", line));
        }
        let Some((v_start, v_end)) = header_value(line, name_len) else {
            return Err(line_error(line_no, "a header name (token) and ':'", line));
        };
        if headers.len() >= limits.max_headers {
            return Err(ParseError::TooManyHeaders {
                limit: limits.max_headers,
            });
        }
        let (vs, ve) = (line_start + v_start, line_start + v_end);
        if ve - vs > limits.max_header_bytes {
            return Err(ParseError::HeaderTooLong {
                name: String::from_utf8_lossy(name_bytes).into_owned(),
                limit: limits.max_header_bytes,
            });
        }
        let name = match known {
            Some(n) => n,
            // A token is ASCII, so always text.
            None => HeaderName::Other(Box::new(
                ByteString::try_from(data.slice(line_start..line_start + name_len))
                    .unwrap_or_default(),
            )),
        };
        headers.push_span(name, vs - pos, ve - pos);
    }
    let start_line = start_line.ok_or(ParseError::Incomplete)?;
    let raw_head = buf.get(pos..head_end).unwrap_or(&[]);
    let text = ByteString::try_from(data.slice(pos..head_end)).ok();
    let mut split = Split {
        start_line,
        headers,
        body_start,
        text,
        base: pos,
    };
    match &split.text {
        Some(t) => split.headers.set_text(t.clone()),
        None => split.headers.own_spans_lossy(raw_head),
    }
    Ok(split)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ends(buf: &[u8]) -> Vec<Result<(usize, usize), usize>> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < buf.len() {
            match find_line_end(buf, i) {
                Ok(e) => {
                    out.push(Ok((e.content, e.next)));
                    i = e.next;
                }
                Err(at) => {
                    out.push(Err(at));
                    break;
                }
            }
        }
        out
    }

    #[test]
    fn line_ends_across_words_tabs_and_high_bytes() {
        // LF, CRLF, a CRLF straddling a word boundary, a tab and UTF-8
        // (bytes above 0x80) inside lines, no newline at the end.
        let buf = "0123456\n89\r\n\tb\u{e9}c12345\r\nxyz\u{fc}\u{fc}\u{fc}last".as_bytes();
        assert_eq!(
            ends(buf),
            [
                Ok((7, 8)),
                Ok((10, 12)),
                Ok((22, 24)),
                Ok((buf.len(), buf.len()))
            ]
        );
    }

    #[test]
    fn bare_cr_is_found_wherever_it_is() {
        assert_eq!(ends(b"ab\r\ncd\ref\n"), [Ok((2, 4)), Err(6)]);
        assert_eq!(ends(b"abcdefghijk\r"), [Err(11)]);
        assert_eq!(ends(b"a\r\r\n"), [Err(1)]);
    }
}
