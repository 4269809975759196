//! Parses a typical INVITE N times (default 100000) and reads its headers
//! typed: a driver for profilers (`valgrind --tool=callgrind`, `perf`).
//!
//! cargo run --release -p sip-proto --example parse_loop -- 100000

use bytes::Bytes;
use sip_proto::headers::{
    CSeq, CallId, Contact, ContentLength, ContentType, From, MaxForwards, To, Via,
};
use sip_proto::{Limits, Message};

/// A typical INVITE with an SDP offer (shared with the profiling examples).
const INVITE: &[u8] = include_bytes!("../benches/invite.sip");

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
