//! Who opens the MSRP connection (RFC 4975 §5.4, RFC 6135 `a=setup`),
//! against a raw MSRP peer on a TCP socket of the test's: a ChatStream
//! offers `actpass` and connects when the answer says `passive` or says
//! nothing (an answerer older than RFC 6135: the offerer connects), and
//! waits when it says `active`; answering an offer without `a=setup` it
//! listens (`a=setup:passive`), as the RFC 4975 offerer will connect.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{account_app_with, until};
use sdp::SessionDescription;
use sipsimple::notification::{Filter, NotificationData, Subscription};
use sipsimple::streams::msrp::{ChatStream, ChatStreamType, MessageOptions};
use sipsimple::streams::{MediaStream, MediaStreamType, StreamContext, StreamDirection};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const THEIRS: &str = "theirsess";

fn sdp(port: u16, setup: Option<&str>) -> SessionDescription {
    let setup = setup
        .map(|s| format!("a=setup:{s}\r\n"))
        .unwrap_or_default();
    let text = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=message {port} TCP/MSRP *\r\na=path:msrp://127.0.0.1:{port}/{THEIRS};tcp\r\n\
         a=accept-types:text/plain\r\n{setup}"
    );
    SessionDescription::parse(text.as_bytes()).unwrap()
}

fn context(app: &sipsimple::application::SipApplication) -> StreamContext {
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
async fn read_until(io: &mut TcpStream, want: &str) -> String {
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

/// Answers every SEND in `text` with 200.
async fn answer_sends(io: &mut TcpStream, text: &str, ours: &str) {
    for line in text.lines().filter(|l| l.ends_with(" SEND")) {
        let tid = line.split_whitespace().nth(1).unwrap();
        let ok = format!(
            "MSRP {tid} 200 OK\r\nTo-Path: {ours}\r\nFrom-Path: msrp://127.0.0.1:9/{THEIRS};tcp\r\n-------{tid}$\r\n"
        );
        io.write_all(ok.as_bytes()).await.unwrap();
    }
}

/// Our offer of a chat, answered with `setup`; the raw peer listens on
/// the answer's port. Returns the stream and, when it connected to the
/// peer, the peer's end of the connection.
async fn offer_answered(
    setup: Option<&str>,
) -> (
    sipsimple::application::SipApplication,
    Arc<ChatStream>,
    Subscription,
    TcpListener,
) {
    let app = account_app_with("alice", "", "msrp.transport = \"tcp\"\n").await;
    let all = app.notification_center().subscribe(Filter::all());
    let account = app.account_manager().accounts().remove(0);
    let settings = app
        .session_manager()
        .stream_settings(account, "127.0.0.1".parse().unwrap())
        .unwrap();
    let chat = Arc::new(ChatStream::new(&settings));
    chat.initialize(context(&app), StreamDirection::Outgoing)
        .await
        .unwrap();
    let offer = chat.get_local_media(None).unwrap();
    assert_eq!(offer.attribute("setup"), Some("actpass"));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut local = sdp(0, None);
    local.media = vec![offer];
    chat.start(&local, &sdp(port, setup), 0).unwrap();
    (app, chat, all, listener)
}

async fn we_connect_when_the_answer_says(setup: Option<&str>) {
    let (_app, chat, mut all, listener) = offer_answered(setup).await;
    let (mut io, _) = tokio::time::timeout(Duration::from_secs(10), listener.accept())
        .await
        .expect("the offerer connects to the answerer")
        .unwrap();
    // RFC 4975 §5.4: the connecting side sends first (its binding SEND).
    let bind = read_until(&mut io, " SEND\r\n").await;
    assert!(
        bind.contains("To-Path: msrp://127.0.0.1:") && bind.contains(&format!("/{THEIRS};tcp")),
        "{bind}"
    );
    let ours = chat.base().local_uri().unwrap().to_string();
    answer_sends(&mut io, &bind, &ours).await;
    until(&mut all, "MediaStreamDidStart").await;
    chat.send_message(
        "over the connection we opened",
        "text/plain",
        MessageOptions::default(),
    )
    .unwrap();
    let text = read_until(&mut io, "over the connection we opened").await;
    assert!(text.contains("Content-Type: text/plain"), "{text}");
    chat.end();
}

#[tokio::test]
async fn an_answer_of_passive_has_the_offerer_connect() {
    we_connect_when_the_answer_says(Some("passive")).await;
}

#[tokio::test]
async fn an_answer_without_setup_has_the_offerer_connect_as_in_rfc_4975() {
    we_connect_when_the_answer_says(None).await;
}

#[tokio::test]
async fn an_answer_of_active_has_the_offerer_wait_for_the_connection() {
    let (_app, chat, mut all, listener) = offer_answered(Some("active")).await;
    // Nobody connects to the answerer's port.
    assert!(
        tokio::time::timeout(Duration::from_millis(500), listener.accept())
            .await
            .is_err(),
        "the offerer of actpass answered active must not connect"
    );
    let ours = chat.base().local_uri().unwrap();
    let mut io = TcpStream::connect(("127.0.0.1", ours.port.unwrap()))
        .await
        .unwrap();
    let send = format!(
        "MSRP tra1x SEND\r\nTo-Path: {ours}\r\nFrom-Path: msrp://127.0.0.1:9/{THEIRS};tcp\r\n\
         Message-ID: msgid1\r\nByte-Range: 1-5/5\r\nContent-Type: text/plain\r\n\r\nhello\r\n-------tra1x$\r\n"
    );
    io.write_all(send.as_bytes()).await.unwrap();
    assert!(read_until(&mut io, "MSRP tra1x 200")
        .await
        .contains("MSRP tra1x 200"));
    let seen = until(&mut all, "ChatStreamGotMessage").await;
    match &seen.last().unwrap().data {
        NotificationData::ChatStreamGotMessage { message } => assert_eq!(message.text(), "hello"),
        other => panic!("{other:?}"),
    }
    chat.end();
}

#[tokio::test]
async fn an_offer_without_setup_is_answered_passive_and_its_offerer_connects() {
    let app = account_app_with("bob", "", "msrp.transport = \"tcp\"\n").await;
    let mut all = app.notification_center().subscribe(Filter::all());
    let account = app.account_manager().accounts().remove(0);
    let settings = app
        .session_manager()
        .stream_settings(account, "127.0.0.1".parse().unwrap())
        .unwrap();
    // The RFC 4975 offerer connects; the port in its path is a
    // placeholder nobody listens on.
    let offer = sdp(9, None);
    let stream = ChatStreamType
        .new_from_sdp(&settings, &offer, 0)
        .await
        .expect("a chat offer");
    stream
        .initialize(context(&app), StreamDirection::Incoming)
        .await
        .unwrap();
    let answer = stream.get_local_media(Some((&offer, 0))).unwrap();
    assert_eq!(answer.attribute("setup"), Some("passive"));
    let path = answer.attribute("path").unwrap().to_owned();
    let mut local = sdp(0, None);
    local.media = vec![answer];
    stream.start(&local, &offer, 0).unwrap();
    let ours = msrp_proto::MsrpUri::parse(&path).unwrap();
    let mut io = TcpStream::connect(("127.0.0.1", ours.port.unwrap()))
        .await
        .unwrap();
    let send = format!(
        "MSRP trb1x SEND\r\nTo-Path: {path}\r\nFrom-Path: msrp://127.0.0.1:9/{THEIRS};tcp\r\n\
         Message-ID: msgid1\r\nByte-Range: 1-3/3\r\nContent-Type: text/plain\r\n\r\nhey\r\n-------trb1x$\r\n"
    );
    io.write_all(send.as_bytes()).await.unwrap();
    assert!(read_until(&mut io, "MSRP trb1x 200")
        .await
        .contains("MSRP trb1x 200"));
    let seen = until(&mut all, "ChatStreamGotMessage").await;
    match &seen.last().unwrap().data {
        NotificationData::ChatStreamGotMessage { message } => assert_eq!(message.text(), "hey"),
        other => panic!("{other:?}"),
    }
    stream.end();
}
