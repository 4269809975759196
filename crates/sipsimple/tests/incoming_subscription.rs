//! We as the notifier (RFC 6665 §4.2): alice's application serves the
//! presence package, bob's account subscribes to her directly on
//! loopback. Alice decides each subscription (accept, accept pending
//! then authorize, reject), pushes new state, and bob's account posts
//! each document; bob's unsubscribe and alice's stopping end it with the
//! NOTIFY the RFC asks for; a package alice does not serve gets 489.

mod common;

use common::until;
use payloads::pidf::{Basic, Note, Presence, Tuple};
use sipsimple::application::SipApplication;
use sipsimple::config::MemoryBackend;
use sipsimple::engine::TransportKind;
use sipsimple::notification::{Filter, NotificationData, Subscription};
use sipsimple::subscription::{IncomingSubscription, IncomingSubscriptionState, SubscriptionState};

const PIDF: &str = "application/pidf+xml";

fn config(user: &str) -> MemoryBackend {
    let text = format!(
        "local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = [\"udp\"]\nudp_port = 0\n\
         [accounts.\"{user}@example.test\"]\nenabled = true\nregistration.enabled = false\n"
    );
    MemoryBackend::with(text.parse().unwrap())
}

async fn app(user: &str) -> (SipApplication, Subscription) {
    let app = SipApplication::new();
    let events = app.notification_center().subscribe(Filter::all());
    app.start(config(user)).await.unwrap();
    (app, events)
}

fn pidf(note: &str) -> String {
    let mut p = Presence::new("sip:alice@example.test");
    let mut t = Tuple::new("t1", Basic::Open);
    t.notes.push(Note::new(note));
    p.tuples.push(t);
    p.to_xml()
}

/// Alice's address as bob subscribes to it.
fn alice_uri(alice: &SipApplication) -> String {
    let addr = alice
        .engine()
        .unwrap()
        .local_addr(TransportKind::Udp)
        .unwrap();
    format!("sip:alice@{addr}")
}

async fn got_subscribe(events: &mut Subscription) -> IncomingSubscription {
    let seen = until(events, "SIPIncomingSubscriptionGotSubscribe").await;
    match &seen.last().unwrap().data {
        NotificationData::SIPIncomingSubscriptionGotSubscribe {
            subscription,
            event,
            from,
            ..
        } => {
            assert_eq!(event, "presence");
            assert!(from.contains("sip:bob@example.test"), "{from}");
            subscription.clone()
        }
        _ => unreachable!(),
    }
}

/// The note of the next presence document bob's account posts (None:
/// a NOTIFY without one, e.g. while pending).
async fn next_note(events: &mut Subscription) -> Option<String> {
    let seen = until(events, "SIPAccountGotPresenceState").await;
    match &seen.last().unwrap().data {
        NotificationData::SIPAccountGotPresenceState { presence, .. } => {
            presence.as_ref().map(|p| p.tuples[0].notes[0].text.clone())
        }
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn accepted_watcher_sees_each_state_and_unsubscribes() {
    let (alice, mut alice_events) = app("alice").await;
    alice.incoming_subscriptions().accept_events(&["presence"]);
    let (bob, mut bob_events) = app("bob").await;
    let bob_account = bob
        .account_manager()
        .get_account("bob@example.test")
        .unwrap();

    let watching = bob_account
        .watch_presence(&alice_uri(&alice))
        .await
        .unwrap();
    let incoming = got_subscribe(&mut alice_events).await;
    assert_eq!(incoming.state(), IncomingSubscriptionState::Incoming);
    incoming.accept(PIDF, pidf("at my desk"));
    assert_eq!(
        next_note(&mut bob_events).await.as_deref(),
        Some("at my desk")
    );
    assert_eq!(incoming.state(), IncomingSubscriptionState::Active);
    assert_eq!(watching.state(), SubscriptionState::Active);
    assert_eq!(
        alice.incoming_subscriptions().subscriptions(),
        vec![incoming.clone()]
    );

    incoming.push_content(PIDF, pidf("out to lunch"));
    assert_eq!(
        next_note(&mut bob_events).await.as_deref(),
        Some("out to lunch")
    );

    // Bob unsubscribes: alice's side hears it and ends (remote).
    bob_account.unwatch_presence(&alice_uri(&alice));
    let seen = until(&mut alice_events, "SIPIncomingSubscriptionDidEnd").await;
    assert!(seen
        .iter()
        .any(|n| n.name() == "SIPIncomingSubscriptionGotUnsubscribe"));
    match &seen.last().unwrap().data {
        NotificationData::SIPIncomingSubscriptionDidEnd { originator } => {
            assert_eq!(originator, "remote")
        }
        _ => unreachable!(),
    }
    until(&mut bob_events, "SIPSubscriptionDidEnd").await;
    assert_eq!(watching.state(), SubscriptionState::Terminated);
    assert_eq!(incoming.state(), IncomingSubscriptionState::Terminated);
    assert!(alice.incoming_subscriptions().subscriptions().is_empty());
    alice.stop();
    bob.stop();
    until(&mut bob_events, "SIPApplicationDidEnd").await;
}

#[tokio::test]
async fn pending_then_authorized_and_rejected_and_unserved_packages() {
    let (alice, mut alice_events) = app("alice").await;
    alice.incoming_subscriptions().accept_events(&["presence"]);
    let (bob, mut bob_events) = app("bob").await;
    let bob_account = bob
        .account_manager()
        .get_account("bob@example.test")
        .unwrap();

    // Pending (202): bob's account gets a NOTIFY with no document, then
    // the document once alice authorizes.
    let watching = bob_account
        .watch_presence(&alice_uri(&alice))
        .await
        .unwrap();
    let incoming = got_subscribe(&mut alice_events).await;
    incoming.accept_pending();
    assert_eq!(next_note(&mut bob_events).await, None);
    assert_eq!(watching.state(), SubscriptionState::Pending);
    incoming.accept(PIDF, pidf("you may see me"));
    assert_eq!(
        next_note(&mut bob_events).await.as_deref(),
        Some("you may see me")
    );
    assert_eq!(watching.state(), SubscriptionState::Active);

    // Alice ends it herself: the final NOTIFY says so, bob's side ends.
    incoming.end(None);
    let seen = until(&mut bob_events, "SIPSubscriptionDidEnd").await;
    match &seen.last().unwrap().data {
        NotificationData::SIPSubscriptionDidEnd { originator, reason } => {
            assert_eq!(originator, "remote");
            assert_eq!(reason.as_deref(), Some("noresource"));
        }
        _ => unreachable!(),
    }
    let seen = until(&mut alice_events, "SIPIncomingSubscriptionDidEnd").await;
    assert!(matches!(
        &seen.last().unwrap().data,
        NotificationData::SIPIncomingSubscriptionDidEnd { originator } if originator == "local"
    ));

    // Rejected: the SUBSCRIBE's answer is the refusal.
    let refused = bob_account
        .subscribe(&alice_uri(&alice), "presence", &[PIDF])
        .await
        .unwrap();
    got_subscribe(&mut alice_events).await.reject(403);
    let seen = until(&mut bob_events, "SIPSubscriptionDidFail").await;
    match &seen.last().unwrap().data {
        NotificationData::SIPSubscriptionDidFail { code, .. } => assert_eq!(*code, 403),
        _ => unreachable!(),
    }
    until(&mut bob_events, "SIPSubscriptionDidEnd").await;
    assert_eq!(refused.state(), SubscriptionState::Terminated);

    // A package alice does not serve: 489 Bad Event.
    let _unserved = bob_account
        .subscribe(
            &alice_uri(&alice),
            "dialog",
            &["application/dialog-info+xml"],
        )
        .await
        .unwrap();
    let seen = until(&mut bob_events, "SIPSubscriptionDidFail").await;
    match &seen.last().unwrap().data {
        NotificationData::SIPSubscriptionDidFail { code, .. } => assert_eq!(*code, 489),
        _ => unreachable!(),
    }
    alice.stop();
    bob.stop();
    until(&mut bob_events, "SIPApplicationDidEnd").await;
}

#[tokio::test]
async fn stopping_the_notifier_ends_its_subscriptions_with_a_final_notify() {
    let (alice, mut alice_events) = app("alice").await;
    alice.incoming_subscriptions().accept_events(&["presence"]);
    let (bob, mut bob_events) = app("bob").await;
    let bob_account = bob
        .account_manager()
        .get_account("bob@example.test")
        .unwrap();
    let watching = bob_account
        .watch_presence(&alice_uri(&alice))
        .await
        .unwrap();
    got_subscribe(&mut alice_events)
        .await
        .accept(PIDF, pidf("here"));
    assert_eq!(next_note(&mut bob_events).await.as_deref(), Some("here"));

    alice.stop();
    let seen = until(&mut bob_events, "SIPSubscriptionDidEnd").await;
    match &seen.last().unwrap().data {
        NotificationData::SIPSubscriptionDidEnd { originator, reason } => {
            assert_eq!(originator, "remote");
            assert_eq!(reason.as_deref(), Some("noresource"));
        }
        _ => unreachable!(),
    }
    assert_eq!(watching.state(), SubscriptionState::Terminated);
    until(&mut alice_events, "SIPApplicationDidEnd").await;
    bob.stop();
    until(&mut bob_events, "SIPApplicationDidEnd").await;
}
