//! Bad MSRP peers against the engine's MSRP side (RFC 4975): a raw TCP
//! peer on the shared MSRP port sends garbage, a truncated chunk, a
//! Byte-Range total of 2^63, a body without its end-line, 100,000
//! one-byte chunks, or cuts the connection in the middle of a message.
//! The connection fails or answers as the RFC says, the server keeps
//! serving other sessions, and nothing grows without bound. A second
//! connection for a session that has its connection is answered 506.

mod common;

use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use msrp_proto::uri::MsrpUri;
use msrp_proto::{Session, SessionConfig, SessionEvent};
use sipsimple::msrp::{ConnectionEvent, MsrpConnection, MsrpServer, SessionBinding};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Peer {
    _server: MsrpServer,
    raw: TcpStream,
    events: mpsc::Receiver<ConnectionEvent>,
    _conn: MsrpConnection,
    /// Our session's hold on `raw`'s connection, kept as a stream keeps it.
    _binding: Option<SessionBinding>,
    ours: String,
    theirs: String,
}

/// A session `ours` waiting on a fresh server, a raw peer connected to it
/// whose first request is `first` (it must name `ours` in its To-Path:
/// `{ours}` in the text is replaced).
async fn peer(first: &str) -> Peer {
    peer_with(first, None).await
}

/// [`peer`] with our side sending keep-alives after `keepalive` idle.
async fn peer_with(first: &str, keepalive: Option<Duration>) -> Peer {
    let server = MsrpServer::bind("127.0.0.1:0".parse().unwrap(), None)
        .await
        .unwrap();
    let port = server.local_addr().port();
    let ours = format!("msrp://127.0.0.1:{port}/oursess;tcp");
    let theirs = "msrp://127.0.0.1:9/theirs;tcp".to_owned();
    let mut reg = server.register("oursess");
    let mut raw = TcpStream::connect(server.local_addr()).await.unwrap();
    raw.write_all(first.replace("{ours}", &ours).as_bytes())
        .await
        .unwrap();
    let accepted = tokio::time::timeout(Duration::from_secs(10), reg.accept())
        .await
        .expect("the server hands the connection on")
        .unwrap();
    let mut cfg = SessionConfig::new(
        vec![MsrpUri::parse(&ours).unwrap()],
        vec![MsrpUri::parse(&theirs).unwrap()],
        7,
    );
    cfg.keepalive_interval = keepalive;
    let (tx, events) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let conn = MsrpConnection::spawn(
        accepted.io,
        accepted.initial,
        Session::new(cfg),
        Arc::new(move |e| {
            let _ = tx.lock().unwrap().send(e);
        }),
        None,
    );
    Peer {
        _server: server,
        raw,
        events,
        _conn: conn,
        _binding: accepted.binding,
        ours,
        theirs,
    }
}

fn send(tid: &str, ours: &str, theirs: &str, extra: &str, body: &str, flag: char) -> String {
    let body_part = if body.is_empty() {
        String::new()
    } else {
        format!("Content-Type: text/plain\r\n\r\n{body}\r\n")
    };
    format!(
        "MSRP {tid} SEND\r\nTo-Path: {ours}\r\nFrom-Path: {theirs}\r\nMessage-ID: m{tid}\r\n{extra}{body_part}-------{tid}{flag}\r\n"
    )
}

/// The events until the connection closes (or 20 s pass).
async fn until_closed(events: &mpsc::Receiver<ConnectionEvent>) -> Vec<ConnectionEvent> {
    let mut seen = Vec::new();
    for _ in 0..2000 {
        while let Ok(e) = events.try_recv() {
            let closed = matches!(e, ConnectionEvent::Closed { .. });
            seen.push(e);
            if closed {
                return seen;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the connection did not close; saw {seen:?}");
}

async fn read_some(raw: &mut TcpStream) -> String {
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), raw.read(&mut buf))
        .await
        .expect("an answer")
        .unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

fn closed_with_error(seen: &[ConnectionEvent]) -> String {
    match seen.last() {
        Some(ConnectionEvent::Closed { error: Some(e) }) => e.clone(),
        other => panic!("expected a close with an error, got {other:?}"),
    }
}

#[tokio::test]
async fn garbage_after_a_good_chunk_closes_the_connection_with_a_clear_error() {
    let mut p = peer(&send(
        "trx1",
        "{ours}",
        "msrp://127.0.0.1:9/theirs;tcp",
        "",
        "hi",
        '$',
    ))
    .await;
    assert!(read_some(&mut p.raw).await.starts_with("MSRP trx1 200"));
    p.raw
        .write_all(b"\x00\x01GARBAGE NOT MSRP\r\n\r\n")
        .await
        .unwrap();
    let seen = until_closed(&p.events).await;
    assert!(seen.iter().any(|e| matches!(
        e,
        ConnectionEvent::Session(SessionEvent::MessageReceived { body, .. }) if body == b"hi"
    )));
    let e = closed_with_error(&seen);
    assert!(e.contains("bad MSRP"), "{e}");
}

#[tokio::test]
async fn a_connection_cut_in_the_middle_of_a_message_is_a_failure() {
    let head = format!(
        "MSRP trx1 SEND\r\nTo-Path: {{ours}}\r\nFrom-Path: {}\r\nMessage-ID: m1\r\nByte-Range: 1-*/100\r\n\
         Content-Type: text/plain\r\n\r\nfirst half of the bod",
        "msrp://127.0.0.1:9/theirs;tcp"
    );
    let p = peer(&head).await;
    drop(p.raw);
    let seen = until_closed(&p.events).await;
    let e = closed_with_error(&seen);
    assert!(e.contains("middle of a message"), "{e}");
    assert!(!seen.iter().any(|e| matches!(
        e,
        ConnectionEvent::Session(SessionEvent::MessageReceived { .. })
    )));
}

#[tokio::test]
async fn a_byte_range_total_of_2_pow_63_is_refused_with_413_and_the_session_goes_on() {
    let big = format!("Byte-Range: 1-2/{}\r\n", 1u64 << 63);
    let mut p = peer(&send(
        "trx1",
        "{ours}",
        "msrp://127.0.0.1:9/theirs;tcp",
        &big,
        "ab",
        '+',
    ))
    .await;
    let answer = read_some(&mut p.raw).await;
    assert!(answer.starts_with("MSRP trx1 413"), "{answer}");
    let next = send("trx2", &p.ours, &p.theirs, "", "after", '$');
    p.raw.write_all(next.as_bytes()).await.unwrap();
    assert!(read_some(&mut p.raw).await.starts_with("MSRP trx2 200"));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(ConnectionEvent::Session(SessionEvent::MessageReceived { body, .. })) =
            p.events.try_recv()
        {
            assert_eq!(body, b"after");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the next message did not arrive"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The bodies of the messages the session receives up to and with
/// `last` (within 10 s).
async fn messages_until(events: &mpsc::Receiver<ConnectionEvent>, last: &[u8]) -> Vec<Vec<u8>> {
    let mut seen = Vec::new();
    for _ in 0..1000 {
        while let Ok(e) = events.try_recv() {
            if let ConnectionEvent::Session(SessionEvent::MessageReceived { body, .. }) = e {
                let done = body == last;
                seen.push(body);
                if done {
                    return seen;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{last:?} did not arrive; saw {seen:?}");
}

/// Reads `raw` to its end (within 10 s).
async fn read_to_end(raw: &mut TcpStream) -> String {
    let mut all = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), raw.read_to_end(&mut all))
        .await
        .expect("the connection is closed")
        .unwrap();
    String::from_utf8_lossy(&all).into_owned()
}

#[tokio::test]
async fn a_second_connection_for_a_bound_session_is_answered_506_and_the_first_goes_on() {
    // The first connection binds the session with its empty SEND.
    let mut p = peer(&send(
        "bind1",
        "{ours}",
        "msrp://127.0.0.1:9/theirs;tcp",
        "",
        "",
        '$',
    ))
    .await;
    assert!(read_some(&mut p.raw).await.starts_with("MSRP bind1 200"));
    let port = p._server.local_addr();
    let mut second = TcpStream::connect(port).await.unwrap();
    let stolen = send("steal1", &p.ours, &p.theirs, "", "mine now", '$');
    second.write_all(stolen.as_bytes()).await.unwrap();
    let answer = read_to_end(&mut second).await;
    assert!(answer.starts_with("MSRP steal1 506"), "{answer}");
    // To the sender alone, from the session it named.
    assert!(
        answer.contains(&format!("To-Path: {}\r\n", p.theirs)),
        "{answer}"
    );
    assert!(
        answer.contains(&format!("From-Path: {}\r\n", p.ours)),
        "{answer}"
    );
    // One who asked for no responses gets none, and is closed all the same.
    let mut quiet = TcpStream::connect(port).await.unwrap();
    let no_reports = send(
        "steal2",
        &p.ours,
        &p.theirs,
        "Failure-Report: no\r\n",
        "x",
        '$',
    );
    quiet.write_all(no_reports.as_bytes()).await.unwrap();
    assert_eq!(read_to_end(&mut quiet).await, "");
    // The bound connection goes on, and nothing from the others reached
    // the session.
    let next = send("trx2", &p.ours, &p.theirs, "", "still here", '$');
    p.raw.write_all(next.as_bytes()).await.unwrap();
    assert!(read_some(&mut p.raw).await.starts_with("MSRP trx2 200"));
    // The empty binding SEND, then the message on the bound connection.
    let got = messages_until(&p.events, b"still here").await;
    assert_eq!(got, [&b""[..], b"still here"]);
    // Once the session lets its connection go, the port takes a new one
    // for it again (when it waits for one).
    drop(p._binding);
    let mut reg = p._server.register("oursess");
    let mut third = TcpStream::connect(port).await.unwrap();
    third
        .write_all(send("new1", &p.ours, &p.theirs, "", "", '$').as_bytes())
        .await
        .unwrap();
    assert!(tokio::time::timeout(Duration::from_secs(10), reg.accept())
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn a_body_without_its_end_line_then_eof_fails_without_delivering() {
    let text = "MSRP trx1 SEND\r\nTo-Path: {ours}\r\nFrom-Path: msrp://127.0.0.1:9/theirs;tcp\r\n\
                Message-ID: m1\r\nContent-Type: text/plain\r\n\r\nno end line follows";
    let p = peer(text).await;
    drop(p.raw);
    let seen = until_closed(&p.events).await;
    closed_with_error(&seen);
    assert!(!seen.iter().any(|e| matches!(
        e,
        ConnectionEvent::Session(SessionEvent::MessageReceived { .. })
    )));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_one_byte_chunks_reassemble_to_one_message() {
    const N: usize = 100_000;
    let chunk = |i: usize, ours: &str, theirs: &str| {
        let flag = if i == N { '$' } else { '+' };
        format!(
            "MSRP c{i:07} SEND\r\nTo-Path: {ours}\r\nFrom-Path: {theirs}\r\nMessage-ID: bigmessage\r\n\
             Byte-Range: {i}-{i}/{N}\r\nFailure-Report: no\r\nContent-Type: text/plain\r\n\r\n{}\r\n-------c{i:07}{flag}\r\n",
            (b'a' + (i % 26) as u8) as char
        )
    };
    let mut p = peer(&chunk(1, "{ours}", "msrp://127.0.0.1:9/theirs;tcp")).await;
    let mut batch = String::new();
    for i in 2..=N {
        batch.push_str(&chunk(i, &p.ours, &p.theirs));
        if batch.len() > 64 * 1024 || i == N {
            p.raw.write_all(batch.as_bytes()).await.unwrap();
            batch.clear();
        }
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let body = loop {
        match p.events.try_recv() {
            Ok(ConnectionEvent::Session(SessionEvent::MessageReceived { body, .. })) => break body,
            Ok(other) => panic!("{other:?}"),
            Err(_) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the message did not complete"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    assert_eq!(body.len(), N);
    assert!(body
        .iter()
        .enumerate()
        .all(|(i, b)| *b == b'a' + ((i + 1) % 26) as u8));
}

#[tokio::test]
async fn a_connection_for_no_waiting_session_is_closed_and_the_server_goes_on() {
    let server = MsrpServer::bind("127.0.0.1:0".parse().unwrap(), None)
        .await
        .unwrap();
    let mut stray = TcpStream::connect(server.local_addr()).await.unwrap();
    let first = send(
        "trx1",
        "msrp://127.0.0.1:1/nobody;tcp",
        "msrp://127.0.0.1:9/x;tcp",
        "",
        "hi",
        '$',
    );
    stray.write_all(first.as_bytes()).await.unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(10), stray.read(&mut buf))
        .await
        .unwrap();
    assert!(matches!(n, Ok(0) | Err(_)), "closed without an answer");
    // A session registered afterwards still gets its connection.
    let mut reg = server.register("late");
    let mut good = TcpStream::connect(server.local_addr()).await.unwrap();
    let first = send(
        "trx2",
        "msrp://127.0.0.1:1/late;tcp",
        "msrp://127.0.0.1:9/x;tcp",
        "",
        "",
        '$',
    );
    good.write_all(first.as_bytes()).await.unwrap();
    assert!(tokio::time::timeout(Duration::from_secs(10), reg.accept())
        .await
        .unwrap()
        .is_some());
    drop(reg);
    assert_eq!(server.waiting(), 0, "a dropped registration is forgotten");
}

#[tokio::test]
async fn an_interrupted_message_is_reported_aborted_and_the_next_one_arrives() {
    // RFC 4975 §7.1.1: `#` ends a message the sender abandons.
    let first = "MSRP trx1 SEND\r\nTo-Path: {ours}\r\nFrom-Path: msrp://127.0.0.1:9/theirs;tcp\r\n\
                 Message-ID: interrupted1\r\nByte-Range: 1-*/50000\r\nContent-Type: text/plain\r\n\r\n\
                 the first part of a long message\r\n-------trx1#\r\n";
    let mut p = peer(first).await;
    let answer = read_some(&mut p.raw).await;
    assert!(answer.starts_with("MSRP trx1 200"), "{answer}");
    let next = send("trx2", &p.ours, &p.theirs, "", "the next one", '$');
    p.raw.write_all(next.as_bytes()).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    while tokio::time::Instant::now() < deadline && seen.len() < 2 {
        match p.events.try_recv() {
            Ok(e) => seen.push(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
    assert!(
        matches!(
            &seen[0],
            ConnectionEvent::Session(SessionEvent::MessageAborted { message_id }) if message_id == "interrupted1"
        ),
        "{seen:?}"
    );
    assert!(
        matches!(
            &seen[1],
            ConnectionEvent::Session(SessionEvent::MessageReceived { body, .. }) if body == b"the next one"
        ),
        "{seen:?}"
    );
}

#[tokio::test]
async fn a_connection_from_another_session_is_not_taken_for_ours() {
    // RFC 4975 §5.4: the passive side checks who the first request is
    // from (by session-id, as CEMA does): guessing our session-id alone
    // does not get an intruder our session.
    let server = MsrpServer::bind("127.0.0.1:0".parse().unwrap(), None)
        .await
        .unwrap();
    let mut reg = server.register("oursess");
    let ours = format!(
        "msrp://127.0.0.1:{}/oursess;tcp",
        server.local_addr().port()
    );
    let mut intruder = TcpStream::connect(server.local_addr()).await.unwrap();
    let first = send(
        "trx1",
        &ours,
        "msrp://127.0.0.1:9/intruder;tcp",
        "",
        "",
        '$',
    );
    intruder.write_all(first.as_bytes()).await.unwrap();
    let taken = tokio::time::timeout(Duration::from_millis(500), reg.accept_from("theirs")).await;
    assert!(
        taken.is_err(),
        "the intruder's connection was not handed over"
    );
    let mut good = TcpStream::connect(server.local_addr()).await.unwrap();
    // A placeholder port in the peer's URI does not matter, its session-id does.
    let first = send(
        "trx2",
        &ours,
        "msrp://127.0.0.1:2855/theirs;tcp",
        "",
        "",
        '$',
    );
    good.write_all(first.as_bytes()).await.unwrap();
    let a = tokio::time::timeout(Duration::from_secs(10), reg.accept_from("theirs"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.from_session.as_deref(), Some("theirs"));
    // The intruder's connection was closed.
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(5), intruder.read(&mut buf))
        .await
        .unwrap();
    assert!(matches!(n, Ok(0) | Err(_)));
}

/// The transaction id of the SEND in `text`, which must be a keep-alive.
fn keepalive_tid(text: &str) -> String {
    assert!(text.contains(" SEND\r\n"), "{text}");
    assert!(text.contains("Keep-Alive: yes\r\n"), "{text}");
    assert!(text.contains("Byte-Range: 1-0/0\r\n"), "{text}");
    text.split_whitespace().nth(1).unwrap().to_owned()
}

#[tokio::test]
async fn an_idle_connection_sends_keepalives_and_one_the_peer_disowns_closes_it() {
    let mut p = peer_with(
        &send(
            "bind1",
            "{ours}",
            "msrp://127.0.0.1:9/theirs;tcp",
            "Byte-Range: 1-0/0\r\n",
            "",
            '$',
        ),
        Some(Duration::from_secs(1)),
    )
    .await;
    assert!(read_some(&mut p.raw).await.starts_with("MSRP bind1 200"));
    // The binding SEND is an (empty) message of the stream's.
    tokio::time::sleep(Duration::from_millis(100)).await;
    while p.events.try_recv().is_ok() {}
    // Idle for a second: a keep-alive comes; answered 200, the next one
    // comes a second later and the connection stays up.
    let first = keepalive_tid(&read_some(&mut p.raw).await);
    let ok = format!(
        "MSRP {first} 200 OK\r\nTo-Path: {}\r\nFrom-Path: {}\r\n-------{first}$\r\n",
        p.ours, p.theirs
    );
    p.raw.write_all(ok.as_bytes()).await.unwrap();
    let second = keepalive_tid(&read_some(&mut p.raw).await);
    assert_ne!(first, second);
    assert!(
        p.events.try_recv().is_err(),
        "keep-alives are no events of the stream's"
    );
    // The peer no longer knows the session (RFC 4975 §7.3.1: 481): the
    // connection is dead.
    let gone = format!("MSRP {second} 481 Session does not exist\r\nTo-Path: {}\r\nFrom-Path: {}\r\n-------{second}$\r\n", p.ours, p.theirs);
    p.raw.write_all(gone.as_bytes()).await.unwrap();
    let seen = until_closed(&p.events).await;
    let error = closed_with_error(&seen);
    assert!(
        error.contains("keep-alive") && error.contains("481"),
        "{error}"
    );
}

#[tokio::test]
async fn the_application_logs_connections_its_msrp_port_turns_away() {
    let app = common::account_app_with("alice", "", "msrp.transport = \"tcp\"\n").await;
    let mut logs = app
        .notification_center()
        .subscribe(sipsimple::notification::Filter::name("MSRPLibraryLog"));
    let account = app.account_manager().accounts().remove(0);
    let settings = app
        .session_manager()
        .stream_settings(account, "127.0.0.1".parse().unwrap())
        .unwrap();
    let server = settings
        .msrp
        .endpoint
        .server("127.0.0.1".parse().unwrap())
        .await
        .unwrap();
    let mut raw = TcpStream::connect(server.local_addr()).await.unwrap();
    let local = raw.local_addr().unwrap();
    raw.write_all(
        &send(
            "junk1",
            "msrp://127.0.0.1:1/nobody;tcp",
            "msrp://127.0.0.1:9/x;tcp",
            "",
            "hi",
            '$',
        )
        .into_bytes(),
    )
    .await
    .unwrap();
    let n = tokio::time::timeout(Duration::from_secs(10), logs.next())
        .await
        .expect("a log line")
        .unwrap();
    match &n.data {
        sipsimple::notification::NotificationData::MSRPLibraryLog { level, message } => {
            assert_eq!(*level, "WARNING");
            assert!(message.contains(&local.to_string()), "{message}");
            assert!(message.contains("no session nobody"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    app.stop();
}
