//! The RFC 4975/4976 example messages (tests/data/README.md says where
//! each comes from), each parsed in every split size, asserted against
//! what the RFC says, and written back byte for byte.

use msrp_proto::auth::{answer, AuthParams};
use msrp_proto::headers::{
    AuthenticationInfo, Authorization, ByteRange, ContentType, Expires, FailureReport, FromPath,
    MessageId, Status, SuccessReport, ToPath, UsePath, WwwAuthenticate,
};
use msrp_proto::reassembly::{Progress, Reassembler, ReassemblyLimits};
use msrp_proto::{
    encode, parse_chunk, Event, Flag, Head, Host, Method, MsrpUri, Parser, Session, SessionConfig,
    SessionEvent, TransactionId, TypedHeader,
};
use std::time::Instant;

use bytes::Bytes;
use sim_net::Rng;

fn load(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Feeds `pieces` to a fresh parser: the one chunk they make.
fn parse_pieces<'a>(
    name: &str,
    pieces: impl Iterator<Item = &'a [u8]>,
) -> (Option<Head>, Vec<u8>, Option<Flag>) {
    let mut p = Parser::default();
    let (mut head, mut body, mut flag) = (None, Vec::new(), None);
    for piece in pieces {
        p.feed(piece).unwrap();
        while let Some(ev) = p.poll().unwrap() {
            match ev {
                Event::Head(h) => head = Some(h),
                Event::BodyData(b) => body.extend_from_slice(&b),
                Event::End(f) => flag = Some(f),
            }
        }
    }
    assert!(p.is_idle(), "{name}");
    (head, body, flag)
}

/// `data` cut at random points (seeded, so a failure repeats).
fn random_pieces<'a>(data: &'a [u8], rng: &mut Rng) -> Vec<&'a [u8]> {
    let mut pieces = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        // Short pieces, so that every message is cut many times.
        let n = rng.range(1, rest.len().min(40) as u64) as usize;
        let (piece, tail) = rest.split_at(n.min(rest.len()));
        pieces.push(piece);
        rest = tail;
    }
    pieces
}

/// Parses `name` whole, in every split size up to 64 (1: byte by byte)
/// and cut at random points, checks all give the same chunk, and that
/// writing it back gives the file.
fn chunk(name: &str) -> (Head, Option<Vec<u8>>, Flag) {
    let data = load(name);
    let whole = parse_chunk(&data).unwrap_or_else(|e| panic!("{name}: {e}"));
    let expected = (
        Some(whole.0.clone()),
        whole.1.clone().unwrap_or_default(),
        Some(whole.2),
    );
    for step in 1..=64 {
        let got = parse_pieces(name, data.chunks(step));
        assert_eq!(got, expected, "{name} step {step}");
    }
    let mut rng = Rng::new(data.len() as u64);
    for round in 0..64 {
        let got = parse_pieces(name, random_pieces(&data, &mut rng).into_iter());
        assert_eq!(got, expected, "{name} random split {round}");
    }
    let again = encode(&whole.0, whole.1.as_deref(), whole.2).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&again),
        String::from_utf8_lossy(&data),
        "{name} round trip"
    );
    // What was written reads back as the same chunk.
    assert_eq!(parse_chunk(&again).unwrap(), whole, "{name} read back");
    whole
}

fn typed<T: TypedHeader>(h: &Head) -> T {
    h.headers()
        .typed::<T>()
        .unwrap_or_else(|| panic!("no {}", T::NAME))
        .unwrap_or_else(|e| panic!("{}: {e}", T::NAME))
}

fn uri(s: &str) -> MsrpUri {
    MsrpUri::parse(s).unwrap()
}

fn request(h: &Head) -> &msrp_proto::Request {
    match h {
        Head::Request(r) => r,
        Head::Response(_) => panic!("not a request"),
    }
}

fn response(h: &Head) -> &msrp_proto::Response {
    match h {
        Head::Response(r) => r,
        Head::Request(_) => panic!("not a response"),
    }
}

#[test]
fn rfc4975_4_overview_send_and_response() {
    let (h, body, flag) = chunk("rfc4975-4-send.msrp");
    let r = request(&h);
    assert_eq!(r.tid.as_str(), "a786hjs2");
    assert_eq!(r.method, Method::Send);
    let to = typed::<ToPath>(&h).0;
    assert_eq!(
        to,
        [uri("msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp")]
    );
    let u = to.first().unwrap();
    assert_eq!(u.host, Host::Name("biloxi.example.com".into()));
    assert_eq!(
        (u.port, u.session_id.as_deref()),
        (Some(12763), Some("kjhd37s2s20w2a"))
    );
    assert_eq!(
        typed::<FromPath>(&h).0,
        [uri("msrp://atlanta.example.com:7654/jshA7weztas;tcp")]
    );
    assert_eq!(typed::<MessageId>(&h).0, "87652491");
    let br = typed::<ByteRange>(&h);
    assert_eq!((br.start, br.end, br.total), (1, Some(25), Some(25)));
    assert_eq!(typed::<ContentType>(&h).media_type(), "text/plain");
    assert_eq!(body.as_deref(), Some(&b"Hey Bob, are you there?"[..]));
    // The RFC counts the CRLF before the end-line (see data/README.md).
    assert_eq!(body.map(|b| b.len() as u64 + 2), br.len());
    assert_eq!(flag, Flag::Complete);

    let (h, body, flag) = chunk("rfc4975-4-200.msrp");
    let r = response(&h);
    assert_eq!(
        (r.tid.as_str(), r.status, r.comment.as_deref()),
        ("a786hjs2", 200, Some("OK"))
    );
    assert_eq!(
        typed::<ToPath>(&h).0,
        [uri("msrp://atlanta.example.com:7654/jshA7weztas;tcp")]
    );
    assert_eq!((body, flag), (None, Flag::Complete));
}

#[test]
fn rfc4975_11_1_basic_session() {
    let alice = uri("msrp://alicepc.example.com:7777/iau39soe2843z;tcp");
    let bob = uri("msrp://bob.example.com:8888/9di4eae923wzd;tcp");
    for (send, ok, tid, from, to, mid, text, range) in [
        (
            "rfc4975-11.1-send-alice.msrp",
            "rfc4975-11.1-200-bob.msrp",
            "d93kswow",
            &alice,
            &bob,
            "12339sdqwer",
            &b"Hi, I'm Alice!"[..],
            16,
        ),
        (
            "rfc4975-11.1-send-bob.msrp",
            "rfc4975-11.1-200-alice.msrp",
            "dkei38sd",
            &bob,
            &alice,
            "456s9wlk3",
            &b"Hi, Alice! I'm Bob!"[..],
            21,
        ),
    ] {
        let (h, body, flag) = chunk(send);
        assert_eq!(h.tid().as_str(), tid);
        assert_eq!(request(&h).method, Method::Send);
        assert_eq!(typed::<ToPath>(&h).0, std::slice::from_ref(to));
        assert_eq!(typed::<FromPath>(&h).0, std::slice::from_ref(from));
        assert_eq!(typed::<MessageId>(&h).0, mid);
        assert_eq!(
            typed::<ByteRange>(&h),
            ByteRange {
                start: 1,
                end: Some(range),
                total: Some(range)
            }
        );
        assert_eq!(body.as_deref(), Some(text));
        assert_eq!(flag, Flag::Complete);
        // Absent report headers mean: no success report, failure reports
        // with a response (RFC 4975 §7.1.1).
        assert!(h.headers().typed::<SuccessReport>().is_none());
        assert!(h.headers().typed::<FailureReport>().is_none());

        let (r, body, _) = chunk(ok);
        assert_eq!((r.tid().as_str(), response(&r).status), (tid, 200));
        // The response swaps the paths: it goes back the way it came.
        assert_eq!(typed::<ToPath>(&r).0, std::slice::from_ref(from));
        assert_eq!(typed::<FromPath>(&r).0, std::slice::from_ref(to));
        assert_eq!(body, None);
    }
}

#[test]
fn rfc4975_11_5_positive_report() {
    let (h, body, _) = chunk("rfc4975-11.5-send.msrp");
    assert_eq!(typed::<SuccessReport>(&h), SuccessReport(true));
    assert_eq!(typed::<FailureReport>(&h), FailureReport::No);
    assert_eq!(typed::<ContentType>(&h).media_type(), "text/html");
    assert!(body.is_some_and(|b| b.starts_with(b"<html>")));

    let (r, body, flag) = chunk("rfc4975-11.5-report.msrp");
    let req = request(&r);
    assert_eq!(
        (req.tid.as_str(), &req.method),
        ("dkei38sd", &Method::Report)
    );
    // The REPORT names the message and the bytes it covers, and carries
    // no report headers of its own (RFC 4975 §7.1.2).
    assert_eq!(typed::<MessageId>(&r), typed::<MessageId>(&h));
    assert_eq!(typed::<ByteRange>(&r), typed::<ByteRange>(&h));
    assert_eq!(
        typed::<Status>(&r),
        Status {
            namespace: 0,
            code: 200,
            reason: Some("OK".into())
        }
    );
    assert!(r.headers().get("Success-Report").is_none());
    assert_eq!((body, flag), (None, Flag::Complete));
}

#[test]
fn rfc4975_7_1_1_message_in_two_chunks() {
    let (h1, b1, f1) = chunk("rfc4975-7.1.1-chunk-1.msrp");
    let (h2, b2, f2) = chunk("rfc4975-7.1.1-chunk-2.msrp");
    // Two transactions, one message.
    assert_eq!(
        (h1.tid().as_str(), h2.tid().as_str()),
        ("dkei38sd", "dkei38ia")
    );
    assert_eq!(
        (&request(&h1).method, &request(&h2).method),
        (&Method::Send, &Method::Send)
    );
    assert_eq!(typed::<MessageId>(&h1).0, "4564dpWd");
    assert_eq!(typed::<MessageId>(&h2), typed::<MessageId>(&h1));
    // The first chunk's end is not known when its head is written, the
    // total is (RFC 4975 §7.1.1): `1-*/8`.
    let r1 = typed::<ByteRange>(&h1);
    let r2 = typed::<ByteRange>(&h2);
    assert_eq!((r1.start, r1.end, r1.total), (1, None, Some(8)));
    assert_eq!((r2.start, r2.end, r2.total), (5, Some(8), Some(8)));
    assert_eq!((f1, f2), (Flag::More, Flag::Complete));
    assert_eq!(b1.as_deref(), Some(&b"abcd"[..]));
    assert_eq!(b2.as_deref(), Some(&b"EFGH"[..]));
    // The RFC leaves the paths out of this example for brevity.
    assert!(h1.headers().typed::<ToPath>().is_none());

    // Put together, the chunks are the eight bytes the ranges say.
    let mut r = Reassembler::new(ReassemblyLimits::default());
    let first = r
        .chunk("4564dpWd", r1, &b1.unwrap_or_default(), f1)
        .unwrap();
    assert!(matches!(first, Progress::Partial { .. }));
    let whole = r
        .chunk("4564dpWd", r2, &b2.unwrap_or_default(), f2)
        .unwrap();
    assert_eq!(whole, Progress::Complete(b"abcdEFGH".to_vec()));
}

#[test]
fn rfc4975_11_2_xhtml_message() {
    let (h, body, flag) = chunk("rfc4975-11.2-send.msrp");
    let r = request(&h);
    assert_eq!((r.tid.as_str(), &r.method), ("dsdfoe38sd", &Method::Send));
    // Bob writes to Alice from another device than in §11.1.
    assert_eq!(
        typed::<ToPath>(&h).0,
        [uri("msrp://alice.example.com:7777/iau39soe2843z;tcp")]
    );
    let from = typed::<FromPath>(&h).0;
    assert_eq!(
        from,
        [uri("msrp://bobpc.example.com:8888/9di4eae923wzd;tcp")]
    );
    assert_eq!(
        from.first()
            .map(|u| (&u.host, u.port, u.session_id.as_deref())),
        Some((
            &Host::Name("bobpc.example.com".into()),
            Some(8888),
            Some("9di4eae923wzd")
        ))
    );
    assert_eq!(typed::<MessageId>(&h).0, "456so39s");
    let br = typed::<ByteRange>(&h);
    assert_eq!((br.start, br.end, br.total), (1, Some(374), Some(374)));
    assert_eq!(
        typed::<ContentType>(&h).media_type(),
        "application/xhtml+xml"
    );
    let body = String::from_utf8(body.unwrap()).unwrap();
    assert!(body.starts_with("<?xml version=\"1.0\""));
    assert!(body.ends_with("</html>"));
    assert_eq!(flag, Flag::Complete);
}

#[test]
fn rfc4975_11_4_system_message() {
    let (h, body, flag) = chunk("rfc4975-11.4-send.msrp");
    assert_eq!(
        (h.tid().as_str(), &request(&h).method),
        ("d93kswow", &Method::Send)
    );
    assert_eq!(
        typed::<ToPath>(&h).0,
        [uri("msrp://alicepc.example.com:8888/9di4eae923wzd;tcp")]
    );
    // The system speaks for the conference: its URI is the bare domain.
    let from = typed::<FromPath>(&h).0;
    assert_eq!(from, [uri("msrp://example.com:7777/iau39soe2843z;tcp")]);
    assert_eq!(
        from.first().map(|u| &u.host),
        Some(&Host::Name("example.com".into()))
    );
    assert_eq!(typed::<MessageId>(&h).0, "12339sdqwer");
    // No reports of either kind: nobody is waiting to hear of failure.
    assert_eq!(typed::<FailureReport>(&h), FailureReport::No);
    assert_eq!(typed::<SuccessReport>(&h), SuccessReport(false));
    assert_eq!(typed::<ContentType>(&h).media_type(), "text/plain");
    let br = typed::<ByteRange>(&h);
    assert_eq!(
        body.as_deref(),
        Some(&b"This conference will end in 5 minutes"[..])
    );
    assert_eq!(body.map(|b| b.len() as u64), br.len());
    assert_eq!(flag, Flag::Complete);
}

#[test]
fn rfc4976_auth_exchange() {
    let relay = uri("msrps://alice@intra.example.com;tcp");
    let alice = uri("msrps://alice.example.com:9892/98cjs;tcp");

    let (a1, body, _) = chunk("rfc4976-auth-1.msrp");
    assert_eq!(
        (a1.tid().as_str(), &request(&a1).method),
        ("49fh", &Method::Auth)
    );
    let to = typed::<ToPath>(&a1).0;
    assert_eq!(to, std::slice::from_ref(&relay));
    let r = to.first().unwrap();
    assert!(r.secure);
    assert_eq!(
        (r.userinfo.as_deref(), r.port, r.session_id.as_deref()),
        (Some("alice"), None, None)
    );
    assert_eq!(typed::<FromPath>(&a1).0, std::slice::from_ref(&alice));
    assert_eq!(body, None);

    let (c, _, _) = chunk("rfc4976-auth-1-401.msrp");
    let cr = response(&c);
    assert_eq!((cr.tid.as_str(), cr.status), ("49fh", 401));
    assert_eq!(cr.comment.as_deref(), Some("Unauthorized"));
    let ch = typed::<WwwAuthenticate>(&c);
    assert!(ch.0.is_digest());
    assert_eq!(ch.0.param("realm").as_deref(), Some("intra.example.com"));
    assert_eq!(ch.0.param("qop").as_deref(), Some("auth"));
    assert_eq!(
        ch.0.param("nonce").as_deref(),
        Some("dcd98b7102dd2f0e8b11d0f600bfb0c093")
    );

    let (a2, _, _) = chunk("rfc4976-auth-2.msrp");
    assert_eq!(a2.tid().as_str(), "49fi");
    let auth = typed::<Authorization>(&a2);
    for (n, v) in [
        ("username", "Alice"),
        ("realm", "intra.example.com"),
        ("nonce", "dcd98b7102dd2f0e8b11d0f600bfb0c093"),
        ("qop", "auth"),
        ("nc", "00000001"),
        ("cnonce", "0a4f113b"),
        ("response", "6629fae49393a05397450978507c4ef1"),
    ] {
        assert_eq!(auth.0.param(n).as_deref(), Some(v), "{n}");
    }
    // Our answer to the same challenge names the same parameters.
    let ours = answer(
        &ch,
        &AuthParams {
            username: "Alice",
            password: "unknown to the RFC",
            uri: &relay.to_string(),
            cnonce: "0a4f113b",
            nc: 1,
        },
    )
    .unwrap();
    for n in ["username", "realm", "nonce", "qop", "nc", "cnonce"] {
        assert_eq!(ours.authorization.0.param(n), auth.0.param(n), "{n}");
    }
    assert!(!ours.verify(&AuthenticationInfo(vec![])));

    let (ok, _, _) = chunk("rfc4976-auth-2-200.msrp");
    assert_eq!((ok.tid().as_str(), response(&ok).status), ("49fi", 200));
    assert_eq!(
        typed::<UsePath>(&ok).0,
        [uri("msrps://intra.example.com:9000/jui787s2f;tcp")]
    );
    assert_eq!(typed::<Expires>(&ok), Expires(900));
}

/// The four URIs of RFC 4976's relay example: Alice, her relay, Bob's
/// relay, Bob.
fn relay_example_uris() -> [MsrpUri; 4] {
    [
        uri("msrps://alice.example.org:7965/bar;tcp"),
        uri("msrps://a.example.org:9000/kjfjan;tcp"),
        uri("msrps://b.example.net:9000/aeiug;tcp"),
        uri("msrps://bob.example.net:8145/foo;tcp"),
    ]
}

const RELAYED_TEXT: &[u8] = b"Hi Bob, I'm about to send you file.mpeg";

/// What a relay does to a request it forwards (RFC 4976 §6): it takes
/// itself off the front of To-Path, puts itself in front of From-Path,
/// and sends it on in a transaction of its own.
fn forward(head: &Head, tid: &str) -> Head {
    let mut to = typed::<ToPath>(head).0;
    let relay = to.remove(0);
    let from = std::iter::once(relay)
        .chain(typed::<FromPath>(head).0)
        .collect::<Vec<_>>();
    let mut r = request(head).clone();
    r.tid = TransactionId::new(tid).unwrap();
    r.headers.set_typed(&ToPath(to));
    r.headers.set_typed(&FromPath(from));
    Head::Request(r)
}

/// `data` with the transaction id `from` (start line and end-line)
/// replaced by `to`.
fn with_tid(data: &[u8], from: &str, to: &str) -> String {
    String::from_utf8_lossy(data)
        .replace(&format!("MSRP {from} "), &format!("MSRP {to} "))
        .replace(&format!("-------{from}"), &format!("-------{to}"))
}

#[test]
fn rfc4976_send_through_two_relays() {
    let [alice, ra, rb, bob] = relay_example_uris();
    let hops = [
        (
            "rfc4976-relay-send-1.msrp",
            "rfc4976-relay-200-1.msrp",
            "6aef",
        ),
        (
            "rfc4976-relay-send-2.msrp",
            "rfc4976-relay-200-2.msrp",
            "juh76",
        ),
        (
            "rfc4976-relay-send-3.msrp",
            "rfc4976-relay-200-3.msrp",
            "xght6",
        ),
    ];
    let paths = [
        (
            vec![ra.clone(), rb.clone(), bob.clone()],
            vec![alice.clone()],
        ),
        (
            vec![rb.clone(), bob.clone()],
            vec![ra.clone(), alice.clone()],
        ),
        (
            vec![bob.clone()],
            vec![rb.clone(), ra.clone(), alice.clone()],
        ),
    ];
    let mut previous: Option<Head> = None;
    for ((send, ok, tid), (to, from)) in hops.into_iter().zip(paths) {
        let (h, body, flag) = chunk(send);
        assert_eq!(
            (h.tid().as_str(), &request(&h).method),
            (tid, &Method::Send)
        );
        assert_eq!(typed::<ToPath>(&h).0, to, "{send}");
        assert_eq!(typed::<FromPath>(&h).0, from, "{send}");
        // What identifies the message end to end stays as Alice wrote it.
        assert_eq!(typed::<MessageId>(&h).0, "87652");
        let br = typed::<ByteRange>(&h);
        assert_eq!((br.start, br.end, br.total), (1, Some(39), Some(39)));
        assert_eq!(typed::<SuccessReport>(&h), SuccessReport(true));
        assert_eq!(typed::<ContentType>(&h).media_type(), "text/plain");
        assert_eq!(body.as_deref(), Some(RELAYED_TEXT));
        assert_eq!(body.map(|b| b.len() as u64), br.len());
        assert_eq!(flag, Flag::Complete);
        // Each hop is the one before, forwarded by the relay in between.
        if let Some(prev) = previous.take() {
            assert_eq!(forward(&prev, tid), h, "{send}");
        }

        // Responses are hop by hop: to the previous hop, from this one.
        let (r, body, _) = chunk(ok);
        assert_eq!((r.tid().as_str(), response(&r).status), (tid, 200));
        assert_eq!(typed::<ToPath>(&r).0, from[..1]);
        assert_eq!(typed::<FromPath>(&r).0, to[..1]);
        assert_eq!(body, None);
        previous = Some(h);
    }
}

#[test]
fn rfc4976_report_back_through_two_relays() {
    let [alice, ra, rb, bob] = relay_example_uris();
    let (h, body, flag) = chunk("rfc4976-relay-report.msrp");
    let r = request(&h);
    assert_eq!((r.tid.as_str(), &r.method), ("yh67", &Method::Report));
    // The REPORT goes back the whole way the SEND came: its To-Path is
    // the From-Path Bob received.
    assert_eq!(
        typed::<ToPath>(&h).0,
        [rb.clone(), ra.clone(), alice.clone()]
    );
    assert_eq!(typed::<FromPath>(&h).0, std::slice::from_ref(&bob));
    assert_eq!(typed::<MessageId>(&h).0, "87652");
    let br = typed::<ByteRange>(&h);
    assert_eq!((br.start, br.end, br.total), (1, Some(39), Some(39)));
    assert_eq!(
        typed::<Status>(&h),
        Status {
            namespace: 0,
            code: 200,
            reason: Some("OK".into())
        }
    );
    assert_eq!((body, flag), (None, Flag::Complete));
    // Forwarded twice, it reaches Alice with the path back to Bob.
    let at_alice = forward(&forward(&h, "rly2"), "rly3");
    assert_eq!(typed::<ToPath>(&at_alice).0, [alice]);
    assert_eq!(typed::<FromPath>(&at_alice).0, [ra, rb, bob]);
}

/// Alice's and Bob's session cores, configured with the example's paths,
/// write what the RFC shows them writing.
#[test]
fn rfc4976_relay_example_from_session_cores() {
    let now = Instant::now();
    let [alice, ra, rb, bob] = relay_example_uris();

    let mut a = Session::new(SessionConfig::new(
        vec![alice.clone()],
        vec![ra.clone(), rb.clone(), bob.clone()],
        1,
    ));
    a.send_message_with_id(
        MessageId("87652".into()),
        "text/plain",
        Bytes::from_static(RELAYED_TEXT),
        true,
        FailureReport::Yes,
    );
    let out = a.poll_transmit(now).unwrap();
    let tid = parse_chunk(&out).unwrap().0.tid().as_str().to_owned();
    assert_eq!(
        String::from_utf8_lossy(&out),
        with_tid(&load("rfc4976-relay-send-1.msrp"), "6aef", &tid)
    );
    // Her relay's 200 is all Alice hears of the SEND.
    let ok = with_tid(&load("rfc4976-relay-200-1.msrp"), "6aef", &tid);
    a.handle_input(now, ok.as_bytes()).unwrap();
    assert!(matches!(
        a.poll_event(),
        Some(SessionEvent::MessageSent { message_id, .. }) if message_id == "87652"
    ));

    let mut b = Session::new(SessionConfig::new(
        vec![bob.clone()],
        vec![rb.clone(), ra.clone(), alice.clone()],
        2,
    ));
    b.handle_input(now, &load("rfc4976-relay-send-3.msrp"))
        .unwrap();
    let ok = b.poll_transmit(now).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&ok),
        String::from_utf8_lossy(&load("rfc4976-relay-200-3.msrp"))
    );
    let report = b.poll_transmit(now).unwrap();
    let report_tid = parse_chunk(&report).unwrap().0.tid().as_str().to_owned();
    assert_eq!(
        String::from_utf8_lossy(&report),
        with_tid(&load("rfc4976-relay-report.msrp"), "yh67", &report_tid)
    );
    assert!(matches!(
        b.poll_event(),
        Some(SessionEvent::MessageReceived { message_id, body, .. })
            if message_id == "87652" && body == RELAYED_TEXT
    ));

    // Through both relays back to Alice: delivered.
    let (h, _, _) = parse_chunk(&report).unwrap();
    let back = encode(&forward(&forward(&h, "rly2"), "rly3"), None, Flag::Complete).unwrap();
    a.handle_input(now, &back).unwrap();
    match a.poll_event() {
        Some(SessionEvent::MessageDelivered {
            message_id, range, ..
        }) => {
            assert_eq!(message_id, "87652");
            assert_eq!(range.and_then(|r| r.len()), Some(39));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn constructed_chunks_and_abort() {
    let (h1, b1, f1) = chunk("constructed-chunked-1.msrp");
    let (h2, b2, f2) = chunk("constructed-chunked-2.msrp");
    assert_eq!(typed::<MessageId>(&h1), typed::<MessageId>(&h2));
    assert_eq!((f1, f2), (Flag::More, Flag::Complete));
    let r1 = typed::<ByteRange>(&h1);
    let r2 = typed::<ByteRange>(&h2);
    assert_eq!(r1.len(), b1.as_ref().map(|b| b.len() as u64));
    assert_eq!(r2.len(), b2.as_ref().map(|b| b.len() as u64));
    assert_eq!(r1.end.map(|e| e + 1), Some(r2.start));

    let (h, body, flag) = chunk("constructed-aborted.msrp");
    assert_eq!(flag, Flag::Aborted);
    let br = typed::<ByteRange>(&h);
    assert_eq!((br.end, br.total), (None, None));
    // End-lines of other transactions are body (RFC 4975 §7.1).
    let body = String::from_utf8(body.unwrap()).unwrap();
    assert!(body.contains("-------7443hs0$\r\n-------7443hs04$\r\nand more"));
}

#[test]
fn corpus_back_to_back_on_one_stream() {
    let names = [
        "rfc4976-auth-1.msrp",
        "rfc4976-auth-1-401.msrp",
        "rfc4976-auth-2.msrp",
        "rfc4976-auth-2-200.msrp",
        "rfc4975-4-send.msrp",
        "rfc4975-4-200.msrp",
        "rfc4975-7.1.1-chunk-1.msrp",
        "rfc4976-relay-send-3.msrp",
        "rfc4975-7.1.1-chunk-2.msrp",
        "rfc4976-relay-200-3.msrp",
        "rfc4976-relay-report.msrp",
        "rfc4975-11.2-send.msrp",
        "rfc4975-11.4-send.msrp",
        "constructed-chunked-1.msrp",
        "rfc4975-11.5-report.msrp",
        "constructed-chunked-2.msrp",
        "constructed-aborted.msrp",
    ];
    let stream: Vec<u8> = names.iter().flat_map(|n| load(n)).collect();
    for step in [1, 3, 17, 256, stream.len()] {
        let mut p = Parser::default();
        let mut ends = 0;
        for piece in stream.chunks(step) {
            p.feed(piece).unwrap();
            while let Some(ev) = p.poll().unwrap() {
                if matches!(ev, Event::End(_)) {
                    ends += 1;
                }
            }
        }
        assert_eq!(ends, names.len(), "step {step}");
        assert!(p.finish().is_ok());
    }
}

/// Streams the RFC grammar refuses, each with the error it must give
/// whatever the split, and the parser staying failed afterwards.
#[test]
fn malformed_streams_fail_the_same_way_in_any_split() {
    use msrp_proto::{MessageError, StreamError};
    let to = "To-Path: msrp://b.example.com:1/x;tcp\r\n";
    type Check = fn(&StreamError) -> bool;
    let cases: Vec<(String, Check)> = vec![
        // Lower-case method (other-method is 1*UPALPHA).
        (format!("MSRP abcd send\r\n{to}-------abcd$\r\n"), |e| {
            matches!(e, StreamError::Syntax(MessageError::Method(_)))
        }),
        // A transaction id shorter than ident allows.
        (format!("MSRP abc SEND\r\n{to}-------abc$\r\n"), |e| {
            matches!(e, StreamError::Syntax(MessageError::TransactionId(_)))
        }),
        // An end-line with another transaction's id straight after the
        // headers: not a header, not this message's end.
        (format!("MSRP abcd SEND\r\n{to}-------abce$\r\n"), |e| {
            matches!(e, StreamError::BadEndLine(_))
        }),
        // A bad continuation flag.
        (format!("MSRP abcd SEND\r\n{to}-------abcd!\r\n"), |e| {
            matches!(e, StreamError::BadEndLine(_))
        }),
        // A response with a body.
        (
            format!("MSRP abcd 200 OK\r\n{to}\r\nbody\r\n-------abcd$\r\n"),
            |e| matches!(e, StreamError::ResponseBody),
        ),
        // Bare LF line ends.
        (
            "MSRP abcd SEND\nTo-Path: x\n-------abcd$\n\r\n".to_owned(),
            |e| matches!(e, StreamError::Syntax(MessageError::StartLine(_))),
        ),
        // A header line without a colon.
        (
            format!("MSRP abcd SEND\r\n{to}Junk\r\n-------abcd$\r\n"),
            |e| matches!(e, StreamError::Syntax(MessageError::HeaderLine(_))),
        ),
        // A control byte in a header value.
        ("MSRP abcd SEND\r\nX: \u{0}\r\n".to_owned(), |e| {
            matches!(e, StreamError::Syntax(MessageError::HeaderLine(_)))
        }),
    ];
    for (text, ok) in &cases {
        for step in 1..=text.len() {
            let mut p = Parser::default();
            let mut err = None;
            'feed: for piece in text.as_bytes().chunks(step) {
                p.feed(piece).unwrap();
                loop {
                    match p.poll() {
                        Ok(Some(_)) => {}
                        Ok(None) => break,
                        Err(e) => {
                            err = Some(e);
                            break 'feed;
                        }
                    }
                }
            }
            let e = err.unwrap_or_else(|| panic!("{text:?} step {step}: accepted"));
            assert!(ok(&e), "{text:?} step {step}: {e}");
            assert!(p.is_failed() && p.poll() == Err(e.clone()));
        }
    }
    let mut p = Parser::default();
    p.feed(&[b'M', b'S', b'R', b'P', b' ', 0xff, 0xfe, b'\r', b'\n'])
        .unwrap();
    assert_eq!(p.poll(), Err(StreamError::NotUtf8));
}
