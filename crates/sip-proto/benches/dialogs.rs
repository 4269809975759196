//! Signalling state per established call: N INVITE sessions set up
//! through the wire format (each message serialized and parsed, as on the
//! network), then the live heap of the N UAS sessions and of the N UAC
//! sessions is counted by a counting allocator. Also the set-up rate of
//! the sans-IO core (INVITE, 180, 200, ACK per call, both sides).
//!
//! cargo bench -p sip-proto --bench dialogs [-- N]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Instant;

use sip_proto::headers::NameAddr;
use sip_proto::invite::{Action, Body, InviteSession, SessionConfig};
use sip_proto::transaction::TimerConfig;
use sip_proto::{Message, Uri};

struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const SDP: &[u8] = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n";

fn uri(s: &str) -> Uri<'static> {
    Uri::parse(s).unwrap().into_owned()
}

fn config(user: &str, n: usize) -> SessionConfig {
    SessionConfig {
        local: NameAddr::new(uri(&format!("sip:{user}@example.test"))),
        contact: uri(&format!("sip:{user}@127.0.0.1:5060")),
        via: "SIP/2.0/UDP 127.0.0.1:5060;rport".into(),
        branch_prefix: format!("{user}{n}x"),
        local_tag: format!("{user}{n}"),
        user_agent: Some("sipsimple-rs".into()),
        timers: TimerConfig::default(),
        credentials: None,
        allow: None,
    }
}

fn wire(m: Message) -> Message {
    Message::parse(m.to_bytes()).unwrap()
}

fn response(actions: Vec<Action>) -> sip_proto::Response {
    match actions.into_iter().next() {
        Some(Action::Respond(r)) => match wire(Message::Response(r)) {
            Message::Response(r) => r,
            _ => unreachable!(),
        },
        other => panic!("{other:?}"),
    }
}

/// One call set up: (UAC, UAS), both confirmed.
fn call(n: usize, now: Instant) -> (InviteSession, InviteSession) {
    let (mut alice, invite) = InviteSession::outgoing(
        config("alice", n),
        NameAddr::new(uri("sip:bob@example.test")),
        uri("sip:bob@127.0.0.1:5070"),
        &format!("call-{n}@127.0.0.1"),
        Some(Body::sdp(SDP)),
    );
    let Message::Request(invite) = wire(Message::Request(invite)) else {
        unreachable!()
    };
    let mut bob = InviteSession::incoming(config("bob", n), &invite);
    alice.handle_response(&response(bob.ring(180, None).unwrap()), now);
    let ok = response(bob.accept(Some(Body::sdp(SDP)), now).unwrap());
    for a in alice.handle_response(&ok, now) {
        if let Action::SendStateless(m) = a {
            if let Message::Request(ack) = wire(m) {
                bob.handle_ack(&ack);
            }
        }
    }
    while alice.poll_event().is_some() || bob.poll_event().is_some() {}
    (alice, bob)
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let now = Instant::now();
    let started = Instant::now();
    let before = LIVE.load(Ordering::Relaxed);
    let mut uas = Vec::with_capacity(n);
    let mut uac = Vec::with_capacity(n);
    for i in 0..n {
        let (a, b) = call(i, now);
        uac.push(a);
        uas.push(b);
    }
    let took = started.elapsed();
    let both = LIVE.load(Ordering::Relaxed) - before;
    drop(uac);
    let uas_only = LIVE.load(Ordering::Relaxed) - before;
    println!(
        "{n} calls set up through the sans-IO core in {:.3} s ({:.0} calls/s, both sides, \
         every message serialized and parsed)",
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64()
    );
    println!(
        "signalling state per established call: UAS {:.1} KiB, UAC {:.1} KiB",
        uas_only as f64 / n as f64 / 1024.0,
        (both - uas_only) as f64 / n as f64 / 1024.0
    );
    assert!(uas
        .iter()
        .all(|s| s.state() == sip_proto::invite::SessionState::Confirmed));
}
