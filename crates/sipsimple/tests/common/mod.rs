//! Helpers shared by the engine, TLS and interop tests.
#![allow(dead_code)] // each test binary uses a different subset

pub mod chat_call;
pub mod raw_msrp;
pub mod sipp;

use std::net::SocketAddr;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sip_proto::headers::HeaderName;
use sip_proto::transaction::{Event, Target};
use sip_proto::uri::Uri;
use sip_proto::{Message, Method, Request, Response, StatusCode};
use sipsimple::engine::{Engine, EngineEvent, TransportKind};
use tokio::sync::mpsc::{self, Receiver};
use tokio::time::timeout;

/// A port free for both UDP and TCP on 127.0.0.1 (a peer binds it next).
pub fn free_port() -> u16 {
    loop {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A request from `local` to `peer`: transaction `n`, CSeq `cseq`, with a
/// Via for transport `t`, tags, a Call-ID unique per process, no body.
pub fn request(
    method: Method,
    local: SocketAddr,
    peer: SocketAddr,
    t: TransportKind,
    n: u32,
    cseq: u32,
) -> Request {
    let mut r = Request::new(
        method.clone(),
        &Uri::parse(&format!("sip:bob@{peer}")).unwrap(),
    );
    let h = &mut r.headers;
    h.push(
        HeaderName::Via,
        format!(
            "SIP/2.0/{} {local};branch=z9hG4bKt{n}x{cseq};rport",
            t.via_name()
        ),
    );
    h.push(HeaderName::MaxForwards, "70");
    h.push(HeaderName::From, format!("<sip:alice@{local}>;tag=a{n}"));
    h.push(HeaderName::To, format!("<sip:bob@{peer}>"));
    h.push(
        HeaderName::CallId,
        format!("t{n}-{}@127.0.0.1", std::process::id()),
    );
    h.push(HeaderName::CSeq, format!("{cseq} {method}"));
    h.push(HeaderName::ContentLength, "0");
    r
}

/// `req` with a text body and matching Content-Type/Length.
pub fn with_body(req: Request, content_type: &str, body: &str) -> Request {
    let mut m = Message::Request(req);
    m.set_body(content_type, body.to_owned());
    match m {
        Message::Request(r) => r,
        Message::Response(_) => unreachable!(),
    }
}

/// The next final response; panics on a transaction failure or after 20 s.
pub async fn final_response(events: &mut Receiver<EngineEvent>) -> Response {
    loop {
        let ev = timeout(Duration::from_secs(20), events.recv())
            .await
            .expect("an answer within 20 s")
            .expect("engine running");
        match ev {
            EngineEvent::Transaction(Event::Response { response, .. })
                if response.status.is_final() =>
            {
                return response
            }
            EngineEvent::Transaction(Event::Timeout { .. }) => panic!("transaction failed"),
            _ => {}
        }
    }
}

/// Answers every request 200 and reports what arrived, and from where.
pub fn serve(engine: Engine, mut events: Receiver<EngineEvent>) -> Receiver<(Request, Target)> {
    let (tx, rx) = mpsc::channel(1024);
    tokio::spawn(async move {
        while let Some(ev) = events.recv().await {
            if let EngineEvent::Transaction(Event::Request {
                key,
                request,
                source,
            }) = ev
            {
                let ok = Response::for_request(&request, StatusCode::OK, Some("srv"));
                let _ = engine.send_response(&key, ok).await;
                let _ = tx.try_send((request, source));
            }
        }
    });
    rx
}

/// A CA and a server certificate for one DNS name only (no address in it,
/// so a verification against 127.0.0.1 would fail).
pub struct Pki {
    pub ca: CertificateDer<'static>,
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    pub chain_pem: String,
    pub key_pem: String,
}

pub fn pki(name: &str) -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec![name.to_owned()])
        .unwrap()
        .signed_by(&key, &Issuer::from_params(&ca_params, &ca_key))
        .unwrap();
    Pki {
        ca: ca.der().clone(),
        chain: vec![cert.der().clone(), ca.der().clone()],
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        chain_pem: cert.pem() + &ca.pem(),
        key_pem: key.serialize_pem(),
    }
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir =
            std::env::temp_dir().join(format!("sipsimple-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A dnsmasq (Debian package dnsmasq-base) serving `zone` (dnsmasq
/// arguments such as `--srv-host=...`) for `domain` on a free loopback
/// port; stopped on drop.
pub struct Dnsmasq {
    child: std::process::Child,
    pub addr: SocketAddr,
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn dnsmasq(domain: &str, zone: &[String]) -> Dnsmasq {
    // dnsmasq listens on UDP and TCP at one port: a port free for UDP a
    // moment ago may be taken on TCP by another test's connection, and
    // dnsmasq then exits at once. Such a start is tried again elsewhere.
    for _ in 0..5 {
        let port = loop {
            let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            let port = udp.local_addr().unwrap().port();
            if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
                break port;
            }
        };
        let child = std::process::Command::new("dnsmasq")
            .args([
                "--no-daemon",
                "--conf-file=/dev/null",
                "--no-resolv",
                "--no-hosts",
                "--pid-file=",
                "--listen-address=127.0.0.1",
                "--bind-interfaces",
                &format!("--port={port}"),
                &format!("--local=/{domain}/"),
            ])
            .args(zone)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("dnsmasq is installed (scripts/test.sh installs dnsmasq-base)");
        let mut server = Dnsmasq {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        // Ready once it answers at all (NXDOMAIN for a name it does not
        // have); gone if it could not bind.
        let probe =
            sipsimple::lookup::DnsLookup::new(&[server.addr], Duration::from_millis(200), 1);
        for _ in 0..50 {
            let r = probe
                .lookup_service(&format!("probe.{domain}"), "stun")
                .await
                .result;
            if !matches!(r, Err(sipsimple::lookup::LookupError::Timeout(_))) {
                return server;
            }
            if let Ok(Some(_)) = server.child.try_wait() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    panic!("dnsmasq did not start");
}

/// The next notification; panics after 40 s (long enough for a
/// registration refresh at the shortest interval, 22 s).
pub async fn next_notification(
    sub: &mut sipsimple::notification::Subscription,
) -> sipsimple::notification::Notification {
    timeout(Duration::from_secs(40), sub.next())
        .await
        .expect("a notification within 40 s")
        .expect("center alive")
}

/// Every notification up to and including the first named `last`.
pub async fn until(
    sub: &mut sipsimple::notification::Subscription,
    last: &str,
) -> Vec<sipsimple::notification::Notification> {
    let mut seen = Vec::new();
    loop {
        let n = timeout(Duration::from_secs(40), sub.next())
            .await
            .unwrap_or_else(|_| panic!("no {last} within 40 s; saw {:?}", names(&seen)))
            .expect("center alive");
        let done = n.name() == last;
        seen.push(n);
        if done {
            return seen;
        }
    }
}

pub fn names(ns: &[sipsimple::notification::Notification]) -> Vec<&str> {
    ns.iter().map(|n| n.name()).collect()
}

/// An application on 127.0.0.1 (UDP) with one enabled account
/// `user@example.test` that registers nowhere: the calling and answering
/// side of the session tests.
pub async fn account_app(user: &str) -> sipsimple::application::SipApplication {
    account_app_with(user, "", "").await
}

/// `account_app` with more settings: `global` TOML lines (tables of
/// their own, e.g. `[audio]...`) before `[sip]`, `account` lines in the
/// account's table.
pub async fn account_app_with(
    user: &str,
    global: &str,
    account: &str,
) -> sipsimple::application::SipApplication {
    let app = sipsimple::application::SipApplication::new();
    let config = format!(
        "local_ip = \"127.0.0.1\"\n{global}[sip]\ntransport_list = [\"udp\"]\n\
         [accounts.\"{user}@example.test\"]\nenabled = true\nregistration.enabled = false\n\
         {account}"
    );
    app.start(sipsimple::config::MemoryBackend::with(
        config.parse().unwrap(),
    ))
    .await
    .unwrap();
    app
}

/// An audio stream on 127.0.0.1 playing a tone of `hz`.
pub async fn tone_stream(
    hz: f64,
    codecs: Vec<sdp::offer_answer::Codec>,
) -> std::sync::Arc<sipsimple::streams::audio::AudioStream> {
    std::sync::Arc::new(
        sipsimple::streams::audio::AudioStream::new(
            "127.0.0.1".parse().unwrap(),
            (50000, 50500),
            codecs,
            sipsimple::streams::audio::AudioSource::Tone(media::tone::ToneGenerator::new(
                8000,
                &[hz],
                8000,
            )),
        )
        .await
        .inspect(|s| s.keep_received(600))
        .unwrap(),
    )
}

/// A PCMU call from `caller`'s first account to `callee` whose stream sends
/// and plays through `caller`'s voice mixer (its devices).
pub async fn call_on_voice_mixer(
    caller: &sipsimple::application::SipApplication,
    callee: &sipsimple::application::SipApplication,
) -> (
    sipsimple::session::Session,
    std::sync::Arc<sipsimple::streams::audio::AudioStream>,
) {
    let stream = std::sync::Arc::new(
        sipsimple::streams::audio::AudioStream::new(
            "127.0.0.1".parse().unwrap(),
            (50000, 50500),
            vec![sdp::offer_answer::Codec::pcmu()],
            sipsimple::streams::audio::AudioSource::Silence,
        )
        .await
        .unwrap(),
    );
    stream.attach(&caller.voice_audio_mixer().unwrap()).unwrap();
    let account = caller.account_manager().accounts().remove(0);
    let call = caller
        .session_manager()
        .connect(&account, &contact_uri(callee), vec![stream.clone()])
        .await
        .unwrap();
    (call, stream)
}

/// The originator and hold state a SIPSessionDidChangeHoldState (the last
/// of `n`) reports.
pub fn hold_state(n: &[sipsimple::notification::Notification]) -> (&'static str, bool) {
    match n.last().unwrap().data {
        sipsimple::notification::NotificationData::SIPSessionDidChangeHoldState {
            originator,
            on_hold,
            ..
        } => (originator, on_hold),
        ref other => panic!("{other:?}"),
    }
}

/// The session a SIPSessionNewIncoming (the next one on `sub`) is about.
pub async fn incoming_session(
    app: &sipsimple::application::SipApplication,
    sub: &mut sipsimple::notification::Subscription,
) -> sipsimple::session::Session {
    let n = until(sub, "SIPSessionNewIncoming").await;
    let sender = n.last().unwrap().sender;
    app.session_manager()
        .sessions()
        .into_iter()
        .find(|s| s.sender() == sender)
        .expect("the session of the notification")
}

/// The URI that reaches `app`'s first account over UDP on loopback.
pub fn contact_uri(app: &sipsimple::application::SipApplication) -> String {
    let account = app.account_manager().accounts().remove(0);
    let addr = app
        .engine()
        .unwrap()
        .local_addr(sipsimple::engine::TransportKind::Udp)
        .unwrap();
    format!("sip:{}@{addr}", account.contact_username())
}

/// An application whose account `user@sipsimple.test` (password `secret`)
/// registered through the proxy on 127.0.0.1:`proxy_udp` (the tests'
/// Kamailio); its subscription has seen the registration succeed.
pub async fn registered_app(
    proxy_udp: u16,
    user: &str,
) -> (
    sipsimple::application::SipApplication,
    sipsimple::notification::Subscription,
) {
    registered_app_with(proxy_udp, user, "").await
}

/// [`registered_app`] with more `account` lines in the account's table.
pub async fn registered_app_with(
    proxy_udp: u16,
    user: &str,
    account: &str,
) -> (
    sipsimple::application::SipApplication,
    sipsimple::notification::Subscription,
) {
    let app = sipsimple::application::SipApplication::new();
    let mut all = app
        .notification_center()
        .subscribe(sipsimple::notification::Filter::all());
    let text = format!(
        "local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = [\"udp\"]\n\
         [logging]\ntrace_sip = true\n\
         [accounts.\"{user}@sipsimple.test\"]\nenabled = true\n\
         auth.password = \"secret\"\n\
         sip.outbound_proxy = \"sip:127.0.0.1:{proxy_udp}\"\n\
         registration.interval = 600\n{account}"
    );
    app.start(sipsimple::config::MemoryBackend::with(
        text.parse().unwrap(),
    ))
    .await
    .unwrap();
    until(&mut all, "SIPAccountRegistrationDidSucceed").await;
    (app, all)
}

/// Writes `seconds` of a `hz` tone as a mono 16-bit WAV at `rate`.
pub fn write_tone(path: &std::path::Path, rate: u32, hz: f64, seconds: f64) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let mut t = media::tone::ToneGenerator::new(rate, &[hz], 8000);
    let mut buf = vec![0i16; (f64::from(rate) * seconds) as usize];
    t.fill(&mut buf);
    for s in buf {
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
}

/// Alice and Bob: two [`account_app`]s on loopback, and a subscription to
/// every notification each posts (alice's, then bob's).
pub async fn alice_and_bob() -> (
    sipsimple::application::SipApplication,
    sipsimple::application::SipApplication,
    sipsimple::notification::Subscription,
    sipsimple::notification::Subscription,
) {
    let alice = account_app("alice").await;
    let bob = account_app("bob").await;
    let filter = sipsimple::notification::Filter::all;
    let alice_all = alice.notification_center().subscribe(filter());
    let bob_all = bob.notification_center().subscribe(filter());
    (alice, bob, alice_all, bob_all)
}

/// Alice calls Bob from her first account with `streams`: her session,
/// and Bob's once his SIPSessionNewIncoming is posted (seen on `bob_all`).
pub async fn alice_calls_bob(
    alice: &sipsimple::application::SipApplication,
    bob: &sipsimple::application::SipApplication,
    bob_all: &mut sipsimple::notification::Subscription,
    streams: Vec<std::sync::Arc<dyn sipsimple::streams::MediaStream>>,
) -> (sipsimple::session::Session, sipsimple::session::Session) {
    let account = alice.account_manager().accounts().remove(0);
    let call = alice
        .session_manager()
        .connect(&account, &contact_uri(bob), streams)
        .await
        .unwrap();
    (call, incoming_session(bob, bob_all).await)
}
