//! Chat through a real MSRP relay (RFC 4976): Kamailio's `msrp` module,
//! started by the test. Both applications authorize with digest AUTH,
//! put the relay's Use-Path in their `a=path`, and their messages and
//! success reports go relay to relay.

mod common;
mod kamailio;

use std::sync::Arc;

use common::chat_call::{accept_chat, new_chat, next_chat_message, offer_chat, says};
use common::{account_app_with, contact_uri, until};
use sipsimple::notification::{Filter, NotificationData};
use sipsimple::streams::msrp::{ChatStream, DeliveryState, MessageOptions};

const PASSWORD: &str = "relay-secret";

fn relay_settings(port: u16, for_outbound: bool) -> String {
    format!(
        "msrp.transport = \"tcp\"\nmsrp.connection_model = \"relay\"\n\
         auth.password = \"{PASSWORD}\"\n\
         nat_traversal.msrp_relay = \"msrp://127.0.0.1:{port};tcp\"\n\
         nat_traversal.use_msrp_relay_for_outbound = {for_outbound}\n"
    )
}

/// Alice calls bob with a chat, each application made from its
/// (global, account) configuration lines; both chats once started.
async fn chat_call(
    alice: (&str, &str),
    bob: (&str, &str),
) -> (
    sipsimple::application::SipApplication,
    sipsimple::application::SipApplication,
    sipsimple::notification::Subscription,
    sipsimple::notification::Subscription,
    Arc<ChatStream>,
    Arc<ChatStream>,
) {
    let alice = account_app_with("alice", alice.0, alice.1).await;
    let bob = account_app_with("bob", bob.0, bob.1).await;
    let mut alice_all = alice.notification_center().subscribe(Filter::all());
    let mut bob_all = bob.notification_center().subscribe(Filter::all());
    let alice_chat = new_chat(&alice);
    offer_chat(&alice, &contact_uri(&bob), &alice_chat)
        .await
        .unwrap();
    let (_, bob_chat) = accept_chat(&bob, &mut bob_all).await;
    until(&mut alice_all, "SIPSessionDidStart").await;
    (alice, bob, alice_all, bob_all, alice_chat, bob_chat)
}

#[tokio::test]
async fn both_parties_chat_through_the_relay_with_reports() {
    let relay = kamailio::start_msrp_relay(PASSWORD);
    let (_alice, _bob, mut alice_all, mut bob_all, alice_chat, bob_chat) = chat_call(
        ("", &relay_settings(relay.port, true)),
        ("", &relay_settings(relay.port, false)),
    )
    .await;

    // Each side's path starts at the relay: the Use-Path of its AUTH.
    let relay_prefix = format!("msrp://127.0.0.1:{}/", relay.port);
    for chat in [&alice_chat, &bob_chat] {
        let remote = chat.base().remote_media().unwrap();
        assert_eq!(remote.path.len(), 2, "{:?}", remote.path);
        assert!(
            remote.path[0].to_string().starts_with(&relay_prefix),
            "{}",
            remote.path[0]
        );
    }

    says(&alice_chat, &mut alice_all, &mut bob_all, "via the relay").await;

    says(&bob_chat, &mut bob_all, &mut alice_all, "and back").await;

    // 200 KB in chunks through two relay hops, whole.
    let big: Vec<u8> = (0..200_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    alice_chat
        .send_message(big.clone(), "text/plain", MessageOptions::default())
        .unwrap();
    let got = until(&mut bob_all, "ChatStreamGotMessage").await;
    match &got.last().unwrap().data {
        NotificationData::ChatStreamGotMessage { message } => assert_eq!(message.content, big),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_wrong_relay_password_fails_the_stream_with_the_relays_answer() {
    wrong_relay_password_fails_the_stream("").await;
}

/// As above on a connection to the relay that later sessions would
/// share (`msrp.connection_reuse`): the AUTH runs on the connection's
/// demux, and its refusal fails the stream the same way.
#[tokio::test]
async fn a_wrong_relay_password_fails_the_stream_with_connection_reuse_on() {
    wrong_relay_password_fails_the_stream("msrp.connection_reuse = true\n").await;
}

async fn wrong_relay_password_fails_the_stream(extra: &str) {
    let relay = kamailio::start_msrp_relay(PASSWORD);
    let bad = relay_settings(relay.port, true).replace(PASSWORD, "wrong") + extra;
    let alice = account_app_with("alice", "", &bad).await;
    let bob = account_app_with("bob", "", "msrp.transport = \"tcp\"\n").await;
    let mut alice_all = alice.notification_center().subscribe(Filter::all());
    let chat = new_chat(&alice);
    let r = offer_chat(&alice, &contact_uri(&bob), &chat).await;
    let seen = until(&mut alice_all, "MediaStreamDidFail").await;
    match &seen.last().unwrap().data {
        NotificationData::MediaStreamDidFail { reason } => {
            assert!(reason.contains("401"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    // The MSRP library says so too, anonymously (no stream's sender).
    let logged = seen.iter().find_map(|n| match &n.data {
        NotificationData::MSRPLibraryLog { level, message } => Some((n.sender, *level, message)),
        _ => None,
    });
    let (sender, level, message) = logged.expect("an MSRPLibraryLog");
    assert_eq!(level, "ERROR");
    assert!(message.contains("401"), "{message}");
    assert!(seen
        .iter()
        .all(|n| n.name() == "MSRPLibraryLog" || n.sender != sender));
    let _ = r;
    until(&mut alice_all, "SIPSessionDidFail").await;
}

/// Alice, on her relay for outgoing sessions too, calls bob, who has
/// none, with a chat; both chats once started.
async fn chat_from_relay_to_direct(
    relay_port: u16,
) -> (
    sipsimple::application::SipApplication,
    sipsimple::application::SipApplication,
    sipsimple::notification::Subscription,
    sipsimple::notification::Subscription,
    Arc<ChatStream>,
    Arc<ChatStream>,
) {
    let alice = account_app_with("alice", "", &relay_settings(relay_port, true)).await;
    let bob = account_app_with("bob", "", "msrp.transport = \"tcp\"\n").await;
    let alice_all = alice.notification_center().subscribe(Filter::all());
    let mut bob_all = bob.notification_center().subscribe(Filter::all());
    let alice_chat = new_chat(&alice);
    offer_chat(&alice, &contact_uri(&bob), &alice_chat)
        .await
        .unwrap();
    let (_, bob_chat) = accept_chat(&bob, &mut bob_all).await;
    until(&mut bob_all, "SIPSessionDidStart").await;
    (alice, bob, alice_all, bob_all, alice_chat, bob_chat)
}

#[tokio::test]
async fn a_direct_peer_connects_to_the_other_partys_relay() {
    let relay = kamailio::start_msrp_relay(PASSWORD);
    let (_alice, _bob, mut alice_all, mut bob_all, alice_chat, bob_chat) =
        chat_from_relay_to_direct(relay.port).await;
    // Bob has no relay: his path is his own URI; alice's starts at hers.
    assert_eq!(alice_chat.base().remote_media().unwrap().path.len(), 1);
    assert_eq!(bob_chat.base().remote_media().unwrap().path.len(), 2);
    // CEMA (RFC 6714) is between endpoints with no relay of theirs: bob
    // offers it, alice on her relay does not, so bob connects to the
    // relay's URI in her path (and alice never connects to bob at all).
    assert!(alice_chat.base().remote_media().unwrap().cema);
    assert!(!bob_chat.base().remote_media().unwrap().cema);

    bob_chat
        .send_message("to your relay", "text/plain", MessageOptions::default())
        .unwrap();
    assert_eq!(
        next_chat_message(&mut alice_all).await.text(),
        "to your relay"
    );
    until(&mut bob_all, "ChatStreamDidDeliverMessage").await;
    says(
        &alice_chat,
        &mut alice_all,
        &mut bob_all,
        "from behind my relay",
    )
    .await;
}

/// The whole path a deployed client takes: both registered with digest
/// through Kamailio as SIP proxy, the INVITE challenged (407) and
/// relayed to bob's binding, the chat through the MSRP relay with the
/// accounts' own credentials.
#[tokio::test]
async fn chat_session_through_kamailio_as_proxy_and_msrp_relay() {
    let proxy = kamailio::start_kamailio();
    // The SIP accounts' password (common::registered_app) for the relay too.
    let relay = kamailio::start_msrp_relay("secret");
    let lines =
        relay_settings(relay.port, true).replace(&format!("auth.password = \"{PASSWORD}\"\n"), "");
    let (alice, mut alice_all) = common::registered_app_with(proxy.udp, "alice", &lines).await;
    let (bob, mut bob_all) = common::registered_app_with(proxy.udp, "bob", &lines).await;
    let alice_chat = new_chat(&alice);
    offer_chat(&alice, "sip:bob@sipsimple.test", &alice_chat)
        .await
        .unwrap();
    let (callee, bob_chat) = accept_chat(&bob, &mut bob_all).await;
    assert!(callee.remote_identity().contains("alice@sipsimple.test"));
    let started = until(&mut alice_all, "SIPSessionDidStart").await;
    // The INVITE was challenged by the proxy and answered.
    assert!(started.iter().any(|n| matches!(
        &n.data,
        NotificationData::SIPEngineSIPTrace { received: true, text, .. } if text.starts_with("SIP/2.0 407")
    )));
    let relay_prefix = format!("msrp://127.0.0.1:{}/", relay.port);
    assert!(bob_chat.base().remote_media().unwrap().path[0]
        .to_string()
        .starts_with(&relay_prefix));

    let id = alice_chat
        .send_message("through both", "text/plain", MessageOptions::default())
        .unwrap();
    let got = until(&mut bob_all, "ChatStreamGotMessage").await;
    match &got.last().unwrap().data {
        NotificationData::ChatStreamGotMessage { message } => {
            assert_eq!(message.text(), "through both");
            assert_eq!(
                message.sender.as_ref().unwrap().uri,
                "sip:alice@sipsimple.test"
            );
        }
        other => panic!("{other:?}"),
    }
    until(&mut alice_all, "ChatStreamDidDeliverMessage").await;
    assert_eq!(
        alice_chat.delivery_state(&id),
        Some(DeliveryState::Delivered)
    );
    callee.end().await.unwrap();
    until(&mut alice_all, "SIPSessionDidEnd").await;
}

/// Over TLS to the relay (`msrps:`): its certificate is checked against
/// its name (here the address 127.0.0.1) with the application's trust
/// (`tls.ca_list`); without that trust the stream fails.
#[tokio::test]
async fn chat_through_the_relay_over_tls_checks_its_certificate() {
    let relay = kamailio::start_msrp_relay_with(PASSWORD, true);
    let tls_port = relay.tls_port.unwrap();
    let ca = relay.ca_pem.clone().unwrap();
    let lines = format!(
        "msrp.transport = \"tls\"\nmsrp.connection_model = \"relay\"\n\
         auth.password = \"{PASSWORD}\"\n\
         nat_traversal.msrp_relay = \"msrps://127.0.0.1:{tls_port};tcp\"\n\
         nat_traversal.use_msrp_relay_for_outbound = true\n"
    );
    let trust = format!("[tls]\nca_list = \"{}\"\n", ca.display());
    let alice = account_app_with("alice", &trust, &lines).await;
    let bob = account_app_with("bob", &trust, &lines).await;
    let mut alice_all = alice.notification_center().subscribe(Filter::all());
    let mut bob_all = bob.notification_center().subscribe(Filter::all());
    let alice_chat = new_chat(&alice);
    let _call = offer_chat(&alice, &contact_uri(&bob), &alice_chat)
        .await
        .unwrap();
    let (_callee, bob_chat) = accept_chat(&bob, &mut bob_all).await;
    until(&mut alice_all, "SIPSessionDidStart").await;
    assert!(alice_chat.base().local_uri().unwrap().secure);
    says(
        &alice_chat,
        &mut alice_all,
        &mut bob_all,
        "over TLS to the relay",
    )
    .await;
    let _ = bob_chat;

    // Without the CA, the relay's certificate is refused.
    let carol = account_app_with("carol", "", &lines).await;
    let mut carol_all = carol.notification_center().subscribe(Filter::all());
    let chat = new_chat(&carol);
    let _ = offer_chat(&carol, &contact_uri(&bob), &chat).await;
    let seen = until(&mut carol_all, "MediaStreamDidFail").await;
    match &seen.last().unwrap().data {
        NotificationData::MediaStreamDidFail { reason } => {
            assert!(reason.to_lowercase().contains("certificate"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_peer_on_its_relay_reaches_a_direct_listener_through_it() {
    // Alice has no relay and listens (actpass); bob takes the call through
    // his relay, whose connection to alice carries his binding SEND.
    let relay = kamailio::start_msrp_relay(PASSWORD);
    let alice = account_app_with("alice", "", "msrp.transport = \"tcp\"\n").await;
    let bob = account_app_with("bob", "", &relay_settings(relay.port, false)).await;
    let mut alice_all = alice.notification_center().subscribe(Filter::all());
    let mut bob_all = bob.notification_center().subscribe(Filter::all());
    let alice_chat = new_chat(&alice);
    let _call = offer_chat(&alice, &contact_uri(&bob), &alice_chat)
        .await
        .unwrap();
    let (_callee, bob_chat) = accept_chat(&bob, &mut bob_all).await;
    until(&mut alice_all, "MediaStreamDidStart").await;
    assert_eq!(
        alice_chat.base().remote_media().unwrap().path.len(),
        2,
        "bob's path starts at his relay"
    );
    says(
        &alice_chat,
        &mut alice_all,
        &mut bob_all,
        "to you on your relay",
    )
    .await;
    bob_chat
        .send_message("and back", "text/plain", MessageOptions::default())
        .unwrap();
    until(&mut alice_all, "ChatStreamGotMessage").await;
}

#[tokio::test]
async fn keepalives_cross_the_relay_while_the_chat_is_idle_and_the_chat_goes_on() {
    let relay = kamailio::start_msrp_relay(PASSWORD);
    let fast = |outbound| {
        format!(
            "{}msrp.keepalive_interval = 1\n",
            relay_settings(relay.port, outbound)
        )
    };
    let trace = "[logging]\ntrace_msrp = true\n";
    let (_alice, _bob, mut alice_all, mut bob_all, alice_chat, _bob_chat) =
        chat_call((trace, &fast(true)), ("", &fast(false))).await;
    // Three idle seconds: keep-alives go out, each answered through both
    // relay hops (bob's side answers), and none is a message to anyone.
    let idle = tokio::time::Instant::now() + std::time::Duration::from_millis(3500);
    let mut seen = Vec::new();
    while let Ok(Some(n)) = tokio::time::timeout_at(idle, alice_all.next()).await {
        seen.push(n);
    }
    let traces: Vec<(&str, &str)> = seen
        .iter()
        .filter_map(|n| match &n.data {
            NotificationData::MSRPTransportTrace { direction, data } => {
                Some((*direction, data.as_str()))
            }
            _ => None,
        })
        .collect();
    // Either side may send them (incoming traffic also counts as
    // activity): alice sees them whichever way they go, each answered 200
    // from the other way.
    let keepalives: Vec<(&str, &str)> = traces
        .iter()
        .filter(|(_, t)| t.contains("Keep-Alive: yes"))
        .filter_map(|(d, t)| Some((*d, t.split_whitespace().nth(1)?)))
        .collect();
    assert!(keepalives.len() >= 2, "keep-alives: {traces:?}");
    let answered = keepalives
        .iter()
        .filter(|(dir, tid)| {
            traces
                .iter()
                .any(|(d, t)| d != dir && t.starts_with(&format!("MSRP {tid} 200")))
        })
        .count();
    assert!(answered >= 1, "no keep-alive was answered 200: {traces:?}");
    let names: Vec<&str> = seen.iter().map(|n| n.name()).collect();
    assert!(!names.contains(&"MediaStreamDidFail"), "{names:?}");
    assert!(!names.contains(&"ChatStreamGotMessage"), "{names:?}");

    let id = alice_chat
        .send_message("still here", "text/plain", MessageOptions::default())
        .unwrap();
    let got = until(&mut bob_all, "ChatStreamGotMessage").await;
    let texts: Vec<String> = got
        .iter()
        .filter_map(|n| match &n.data {
            NotificationData::ChatStreamGotMessage { message } => Some(message.text()),
            _ => None,
        })
        .collect();
    assert_eq!(texts, ["still here"], "keep-alives are no messages");
    until(&mut alice_all, "ChatStreamDidDeliverMessage").await;
    assert_eq!(
        alice_chat.delivery_state(&id),
        Some(DeliveryState::Delivered)
    );
}

#[tokio::test]
async fn without_a_configured_relay_the_domains_msrps_srv_names_it() {
    // The relay's certificate names the accounts' domain, which is what
    // is verified: the SRV target's name is not authenticated.
    let relay = kamailio::start_msrp_relay_for(PASSWORD, Some("example.test"));
    let tls_port = relay.tls_port.unwrap();
    let dns = common::dnsmasq(
        "example.test",
        &[
            format!("--srv-host=_msrps._tcp.example.test,relay.example.test,{tls_port},0,0"),
            "--host-record=relay.example.test,127.0.0.1".to_owned(),
        ],
    )
    .await;
    let global = format!(
        "dns.nameservers = [\"{}\"]\n[tls]\nca_list = \"{}\"\n",
        dns.addr,
        relay.ca_pem.as_ref().unwrap().display()
    );
    let lines = |outbound| {
        format!(
            "msrp.transport = \"tls\"\nmsrp.connection_model = \"relay\"\n\
             auth.password = \"{PASSWORD}\"\n\
             nat_traversal.use_msrp_relay_for_outbound = {outbound}\n"
        )
    };
    let (alice, _bob, mut alice_all, mut bob_all, alice_chat, bob_chat) =
        chat_call((&global, &lines(true)), (&global, &lines(false))).await;
    let relay_prefix = format!("msrps://127.0.0.1:{tls_port}/");
    for chat in [&alice_chat, &bob_chat] {
        assert!(chat.base().on_relay());
        let remote = chat.base().remote_media().unwrap();
        assert_eq!(remote.path.len(), 2, "{:?}", remote.path);
        assert!(
            remote.path[0].to_string().starts_with(&relay_prefix),
            "{}",
            remote.path[0]
        );
    }
    says(
        &alice_chat,
        &mut alice_all,
        &mut bob_all,
        "via the relay DNS found",
    )
    .await;
    alice.stop();
}

/// Sends an empty SEND to `path` through the relay on `port` from a
/// connection of the test's, until the relay answers 481 (it knows no
/// such binding any more); false if it routed every one for 30 s.
async fn relay_forgets(port: u16, path: &[String]) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut io = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let me = format!(
        "msrp://127.0.0.1:{}/probe;tcp",
        io.local_addr().unwrap().port()
    );
    for i in 0..60 {
        let tid = format!("probe{i}x");
        let send = format!(
            "MSRP {tid} SEND\r\nTo-Path: {}\r\nFrom-Path: {me}\r\nMessage-ID: p{tid}\r\n\
             Byte-Range: 1-0/0\r\n-------{tid}$\r\n",
            path.join(" ")
        );
        io.write_all(send.as_bytes()).await.unwrap();
        let mut text = String::new();
        let mut buf = [0u8; 4096];
        while !text.contains(&format!("-------{tid}$")) {
            let n = io.read(&mut buf).await.unwrap();
            assert!(n > 0, "the relay closed the probe's connection: {text}");
            text.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        if text.contains(&format!("MSRP {tid} 481")) {
            return true;
        }
        assert!(text.contains(&format!("MSRP {tid} 200")), "{text}");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    false
}

/// RFC 4976 §5.1: a binding lasts what the AUTH's 200 says (Expires);
/// a client that goes on using the relay AUTHs again before then.
/// Kamailio's `msrp` module (10 s bindings here, expired ones dropped
/// every second) names a new path on every AUTH and drops each at its
/// own expiry: alice's session re-AUTHs with digest on its connection,
/// offers the new path in a re-INVITE, and the chat goes on both ways
/// after the first binding is gone (a SEND to it gets 481).
#[tokio::test]
async fn a_renewed_relay_binding_keeps_the_chat_going_after_the_first_expired() {
    let relay = kamailio::start_msrp_relay_expiring(PASSWORD, 10);
    let (_alice, _bob, mut alice_all, mut bob_all, alice_chat, bob_chat) =
        chat_from_relay_to_direct(relay.port).await;
    let at_start: Vec<String> = bob_chat
        .base()
        .remote_media()
        .unwrap()
        .path
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(at_start.len(), 2, "{at_start:?}");

    let renewed = until(&mut alice_all, "MSRPRelayDidRenewBinding").await;
    let fresh = match &renewed.last().unwrap().data {
        NotificationData::MSRPRelayDidRenewBinding {
            use_path,
            expires,
            path_changed,
        } => {
            assert_eq!(*expires, Some(10));
            assert!(*path_changed);
            assert_eq!(use_path.len(), 1);
            assert_ne!(use_path[0], at_start[0], "Kamailio names a new binding");
            use_path[0].clone()
        }
        other => panic!("{other:?}"),
    };
    // The renewal went on the first AUTH's connection (the relay grants
    // only to digest credentials: a challenge, then the answer).
    let log = std::fs::read_to_string(relay.dir.join("kamailio.log")).unwrap();
    let auths: Vec<&str> = log
        .lines()
        .filter_map(|l| l.split("MSRP AUTH from ").nth(1))
        .filter_map(|rest| rest.split_whitespace().next())
        .collect();
    assert!(auths.len() >= 4, "{log}");
    assert!(auths.iter().all(|a| *a == auths[0]), "{auths:?}");
    // Bob has the new path from alice's re-INVITE.
    let mut waited = 0;
    while bob_chat.base().remote_media().unwrap().path[0].to_string() != fresh {
        assert!(waited < 200, "bob never got the new path");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
    assert!(
        relay_forgets(relay.port, &at_start).await,
        "the first binding never expired at the relay"
    );

    says(&bob_chat, &mut bob_all, &mut alice_all, "after the renewal").await;
    alice_chat
        .send_message("and back", "text/plain", MessageOptions::default())
        .unwrap();
    assert_eq!(next_chat_message(&mut bob_all).await.text(), "and back");
}

/// The first URI of the path `chat`'s peer gave, as the chat has it now.
fn first_hop(chat: &ChatStream) -> String {
    chat.base().remote_media().unwrap().path[0].to_string()
}

/// Both parties on one relay that grants 20 s bindings: authorized
/// together, they renew together, and their re-INVITEs with the new
/// paths may cross (491 and the retry of RFC 3261 §14.1); each gets the
/// other's new path before the first bindings lapse, and the chat goes
/// on both ways after that.
#[tokio::test]
async fn both_parties_renew_their_bindings_at_once_and_the_chat_goes_on() {
    let relay = kamailio::start_msrp_relay_expiring(PASSWORD, 20);
    let (_alice, _bob, mut alice_all, mut bob_all, alice_chat, bob_chat) = chat_call(
        ("", &relay_settings(relay.port, true)),
        ("", &relay_settings(relay.port, false)),
    )
    .await;
    let (alices_first, bobs_first) = (first_hop(&bob_chat), first_hop(&alice_chat));
    let alices_path: Vec<String> = bob_chat
        .base()
        .remote_media()
        .unwrap()
        .path
        .iter()
        .map(ToString::to_string)
        .collect();
    until(&mut alice_all, "MSRPRelayDidRenewBinding").await;
    until(&mut bob_all, "MSRPRelayDidRenewBinding").await;
    let mut waited = 0;
    while first_hop(&bob_chat) == alices_first || first_hop(&alice_chat) == bobs_first {
        assert!(waited < 300, "the new paths did not cross");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
    assert!(
        relay_forgets(relay.port, &alices_path).await,
        "alice's first binding never expired at the relay"
    );

    alice_chat
        .send_message("still here", "text/plain", MessageOptions::default())
        .unwrap();
    assert_eq!(next_chat_message(&mut bob_all).await.text(), "still here");
    bob_chat
        .send_message("me too", "text/plain", MessageOptions::default())
        .unwrap();
    assert_eq!(next_chat_message(&mut alice_all).await.text(), "me too");
}

/// A relay's certificate is checked against the relay's name, not only
/// against the CA: with the CA trusted, a certificate for another name
/// (here `relay.example.test`, the relay reached as 127.0.0.1) is
/// refused and the stream fails saying why.
#[tokio::test]
async fn a_relay_certificate_for_another_name_is_refused_even_from_a_trusted_ca() {
    let relay = kamailio::start_msrp_relay_for(PASSWORD, Some("relay.example.test"));
    let tls_port = relay.tls_port.unwrap();
    let lines = format!(
        "msrp.transport = \"tls\"\nmsrp.connection_model = \"relay\"\n\
         auth.password = \"{PASSWORD}\"\n\
         nat_traversal.msrp_relay = \"msrps://127.0.0.1:{tls_port};tcp\"\n\
         nat_traversal.use_msrp_relay_for_outbound = true\n"
    );
    let trust = format!(
        "[tls]\nca_list = \"{}\"\n",
        relay.ca_pem.as_ref().unwrap().display()
    );
    let alice = account_app_with("alice", &trust, &lines).await;
    let bob = account_app_with("bob", "", "msrp.transport = \"tcp\"\n").await;
    let mut alice_all = alice.notification_center().subscribe(Filter::all());
    let chat = new_chat(&alice);
    let _ = offer_chat(&alice, &contact_uri(&bob), &chat).await;
    let seen = until(&mut alice_all, "MediaStreamDidFail").await;
    match &seen.last().unwrap().data {
        NotificationData::MediaStreamDidFail { reason } => {
            let r = reason.to_lowercase();
            assert!(r.contains("certificate"), "{reason}");
            assert!(
                r.contains("name") || r.contains("notvalidforname"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
}
