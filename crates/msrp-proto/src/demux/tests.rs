//! Two connections' ends, each carrying two sessions, wired back to back.

use super::*;
use crate::headers::{FailureReport, FromPath};
use crate::message::{Method, Response};
use crate::session::SessionConfig;
use crate::uri::MsrpUri;
use bytes::Bytes;

fn uri(s: &str) -> MsrpUri {
    MsrpUri::parse(s).unwrap()
}

const A1: &str = "msrp://alice.example.com:7777/a1sessionxx;tcp";
const A2: &str = "msrp://alice.example.com:7777/a2sessionxx;tcp";
const B1: &str = "msrp://bob.example.com:8888/b1sessionxx;tcp";
const B2: &str = "msrp://bob.example.com:8888/b2sessionxx;tcp";

fn session(local: &str, remote: &str, seed: u64, chunk: u64) -> Session {
    let mut c = SessionConfig::new(vec![uri(local)], vec![uri(remote)], seed);
    c.chunk_size = chunk;
    Session::new(c)
}

/// Alice's end with a1 and a2, Bob's with b1 and b2 (a1 talks to b1,
/// a2 to b2).
fn ends(chunk: u64) -> (Demux, Demux) {
    let mut a = Demux::new(Limits::default());
    let mut b = Demux::new(Limits::default());
    a.add_session(session(A1, B1, 1, chunk)).unwrap();
    a.add_session(session(A2, B2, 2, chunk)).unwrap();
    b.add_session(session(B1, A1, 3, chunk)).unwrap();
    b.add_session(session(B2, A2, 4, chunk)).unwrap();
    (a, b)
}

/// Moves what each end writes to the other in `step`-byte reads until
/// both are quiet; returns what alice wrote.
fn pump(a: &mut Demux, b: &mut Demux, now: Instant, step: usize) -> Vec<Vec<u8>> {
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

fn events(d: &mut Demux) -> Vec<(String, SessionEvent)> {
    std::iter::from_fn(|| d.poll_event()).collect()
}

fn received(evs: &[(String, SessionEvent)], session: &str) -> Vec<Vec<u8>> {
    evs.iter()
        .filter(|(s, _)| s == session)
        .filter_map(|(_, e)| match e {
            SessionEvent::MessageReceived { body, .. } => Some(body.clone()),
            _ => None,
        })
        .collect()
}

fn sent(evs: &[(String, SessionEvent)], session: &str) -> Vec<String> {
    evs.iter()
        .filter(|(s, _)| s == session)
        .filter_map(|(_, e)| match e {
            SessionEvent::MessageSent { message_id, .. } => Some(message_id.clone()),
            _ => None,
        })
        .collect()
}

fn send(d: &mut Demux, session: &str, body: &[u8]) -> String {
    d.session_mut(session).unwrap().send_message(
        "text/plain",
        Bytes::copy_from_slice(body),
        false,
        FailureReport::Yes,
    )
}

/// A SEND written by hand, for `to` from `from`.
fn raw_send(tid: &str, to: &str, from: &str, failure_report: Option<&str>, body: &str) -> Vec<u8> {
    let fr = failure_report
        .map(|f| format!("Failure-Report: {f}\r\n"))
        .unwrap_or_default();
    format!(
        "MSRP {tid} SEND\r\nTo-Path: {to}\r\nFrom-Path: {from}\r\nMessage-ID: m{tid}\r\n\
         Byte-Range: 1-{len}/{len}\r\n{fr}Content-Type: text/plain\r\n\r\n{body}\r\n-------{tid}$\r\n",
        len = body.len()
    )
    .into_bytes()
}

fn parse_all(bytes: &[u8]) -> Vec<Head> {
    let mut p = Parser::new(Limits::default());
    p.feed(bytes).unwrap();
    std::iter::from_fn(|| p.poll().unwrap())
        .filter_map(|e| match e {
            Event::Head(h) => Some(h),
            _ => None,
        })
        .collect()
}

fn responses(d: &mut Demux, now: Instant) -> Vec<Response> {
    let out: Vec<u8> = std::iter::from_fn(|| d.poll_transmit(now))
        .flatten()
        .collect();
    parse_all(&out)
        .into_iter()
        .filter_map(|h| match h {
            Head::Response(r) => Some(r),
            _ => None,
        })
        .collect()
}

#[test]
fn two_sessions_share_a_stream_both_ways_each_message_to_its_own_session() {
    let (mut a, mut b) = ends(2048);
    let now = Instant::now();
    let ids = [
        send(&mut a, "a1sessionxx", b"to b1"),
        send(&mut a, "a2sessionxx", b"to b2"),
    ];
    send(&mut b, "b1sessionxx", b"to a1");
    send(&mut b, "b2sessionxx", b"to a2");
    // Reads of 5 bytes cut heads, bodies and end-lines anywhere.
    pump(&mut a, &mut b, now, 5);
    let (ea, eb) = (events(&mut a), events(&mut b));
    assert_eq!(received(&eb, "b1sessionxx"), vec![b"to b1".to_vec()]);
    assert_eq!(received(&eb, "b2sessionxx"), vec![b"to b2".to_vec()]);
    assert_eq!(received(&ea, "a1sessionxx"), vec![b"to a1".to_vec()]);
    assert_eq!(received(&ea, "a2sessionxx"), vec![b"to a2".to_vec()]);
    // Each 200 went back to the session that sent the chunk.
    assert_eq!(sent(&ea, "a1sessionxx"), vec![ids[0].clone()]);
    assert_eq!(sent(&ea, "a2sessionxx"), vec![ids[1].clone()]);
}

#[test]
fn a_large_message_of_one_session_interleaves_with_the_others() {
    let (mut a, mut b) = ends(100);
    let now = Instant::now();
    let big: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    let big_id = send(&mut a, "a1sessionxx", &big);
    let small_id = send(&mut a, "a2sessionxx", b"hi");
    let written = pump(&mut a, &mut b, now, 64);
    // The other session's message went out second, not after ten chunks.
    let at = written
        .iter()
        .position(|w| String::from_utf8_lossy(w).contains(&small_id));
    assert_eq!(at, Some(1));
    let eb = events(&mut b);
    assert_eq!(received(&eb, "b1sessionxx"), vec![big]);
    assert_eq!(received(&eb, "b2sessionxx"), vec![b"hi".to_vec()]);
    let ea = events(&mut a);
    assert_eq!(sent(&ea, "a1sessionxx"), vec![big_id]);
    assert_eq!(sent(&ea, "a2sessionxx"), vec![small_id]);
}

#[test]
fn responses_out_of_order_go_to_the_sessions_that_sent_the_requests() {
    let (mut a, _) = ends(2048);
    let now = Instant::now();
    let id1 = send(&mut a, "a1sessionxx", b"one");
    let id2 = send(&mut a, "a2sessionxx", b"two");
    let out: Vec<u8> = std::iter::from_fn(|| a.poll_transmit(now))
        .flatten()
        .collect();
    let reqs: Vec<Request> = parse_all(&out)
        .into_iter()
        .filter_map(|h| match h {
            Head::Request(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(reqs.len(), 2);
    // Bob answers the second first; the To-Path of neither names a
    // session (a relay's answer may not), so only the transaction id
    // tells where each goes.
    for r in reqs.iter().rev() {
        let answer = format!(
            "MSRP {} 200 OK\r\nTo-Path: msrp://alice.example.com:7777;tcp\r\nFrom-Path: {B1}\r\n-------{}$\r\n",
            r.tid.as_str(),
            r.tid.as_str()
        );
        a.handle_input(now, answer.as_bytes()).unwrap();
    }
    let ea = events(&mut a);
    assert_eq!(sent(&ea, "a1sessionxx"), vec![id1]);
    assert_eq!(sent(&ea, "a2sessionxx"), vec![id2]);
    assert!(a.session("a1sessionxx").unwrap().is_idle());
    assert!(a.session("a2sessionxx").unwrap().is_idle());
}

#[test]
fn a_request_for_a_session_not_on_the_connection_gets_481_and_is_dropped() {
    let (_, mut b) = ends(2048);
    let now = Instant::now();
    let other = "msrp://bob.example.com:8888/notheresess;tcp";
    b.handle_input(now, &raw_send("tx01", other, A1, None, "lost"))
        .unwrap();
    // Failure-Report: no asks for no answer at all (RFC 4975 §7.1.2).
    b.handle_input(now, &raw_send("tx02", other, A1, Some("no"), "lost"))
        .unwrap();
    b.handle_input(now, &raw_send("tx03", B1, A1, None, "kept"))
        .unwrap();
    let rs = responses(&mut b, now);
    let r481: Vec<&Response> = rs.iter().filter(|r| r.status == 481).collect();
    assert_eq!(r481.len(), 1);
    let r = r481[0];
    assert_eq!(r.tid.as_str(), "tx01");
    // To the previous hop, from the URI the request named (RFC 4975 §7.2).
    assert_eq!(r.headers.typed::<ToPath>(), Some(Ok(ToPath(vec![uri(A1)]))));
    assert_eq!(
        r.headers.typed::<FromPath>(),
        Some(Ok(FromPath(vec![uri(other)])))
    );
    assert!(rs
        .iter()
        .any(|r| r.tid.as_str() == "tx03" && r.status == 200));
    let eb = events(&mut b);
    assert_eq!(received(&eb, "b1sessionxx"), vec![b"kept".to_vec()]);
    assert!(received(&eb, "b2sessionxx").is_empty());
}

#[test]
fn session_ids_compare_exactly() {
    let (_, mut b) = ends(2048);
    let now = Instant::now();
    // RFC 4975 §6.1: the session-id part is case-sensitive.
    let upper = "msrp://bob.example.com:8888/B1SESSIONXX;tcp";
    b.handle_input(now, &raw_send("tx01", upper, A1, None, "x"))
        .unwrap();
    let rs = responses(&mut b, now);
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0].status, 481);
    assert!(events(&mut b).is_empty());
}

#[test]
fn one_session_leaves_in_the_middle_of_its_message_and_the_other_goes_on() {
    let (mut a, mut b) = ends(100);
    let now = Instant::now();
    let big = vec![b'x'; 1000];
    send(&mut a, "a1sessionxx", &big);
    send(&mut a, "a2sessionxx", b"first");
    // Half of the first chunk of b1's message arrives, then b1 ends.
    let t = a.poll_transmit(now).unwrap();
    let (head, rest) = t.split_at(t.len() / 2);
    b.handle_input(now, head).unwrap();
    assert!(b.remove_session("b1sessionxx").is_some());
    b.handle_input(now, rest).unwrap();
    // What else alice writes: b1's chunks get 481, b2's go through.
    pump(&mut a, &mut b, now, 33);
    let ea = events(&mut a);
    assert!(ea
        .iter()
        .any(|(s, e)| s == "a1sessionxx"
            && matches!(e, SessionEvent::MessageFailed { status: 481, .. })));
    assert_eq!(sent(&ea, "a2sessionxx").len(), 1);
    let id = send(&mut a, "a2sessionxx", b"second");
    pump(&mut a, &mut b, now, 33);
    let eb = events(&mut b);
    assert_eq!(
        received(&eb, "b2sessionxx"),
        vec![b"first".to_vec(), b"second".to_vec()]
    );
    assert_eq!(sent(&events(&mut a), "a2sessionxx"), vec![id]);
    assert_eq!(b.session_ids().collect::<Vec<_>>(), vec!["b2sessionxx"]);
}

#[test]
fn a_held_request_goes_to_a_session_added_meanwhile_else_481() {
    let mut b = Demux::new(Limits::default());
    b.hold_unknown(true);
    b.add_session(session(B1, A1, 3, 2048)).unwrap();
    let now = Instant::now();
    let mut input = raw_send("tx01", B2, A2, None, "hello b2");
    input.extend(raw_send("tx02", B1, A1, None, "hello b1"));
    b.handle_input(now, &input).unwrap();
    let held = b.held_request().unwrap();
    assert_eq!(held.tid.as_str(), "tx01");
    assert_eq!(held.method, Method::Send);
    // Nothing past the held request was read.
    assert!(events(&mut b).is_empty());
    assert!(b.in_message());
    b.add_session(session(B2, A2, 4, 2048)).unwrap();
    b.release(now).unwrap();
    let eb = events(&mut b);
    assert_eq!(received(&eb, "b2sessionxx"), vec![b"hello b2".to_vec()]);
    assert_eq!(received(&eb, "b1sessionxx"), vec![b"hello b1".to_vec()]);
    // A request for a session nobody adds is refused once released.
    let none = "msrp://bob.example.com:8888/nobodyhere1;tcp";
    b.handle_input(now, &raw_send("tx03", none, A1, None, "x"))
        .unwrap();
    assert!(b.held_request().is_some());
    b.release(now).unwrap();
    let rs = responses(&mut b, now);
    assert!(rs
        .iter()
        .any(|r| r.tid.as_str() == "tx03" && r.status == 481));
    assert!(!b.in_message());
}

#[test]
fn sessions_per_connection_are_bounded_and_unique() {
    let mut d = Demux::new(Limits::default());
    for i in 0..MAX_SESSIONS {
        let local = format!("msrp://h.example.com:1/s{i:08};tcp");
        d.add_session(session(&local, B1, i as u64, 2048)).unwrap();
    }
    let one_more = session("msrp://h.example.com:1/another1;tcp", B1, 0, 2048);
    assert_eq!(
        d.add_session(one_more).unwrap_err().reason,
        DemuxError::Full
    );
    let again = session("msrp://h.example.com:1/s00000000;tcp", B1, 0, 2048);
    d.remove_session("s00000001");
    assert_eq!(
        d.add_session(again).unwrap_err().reason,
        DemuxError::Duplicate("s00000000".into())
    );
    let anonymous = session("msrp://h.example.com:1;tcp", B1, 0, 2048);
    assert_eq!(
        d.add_session(anonymous).unwrap_err().reason,
        DemuxError::NoSessionId
    );
}

#[test]
fn a_bad_stream_fails_the_connection() {
    let (_, mut b) = ends(2048);
    let now = Instant::now();
    assert!(b.handle_input(now, b"HTTP/1.1 200 OK\r\n\r\n").is_err());
    assert!(b
        .handle_input(now, &raw_send("tx01", B1, A1, None, "x"))
        .is_err());
}

/// Alice's end where a1 writes its 1000-byte chunks 100 bytes at a time.
fn ends_with_slices() -> (Demux, Demux) {
    let mut a = Demux::new(Limits::default());
    let mut b = Demux::new(Limits::default());
    let mut c = SessionConfig::new(vec![uri(A1)], vec![uri(B1)], 1);
    c.chunk_size = 1000;
    c.write_slice = 100;
    a.add_session(Session::new(c)).unwrap();
    a.add_session(session(A2, B2, 2, 1000)).unwrap();
    b.add_session(session(B1, A1, 3, 1000)).unwrap();
    b.add_session(session(B2, A2, 4, 1000)).unwrap();
    (a, b)
}

/// A chunk in slices keeps the connection until its end-line: the other
/// session's message and a 481 wait, and both sides still read it all.
#[test]
fn a_chunk_in_slices_is_not_interleaved_with_other_sessions() {
    let (mut a, mut b) = ends_with_slices();
    let now = Instant::now();
    let big = send(&mut a, "a1sessionxx", &[b'b'; 1000]);
    let head = a.poll_transmit(now).unwrap();
    assert!(a.session("a1sessionxx").unwrap().is_mid_chunk());
    let small = send(&mut a, "a2sessionxx", b"small");
    // A request for a session alice does not have: her 481 waits too.
    let stray = raw_send(
        "stray001",
        "msrp://alice.example.com:7777/nobody;tcp",
        B1,
        None,
        "x",
    );
    a.handle_input(now, &stray).unwrap();
    let mut stream = head;
    for _ in 0..9 {
        let t = a.poll_transmit(now).unwrap();
        assert!(
            !String::from_utf8_lossy(&t).contains("MSRP "),
            "inside the body"
        );
        stream.extend(t);
    }
    assert!(!a.session("a1sessionxx").unwrap().is_mid_chunk());
    b.handle_input(now, &stream).unwrap();
    pump(&mut a, &mut b, now, 17);
    let got = events(&mut b);
    assert_eq!(received(&got, "b1sessionxx"), vec![vec![b'b'; 1000]]);
    assert_eq!(received(&got, "b2sessionxx"), vec![b"small".to_vec()]);
    let sent_a = events(&mut a);
    assert_eq!(sent(&sent_a, "a1sessionxx"), vec![big]);
    assert_eq!(sent(&sent_a, "a2sessionxx"), vec![small]);
}

/// A session leaving mid-chunk ends the chunk with `#` before anything
/// else is written: the connection stays readable for the others.
#[test]
fn a_session_removed_mid_chunk_ends_its_chunk_with_a_hash() {
    let (mut a, mut b) = ends_with_slices();
    let now = Instant::now();
    send(&mut a, "a1sessionxx", &[b'c'; 1000]);
    let head = a.poll_transmit(now).unwrap();
    b.handle_input(now, &head).unwrap();
    send(&mut a, "a2sessionxx", b"still here");
    assert!(a.remove_session("a1sessionxx").is_some());
    let end = a.poll_transmit(now).unwrap();
    let tid = String::from_utf8_lossy(&head)
        .split(' ')
        .nth(1)
        .unwrap()
        .to_owned();
    assert_eq!(end, format!("\r\n-------{tid}#\r\n").into_bytes());
    b.handle_input(now, &end).unwrap();
    pump(&mut a, &mut b, now, 7);
    let got = events(&mut b);
    assert!(got
        .iter()
        .any(|(s, e)| s == "b1sessionxx" && matches!(e, SessionEvent::MessageAborted { .. })));
    assert_eq!(received(&got, "b2sessionxx"), vec![b"still here".to_vec()]);
}
