//! Differential test against rsip 0.4: request method, Request-URI,
//! status code, the header list (names case-insensitively with compact
//! forms mapped to long names, values trimmed and unfolded, number and
//! order) and the body.
//!
//! - The 13 valid messages of RFC 4475 (§3.1.1): rsip refuses or reads
//!   several of them differently. `RSIP_CORPUS_DISAGREEMENTS` lists each
//!   with the reason observed, and the test asserts the list exactly, so a
//!   change in either parser shows up.
//! - Generated well-formed messages (tests/common, profile `RSIP`, which
//!   leaves out the shapes rsip 0.4 cannot parse; see its doc): both
//!   parsers must accept them and agree fully.

mod common;

use std::convert::TryFrom;
use std::path::PathBuf;

use bytes::Bytes;
use common::{message, RSIP};
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use rsip::prelude::HasHeaders;
use sip_proto::uri::Uri;
use sip_proto::Message;

/// RFC 4475 valid messages on which rsip 0.4 refuses or disagrees:
/// (file, what differs, why). "refuses" = `rsip::SipMessage::try_from`
/// fails; otherwise the first field where the two parsers differ.
const RSIP_CORPUS_DISAGREEMENTS: &[(&str, &str, &str)] = &[
    (
        "wsinv",
        "refuses",
        "whitespace between a header name and ':' (\"TO :\"), and folded values",
    ),
    (
        "intmeth",
        "refuses",
        "'.' in the Request-URI user part (its user ends at the first '.'); extension method",
    ),
    (
        "esc01",
        "refuses",
        "folded Contact value (the continuation line is read as a header)",
    ),
    (
        "esc02",
        "refuses",
        "method \"RE%47IST%45R\" is an extension method, which rsip refuses",
    ),
    (
        "longreq",
        "refuses",
        "whitespace between a header name and ':' (\"V :\")",
    ),
    (
        "dblreq",
        "body",
        "body = everything after the blank line; Content-Length ignored (RFC 3261 §18.3)",
    ),
    (
        "semiuri",
        "refuses",
        "';' in the Request-URI user part is read as a URI parameter, then '@' is left over",
    ),
];

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/rfc4475")
}

/// The messages MANIFEST.tsv puts in group `valid` (RFC 4475 §3.1.1).
fn valid_corpus() -> Vec<String> {
    let manifest = std::fs::read_to_string(data_dir().join("MANIFEST.tsv")).unwrap();
    manifest
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("file\t"))
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            (cols.get(3) == Some(&"valid")).then(|| cols[0].trim_end_matches(".dat").to_owned())
        })
        .collect()
}

/// Long header name, lower case, for a name as either parser reports it.
fn long_name(name: &str) -> String {
    let n = name.to_ascii_lowercase();
    let long = match n.as_str() {
        "v" => "via",
        "f" => "from",
        "t" => "to",
        "i" => "call-id",
        "m" => "contact",
        "c" => "content-type",
        "l" => "content-length",
        "e" => "content-encoding",
        "k" => "supported",
        "o" => "event",
        "u" => "allow-events",
        "r" => "refer-to",
        "b" => "referred-by",
        "x" => "session-expires",
        "s" => "subject",
        other => other,
    };
    long.to_owned()
}

/// Unfolds (CRLF + WSP and the whitespace around it become one SP) and
/// trims a header value.
fn norm_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut rest = v;
    while let Some(i) = rest.find('\n') {
        let (head, tail) = rest.split_at(i);
        let head = head.trim_end_matches('\r');
        let tail = &tail[1..];
        if tail.starts_with([' ', '\t']) {
            out.push_str(head.trim_end_matches([' ', '\t']));
            out.push(' ');
            rest = tail.trim_start_matches([' ', '\t']);
        } else {
            out.push_str(head);
            out.push('\n');
            rest = tail;
        }
    }
    out.push_str(rest);
    out.trim_matches([' ', '\t']).to_owned()
}

/// rsip header as (name, value): its Display is "Name: value".
fn rsip_header(h: &rsip::Header) -> (String, String) {
    let shown = h.to_string();
    let (n, v) = shown.split_once(':').unwrap_or((&shown, ""));
    (n.to_owned(), v.to_owned())
}

/// The first difference between the two parses, as (field, detail).
fn first_difference(ours: &Message, theirs: &rsip::SipMessage) -> Option<(String, String)> {
    let diff = |field: &str, a: &dyn std::fmt::Debug, b: &dyn std::fmt::Debug| {
        Some((field.to_owned(), format!("sip-proto {a:?}, rsip {b:?}")))
    };
    match (ours, theirs) {
        (Message::Request(a), rsip::SipMessage::Request(b)) => {
            let method = b.method.to_string();
            if a.method.as_str() != method {
                return diff("method", &a.method.as_str(), &method);
            }
            let uri = b.uri.to_string();
            if a.uri_str() != uri {
                // rsip normalises known parameters (";transport=UDP"):
                // compare as RFC 3261 §19.1.4 does, and the parameter count.
                let same = match (a.uri(), Uri::parse(&uri)) {
                    (Ok(x), Ok(y)) => {
                        x.equivalent(&y)
                            && x.as_sip().map(|s| s.params.len())
                                == y.as_sip().map(|s| s.params.len())
                    }
                    _ => false,
                };
                if !same {
                    return diff("Request-URI", &a.uri_str(), &uri);
                }
            }
        }
        (Message::Response(a), rsip::SipMessage::Response(b)) => {
            if a.status.code() != b.status_code.code() {
                return diff("status", &a.status.code(), &b.status_code.code());
            }
            // rsip keeps the reason phrase only for codes it does not know.
            if let rsip::StatusCode::Other(_, reason) = &b.status_code {
                if a.reason() != reason {
                    return diff("reason", &a.reason(), reason);
                }
            }
        }
        _ => return diff("kind", &ours.is_request(), &theirs.is_request()),
    }
    let ours_h: Vec<(String, String)> = ours
        .headers()
        .iter()
        .map(|h| (long_name(h.name.as_str()), norm_value(h.value_str())))
        .collect();
    let theirs_h: Vec<(String, String)> = theirs
        .headers()
        .iter()
        .map(|h| {
            let (n, v) = rsip_header(h);
            (long_name(&n), norm_value(&v))
        })
        .collect();
    for (i, (a, b)) in ours_h.iter().zip(&theirs_h).enumerate() {
        if a.0 != b.0 {
            return diff(&format!("header[{i}].name"), &a.0, &b.0);
        }
        if a.1 != b.1 {
            return diff(&format!("header[{i}].value"), &a.1, &b.1);
        }
    }
    if ours_h.len() != theirs_h.len() {
        return diff("header count", &ours_h.len(), &theirs_h.len());
    }
    if ours.body()[..] != theirs.body()[..] {
        return diff(
            "body",
            &String::from_utf8_lossy(ours.body()),
            &String::from_utf8_lossy(theirs.body()),
        );
    }
    None
}

/// rsip's verdict on `data` against ours: None if they agree.
fn compare(data: &[u8]) -> Option<(String, String)> {
    let ours = Message::parse(Bytes::copy_from_slice(data)).expect("sip-proto parses it");
    match rsip::SipMessage::try_from(data) {
        Err(e) => {
            // SipMessage tries a response then a request and reports the
            // last error; ask the right tokenizer for a useful one.
            let detail = if ours.is_request() {
                rsip::Request::try_from(data).err()
            } else {
                rsip::Response::try_from(data).err()
            };
            let e = detail.map_or(e.to_string(), |d| d.to_string());
            Some(("refuses".to_owned(), e.chars().take(160).collect()))
        }
        Ok(theirs) => first_difference(&ours, &theirs),
    }
}

#[test]
fn rfc4475_valid_corpus_against_rsip() {
    let names = valid_corpus();
    assert_eq!(names.len(), 13, "{names:?}");
    let mut observed = Vec::new();
    for name in &names {
        let data = std::fs::read(data_dir().join(format!("{name}.dat"))).unwrap();
        if let Some((field, detail)) = compare(&data) {
            eprintln!("{name}: {field}: {detail}");
            observed.push((name.clone(), field));
        }
    }
    let expected: Vec<(String, String)> = RSIP_CORPUS_DISAGREEMENTS
        .iter()
        .map(|(n, f, _)| ((*n).to_owned(), (*f).to_owned()))
        .collect();
    assert_eq!(observed, expected);
}

proptest! {
    // PROPTEST_CASES overrides the number of cases for a deeper run.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]

    /// Both parsers accept generated messages and agree on everything.
    #[test]
    fn generated_messages_agree_with_rsip(model in message(RSIP)) {
        let bytes = model.render(RSIP).bytes;
        if let Some((field, detail)) = compare(&bytes) {
            panic!("{field}: {detail}\n{}", String::from_utf8_lossy(&bytes));
        }
    }
}
