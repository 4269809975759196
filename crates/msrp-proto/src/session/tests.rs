//! Two sessions wired back to back on virtual time.

use super::*;

pub(super) fn uri(s: &str) -> MsrpUri {
    MsrpUri::parse(s).unwrap()
}

pub(super) fn pair(chunk: u64) -> (Session, Session) {
    let a = uri("msrp://alicepc.example.com:7777/iau39soe2843z;tcp");
    let b = uri("msrp://bob.example.com:8888/9di4eae923wzd;tcp");
    let mut ca = SessionConfig::new(vec![a.clone()], vec![b.clone()], 1);
    let mut cb = SessionConfig::new(vec![b], vec![a], 2);
    ca.chunk_size = chunk;
    cb.chunk_size = chunk;
    (Session::new(ca), Session::new(cb))
}

/// Moves everything each side has to write to the other, in `step`-byte
/// reads, until both are quiet. Returns the bytes alice wrote.
pub(super) fn pump(a: &mut Session, b: &mut Session, now: Instant, step: usize) -> Vec<Vec<u8>> {
    let mut from_a = Vec::new();
    loop {
        let mut moved = false;
        while let Some(t) = a.poll_transmit(now) {
            for piece in t.chunks(step) {
                b.handle_input(now, piece).unwrap();
            }
            from_a.push(t);
            moved = true;
        }
        while let Some(t) = b.poll_transmit(now) {
            for piece in t.chunks(step) {
                a.handle_input(now, piece).unwrap();
            }
            moved = true;
        }
        if !moved {
            return from_a;
        }
    }
}

pub(super) fn events(s: &mut Session) -> Vec<SessionEvent> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

/// The events with the heads they carry taken out, for tests about the
/// rest; what the heads hold is tested on its own.
pub(super) fn headless(s: &mut Session) -> Vec<SessionEvent> {
    headless_of(events(s))
}

pub(super) fn headless_of(events: Vec<SessionEvent>) -> Vec<SessionEvent> {
    events
        .into_iter()
        .map(|mut e| {
            if let SessionEvent::MessageSent { chunk, .. }
            | SessionEvent::MessageFailed { chunk, .. }
            | SessionEvent::MessageDelivered { chunk, .. } = &mut e
            {
                *chunk = None;
            }
            e
        })
        .collect()
}

/// The head an event carries.
pub(super) fn head_of(e: &SessionEvent) -> Option<&Head> {
    match e {
        SessionEvent::MessageSent { chunk, .. }
        | SessionEvent::MessageFailed { chunk, .. }
        | SessionEvent::MessageDelivered { chunk, .. } => chunk.as_deref(),
        _ => None,
    }
}

#[test]
fn large_message_interleaves_with_small_and_is_reported() {
    let (mut a, mut b) = pair(100);
    let now = Instant::now();
    let big: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    let big_id = a.send_message(
        "application/octet-stream",
        Bytes::from(big.clone()),
        true,
        FailureReport::Yes,
    );
    let small_id = a.send_message(
        "text/plain",
        Bytes::from_static(b"hi"),
        false,
        FailureReport::Yes,
    );
    let written = pump(&mut a, &mut b, now, 7);
    // The small message went out second, not after ten chunks.
    let second = written
        .get(1)
        .map(|w| String::from_utf8_lossy(w).into_owned());
    assert!(second.is_some_and(|s| s.contains(&small_id)));
    let got = events(&mut b);
    assert!(got.contains(&SessionEvent::MessageReceived {
        message_id: small_id.clone(),
        content_type: Some("text/plain".into()),
        body: b"hi".to_vec(),
    }));
    assert!(got.contains(&SessionEvent::MessageReceived {
        message_id: big_id.clone(),
        content_type: Some("application/octet-stream".into()),
        body: big,
    }));
    let with_heads = events(&mut a);
    // The success REPORT's head comes with its event, as it was read.
    let report = with_heads
        .iter()
        .find(|e| matches!(e, SessionEvent::MessageDelivered { .. }))
        .and_then(head_of);
    let Some(Head::Request(report)) = report else {
        panic!("no REPORT head: {with_heads:?}");
    };
    assert_eq!(report.method, Method::Report);
    assert_eq!(report.headers.get("Status"), Some("000 200 OK"));
    assert_eq!(report.headers.get("Message-ID"), Some(big_id.as_str()));
    assert_eq!(report.headers.get("Byte-Range"), Some("1-1000/1000"));
    // MessageSent names the last chunk as written: its Byte-Range ends
    // the message.
    let last = with_heads.iter().find_map(|e| match e {
        SessionEvent::MessageSent { message_id, chunk } if *message_id == big_id => chunk.clone(),
        _ => None,
    });
    let Some(Head::Request(last)) = last.as_deref() else {
        panic!("no head of the last chunk: {with_heads:?}");
    };
    assert_eq!(last.method, Method::Send);
    assert_eq!(last.headers.get("Byte-Range"), Some("901-1000/1000"));
    assert_eq!(last.headers.get("Message-ID"), Some(big_id.as_str()));
    assert_eq!(last.headers.get("Success-Report"), Some("yes"));
    let sent = headless_of(with_heads);
    assert!(sent.contains(&SessionEvent::MessageSent {
        message_id: small_id,
        chunk: None,
    }));
    assert!(sent.contains(&SessionEvent::MessageSent {
        message_id: big_id.clone(),
        chunk: None,
    }));
    assert!(sent.contains(&SessionEvent::MessageDelivered {
        message_id: big_id,
        range: Some(ByteRange {
            start: 1,
            end: Some(1000),
            total: Some(1000)
        }),
        chunk: None,
    }));
    assert!(a.is_idle() && b.is_idle());
    assert_eq!(a.poll_timeout(), None);
}

#[test]
fn missing_response_times_out_as_408() {
    let (mut a, _) = pair(100);
    let t0 = Instant::now();
    let id = a.send_message(
        "text/plain",
        Bytes::from_static(b"x"),
        false,
        FailureReport::Yes,
    );
    assert!(a.poll_transmit(t0).is_some());
    let deadline = a.poll_timeout().unwrap();
    assert_eq!(deadline, t0 + Duration::from_secs(30));
    a.handle_timeout(deadline - Duration::from_millis(1));
    assert_eq!(a.poll_event(), None);
    a.handle_timeout(deadline);
    assert_eq!(
        a.poll_event(),
        Some(SessionEvent::MessageFailed {
            message_id: id,
            status: 408,
            reason: Some("no response in time".into()),
            // Our own timeout: no head to name.
            chunk: None,
        })
    );
    assert!(a.is_idle());
}

#[test]
fn no_failure_report_means_no_response() {
    let (mut a, mut b) = pair(100);
    let now = Instant::now();
    let id = a.send_message(
        "text/plain",
        Bytes::from_static(b"x"),
        false,
        FailureReport::No,
    );
    let _ = pump(&mut a, &mut b, now, 1000);
    assert_eq!(
        headless(&mut a),
        vec![SessionEvent::MessageSent {
            message_id: id,
            chunk: None
        }]
    );
    assert!(b.poll_transmit(now).is_none());
    assert_eq!(a.poll_timeout(), None);
}

#[test]
fn wrong_session_gets_481_and_unknown_method_501() {
    let (mut a, mut b) = pair(100);
    let now = Instant::now();
    let stray = b"MSRP abcd1234 SEND\r\nTo-Path: msrp://bob.example.com:8888/other;tcp\r\n\
From-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\r\nMessage-ID: m1234\r\n\
Content-Type: text/plain\r\n\r\nx\r\n-------abcd1234$\r\n\
MSRP efgh5678 NICKNAME\r\nTo-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n\
From-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\r\n-------efgh5678$\r\n";
    b.handle_input(now, stray).unwrap();
    let r1 = String::from_utf8(b.poll_transmit(now).unwrap()).unwrap();
    let r2 = String::from_utf8(b.poll_transmit(now).unwrap()).unwrap();
    assert!(r1.starts_with("MSRP abcd1234 481 "), "{r1}");
    assert!(r1.contains("To-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\r\n"));
    assert!(r2.starts_with("MSRP efgh5678 501 "), "{r2}");
    assert_eq!(b.poll_event(), None);
    // A refused chunk fails the sender's message.
    let id = a.send_message(
        "text/plain",
        Bytes::from_static(b"x"),
        false,
        FailureReport::Yes,
    );
    let chunk = a.poll_transmit(now).unwrap();
    let text = String::from_utf8(chunk).unwrap();
    let tid = text.split(' ').nth(1).unwrap();
    let refusal = format!(
        "MSRP {tid} 413 Stop\r\nTo-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\r\n\
From-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n-------{tid}$\r\n"
    );
    a.handle_input(now, refusal.as_bytes()).unwrap();
    let Some(SessionEvent::MessageFailed {
        message_id,
        status: 413,
        reason,
        chunk: Some(head),
    }) = a.poll_event()
    else {
        panic!("no 413 with its head");
    };
    assert_eq!((message_id, reason.as_deref()), (id, Some("Stop")));
    let Head::Response(resp) = *head else {
        panic!("not a response: {head:?}");
    };
    assert_eq!((resp.tid.as_str(), resp.status), (tid, 413));
    assert_eq!(resp.comment.as_deref(), Some("Stop"));
    assert_eq!(
        resp.headers.get("From-Path"),
        Some("msrp://bob.example.com:8888/9di4eae923wzd;tcp")
    );
}

#[test]
fn empty_send_binds_and_is_answered_without_a_message_body() {
    // RFC 4975 §5.4: the active side may open with an empty SEND; some
    // clients also send empty SENDs as keep-alives (non-standard
    // `Keep-Alive: yes`). Both get a 200 and carry no content.
    let (mut a, mut b) = pair(2048);
    let now = Instant::now();
    let id = a.send_message("", Bytes::new(), false, FailureReport::Yes);
    pump(&mut a, &mut b, now, 7);
    assert_eq!(
        headless(&mut a),
        vec![SessionEvent::MessageSent {
            message_id: id,
            chunk: None
        }]
    );
    let got = events(&mut b);
    assert!(matches!(
        got.as_slice(),
        [SessionEvent::MessageReceived { content_type: None, body, .. }] if body.is_empty()
    ));
    let keepalive = "MSRP ka1x SEND\r\nTo-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n\
         From-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\r\n\
         Message-ID: kam1\r\nByte-Range: 1-0/0\r\nKeep-Alive: yes\r\n-------ka1x$\r\n";
    b.handle_input(now, keepalive.as_bytes()).unwrap();
    let answer = b.poll_transmit(now).unwrap();
    assert!(answer.starts_with(b"MSRP ka1x 200"));
    assert!(!b.in_message());
    assert_eq!(b.queued_messages(), 0);
}

#[test]
fn partial_failure_report_gets_no_200_but_an_error_names_the_message() {
    // RFC 4975 §7.1.1: with `Failure-Report: partial` the receiver answers
    // only errors; the sender must still match such an error to its
    // message although it never waited for a 200.
    let (mut a, mut b) = pair(2048);
    let now = Instant::now();
    let ok = a.send_message(
        "text/plain",
        Bytes::from_static(b"hi"),
        true,
        FailureReport::Partial,
    );
    pump(&mut a, &mut b, now, 5);
    let got = headless(&mut a);
    assert!(
        got.contains(&SessionEvent::MessageSent {
            message_id: ok.clone(),
            chunk: None,
        }),
        "{got:?}"
    );
    assert!(
        got.iter().any(
            |e| matches!(e, SessionEvent::MessageDelivered { message_id, .. } if *message_id == ok)
        ),
        "{got:?}"
    );
    assert!(a.is_idle(), "no 200 awaited for a partial report");
    // A chunk the peer refuses: it answers 415 (an unknown session here,
    // 481, serves the same purpose).
    let bad = a.send_message(
        "text/plain",
        Bytes::from_static(b"x"),
        false,
        FailureReport::Partial,
    );
    let chunk = a.poll_transmit(now).unwrap();
    let tid = std::str::from_utf8(&chunk)
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .to_owned();
    let answer = format!(
        "MSRP {tid} 481 No session\r\nTo-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\r\n\
         From-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n-------{tid}$\r\n"
    );
    events(&mut a);
    a.handle_input(now, answer.as_bytes()).unwrap();
    // Never awaited, the error still comes with its head.
    let got = events(&mut a);
    assert!(
        matches!(got.first().and_then(head_of), Some(Head::Response(r)) if r.status == 481),
        "{got:?}"
    );
    assert_eq!(
        headless_of(got),
        vec![SessionEvent::MessageFailed {
            message_id: bad,
            status: 481,
            reason: Some("No session".into()),
            chunk: None,
        }]
    );
}

/// A file handed over piece by piece, sent from byte 301 on (a resumed
/// transfer), read streamed by a receiver that reports each chunk.
#[test]
fn streamed_file_from_the_middle_with_chunk_reports() {
    let (mut a, mut b) = pair(100);
    b = Session::new(SessionConfig {
        stream_incoming: true,
        ..b.config().clone()
    });
    let now = Instant::now();
    let file: Vec<u8> = (0..1000u32).map(|i| (i % 253) as u8).collect();
    a.begin_message(
        MessageId("file0001".into()),
        "application/octet-stream",
        1000,
        301,
        true,
        FailureReport::Yes,
    )
    .unwrap();
    // Nothing to write before bytes come; a chat message is not held up.
    a.send_message(
        "text/plain",
        Bytes::from_static(b"hi"),
        false,
        FailureReport::Yes,
    );
    let first = a.poll_transmit(now).unwrap();
    assert!(String::from_utf8_lossy(&first).contains("Content-Type: text/plain"));
    assert_eq!(a.poll_transmit(now), None);
    b.handle_input(now, &first).unwrap();
    let mut got = vec![0u8; 1000];
    let mut received = Vec::new();
    let mut fed = 300;
    loop {
        if fed < 1000 {
            let end = (fed + 150).min(1000);
            let piece = Bytes::copy_from_slice(&file[fed..end]);
            assert!(a.append_body("file0001", piece, end == 1000));
            fed = end;
        }
        pump(&mut a, &mut b, now, 33);
        for e in events(&mut b) {
            match e {
                SessionEvent::ChunkData {
                    message_id,
                    offset,
                    data,
                } => {
                    if message_id != "file0001" {
                        // The chat message, streamed like everything.
                        assert_eq!(&data[..], b"hi");
                        continue;
                    }
                    let at = offset as usize;
                    got[at..at + data.len()].copy_from_slice(&data);
                }
                SessionEvent::ChunkReceived {
                    message_id,
                    range,
                    flag,
                    success_report,
                    content_type,
                } => {
                    if message_id != "file0001" {
                        continue;
                    }
                    assert!(success_report);
                    assert_eq!(content_type.as_deref(), Some("application/octet-stream"));
                    assert!(b.report(&message_id, range, 200, "OK"));
                    received.push((range.to_value(), flag));
                }
                SessionEvent::MessageReceived { .. } => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        if fed == 1000 && a.is_idle() {
            pump(&mut a, &mut b, now, 33);
            break;
        }
    }
    assert_eq!(&got[300..], &file[300..]);
    assert!(got[..300].iter().all(|&x| x == 0));
    assert_eq!(
        received.first(),
        Some(&("301-400/1000".to_owned(), Flag::More))
    );
    assert_eq!(
        received.last(),
        Some(&("901-1000/1000".to_owned(), Flag::Complete))
    );
    assert_eq!(received.len(), 7);
    let sent = events(&mut a);
    let acks: Vec<_> = sent
        .iter()
        .filter_map(|e| match e {
            SessionEvent::ChunkAcknowledged { range, .. } => Some(range.to_value()),
            _ => None,
        })
        .collect();
    assert_eq!(acks.len(), 7);
    assert_eq!(acks.last().map(String::as_str), Some("901-1000/1000"));
    let reports = sent
        .iter()
        .filter(|e| matches!(e, SessionEvent::MessageDelivered { message_id, .. } if message_id == "file0001"))
        .count();
    assert_eq!(reports, 7);
    assert!(sent.iter().any(
        |e| matches!(e, SessionEvent::MessageSent { message_id, .. } if message_id == "file0001")
    ));
    // A finished message takes no more bytes; unknown ids get no REPORT.
    assert!(!a.append_body("file0001", Bytes::from_static(b"x"), true));
    assert!(!b.report(
        "nosuchid",
        ByteRange {
            start: 1,
            end: Some(1),
            total: Some(1)
        },
        200,
        "OK"
    ));
}

/// A streamed SEND that fails the head checks is answered with the error
/// and its body is not handed on.
#[test]
fn streamed_send_for_another_session_is_refused_and_dropped() {
    let a = uri("msrp://alicepc.example.com:7777/iau39soe2843z;tcp");
    let wrong = uri("msrp://bob.example.com:8888/wrongsessionid;tcp");
    let b = uri("msrp://bob.example.com:8888/9di4eae923wzd;tcp");
    let mut sa = Session::new(SessionConfig::new(vec![a.clone()], vec![wrong], 1));
    let mut sb = Session::new(SessionConfig {
        stream_incoming: true,
        ..SessionConfig::new(vec![b], vec![a], 2)
    });
    let now = Instant::now();
    sa.send_message(
        "text/plain",
        Bytes::from_static(b"secret"),
        false,
        FailureReport::Yes,
    );
    pump(&mut sa, &mut sb, now, 5);
    assert_eq!(events(&mut sb), vec![]);
    let ev = events(&mut sa);
    assert!(
        matches!(
            ev.first(),
            Some(SessionEvent::MessageFailed { status: 481, .. })
        ),
        "{ev:?}"
    );
}

/// More body than the Byte-Range announced: the extra is not handed on
/// and the chunk is refused.
#[test]
fn streamed_body_longer_than_its_range_is_cut_and_refused() {
    let (_, b) = pair(100);
    let mut b = Session::new(SessionConfig {
        stream_incoming: true,
        ..b.config().clone()
    });
    let now = Instant::now();
    let raw = "MSRP tid1234 SEND\r\nTo-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\nFrom-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\r\nMessage-ID: mid12345\r\nByte-Range: 1-3/3\r\nContent-Type: text/plain\r\n\r\nabcdef\r\n-------tid1234$\r\n";
    b.handle_input(now, raw.as_bytes()).unwrap();
    let ev = events(&mut b);
    assert_eq!(
        ev,
        vec![SessionEvent::ChunkData {
            message_id: "mid12345".into(),
            offset: 0,
            data: Bytes::from_static(b"abc"),
        }]
    );
    let out = String::from_utf8(b.poll_transmit(now).unwrap()).unwrap();
    assert!(out.starts_with("MSRP tid1234 400"), "{out}");
}

fn with_keepalive(s: Session, secs: u64) -> Session {
    let mut cfg = s.config().clone();
    cfg.keepalive_interval = Some(Duration::from_secs(secs));
    Session::new(cfg)
}

#[test]
fn an_idle_connection_sends_a_keepalive_the_peer_answers_without_a_message() {
    let (a, mut b) = pair(2048);
    let mut a = with_keepalive(a, 60);
    let t0 = Instant::now();
    // Nothing went either way yet: nothing to keep alive.
    assert_eq!(a.poll_timeout(), None);
    let id = a.send_message(
        "text/plain",
        Bytes::from_static(b"hi"),
        false,
        FailureReport::Yes,
    );
    pump(&mut a, &mut b, t0, 4096);
    assert_eq!(
        headless(&mut a),
        vec![SessionEvent::MessageSent {
            message_id: id,
            chunk: None
        }]
    );
    assert_eq!(events(&mut b).len(), 1);
    assert_eq!(a.poll_timeout(), Some(t0 + Duration::from_secs(60)));

    // Traffic from the peer also counts as activity.
    let t1 = t0 + Duration::from_secs(30);
    b.send_message(
        "text/plain",
        Bytes::from_static(b"yo"),
        false,
        FailureReport::No,
    );
    pump(&mut a, &mut b, t1, 4096);
    events(&mut b);
    assert_eq!(events(&mut a).len(), 1);
    assert_eq!(a.poll_timeout(), Some(t1 + Duration::from_secs(60)));

    let t2 = t1 + Duration::from_secs(60);
    a.handle_timeout(t2);
    let ka = a.poll_transmit(t2).expect("a keep-alive");
    let text = String::from_utf8_lossy(&ka).into_owned();
    assert!(text.contains(" SEND\r\n"), "{text}");
    assert!(text.contains("Keep-Alive: yes\r\n"), "{text}");
    assert!(text.contains("Byte-Range: 1-0/0\r\n"), "{text}");
    // One at a time: the next waits for the answer, within 30 s.
    assert_eq!(a.poll_timeout(), Some(t2 + Duration::from_secs(30)));
    b.handle_input(t2, &ka).unwrap();
    assert_eq!(events(&mut b), vec![], "a keep-alive is no message");
    let answer = b.poll_transmit(t2).unwrap();
    assert!(answer.windows(4).any(|w| w == b" 200"));
    a.handle_input(t2, &answer).unwrap();
    assert_eq!(events(&mut a), vec![]);
    assert!(a.is_idle());
    assert_eq!(a.poll_timeout(), Some(t2 + Duration::from_secs(60)));
}

#[test]
fn an_unanswered_keepalive_or_an_unknown_session_fails_the_connection() {
    let (a, mut b) = pair(2048);
    let mut a = with_keepalive(a, 10);
    let t0 = Instant::now();
    a.send_message(
        "text/plain",
        Bytes::from_static(b"x"),
        false,
        FailureReport::Yes,
    );
    pump(&mut a, &mut b, t0, 4096);
    events(&mut a);
    let t1 = t0 + Duration::from_secs(10);
    a.handle_timeout(t1);
    assert!(a.poll_transmit(t1).is_some());
    let t2 = t1 + Duration::from_secs(30);
    assert_eq!(a.poll_timeout(), Some(t2));
    a.handle_timeout(t2);
    assert!(matches!(
        events(&mut a).as_slice(),
        [SessionEvent::KeepAliveFailed { status: 408, .. }]
    ));

    // A peer that no longer knows the session answers 481.
    let (a, _) = pair(2048);
    let mut a = with_keepalive(a, 10);
    let (_, mut stranger) = pair(2048);
    let mut cfg = stranger.config().clone();
    cfg.local_path = vec![uri("msrp://bob.example.com:8888/other;tcp")];
    stranger = Session::new(cfg);
    a.handle_input(t0, b"").unwrap();
    a.send_message(
        "text/plain",
        Bytes::from_static(b"x"),
        false,
        FailureReport::No,
    );
    assert!(a.poll_transmit(t0).is_some());
    events(&mut a);
    a.handle_timeout(t1);
    let ka = a.poll_transmit(t1).unwrap();
    stranger.handle_input(t1, &ka).unwrap();
    let answer = stranger.poll_transmit(t1).unwrap();
    assert!(answer.windows(4).any(|w| w == b" 481"));
    a.handle_input(t1, &answer).unwrap();
    assert!(matches!(
        events(&mut a).as_slice(),
        [SessionEvent::KeepAliveFailed { status: 481, .. }]
    ));
}

#[test]
fn a_send_of_a_type_not_in_accept_types_gets_415_and_is_not_received() {
    let (mut a, b) = pair(100);
    let mut cfg = b.config().clone();
    cfg.accept_types = vec!["message/cpim".into(), "text/*".into()];
    let mut b = Session::new(cfg);
    let now = Instant::now();
    let png = a.send_message(
        "image/png",
        Bytes::from(vec![7u8; 250]),
        false,
        FailureReport::Yes,
    );
    let text = a.send_message(
        "text/plain; charset=utf-8",
        Bytes::from_static(b"ok"),
        false,
        FailureReport::Yes,
    );
    pump(&mut a, &mut b, now, 4096);
    let got = headless(&mut a);
    assert!(
        got.contains(&SessionEvent::MessageFailed {
            message_id: png,
            status: 415,
            reason: Some("Unsupported media type".into()),
            chunk: None,
        }),
        "{got:?}"
    );
    assert!(
        got.contains(&SessionEvent::MessageSent {
            message_id: text,
            chunk: None
        }),
        "{got:?}"
    );
    let received = events(&mut b);
    assert_eq!(received.len(), 1, "{received:?}");
    assert!(matches!(&received[0], SessionEvent::MessageReceived { body, .. } if body == b"ok"));
}

#[test]
fn no_failure_report_goes_to_a_sender_that_asked_for_none() {
    // RFC 4975 §7.1.2: `Failure-Report: no` forbids failure REPORTs (and
    // responses); `partial` and `yes` want them. A streamed receiver that
    // finds a file bad after its chunks were taken (a hash mismatch)
    // reports as each sender asked.
    let (mut a, b) = pair(100);
    let mut b = Session::new(SessionConfig {
        stream_incoming: true,
        ..b.config().clone()
    });
    let now = Instant::now();
    for (id, fr) in [
        ("fileno01", FailureReport::No),
        ("filepa01", FailureReport::Partial),
        ("fileye01", FailureReport::Yes),
    ] {
        a.begin_message(
            MessageId(id.into()),
            "application/octet-stream",
            3,
            1,
            true,
            fr,
        )
        .unwrap();
        assert!(a.append_body(id, Bytes::from_static(b"abc"), true));
    }
    pump(&mut a, &mut b, now, 1000);
    let ended: Vec<(String, ByteRange)> = events(&mut b)
        .into_iter()
        .filter_map(|e| match e {
            SessionEvent::ChunkReceived {
                message_id, range, ..
            } => Some((message_id, range)),
            _ => None,
        })
        .collect();
    assert_eq!(ended.len(), 3);
    let mut reported = Vec::new();
    for (id, range) in &ended {
        if b.report(id, *range, 400, "the file's hash does not match") {
            reported.push(id.as_str());
        }
        // A success REPORT is the Success-Report header's to decide.
        assert!(b.report(id, *range, 200, "OK"), "{id}");
    }
    assert_eq!(reported, ["filepa01", "fileye01"]);
    let wire: Vec<String> = std::iter::from_fn(|| b.poll_transmit(now))
        .map(|t| String::from_utf8_lossy(&t).into_owned())
        .filter(|t| t.contains(" REPORT\r\n") && t.contains("Status: 000 400"))
        .collect();
    assert_eq!(wire.len(), 2, "{wire:?}");
    assert!(wire.iter().all(|t| !t.contains("fileno01")), "{wire:?}");
}

#[test]
fn a_response_out_of_a_session_goes_to_the_previous_hop_as_the_sender_asked() {
    let req = |method: &str, extra: &str| {
        let text = format!(
            "MSRP tid1 {method}\r\nTo-Path: msrp://b.example.com:8888/s2;tcp\r\n\
             From-Path: msrp://relay.example.com:2855/r;tcp msrp://a.example.com:7777/s1;tcp\r\n\
             {extra}-------tid1$\r\n"
        );
        match crate::parser::parse_chunk(text.as_bytes()).unwrap().0 {
            Head::Request(r) => r,
            Head::Response(_) => panic!("a request"),
        }
    };
    let send = req("SEND", "Message-ID: m1\r\n");
    assert!(response_wanted(&send, 506));
    let me = uri("msrp://b.example.com:8888/s2;tcp");
    let bytes = response_to(&send, 506, "Session already in use", Some(&me)).unwrap();
    let Head::Response(r) = crate::parser::parse_chunk(&bytes).unwrap().0 else {
        panic!("a response");
    };
    assert_eq!((r.tid.as_str(), r.status), ("tid1", 506));
    assert_eq!(
        r.headers.get("To-Path"),
        Some("msrp://relay.example.com:2855/r;tcp")
    );
    assert_eq!(r.headers.get("From-Path"), Some(me.to_string().as_str()));
    // None to a REPORT, none to `no`, only errors to `partial`.
    assert!(!response_wanted(
        &req("REPORT", "Status: 000 200 OK\r\n"),
        506
    ));
    assert!(!response_wanted(
        &req("SEND", "Failure-Report: no\r\n"),
        506
    ));
    let partial = req("SEND", "Failure-Report: partial\r\n");
    assert!(response_wanted(&partial, 506) && !response_wanted(&partial, 200));
}
