//! Interop with SIPp (Debian package sip-tester; `scripts/test.sh` installs
//! it), started and stopped by each test: SIPp UAC → our engine as UAS, and
//! our engine as UAC → SIPp UAS, over UDP and TCP; a MESSAGE challenged
//! with 407 by SIPp and retried with a digest that SIPp itself verifies.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sip_proto::digest::{authorize, CredentialStore, DigestState};
use sip_proto::headers::HeaderName;
use sip_proto::transaction::{Event, Target};
use sip_proto::uri::Uri;
use sip_proto::{Method, Request, Response, StatusCode};
use sipsimple::engine::{Engine, EngineConfig, EngineEvent, TransportKind};
use tokio::sync::mpsc::Receiver;
use tokio::time::timeout;

fn scenario(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(name)
        .display()
        .to_string()
}

fn sipp_available() {
    let ok = Command::new("sipp")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    assert!(
        ok.is_ok(),
        "SIPp is not installed: run scripts/test.sh (it installs the Debian package sip-tester)"
    );
}

/// A free port for both UDP and TCP on 127.0.0.1 (SIPp binds it next).
fn free_port() -> u16 {
    loop {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn sipp_transport(t: TransportKind) -> &'static str {
    match t {
        TransportKind::Udp => "u1",
        _ => "t1",
    }
}

/// Runs SIPp to completion (bounded by its own -timeout) off the runtime.
async fn run_sipp(args: Vec<String>) -> (i32, String) {
    tokio::task::spawn_blocking(move || {
        let out = Command::new("sipp")
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .expect("sipp runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.code().unwrap_or(-1), text)
    })
    .await
    .unwrap()
}

fn common_args(port: u16, media_port: u16, t: TransportKind) -> Vec<String> {
    [
        "-i",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-mp",
        &media_port.to_string(),
        "-t",
        sipp_transport(t),
        "-nostdin",
        "-timeout",
        "20s",
        "-timeout_error",
        "-max_socket",
        "10",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Answers every request 200 and counts them.
fn serve(engine: Engine, mut events: Receiver<EngineEvent>, count: Arc<AtomicUsize>) {
    tokio::spawn(async move {
        while let Some(ev) = events.recv().await {
            if let EngineEvent::Transaction(Event::Request { key, request, .. }) = ev {
                count.fetch_add(1, Ordering::SeqCst);
                let ok = Response::for_request(&request, StatusCode::OK, Some("rs"));
                let _ = engine.send_response(&key, ok).await;
            }
        }
    });
}

async fn sipp_uac_to_our_uas(scenario_file: &str, t: TransportKind) {
    sipp_available();
    let (engine, events) = Engine::start(EngineConfig::default()).await.unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    serve(engine.clone(), events, count.clone());
    let ours = engine.local_addr(t).unwrap();
    let mut args = vec!["-sf".to_string(), scenario(scenario_file), ours.to_string()];
    args.extend(common_args(free_port(), free_port(), t));
    args.extend(["-m", "3", "-r", "10"].map(String::from));
    let (code, out) = run_sipp(args).await;
    assert_eq!(code, 0, "SIPp reported failed calls:\n{out}");
    // The effect on our side: three requests reached the application.
    assert_eq!(count.load(Ordering::SeqCst), 3);
    engine.shutdown().await;
}

#[tokio::test]
async fn sipp_options_to_us_over_udp() {
    sipp_uac_to_our_uas("uac_options.xml", TransportKind::Udp).await;
}

#[tokio::test]
async fn sipp_options_to_us_over_tcp() {
    sipp_uac_to_our_uas("uac_options.xml", TransportKind::Tcp).await;
}

#[tokio::test]
async fn sipp_message_to_us_over_udp() {
    sipp_uac_to_our_uas("uac_message.xml", TransportKind::Udp).await;
}

#[tokio::test]
async fn sipp_message_to_us_over_tcp() {
    sipp_uac_to_our_uas("uac_message.xml", TransportKind::Tcp).await;
}

fn message_to(local: SocketAddr, peer: SocketAddr, t: TransportKind, n: u32, cseq: u32) -> Request {
    let mut r = Request::new(
        Method::Message,
        &Uri::parse(&format!("sip:sipp@{peer}")).unwrap(),
    );
    let h = &mut r.headers;
    h.push(
        HeaderName::Via,
        format!(
            "SIP/2.0/{} {local};branch=z9hG4bKinterop{n}c{cseq};rport",
            t.via_name()
        ),
    );
    h.push(HeaderName::MaxForwards, "70");
    h.push(HeaderName::From, format!("<sip:alice@{local}>;tag=al{n}"));
    h.push(HeaderName::To, format!("<sip:sipp@{peer}>"));
    h.push(HeaderName::CallId, format!("interop-{n}@127.0.0.1"));
    h.push(HeaderName::CSeq, format!("{cseq} MESSAGE"));
    let mut m = sip_proto::Message::Request(r);
    m.set_body("text/plain", "hello SIPp");
    match m {
        sip_proto::Message::Request(r) => r,
        sip_proto::Message::Response(_) => unreachable!(),
    }
}

async fn final_response(events: &mut Receiver<EngineEvent>) -> Response {
    loop {
        let ev = timeout(Duration::from_secs(20), events.recv())
            .await
            .expect("answer")
            .expect("engine");
        match ev {
            EngineEvent::Transaction(Event::Response { response, .. })
                if response.status.is_final() =>
            {
                return response
            }
            EngineEvent::Transaction(Event::Timeout { .. }) => panic!("transaction timed out"),
            _ => {}
        }
    }
}

async fn our_uac_to_sipp(t: TransportKind) {
    sipp_available();
    let (engine, mut events) = Engine::start(EngineConfig::default()).await.unwrap();
    let port = free_port();
    let mut args = vec!["-sf".to_string(), scenario("uas_message.xml")];
    args.extend(common_args(port, free_port(), t));
    args.extend(["-m", "1"].map(String::from));
    let sipp = tokio::spawn(run_sipp(args));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let peer: SocketAddr = ([127, 0, 0, 1], port).into();
    let local = engine.local_addr(t).unwrap();
    engine
        .send_request(
            message_to(local, peer, t, 1, 1),
            Target {
                addr: peer,
                transport: t,
            },
        )
        .await
        .unwrap();
    assert_eq!(final_response(&mut events).await.status, StatusCode::OK);
    let (code, out) = sipp.await.unwrap();
    assert_eq!(code, 0, "SIPp:\n{out}");
    engine.shutdown().await;
}

#[tokio::test]
async fn our_message_to_sipp_over_udp() {
    our_uac_to_sipp(TransportKind::Udp).await;
}

#[tokio::test]
async fn our_message_to_sipp_over_tcp() {
    our_uac_to_sipp(TransportKind::Tcp).await;
}

/// Sends a MESSAGE to a SIPp UAS that challenges it, answers the
/// challenge with our digest code, and returns the final status.
async fn challenged_message(scenario_file: &str, expect: u16, header: HeaderName) -> StatusCode {
    sipp_available();
    let t = TransportKind::Udp;
    let (engine, mut events) = Engine::start(EngineConfig::default()).await.unwrap();
    let port = free_port();
    let mut args = vec!["-sf".to_string(), scenario(scenario_file)];
    args.extend(common_args(port, free_port(), t));
    args.extend(["-m", "1"].map(String::from));
    let sipp = tokio::spawn(run_sipp(args));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let peer: SocketAddr = ([127, 0, 0, 1], port).into();
    let local = engine.local_addr(t).unwrap();
    let target = Target {
        addr: peer,
        transport: t,
    };
    engine
        .send_request(message_to(local, peer, t, 7, 1), target)
        .await
        .unwrap();
    let challenge = final_response(&mut events).await;
    assert_eq!(challenge.status.code(), expect);
    // Retry: same Call-ID and tags, CSeq + 1, new branch, credentials.
    let mut retry = message_to(local, peer, t, 7, 2);
    let store = CredentialStore::with_default("alice", "secret");
    authorize(
        &mut retry,
        &challenge,
        &store,
        &mut DigestState::default(),
        "0a4f113b",
    )
    .unwrap();
    assert!(retry.headers.contains(&header));
    engine.send_request(retry, target).await.unwrap();
    let status = final_response(&mut events).await.status;
    let (code, out) = sipp.await.unwrap();
    assert_eq!(code, 0, "SIPp:\n{out}");
    engine.shutdown().await;
    status
}

#[tokio::test]
async fn digest_answer_to_401_is_verified_by_sipp() {
    // 200 means SIPp's own verifyauth accepted the digest (403 otherwise).
    let s = challenged_message("uas_message_auth.xml", 401, HeaderName::Authorization).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn message_challenged_with_407_is_retried_with_proxy_authorization() {
    let s = challenged_message(
        "uas_message_proxy_auth.xml",
        407,
        HeaderName::ProxyAuthorization,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
}
