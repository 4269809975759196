//! Pager-mode MESSAGE (RFC 3428) between two applications in one process
//! on loopback: alice's account sends, bob's application answers 200 and
//! posts SIPEngineGotMessage; a MESSAGE to bob's address for a user he
//! does not know reaches his only (or default) account, and gets 404 when
//! he has several and none is the default.

mod common;

use common::next_notification as next;
use sipsimple::application::SipApplication;
use sipsimple::config::MemoryBackend;
use sipsimple::engine::TransportKind;
use sipsimple::message::MessageError;
use sipsimple::notification::{Filter, NotificationData};

fn config(user: &str, transports: &str) -> String {
    format!(
        r#"
local_ip = "127.0.0.1"
[sip]
transport_list = [{transports}]
[logging]
trace_sip = true
[accounts."{user}@example.test"]
enabled = true
display_name = "{user} example"
registration.enabled = false
"#
    )
}

async fn app(user: &str, transports: &str) -> SipApplication {
    app_with(user, transports, "").await
}

async fn app_with(user: &str, transports: &str, extra: &str) -> SipApplication {
    let app = SipApplication::new();
    app.start(MemoryBackend::with(
        (config(user, transports) + extra).parse().unwrap(),
    ))
    .await
    .unwrap();
    app
}

async fn message_from_alice_to_bob(transport: TransportKind, transports: &str) {
    let alice = app("alice", transports).await;
    let bob = app("bob", transports).await;
    let bob_account = bob
        .account_manager()
        .get_account("bob@example.test")
        .unwrap();
    let bob_addr = bob.engine().unwrap().local_addr(transport).unwrap();
    let param = match transport {
        TransportKind::Tcp => ";transport=tcp",
        _ => "",
    };
    let to = format!("sip:{}@{bob_addr}{param}", bob_account.contact_username());
    // The spec's contact[transport] is exactly that address.
    assert_eq!(bob_account.contact(transport).unwrap().to_string(), to);
    let mut got = bob
        .notification_center()
        .subscribe(Filter::name("SIPEngineGotMessage"));
    let mut outcome = alice
        .notification_center()
        .subscribe(Filter::name("SIPMessageDidSucceed"));
    let mut wire = alice
        .notification_center()
        .subscribe(Filter::name("SIPEngineSIPTrace"));
    let mut lookups = alice
        .notification_center()
        .subscribe(Filter::name("DNSLookupDidSucceed"));

    let alice_account = alice
        .account_manager()
        .get_account("alice@example.test")
        .unwrap();
    let delivered = alice_account
        .send_message(&to, "text/plain", "hello bob")
        .await
        .unwrap();
    assert_eq!(delivered.code, 200);
    assert_eq!(delivered.route.transport, transport);
    assert_eq!(delivered.route.socket_addr(), bob_addr);
    assert!(matches!(
        next(&mut outcome).await.data,
        NotificationData::SIPMessageDidSucceed { code: 200, .. }
    ));
    // Sent once and answered: the first datagram of a fresh engine is
    // not lost (it once was, and only the retransmission got through).
    let mut sent = 0;
    loop {
        let NotificationData::SIPEngineSIPTrace { received, text, .. } = next(&mut wire).await.data
        else {
            continue;
        };
        if !received && text.starts_with("MESSAGE ") {
            sent += 1;
        }
        if received && text.starts_with("SIP/2.0 200") {
            break;
        }
    }
    assert_eq!(sent, 1, "the MESSAGE went out once");
    // The route came from the application's RFC 3263 lookup, which
    // reports itself.
    let NotificationData::DNSLookupDidSucceed { result } = next(&mut lookups).await.data else {
        unreachable!()
    };
    assert_eq!(result, [delivered.route]);

    let n = next(&mut got).await;
    assert_eq!(n.sender, bob.sender());
    let NotificationData::SIPEngineGotMessage {
        request_uri,
        from_header,
        content_type,
        body,
        ..
    } = n.data
    else {
        panic!("{n:?}")
    };
    assert_eq!(request_uri, to);
    assert!(
        from_header.starts_with("\"alice example\" <sip:alice@example.test>;tag="),
        "{from_header}"
    );
    assert_eq!(content_type, "text/plain");
    assert_eq!(body, b"hello bob");

    alice.stop();
    bob.stop();
}

#[tokio::test]
async fn alice_sends_bob_a_message_over_udp() {
    message_from_alice_to_bob(TransportKind::Udp, r#""udp""#).await;
}

#[tokio::test]
async fn alice_sends_bob_a_message_over_tcp() {
    message_from_alice_to_bob(TransportKind::Tcp, r#""tcp""#).await;
}

#[tokio::test]
async fn a_message_to_our_address_for_an_unknown_user_reaches_the_only_account() {
    let alice = app("alice", r#""udp""#).await;
    let bob = app("bob", r#""udp""#).await;
    let bob_addr = bob
        .engine()
        .unwrap()
        .local_addr(TransportKind::Udp)
        .unwrap();
    let mut got = bob
        .notification_center()
        .subscribe(Filter::name("SIPEngineGotMessage"));
    let alice_account = alice
        .account_manager()
        .get_account("alice@example.test")
        .unwrap();
    alice_account
        .send_message(&format!("sip:carol@{bob_addr}"), "text/plain", "hi")
        .await
        .unwrap();
    let NotificationData::SIPEngineGotMessage { body, .. } = next(&mut got).await.data else {
        unreachable!()
    };
    assert_eq!(body, b"hi");
    alice.stop();
    bob.stop();
}

#[tokio::test]
async fn a_message_for_nobody_here_gets_404_and_did_fail() {
    let alice = app("alice", r#""udp""#).await;
    // Two accounts, no default: a user bob does not know is nobody's.
    let bob = app_with(
        "bob",
        r#""udp""#,
        "[accounts.\"robert@example.test\"]\nenabled = true\nregistration.enabled = false\n",
    )
    .await;
    let bob_addr = bob
        .engine()
        .unwrap()
        .local_addr(TransportKind::Udp)
        .unwrap();
    let mut failed = alice
        .notification_center()
        .subscribe(Filter::name("SIPMessageDidFail"));
    let alice_account = alice
        .account_manager()
        .get_account("alice@example.test")
        .unwrap();
    let err = alice_account
        .send_message(&format!("sip:carol@{bob_addr}"), "text/plain", "hi")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, MessageError::Rejected { code: 404, .. }),
        "{err:?}"
    );
    assert!(matches!(
        next(&mut failed).await.data,
        NotificationData::SIPMessageDidFail { code: 404, .. }
    ));
    alice.stop();
    bob.stop();
}

#[tokio::test]
async fn a_message_to_a_closed_port_fails_as_unanswered() {
    let alice = app("alice", r#""tcp""#).await;
    let mut failed = alice
        .notification_center()
        .subscribe(Filter::name("SIPMessageDidFail"));
    // A closed TCP port refuses the connection at once (a silent UDP
    // peer would take Timer F, 32 s).
    let closed = common::free_port();
    let alice_account = alice
        .account_manager()
        .get_account("alice@example.test")
        .unwrap();
    let err = alice_account
        .send_message(
            &format!("sip:bob@127.0.0.1:{closed};transport=tcp"),
            "text/plain",
            "hi",
        )
        .await
        .unwrap_err();
    assert!(matches!(err, MessageError::NoAnswer(_)), "{err:?}");
    assert!(matches!(
        next(&mut failed).await.data,
        NotificationData::SIPMessageDidFail { code: 408, .. }
    ));
    alice.stop();
}
