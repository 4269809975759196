//! A SIP server that answers every request 200 (UDP and TCP on the given
//! port, 127.0.0.1): the target of SIPp load runs in docs/PERFORMANCE.md.
//!
//! cargo run --release -p sipsimple --example answer_server -- 5090

use sip_proto::transaction::Event;
use sip_proto::{Response, StatusCode};
use sipsimple::engine::{Engine, EngineConfig, EngineEvent};

fn main() {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5090);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let cfg = EngineConfig {
            udp_port: Some(port),
            tcp_port: Some(port),
            event_queue: 65_536,
            ..EngineConfig::default()
        };
        let (engine, mut events) = Engine::start(cfg).await.expect("bind");
        eprintln!("answering on 127.0.0.1:{port} (udp, tcp)");
        while let Some(ev) = events.recv().await {
            if let EngineEvent::Transaction(Event::Request { key, request, .. }) = ev {
                let _ = engine
                    .send_response(
                        &key,
                        Response::for_request(&request, StatusCode::OK, Some("as")),
                    )
                    .await;
            }
        }
    });
}
