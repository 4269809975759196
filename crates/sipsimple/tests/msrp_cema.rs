//! CEMA (RFC 6714) against a raw MSRP peer on a TCP socket of the
//! test's, its SDP as a middlebox that anchors MSRP leaves it: c= and
//! m= give where the peer really listens, while the `a=path` URI keeps
//! the authority the peer wrote (a port nobody listens on here). Our
//! ChatStream offers `a=msrp-cema`; with the peer's `a=msrp-cema` too
//! it connects to the c=/m= address and binds and chats there, the
//! MSRP URIs on the wire untouched; without it RFC 4975 §5.4 stands: it
//! connects to the path's authority, finds nobody and fails saying so.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::raw_msrp::{chat_offered_to, context, read_until};
use common::{account_app_with, free_port, until};
use sdp::SessionDescription;
use sipsimple::notification::{Filter, NotificationData, Subscription};
use sipsimple::streams::msrp::{ChatStream, MessageOptions};
use sipsimple::streams::MediaStream;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

const THEIRS: &str = "theirsess";

/// The peer's answer: c= 127.0.0.1, m= port `media_port`, its URI at
/// `path_port`, `a=setup:passive` (it waits for us), and `a=msrp-cema`
/// when `cema`.
fn answer(media_port: u16, path_port: u16, cema: bool) -> SessionDescription {
    let cema = if cema { "a=msrp-cema\r\n" } else { "" };
    let text = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=message {media_port} TCP/MSRP *\r\n\
         a=path:msrp://127.0.0.1:{path_port}/{THEIRS};tcp\r\n\
         a=accept-types:text/plain\r\na=setup:passive\r\n{cema}"
    );
    SessionDescription::parse(text.as_bytes()).unwrap()
}

struct Offered {
    _app: sipsimple::application::SipApplication,
    chat: Arc<ChatStream>,
    all: Subscription,
}

/// Our chat offer over TCP, answered by `remote`.
async fn offer_answered_by(remote: impl FnOnce() -> SessionDescription) -> Offered {
    let app = account_app_with("alice", "", "msrp.transport = \"tcp\"\n").await;
    let all = app.notification_center().subscribe(Filter::all());
    let (chat, offer) = chat_offered_to(&app, context(&app), &remote()).await;
    assert!(offer.msrp_cema(), "our offer advertises CEMA: {offer:?}");
    Offered {
        _app: app,
        chat,
        all,
    }
}

/// Answers the binding SEND in `text` with 200 from the peer's URI.
async fn answer_bind(io: &mut TcpStream, text: &str, ours: &str, theirs: &str) {
    let line = text.lines().find(|l| l.ends_with(" SEND")).unwrap();
    let tid = line.split_whitespace().nth(1).unwrap();
    let ok =
        format!("MSRP {tid} 200 OK\r\nTo-Path: {ours}\r\nFrom-Path: {theirs}\r\n-------{tid}$\r\n");
    io.write_all(ok.as_bytes()).await.unwrap();
}

#[tokio::test]
async fn with_cema_on_both_sides_we_connect_to_the_c_and_m_address_not_the_path() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let real = listener.local_addr().unwrap().port();
    // The authority a middlebox left in a=path: nothing listens there.
    let stale = free_port();
    let mut o = offer_answered_by(|| answer(real, stale, true)).await;
    let (mut io, _) = tokio::time::timeout(Duration::from_secs(30), listener.accept())
        .await
        .expect("we connect to the c=/m= address")
        .unwrap();

    // RFC 6714 keeps the MSRP URIs as they are: the To-Path is still the
    // peer's a=path, stale port and all, and matched by its session-id.
    let theirs = format!("msrp://127.0.0.1:{stale}/{THEIRS};tcp");
    let bind = read_until(&mut io, " SEND\r\n").await;
    let bind = if bind.contains("$\r\n") {
        bind
    } else {
        bind + &read_until(&mut io, "$\r\n").await
    };
    assert!(bind.contains(&format!("To-Path: {theirs}\r\n")), "{bind}");
    let ours = o.chat.base().local_uri().unwrap().to_string();
    assert!(bind.contains(&format!("From-Path: {ours}\r\n")), "{bind}");
    answer_bind(&mut io, &bind, &ours, &theirs).await;
    until(&mut o.all, "MediaStreamDidStart").await;
    let remote = o.chat.base().remote_media().unwrap();
    assert!(remote.cema);

    // A chat message each way over the anchored connection.
    o.chat
        .send_message(
            "through the anchor",
            "text/plain",
            MessageOptions::default(),
        )
        .unwrap();
    let sent = read_until(&mut io, "through the anchor").await;
    assert!(sent.contains(&format!("To-Path: {theirs}\r\n")), "{sent}");
    let body = "and back";
    let send = format!(
        "MSRP tx0001 SEND\r\nTo-Path: {ours}\r\nFrom-Path: {theirs}\r\nMessage-ID: msg0001\r\n\
         Byte-Range: 1-{n}/{n}\r\nContent-Type: text/plain\r\n\r\n{body}\r\n-------tx0001$\r\n",
        n = body.len()
    );
    io.write_all(send.as_bytes()).await.unwrap();
    let seen = until(&mut o.all, "ChatStreamGotMessage").await;
    match &seen.last().unwrap().data {
        NotificationData::ChatStreamGotMessage { message } => assert_eq!(message.text(), body),
        _ => panic!("{seen:?}"),
    }
    read_until(&mut io, "MSRP tx0001 200 OK").await;
    o.chat.end();
}

#[tokio::test]
async fn without_the_peers_cema_we_connect_to_the_path_and_fail_saying_why() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let real = listener.local_addr().unwrap().port();
    let stale = free_port();
    let mut o = offer_answered_by(|| answer(real, stale, false)).await;
    let seen = until(&mut o.all, "MediaStreamDidFail").await;
    let reason = match &seen.last().unwrap().data {
        NotificationData::MediaStreamDidFail { reason } => reason.clone(),
        other => panic!("{other:?}"),
    };
    // RFC 4975 §5.4: the first URI of the peer's path is where to go.
    let theirs = format!("msrp://127.0.0.1:{stale}/{THEIRS};tcp");
    assert!(
        reason.contains(&format!("cannot connect to {theirs}")),
        "{reason}"
    );
    assert!(
        reason.contains(&format!("127.0.0.1:{real}")) && reason.contains("a=msrp-cema"),
        "the reason names the c=/m= address not followed and why: {reason}"
    );
    assert!(!o.chat.base().remote_media().unwrap().cema);
    // Nobody came to the c=/m= address: asked of the kernel's queue
    // without waiting, as the one connect we made has already failed.
    let listener = listener.into_std().unwrap();
    listener.set_nonblocking(true).unwrap();
    let err = listener
        .accept()
        .expect_err("no connection to the c=/m= port");
    assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    assert!(
        o.chat.base().is_ended(),
        "a failed connection ends the stream"
    );
}
