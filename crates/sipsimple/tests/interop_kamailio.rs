//! Interop with Kamailio (Debian packages kamailio, kamailio-tls-modules;
//! `scripts/test.sh` installs them), started per test with our own config
//! (tests/kamailio/kamailio.cfg) on free loopback ports: OPTIONS and a
//! MESSAGE that Kamailio challenges with 407 and accepts only with the
//! right digest, over UDP, TCP and TLS (certificate made at test time);
//! and a SipApplication account registering with it (the binding checked
//! in Kamailio's location table with `kamcmd ul.dump`).

use std::net::SocketAddr;
use std::time::Duration;

use sip_proto::digest::{authorize, AuthError, CredentialStore, DigestState};
use sip_proto::headers::HeaderName;
use sip_proto::transaction::Target;
use sip_proto::{Method, Request, Response, StatusCode};
use sipsimple::application::SipApplication;
use sipsimple::config::MemoryBackend;
use sipsimple::engine::{Engine, EngineConfig, EngineEvent, TlsSettings, TransportKind};
use sipsimple::notification::{Filter, Notification, NotificationData};
use tokio::sync::mpsc::Receiver;

mod common;
mod kamailio;
use common::{final_response, names, until};
use kamailio::{
    contact_count, location_table, start_kamailio, start_kamailio_with, Kamailio, TLS_NAME,
};

fn request(
    method: Method,
    local: SocketAddr,
    peer: SocketAddr,
    t: TransportKind,
    n: u32,
    cseq: u32,
) -> Request {
    let r = common::request(method.clone(), local, peer, t, n, cseq);
    if method == Method::Message {
        common::with_body(r, "text/plain", "hello Kamailio")
    } else {
        r
    }
}

async fn client(k: &Kamailio) -> (Engine, Receiver<EngineEvent>) {
    let cfg = EngineConfig {
        tls: TlsSettings {
            identity: None,
            roots: vec![k.ca.clone()],
            verify_server: true,
            public_roots: false,
        },
        ..EngineConfig::default()
    };
    Engine::start(cfg).await.unwrap()
}

impl Kamailio {
    fn target(&self, t: TransportKind) -> Target {
        let port = match t {
            TransportKind::Udp => self.udp,
            TransportKind::Tcp => self.tcp,
            TransportKind::Tls => self.tls,
        };
        Target {
            addr: ([127, 0, 0, 1], port).into(),
            transport: t,
        }
    }
}

async fn send(engine: &Engine, req: Request, target: Target) {
    if target.transport == TransportKind::Tls {
        engine
            .send_request_tls(req, target, TLS_NAME)
            .await
            .unwrap();
    } else {
        engine.send_request(req, target).await.unwrap();
    }
}

async fn options(t: TransportKind) {
    let k = start_kamailio();
    let (c, mut events) = client(&k).await;
    let local = c.local_addr(TransportKind::Udp).unwrap();
    let target = k.target(t);
    send(
        &c,
        request(Method::Options, local, target.addr, t, 1, 1),
        target,
    )
    .await;
    assert_eq!(final_response(&mut events).await.status, StatusCode::OK);
    c.shutdown().await;
}

/// MESSAGE → 407 from Kamailio → retry with our digest → the status.
async fn authenticated_message(t: TransportKind, password: &str) -> Result<Response, AuthError> {
    let k = start_kamailio();
    let (c, mut events) = client(&k).await;
    let local = c.local_addr(TransportKind::Udp).unwrap();
    let target = k.target(t);
    send(
        &c,
        request(Method::Message, local, target.addr, t, 2, 1),
        target,
    )
    .await;
    let challenge = final_response(&mut events).await;
    assert_eq!(
        challenge.status.code(),
        407,
        "Kamailio challenges the MESSAGE"
    );
    let store = CredentialStore::with_default("alice", password);
    let mut state = DigestState::default();
    let mut retry = request(Method::Message, local, target.addr, t, 2, 2);
    authorize(&mut retry, &challenge, &store, &mut state, "b1e2c3d4").unwrap();
    send(&c, retry, target).await;
    let answer = final_response(&mut events).await;
    if answer.status.code() == 407 {
        // Challenged again without stale=true: the credentials are wrong.
        let mut again = request(Method::Message, local, target.addr, t, 2, 3);
        authorize(&mut again, &answer, &store, &mut state, "b1e2c3d5")?;
    }
    c.shutdown().await;
    Ok(answer)
}

#[tokio::test]
async fn options_to_kamailio_over_udp() {
    options(TransportKind::Udp).await;
}

#[tokio::test]
async fn options_to_kamailio_over_tcp() {
    options(TransportKind::Tcp).await;
}

#[tokio::test]
async fn options_to_kamailio_over_tls() {
    options(TransportKind::Tls).await;
}

async fn accepted(t: TransportKind) {
    let answer = authenticated_message(t, "secret").await.unwrap();
    assert_eq!(answer.status, StatusCode::OK);
    // Kamailio itself says whom it authenticated.
    assert_eq!(
        answer
            .headers
            .get_str(&HeaderName::new("X-Authenticated-As")),
        Some("alice")
    );
}

#[tokio::test]
async fn authenticated_message_to_kamailio_over_udp() {
    accepted(TransportKind::Udp).await;
}

#[tokio::test]
async fn authenticated_message_to_kamailio_over_tcp() {
    accepted(TransportKind::Tcp).await;
}

#[tokio::test]
async fn authenticated_message_to_kamailio_over_tls() {
    accepted(TransportKind::Tls).await;
}

#[tokio::test]
async fn wrong_password_is_rejected_not_retried_forever() {
    let r = authenticated_message(TransportKind::Udp, "wrong").await;
    assert_eq!(r.unwrap_err(), AuthError::Rejected("sipsimple.test".into()));
}

fn account_config(k: &Kamailio, password: &str) -> MemoryBackend {
    account_config_with(k, password, 60)
}

fn account_config_with(k: &Kamailio, password: &str, interval: u32) -> MemoryBackend {
    let text = format!(
        "local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = [\"udp\"]\n\
         [accounts.\"alice@sipsimple.test\"]\nenabled = true\n\
         auth.password = \"{password}\"\n\
         sip.outbound_proxy = \"sip:127.0.0.1:{}\"\n\
         registration.interval = {interval}\n",
        k.udp
    );
    MemoryBackend::with(text.parse().unwrap())
}

#[tokio::test]
async fn account_registers_with_kamailio_through_digest_and_423_then_unregisters() {
    let k = start_kamailio();
    let app = SipApplication::new();
    let mut all = app.notification_center().subscribe(Filter::all());
    app.start(account_config(&k, "secret")).await.unwrap();
    let seen = until(&mut all, "SIPAccountRegistrationDidSucceed").await;
    // 401 (digest), then 423 (we asked 60, Kamailio wants 120), then 200.
    let answers: Vec<u16> = seen
        .iter()
        .filter_map(|n| match &n.data {
            NotificationData::SIPAccountRegistrationGotAnswer { code, .. } => Some(*code),
            _ => None,
        })
        .collect();
    assert_eq!(answers, [401, 423, 200], "{:?}", names(&seen));
    assert!(names(&seen).contains(&"SIPAccountWillRegister"));
    let Some(NotificationData::SIPAccountRegistrationDidSucceed {
        contact_header,
        contact_header_list,
        expires,
        registrar,
    }) = seen.last().map(|n| n.data.clone())
    else {
        panic!("no DidSucceed");
    };
    assert_eq!(expires, 120, "Min-Expires honoured");
    assert_eq!(
        registrar.socket_addr(),
        SocketAddr::from(([127, 0, 0, 1], k.udp))
    );
    let account = app
        .account_manager()
        .get_account("alice@sipsimple.test")
        .unwrap();
    let user = account.contact_username().to_owned();
    assert!(contact_header.contains(&user), "{contact_header}");
    assert!(contact_header_list.iter().any(|c| c.contains(&user)));

    // The binding is in Kamailio's location table.
    let table = location_table(&k);
    assert!(table.contains("alice"), "{table}");
    assert!(table.contains(&format!("sip:{user}@127.0.0.1")), "{table}");
    assert_eq!(contact_count(&k), 1, "one binding, counted by usrloc");

    // Stopping unregisters before the engine goes: the binding is gone.
    app.stop();
    let seen = until(&mut all, "SIPApplicationDidEnd").await;
    assert!(
        names(&seen).contains(&"SIPAccountRegistrationDidEnd"),
        "{:?}",
        names(&seen)
    );
    let table = location_table(&k);
    assert!(!table.contains(&user), "binding still there: {table}");
    assert_eq!(contact_count(&k), 0);
}

#[tokio::test]
async fn a_wrong_registration_password_fails_with_the_401() {
    let k = start_kamailio();
    let app = SipApplication::new();
    let mut all = app.notification_center().subscribe(Filter::all());
    app.start(account_config(&k, "not-the-password"))
        .await
        .unwrap();
    let seen = until(&mut all, "SIPAccountRegistrationDidFail").await;
    let Some(NotificationData::SIPAccountRegistrationDidFail { error, retry_in }) =
        seen.last().map(|n| n.data.clone())
    else {
        panic!("no DidFail");
    };
    assert!(error.starts_with("401"), "{error}");
    assert!(error.contains("authentication failed"), "{error}");
    assert!(retry_in >= Duration::from_secs(5), "{retry_in:?}");
    assert!(!location_table(&k).contains("alice"));
    app.stop();
    until(&mut all, "SIPApplicationDidEnd").await;
}

#[tokio::test]
async fn registration_fails_over_to_the_second_srv_target() {
    let k = start_kamailio();
    // The first SRV target (better priority) refuses connections.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let zone = [
        "--host-record=dead.sipsimple.test,127.0.0.1".to_owned(),
        "--host-record=live.sipsimple.test,127.0.0.1".to_owned(),
        format!("--srv-host=_sip._tcp.sipsimple.test,dead.sipsimple.test,{dead},10,0"),
        format!(
            "--srv-host=_sip._tcp.sipsimple.test,live.sipsimple.test,{},20,0",
            k.tcp
        ),
    ];
    let dns = common::dnsmasq("sipsimple.test", &zone).await;
    let text = format!(
        "local_ip = \"127.0.0.1\"\ndns.nameservers = [\"{}\"]\n\
         [sip]\ntransport_list = [\"tcp\"]\n\
         [accounts.\"alice@sipsimple.test\"]\nenabled = true\n\
         auth.password = \"secret\"\nregistration.interval = 300\n",
        dns.addr
    );
    let app = SipApplication::new();
    let mut all = app.notification_center().subscribe(Filter::all());
    app.start(MemoryBackend::with(text.parse().unwrap()))
        .await
        .unwrap();
    let seen = until(&mut all, "SIPAccountRegistrationDidSucceed").await;
    assert!(
        !names(&seen).contains(&"SIPAccountRegistrationDidFail"),
        "failover is not a failure: {:?}",
        names(&seen)
    );
    let Some(NotificationData::SIPAccountRegistrationDidSucceed {
        registrar, expires, ..
    }) = seen.last().map(|n| n.data.clone())
    else {
        panic!("no DidSucceed");
    };
    assert_eq!(
        registrar.socket_addr(),
        SocketAddr::from(([127, 0, 0, 1], k.tcp))
    );
    assert_eq!(registrar.transport, TransportKind::Tcp);
    assert_eq!(expires, 300);
    let user = app
        .account_manager()
        .get_account("alice@sipsimple.test")
        .unwrap()
        .contact_username()
        .to_owned();
    let table = location_table(&k);
    assert!(table.contains(&format!("sip:{user}@127.0.0.1")), "{table}");
    app.stop();
    until(&mut all, "SIPApplicationDidEnd").await;
    assert!(!location_table(&k).contains(&user));
}

/// Waits out one refresh (22 s at the shortest interval the settings
/// allow, 30 s): the binding is renewed with the same Contact.
#[tokio::test]
async fn registration_is_refreshed_before_it_expires() {
    let k = start_kamailio_with(30);
    let app = SipApplication::new();
    let mut all = app.notification_center().subscribe(Filter::all());
    app.start(account_config_with(&k, "secret", 30))
        .await
        .unwrap();
    let first = until(&mut all, "SIPAccountRegistrationDidSucceed").await;
    let contact = |ns: &[Notification]| match ns.last().map(|n| &n.data) {
        Some(NotificationData::SIPAccountRegistrationDidSucceed {
            contact_header,
            expires,
            ..
        }) => (contact_header.clone(), *expires),
        _ => panic!("no DidSucceed"),
    };
    let (c1, e1) = contact(&first);
    assert_eq!(e1, 30);
    let refreshed = tokio::time::timeout(
        Duration::from_secs(40),
        until(&mut all, "SIPAccountRegistrationDidSucceed"),
    )
    .await
    .expect("a refresh within the expiry");
    assert_eq!(
        names(&refreshed).first(),
        Some(&"SIPAccountRegistrationWillRefresh"),
        "{:?}",
        names(&refreshed)
    );
    let (c2, e2) = contact(&refreshed);
    assert_eq!((c2.as_str(), e2), (c1.as_str(), 30), "same binding renewed");
    let user = app
        .account_manager()
        .get_account("alice@sipsimple.test")
        .unwrap()
        .contact_username()
        .to_owned();
    assert!(location_table(&k).contains(&user));
    app.stop();
    until(&mut all, "SIPApplicationDidEnd").await;
}

/// A registered user's application, its account's password `secret`.
async fn registered(
    k: &Kamailio,
    user: &str,
) -> (SipApplication, sipsimple::notification::Subscription) {
    common::registered_app(k.udp, user).await
}

/// Alice calls bob through Kamailio: both registered with digest, the
/// INVITE challenged with 407 and answered by the session, relayed to
/// bob's binding, record-routed; audio flows both ways; bob hangs up and
/// the BYE follows the route set back through Kamailio.
#[tokio::test]
async fn a_call_through_kamailio_with_auth_carries_audio_and_ends() {
    use media::tone::{goertzel, ToneGenerator};
    use sdp::offer_answer::Codec;
    use sipsimple::streams::audio::{AudioSource, AudioStream};

    let k = start_kamailio();
    let (alice, mut alice_all) = registered(&k, "alice").await;
    let (bob, mut bob_all) = registered(&k, "bob").await;
    let tone = |hz: f64| async move {
        std::sync::Arc::new(
            AudioStream::new(
                "127.0.0.1".parse().unwrap(),
                (50000, 50500),
                vec![Codec::pcmu()],
                AudioSource::Tone(ToneGenerator::new(8000, &[hz], 8000)),
            )
            .await
            .inspect(|s| s.keep_received(600))
            .unwrap(),
        )
    };
    let alice_audio = tone(440.0).await;
    let account = alice.account_manager().accounts().remove(0);
    alice
        .session_manager()
        .connect(
            &account,
            "sip:bob@sipsimple.test",
            vec![alice_audio.clone()],
        )
        .await
        .unwrap();
    let n = until(&mut bob_all, "SIPSessionNewIncoming").await;
    let sender = n.last().unwrap().sender;
    let session = bob
        .session_manager()
        .sessions()
        .into_iter()
        .find(|s| s.sender() == sender)
        .unwrap();
    assert!(session.remote_identity().contains("alice@sipsimple.test"));
    let bob_audio = tone(1000.0).await;
    session.accept(vec![bob_audio.clone()]).await.unwrap();
    let started = until(&mut alice_all, "SIPSessionDidStart").await;
    assert!(!names(&started).contains(&"SIPSessionDidFail"));
    until(&mut bob_all, "SIPSessionDidStart").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let heard = bob_audio.recorded();
    assert!(heard.len() >= 6400, "bob got {} samples", heard.len());
    assert!(goertzel(&heard, 8000, 440.0) > 100.0 * goertzel(&heard, 8000, 1000.0));
    let heard = alice_audio.recorded();
    assert!(goertzel(&heard, 8000, 1000.0) > 100.0 * goertzel(&heard, 8000, 440.0));

    session.end().await.unwrap();
    let ended = until(&mut alice_all, "SIPSessionDidEnd").await;
    let started: Vec<_> = started.into_iter().chain(ended.iter().cloned()).collect();
    // On the wire: Kamailio challenged the INVITE, alice answered with
    // Proxy-Authorization (traces mask its value), and the 200 came back
    // record-routed.
    let wire: Vec<(bool, String)> = started
        .iter()
        .filter_map(|n| match &n.data {
            NotificationData::SIPEngineSIPTrace { received, text, .. } => {
                Some((*received, text.clone()))
            }
            _ => None,
        })
        .collect();
    assert!(wire.iter().any(|(r, t)| *r && t.starts_with("SIP/2.0 407")));
    assert!(wire.iter().any(|(r, t)| !*r
        && t.starts_with("INVITE ")
        && t.contains("Proxy-Authorization: ***masked***")));
    assert!(wire
        .iter()
        .any(|(r, t)| *r && t.starts_with("SIP/2.0 200") && t.contains("Record-Route:")));

    assert!(matches!(
        ended.last().unwrap().data,
        NotificationData::SIPSessionDidEnd {
            originator: "remote",
            ..
        }
    ));
    until(&mut bob_all, "SIPSessionDidEnd").await;
    alice.stop();
    bob.stop();
    until(&mut alice_all, "SIPApplicationDidEnd").await;
    until(&mut bob_all, "SIPApplicationDidEnd").await;
}
