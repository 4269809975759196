//! RFC 6665 subscriptions: the event headers never panic and print back
//! to what they parsed from; a subscriber and a notifier fed whatever
//! parses as SIP (NOTIFYs, SUBSCRIBEs, responses) never panic.
//!
//! The input is split on NUL: the first piece is a header value, each
//! other piece one message.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use sip_proto::digest::CredentialStore;
use sip_proto::headers::NameAddr;
use sip_proto::subscription::{
    IncomingSubscription, NotifierConfig, SubscribeConfig, Subscriber, TerminationReason,
};
use sip_proto::{Message, Method, Uri};

fn uri(s: &str) -> Uri<'static> {
    Uri::parse(s).unwrap().into_owned()
}

fn subscriber() -> Subscriber {
    Subscriber::new(
        SubscribeConfig {
            local: NameAddr::new(uri("sip:a@example.test")),
            target: uri("sip:b@example.test"),
            contact: uri("sip:a@127.0.0.1:5060"),
            event: "presence".into(),
            event_id: None,
            accept: vec!["application/pidf+xml".into()],
            expires: 600,
            supported: Vec::new(),
            // What a seed NOTIFY can match.
            call_id: "fuzz".into(),
            from_tag: "ft".into(),
            via: "SIP/2.0/UDP 127.0.0.1:5060".into(),
            branch_prefix: "f".into(),
            user_agent: None,
            body: None,
            retry_default: Duration::from_secs(30),
            notify_wait: Duration::from_secs(32),
        },
        CredentialStore::with_default("a", "p"),
    )
}

fn notifier() -> NotifierConfig {
    NotifierConfig {
        packages: vec!["presence".into()],
        min_expires: 60,
        max_expires: 3600,
        default_expires: 600,
        contact: uri("sip:b@127.0.0.1:5061"),
        via: "SIP/2.0/UDP 127.0.0.1:5061".into(),
        branch_prefix: "n".into(),
        user_agent: None,
    }
}

fuzz_target!(|data: &[u8]| {
    let mut pieces = data.split(|b| *b == 0);
    if let Some(Ok(s)) = pieces.next().map(std::str::from_utf8) {
        sip_proto::fuzzing::check_event_headers(s);
    }
    let start = Instant::now();
    let mut sub = subscriber();
    sub.subscribe();
    let mut incoming: Option<IncomingSubscription> = None;
    for (n, chunk) in pieces.enumerate() {
        let now = start + Duration::from_secs(n as u64 * 7);
        let Ok(m) = Message::parse(bytes::Bytes::copy_from_slice(chunk)) else {
            continue;
        };
        match m {
            Message::Request(r) if r.method == Method::Subscribe => match &mut incoming {
                Some(i) => {
                    let _ = i.handle_subscribe(&r, now);
                    let _ = i.notify(None, now);
                }
                None => {
                    if let Ok((mut i, _)) =
                        IncomingSubscription::accept(notifier(), &r, "nt", n % 2 == 0, now)
                    {
                        let _ = i.notify(None, now);
                        incoming = Some(i);
                    }
                }
            },
            Message::Request(r) => {
                let resp = sub.handle_notify(&r, now);
                assert!(resp.status.is_final());
            }
            Message::Response(r) => {
                sub.handle_response(&r, now);
                if let Some(i) = &mut incoming {
                    i.handle_notify_response(&r);
                }
            }
        }
        sub.handle_timeout(now);
        if n == 5 {
            sub.unsubscribe(now);
        }
        if let Some(i) = &mut incoming {
            let _ = i.handle_timeout(now + Duration::from_secs(3600));
            if n == 3 {
                let _ = i.authorize(None, now);
                let _ = i.terminate(TerminationReason::Probation, Some(5), None);
            }
        }
        while sub.poll_request().is_some() || sub.poll_event().is_some() {}
    }
});
