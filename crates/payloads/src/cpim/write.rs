//! Printing a Message/CPIM, and the check that what is printed reads back.
//!
//! Headers go out in one fixed order (From, To, cc, DateTime, Subject, NS,
//! Require, extensions): RFC 3862 sets no order, and declaring every
//! namespace before the first extension suits receivers that resolve
//! prefixes as they read.

use super::grammar::{
    escape_into, is_bracketable_uri, is_name, is_token, is_token_char, quoted, write_address,
};
use super::{Address, CpimError, CpimErrorKind, Message};

fn line(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push_str(": ");
    out.push_str(value);
    out.push_str("\r\n");
}

fn address(a: &Address) -> String {
    let mut s = String::new();
    write_address(&mut s, a);
    s
}

fn param_value(v: &str) -> String {
    if is_token(v) {
        v.to_owned()
    } else {
        quoted(v)
    }
}

pub(super) fn write(m: &Message) -> Vec<u8> {
    let mut bytes = write_head(m).into_bytes();
    bytes.extend_from_slice(&m.body);
    bytes
}

/// The message headers, the content headers and the blank lines after
/// each: everything but the body.
fn write_head(m: &Message) -> String {
    let mut out = String::new();
    if let Some(a) = &m.from {
        line(&mut out, "From", &address(a));
    }
    for a in &m.to {
        line(&mut out, "To", &address(a));
    }
    for a in &m.cc {
        line(&mut out, "cc", &address(a));
    }
    if let Some(t) = &m.datetime {
        line(&mut out, "DateTime", &t.to_string());
    }
    for s in &m.subjects {
        out.push_str("Subject:");
        if let Some(lang) = &s.lang {
            out.push_str(";lang=");
            out.push_str(&param_value(lang));
        }
        out.push(' ');
        escape_into(&mut out, &s.text, false);
        out.push_str("\r\n");
    }
    for ns in &m.namespaces {
        let v = match &ns.prefix {
            Some(p) => format!("{p} <{}>", ns.uri),
            None => format!("<{}>", ns.uri),
        };
        line(&mut out, "NS", &v);
    }
    if !m.require.is_empty() {
        line(&mut out, "Require", &m.require.join(","));
    }
    for h in &m.extensions {
        if let Some(p) = &h.prefix {
            out.push_str(p);
            out.push('.');
        }
        out.push_str(&h.name);
        out.push(':');
        for p in &h.params {
            out.push(';');
            out.push_str(&p.name);
            out.push('=');
            out.push_str(&param_value(&p.value));
        }
        out.push(' ');
        escape_into(&mut out, &h.value, false);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    for h in &m.content_headers {
        line(&mut out, &h.name, &h.value);
    }
    out.push_str("\r\n");
    out
}

fn bad(what: &'static str, got: &str) -> CpimError {
    CpimError::malformed(0, what, got)
}

fn check_address(a: &Address, what: &'static str) -> Result<(), CpimError> {
    if !is_bracketable_uri(&a.uri) {
        return Err(bad(what, &a.uri));
    }
    Ok(())
}

/// A header name as [`Message::require`] lists it: `[prefix.]Name`.
fn is_header_name(s: &str) -> bool {
    match s.split_once('.') {
        Some((p, l)) => is_name(p) && is_name(l),
        None => is_name(s),
    }
}

/// One-line text for a MIME header value: no line ends, no leading or
/// trailing whitespace (which unfolding and trimming would not give back).
fn is_mime_value(v: &str) -> bool {
    v.trim() == v && !v.chars().any(|c| c == '\r' || c == '\n' || c == '\0')
}

pub(super) fn validate(m: &Message) -> Result<(), CpimError> {
    if let Some(a) = &m.from {
        check_address(a, "From URI")?;
    }
    for a in &m.to {
        check_address(a, "To URI")?;
    }
    for a in &m.cc {
        check_address(a, "cc URI")?;
    }
    if let Some(t) = &m.datetime {
        if !t.is_valid() {
            return Err(bad("DateTime", &format!("{t:?}")));
        }
    }
    for s in &m.subjects {
        if let Some(lang) = &s.lang {
            if !is_token(lang) {
                return Err(bad("Subject language", lang));
            }
        }
    }
    for ns in &m.namespaces {
        if !is_bracketable_uri(&ns.uri) {
            return Err(bad("NS URI", &ns.uri));
        }
        if let Some(p) = &ns.prefix {
            if !is_name(p) {
                return Err(bad("NS prefix", p));
            }
        }
    }
    for r in &m.require {
        if !is_header_name(r) {
            return Err(CpimError::at(0, CpimErrorKind::BadName(r.clone())));
        }
    }
    for h in &m.extensions {
        if !is_name(&h.name) {
            return Err(CpimError::at(0, CpimErrorKind::BadName(h.name.clone())));
        }
        let standard = super::parse::is_standard(&h.name);
        match &h.prefix {
            None if standard => {
                return Err(CpimError::at(0, CpimErrorKind::BadName(h.name.clone())));
            }
            None if h.namespace.as_deref() != Some(super::CPIM_HEADERS_NS) => {
                return Err(bad("namespace of an unprefixed header", &h.name));
            }
            None => {}
            Some(p) => {
                let declared = m
                    .namespaces
                    .iter()
                    .find(|d| d.prefix.as_deref() == Some(p.as_str()))
                    .map(|d| d.uri.as_str());
                if !is_name(p) || declared != h.namespace.as_deref() {
                    return Err(bad("extension header prefix", p));
                }
            }
        }
        for p in &h.params {
            if !is_token(&p.name) || (h.prefix.is_none() && standard) {
                return Err(bad("header parameter", &p.name));
            }
        }
    }
    for h in &m.content_headers {
        if h.name.is_empty() || !h.name.chars().all(is_token_char) {
            return Err(CpimError::at(0, CpimErrorKind::BadName(h.name.clone())));
        }
        if !is_mime_value(&h.value) {
            return Err(bad("MIME header value", &h.value));
        }
    }
    // Escaping can make a printed line several times longer than the
    // value (a NUL is six characters): what we print must fit what a
    // reader (ours with its default limits) takes.
    let max = super::Limits::default().max_line;
    if let Some(n) = write_head(m).split("\r\n").position(|l| l.len() > max) {
        return Err(CpimError::at(n + 1, CpimErrorKind::LineTooLong(max)));
    }
    Ok(())
}
