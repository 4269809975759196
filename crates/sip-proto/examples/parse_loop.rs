//! Parses a typical INVITE N times (default 100000) and reads its headers
//! typed, as the parse bench does: a driver for profilers. The second
//! argument picks the parser: `lazy` (default: split, then typed reads),
//! `validated` (`Message::parse`, then the reads) or `rsip`.
//!
//! cargo build --release -p sip-proto --example parse_loop
//! valgrind --tool=callgrind target/release/examples/parse_loop 2000 [lazy|validated|rsip]

use std::hint::black_box;

use bytes::Bytes;

#[path = "../benches/common/reads.rs"]
mod reads;

/// A typical INVITE with an SDP offer (shared with the bench).
const INVITE: &[u8] = include_bytes!("../benches/invite.sip");

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let which = args.next().unwrap_or_else(|| "lazy".to_owned());
    let data = Bytes::from_static(INVITE);
    let read: fn(&Bytes) -> usize = match which.as_str() {
        "validated" => reads::ours,
        "rsip" => |b| reads::theirs(b),
        _ => reads::ours_lazy,
    };
    let mut total = 0usize;
    let start = std::time::Instant::now();
    for _ in 0..n {
        total += read(black_box(&data));
    }
    let per = start.elapsed() / u32::try_from(n.max(1)).unwrap_or(u32::MAX);
    println!("{which}: {n} parses, {per:?} each (checksum {total})");
}
