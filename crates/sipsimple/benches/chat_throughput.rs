//! Chat between two applications in one process on loopback (MSRP over
//! TCP, CPIM-wrapped, `Success-Report: yes` with `Failure-Report:
//! partial` as the spec asks): messages per second with every success
//! report back at the sender, and the latency from `send_message` to the
//! peer's ChatStreamGotMessage (median, p99).
//!
//! cargo bench -p sipsimple --bench chat_throughput [-- MESSAGES]
//!
//! Throughput keeps a window of WINDOW messages without a report (the
//! connection takes 4096 queued messages; the notification observers
//! hold 1024 by default): a real sender's queue, not an unbounded burst.

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use sipsimple::notification::{Filter, NotificationData};
use sipsimple::streams::msrp::{ChatStream, MessageOptions};
use sipsimple::streams::MediaStream;

const WINDOW: usize = 512;

fn main() {
    let messages: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(20_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(messages));
}

async fn run(messages: usize) {
    let account = "msrp.transport = \"tcp\"\n";
    let alice = common::account_app_with("alice", "", account).await;
    let bob = common::account_app_with("bob", "", account).await;
    let mut alice_all = alice.notification_center().subscribe(Filter::all());
    let mut bob_all = bob.notification_center().subscribe(Filter::all());
    let acc = alice.account_manager().accounts().remove(0);
    let settings = alice
        .session_manager()
        .stream_settings(acc.clone(), "127.0.0.1".parse().unwrap())
        .unwrap();
    let chat = Arc::new(ChatStream::new(&settings));
    let _call = alice
        .session_manager()
        .connect(
            &acc,
            &common::contact_uri(&bob),
            vec![chat.clone() as Arc<dyn MediaStream>],
        )
        .await
        .unwrap();
    let callee = common::incoming_session(&bob, &mut bob_all).await;
    callee
        .accept(callee.proposed_streams().unwrap())
        .await
        .unwrap();
    common::until(&mut alice_all, "SIPSessionDidStart").await;
    common::until(&mut bob_all, "SIPSessionDidStart").await;
    drop((alice_all, bob_all));

    let mut delivered = alice
        .notification_center()
        .subscribe(Filter::name("ChatStreamDidDeliverMessage"));
    let mut got = bob
        .notification_center()
        .subscribe(Filter::name("ChatStreamGotMessage"));
    let text = "a chat message of about the length people type, forty-odd bytes";

    // Throughput: WINDOW in flight, every report awaited.
    let started = Instant::now();
    let (mut sent, mut reported) = (0usize, 0usize);
    while reported < messages {
        while sent < messages && sent - reported < WINDOW {
            chat.send_message(text, "text/plain", MessageOptions::default())
                .unwrap();
            sent += 1;
        }
        let n = tokio::time::timeout(Duration::from_secs(30), delivered.next())
            .await
            .expect("reports keep coming")
            .unwrap();
        if matches!(n.data, NotificationData::ChatStreamDidDeliverMessage { .. }) {
            reported += 1;
        }
        while got.try_next().is_some() {}
    }
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(
        delivered.take_missed(),
        0,
        "no report notification was dropped"
    );
    println!(
        "throughput: {messages} messages, every success report back, in {secs:.3} s = {:.0} messages/s",
        messages as f64 / secs
    );

    // Latency: one message at a time, send to ChatStreamGotMessage.
    while got.try_next().is_some() {}
    let mut samples = Vec::new();
    for _ in 0..2000 {
        let t = Instant::now();
        chat.send_message(text, "text/plain", MessageOptions::default())
            .unwrap();
        loop {
            let n = got.next().await.unwrap();
            if matches!(n.data, NotificationData::ChatStreamGotMessage { .. }) {
                break;
            }
        }
        samples.push(t.elapsed());
    }
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    println!(
        "latency send_message -> ChatStreamGotMessage over {} messages: median {:?}, p99 {:?}, max {:?}",
        samples.len(),
        at(0.5),
        at(0.99),
        samples[samples.len() - 1]
    );
    alice.stop();
    bob.stop();
}
