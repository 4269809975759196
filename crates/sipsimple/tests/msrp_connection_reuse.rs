//! `msrp.connection_reuse` between two applications on loopback: bob
//! answers alice's chats and file transfers, so bob connects (RFC 6135:
//! the answerer of `actpass` is active); with the setting on, his second
//! MSRP session to alice's port runs on the connection of his first (RFC
//! 4975 §5.4), and alice's port serves it there. Counted on the socket
//! table: one TCP connection to alice's MSRP port carries both chats, or
//! a chat and a file transfer of several megabytes, and all of them
//! deliver. With the setting off (the default) each session still has
//! a connection of its own.

mod common;
mod transfer_peers;

use std::sync::Arc;

use common::chat_call::own_events;
use common::{contact_uri, incoming_session, until, TempDir};
use sha2::{Digest, Sha256};
use sipsimple::notification::{Filter, NotificationData, Subscription};
use sipsimple::session::Session;
use sipsimple::streams::msrp::{file_selector_for, ChatStream, FileTransferStream, MessageOptions};
use sipsimple::streams::MediaStream;
use transfer_peers::{peers_with, settings, Peers};

const REUSE: &str = "msrp.transport = \"tcp\"\nmsrp.connection_reuse = true\n";
const NO_REUSE: &str = "msrp.transport = \"tcp\"\n";

async fn peers(bob_account: &str) -> Peers {
    peers_with(NO_REUSE, bob_account).await
}

/// Alice offers `stream` in a session of its own; bob accepts what the
/// registry made for it. Returns both sessions and bob's stream.
async fn offer(
    p: &mut Peers,
    stream: Arc<dyn MediaStream>,
) -> (Session, Session, Arc<dyn MediaStream>) {
    let account = p.alice.account_manager().accounts().remove(0);
    let caller = p
        .alice
        .session_manager()
        .connect(&account, &contact_uri(&p.bob), vec![stream])
        .await
        .unwrap();
    let callee = incoming_session(&p.bob, &mut p.bob_all).await;
    let proposed = callee.proposed_streams().unwrap();
    let theirs = proposed[0].clone();
    callee.accept(proposed).await.unwrap();
    until(&mut p.alice_all, "SIPSessionDidStart").await;
    until(&mut p.bob_all, "SIPSessionDidStart").await;
    (caller, callee, theirs)
}

/// A chat from alice to bob: alice's stream and bob's, each with a
/// subscription to its own notifications.
struct ChatPair {
    caller: Session,
    alice: Arc<ChatStream>,
    bob: Arc<ChatStream>,
    alice_events: Subscription,
    bob_events: Subscription,
}

async fn chat(p: &mut Peers) -> ChatPair {
    let alice = Arc::new(ChatStream::new(&settings(&p.alice)));
    let (caller, _callee, theirs) = offer(p, alice.clone()).await;
    let bob = theirs.downcast::<ChatStream>().unwrap();
    let alice_events = own_events(&p.alice, &alice);
    let bob_events = own_events(&p.bob, &bob);
    // Both ends have their connection once alice's side started.
    alice
        .base()
        .connection()
        .await
        .expect("alice's chat connected");
    bob.base().connection().await.expect("bob's chat connected");
    ChatPair {
        caller,
        alice,
        bob,
        alice_events,
        bob_events,
    }
}

/// The text of the next message `events` (one stream's) saw.
async fn next_message(events: &mut Subscription) -> String {
    match &until(events, "ChatStreamGotMessage")
        .await
        .last()
        .unwrap()
        .data
    {
        NotificationData::ChatStreamGotMessage { message } => message.text().to_owned(),
        other => panic!("{other:?}"),
    }
}

async fn says(from: &ChatStream, to_events: &mut Subscription, text: &str) {
    from.send_message(text.to_owned(), "text/plain", MessageOptions::default())
        .unwrap();
    assert_eq!(next_message(to_events).await, text);
}

/// Established TCP connections whose local end is `port` on 127.0.0.1
/// (the accepted ends on a listening port), from the kernel's table.
fn connections_to(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let local = format!("0100007F:{port:04X}");
    table
        .lines()
        .skip(1)
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.get(1) == Some(&local.as_str()) && f.get(3) == Some(&"01")
        })
        .count()
}

fn msrp_port(chat: &ChatStream) -> u16 {
    chat.base().local_uri().unwrap().port.unwrap()
}

#[tokio::test]
async fn two_chats_share_one_connection_and_both_deliver_both_ways() {
    two_chats_share_one_connection(peers(REUSE).await, false).await;
}

#[tokio::test]
async fn two_chats_share_one_tls_connection() {
    let tls = "msrp.transport = \"tls\"\n";
    let reuse = "msrp.transport = \"tls\"\nmsrp.connection_reuse = true\n";
    two_chats_share_one_connection(peers_with(tls, reuse).await, true).await;
}

async fn two_chats_share_one_connection(mut p: Peers, tls: bool) {
    let mut one = chat(&mut p).await;
    let mut two = chat(&mut p).await;
    let port = msrp_port(&one.alice);
    let secure = |c: &ChatStream| c.base().local_uri().unwrap().secure;
    assert!([&one.alice, &one.bob, &two.alice, &two.bob]
        .iter()
        .all(|c| secure(c) == tls));
    assert_eq!(port, msrp_port(&two.alice), "alice's shared MSRP port");
    assert_eq!(connections_to(port), 1, "one TCP connection for both chats");
    let (b1, b2) = (
        one.bob.base().current_connection().unwrap(),
        two.bob.base().current_connection().unwrap(),
    );
    assert!(b1.same_connection(&b2));
    assert_eq!(b1.sessions(), 2);

    says(&one.alice, &mut one.bob_events, "alice on one").await;
    says(&two.alice, &mut two.bob_events, "alice on two").await;
    says(&one.bob, &mut one.alice_events, "bob on one").await;
    says(&two.bob, &mut two.alice_events, "bob on two").await;

    // The first session ends; the second goes on over the connection.
    one.caller.end().await.unwrap();
    until(&mut p.bob_all, "SIPSessionDidEnd").await;
    assert_eq!(b2.sessions(), 1);
    assert!(!b2.is_closed());
    says(&two.alice, &mut two.bob_events, "still here").await;
    says(&two.bob, &mut two.alice_events, "still here too").await;
    assert_eq!(connections_to(port), 1);
    two.caller.end().await.unwrap();
    until(&mut p.bob_all, "SIPSessionDidEnd").await;
    assert!(b2.is_closed(), "the connection ends with its last session");
}

#[tokio::test]
async fn without_the_setting_each_chat_has_its_own_connection() {
    let mut p = peers(NO_REUSE).await;
    let mut one = chat(&mut p).await;
    let mut two = chat(&mut p).await;
    let port = msrp_port(&one.alice);
    assert_eq!(connections_to(port), 2);
    let (b1, b2) = (
        one.bob.base().current_connection().unwrap(),
        two.bob.base().current_connection().unwrap(),
    );
    assert!(!b1.same_connection(&b2));
    says(&one.alice, &mut one.bob_events, "on one").await;
    says(&two.alice, &mut two.bob_events, "on two").await;
    one.caller.end().await.unwrap();
    two.caller.end().await.unwrap();
}

#[tokio::test]
async fn a_large_file_and_a_chat_on_one_connection_both_finish() {
    const LEN: usize = 24 << 20;
    let mut p = peers(REUSE).await;
    let mut talk = chat(&mut p).await;
    let port = msrp_port(&talk.alice);

    let outbox = TempDir::new("reuse-outbox");
    let file = outbox.0.join("big.bin");
    let data: Vec<u8> = (0..LEN as u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    std::fs::write(&file, &data).unwrap();
    let selector = file_selector_for(&file, None, true).await.unwrap();
    let ours = Arc::new(FileTransferStream::new_outgoing(
        &settings(&p.alice),
        selector,
        file.clone(),
        None,
    ));
    let mut alice_done = p
        .alice
        .notification_center()
        .subscribe(Filter::name("FileTransferStreamDidFinish"));
    let mut bob_done = p
        .bob
        .notification_center()
        .subscribe(Filter::name("FileTransferStreamDidFinish"));
    let (_caller, _callee, theirs) = offer(&mut p, ours.clone()).await;
    let theirs = theirs.downcast::<FileTransferStream>().unwrap();
    let file_conn = theirs
        .base()
        .connection()
        .await
        .expect("bob's file stream connected");
    let chat_conn = talk.bob.base().current_connection().unwrap();
    assert!(
        file_conn.same_connection(&chat_conn),
        "the file goes on the chat's connection"
    );
    assert_eq!(connections_to(port), 1);
    // While the file goes, the chat goes too, both ways.
    for i in 0..5 {
        says(&talk.alice, &mut talk.bob_events, &format!("during {i}")).await;
        says(&talk.bob, &mut talk.alice_events, &format!("reply {i}")).await;
    }
    for sub in [&mut bob_done, &mut alice_done] {
        match until(sub, "FileTransferStreamDidFinish")
            .await
            .pop()
            .unwrap()
            .data
        {
            NotificationData::FileTransferStreamDidFinish { error } => assert_eq!(error, None),
            other => panic!("{other:?}"),
        }
    }
    let saved = theirs.progress().saved_to.unwrap();
    assert_eq!(saved, p.inbox.0.join("big.bin"));
    assert_eq!(
        Sha256::digest(std::fs::read(&saved).unwrap()),
        Sha256::digest(&data)
    );
    says(&talk.alice, &mut talk.bob_events, "after the file").await;
    talk.caller.end().await.unwrap();
}
