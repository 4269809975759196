//! Property of a connection carrying two sessions each way: whatever the
//! messages, chunk size, slices a chunk is written in (a chunk in slices
//! keeps the connection to its end-line) and read sizes, every message
//! arrives whole at the session it was sent to and nowhere else, and
//! every sender hears it was sent. With AUTHs (RFC 4976 §5.1) running on
//! the same connection towards a relay that challenges them, each AUTH
//! gets its own binding and the sessions' traffic is untouched.

use std::time::Instant;

use bytes::Bytes;
use msrp_proto::demux::Demux;
use msrp_proto::headers::FailureReport;
use msrp_proto::{
    encode, parse_chunk, AuthClient, Flag, Head, Headers, Limits, Method, MsrpUri, Response,
    Session, SessionConfig, SessionEvent,
};
use proptest::prelude::*;

const A: [&str; 2] = [
    "msrp://alice.example.com:7777/a1sessionxx;tcp",
    "msrp://alice.example.com:7777/a2sessionxx;tcp",
];
const B: [&str; 2] = [
    "msrp://bob.example.com:8888/b1sessionxx;tcp",
    "msrp://bob.example.com:8888/b2sessionxx;tcp",
];

fn end(local: [&str; 2], remote: [&str; 2], chunk: u64, slice: u64, seed: u64) -> Demux {
    let mut d = Demux::new(Limits::default());
    for i in 0..2 {
        let mut c = SessionConfig::new(
            vec![MsrpUri::parse(local[i]).unwrap()],
            vec![MsrpUri::parse(remote[i]).unwrap()],
            seed + i as u64,
        );
        c.chunk_size = chunk;
        c.write_slice = slice;
        d.add_session(Session::new(c)).unwrap();
    }
    d
}

fn sid(uri: &str) -> String {
    MsrpUri::parse(uri).unwrap().session_id.unwrap()
}

type Bodies = [Vec<Vec<u8>>; 2];

fn bodies() -> impl Strategy<Value = Bodies> {
    let one = prop::collection::vec(prop::collection::vec(any::<u8>(), 1..400), 0..4);
    (one.clone(), one).prop_map(|(a, b)| [a, b])
}

/// Events by session: bodies received, messages sent.
fn collect(d: &mut Demux) -> std::collections::HashMap<String, (Vec<Vec<u8>>, usize)> {
    let mut got = std::collections::HashMap::<String, (Vec<Vec<u8>>, usize)>::new();
    while let Some((s, e)) = d.poll_event() {
        let slot = got.entry(s).or_default();
        match e {
            SessionEvent::MessageReceived { body, .. } => slot.0.push(body),
            SessionEvent::MessageSent { .. } => slot.1 += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    got
}

/// Queues each end's messages on its sessions.
fn queue(a: &mut Demux, b: &mut Demux, from_a: &Bodies, from_b: &Bodies) {
    for (d, local, msgs) in [(a, A, from_a), (b, B, from_b)] {
        for i in 0..2 {
            for m in &msgs[i] {
                d.session_mut(&sid(local[i])).unwrap().send_message(
                    "application/octet-stream",
                    Bytes::from(m.clone()),
                    false,
                    FailureReport::Yes,
                );
            }
        }
    }
}

/// Every message arrived at its own session, and every sender heard it
/// was sent.
fn delivered(
    a: &mut Demux,
    b: &mut Demux,
    from_a: &Bodies,
    from_b: &Bodies,
) -> Result<(), TestCaseError> {
    let (ga, gb) = (collect(a), collect(b));
    for (got, local, sent_here, sent_there) in [(&ga, A, from_a, from_b), (&gb, B, from_b, from_a)]
    {
        for i in 0..2 {
            let (mut received, sent) = got.get(&sid(local[i])).cloned().unwrap_or_default();
            let mut expected = sent_there[i].clone();
            // Within a session, short messages may overtake long ones.
            received.sort();
            expected.sort();
            prop_assert_eq!(received, expected);
            prop_assert_eq!(sent, sent_here[i].len());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn every_message_reaches_its_own_session(
        from_a in bodies(),
        from_b in bodies(),
        chunk in 16u64..200,
        slice in prop_oneof![1u64..64, Just(u64::MAX)],
        step in 1usize..80,
    ) {
        let now = Instant::now();
        let mut a = end(A, B, chunk, slice, 1);
        let mut b = end(B, A, chunk, slice, 7);
        queue(&mut a, &mut b, &from_a, &from_b);
        loop {
            let mut moved = false;
            while let Some(t) = a.poll_transmit(now) {
                for piece in t.chunks(step) {
                    b.handle_input(now, piece).unwrap();
                }
                moved = true;
            }
            while let Some(t) = b.poll_transmit(now) {
                for piece in t.chunks(step) {
                    a.handle_input(now, piece).unwrap();
                }
                moved = true;
            }
            if !moved {
                break;
            }
        }
        delivered(&mut a, &mut b, &from_a, &from_b)?;
    }
}

const RELAY: &str = "msrp://relay.example.com:2855;tcp";
const AUTHS: [&str; 2] = [
    "msrp://alice.example.com:7777/a3sessionxx;tcp",
    "msrp://alice.example.com:7777/a4sessionxx;tcp",
];

/// A relay's answer to the AUTH `t` (None: `t` is no AUTH): a digest
/// challenge to one without credentials, a 200 with a Use-Path of its
/// own to one with them.
fn relay_answer(t: &[u8]) -> Option<Vec<u8>> {
    let Head::Request(req) = parse_chunk(t).ok()?.0 else {
        return None;
    };
    if req.method != Method::Auth {
        return None;
    }
    let from = req.headers.get("From-Path")?.to_owned();
    let sid = MsrpUri::parse(&from).ok()?.session_id?;
    let mut h = Headers::new();
    h.push("To-Path", from.as_str());
    h.push("From-Path", RELAY);
    let status = if req.headers.get("Authorization").is_some() {
        h.push(
            "Use-Path",
            format!("msrp://relay.example.com:2855/{sid}b;tcp").as_str(),
        );
        h.push("Expires", "600");
        200
    } else {
        h.push(
            "WWW-Authenticate",
            "Digest realm=\"example.com\", nonce=\"n0nce\", qop=\"auth\"",
        );
        401
    };
    let head = Head::Response(Response {
        tid: req.tid,
        status,
        comment: None,
        headers: h,
    });
    encode(&head, None, Flag::Complete).ok()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn auths_on_a_busy_connection_each_get_their_binding(
        from_a in bodies(),
        from_b in bodies(),
        chunk in 16u64..200,
        slice in prop_oneof![1u64..64, Just(u64::MAX)],
        step in 1usize..80,
    ) {
        let now = Instant::now();
        let mut a = end(A, B, chunk, slice, 1);
        let mut b = end(B, A, chunk, slice, 7);
        for (i, local) in AUTHS.iter().enumerate() {
            let client = AuthClient::new(
                MsrpUri::parse(RELAY).unwrap(),
                MsrpUri::parse(local).unwrap(),
                "alice",
                "secret",
                None,
                40 + i as u64,
            )
            .unwrap();
            a.start_auth(sid(local), client).unwrap();
        }
        queue(&mut a, &mut b, &from_a, &from_b);
        // What reaches alice: the relay's answers and bob's traffic, whole
        // frames in the order written, read in `step`-byte pieces.
        let mut outcomes = Vec::new();
        loop {
            let mut to_a: Vec<u8> = Vec::new();
            while let Some(t) = a.poll_transmit(now) {
                match relay_answer(&t) {
                    Some(answer) => to_a.extend_from_slice(&answer),
                    None => {
                        for piece in t.chunks(step) {
                            b.handle_input(now, piece).unwrap();
                        }
                    }
                }
            }
            while let Some(t) = b.poll_transmit(now) {
                to_a.extend_from_slice(&t);
            }
            if to_a.is_empty() {
                break;
            }
            for piece in to_a.chunks(step) {
                a.handle_input(now, piece).unwrap();
            }
            while let Some(o) = a.poll_auth() {
                outcomes.push(o);
            }
        }
        outcomes.sort_by(|x, y| x.0.cmp(&y.0));
        prop_assert_eq!(outcomes.len(), 2);
        for ((key, result), local) in outcomes.iter().zip(AUTHS) {
            prop_assert_eq!(key, &sid(local));
            let done = result.as_ref().unwrap();
            let want = format!("msrp://relay.example.com:2855/{key}b;tcp");
            prop_assert_eq!(done.use_path.clone(), vec![MsrpUri::parse(&want).unwrap()]);
        }
        prop_assert_eq!(a.auths_running(), 0);
        delivered(&mut a, &mut b, &from_a, &from_b)?;
    }
}
