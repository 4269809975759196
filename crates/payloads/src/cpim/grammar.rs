//! The small pieces of RFC 3862 §3 grammar shared by the parser and the
//! writer: names, tokens, the escape mechanism (§2.3), quoted strings and
//! `[Formal-name] <URI>` addresses.

use super::Address;

/// A Name-char of §3.6: printable US-ASCII except `.` and `:` (which
/// delimit the prefix and the value), and no space.
pub(crate) fn is_name_char(c: char) -> bool {
    matches!(c, '!'..='~') && c != '.' && c != ':'
}

pub(crate) fn is_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_name_char)
}

/// The TOKENCHARs of §3.6 (MIME tokens: no specials, no space).
pub(crate) fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_token_char)
}

/// Whether `s` may stand between `<` and `>`: a URI is not checked against
/// RFC 3986 here (the SIP layer does that), only kept from breaking the
/// header line.
pub(crate) fn is_bracketable_uri(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| !c.is_control() && !c.is_whitespace() && !"<>\"".contains(c))
}

/// Resolves §2.3 escapes. A backslash before anything the RFC does not list
/// is kept as written: senders that never heard of the mechanism write
/// Windows paths, and losing their backslashes helps nobody. A `\u` escape
/// naming half of a surrogate pair that has no partner becomes U+FFFD.
pub(crate) fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.peek().copied() {
            Some('\\') => out.push('\\'),
            Some('"') => out.push('"'),
            Some('\'') => out.push('\''),
            Some('b') => out.push('\u{8}'),
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('u') => {
                let mut look = chars.clone();
                look.next();
                match hex4(&mut look) {
                    Some(unit) => {
                        chars = look;
                        out.push(decode_unit(unit, &mut chars));
                        continue;
                    }
                    None => {
                        out.push('\\');
                        continue;
                    }
                }
            }
            _ => {
                out.push('\\');
                continue;
            }
        }
        chars.next();
    }
    out
}

fn hex4(it: &mut impl Iterator<Item = char>) -> Option<u32> {
    let mut v = 0u32;
    for _ in 0..4 {
        v = v * 16 + it.next()?.to_digit(16)?;
    }
    Some(v)
}

fn decode_unit(unit: u32, rest: &mut std::iter::Peekable<std::str::Chars<'_>>) -> char {
    if (0xD800..0xDC00).contains(&unit) {
        let mut look = rest.clone();
        if look.next() == Some('\\') && look.next() == Some('u') {
            if let Some(low) = hex4(&mut look) {
                if (0xDC00..0xE000).contains(&low) {
                    *rest = look;
                    let c = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                    return char::from_u32(c).unwrap_or('\u{fffd}');
                }
            }
        }
    }
    char::from_u32(unit).unwrap_or('\u{fffd}')
}

/// Escapes what cannot stand in a header value as written: the backslash
/// itself, line ends and other control characters (and, inside a quoted
/// string, the double quote). UTF-8 passes through: §3.2 allows it.
pub(crate) fn escape_into(out: &mut String, s: &str, quoted: bool) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' if quoted => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            c if c.is_control() => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
}

pub(crate) fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    escape_into(&mut out, s, true);
    out.push('"');
    out
}

/// Reads a quoted string at the start of `s` (which starts with `"`):
/// its unescaped content and what follows the closing quote.
pub(crate) fn take_quoted(s: &str) -> Option<(String, &str)> {
    let body = s.strip_prefix('"')?;
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '"' {
            let raw = body.get(..i)?;
            let rest = body.get(i + 1..)?;
            return Some((unescape(raw), rest));
        }
    }
    None
}

/// Parses `[Formal-name] "<" URI ">"` (§4.1). A bare URI without brackets
/// is taken too: some gateways write one.
pub(crate) fn parse_address(value: &str) -> Option<Address> {
    let v = value.trim();
    let (display_name, rest) = if v.starts_with('"') {
        let (name, rest) = take_quoted(v)?;
        (Some(name), rest.trim_start())
    } else if let Some(lt) = v.find('<') {
        let name = v.get(..lt)?.trim();
        (Some(name.to_owned()), v.get(lt..)?)
    } else {
        (None, v)
    };
    let uri = match rest.strip_prefix('<') {
        Some(inner) => inner.strip_suffix('>')?,
        None if display_name.is_none() => rest,
        None => return None,
    };
    if !is_bracketable_uri(uri) {
        return None;
    }
    Some(Address {
        display_name: display_name.filter(|n| !n.is_empty()),
        uri: uri.to_owned(),
    })
}

/// Prints an address; the name goes bare when it is tokens separated by
/// single spaces (as the RFC's examples write it), quoted otherwise.
pub(crate) fn write_address(out: &mut String, a: &Address) {
    if let Some(name) = a.display_name.as_deref().filter(|n| !n.is_empty()) {
        if name.split(' ').all(is_token) {
            out.push_str(name);
        } else {
            out.push_str(&quoted(name));
        }
        out.push(' ');
    }
    out.push('<');
    out.push_str(&a.uri);
    out.push('>');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_resolve() {
        assert_eq!(unescape(r#"a\\b\"c\n\u00e9"#), "a\\b\"c\né");
        assert_eq!(unescape(r"\ud83d\ude00"), "😀");
        assert_eq!(unescape(r"\ud83d"), "\u{fffd}");
        assert_eq!(unescape(r"C:\dir\x"), r"C:\dir\x");
        assert_eq!(unescape("end\\"), "end\\");
        assert_eq!(unescape(r"\u12"), r"\u12");
    }

    #[test]
    fn escape_then_unescape_is_identity() {
        for s in [
            "plain",
            "back\\slash",
            "q\"uote",
            "line\r\nend",
            "\u{1}\u{7f}",
            "é😀",
        ] {
            let mut e = String::new();
            escape_into(&mut e, s, true);
            assert!(!e.contains('\n') && !e.contains('\r'));
            assert_eq!(unescape(&e), s);
        }
    }

    #[test]
    fn addresses() {
        let a = parse_address("MR SANDERS <im:piglet@100akerwood.com>").unwrap();
        assert_eq!(a.display_name.as_deref(), Some("MR SANDERS"));
        assert_eq!(a.uri, "im:piglet@100akerwood.com");
        let b = parse_address(r#""Pooh \"Bear\"" <im:pooh@100akerwood.com>"#).unwrap();
        assert_eq!(b.display_name.as_deref(), Some("Pooh \"Bear\""));
        let c = parse_address("<im:piglet@100akerwood.com>").unwrap();
        assert_eq!(c.display_name, None);
        assert!(parse_address("Name <>").is_none());
        assert!(parse_address("Name <a b>").is_none());
        assert!(parse_address("\"open <x:y>").is_none());
        assert!(parse_address("Name x:y").is_none());
    }
}
