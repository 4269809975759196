//! Parse a typical INVITE with SDP, a 200 OK and a REGISTER with
//! Authorization, and read the headers a UA reads, typed: our parser and
//! rsip side by side in one group per message.
//!
//! cargo bench -p sip-proto --bench parse

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sip_proto::Message;

#[path = "common/reads.rs"]
mod reads;
use reads::{ours, ours_lazy, theirs};

/// A typical INVITE with an SDP offer (shared with the profiling examples).
const INVITE: &[u8] = include_bytes!("invite.sip");

const OK: &[u8] = b"SIP/2.0 200 OK\r\n\
Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport=5060;received=192.0.2.101\r\n\
To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n\
From: \"Alice\" <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:bob@192.0.2.4:5060>\r\n\
Server: sipsimple-rs/0.1\r\n\
Content-Length: 0\r\n\
\r\n";

const REGISTER: &[u8] = b"REGISTER sip:registrar.biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP bobspc.biloxi.example.com:5060;branch=z9hG4bKnashds7;rport\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
From: Bob <sip:bob@biloxi.example.com>;tag=456248\r\n\
Call-ID: 843817637684230@998sdasdh09\r\n\
CSeq: 1826 REGISTER\r\n\
Contact: <sip:bob@192.0.2.4>;expires=7200\r\n\
Authorization: Digest username=\"bob\", realm=\"biloxi.example.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"sip:registrar.biloxi.example.com\", response=\"6629fae49393a05397450978507c4ef1\", algorithm=MD5, cnonce=\"0a4f113b\", qop=auth, nc=00000001\r\n\
Content-Length: 0\r\n\
\r\n";

fn bench(c: &mut Criterion) {
    for (name, data) in [
        ("invite_sdp", INVITE),
        ("ok_200", OK),
        ("register_auth", REGISTER),
    ] {
        let bytes = Bytes::from_static(data);
        assert_eq!(ours(&bytes) > 0, theirs(data) > 0);
        let mut g = c.benchmark_group(format!("parse_typed/{name}"));
        g.throughput(Throughput::Bytes(data.len() as u64));
        g.bench_function("sip-proto", |b| b.iter(|| ours(black_box(&bytes))));
        g.bench_function("sip-proto-lazy", |b| {
            b.iter(|| ours_lazy(black_box(&bytes)))
        });
        g.bench_function("rsip", |b| b.iter(|| theirs(black_box(data))));
        g.finish();
    }
    let mut g = c.benchmark_group("serialize/invite_sdp");
    let ours_msg = Message::parse(Bytes::from_static(INVITE)).unwrap();
    let theirs_msg = rsip::SipMessage::try_from(INVITE).unwrap();
    g.bench_function("sip-proto", |b| b.iter(|| black_box(&ours_msg).to_bytes()));
    g.bench_function("rsip", |b| b.iter(|| black_box(&theirs_msg).to_string()));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
