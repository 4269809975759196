//! INVITE sessions end to end between two sans-IO sessions, every message
//! serialized and parsed again as the network would, on virtual time:
//! call set-up and BYE, ringing, reject, CANCEL (and a 2xx crossing it),
//! digest on the INVITE, 2xx retransmission and the ACK timeout, forked
//! 2xx, re-INVITE, and glare with the §14.1 retry.

use std::time::{Duration, Instant};

use sip_proto::digest::CredentialStore;
use sip_proto::headers::{HeaderName, NameAddr};
use sip_proto::invite::{
    Action, Body, InviteSession, Originator, SessionConfig, SessionEvent, SessionState,
};
use sip_proto::transaction::TimerConfig;
use sip_proto::uri::Uri;
use sip_proto::{Message, Method, Request, Response, StatusCode};

fn uri(s: &str) -> Uri<'static> {
    Uri::parse(s).unwrap().into_owned()
}

fn config(user: &str, port: u16, tag: &str) -> SessionConfig {
    SessionConfig {
        local: NameAddr::new(uri(&format!("sip:{user}@example.test"))),
        contact: uri(&format!("sip:{user}@127.0.0.1:{port}")),
        via: format!("SIP/2.0/UDP 127.0.0.1:{port};rport"),
        branch_prefix: format!("{user}{tag}"),
        local_tag: tag.into(),
        user_agent: Some(format!("{user}-ua")),
        timers: TimerConfig::default(),
        credentials: None,
        allow: None,
    }
}

/// Through bytes and back, as the network would deliver it.
fn wire(m: Message) -> Message {
    Message::parse(m.to_bytes()).expect("what a session sends parses")
}

fn request(m: Message) -> Request {
    match wire(m) {
        Message::Request(r) => r,
        other => panic!("not a request: {other:?}"),
    }
}

fn response(m: Message) -> Response {
    match wire(m) {
        Message::Response(r) => r,
        other => panic!("not a response: {other:?}"),
    }
}

fn events(s: &mut InviteSession) -> Vec<SessionEvent> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

fn only_request(actions: Vec<Action>) -> Request {
    match actions.as_slice() {
        [Action::SendRequest(r)] => request(Message::Request(r.clone())),
        other => panic!("expected one request: {other:?}"),
    }
}

fn only_response(actions: Vec<Action>) -> Response {
    match actions.as_slice() {
        [Action::Respond(r)] => response(Message::Response(r.clone())),
        other => panic!("expected one response: {other:?}"),
    }
}

fn stateless(actions: &[Action]) -> Vec<Message> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::SendStateless(m) => Some(wire(m.clone())),
            _ => None,
        })
        .collect()
}

const OFFER: &[u8] = b"v=0\r\no=alice 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
const ANSWER: &[u8] = b"v=0\r\no=bob 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n";

/// Alice calls bob: returns both sessions with bob's INVITE delivered.
fn call() -> (InviteSession, InviteSession, Request) {
    let (alice, invite) = InviteSession::outgoing(
        config("alice", 5060, "atag"),
        NameAddr::new(uri("sip:bob@example.test")),
        uri("sip:bob@127.0.0.1:5070"),
        "call-1@127.0.0.1",
        Some(Body::sdp(OFFER)),
    );
    let invite = request(Message::Request(invite));
    let bob = InviteSession::incoming(config("bob", 5070, "btag"), &invite);
    (alice, bob, invite)
}

/// Call set up: alice and bob both Confirmed.
fn established(now: Instant) -> (InviteSession, InviteSession) {
    let (mut alice, mut bob, _) = call();
    let ok = only_response(bob.accept(Some(Body::sdp(ANSWER)), now).unwrap());
    let acks = stateless(&alice.handle_response(&ok, now));
    let Some(Message::Request(ack)) = acks.first() else {
        panic!("no ACK")
    };
    assert!(bob.handle_ack(ack).is_empty());
    events(&mut alice);
    events(&mut bob);
    (alice, bob)
}

#[test]
fn a_call_rings_is_answered_acked_and_ended_with_bye() {
    let now = Instant::now();
    let (mut alice, mut bob, invite) = call();
    assert_eq!(alice.state(), SessionState::Calling);
    assert_eq!(invite.method, Method::Invite);
    assert_eq!(invite.body.as_ref(), OFFER);
    assert_eq!(bob.state(), SessionState::Incoming);

    let ringing = only_response(bob.ring(180, None).unwrap());
    assert_eq!(ringing.status, StatusCode::RINGING);
    assert!(alice.handle_response(&ringing, now).is_empty());
    assert_eq!(alice.state(), SessionState::Proceeding);
    assert!(matches!(
        events(&mut alice).as_slice(),
        [SessionEvent::Provisional { code: 180, .. }]
    ));
    assert!(
        alice.dialog().is_some(),
        "a tagged 180 makes an early dialog"
    );

    let ok = only_response(bob.accept(Some(Body::sdp(ANSWER)), now).unwrap());
    assert_eq!(bob.state(), SessionState::Accepting);
    assert!(ok
        .headers
        .get_str(&HeaderName::Contact)
        .unwrap()
        .contains("bob@127.0.0.1:5070"));
    let actions = alice.handle_response(&ok, now);
    let acks = stateless(&actions);
    let [Message::Request(ack)] = acks.as_slice() else {
        panic!("{actions:?}")
    };
    assert_eq!(ack.method, Method::Ack);
    assert_eq!(
        ack.uri_str(),
        "sip:bob@127.0.0.1:5070",
        "to the remote target"
    );
    assert_eq!(ack.headers.get_str(&HeaderName::CSeq), Some("1 ACK"));
    assert_eq!(alice.state(), SessionState::Confirmed);
    assert_eq!(
        events(&mut alice),
        [SessionEvent::Established {
            body: Some(Body::sdp(ANSWER))
        }]
    );

    assert!(bob.handle_ack(ack).is_empty());
    assert_eq!(bob.state(), SessionState::Confirmed);
    assert_eq!(events(&mut bob), [SessionEvent::Established { body: None }]);
    assert_eq!(
        bob.poll_timeout(),
        None,
        "the ACK stopped the 2xx retransmissions"
    );

    let bye = only_request(alice.end().unwrap());
    assert_eq!(bye.method, Method::Bye);
    assert_eq!(bye.headers.get_str(&HeaderName::CSeq), Some("2 BYE"));
    // RFC 3326: the BYE says why.
    assert_eq!(
        bye.headers.get_str(&HeaderName::Reason),
        Some("SIP ;cause=200 ;text=\"Call completed\"")
    );
    assert_eq!(alice.state(), SessionState::Terminating);
    let ok = only_response(bob.handle_request(&bye, now));
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(
        events(&mut bob),
        [SessionEvent::Ended {
            originator: Originator::Remote,
            reason: "Call completed".into()
        }]
    );
    alice.handle_response(&ok, now);
    assert_eq!(alice.state(), SessionState::Terminated);
    assert!(matches!(
        events(&mut alice).as_slice(),
        [SessionEvent::Ended {
            originator: Originator::Local,
            ..
        }]
    ));
}

#[test]
fn a_rejected_call_fails_with_the_code_on_both_sides() {
    let now = Instant::now();
    let (mut alice, mut bob, _) = call();
    let busy = only_response(bob.reject(486, "Busy Here").unwrap());
    assert_eq!(busy.status.code(), 486);
    assert_eq!(busy.reason(), "Busy Here");
    alice.handle_response(&busy, now);
    assert_eq!(alice.state(), SessionState::Terminated);
    assert_eq!(
        events(&mut alice),
        [SessionEvent::Failed {
            originator: Originator::Remote,
            code: 486,
            reason: "Busy Here".into()
        }]
    );
    assert!(matches!(
        events(&mut bob).as_slice(),
        [SessionEvent::Failed {
            originator: Originator::Local,
            code: 486,
            ..
        }]
    ));
}

/// RFC 3263 §4.3 failover: the first server never answered; the INVITE
/// goes again as a new transaction (new branch, next CSeq, the new
/// transport's Via and Contact, same Call-ID, tags and body), and the
/// second server's answer sets the call up.
#[test]
fn a_failed_invite_is_retried_as_a_new_transaction_for_the_next_server() {
    let now = Instant::now();
    let (mut alice, _, first) = call();
    let tcp = (
        "SIP/2.0/TCP 127.0.0.1:5062".to_owned(),
        uri("sip:alice@127.0.0.1:5062;transport=tcp"),
    );
    let again = request(Message::Request(alice.retry_invite(Some(tcp)).unwrap()));
    assert!(events(&mut alice).is_empty(), "failover is not a failure");
    let via = |r: &Request| r.headers.get_str(&HeaderName::Via).unwrap().to_owned();
    assert!(via(&again).starts_with("SIP/2.0/TCP 127.0.0.1:5062;branch=z9hG4bK"));
    assert_ne!(via(&again), via(&first));
    assert_eq!(again.headers.get_str(&HeaderName::CSeq), Some("2 INVITE"));
    assert_eq!(
        again.headers.get_str(&HeaderName::Contact),
        Some("<sip:alice@127.0.0.1:5062;transport=tcp>")
    );
    for h in [HeaderName::CallId, HeaderName::From, HeaderName::To] {
        assert_eq!(again.headers.get_str(&h), first.headers.get_str(&h));
    }
    assert_eq!(again.body, first.body);

    // The second server answers; the ACK is for the retried INVITE.
    let mut bob = InviteSession::incoming(config("bob", 5070, "btag"), &again);
    let ok = only_response(bob.accept(Some(Body::sdp(ANSWER)), now).unwrap());
    let acks = stateless(&alice.handle_response(&ok, now));
    let Some(Message::Request(ack)) = acks.first() else {
        panic!("no ACK")
    };
    assert_eq!(ack.headers.get_str(&HeaderName::CSeq), Some("2 ACK"));
    assert_eq!(alice.state(), SessionState::Confirmed);

    // Once answered there is nothing to fail over.
    assert!(alice.retry_invite(None).is_err());
}

#[test]
fn cancel_ends_an_unanswered_call_with_487() {
    let now = Instant::now();
    let (mut alice, mut bob, _) = call();
    let ringing = only_response(bob.ring(180, None).unwrap());
    alice.handle_response(&ringing, now);
    events(&mut alice);
    assert_eq!(alice.cancel().unwrap(), [Action::CancelInvite]);
    assert_eq!(alice.state(), SessionState::Cancelling);
    // The transaction layer answered the CANCEL; the INVITE gets 487.
    let terminated = only_response(bob.handle_cancel());
    assert_eq!(terminated.status, StatusCode::REQUEST_TERMINATED);
    alice.handle_response(&terminated, now);
    assert_eq!(
        events(&mut alice),
        [SessionEvent::Failed {
            originator: Originator::Local,
            code: 487,
            reason: "Request Terminated".into()
        }]
    );
    assert!(matches!(
        events(&mut bob).as_slice(),
        [SessionEvent::Failed {
            originator: Originator::Remote,
            code: 487,
            ..
        }]
    ));
    assert!(alice.cancel().is_err(), "nothing left to cancel");
}

#[test]
fn a_2xx_crossing_the_cancel_is_acked_and_ended_with_bye() {
    let now = Instant::now();
    let (mut alice, mut bob, _) = call();
    alice.cancel().unwrap();
    let ok = only_response(bob.accept(Some(Body::sdp(ANSWER)), now).unwrap());
    let actions = alice.handle_response(&ok, now);
    assert!(matches!(
        actions.as_slice(),
        [Action::SendStateless(Message::Request(ack)), Action::SendRequest(bye)]
            if ack.method == Method::Ack && bye.method == Method::Bye
    ));
    assert_eq!(alice.state(), SessionState::Terminating);
    assert!(matches!(
        events(&mut alice).as_slice(),
        [SessionEvent::Failed { code: 487, .. }]
    ));
}

#[test]
fn the_invite_is_retried_with_digest_and_the_ack_carries_it() {
    let now = Instant::now();
    let mut cfg = config("alice", 5060, "atag");
    cfg.credentials = Some(CredentialStore::with_default("alice", "secret"));
    let (mut alice, invite) = InviteSession::outgoing(
        cfg,
        NameAddr::new(uri("sip:bob@example.test")),
        uri("sip:bob@example.test"),
        "call-2@127.0.0.1",
        Some(Body::sdp(OFFER)),
    );
    let invite = request(Message::Request(invite));
    let mut challenge = Response::for_request(
        &invite,
        StatusCode::PROXY_AUTHENTICATION_REQUIRED,
        Some("proxy"),
    );
    challenge.headers.push(
        HeaderName::ProxyAuthenticate,
        "Digest realm=\"example.test\", nonce=\"abc123\", qop=\"auth\"",
    );
    let retry = only_request(alice.handle_response(&response(Message::Response(challenge)), now));
    assert_eq!(retry.headers.get_str(&HeaderName::CSeq), Some("2 INVITE"));
    let auth = retry
        .headers
        .get_str(&HeaderName::ProxyAuthorization)
        .unwrap();
    assert!(
        auth.contains("username=\"alice\"") && auth.contains("qop=auth"),
        "{auth}"
    );
    assert_ne!(
        retry.headers.get_str(&HeaderName::Via),
        invite.headers.get_str(&HeaderName::Via),
        "a new transaction, a new branch"
    );
    assert_eq!(retry.body.as_ref(), OFFER);

    let mut bob = InviteSession::incoming(config("bob", 5070, "btag"), &retry);
    let ok = only_response(bob.accept(None, now).unwrap());
    let acks = stateless(&alice.handle_response(&ok, now));
    let [Message::Request(ack)] = acks.as_slice() else {
        panic!()
    };
    assert_eq!(ack.headers.get_str(&HeaderName::CSeq), Some("2 ACK"));
    assert!(ack.headers.contains(&HeaderName::ProxyAuthorization));

    // A second challenge for the same realm means the password is wrong.
    let (mut carol, invite) = InviteSession::outgoing(
        config("carol", 5080, "ctag"),
        NameAddr::new(uri("sip:bob@example.test")),
        uri("sip:bob@example.test"),
        "call-3@127.0.0.1",
        None,
    );
    let challenge = Response::for_request(&invite, StatusCode::UNAUTHORIZED, Some("x"));
    carol.handle_response(&challenge, now);
    assert!(
        matches!(
            events(&mut carol).as_slice(),
            [SessionEvent::Failed { code: 401, .. }]
        ),
        "no credentials: the challenge fails the call"
    );
}

#[test]
fn the_200_is_retransmitted_until_the_ack_and_then_given_up() {
    let t0 = Instant::now();
    let (_alice, mut bob, _) = call();
    bob.accept(Some(Body::sdp(ANSWER)), t0).unwrap();
    let mut sent_at = Vec::new();
    let mut now = t0;
    while let Some(at) = bob.poll_timeout() {
        now = at;
        let actions = bob.handle_timeout(now);
        for a in &actions {
            match a {
                Action::SendStateless(Message::Response(r)) => {
                    assert_eq!(r.status, StatusCode::OK);
                    sent_at.push((now - t0).as_millis());
                }
                Action::SendRequest(r) => assert_eq!(r.method, Method::Bye),
                other => panic!("{other:?}"),
            }
        }
        if bob.state() != SessionState::Accepting {
            break;
        }
    }
    // T1 doubling to T2 (4 s), then every 4 s until 64*T1 = 32 s.
    assert_eq!(
        sent_at,
        [500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]
    );
    assert_eq!((now - t0).as_millis(), 32_000);
    assert_eq!(
        bob.state(),
        SessionState::Terminating,
        "BYE sent after no ACK"
    );
    assert!(matches!(
        events(&mut bob).as_slice(),
        [SessionEvent::Failed { code: 408, .. }]
    ));
}

#[test]
fn a_forked_second_2xx_is_acked_and_ended() {
    let now = Instant::now();
    let (mut alice, mut bob, invite) = call();
    let ok = only_response(bob.accept(None, now).unwrap());
    alice.handle_response(&ok, now);
    events(&mut alice);
    // The same 2xx again: only its ACK again.
    let again = alice.handle_response(&ok, now);
    assert!(matches!(again.as_slice(), [Action::SendStateless(_)]));
    // Another branch of the fork answers too.
    let mut fork = InviteSession::incoming(config("bob2", 5090, "forktag"), &invite);
    let ok2 = only_response(fork.accept(None, now).unwrap());
    let actions = alice.handle_response(&ok2, now);
    let [Action::SendStateless(Message::Request(ack)), Action::SendRequest(bye)] =
        actions.as_slice()
    else {
        panic!("{actions:?}")
    };
    assert!(ack
        .headers
        .get_str(&HeaderName::To)
        .unwrap()
        .contains("forktag"));
    assert!(bye
        .headers
        .get_str(&HeaderName::To)
        .unwrap()
        .contains("forktag"));
    assert_eq!(bye.uri_str(), "sip:bob2@127.0.0.1:5090");
    assert_eq!(
        alice.state(),
        SessionState::Confirmed,
        "the first call goes on"
    );
    assert!(events(&mut alice).is_empty());
}

#[test]
fn a_reinvite_is_offered_answered_and_acked() {
    let now = Instant::now();
    let (mut alice, mut bob) = established(now);
    let hold = b"v=0\r\no=alice 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=sendonly\r\n";
    let reinvite = only_request(alice.reinvite(Some(Body::sdp(&hold[..]))).unwrap());
    assert_eq!(
        reinvite.headers.get_str(&HeaderName::CSeq),
        Some("2 INVITE")
    );
    assert!(alice.reinvite(None).is_err(), "one at a time");
    assert!(bob.handle_request(&reinvite, now).is_empty());
    assert_eq!(
        events(&mut bob),
        [SessionEvent::RemoteReinvite {
            body: Some(Body::sdp(&hold[..]))
        }]
    );
    let ok = only_response(bob.accept_reinvite(Some(Body::sdp(ANSWER)), now).unwrap());
    let acks = stateless(&alice.handle_response(&ok, now));
    let [Message::Request(ack)] = acks.as_slice() else {
        panic!()
    };
    assert_eq!(ack.headers.get_str(&HeaderName::CSeq), Some("2 ACK"));
    assert_eq!(
        events(&mut alice),
        [SessionEvent::ReinviteAccepted {
            body: Some(Body::sdp(ANSWER))
        }]
    );
    assert!(
        bob.poll_timeout().is_some(),
        "the re-INVITE's 200 waits for its ACK"
    );
    bob.handle_ack(ack);
    assert_eq!(
        events(&mut bob),
        [SessionEvent::ReinviteAcked { body: None }]
    );
    assert_eq!(bob.poll_timeout(), None);
    assert_eq!(
        (alice.state(), bob.state()),
        (SessionState::Confirmed, SessionState::Confirmed)
    );

    // A refused re-INVITE leaves the session as it was.
    let reinvite = only_request(bob.reinvite(Some(Body::sdp(OFFER))).unwrap());
    alice.handle_request(&reinvite, now);
    events(&mut alice);
    let refused = only_response(alice.reject_reinvite(488, "Not Acceptable Here").unwrap());
    bob.handle_response(&refused, now);
    assert_eq!(
        events(&mut bob),
        [SessionEvent::ReinviteRejected {
            code: 488,
            reason: "Not Acceptable Here".into()
        }]
    );
    assert_eq!(bob.state(), SessionState::Confirmed);
}

#[test]
fn an_offerless_reinvite_gets_our_offer_in_the_200_and_its_answer_in_the_ack() {
    let now = Instant::now();
    let (mut alice, mut bob) = established(now);
    // Alice's side stands in for a peer that re-INVITEs without SDP
    // (RFC 3261 §14.2: the UAS offers in the 2xx, the answer is in the ACK).
    let reinvite = only_request(alice.reinvite(None).unwrap());
    assert!(reinvite.body.is_empty());
    bob.handle_request(&reinvite, now);
    assert_eq!(
        events(&mut bob),
        [SessionEvent::RemoteReinvite { body: None }]
    );
    let ok = only_response(bob.accept_reinvite(Some(Body::sdp(OFFER)), now).unwrap());
    assert_eq!(ok.body.as_ref(), OFFER);
    let acks = stateless(&alice.handle_response(&ok, now));
    let [Message::Request(ack)] = acks.as_slice() else {
        panic!("one ACK")
    };
    let mut ack = ack.clone();
    ack.headers.remove_all(&HeaderName::ContentLength);
    ack.headers.push(HeaderName::ContentType, "application/sdp");
    ack.headers
        .push(HeaderName::ContentLength, ANSWER.len().to_string());
    ack.body = ANSWER.to_vec().into();
    assert!(bob.handle_ack(&ack).is_empty());
    assert_eq!(
        events(&mut bob),
        [SessionEvent::ReinviteAcked {
            body: Some(Body::sdp(ANSWER))
        }]
    );
    assert_eq!(bob.poll_timeout(), None, "the 200 is no longer repeated");
}

#[test]
fn a_cancelled_reinvite_is_refused_with_487_and_the_session_goes_on() {
    let now = Instant::now();
    let (mut alice, mut bob) = established(now);
    assert!(alice.cancel_reinvite().is_err(), "nothing to cancel yet");
    let reinvite = only_request(alice.reinvite(Some(Body::sdp(OFFER))).unwrap());
    assert_eq!(
        alice.cancel_reinvite().unwrap(),
        [Action::CancelReinvite { seq: 2 }]
    );
    bob.handle_request(&reinvite, now);
    events(&mut bob);
    // The transaction layer answered the CANCEL; the session answers the
    // re-INVITE itself.
    let refused = only_response(bob.handle_reinvite_cancel());
    assert_eq!(refused.status.code(), 487);
    assert_eq!(events(&mut bob), [SessionEvent::RemoteReinviteCancelled]);
    assert!(bob.handle_reinvite_cancel().is_empty(), "only once");
    alice.handle_response(&refused, now);
    assert_eq!(
        events(&mut alice),
        [SessionEvent::ReinviteRejected {
            code: 487,
            reason: "Request Terminated".into()
        }]
    );
    assert_eq!(
        (alice.state(), bob.state()),
        (SessionState::Confirmed, SessionState::Confirmed)
    );
    // And the next re-INVITE goes through.
    assert!(alice.reinvite(Some(Body::sdp(OFFER))).is_ok());
}

#[test]
fn reinvite_glare_is_refused_with_491_and_retried_after_the_rfc_wait() {
    let t0 = Instant::now();
    let (mut alice, mut bob) = established(t0);
    let from_alice = only_request(alice.reinvite(Some(Body::sdp(OFFER))).unwrap());
    let from_bob = only_request(bob.reinvite(Some(Body::sdp(ANSWER))).unwrap());
    let to_bob = only_response(bob.handle_request(&from_alice, t0));
    let to_alice = only_response(alice.handle_request(&from_bob, t0));
    assert_eq!((to_bob.status.code(), to_alice.status.code()), (491, 491));
    alice.handle_response(&to_bob, t0);
    bob.handle_response(&to_alice, t0);
    // §14.1: alice owns the Call-ID (she called): 2.1-4 s; bob: 0-2 s.
    let alice_at = alice.poll_timeout().unwrap() - t0;
    let bob_at = bob.poll_timeout().unwrap() - t0;
    assert!(
        alice_at >= Duration::from_millis(2100) && alice_at <= Duration::from_secs(4),
        "{alice_at:?}"
    );
    assert!(bob_at <= Duration::from_secs(2), "{bob_at:?}");
    // Bob retries first and alice, idle now, takes it.
    let retry = only_request(bob.handle_timeout(t0 + bob_at));
    assert_eq!(retry.method, Method::Invite);
    assert_eq!(retry.body.as_ref(), ANSWER, "the same offer again");
    assert!(alice.handle_request(&retry, t0 + bob_at).is_empty());
    assert!(matches!(
        events(&mut alice).as_slice(),
        [SessionEvent::RemoteReinvite { .. }]
    ));
}

#[test]
fn requests_outside_the_dialog_or_out_of_order_are_refused() {
    let now = Instant::now();
    let (mut alice, mut bob) = established(now);
    let mut bye = only_request(alice.end().unwrap());
    // Another dialog's BYE: 481.
    let mut stranger = bye.clone();
    stranger.headers.remove_all(&HeaderName::CallId);
    stranger.headers.push(HeaderName::CallId, "other@x");
    assert_eq!(
        only_response(bob.handle_request(&stranger, now))
            .status
            .code(),
        481
    );
    // An older CSeq than the peer's last: 500 (§12.2.2).
    bye.headers.remove_all(&HeaderName::CSeq);
    bye.headers.push(HeaderName::CSeq, "0 BYE");
    assert_eq!(
        only_response(bob.handle_request(&bye, now)).status.code(),
        500
    );
    assert_eq!(bob.state(), SessionState::Confirmed);
}

#[test]
fn methods_in_the_wrong_state_say_which_state() {
    let now = Instant::now();
    let (mut alice, mut bob, _) = call();
    let e = alice.accept(None, now).unwrap_err();
    assert_eq!(e.state, SessionState::Calling);
    assert!(e
        .to_string()
        .contains("accept is not possible while the session is Calling"));
    assert!(bob.reinvite(None).is_err());
    assert!(bob.ring(200, None).is_err(), "a provisional code only");
    bob.reject(603, "Decline").unwrap();
    assert_eq!(bob.end().unwrap_err().state, SessionState::Terminated);
}

/// Found through Kamailio: the UAS copies the INVITE's Record-Route into
/// its 1xx and 2xx (RFC 3261 §12.1.1), so the caller's ACK and BYE go
/// through the proxies that asked to stay on the path.
#[test]
fn record_route_reaches_the_caller_and_routes_its_requests() {
    let now = Instant::now();
    let (mut alice, invite) = InviteSession::outgoing(
        config("alice", 5060, "atag"),
        NameAddr::new(uri("sip:bob@example.test")),
        uri("sip:bob@example.test"),
        "call-rr@127.0.0.1",
        Some(Body::sdp(OFFER)),
    );
    // What a proxy does before relaying: two Record-Routes.
    let mut relayed = request(Message::Request(invite));
    relayed
        .headers
        .push(HeaderName::RecordRoute, "<sip:p2.example.test;lr>");
    relayed
        .headers
        .push(HeaderName::RecordRoute, "<sip:p1.example.test;lr>");
    let mut bob = InviteSession::incoming(config("bob", 5070, "btag"), &relayed);
    let ringing = only_response(bob.ring(180, None).unwrap());
    let ok = only_response(bob.accept(None, now).unwrap());
    for r in [&ringing, &ok] {
        let rr: Vec<&str> = r
            .headers
            .get_all(&HeaderName::RecordRoute)
            .map(|h| h.value)
            .collect();
        assert_eq!(rr, ["<sip:p2.example.test;lr>", "<sip:p1.example.test;lr>"]);
    }
    let acks = stateless(&alice.handle_response(&ok, now));
    let [Message::Request(ack)] = acks.as_slice() else {
        panic!()
    };
    // The caller's route set is the reverse: p1 first.
    let routes: Vec<&str> = ack
        .headers
        .get_all(&HeaderName::Route)
        .map(|h| h.value)
        .collect();
    assert_eq!(
        routes,
        ["<sip:p1.example.test;lr>", "<sip:p2.example.test;lr>"]
    );
    assert_eq!(ack.uri_str(), "sip:bob@127.0.0.1:5070");
    let bye = only_request(alice.end().unwrap());
    assert_eq!(bye.headers.get_all(&HeaderName::Route).count(), 2);
}

/// The peer's BYE says why in a Reason header (RFC 3326), or not at all:
/// the end reason is its text, else "BYE".
#[test]
fn the_end_reason_is_the_text_of_the_byes_reason_header() {
    for (reason, expected) in [
        (
            Some("Q.850 ;cause=16 ;text=\"Normal call clearing\""),
            "Normal call clearing",
        ),
        (None, "BYE"),
    ] {
        let now = Instant::now();
        let (mut alice, mut bob) = established(now);
        let mut bye = only_request(alice.end().unwrap());
        bye.headers.remove_all(&HeaderName::Reason);
        if let Some(r) = reason {
            bye.headers.push(HeaderName::Reason, r);
        }
        let bye = request(Message::Request(bye));
        only_response(bob.handle_request(&bye, now));
        assert_eq!(
            events(&mut bob),
            [SessionEvent::Ended {
                originator: Originator::Remote,
                reason: expected.into()
            }]
        );
    }
}
