//! Chat sessions between two applications of a test: one offers a
//! ChatStream in a SIP session, the other accepts it; and a message said
//! on one side, checked where it arrives and reported delivered.

use std::sync::Arc;

use sipsimple::application::SipApplication;
use sipsimple::notification::{Filter, NotificationData, Subscription};
use sipsimple::session::Session;
use sipsimple::streams::msrp::{ChatMessage, ChatStream, DeliveryState, MessageOptions};
use sipsimple::streams::MediaStream;

use super::{incoming_session, until};

/// A ChatStream made with the settings of `app`'s first account.
pub fn new_chat(app: &SipApplication) -> Arc<ChatStream> {
    new_chat_with(app, sdp::Direction::SendRecv)
}

/// As [`new_chat`], offering `direction`.
pub fn new_chat_with(app: &SipApplication, direction: sdp::Direction) -> Arc<ChatStream> {
    let account = app.account_manager().accounts().remove(0);
    let settings = app
        .session_manager()
        .stream_settings(account, "127.0.0.1".parse().unwrap())
        .unwrap();
    Arc::new(ChatStream::with_direction(&settings, direction))
}

/// A subscription to `chat`'s own notifications (it must be initialized).
pub fn own_events(app: &SipApplication, chat: &ChatStream) -> Subscription {
    let sender = chat.base().context().expect("initialized").sender;
    app.notification_center()
        .subscribe(sipsimple::notification::Filter::sender(sender))
}

/// `app`'s first account calls `to` with `chat` as the only stream.
pub async fn offer_chat(
    app: &SipApplication,
    to: &str,
    chat: &Arc<ChatStream>,
) -> Result<Session, sipsimple::session::SessionError> {
    let account = app.account_manager().accounts().remove(0);
    app.session_manager()
        .connect(&account, to, vec![chat.clone() as Arc<dyn MediaStream>])
        .await
}

/// The next incoming session of `app` (seen on `all`), accepted with
/// every stream it proposes; its chat.
pub async fn accept_chat(
    app: &SipApplication,
    all: &mut Subscription,
) -> (Session, Arc<ChatStream>) {
    let session = incoming_session(app, all).await;
    let proposed = session.proposed_streams().unwrap();
    let chat = proposed[0]
        .clone()
        .downcast::<ChatStream>()
        .expect("a chat was proposed");
    session.accept(proposed).await.unwrap();
    (session, chat)
}

/// The message of the next ChatStreamGotMessage on `sub`.
pub async fn next_chat_message(sub: &mut Subscription) -> ChatMessage {
    let seen = until(sub, "ChatStreamGotMessage").await;
    match &seen.last().unwrap().data {
        NotificationData::ChatStreamGotMessage { message } => message.clone(),
        other => panic!("{other:?}"),
    }
}

/// `from` sends `text`; it arrives on `to_all` as that text. The message
/// as received.
pub async fn tells(from: &ChatStream, to_all: &mut Subscription, text: &str) -> ChatMessage {
    from.send_message(text.to_owned(), "text/plain", MessageOptions::default())
        .unwrap();
    let message = next_chat_message(to_all).await;
    assert_eq!(message.text(), text);
    message
}

/// As [`tells`], and the sender (on `from_all`) hears it delivered.
pub async fn says(
    from: &ChatStream,
    from_all: &mut Subscription,
    to_all: &mut Subscription,
    text: &str,
) -> ChatMessage {
    let id = from
        .send_message(text.to_owned(), "text/plain", MessageOptions::default())
        .unwrap();
    let message = next_chat_message(to_all).await;
    assert_eq!(message.text(), text);
    until(from_all, "ChatStreamDidDeliverMessage").await;
    assert_eq!(from.delivery_state(&id), Some(DeliveryState::Delivered));
    message
}

/// The streams of the last proposal to `session` (seen on `sub`), which
/// must be of `types`, accepted.
pub async fn accept_proposal_of(
    sub: &mut Subscription,
    session: &Session,
    types: &[&str],
) -> Vec<Arc<dyn MediaStream>> {
    let proposal = until(sub, "SIPSessionGotProposal").await;
    let streams = match &proposal.last().unwrap().data {
        NotificationData::SIPSessionGotProposal { streams, .. } => streams.0.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        streams.iter().map(|s| s.stream_type()).collect::<Vec<_>>(),
        types
    );
    session.accept_proposal(streams.clone()).await.unwrap();
    streams
}

/// The chat stream proposed to `session`'s peer in its last proposal
/// (seen on `sub`), accepted.
pub async fn accept_chat_proposal(sub: &mut Subscription, session: &Session) -> Arc<ChatStream> {
    let streams = accept_proposal_of(sub, session, &["chat"]).await;
    streams[0].clone().downcast::<ChatStream>().unwrap()
}

/// Alice calls bob with audio (MSRP over TCP for both), then adds a chat
/// that bob accepts: both sessions carry audio and chat.
pub struct AudioCallWithChat {
    pub _alice: SipApplication,
    pub _bob: SipApplication,
    pub alice_all: Subscription,
    pub bob_all: Subscription,
    pub caller: Session,
    pub callee: Session,
    pub bob_audio: Arc<sipsimple::streams::audio::AudioStream>,
    pub alice_chat: Arc<ChatStream>,
    pub bob_chat: Arc<ChatStream>,
}

pub async fn audio_call_with_chat() -> AudioCallWithChat {
    audio_call_with_chat_with("").await
}

/// As [`audio_call_with_chat`], with `alice_global` in alice's
/// configuration (e.g. `[logging]` to trace her SIP).
pub async fn audio_call_with_chat_with(alice_global: &str) -> AudioCallWithChat {
    let tcp = "msrp.transport = \"tcp\"\n";
    let alice = super::account_app_with("alice", alice_global, tcp).await;
    let bob = super::account_app_with("bob", "", tcp).await;
    let mut alice_all = alice.notification_center().subscribe(Filter::all());
    let mut bob_all = bob.notification_center().subscribe(Filter::all());
    let codecs = vec![sdp::offer_answer::Codec::pcmu()];
    let (caller, callee) = super::alice_calls_bob(
        &alice,
        &bob,
        &mut bob_all,
        vec![super::tone_stream(440.0, codecs.clone()).await],
    )
    .await;
    let bob_audio = super::tone_stream(1000.0, codecs).await;
    callee.accept(vec![bob_audio.clone()]).await.unwrap();
    until(&mut alice_all, "SIPSessionDidStart").await;

    let alice_chat = new_chat(&alice);
    caller.add_stream(alice_chat.clone()).await.unwrap();
    let bob_chat = accept_chat_proposal(&mut bob_all, &callee).await;
    until(&mut alice_all, "SIPSessionDidRenegotiateStreams").await;
    assert_eq!(caller.streams().len(), 2);
    AudioCallWithChat {
        _alice: alice,
        _bob: bob,
        alice_all,
        bob_all,
        caller,
        callee,
        bob_audio,
        alice_chat,
        bob_chat,
    }
}

/// Alice and bob in a chat session: alice offers the chat `alice_chat`
/// makes, bob accepts the one the registry made for it after `bob_setup`
/// ran on it; both sessions started.
pub struct ChatCall {
    pub alice: SipApplication,
    pub bob: SipApplication,
    pub alice_all: Subscription,
    /// Alice's SIPEngineSIPTrace (with `logging.trace_sip` in her
    /// configuration), from before her INVITE.
    pub alice_trace: Subscription,
    /// What alice saw up to her SIPSessionDidStart.
    pub alice_start: Vec<sipsimple::notification::Notification>,
    pub bob_all: Subscription,
    pub caller: Session,
    pub callee: Session,
    pub alice_chat: Arc<ChatStream>,
    pub bob_chat: Arc<ChatStream>,
}

/// A [`ChatCall`]; `alice_global` goes in alice's configuration,
/// `account` in both accounts' (e.g. `msrp.transport`).
pub async fn chat_call(
    alice_global: &str,
    account: &str,
    alice_chat: impl FnOnce(&SipApplication) -> Arc<ChatStream>,
    bob_setup: impl FnOnce(&ChatStream),
) -> ChatCall {
    let alice = super::account_app_with("alice", alice_global, account).await;
    let bob = super::account_app_with("bob", "", account).await;
    let alice_trace = alice
        .notification_center()
        .subscribe(Filter::name("SIPEngineSIPTrace"));
    let mut alice_all = alice.notification_center().subscribe(Filter::all());
    let mut bob_all = bob.notification_center().subscribe(Filter::all());
    let alice_chat = alice_chat(&alice);
    let caller = offer_chat(&alice, &super::contact_uri(&bob), &alice_chat)
        .await
        .unwrap();
    let callee = incoming_session(&bob, &mut bob_all).await;
    let proposed = callee.proposed_streams().unwrap();
    assert_eq!(
        proposed.iter().map(|s| s.stream_type()).collect::<Vec<_>>(),
        ["chat"]
    );
    let bob_chat = proposed[0].clone().downcast::<ChatStream>().unwrap();
    bob_setup(&bob_chat);
    callee.accept(proposed).await.unwrap();
    let alice_start = until(&mut alice_all, "SIPSessionDidStart").await;
    until(&mut bob_all, "SIPSessionDidStart").await;
    ChatCall {
        alice,
        bob,
        alice_all,
        alice_trace,
        alice_start,
        bob_all,
        caller,
        callee,
        alice_chat,
        bob_chat,
    }
}
