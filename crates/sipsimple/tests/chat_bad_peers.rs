//! Bad MSRP peers against a ChatStream of a running application (issue
//! 14's proof): garbage, a chunk cut short, a Byte-Range total of 2^63,
//! a body without its end-line, 100,000 one-byte chunks, a flood of
//! messages that never finish. Each time the chat fails or answers as
//! RFC 4975 says, the application goes on (a new chat of the same
//! application carries a message), and the process's memory stays
//! within a bound (read from /proc: resident set before and after).
//!
//! The lower layer (`MsrpConnection` alone) has its own bad-peer tests
//! in `msrp_bad_peers.rs`; these check what an application sees.

mod common;

use std::time::Duration;

use common::account_app_with;
use common::raw_msrp::{raw_chat, raw_chunk, read_until, RawChat};
use sipsimple::application::SipApplication;
use sipsimple::notification::{Notification, NotificationData};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn app() -> SipApplication {
    account_app_with("alice", "", "msrp.transport = \"tcp\"\n").await
}

/// One test of this file at a time, so that the memory a test measures
/// is its own under `cargo test` too (nextest runs each test in a
/// process of its own anyway).
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The next notification of this chat, skipping MSRP traces and logs.
async fn next(c: &mut RawChat) -> Notification {
    loop {
        let n = common::next_notification(&mut c.events).await;
        if !n.name().starts_with("MSRP") {
            return n;
        }
    }
}

/// Waits for the chat's MediaStreamDidFail; returns its reason. Any
/// message posted on the way is a failure of the test.
async fn failed(c: &mut RawChat) -> String {
    loop {
        let n = next(c).await;
        match n.data {
            NotificationData::MediaStreamDidFail { reason } => return reason,
            NotificationData::ChatStreamGotMessage { message } => {
                panic!("a message from a bad peer was posted: {message:?}")
            }
            _ => {}
        }
    }
}

/// Waits for the chat's next ChatStreamGotMessage; returns its content.
async fn got_message(c: &mut RawChat) -> Vec<u8> {
    loop {
        let n = next(c).await;
        match n.data {
            NotificationData::ChatStreamGotMessage { message } => return message.content,
            NotificationData::MediaStreamDidFail { reason } => panic!("the chat failed: {reason}"),
            _ => {}
        }
    }
}

/// A whole text message from the raw peer, answered 200 by us.
async fn peer_says(c: &mut RawChat, tid: &str, text: &str) {
    let n = text.len();
    let send = raw_chunk(
        tid,
        &c.ours,
        &c.theirs,
        &format!("m{tid}"),
        &format!("Byte-Range: 1-{n}/{n}\r\n"),
        text,
        '$',
    );
    c.io.write_all(send.as_bytes()).await.unwrap();
    let answer = read_until(&mut c.io, &format!("MSRP {tid} ")).await;
    assert!(answer.contains(&format!("MSRP {tid} 200")), "{answer}");
    assert_eq!(got_message(c).await, text.as_bytes());
}

/// The application still makes chats: a new one carries a message.
async fn the_application_goes_on(app: &SipApplication) {
    let mut again = raw_chat(app, "text/plain").await;
    peer_says(&mut again, "again1", "still here").await;
}

/// Resident memory of this process, in bytes.
fn resident() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status");
    kb * 1024
}

#[tokio::test]
async fn garbage_fails_the_chat_with_a_clear_reason_and_the_application_goes_on() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let app = app().await;
    let mut c = raw_chat(&app, "text/plain").await;
    peer_says(&mut c, "trx1", "hello").await;
    c.io.write_all(b"\x00\x01GARBAGE NOT MSRP\r\n\r\n")
        .await
        .unwrap();
    let reason = failed(&mut c).await;
    assert!(reason.contains("bad MSRP"), "{reason}");
    the_application_goes_on(&app).await;
}

#[tokio::test]
async fn a_chunk_cut_short_by_the_connection_fails_the_chat_without_a_message() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let app = app().await;
    let mut c = raw_chat(&app, "text/plain").await;
    let head = format!(
        "MSRP trx1 SEND\r\nTo-Path: {}\r\nFrom-Path: {}\r\nMessage-ID: m1\r\nByte-Range: 1-*/100\r\n\
         Content-Type: text/plain\r\n\r\nthe first half of the bo",
        c.ours, c.theirs
    );
    c.io.write_all(head.as_bytes()).await.unwrap();
    c.io.shutdown().await.unwrap();
    let reason = failed(&mut c).await;
    assert!(reason.contains("middle of a message"), "{reason}");
    the_application_goes_on(&app).await;
}

#[tokio::test]
async fn a_body_without_its_end_line_delivers_nothing() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let app = app().await;
    let mut c = raw_chat(&app, "text/plain").await;
    // trx1's end-line never comes: what follows, an end-line of another
    // transaction and a whole SEND of its own, is trx1's body (RFC 4975
    // §7.1: only `-------trx1` ends it), so neither is a message.
    let next = raw_chunk("trx3", &c.ours, &c.theirs, "m3", "", "a whole message", '$');
    let text = format!(
        "MSRP trx1 SEND\r\nTo-Path: {}\r\nFrom-Path: {}\r\nMessage-ID: m1\r\n\
         Content-Type: text/plain\r\n\r\nno end line follows this body\r\n-------trx2$\r\n{next}",
        c.ours, c.theirs
    );
    c.io.write_all(text.as_bytes()).await.unwrap();
    // Nothing answers trx3 either: it was never a request.
    let mut answer = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_millis(300), c.io.read(&mut answer)).await;
    assert!(read.is_err(), "something answered: {read:?}");
    c.io.shutdown().await.unwrap();
    let reason = failed(&mut c).await;
    assert!(reason.contains("middle of a message"), "{reason}");
    the_application_goes_on(&app).await;
}

#[tokio::test]
async fn a_byte_range_total_of_2_pow_63_gets_413_and_the_chat_goes_on() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let app = app().await;
    let mut c = raw_chat(&app, "text/plain").await;
    let big = format!("Byte-Range: 1-2/{}\r\n", 1u64 << 63);
    let send = raw_chunk("trx1", &c.ours, &c.theirs, "huge", &big, "ab", '+');
    c.io.write_all(send.as_bytes()).await.unwrap();
    let answer = read_until(&mut c.io, "MSRP trx1 ").await;
    assert!(answer.contains("MSRP trx1 413"), "{answer}");
    peer_says(&mut c, "trx2", "after the huge one").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_one_byte_chunks_become_one_chat_message() {
    let _alone = ONE_AT_A_TIME.lock().await;
    const N: usize = 100_000;
    let app = app().await;
    let mut c = raw_chat(&app, "text/plain").await;
    let before = resident();
    let mut batch = String::new();
    for i in 1..=N {
        let flag = if i == N { '$' } else { '+' };
        let range = format!("Byte-Range: {i}-{i}/{N}\r\nFailure-Report: no\r\n");
        let byte = ((b'a' + (i % 26) as u8) as char).to_string();
        batch.push_str(&raw_chunk(
            &format!("c{i:07}"),
            &c.ours,
            &c.theirs,
            "onebyone",
            &range,
            &byte,
            flag,
        ));
        if batch.len() > 64 * 1024 || i == N {
            c.io.write_all(batch.as_bytes()).await.unwrap();
            batch.clear();
        }
    }
    let content = got_message(&mut c).await;
    assert_eq!(content.len(), N);
    assert!(content
        .iter()
        .enumerate()
        .all(|(i, b)| *b == b'a' + ((i + 1) % 26) as u8));
    // 100,000 chunk heads (~20 MB on the wire) leave no more behind
    // than the message itself and the reader's buffers.
    let grown = resident().saturating_sub(before);
    eprintln!("resident memory grew by {} KiB", grown >> 10);
    assert!(grown < 16 << 20, "resident memory grew by {grown} bytes");
    peer_says(&mut c, "after", "and the next one").await;
}

/// A peer starts 1,000 messages of 64 KB and finishes none: RFC 4975
/// lets a receiver refuse what it cannot hold (413); we hold at most the
/// reassembly bound (64 messages, 16 MB) and refuse the rest, so 64 MB
/// sent does not become 64 MB held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_unfinished_messages_is_refused_past_the_bound_and_memory_stays_bounded() {
    let _alone = ONE_AT_A_TIME.lock().await;
    const MESSAGES: usize = 1_000;
    const CHUNK: usize = 64 * 1024;
    let app = app().await;
    let mut c = raw_chat(&app, "text/plain").await;
    let before = resident();
    let body = "x".repeat(CHUNK);
    let range = format!("Byte-Range: 1-{CHUNK}/{}\r\n", CHUNK * 4);
    // The peer reads our answers as it writes, as a real peer would
    // (we stop reading while our answers are not taken).
    let (mut rd, mut wr) = c.io.into_split();
    let reader = tokio::spawn(async move {
        let mut seen = String::new();
        let mut buf = vec![0u8; 64 * 1024];
        let (mut ok, mut refused) = (0, 0);
        while ok + refused < MESSAGES {
            let n = tokio::time::timeout(
                Duration::from_secs(30),
                tokio::io::AsyncReadExt::read(&mut rd, &mut buf),
            )
            .await
            .expect("answers keep coming")
            .unwrap();
            assert!(n > 0, "we closed the connection");
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
            while let Some(end) = seen.find("$\r\n") {
                let answer: String = seen.drain(..end + 3).collect();
                if answer.contains(" 200 OK") {
                    ok += 1;
                } else if answer.contains(" 413 ") {
                    refused += 1;
                } else {
                    panic!("unexpected answer {answer}");
                }
            }
        }
        (ok, refused, rd)
    });
    for i in 0..MESSAGES {
        let chunk = raw_chunk(
            &format!("f{i:05}"),
            &c.ours,
            &c.theirs,
            &format!("flood{i}"),
            &range,
            &body,
            '+',
        );
        wr.write_all(chunk.as_bytes()).await.unwrap();
    }
    let (ok, refused, rd) = reader.await.unwrap();
    assert_eq!(ok, 64, "as many held as the reassembly bound");
    assert_eq!(refused, MESSAGES - 64);
    let grown = resident().saturating_sub(before);
    eprintln!("resident memory grew by {} KiB", grown >> 10);
    assert!(grown < 32 << 20, "resident memory grew by {grown} bytes");
    // The chat has not failed: it still answers (the held messages keep
    // their places, so a new message is refused 413 too).
    c.io = rd.reunite(wr).unwrap();
    let send = raw_chunk(
        "late",
        &c.ours,
        &c.theirs,
        "late",
        "Byte-Range: 1-4/4\r\n",
        "late",
        '$',
    );
    c.io.write_all(send.as_bytes()).await.unwrap();
    let answer = read_until(&mut c.io, "MSRP late ").await;
    assert!(answer.contains("MSRP late 413"), "{answer}");
    the_application_goes_on(&app).await;
}
