//! Traces have a bounded path of their own (`EngineConfig::trace_sink`):
//! a trace reader that does not keep up loses traces, counted, and never
//! the requests, which share no queue with them.

mod common;

use sip_proto::transaction::Target;
use sip_proto::Method;
use sipsimple::engine::{Engine, EngineConfig, TransportKind};
use tokio::sync::mpsc;

#[tokio::test]
async fn a_stalled_trace_reader_loses_traces_not_requests() {
    // Nobody reads these traces: the sink is full after one.
    let (sink, _unread) = mpsc::channel(1);
    let (server, events) = Engine::start(EngineConfig {
        trace: true,
        trace_sink: Some(sink),
        // A queue just big enough for the requests alone: with traces in
        // it too, requests would be answered 503.
        event_queue: 8,
        ..EngineConfig::default()
    })
    .await
    .unwrap();
    let mut seen = common::serve(server.clone(), events);
    let (client, mut answers) = Engine::start(EngineConfig::default()).await.unwrap();
    let to = server.local_addr(TransportKind::Udp).unwrap();
    let from = client.local_addr(TransportKind::Udp).unwrap();
    for n in 0..40 {
        let r = common::request(Method::Options, from, to, TransportKind::Udp, n, 1);
        client
            .send_request(
                r,
                Target {
                    addr: to,
                    transport: TransportKind::Udp,
                },
            )
            .await
            .unwrap();
        let answer = common::final_response(&mut answers).await;
        assert_eq!(answer.status.code(), 200, "request {n}");
    }
    let mut served = 0;
    while seen.try_recv().is_ok() {
        served += 1;
    }
    assert_eq!(served, 40);
    let stats = server.stats().await.unwrap();
    // 80 traces (each request and its answer), one of which fitted.
    assert_eq!(stats.traces_dropped, 79, "{stats:?}");
    assert_eq!(stats.events_dropped, 0, "{stats:?}");
    server.shutdown().await;
    client.shutdown().await;
}
