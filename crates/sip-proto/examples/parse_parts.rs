//! Instruction-count probe: `parse_parts WHAT N` runs one part of the
//! INVITE parse N times (split, or one typed header), for callgrind.
use bytes::Bytes;
use sip_proto::headers::*;
use sip_proto::{Limits, Message};
const INVITE: &[u8] = include_bytes!("../benches/invite.sip");
fn main() {
    let what = std::env::args().nth(1).unwrap_or_default();
    let n: usize = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let data = Bytes::from_static(INVITE);
    let m = Message::parse_unvalidated(data.clone(), &Limits::default()).unwrap();
    let h = m.headers();
    let mut acc = 0usize;
    for _ in 0..n {
        acc += match what.as_str() {
            "split" => Message::parse_unvalidated(data.clone(), &Limits::default())
                .unwrap()
                .headers()
                .len(),
            "via" => h.typed_all::<Via>().filter(|v| v.is_ok()).count(),
            "from" => h
                .typed::<From>()
                .unwrap()
                .unwrap()
                .tag()
                .map_or(0, str::len),
            "to" => h.typed::<To>().unwrap().unwrap().params.len(),
            "callid" => h.typed::<CallId>().unwrap().unwrap().0.len(),
            "cseq" => h.typed::<CSeq>().unwrap().unwrap().seq as usize,
            "contact" => usize::from(h.typed::<Contact>().unwrap().unwrap().addr().is_some()),
            "maxfwd" => usize::from(h.typed::<MaxForwards>().unwrap().unwrap().0),
            "ctype" => h.typed::<ContentType>().unwrap().unwrap().0.subtype.len(),
            "clen" => h.typed::<ContentLength>().unwrap().unwrap().0 as usize,
            "validate" => usize::from(m.validate().is_ok()),
            _ => 0,
        };
    }
    println!("{acc}");
}
