//! RFC 4475 "SIP Torture Test Messages": one test per message, asserting
//! the outcome the RFC gives. The files are the RFC's archive byte for byte
//! (tests/data/rfc4475, checked against its SHA256SUMS by `corpus_intact`).
//!
//! - valid (§3.1.1): parse, carry the RFC's meaning, and round-trip.
//! - invalid (§3.1.2): refused with the typed error naming the fault.
//! - semantic (§3.2-3.4): parse; the facts the UA layer acts on are
//!   asserted, and so is the behaviour the RFC asks (through the UAS core
//!   and the transaction layer).

use std::borrow::Cow;
use std::path::PathBuf;

use bytes::Bytes;
use sha2::{Digest, Sha256};
use sip_proto::body::Multipart;
use sip_proto::headers::*;
use sip_proto::uri::{Host, Scheme, Uri};
use std::time::Instant;

use sip_proto::transaction::{Event, ServerKey, Target, TimerConfig, Transactions, TransportKind};
use sip_proto::uas::{check_request, MergeDetector, UasPolicy, Verdict};
use sip_proto::{Limits, Message, Method, ParseError, Response};

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/rfc4475")
}

fn load(name: &str) -> Bytes {
    Bytes::from(std::fs::read(data_dir().join(format!("{name}.dat"))).unwrap())
}

/// Parses, validates, and checks the round trip: the canonical form
/// parses to an equal message and is a fixed point of serialization.
fn valid(name: &str) -> Message {
    let m = Message::parse(load(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let canonical = m.to_bytes();
    assert_eq!(m.wire_len(), canonical.len(), "{name}: wire_len");
    let again = Message::parse(canonical.clone()).unwrap_or_else(|e| panic!("{name} reparse: {e}"));
    assert_eq!(again, m, "{name}: parse(serialize(m)) != m");
    assert_eq!(
        again.to_bytes(),
        canonical,
        "{name}: canonical form not stable"
    );
    m
}

fn invalid(name: &str) -> ParseError {
    match Message::parse(load(name)) {
        Ok(m) => panic!("{name} accepted: {m:?}"),
        Err(e) => e,
    }
}

fn semantic(name: &str) -> Message {
    valid(name)
}

fn req(m: &Message) -> &sip_proto::Request {
    m.as_request().expect("request")
}

fn bad_header(e: &ParseError, header: &str) {
    match e {
        ParseError::InvalidHeader { name, .. } if name.eq_ignore_ascii_case(header) => {}
        other => panic!("expected invalid {header}, got {other:?}"),
    }
}

/// Typed parsing of `T` fails on the unvalidated message (to check every
/// fault of messages that have several).
fn typed_fails<'a, T: TypedHeader<'a>>(m: &'a Message) {
    assert!(
        m.headers().typed_all::<T>().any(|r| r.is_err()),
        "{} should be refused",
        T::NAME
    );
}

fn unvalidated(name: &str) -> Message {
    Message::parse_unvalidated(load(name), &Limits::default()).unwrap()
}

#[test]
fn corpus_intact() {
    let sums = std::fs::read_to_string(data_dir().join("SHA256SUMS")).unwrap();
    let mut n = 0;
    for line in sums.lines() {
        let (hash, file) = line.split_once("  ").unwrap();
        let data = std::fs::read(data_dir().join(file)).unwrap();
        assert_eq!(format!("{:x}", Sha256::digest(&data)), hash, "{file}");
        n += 1;
    }
    assert_eq!(n, 49);
}

// ------------------------------------------------------------ 3.1.1 valid

#[test]
fn wsinv_short_tortuous_invite() {
    let m = valid("wsinv");
    let r = req(&m);
    assert_eq!(r.method, Method::Invite);
    assert_eq!(
        r.uri_str(),
        "sip:vivekg@chair-dnrc.example.com;unknownparam"
    );
    let h = m.headers();
    let to = h.typed::<To>().unwrap().unwrap();
    assert_eq!(to.tag(), Some("1918181833n"));
    assert_eq!(to.uri.to_string(), "sip:vivekg@chair-dnrc.example.com");
    let from = h.typed::<From>().unwrap().unwrap();
    assert_eq!(from.display_name.as_deref(), Some("J Rosenberg \\\""));
    assert_eq!(from.tag(), Some("98asjd8"));
    assert_eq!(h.typed::<MaxForwards>().unwrap().unwrap(), MaxForwards(68));
    let cseq = h.typed::<CSeq>().unwrap().unwrap();
    assert_eq!((cseq.seq, cseq.method), (9, Method::Invite));
    let vias: Vec<_> = h.typed_all::<Via>().map(Result::unwrap).collect();
    assert_eq!(vias.len(), 3);
    assert_eq!(
        (vias[0].transport.as_str(), vias[0].branch()),
        ("UDP", Some("390skdjuw"))
    );
    assert_eq!(
        vias[1].host,
        Host::Domain(Cow::Borrowed("spindle.example.com"))
    );
    assert_eq!(
        (vias[1].transport.as_str(), vias[1].branch()),
        ("TCP", Some("z9hG4bK9ikj8"))
    );
    assert_eq!(vias[2].branch(), Some("z9hG4bK30239"));
    assert_eq!(
        h.get_str(&HeaderName::new("NewFangledHeader")),
        Some("newfangled value continued newfangled value")
    );
    assert_eq!(
        h.get_str(&HeaderName::new("UnknownHeaderWithUnusualValue")),
        Some(";;,,;;,;")
    );
    assert_eq!(h.get_str(&HeaderName::Subject), Some(""));
    let route = h.typed::<Route>().unwrap().unwrap();
    assert!(route.uri.as_sip().unwrap().is_loose_router());
    let contact = h.typed::<Contact>().unwrap().unwrap();
    assert_eq!(contact.q(), Some(330));
    let addr = contact.addr().unwrap();
    assert_eq!(addr.display_name.as_deref(), Some("Quoted string \"\""));
    assert_eq!(addr.params.get("newparam"), Some(Some("newvalue")));
    assert_eq!(addr.params.get("secondparam"), Some(None));
    assert_eq!(m.body().len(), 150);
}

#[test]
fn intmeth_wide_range_of_valid_characters() {
    let m = valid("intmeth");
    let r = req(&m);
    assert_eq!(
        r.method.as_str(),
        "!interesting-Method0123456789_*+`.%indeed'~"
    );
    assert!(matches!(r.method, Method::Extension(_)));
    let uri = r.uri().unwrap();
    let sip = uri.as_sip().unwrap();
    assert_eq!(
        sip.user.as_deref(),
        Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
    );
    assert_eq!(
        sip.password.as_deref(),
        Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
    );
    let h = m.headers();
    let to = h.typed::<To>().unwrap().unwrap();
    assert_eq!(to.display_name.as_deref(), Some("BEL:\x07 NUL:\0 DEL:\x7f"));
    let from = h.typed::<From>().unwrap().unwrap();
    assert_eq!(
        from.display_name.as_deref(),
        Some("token1~` token2'+_ token3*%!.-")
    );
    assert_eq!(from.tag(), Some("_token~1'+`*%!-."));
    assert_eq!(
        from.params.value("fromParam''~+*_!.-%").as_deref(),
        Some("работающий")
    );
    assert_eq!(
        h.get_str(&HeaderName::CallId),
        Some("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{")
    );
    assert_eq!(h.typed::<CSeq>().unwrap().unwrap().seq, 139122385);
    assert_eq!(h.typed::<MaxForwards>().unwrap().unwrap(), MaxForwards(255));
    let ext = h
        .get_str(&HeaderName::new("extensionHeader-!.%*+_`'~"))
        .unwrap();
    assert_eq!(ext, "\u{feff}大停電");
}

#[test]
fn esc01_valid_percent_escaping() {
    let m = valid("esc01");
    let uri = req(&m).uri().unwrap();
    let sip = uri.as_sip().unwrap();
    assert_eq!(&*sip.user_unescaped().unwrap(), b"sips:user@example.com");
    assert_eq!(sip.host, Host::Domain(Cow::Borrowed("example.net")));
    let h = m.headers();
    let to = h.typed::<To>().unwrap().unwrap();
    assert_eq!(
        &*to.uri.as_sip().unwrap().user_unescaped().unwrap(),
        b"user"
    );
    let from = h.typed::<From>().unwrap().unwrap();
    assert_eq!(
        &*from.uri.as_sip().unwrap().user_unescaped().unwrap(),
        b"I have spaces"
    );
    // Escaped URI parameters compare equal to their unescaped spelling:
    // %6C%72 is "lr" and n%61me=v%61lue%25%34%31 is name=value%41.
    let c = h.typed::<Contact>().unwrap().unwrap();
    let contact = c.addr().unwrap().uri.clone();
    let plain = Uri::parse("sip:caller@host5.example.net;lr;name=value%2541").unwrap();
    assert!(contact.equivalent(&plain));
    assert!(
        !contact.equivalent(&Uri::parse("sip:caller@host5.example.net;lr;name=valueA").unwrap())
    );
}

#[test]
fn escnull_escaped_nulls() {
    let m = valid("escnull");
    let to = m.headers().typed::<To>().unwrap().unwrap();
    assert_eq!(
        &*to.uri.as_sip().unwrap().user_unescaped().unwrap(),
        b"null-\0-null"
    );
    let contacts: Vec<_> = m
        .headers()
        .typed_all::<Contact>()
        .map(Result::unwrap)
        .collect();
    let users: Vec<_> = contacts
        .iter()
        .map(|c| {
            c.addr()
                .unwrap()
                .uri
                .as_sip()
                .unwrap()
                .user_unescaped()
                .unwrap()
                .into_owned()
        })
        .collect();
    assert_eq!(users, [b"\0".to_vec(), b"\0\0".to_vec()]);
    assert!(!contacts[0]
        .addr()
        .unwrap()
        .uri
        .equivalent(&contacts[1].addr().unwrap().uri));
}

#[test]
fn esc02_percent_not_an_escape() {
    let m = valid("esc02");
    let r = req(&m);
    // The method is the token RE%47IST%45R, not REGISTER: tokens are not unescaped.
    assert_eq!(r.method, Method::Extension("RE%47IST%45R".into()));
    assert_eq!(
        m.headers().typed::<CSeq>().unwrap().unwrap().method,
        r.method
    );
    let to = m.headers().typed::<To>().unwrap().unwrap();
    assert_eq!(to.display_name.as_deref(), Some("%Z%45"));
    // C%6Fntact is an unknown header, not a third Contact.
    assert_eq!(m.headers().count(&HeaderName::Contact), 2);
    assert_eq!(
        m.headers().get_str(&HeaderName::new("C%6Fntact")),
        Some("<sip:alias2@host2.example.com>")
    );
    let via = m.top_via().unwrap().unwrap();
    assert_eq!(via.branch(), Some("z9hG4bK209%fzsnel234"));
}

#[test]
fn lwsdisp_no_lws_before_laquot() {
    let m = valid("lwsdisp");
    let from = m.headers().typed::<From>().unwrap().unwrap();
    assert_eq!(from.display_name.as_deref(), Some("caller"));
    assert_eq!(from.tag(), Some("323"));
}

#[test]
fn longreq_long_values() {
    let m = valid("longreq");
    let h = m.headers();
    let to = h.typed::<To>().unwrap().unwrap();
    assert!(to.display_name.as_deref().unwrap().len() > 100);
    let from = h.typed::<From>().unwrap().unwrap();
    assert!(from.tag().unwrap().len() > 100);
    assert!(h.get_str(&HeaderName::CallId).unwrap().len() > 100);
    assert!(h.typed_all::<Via>().count() >= 30);
    assert!(h.typed::<Contact>().unwrap().unwrap().addr().is_some());
    assert!(h.iter().any(|x| x.value.len() > 400));
}

#[test]
fn dblreq_extra_trailing_octets() {
    let m = valid("dblreq");
    assert_eq!(req(&m).method, Method::Register);
    assert!(
        m.body().is_empty(),
        "the INVITE after Content-Length 0 is ignored"
    );
}

#[test]
fn semiuri_semicolons_in_user_part() {
    let m = valid("semiuri");
    let uri = req(&m).uri().unwrap();
    let sip = uri.as_sip().unwrap();
    assert_eq!(&*sip.user_unescaped().unwrap(), b"user;par=u@example.net");
    assert!(sip.params.is_empty());
    assert_eq!(sip.host, Host::Domain(Cow::Borrowed("example.com")));
    let accept: Vec<_> = m
        .headers()
        .typed_all::<Accept>()
        .map(|a| a.unwrap().0.to_string())
        .collect();
    assert_eq!(
        accept,
        [
            "application/sdp",
            "application/pkcs7-mime",
            "multipart/mixed",
            "multipart/signed",
            "message/sip",
            "message/sipfrag"
        ]
    );
}

#[test]
fn transports_varied_and_unknown() {
    let m = valid("transports");
    let t: Vec<_> = m
        .headers()
        .typed_all::<Via>()
        .map(|v| v.unwrap().transport.into_owned())
        .collect();
    assert_eq!(
        t,
        [
            Transport::Udp,
            Transport::Sctp,
            Transport::Tls,
            Transport::Other("UNKNOWN".into()),
            Transport::Tcp
        ]
    );
}

#[test]
fn mpart01_multipart_mime() {
    let m = valid("mpart01");
    let ct = m.headers().typed::<ContentType>().unwrap().unwrap();
    assert!(ct.0.matches("multipart", "mixed"));
    let mp = Multipart::parse(&ct.0, m.body()).unwrap();
    assert_eq!(mp.parts.len(), 2);
    let p0 = &mp.parts[0];
    assert!(p0
        .content_type()
        .unwrap()
        .unwrap()
        .0
        .matches("text", "plain"));
    assert_eq!(&p0.body[..], b"Hello");
    let p1 = &mp.parts[1];
    assert!(p1
        .content_type()
        .unwrap()
        .unwrap()
        .0
        .matches("application", "octet-stream"));
    // A DER-encoded PKCS#7 object: starts with a SEQUENCE tag, binary bytes kept.
    assert_eq!(p1.body.first(), Some(&0x30));
    assert!(p1.body.iter().any(|b| *b >= 0x80));
    // Rebuilding the body from the parts gives the same parts back.
    let rebuilt = Multipart::parse(&ct.0, &mp.to_bytes()).unwrap();
    assert_eq!(rebuilt, mp);
}

#[test]
fn unreason_unusual_reason_phrase() {
    let m = valid("unreason");
    let r = m.as_response().unwrap();
    assert_eq!(r.status.code(), 200);
    assert_eq!(
        r.reason(),
        "= 2**3 * 5**2 \u{043d}\u{043e} \u{0441}\u{0442}\u{043e} \u{0434}\u{0435}\u{0432}\u{044f}\u{043d}\u{043e}\u{0441}\u{0442}\u{043e} \u{0434}\u{0435}\u{0432}\u{044f}\u{0442}\u{044c} - \u{043f}\u{0440}\u{043e}\u{0441}\u{0442}\u{043e}\u{0435}"
    );
}

#[test]
fn noreason_empty_reason_phrase() {
    let m = valid("noreason");
    let r = m.as_response().unwrap();
    assert_eq!(r.status.code(), 100);
    assert_eq!(r.reason(), "");
}

// ------------------------------------------------------------ 3.1.2 invalid

#[test]
fn badinv01_extraneous_separators() {
    bad_header(&invalid("badinv01"), "Via");
    let m = unvalidated("badinv01");
    typed_fails::<Via>(&m);
    typed_fails::<Contact>(&m);
}

#[test]
fn clerr_content_length_larger_than_message() {
    assert!(matches!(
        invalid("clerr"),
        ParseError::BodyTruncated { declared: 9999, .. }
    ));
}

#[test]
fn ncl_negative_content_length() {
    bad_header(&invalid("ncl"), "Content-Length");
}

#[test]
fn scalar02_overlarge_request_scalars() {
    assert!(matches!(
        invalid("scalar02"),
        ParseError::InvalidHeader { .. }
    ));
    let m = unvalidated("scalar02");
    typed_fails::<CSeq>(&m);
    typed_fails::<MaxForwards>(&m);
    typed_fails::<Expires>(&m);
    typed_fails::<Contact>(&m);
}

#[test]
fn scalarlg_overlarge_response_scalars() {
    assert!(matches!(
        invalid("scalarlg"),
        ParseError::InvalidHeader { .. }
    ));
    let m = unvalidated("scalarlg");
    typed_fails::<CSeq>(&m);
    typed_fails::<RetryAfter>(&m);
    typed_fails::<Warning>(&m);
}

#[test]
fn quotbal_unterminated_quoted_string() {
    bad_header(&invalid("quotbal"), "To");
}

#[test]
fn ltgtruri_angle_brackets_around_request_uri() {
    assert!(matches!(invalid("ltgtruri"), ParseError::RequestUri(_)));
}

#[test]
fn lwsruri_embedded_lws_in_request_uri() {
    assert!(matches!(invalid("lwsruri"), ParseError::StartLine(_)));
}

#[test]
fn lwsstart_multiple_sp_in_request_line() {
    assert!(matches!(invalid("lwsstart"), ParseError::StartLine(_)));
}

#[test]
fn trws_trailing_sp_in_request_line() {
    assert!(matches!(invalid("trws"), ParseError::StartLine(_)));
}

#[test]
fn escruri_escaped_headers_in_request_uri() {
    assert!(matches!(invalid("escruri"), ParseError::RequestUri(_)));
}

#[test]
fn baddate_non_gmt_time_zone() {
    bad_header(&invalid("baddate"), "Date");
}

#[test]
fn regbadct_name_addr_uri_not_enclosed() {
    bad_header(&invalid("regbadct"), "Contact");
}

#[test]
fn badaspec_spaces_within_addr_spec() {
    bad_header(&invalid("badaspec"), "To");
}

#[test]
fn baddn_non_token_display_name() {
    bad_header(&invalid("baddn"), "From");
}

#[test]
fn badvers_unknown_protocol_version() {
    let e = invalid("badvers");
    assert_eq!(e, ParseError::UnsupportedVersion("SIP/7.0".into()));
    assert_eq!(e.response_status().code(), 505);
}

#[test]
fn mismatch01_cseq_method_mismatch() {
    assert_eq!(
        invalid("mismatch01"),
        ParseError::CSeqMethodMismatch {
            method: "OPTIONS".into(),
            cseq: "INVITE".into()
        }
    );
}

#[test]
fn mismatch02_unknown_method_cseq_mismatch() {
    let e = invalid("mismatch02");
    assert!(matches!(&e, ParseError::CSeqMethodMismatch { method, .. } if method == "NEWMETHOD"));
    assert_eq!(e.response_status().code(), 400);
}

#[test]
fn bigcode_overlarge_status_code() {
    assert!(matches!(invalid("bigcode"), ParseError::StartLine(_)));
}

// ------------------------------------------------------------ 3.2-3.4 semantic

// The behaviour RFC 4475 §3.2-3.4 asks of a UA for each semantic message
// is asserted through the UAS core (sip_proto::uas, RFC 3261 §8.2) and the
// transaction layer, next to the parse facts it depends on.

const SEMANTIC: [&str; 17] = [
    "badbranch",
    "insuf",
    "unkscm",
    "novelsc",
    "unksm2",
    "bext01",
    "invut",
    "regaut01",
    "multi01",
    "mcl01",
    "bcast",
    "zeromf",
    "cparam01",
    "cparam02",
    "regescrt",
    "sdp01",
    "inv2543",
];

#[test]
fn semantic_list_covers_corpus() {
    let manifest = std::fs::read_to_string(data_dir().join("MANIFEST.tsv")).unwrap();
    let semantic: Vec<_> = manifest
        .lines()
        .filter(|l| l.ends_with("\tsemantic"))
        .map(|l| l.split('.').next().unwrap())
        .collect();
    assert_eq!(semantic, SEMANTIC);
}

/// The UAS core's verdict on a corpus message, with a UA's policy or, for
/// REGISTERs, a registrar's (one that accepts REGISTER).
fn uas_verdict(name: &str, registrar: bool) -> Verdict {
    let m = Message::parse_unvalidated(load(name), &Limits::default()).unwrap();
    let mut policy = UasPolicy::default();
    if registrar {
        policy.allowed_methods.push(Method::Register);
    }
    check_request(&m, &policy, &mut MergeDetector::new(16), "uas-tag")
}

fn rejected(v: &Verdict) -> &Response {
    match v {
        Verdict::Reject(r) => r,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

fn server_key_of(name: &str) -> ServerKey {
    let mut t = Transactions::new(TimerConfig::default());
    let src = Target {
        addr: "192.0.2.9:5060".parse().unwrap(),
        transport: TransportKind::Udp,
    };
    t.handle_message(Instant::now(), Message::parse(load(name)).unwrap(), src);
    loop {
        match t.poll_event() {
            Some(Event::Request { key, .. }) => return key,
            Some(_) => {}
            None => panic!("{name}: no request event"),
        }
    }
}

#[test]
fn badbranch_missing_transaction_identifier() {
    let m = semantic("badbranch");
    let via = m.top_via().unwrap().unwrap();
    assert_eq!(via.branch(), Some("z9hG4bK"));
    // A bare cookie identifies nothing: matched by RFC 2543 rules, answered.
    assert!(!via.has_rfc3261_branch());
    assert!(matches!(
        server_key_of("badbranch"),
        ServerKey::Rfc2543 { .. }
    ));
    assert_eq!(uas_verdict("badbranch", false), Verdict::Accept);
}

#[test]
fn insuf_missing_required_headers() {
    // RFC 3261 §8.1.1: not a valid request; it splits, but does not
    // validate, and the error names the first header missing.
    let e = Message::parse(load("insuf")).unwrap_err();
    assert!(matches!(e, ParseError::MissingHeader(_)), "{e:?}");
    let m = Message::parse_unvalidated(load("insuf"), &Limits::default()).unwrap();
    let h = m.headers();
    for missing in [
        HeaderName::CallId,
        HeaderName::From,
        HeaderName::To,
        HeaderName::MaxForwards,
    ] {
        assert!(!h.contains(&missing), "{missing}");
    }
    assert!(h.contains(&HeaderName::CSeq));
    let v = uas_verdict("insuf", false);
    let r = rejected(&v);
    assert_eq!(r.status.code(), 400);
    assert!(
        r.reason().to_ascii_lowercase().contains("missing"),
        "{}",
        r.reason()
    );
}

#[test]
fn unkscm_unknown_request_uri_scheme() {
    let m = semantic("unkscm");
    let uri = req(&m).uri().unwrap();
    assert!(
        matches!(&uri, Uri::Absolute(a) if a.scheme == "nobodyKnowsThisScheme" && a.rest == "totallyopaquecontent")
    );
    assert_eq!(rejected(&uas_verdict("unkscm", false)).status.code(), 416);
}

#[test]
fn novelsc_known_but_atypical_scheme() {
    let m = semantic("novelsc");
    assert_eq!(req(&m).uri().unwrap().scheme(), "soap.beep");
    assert_eq!(rejected(&uas_verdict("novelsc", false)).status.code(), 416);
}

#[test]
fn unksm2_unknown_schemes_in_headers() {
    let m = semantic("unksm2");
    let h = m.headers();
    assert_eq!(h.typed::<To>().unwrap().unwrap().uri.scheme(), "isbn");
    assert_eq!(h.typed::<From>().unwrap().unwrap().uri.scheme(), "http");
    let c = h.typed::<Contact>().unwrap().unwrap();
    assert_eq!(c.addr().unwrap().uri.to_string(), "name:John_Smith");
    // A UA does not take REGISTER (405); for a registrar the UAS core has
    // nothing against it (§8.2 checks only the Request-URI scheme), and
    // whether to bind such addresses is the registrar's policy.
    assert_eq!(rejected(&uas_verdict("unksm2", false)).status.code(), 405);
    assert_eq!(uas_verdict("unksm2", true), Verdict::Accept);
}

#[test]
fn bext01_require_and_proxy_require() {
    let m = semantic("bext01");
    let req: Vec<_> = m
        .headers()
        .typed_all::<Require>()
        .map(|r| r.unwrap().0.into_owned())
        .collect();
    assert_eq!(req, ["nothingSupportsThis", "nothingSupportsThisEither"]);
    assert_eq!(m.headers().typed_all::<ProxyRequire>().count(), 2);
    let v = uas_verdict("bext01", false);
    let r = rejected(&v);
    assert_eq!(r.status.code(), 420);
    // Only Require is a UAS matter; Proxy-Require is ignored (§8.2.2.3).
    assert_eq!(
        r.headers.get_str(&HeaderName::Unsupported),
        Some("nothingSupportsThis, nothingSupportsThisEither")
    );
}

#[test]
fn invut_unknown_content_type() {
    let m = semantic("invut");
    let ct = m.headers().typed::<ContentType>().unwrap().unwrap();
    assert!(ct.0.matches("application", "unknownformat"));
    assert_eq!(m.body().len(), 40);
    let v = uas_verdict("invut", false);
    let r = rejected(&v);
    assert_eq!(r.status.code(), 415);
    assert!(r
        .headers
        .get_str(&HeaderName::Accept)
        .unwrap()
        .contains("application/sdp"));
}

#[test]
fn regaut01_unknown_authorization_scheme() {
    let m = semantic("regaut01");
    let a = m.headers().typed::<Authorization>().unwrap().unwrap();
    assert!(!a.is_digest());
    assert_eq!(a.scheme, "NoOneKnowsThisScheme");
    // The unknown scheme is not an error for the UAS core: a registrar
    // ignores it and challenges (application policy).
    assert_eq!(uas_verdict("regaut01", true), Verdict::Accept);
}

#[test]
fn multi01_multiple_single_values() {
    let m = semantic("multi01");
    let h = m.headers();
    for (name, n) in [
        (HeaderName::CallId, 2),
        (HeaderName::CSeq, 2),
        (HeaderName::To, 2),
        (HeaderName::From, 2),
        (HeaderName::MaxForwards, 2),
    ] {
        assert_eq!(h.count(&name), n, "{name}");
    }
    let v = uas_verdict("multi01", false);
    let r = rejected(&v);
    assert_eq!(r.status.code(), 400);
    assert!(r.reason().contains("Multiple"), "{}", r.reason());
}

#[test]
fn mcl01_multiple_content_length_values() {
    let m = semantic("mcl01");
    let lens: Vec<_> = m
        .headers()
        .typed_all::<ContentLength>()
        .map(|c| c.unwrap().0)
        .collect();
    assert_eq!(lens, [13, 5]);
    // On a datagram the body is bounded by the datagram, not either value.
    assert!(m.body().starts_with(b"There's no way to know"));
    // On a stream the conflict is a framing error.
    let mut f = sip_proto::StreamFramer::new(Limits::default());
    f.push(&load("mcl01")).unwrap();
    assert_eq!(f.next_frame(), Err(ParseError::ConflictingContentLength));
    assert_eq!(rejected(&uas_verdict("mcl01", false)).status.code(), 400);
}

#[test]
fn bcast_broadcast_via_received() {
    let m = semantic("bcast");
    let vias: Vec<_> = m.headers().typed_all::<Via>().map(Result::unwrap).collect();
    assert_eq!(vias[1].host, Host::V4([255, 255, 255, 255].into()));
    // A response is never answered, and with no transaction of ours it is
    // dropped silently.
    assert_eq!(uas_verdict("bcast", false), Verdict::Drop);
    let mut t = Transactions::new(TimerConfig::default());
    let src = Target {
        addr: "192.0.2.9:5060".parse().unwrap(),
        transport: TransportKind::Udp,
    };
    t.handle_message(Instant::now(), m.clone(), src);
    assert_eq!(t.poll_event(), None);
    assert_eq!(t.poll_transmit(), None);
}

#[test]
fn zeromf_max_forwards_zero() {
    let m = semantic("zeromf");
    assert_eq!(
        m.headers().typed::<MaxForwards>().unwrap().unwrap(),
        MaxForwards(0)
    );
    // Max-Forwards 0 stops forwarding, not answering: a UAS processes it.
    assert_eq!(uas_verdict("zeromf", false), Verdict::Accept);
}

#[test]
fn cparam01_contact_param_outside_brackets() {
    let m = semantic("cparam01");
    let c = m.headers().typed::<Contact>().unwrap().unwrap();
    let a = c.addr().unwrap();
    assert!(a.params.contains("unknownparam"));
    assert!(a.uri.as_sip().unwrap().params.is_empty());
    // Acceptable to a registrar; what it stores is the Contact asserted above.
    assert_eq!(uas_verdict("cparam01", true), Verdict::Accept);
}

#[test]
fn cparam02_uri_param_inside_brackets() {
    let m = semantic("cparam02");
    let c = m.headers().typed::<Contact>().unwrap().unwrap();
    let a = c.addr().unwrap();
    assert!(a.params.is_empty());
    assert!(a.uri.as_sip().unwrap().params.contains("unknownparam"));
    // Acceptable to a registrar; what it stores is the Contact asserted above.
    assert_eq!(uas_verdict("cparam02", true), Verdict::Accept);
}

#[test]
fn regescrt_escaped_header_in_contact_uri() {
    let m = semantic("regescrt");
    let c = m.headers().typed::<Contact>().unwrap().unwrap();
    let sip = c.addr().unwrap().uri.as_sip().unwrap().clone();
    assert_eq!(
        sip.headers.get("Route"),
        Some(Some("%3Csip:sip.example.com%3E"))
    );
    // Acceptable to a registrar; what it stores is the Contact asserted above.
    assert_eq!(uas_verdict("regescrt", true), Verdict::Accept);
}

#[test]
fn sdp01_unacceptable_accept() {
    let m = semantic("sdp01");
    let a: Vec<_> = m
        .headers()
        .typed_all::<Accept>()
        .map(Result::unwrap)
        .collect();
    assert_eq!(a.len(), 1);
    assert!(!a[0].0.matches("application", "sdp"));
    assert!(m
        .headers()
        .typed::<ContentType>()
        .unwrap()
        .unwrap()
        .0
        .matches("application", "sdp"));
    // The answer would carry SDP, which the Accept excludes: 406.
    assert_eq!(rejected(&uas_verdict("sdp01", false)).status.code(), 406);
}

#[test]
fn inv2543_rfc2543_syntax() {
    let m = semantic("inv2543");
    let via = m.top_via().unwrap().unwrap();
    assert_eq!(via.branch(), None);
    assert_eq!(m.from_header().unwrap().unwrap().tag(), None);
    let rr = m.headers().typed::<RecordRoute>().unwrap().unwrap();
    assert_eq!(
        rr.uri.as_sip().unwrap().params.get("maddr"),
        Some(Some("ss1.example.com"))
    );
    let to = m.to_header().unwrap().unwrap();
    // addr-spec form: ";user=phone" is a To parameter, not a URI parameter.
    assert_eq!(to.params.get("user"), Some(Some("phone")));
    assert!(to.uri.as_sip().unwrap().params.is_empty());
    assert_eq!(to.uri.as_sip().unwrap().scheme, Scheme::Sip);
    // No Content-Length on UDP: the body runs to the end of the datagram.
    assert!(m.body().starts_with(b"v=0"));
    // Answered, and its transaction matched by the RFC 2543 rules.
    assert_eq!(uas_verdict("inv2543", false), Verdict::Accept);
    assert!(matches!(
        server_key_of("inv2543"),
        ServerKey::Rfc2543 { .. }
    ));
}
