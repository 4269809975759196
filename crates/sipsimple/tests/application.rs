//! SIPApplication: lifecycle notifications, several applications in one
//! process, configuration errors that leave start retryable, TLS that
//! fails to start without stopping the rest.

mod common;

use common::{final_response, names, next_notification as next, pki, request, until, TempDir};
use sip_proto::headers::HeaderName;
use sip_proto::transaction::Target;
use sip_proto::{Method, StatusCode};
use sipsimple::application::{AppState, ApplicationError, SipApplication};
use sipsimple::config::{FileBackend, MemoryBackend};
use sipsimple::engine::{Engine, EngineConfig, TransportKind};
use sipsimple::notification::{Filter, NotificationData, Subscription};

fn backend(toml: &str) -> MemoryBackend {
    MemoryBackend::with(toml.parse().unwrap())
}

const LOOPBACK: &str = "local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = [\"udp\", \"tcp\"]\n";

fn lifecycle(app: &SipApplication) -> Subscription {
    app.notification_center()
        .subscribe(Filter::sender(app.sender()))
}

/// OPTIONS from a bare engine to `to`; the final response.
async fn options(to: std::net::SocketAddr, n: u32) -> sip_proto::Response {
    let (probe, mut events) = Engine::start(EngineConfig::default()).await.unwrap();
    let from = probe.local_addr(TransportKind::Udp).unwrap();
    probe
        .send_request(
            request(Method::Options, from, to, TransportKind::Udp, n, 1),
            Target {
                addr: to,
                transport: TransportKind::Udp,
            },
        )
        .await
        .unwrap();
    let r = final_response(&mut events).await;
    probe.shutdown().await;
    r
}

#[tokio::test]
async fn two_applications_side_by_side_start_answer_and_stop() {
    let alice = SipApplication::new();
    let bob = SipApplication::new();
    let mut a_events = lifecycle(&alice);
    let mut b_events = lifecycle(&bob);
    alice.start(backend(LOOPBACK)).await.unwrap();
    bob.start(backend(&format!("user_agent = \"bob-agent\"\n{LOOPBACK}")))
        .await
        .unwrap();
    assert_eq!(
        names(&until(&mut a_events, "SIPApplicationDidStart").await),
        ["SIPApplicationWillStart", "SIPApplicationDidStart"]
    );
    assert_eq!(
        names(&until(&mut b_events, "SIPApplicationDidStart").await),
        ["SIPApplicationWillStart", "SIPApplicationDidStart"]
    );
    assert_eq!(alice.state(), AppState::Started);
    assert!(alice.is_running());

    let a_udp = alice
        .engine()
        .unwrap()
        .local_addr(TransportKind::Udp)
        .unwrap();
    let b_udp = bob
        .engine()
        .unwrap()
        .local_addr(TransportKind::Udp)
        .unwrap();
    assert_ne!(
        a_udp.port(),
        b_udp.port(),
        "each application has its own ports"
    );
    assert!(a_udp.ip().is_loopback(), "local_ip is honoured");
    assert!(bob
        .engine()
        .unwrap()
        .local_addr(TransportKind::Tcp)
        .is_some());
    assert!(
        bob.engine()
            .unwrap()
            .local_addr(TransportKind::Tls)
            .is_none(),
        "tls is not in the transport list"
    );

    // Each answers on its own port, with its own configured User-Agent.
    let r = options(b_udp, 1).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers.get_str(&HeaderName::Server), Some("bob-agent"));
    let to = r.headers.get_str(&HeaderName::To).unwrap_or_default();
    assert!(to.contains(";tag="), "a UAS adds a To tag: {to}");
    let r = options(a_udp, 2).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r
        .headers
        .get_str(&HeaderName::Server)
        .unwrap_or_default()
        .starts_with("sipsimple-rs/"));

    // Stop returns at once; DidEnd follows WillEnd.
    alice.stop();
    assert_eq!(alice.state(), AppState::Stopping);
    assert!(!alice.is_running());
    assert!(alice.engine().is_none());
    assert_eq!(
        names(&until(&mut a_events, "SIPApplicationDidEnd").await),
        ["SIPApplicationWillEnd", "SIPApplicationDidEnd"]
    );
    assert_eq!(alice.state(), AppState::Stopped);
    // Bob is unaffected.
    assert_eq!(options(b_udp, 3).await.status, StatusCode::OK);
    bob.stop();
    names(&until(&mut b_events, "SIPApplicationDidEnd").await);

    // A stopped application can start again.
    alice.start(backend(LOOPBACK)).await.unwrap();
    alice.stop();
    names(&until(&mut a_events, "SIPApplicationDidEnd").await);
}

#[tokio::test]
async fn a_configuration_error_is_returned_and_start_can_be_retried() {
    let dir = TempDir::new("app-config");
    let path = dir.0.join("config.toml");
    std::fs::write(&path, "[sip\n").unwrap();
    let app = SipApplication::new();
    let mut events = app.notification_center().subscribe(Filter::all());
    let e = app.start(FileBackend::new(&path)).await.unwrap_err();
    assert!(matches!(e, ApplicationError::Config(_)), "{e}");
    assert!(e.to_string().contains(&path.display().to_string()), "{e}");
    assert_eq!(app.state(), AppState::Stopped);
    assert!(
        events.try_next().is_none(),
        "nothing started, nothing posted"
    );

    // A value the schema refuses is a configuration error as well.
    std::fs::write(&path, "[sip]\ninvite_timeout = 1\n").unwrap();
    let e = app.start(FileBackend::new(&path)).await.unwrap_err();
    assert!(e.to_string().contains("sip.invite_timeout"), "{e}");

    std::fs::write(&path, LOOPBACK).unwrap();
    app.start(FileBackend::new(&path)).await.unwrap();
    let e = app.start(MemoryBackend::new()).await.unwrap_err();
    assert!(
        matches!(e, ApplicationError::NotStopped(AppState::Started)),
        "{e}"
    );
    let mut lifecycle = lifecycle(&app);
    app.stop();
    names(&until(&mut lifecycle, "SIPApplicationDidEnd").await);
}

#[tokio::test]
async fn tls_that_cannot_start_is_reported_and_the_rest_runs() {
    let app = SipApplication::new();
    let mut events = lifecycle(&app);
    let cfg = "local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = [\"tls\", \"udp\"]\n\
               [tls]\ncertificate = \"/nonexistent/cert.pem\"\n";
    app.start(backend(cfg)).await.unwrap();
    let seen = until(&mut events, "SIPApplicationDidStart").await;
    assert_eq!(
        names(&seen),
        [
            "SIPApplicationWillStart",
            "SIPApplicationFailedToStartTLS",
            "SIPApplicationDidStart"
        ]
    );
    let engine = app.engine().unwrap();
    assert!(engine.local_addr(TransportKind::Tls).is_none());
    let udp = engine.local_addr(TransportKind::Udp).unwrap();
    assert_eq!(options(udp, 4).await.status, StatusCode::OK);
    app.stop();
    names(&until(&mut events, "SIPApplicationDidEnd").await);

    // With a certificate and key in one PEM file, TLS listens.
    let dir = TempDir::new("app-tls");
    let pem = dir.0.join("server.pem");
    let p = pki("app.example.test");
    std::fs::write(&pem, format!("{}{}", p.chain_pem, p.key_pem)).unwrap();
    let cfg = format!(
        "local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = [\"tls\", \"udp\"]\n\
         [tls]\ncertificate = {:?}\n",
        pem.display().to_string()
    );
    app.start(backend(&cfg)).await.unwrap();
    let seen = until(&mut events, "SIPApplicationDidStart").await;
    assert_eq!(
        names(&seen),
        ["SIPApplicationWillStart", "SIPApplicationDidStart"]
    );
    assert!(app
        .engine()
        .unwrap()
        .local_addr(TransportKind::Tls)
        .is_some());
    app.stop();
    names(&until(&mut events, "SIPApplicationDidEnd").await);
}

#[tokio::test]
async fn sip_traces_become_notifications_when_switched_on() {
    let app = SipApplication::new();
    let mut traces = app
        .notification_center()
        .subscribe(Filter::name("SIPEngineSIPTrace"));
    app.start(backend(&format!("{LOOPBACK}[logging]\ntrace_sip = true\n")))
        .await
        .unwrap();
    let udp = app
        .engine()
        .unwrap()
        .local_addr(TransportKind::Udp)
        .unwrap();
    assert_eq!(options(udp, 5).await.status, StatusCode::OK);
    let first = next(&mut traces).await;
    let NotificationData::SIPEngineSIPTrace {
        received,
        destination,
        transport,
        text,
        ..
    } = first.data
    else {
        panic!("not a trace");
    };
    assert!(received);
    assert_eq!(destination, udp.to_string());
    assert_eq!(transport, "udp");
    assert!(text.starts_with("OPTIONS sip:bob@"), "{text}");
    let second = next(&mut traces).await;
    assert!(matches!(
        second.data,
        NotificationData::SIPEngineSIPTrace { received: false, ref text, .. } if text.starts_with("SIP/2.0 200")
    ));
    app.stop();
}
