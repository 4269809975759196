//! Reading a Message/CPIM. Lenient where senders commonly stray (bare LF
//! line ends, header names in any case, a bare URI without brackets, a
//! MIME block that runs to the end without its blank line), strict where a
//! mistake would change meaning (a repeated `From` or `DateTime`, a bad
//! date, a malformed name).

use super::grammar::{is_name, is_token, is_token_char, parse_address, take_quoted, unescape};
use super::{
    CpimError, CpimErrorKind, ExtensionHeader, Limits, Message, MimeHeader, Namespace, Param,
    Subject, CPIM_HEADERS_NS,
};
use crate::DateTime;

/// One physical line: its text without the line end, its 1-based number,
/// and where the next starts. `None` at the end of input.
fn next_line(input: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let rest = input.get(pos..).filter(|r| !r.is_empty())?;
    match rest.iter().position(|&b| b == b'\n') {
        Some(nl) => {
            let line = rest.get(..nl)?;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            Some((line, pos + nl + 1))
        }
        None => Some((rest, input.len())),
    }
}

/// A header line split into its name, its parameters and its value.
struct RawHeader<'a> {
    name: &'a str,
    params: Vec<(String, String)>,
    value: &'a str,
}

fn split_header(line: &str, n: usize) -> Result<RawHeader<'_>, CpimError> {
    let colon = line
        .find(':')
        .ok_or_else(|| CpimError::at(n, CpimErrorKind::NotAHeader(short(line))))?;
    let name = line.get(..colon).unwrap_or_default();
    let mut rest = line.get(colon + 1..).unwrap_or_default();
    let mut params = Vec::new();
    while let Some(after) = rest.strip_prefix(';') {
        let eq = after
            .find('=')
            .ok_or_else(|| CpimError::malformed(n, "header parameter", after))?;
        let pname = after.get(..eq).unwrap_or_default();
        if !is_token(pname) {
            return Err(CpimError::malformed(n, "parameter name", pname));
        }
        let after_eq = after.get(eq + 1..).unwrap_or_default();
        let (pvalue, tail) = if after_eq.starts_with('"') {
            take_quoted(after_eq)
                .ok_or_else(|| CpimError::malformed(n, "quoted parameter", after_eq))?
        } else {
            let end = after_eq.find([';', ' ']).unwrap_or(after_eq.len());
            let v = after_eq.get(..end).unwrap_or_default();
            if !is_token(v) {
                return Err(CpimError::malformed(n, "parameter value", v));
            }
            (v.to_owned(), after_eq.get(end..).unwrap_or_default())
        };
        params.push((pname.to_owned(), pvalue));
        rest = tail;
    }
    // One space separates the name (and parameters) from the value; what
    // follows it is the value exactly, leading spaces included. A sender
    // that leaves the space out is understood when no parameter makes
    // that ambiguous.
    let value = rest.strip_prefix(' ').unwrap_or(rest);
    if !(params.is_empty() || rest.is_empty() || rest.starts_with(' ')) {
        return Err(CpimError::malformed(
            n,
            "header (no space after parameters)",
            line,
        ));
    }
    Ok(RawHeader {
        name,
        params,
        value,
    })
}

fn short(s: &str) -> String {
    s.chars().take(80).collect()
}

/// The standard headers, matched without regard to case (RFC 3862 writes
/// `cc` in lower case and the others capitalised; senders vary).
#[derive(Clone, Copy)]
enum Std {
    From,
    To,
    Cc,
    DateTime,
    Subject,
    Ns,
    Require,
}

fn standard(name: &str) -> Option<Std> {
    const NAMES: [(&str, Std); 7] = [
        ("From", Std::From),
        ("To", Std::To),
        ("cc", Std::Cc),
        ("DateTime", Std::DateTime),
        ("Subject", Std::Subject),
        ("NS", Std::Ns),
        ("Require", Std::Require),
    ];
    NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, s)| s)
}

pub(super) fn is_standard(name: &str) -> bool {
    standard(name).is_some()
}

fn parse_namespace(value: &str, n: usize) -> Result<Namespace, CpimError> {
    let v = value.trim();
    let bad = || CpimError::malformed(n, "NS header", v);
    let lt = v.find('<').ok_or_else(bad)?;
    let prefix = v.get(..lt).unwrap_or_default().trim();
    let uri = v
        .get(lt + 1..)
        .and_then(|r| r.strip_suffix('>'))
        .ok_or_else(bad)?;
    if !super::grammar::is_bracketable_uri(uri) || !(prefix.is_empty() || is_name(prefix)) {
        return Err(bad());
    }
    Ok(Namespace {
        prefix: Some(prefix.to_owned()).filter(|p| !p.is_empty()),
        uri: uri.to_owned(),
    })
}

/// Splits `prefix.Name`; a name holds no `.`, so at most one is allowed.
fn split_name(name: &str, n: usize) -> Result<(Option<&str>, &str), CpimError> {
    let bad = || CpimError::at(n, CpimErrorKind::BadName(short(name)));
    let (prefix, local) = match name.split_once('.') {
        Some((p, l)) => (Some(p), l),
        None => (None, name),
    };
    if !is_name(local) || prefix.is_some_and(|p| !is_name(p)) {
        return Err(bad());
    }
    Ok((prefix, local))
}

struct Pending<'a> {
    prefix: Option<&'a str>,
    name: &'a str,
    params: Vec<(String, String)>,
    value: &'a str,
}

pub(super) fn parse(input: &[u8], limits: &Limits) -> Result<Message, CpimError> {
    if input.len() > limits.max_size {
        return Err(CpimError::at(
            0,
            CpimErrorKind::TooLarge(input.len(), limits.max_size),
        ));
    }
    let mut msg = Message::default();
    let mut pending: Vec<Pending<'_>> = Vec::new();
    let mut pos = 0;
    let mut line_no = 0;
    let mut count = 0;
    let mut ended = false;
    while let Some((raw, next)) = next_line(input, pos) {
        line_no += 1;
        pos = next;
        if raw.is_empty() {
            ended = true;
            break;
        }
        count += 1;
        if count > limits.max_headers {
            return Err(CpimError::at(
                line_no,
                CpimErrorKind::TooManyHeaders(limits.max_headers),
            ));
        }
        let line = header_line(raw, line_no, limits)?;
        if line.starts_with([' ', '\t']) {
            return Err(CpimError::at(line_no, CpimErrorKind::Folded));
        }
        let h = split_header(line, line_no)?;
        let (prefix, name) = split_name(h.name, line_no)?;
        match (prefix, standard(name)) {
            (None, Some(std)) => read_standard(&mut msg, std, &h, line_no)?,
            _ => pending.push(Pending {
                prefix,
                name,
                params: h.params,
                value: h.value,
            }),
        }
    }
    if !ended {
        return Err(CpimError::at(line_no, CpimErrorKind::NoBlankLine));
    }
    // Prefixes resolve after the whole block is read, to the first NS
    // declaring them: the RFC's examples declare before use, but a prefix
    // does not become meaningless because a sender ordered lines otherwise.
    for p in pending {
        let namespace = match p.prefix {
            None => Some(CPIM_HEADERS_NS.to_owned()),
            Some(pre) => msg
                .namespaces
                .iter()
                .find(|d| d.prefix.as_deref() == Some(pre))
                .map(|d| d.uri.clone()),
        };
        msg.extensions.push(ExtensionHeader {
            prefix: p.prefix.map(str::to_owned),
            namespace,
            name: p.name.to_owned(),
            params: p
                .params
                .into_iter()
                .map(|(name, value)| Param { name, value })
                .collect(),
            value: unescape(p.value),
        });
    }
    let body_start = read_mime_headers(input, pos, line_no, limits, &mut msg)?;
    msg.body = input.get(body_start..).unwrap_or_default().to_vec();
    Ok(msg)
}

fn header_line<'a>(raw: &'a [u8], n: usize, limits: &Limits) -> Result<&'a str, CpimError> {
    if raw.len() > limits.max_line {
        return Err(CpimError::at(
            n,
            CpimErrorKind::LineTooLong(limits.max_line),
        ));
    }
    std::str::from_utf8(raw).map_err(|_| CpimError::at(n, CpimErrorKind::NotUtf8))
}

fn read_standard(
    msg: &mut Message,
    std: Std,
    h: &RawHeader<'_>,
    n: usize,
) -> Result<(), CpimError> {
    let address =
        |what| parse_address(h.value).ok_or_else(|| CpimError::malformed(n, what, h.value));
    match std {
        Std::From => {
            if msg.from.is_some() {
                return Err(CpimError::at(n, CpimErrorKind::Repeated("From")));
            }
            msg.from = Some(address("From address")?);
        }
        Std::To => msg.to.push(address("To address")?),
        Std::Cc => msg.cc.push(address("cc address")?),
        Std::DateTime => {
            if msg.datetime.is_some() {
                return Err(CpimError::at(n, CpimErrorKind::Repeated("DateTime")));
            }
            let t = DateTime::parse(h.value)
                .map_err(|_| CpimError::malformed(n, "DateTime", h.value))?;
            msg.datetime = Some(t);
        }
        Std::Subject => {
            let lang = h
                .params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("lang"))
                .map(|(_, v)| v.clone());
            msg.subjects.push(Subject {
                lang,
                text: unescape(h.value),
            });
        }
        Std::Ns => msg.namespaces.push(parse_namespace(h.value, n)?),
        Std::Require => {
            for item in h.value.split(',').map(str::trim) {
                split_name(item, n)?;
                msg.require.push(item.to_owned());
            }
        }
    }
    Ok(())
}

/// Reads the encapsulated MIME headers from `pos`; returns where the
/// content starts.
fn read_mime_headers(
    input: &[u8],
    mut pos: usize,
    mut line_no: usize,
    limits: &Limits,
    msg: &mut Message,
) -> Result<usize, CpimError> {
    let mut count = 0;
    while let Some((raw, next)) = next_line(input, pos) {
        line_no += 1;
        pos = next;
        if raw.is_empty() {
            return Ok(pos);
        }
        let line = header_line(raw, line_no, limits)?;
        if line.starts_with([' ', '\t']) {
            // RFC 5322 unfolding: the line end goes, the whitespace stays.
            let last = msg
                .content_headers
                .last_mut()
                .ok_or_else(|| CpimError::at(line_no, CpimErrorKind::NotAHeader(short(line))))?;
            if last.value.len() + line.len() > limits.max_line {
                return Err(CpimError::at(
                    line_no,
                    CpimErrorKind::LineTooLong(limits.max_line),
                ));
            }
            last.value.push_str(line);
            let trimmed = last.value.trim_end().len();
            last.value.truncate(trimmed);
            continue;
        }
        count += 1;
        if count > limits.max_headers {
            return Err(CpimError::at(
                line_no,
                CpimErrorKind::TooManyHeaders(limits.max_headers),
            ));
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| CpimError::at(line_no, CpimErrorKind::NotAHeader(short(line))))?;
        if name.is_empty() || !name.chars().all(is_token_char) {
            return Err(CpimError::at(line_no, CpimErrorKind::BadName(short(name))));
        }
        msg.content_headers.push(MimeHeader {
            name: name.to_owned(),
            value: value.trim().to_owned(),
        });
    }
    Ok(input.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_chars() {
        use crate::cpim::grammar::is_name_char;
        assert!(is_name_char('-') && !is_name_char('.') && !is_name_char(':'));
        assert!(split_name("a.b.c", 1).is_err());
        assert_eq!(
            split_name("imdn.Message-ID", 1).unwrap(),
            (Some("imdn"), "Message-ID")
        );
    }

    #[test]
    fn parameters_before_the_value() {
        let h = split_header("Subject:;lang=fr beau temps", 1).unwrap();
        assert_eq!(h.params, vec![("lang".to_owned(), "fr".to_owned())]);
        assert_eq!(h.value, "beau temps");
        let q = split_header(r#"X:;a="b c";d=e v"#, 1).unwrap();
        assert_eq!(q.params.len(), 2);
        assert_eq!(q.value, "v");
        assert_eq!(split_header("X:v", 1).unwrap().value, "v");
        assert!(split_header("X:;a=b\"c", 1).is_err());
        assert!(split_header("no colon", 1).is_err());
    }
}
