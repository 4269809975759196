//! INVITE sessions fed whatever parses as SIP: never panic, whatever the
//! state (an outgoing session and an incoming one, set up first).
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use sip_proto::headers::NameAddr;
use sip_proto::invite::{InviteSession, SessionConfig};
use sip_proto::transaction::TimerConfig;
use sip_proto::{Message, Uri};

fn config(user: &str) -> SessionConfig {
    SessionConfig {
        local: NameAddr::new(Uri::parse(&format!("sip:{user}@example.test")).unwrap().into_owned()),
        contact: Uri::parse("sip:x@127.0.0.1:5060").unwrap().into_owned(),
        via: "SIP/2.0/UDP 127.0.0.1:5060;rport".into(),
        branch_prefix: user.into(),
        local_tag: format!("{user}tag"),
        user_agent: None,
        timers: TimerConfig::default(),
        credentials: None,
        allow: None,
    }
}

fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    let (mut out, invite) = InviteSession::outgoing(
        config("a"),
        NameAddr::new(Uri::parse("sip:b@example.test").unwrap().into_owned()),
        Uri::parse("sip:b@127.0.0.1").unwrap().into_owned(),
        "fuzz@x",
        None,
    );
    let mut inc = InviteSession::incoming(config("b"), &invite);
    let _ = inc.accept(None, now);
    // Each chunk split on a NUL is one message.
    for chunk in data.split(|b| *b == 0) {
        let Ok(m) = Message::parse(bytes::Bytes::copy_from_slice(chunk)) else {
            continue;
        };
        match m {
            Message::Request(r) if r.method == sip_proto::Method::Ack => {
                let _ = inc.handle_ack(&r);
            }
            Message::Request(r) => {
                let _ = inc.handle_request(&r, now);
                let _ = out.handle_request(&r, now);
            }
            Message::Response(r) => {
                let _ = out.handle_response(&r, now);
                let _ = inc.handle_response(&r, now);
            }
        }
        let _ = out.handle_timeout(now + Duration::from_secs(40));
        let _ = inc.handle_timeout(now + Duration::from_secs(40));
        let _ = out.end();
        while out.poll_event().is_some() || inc.poll_event().is_some() {}
    }
});
