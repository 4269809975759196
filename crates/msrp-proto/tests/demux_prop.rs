//! Property of a connection carrying two sessions each way: whatever the
//! messages, chunk size, slices a chunk is written in (a chunk in slices
//! keeps the connection to its end-line) and read sizes, every message
//! arrives whole at the session it was sent to and nowhere else, and
//! every sender hears it was sent.

use std::time::Instant;

use bytes::Bytes;
use msrp_proto::demux::Demux;
use msrp_proto::headers::FailureReport;
use msrp_proto::{Limits, MsrpUri, Session, SessionConfig, SessionEvent};
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
        for (d, local, msgs) in [(&mut a, A, &from_a), (&mut b, B, &from_b)] {
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
        let (ga, gb) = (collect(&mut a), collect(&mut b));
        for (got, local, sent_here, sent_there) in
            [(&ga, A, &from_a, &from_b), (&gb, B, &from_b, &from_a)]
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
    }
}
