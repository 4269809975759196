//! Bodies: text shown line by line, multipart bodies part by part (with
//! each part's headers), anything else as a short hex dump.

use std::fmt::Write as _;

use sipsimple::proto::body::Multipart;
use sipsimple::proto::headers::{ContentType, MediaType};
use sipsimple::proto::Headers;

use super::{clean, headers, MAX_VALUE};

/// Text body lines shown before the rest is summarised.
const MAX_BODY_LINES: usize = 24;
/// Bytes of a binary body shown as hex.
const HEX_BYTES: usize = 32;
/// Multipart bodies nested deeper than this are shown as raw text.
const MAX_DEPTH: usize = 3;

/// Prints a body (or body part) after its headers.
pub(super) fn body(out: &mut String, headers: &Headers, data: &[u8], depth: usize, what: &str) {
    let lead = "  ".repeat(depth);
    let pad = "  ".repeat(depth + 1);
    if data.is_empty() {
        let _ = writeln!(out, "{}{what}: none", lead);
        return;
    }
    let ct = headers.typed::<ContentType>();
    let media = match &ct {
        Some(Ok(ContentType(m))) => Some(m),
        _ => None,
    };
    let type_text = media.map_or_else(
        || "no valid Content-Type".to_owned(),
        |m| format!("{}/{}", m.mtype, m.subtype),
    );
    if let Some(m) = media.filter(|m| m.mtype.eq_ignore_ascii_case("multipart")) {
        if depth < MAX_DEPTH && multipart(out, m, data, depth, what) {
            return;
        }
    }
    match text_of(data) {
        Some(text) => {
            let _ = writeln!(
                out,
                "{}{what}: {} bytes, {type_text}, text:",
                lead,
                data.len()
            );
            let lines: Vec<&str> = text.lines().collect();
            for line in lines.iter().take(MAX_BODY_LINES) {
                let _ = writeln!(out, "{pad}| {}", clean(line, MAX_VALUE));
            }
            if lines.len() > MAX_BODY_LINES {
                let _ = writeln!(
                    out,
                    "{pad}| … ({} more lines)",
                    lines.len() - MAX_BODY_LINES
                );
            }
        }
        None => {
            let _ = writeln!(
                out,
                "{}{what}: {} bytes, {type_text}, binary:",
                lead,
                data.len()
            );
            hex(out, data, &pad);
        }
    }
}

/// Prints a multipart body part by part; false if it does not parse (the
/// caller then shows it raw).
fn multipart(out: &mut String, m: &MediaType<'_>, data: &[u8], depth: usize, what: &str) -> bool {
    let pad = "  ".repeat(depth);
    let parsed = Multipart::parse(m, &sipsimple::proto::bytes::Bytes::copy_from_slice(data));
    let mp = match parsed {
        Ok(mp) => mp,
        Err(e) => {
            let _ = writeln!(
                out,
                "{pad}{what}: ! multipart body not readable: {}",
                clean(&e.to_string(), 200)
            );
            return false;
        }
    };
    let _ = writeln!(
        out,
        "{pad}{what}: {} bytes, {}/{}, {} part(s), boundary {:?}",
        data.len(),
        m.mtype,
        m.subtype,
        mp.parts.len(),
        clean(&mp.boundary, 70)
    );
    for (i, part) in mp.parts.iter().enumerate() {
        let inner = "  ".repeat(depth + 1);
        let _ = writeln!(
            out,
            "{inner}part {} headers ({}):",
            i + 1,
            part.headers.len()
        );
        for h in &part.headers {
            let mut line = String::new();
            headers::header(&mut line, &h);
            for l in line.lines() {
                let _ = writeln!(out, "{inner}{l}");
            }
        }
        body(
            out,
            &part.headers,
            &part.body,
            depth + 1,
            &format!("part {} content", i + 1),
        );
    }
    true
}

/// The body as text if it is UTF-8 without control characters other than
/// CR, LF and TAB.
fn text_of(data: &[u8]) -> Option<&str> {
    let s = std::str::from_utf8(data).ok()?;
    let printable = !s
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\r' | '\n' | '\t'));
    printable.then_some(s)
}

/// An `xxd`-like summary of the first bytes.
fn hex(out: &mut String, data: &[u8], pad: &str) {
    for (row, chunk) in data.chunks(16).take(HEX_BYTES / 16).enumerate() {
        let mut hexes = String::new();
        let mut ascii = String::new();
        for b in chunk {
            let _ = write!(hexes, "{b:02x} ");
            ascii.push(if b.is_ascii_graphic() || *b == b' ' {
                char::from(*b)
            } else {
                '.'
            });
        }
        let _ = writeln!(out, "{pad}{:04x}: {hexes:<48} {ascii}", row * 16);
    }
    if data.len() > HEX_BYTES {
        let _ = writeln!(out, "{pad}… ({} more bytes)", data.len() - HEX_BYTES);
    }
}
