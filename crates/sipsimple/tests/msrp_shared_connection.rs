//! A peer that carries several MSRP sessions on one connection (RFC 4975
//! §5.4), against chats of one application on its shared MSRP port: a
//! raw MSRP peer opens ONE TCP connection and runs two chats over it.
//! Each chat gets its own messages and responses, ending one leaves the
//! other working (requests for the ended one get 481, RFC 4975 §7.3), and
//! a request on it for a chat bound to another connection gets 506.

mod common;

use std::time::Duration;

use common::raw_msrp::{answering_chat, raw_chunk, read_until, AnsweringChat};
use common::{account_app_with, until};
use sipsimple::notification::{NotificationData, Subscription};
use sipsimple::streams::msrp::MessageOptions;
use sipsimple::streams::MediaStream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A whole SEND from the raw peer's side of `chat`.
fn send_to(chat: &AnsweringChat, tid: &str, body: &str) -> Vec<u8> {
    let range = format!("Byte-Range: 1-{n}/{n}\r\n", n = body.len());
    raw_chunk(
        tid,
        &chat.path,
        &chat.theirs,
        &format!("m{tid}"),
        &range,
        body,
        '$',
    )
    .into_bytes()
}

/// The text of the next message the chat got.
async fn next_message(events: &mut Subscription) -> String {
    match &until(events, "ChatStreamGotMessage")
        .await
        .last()
        .unwrap()
        .data
    {
        NotificationData::ChatStreamGotMessage { message } => message.text().to_owned(),
        other => panic!("{other:?}"),
    }
}

/// The whole SEND chunk on `wire` that carries `text`.
fn chunk_with<'a>(wire: &'a str, text: &str) -> &'a str {
    let at = wire.find(text).unwrap();
    let start = wire[..at].rfind("MSRP ").unwrap();
    let tid = wire[start..].split_whitespace().nth(1).unwrap();
    let end_line = format!("-------{tid}$\r\n");
    let end = wire[start..].find(&end_line).unwrap() + start + end_line.len();
    &wire[start..end]
}

fn header<'a>(chunk: &'a str, name: &str) -> &'a str {
    chunk
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(": "))
        .unwrap_or_else(|| panic!("no {name} in {chunk}"))
}

/// Reads until every one of `texts` has come.
async fn read_all(io: &mut TcpStream, texts: &[&str]) -> String {
    let mut wire = String::new();
    for t in texts {
        if !wire.contains(t) {
            wire.push_str(&read_until(io, t).await);
        }
    }
    wire
}

/// Answers the SEND carrying `text` with 200, as its receiver: to its
/// From-Path, from its To-Path.
async fn answer_200(io: &mut TcpStream, wire: &str, text: &str) {
    let chunk = chunk_with(wire, text);
    let tid = chunk.split_whitespace().nth(1).unwrap();
    let ok = format!(
        "MSRP {tid} 200 OK\r\nTo-Path: {}\r\nFrom-Path: {}\r\n-------{tid}$\r\n",
        header(chunk, "From-Path"),
        header(chunk, "To-Path")
    );
    io.write_all(ok.as_bytes()).await.unwrap();
}

/// The raw peer's one connection to the port of `chat`'s path.
async fn connect_to(chat: &AnsweringChat) -> TcpStream {
    let ours = msrp_proto::MsrpUri::parse(&chat.path).unwrap();
    TcpStream::connect(("127.0.0.1", ours.port.unwrap()))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_peer_runs_two_chats_over_one_connection_and_ending_one_leaves_the_other() {
    let app = account_app_with("bob", "", "msrp.transport = \"tcp\"\n").await;
    let mut one = answering_chat(&app, "theirsone", None).await;
    let mut two = answering_chat(&app, "theirstwo", None).await;
    let port = |c: &AnsweringChat| msrp_proto::MsrpUri::parse(&c.path).unwrap().port;
    assert_eq!(port(&one), port(&two), "both wait on the shared port");
    let mut io = connect_to(&one).await;

    // The first request binds the connection to chat one; the first
    // request of chat two comes over the same connection.
    io.write_all(&send_to(&one, "tr1a", "hello one"))
        .await
        .unwrap();
    read_until(&mut io, "MSRP tr1a 200").await;
    assert_eq!(next_message(&mut one.events).await, "hello one");
    io.write_all(&send_to(&two, "tr2a", "hello two"))
        .await
        .unwrap();
    read_until(&mut io, "MSRP tr2a 200").await;
    assert_eq!(next_message(&mut two.events).await, "hello two");

    // Ours both ways, on the same connection, each to its own peer
    // session; each 200 goes back to the chat that sent.
    let m1 = one
        .chat
        .send_message("from one", "text/plain", MessageOptions::default())
        .unwrap();
    let m2 = two
        .chat
        .send_message("from two", "text/plain", MessageOptions::default())
        .unwrap();
    let wire = read_all(&mut io, &["from one", "from two"]).await;
    assert_eq!(header(chunk_with(&wire, "from one"), "To-Path"), one.theirs);
    assert_eq!(header(chunk_with(&wire, "from one"), "From-Path"), one.path);
    assert_eq!(header(chunk_with(&wire, "from two"), "To-Path"), two.theirs);
    assert_eq!(header(chunk_with(&wire, "from two"), "From-Path"), two.path);
    // Answered in the other order than sent.
    answer_200(&mut io, &wire, "from two").await;
    answer_200(&mut io, &wire, "from one").await;
    for (events, id) in [(&mut one.events, &m1), (&mut two.events, &m2)] {
        match &until(events, "ChatStreamDidSendMessage")
            .await
            .last()
            .unwrap()
            .data
        {
            NotificationData::ChatStreamDidSendMessage { message_id, .. } => {
                assert_eq!(message_id, id)
            }
            other => panic!("{other:?}"),
        }
    }

    // Chat one ends; the connection carries chat two on.
    one.chat.end();
    io.write_all(&send_to(&one, "tr1b", "to the ended one"))
        .await
        .unwrap();
    read_until(&mut io, "MSRP tr1b 481").await;
    io.write_all(&send_to(&two, "tr2b", "still here"))
        .await
        .unwrap();
    read_until(&mut io, "MSRP tr2b 200").await;
    assert_eq!(next_message(&mut two.events).await, "still here");
    two.chat
        .send_message("two goes on", "text/plain", MessageOptions::default())
        .unwrap();
    read_until(&mut io, "two goes on").await;

    // The connection ends with its last chat.
    two.chat.end();
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), io.read_to_end(&mut rest))
        .await
        .expect("the connection closes with its last session")
        .unwrap();
}

#[tokio::test]
async fn on_a_shared_connection_a_chat_bound_elsewhere_gets_506_and_a_stranger_481() {
    let app = account_app_with("bob", "", "msrp.transport = \"tcp\"\n").await;
    let mut one = answering_chat(&app, "theirsone", None).await;
    let mut three = answering_chat(&app, "theirsthree", None).await;
    let mut four = answering_chat(&app, "theirsfour", None).await;
    let mut io = connect_to(&one).await;
    io.write_all(&send_to(&one, "tr1a", "one")).await.unwrap();
    read_until(&mut io, "MSRP tr1a 200").await;
    assert_eq!(next_message(&mut one.events).await, "one");
    // Chat three takes a connection of its own.
    let mut other = connect_to(&three).await;
    other
        .write_all(&send_to(&three, "tr3a", "three"))
        .await
        .unwrap();
    read_until(&mut other, "MSRP tr3a 200").await;
    assert_eq!(next_message(&mut three.events).await, "three");

    // RFC 4975 §5.4: chat three is bound to the other connection.
    io.write_all(&send_to(&three, "tr3b", "intruding"))
        .await
        .unwrap();
    read_until(&mut io, "MSRP tr3b 506").await;
    // Chat four waits for its peer session, not for this sender's: the
    // request is no one's here (RFC 4975 §7.3).
    let stranger = raw_chunk(
        "tr4a",
        &four.path,
        "msrp://127.0.0.1:9/notexpected;tcp",
        "mtr4a",
        "Byte-Range: 1-1/1\r\n",
        "x",
        '$',
    );
    io.write_all(stranger.as_bytes()).await.unwrap();
    read_until(&mut io, "MSRP tr4a 481").await;

    // Both connections go on; chat four still takes its own peer.
    io.write_all(&send_to(&one, "tr1b", "one again"))
        .await
        .unwrap();
    read_until(&mut io, "MSRP tr1b 200").await;
    assert_eq!(next_message(&mut one.events).await, "one again");
    other
        .write_all(&send_to(&three, "tr3c", "three again"))
        .await
        .unwrap();
    read_until(&mut other, "MSRP tr3c 200").await;
    assert_eq!(next_message(&mut three.events).await, "three again");
    io.write_all(&send_to(&four, "tr4b", "four")).await.unwrap();
    read_until(&mut io, "MSRP tr4b 200").await;
    assert_eq!(next_message(&mut four.events).await, "four");
    for c in [&one, &three, &four] {
        c.chat.end();
    }
}
