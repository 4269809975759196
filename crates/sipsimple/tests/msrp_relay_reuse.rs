//! `msrp.connection_reuse` through a real MSRP relay (RFC 4976 with RFC
//! 4975 §5.4): Kamailio's `msrp` module, started by each test. A second
//! session of an application through the same relay AUTHs on the live
//! connection of the first (digest challenge and all), gets a binding
//! (Use-Path) of its own, and runs on that connection: counted in the
//! kernel's socket table, one TCP connection from the application to the
//! relay carries both chats (or a chat and a file transfer), each
//! message arriving on its own session.
//! One session ending leaves the other going; a binding renewed on the
//! shared connection renews that session's binding only. With the
//! setting off each session still has a connection of its own.

mod common;
mod kamailio;
mod transfer_peers;

use std::sync::Arc;

use common::chat_call::{accept_chat, new_chat, offer_chat, own_events, tells};
use common::{account_app_with, contact_uri, until};
use sipsimple::application::SipApplication;
use sipsimple::notification::{Filter, NotificationData, Subscription};
use sipsimple::session::Session;
use sipsimple::streams::msrp::{file_selector_for, ChatStream, FileTransferStream, MsrpStreamBase};

const PASSWORD: &str = "relay-secret";

/// Account lines for the relay at `uri`.
fn relay_lines(uri: &str, for_outbound: bool, reuse: bool) -> String {
    let transport = if uri.starts_with("msrps:") {
        "tls"
    } else {
        "tcp"
    };
    format!(
        "msrp.transport = \"{transport}\"\nmsrp.connection_model = \"relay\"\n\
         auth.password = \"{PASSWORD}\"\n\
         nat_traversal.msrp_relay = \"{uri}\"\n\
         nat_traversal.use_msrp_relay_for_outbound = {for_outbound}\n\
         msrp.connection_reuse = {reuse}\n"
    )
}

/// One chat from alice to bob: the SIP sessions, both streams, and a
/// subscription to each stream's own notifications.
struct Chat {
    caller: Session,
    _callee: Session,
    alice: Arc<ChatStream>,
    bob: Arc<ChatStream>,
    alice_events: Subscription,
    bob_events: Subscription,
}

async fn chat(alice: &SipApplication, bob: &SipApplication, bob_all: &mut Subscription) -> Chat {
    let a = new_chat(alice);
    let caller = offer_chat(alice, &contact_uri(bob), &a).await.unwrap();
    let (callee, b) = accept_chat(bob, bob_all).await;
    a.base().connection().await.expect("alice's chat connected");
    b.base().connection().await.expect("bob's chat connected");
    Chat {
        caller,
        _callee: callee,
        alice_events: own_events(alice, &a),
        bob_events: own_events(bob, &b),
        alice: a,
        bob: b,
    }
}

/// Messages both ways, each checked on the stream it was sent to.
async fn both_ways(c: &mut Chat, tag: &str) {
    tells(&c.alice, &mut c.bob_events, &format!("{tag}: to bob")).await;
    tells(&c.bob, &mut c.alice_events, &format!("{tag}: to alice")).await;
}

/// Established TCP connections from 127.0.0.1:`local` to
/// 127.0.0.1:`remote`, from the kernel's table.
fn connections_between(local: u16, remote: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let (l, r) = (
        format!("0100007F:{local:04X}"),
        format!("0100007F:{remote:04X}"),
    );
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            f.get(1) == Some(&l.as_str())
                && f.get(2) == Some(&r.as_str())
                && f.get(3) == Some(&"01")
        })
        .count()
}

/// The port of our end of the chat's connection (our URI's, on a relay).
fn our_port(chat: &ChatStream) -> u16 {
    port_of(chat.base())
}

fn port_of(base: &MsrpStreamBase) -> u16 {
    base.local_uri().unwrap().port.unwrap()
}

/// The first hop of our path as the peer has it: our relay binding.
fn binding(peer_side: &ChatStream) -> String {
    peer_side.base().remote_media().unwrap().path[0].to_string()
}

/// Alice and bob both on the relay at `uri` (alice for her outgoing
/// sessions too), with `reuse`, and `global` lines for both.
async fn on_relay(
    uri: &str,
    global: &str,
    reuse: bool,
) -> (SipApplication, SipApplication, Subscription) {
    let alice = account_app_with("alice", global, &relay_lines(uri, true, reuse)).await;
    let bob = account_app_with("bob", global, &relay_lines(uri, false, reuse)).await;
    let bob_all = bob.notification_center().subscribe(Filter::all());
    (alice, bob, bob_all)
}

/// Two chats between alice and bob through the relay listening on
/// `relay_port` at `uri`; each party's two sessions on one connection.
async fn two_chats_share_one_relay_connection(uri: &str, global: &str, relay_port: u16) {
    let (alice, bob, mut bob_all) = on_relay(uri, global, true).await;
    let mut first = chat(&alice, &bob, &mut bob_all).await;
    let mut second = chat(&alice, &bob, &mut bob_all).await;
    for (who, a, b) in [
        ("alice", &first.alice, &second.alice),
        ("bob", &first.bob, &second.bob),
    ] {
        assert!(a.base().on_relay() && b.base().on_relay(), "{who}");
        // Our URI is our end of the connection: one port, one socket.
        assert_eq!(
            our_port(a),
            our_port(b),
            "{who}'s sessions on one connection"
        );
        assert_ne!(
            a.base().local_uri().unwrap().session_id,
            b.base().local_uri().unwrap().session_id
        );
        assert_eq!(connections_between(our_port(a), relay_port), 1, "{who}");
    }
    // Each session has its own binding at the relay (its own AUTH).
    assert_ne!(binding(&first.bob), binding(&second.bob));
    assert_ne!(binding(&first.alice), binding(&second.alice));

    both_ways(&mut first, "first").await;
    both_ways(&mut second, "second").await;
    both_ways(&mut first, "first again").await;

    // The first chat ends; the second goes on over the same connection.
    let port = our_port(&second.alice);
    first.caller.end().await.unwrap();
    until(&mut first.alice_events, "MediaStreamDidEnd").await;
    both_ways(&mut second, "after the first ended").await;
    assert_eq!(connections_between(port, relay_port), 1);
    assert!(!second.alice.base().is_ended() && !second.bob.base().is_ended());
    drop((alice, bob));
}

#[tokio::test]
async fn two_chats_through_the_relay_share_one_connection_per_party() {
    let relay = kamailio::start_msrp_relay(PASSWORD);
    let uri = format!("msrp://127.0.0.1:{};tcp", relay.port);
    two_chats_share_one_relay_connection(&uri, "", relay.port).await;
}

#[tokio::test]
async fn two_chats_share_one_tls_connection_to_the_relay() {
    let relay = kamailio::start_msrp_relay_with(PASSWORD, true);
    let tls_port = relay.tls_port.unwrap();
    let uri = format!("msrps://127.0.0.1:{tls_port};tcp");
    let trust = format!(
        "[tls]\nca_list = \"{}\"\n",
        relay.ca_pem.as_ref().unwrap().display()
    );
    two_chats_share_one_relay_connection(&uri, &trust, tls_port).await;
}

#[tokio::test]
async fn with_the_setting_off_each_session_has_its_own_relay_connection() {
    let relay = kamailio::start_msrp_relay(PASSWORD);
    let uri = format!("msrp://127.0.0.1:{};tcp", relay.port);
    let (alice, bob, mut bob_all) = on_relay(&uri, "", false).await;
    let mut first = chat(&alice, &bob, &mut bob_all).await;
    let mut second = chat(&alice, &bob, &mut bob_all).await;
    assert_ne!(our_port(&first.alice), our_port(&second.alice));
    for c in [&first.alice, &second.alice] {
        assert_eq!(connections_between(our_port(c), relay.port), 1);
    }
    both_ways(&mut first, "first").await;
    both_ways(&mut second, "second").await;
}

/// Kamailio's AUTH log lines: the address each AUTH came from.
fn auth_sources(relay: &kamailio::MsrpRelay) -> Vec<String> {
    let log = std::fs::read_to_string(relay.dir.join("kamailio.log")).unwrap();
    log.lines()
        .filter_map(|l| l.split("MSRP AUTH from ").nth(1))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// RFC 4976 §5.1 on a shared connection: the relay grants 10 s bindings
/// and names a new one on every AUTH. Alice's two sessions (bob has no
/// relay) each re-AUTH on the one connection, each offers its own new
/// path to bob, and both chats go on after the first bindings lapsed.
#[tokio::test]
async fn bindings_renewed_on_the_shared_connection_keep_both_chats_going() {
    let relay = kamailio::start_msrp_relay_expiring(PASSWORD, 10);
    let uri = format!("msrp://127.0.0.1:{};tcp", relay.port);
    let alice = account_app_with("alice", "", &relay_lines(&uri, true, true)).await;
    let bob = account_app_with("bob", "", "msrp.transport = \"tcp\"\n").await;
    let mut bob_all = bob.notification_center().subscribe(Filter::all());
    let mut first = chat(&alice, &bob, &mut bob_all).await;
    let mut second = chat(&alice, &bob, &mut bob_all).await;
    assert_eq!(our_port(&first.alice), our_port(&second.alice));
    let at_start = [binding(&first.bob), binding(&second.bob)];
    assert_ne!(at_start[0], at_start[1]);

    let mut renewed = Vec::new();
    for c in [&mut first, &mut second] {
        let seen = until(&mut c.alice_events, "MSRPRelayDidRenewBinding").await;
        match &seen.last().unwrap().data {
            NotificationData::MSRPRelayDidRenewBinding {
                use_path, expires, ..
            } => {
                assert_eq!(*expires, Some(10));
                renewed.push(use_path[0].clone());
            }
            other => panic!("{other:?}"),
        }
    }
    // Each renewal is that session's own new binding.
    assert_ne!(renewed[0], renewed[1]);
    assert!(!at_start.contains(&renewed[0]) && !at_start.contains(&renewed[1]));
    // Every AUTH (two first ones, their renewals, each with a challenge)
    // came over one connection.
    let sources = auth_sources(&relay);
    assert!(sources.len() >= 8, "{sources:?}");
    assert!(sources.iter().all(|s| *s == sources[0]), "{sources:?}");
    assert_eq!(connections_between(our_port(&first.alice), relay.port), 1);
    // Bob learns each new path (alice's re-INVITEs), the old bindings
    // lapse, and both chats go on both ways.
    for (c, fresh) in [(&first, &renewed[0]), (&second, &renewed[1])] {
        let mut waited = 0;
        while binding(&c.bob) != *fresh {
            assert!(waited < 200, "bob never got the new path {fresh}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            waited += 1;
        }
    }
    until(&mut first.alice_events, "MSRPRelayDidRenewBinding").await;
    both_ways(&mut first, "first, renewed").await;
    both_ways(&mut second, "second, renewed").await;
}

/// The shared connection dies with the relay: every session on it fails
/// (MediaStreamDidFail), as a connection of its own would.
#[tokio::test]
async fn the_relay_going_away_fails_every_session_on_the_shared_connection() {
    let relay = kamailio::start_msrp_relay(PASSWORD);
    let uri = format!("msrp://127.0.0.1:{};tcp", relay.port);
    let (alice, bob, mut bob_all) = on_relay(&uri, "", true).await;
    let mut first = chat(&alice, &bob, &mut bob_all).await;
    let mut second = chat(&alice, &bob, &mut bob_all).await;
    assert_eq!(our_port(&first.alice), our_port(&second.alice));
    both_ways(&mut first, "first").await;
    drop(relay);
    for c in [&mut first, &mut second] {
        until(&mut c.alice_events, "MediaStreamDidFail").await;
        assert!(c.alice.base().is_ended());
    }
}

/// A chat and a file transfer of alice's through the relay on one
/// connection: the file (in relay-sized chunks, every one answered
/// through the relay) arrives whole while the chat goes both ways, and
/// the chat goes on after it.
#[tokio::test]
async fn a_chat_and_a_file_transfer_share_the_relay_connection() {
    let relay = kamailio::start_msrp_relay(PASSWORD);
    let uri = format!("msrp://127.0.0.1:{};tcp", relay.port);
    let mut p = transfer_peers::peers_with(
        &relay_lines(&uri, true, true),
        &relay_lines(&uri, false, true),
    )
    .await;
    let mut talk = chat(&p.alice, &p.bob, &mut p.bob_all).await;
    let outbox = common::TempDir::new("relay-reuse-outbox");
    let file = transfer_peers::random_file(&outbox.0, "relayed.bin", 3 << 20, 7);
    let selector = file_selector_for(&file, None, true).await.unwrap();
    let ours = Arc::new(FileTransferStream::new_outgoing(
        &transfer_peers::settings(&p.alice),
        selector,
        file.clone(),
        None,
    ));
    let mut alice_done = transfer_peers::sender_finish(&p.alice);
    let mut bob_done = transfer_peers::sender_finish(&p.bob);
    let (_caller, _callee, theirs) = transfer_peers::offer(&mut p, ours.clone(), |_| {}).await;
    ours.base()
        .connection()
        .await
        .expect("alice's file connected");
    theirs
        .base()
        .connection()
        .await
        .expect("bob's file connected");
    let (alices, bobs) = (port_of(ours.base()), port_of(theirs.base()));
    assert_eq!(alices, our_port(&talk.alice), "alice: one connection");
    assert_eq!(bobs, our_port(&talk.bob), "bob: one connection");
    assert_eq!(connections_between(alices, relay.port), 1);
    assert_eq!(connections_between(bobs, relay.port), 1);
    for i in 0..3 {
        both_ways(&mut talk, &format!("during the file {i}")).await;
    }
    assert_eq!(transfer_peers::finished(&mut bob_done).await, None);
    assert_eq!(transfer_peers::finished(&mut alice_done).await, None);
    let saved = theirs.progress().saved_to.unwrap();
    assert_eq!(
        transfer_peers::sha256(&saved),
        transfer_peers::sha256(&file)
    );
    both_ways(&mut talk, "after the file").await;
}
