//! `sip chat` against `sip listen --echo` as two real processes on
//! loopback (MSRP over TLS, the default, and over TCP), against an
//! in-process SDK application (what exactly arrives, audio with chat,
//! is-composing),
//! and the failures: a declined session, a peer that never answers.
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
    let n = loop {
        let n = tokio::time::timeout(Duration::from_secs(15), events.next())
            .await
            .unwrap()
            .unwrap();
        if n.name() == "SIPSessionNewIncoming" {
            break n;
        }
    };
    let session = bob
        .session_manager()
        .sessions()
        .into_iter()
        .find(|s| s.sender() == n.sender)
        .unwrap();
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
