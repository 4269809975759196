//! `sip chat` against `sip listen --echo` as two real processes on
//! loopback (MSRP over TLS, the default, and over TCP), against an
//! in-process SDK application (what exactly arrives, audio with chat,
//! is-composing),
//! and the failures: a declined session, a peer that never answers, a
//! message the peer's chat refuses (415), a success REPORT that never
//! comes.
//! Every process started is killed by its PID when the test ends.

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;

use common::{free_udp_port, sip, Dir, Proc};
use sipsimple::application::SipApplication;
use sipsimple::config::MemoryBackend;
use sipsimple::notification::{Filter, NotificationData, Subscription};
use sipsimple::session::Session;
use sipsimple::streams::msrp::{ChatStream, ComposingState, MessageOptions};
use sipsimple::streams::MediaStream;

/// `user@127.0.0.1` on UDP `port` (0: any), MSRP over `msrp`.
fn config(dir: &Path, user: &str, port: u16, msrp: &str) -> PathBuf {
    let path = dir.join(format!("{user}.toml"));
    std::fs::write(
        &path,
        format!(
            "local_ip = \"127.0.0.1\"\ndefault_account = \"{user}@127.0.0.1\"\n\
             [sip]\ntransport_list = [\"udp\"]\nudp_port = {port}\n\
             [accounts.\"{user}@127.0.0.1\"]\nenabled = true\nregistration.enabled = false\n\
             msrp.transport = \"{msrp}\"\n"
        ),
    )
    .unwrap();
    path
}

/// `sip chat URI ARGS` run to its end, killed by its PID after 60 s.
fn chat(cfg: &Path, uri: &str, args: &[&str]) -> Output {
    let child = sip(cfg)
        .args(["chat", uri])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("sip chat did not exit within 60 s");
        }
    }
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn one_message_is_delivered_and_the_listener_prints_it(msrp: &str, label: &str) {
    let dir = Dir::new(&format!("one-{msrp}"));
    let port = free_udp_port();
    let mut bob = Proc::listen(
        &config(&dir.0, "bob", port, msrp),
        &["--auto-answer", "--echo"],
    );
    let alice = config(&dir.0, "alice", 0, msrp);
    let o = chat(
        &alice,
        &format!("sip:bob@127.0.0.1:{port}"),
        &["--message", "hello"],
    );
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    for expected in [
        format!("chat connected (MSRP over {label})").as_str(),
        "message #1 delivered: hello",
        "chat ended (local hung up)",
    ] {
        assert!(out.contains(expected), "no {expected:?} in:\n{out}");
    }
    // What bob's side got: the chat on the same transport, then the text
    // from alice with its time.
    bob.wait_for(&format!("chat connected (MSRP over {label})"));
    let got = bob.wait_for("sip:alice@127.0.0.1: hello");
    assert!(got.starts_with('[') && got.as_bytes()[9] == b']', "{got}");
    bob.wait_for("call ended (remote hung up)");
}

#[test]
fn chat_message_over_tls_is_delivered_to_sip_listen() {
    one_message_is_delivered_and_the_listener_prints_it("tls", "TLS");
}

#[test]
fn chat_message_over_tcp_is_delivered_to_sip_listen() {
    one_message_is_delivered_and_the_listener_prints_it("tcp", "TCP");
}

#[test]
fn interactive_chat_sends_every_line_shows_the_reports_and_ends_at_eof() {
    let dir = Dir::new("interactive");
    let port = free_udp_port();
    let mut bob = Proc::listen(
        &config(&dir.0, "bob", port, "tcp"),
        &["--auto-answer", "--echo"],
    );
    let mut c = sip(&config(&dir.0, "alice", 0, "tcp"));
    c.args(["chat", &format!("sip:bob@127.0.0.1:{port}")]);
    let mut alice = Proc::start(c);
    alice.type_line("first line");
    alice.type_line("second line");
    alice.close_stdin();
    assert_eq!(alice.exit_code(30), Some(0), "{:?}", alice.seen);
    let seen = alice.seen.join("\n");
    for expected in [
        "message #1 delivered: first line",
        "message #2 delivered: second line",
        "chat ended (local hung up)",
    ] {
        assert!(seen.contains(expected), "no {expected:?} in:\n{seen}");
    }
    // Bob got both, in order.
    bob.wait_for("sip:alice@127.0.0.1: first line");
    bob.wait_for("sip:alice@127.0.0.1: second line");
    bob.wait_for("call ended (remote hung up)");
}

#[test]
fn interactive_chat_ends_with_status_0_when_the_peer_hangs_up() {
    let dir = Dir::new("peer-ends");
    let port = free_udp_port();
    let mut bob = Proc::listen(
        &config(&dir.0, "bob", port, "tls"),
        &["--auto-answer", "--echo"],
    );
    let mut c = sip(&config(&dir.0, "alice", 0, "tls"));
    c.args(["chat", &format!("sip:bob@127.0.0.1:{port}")]);
    let mut alice = Proc::start(c);
    alice.type_line("are you there?");
    // The echo arrives: printed with its time and sender.
    let echo = alice.wait_for("sip:bob@127.0.0.1: are you there?");
    assert!(echo.starts_with('['), "{echo}");
    bob.terminate();
    alice.wait_for("chat ended (remote hung up)");
    assert_eq!(alice.exit_code(15), Some(0), "{:?}", alice.seen);
    assert_eq!(bob.exit_code(15), Some(0), "{:?}", bob.seen);
}

#[test]
fn a_declined_chat_exits_1_with_the_reason() {
    let dir = Dir::new("declined");
    let port = free_udp_port();
    let mut bob = Proc::listen(&config(&dir.0, "bob", port, "tcp"), &[]);
    let alice = config(&dir.0, "alice", 0, "tcp");
    let uri = format!("sip:bob@127.0.0.1:{port}");
    let caller = std::thread::spawn(move || chat(&alice, &uri, &["--message", "hello"]));
    bob.wait_for("(chat)");
    bob.wait_for("answer? [y/n]");
    bob.type_line("n");
    bob.wait_for("declined");
    let o = caller.join().unwrap();
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(out.contains("chat failed: 603"), "{out}");
    assert!(
        err.contains("not delivered") && err.contains("603"),
        "{err}"
    );
    assert!(
        !bob.seen.iter().any(|l| l.contains("hello")),
        "{:?}",
        bob.seen
    );
}

#[test]
fn a_chat_nobody_answers_exits_1_after_the_timeout() {
    let dir = Dir::new("nobody");
    // A UDP socket that reads everything and answers nothing.
    let hole = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = hole.local_addr().unwrap().port();
    let alice = config(&dir.0, "alice", 0, "tls");
    let started = Instant::now();
    let o = chat(
        &alice,
        &format!("sip:bob@127.0.0.1:{port}"),
        &["--message", "hello", "--timeout", "2"],
    );
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(err.contains("no delivery report within 2 s"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(12), "{out}");
    // It did try: an INVITE with an MSRP offer went out.
    hole.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut buf = [0u8; 65536];
    let n = hole.recv(&mut buf).unwrap();
    let invite = String::from_utf8_lossy(&buf[..n]);
    assert!(invite.starts_with("INVITE "), "{invite}");
    assert!(
        invite.contains("m=message") && invite.contains("/MSRP"),
        "{invite}"
    );
}

/// An in-process SDK application with one account.
async fn app(user: &str, msrp: &str) -> (SipApplication, Subscription) {
    let app = SipApplication::new();
    let events = app.notification_center().subscribe(Filter::all());
    let text = format!(
        "local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = [\"udp\"]\n\
         [accounts.\"{user}@127.0.0.1\"]\nenabled = true\nregistration.enabled = false\n\
         msrp.transport = \"{msrp}\"\n"
    );
    app.start(MemoryBackend::with(text.parse().unwrap()))
        .await
        .unwrap();
    (app, events)
}

async fn until(events: &mut Subscription, name: &str) -> NotificationData {
    tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let n = events.next().await.expect("notifications");
            if n.name() == name {
                return n.data;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {name}"))
}

/// The next session offered to `app`.
async fn incoming(app: &SipApplication, events: &mut Subscription) -> Session {
    let n = loop {
        let n = tokio::time::timeout(Duration::from_secs(15), events.next())
            .await
            .unwrap()
            .unwrap();
        if n.name() == "SIPSessionNewIncoming" {
            break n;
        }
    };
    app.session_manager()
        .sessions()
        .into_iter()
        .find(|s| s.sender() == n.sender)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sip_chat_message_arrives_at_an_sdk_application_as_plain_text_from_alice() {
    let dir = Dir::new("sdk-callee");
    let (bob, mut events) = app("bob", "tls").await;
    let port = bob
        .engine()
        .unwrap()
        .local_addr(sipsimple::engine::TransportKind::Udp)
        .unwrap()
        .port();
    let alice = config(&dir.0, "alice", 0, "tls");
    let uri = format!("sip:bob@127.0.0.1:{port}");
    let caller =
        tokio::task::spawn_blocking(move || chat(&alice, &uri, &["--message", "héllo, bob"]));
    let session = incoming(&bob, &mut events).await;
    let proposed = session.proposed_streams().unwrap();
    let kinds: Vec<_> = proposed.iter().map(|s| s.stream_type()).collect();
    assert_eq!(kinds, ["chat"]);
    session.accept(proposed).await.unwrap();
    let NotificationData::ChatStreamGotMessage { message } =
        until(&mut events, "ChatStreamGotMessage").await
    else {
        unreachable!()
    };
    assert_eq!(message.text(), "héllo, bob");
    assert_eq!(message.content_type, "text/plain");
    assert_eq!(message.sender.unwrap().uri, "sip:alice@127.0.0.1");
    let o = caller.await.unwrap();
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(out.contains("message #1 delivered: héllo, bob"), "{out}");
    until(&mut events, "SIPSessionDidEnd").await;
    bob.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sip_listen_takes_audio_with_chat_and_echoes_the_chat() {
    let dir = Dir::new("audio-chat");
    let port = free_udp_port();
    let mut bob = Proc::listen(
        &config(&dir.0, "bob", port, "tcp"),
        &["--auto-answer", "--echo", "--tone", "1000"],
    );
    let (alice, mut events) = app("alice", "tcp").await;
    let account = alice.account_manager().accounts().remove(0);
    let manager = alice.session_manager();
    let settings = manager
        .stream_settings(account.clone(), "127.0.0.1".parse().unwrap())
        .unwrap();
    let chat = Arc::new(ChatStream::new(&settings));
    let audio = Arc::new(
        sipsimple::streams::audio::AudioStream::new(
            "127.0.0.1".parse().unwrap(),
            settings.audio.rtp_port_range,
            sipsimple::streams::audio::supported_codecs(&settings.audio.codecs),
            sipsimple::streams::audio::AudioSource::Silence,
        )
        .await
        .unwrap(),
    );
    let session = manager
        .connect(
            &account,
            &format!("sip:bob@127.0.0.1:{port}"),
            vec![audio as Arc<dyn MediaStream>, chat.clone()],
        )
        .await
        .unwrap();
    until(&mut events, "SIPSessionDidStart").await;
    let kinds: Vec<_> = session.streams().iter().map(|s| s.stream_type()).collect();
    assert!(
        kinds.contains(&"audio") && kinds.contains(&"chat"),
        "{kinds:?}"
    );
    let line = tokio::task::block_in_place(|| bob.wait_for("incoming call from"));
    assert!(line.contains("(audio, chat)"), "{line}");
    chat.send_composing_indication(ComposingState::Active, Some(30), None, Vec::new())
        .unwrap();
    tokio::task::block_in_place(|| bob.saw("sip:alice@127.0.0.1 is typing"));
    chat.send_message("ping", "text/plain", MessageOptions::default())
        .unwrap();
    let NotificationData::ChatStreamGotMessage { message } =
        until(&mut events, "ChatStreamGotMessage").await
    else {
        unreachable!()
    };
    assert_eq!(message.text(), "ping", "bob echoed it");
    tokio::task::block_in_place(|| {
        // The default rtp.audio_codec_list offers Opus first.
        bob.saw("codec opus");
        bob.saw("sip:alice@127.0.0.1: ping");
    });
    session.end().await.unwrap();
    until(&mut events, "SIPSessionDidEnd").await;
    tokio::task::block_in_place(|| bob.saw("call ended (remote hung up)"));
    alice.stop();
}

/// The session is set up, but the peer's chat takes only text/html: the
/// message, sent (wrapped in CPIM, as to any chat peer) before the
/// answer told what the peer takes, is refused with 415 by the peer's
/// MSRP side, and `sip chat --message` exits 1 saying why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_the_peers_chat_does_not_accept_exits_1_with_the_reason() {
    let dir = Dir::new("sdk-html-only");
    let (bob, mut events) = app("bob", "tcp").await;
    let port = bob
        .engine()
        .unwrap()
        .local_addr(sipsimple::engine::TransportKind::Udp)
        .unwrap()
        .port();
    let alice = config(&dir.0, "alice", 0, "tcp");
    let uri = format!("sip:bob@127.0.0.1:{port}");
    let caller = tokio::task::spawn_blocking(move || chat(&alice, &uri, &["--message", "hello"]));
    let session = incoming(&bob, &mut events).await;
    let proposed = session.proposed_streams().unwrap();
    let chat = proposed[0].clone().downcast::<ChatStream>().unwrap();
    chat.set_accept_types(&["text/html"]).unwrap();
    session
        .accept(vec![chat as Arc<dyn MediaStream>])
        .await
        .unwrap();
    let o = caller.await.unwrap();
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    // The session was up: what failed is the message.
    assert!(out.contains("chat connected (MSRP over TCP)"), "{out}");
    assert!(
        out.contains("message #1 not delivered (415 Unsupported media type): hello"),
        "{out}"
    );
    assert!(
        err.contains("sip: message not delivered: 415 Unsupported media type"),
        "{err}"
    );
    // Bob's application never got it.
    let got = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let n = events.next().await.expect("notifications");
            match n.name() {
                "ChatStreamGotMessage" => return true,
                "SIPSessionDidEnd" => return false,
                _ => {}
            }
        }
    })
    .await
    .expect("no SIPSessionDidEnd");
    assert!(!got, "{out}");
    bob.stop();
}

/// The value of the header `name` in `message` (its first occurrence).
fn header<'a>(message: &'a str, name: &str) -> &'a str {
    message
        .lines()
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
        .unwrap_or_else(|| panic!("no {name} in {message}"))
}

/// The first MSRP request in `read` when it is there whole (up to its
/// end-line), taken out of it: its transaction id and its text.
fn whole_msrp_request(read: &mut String) -> Option<(String, String)> {
    let start = read.find("MSRP ")?;
    let tid = read[start + 5..].split_whitespace().next()?.to_owned();
    let end_line = format!("-------{tid}");
    // The end-line: its continuation flag, then CRLF.
    let end = start + read[start..].find(&end_line)? + end_line.len() + 3;
    if read.len() < end {
        return None;
    }
    let request = read[start..end].to_owned();
    read.drain(..end);
    Some((tid, request))
}

/// A peer whose MSRP side answers every SEND with 200 but never sends
/// the success REPORT the sender asked for: `sip chat --message` cannot
/// know the message was delivered, and exits 1 when `--timeout` passes.
/// The peer is the test's own sockets: a SIP UAS on UDP that answers the
/// INVITE with `a=setup:passive` (so `sip chat` connects), and an MSRP
/// listener on TCP.
#[test]
fn a_message_whose_success_report_never_comes_exits_1_after_the_timeout() {
    use std::io::{Read, Write};
    let dir = Dir::new("no-report");
    let sip_socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = sip_socket.local_addr().unwrap().port();
    let msrp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let msrp_port = msrp.local_addr().unwrap().port();
    let alice = config(&dir.0, "alice", 0, "tcp");
    let uri = format!("sip:bob@127.0.0.1:{port}");
    let caller =
        std::thread::spawn(move || chat(&alice, &uri, &["--message", "hello", "--timeout", "2"]));

    let mut buf = vec![0u8; 65536];
    sip_socket
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let (n, from) = sip_socket.recv_from(&mut buf).unwrap();
    let invite = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(invite.starts_with("INVITE "), "{invite}");
    let our_path = format!("msrp://127.0.0.1:{msrp_port}/rawsess;tcp");
    let sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=message {msrp_port} TCP/MSRP *\r\na=path:{our_path}\r\n\
         a=accept-types:message/cpim text/plain\r\na=setup:passive\r\n"
    );
    let ok = format!(
        "SIP/2.0 200 OK\r\nVia: {}\r\nFrom: {}\r\nTo: {};tag=raw\r\nCall-ID: {}\r\nCSeq: {}\r\n\
         Contact: <sip:bob@127.0.0.1:{port}>\r\nContent-Type: application/sdp\r\n\
         Content-Length: {}\r\n\r\n{sdp}",
        header(&invite, "Via"),
        header(&invite, "From"),
        header(&invite, "To"),
        header(&invite, "Call-ID"),
        header(&invite, "CSeq"),
        sdp.len()
    );
    sip_socket.send_to(ok.as_bytes(), from).unwrap();

    // The MSRP side: 200 to every SEND, never a REPORT.
    let (mut io, _) = msrp.accept().unwrap();
    io.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let mut read = String::new();
    let mut message_send = None;
    while message_send.is_none() {
        let n = io.read(&mut buf).unwrap();
        assert!(n > 0, "the MSRP connection closed; read {read:?}");
        read.push_str(&String::from_utf8_lossy(&buf[..n]));
        while let Some((tid, request)) = whole_msrp_request(&mut read) {
            assert!(request.contains(" SEND\r\n"), "{request}");
            write!(
                io,
                "MSRP {tid} 200 OK\r\nTo-Path: {}\r\nFrom-Path: {our_path}\r\n-------{tid}$\r\n",
                header(&request, "From-Path")
            )
            .unwrap();
            if request.contains("hello") {
                message_send = Some(request);
            }
        }
    }
    let send = message_send.unwrap();
    assert_eq!(header(&send, "Success-Report"), "yes", "{send}");

    // Its BYE, once the timeout passed, is answered.
    let (n, from) = sip_socket.recv_from(&mut buf).unwrap();
    let mut request = String::from_utf8_lossy(&buf[..n]).into_owned();
    while !request.starts_with("BYE ") {
        let (n, _) = sip_socket.recv_from(&mut buf).unwrap();
        request = String::from_utf8_lossy(&buf[..n]).into_owned();
    }
    let ok = format!(
        "SIP/2.0 200 OK\r\nVia: {}\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {}\r\n\
         Content-Length: 0\r\n\r\n",
        header(&request, "Via"),
        header(&request, "From"),
        header(&request, "To"),
        header(&request, "Call-ID"),
        header(&request, "CSeq"),
    );
    sip_socket.send_to(ok.as_bytes(), from).unwrap();

    let o = caller.join().unwrap();
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(out.contains("chat connected (MSRP over TCP)"), "{out}");
    assert!(!out.contains("delivered"), "{out}");
    assert!(err.contains("no delivery report within 2 s"), "{err}");
    drop(io);
}
