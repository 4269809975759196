//! The MSRP framing hot path: parse and serialize a SEND with a 1 KB
//! body (the shape of a chat message), and parse a 64 KB chunk (the
//! shape of a file transfer) for bytes per second; plus the whole
//! receive path of the session core (parse, reassemble, answer 200).
//!
//! cargo bench -p msrp-proto --bench codec
//!
//! No other Rust MSRP implementation exists to compare against (the
//! crates on crates.io are unmaintained or bind C); the figures stand
//! next to sip-proto's parse of a SIP INVITE of similar size
//! (docs/PERFORMANCE.md).

use std::hint::black_box;
use std::time::Instant;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use msrp_proto::headers::{ByteRange, ContentType, FromPath, MessageId, SuccessReport, ToPath};
use msrp_proto::message::{Flag, Head, Headers, Method, Request, TransactionId};
use msrp_proto::{encode, Event, Limits, MsrpUri, Parser, Session, SessionConfig};

fn send_head(tid: &str, len: u64) -> Head {
    let mut h = Headers::new();
    h.push_typed(&ToPath(vec![MsrpUri::parse(
        "msrp://bob.example.com:8888/9di4eae923wzd;tcp",
    )
    .unwrap()]));
    h.push_typed(&FromPath(vec![MsrpUri::parse(
        "msrp://alicepc.example.com:7777/iau39soe2843z;tcp",
    )
    .unwrap()]));
    h.push_typed(&MessageId("12339sdqwer".into()));
    h.push_typed(&ByteRange {
        start: 1,
        end: Some(len),
        total: Some(len),
    });
    h.push_typed(&SuccessReport(true));
    h.push_typed(&ContentType("text/plain".into()));
    Head::Request(Request {
        tid: TransactionId::new(tid).unwrap(),
        method: Method::Send,
        headers: h,
    })
}

fn body(len: usize) -> Vec<u8> {
    (0..len).map(|i| b'a' + (i % 26) as u8).collect()
}

/// Parses every event of `bytes`; returns the body bytes seen.
fn parse_all(bytes: &[u8]) -> usize {
    let mut p = Parser::new(Limits::default());
    p.feed(bytes).unwrap();
    let mut n = 0;
    while let Some(ev) = p.poll().unwrap() {
        if let Event::BodyData(b) = ev {
            n += b.len();
        }
    }
    n
}

fn bench(c: &mut Criterion) {
    let small = body(1024);
    let head = send_head("a786hjs2", 1024);
    let wire = encode(&head, Some(&small), Flag::Complete).unwrap();
    assert_eq!(parse_all(&wire), 1024);

    let mut g = c.benchmark_group("send_1k");
    g.throughput(Throughput::Elements(1));
    g.bench_function("parse", |b| b.iter(|| parse_all(black_box(&wire))));
    g.bench_function("serialize", |b| {
        b.iter(|| encode(black_box(&head), Some(black_box(&small)), Flag::Complete).unwrap())
    });
    g.finish();

    let big = body(64 * 1024);
    let wire64 = encode(&send_head("b786hjs2", 64 * 1024), Some(&big), Flag::More).unwrap();
    let mut g = c.benchmark_group("chunk_64k");
    g.throughput(Throughput::Bytes(wire64.len() as u64));
    g.bench_function("parse", |b| b.iter(|| parse_all(black_box(&wire64))));
    g.bench_function("serialize", |b| {
        let h = send_head("b786hjs2", 64 * 1024);
        b.iter(|| encode(black_box(&h), Some(black_box(&big)), Flag::More).unwrap())
    });
    g.finish();

    // The receiving session core: parse, reassemble, queue the 200 and
    // the success REPORT, report the message.
    let a = MsrpUri::parse("msrp://alicepc.example.com:7777/iau39soe2843z;tcp").unwrap();
    let bob = MsrpUri::parse("msrp://bob.example.com:8888/9di4eae923wzd;tcp").unwrap();
    let mut g = c.benchmark_group("session_receive_1k");
    g.throughput(Throughput::Elements(1));
    g.bench_function("handle_input", |bench| {
        let mut s = Session::new(SessionConfig::new(vec![bob.clone()], vec![a.clone()], 3));
        let now = Instant::now();
        bench.iter(|| {
            s.handle_input(now, black_box(&wire)).unwrap();
            while s.poll_transmit(now).is_some() {}
            while s.poll_event().is_some() {}
        })
    });
    g.bench_function("send_and_poll_transmit", |bench| {
        let mut s = Session::new(SessionConfig::new(vec![a.clone()], vec![bob.clone()], 4));
        let now = Instant::now();
        let payload = Bytes::from(small.clone());
        bench.iter(|| {
            s.send_message(
                "text/plain",
                payload.clone(),
                true,
                msrp_proto::headers::FailureReport::Partial,
            );
            while let Some(t) = s.poll_transmit(now) {
                black_box(t);
            }
            while s.poll_event().is_some() {}
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
