//! Who opens the MSRP connection (RFC 4975 §5.4, RFC 6135 `a=setup`),
//! against a raw MSRP peer on a TCP socket of the test's: a ChatStream
//! offers `actpass` and connects when the answer says `passive` or says
//! nothing (an answerer older than RFC 6135: the offerer connects), and
//! waits when it says `active`; answering an offer without `a=setup` it
//! listens (`a=setup:passive`), as the RFC 4975 offerer will connect.
//!
//! And what a chat peer sees on the wire and says back: plain text to a
//! peer without CPIM, CPIM headers from the send options, 415 for a type
//! we did not offer to take, and the peer's responses and REPORTs
//! becoming the spec's notifications. A second connection for a chat
//! that has its connection is answered 506 and the first goes on.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::raw_msrp::{answering_chat, chat_offered_to, context, read_until};
use common::{account_app_with, until};
use msrp_proto::{Head, Method};
use sdp::SessionDescription;
use sipsimple::notification::{Filter, NotificationData, Subscription};
use sipsimple::streams::msrp::{ChatStream, ChatStreamError, DeliveryState, MessageOptions};
use sipsimple::streams::MediaStream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const THEIRS: &str = "theirsess";

/// The peer's m-line, taking `accept_types`.
fn sdp_taking(port: u16, setup: Option<&str>, accept_types: &str) -> SessionDescription {
    let setup = setup
        .map(|s| format!("a=setup:{s}\r\n"))
        .unwrap_or_default();
    let text = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=message {port} TCP/MSRP *\r\na=path:msrp://127.0.0.1:{port}/{THEIRS};tcp\r\n\
         a=accept-types:{accept_types}\r\n{setup}"
    );
    SessionDescription::parse(text.as_bytes()).unwrap()
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

/// A whole SEND from the raw peer to `to`, carrying `body` as `ct`.
fn raw_send(tid: &str, to: &str, ct: &str, body: &str) -> String {
    let range = format!("1-{n}/{n}", n = body.len());
    raw_send_with(tid, to, ct, body, &format!("Byte-Range: {range}\r\n"))
}

/// [`raw_send`] with the header lines `extra` (each ending in CRLF)
/// instead of its Byte-Range.
fn raw_send_with(tid: &str, to: &str, ct: &str, body: &str, extra: &str) -> String {
    format!(
        "MSRP {tid} SEND\r\nTo-Path: {to}\r\nFrom-Path: msrp://127.0.0.1:9/{THEIRS};tcp\r\n\
         Message-ID: msg{tid}\r\n{extra}Content-Type: {ct}\r\n\r\n{body}\r\n-------{tid}$\r\n"
    )
}

/// Our chat answering the raw peer's offer (its `a=setup` is `setup`),
/// started, and the raw peer connected to the path of our answer.
struct Answering {
    _app: sipsimple::application::SipApplication,
    stream: Arc<ChatStream>,
    all: Subscription,
    io: TcpStream,
    /// Our answer's `a=path` and `a=setup`.
    path: String,
    setup: String,
}

async fn answering(setup: Option<&str>) -> Answering {
    let app = account_app_with("bob", "", "msrp.transport = \"tcp\"\n").await;
    let a = answering_chat(&app, THEIRS, setup).await;
    let ours = msrp_proto::MsrpUri::parse(&a.path).unwrap();
    let io = TcpStream::connect(("127.0.0.1", ours.port.unwrap()))
        .await
        .unwrap();
    Answering {
        _app: app,
        stream: a.chat,
        all: a.events,
        io,
        path: a.path,
        setup: a.setup,
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
    offer_answered_taking(setup, "text/plain").await
}

async fn offer_answered_taking(
    setup: Option<&str>,
    accept_types: &str,
) -> (
    sipsimple::application::SipApplication,
    Arc<ChatStream>,
    Subscription,
    TcpListener,
) {
    let app = account_app_with("alice", "", "msrp.transport = \"tcp\"\n").await;
    let all = app.notification_center().subscribe(Filter::all());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let answer = sdp_taking(port, setup, accept_types);
    let (chat, offer) = chat_offered_to(&app, context(&app), &answer).await;
    assert_eq!(offer.attribute("setup"), Some("actpass"));
    // The m-line RFC 4975 §8 asks for (the spec's example SDP has the
    // same): `message`, TCP/MSRP, format `*`, our path, and the types we
    // take plain and inside CPIM.
    assert_eq!(
        (offer.media.as_str(), offer.protocol.as_str()),
        ("message", "TCP/MSRP")
    );
    assert_eq!(offer.formats, ["*"]);
    let path = offer.attribute("path").expect("a=path");
    assert!(
        path.starts_with("msrp://127.0.0.1:") && path.ends_with(";tcp"),
        "{path}"
    );
    let types: Vec<&str> = offer
        .attribute("accept-types")
        .unwrap()
        .split(' ')
        .collect();
    assert!(
        types.contains(&"message/cpim") && types.contains(&"text/*"),
        "{types:?}"
    );
    assert_eq!(offer.attribute("accept-wrapped-types"), Some("*"));
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
    io.write_all(raw_send("tra1x", &ours.to_string(), "text/plain", "hello").as_bytes())
        .await
        .unwrap();
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
    let mut a = answering(None).await;
    assert_eq!(a.setup, "passive");
    a.io.write_all(raw_send("trb1x", &a.path, "text/plain", "hey").as_bytes())
        .await
        .unwrap();
    assert!(read_until(&mut a.io, "MSRP trb1x 200")
        .await
        .contains("MSRP trb1x 200"));
    let seen = until(&mut a.all, "ChatStreamGotMessage").await;
    match &seen.last().unwrap().data {
        NotificationData::ChatStreamGotMessage { message } => assert_eq!(message.text(), "hey"),
        other => panic!("{other:?}"),
    }
    a.stream.end();
}

#[tokio::test]
async fn a_second_connection_for_the_chat_is_answered_506_and_the_first_goes_on() {
    let mut a = answering(None).await;
    a.io.write_all(raw_send("trc1x", &a.path, "text/plain", "first").as_bytes())
        .await
        .unwrap();
    read_until(&mut a.io, "MSRP trc1x 200").await;
    until(&mut a.all, "ChatStreamGotMessage").await;
    // RFC 4975: the session is bound to the first connection; a request
    // for it on another is refused with 506, and that one is closed.
    let ours = msrp_proto::MsrpUri::parse(&a.path).unwrap();
    let mut second = TcpStream::connect(("127.0.0.1", ours.port.unwrap()))
        .await
        .unwrap();
    second
        .write_all(raw_send("trc2x", &a.path, "text/plain", "intruding").as_bytes())
        .await
        .unwrap();
    read_until(&mut second, "MSRP trc2x 506").await;
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), second.read_to_end(&mut rest))
        .await
        .expect("the second connection is closed")
        .unwrap();
    // The first connection carries on: the next message is answered and
    // is the next one the chat gets (the refused one never reached it).
    a.io.write_all(raw_send("trc3x", &a.path, "text/plain", "third").as_bytes())
        .await
        .unwrap();
    read_until(&mut a.io, "MSRP trc3x 200").await;
    let seen = until(&mut a.all, "ChatStreamGotMessage").await;
    match &seen.last().unwrap().data {
        NotificationData::ChatStreamGotMessage { message } => assert_eq!(message.text(), "third"),
        other => panic!("{other:?}"),
    }
    a.stream.end();
}

/// Our chat, connected to the raw peer (which answered `passive` and
/// takes `accept_types`) and bound.
struct Connected {
    _app: sipsimple::application::SipApplication,
    chat: Arc<ChatStream>,
    all: Subscription,
    io: TcpStream,
    ours: String,
}

async fn connected(accept_types: &str) -> Connected {
    let (app, chat, mut all, listener) = offer_answered_taking(Some("passive"), accept_types).await;
    let (mut io, _) = tokio::time::timeout(Duration::from_secs(10), listener.accept())
        .await
        .expect("the offerer connects")
        .unwrap();
    let bind = read_until(&mut io, " SEND\r\n").await;
    let ours = chat.base().local_uri().unwrap().to_string();
    answer_sends(&mut io, &bind, &ours).await;
    until(&mut all, "MediaStreamDidStart").await;
    Connected {
        _app: app,
        chat,
        all,
        io,
        ours,
    }
}

/// The transaction id of the SEND that carried `text`.
fn tid_of(wire: &str, text: &str) -> String {
    let at = wire.find(text).unwrap();
    let start = wire[..at].rfind("MSRP ").unwrap();
    wire[start..].split_whitespace().nth(1).unwrap().to_owned()
}

fn header<'a>(wire: &'a str, name: &str) -> Option<&'a str> {
    wire.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(": "))
}

#[tokio::test]
async fn to_a_peer_without_cpim_text_goes_plain_and_what_needs_cpim_is_refused() {
    let mut c = connected("text/plain").await;
    c.chat
        .send_message("just text", "text/plain", MessageOptions::default())
        .unwrap();
    let wire = read_until(&mut c.io, "just text").await;
    assert_eq!(header(&wire, "Content-Type"), Some("text/plain"), "{wire}");
    assert!(!wire.contains("message/cpim"), "{wire}");
    // A recipient other than the peer can only be said in CPIM.
    let to_carol = MessageOptions {
        recipients: vec![payloads::cpim::Address::new("sip:carol@example.test")],
        ..MessageOptions::default()
    };
    assert!(matches!(
        c.chat.send_message("for carol", "text/plain", to_carol),
        Err(ChatStreamError::NeedsCpim(_))
    ));
    // A type the peer did not say it takes.
    assert!(matches!(
        c.chat.send_message("<b>bold</b>", "text/html", MessageOptions::default()),
        Err(ChatStreamError::NotAccepted(t)) if t == "text/html"
    ));
    c.chat.end();
}

#[tokio::test]
async fn the_send_options_arrive_as_cpim_headers() {
    let mut c = connected("message/cpim text/plain").await;
    let stamp = payloads::DateTime::parse("2026-12-06T10:11:12Z").unwrap();
    // The spec: a cc only to a peer that takes private messages (a
    // chat room).
    let cc = MessageOptions {
        courtesy_recipients: vec![payloads::cpim::Address::new("sip:carol@example.test")],
        ..MessageOptions::default()
    };
    assert!(matches!(
        c.chat.send_message("cc", "text/plain", cc),
        Err(ChatStreamError::PrivateMessagesNotSupported)
    ));
    let options = MessageOptions {
        subject: vec![("lunch".into(), Some("en".into()))],
        timestamp: Some(stamp),
        required: vec!["Subject".into()],
        additional_headers: vec![("urn:example:chat".into(), "Mood".into(), "hungry".into())],
        ..MessageOptions::default()
    };
    c.chat
        .send_message("where shall we eat", "text/plain", options)
        .unwrap();
    let wire = read_until(&mut c.io, "where shall we eat").await;
    assert_eq!(
        header(&wire, "Content-Type"),
        Some("message/cpim"),
        "{wire}"
    );
    let body_at = wire.find("\r\n\r\n").unwrap() + 4;
    let end = wire.rfind("\r\n-------").unwrap();
    let cpim = payloads::cpim::Message::parse(&wire.as_bytes()[body_at..end]).unwrap();
    assert_eq!(cpim.from.as_ref().unwrap().uri, "sip:alice@example.test");
    assert_eq!(cpim.to[0].uri, "sip:peer@example.test");
    assert!(cpim.cc.is_empty());
    assert_eq!(cpim.datetime, Some(stamp));
    assert_eq!(cpim.subjects[0].text, "lunch");
    assert_eq!(cpim.subjects[0].lang.as_deref(), Some("en"));
    assert_eq!(cpim.require, ["Subject"]);
    let mood = cpim.extensions.iter().find(|e| e.name == "Mood").unwrap();
    assert_eq!(mood.namespace.as_deref(), Some("urn:example:chat"));
    assert_eq!(mood.value, "hungry");
    assert_eq!(cpim.body, b"where shall we eat");
    c.chat.end();
}

#[tokio::test]
async fn the_peers_responses_and_reports_become_the_spec_notifications() {
    let mut c = connected("text/plain").await;
    let first = c
        .chat
        .send_message("first", "text/plain", MessageOptions::default())
        .unwrap();
    let wire = read_until(&mut c.io, "first").await;
    assert_eq!(header(&wire, "Success-Report"), Some("yes"), "{wire}");
    let tid = tid_of(&wire, "first");
    let mid = header(&wire, "Message-ID").unwrap().to_owned();
    let theirs = format!("msrp://127.0.0.1:9/{THEIRS};tcp");
    let ok = format!(
        "MSRP {tid} 200 OK\r\nTo-Path: {}\r\nFrom-Path: {theirs}\r\n-------{tid}$\r\n",
        c.ours
    );
    c.io.write_all(ok.as_bytes()).await.unwrap();
    match until(&mut c.all, "ChatStreamDidSendMessage")
        .await
        .last()
        .unwrap()
        .data
        .clone()
    {
        NotificationData::ChatStreamDidSendMessage {
            message_id,
            message: Some(Head::Request(sent)),
        } => {
            // The head of the chunk that went out, as written.
            assert_eq!(message_id, first);
            assert_eq!(
                (sent.tid.as_str(), &sent.method),
                (tid.as_str(), &Method::Send)
            );
            assert_eq!(sent.headers.get("Message-ID"), Some(mid.as_str()));
            assert_eq!(sent.headers.get("Byte-Range"), Some("1-5/5"));
        }
        other => panic!("{other:?}"),
    }
    let report = format!(
        "MSRP rep1x REPORT\r\nTo-Path: {}\r\nFrom-Path: {theirs}\r\nMessage-ID: {mid}\r\n\
         Byte-Range: 1-5/5\r\nStatus: 000 200 OK\r\n-------rep1x$\r\n",
        c.ours
    );
    c.io.write_all(report.as_bytes()).await.unwrap();
    match until(&mut c.all, "ChatStreamDidDeliverMessage")
        .await
        .last()
        .unwrap()
        .data
        .clone()
    {
        NotificationData::ChatStreamDidDeliverMessage {
            message_id,
            code,
            reason,
            chunk: Some(Head::Request(report)),
        } => {
            assert_eq!((message_id.as_str(), code), (first.as_str(), 200));
            assert_eq!(reason, "OK");
            // The spec's `chunk`: the REPORT as the peer sent it.
            assert_eq!(
                (report.tid.as_str(), &report.method),
                ("rep1x", &Method::Report)
            );
            assert_eq!(report.headers.get("Status"), Some("000 200 OK"));
            assert_eq!(report.headers.get("Message-ID"), Some(mid.as_str()));
            assert_eq!(report.headers.get("Byte-Range"), Some("1-5/5"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        c.chat.delivery_state(&first),
        Some(DeliveryState::Delivered)
    );

    // The next one the peer refuses: it is not delivered, with the code.
    let second = c
        .chat
        .send_message("second", "text/plain", MessageOptions::default())
        .unwrap();
    let wire = read_until(&mut c.io, "second").await;
    let tid = tid_of(&wire, "second");
    let refused = format!(
        "MSRP {tid} 413 Message too large\r\nTo-Path: {}\r\nFrom-Path: {theirs}\r\n-------{tid}$\r\n",
        c.ours
    );
    c.io.write_all(refused.as_bytes()).await.unwrap();
    match until(&mut c.all, "ChatStreamDidNotDeliverMessage")
        .await
        .last()
        .unwrap()
        .data
        .clone()
    {
        NotificationData::ChatStreamDidNotDeliverMessage {
            message_id,
            code,
            chunk: Some(Head::Response(refusal)),
            ..
        } => {
            assert_eq!((message_id.as_str(), code), (second.as_str(), 413));
            assert_eq!((refusal.tid.as_str(), refusal.status), (tid.as_str(), 413));
            assert_eq!(refusal.comment.as_deref(), Some("Message too large"));
            assert_eq!(refusal.headers.get("From-Path"), Some(theirs.as_str()));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        c.chat.delivery_state(&second),
        Some(DeliveryState::Failed { code: 413, .. })
    ));
    c.chat.end();
}

#[tokio::test]
async fn a_send_of_a_type_the_chat_did_not_offer_to_take_gets_415() {
    let a = answering(Some("active")).await;
    let (mut io, mut all, stream) = (a.io, a.all, a.stream);
    let send = |tid: &str, ct: &str, body: &str| raw_send(tid, &a.path, ct, body);
    io.write_all(send("png1x", "image/png", "PNGDATA").as_bytes())
        .await
        .unwrap();
    let answer = read_until(&mut io, "-------png1x$").await;
    assert!(answer.starts_with("MSRP png1x 415"), "{answer}");
    // The session goes on: a type it takes is delivered.
    io.write_all(send("txt1x", "text/plain", "fine").as_bytes())
        .await
        .unwrap();
    assert!(read_until(&mut io, "-------txt1x$")
        .await
        .contains("MSRP txt1x 200"));
    let seen = until(&mut all, "ChatStreamGotMessage").await;
    let texts: Vec<String> = seen
        .iter()
        .filter_map(|n| match &n.data {
            NotificationData::ChatStreamGotMessage { message } => Some(message.text()),
            _ => None,
        })
        .collect();
    assert_eq!(texts, ["fine"]);
    stream.end();
}

#[tokio::test]
async fn a_peer_that_does_not_read_stops_the_sender_at_a_bound_and_reading_lets_it_go_on() {
    let mut c = connected("text/plain").await;
    // 1 MiB messages until the connection says no: the bound is in bytes
    // (32 MiB queued), not only in messages.
    let big = vec![b'x'; 1024 * 1024];
    let mut taken = 0;
    loop {
        match c
            .chat
            .send_message(big.clone(), "text/plain", MessageOptions::default())
        {
            Ok(_) => taken += 1,
            Err(ChatStreamError::QueueFull) => break,
            Err(e) => panic!("{e}"),
        }
        assert!(taken < 64, "nothing stopped the sender");
    }
    assert!(taken >= 16, "stopped early, after {taken}");
    let chat = c.chat.clone();
    let mut writable = tokio::spawn(async move { chat.wait_writable().await });
    assert!(
        tokio::time::timeout(Duration::from_millis(300), &mut writable)
            .await
            .is_err(),
        "room while the peer reads nothing"
    );
    // The peer reads (it need not answer: room is what was written).
    let reader = tokio::spawn(async move {
        let mut buf = vec![0u8; 256 * 1024];
        let mut total = 0u64;
        while let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_secs(2), c.io.read(&mut buf)).await
        {
            if n == 0 {
                break;
            }
            total += n as u64;
        }
        total
    });
    tokio::time::timeout(Duration::from_secs(20), writable)
        .await
        .expect("room once the peer reads")
        .unwrap();
    c.chat
        .send_message("and on", "text/plain", MessageOptions::default())
        .unwrap();
    assert!(reader.await.unwrap() > 16 * 1024 * 1024);
    c.chat.end();
}

/// RFC 4975 §7.1.2: a SEND's Failure-Report says which responses its
/// sender wants: `yes` (or none) every one, `partial` only errors, `no`
/// none at all. What goes back on the wire for refused (415, a bad
/// Byte-Range) and accepted SENDs of each kind, in order: the last one's
/// 200 comes after every answer the others got.
#[tokio::test]
async fn the_failure_report_header_decides_which_responses_go_back() {
    let a = answering(Some("active")).await;
    let (mut io, mut all, stream) = (a.io, a.all, a.stream);
    let whole = |n: usize| format!("Byte-Range: 1-{n}/{n}\r\n");
    let sends = [
        ("no415x", "no", "image/png", "PNG", whole(3)),
        ("pa415x", "partial", "image/png", "PNG", whole(3)),
        ("paokxx", "partial", "text/plain", "quiet", whole(5)),
        (
            "nobrxx",
            "no",
            "text/plain",
            "bad",
            "Byte-Range: x-y/z\r\n".into(),
        ),
        (
            "pabrxx",
            "partial",
            "text/plain",
            "bad",
            "Byte-Range: x-y/z\r\n".into(),
        ),
        (
            "yebrxx",
            "yes",
            "text/plain",
            "bad",
            "Byte-Range: x-y/z\r\n".into(),
        ),
        ("nookxx", "no", "text/plain", "silent", whole(6)),
        ("yeokxx", "yes", "text/plain", "last", whole(4)),
    ];
    for (tid, fr, ct, body, range) in &sends {
        let extra = format!("{range}Failure-Report: {fr}\r\n");
        io.write_all(raw_send_with(tid, &a.path, ct, body, &extra).as_bytes())
            .await
            .unwrap();
    }
    let wire = read_until(&mut io, "-------yeokxx$").await;
    let answered: Vec<(&str, &str)> = wire
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some("MSRP")).then_some(())?;
            Some((w.next()?, w.next()?))
        })
        .collect();
    assert_eq!(
        answered,
        [
            ("pa415x", "415"),
            ("pabrxx", "400"),
            ("yebrxx", "400"),
            ("yeokxx", "200")
        ],
        "{wire}"
    );
    // Accepted ones arrive, whatever responses they wanted.
    let mut texts = Vec::new();
    while texts.len() < 3 {
        let seen = until(&mut all, "ChatStreamGotMessage").await;
        if let NotificationData::ChatStreamGotMessage { message } = &seen.last().unwrap().data {
            texts.push(message.text());
        }
    }
    assert_eq!(texts, ["quiet", "silent", "last"]);
    stream.end();
}

/// The spec: ChatStreamDidNotDeliverMessage is sent when a failure
/// report is received: a REPORT whose Status is not 200 (RFC 4975
/// §7.1.2), with its code and reason, for a message whose SEND (with
/// `Failure-Report: partial`, as the spec's chat sends) got no response.
#[tokio::test]
async fn a_failure_report_makes_the_message_not_delivered_with_its_status() {
    let mut c = connected("text/plain").await;
    let id = c
        .chat
        .send_message("doomed", "text/plain", MessageOptions::default())
        .unwrap();
    let wire = read_until(&mut c.io, "doomed").await;
    assert_eq!(header(&wire, "Failure-Report"), Some("partial"), "{wire}");
    let mid = header(&wire, "Message-ID").unwrap().to_owned();
    until(&mut c.all, "ChatStreamDidSendMessage").await;
    let report = format!(
        "MSRP fail1x REPORT\r\nTo-Path: {}\r\nFrom-Path: msrp://127.0.0.1:9/{THEIRS};tcp\r\n\
         Message-ID: {mid}\r\nByte-Range: 1-6/6\r\nStatus: 000 404 Recipient went away\r\n\
         -------fail1x$\r\n",
        c.ours
    );
    c.io.write_all(report.as_bytes()).await.unwrap();
    match until(&mut c.all, "ChatStreamDidNotDeliverMessage")
        .await
        .last()
        .unwrap()
        .data
        .clone()
    {
        NotificationData::ChatStreamDidNotDeliverMessage {
            message_id,
            code,
            reason,
            ..
        } => {
            assert_eq!((message_id.as_str(), code), (id.as_str(), 404));
            assert_eq!(reason, "Recipient went away");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        c.chat.delivery_state(&id),
        Some(DeliveryState::Failed { code: 404, .. })
    ));
    // REPORTs are never answered (RFC 4975 §7.1.2): nothing came back.
    c.io.write_all(raw_send("after1", &c.ours, "text/plain", "x").as_bytes())
        .await
        .unwrap();
    let next = read_until(&mut c.io, "-------after1$").await;
    assert!(next.starts_with("MSRP after1 "), "{next}");
    c.chat.end();
}

/// The original SDK's keep-alive (an empty SEND with `Keep-Alive: yes`,
/// every 60 s from its clients) is answered 200 and never becomes a chat
/// message: the next ChatStreamGotMessage is the peer's next real one.
#[tokio::test]
async fn the_original_sdks_keepalive_is_answered_and_is_no_chat_message() {
    let app = account_app_with("alice", "", "msrp.transport = \"tcp\"\n").await;
    let mut c = common::raw_msrp::raw_chat(&app, "text/plain").await;
    for i in 0..3 {
        let tid = format!("keep{i}x");
        let keepalive = format!(
            "MSRP {tid} SEND\r\nTo-Path: {}\r\nFrom-Path: {}\r\nMessage-ID: keepalive{i}\r\n\
             Byte-Range: 1-0/0\r\nKeep-Alive: yes\r\n-------{tid}$\r\n",
            c.ours, c.theirs
        );
        c.io.write_all(keepalive.as_bytes()).await.unwrap();
        let answer = read_until(&mut c.io, &format!("-------{tid}$")).await;
        assert!(answer.contains(&format!("MSRP {tid} 200")), "{answer}");
    }
    let send = raw_send("realmsg1", &c.ours, "text/plain", "a real one");
    c.io.write_all(send.as_bytes()).await.unwrap();
    let seen = until(&mut c.events, "ChatStreamGotMessage").await;
    let messages: Vec<String> = seen
        .iter()
        .filter_map(|n| match &n.data {
            NotificationData::ChatStreamGotMessage { message } => Some(message.text()),
            _ => None,
        })
        .collect();
    assert_eq!(messages, ["a real one"]);
}

/// Everything a CPIM message says reaches the application (the spec's
/// CPIMMessage): every Subject with its language (RFC 3862 §3.3, the
/// spec's MultilingualText) and the extension headers in their
/// namespaces (§3.1), not only the first Subject.
#[tokio::test]
async fn every_cpim_subject_and_extension_header_reaches_the_application() {
    let app = account_app_with("alice", "", "msrp.transport = \"tcp\"\n").await;
    let mut c = common::raw_msrp::raw_chat(&app, "message/cpim text/plain").await;
    let cpim = "From: <sip:peer@example.test>\r\nTo: <sip:alice@example.test>\r\n\
                NS: MyFeatures <mid:MessageFeatures@id.foo.com>\r\n\
                Subject:;lang=en lunch\r\nSubject:;lang=fr déjeuner\r\n\
                MyFeatures.WackyMessageOption: Use-silly-font\r\n\
                \r\nContent-Type: text/plain\r\n\r\nwhere shall we eat";
    let send = raw_send("cpimmsg1", &c.ours, "message/cpim", cpim);
    c.io.write_all(send.as_bytes()).await.unwrap();
    let m = common::chat_call::next_chat_message(&mut c.events).await;
    assert!(m.cpim);
    assert_eq!(m.text(), "where shall we eat");
    let subjects: Vec<(&str, Option<&str>)> = m
        .subjects
        .iter()
        .map(|s| (s.text.as_str(), s.lang.as_deref()))
        .collect();
    assert_eq!(subjects, [("lunch", Some("en")), ("déjeuner", Some("fr"))]);
    assert_eq!(m.subject.as_deref(), Some("lunch"));
    let wacky = m
        .additional_headers
        .iter()
        .find(|h| h.name == "WackyMessageOption")
        .expect("the extension header");
    assert_eq!(wacky.prefix.as_deref(), Some("MyFeatures"));
    assert_eq!(
        wacky.namespace.as_deref(),
        Some("mid:MessageFeatures@id.foo.com")
    );
    assert_eq!(wacky.value, "Use-silly-font");
}
