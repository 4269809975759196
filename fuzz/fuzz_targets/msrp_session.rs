//! The MSRP session core fed arbitrary bytes from the peer, in arbitrary
//! reads, with timeouts in between: never panics, keeps its queues
//! bounded, and a message of ours still goes out afterwards while the
//! stream is readable. Chunks go out in slices (a `*` range end, RFC
//! 4975 §7.1); with an odd `step` the first message is given up half-way,
//! in the middle of a chunk when `send_first`'s chunk is still being
//! written, so its `#` end-line meets whatever the peer says about it.
//! With bit 2 of `step` set the stream does not receive (its SDP
//! direction): no content from the peer may come out as a message.
#![no_main]

use std::time::{Duration, Instant};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use msrp_proto::headers::FailureReport;
use msrp_proto::{MsrpUri, Session, SessionConfig, SessionEvent};

fuzz_target!(|input: (u8, bool, &[u8])| {
    let (step, send_first, data) = input;
    let (Ok(us), Ok(peer)) = (
        MsrpUri::parse("msrp://127.0.0.1:2855/fuzzsession;tcp"),
        MsrpUri::parse("msrp://127.0.0.1:9/peersession;tcp"),
    ) else {
        return;
    };
    let mut cfg = SessionConfig::new(vec![us], vec![peer], 1);
    cfg.chunk_size = 64;
    let receiving = step & 4 == 0;
    cfg.receiving = receiving;
    cfg.write_slice = 16;
    let mut s = Session::new(cfg);
    let mut now = Instant::now();
    let first = send_first.then(|| {
        s.send_message("text/plain", Bytes::from(vec![b'x'; 300]), true, FailureReport::Yes)
    });
    if let (Some(id), true) = (&first, step % 2 == 1) {
        // Head and first slice; from `step` 3 on, whole chunks too.
        for _ in 0..=(step / 2) % 8 {
            let _ = s.poll_transmit(now);
        }
        s.abort_message(id);
    }
    let mut failed = false;
    for piece in data.chunks(usize::from(step).max(1)) {
        if s.handle_input(now, piece).is_err() {
            failed = true;
            break;
        }
        while s.poll_transmit(now).is_some() {}
        while let Some(e) = s.poll_event() {
            if let SessionEvent::MessageReceived { body, .. } = e {
                assert!(receiving || body.is_empty(), "content past the direction");
            }
        }
        assert!(s.pending_transmits() == 0);
        now += Duration::from_millis(700);
        if s.poll_timeout().is_some_and(|t| t <= now) {
            s.handle_timeout(now);
        }
    }
    if !failed {
        s.send_message("text/plain", Bytes::from_static(b"after"), false, FailureReport::No);
        let mut wrote = false;
        while let Some(t) = s.poll_transmit(now) {
            wrote |= t.windows(5).any(|w| w == b"after");
        }
        assert!(wrote, "a message queued after the input is written");
    }
});
