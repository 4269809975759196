//! Splitting a message head into its start line and header fields in one
//! pass: line ends are found sixteen bytes at a time (SIMD), which also finds
//! any CR that does not end a line, and header values are recorded as
//! spans of the head, which is checked as UTF-8 once at the end.

use bytes::Bytes;
use bytestring::ByteString;
use wide::u8x16;

use crate::error::{ParseError, SyntaxError};
use crate::grammar::{is_token, is_ws, skip_ws_from};
use crate::headers::{HeaderName, Headers};

use super::Limits;

/// Bytes per step of the line scan.
const STEP: usize = 16;

/// A header line's name: its length (up to the first ':', SP, HTAB or the
/// line end) and, when it fits in one vector, its bytes case-folded for
/// the known-name lookup. One vector step for the usual names;
/// `line_start` may be followed by more of the buffer than the line, which
/// the stop bytes (the line's end among them) keep out of the name.
#[inline]
fn read_name(buf: &[u8], line_start: usize, line_end: usize) -> (usize, Option<[u8; STEP]>) {
    let line_len = line_end - line_start;
    let word = buf.get(line_start..).and_then(|r| r.first_chunk::<STEP>());
    if let Some(word) = word {
        let v = u8x16::from(*word);
        // Bytes up to SP (controls, SP, HTAB) or ':'.
        let stops = v.min(u8x16::splat(b' ')).simd_eq(v) | v.simd_eq(u8x16::splat(b':'));
        let m = stops.to_bitmask();
        if m != 0 {
            let len = (m.trailing_zeros() as usize).min(line_len);
            // `grammar::fold_name`, a vector at a time.
            let folded = (v | u8x16::splat(0x20)).to_array();
            return (len, Some(folded));
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
    /// A comma somewhere before `content`.
    comma: bool,
}

/// The end of the line holding `buf[from]`: the next CR or LF, found
/// sixteen bytes a step with SIMD compares (`wide`'s safe vectors); only
/// CR and LF end a line (HTAB and other control bytes are the typed
/// parsers' business). Notes on the way whether the line holds a comma,
/// which spares list headers a second scan. `Err(at)` is a CR not
/// followed by LF.
fn find_line_end(buf: &[u8], from: usize) -> Result<LineEnd, usize> {
    let rest = buf.get(from..).unwrap_or(&[]);
    let (chunks, tail) = rest.as_chunks::<STEP>();
    let (cr, lf, comma) = (u8x16::splat(b'\r'), u8x16::splat(b'\n'), u8x16::splat(b','));
    let mut found = None;
    let mut commas = 0;
    for (n, chunk) in chunks.iter().enumerate() {
        let v = u8x16::from(*chunk);
        let m = (v.simd_eq(cr) | v.simd_eq(lf)).to_bitmask();
        let c = v.simd_eq(comma).to_bitmask();
        if m != 0 {
            // Commas before the line end only.
            commas |= c & (m & m.wrapping_neg()).wrapping_sub(1);
            found = Some(n * STEP + m.trailing_zeros() as usize);
            break;
        }
        commas |= c;
    }
    if found.is_none() {
        // The last bytes, fewer than a vector, one at a time.
        let at = tail.iter().position(|b| *b == b'\r' || *b == b'\n');
        if tail
            .get(..at.unwrap_or(tail.len()))
            .unwrap_or(&[])
            .contains(&b',')
        {
            commas = 1;
        }
        found = at.map(|at| chunks.len() * STEP + at);
    }
    let comma = commas != 0;
    let Some(at) = found else {
        return Ok(LineEnd {
            content: buf.len(),
            next: buf.len(),
            comma,
        });
    };
    let i = from + at;
    match rest.get(at..at + 2) {
        Some(b"\r\n") => Ok(LineEnd {
            content: i,
            next: i + 2,
            comma,
        }),
        _ if rest.get(at) == Some(&b'\n') => Ok(LineEnd {
            content: i,
            next: i + 1,
            comma,
        }),
        _ => Err(i),
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
    // The usual "Name: value": the colon at once, one SP, no trailing WS.
    if name_len > 0 && line.get(name_len) == Some(&b':') {
        let start = match line.get(name_len + 1..name_len + 3) {
            Some([b' ', c]) if !is_ws(*c) => name_len + 2,
            _ => skip_ws_from(line, name_len + 1),
        };
        let end = match line.last() {
            Some(c) if is_ws(*c) => trim_end(line, start, line.len()),
            _ => line.len(),
        };
        return Some((start, end.max(start)));
    }
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
        headers.push_span(name, vs - pos, ve - pos, end.comma);
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
    fn name_stops_at_colon_space_tab_or_line_end_in_one_vector() {
        let name = |line: &[u8]| {
            let mut buf = line.to_vec();
            let end = buf.len();
            buf.extend_from_slice(b"\r\nNext: header and more bytes");
            read_name(&buf, 0, end)
        };
        let (len, folded) = name(b"Call-ID: x");
        assert_eq!(len, 7);
        assert_eq!(folded.unwrap().get(..7), Some(&b"call-id"[..]));
        assert_eq!(name(b"To :x").0, 2);
        assert_eq!(name(b"To\t:x").0, 2);
        // The line's end stops a name that has no colon.
        assert_eq!(name(b"Subject").0, 7);
        // Bytes above 0x7f are not stops (the token check refuses them).
        assert_eq!(name("Caf\u{e9}: x".as_bytes()).0, 5);
        // Longer than a vector: found byte by byte, nothing folded.
        let (len, folded) = name(b"X-A-Very-Long-Header-Name: 1");
        assert_eq!((len, folded), (25, None));
        // Near the end of the buffer (no whole vector left).
        assert_eq!(read_name(b"Via: x", 0, 6), (3, None));
    }

    #[test]
    fn commas_are_noted_before_the_line_end_only() {
        let comma = |buf: &[u8]| find_line_end(buf, 0).map(|e| e.comma);
        assert_eq!(comma(b"Via: a\r\nX: b, c\r\n"), Ok(false));
        assert_eq!(comma(b"Via: a, b\r\nX: c\r\n"), Ok(true));
        // In a later vector than the first, and in the tail.
        assert_eq!(comma(b"Supported: timer, 100rel, path\r\n"), Ok(true));
        assert_eq!(comma(b"Supported: timer and more,x"), Ok(true));
        assert_eq!(comma(b"Supported: timer and more x\r\n,"), Ok(false));
    }

    #[test]
    fn header_values_trimmed_in_every_spacing() {
        fn value(line: &str, name_len: usize) -> Option<&str> {
            header_value(line.as_bytes(), name_len).map(|(s, e)| line.get(s..e).unwrap_or("?"))
        }
        assert_eq!(value("To: a", 2), Some("a"));
        assert_eq!(value("To:a", 2), Some("a"));
        assert_eq!(value("To:  a \t", 2), Some("a"));
        assert_eq!(value("To: \ta", 2), Some("a"));
        assert_eq!(value("To :a", 2), Some("a"));
        assert_eq!(value("To\t: a b ", 2), Some("a b"));
        assert_eq!(value("To:", 2), Some(""));
        assert_eq!(value("To: ", 2), Some(""));
        assert_eq!(value("To:   ", 2), Some(""));
        assert_eq!(value("To a", 2), None);
        assert_eq!(value(": a", 0), None);
    }

    #[test]
    fn bare_cr_is_found_wherever_it_is() {
        assert_eq!(ends(b"ab\r\ncd\ref\n"), [Ok((2, 4)), Err(6)]);
        assert_eq!(ends(b"abcdefghijk\r"), [Err(11)]);
        assert_eq!(ends(b"a\r\r\n"), [Err(1)]);
    }
}
