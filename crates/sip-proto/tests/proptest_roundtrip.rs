//! Property tests of the parser and serializer.
//!
//! - Generated well-formed messages (tests/common) parse to their model:
//!   start line, every header line's name and unfolded value, the typed
//!   headers, the body; and the canonical form round-trips
//!   (`parse(to_bytes(m)) == m`, `to_bytes` a fixed point).
//! - The same models built through the API (`Request::new`, `push_typed`,
//!   `set_body`) round-trip too.
//! - Robustness: arbitrary bytes, SIP-like byte soup and mutated valid
//!   messages never panic the datagram parser, typed reads of every header
//!   type, `Uri::parse` or the `StreamFramer`; whatever the parser accepts
//!   round-trips, and every typed value it yields re-parses from its own
//!   Display.

mod common;

use std::borrow::Cow;

use bytes::Bytes;
use common::*;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::test_runner::Config as ProptestConfig;
use sip_proto::headers::{
    Accept, AcceptEncoding, Allow, AllowEvents, AuthenticationInfo, Authorization, CSeq, CallId,
    Contact, ContentDisposition, ContentEncoding, ContentLength, ContentType, Date, Event, Expires,
    From as FromHeader, MaxForwards, MinExpires, MinSe, NameAddr, Path, ProxyAuthenticate,
    ProxyAuthorization, ProxyRequire, RAck, RSeq, Reason, RecordRoute, ReferTo, ReferredBy,
    Replaces, Require, RetryAfter, Route, ServerHeader, ServiceRoute, SessionExpires, SipETag,
    SipIfMatch, Subject, SubscriptionState, Supported, Timestamp, To, Transport, TypedHeader,
    Unsupported, UserAgent, Via, Warning, WwwAuthenticate,
};
use sip_proto::params::{Param, Params};
use sip_proto::uri::{Scheme, SipUri, Uri};
use sip_proto::{
    Frame, HeaderName, Limits, Message, Method, ParseError, Request, Response, StatusCode,
    StreamFramer, Version,
};

/// `cases` per property; PROPTEST_CASES overrides it for a deeper run.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(cases),
        max_shrink_iters: 4096,
        ..ProptestConfig::default()
    }
}

// ------------------------------------------------------------ checks

fn params_of(p: &Params<'_>) -> Vec<ParamModel> {
    p.iter()
        .map(|p| (p.name.to_string(), p.value.as_deref().map(str::to_owned)))
        .collect()
}

/// `strict`: same order and spelling (parsed from our rendering);
/// otherwise the same set of names (case-insensitive) and values.
fn assert_params(got: &Params<'_>, want: &[ParamModel], strict: bool, what: &str) {
    if strict {
        assert_eq!(params_of(got), want, "{what} params");
    } else {
        assert_eq!(got.len(), want.len(), "{what} params: {got:?} vs {want:?}");
        for (n, v) in want {
            assert_eq!(got.get(n), Some(v.as_deref()), "{what} param {n}");
        }
    }
}

fn assert_uri(got: &Uri<'_>, want: &UriModel, strict: bool) {
    let s = got.as_sip().expect("a SIP URI");
    let scheme = if want.sips { Scheme::Sips } else { Scheme::Sip };
    assert_eq!(s.scheme, scheme);
    assert_eq!(s.user.as_deref(), want.user.as_deref());
    assert_eq!(s.password.as_deref(), want.password.as_deref());
    assert_eq!(s.host, want.host.to_proto());
    assert_eq!(s.port, want.port);
    assert_params(&s.params, &want.params, strict, "URI");
    let headers: Vec<(String, String)> = s
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_string(),
                h.value.as_deref().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(headers, want.headers);
    if strict {
        assert_eq!(got.to_string(), want.render());
    }
}

fn assert_name_addr(got: &NameAddr<'_>, want: &NameAddrModel, strict: bool) {
    assert_eq!(
        got.display_name.as_deref(),
        want.display.as_ref().map(DisplayName::decoded).as_deref(),
        "display name"
    );
    assert_uri(&got.uri, &want.uri, strict);
    assert_params(&got.params, &want.params, strict, "header");
}

/// The typed view of `m` equals the model. `strict` as for
/// [`assert_params`].
fn assert_typed(model: &MessageModel, m: &Message, strict: bool) {
    assert_eq!(m.version(), Version::SIP_2_0);
    match (&model.start, m) {
        (Start::Request { method, uri }, Message::Request(r)) => {
            assert_eq!(r.method.as_str(), method);
            assert_eq!(
                matches!(r.method, Method::Extension(_)),
                !KNOWN_METHODS.contains(&method.as_str()),
                "extension method"
            );
            assert_eq!(r.uri_str(), uri.render());
            assert_uri(&r.uri().expect("Request-URI"), uri, true);
        }
        (Start::Response { code, reason }, Message::Response(r)) => {
            assert_eq!(r.status.code(), *code);
            assert_eq!(r.reason(), reason);
        }
        _ => panic!("request/response mismatch"),
    }
    let h = m.headers();

    let vias: Vec<Via> = h.typed_all::<Via>().map(Result::unwrap).collect();
    let want = model.vias();
    assert_eq!(vias.len(), want.len(), "Via count");
    for (v, w) in vias.iter().zip(want) {
        assert_eq!(v.protocol_name, "SIP");
        assert_eq!(v.protocol_version, "2.0");
        assert_eq!(v.transport.as_str(), w.transport_str());
        assert_eq!(v.host, w.host.to_proto());
        assert_eq!(v.port, w.port);
        assert_eq!(v.branch(), Some(w.branch()));
        assert!(v.has_rfc3261_branch());
        assert_eq!(v.rport(), w.rport());
        assert_eq!(v.received(), w.received());
        assert_params(&v.params, &w.params, strict, "Via");
    }

    let from = h.typed::<FromHeader>().expect("From").unwrap();
    assert_name_addr(&from, model.from(), strict);
    assert_eq!(from.tag(), model.from().param("tag").flatten());
    let to = h.typed::<To>().expect("To").unwrap();
    assert_name_addr(&to, model.to(), strict);
    assert_eq!(to.tag(), model.to().param("tag").flatten());

    assert_eq!(m.call_id(), Some(model.call_id()));
    assert_eq!(
        h.typed::<CallId>().expect("Call-ID").unwrap().0,
        model.call_id()
    );
    let cseq = m.cseq().expect("CSeq").unwrap();
    assert_eq!((cseq.seq, cseq.method.as_str()), model.cseq());
    assert_eq!(
        h.typed::<MaxForwards>().map(|r| r.unwrap().0),
        model.max_forwards()
    );

    let contacts: Vec<Contact> = h.typed_all::<Contact>().map(Result::unwrap).collect();
    let want = model.contacts();
    assert_eq!(contacts.len(), want.len(), "Contact count");
    for (c, w) in contacts.iter().zip(want) {
        assert_name_addr(c.addr().expect("not *"), &w.addr, strict);
        assert_eq!(c.q(), w.q);
        assert_eq!(c.expires(), w.expires);
    }

    match (h.typed::<ContentType>(), model.content_type()) {
        (None, None) => {}
        (Some(ct), Some(w)) => {
            let ct = ct.unwrap();
            assert_eq!((&*ct.0.mtype, &*ct.0.subtype), (&*w.mtype, &*w.subtype));
            assert_params(&ct.0.params, &w.params, strict, "Content-Type");
        }
        (got, want) => panic!("Content-Type {got:?} vs {want:?}"),
    }
    if let Some(cl) = h.typed::<ContentLength>() {
        assert_eq!(cl.unwrap().0 as usize, model.body.len());
    }

    let unknown: Vec<(&str, &str)> = h
        .iter()
        .filter(|x| matches!(x.name, HeaderName::Other(_)))
        .map(|x| (x.name.as_str(), x.value_str()))
        .collect();
    assert_eq!(unknown, model.unknowns());
    assert_eq!(&m.body()[..], &model.body[..]);
}

/// `parse(to_bytes(m)) == m` and `to_bytes` is a fixed point.
fn assert_round_trip(m: &Message) {
    let canonical = m.to_bytes();
    let again = Message::parse(canonical.clone()).unwrap_or_else(|e| {
        panic!(
            "canonical form refused: {e}\n{}",
            String::from_utf8_lossy(&canonical)
        )
    });
    assert_eq!(&again, m, "parse(to_bytes(m)) != m");
    assert_eq!(again.to_bytes(), canonical, "to_bytes not a fixed point");
}

/// Parses the rendering of `model` and checks everything against it.
fn check_wire(model: &MessageModel, p: Profile) -> Message {
    let r = model.render(p);
    let text = String::from_utf8_lossy(&r.bytes).into_owned();
    let m = Message::parse(Bytes::from(r.bytes)).unwrap_or_else(|e| panic!("refused: {e}\n{text}"));
    let lines: Vec<_> = m.headers().iter().collect();
    assert_eq!(lines.len(), r.lines.len(), "header lines\n{text}");
    for (got, want) in lines.iter().zip(&r.lines) {
        match &want.name {
            ExpName::Known(n) => {
                assert!(!matches!(got.name, HeaderName::Other(_)), "{got:?}");
                assert_eq!(got.name, n);
            }
            ExpName::Other(s) => {
                assert!(matches!(got.name, HeaderName::Other(_)), "{got:?}");
                assert_eq!(got.name.as_str(), s);
            }
        }
        assert_eq!(got.value_str(), want.value, "value of {}\n{text}", got.name);
    }
    assert_typed(model, &m, true);
    assert_round_trip(&m);
    m
}

// ------------------------------------------------------------ API building

fn sip_uri(u: &UriModel) -> SipUri<'_> {
    let scheme = if u.sips { Scheme::Sips } else { Scheme::Sip };
    let mut s = SipUri::new(scheme, u.host.to_proto());
    if let Some(user) = &u.user {
        s = s.with_user(user.as_str());
    }
    s.password = u.password.as_deref().map(Cow::Borrowed);
    if let Some(p) = u.port {
        s = s.with_port(p);
    }
    for (n, v) in &u.params {
        s = s.with_param(n.as_str(), v.as_deref());
    }
    s.headers = u
        .headers
        .iter()
        .map(|(n, v)| Param::new(n.as_str(), Some(v.as_str())))
        .collect();
    s
}

fn name_addr(na: &NameAddrModel) -> NameAddr<'_> {
    let mut a = NameAddr::new(Uri::Sip(sip_uri(&na.uri)));
    if let Some(d) = &na.display {
        a = a.with_display_name(d.decoded());
    }
    for (n, v) in &na.params {
        a.params.set(n.as_str(), v.as_deref());
    }
    a
}

/// The model built through the typed API instead of text.
fn build(model: &MessageModel) -> Message {
    let mut msg: Message = match &model.start {
        Start::Request { method, uri } => {
            Request::new(Method::from_token(method), &Uri::Sip(sip_uri(uri))).into()
        }
        Start::Response { code, reason } => {
            let mut r = Response::new(StatusCode::new(*code).unwrap());
            r.set_reason(reason);
            r.into()
        }
    };
    let h = msg.headers_mut();
    for item in &model.headers {
        match item {
            HeaderItem::Via(vs) => {
                for v in vs {
                    let mut via = Via::new(
                        Transport::parse(&v.transport),
                        v.host.to_proto(),
                        v.port,
                        v.branch(),
                    );
                    for (n, val) in &v.params {
                        if !n.eq_ignore_ascii_case("branch") {
                            via.params.set(n.as_str(), val.as_deref());
                        }
                    }
                    h.push_typed(&via);
                }
            }
            HeaderItem::From(na) => h.push_typed(&FromHeader(name_addr(na))),
            HeaderItem::To(na) => h.push_typed(&To(name_addr(na))),
            HeaderItem::CallId(c) => h.push_typed(&CallId(Cow::Borrowed(c))),
            HeaderItem::CSeq { seq, method, .. } => h.push_typed(&CSeq {
                seq: *seq,
                method: Method::from_token(method),
            }),
            HeaderItem::MaxForwards { value, .. } => h.push_typed(&MaxForwards(*value)),
            HeaderItem::Contact(cs) => {
                for c in cs {
                    h.push_typed(&Contact::new(name_addr(&c.addr)));
                }
            }
            HeaderItem::ContentType(_) | HeaderItem::ContentLength(_) => {}
            HeaderItem::Unknown { name, value } => h.push(HeaderName::new(name), value.clone()),
        }
    }
    if let Some(ct) = model.content_type() {
        msg.set_body(&ct.canonical(), model.body.clone());
    }
    msg
}

// ------------------------------------------------------------ robustness

/// Reads every value of every typed header; each value that parses must
/// re-parse from its own Display, and that Display must be a fixed point.
macro_rules! read_typed {
    ($h:expr; $($t:ty),* $(,)?) => {{
        $(
            for r in $h.typed_all::<$t>() {
                if let Ok(v) = r {
                    let shown = v.to_string();
                    let again = <$t as TypedHeader>::parse(&shown).unwrap_or_else(|e| {
                        panic!("{}: Display {shown:?} of {v:?} does not re-parse: {e}",
                            stringify!($t))
                    });
                    assert_eq!(again.to_string(), shown, "{}: Display not stable", stringify!($t));
                }
            }
        )*
    }};
}

fn read_all_typed(m: &Message) {
    let h = m.headers();
    read_typed!(h;
        Via, FromHeader, To, Contact, Route, RecordRoute, Path, ServiceRoute, ReferTo, ReferredBy,
        WwwAuthenticate, ProxyAuthenticate, Authorization, ProxyAuthorization, AuthenticationInfo,
        Accept, AcceptEncoding, Allow, AllowEvents, CSeq, CallId, ContentDisposition,
        ContentEncoding, ContentLength, ContentType, Date, Event, Expires, MaxForwards, MinExpires,
        MinSe, ProxyRequire, RAck, RSeq, Reason, Replaces, Require, RetryAfter, ServerHeader,
        SessionExpires, SipETag, SipIfMatch, Subject, SubscriptionState, Supported, Timestamp,
        Unsupported, UserAgent, Warning,
    );
    // Shortcuts and every value as a URI.
    let _ = (
        m.call_id(),
        m.cseq(),
        m.top_via(),
        m.from_header(),
        m.to_header(),
    );
    for x in h.iter() {
        check_uri_text(x.value_str());
    }
    if let Message::Request(r) = m {
        check_uri_text(r.uri_str());
    }
}

/// `Uri::parse` never panics; an accepted URI is equivalent to itself and
/// re-parses from its Display to an equal URI.
fn check_uri_text(s: &str) {
    if let Ok(u) = Uri::parse(s) {
        assert!(u.equivalent(&u), "{s:?} not equivalent to itself");
        let shown = u.to_string();
        let again = Uri::parse(&shown).unwrap_or_else(|e| panic!("{s:?} shown as {shown:?}: {e}"));
        assert_eq!(again, u, "{s:?} shown as {shown:?}");
    }
}

/// Everything the datagram parser offers, on any input.
fn exercise_datagram(data: &[u8]) {
    let bytes = Bytes::copy_from_slice(data);
    if let Ok(m) = Message::parse(bytes.clone()) {
        assert_round_trip(&m);
    }
    let tight = Limits {
        max_head_bytes: 300,
        max_headers: 8,
        max_header_bytes: 64,
        max_body_bytes: 100,
    };
    let _ = Message::parse_with(bytes.clone(), &tight);
    if let Ok(m) = Message::parse_unvalidated(bytes, &Limits::default()) {
        let _ = m.validate();
        read_all_typed(&m);
        let _ = m.to_bytes();
        let _ = m.to_string();
    }
}

const SMALL: Limits = Limits {
    max_head_bytes: 512,
    max_headers: 16,
    max_header_bytes: 256,
    max_body_bytes: 256,
};

/// Feeds `data` to a framer in chunks of the given sizes (cycled), pulling
/// frames after each chunk until the framer wants more or fails. The
/// buffer never exceeds the limits, and the framer always makes progress.
fn drive_framer(data: &[u8], chunks: &[usize], limits: &Limits) -> Vec<Result<Frame, ParseError>> {
    let bound = limits.max_message_bytes() + 4;
    let mut f = StreamFramer::new(limits.clone());
    let mut out = Vec::new();
    let (mut pos, mut i) = (0, 0);
    'feed: while pos < data.len() {
        let n = chunks
            .get(i % chunks.len().max(1))
            .copied()
            .unwrap_or(usize::MAX)
            .clamp(1, data.len() - pos);
        i += 1;
        if let Err(e) = f.push(&data[pos..pos + n]) {
            out.push(Err(e));
            break;
        }
        pos += n;
        assert!(f.buffered() <= bound, "buffered {} > {bound}", f.buffered());
        loop {
            let r = f.next_frame();
            assert!(f.buffered() <= bound, "buffered {} > {bound}", f.buffered());
            match r {
                Ok(Some(fr)) => out.push(Ok(fr)),
                Ok(None) => break,
                Err(e) => {
                    out.push(Err(e));
                    break 'feed;
                }
            }
            // Every frame consumes at least one byte.
            assert!(out.len() <= pos, "framer yields frames without input");
        }
    }
    out
}

fn exercise_framer(data: &[u8], chunks: &[usize]) {
    for limits in [SMALL, Limits::default()] {
        for r in drive_framer(data, chunks, &limits) {
            if let Ok(Frame::Message(m)) = r {
                let _ = m.validate();
                read_all_typed(&m);
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(Index, u8),
    Set(Index, u8),
    Insert(Index, &'static str),
    Delete(Index, usize),
    Truncate(Index),
    Duplicate(Index, usize),
}

/// Bytes with a meaning somewhere in SIP.
const SPECIAL: &[&str] = &[
    "\r\n",
    "\r\n ",
    "\n",
    "\r",
    " ",
    "\t",
    ";",
    ",",
    "\"",
    "\\",
    "<",
    ">",
    ":",
    "%",
    "=",
    "@",
    "[",
    "]",
    "?",
    "&",
    "/",
    "(",
    ")",
    "*",
    "\0",
    "\u{7f}",
    "\u{fffd}",
    "é",
    "sip:",
    "0",
    "99999999999",
    ";tag",
    ";q=",
    "\r\n\r\n",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (any::<Index>(), select(SPECIAL)).prop_map(|(i, s)| Mutation::Insert(i, s)),
        (any::<Index>(), 1usize..8).prop_map(|(i, n)| Mutation::Delete(i, n)),
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), 1usize..16).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
    ]
}

fn mutate(data: &mut Vec<u8>, m: &Mutation) {
    let at = |i: &Index, len: usize| i.index(len + 1);
    match m {
        Mutation::Flip(i, b) if !data.is_empty() => {
            let k = i.index(data.len());
            data[k] ^= 1 << b;
        }
        Mutation::Set(i, b) if !data.is_empty() => {
            let k = i.index(data.len());
            data[k] = *b;
        }
        Mutation::Insert(i, s) => {
            let k = at(i, data.len());
            data.splice(k..k, s.bytes());
        }
        Mutation::Delete(i, n) => {
            let k = at(i, data.len());
            let e = (k + n).min(data.len());
            data.drain(k..e);
        }
        Mutation::Truncate(i) => data.truncate(at(i, data.len())),
        Mutation::Duplicate(i, n) => {
            let k = at(i, data.len());
            let e = (k + n).min(data.len());
            let piece = data[k..e].to_vec();
            data.splice(k..k, piece);
        }
        _ => {}
    }
}

/// Header names the typed parsers answer to (long, compact, odd case).
const NAMES: &[&str] = &[
    "Via",
    "v",
    "From",
    "f",
    "To",
    "t",
    "Call-ID",
    "i",
    "CSeq",
    "Contact",
    "m",
    "Max-Forwards",
    "Route",
    "Record-Route",
    "Content-Type",
    "c",
    "Content-Length",
    "l",
    "Content-Disposition",
    "Content-Encoding",
    "e",
    "Expires",
    "Min-Expires",
    "Allow",
    "Supported",
    "k",
    "Require",
    "Proxy-Require",
    "Unsupported",
    "Accept",
    "Accept-Encoding",
    "WWW-Authenticate",
    "Proxy-Authenticate",
    "Authorization",
    "Proxy-Authorization",
    "Authentication-Info",
    "Event",
    "o",
    "Allow-Events",
    "u",
    "Subscription-State",
    "SIP-ETag",
    "SIP-If-Match",
    "User-Agent",
    "Server",
    "Date",
    "Timestamp",
    "Warning",
    "Retry-After",
    "Reason",
    "Refer-To",
    "r",
    "Referred-By",
    "b",
    "Replaces",
    "RSeq",
    "RAck",
    "Session-Expires",
    "x",
    "Min-SE",
    "Subject",
    "s",
    "Path",
    "Service-Route",
    "X-Unknown",
    "vIA",
    "cSEQ",
];

/// Fragments of header values: enough grammar to get deep into the
/// typed parsers, shuffled into nonsense.
const PIECES: &[&str] = &[
    "sip:",
    "sips:",
    "tel:",
    "mailto:",
    "a",
    "alice",
    "@",
    "example.com",
    "192.0.2.1",
    "[",
    "]",
    "::1",
    "2001:db8::7",
    ":",
    "5060",
    "99999",
    "<",
    ">",
    "\"",
    "\\",
    "\\\"",
    ";",
    ",",
    "=",
    " ",
    "  ",
    "\t",
    "\r\n ",
    "tag",
    "q",
    "0.5",
    "1.000",
    "1.5",
    "expires",
    "3600",
    "branch",
    "z9hG4bK",
    "rport",
    "received",
    "maddr",
    "ttl",
    "300",
    "lr",
    "transport",
    "SIP",
    "/",
    "2.0",
    "UDP",
    "tcp",
    "%",
    "%4",
    "%41",
    "%00",
    "(",
    ")",
    "?",
    "&",
    "*",
    "Digest",
    "realm",
    "nonce",
    "Basic",
    "INVITE",
    "ACK",
    "1",
    "0",
    "4294967296",
    "2147483648",
    "-1",
    "text",
    "plain",
    "multipart/mixed",
    "boundary",
    "GMT",
    "Mon, ",
    "01 Jan 2000 00:00:00",
    "Sat, 15 Oct 2005 04:44:56 GMT",
    "id",
    "to-tag",
    "from-tag",
    "cause",
    "Q.850",
    "é",
    "\u{fffd}",
    "\0",
    "\u{7}",
    "\u{7f}",
    "大",
    "{",
    "}",
    "'",
    "`",
    "~",
    "!",
    "+",
    ".",
];

fn soup(max: usize) -> impl Strategy<Value = String> {
    vec(select(PIECES), 0..max).prop_map(|v| v.concat())
}

/// A start line (usually well-formed), header lines with known names and
/// values made of grammar fragments, and a body.
fn sip_soup() -> impl Strategy<Value = Vec<u8>> {
    let start = prop_oneof![
        (method(FULL), soup(6)).prop_map(|(m, u)| format!("{m} sip:{u} SIP/2.0")),
        (method(FULL), soup(6)).prop_map(|(m, u)| format!("{m} {u} SIP/2.0")),
        (100u16..=699, soup(4)).prop_map(|(c, r)| format!("SIP/2.0 {c} {r}")),
        soup(8),
    ];
    (
        start,
        vec((select(NAMES), soup(16)), 0..12),
        prop_oneof![Just(String::new()), soup(8)],
        any::<bool>(),
    )
        .prop_map(|(start, headers, body, with_cl)| {
            let mut s = format!("{start}\r\n");
            for (n, v) in headers {
                s.push_str(&format!("{n}: {v}\r\n"));
            }
            if with_cl {
                s.push_str(&format!("Content-Length: {}\r\n", body.len()));
            }
            s.push_str("\r\n");
            s.push_str(&body);
            s.into_bytes()
        })
}

fn chunk_sizes() -> impl Strategy<Value = Vec<usize>> {
    vec(
        prop_oneof![3 => 1usize..8, 2 => 8usize..64, 1 => 64usize..2048],
        1..8,
    )
}

// ------------------------------------------------------------ properties

proptest! {
    #![proptest_config(config(256))]

    /// A rendered well-formed message parses to its model and round-trips.
    #[test]
    fn wire_messages_parse_to_their_model(model in message(FULL)) {
        check_wire(&model, FULL);
    }

    /// The same models built through the API round-trip through text and
    /// read back as the model.
    #[test]
    fn api_built_messages_round_trip(model in message(FULL)) {
        let msg = build(&model);
        assert_round_trip(&msg);
        let parsed = Message::parse(msg.to_bytes()).unwrap();
        assert_typed(&model, &parsed, false);
        // The request line carries the URI in canonical form.
        if let (Start::Request { uri, .. }, Message::Request(r)) = (&model.start, &parsed) {
            assert_eq!(r.uri_str(), uri.render());
        }
    }

    /// Arbitrary bytes: no panic anywhere.
    #[test]
    fn arbitrary_bytes_never_panic(
        data in vec(any::<u8>(), 0..4096),
        chunks in chunk_sizes(),
    ) {
        exercise_datagram(&data);
        exercise_framer(&data, &chunks);
        check_uri_text(&String::from_utf8_lossy(&data));
    }

    /// SIP-shaped nonsense reaches the typed parsers: no panic, and what
    /// is accepted round-trips.
    #[test]
    fn sip_soup_never_panics(data in sip_soup(), chunks in chunk_sizes()) {
        exercise_datagram(&data);
        exercise_framer(&data, &chunks);
    }

    /// Valid messages with bytes flipped, inserted, deleted, duplicated or
    /// cut: no panic, and what is accepted round-trips.
    #[test]
    fn mutated_messages_never_panic(
        model in message(FULL),
        mutations in vec(mutation(), 1..6),
        chunks in chunk_sizes(),
    ) {
        let mut model = model;
        model.ensure_content_length();
        let mut data = model.render(FULL).bytes;
        for m in &mutations {
            mutate(&mut data, m);
        }
        exercise_datagram(&data);
        exercise_framer(&data, &chunks);
    }

    /// URI-shaped strings: no panic; accepted URIs re-parse from Display.
    #[test]
    fn uri_parse_never_panics(s in prop_oneof![
        soup(12),
        (select(&["sip:", "sips:", "tel:", "SIP:", "x-y+z.w:"][..]), soup(12))
            .prop_map(|(a, b)| format!("{a}{b}")),
        any::<String>(),
    ]) {
        check_uri_text(&s);
    }

    /// A stream of well-formed messages frames to the same messages
    /// whatever the read sizes, and each equals the datagram parse.
    #[test]
    fn stream_framing_is_independent_of_read_sizes(
        models in vec(message(FULL), 1..4),
        chunks in chunk_sizes(),
    ) {
        let mut stream = Vec::new();
        let mut expected = Vec::new();
        for mut model in models {
            model.ensure_content_length();
            let bytes = model.render(FULL).bytes;
            expected.push(Message::parse(Bytes::from(bytes.clone())).unwrap());
            stream.extend_from_slice(&bytes);
        }
        let framed = |chunks: &[usize]| -> Vec<Message> {
            drive_framer(&stream, chunks, &Limits::default())
                .into_iter()
                .map(|r| match r {
                    Ok(Frame::Message(m)) => m,
                    other => panic!("unexpected {other:?}"),
                })
                .collect()
        };
        let whole = framed(&[usize::MAX]);
        prop_assert_eq!(&whole, &expected);
        prop_assert_eq!(&framed(&chunks), &expected);
    }
}

// ------------------------------------------------------------ bugs found

/// BUG in sip-proto, found by `mutated_messages_never_panic` (reflexivity
/// check in `check_uri_text`, now skipped for such URIs): RFC 3261 §19.1.1
/// says a parameter name MUST NOT appear more than once in a SIP URI, yet
/// `Uri::parse` accepts a repeated one, and `Uri::equivalent` then says the
/// URI is not equivalent to itself (§19.1.4 compares each parameter with
/// the *first* of that name in the other URI). Repeated URI headers are
/// legal (`?Route=a&Route=b`) and hit the same comparison.
/// Status: the uncommitted change to src/uri.rs in the working tree
/// (refuse repeated parameters, compare repeated headers in order) makes
/// this pass; once it lands, remove the `#[ignore]` and the
/// `repeats_a_param` skip in `check_uri_text`.
#[test]
fn regression_repeated_uri_parameter_and_equivalence() {
    for s in [
        "sip:alice@example.com;p=1;p=2",
        "sip:alice@example.com;maddr=192.0.2.1;MADDR=192.0.2.2",
        "sip:alice@example.com?subject=a&subject=b",
    ] {
        if let Ok(u) = Uri::parse(s) {
            assert!(u.equivalent(&u), "{s} is not equivalent to itself");
        }
    }
}

/// BUG in sip-proto (RFC 3261 §25.1): `sent-by = host [ COLON port ]` with
/// `COLON = SWS ":" SWS`, so whitespace around the colon of a Via sent-by
/// is legal, but `Via::parse` refuses it ("end of Via value"). The
/// generator (tests/common `Style::via`) does not write that whitespace.
#[test]
fn regression_via_sent_by_allows_lws_around_colon() {
    let v = Via::parse("SIP/2.0/UDP host.example.com : 5060;branch=z9hG4bK1").unwrap();
    assert_eq!(v.port, Some(5060));
    let v = Via::parse("SIP/2.0/UDP [2001:db8::1]\t:\t5060;branch=z9hG4bK1").unwrap();
    assert_eq!(v.port, Some(5060));
    // And in a message, folded.
    let m = Message::parse(
        &b"OPTIONS sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP host.example.com\r\n :5060;branch=z9hG4bK1\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:example.com>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n"[..],
    )
    .unwrap();
    assert_eq!(m.top_via().unwrap().unwrap().port, Some(5060));
}

/// BUG in sip-proto, found while writing `api_built_messages_round_trip`
/// (whose display names are therefore printable text only): a display
/// name is written as a quoted-string with only '"' and '\' escaped, so
/// CR and LF go out raw. A quoted-pair cannot carry CR or LF (RFC 3261
/// §25.1: quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)), so the
/// serialized message no longer parses, and a crafted name injects a
/// header line. (`Response::set_reason` already drops CR/LF.) Other
/// control characters are written raw too, which §25.1 qdtext does not
/// allow (they need a quoted-pair).
#[test]
fn regression_display_name_with_crlf_cannot_inject() {
    let name = NameAddr::new(Uri::parse("sip:alice@example.com").unwrap())
        .with_display_name("Alice\r\nInjected: yes");
    let mut r = Request::new(Method::Options, &Uri::parse("sip:example.com").unwrap());
    r.headers
        .push(HeaderName::Via, "SIP/2.0/UDP h;branch=z9hG4bK1");
    r.headers.push_typed(&FromHeader(name));
    for (n, v) in [
        (HeaderName::To, "<sip:example.com>"),
        (HeaderName::CallId, "c"),
        (HeaderName::CSeq, "1 OPTIONS"),
    ] {
        r.headers.push(n, v);
    }
    let wire = Message::from(r).to_bytes();
    let text = String::from_utf8_lossy(&wire);
    assert!(
        !text.contains("\r\nInjected: yes"),
        "header injected:\n{text}"
    );
    Message::parse(wire.clone()).unwrap_or_else(|e| panic!("{e}\n{text}"));
}

/// BUG in sip-proto, found by `stream_framing_is_independent_of_read_sizes`
/// (the generator now writes such parameters only after `<uri>`: see
/// `lt_in_params` in tests/common). RFC 3261 §25.1:
/// `To = ... ( name-addr / addr-spec ) *( SEMI to-param )`, `to-param =
/// tag-param / generic-param`, `gen-value = token / host / quoted-string`,
/// and a quoted-string may contain '<' (qdtext includes %x3C). After a
/// bare addr-spec `NameAddr::parse` refuses any '<' in the rest of the
/// value ("a quoted or token display name before '<'"), even inside a
/// quoted parameter value. Same for From, Contact, Route, ...
#[test]
fn regression_bare_addr_spec_allows_lt_in_quoted_param() {
    let to = To::parse(r#"sip:bob@example.com;x="<""#).unwrap();
    assert_eq!(to.params.get("x"), Some(Some(r#""<""#)));
    let m = Message::parse(
        &b"OPTIONS sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: sip:bob@example.com;x=\"<\"\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n"[..],
    );
    assert!(m.is_ok(), "{m:?}");
}
