//! A connection carrying two MSRP sessions fed arbitrary bytes from the
//! peer, in arbitrary reads, holding requests for unknown sessions or
//! not: never panics, keeps its queues bounded, and each session's
//! message still goes out afterwards while the stream is readable. The
//! first session writes a message in slices (a `*` range end, RFC 4975
//! §7.1); when `step` is a multiple of 3 it is taken off the connection
//! in mid-chunk, and the very next bytes must end that chunk with `#`.
//! An AUTH to a relay runs on it too (responses by transaction id).
#![no_main]

use std::time::{Duration, Instant};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use msrp_proto::demux::Demux;
use msrp_proto::headers::FailureReport;
use msrp_proto::{AuthClient, Limits, MsrpUri, Session, SessionConfig};

fn session(us: &str, peer: &str, write_slice: u64) -> Option<Session> {
    let mut cfg = SessionConfig::new(
        vec![MsrpUri::parse(us).ok()?],
        vec![MsrpUri::parse(peer).ok()?],
        1,
    );
    cfg.chunk_size = 64;
    cfg.write_slice = write_slice;
    Some(Session::new(cfg))
}

fuzz_target!(|input: (u8, bool, &[u8])| {
    let (step, hold, data) = input;
    let (Some(one), Some(two)) = (
        session(
            "msrp://127.0.0.1:2855/fuzzsession;tcp",
            "msrp://127.0.0.1:9/peersession;tcp",
            16,
        ),
        session(
            "msrp://127.0.0.1:2855/othersession;tcp",
            "msrp://127.0.0.1:9/peer2;tcp",
            64,
        ),
    ) else {
        return;
    };
    let mut d = Demux::new(Limits::default());
    d.hold_unknown(hold);
    let ids = [d.add_session(one), d.add_session(two)];
    let mut ids: Vec<String> = ids.into_iter().flatten().collect();
    assert_eq!(ids.len(), 2);
    let auth = match (
        MsrpUri::parse("msrp://127.0.0.1:9;tcp"),
        MsrpUri::parse("msrp://127.0.0.1:2855/authsession;tcp"),
    ) {
        (Ok(relay), Ok(us)) => AuthClient::new(relay, us, "user", "secret", None, 1),
        _ => return,
    };
    if let Ok(client) = auth {
        assert!(d.start_auth("authsession".into(), client).is_ok());
    }
    let mut now = Instant::now();
    if let Some(s) = d.session_mut(&ids[0]) {
        s.send_message(
            "text/plain",
            Bytes::from(vec![b'x'; 300]),
            true,
            FailureReport::Yes,
        );
    }
    // Its first chunk's head and first slice (after the AUTH, which the
    // connection writes first).
    while !d.session(&ids[0]).is_some_and(|s| s.is_mid_chunk()) {
        if d.poll_transmit(now).is_none() {
            break;
        }
    }
    if step % 3 == 0 {
        let gone = ids.remove(0);
        assert!(d.remove_session(&gone).is_some());
        let end = d.poll_transmit(now).unwrap_or_default();
        assert!(
            end.starts_with(b"\r\n-------") && end.ends_with(b"#\r\n"),
            "the cut chunk's end first"
        );
    }
    let mut failed = false;
    for piece in data.chunks(usize::from(step).max(1)) {
        if d.handle_input(now, piece).is_err() {
            failed = true;
            break;
        }
        if d.held_request().is_some() && d.release(now).is_err() {
            failed = true;
            break;
        }
        while d.poll_transmit(now).is_some() {}
        while d.poll_event().is_some() {}
        while d.poll_auth().is_some() {}
        assert!(d.pending_transmits() == 0);
        now += Duration::from_millis(700);
        if d.poll_timeout().is_some_and(|t| t <= now) {
            d.handle_timeout(now);
        }
    }
    if !failed {
        for id in &ids {
            if let Some(s) = d.session_mut(id) {
                s.send_message(
                    "text/plain",
                    Bytes::from_static(b"after"),
                    false,
                    FailureReport::No,
                );
            }
        }
        let mut wrote = 0;
        while let Some(t) = d.poll_transmit(now) {
            wrote += usize::from(t.windows(5).any(|w| w == b"after"));
        }
        assert_eq!(
            wrote,
            ids.len(),
            "each session's message queued after the input is written"
        );
    }
});
