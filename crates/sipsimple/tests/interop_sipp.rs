//! Interop with SIPp (Debian package sip-tester; `scripts/test.sh` installs
//! it), started and stopped by each test: SIPp UAC → our engine as UAS, and
//! our engine as UAC → SIPp UAS, over UDP and TCP; a MESSAGE challenged
//! with 407 by SIPp and retried with a digest that SIPp itself verifies.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use sip_proto::digest::{authorize, CredentialStore, DigestState};
use sip_proto::headers::HeaderName;
use sip_proto::transaction::Target;
use sip_proto::{Method, Request, StatusCode};
use sipsimple::engine::{Engine, EngineConfig, TransportKind};

mod common;
use common::{final_response, free_port, serve};

fn message_to(local: SocketAddr, peer: SocketAddr, t: TransportKind, n: u32, cseq: u32) -> Request {
    common::with_body(
        common::request(Method::Message, local, peer, t, n, cseq),
        "text/plain",
        "hello SIPp",
    )
}

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

/// Waits (up to 10 s) until SIPp holds its `port` (UDP or TCP), instead
/// of a fixed sleep that a loaded machine can outrun.
async fn sipp_listening(port: u16) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok()
        && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "SIPp did not bind port {port}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
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

async fn sipp_uac_to_our_uas(scenario_file: &str, t: TransportKind) {
    sipp_available();
    let (engine, events) = Engine::start(EngineConfig::default()).await.unwrap();
    let mut seen = serve(engine.clone(), events);
    let ours = engine.local_addr(t).unwrap();
    let mut args = vec!["-sf".to_string(), scenario(scenario_file), ours.to_string()];
    args.extend(common_args(free_port(), free_port(), t));
    args.extend(["-m", "3", "-r", "10"].map(String::from));
    let (code, out) = run_sipp(args).await;
    assert_eq!(code, 0, "SIPp reported failed calls:\n{out}");
    // The effect on our side: three requests reached the application.
    let mut count = 0;
    while seen.try_recv().is_ok() {
        count += 1;
    }
    assert_eq!(count, 3);
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

async fn our_uac_to_sipp(t: TransportKind) {
    sipp_available();
    let (engine, mut events) = Engine::start(EngineConfig::default()).await.unwrap();
    let port = free_port();
    let mut args = vec!["-sf".to_string(), scenario("uas_message.xml")];
    args.extend(common_args(port, free_port(), t));
    args.extend(["-m", "1"].map(String::from));
    let sipp = tokio::spawn(run_sipp(args));
    sipp_listening(port).await;
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
    sipp_listening(port).await;
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

/// `Message::send` answers SIPp's 401 itself; SIPp's verifyauth judges the
/// digest: 200 for the right password, 403 for a wrong one.
async fn message_with_password(password: &str) -> Result<u16, sipsimple::message::MessageError> {
    use sip_proto::uri::Uri;
    use sipsimple::lookup::Route;
    use sipsimple::message::Message;
    use sipsimple::notification::NotificationCenter;

    sipp_available();
    let (engine, _events) = Engine::start(EngineConfig::default()).await.unwrap();
    let port = free_port();
    let mut args = vec!["-sf".to_string(), scenario("uas_message_auth.xml")];
    args.extend(common_args(port, free_port(), TransportKind::Udp));
    args.extend(["-m", "1"].map(String::from));
    let sipp = tokio::spawn(run_sipp(args));
    sipp_listening(port).await;
    let center = NotificationCenter::default();
    let mut message = Message::new(
        &center,
        Uri::parse("sip:alice@example.test").unwrap().into_owned(),
        Uri::parse(&format!("sip:sipp@127.0.0.1:{port}"))
            .unwrap()
            .into_owned(),
        "text/plain",
        "hello SIPp",
    );
    message.credentials = Some(("alice".into(), password.into()));
    let route = Route {
        address: [127, 0, 0, 1].into(),
        port,
        transport: TransportKind::Udp,
    };
    let outcome = message.send(&engine, &[route]).await.map(|d| d.code);
    let (code, out) = sipp.await.unwrap();
    assert_eq!(code, 0, "SIPp:\n{out}");
    engine.shutdown().await;
    outcome
}

#[tokio::test]
async fn message_send_answers_the_challenge_and_sipp_accepts_the_digest() {
    assert_eq!(message_with_password("secret").await, Ok(200));
}

#[tokio::test]
async fn message_send_with_a_wrong_password_is_refused_by_sipp() {
    let err = message_with_password("wrong").await.unwrap_err();
    assert!(
        matches!(
            err,
            sipsimple::message::MessageError::Rejected { code: 403, .. }
        ),
        "{err:?}"
    );
}

/// A SipApplication account registers with SIPp acting as registrar
/// (401 with qop=auth; SIPp's verifyauth judges the digest), and on stop
/// unregisters (Expires 0, challenged and verified again).
#[tokio::test]
async fn account_registers_with_sipp_registrar_qop_auth_and_unregisters() {
    use sipsimple::application::SipApplication;
    use sipsimple::config::MemoryBackend;
    use sipsimple::notification::{Filter, NotificationData};

    sipp_available();
    let port = free_port();
    let mut args = vec!["-sf".to_string(), scenario("uas_register_auth.xml")];
    args.extend(common_args(port, free_port(), TransportKind::Udp));
    args.extend(["-m", "1"].map(String::from));
    let sipp = tokio::spawn(run_sipp(args));
    sipp_listening(port).await;

    let app = SipApplication::new();
    let mut events = app.notification_center().subscribe(Filter::all());
    let config = format!(
        "local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = [\"udp\"]\n\
         [accounts.\"alice@sipsimple.test\"]\nenabled = true\n\
         auth.password = \"secret\"\n\
         sip.outbound_proxy = \"sip:127.0.0.1:{port}\"\n\
         registration.interval = 600\n"
    );
    app.start(MemoryBackend::with(config.parse().unwrap()))
        .await
        .unwrap();
    let seen = common::until(&mut events, "SIPAccountRegistrationDidSucceed").await;
    let answers: Vec<u16> = seen
        .iter()
        .filter_map(|n| match n.data {
            NotificationData::SIPAccountRegistrationGotAnswer { code, .. } => Some(code),
            _ => None,
        })
        .collect();
    assert_eq!(answers, [401, 200], "challenged, then accepted by SIPp");
    let Some(NotificationData::SIPAccountRegistrationDidSucceed { expires, .. }) =
        seen.last().map(|n| &n.data)
    else {
        unreachable!()
    };
    assert_eq!(*expires, 60, "the registrar's granted expiry");

    app.stop();
    let ended = common::until(&mut events, "SIPApplicationDidEnd").await;
    assert!(
        common::names(&ended).contains(&"SIPAccountRegistrationDidEnd"),
        "{:?}",
        common::names(&ended)
    );
    let (code, out) = sipp.await.unwrap();
    assert_eq!(code, 0, "SIPp:\n{out}");
}

/// SIPp calls with only G.729 offered: 488 (checked by SIPp's scenario),
/// and no session is left behind.
#[tokio::test]
async fn an_invite_with_only_an_unsupported_codec_gets_488() {
    sipp_available();
    let app = common::account_app("bob").await;
    let account = app.account_manager().accounts().remove(0);
    let ours = app
        .engine()
        .unwrap()
        .local_addr(TransportKind::Udp)
        .unwrap();
    let mut args = vec![
        "-sf".to_string(),
        scenario("uac_invite_g729.xml"),
        ours.to_string(),
        "-s".into(),
        account.contact_username().to_owned(),
    ];
    args.extend(common_args(free_port(), free_port(), TransportKind::Udp));
    args.extend(["-m", "1"].map(String::from));
    let (code, out) = run_sipp(args).await;
    assert_eq!(code, 0, "SIPp expected 488:\n{out}");
    assert!(app.session_manager().sessions().is_empty());
    app.stop();
}

/// We call SIPp's built-in UAS with RTP echo: it answers, sends our own
/// audio back, and takes our BYE; what we hear is our 1000 Hz tone.
#[tokio::test]
async fn our_call_to_sipp_with_rtp_echo_hears_itself() {
    use media::tone::goertzel;
    use sdp::offer_answer::Codec;
    use sipsimple::notification::Filter;

    sipp_available();
    let port = free_port();
    let media_port = 40000 + (free_port() % 5000) * 2;
    let mut args = vec!["-sn".to_string(), "uas".into(), "-rtp_echo".into()];
    args.extend(common_args(port, media_port, TransportKind::Udp));
    args.extend(["-m", "1"].map(String::from));
    let sipp = tokio::spawn(run_sipp(args));
    sipp_listening(port).await;

    let app = common::account_app("alice").await;
    let mut all = app.notification_center().subscribe(Filter::all());
    let account = app.account_manager().accounts().remove(0);
    let audio = common::tone_stream(1000.0, vec![Codec::pcmu()]).await;
    let call = app
        .session_manager()
        .connect(
            &account,
            &format!("sip:service@127.0.0.1:{port}"),
            vec![audio.clone()],
        )
        .await
        .unwrap();
    common::until(&mut all, "SIPSessionDidStart").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    call.end().await.unwrap();
    common::until(&mut all, "SIPSessionDidEnd").await;
    let heard = audio.recorded();
    assert!(heard.len() >= 4000, "{} samples echoed", heard.len());
    assert!(goertzel(&heard, 8000, 1000.0) > 100.0 * goertzel(&heard, 8000, 440.0));
    let (code, out) = sipp.await.unwrap();
    assert_eq!(code, 0, "SIPp:\n{out}");
    app.stop();
}
