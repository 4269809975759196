//! Stream framing with arbitrary read boundaries: never panics, never
//! buffers more than one maximal message, and frames the same messages
//! whatever the chunking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sip_proto::{Frame, Limits, StreamFramer};

fn frames(data: &[u8], chunk: usize) -> (Vec<Frame>, bool) {
    let limits = Limits {
        max_head_bytes: 4096,
        max_body_bytes: 4096,
        ..Limits::default()
    };
    let cap = limits.max_message_bytes() + 4;
    let mut f = StreamFramer::new(limits);
    let mut out = Vec::new();
    for piece in data.chunks(chunk.max(1)) {
        if f.push(piece).is_err() {
            return (out, true);
        }
        assert!(f.buffered() <= cap);
        loop {
            match f.next_frame() {
                Ok(Some(fr)) => out.push(fr),
                Ok(None) => break,
                Err(_) => return (out, true),
            }
        }
    }
    (out, false)
}

fuzz_target!(|input: (u8, &[u8])| {
    let (chunk, data) = input;
    let (whole, whole_err) = frames(data, data.len());
    let (pieces, pieces_err) = frames(data, usize::from(chunk % 64) + 1);
    // Chunking may only change where a CRLF keep-alive splits, so compare
    // messages, not pings/pongs.
    let msgs = |v: &[Frame]| {
        v.iter()
            .filter(|f| !matches!(f, Frame::Ping | Frame::Pong))
            .cloned()
            .collect::<Vec<_>>()
    };
    if !whole_err && !pieces_err {
        assert_eq!(msgs(&whole), msgs(&pieces));
    }
});
