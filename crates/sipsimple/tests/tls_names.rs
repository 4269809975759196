//! Two names at one address (RFC 5922 §4). A server proves the name of
//! the URI used to reach it, so two domains served at one address, or a
//! proxy's address that is also a callee's domain, are two servers to a
//! client: each name gets a TLS connection verified for it (unless one
//! certificate names both), and what belongs to a connection, responses
//! and the requests of its transactions, keeps going over it.

use std::net::SocketAddr;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use sip_proto::headers::HeaderName;
use sip_proto::transaction::{Event, Target};
use sip_proto::{Message, Method, Request, Response, StatusCode};
use sipsimple::engine::{Engine, EngineConfig, EngineEvent, TlsSettings, TransportKind};
use tokio::sync::mpsc::Receiver;
use tokio::time::timeout;

mod common;

const SERVER_NAME: &str = "sip.example.test";

const OTHER_NAME: &str = "other.example.test";

/// A CA of the test's own, issuing a certificate per call.
struct Ca {
    params: rcgen::CertificateParams,
    key: rcgen::KeyPair,
    cert: rcgen::Certificate,
}

/// A certificate issued by a [`Ca`], with its key, in DER and as PEM
/// (certificate, CA and key: what `tls.certificate` reads).
struct Issued {
    chain: Vec<CertificateDer<'static>>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
    pem: String,
}

impl Ca {
    fn new() -> Ca {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).unwrap();
        Ca { params, key, cert }
    }

    fn der(&self) -> CertificateDer<'static> {
        self.cert.der().clone()
    }

    /// A certificate naming `names` (subjectAltName dNSName each).
    fn issue(&self, names: &[&str]) -> Issued {
        let key = rcgen::KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let issuer = rcgen::Issuer::from_params(&self.params, &self.key);
        let cert = rcgen::CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        Issued {
            chain: vec![cert.der().clone(), self.der()],
            key: rustls::pki_types::PrivateKeyDer::Pkcs8(
                rustls::pki_types::PrivatePkcs8KeyDer::from(key.serialize_der()),
            ),
            pem: cert.pem() + &self.cert.pem() + &key.serialize_pem(),
        }
    }
}

/// A TLS server at one address holding one certificate per name and
/// presenting the one the client's SNI asks for, as a host serving two
/// domains does (no certificate for an unknown name: no handshake). It
/// answers each request 200 with the SNI name as reason phrase, so the
/// client sees which name the connection was opened for.
struct SniServer {
    addr: SocketAddr,
    /// (method, SNI name) of each request, in order.
    seen: std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>,
    accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SniServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SniServer {
    fn accepted(&self) -> usize {
        self.accepted.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn seen(&self) -> Vec<(String, String)> {
        self.seen.lock().unwrap().clone()
    }
}

async fn sni_server(ca: &Ca, names: &[&str]) -> SniServer {
    use std::sync::Arc;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut by_name = rustls::server::ResolvesServerCertUsingSni::new();
    for name in names {
        let issued = ca.issue(&[name]);
        let signer = provider.key_provider.load_private_key(issued.key).unwrap();
        let certified = rustls::sign::CertifiedKey::new(issued.chain, signer);
        by_name.add(name, certified).unwrap();
    }
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(by_name));
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (seen_, accepted_) = (seen.clone(), accepted.clone());
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, seen, accepted) = (acceptor.clone(), seen_.clone(), accepted_.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                accepted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let sni = tls.get_ref().1.server_name().unwrap_or("").to_owned();
                answer_all(tls, &sni, &seen).await;
            });
        }
    });
    SniServer {
        addr,
        seen,
        accepted,
        task,
    }
}

/// Reads requests off one connection and answers each but ACK 200, the
/// reason phrase `sni`, until the peer closes it; one with `Subject:
/// ring` only 180. A request with `Subject: call back` is followed by an
/// INVITE of ours over the same connection; responses that come back are
/// recorded as `("<code> <method>", sni)`.
async fn answer_all(
    mut tls: tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    sni: &str,
    seen: &std::sync::Mutex<Vec<(String, String)>>,
) {
    use sip_proto::{Frame, StreamFramer};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut framer = StreamFramer::new(sip_proto::Limits::default());
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match tls.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if framer.push(&buf[..n]).is_err() {
            return;
        }
        while let Ok(Some(frame)) = framer.next_frame() {
            let r = match frame {
                Frame::Message(Message::Request(r)) => r,
                Frame::Message(Message::Response(r)) => {
                    let method = r.headers.get_str(&HeaderName::CSeq).unwrap_or("");
                    let method = method.split_whitespace().last().unwrap_or("");
                    let what = format!("{} {method}", r.status.code());
                    seen.lock().unwrap().push((what, sni.to_owned()));
                    continue;
                }
                _ => continue,
            };
            seen.lock()
                .unwrap()
                .push((r.method.to_string(), sni.to_owned()));
            if r.method == Method::Ack {
                continue;
            }
            let subject = r.headers.get_str(&HeaderName::Subject);
            let status = match subject {
                Some("ring") => StatusCode::new(180).unwrap(),
                _ => StatusCode::OK,
            };
            let mut ok = Response::for_request(&r, status, Some("sni"));
            ok.set_reason(sni);
            let mut out = Message::Response(ok).to_bytes().to_vec();
            if subject == Some("call back") {
                out.extend_from_slice(call_back(sni).as_bytes());
            }
            if tls.write_all(&out).await.is_err() {
                return;
            }
        }
    }
}

/// An INVITE from the server to whoever is at the other end.
fn call_back(sni: &str) -> String {
    format!(
        "INVITE sip:client@127.0.0.1 SIP/2.0\r\n\
         Via: SIP/2.0/TLS {sni};branch=z9hG4bKback\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:server@{sni}>;tag=back\r\n\
         To: <sip:client@127.0.0.1>\r\n\
         Call-ID: back@{sni}\r\n\
         CSeq: 1 INVITE\r\n\
         Contact: <sip:server@{sni};transport=tls>\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

/// An engine listening for TLS with `issued` as its certificate, for
/// every name, answering every request 200.
async fn tls_server(issued: Issued) -> Engine {
    let cfg = EngineConfig {
        tls_port: Some(0),
        tls: TlsSettings {
            identity: Some((issued.chain, issued.key)),
            roots: vec![],
            verify_server: true,
            public_roots: false,
        },
        ..EngineConfig::default()
    };
    let (engine, events) = Engine::start(cfg).await.unwrap();
    let _requests = common::serve(engine.clone(), events);
    engine
}

/// An engine trusting `ca` only and verifying servers.
async fn client(ca: CertificateDer<'static>) -> (Engine, Receiver<EngineEvent>) {
    let cfg = EngineConfig {
        tls: TlsSettings {
            identity: None,
            roots: vec![ca],
            verify_server: true,
            public_roots: false,
        },
        ..EngineConfig::default()
    };
    Engine::start(cfg).await.unwrap()
}

fn options(c: &Engine, n: u32, target: Target) -> Request {
    let local = c.local_addr(TransportKind::Udp).unwrap();
    common::request(
        Method::Options,
        local,
        target.addr,
        TransportKind::Tls,
        n,
        n,
    )
}

/// The final response to OPTIONS `n` sent to `target` for `name`, or
/// the transport's reason for failing it.
async fn options_for(
    c: &Engine,
    n: u32,
    target: Target,
    name: &str,
) -> Result<Response, Option<String>> {
    let mut answers = c
        .request(options(c, n, target), target, Some(name))
        .await
        .unwrap();
    let response = timeout(Duration::from_secs(10), answers.final_response())
        .await
        .expect("an outcome in 10 s");
    response.ok_or_else(|| answers.failure())
}

/// Two domains served at one address: each name's requests go over a
/// connection of its own, opened with that name as SNI and verified
/// against it, and keep going over it.
#[tokio::test]
async fn two_names_at_one_address_get_a_connection_each_verified_for_its_own() {
    let ca = Ca::new();
    let server = sni_server(&ca, &[SERVER_NAME, OTHER_NAME]).await;
    let (c, _events) = client(ca.der()).await;
    let target = Target {
        addr: server.addr,
        transport: TransportKind::Tls,
    };
    for (n, name) in [
        (1, SERVER_NAME),
        (2, OTHER_NAME),
        (3, SERVER_NAME),
        (4, OTHER_NAME),
    ] {
        let ok = options_for(&c, n, target, name).await.unwrap();
        assert_eq!(ok.status, StatusCode::OK);
        assert_eq!(
            ok.reason(),
            name,
            "request {n} went over another name's connection"
        );
    }
    assert_eq!(c.stats().await.unwrap().connections, 2);
    assert_eq!(server.accepted(), 2);
    c.shutdown().await;
}

/// A request the server sends over the connection of one name (while
/// the last request goes out for the other) is answered over that same
/// connection (RFC 3261 §18.2.2), and so is a 2xx sent again outside
/// the transaction, as a dialog retransmits it (§13.3.1.4).
#[tokio::test]
async fn a_request_over_one_names_connection_is_answered_over_it() {
    let ca = Ca::new();
    let server = sni_server(&ca, &[SERVER_NAME, OTHER_NAME]).await;
    let (c, mut events) = client(ca.der()).await;
    let target = Target {
        addr: server.addr,
        transport: TransportKind::Tls,
    };
    options_for(&c, 1, target, OTHER_NAME).await.unwrap();
    let mut call_me = options(&c, 2, target);
    call_me.headers.push(HeaderName::Subject, "call back");
    let mut answers = c.request(call_me, target, Some(SERVER_NAME)).await.unwrap();
    assert!(answers.final_response().await.is_some());
    let (key, invite, source) = loop {
        let ev = timeout(Duration::from_secs(10), events.recv())
            .await
            .expect("the server's INVITE in 10 s")
            .unwrap();
        if let EngineEvent::Transaction(Event::Request {
            key,
            request,
            source,
        }) = ev
        {
            break (key, request, source);
        }
    };
    // The other name's connection is now the last one used.
    options_for(&c, 3, target, OTHER_NAME).await.unwrap();
    let ok = Response::for_request(&invite, StatusCode::OK, Some("client"));
    c.send_response(&key, ok.clone()).await.unwrap();
    c.send_stateless(source, Message::Response(ok))
        .await
        .unwrap();
    let answered = |seen: &[(String, String)]| {
        seen.iter()
            .filter(|(what, _)| what == "200 INVITE")
            .cloned()
            .collect::<Vec<_>>()
    };
    let mut waited = 0;
    while answered(&server.seen()).len() < 2 {
        assert!(waited < 100, "two 200s in 10 s: {:?}", server.seen());
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    let over = |name: &str| ("200 INVITE".to_owned(), name.to_owned());
    assert_eq!(
        answered(&server.seen()),
        vec![over(SERVER_NAME), over(SERVER_NAME)]
    );
    assert_eq!(c.stats().await.unwrap().connections, 2);
    c.shutdown().await;
}

/// A CANCEL goes where its INVITE went (RFC 3261 §9.1), over the INVITE's
/// connection, though a request for the other name went out since.
#[tokio::test]
async fn a_cancel_goes_over_its_invites_connection() {
    let ca = Ca::new();
    let server = sni_server(&ca, &[SERVER_NAME, OTHER_NAME]).await;
    let (c, _events) = client(ca.der()).await;
    let target = Target {
        addr: server.addr,
        transport: TransportKind::Tls,
    };
    let local = c.local_addr(TransportKind::Udp).unwrap();
    let mut invite = common::request(Method::Invite, local, target.addr, TransportKind::Tls, 1, 1);
    invite.headers.push(HeaderName::Subject, "ring");
    let mut answers = c.request(invite, target, Some(SERVER_NAME)).await.unwrap();
    match timeout(Duration::from_secs(10), answers.next())
        .await
        .unwrap()
    {
        Some(Event::Response { response, .. }) => assert_eq!(response.status.code(), 180),
        other => panic!("{other:?}"),
    }
    options_for(&c, 2, target, OTHER_NAME).await.unwrap();
    c.cancel(&answers.key).await.unwrap();
    let cancelled = || {
        server
            .seen()
            .into_iter()
            .filter(|(what, _)| what == "CANCEL")
            .collect::<Vec<_>>()
    };
    let mut waited = 0;
    while cancelled().is_empty() {
        assert!(waited < 100, "a CANCEL in 10 s: {:?}", server.seen());
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    let over = ("CANCEL".to_owned(), SERVER_NAME.to_owned());
    assert_eq!(cancelled(), vec![over]);
    c.shutdown().await;
}

/// A server at the address of a verified connection, asked for another
/// name, must prove that name too: a certificate for the first name only
/// is refused, the request fails on it at once, and the first name goes
/// on over its connection.
#[tokio::test]
async fn a_certificate_for_one_name_is_not_accepted_for_another_at_the_same_address() {
    let ca = Ca::new();
    let server = tls_server(ca.issue(&[SERVER_NAME])).await;
    let target = Target {
        addr: server.local_addr(TransportKind::Tls).unwrap(),
        transport: TransportKind::Tls,
    };
    let (c, _events) = client(ca.der()).await;
    let first = options_for(&c, 1, target, SERVER_NAME).await.unwrap();
    assert_eq!(first.status, StatusCode::OK);
    let why = options_for(&c, 2, target, OTHER_NAME)
        .await
        .expect_err("a certificate for another name")
        .expect("the transport's reason, not Timer F");
    assert!(why.contains(OTHER_NAME), "{why}");
    let again = options_for(&c, 3, target, SERVER_NAME).await.unwrap();
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(c.stats().await.unwrap().connections, 1);
    c.shutdown().await;
    server.shutdown().await;
}

/// One certificate naming both domains proves both: the connection
/// verified for the first carries the second's requests too.
#[tokio::test]
async fn a_certificate_naming_both_names_carries_both_over_one_connection() {
    let ca = Ca::new();
    let server = tls_server(ca.issue(&[SERVER_NAME, OTHER_NAME])).await;
    let target = Target {
        addr: server.local_addr(TransportKind::Tls).unwrap(),
        transport: TransportKind::Tls,
    };
    let (c, _events) = client(ca.der()).await;
    for (n, name) in [(1, SERVER_NAME), (2, OTHER_NAME)] {
        let ok = options_for(&c, n, target, name).await.unwrap();
        assert_eq!(ok.status, StatusCode::OK);
    }
    assert_eq!(c.stats().await.unwrap().connections, 1);
    c.shutdown().await;
    server.shutdown().await;
}

/// An account whose registrar (its domain, `example.test`) and a
/// recipient's domain (`other.example.test`) resolve to one address:
/// the REGISTER goes over a connection verified for the account's
/// domain, the MESSAGE over one verified for the recipient's.
#[tokio::test]
async fn an_account_reaches_its_registrar_and_another_domain_at_one_address_as_each_name() {
    use sipsimple::notification::{Filter, NotificationData};
    let ca = Ca::new();
    let server = sni_server(&ca, &["example.test", OTHER_NAME]).await;
    let port = server.addr.port();
    let dir = common::TempDir::new("tls-names");
    let ca_file = dir.0.join("ca.pem");
    let own_file = dir.0.join("own.pem");
    std::fs::write(&ca_file, ca.cert.pem()).unwrap();
    std::fs::write(&own_file, ca.issue(&["alice.example.test"]).pem).unwrap();
    let dns = common::dnsmasq(
        "example.test",
        &[
            format!("--srv-host=_sips._tcp.example.test,registrar.example.test,{port}"),
            "--host-record=registrar.example.test,127.0.0.1".to_owned(),
            format!("--host-record={OTHER_NAME},127.0.0.1"),
        ],
    )
    .await;
    let alice = sipsimple::application::SipApplication::new();
    let mut all = alice.notification_center().subscribe(Filter::all());
    let config = format!(
        "local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = [\"tls\"]\n\
         [tls]\ncertificate = {:?}\nca_list = {:?}\n\
         [dns]\nnameservers = [\"{}\"]\n\
         [accounts.\"alice@example.test\"]\nenabled = true\nauth.password = \"pw\"\n",
        own_file.display().to_string(),
        ca_file.display().to_string(),
        dns.addr
    );
    alice
        .start(sipsimple::config::MemoryBackend::with(
            config.parse().unwrap(),
        ))
        .await
        .unwrap();
    loop {
        match common::next_notification(&mut all).await.data {
            NotificationData::SIPAccountRegistrationGotAnswer { code, .. } => {
                assert_eq!(code, 200);
                break;
            }
            NotificationData::SIPAccountRegistrationDidFail { error, .. } => panic!("{error}"),
            _ => {}
        }
    }
    let account = alice.account_manager().accounts().remove(0);
    let delivered = account
        .send_message(
            &format!("sip:bob@{OTHER_NAME}:{port};transport=tls"),
            "text/plain",
            "hi",
        )
        .await
        .unwrap();
    assert_eq!(delivered.code, 200);
    assert_eq!(delivered.reason, OTHER_NAME);
    let seen = server.seen();
    let sni_of = |method: &str| {
        seen.iter()
            .find(|(m, _)| m == method)
            .map(|(_, sni)| sni.clone())
    };
    assert_eq!(
        sni_of("REGISTER").as_deref(),
        Some("example.test"),
        "{seen:?}"
    );
    assert_eq!(sni_of("MESSAGE").as_deref(), Some(OTHER_NAME), "{seen:?}");
    assert_eq!(server.accepted(), 2);
    alice.stop();
}
