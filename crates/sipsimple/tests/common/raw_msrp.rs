//! A raw MSRP peer's side of the tests: the test's own socket speaks the
//! wire, and these read it and give streams the context a session would.

use std::time::Duration;

use sipsimple::streams::StreamContext;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

pub fn context(app: &sipsimple::application::SipApplication) -> StreamContext {
    let center = app.notification_center();
    StreamContext {
        sender: center.new_sender(),
        session: center.new_sender(),
        center: center.clone(),
        recordings: None,
        local_identity: "sip:alice@example.test".into(),
        remote_identity: "sip:peer@example.test".into(),
    }
}

/// Reads until `want` has been seen; returns all that was read.
pub async fn read_until(io: &mut TcpStream, want: &str) -> String {
    let mut text = String::new();
    let mut buf = vec![0u8; 8192];
    while !text.contains(want) {
        let n = tokio::time::timeout(Duration::from_secs(10), io.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("no {want:?} in time; read {text:?}"))
            .unwrap();
        assert!(n > 0, "closed before {want:?}; read {text:?}");
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    text
}

/// The session-id of a raw peer's MSRP URI in [`RawChat`]s.
pub const RAW_PEER_SESSION: &str = "theirsess";

/// The raw peer's side of a chat: its SDP when it listens on `port` and
/// takes `accept_types`, answering `passive` (so our stream connects).
pub fn raw_peer_sdp(port: u16, accept_types: &str) -> sdp::SessionDescription {
    let text = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=message {port} TCP/MSRP *\r\na=path:msrp://127.0.0.1:{port}/{RAW_PEER_SESSION};tcp\r\n\
         a=accept-types:{accept_types}\r\na=setup:passive\r\n"
    );
    sdp::SessionDescription::parse(text.as_bytes()).expect("the raw peer's SDP")
}

/// A ChatStream of `app`'s first account, initialized with `ctx`, its
/// offer made and started with the raw peer's `answer`; and the m-line
/// we offered.
pub async fn chat_offered_to(
    app: &sipsimple::application::SipApplication,
    ctx: StreamContext,
    answer: &sdp::SessionDescription,
) -> (
    std::sync::Arc<sipsimple::streams::msrp::ChatStream>,
    sdp::Media,
) {
    chat_offered_with(app, ctx, answer, sdp::Direction::SendRecv).await
}

/// As [`chat_offered_to`], the chat offering `direction`.
pub async fn chat_offered_with(
    app: &sipsimple::application::SipApplication,
    ctx: StreamContext,
    answer: &sdp::SessionDescription,
    direction: sdp::Direction,
) -> (
    std::sync::Arc<sipsimple::streams::msrp::ChatStream>,
    sdp::Media,
) {
    use sipsimple::streams::{MediaStream, StreamDirection};

    let account = app.account_manager().accounts().remove(0);
    let settings = app
        .session_manager()
        .stream_settings(account, "127.0.0.1".parse().unwrap())
        .unwrap();
    let chat = std::sync::Arc::new(sipsimple::streams::msrp::ChatStream::with_direction(
        &settings, direction,
    ));
    chat.initialize(ctx, StreamDirection::Outgoing)
        .await
        .unwrap();
    let offer = chat.get_local_media(None).unwrap();
    let mut local = raw_peer_sdp(0, "*");
    local.media = vec![offer.clone()];
    chat.start(&local, answer, 0).unwrap();
    (chat, offer)
}

/// A ChatStream of `app`, connected to a raw MSRP peer (the test's
/// socket) and bound: the peer answered the binding SEND with 200.
pub struct RawChat {
    pub chat: std::sync::Arc<sipsimple::streams::msrp::ChatStream>,
    /// Only this chat's notifications.
    pub events: sipsimple::notification::Subscription,
    pub io: TcpStream,
    /// Our MSRP URI (the peer's To-Path).
    pub ours: String,
    /// The peer's MSRP URI (its From-Path).
    pub theirs: String,
    /// The m-line we offered.
    pub offer: sdp::Media,
}

pub async fn raw_chat(app: &sipsimple::application::SipApplication, accept_types: &str) -> RawChat {
    raw_chat_with(app, accept_types, sdp::Direction::SendRecv, None).await
}

/// As [`raw_chat`], our chat offering `offered` and the raw peer
/// answering `answered` (None: no direction attribute).
pub async fn raw_chat_with(
    app: &sipsimple::application::SipApplication,
    accept_types: &str,
    offered: sdp::Direction,
    answered: Option<sdp::Direction>,
) -> RawChat {
    use sipsimple::notification::Filter;
    use tokio::io::AsyncWriteExt;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let ctx = context(app);
    let mut events = app
        .notification_center()
        .subscribe(Filter::sender(ctx.sender));
    let mut answer = raw_peer_sdp(port, accept_types);
    if let Some(d) = answered {
        answer.media[0].set_direction(d);
    }
    let (chat, offer) = chat_offered_with(app, ctx, &answer, offered).await;
    let (mut io, _) = tokio::time::timeout(Duration::from_secs(10), listener.accept())
        .await
        .expect("the offerer connects")
        .unwrap();
    let bind = read_until(&mut io, " SEND\r\n").await;
    let ours = chat.base().local_uri().unwrap().to_string();
    let theirs = format!("msrp://127.0.0.1:{port}/{RAW_PEER_SESSION};tcp");
    let tid = bind
        .lines()
        .find(|l| l.ends_with(" SEND"))
        .and_then(|l| l.split_whitespace().nth(1))
        .expect("a binding SEND")
        .to_owned();
    let ok =
        format!("MSRP {tid} 200 OK\r\nTo-Path: {ours}\r\nFrom-Path: {theirs}\r\n-------{tid}$\r\n");
    io.write_all(ok.as_bytes()).await.unwrap();
    super::until(&mut events, "MediaStreamDidStart").await;
    RawChat {
        chat,
        events,
        io,
        ours,
        theirs,
        offer,
    }
}

/// A SEND chunk from the raw peer: `head_extra` header lines (each
/// ending in CRLF) after the Message-ID, `body`, and the end-line with
/// `flag`.
pub fn raw_chunk(
    tid: &str,
    to: &str,
    from: &str,
    mid: &str,
    head_extra: &str,
    body: &str,
    flag: char,
) -> String {
    format!(
        "MSRP {tid} SEND\r\nTo-Path: {to}\r\nFrom-Path: {from}\r\nMessage-ID: {mid}\r\n{head_extra}\
         Content-Type: text/plain\r\n\r\n{body}\r\n-------{tid}{flag}\r\n"
    )
}

/// A raw peer's offer of a chat from the MSRP session `theirs` at a
/// placeholder port (the peer connects itself), with `a=setup` when given.
pub fn raw_offer_sdp(theirs: &str, setup: Option<&str>) -> sdp::SessionDescription {
    let setup = setup
        .map(|s| format!("a=setup:{s}\r\n"))
        .unwrap_or_default();
    let text = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=message 9 TCP/MSRP *\r\na=path:msrp://127.0.0.1:9/{theirs};tcp\r\n\
         a=accept-types:text/plain\r\n{setup}"
    );
    sdp::SessionDescription::parse(text.as_bytes()).expect("the raw peer's offer")
}

/// A ChatStream of `app` answering a raw peer's offer from session
/// `theirs` ([`raw_offer_sdp`]), started: it waits on the application's
/// shared MSRP port for the peer's connection.
pub struct AnsweringChat {
    pub chat: std::sync::Arc<sipsimple::streams::msrp::ChatStream>,
    /// Only this chat's notifications.
    pub events: sipsimple::notification::Subscription,
    /// Our answer's `a=path` (the peer's To-Path) and `a=setup`.
    pub path: String,
    pub setup: String,
    /// The raw peer's URI (its From-Path).
    pub theirs: String,
}

pub async fn answering_chat(
    app: &sipsimple::application::SipApplication,
    theirs: &str,
    setup: Option<&str>,
) -> AnsweringChat {
    use sipsimple::notification::Filter;
    use sipsimple::streams::msrp::{ChatStream, ChatStreamType};
    use sipsimple::streams::{MediaStreamType, StreamDirection};

    let account = app.account_manager().accounts().remove(0);
    let settings = app
        .session_manager()
        .stream_settings(account, "127.0.0.1".parse().unwrap())
        .unwrap();
    let offer = raw_offer_sdp(theirs, setup);
    let stream = ChatStreamType
        .new_from_sdp(&settings, &offer, 0)
        .await
        .expect("a chat offer");
    let ctx = context(app);
    let events = app
        .notification_center()
        .subscribe(Filter::sender(ctx.sender));
    stream
        .initialize(ctx, StreamDirection::Incoming)
        .await
        .unwrap();
    let answer = stream.get_local_media(Some((&offer, 0))).unwrap();
    let path = answer.attribute("path").unwrap().to_owned();
    let our_setup = answer.attribute("setup").unwrap_or_default().to_owned();
    let mut local = raw_offer_sdp(theirs, None);
    local.media = vec![answer];
    stream.start(&local, &offer, 0).unwrap();
    let chat = stream
        .downcast::<ChatStream>()
        .expect("a chat offer makes a ChatStream");
    AnsweringChat {
        chat,
        events,
        path,
        setup: our_setup,
        theirs: format!("msrp://127.0.0.1:9/{theirs};tcp"),
    }
}
