//! Chat sessions between two applications of a test: one offers a
//! ChatStream in a SIP session, the other accepts it; and a message said
//! on one side, checked where it arrives and reported delivered.

use std::sync::Arc;

use sipsimple::application::SipApplication;
use sipsimple::notification::{NotificationData, Subscription};
use sipsimple::session::Session;
use sipsimple::streams::msrp::{ChatMessage, ChatStream, DeliveryState, MessageOptions};
use sipsimple::streams::MediaStream;

use super::{incoming_session, until};

/// A ChatStream made with the settings of `app`'s first account.
pub fn new_chat(app: &SipApplication) -> Arc<ChatStream> {
    let account = app.account_manager().accounts().remove(0);
    let settings = app
        .session_manager()
        .stream_settings(account, "127.0.0.1".parse().unwrap())
        .unwrap();
    Arc::new(ChatStream::new(&settings))
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
