//! Non-INVITE transactions per second through the engine on loopback UDP:
//! two engines in one process, a window of MESSAGE transactions in flight,
//! every one answered 200 by the other engine's application task.
//!
//! cargo bench -p sipsimple --bench engine_udp [-- EXCHANGES WINDOW]

use std::net::SocketAddr;
use std::time::Instant;

use sip_proto::headers::HeaderName;
use sip_proto::transaction::{Event, Target};
use sip_proto::uri::Uri;
use sip_proto::{Method, Request, Response, StatusCode};
use sipsimple::engine::{Engine, EngineConfig, EngineEvent, TransportKind};

fn message(n: u64, local: SocketAddr, peer: SocketAddr) -> Request {
    let mut r = Request::new(
        Method::Message,
        &Uri::parse(&format!("sip:bob@{peer}")).unwrap(),
    );
    let h = &mut r.headers;
    h.push(
        HeaderName::Via,
        format!("SIP/2.0/UDP {local};branch=z9hG4bKld{n:x};rport"),
    );
    h.push(HeaderName::MaxForwards, "70");
    h.push(HeaderName::From, format!("<sip:alice@{local}>;tag=ld{n:x}"));
    h.push(HeaderName::To, format!("<sip:bob@{peer}>"));
    h.push(HeaderName::CallId, format!("load-{n:x}@127.0.0.1"));
    h.push(HeaderName::CSeq, "1 MESSAGE");
    h.push(HeaderName::ContentLength, "0");
    r
}

fn main() {
    let args: Vec<String> = std::env::args().filter(|a| !a.starts_with('-')).collect();
    let total: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(50_000);
    let window: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(200);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let cfg = EngineConfig { tcp_port: None, event_queue: 65_536, ..EngineConfig::default() };
        let (a, mut a_events) = Engine::start(cfg.clone()).await.unwrap();
        let (b, mut b_events) = Engine::start(cfg).await.unwrap();
        let server = b.clone();
        tokio::spawn(async move {
            while let Some(ev) = b_events.recv().await {
                if let EngineEvent::Transaction(Event::Request { key, request, .. }) = ev {
                    let _ = server.send_response(&key, Response::for_request(&request, StatusCode::OK, Some("b"))).await;
                }
            }
        });
        let la = a.local_addr(TransportKind::Udp).unwrap();
        let lb = b.local_addr(TransportKind::Udp).unwrap();
        let target = Target { addr: lb, transport: TransportKind::Udp };
        let start = Instant::now();
        let (mut sent, mut done, mut ok, mut timeouts) = (0u64, 0u64, 0u64, 0u64);
        while sent < window.min(total) {
            a.send_request(message(sent, la, lb), target).await.unwrap();
            sent += 1;
        }
        while done < total {
            match a_events.recv().await {
                Some(EngineEvent::Transaction(Event::Response { response, .. })) if response.status.is_final() => {
                    done += 1;
                    ok += u64::from(response.status == StatusCode::OK);
                }
                Some(EngineEvent::Transaction(Event::Timeout { .. })) => {
                    done += 1;
                    timeouts += 1;
                }
                Some(_) => continue,
                None => break,
            }
            if sent < total {
                a.send_request(message(sent, la, lb), target).await.unwrap();
                sent += 1;
            }
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "engine_udp: {done} MESSAGE exchanges ({ok} x 200, {timeouts} timeouts) in {secs:.2} s = {:.0} exchanges/s, window {window}",
            done as f64 / secs
        );
        a.shutdown().await;
        b.shutdown().await;
    });
}
