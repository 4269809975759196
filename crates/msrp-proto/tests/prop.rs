//! Properties of the stream parser, the writer and URIs: any split of any
//! stream of generated messages gives the same events; written messages
//! read back as written; random bytes never panic and never make the
//! parser hold more than a line; URIs round-trip and compare as RFC 4975
//! §6.1 says.

use bytes::Bytes;
use msrp_proto::write::{end_line, head_bytes};
use msrp_proto::{
    encode, Event, Flag, Head, Headers, Limits, Method, MsrpUri, Parser, Request, Response,
    TransactionId,
};
use proptest::prelude::*;

fn tid() -> impl Strategy<Value = TransactionId> {
    "[a-zA-Z0-9][a-zA-Z0-9.+%=-]{3,31}".prop_map(|s| TransactionId::new(&s).unwrap())
}

fn flag() -> impl Strategy<Value = Flag> {
    prop_oneof![Just(Flag::More), Just(Flag::Complete), Just(Flag::Aborted)]
}

fn headers() -> impl Strategy<Value = Headers> {
    prop::collection::vec(("[A-Za-z][A-Za-z0-9-]{0,15}", "[ -~]{0,40}"), 0..6).prop_map(|v| {
        let mut h = Headers::new();
        for (n, val) in v {
            h.push(n, val);
        }
        h
    })
}

/// Body text built to tempt the parser: CRLFs, hyphen runs, end-lines of
/// other ids, prefixes of this id, this id followed by a non-flag.
fn body(tid: TransactionId) -> impl Strategy<Value = Vec<u8>> {
    let t = tid.as_str().to_owned();
    let short = t.get(..t.len() - 1).unwrap_or("").to_owned();
    let piece = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..40),
        Just(b"\r\n".to_vec()),
        Just(b"\r\n-------".to_vec()),
        Just(format!("\r\n-------{short}$\r\n").into_bytes()),
        Just(format!("\r\n-------{t}x\r\n").into_bytes()),
        Just(format!("\r\n-------{t}$").into_bytes()),
        Just(format!("\r\n-------{t}").into_bytes()),
        Just(b"\r\n-------zzzz9$\r\n".to_vec()),
    ];
    prop::collection::vec(piece, 0..8).prop_map(|v| v.concat())
}

#[derive(Debug, Clone)]
struct Msg {
    head: Head,
    body: Option<Vec<u8>>,
    flag: Flag,
}

fn msg() -> impl Strategy<Value = Msg> {
    let req = (tid(), "[A-Z]{1,8}", headers(), flag(), any::<bool>()).prop_flat_map(
        |(tid, m, headers, flag, has_body)| {
            let head = Head::Request(Request {
                tid: tid.clone(),
                method: Method::parse(&m).unwrap(),
                headers,
            });
            let b = if has_body {
                body(tid).prop_map(Some).boxed()
            } else {
                Just(None).boxed()
            };
            (Just(head), b, Just(flag))
        },
    );
    let resp = (
        tid(),
        0u16..1000,
        prop::option::of("[ -~]{0,20}"),
        headers(),
        flag(),
    )
        .prop_map(|(tid, status, comment, headers, flag)| {
            (
                Head::Response(Response {
                    tid,
                    status,
                    comment,
                    headers,
                }),
                None,
                flag,
            )
        });
    prop_oneof![3 => req, 1 => resp.prop_map(|t| t)].prop_map(|(head, body, flag)| Msg {
        head,
        body,
        flag,
    })
}

/// The wire form, written around the body (not through `encode`, whose
/// stricter check would keep this id out of the body altogether).
fn wire(m: &Msg) -> Vec<u8> {
    let mut out = head_bytes(&m.head, m.body.is_some()).unwrap();
    if let Some(b) = &m.body {
        out.extend_from_slice(b);
    }
    out.extend_from_slice(&end_line(m.head.tid(), m.flag, m.body.is_some()));
    out
}

/// Whether the body leaves the real end-line the first one (RFC 4975
/// §7.1 makes that the sender's duty); generated bodies that break it are
/// not messages.
fn well_framed(m: &Msg) -> bool {
    let Some(b) = &m.body else { return true };
    let mut needle = b"\r\n-------".to_vec();
    needle.extend_from_slice(m.head.tid().as_str().as_bytes());
    let mut region = b"\r\n".to_vec();
    region.extend_from_slice(b);
    region.extend_from_slice(&end_line(m.head.tid(), m.flag, true));
    let first = (0..region.len()).find(|&i| {
        region.get(i..i + needle.len()) == Some(&needle[..])
            && matches!(
                region.get(i + needle.len()..i + needle.len() + 3),
                Some([f, b'\r', b'\n']) if Flag::from_byte(*f).is_some()
            )
    });
    first == Some(b.len() + 2)
}

fn expected(msgs: &[Msg]) -> Vec<Event> {
    let mut out = Vec::new();
    for m in msgs {
        out.push(Event::Head(m.head.clone()));
        if let Some(b) = m.body.as_ref().filter(|b| !b.is_empty()) {
            out.push(Event::BodyData(Bytes::from(b.clone())));
        }
        out.push(Event::End(m.flag));
    }
    out
}

fn merge(evs: Vec<Event>) -> Vec<Event> {
    let mut out: Vec<Event> = Vec::new();
    for e in evs {
        match (out.last_mut(), e) {
            (Some(Event::BodyData(a)), Event::BodyData(b)) => {
                *a = Bytes::from([a.as_ref(), b.as_ref()].concat());
            }
            (_, e) => out.push(e),
        }
    }
    out
}

/// Feeds `data` cut at `cuts` (positions, any order), polling after each.
fn run(data: &[u8], cuts: &[usize], limits: Limits) -> (Vec<Event>, Option<String>) {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    cuts.sort_unstable();
    cuts.push(data.len());
    let mut p = Parser::new(limits);
    let mut evs = Vec::new();
    let mut at = 0;
    for c in cuts {
        let piece = data.get(at..c).unwrap_or_default();
        at = c;
        if let Err(e) = p.feed(piece) {
            return (evs, Some(e.to_string()));
        }
        loop {
            match p.poll() {
                Ok(Some(e)) => evs.push(e),
                Ok(None) => break,
                Err(e) => {
                    assert!(p.is_failed());
                    assert!(p.poll().is_err(), "errors stick");
                    return (evs, Some(e.to_string()));
                }
            }
        }
        // Between reads the parser holds at most a line or an end-line.
        assert!(p.buffered() <= (limits.max_line_len + 1).max(64));
    }
    (evs, None)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_split_gives_the_same_events(
        msgs in prop::collection::vec(msg(), 1..4),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        prop_assume!(msgs.iter().all(well_framed));
        let data: Vec<u8> = msgs.iter().flat_map(wire).collect();
        let (whole, err) = run(&data, &[], Limits::default());
        prop_assert_eq!(err, None);
        prop_assert_eq!(merge(whole), expected(&msgs));
        let (split, err) = run(&data, &cuts, Limits::default());
        prop_assert_eq!(err, None);
        prop_assert_eq!(merge(split), expected(&msgs));
    }

    #[test]
    fn encode_round_trips(m in msg()) {
        let Ok(bytes) = encode(&m.head, m.body.as_deref(), m.flag) else {
            // Only a body holding this id's end-line may be refused.
            prop_assert!(m.body.is_some());
            return Ok(());
        };
        prop_assert_eq!(&bytes, &wire(&m));
        let (evs, err) = run(&bytes, &[], Limits::default());
        prop_assert_eq!(err, None);
        prop_assert_eq!(merge(evs), expected(std::slice::from_ref(&m)));
    }

    #[test]
    fn random_bytes_never_panic(
        prefix in prop_oneof![
            Just(Vec::new()),
            Just(b"MSRP abcd SEND\r\nTo-Path: msrp://a:1/x;tcp\r\n".to_vec()),
            Just(b"MSRP abcd SEND\r\nContent-Type: a/b\r\n\r\n".to_vec()),
        ],
        data in prop::collection::vec(any::<u8>(), 0..600),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let limits = Limits { max_line_len: 100, max_head_bytes: 300, max_headers: 4, max_body_bytes: None };
        let all = [prefix, data].concat();
        let (a, ea) = run(&all, &[], limits);
        let (b, eb) = run(&all, &cuts, limits);
        // Splitting may only move where an error is seen, not what parsed.
        if ea.is_none() && eb.is_none() {
            prop_assert_eq!(merge(a), merge(b));
        }
    }

    #[test]
    fn uris_round_trip_and_compare(
        secure in any::<bool>(),
        user in prop::option::of("[a-z0-9]{1,8}"),
        host in prop_oneof![
            "[a-zA-Z][a-zA-Z0-9-]{0,10}(\\.[a-zA-Z0-9-]{1,10}){0,3}",
            (any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
            any::<[u16; 8]>().prop_map(|s| format!("[{}]", std::net::Ipv6Addr::from(s))),
        ],
        port in prop::option::of(any::<u16>()),
        sid in prop::option::of("[a-zA-Z0-9._~+=/-]{1,20}"),
        transport in "[a-zA-Z0-9]{1,5}",
        params in prop::collection::vec(("[a-z]{1,6}", prop::option::of("[a-z0-9]{1,6}")), 0..3),
    ) {
        let mut s = format!("{}://", if secure { "msrps" } else { "msrp" });
        if let Some(u) = &user { s.push_str(&format!("{u}@")); }
        s.push_str(&host);
        if let Some(p) = port { s.push_str(&format!(":{p}")); }
        if let Some(x) = &sid { s.push_str(&format!("/{x}")); }
        s.push_str(&format!(";{transport}"));
        for (n, v) in &params {
            match v { Some(v) => s.push_str(&format!(";{n}={v}")), None => s.push_str(&format!(";{n}")) }
        }
        let u = MsrpUri::parse(&s).unwrap();
        prop_assert_eq!(u.to_string(), s.clone());
        prop_assert_eq!(MsrpUri::parse(&u.to_string()).unwrap(), u.clone());
        // §6.1: scheme, host and transport without case; userinfo and
        // other parameters ignored.
        let mut other = u.clone();
        other.userinfo = None;
        other.params.clear();
        other.transport = transport.to_ascii_uppercase();
        if let msrp_proto::Host::Name(n) = &u.host {
            other.host = msrp_proto::Host::Name(n.to_ascii_uppercase());
        }
        prop_assert_eq!(&other, &u);
        let upper = MsrpUri::parse(&s.to_ascii_uppercase().replacen("MSRPS:", "msrps:", 1).replacen("MSRP:", "msrp:", 1));
        if let (Ok(up), Some(x)) = (upper, &sid) {
            // The session-id is compared with case.
            prop_assert_eq!(up == u, x.to_ascii_uppercase() == *x);
        }
        // A port, a session-id or a scheme changed never matches.
        let mut p2 = u.clone();
        p2.port = match u.port { Some(p) => if p == 0 { None } else { Some(p - 1) }, None => Some(2855) };
        prop_assert_ne!(&p2, &u);
        let mut s2 = u.clone();
        s2.session_id = match &u.session_id { Some(x) => if x.len() > 1 { None } else { Some(format!("{x}z")) }, None => Some("a".into()) };
        prop_assert_ne!(&s2, &u);
        let mut sc = u.clone();
        sc.secure = !u.secure;
        prop_assert_ne!(&sc, &u);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Chunks planned by the sender, shuffled and partly duplicated in
    /// transit, reassemble to the message exactly once.
    #[test]
    fn chunked_messages_reassemble_in_any_order(
        body in prop::collection::vec(any::<u8>(), 0..300),
        size in 1u64..64,
        known in any::<bool>(),
        order in prop::collection::vec(any::<prop::sample::Index>(), 0..40),
    ) {
        use msrp_proto::chunk::Chunker;
        use msrp_proto::reassembly::{Progress, Reassembler};
        let len = body.len() as u64;
        let mut c = Chunker::new(known.then_some(len), size).unwrap();
        let mut plans = Vec::new();
        let mut sent = 0u64;
        while let Some(p) = c.next_chunk(len - sent, true) {
            sent += p.len;
            plans.push(p);
        }
        prop_assert_eq!(sent, len);
        prop_assert!(c.is_finished());
        // A permutation (by swaps) plus duplicates.
        let mut sched: Vec<_> = plans.clone();
        for (i, ix) in order.iter().enumerate() {
            let n = sched.len();
            if i % 3 == 0 {
                let dup = *ix.get(&sched);
                sched.push(dup);
            } else {
                sched.swap(i % n, ix.index(n));
            }
        }
        let mut r = Reassembler::default();
        let mut done = Vec::new();
        for p in &sched {
            let piece = body.get(p.offsets()).unwrap();
            match r.chunk("msg1", p.range, piece, p.flag).unwrap() {
                Progress::Complete(m) => done.push(m),
                Progress::Partial { .. } => {}
                Progress::Aborted { .. } => prop_assert!(false, "no abort sent"),
            }
        }
        // Duplicates after completion start a new partial message, which
        // is what a receiver without a completed-id memory sees.
        prop_assert_eq!(done.first(), Some(&body));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Two sessions over a byte pipe cut at random, chunks written whole
    /// or in slices (`*` range ends): every message arrives whole, once,
    /// and every sender learns it was sent.
    #[test]
    fn sessions_deliver_everything_over_any_reads(
        bodies in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..700), 1..5),
        chunk in 1u64..300,
        slice in prop_oneof![1u64..100, Just(u64::MAX)],
        reads in prop::collection::vec(1usize..50, 1..8),
    ) {
        use msrp_proto::headers::FailureReport;
        use msrp_proto::{Session, SessionConfig, SessionEvent};
        use std::time::Instant;
        let a = MsrpUri::parse("msrp://a.example.com:1/aa;tcp").unwrap();
        let b = MsrpUri::parse("msrp://b.example.com:2/bb;tcp").unwrap();
        let mut ca = SessionConfig::new(vec![a.clone()], vec![b.clone()], 11);
        ca.chunk_size = chunk;
        ca.write_slice = slice;
        let mut sa = Session::new(ca);
        let mut sb = Session::new(SessionConfig::new(vec![b], vec![a], 12));
        let ids: Vec<String> = bodies
            .iter()
            .map(|x| sa.send_message("text/plain", Bytes::from(x.clone()), true, FailureReport::Yes))
            .collect();
        let now = Instant::now();
        let mut r = reads.iter().cycle();
        // Moves one side's output to the other in the generated read sizes.
        let mut pass = |from: &mut Session, to: &mut Session| {
            let mut moved = false;
            while let Some(t) = from.poll_transmit(now) {
                let mut at = 0;
                while at < t.len() {
                    let n = (*r.next().unwrap()).min(t.len() - at);
                    to.handle_input(now, &t[at..at + n]).unwrap();
                    at += n;
                }
                moved = true;
            }
            moved
        };
        loop {
            let ab = pass(&mut sa, &mut sb);
            let ba = pass(&mut sb, &mut sa);
            if !ab && !ba {
                break;
            }
        }
        let got: Vec<_> = std::iter::from_fn(|| sb.poll_event()).collect();
        for (id, body) in ids.iter().zip(&bodies) {
            let n = got.iter().filter(|e| matches!(e,
                SessionEvent::MessageReceived { message_id, body: b, .. } if message_id == id && b == body)).count();
            prop_assert_eq!(n, 1, "message {}", id);
        }
        let sent: Vec<_> = std::iter::from_fn(|| sa.poll_event()).collect();
        for id in &ids {
            let wanted = sent.iter().any(|e| matches!(e, SessionEvent::MessageSent { message_id, .. } if message_id == id));
            prop_assert!(wanted);
            let delivered = sent.iter().any(|e| matches!(e, SessionEvent::MessageDelivered { message_id, .. } if message_id == id));
            prop_assert!(delivered);
        }
        prop_assert!(sa.is_idle() && sb.is_idle());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// RFC 7701 `Use-Nickname`: any text value parses without panic;
    /// whatever parses writes back and reads back the same nickname; any
    /// sendable nickname (quotes and backslashes too) survives the trip.
    #[test]
    fn use_nickname_never_panics_and_round_trips(
        value in "\\PC{0,80}",
        nickname in "[ -~\u{e0}-\u{ff}]{1,60}",
    ) {
        use msrp_proto::headers::UseNickname;
        use msrp_proto::TypedHeader;
        if let Ok(n) = UseNickname::parse(&value) {
            prop_assert_eq!(UseNickname::parse(&n.to_value()), Ok(n));
        }
        match UseNickname::new(&nickname) {
            Ok(n) => prop_assert_eq!(UseNickname::parse(&n.to_value()), Ok(n)),
            // Printable text within the bound is always sendable.
            Err(_) => prop_assert!(false, "refused {:?}", nickname),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Chunks written whole or in slices (RFC 4975 §7.1, `*` range ends),
    /// one message given up after any number of writes, mid-chunk or
    /// between chunks, the receiver reading in any split: the given-up
    /// message never arrives, and arrives as aborted exactly when some of
    /// it went out; a chunk cut short is cut at once (the very next bytes
    /// are its `#` end-line); every other message arrives whole; the
    /// sender hears of the abort once and of no failure, and nothing is
    /// left waiting on either side.
    #[test]
    fn a_message_given_up_in_mid_chunk_or_between_chunks_spoils_nothing(
        bodies in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..900), 1..4),
        victim in any::<prop::sample::Index>(),
        writes_before in 0usize..20,
        chunk in 1u64..400,
        // Mostly chunks in slices; sometimes every chunk whole.
        slice in prop_oneof![3 => 1u64..120, 1 => Just(u64::MAX)],
        step in 1usize..64,
        partial in any::<bool>(),
    ) {
        use msrp_proto::headers::FailureReport;
        use msrp_proto::{AbortOutcome, Session, SessionConfig, SessionEvent};
        use std::time::Instant;
        let a = MsrpUri::parse("msrp://a.example.com:1/aa;tcp").unwrap();
        let b = MsrpUri::parse("msrp://b.example.com:2/bb;tcp").unwrap();
        let mut ca = SessionConfig::new(vec![a.clone()], vec![b.clone()], 31);
        ca.chunk_size = chunk;
        ca.write_slice = slice;
        let mut sa = Session::new(ca);
        let mut sb = Session::new(SessionConfig::new(vec![b], vec![a], 32));
        let report = if partial { FailureReport::Partial } else { FailureReport::Yes };
        let ids: Vec<String> = bodies
            .iter()
            .map(|x| sa.send_message("text/plain", Bytes::from(x.clone()), true, report))
            .collect();
        let victim = victim.index(ids.len());
        let now = Instant::now();
        let feed = |s: &mut Session, t: &[u8]| {
            for piece in t.chunks(step) {
                s.handle_input(now, piece).unwrap();
            }
        };
        // The Message-ID and transaction id of the last chunk begun.
        let mut current: Option<(String, String)> = None;
        let mut victim_seen = false;
        for _ in 0..writes_before {
            let Some(t) = sa.poll_transmit(now) else { break };
            let text = String::from_utf8_lossy(&t).into_owned();
            if text.starts_with("MSRP ") {
                let tid = text.split(' ').nth(1).unwrap_or_default().to_owned();
                let mid = text
                    .split("\r\n")
                    .find_map(|l| l.strip_prefix("Message-ID: "))
                    .unwrap_or_default()
                    .to_owned();
                current = Some((mid, tid));
            }
            victim_seen |= text.contains(&format!("Message-ID: {}\r\n", ids[victim]));
            feed(&mut sb, &t);
        }
        let mid_chunk_of_victim = sa.is_mid_chunk()
            && current.as_ref().is_some_and(|(m, _)| *m == ids[victim]);
        let outcome = sa.abort_message(&ids[victim]);
        if mid_chunk_of_victim {
            prop_assert_eq!(outcome, Some(AbortOutcome::Cut));
            let end = sa.poll_transmit(now).unwrap();
            let tid = current.as_ref().map(|(_, t)| t.clone()).unwrap_or_default();
            prop_assert_eq!(end.clone(), format!("\r\n-------{tid}#\r\n").into_bytes());
            feed(&mut sb, &end);
        } else {
            prop_assert_ne!(outcome, Some(AbortOutcome::Cut));
        }
        if outcome.is_some() {
            prop_assert_eq!(outcome == Some(AbortOutcome::Dropped), !victim_seen);
        }
        loop {
            let mut moved = false;
            while let Some(t) = sa.poll_transmit(now) {
                feed(&mut sb, &t);
                moved = true;
            }
            while let Some(t) = sb.poll_transmit(now) {
                feed(&mut sa, &t);
                moved = true;
            }
            if !moved {
                break;
            }
        }
        let got: Vec<_> = std::iter::from_fn(|| sb.poll_event()).collect();
        for (i, (id, body)) in ids.iter().zip(&bodies).enumerate() {
            let received = got.iter().filter(|e| matches!(e,
                SessionEvent::MessageReceived { message_id, body: b, .. } if message_id == id && b == body)).count();
            let aborted = got.iter().filter(|e| matches!(e,
                SessionEvent::MessageAborted { message_id } if message_id == id)).count();
            if i != victim || outcome.is_none() {
                prop_assert_eq!((received, aborted), (1, 0), "message {}", id);
            } else {
                let went_out = outcome != Some(AbortOutcome::Dropped);
                prop_assert_eq!((received, aborted), (0, usize::from(went_out)), "given up {}", id);
            }
        }
        let sent: Vec<_> = std::iter::from_fn(|| sa.poll_event()).collect();
        let cancelled = sent.iter().filter(|e| matches!(e, SessionEvent::MessageCancelled { .. })).count();
        prop_assert_eq!(cancelled, usize::from(outcome.is_some()));
        prop_assert!(!sent.iter().any(|e| matches!(e, SessionEvent::MessageFailed { .. })), "{:?}", sent);
        prop_assert!(sa.is_idle() && sb.is_idle());
        prop_assert_eq!(sa.poll_timeout(), None);
    }
}
