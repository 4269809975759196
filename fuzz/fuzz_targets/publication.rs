//! RFC 3903 publications: a publisher fed final responses to its own
//! PUBLISHes, with whatever status and SIP-ETag, Expires, Min-Expires,
//! Retry-After and challenge values, never panics, and what it asks to
//! send next is a PUBLISH that prints and parses again.
//!
//! The input is split on NUL; each piece is one response: two bytes pick
//! the status, one the extra header, the rest is that header's value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sip_proto::digest::CredentialStore;
use sip_proto::headers::HeaderName;
use sip_proto::invite::Body;
use sip_proto::message::StatusCode;
use sip_proto::publication::{PublishConfig, PublishOutcome, Publisher};
use sip_proto::{Message, Method, Request, Response, Uri};

const HEADERS: [HeaderName; 6] = [
    HeaderName::SipETag,
    HeaderName::Expires,
    HeaderName::MinExpires,
    HeaderName::RetryAfter,
    HeaderName::WwwAuthenticate,
    HeaderName::ProxyAuthenticate,
];

fn publisher() -> Publisher {
    Publisher::new(
        PublishConfig {
            aor: Uri::parse("sip:a@example.test").unwrap().into_owned(),
            event: "presence".into(),
            expires: 600,
            call_id: "fuzz".into(),
            from_tag: "ft".into(),
            via: "SIP/2.0/UDP 127.0.0.1:5060;rport".into(),
            branch_prefix: "z9hG4bKf".into(),
            user_agent: None,
        },
        CredentialStore::with_default("a", "p"),
    )
}

/// What the network would deliver: printed and parsed again, so only
/// responses that survive the wire reach the publisher.
fn response_to(request: &Request, piece: &[u8]) -> Option<Response> {
    let [hi, lo, which, value @ ..] = piece else {
        return None;
    };
    let code = 100 + u16::from_be_bytes([*hi, *lo]) % 600;
    let mut r = Response::for_request(request, StatusCode::new(code)?, Some("tt"));
    let value = std::str::from_utf8(value).ok()?;
    r.headers
        .push(HEADERS[usize::from(*which) % HEADERS.len()].clone(), value);
    match Message::parse(Message::Response(r).to_bytes()) {
        Ok(Message::Response(r)) => Some(r),
        _ => None,
    }
}

fn check_request(request: &Request) {
    assert_eq!(request.method, Method::Publish);
    match Message::parse(Message::Request(request.clone()).to_bytes()) {
        Ok(Message::Request(_)) => {}
        other => panic!("a PUBLISH we built does not parse: {other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut p = publisher();
    let mut last = p.publish(Body {
        content_type: "application/pidf+xml".into(),
        data: b"<presence/>".to_vec(),
    });
    check_request(&last);
    for (n, piece) in data.split(|b| *b == 0).enumerate() {
        let Some(response) = response_to(&last, piece) else {
            continue;
        };
        let next = match p.handle_response(&response) {
            Some(PublishOutcome::Send(r)) => Some(r),
            Some(PublishOutcome::Published { .. }) => match n % 3 {
                0 => p.refresh(),
                1 => Some(p.publish(Body {
                    content_type: "application/pidf+xml".into(),
                    data: b"<presence><tuple/></presence>".to_vec(),
                })),
                _ => p.remove(),
            },
            Some(PublishOutcome::Failed { .. }) | Some(PublishOutcome::Removed) => {
                Some(p.publish(Body {
                    content_type: "application/pidf+xml".into(),
                    data: b"<presence/>".to_vec(),
                }))
            }
            None => None,
        };
        if let Some(r) = next {
            check_request(&r);
            last = r;
        }
        if n % 5 == 4 {
            // Timer F: the failure is reported and the state published anew.
            assert!(matches!(p.handle_timeout(), PublishOutcome::Failed { code: 408, .. }));
            last = p.publish(Body {
                content_type: "application/pidf+xml".into(),
                data: b"<presence/>".to_vec(),
            });
            check_request(&last);
        }
    }
});
