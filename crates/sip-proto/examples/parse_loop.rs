//! Parses a typical INVITE N times (default 100000) and reads its headers
//! typed: a driver for profilers (`valgrind --tool=callgrind`, `perf`).
//!
//! cargo run --release -p sip-proto --example parse_loop -- 100000

use bytes::Bytes;
use sip_proto::headers::{
    CSeq, CallId, Contact, ContentLength, ContentType, From, MaxForwards, To, Via,
};
use sip_proto::{Limits, Message};

const INVITE: &[u8] = b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;rport\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKnashds8;received=192.0.2.1\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
From: \"Alice\" <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@pc33.atlanta.example.com:5060;transport=udp>\r\n\
Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, MESSAGE, SUBSCRIBE, INFO\r\n\
Supported: replaces, timer\r\n\
User-Agent: sipsimple-rs/0.1\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 212\r\n\
\r\n\
v=0\r\n\
o=alice 2890844526 2890844526 IN IP4 pc33.atlanta.example.com\r\n\
s=-\r\n\
c=IN IP4 192.0.2.101\r\n\
t=0 0\r\n\
m=audio 49172 RTP/AVP 0 8 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=sendrecv\r\n";

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let data = Bytes::from_static(INVITE);
    let mut total = 0usize;
    let start = std::time::Instant::now();
    for _ in 0..n {
        let m = Message::parse_unvalidated(data.clone(), &Limits::default()).expect("parse");
        let h = m.headers();
        for v in h.typed_all::<Via>() {
            total += v.map_or(0, |v| v.branch().map_or(0, str::len));
        }
        total += h
            .typed::<From>()
            .and_then(Result::ok)
            .map_or(0, |f| f.tag().map_or(0, str::len));
        total += h
            .typed::<To>()
            .and_then(Result::ok)
            .map_or(0, |t| t.tag().map_or(0, str::len));
        total += h
            .typed::<CallId>()
            .and_then(Result::ok)
            .map_or(0, |c| c.0.len());
        total += h
            .typed::<CSeq>()
            .and_then(Result::ok)
            .map_or(0, |c| c.seq as usize);
        total += h.typed::<Contact>().and_then(Result::ok).map_or(0, |_| 1);
        total += h
            .typed::<MaxForwards>()
            .and_then(Result::ok)
            .map_or(0, |m| usize::from(m.0));
        total += h
            .typed::<ContentType>()
            .and_then(Result::ok)
            .map_or(0, |c| c.0.subtype.len());
        total += h
            .typed::<ContentLength>()
            .and_then(Result::ok)
            .map_or(0, |c| c.0 as usize);
    }
    let per = start.elapsed() / u32::try_from(n.max(1)).unwrap_or(u32::MAX);
    println!("{n} parses, {per:?} each (checksum {total})");
}
