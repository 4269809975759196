//! Shared proptest strategies for the sip-proto integration tests:
//! structured models of WELL-FORMED SIP messages (RFC 3261 §25) and a
//! renderer that writes a model as wire text, recording for every header
//! line the name and the unfolded value the parser must report.
//!
//! Rendering varies the syntax without changing the meaning: compact and
//! odd-case header names, optional whitespace wherever the grammar has
//! SWS/LWS (around `:` `;` `=` `/` `,`), line folding, quoted-pairs in
//! display names, leading zeros in numbers. Those choices come from the
//! model's `style` bytes, so proptest shrinks them towards the plain form.
#![allow(dead_code)]

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use sip_proto::HeaderName;

// ------------------------------------------------------------ profiles

/// Which syntax the generator may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    /// Stay within what rsip 0.4 parses; see [`RSIP`].
    pub rsip: bool,
}

/// Everything RFC 3261 allows that the generator knows.
pub const FULL: Profile = Profile { rsip: false };

/// The shapes rsip 0.4 cannot parse, found by reading its source
/// (rsip-0.4.0/src/message, src/headers/header.rs, src/common/uri) and
/// confirmed by the differential test:
/// - only the 14 methods it knows; an extension method is an error;
/// - no line folding (a continuation line is read as a header and fails),
///   no whitespace between a header name and ':';
/// - Request-URI: `user` ends at the first '.' or '@' (a '.' in the user
///   or password makes it read the user part as the host), host and port
///   are split at the first ':' (no IPv6 reference), parameters must be
///   `token[=token]`, and `transport=`/`method=` values must be ones it
///   knows;
/// - "SIP/2.0" must be upper case.
pub const RSIP: Profile = Profile { rsip: true };

pub const KNOWN_METHODS: [&str; 14] = [
    "INVITE",
    "ACK",
    "BYE",
    "CANCEL",
    "OPTIONS",
    "REGISTER",
    "PRACK",
    "SUBSCRIBE",
    "NOTIFY",
    "PUBLISH",
    "INFO",
    "REFER",
    "MESSAGE",
    "UPDATE",
];

// ------------------------------------------------------------ model

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostModel {
    Domain(String),
    V4(Ipv4Addr),
    V6(Ipv6Addr),
}

impl HostModel {
    pub fn render(&self) -> String {
        match self {
            HostModel::Domain(d) => d.clone(),
            HostModel::V4(a) => a.to_string(),
            HostModel::V6(a) => format!("[{a}]"),
        }
    }

    pub fn to_proto(&self) -> sip_proto::Host<'_> {
        match self {
            HostModel::Domain(d) => sip_proto::Host::Domain(Cow::Borrowed(d)),
            HostModel::V4(a) => sip_proto::Host::V4(*a),
            HostModel::V6(a) => sip_proto::Host::V6(*a),
        }
    }
}

pub type ParamModel = (String, Option<String>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriModel {
    pub sips: bool,
    /// Escaped user part, as written.
    pub user: Option<String>,
    pub password: Option<String>,
    pub host: HostModel,
    pub port: Option<u16>,
    pub params: Vec<ParamModel>,
    /// `?name=value` components (never in a Request-URI).
    pub headers: Vec<(String, String)>,
}

impl UriModel {
    /// The URI in the canonical form `SipUri`'s Display also writes.
    pub fn render(&self) -> String {
        let mut s = String::from(if self.sips { "sips:" } else { "sip:" });
        if let Some(u) = &self.user {
            s.push_str(u);
            if let Some(p) = &self.password {
                s.push(':');
                s.push_str(p);
            }
            s.push('@');
        }
        s.push_str(&self.host.render());
        if let Some(p) = self.port {
            s.push_str(&format!(":{p}"));
        }
        for (n, v) in &self.params {
            s.push(';');
            s.push_str(n);
            if let Some(v) = v {
                s.push('=');
                s.push_str(v);
            }
        }
        for (i, (n, v)) in self.headers.iter().enumerate() {
            s.push(if i == 0 { '?' } else { '&' });
            s.push_str(n);
            s.push('=');
            s.push_str(v);
        }
        s
    }

    /// Whether the URI may appear as a bare addr-spec (RFC 3261 §20: a URI
    /// with ',', '?' or ';' must be enclosed in <...>).
    pub fn bare_ok(&self) -> bool {
        let clean = |s: &Option<String>| s.as_deref().is_none_or(|s| !s.contains([';', '?', ',']));
        self.params.is_empty()
            && self.headers.is_empty()
            && clean(&self.user)
            && clean(&self.password)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisplayName {
    /// Decoded text, written as a quoted-string.
    Quoted(String),
    /// `*(token LWS)`, written separated by single spaces.
    Tokens(Vec<String>),
}

impl DisplayName {
    /// What the parser reports (quoted-pairs resolved).
    pub fn decoded(&self) -> String {
        match self {
            DisplayName::Quoted(s) => s.clone(),
            DisplayName::Tokens(t) => t.join(" "),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddrModel {
    pub display: Option<DisplayName>,
    pub uri: UriModel,
    /// Written as `<uri>` (always when there is a display name).
    pub angle: bool,
    /// Header parameters (tag, q, expires, extensions), names unique.
    pub params: Vec<ParamModel>,
}

impl NameAddrModel {
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name)
    }
}

pub fn find_param<'a>(params: &'a [ParamModel], name: &str) -> Option<Option<&'a str>> {
    params
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_deref())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViaModel {
    /// As written; known transports may be in any case.
    pub transport: String,
    pub host: HostModel,
    pub port: Option<u16>,
    /// branch always; rport, received and an extension maybe; names unique.
    pub params: Vec<ParamModel>,
}

impl ViaModel {
    /// What `Transport::as_str` reports: known names upper case.
    pub fn transport_str(&self) -> String {
        const KNOWN: [&str; 6] = ["UDP", "TCP", "TLS", "SCTP", "WS", "WSS"];
        match KNOWN
            .iter()
            .find(|k| k.eq_ignore_ascii_case(&self.transport))
        {
            Some(k) => (*k).to_owned(),
            None => self.transport.clone(),
        }
    }

    pub fn branch(&self) -> &str {
        find_param(&self.params, "branch")
            .flatten()
            .unwrap_or_default()
    }

    pub fn rport(&self) -> Option<Option<u16>> {
        find_param(&self.params, "rport").map(|v| v.map(|p| p.parse().unwrap()))
    }

    pub fn received(&self) -> Option<&str> {
        find_param(&self.params, "received").flatten()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactModel {
    /// Its params hold q and expires (as text) when present.
    pub addr: NameAddrModel,
    pub q: Option<u16>,
    pub expires: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaModel {
    pub mtype: String,
    pub subtype: String,
    pub params: Vec<ParamModel>,
}

impl MediaModel {
    pub fn canonical(&self) -> String {
        let mut s = format!("{}/{}", self.mtype, self.subtype);
        for (n, v) in &self.params {
            s.push(';');
            s.push_str(n);
            if let Some(v) = v {
                s.push('=');
                s.push_str(v);
            }
        }
        s
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    Request { method: String, uri: UriModel },
    Response { code: u16, reason: String },
}

/// One header line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderItem {
    /// One or more comma-separated Via values on one line.
    Via(Vec<ViaModel>),
    From(NameAddrModel),
    To(NameAddrModel),
    CallId(String),
    CSeq {
        seq: u32,
        method: String,
        /// The number as written (maybe with leading zeros).
        seq_text: String,
    },
    MaxForwards {
        value: u8,
        text: String,
    },
    /// One or more comma-separated Contact values on one line.
    Contact(Vec<ContactModel>),
    ContentType(MediaModel),
    ContentLength(String),
    /// A header sip-proto has no name for: exact spelling and value.
    Unknown {
        name: String,
        value: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageModel {
    pub start: Start,
    /// Header lines in wire order.
    pub headers: Vec<HeaderItem>,
    pub body: Vec<u8>,
    /// Rendering choices (whitespace, folding, name spelling), cycled.
    pub style: Vec<u8>,
}

impl MessageModel {
    pub fn method(&self) -> Option<&str> {
        match &self.start {
            Start::Request { method, .. } => Some(method),
            Start::Response { .. } => None,
        }
    }

    pub fn vias(&self) -> Vec<&ViaModel> {
        self.headers
            .iter()
            .flat_map(|h| match h {
                HeaderItem::Via(v) => v.iter().collect(),
                _ => Vec::new(),
            })
            .collect()
    }

    pub fn contacts(&self) -> Vec<&ContactModel> {
        self.headers
            .iter()
            .flat_map(|h| match h {
                HeaderItem::Contact(v) => v.iter().collect(),
                _ => Vec::new(),
            })
            .collect()
    }

    pub fn from(&self) -> &NameAddrModel {
        self.headers
            .iter()
            .find_map(|h| match h {
                HeaderItem::From(f) => Some(f),
                _ => None,
            })
            .expect("model has From")
    }

    pub fn to(&self) -> &NameAddrModel {
        self.headers
            .iter()
            .find_map(|h| match h {
                HeaderItem::To(t) => Some(t),
                _ => None,
            })
            .expect("model has To")
    }

    pub fn call_id(&self) -> &str {
        self.headers
            .iter()
            .find_map(|h| match h {
                HeaderItem::CallId(c) => Some(c.as_str()),
                _ => None,
            })
            .expect("model has Call-ID")
    }

    pub fn cseq(&self) -> (u32, &str) {
        self.headers
            .iter()
            .find_map(|h| match h {
                HeaderItem::CSeq { seq, method, .. } => Some((*seq, method.as_str())),
                _ => None,
            })
            .expect("model has CSeq")
    }

    pub fn max_forwards(&self) -> Option<u8> {
        self.headers.iter().find_map(|h| match h {
            HeaderItem::MaxForwards { value, .. } => Some(*value),
            _ => None,
        })
    }

    pub fn content_type(&self) -> Option<&MediaModel> {
        self.headers.iter().find_map(|h| match h {
            HeaderItem::ContentType(m) => Some(m),
            _ => None,
        })
    }

    pub fn unknowns(&self) -> Vec<(&str, &str)> {
        self.headers
            .iter()
            .filter_map(|h| match h {
                HeaderItem::Unknown { name, value } => Some((name.as_str(), value.as_str())),
                _ => None,
            })
            .collect()
    }

    /// Adds `Content-Length` if missing (mandatory on streams).
    pub fn ensure_content_length(&mut self) {
        if !self
            .headers
            .iter()
            .any(|h| matches!(h, HeaderItem::ContentLength(_)))
        {
            self.headers
                .push(HeaderItem::ContentLength(self.body.len().to_string()));
        }
    }
}

// ------------------------------------------------------------ strategies

const TOKEN_CLASS: &str = r"[A-Za-z0-9.!%*_+`'~-]";

pub fn token(min: usize, max: usize) -> BoxedStrategy<String> {
    proptest::string::string_regex(&format!("{TOKEN_CLASS}{{{min},{max}}}"))
        .unwrap()
        .boxed()
}

/// A method: mostly known ones, sometimes an extension token.
pub fn method(p: Profile) -> BoxedStrategy<String> {
    let known = select(&KNOWN_METHODS[..]).prop_map(str::to_owned);
    if p.rsip {
        known.boxed()
    } else {
        prop_oneof![3 => known, 1 => token(1, 12)].boxed()
    }
}

fn domain() -> impl Strategy<Value = String> {
    vec("[a-zA-Z]([a-zA-Z0-9-]{0,6}[a-zA-Z0-9])?", 1..4).prop_map(|l| l.join("."))
}

fn ipv6() -> impl Strategy<Value = Ipv6Addr> {
    prop_oneof![
        any::<[u16; 8]>().prop_map(Ipv6Addr::from),
        // Zero runs, so "::" compression is common.
        (any::<u16>(), any::<u16>(), 0usize..8).prop_map(|(a, b, i)| {
            let mut s = [0u16; 8];
            s[0] = 0x2001;
            s[i] = a;
            s[7] = b;
            Ipv6Addr::from(s)
        }),
    ]
}

pub fn host(allow_v6: bool) -> BoxedStrategy<HostModel> {
    let d = domain().prop_map(HostModel::Domain);
    let v4 = any::<[u8; 4]>().prop_map(|a| HostModel::V4(Ipv4Addr::from(a)));
    if allow_v6 {
        prop_oneof![3 => d, 2 => v4, 2 => ipv6().prop_map(HostModel::V6)].boxed()
    } else {
        prop_oneof![3 => d, 2 => v4].boxed()
    }
}

fn escape() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("%40".to_owned()),
        Just("%20".to_owned()),
        "%[0-9A-Fa-f]{2}",
    ]
}

/// user = 1*( unreserved / escaped / user-unreserved ).
fn user(p: Profile) -> BoxedStrategy<String> {
    let plain = if p.rsip {
        r"[A-Za-z0-9_!~*'()&=+$,;?/-]{1,6}"
    } else {
        r"[A-Za-z0-9_.!~*'()&=+$,;?/-]{1,6}"
    };
    vec(prop_oneof![3 => plain, 1 => escape()], 1..4)
        .prop_map(|v| v.concat())
        .boxed()
}

/// password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," ).
fn password(p: Profile) -> BoxedStrategy<String> {
    let plain = if p.rsip {
        r"[A-Za-z0-9_!~*'()&=+$,-]{1,6}"
    } else {
        r"[A-Za-z0-9_.!~*'()&=+$,-]{1,6}"
    };
    vec(prop_oneof![3 => plain, 1 => escape()], 1..3)
        .prop_map(|v| v.concat())
        .boxed()
}

/// A URI parameter: pname [ "=" pvalue ], param-unreserved and escapes.
fn uri_param(p: Profile) -> BoxedStrategy<ParamModel> {
    // rsip reads names and values as tokens: use token ∩ paramchar.
    let chars = if p.rsip {
        r"[A-Za-z0-9.!*_+'~-]{1,8}"
    } else {
        r"[A-Za-z0-9.!*_+'~()\[\]/:&$-]{1,8}"
    };
    let text = || vec(prop_oneof![4 => chars, 1 => escape()], 1..3).prop_map(|v| v.concat());
    let generic = (text(), proptest::option::of(text()))
        .prop_filter("rsip checks transport= and method= values", |(n, _)| {
            !n.eq_ignore_ascii_case("transport") && !n.eq_ignore_ascii_case("method")
        });
    let known = prop_oneof![
        select(&["udp", "tcp", "TLS", "sctp"][..])
            .prop_map(|t| ("transport".to_owned(), Some(t.to_owned()))),
        select(&["phone", "ip"][..]).prop_map(|u| ("user".to_owned(), Some(u.to_owned()))),
        Just(("lr".to_owned(), None)),
        select(&KNOWN_METHODS[..]).prop_map(|m| ("method".to_owned(), Some(m.to_owned()))),
        (1u8..=255).prop_map(|t| ("ttl".to_owned(), Some(t.to_string()))),
    ];
    prop_oneof![2 => generic, 1 => known].boxed()
}

/// A SIP or SIPS URI. `in_header`: may carry `?headers` (inside <...>).
pub fn uri(p: Profile, request_uri: bool) -> BoxedStrategy<UriModel> {
    let hnv = r"[A-Za-z0-9_.!~*'()\[\]/?:+$-]{1,6}";
    let headers = if request_uri || p.rsip {
        Just(Vec::new()).boxed()
    } else {
        prop_oneof![
            4 => Just(Vec::new()),
            1 => vec((hnv, hnv), 1..3),
        ]
        .boxed()
    };
    (
        any::<bool>(),
        proptest::option::weighted(0.8, user(p)),
        proptest::option::weighted(0.1, password(p)),
        host(!(p.rsip && request_uri)),
        proptest::option::weighted(0.4, any::<u16>()),
        vec(uri_param(p), 0..3),
        headers,
    )
        .prop_map(
            |(sips, user, password, host, port, mut params, headers)| UriModel {
                params: {
                    // Unique names, so the API's `set` builds the same list.
                    let mut seen = Vec::new();
                    params.retain(|(n, _)| {
                        let fresh = !seen.contains(&n.to_ascii_lowercase());
                        seen.push(n.to_ascii_lowercase());
                        fresh
                    });
                    params
                },
                sips,
                password: password.filter(|_| user.is_some()),
                user,
                host,
                port,
                headers,
            },
        )
        .boxed()
}

/// Visible text: ASCII words and UTF-8 non-ASCII ones.
fn text_word(ascii: &'static str) -> BoxedStrategy<String> {
    prop_oneof![
        6 => ascii,
        1 => "[à-ÿ]{1,4}",
        1 => "[Ѐ-ӿ]{1,6}",
        1 => "[一-鿿]{1,3}",
        1 => "[😀-🙏]{1,2}",
    ]
    .boxed()
}

/// Words separated by single spaces (maybe none).
pub fn text(ascii: &'static str, max_words: usize) -> BoxedStrategy<String> {
    vec(text_word(ascii), 0..=max_words)
        .prop_map(|w| w.join(" "))
        .boxed()
}

/// Reason-Phrase: reserved / unreserved / escaped / UTF-8 / SP.
pub fn reason() -> BoxedStrategy<String> {
    text(r"[A-Za-z0-9_.!~*'();/?:@&=+$,%-]{1,8}", 4)
}

/// Display-name text for a quoted-string: any visible text and spaces,
/// including '"' and '\' (which need quoted-pairs).
pub fn display_text() -> BoxedStrategy<String> {
    vec(
        prop_oneof![
            6 => r"[ -~]{1,6}",
            1 => Just("\"".to_owned()),
            1 => Just("\\".to_owned()),
            1 => "[à-ÿ]{1,3}",
            1 => "[一-鿿]{1,2}",
        ],
        0..5,
    )
    .prop_map(|v| v.concat())
    .boxed()
}

fn display_name() -> BoxedStrategy<DisplayName> {
    prop_oneof![
        2 => display_text().prop_map(DisplayName::Quoted),
        1 => vec(token(1, 8), 1..4).prop_map(DisplayName::Tokens),
    ]
    .boxed()
}

fn quoted_value() -> impl Strategy<Value = String> {
    r#"[ !#-\[\]-~]{0,8}"#.prop_map(|s| format!("\"{s}\""))
}

/// An extension header parameter whose name is none of `reserved`.
fn ext_param(reserved: &'static [&'static str]) -> BoxedStrategy<ParamModel> {
    (
        token(1, 8),
        proptest::option::of(prop_oneof![3 => token(1, 8), 1 => quoted_value()]),
    )
        .prop_filter("reserved parameter name", move |(n, _)| {
            !reserved.iter().any(|r| r.eq_ignore_ascii_case(n))
        })
        .boxed()
}

/// A '<' in a (quoted) parameter value: legal after a bare addr-spec too
/// (regression_bare_addr_spec_allows_lt_in_quoted_param), so it no longer
/// forces angle brackets.
fn lt_in_params(_params: &[ParamModel]) -> bool {
    false
}

const NAME_ADDR_RESERVED: &[&str] = &["tag", "q", "expires"];
const VIA_RESERVED: &[&str] = &["branch", "rport", "received", "maddr", "ttl"];

fn name_addr_with(
    p: Profile,
    params: BoxedStrategy<Vec<ParamModel>>,
) -> BoxedStrategy<NameAddrModel> {
    (
        proptest::option::weighted(0.6, display_name()),
        uri(p, false),
        any::<bool>(),
        params,
    )
        .prop_map(|(display, uri, angle, params)| {
            let angle = angle || display.is_some() || !uri.bare_ok() || lt_in_params(&params);
            NameAddrModel {
                display,
                uri,
                angle,
                params,
            }
        })
        .boxed()
}

/// From or To: optional tag and an optional extension parameter.
pub fn from_to(p: Profile) -> BoxedStrategy<NameAddrModel> {
    let params = (
        proptest::option::weighted(0.8, token(1, 12)),
        proptest::option::weighted(0.2, ext_param(NAME_ADDR_RESERVED)),
        any::<bool>(),
    )
        .prop_map(|(tag, ext, tag_first)| {
            let tag = tag.map(|t| ("tag".to_owned(), Some(t)));
            let (a, b) = if tag_first { (tag, ext) } else { (ext, tag) };
            a.into_iter().chain(b).collect()
        })
        .boxed();
    name_addr_with(p, params)
}

/// q-value text for thousandths, in one of its legal spellings.
fn qvalue() -> impl Strategy<Value = (u16, String)> {
    (0u16..=1000, 0u8..4).prop_map(|(q, form)| {
        let text = if q == 1000 {
            ["1", "1.0", "1.00", "1.000"][usize::from(form)].to_owned()
        } else {
            let frac = format!("{q:03}");
            match form {
                0 => format!("0.{frac}"),
                _ => {
                    let t = frac.trim_end_matches('0');
                    if t.is_empty() {
                        ["0", "0.0"][usize::from(form % 2)].to_owned()
                    } else {
                        format!("0.{t}")
                    }
                }
            }
        };
        (q, text)
    })
}

pub fn contact(p: Profile) -> BoxedStrategy<ContactModel> {
    (
        name_addr_with(p, Just(Vec::new()).boxed()),
        proptest::option::of(qvalue()),
        proptest::option::of(any::<u32>()),
        proptest::option::weighted(0.2, ext_param(NAME_ADDR_RESERVED)),
    )
        .prop_map(|(mut addr, q, expires, ext)| {
            if let Some((_, text)) = &q {
                addr.params.push(("q".to_owned(), Some(text.clone())));
            }
            if let Some(e) = expires {
                addr.params
                    .push(("expires".to_owned(), Some(e.to_string())));
            }
            addr.params.extend(ext);
            addr.angle |= lt_in_params(&addr.params);
            ContactModel {
                addr,
                q: q.map(|(q, _)| q),
                expires,
            }
        })
        .boxed()
}

pub fn via(_p: Profile) -> BoxedStrategy<ViaModel> {
    let transport = prop_oneof![
        3 => select(&["UDP", "TCP", "TLS", "udp", "Tcp", "tls", "SCTP", "WS", "wss"][..])
            .prop_map(str::to_owned),
        1 => token(1, 8),
    ];
    let received = prop_oneof![
        any::<[u8; 4]>().prop_map(|a| IpAddr::from(a).to_string()),
        ipv6().prop_map(|a| a.to_string()),
    ];
    (
        transport,
        host(true),
        proptest::option::weighted(0.6, any::<u16>()),
        token(1, 16),
        select(&["branch", "branch", "Branch", "BRANCH"][..]),
        proptest::option::weighted(0.4, proptest::option::of(any::<u16>())),
        proptest::option::weighted(0.3, received),
        proptest::option::weighted(0.2, ext_param(VIA_RESERVED)),
        vec(any::<u8>(), 4),
    )
        .prop_map(
            |(transport, host, port, branch, bname, rport, received, ext, keys)| {
                let mut params: Vec<(u8, ParamModel)> = vec![(
                    keys[0],
                    (bname.to_owned(), Some(format!("z9hG4bK{branch}"))),
                )];
                if let Some(r) = rport {
                    params.push((keys[1], ("rport".to_owned(), r.map(|p| p.to_string()))));
                }
                if let Some(r) = received {
                    params.push((keys[2], ("received".to_owned(), Some(r))));
                }
                if let Some(e) = ext {
                    params.push((keys[3], e));
                }
                params.sort_by_key(|(k, _)| *k);
                ViaModel {
                    transport,
                    host,
                    port,
                    params: params.into_iter().map(|(_, p)| p).collect(),
                }
            },
        )
        .boxed()
}

/// callid = word [ "@" word ].
pub fn call_id() -> BoxedStrategy<String> {
    let word = r#"[A-Za-z0-9.!%*_+`'~()<>:\\"/\[\]?{}-]{1,16}"#;
    (word, proptest::option::of(word))
        .prop_map(|(a, b)| match b {
            Some(b) => format!("{a}@{b}"),
            None => a,
        })
        .boxed()
}

/// An extension header name no known header has (sip-proto's or rsip's).
pub fn unknown_name() -> BoxedStrategy<String> {
    prop_oneof![
        3 => token(1, 10).prop_map(|t| format!("X-{t}")),
        1 => token(1, 10).prop_map(|t| format!("P-{t}")),
        1 => "[a-zA-Z][a-zA-Z0-9]{0,8}".prop_map(|t| format!("{t}-Ext")),
    ]
    .boxed()
}

fn media() -> impl Strategy<Value = MediaModel> {
    let p = |n: &str, v: &str| vec![(n.to_owned(), Some(v.to_owned()))];
    select(vec![
        ("application", "sdp", vec![]),
        ("text", "plain", p("charset", "utf-8")),
        ("application", "pidf+xml", vec![]),
        ("message", "sipfrag", p("version", "\"2.0\"")),
        ("application", "octet-stream", vec![]),
    ])
    .prop_map(|(t, s, params)| MediaModel {
        mtype: t.to_owned(),
        subtype: s.to_owned(),
        params,
    })
}

fn start(p: Profile) -> BoxedStrategy<Start> {
    let req = (method(p), uri(p, true)).prop_map(|(method, uri)| Start::Request { method, uri });
    let resp = (100u16..=699, reason()).prop_map(|(code, reason)| Start::Response { code, reason });
    prop_oneof![req, resp].boxed()
}

/// Groups values into lines: a new line starts where `split` says so.
fn group<T: Clone>(items: &[T], split: u8) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = Vec::new();
    for (i, it) in items.iter().enumerate() {
        if i == 0 || split & (1 << i) != 0 {
            out.push(vec![it.clone()]);
        } else if let Some(last) = out.last_mut() {
            last.push(it.clone());
        }
    }
    out
}

/// A well-formed request or response (it passes `Message::validate`).
pub fn message(p: Profile) -> BoxedStrategy<MessageModel> {
    let body = proptest::option::weighted(
        0.3,
        (
            media(),
            prop_oneof![
                vec(any::<u8>(), 1..200),
                text(r"[!-~]{1,10}", 20)
                    .prop_filter("a body", |t| !t.is_empty())
                    .prop_map(String::into_bytes),
            ],
        ),
    );
    let numbers = (
        0u32..=i32::MAX as u32,
        any::<u8>(),
        0u8..3,
        any::<bool>(),
        any::<bool>(),
    );
    (
        start(p),
        (vec(via(p), 1..=3), any::<u8>()),
        (from_to(p), from_to(p), call_id()),
        method(p),
        numbers,
        (vec(contact(p), 0..=2), any::<u8>()),
        vec((unknown_name(), text(r"[!-~]{1,10}", 5)), 0..4),
        body,
        vec(any::<u16>(), 24),
        vec(any::<u8>(), 0..48),
    )
        .prop_map(
            move |(
                start,
                (vias, via_split),
                (from, to, call_id),
                resp_method,
                (seq, mf, zeros, with_mf, with_cl),
                (contacts, contact_split),
                unknown,
                body,
                keys,
                style,
            )| {
                let (cseq_method, is_request) = match &start {
                    Start::Request { method, .. } => (method.clone(), true),
                    Start::Response { .. } => (resp_method, false),
                };
                let pad = |s: String| {
                    if p.rsip {
                        s
                    } else {
                        format!("{}{s}", "0".repeat(usize::from(zeros)))
                    }
                };
                let mut headers = Vec::new();
                headers.extend(group(&vias, via_split).into_iter().map(HeaderItem::Via));
                headers.push(HeaderItem::From(from));
                headers.push(HeaderItem::To(to));
                headers.push(HeaderItem::CallId(call_id));
                headers.push(HeaderItem::CSeq {
                    seq,
                    method: cseq_method,
                    seq_text: pad(seq.to_string()),
                });
                if is_request || with_mf {
                    headers.push(HeaderItem::MaxForwards {
                        value: mf,
                        text: pad(mf.to_string()),
                    });
                }
                headers.extend(
                    group(&contacts, contact_split)
                        .into_iter()
                        .map(HeaderItem::Contact),
                );
                headers.extend(
                    unknown
                        .into_iter()
                        .map(|(name, value)| HeaderItem::Unknown { name, value }),
                );
                let body = match body {
                    Some((m, b)) => {
                        headers.push(HeaderItem::ContentType(m));
                        headers.push(HeaderItem::ContentLength(pad(b.len().to_string())));
                        b
                    }
                    None => {
                        if with_cl {
                            headers.push(HeaderItem::ContentLength(pad("0".to_owned())));
                        }
                        Vec::new()
                    }
                };
                // Shuffle lines by random keys (a stable sort, so keys
                // shrinking to zero restore the plain order).
                let mut keyed: Vec<(u16, HeaderItem)> = keys
                    .iter()
                    .copied()
                    .chain(std::iter::repeat(0))
                    .zip(headers)
                    .collect();
                keyed.sort_by_key(|(k, _)| *k);
                MessageModel {
                    start,
                    headers: keyed.into_iter().map(|(_, h)| h).collect(),
                    body,
                    style,
                }
            },
        )
        .boxed()
}

// ------------------------------------------------------------ rendering

/// The name the parser must report for a header line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpName {
    Known(HeaderName),
    /// Unknown header: spelling kept exactly.
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedLine {
    pub name: ExpName,
    /// Unfolded, trimmed value.
    pub value: String,
}

#[derive(Debug, Clone)]
pub struct Rendered {
    pub bytes: Vec<u8>,
    pub lines: Vec<ExpectedLine>,
}

struct Style<'a> {
    bytes: &'a [u8],
    pos: usize,
    fold: bool,
    ws_before_colon: bool,
}

impl Style<'_> {
    fn pick(&mut self, n: usize) -> usize {
        if self.bytes.is_empty() {
            return 0;
        }
        let b = self.bytes[self.pos % self.bytes.len()];
        self.pos += 1;
        usize::from(b) % n
    }
}

/// A header value being written: the wire text and the value the parser
/// must report (each whitespace run containing a fold becomes one SP).
#[derive(Default)]
struct Val {
    wire: String,
    exp: String,
}

impl Val {
    fn lit(&mut self, s: &str) {
        self.wire.push_str(s);
        self.exp.push_str(s);
    }

    fn ws(&mut self, wire: &str, exp: &str) {
        self.wire.push_str(wire);
        self.exp.push_str(exp);
    }
}

impl Style<'_> {
    /// Optional LWS (SWS) where the grammar allows it.
    fn sws(&mut self, v: &mut Val) {
        const PLAIN: [&str; 8] = ["", "", "", "", " ", "  ", "\t", " \t"];
        const FOLDS: [&str; 2] = ["\r\n ", " \r\n\t"];
        let n = PLAIN.len() + if self.fold { FOLDS.len() } else { 0 };
        match self.pick(n) {
            i if i < PLAIN.len() => v.ws(PLAIN[i], PLAIN[i]),
            i => v.ws(FOLDS[i - PLAIN.len()], " "),
        }
    }

    /// Mandatory LWS.
    fn lws(&mut self, v: &mut Val) {
        const PLAIN: [&str; 5] = [" ", " ", " ", "  ", "\t"];
        const FOLDS: [&str; 2] = ["\r\n ", "\t\r\n  "];
        let n = PLAIN.len() + if self.fold { FOLDS.len() } else { 0 };
        match self.pick(n) {
            i if i < PLAIN.len() => v.ws(PLAIN[i], PLAIN[i]),
            i => v.ws(FOLDS[i - PLAIN.len()], " "),
        }
    }

    /// A single SP that may be written as a fold (same meaning).
    fn sp(&mut self, v: &mut Val) {
        if self.fold && self.pick(5) == 0 {
            v.ws("\r\n ", " ");
        } else {
            v.lit(" ");
        }
    }

    fn name(&mut self, long: &str, compact: Option<&str>) -> String {
        match self.pick(8) {
            0 | 1 => compact.unwrap_or(long).to_owned(),
            2 => long.to_ascii_lowercase(),
            3 => long.to_ascii_uppercase(),
            4 => long
                .chars()
                .map(|c| {
                    if self.pick(2) == 0 {
                        c.to_ascii_uppercase()
                    } else {
                        c.to_ascii_lowercase()
                    }
                })
                .collect(),
            _ => long.to_owned(),
        }
    }

    fn params(&mut self, v: &mut Val, params: &[ParamModel]) {
        for (n, val) in params {
            self.sws(v);
            v.lit(";");
            self.sws(v);
            v.lit(n);
            if let Some(val) = val {
                self.sws(v);
                v.lit("=");
                self.sws(v);
                v.lit(val);
            }
        }
    }

    fn name_addr(&mut self, v: &mut Val, na: &NameAddrModel) {
        match &na.display {
            Some(DisplayName::Quoted(t)) => {
                let mut q = String::from("\"");
                for c in t.chars() {
                    // '"' and '\' need a quoted-pair; any other ASCII
                    // character may have one.
                    if c == '"' || c == '\\' || (c.is_ascii() && self.pick(6) == 0) {
                        q.push('\\');
                    }
                    q.push(c);
                }
                q.push('"');
                v.lit(&q);
                self.sws(v);
            }
            Some(DisplayName::Tokens(ts)) => {
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        self.sp(v);
                    }
                    v.lit(t);
                }
                self.sws(v);
            }
            None => {}
        }
        if na.angle {
            v.lit(&format!("<{}>", na.uri.render()));
        } else {
            v.lit(&na.uri.render());
        }
        self.params(v, &na.params);
    }

    fn via(&mut self, v: &mut Val, via: &ViaModel) {
        v.lit("SIP");
        self.sws(v);
        v.lit("/");
        self.sws(v);
        v.lit("2.0");
        self.sws(v);
        v.lit("/");
        self.sws(v);
        v.lit(&via.transport);
        self.lws(v);
        // sent-by = host [ COLON port ], COLON = SWS ":" SWS (RFC 3261 §25.1).
        v.lit(&via.host.render());
        if let Some(p) = via.port {
            self.sws(v);
            v.lit(":");
            self.sws(v);
            v.lit(&p.to_string());
        }
        self.params(v, &via.params);
    }

    fn list<T>(&mut self, v: &mut Val, items: &[T], mut each: impl FnMut(&mut Self, &mut Val, &T)) {
        for (i, it) in items.iter().enumerate() {
            if i > 0 {
                self.sws(v);
                v.lit(",");
                self.sws(v);
            }
            each(self, v, it);
        }
    }

    /// (long name, compact form, expected name, value)
    fn header(&mut self, h: &HeaderItem) -> (String, ExpName, Val) {
        let mut v = Val::default();
        let known = |n: HeaderName| ExpName::Known(n);
        let (long, compact, exp) = match h {
            HeaderItem::Via(vias) => {
                self.list(&mut v, vias, |s, v, x| s.via(v, x));
                ("Via", Some("v"), known(HeaderName::Via))
            }
            HeaderItem::From(na) => {
                self.name_addr(&mut v, na);
                ("From", Some("f"), known(HeaderName::From))
            }
            HeaderItem::To(na) => {
                self.name_addr(&mut v, na);
                ("To", Some("t"), known(HeaderName::To))
            }
            HeaderItem::CallId(c) => {
                v.lit(c);
                ("Call-ID", Some("i"), known(HeaderName::CallId))
            }
            HeaderItem::CSeq {
                seq_text, method, ..
            } => {
                v.lit(seq_text);
                self.lws(&mut v);
                v.lit(method);
                ("CSeq", None, known(HeaderName::CSeq))
            }
            HeaderItem::MaxForwards { text, .. } => {
                v.lit(text);
                ("Max-Forwards", None, known(HeaderName::MaxForwards))
            }
            HeaderItem::Contact(cs) => {
                self.list(&mut v, cs, |s, v, c| s.name_addr(v, &c.addr));
                ("Contact", Some("m"), known(HeaderName::Contact))
            }
            HeaderItem::ContentType(m) => {
                v.lit(&m.mtype);
                self.sws(&mut v);
                v.lit("/");
                self.sws(&mut v);
                v.lit(&m.subtype);
                self.params(&mut v, &m.params);
                ("Content-Type", Some("c"), known(HeaderName::ContentType))
            }
            HeaderItem::ContentLength(t) => {
                v.lit(t);
                (
                    "Content-Length",
                    Some("l"),
                    known(HeaderName::ContentLength),
                )
            }
            HeaderItem::Unknown { name, value } => {
                for (i, w) in value.split(' ').enumerate() {
                    if i > 0 {
                        self.sp(&mut v);
                    }
                    v.lit(w);
                }
                let n = ExpName::Other(name.clone());
                return (name.clone(), n, v);
            }
        };
        (self.name(long, compact), exp, v)
    }
}

impl MessageModel {
    /// The wire form of the model and the header lines it must parse to.
    pub fn render(&self, p: Profile) -> Rendered {
        let mut st = Style {
            bytes: &self.style,
            pos: 0,
            fold: !p.rsip,
            ws_before_colon: !p.rsip,
        };
        let version = if !p.rsip && st.pick(8) == 0 {
            "sip/2.0"
        } else {
            "SIP/2.0"
        };
        let mut out = match &self.start {
            Start::Request { method, uri } => format!("{method} {} {version}\r\n", uri.render()),
            Start::Response { code, reason } => format!("{version} {code} {reason}\r\n"),
        };
        let mut lines = Vec::new();
        for h in &self.headers {
            let (name, exp_name, v) = st.header(h);
            out.push_str(&name);
            if st.ws_before_colon {
                out.push_str(["", "", "", " ", "\t", "  "][st.pick(6)]);
            }
            out.push(':');
            // No fold before an empty value: a blank continuation line
            // is not LWS.
            let lead: &[&str] = if st.fold && !v.wire.is_empty() {
                &[" ", " ", " ", "", "  ", "\t", "\r\n "]
            } else {
                &[" ", " ", " ", "", "  ", "\t"]
            };
            out.push_str(lead[st.pick(lead.len())]);
            out.push_str(&v.wire);
            out.push_str(["", "", "", " ", "\t"][st.pick(5)]);
            out.push_str("\r\n");
            lines.push(ExpectedLine {
                name: exp_name,
                value: v.exp.trim_matches([' ', '\t']).to_owned(),
            });
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        Rendered { bytes, lines }
    }
}
