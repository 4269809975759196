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
async fn a_tls_handshake_under_way_counts_against_the_connection_limit() {
    // A server that takes the TCP connection and never answers the
    // ClientHello: the handshake stays under way (until its timeout).
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_addr = silent.local_addr().unwrap();
    let pki = common::pki(SERVER_NAME);
    let server = tls_server(&pki).await;
    let addr = server.local_addr(TransportKind::Tls).unwrap();
    let cfg = EngineConfig {
        max_connections: 1,
        tls: TlsSettings {
            identity: None,
            roots: vec![pki.ca.clone()],
            verify_server: true,
            public_roots: false,
        },
        ..EngineConfig::default()
    };
    let (c, mut events) = Engine::start(cfg).await.unwrap();
    let local = c.local_addr(TransportKind::Udp).unwrap();
    let tls = |addr| Target {
        addr,
        transport: TransportKind::Tls,
    };
    c.send_request_tls(options(1, local), tls(silent_addr), SERVER_NAME)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The one connection allowed is the handshake under way: a second
    // destination fails at once instead of opening a second one.
    let started = std::time::Instant::now();
    c.send_request_tls(options(2, local), tls(addr), SERVER_NAME)
        .await
        .unwrap();
    assert_eq!(outcome(&mut events).await, None);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(c.stats().await.unwrap().connections <= 1);
    drop(silent);
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

// ---- Applications through a TLS outbound proxy (RFC 5922 §4) ----
//
// The proxy's certificate names the proxy, not the callee's domain: a
// request to it proves the name of the URI used to reach it (the
// proxy's host, or the account's `tls.name`), never the Request-URI's.

const PROXY_NAME: &str = "proxy.example.test";

/// The PEM files an application reads: the trusted CA (`tls.ca_list`)
/// and a certificate with its key (`tls.certificate`) naming the proxy.
struct Files {
    _dir: common::TempDir,
    ca: String,
    server: String,
}

fn files(pki: &common::Pki) -> Files {
    let dir = common::TempDir::new("tls-proxy");
    let ca = dir.0.join("ca.pem");
    let server = dir.0.join("server.pem");
    std::fs::write(&ca, &pki.chain_pem).unwrap();
    std::fs::write(&server, format!("{}{}", pki.chain_pem, pki.key_pem)).unwrap();
    Files {
        ca: ca.display().to_string(),
        server: server.display().to_string(),
        _dir: dir,
    }
}

/// An application on TLS only, resolving names with `dns`, with the
/// account `user@example.test` and its `account` lines.
async fn tls_app(
    files: &Files,
    dns: SocketAddr,
    user: &str,
    account: &str,
) -> sipsimple::application::SipApplication {
    let app = sipsimple::application::SipApplication::new();
    let config = format!(
        "local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = [\"tls\"]\n\
         [tls]\ncertificate = {:?}\nca_list = {:?}\n\
         [dns]\nnameservers = [\"{dns}\"]\n\
         [accounts.\"{user}@example.test\"]\nenabled = true\n{account}",
        files.server, files.ca
    );
    app.start(sipsimple::config::MemoryBackend::with(
        config.parse().unwrap(),
    ))
    .await
    .unwrap();
    app
}

/// A name server knowing the proxy's name as 127.0.0.1.
async fn proxy_dns() -> common::Dnsmasq {
    common::dnsmasq(
        "example.test",
        &[format!("--host-record={PROXY_NAME},127.0.0.1")],
    )
    .await
}

/// Alice calls `sips:bob@example.test` through her outbound proxy (Bob's
/// application, whose certificate names the proxy): the outcome on her
/// side, Ok once the call was answered and ended with BYE, else the
/// failure's reason.
async fn call_through_proxy(tls_name: Option<&str>) -> Result<(), String> {
    use sipsimple::notification::{Filter, NotificationData};
    let pki = common::pki(PROXY_NAME);
    let files = files(&pki);
    let dns = proxy_dns().await;
    let bob = tls_app(&files, dns.addr, "bob", "registration.enabled = false\n").await;
    let mut bob_all = bob.notification_center().subscribe(Filter::all());
    let port = bob
        .engine()
        .unwrap()
        .local_addr(TransportKind::Tls)
        .unwrap()
        .port();
    let mut account = format!(
        "registration.enabled = false\n\
         sip.outbound_proxy = \"sip:{PROXY_NAME}:{port};transport=tls\"\n"
    );
    if let Some(name) = tls_name {
        account.push_str(&format!("tls.name = \"{name}\"\n"));
    }
    let alice = tls_app(&files, dns.addr, "alice", &account).await;
    let mut alice_all = alice.notification_center().subscribe(Filter::all());
    // Bob answers whatever comes.
    let answering = bob.clone();
    let answerer = tokio::spawn(async move {
        let answer = common::incoming_session(&answering, &mut bob_all).await;
        let audio = common::tone_stream(1000.0, vec![sdp::offer_answer::Codec::pcmu()]).await;
        answer.accept(vec![audio]).await.unwrap();
    });
    let from = alice.account_manager().accounts().remove(0);
    let audio = common::tone_stream(440.0, vec![sdp::offer_answer::Codec::pcmu()]).await;
    let call = alice
        .session_manager()
        .connect(&from, "sip:bob@example.test", vec![audio])
        .await
        .map_err(|e| e.to_string())?;
    let outcome = loop {
        let n = common::next_notification(&mut alice_all).await;
        if n.sender != call.sender() {
            continue;
        }
        match n.data {
            NotificationData::SIPSessionDidFail { failure_reason, .. } => {
                break Err(failure_reason)
            }
            NotificationData::SIPSessionDidStart { .. } => {
                // The BYE goes to Bob's Contact (an address): the
                // connection to it proves the proxy's name, and is reused.
                call.end().await.unwrap();
            }
            NotificationData::SIPSessionDidEnd { .. } => break Ok(()),
            _ => {}
        }
    };
    answerer.abort();
    alice.stop();
    bob.stop();
    outcome
}

#[tokio::test]
async fn a_call_through_a_tls_proxy_verifies_the_proxy_name() {
    assert_eq!(call_through_proxy(None).await, Ok(()));
}

#[tokio::test]
async fn a_call_through_a_tls_proxy_verifies_the_configured_tls_name() {
    assert_eq!(call_through_proxy(Some(PROXY_NAME)).await, Ok(()));
}

#[tokio::test]
async fn a_call_through_a_tls_proxy_with_a_wrong_tls_name_fails_on_the_certificate() {
    let started = std::time::Instant::now();
    let why = call_through_proxy(Some("wrong.example.test"))
        .await
        .unwrap_err();
    assert!(why.contains("certificate"), "{why}");
    assert!(why.contains("wrong.example.test"), "{why}");
    assert!(started.elapsed() < Duration::from_secs(10), "not Timer B");
}

/// Alice registers through a TLS outbound proxy (an engine answering 200
/// to everything, its certificate naming the proxy): the registrar's
/// answer, or the registration's error.
async fn register_through_proxy(tls_name: Option<&str>) -> Result<u16, String> {
    use sipsimple::notification::{Filter, NotificationData};
    let pki = common::pki(PROXY_NAME);
    let files = files(&pki);
    let dns = proxy_dns().await;
    let proxy = tls_server(&pki).await;
    let port = proxy.local_addr(TransportKind::Tls).unwrap().port();
    let mut account = format!(
        "auth.password = \"pw\"\n\
         sip.outbound_proxy = \"sip:{PROXY_NAME}:{port};transport=tls\"\n"
    );
    if let Some(name) = tls_name {
        account.push_str(&format!("tls.name = \"{name}\"\n"));
    }
    let alice = sipsimple::application::SipApplication::new();
    let mut all = alice.notification_center().subscribe(Filter::all());
    let config = format!(
        "local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = [\"tls\"]\n\
         [tls]\ncertificate = {:?}\nca_list = {:?}\n\
         [dns]\nnameservers = [\"{}\"]\n\
         [accounts.\"alice@example.test\"]\nenabled = true\n{account}",
        files.server, files.ca, dns.addr
    );
    alice
        .start(sipsimple::config::MemoryBackend::with(
            config.parse().unwrap(),
        ))
        .await
        .unwrap();
    let outcome = loop {
        match common::next_notification(&mut all).await.data {
            NotificationData::SIPAccountRegistrationGotAnswer { code, .. } => break Ok(code),
            NotificationData::SIPAccountRegistrationDidFail { error, .. } => break Err(error),
            _ => {}
        }
    };
    alice.stop();
    proxy.shutdown().await;
    outcome
}

#[tokio::test]
async fn register_through_a_tls_proxy_verifies_the_proxy_name() {
    assert_eq!(register_through_proxy(None).await, Ok(200));
    assert_eq!(register_through_proxy(Some(PROXY_NAME)).await, Ok(200));
    let why = register_through_proxy(Some("wrong.example.test"))
        .await
        .unwrap_err();
    assert!(why.contains("certificate"), "{why}");
}
