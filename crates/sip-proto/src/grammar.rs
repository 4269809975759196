//! Character classes and a small cursor for the RFC 3261 §25 grammar.
//!
//! Header values reach the typed parsers already unfolded (line folds are
//! replaced by one SP when the message is split), so "LWS" here is only a run
//! of SP and HT.

use std::borrow::Cow;

use crate::error::SyntaxError;

/// Builds a 256-entry class table from a const predicate over bytes.
macro_rules! class_table {
    ($pred:ident) => {{
        let mut t = [false; 256];
        let mut i = 0;
        while i < 256 {
            t[i] = $pred(i as u8);
            i += 1;
        }
        t
    }};
}

const fn token_pred(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
        )
}

const fn unreserved_pred(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')'
        )
}

const fn word_pred(b: u8) -> bool {
    token_pred(b)
        || matches!(
            b,
            b'(' | b')'
                | b'<'
                | b'>'
                | b':'
                | b'\\'
                | b'"'
                | b'/'
                | b'['
                | b']'
                | b'?'
                | b'{'
                | b'}'
        )
}

/// `gen-value` characters outside quotes: token, and host's ':' '[' ']'.
const fn gen_value_pred(b: u8) -> bool {
    token_pred(b) || matches!(b, b':' | b'[' | b']')
}

const fn host_pred(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_')
}

const fn user_pred(b: u8) -> bool {
    unreserved_pred(b) || matches!(b, b'&' | b'=' | b'+' | b'$' | b',' | b';' | b'?' | b'/')
}

const fn param_pred(b: u8) -> bool {
    unreserved_pred(b) || matches!(b, b'[' | b']' | b'/' | b':' | b'&' | b'+' | b'$')
}

#[allow(clippy::indexing_slicing)] // const-evaluated: a bad index fails the build
static TOKEN: [bool; 256] = class_table!(token_pred);
#[allow(clippy::indexing_slicing)] // const-evaluated: a bad index fails the build
static HOST: [bool; 256] = class_table!(host_pred);
#[allow(clippy::indexing_slicing)] // const-evaluated: a bad index fails the build
static GEN_VALUE: [bool; 256] = class_table!(gen_value_pred);
#[allow(clippy::indexing_slicing)] // const-evaluated: a bad index fails the build
static USER: [bool; 256] = class_table!(user_pred);
#[allow(clippy::indexing_slicing)] // const-evaluated: a bad index fails the build
static PARAM: [bool; 256] = class_table!(param_pred);

/// Host name characters (alphanum, '-', '.', and '_' seen in the wild).
#[inline(always)]
pub(crate) fn is_host_char(b: u8) -> bool {
    HOST.get(usize::from(b)).copied().unwrap_or(false)
}

/// SIP URI user part characters, besides escapes.
#[inline(always)]
pub(crate) fn is_user_char(b: u8) -> bool {
    USER.get(usize::from(b)).copied().unwrap_or(false)
}

/// URI parameter characters (`paramchar` without escapes).
#[inline(always)]
pub(crate) fn is_param_char(b: u8) -> bool {
    PARAM.get(usize::from(b)).copied().unwrap_or(false)
}
#[allow(clippy::indexing_slicing)] // const-evaluated: a bad index fails the build
static UNRESERVED: [bool; 256] = class_table!(unreserved_pred);
#[allow(clippy::indexing_slicing)] // const-evaluated: a bad index fails the build
static WORD: [bool; 256] = class_table!(word_pred);

/// `token` characters: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~"
#[inline(always)]
pub(crate) fn is_token(b: u8) -> bool {
    TOKEN.get(usize::from(b)).copied().unwrap_or(false)
}

/// Characters of an unquoted `gen-value` (token / host).
#[inline(always)]
pub(crate) fn is_gen_value_char(b: u8) -> bool {
    GEN_VALUE.get(usize::from(b)).copied().unwrap_or(false)
}

/// `raw` with bit 0x20 set in every byte, written into `buf`: `None` if it
/// does not fit. For matching a name against lowercase names made of
/// letters, digits and '-': the fold lowercases letters and leaves '-' and
/// the digits as they are, and the only other bytes it turns into such
/// characters are below 0x20. So a fold equal to such a name proves `raw`
/// is that name in some case, whatever else `raw` held.
#[inline]
pub(crate) fn fold_name<'b>(raw: &[u8], buf: &'b mut [u8]) -> Option<&'b [u8]> {
    let dst = buf.get_mut(..raw.len())?;
    for (d, s) in dst.iter_mut().zip(raw) {
        *d = *s | 0x20;
    }
    Some(dst)
}

/// The first position at or after `i` that is not SP or HTAB.
#[inline]
pub(crate) fn skip_ws_from(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(|c| is_ws(*c)) {
        i += 1;
    }
    i
}

/// The first position at or after `i` whose byte fails `f`.
#[inline]
pub(crate) fn walk_from(b: &[u8], mut i: usize, f: impl Fn(u8) -> bool) -> usize {
    while b.get(i).is_some_and(|c| f(*c)) {
        i += 1;
    }
    i
}

/// [`walk_from`] for a class `f` that holds every letter and digit: runs
/// of letters and digits are skipped sixteen bytes at a time (the long
/// branches, tags and Call-IDs are mostly such runs), other bytes are
/// asked of `f` one at a time.
#[inline]
pub(crate) fn walk_alnum_from(b: &[u8], mut i: usize, f: impl Fn(u8) -> bool) -> usize {
    use wide::u8x16;
    while let Some(chunk) = b.get(i..).and_then(|r| r.first_chunk::<16>()) {
        let v = u8x16::from(*chunk);
        let between = |x: u8x16, low: u8, span: u8| {
            let d = x - u8x16::splat(low);
            d.min(u8x16::splat(span)).simd_eq(d)
        };
        let alnum =
            (between(v | u8x16::splat(0x20), b'a', b'z' - b'a') | between(v, b'0', 9)).to_bitmask();
        let run = (!alnum).trailing_zeros() as usize;
        i += run;
        if run == 16 {
            continue;
        }
        if !b.get(i).is_some_and(|c| f(*c)) {
            return i;
        }
        i += 1;
    }
    walk_from(b, i, f)
}

/// `unreserved` = alphanum / mark
#[inline(always)]
pub(crate) fn is_unreserved(b: u8) -> bool {
    UNRESERVED.get(usize::from(b)).copied().unwrap_or(false)
}

/// `word` characters (Call-ID), a superset of token.
#[inline(always)]
pub(crate) fn is_word(b: u8) -> bool {
    WORD.get(usize::from(b)).copied().unwrap_or(false)
}

/// Position of byte `b` in `s`. A plain loop: the strings searched here
/// (URI parts, parameters) are short, where memchr's set-up costs more
/// than it saves.
#[inline]
pub(crate) fn find_byte(s: &str, b: u8) -> Option<usize> {
    s.bytes().position(|c| c == b)
}

/// Position of the first `byte` at or after `i`, or `b.len()`: sixteen
/// bytes a step (the parameter values searched, branches and tags, are
/// mostly ten to thirty bytes).
#[inline]
pub(crate) fn find_byte_from(b: &[u8], mut i: usize, byte: u8) -> usize {
    use wide::u8x16;
    let mask = |chunk: &[u8; 16]| u8x16::from(*chunk).simd_eq(u8x16::splat(byte)).to_bitmask();
    while let Some(chunk) = b.get(i..).and_then(|r| r.first_chunk::<16>()) {
        let m = mask(chunk);
        if m != 0 {
            return i + m.trailing_zeros() as usize;
        }
        i += 16;
    }
    if i >= b.len() {
        return b.len();
    }
    // Fewer than sixteen bytes left: the buffer's last sixteen, those
    // before `i` shifted out.
    if let Some(last) = b.last_chunk::<16>() {
        let m = mask(last) >> (i + 16 - b.len());
        return if m == 0 {
            b.len()
        } else {
            i + m.trailing_zeros() as usize
        };
    }
    // A buffer of eight to fifteen bytes (a tag, a short parameter list):
    // one vector of it, padded; the padding's bits masked off.
    if let Some(v) = padded16(b) {
        let m = (mask(&v) & ((1 << b.len()) - 1)) >> i;
        return if m == 0 {
            b.len()
        } else {
            i + m.trailing_zeros() as usize
        };
    }
    b.get(i..)
        .and_then(|r| r.iter().position(|c| *c == byte))
        .map_or(b.len(), |at| i + at)
}

/// `b`, of eight to sixteen bytes, followed by zeros: its first and last
/// eight, two fixed copies that may overlap, rather than a call to
/// `memcpy`. `None` for other lengths.
#[inline]
pub(crate) fn padded16(b: &[u8]) -> Option<[u8; 16]> {
    let (first, last) = (b.first_chunk::<8>()?, b.last_chunk::<8>()?);
    let mut v = [0u8; 16];
    *v.first_chunk_mut::<8>()? = *first;
    *v.get_mut(b.len() - 8..)?.first_chunk_mut::<8>()? = *last;
    Some(v)
}

/// Splits `s` at the first `b`, dropping it.
#[inline]
pub(crate) fn split_byte(s: &str, b: u8) -> Option<(&str, &str)> {
    let i = find_byte(s, b)?;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

#[inline(always)]
pub(crate) const fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

#[inline]
pub(crate) fn trim_ws(s: &str) -> &str {
    let b = s.as_bytes();
    let start = b.iter().position(|c| !is_ws(*c)).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !is_ws(*c)).map_or(start, |e| e + 1);
    s.get(start..end).unwrap_or("")
}

/// A read position in a header value.
#[derive(Clone, Copy)]
pub(crate) struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(s: &'a str) -> Self {
        Cursor { s, pos: 0 }
    }

    pub(crate) fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or("")
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.s.len()
    }

    #[inline]
    pub(crate) fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    /// Advances by `n` bytes (after a manual scan of [`rest`](Self::rest)).
    pub(crate) fn advance(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.s.len());
    }

    #[inline]
    pub(crate) fn skip_ws(&mut self) {
        self.pos = skip_ws_from(self.s.as_bytes(), self.pos);
    }

    /// Consumes `b` (after optional LWS) and the LWS after it.
    pub(crate) fn eat_sep(&mut self, b: u8) -> bool {
        let save = self.pos;
        self.skip_ws();
        if self.peek() == Some(b) {
            self.pos += 1;
            self.skip_ws();
            true
        } else {
            self.pos = save;
            false
        }
    }

    pub(crate) fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    #[inline]
    pub(crate) fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        let rest = self.s.as_bytes().get(start..).unwrap_or(&[]);
        self.pos += rest.iter().position(|b| !f(*b)).unwrap_or(rest.len());
        // Predicates only accept ASCII, so the slice ends on a char boundary.
        self.s.get(start..self.pos).unwrap_or("")
    }

    #[inline]
    pub(crate) fn token(&mut self, what: &'static str) -> Result<&'a str, SyntaxError> {
        let t = self.take_while(is_token);
        if t.is_empty() {
            Err(SyntaxError::new(what, self.rest()))
        } else {
            Ok(t)
        }
    }

    /// A `quoted-string`; the cursor must be at the opening DQUOTE.
    /// Returns the content with quoted-pairs resolved.
    pub(crate) fn quoted(&mut self) -> Result<Cow<'a, str>, SyntaxError> {
        let (raw, len, pairs) = scan_quoted_pairs(self.rest())?;
        self.pos += len;
        Ok(if pairs {
            unquote_raw(raw)
        } else {
            Cow::Borrowed(raw)
        })
    }

    /// Like [`quoted`](Self::quoted) but returns the raw text including the
    /// quotes, for values that must round-trip exactly.
    pub(crate) fn quoted_raw(&mut self) -> Result<&'a str, SyntaxError> {
        let start = self.pos;
        let (_, len) = scan_quoted(self.rest())?;
        self.pos += len;
        Ok(self.s.get(start..self.pos).unwrap_or(""))
    }

    #[inline]
    pub(crate) fn expect_end(&mut self, what: &'static str) -> Result<(), SyntaxError> {
        self.skip_ws();
        if self.is_empty() {
            Ok(())
        } else {
            Err(SyntaxError::new(what, self.rest()))
        }
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, SyntaxError> {
        let digits = self.take_while(|b| b.is_ascii_digit());
        parse_u32(digits, what)
    }
}

/// Parses decimal digits into a u32; overflow is an error, not a wrap.
pub(crate) fn parse_u32(digits: &str, what: &'static str) -> Result<u32, SyntaxError> {
    let b = digits.as_bytes();
    // Up to nine digits cannot overflow: one pass, no trimming.
    if !b.is_empty() && b.len() <= 9 {
        let mut v: u32 = 0;
        let mut all_digits = true;
        for &c in b {
            let d = c.wrapping_sub(b'0');
            all_digits &= d < 10;
            v = v.wrapping_mul(10).wrapping_add(u32::from(d));
        }
        return if all_digits {
            Ok(v)
        } else {
            Err(SyntaxError::new(what, digits))
        };
    }
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SyntaxError::new(what, digits));
    }
    // Leading zeros are legal ("0068"); strip them so the length check holds.
    let significant = digits.trim_start_matches('0');
    if significant.len() > 10 {
        return Err(SyntaxError::new(what, digits));
    }
    let mut v: u64 = 0;
    for b in significant.bytes() {
        v = v * 10 + u64::from(b - b'0');
    }
    u32::try_from(v).map_err(|_| SyntaxError::new(what, digits))
}

/// Finds the end of a quoted string at the start of `s`.
/// Returns (content between the quotes, raw, total length incl. quotes).
pub(crate) fn scan_quoted(s: &str) -> Result<(&str, usize), SyntaxError> {
    scan_quoted_pairs(s).map(|(content, len, _)| (content, len))
}

/// [`scan_quoted`], also saying whether the content holds a quoted-pair
/// (so whether it needs decoding).
pub(crate) fn scan_quoted_pairs(s: &str) -> Result<(&str, usize, bool), SyntaxError> {
    let bytes = s.as_bytes();
    if bytes.first() != Some(&b'"') {
        return Err(SyntaxError::new("opening quote", s));
    }
    let mut i = 1;
    let mut pairs = false;
    loop {
        // Plain text up to the next quote, backslash or line break.
        i = walk_alnum_from(bytes, i, |c| !matches!(c, b'"' | b'\\' | b'\r' | b'\n'));
        let Some(&b) = bytes.get(i) else {
            break;
        };
        match b {
            b'"' => return Ok((s.get(1..i).unwrap_or(""), i + 1, pairs)),
            // quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)
            b'\\' => match bytes.get(i + 1) {
                Some(&n) if n <= 0x7f && n != b'\r' && n != b'\n' => {
                    pairs = true;
                    i += 2;
                }
                _ => return Err(SyntaxError::new("valid quoted-pair", s)),
            },
            // CR or LF: the walk stops at nothing else.
            _ => return Err(SyntaxError::new("closing quote", s)),
        }
    }
    Err(SyntaxError::new("closing quote", s))
}

/// Resolves quoted-pairs in the text between two quotes.
pub(crate) fn unquote_raw(raw: &str) -> Cow<'_, str> {
    if !raw.contains('\\') {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Writes `s` as a quoted-string (RFC 3261 §25.1): `"`, `\` and control
/// characters as quoted-pairs; CR and LF, which no quoted-pair can carry,
/// as spaces (so a value can never break the message into new lines).
pub(crate) fn write_quoted(f: &mut impl std::fmt::Write, s: &str) -> std::fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '\r' | '\n' => f.write_char(' ')?,
            '"' | '\\' => {
                f.write_char('\\')?;
                f.write_char(c)?;
            }
            c if c.is_ascii_control() && c != '\t' => {
                f.write_char('\\')?;
                f.write_char(c)?;
            }
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

/// If `s` is a quoted-string, returns its decoded content; else `s` itself.
pub(crate) fn unquote(s: &str) -> Cow<'_, str> {
    let b = s.as_bytes();
    if b.len() >= 2 && b.first() == Some(&b'"') && b.last() == Some(&b'"') {
        unquote_raw(s.get(1..s.len() - 1).unwrap_or(""))
    } else {
        Cow::Borrowed(s)
    }
}

/// Splits a header value at top-level commas (outside quoted strings and
/// `<...>`). An all-blank value yields no elements; otherwise each element
/// is yielded trimmed, including empty ones so callers can refuse them.
pub(crate) fn split_commas(s: &str) -> CommaSplit<'_> {
    CommaSplit {
        s,
        pos: 0,
        done: trim_ws(s).is_empty(),
    }
}

pub(crate) struct CommaSplit<'a> {
    s: &'a str,
    pos: usize,
    done: bool,
}

impl<'a> Iterator for CommaSplit<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.done {
            return None;
        }
        let bytes = self.s.as_bytes();
        let start = self.pos;
        if start == 0 && memchr::memchr(b',', bytes).is_none() {
            self.done = true;
            return Some(trim_ws(self.s));
        }
        let mut i = start;
        let mut in_quote = false;
        let mut in_angle = false;
        while let Some(&b) = bytes.get(i) {
            if in_quote {
                match b {
                    b'\\' => i += 1,
                    b'"' => in_quote = false,
                    _ => {}
                }
            } else {
                match b {
                    b'"' => in_quote = true,
                    b'<' => in_angle = true,
                    b'>' => in_angle = false,
                    b',' if !in_angle => break,
                    _ => {}
                }
            }
            i += 1;
        }
        let end = i.min(bytes.len());
        let item = self.s.get(start..end).unwrap_or("");
        if end >= bytes.len() {
            self.done = true;
        } else {
            self.pos = end + 1;
        }
        Some(trim_ws(item))
    }
}

/// Decodes %HH escapes. Invalid escapes are kept literally (callers that
/// need strictness validate first with [`check_escapes`]).
pub(crate) fn percent_decode(s: &str) -> Cow<'_, [u8]> {
    if !s.contains('%') {
        return Cow::Borrowed(s.as_bytes());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            if let (Some(h), Some(l)) = (
                b.get(i + 1).and_then(|x| hex_val(*x)),
                b.get(i + 2).and_then(|x| hex_val(*x)),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    Cow::Owned(out)
}

const fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The first position at or after `i` that is neither a byte `allowed`
/// accepts nor the start of a `%HH` escape; `Err(at)` for a `%` that
/// starts no escape. `allowed` accepts every letter and digit (every URI
/// class does).
#[inline]
pub(crate) fn walk_escaped(
    b: &[u8],
    mut i: usize,
    allowed: impl Fn(u8) -> bool,
) -> Result<usize, usize> {
    loop {
        // Runs of letters and digits sixteen bytes at a time (`allowed`
        // holds them all: user, password, parameter and header classes).
        i = walk_alnum_from(b, i, |c| c != b'%' && allowed(c));
        if b.get(i) != Some(&b'%') {
            return Ok(i);
        }
        let hex = |at: usize| b.get(at).and_then(|x| hex_val(*x)).is_some();
        if !(hex(i + 1) && hex(i + 2)) {
            return Err(i);
        }
        i += 3;
    }
}

/// Checks that every `%` starts a `%HH` escape and every other byte is
/// allowed by `allowed`.
pub(crate) fn check_escaped(
    s: &str,
    allowed: impl Fn(u8) -> bool,
    what: &'static str,
) -> Result<(), SyntaxError> {
    match walk_escaped(s.as_bytes(), 0, allowed) {
        Ok(end) if end == s.len() => Ok(()),
        Ok(at) | Err(at) => Err(SyntaxError::new(what, s.get(at..).unwrap_or(""))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The escaped walk (letters and digits sixteen at a time) ends
        /// where a byte-by-byte walk ends, with the same verdict.
        #[test]
        fn escaped_walk_agrees_with_a_byte_walk(
            text in proptest::collection::vec(prop::sample::select(b"aZ09%fG;=@-.".to_vec()), 0..40),
            from in 0usize..4,
        ) {
            let byte_walk = |mut i: usize| -> Result<usize, usize> {
                loop {
                    match text.get(i) {
                        Some(b'%') => {
                            let hex = |at: usize| text.get(at).is_some_and(u8::is_ascii_hexdigit);
                            if !(hex(i + 1) && hex(i + 2)) {
                                return Err(i);
                            }
                            i += 3;
                        }
                        Some(&c) if is_user_char(c) => i += 1,
                        _ => return Ok(i),
                    }
                }
            };
            prop_assert_eq!(walk_escaped(&text, from, is_user_char), byte_walk(from));
        }
    }

    proptest! {
        /// The vector search finds what a byte walk finds, from every
        /// start, in buffers of every length up to three vectors.
        #[test]
        fn find_byte_from_agrees_with_a_walk(
            text in proptest::collection::vec(prop::sample::select(b";=>a\x00".to_vec()), 0..48),
            byte in prop::sample::select(b";=>\x00".to_vec()),
        ) {
            for i in 0..=text.len() + 1 {
                let walk = text
                    .get(i..)
                    .and_then(|r| r.iter().position(|c| *c == byte))
                    .map_or(text.len(), |at| i + at);
                prop_assert_eq!(find_byte_from(&text, i, byte), walk, "from {}", i);
            }
        }
    }

    proptest! {
        /// Skipping letters and digits a vector at a time ends where the
        /// byte walk ends, for every class that holds them.
        #[test]
        fn alnum_runs_walk_like_the_byte_walk(
            text in proptest::collection::vec(
                prop::sample::select(b"aZ09.-_~!:;@ ,\"<>\t\x00\x7f\xc3\xa9".to_vec()), 0..70),
            start in 0usize..70,
        ) {
            for class in [is_token, is_gen_value_char, is_word, |c: u8| c.is_ascii_graphic()] {
                prop_assert_eq!(walk_alnum_from(&text, start, class), walk_from(&text, start, class));
            }
        }
    }

    #[test]
    fn decimal_numbers() {
        for (text, want) in [
            ("0", Some(0)),
            ("000000007", Some(7)),
            ("123456789", Some(123_456_789)),
            ("4294967295", Some(u32::MAX)),
            ("0000000000004294967295", Some(u32::MAX)),
            ("4294967296", None),
            ("", None),
            ("12a", None),
            ("1 2", None),
            ("-1", None),
            ("99999999999", None),
        ] {
            assert_eq!(parse_u32(text, "n").ok(), want, "{text:?}");
        }
    }

    #[test]
    fn commas_respect_quotes_and_angles() {
        let v: Vec<_> = split_commas(r#""a, b" <sip:x@y;p=1,2>;q=1 , <sip:z>, "c\",d""#).collect();
        assert_eq!(
            v,
            [r#""a, b" <sip:x@y;p=1,2>;q=1"#, "<sip:z>", r#""c\",d""#]
        );
        assert_eq!(split_commas("  ").count(), 0);
        assert_eq!(split_commas("a,,b").collect::<Vec<_>>(), ["a", "", "b"]);
    }

    #[test]
    fn u32_bounds() {
        assert_eq!(parse_u32("0068", "n"), Ok(68));
        assert_eq!(parse_u32("4294967295", "n"), Ok(u32::MAX));
        assert!(parse_u32("4294967296", "n").is_err());
        assert!(parse_u32("36893488147419103232", "n").is_err());
        assert!(parse_u32("-1", "n").is_err());
        assert!(parse_u32("", "n").is_err());
    }

    #[test]
    fn quoted_strings() {
        let mut c = Cursor::new(r#""J Rosenberg \\\"" rest"#);
        assert_eq!(c.quoted().unwrap(), r#"J Rosenberg \""#);
        assert_eq!(c.rest(), " rest");
        assert!(Cursor::new(r#""unterminated"#).quoted().is_err());
    }

    #[test]
    fn percent() {
        assert_eq!(&*percent_decode("null-%00-null"), b"null-\0-null");
        assert_eq!(&*percent_decode("a%4"), b"a%4");
        assert!(check_escaped("a%4", is_unreserved, "x").is_err());
    }
}
