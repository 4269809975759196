//! Instant messages over pager-mode MESSAGE between two applications in
//! one process on loopback: CPIM-wrapped (RFC 3862) with disposition
//! notifications asked for (RFC 5438): bob's account answers the
//! delivery request itself and sends the display one when told; alice
//! sees both for the message id she sent. An is-composing indication
//! (RFC 3994 §3.2) arrives as such; a CPIM body that does not parse gets
//! 400 with a Warning saying why; a plain message keeps its Subject.
//!
//! Bob's notifications go back to `sip:alice@example.test`, a name no DNS
//! knows: bob's outbound proxy is alice's own address, as a real proxy
//! would route them.

mod common;

use common::until;
use payloads::imdn::Disposition;
use payloads::iscomposing::State;
use sipsimple::application::SipApplication;
use sipsimple::config::MemoryBackend;
use sipsimple::engine::TransportKind;
use sipsimple::instant_message::{self, ImOptions};
use sipsimple::message::MessageError;
use sipsimple::notification::{Filter, NotificationData, Subscription};

fn config(user: &str, extra: &str) -> MemoryBackend {
    let text = format!(
        "local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = [\"udp\"]\nudp_port = 0\n\
         [accounts.\"{user}@example.test\"]\nenabled = true\n\
         display_name = \"{user} example\"\nregistration.enabled = false\n{extra}"
    );
    MemoryBackend::with(text.parse().unwrap())
}

struct Pair {
    alice: SipApplication,
    bob: SipApplication,
    alice_events: Subscription,
    bob_events: Subscription,
    bob_uri: String,
}

async fn pair() -> Pair {
    let alice = SipApplication::new();
    let alice_events = alice.notification_center().subscribe(Filter::all());
    alice.start(config("alice", "")).await.unwrap();
    let alice_addr = alice
        .engine()
        .unwrap()
        .local_addr(TransportKind::Udp)
        .unwrap();
    let bob = SipApplication::new();
    let bob_events = bob.notification_center().subscribe(Filter::all());
    bob.start(config(
        "bob",
        &format!("sip.outbound_proxy = \"sip:{alice_addr}\"\n"),
    ))
    .await
    .unwrap();
    let bob_addr = bob
        .engine()
        .unwrap()
        .local_addr(TransportKind::Udp)
        .unwrap();
    let bob_account = bob
        .account_manager()
        .get_account("bob@example.test")
        .unwrap();
    let bob_uri = format!("sip:{}@{bob_addr}", bob_account.contact_username());
    Pair {
        alice,
        bob,
        alice_events,
        bob_events,
        bob_uri,
    }
}

impl Pair {
    fn account(app: &SipApplication, user: &str) -> std::sync::Arc<sipsimple::account::Account> {
        app.account_manager()
            .get_account(&format!("{user}@example.test"))
            .unwrap()
    }

    async fn stop(self) {
        self.alice.stop();
        self.bob.stop();
    }
}

#[tokio::test]
async fn cpim_message_with_delivery_and_display_notifications() {
    let mut p = pair().await;
    let alice = Pair::account(&p.alice, "alice");
    let bob = Pair::account(&p.bob, "bob");
    let sent = instant_message::send_im(
        &alice,
        &p.bob_uri,
        "text/plain",
        "hello bob".into(),
        &ImOptions::with_delivery(true),
    )
    .await
    .unwrap();
    assert_eq!(sent.delivered.code, 200);
    let id = sent.message_id.clone().expect("a CPIM message has an id");

    let seen = until(&mut p.bob_events, "SIPAccountGotMessage").await;
    let got = seen.last().unwrap();
    assert_eq!(got.sender, bob.sender(), "posted under the account");
    let NotificationData::SIPAccountGotMessage { message } = &got.data else {
        unreachable!()
    };
    assert!(message.cpim);
    assert_eq!(message.message_id, id);
    assert_eq!(message.content_type, "text/plain");
    assert_eq!(message.text(), "hello bob");
    let sender = message.sender.as_ref().unwrap();
    assert_eq!(sender.uri, "sip:alice@example.test");
    assert_eq!(sender.display_name.as_deref(), Some("alice example"));
    assert!(
        message.timestamp.is_some(),
        "RFC 5438 §6.3 wants a DateTime"
    );
    let request = message.notification_request.as_ref().unwrap();
    assert!(request.wants(&Disposition::PositiveDelivery));
    assert!(request.wants(&Disposition::Display));
    // The raw MESSAGE is still posted by the application.
    assert!(seen.iter().any(|n| n.name() == "SIPEngineGotMessage"));

    // Bob's account said "delivered" on its own.
    let seen = until(&mut p.alice_events, "SIPAccountGotDispositionNotification").await;
    let n = seen.last().unwrap();
    assert_eq!(n.sender, alice.sender());
    match &n.data {
        NotificationData::SIPAccountGotDispositionNotification {
            message_id,
            kind,
            status,
            sender,
        } => {
            assert_eq!(message_id, &id);
            assert_eq!(*kind, "delivery");
            assert_eq!(status, "delivered");
            assert!(sender
                .as_ref()
                .unwrap()
                .uri
                .starts_with("sip:bob@example.test"));
        }
        other => panic!("{other:?}"),
    }

    // Display is the application's to say.
    let message = message.clone();
    instant_message::send_display_notification(&bob, &message)
        .await
        .unwrap();
    let seen = until(&mut p.alice_events, "SIPAccountGotDispositionNotification").await;
    match &seen.last().unwrap().data {
        NotificationData::SIPAccountGotDispositionNotification {
            message_id,
            kind,
            status,
            ..
        } => {
            assert_eq!(message_id, &id);
            assert_eq!(*kind, "display");
            assert_eq!(status, "displayed");
        }
        other => panic!("{other:?}"),
    }
    p.stop().await;
}

#[tokio::test]
async fn composing_plain_and_refused_messages() {
    let mut p = pair().await;
    let alice = Pair::account(&p.alice, "alice");

    instant_message::send_composing(&alice, &p.bob_uri, State::Active, Some(60))
        .await
        .unwrap();
    let seen = until(&mut p.bob_events, "SIPAccountGotComposingIndication").await;
    match &seen.last().unwrap().data {
        NotificationData::SIPAccountGotComposingIndication {
            state,
            refresh,
            sender,
            ..
        } => {
            assert_eq!(state, "active");
            assert_eq!(*refresh, Some(60));
            assert_eq!(sender.as_ref().unwrap().uri, "sip:alice@example.test");
        }
        other => panic!("{other:?}"),
    }

    // A plain message: not CPIM, no notification asked, no id to quote
    // but its Call-ID.
    let sent = instant_message::send_im(
        &alice,
        &p.bob_uri,
        "text/plain",
        "plain".into(),
        &ImOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(sent.message_id, None);
    let seen = until(&mut p.bob_events, "SIPAccountGotMessage").await;
    let NotificationData::SIPAccountGotMessage { message } = &seen.last().unwrap().data else {
        unreachable!()
    };
    assert!(!message.cpim);
    assert_eq!(message.text(), "plain");
    assert!(message.notification_request.is_none());
    assert!(!message.message_id.is_empty());

    // A CPIM body without its header blocks is refused, with why.
    let err = alice
        .send_message(&p.bob_uri, "message/cpim", "not cpim at all")
        .await
        .unwrap_err();
    assert!(
        matches!(err, MessageError::Rejected { code: 400, .. }),
        "{err:?}"
    );
    // And bob posted nothing for it: the next account message is the
    // one after.
    instant_message::send_im(
        &alice,
        &p.bob_uri,
        "text/plain",
        "after".into(),
        &ImOptions {
            cpim: true,
            notifications: Vec::new(),
        },
    )
    .await
    .unwrap();
    let seen = until(&mut p.bob_events, "SIPAccountGotMessage").await;
    let NotificationData::SIPAccountGotMessage { message } = &seen.last().unwrap().data else {
        unreachable!()
    };
    assert_eq!(message.text(), "after");
    assert!(message.cpim);
    assert!(message.notification_request.is_none());
    p.stop().await;
}
