//! The direction of chat streams (`a=sendrecv`, `sendonly`, `recvonly`,
//! `inactive`): RFC 3264 §6.1's offer and answer, RFC 4975 adding no
//! meaning of its own. Between two applications on loopback: a `recvonly`
//! chat is answered `sendonly` and its offerer cannot send; a message
//! waiting when the answer says we may not send is not delivered; the
//! peer's re-INVITEs turn the chat `sendonly`, `inactive` and back to
//! `sendrecv`, the stream and its connection staying; hold holds the
//! audio of an audio+chat session and leaves the chat `sendrecv`. Against
//! a raw MSRP peer that said it would not send: its content gets 403 and
//! reaches no one, while our messages and their REPORTs flow. And every
//! kind of incoming offer answered as RFC 3264 allows.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::chat_call::{audio_call_with_chat_with, new_chat, new_chat_with, says};
use common::raw_msrp::{raw_chat_with, raw_chunk, read_until};
use common::{account_app_with, until};
use sdp::{Direction, SessionDescription};
use sipsimple::application::SipApplication;
use sipsimple::notification::{Filter, Notification, NotificationData, Subscription};
use sipsimple::streams::msrp::{
    ChatStream, ChatStreamError, ComposingState, DeliveryState, MessageOptions,
};
use sipsimple::streams::MediaStream;
use tokio::io::AsyncWriteExt;

const TRACE_SIP: &str = "[logging]\ntrace_sip = true\n";
const TCP: &str = "msrp.transport = \"tcp\"\n";

/// The SDP of the next SIP message on alice's `trace` that was
/// `received` (or sent), starts with `start` and carries a chat.
async fn traced_sdp(trace: &mut Subscription, received: bool, start: &str) -> SessionDescription {
    loop {
        let n = common::next_notification(trace).await;
        let NotificationData::SIPEngineSIPTrace {
            received: r, text, ..
        } = n.data
        else {
            continue;
        };
        if r == received && text.starts_with(start) && text.contains("m=message") {
            let body = &text[text.find("\r\n\r\n").expect("a body") + 4..];
            return SessionDescription::parse(body.as_bytes()).expect("SDP");
        }
    }
}

/// The direction attribute on `sdp`'s m-line of `media`.
fn line(sdp: &SessionDescription, media: &str) -> Option<Direction> {
    sdp.media
        .iter()
        .find(|m| m.media == media)
        .and_then(|m| m.own_direction())
}

/// Waits (bounded) until `chat`'s negotiated direction is `d`: the
/// session takes an answer on its own task.
async fn becomes(chat: &ChatStream, d: Direction) {
    tokio::time::timeout(Duration::from_secs(10), async {
        while chat.direction() != d {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("direction {:?}, not {d:?}", chat.direction()));
}

fn plain(chat: &ChatStream, text: &str) -> Result<String, ChatStreamError> {
    chat.send_message(text.to_owned(), "text/plain", MessageOptions::default())
}

fn composing(chat: &ChatStream) -> Result<String, ChatStreamError> {
    chat.send_composing_indication(ComposingState::Active, None, None, Vec::new())
}

fn got_messages(seen: &[Notification]) -> Vec<String> {
    seen.iter()
        .filter_map(|n| match &n.data {
            NotificationData::ChatStreamGotMessage { message } => Some(message.text()),
            _ => None,
        })
        .collect()
}

type Call = common::chat_call::ChatCall;

/// Alice (tracing her SIP) offers the chat `alice_chat` makes to bob,
/// who takes the chat the registry made after `setup` ran on it.
async fn call(
    alice_chat: impl FnOnce(&SipApplication) -> Arc<ChatStream>,
    setup: impl FnOnce(&ChatStream),
) -> Call {
    common::chat_call::chat_call(TRACE_SIP, TCP, alice_chat, setup).await
}

#[tokio::test]
async fn a_recvonly_chat_is_answered_sendonly_and_only_the_answerer_sends() {
    let mut c = call(|a| new_chat_with(a, Direction::RecvOnly), |_| ()).await;
    let offer = traced_sdp(&mut c.alice_trace, false, "INVITE ").await;
    assert_eq!(line(&offer, "message"), Some(Direction::RecvOnly));
    let answer = traced_sdp(&mut c.alice_trace, true, "SIP/2.0 200").await;
    assert_eq!(line(&answer, "message"), Some(Direction::SendOnly));
    assert_eq!(c.alice_chat.direction(), Direction::RecvOnly);
    assert_eq!(c.bob_chat.direction(), Direction::SendOnly);

    // Alice may not send: refused at once, saying why.
    let refused = Err(ChatStreamError::NotSending(Direction::RecvOnly));
    assert_eq!(plain(&c.alice_chat, "may I?"), refused);
    assert_eq!(composing(&c.alice_chat), refused);
    // Bob's messages reach her, and her REPORTs reach him.
    says(
        &c.bob_chat,
        &mut c.bob_all,
        &mut c.alice_all,
        "I talk, you read",
    )
    .await;
    assert!(composing(&c.bob_chat).is_ok());
    until(&mut c.alice_all, "ChatStreamGotComposingIndication").await;

    c.caller.end().await.unwrap();
    let seen = until(&mut c.bob_all, "SIPSessionDidEnd").await;
    assert_eq!(got_messages(&seen), Vec::<String>::new());
}

#[tokio::test]
async fn a_message_waiting_when_the_answer_says_sendonly_is_not_delivered() {
    let early = std::sync::Mutex::new(String::new());
    let mut c = call(
        |a| {
            let chat = new_chat(a);
            *early.lock().unwrap() = plain(&chat, "before the answer").unwrap();
            chat
        },
        |bob| bob.set_direction(Direction::SendOnly),
    )
    .await;
    let early = early.into_inner().unwrap();
    let answer = traced_sdp(&mut c.alice_trace, true, "SIP/2.0 200").await;
    assert_eq!(line(&answer, "message"), Some(Direction::SendOnly));
    assert_eq!(c.alice_chat.direction(), Direction::RecvOnly);
    // Reported as the answer was taken, before the session started.
    let failed: Vec<_> = c
        .alice_start
        .iter()
        .filter_map(|n| match &n.data {
            NotificationData::ChatStreamDidNotDeliverMessage {
                message_id, code, ..
            } => Some((message_id.clone(), *code)),
            _ => None,
        })
        .collect();
    assert_eq!(failed, [(early.clone(), 0)]);
    assert!(matches!(
        c.alice_chat.delivery_state(&early),
        Some(DeliveryState::Failed { code: 0, .. })
    ));
    says(&c.bob_chat, &mut c.bob_all, &mut c.alice_all, "mine go").await;
    c.caller.end().await.unwrap();
    let seen = until(&mut c.bob_all, "SIPSessionDidEnd").await;
    assert_eq!(got_messages(&seen), Vec::<String>::new());
}

/// Alice re-INVITEs with the chat as `direction`: the m-lines of her
/// offer and bob's answer say so, and both chats take it.
async fn alice_reoffers(c: &mut Call, direction: Direction, bob_sees: Direction) {
    c.alice_chat.set_direction(direction);
    c.caller.renew_offer().await.unwrap();
    let offer = traced_sdp(&mut c.alice_trace, false, "INVITE ").await;
    assert_eq!(line(&offer, "message"), Some(direction));
    let answer = traced_sdp(&mut c.alice_trace, true, "SIP/2.0 200").await;
    assert_eq!(line(&answer, "message"), Some(bob_sees));
    becomes(&c.bob_chat, bob_sees).await;
    becomes(&c.alice_chat, direction).await;
}

#[tokio::test]
async fn the_peers_reinvites_make_the_chat_sendonly_inactive_and_sendrecv_again() {
    let mut c = call(new_chat, |_| ()).await;
    let offer = traced_sdp(&mut c.alice_trace, false, "INVITE ").await;
    assert_eq!(line(&offer, "message"), Some(Direction::SendRecv));
    let answer = traced_sdp(&mut c.alice_trace, true, "SIP/2.0 200").await;
    assert_eq!(line(&answer, "message"), Some(Direction::SendRecv));
    says(&c.alice_chat, &mut c.alice_all, &mut c.bob_all, "hello").await;

    // Alice only talks: bob's answer is recvonly, bob cannot send.
    alice_reoffers(&mut c, Direction::SendOnly, Direction::RecvOnly).await;
    let refused = Err(ChatStreamError::NotSending(Direction::RecvOnly));
    assert_eq!(plain(&c.bob_chat, "hm"), refused);
    says(&c.alice_chat, &mut c.alice_all, &mut c.bob_all, "listen").await;

    // Nobody talks.
    alice_reoffers(&mut c, Direction::Inactive, Direction::Inactive).await;
    let refused = Err(ChatStreamError::NotSending(Direction::Inactive));
    assert_eq!(plain(&c.alice_chat, "a"), refused);
    assert_eq!(plain(&c.bob_chat, "b"), refused);
    assert_eq!(composing(&c.bob_chat), refused);

    // Both talk again, on the same stream and connection.
    let connection = c.bob_chat.base().current_connection().unwrap();
    alice_reoffers(&mut c, Direction::SendRecv, Direction::SendRecv).await;
    says(&c.alice_chat, &mut c.alice_all, &mut c.bob_all, "back").await;
    says(&c.bob_chat, &mut c.bob_all, &mut c.alice_all, "welcome").await;
    assert!(Arc::ptr_eq(
        &connection,
        &c.bob_chat.base().current_connection().unwrap()
    ));
    assert_eq!(c.callee.streams().len(), 1);
    c.caller.end().await.unwrap();
    let seen = until(&mut c.bob_all, "SIPSessionDidEnd").await;
    assert!(
        !seen.iter().any(|n| n.name() == "MediaStreamDidFail"),
        "{:?}",
        common::names(&seen)
    );
}

#[tokio::test]
async fn hold_holds_the_audio_and_leaves_the_chat_sendrecv() {
    let mut c = audio_call_with_chat_with(TRACE_SIP).await;
    let mut trace = c
        ._alice
        .notification_center()
        .subscribe(Filter::name("SIPEngineSIPTrace"));
    for chat in [&c.alice_chat, &c.bob_chat] {
        assert!(!chat.hold_supported());
    }
    c.caller.hold().await.unwrap();
    let offer = traced_sdp(&mut trace, false, "INVITE ").await;
    assert_eq!(line(&offer, "audio"), Some(Direction::SendOnly));
    assert_eq!(line(&offer, "message"), Some(Direction::SendRecv));
    let answer = traced_sdp(&mut trace, true, "SIP/2.0 200").await;
    assert_eq!(line(&answer, "audio"), Some(Direction::RecvOnly));
    assert_eq!(line(&answer, "message"), Some(Direction::SendRecv));
    let held = until(&mut c.bob_all, "SIPSessionDidChangeHoldState").await;
    assert_eq!(common::hold_state(&held), ("remote", true));
    assert!(c.caller.audio_stream().unwrap().on_hold_by_local());
    for chat in [&c.alice_chat, &c.bob_chat] {
        assert!(!chat.on_hold());
        assert_eq!(chat.direction(), Direction::SendRecv);
    }
    says(&c.alice_chat, &mut c.alice_all, &mut c.bob_all, "on hold?").await;
    says(
        &c.bob_chat,
        &mut c.bob_all,
        &mut c.alice_all,
        "only the audio",
    )
    .await;
    c.caller.end().await.unwrap();
}

#[tokio::test]
async fn content_from_a_peer_that_said_it_would_not_send_gets_403_and_reaches_no_one() {
    let app = account_app_with("alice", "", TCP).await;
    let mut c = raw_chat_with(
        &app,
        "text/plain",
        Direction::SendOnly,
        Some(Direction::RecvOnly),
    )
    .await;
    assert_eq!(c.offer.own_direction(), Some(Direction::SendOnly));
    assert_eq!(c.chat.direction(), Direction::SendOnly);

    let send = raw_chunk(
        "nope1x",
        &c.ours,
        &c.theirs,
        "peermsg1",
        "Byte-Range: 1-5/5\r\n",
        "hello",
        '$',
    );
    c.io.write_all(send.as_bytes()).await.unwrap();
    let answer = read_until(&mut c.io, "-------nope1x$").await;
    assert!(answer.contains("MSRP nope1x 403"), "{answer}");

    // An empty SEND (a keep-alive) is no content: answered 200.
    let keepalive = format!(
        "MSRP keep1x SEND\r\nTo-Path: {}\r\nFrom-Path: {}\r\nMessage-ID: keepalive1\r\n\
         Byte-Range: 1-0/0\r\nKeep-Alive: yes\r\n-------keep1x$\r\n",
        c.ours, c.theirs
    );
    c.io.write_all(keepalive.as_bytes()).await.unwrap();
    let answer = read_until(&mut c.io, "-------keep1x$").await;
    assert!(answer.contains("MSRP keep1x 200"), "{answer}");

    // We send; the peer's REPORT comes back as delivery.
    let id = plain(&c.chat, "mine").unwrap();
    let wire = read_until(&mut c.io, "mine").await;
    let mid = wire
        .lines()
        .find_map(|l| l.strip_prefix("Message-ID: "))
        .unwrap()
        .to_owned();
    assert_eq!(mid, id);
    let report = format!(
        "MSRP rep1x REPORT\r\nTo-Path: {}\r\nFrom-Path: {}\r\nMessage-ID: {mid}\r\n\
         Byte-Range: 1-4/4\r\nStatus: 000 200 OK\r\n-------rep1x$\r\n",
        c.ours, c.theirs
    );
    c.io.write_all(report.as_bytes()).await.unwrap();
    let seen = until(&mut c.events, "ChatStreamDidDeliverMessage").await;
    assert_eq!(got_messages(&seen), Vec::<String>::new());
    assert_eq!(c.chat.delivery_state(&id), Some(DeliveryState::Delivered));
    c.chat.end();
}

/// An offer's direction answered by what RFC 3264 §6.1 allows with
/// ours, and taken as the negotiated one once started.
#[tokio::test]
async fn an_incoming_offer_is_answered_as_rfc_3264_allows() {
    use common::raw_msrp::{context, raw_offer_sdp};
    use sipsimple::streams::msrp::ChatStreamType;
    use sipsimple::streams::{MediaStreamType, StreamDirection};

    let app = account_app_with("bob", "", TCP).await;
    let account = app.account_manager().accounts().remove(0);
    let settings = app
        .session_manager()
        .stream_settings(account, "127.0.0.1".parse().unwrap())
        .unwrap();
    let cases = [
        (
            Direction::SendOnly,
            Direction::SendRecv,
            Direction::RecvOnly,
        ),
        (
            Direction::RecvOnly,
            Direction::SendRecv,
            Direction::SendOnly,
        ),
        (
            Direction::Inactive,
            Direction::SendRecv,
            Direction::Inactive,
        ),
        (
            Direction::SendRecv,
            Direction::RecvOnly,
            Direction::RecvOnly,
        ),
        (
            Direction::SendOnly,
            Direction::SendOnly,
            Direction::Inactive,
        ),
        (
            Direction::SendRecv,
            Direction::SendRecv,
            Direction::SendRecv,
        ),
    ];
    for (offered, ours, answered) in cases {
        let mut offer = raw_offer_sdp("theirsess", Some("active"));
        offer.media[0].set_direction(offered);
        let stream = ChatStreamType
            .new_from_sdp(&settings, &offer, 0)
            .await
            .expect("a chat offer");
        let chat = stream.clone().downcast::<ChatStream>().unwrap();
        chat.set_direction(ours);
        stream
            .initialize(context(&app), StreamDirection::Incoming)
            .await
            .unwrap();
        let answer = stream.get_local_media(Some((&offer, 0))).unwrap();
        assert_eq!(
            answer.own_direction(),
            Some(answered),
            "{offered:?} {ours:?}"
        );
        let mut local = offer.clone();
        local.media = vec![answer];
        stream.start(&local, &offer, 0).unwrap();
        assert_eq!(chat.direction(), answered, "{offered:?} {ours:?}");
        let sends = plain(&chat, "x");
        assert_eq!(sends.is_ok(), answered.sends(), "{sends:?}");
        stream.end();
    }
}
