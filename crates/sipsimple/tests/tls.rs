//! TLS between two engines with certificates made at test time (rcgen):
//! the server is verified against the name given with the request (SNI),
//! not against the address it was reached at; a wrong name fails fast; the
//! "verify server" switch off accepts any certificate.

use std::net::SocketAddr;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use sip_proto::headers::HeaderName;
use sip_proto::transaction::{Event, Target};
use sip_proto::uri::Uri;
use sip_proto::{Method, Request, Response, StatusCode};
use sipsimple::engine::{
    Engine, EngineConfig, EngineError, EngineEvent, TlsSettings, TransportKind,
};
use tokio::sync::mpsc::Receiver;
use tokio::time::timeout;

mod common;

const SERVER_NAME: &str = "sip.example.test";

async fn tls_server(pki: &common::Pki) -> Engine {
    let cfg = EngineConfig {
        tls_port: Some(0),
        tls: TlsSettings {
            identity: Some((pki.chain.clone(), pki.key.clone_key())),
            roots: vec![],
            verify_server: true,
            public_roots: false,
        },
        ..EngineConfig::default()
    };
    let (engine, mut events) = Engine::start(cfg).await.unwrap();
    let server = engine.clone();
    tokio::spawn(async move {
        while let Some(ev) = events.recv().await {
            if let EngineEvent::Transaction(Event::Request { key, request, .. }) = ev {
                let _ = server
                    .send_response(
                        &key,
                        Response::for_request(&request, StatusCode::OK, Some("tls")),
                    )
                    .await;
            }
        }
    });
    engine
}

async fn client(
    roots: Vec<CertificateDer<'static>>,
    verify: bool,
) -> (Engine, Receiver<EngineEvent>) {
    let cfg = EngineConfig {
        tls: TlsSettings {
            identity: None,
            roots,
            verify_server: verify,
            public_roots: false,
        },
        ..EngineConfig::default()
    };
    Engine::start(cfg).await.unwrap()
}

fn options(n: u32, local: SocketAddr) -> Request {
    let mut r = Request::new(
        Method::Options,
        &Uri::parse(&format!("sips:bob@{SERVER_NAME}")).unwrap(),
    );
    let h = &mut r.headers;
    h.push(
        HeaderName::Via,
        format!("SIP/2.0/TLS {local};branch=z9hG4bKtls{n}"),
    );
    h.push(HeaderName::MaxForwards, "70");
    h.push(
        HeaderName::From,
        format!("<sips:alice@{SERVER_NAME}>;tag=t{n}"),
    );
    h.push(HeaderName::To, format!("<sips:bob@{SERVER_NAME}>"));
    h.push(HeaderName::CallId, format!("tls-{n}@test"));
    h.push(HeaderName::CSeq, format!("{n} OPTIONS"));
    h.push(HeaderName::ContentLength, "0");
    r
}

/// The final outcome: a status, or None for a transaction failure.
async fn outcome(events: &mut Receiver<EngineEvent>) -> Option<StatusCode> {
    loop {
        match timeout(Duration::from_secs(10), events.recv())
            .await
            .expect("outcome in 10 s")
            .unwrap()
        {
            EngineEvent::Transaction(Event::Response { response, .. })
                if response.status.is_final() =>
            {
                return Some(response.status)
            }
            EngineEvent::Transaction(Event::Timeout { .. }) => return None,
            _ => {}
        }
    }
}

#[tokio::test]
async fn options_over_tls_verified_against_the_sip_domain() {
    let pki = common::pki(SERVER_NAME);
    let server = tls_server(&pki).await;
    let addr = server.local_addr(TransportKind::Tls).unwrap();
    let (c, mut events) = client(vec![pki.ca.clone()], true).await;
    let local = c.local_addr(TransportKind::Udp).unwrap();
    for n in 1..=2 {
        c.send_request_tls(
            options(n, local),
            Target {
                addr,
                transport: TransportKind::Tls,
            },
            SERVER_NAME,
        )
        .await
        .unwrap();
        assert_eq!(outcome(&mut events).await, Some(StatusCode::OK));
    }
    // One TLS connection carried both.
    assert_eq!(c.stats().await.unwrap().connections, 1);
    c.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn wrong_name_fails_the_transaction_at_once() {
    let pki = common::pki(SERVER_NAME);
    let server = tls_server(&pki).await;
    let addr = server.local_addr(TransportKind::Tls).unwrap();
    let (c, mut events) = client(vec![pki.ca.clone()], true).await;
    let local = c.local_addr(TransportKind::Udp).unwrap();
    let started = tokio::time::Instant::now();
    c.send_request_tls(
        options(1, local),
        Target {
            addr,
            transport: TransportKind::Tls,
        },
        "other.example.test",
    )
    .await
    .unwrap();
    assert_eq!(outcome(&mut events).await, None, "the handshake must fail");
    // A transport failure, not Timer F (32 s).
    assert!(started.elapsed() < Duration::from_secs(5));
    c.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn unknown_ca_is_refused_and_verification_can_be_switched_off() {
    let pki = common::pki(SERVER_NAME);
    let server = tls_server(&pki).await;
    let addr = server.local_addr(TransportKind::Tls).unwrap();
    let target = Target {
        addr,
        transport: TransportKind::Tls,
    };
    // No trust anchor for this CA: refused.
    let (c, mut events) = client(vec![], true).await;
    let local = c.local_addr(TransportKind::Udp).unwrap();
    c.send_request_tls(options(1, local), target, SERVER_NAME)
        .await
        .unwrap();
    assert_eq!(outcome(&mut events).await, None);
    c.shutdown().await;
    // verify_server off: any certificate, any name.
    let (c, mut events) = client(vec![], false).await;
    let local = c.local_addr(TransportKind::Udp).unwrap();
    c.send_request_tls(options(2, local), target, "whatever.example")
        .await
        .unwrap();
    assert_eq!(outcome(&mut events).await, Some(StatusCode::OK));
    c.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn tls_target_needs_a_name() {
    let (c, _events) = client(vec![], true).await;
    let local = c.local_addr(TransportKind::Udp).unwrap();
    let target = Target {
        addr: "127.0.0.1:5061".parse().unwrap(),
        transport: TransportKind::Tls,
    };
    let err = c.send_request(options(1, local), target).await.unwrap_err();
    assert!(matches!(err, EngineError::NoTlsName), "{err}");
    c.shutdown().await;
}

/// A TLS connection verified for one name is not reused for a request
/// to another name at the same address (two domains on one proxy IP):
/// its certificate does not cover the other, so the request is refused
/// with a clear error while the first name goes on over the connection.
#[tokio::test]
async fn a_connection_verified_for_one_name_is_not_reused_for_another() {
    let pki = common::pki(SERVER_NAME);
    let server = tls_server(&pki).await;
    let addr = server.local_addr(TransportKind::Tls).unwrap();
    let target = Target {
        addr,
        transport: TransportKind::Tls,
    };
    let (c, mut events) = client(vec![pki.ca.clone()], true).await;
    let local = c.local_addr(TransportKind::Udp).unwrap();
    c.send_request_tls(options(1, local), target, SERVER_NAME)
        .await
        .unwrap();
    assert_eq!(outcome(&mut events).await, Some(StatusCode::OK));
    let err = c
        .send_request_tls(options(2, local), target, "other.example.test")
        .await
        .unwrap_err();
    match &err {
        EngineError::TlsNameMismatch {
            verified, wanted, ..
        } => {
            assert_eq!(verified, SERVER_NAME);
            assert_eq!(wanted, "other.example.test");
        }
        other => panic!("{other}"),
    }
    // The first name still uses its connection.
    c.send_request_tls(options(3, local), target, SERVER_NAME)
        .await
        .unwrap();
    assert_eq!(outcome(&mut events).await, Some(StatusCode::OK));
    assert_eq!(c.stats().await.unwrap().connections, 1);
    c.shutdown().await;
    server.shutdown().await;
}
