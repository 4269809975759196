//! The subscriber and notifier cores message by message, without a
//! network: what each answers and builds.

use std::time::{Duration, Instant};

use super::*;
use crate::digest::CredentialStore;
use crate::headers::{CSeq, NameAddr, To};
use crate::uri::Uri;

fn uri(s: &str) -> Uri<'static> {
    Uri::parse(s).unwrap().into_owned()
}

fn config() -> SubscribeConfig {
    SubscribeConfig {
        local: NameAddr::new(uri("sip:alice@example.test")),
        target: uri("sip:bob@example.test"),
        contact: uri("sip:alice@192.0.2.1"),
        event: "presence".into(),
        event_id: None,
        accept: vec!["application/pidf+xml".into(), "multipart/related".into()],
        expires: 600,
        supported: Vec::new(),
        call_id: "c1".into(),
        from_tag: "a1".into(),
        via: "SIP/2.0/UDP 192.0.2.1:5060;rport".into(),
        branch_prefix: "s".into(),
        user_agent: Some("ua".into()),
        body: None,
        retry_default: Duration::from_secs(90),
        notify_wait: Duration::from_secs(32),
    }
}

fn notifier_config() -> NotifierConfig {
    NotifierConfig {
        packages: vec!["presence".into(), "presence.winfo".into()],
        min_expires: 60,
        max_expires: 1800,
        default_expires: 600,
        contact: uri("sip:bob@192.0.2.2"),
        via: "SIP/2.0/UDP 192.0.2.2:5060".into(),
        branch_prefix: "n".into(),
        user_agent: None,
    }
}

fn subscriber() -> Subscriber {
    Subscriber::new(config(), CredentialStore::with_default("alice", "pw"))
}

fn reply(r: &Request, code: u16, tag: Option<&str>, headers: &[(HeaderName, &str)]) -> Response {
    let mut resp = Response::for_request(r, StatusCode::new(code).unwrap(), tag);
    for (n, v) in headers {
        resp.headers.push(n.clone(), *v);
    }
    resp
}

fn next(s: &mut Subscriber) -> Request {
    s.poll_request().expect("a request to send")
}

/// A subscriber whose SUBSCRIBE the notifier accepted and notified.
fn established(now: Instant) -> (Subscriber, IncomingSubscription) {
    let mut s = subscriber();
    s.subscribe();
    let sub = next(&mut s);
    let (mut n, ok) =
        IncomingSubscription::accept(notifier_config(), &sub, "b1", false, now).unwrap();
    s.handle_response(&ok, now);
    let notify = n.notify(None, now).unwrap();
    assert_eq!(s.handle_notify(&notify, now).status.code(), 200);
    assert_eq!(s.status(), &SubscriptionStatus::Active);
    (s, n)
}

/// RFC 4662 §4.1: a list subscriber says `Supported: eventlist` on
/// every SUBSCRIBE, the in-dialog ones included; others say nothing.
#[test]
fn supported_goes_on_every_subscribe() {
    let now = Instant::now();
    let mut c = config();
    c.supported = vec!["eventlist".into()];
    let mut s = Subscriber::new(c, CredentialStore::with_default("alice", "pw"));
    s.subscribe();
    let sub = next(&mut s);
    assert_eq!(
        sub.headers.get_str(&HeaderName::Supported),
        Some("eventlist")
    );
    let (mut n, ok) =
        IncomingSubscription::accept(notifier_config(), &sub, "b1", false, now).unwrap();
    s.handle_response(&ok, now);
    let notify = n.notify(None, now).unwrap();
    assert_eq!(s.handle_notify(&notify, now).status.code(), 200);
    s.unsubscribe(now);
    let unsub = next(&mut s);
    assert_eq!(unsub.headers.get_str(&HeaderName::Expires), Some("0"));
    assert_eq!(
        unsub.headers.get_str(&HeaderName::Supported),
        Some("eventlist")
    );
    let mut plain = subscriber();
    plain.subscribe();
    assert_eq!(
        next(&mut plain).headers.get_str(&HeaderName::Supported),
        None
    );
}

#[test]
fn initial_subscribe_headers() {
    let mut s = subscriber();
    s.subscribe();
    let r = next(&mut s);
    let h = &r.headers;
    assert_eq!(r.method, Method::Subscribe);
    assert_eq!(r.uri_str(), "sip:bob@example.test");
    assert_eq!(h.get_str(&HeaderName::Event), Some("presence"));
    assert_eq!(h.get_str(&HeaderName::Expires), Some("600"));
    assert_eq!(
        h.get_str(&HeaderName::Accept),
        Some("application/pidf+xml, multipart/related")
    );
    assert_eq!(
        h.get_str(&HeaderName::Contact),
        Some("<sip:alice@192.0.2.1>")
    );
    assert_eq!(h.get_str(&HeaderName::CSeq), Some("1 SUBSCRIBE"));
    assert!(h.typed::<To>().unwrap().unwrap().tag().is_none());
    assert_eq!(s.status(), &SubscriptionStatus::Subscribing);
    assert!(s.poll_request().is_none());
}

#[test]
fn digest_challenge_then_wrong_password_ends() {
    let now = Instant::now();
    let mut s = subscriber();
    s.subscribe();
    let first = next(&mut s);
    let www = (
        HeaderName::WwwAuthenticate,
        "Digest realm=\"example.test\", nonce=\"n1\", qop=\"auth\"",
    );
    s.handle_response(
        &reply(&first, 401, Some("x"), std::slice::from_ref(&www)),
        now,
    );
    let second = next(&mut s);
    assert!(second.headers.contains(&HeaderName::Authorization));
    assert_eq!(
        second.headers.get_str(&HeaderName::CSeq),
        Some("2 SUBSCRIBE")
    );
    assert_ne!(
        first.headers.get_str(&HeaderName::Via),
        second.headers.get_str(&HeaderName::Via)
    );
    // Challenged again for the same realm: the password is wrong.
    s.handle_response(&reply(&second, 401, Some("x"), &[www]), now);
    assert!(s.poll_request().is_none());
    assert_eq!(
        s.status(),
        &SubscriptionStatus::Terminated {
            reason: None,
            retry_after: None
        }
    );
    let failed = std::iter::from_fn(|| s.poll_event())
        .any(|e| matches!(e, SubscriberEvent::Failed { code: 401, .. }));
    assert!(failed);
}

#[test]
fn bad_event_ends_and_retry_after_or_server_trouble_retries() {
    let now = Instant::now();
    let mut s = subscriber();
    s.subscribe();
    let r = next(&mut s);
    s.handle_response(&reply(&r, 489, Some("x"), &[]), now);
    assert!(s.poll_timeout().is_none());
    assert!(matches!(
        s.status(),
        SubscriptionStatus::Terminated {
            retry_after: None,
            ..
        }
    ));

    s.subscribe();
    let r = next(&mut s);
    s.handle_response(
        &reply(&r, 480, Some("x"), &[(HeaderName::RetryAfter, "40")]),
        now,
    );
    assert_eq!(s.poll_timeout(), Some(now + Duration::from_secs(40)));
    s.handle_timeout(now + Duration::from_secs(39));
    assert!(s.poll_request().is_none());
    s.handle_timeout(now + Duration::from_secs(40));
    let again = next(&mut s);
    assert_ne!(
        again.headers.get_str(&HeaderName::CallId),
        r.headers.get_str(&HeaderName::CallId),
        "a new subscription"
    );
    // A timeout: later, after the default.
    s.handle_response(&timeout_response(&again), now);
    assert_eq!(s.poll_timeout(), Some(now + Duration::from_secs(90)));
    // 404 without Retry-After: over.
    s.subscribe();
    let r = next(&mut s);
    s.handle_response(&reply(&r, 404, Some("x"), &[]), now);
    assert!(s.poll_timeout().is_none());
}

#[test]
fn notify_answers() {
    let now = Instant::now();
    let (mut s, mut n) = established(now);
    let good = n.notify(None, now).unwrap();
    // Another Call-ID: no dialog of ours.
    let mut other = good.clone();
    other.headers.set(HeaderName::CallId, "elsewhere");
    assert_eq!(s.handle_notify(&other, now).status.code(), 481);
    // Another package, or another id.
    let mut wrong = good.clone();
    wrong.headers.set(HeaderName::Event, "dialog");
    assert_eq!(s.handle_notify(&wrong, now).status.code(), 489);
    wrong.headers.set(HeaderName::Event, "presence;id=9");
    assert_eq!(s.handle_notify(&wrong, now).status.code(), 489);
    let mut stateless = good.clone();
    stateless.headers.remove_all(&HeaderName::SubscriptionState);
    assert_eq!(s.handle_notify(&stateless, now).status.code(), 400);
    assert_eq!(s.handle_notify(&good, now).status.code(), 200);
    // The same CSeq again: out of order.
    assert_eq!(s.handle_notify(&good, now).status.code(), 500);
    // A NOTIFY of a dialog the subscription never had, once it is over.
    s.unsubscribe(now);
    let unsub = next(&mut s);
    n.handle_subscribe(&unsub, now);
    let last = n.notify(None, now).unwrap();
    assert_eq!(
        last.headers.get_str(&HeaderName::SubscriptionState),
        Some("terminated")
    );
    assert_eq!(s.handle_notify(&last, now).status.code(), 200);
    let mut stranger = good.clone();
    stranger
        .headers
        .set(HeaderName::From, "<sip:bob@example.test>;tag=zz");
    assert_eq!(s.handle_notify(&stranger, now).status.code(), 481);
}

#[test]
fn refresh_follows_the_notify_expiry_and_423_and_481() {
    let now = Instant::now();
    let (mut s, mut n) = established(now);
    // 600 granted: refresh a minute early.
    assert_eq!(s.poll_timeout(), Some(now + Duration::from_secs(540)));
    // A NOTIFY saying 100 s are left moves it.
    let t = now + Duration::from_secs(500);
    let notify = n.notify(None, t).unwrap();
    assert_eq!(
        notify.headers.get_str(&HeaderName::SubscriptionState),
        Some("active;expires=100")
    );
    s.handle_notify(&notify, t);
    assert_eq!(s.poll_timeout(), Some(t + Duration::from_secs(75)));
    let t = t + Duration::from_secs(75);
    s.handle_timeout(t);
    let refresh = next(&mut s);
    assert_eq!(
        refresh.headers.typed::<To>().unwrap().unwrap().tag(),
        Some("b1")
    );
    assert_eq!(refresh.uri_str(), "sip:bob@192.0.2.2");
    assert_eq!(refresh.headers.get_str(&HeaderName::Expires), Some("600"));
    s.handle_response(
        &reply(&refresh, 423, None, &[(HeaderName::MinExpires, "900")]),
        t,
    );
    let longer = next(&mut s);
    assert_eq!(longer.headers.get_str(&HeaderName::Expires), Some("900"));
    let c1 = refresh.headers.typed::<CSeq>().unwrap().unwrap().seq;
    let c2 = longer.headers.typed::<CSeq>().unwrap().unwrap().seq;
    assert_eq!(c2, c1 + 1);
    // The notifier lost it: 481 is a new subscription at once.
    s.handle_response(&reply(&longer, 481, None, &[]), t);
    let fresh = next(&mut s);
    assert!(fresh
        .headers
        .typed::<To>()
        .unwrap()
        .unwrap()
        .tag()
        .is_none());
    assert_eq!(s.status(), &SubscriptionStatus::Subscribing);
}

#[test]
fn no_notify_after_the_2xx_and_no_final_notify_after_unsubscribe() {
    let now = Instant::now();
    let mut s = subscriber();
    s.subscribe();
    let r = next(&mut s);
    s.handle_response(
        &reply(
            &r,
            202,
            Some("b1"),
            &[
                (HeaderName::Contact, "<sip:b@192.0.2.2>"),
                (HeaderName::Expires, "600"),
            ],
        ),
        now,
    );
    assert_eq!(s.status(), &SubscriptionStatus::Subscribing);
    assert_eq!(s.poll_timeout(), Some(now + Duration::from_secs(32)));
    s.handle_timeout(now + Duration::from_secs(32));
    assert_eq!(
        s.status(),
        &SubscriptionStatus::Terminated {
            reason: None,
            retry_after: Some(Duration::from_secs(90))
        }
    );

    let (mut s, _) = established(now);
    s.unsubscribe(now);
    let unsub = next(&mut s);
    assert_eq!(unsub.headers.get_str(&HeaderName::Expires), Some("0"));
    s.handle_response(&reply(&unsub, 200, None, &[]), now);
    assert_eq!(
        s.status(),
        &SubscriptionStatus::Active,
        "until the final NOTIFY"
    );
    s.handle_timeout(now + Duration::from_secs(32));
    assert_eq!(
        s.status(),
        &SubscriptionStatus::Terminated {
            reason: None,
            retry_after: None
        }
    );
    assert!(s.poll_timeout().is_none());
}

#[test]
fn immediate_rejection_before_the_2xx_is_not_retried() {
    let now = Instant::now();
    let mut s = subscriber();
    s.subscribe();
    let r = next(&mut s);
    let (mut n, ok) = IncomingSubscription::accept(notifier_config(), &r, "b1", true, now).unwrap();
    assert_eq!(ok.status.code(), 202);
    let rejected = n.reject().unwrap();
    assert!(n.is_done());
    assert_eq!(s.handle_notify(&rejected, now).status.code(), 200);
    assert_eq!(s.status(), &SubscriptionStatus::Subscribing);
    s.handle_response(&ok, now);
    assert_eq!(
        s.status(),
        &SubscriptionStatus::Terminated {
            reason: Some(TerminationReason::Rejected),
            retry_after: None
        }
    );
    assert_eq!(s.dialogs().count(), 0);
    assert!(s.poll_timeout().is_none());
}

#[test]
fn notifier_checks_event_and_expires() {
    let now = Instant::now();
    let mut s = subscriber();
    s.subscribe();
    let r = next(&mut s);
    let mut bad = r.clone();
    bad.headers.set(HeaderName::Event, "message-summary");
    let e = IncomingSubscription::accept(notifier_config(), &bad, "b1", false, now).unwrap_err();
    assert_eq!(e.status.code(), 489);
    assert_eq!(
        e.headers.get_str(&HeaderName::AllowEvents),
        Some("presence, presence.winfo")
    );
    let mut brief = r.clone();
    brief.headers.set(HeaderName::Expires, "30");
    let e = IncomingSubscription::accept(notifier_config(), &brief, "b1", false, now).unwrap_err();
    assert_eq!(e.status.code(), 423);
    assert_eq!(e.headers.get_str(&HeaderName::MinExpires), Some("60"));
    assert_eq!(e.headers.typed::<To>().unwrap().unwrap().tag(), Some("b1"));
    let mut long = r.clone();
    long.headers.set(HeaderName::Expires, "86400");
    let (_, ok) = IncomingSubscription::accept(notifier_config(), &long, "b1", false, now).unwrap();
    assert_eq!(ok.status.code(), 200);
    assert_eq!(ok.headers.get_str(&HeaderName::Expires), Some("1800"));
    assert_eq!(ok.headers.typed::<To>().unwrap().unwrap().tag(), Some("b1"));
    assert_eq!(
        ok.headers.get_str(&HeaderName::Contact),
        Some("<sip:bob@192.0.2.2>")
    );
    // A fetch (Expires 0): accepted, one NOTIFY saying terminated.
    let mut fetch = r.clone();
    fetch.headers.set(HeaderName::Expires, "0");
    let (mut f, ok) =
        IncomingSubscription::accept(notifier_config(), &fetch, "b2", false, now).unwrap();
    assert_eq!(ok.headers.get_str(&HeaderName::Expires), Some("0"));
    let only = f.notify(None, now).unwrap();
    assert!(only
        .headers
        .get_str(&HeaderName::SubscriptionState)
        .unwrap()
        .starts_with("terminated"));
    assert!(f.is_done() && f.notify(None, now).is_err());
}

#[test]
fn notifier_notifies_refreshes_and_ends() {
    let now = Instant::now();
    let mut cfg = config();
    cfg.event_id = Some("42".into());
    let mut s = Subscriber::new(cfg, CredentialStore::new());
    s.subscribe();
    let r = next(&mut s);
    let (mut n, ok) = IncomingSubscription::accept(notifier_config(), &r, "b1", true, now).unwrap();
    s.handle_response(&ok, now);
    let body = crate::invite::Body {
        content_type: "application/pidf+xml".into(),
        data: b"<presence/>".to_vec(),
    };
    let first = n.notify(Some(&body), now).unwrap();
    let h = &first.headers;
    assert_eq!(first.uri_str(), "sip:alice@192.0.2.1");
    assert_eq!(h.get_str(&HeaderName::Event), Some("presence;id=42"));
    assert_eq!(
        h.get_str(&HeaderName::SubscriptionState),
        Some("pending;expires=600")
    );
    assert_eq!(
        h.get_str(&HeaderName::ContentType),
        Some("application/pidf+xml")
    );
    assert_eq!(h.get_str(&HeaderName::CSeq), Some("1 NOTIFY"));
    s.handle_notify(&first, now);
    assert_eq!(s.status(), &SubscriptionStatus::Pending);
    let t = now + Duration::from_secs(10);
    let active = n.authorize(None, t).unwrap();
    assert_eq!(active.headers.get_str(&HeaderName::CSeq), Some("2 NOTIFY"));
    assert_eq!(
        active.headers.get_str(&HeaderName::SubscriptionState),
        Some("active;expires=590")
    );
    assert!(n.authorize(None, t).is_err(), "only a pending one");
    s.handle_notify(&active, t);
    assert_eq!(s.status(), &SubscriptionStatus::Active);
    // A refresh: 200 with Expires, expiry moved.
    let t = t + Duration::from_secs(530);
    s.handle_timeout(t);
    let refresh = next(&mut s);
    let resp = n.handle_subscribe(&refresh, t);
    assert_eq!(resp.status.code(), 200);
    assert_eq!(resp.headers.get_str(&HeaderName::Expires), Some("600"));
    assert_eq!(n.poll_timeout(), Some(t + Duration::from_secs(600)));
    // The same request again is out of order; another event is 489.
    assert_eq!(n.handle_subscribe(&refresh, t).status.code(), 500);
    let mut other = refresh.clone();
    other.headers.set(HeaderName::Event, "presence");
    assert_eq!(n.handle_subscribe(&other, t).status.code(), 489);
    // Expiry without refresh: terminated;reason=timeout.
    let end = t + Duration::from_secs(600);
    assert!(n.handle_timeout(end - Duration::from_secs(1)).is_none());
    let last = n.handle_timeout(end).unwrap();
    assert_eq!(
        last.headers.get_str(&HeaderName::SubscriptionState),
        Some("terminated;reason=timeout")
    );
    assert!(n.is_done() && n.poll_timeout().is_none());
    assert_eq!(n.handle_subscribe(&refresh, end).status.code(), 481);
    // The subscriber resubscribes at once.
    s.handle_response(&resp, t);
    s.handle_notify(&last, end);
    let again = next(&mut s);
    assert!(again
        .headers
        .typed::<To>()
        .unwrap()
        .unwrap()
        .tag()
        .is_none());
}

#[test]
fn notifier_drops_a_subscription_whose_notify_fails() {
    let now = Instant::now();
    let (_, mut n) = established(now);
    let notify = n.notify(None, now).unwrap();
    assert!(n.handle_notify_response(&reply(&notify, 200, None, &[])));
    let notify = n.notify(None, now).unwrap();
    assert!(!n.handle_notify_response(&reply(&notify, 481, None, &[])));
    assert!(n.is_done());
    assert!(matches!(n.status(), SubscriptionStatus::Terminated { .. }));
}

#[test]
fn a_challenged_refresh_is_answered_in_the_dialog() {
    let now = Instant::now();
    let (mut s, _) = established(now);
    let t = now + Duration::from_secs(540);
    s.handle_timeout(t);
    let refresh = next(&mut s);
    let challenge = reply(
        &refresh,
        407,
        None,
        &[(
            HeaderName::ProxyAuthenticate,
            "Digest realm=\"example.test\", nonce=\"n2\"",
        )],
    );
    s.handle_response(&challenge, t);
    let answer = next(&mut s);
    assert!(answer.headers.contains(&HeaderName::ProxyAuthorization));
    assert_eq!(
        answer.headers.typed::<To>().unwrap().unwrap().tag(),
        Some("b1")
    );
    assert_eq!(answer.headers.get_str(&HeaderName::Expires), Some("600"));
    // Its 2xx moves the expiry.
    s.handle_response(
        &reply(&answer, 200, None, &[(HeaderName::Expires, "300")]),
        t,
    );
    assert_eq!(s.poll_timeout(), Some(t + Duration::from_secs(240)));
    assert_eq!(s.status(), &SubscriptionStatus::Active);
}

#[test]
fn initial_subscribe_with_a_body_and_an_event_id() {
    let mut cfg = config();
    cfg.event_id = Some("q1".into());
    cfg.body = Some(crate::invite::Body {
        content_type: "application/simple-filter+xml".into(),
        data: b"<filter-set/>".to_vec(),
    });
    let mut s = Subscriber::new(cfg, CredentialStore::new());
    s.subscribe();
    let r = next(&mut s);
    assert_eq!(
        r.headers.get_str(&HeaderName::Event),
        Some("presence;id=q1")
    );
    assert_eq!(
        r.headers.get_str(&HeaderName::ContentType),
        Some("application/simple-filter+xml")
    );
    assert_eq!(r.headers.get_str(&HeaderName::ContentLength), Some("13"));
    assert_eq!(&r.body[..], b"<filter-set/>");
    // It parses back as sent.
    let wire = crate::Message::Request(r.clone()).to_bytes();
    let parsed = crate::Message::parse(wire).unwrap();
    assert_eq!(parsed.body(), &r.body);
}
