//! Parse a typical INVITE with SDP, a 200 OK and a REGISTER with
//! Authorization, and read the headers a UA reads, typed: our parser and
//! rsip side by side in one group per message.
//!
//! cargo bench -p sip-proto --bench parse

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rsip::headers::ToTypedHeader;
use rsip::prelude::HeadersExt;
use sip_proto::headers::{
    Authorization, CSeq, CallId, Contact, ContentLength, ContentType, From, MaxForwards, To, Via,
};
use sip_proto::{Limits, Message};

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

/// Parse (validating the headers every element reads), then read, typed,
/// every header a UA acts on.
fn ours(data: &Bytes) -> usize {
    read(&Message::parse(data.clone()).unwrap())
}

/// Split only, then read typed: each header is validated once, as it is
/// read (what an engine that reads the core headers anyway does).
fn ours_lazy(data: &Bytes) -> usize {
    read(&Message::parse_unvalidated(data.clone(), &Limits::default()).unwrap())
}

fn read(m: &Message) -> usize {
    let h = m.headers();
    let mut n = 0;
    for v in h.typed_all::<Via>() {
        n += v.unwrap().branch().map_or(0, str::len);
    }
    n += h
        .typed::<From>()
        .unwrap()
        .unwrap()
        .tag()
        .map_or(0, str::len);
    n += h.typed::<To>().unwrap().unwrap().tag().map_or(0, str::len);
    n += h.typed::<CallId>().unwrap().unwrap().0.len();
    n += h.typed::<CSeq>().unwrap().unwrap().seq as usize;
    if let Some(c) = h.typed::<Contact>() {
        n += usize::from(c.unwrap().addr().is_some());
    }
    if let Some(mf) = h.typed::<MaxForwards>() {
        n += usize::from(mf.unwrap().0);
    }
    if let Some(ct) = h.typed::<ContentType>() {
        n += ct.unwrap().0.subtype.len();
    }
    n += h.typed::<ContentLength>().unwrap().unwrap().0 as usize;
    if let Some(a) = h.typed::<Authorization>() {
        n += a.unwrap().param("response").map_or(0, |r| r.len());
    }
    n + m.body().len()
}

/// The same reads through rsip's typed headers.
fn theirs(data: &[u8]) -> usize {
    let m = rsip::SipMessage::try_from(data).unwrap();
    let mut n = 0;
    n += m
        .via_header()
        .unwrap()
        .typed()
        .unwrap()
        .branch()
        .map_or(0, |b| b.to_string().len());
    n += m
        .from_header()
        .unwrap()
        .typed()
        .unwrap()
        .tag()
        .map_or(0, |t| t.to_string().len());
    n += m
        .to_header()
        .unwrap()
        .typed()
        .unwrap()
        .tag()
        .map_or(0, |t| t.to_string().len());
    n += m.call_id_header().unwrap().to_string().len();
    n += m.cseq_header().unwrap().typed().unwrap().seq as usize;
    if let Ok(c) = m.contact_header() {
        n += c.typed().map_or(0, |_| 1);
    }
    if let Ok(mf) = m.max_forwards_header() {
        n += mf.num().unwrap_or(0) as usize;
    }
    if let Some(a) = m.authorization_header() {
        n += a.typed().unwrap().response.len();
    }
    n + m.body().len()
}

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
