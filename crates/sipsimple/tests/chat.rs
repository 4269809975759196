//! Chat between two applications in one process on loopback: MSRP over
//! TLS (the default `msrp.transport`) and over TCP, CPIM both ways with
//! success reports, 1,000 messages in order with every report, a 1 MB
//! message chunked and reassembled, is-composing with its idle timeout,
//! plain text both ways when neither side lists CPIM, and a message taken
//! back after its first chunks. Both sides offer and answer CEMA (RFC
//! 6714) and chat over it.

mod common;

use std::time::Duration;

use common::chat_call::{audio_call_with_chat, new_chat, offer_chat, tells, AudioCallWithChat};
use common::{account_app_with, contact_uri, incoming_session, until};
use sipsimple::application::SipApplication;
use sipsimple::notification::{Filter, NotificationData, Subscription};
use sipsimple::streams::msrp::{ChatStream, ComposingState, DeliveryState, MessageOptions};
use sipsimple::streams::MediaStream;

type Chat = common::chat_call::ChatCall;

/// Alice starts a chat session with bob; bob takes the chat stream the
/// registry made for her offer. Both MSRP sides are started.
async fn chat(transport: &str) -> Chat {
    chat_with(transport, "", |_| ()).await
}

/// As [`chat`], with `alice_global` in alice's configuration and `setup`
/// run on each side's stream before it is initialized: alice's before
/// her offer is made, bob's before he accepts.
async fn chat_with(transport: &str, alice_global: &str, setup: impl Fn(&ChatStream)) -> Chat {
    let account = format!("msrp.transport = \"{transport}\"\n");
    let alice_chat = |alice: &SipApplication| {
        let chat = new_chat(alice);
        setup(&chat);
        chat
    };
    common::chat_call::chat_call(alice_global, &account, alice_chat, &setup).await
}

/// Waits for `name` from `sub` and returns its data.
async fn next(sub: &mut Subscription, name: &str) -> NotificationData {
    until(sub, name).await.pop().unwrap().data
}

fn got_message(d: NotificationData) -> sipsimple::streams::msrp::ChatMessage {
    match d {
        NotificationData::ChatStreamGotMessage { message } => message,
        other => panic!("{other:?}"),
    }
}

async fn both_ways(transport: &str) {
    let mut c = chat(transport).await;
    let tls = transport == "tls";
    let path = c.alice_chat.base().local_uri().unwrap();
    assert_eq!(path.secure, tls, "{path}");

    let id = c
        .alice_chat
        .send_message("hello bob", "text/plain", MessageOptions::default())
        .unwrap();
    let m = got_message(next(&mut c.bob_all, "ChatStreamGotMessage").await);
    assert_eq!(m.text(), "hello bob");
    assert_eq!(m.content_type, "text/plain");
    assert!(m.cpim, "both sides accept CPIM, so it is wrapped");
    assert_eq!(m.sender.as_ref().unwrap().uri, "sip:alice@example.test");
    assert!(m.timestamp.is_some());
    match next(&mut c.alice_all, "ChatStreamDidDeliverMessage").await {
        NotificationData::ChatStreamDidDeliverMessage {
            message_id, code, ..
        } => {
            assert_eq!((message_id.as_str(), code), (id.as_str(), 200));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        c.alice_chat.delivery_state(&id),
        Some(DeliveryState::Delivered)
    );

    let options = MessageOptions {
        subject: vec![("re: hello".into(), Some("en".into()))],
        ..MessageOptions::default()
    };
    let back = c
        .bob_chat
        .send_message("hi alice", "text/plain", options)
        .unwrap();
    let m = got_message(next(&mut c.alice_all, "ChatStreamGotMessage").await);
    assert_eq!(
        (m.text().as_str(), m.subject.as_deref()),
        ("hi alice", Some("re: hello"))
    );
    next(&mut c.bob_all, "ChatStreamDidDeliverMessage").await;
    assert_eq!(
        c.bob_chat.delivery_state(&back),
        Some(DeliveryState::Delivered)
    );

    c.caller.end().await.unwrap();
    until(&mut c.alice_all, "SIPSessionDidEnd").await;
    until(&mut c.bob_all, "SIPSessionDidEnd").await;
    let _ = &c.callee;
}

#[tokio::test]
async fn chat_both_ways_over_tls_with_cpim_and_reports() {
    both_ways("tls").await;
}

#[tokio::test]
async fn chat_both_ways_over_tcp_with_cpim_and_reports() {
    both_ways("tcp").await;
}

#[tokio::test]
async fn both_sides_advertise_cema_and_the_answerer_connects_by_it() {
    let mut c = chat("tls").await;
    // Each side read the other's a=msrp-cema off the SDP that crossed SIP.
    let offer = c.bob_chat.base().remote_media().unwrap();
    let answer = c.alice_chat.base().remote_media().unwrap();
    assert!(offer.cema && answer.cema, "{offer:?} {answer:?}");
    // Bob answered `active`: his connection went to the c=/m= address of
    // alice's offer (here also her path's authority: no middlebox).
    assert_eq!(answer.setup, Some(sdp::Setup::Active));
    let anchor = offer.media_address.unwrap();
    let alice = c.alice_chat.base().local_uri().unwrap();
    assert_eq!(
        (anchor.host.as_str(), anchor.port),
        ("127.0.0.1", alice.port.unwrap())
    );
    tells(&c.alice_chat, &mut c.bob_all, "over cema").await;
    tells(&c.bob_chat, &mut c.alice_all, "and back").await;
    c.caller.end().await.unwrap();
    until(&mut c.bob_all, "SIPSessionDidEnd").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_messages_arrive_in_order_with_every_report_and_a_megabyte_whole() {
    let c = chat("tcp").await;
    let center_b = c.bob_chat.base().context().unwrap().center.clone();
    let center_a = c.alice_chat.base().context().unwrap().center.clone();
    let mut got = center_b.subscribe(Filter::name("ChatStreamGotMessage"));
    let mut delivered = center_a.subscribe(Filter::name("ChatStreamDidDeliverMessage"));
    let mut ids = Vec::new();
    for i in 0..1000 {
        ids.push(
            c.alice_chat
                .send_message(
                    format!("message {i}"),
                    "text/plain",
                    MessageOptions::default(),
                )
                .unwrap(),
        );
    }
    for i in 0..1000 {
        let n = tokio::time::timeout(Duration::from_secs(30), got.next())
            .await
            .unwrap()
            .unwrap();
        let m = got_message(n.data);
        assert_eq!(m.text(), format!("message {i}"), "in order");
    }
    let mut reported = std::collections::HashSet::new();
    while reported.len() < 1000 {
        let n = tokio::time::timeout(Duration::from_secs(30), delivered.next())
            .await
            .unwrap()
            .unwrap();
        if let NotificationData::ChatStreamDidDeliverMessage { message_id, .. } = n.data {
            reported.insert(message_id);
        }
    }
    assert!(ids.iter().all(|id| reported.contains(id)));
    assert_eq!(got.take_missed() + delivered.take_missed(), 0);

    // 1 MB in 2 KB chunks: reassembled byte for byte.
    let big: Vec<u8> = (0..1_048_576u32).map(|i| b'a' + (i % 26) as u8).collect();
    let id = c
        .alice_chat
        .send_message(big.clone(), "text/plain", MessageOptions::default())
        .unwrap();
    let n = tokio::time::timeout(Duration::from_secs(30), got.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got_message(n.data).content, big);
    loop {
        let n = tokio::time::timeout(Duration::from_secs(30), delivered.next())
            .await
            .unwrap()
            .unwrap();
        if matches!(&n.data, NotificationData::ChatStreamDidDeliverMessage { message_id, .. } if *message_id == id)
        {
            break;
        }
    }
}

#[tokio::test]
async fn composing_indication_arrives_and_lapses_to_idle_after_its_refresh() {
    let mut c = chat("tcp").await;
    c.alice_chat
        .send_composing_indication(ComposingState::Active, Some(1), None, Vec::new())
        .unwrap();
    match next(&mut c.bob_all, "ChatStreamGotComposingIndication").await {
        NotificationData::ChatStreamGotComposingIndication {
            state,
            refresh,
            sender,
            ..
        } => {
            assert_eq!((state.as_str(), refresh), ("active", Some(1)));
            assert_eq!(sender.unwrap().uri, "sip:alice@example.test");
        }
        other => panic!("{other:?}"),
    }
    // RFC 3994 §4.2: no refresh within 1 s, so bob's side turns idle.
    match next(&mut c.bob_all, "ChatStreamGotComposingIndication").await {
        NotificationData::ChatStreamGotComposingIndication { state, refresh, .. } => {
            assert_eq!((state.as_str(), refresh), ("idle", None));
        }
        other => panic!("{other:?}"),
    }
    // Nothing of it is a chat message.
    assert!(c
        .bob_all
        .try_next()
        .is_none_or(|n| n.name() != "ChatStreamGotMessage"));
}

#[tokio::test]
async fn messages_sent_before_the_stream_starts_are_queued_and_delivered() {
    let alice = account_app_with("alice", "", "msrp.transport = \"tcp\"\n").await;
    let bob = account_app_with("bob", "", "msrp.transport = \"tcp\"\n").await;
    let mut bob_all = bob.notification_center().subscribe(Filter::all());
    let chat = new_chat(&alice);
    let early = chat
        .send_message("early", "text/plain", MessageOptions::default())
        .unwrap();
    assert_eq!(chat.delivery_state(&early), Some(DeliveryState::Pending));
    let _call = offer_chat(&alice, &contact_uri(&bob), &chat).await.unwrap();
    let callee = incoming_session(&bob, &mut bob_all).await;
    callee
        .accept(callee.proposed_streams().unwrap())
        .await
        .unwrap();
    let m = got_message(next(&mut bob_all, "ChatStreamGotMessage").await);
    assert_eq!(m.text(), "early");
    // Wrapped once the session's identities were known: CPIM From and To.
    assert!(m.cpim);
    assert_eq!(m.sender.unwrap().uri, "sip:alice@example.test");
    assert_eq!(m.recipients.len(), 1, "{:?}", m.recipients);
}

#[tokio::test]
async fn a_message_still_queued_when_the_stream_ends_is_reported_not_delivered() {
    let alice = account_app_with("alice", "", "msrp.transport = \"tcp\"\n").await;
    let mut alice_all = alice.notification_center().subscribe(Filter::all());
    let account = alice.account_manager().accounts().remove(0);
    let settings = alice
        .session_manager()
        .stream_settings(account, "127.0.0.1".parse().unwrap())
        .unwrap();
    let chat = ChatStream::new(&settings);
    let id = chat
        .send_message("never sent", "text/plain", MessageOptions::default())
        .unwrap();
    chat.end();
    assert!(matches!(
        chat.delivery_state(&id),
        Some(DeliveryState::Failed { code: 0, .. })
    ));
    assert!(chat
        .send_message("after", "text/plain", MessageOptions::default())
        .is_err());
    // Never initialized, the stream has no sender to post as; the state
    // says it all.
    assert!(alice_all
        .try_next()
        .is_none_or(|n| n.name() != "ChatStreamDidNotDeliverMessage"));
}

#[tokio::test]
async fn chat_added_to_an_audio_call_and_removed_again_while_audio_goes_on() {
    let AudioCallWithChat {
        caller,
        callee,
        bob_audio,
        alice_chat,
        bob_chat,
        mut alice_all,
        mut bob_all,
        _alice,
        _bob,
    } = audio_call_with_chat().await;

    tells(&alice_chat, &mut bob_all, "during the call").await;
    tells(&bob_chat, &mut alice_all, "heard you").await;

    caller.remove_stream(alice_chat.clone()).await.unwrap();
    let removed = until(&mut bob_all, "SIPSessionDidRenegotiateStreams").await;
    assert!(removed.iter().any(|n| n.name() == "MediaStreamDidEnd"));
    assert_eq!(callee.streams().len(), 1);
    assert_eq!(callee.streams()[0].stream_type(), "audio");
    // The chat is gone, the audio is not: bob still hears alice's tone.
    assert!(alice_chat
        .send_message("too late", "text/plain", MessageOptions::default())
        .is_err());
    let before = bob_audio.stats();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let after = bob_audio.stats();
    assert!(
        after.packets_received > before.packets_received + 10,
        "{before:?} {after:?}"
    );
    caller.end().await.unwrap();
}

/// A stream that fails while the call is up leaves the session, the
/// others go on (python-sipsimple's rule): bob's chat connection goes
/// away without a word in SIP, alice's chat stream fails, and alice's
/// session removes it with a re-INVITE while the audio carries on.
#[tokio::test]
async fn a_failed_chat_leaves_the_call_and_the_audio_goes_on() {
    use sipsimple::streams::MediaStream;
    let AudioCallWithChat {
        caller,
        callee,
        bob_audio,
        alice_chat: _alice_chat,
        bob_chat,
        mut alice_all,
        mut bob_all,
        _alice,
        _bob,
    } = audio_call_with_chat().await;

    // Bob's side of the chat goes away at the MSRP level only.
    MediaStream::end(&*bob_chat);
    let seen = until(&mut alice_all, "SIPSessionDidRenegotiateStreams").await;
    assert!(
        seen.iter().any(|n| n.name() == "MediaStreamDidFail"),
        "{:?}",
        common::names(&seen)
    );
    assert_eq!(caller.streams().len(), 1);
    assert_eq!(caller.streams()[0].stream_type(), "audio");
    assert_eq!(caller.state(), sipsimple::session::SessionState::Connected);
    // Bob's queue still holds the renegotiation that added the chat.
    tokio::time::timeout(Duration::from_secs(10), async {
        while callee.streams().len() != 1 {
            until(&mut bob_all, "SIPSessionDidRenegotiateStreams").await;
        }
    })
    .await
    .expect("bob's session drops the chat too");
    assert_eq!(callee.streams()[0].stream_type(), "audio");
    let before = bob_audio.stats();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(bob_audio.stats().packets_received > before.packets_received + 10);
    caller.end().await.unwrap();
}

#[tokio::test]
async fn audio_added_to_a_chat_session() {
    let mut c = chat("tcp").await;
    let audio = common::tone_stream(440.0, vec![sdp::offer_answer::Codec::pcmu()]).await;
    c.callee.add_stream(audio.clone()).await.unwrap();
    let accepted =
        common::chat_call::accept_proposal_of(&mut c.alice_all, &c.caller, &["audio"]).await;
    let alice_audio = accepted[0]
        .clone()
        .downcast::<sipsimple::streams::audio::AudioStream>()
        .unwrap();
    until(&mut c.bob_all, "SIPSessionDidRenegotiateStreams").await;
    assert_eq!(c.callee.streams().len(), 2);
    // The chat goes on next to the new audio.
    tells(&c.alice_chat, &mut c.bob_all, "still here").await;
    let (before, heard_before) = (audio.stats(), alice_audio.stats());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(audio.stats().packets_sent > before.packets_sent + 10);
    // And it arrives at alice, who accepted it.
    assert!(alice_audio.stats().packets_received > heard_before.packets_received + 10);
}

#[tokio::test]
async fn trace_msrp_posts_every_chunk_both_ways_with_bodies_cut() {
    let global = "[logging]\ntrace_msrp = true\n";
    let tcp = "msrp.transport = \"tcp\"\n";
    let alice = account_app_with("alice", global, tcp).await;
    let bob = account_app_with("bob", "", tcp).await;
    let mut traces = alice
        .notification_center()
        .subscribe(Filter::name("MSRPTransportTrace"));
    let mut bob_traces = bob
        .notification_center()
        .subscribe(Filter::name("MSRPTransportTrace"));
    let mut alice_all = alice.notification_center().subscribe(Filter::all());
    let mut bob_all = bob.notification_center().subscribe(Filter::all());
    let chat = new_chat(&alice);
    let _call = offer_chat(&alice, &contact_uri(&bob), &chat).await.unwrap();
    let callee = incoming_session(&bob, &mut bob_all).await;
    callee
        .accept(callee.proposed_streams().unwrap())
        .await
        .unwrap();
    let long = "z".repeat(5000);
    chat.send_message(long.clone(), "text/plain", MessageOptions::default())
        .unwrap();
    until(&mut alice_all, "ChatStreamDidDeliverMessage").await;
    let mut seen = Vec::new();
    while let Some(n) = traces.try_next() {
        if let NotificationData::MSRPTransportTrace { direction, data } = n.data {
            seen.push((direction, data));
        }
    }
    // Bob's empty binding SEND came in, our chunks went out, his REPORT
    // came back; no trace carries the whole 5,000-byte body.
    assert!(
        seen.iter()
            .any(|(d, t)| *d == "incoming" && t.contains(" SEND")),
        "{seen:?}"
    );
    assert!(seen
        .iter()
        .any(|(d, t)| *d == "outgoing" && t.contains(" SEND") && t.contains("bytes in all")));
    assert!(seen
        .iter()
        .any(|(d, t)| *d == "incoming" && t.contains(" REPORT")));
    assert!(seen.iter().all(|(_, t)| !t.contains(&long[..1000])));
    // Every chunk is traced: the CPIM-wrapped 5,000 bytes (under 6 KiB)
    // leave in three 2 KiB chunks, each its own outgoing SEND.
    let chunks = seen
        .iter()
        .filter(|(d, t)| *d == "outgoing" && t.contains(" SEND"))
        .count();
    assert_eq!(chunks, 3, "{seen:?}");
    // Bob did not ask for traces: his observer, there from the start,
    // heard none while the chunks reached him and his REPORT left.
    assert_eq!(bob_traces.try_next().map(|n| n.name().to_owned()), None);
}

#[tokio::test]
async fn imdn_delivery_is_answered_by_the_stream_and_display_by_the_application() {
    use payloads::imdn::Disposition;
    let mut c = chat("tcp").await;
    let options = MessageOptions {
        notifications: vec![Disposition::PositiveDelivery, Disposition::Display],
        ..MessageOptions::default()
    };
    let id = c
        .alice_chat
        .send_message("read me", "text/plain", options)
        .unwrap();
    let m = got_message(next(&mut c.bob_all, "ChatStreamGotMessage").await);
    let request = m
        .notification_request
        .clone()
        .expect("the IMDN request came along");
    assert_eq!(request.message_id, id);
    assert!(request.wants(&Disposition::Display));

    // Bob's stream answered positive-delivery on its own.
    match next(&mut c.alice_all, "ChatStreamGotDispositionNotification").await {
        NotificationData::ChatStreamGotDispositionNotification {
            message_id,
            kind,
            status,
        } => {
            assert_eq!(
                (message_id.as_str(), kind, status.as_str()),
                (id.as_str(), "delivery", "delivered")
            );
        }
        other => panic!("{other:?}"),
    }
    // Bob shows it: his application sends the display notification.
    c.bob_chat.send_display_notification(&m).unwrap();
    match next(&mut c.alice_all, "ChatStreamGotDispositionNotification").await {
        NotificationData::ChatStreamGotDispositionNotification {
            message_id,
            kind,
            status,
        } => {
            assert_eq!(
                (message_id.as_str(), kind, status.as_str()),
                (id.as_str(), "display", "displayed")
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        c.alice_chat.delivery_state(&id),
        Some(DeliveryState::Displayed)
    );
    // A message that asked for nothing gets no display notification.
    c.alice_chat
        .send_message("plain", "text/plain", MessageOptions::default())
        .unwrap();
    let plain = got_message(next(&mut c.bob_all, "ChatStreamGotMessage").await);
    assert!(plain.notification_request.is_none());
    assert!(c.bob_chat.send_display_notification(&plain).is_err());
    // IMDNs are no chat messages on alice's side.
    assert!(!until_quiet(&mut c.alice_all)
        .await
        .contains(&"ChatStreamGotMessage".to_owned()));
}

/// The names of what arrives until nothing has for 300 ms.
async fn until_quiet(sub: &mut Subscription) -> Vec<String> {
    let mut names = Vec::new();
    while let Ok(Some(n)) = tokio::time::timeout(Duration::from_millis(300), sub.next()).await {
        names.push(n.name().to_owned());
    }
    names
}

/// Both streams leave `message/cpim` out of their accept-types (alice's
/// before her offer, bob's before his answer): each side's sender reads
/// the other's SDP and sends plain text (RFC 4975 §8.6: the peer sends
/// only what we list), and success reports still come back.
#[tokio::test]
async fn plain_text_both_ways_when_neither_side_takes_cpim() {
    let mut c = chat_with("tcp", "", |s| {
        s.set_accept_types(&["text/plain"]).unwrap();
        s.set_accept_wrapped_types(&[]).unwrap();
    })
    .await;
    for side in [&c.alice_chat, &c.bob_chat] {
        let theirs = side.base().remote_media().unwrap();
        assert_eq!(theirs.accept_types, ["text/plain"]);
        assert!(theirs.accept_wrapped_types.is_empty());
        assert!(!side.cpim_supported());
        // Fixed once the SDP is made.
        assert!(side.set_accept_types(&["message/cpim"]).is_err());
    }
    let id = c
        .alice_chat
        .send_message("hello bob", "text/plain", MessageOptions::default())
        .unwrap();
    let m = got_message(next(&mut c.bob_all, "ChatStreamGotMessage").await);
    assert_eq!((m.text().as_str(), m.cpim), ("hello bob", false));
    assert_eq!(m.content_type, "text/plain");
    // No CPIM From: the sender is the session's peer.
    assert_eq!(m.sender.as_ref().unwrap().uri, "sip:alice@example.test");
    match next(&mut c.alice_all, "ChatStreamDidDeliverMessage").await {
        NotificationData::ChatStreamDidDeliverMessage {
            message_id, code, ..
        } => assert_eq!((message_id.as_str(), code), (id.as_str(), 200)),
        other => panic!("{other:?}"),
    }
    let back = c
        .bob_chat
        .send_message("hi alice", "text/plain", MessageOptions::default())
        .unwrap();
    let m = got_message(next(&mut c.alice_all, "ChatStreamGotMessage").await);
    assert_eq!((m.text().as_str(), m.cpim), ("hi alice", false));
    next(&mut c.bob_all, "ChatStreamDidDeliverMessage").await;
    assert_eq!(
        c.bob_chat.delivery_state(&back),
        Some(DeliveryState::Delivered)
    );
    // What only CPIM can carry is refused rather than sent bare.
    let subject = MessageOptions {
        subject: vec![("s".into(), None)],
        ..MessageOptions::default()
    };
    assert!(c
        .alice_chat
        .send_message("x", "text/plain", subject)
        .is_err());
    let _ = &c.callee;
}

/// Alice takes back a 3.5 MB message (some 1,700 chunks of 2 KB) once
/// its first chunks were written: the rest never goes, a chunk ending in
/// `#` tells bob (RFC 4975 §7.1), bob's application never sees it,
/// alice's hears it was not delivered, and a later message arrives.
///
/// What makes "first chunks written, not all" certain rather than a race
/// with a fast loopback: bob stops reading (his connection's read gate,
/// the one a file receiver uses, held shut), so alice's writer stalls
/// once the sockets are full, and two messages queued before hers share
/// the chunks in turn, so hers needs some 10 MB taken by the sockets to
/// finish, more than Linux lets a socket pair hold (4 MB send buffer at
/// most, and a receive buffer that does not grow while nobody reads).
/// Those two are taken back too, so that few chunks follow the `#` one
/// and the trace of it cannot be pushed out of the observer's queue.
#[tokio::test]
async fn a_message_aborted_after_its_first_chunks_never_arrives_and_the_next_does() {
    let mut c = chat_with("tcp", "[logging]\ntrace_msrp = true\n", |_| ()).await;
    let center = c.alice_chat.base().context().unwrap().center.clone();
    let mut traces = center.subscribe(Filter::name("MSRPTransportTrace"));
    let mut not_delivered = center.subscribe(Filter::name("ChatStreamDidNotDeliverMessage"));
    let mut delivered = center.subscribe(Filter::name("ChatStreamDidDeliverMessage"));
    let bob_conn = c.bob_chat.base().connection().await.unwrap();
    let gate = sipsimple::msrp::ReadGate::new(0);
    gate.hold(1);
    bob_conn.set_read_gate(gate.clone());
    let send = |seed: u32| {
        let body: Vec<u8> = (0..3_500_000u32)
            .map(|i| b'a' + ((i + seed) % 26) as u8)
            .collect();
        c.alice_chat
            .send_message(body, "text/plain", MessageOptions::default())
            .unwrap()
    };
    let fillers = [send(1), send(2)];
    let id = send(0);
    let ours = format!("Message-ID: {id}\r\n");
    let outgoing = |n: sipsimple::notification::Notification| match n.data {
        NotificationData::MSRPTransportTrace {
            direction: "outgoing",
            data,
        } => Some(data),
        _ => None,
    };
    // The writer traces each chunk as it takes it.
    loop {
        let n = tokio::time::timeout(Duration::from_secs(30), traces.next())
            .await
            .unwrap()
            .unwrap();
        if outgoing(n).is_some_and(|t| t.contains(&ours)) {
            break;
        }
    }
    c.alice_chat.abort_message(&id).unwrap();
    assert!(c.alice_chat.abort_message(&id).is_err(), "aborted once");
    for f in &fillers {
        c.alice_chat.abort_message(f).unwrap();
    }
    let mut failed = Vec::new();
    while failed.len() < 3 {
        match next(&mut not_delivered, "ChatStreamDidNotDeliverMessage").await {
            NotificationData::ChatStreamDidNotDeliverMessage {
                message_id, code, ..
            } => failed.push((message_id, code)),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        failed,
        [
            (id.clone(), 0),
            (fillers[0].clone(), 0),
            (fillers[1].clone(), 0)
        ]
    );
    assert!(matches!(
        c.alice_chat.delivery_state(&id),
        Some(DeliveryState::Failed { code: 0, .. })
    ));
    gate.release(1);
    // On the wire: an empty SEND of the message whose end-line says `#`.
    let end = loop {
        let n = tokio::time::timeout(Duration::from_secs(30), traces.next())
            .await
            .unwrap()
            .unwrap();
        if let Some(t) = outgoing(n).filter(|t| t.contains(&ours) && t.ends_with('#')) {
            break t;
        }
    };
    assert!(
        end.contains(" SEND\r\n") && !end.contains("bytes in all"),
        "{end}"
    );
    let after = c
        .alice_chat
        .send_message("after", "text/plain", MessageOptions::default())
        .unwrap();
    let m = got_message(next(&mut c.bob_all, "ChatStreamGotMessage").await);
    assert_eq!(
        (m.message_id.as_str(), m.text().as_str()),
        (after.as_str(), "after")
    );
    match next(&mut delivered, "ChatStreamDidDeliverMessage").await {
        NotificationData::ChatStreamDidDeliverMessage { message_id, .. } => {
            assert_eq!(message_id, after, "only the last message was delivered")
        }
        other => panic!("{other:?}"),
    }
}
