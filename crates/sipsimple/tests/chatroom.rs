//! Multi-party chat as RFC 7701 defines it, on loopback: a chat room
//! built with the SDK (a SipApplication acting as focus, offering
//! `a=chatroom:nickname private-messages`, keeping a nickname table and
//! relaying messages with the CPIM From of their sender) and alice, bob
//! and carol joining it with ChatStream. There is no third-party RFC 7701
//! peer on this machine, so the room is the SDK's own focus side.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use common::{account_app, contact_uri, until};
use payloads::cpim::Address;
use sipsimple::application::SipApplication;
use sipsimple::notification::{Filter, NotificationData, SenderId, Subscription};
use sipsimple::session::Session;
use sipsimple::streams::msrp::{ChatMessage, ChatStream, ChatStreamError, MessageOptions};
use sipsimple::streams::MediaStream;
use tokio::task::JoinHandle;

/// What RFC 7701 §7.1 has the focus answer for a nickname someone else
/// holds.
const NICKNAME_IN_USE: u16 = 425;

struct Member {
    chat: Arc<ChatStream>,
    /// The participant's SIP identity, as the focus sees it.
    uri: String,
}

/// The test chat room: accepts every chat session, with the chat room
/// attribute; answers NICKNAMEs from its table; relays messages.
struct Room {
    app: SipApplication,
    task: JoinHandle<()>,
}

impl Drop for Room {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn uri_of(identity: &str) -> String {
    Address::from_name_addr(identity).uri
}

async fn room() -> Room {
    let app = account_app("room").await;
    let mut sub = app.notification_center().subscribe(Filter::all());
    let handle = app.clone();
    let task = tokio::spawn(async move {
        let mut members: HashMap<SenderId, Member> = HashMap::new();
        let mut nicknames: HashMap<String, SenderId> = HashMap::new();
        while let Some(n) = sub.next().await {
            match n.data {
                NotificationData::SIPSessionNewIncoming { .. } => {
                    let Some(session) = handle
                        .session_manager()
                        .sessions()
                        .into_iter()
                        .find(|s| s.sender() == n.sender)
                    else {
                        continue;
                    };
                    let proposed = session.proposed_streams().unwrap_or_default();
                    let Some(chat) = proposed
                        .first()
                        .and_then(|s| s.clone().downcast::<ChatStream>())
                    else {
                        continue;
                    };
                    chat.set_chatroom_capabilities(&["nickname", "private-messages"]);
                    if session.accept(proposed).await.is_err() {
                        continue;
                    }
                    let Some(ctx) = chat.base().context() else {
                        continue;
                    };
                    let (id, uri) = (ctx.sender, uri_of(&ctx.remote_identity));
                    members.insert(id, Member { chat, uri });
                }
                NotificationData::ChatStreamGotNicknameRequest {
                    transaction_id,
                    nickname,
                } => {
                    let Some(m) = members.get(&n.sender) else {
                        continue;
                    };
                    let holder = nicknames.get(&nickname).copied();
                    if holder.is_some_and(|h| h != n.sender) {
                        let _ = m.chat.reject_nickname(
                            &transaction_id,
                            NICKNAME_IN_USE,
                            "Nickname reserved or already in use",
                        );
                    } else {
                        nicknames.retain(|_, h| *h != n.sender);
                        nicknames.insert(nickname, n.sender);
                        let _ = m.chat.accept_nickname(&transaction_id);
                    }
                }
                NotificationData::ChatStreamGotMessage { message } => {
                    let Some(from) = members.get(&n.sender) else {
                        continue;
                    };
                    let room_uri = from
                        .chat
                        .base()
                        .context()
                        .map(|c| uri_of(&c.local_identity))
                        .unwrap_or_default();
                    // RFC 7701 §8: a To naming a participant (not the
                    // room) makes the message that participant's alone.
                    let private_to = message
                        .recipients
                        .first()
                        .map(|r| r.uri.clone())
                        .filter(|r| members.values().any(|m| m.uri == *r));
                    let sender = Some(Address::new(&from.uri));
                    for (id, m) in &members {
                        if *id == n.sender {
                            continue;
                        }
                        let recipients = match &private_to {
                            Some(to) if *to == m.uri => vec![Address::new(to)],
                            Some(_) => continue,
                            None => vec![Address::new(&room_uri)],
                        };
                        let options = MessageOptions {
                            sender: sender.clone(),
                            recipients,
                            ..MessageOptions::default()
                        };
                        let _ = m.chat.send_message(
                            message.content.clone(),
                            &message.content_type,
                            options,
                        );
                    }
                }
                _ => {}
            }
        }
    });
    Room { app, task }
}

struct Participant {
    _app: SipApplication,
    all: Subscription,
    session: Session,
    chat: Arc<ChatStream>,
}

/// `user` starts a chat session with `to` and waits until MSRP is up.
async fn join(user: &str, to: &SipApplication) -> Participant {
    let app = account_app(user).await;
    let mut all = app.notification_center().subscribe(Filter::all());
    let account = app.account_manager().accounts().remove(0);
    let settings = app
        .session_manager()
        .stream_settings(account.clone(), "127.0.0.1".parse().unwrap())
        .unwrap();
    let chat = Arc::new(ChatStream::new(&settings));
    let session = app
        .session_manager()
        .connect(
            &account,
            &contact_uri(to),
            vec![chat.clone() as Arc<dyn MediaStream>],
        )
        .await
        .unwrap();
    until(&mut all, "SIPSessionDidStart").await;
    tokio::time::timeout(Duration::from_secs(30), chat.base().connection())
        .await
        .expect("MSRP up in time")
        .expect("MSRP up");
    Participant {
        _app: app,
        all,
        session,
        chat,
    }
}

async fn next(sub: &mut Subscription, name: &str) -> NotificationData {
    until(sub, name).await.pop().unwrap().data
}

async fn message(p: &mut Participant) -> ChatMessage {
    match next(&mut p.all, "ChatStreamGotMessage").await {
        NotificationData::ChatStreamGotMessage { message } => message,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn chat_room_nicknames_public_and_private_messages() {
    let room = room().await;
    let mut alice = join("alice", &room.app).await;
    let mut bob = join("bob", &room.app).await;
    let mut carol = join("carol", &room.app).await;

    // RFC 7701 §6: the focus's a=chatroom says what the room supports.
    for p in [&alice, &bob, &carol] {
        assert_eq!(
            p.chat.chatroom_capabilities(),
            ["nickname", "private-messages"]
        );
        assert!(p.chat.nickname_allowed() && p.chat.private_messages_allowed());
    }

    // §7.1: the focus grants a free nickname with 200 ...
    let id = alice.chat.set_local_nickname("al").unwrap();
    match next(&mut alice.all, "ChatStreamDidSetNickname").await {
        NotificationData::ChatStreamDidSetNickname {
            message_id,
            nickname,
        } => assert_eq!((message_id, nickname.as_str()), (id, "al")),
        other => panic!("{other:?}"),
    }
    // ... and refuses one another participant holds with 425.
    let id = bob.chat.set_local_nickname("al").unwrap();
    match next(&mut bob.all, "ChatStreamDidNotSetNickname").await {
        NotificationData::ChatStreamDidNotSetNickname {
            message_id,
            nickname,
            code,
            reason,
        } => {
            assert_eq!((message_id, nickname.as_str(), code), (id, "al", 425));
            assert_eq!(reason, "Nickname reserved or already in use");
        }
        other => panic!("{other:?}"),
    }
    bob.chat.set_local_nickname("bobby").unwrap();
    next(&mut bob.all, "ChatStreamDidSetNickname").await;

    // §8: the focus relays a message to every other participant with the
    // CPIM From of its sender; it is not private.
    alice
        .chat
        .send_message("hello room", "text/plain", MessageOptions::default())
        .unwrap();
    for p in [&mut bob, &mut carol] {
        let m = message(p).await;
        assert_eq!(m.text(), "hello room");
        assert!(m.cpim);
        assert_eq!(m.sender.unwrap().uri, "sip:alice@example.test");
        assert!(!m.private);
    }

    // A private message: CPIM To names bob alone; it reaches bob marked
    // private, from alice, and never carol.
    let to_bob = MessageOptions {
        recipients: vec![Address::new("sip:bob@example.test")],
        ..MessageOptions::default()
    };
    alice
        .chat
        .send_message("just for bob", "text/plain", to_bob)
        .unwrap();
    let m = message(&mut bob).await;
    assert_eq!(m.text(), "just for bob");
    assert!(m.private);
    assert_eq!(m.sender.as_ref().unwrap().uri, "sip:alice@example.test");
    assert_eq!(
        m.recipients
            .iter()
            .map(|r| r.uri.as_str())
            .collect::<Vec<_>>(),
        ["sip:bob@example.test"]
    );
    // The focus relays in order: the next message carol gets is the
    // public one sent after the private one.
    alice
        .chat
        .send_message("after", "text/plain", MessageOptions::default())
        .unwrap();
    let m = message(&mut carol).await;
    assert_eq!(m.text(), "after");
    assert!(!m.private);
    assert_eq!(message(&mut bob).await.text(), "after");

    for p in [&mut alice, &mut bob, &mut carol] {
        p.session.end().await.unwrap();
        until(&mut p.all, "SIPSessionDidEnd").await;
    }
}

#[tokio::test]
async fn no_nickname_and_no_private_messages_without_a_chat_room() {
    // A plain chat peer: an SDK application that is no chat room.
    let bob = account_app("bob").await;
    let mut bob_all = bob.notification_center().subscribe(Filter::all());
    let alice = account_app("alice").await;
    let mut alice_all = alice.notification_center().subscribe(Filter::all());
    let account = alice.account_manager().accounts().remove(0);
    let settings = alice
        .session_manager()
        .stream_settings(account.clone(), "127.0.0.1".parse().unwrap())
        .unwrap();
    let chat = Arc::new(ChatStream::new(&settings));
    let caller = alice
        .session_manager()
        .connect(
            &account,
            &contact_uri(&bob),
            vec![chat.clone() as Arc<dyn MediaStream>],
        )
        .await
        .unwrap();
    let callee = common::incoming_session(&bob, &mut bob_all).await;
    let proposed = callee.proposed_streams().unwrap();
    let bob_chat = proposed[0].clone().downcast::<ChatStream>().unwrap();
    callee.accept(proposed).await.unwrap();
    until(&mut alice_all, "SIPSessionDidStart").await;
    tokio::time::timeout(Duration::from_secs(30), chat.base().connection())
        .await
        .expect("MSRP up in time")
        .expect("MSRP up");

    // No a=chatroom: no capabilities, and neither chat room feature.
    assert!(chat.chatroom_capabilities().is_empty());
    assert_eq!(
        chat.set_local_nickname("al"),
        Err(ChatStreamError::NicknameNotSupported)
    );
    let to_carol = MessageOptions {
        recipients: vec![Address::new("sip:carol@example.test")],
        ..MessageOptions::default()
    };
    assert_eq!(
        chat.send_message("psst", "text/plain", to_carol),
        Err(ChatStreamError::PrivateMessagesNotSupported)
    );
    // The spec allows a cc only where private messages are.
    let cc_carol = MessageOptions {
        courtesy_recipients: vec![Address::new("sip:carol@example.test")],
        ..MessageOptions::default()
    };
    assert_eq!(
        chat.send_message("fyi", "text/plain", cc_carol),
        Err(ChatStreamError::PrivateMessagesNotSupported)
    );
    // Naming the peer itself (the URI the session went to) is no private
    // message: it goes.
    let peer = chat.base().context().unwrap().remote_identity.clone();
    let to_bob = MessageOptions {
        recipients: vec![Address::from_name_addr(&peer)],
        ..MessageOptions::default()
    };
    chat.send_message("hi bob", "text/plain", to_bob).unwrap();
    let m = match next(&mut bob_all, "ChatStreamGotMessage").await {
        NotificationData::ChatStreamGotMessage { message } => message,
        other => panic!("{other:?}"),
    };
    assert_eq!(m.text(), "hi bob");
    // Bob is no chat room either: a message to him is never private.
    assert!(!m.private);
    assert!(bob_chat.chatroom_capabilities().is_empty());

    caller.end().await.unwrap();
    until(&mut alice_all, "SIPSessionDidEnd").await;
    until(&mut bob_all, "SIPSessionDidEnd").await;
}
