//! Interop with SIPp (Debian package sip-tester; `scripts/test.sh` installs
//! it), started and stopped by each test: SIPp UAC → our engine as UAS, and
//! our engine as UAC → SIPp UAS, over UDP and TCP; a MESSAGE challenged
//! with 407 by SIPp and retried with a digest that SIPp itself verifies.

use std::net::SocketAddr;

use sip_proto::digest::{authorize, CredentialStore, DigestState};
use sip_proto::headers::HeaderName;
use sip_proto::transaction::Target;
use sip_proto::{Method, Request, StatusCode};
use sipsimple::engine::{Engine, EngineConfig, TransportKind};

mod common;
use common::sipp::{common_args, run_sipp, scenario, sipp_available, sipp_listening};
use common::{final_response, free_port, serve};

fn message_to(local: SocketAddr, peer: SocketAddr, t: TransportKind, n: u32, cseq: u32) -> Request {
    common::with_body(
        common::request(Method::Message, local, peer, t, n, cseq),
        "text/plain",
        "hello SIPp",
    )
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
