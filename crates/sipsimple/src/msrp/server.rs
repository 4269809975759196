//! The listening side and the connecting side of MSRP connections.
//!
//! One [`MsrpServer`] per local address serves every session of the
//! application: a connection is accepted, TLS is told from plain MSRP by
//! its first byte (a TLS handshake record starts with 0x16, MSRP with
//! `M`), its first request is read, and the connection goes to the
//! session whose session-id the request's To-Path names (RFC 4975 §5.4;
//! the rest of the binding check is the stream's). Connections nobody
//! waits for are closed.
//!
//! A session takes one connection. Once it has one (its
//! [`SessionBinding`] lives), a request for it arriving on another
//! connection is answered 506 (RFC 4975: the session is already bound to
//! another connection) and that other connection is closed; the bound
//! one goes on undisturbed. A connection handed to a session may carry
//! the first request of another session that waits here: the connection
//! is offered to that one too ([`Handed::Joined`], the `connection::join` module), so
//! a peer that runs several sessions over one connection (RFC 4975 §5.4)
//! is served; a request on it for a session bound elsewhere gets 506.

use crate::sync::lock;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use msrp_proto::headers::ToPath;
use msrp_proto::message::Head;
use msrp_proto::parser::{Event, Limits, Parser};
use msrp_proto::uri::{Host, MsrpUri};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{mpsc, Semaphore};

use super::MsrpIo;
use super::{JoinHook, Joinable};

/// How long an accepted connection may take to send its first request.
const FIRST_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepted connections still being identified at once.
const IDENTIFYING_AT_ONCE: usize = 64;

/// How long a connection refused with 506 is read from after the answer,
/// so that closing it does not reset it before the peer has the answer.
const REFUSED_LINGER: Duration = Duration::from_secs(2);

/// A connection the server handed to a session.
pub struct Accepted {
    pub io: Box<dyn MsrpIo>,
    /// What was read to identify it: the session core reads it first.
    pub initial: Vec<u8>,
    pub peer: SocketAddr,
    pub tls: bool,
    /// The session-id of the sender's own URI: the last of the first
    /// request's From-Path (relays put themselves in front).
    pub from_session: Option<String>,
    /// Set when a session takes the connection: while it lives, other
    /// connections for the session are refused with 506. Keep it as long
    /// as the connection.
    pub binding: Option<SessionBinding>,
    /// Where requests on this connection for other sessions of ours go
    /// ([`super::MsrpConnection::spawn_joinable`]).
    pub joins: Option<JoinHook>,
}

/// What the shared port hands a waiting session.
#[derive(Debug)]
pub enum Handed {
    /// A connection of its own.
    New(Accepted),
    /// A connection another session of ours has, whose peer sent this
    /// session's first request over it; keep `binding` as long as the
    /// session is on it.
    Joined {
        joinable: Joinable,
        binding: SessionBinding,
    },
}

impl Handed {
    /// Runs `session` on the handed connection: a new one (which takes
    /// the peer's further sessions too), or the shared one it joins.
    /// Returns the connection and the binding to keep with it.
    pub fn run(
        self,
        session: msrp_proto::Session,
        sink: super::EventSink,
        trace: Option<super::trace::TraceSink>,
    ) -> Result<(super::MsrpConnection, Option<SessionBinding>), String> {
        match self {
            Handed::New(a) => Ok((
                super::MsrpConnection::spawn_joinable(
                    a.io, a.initial, session, sink, trace, a.joins,
                ),
                a.binding,
            )),
            Handed::Joined { joinable, binding } => {
                Ok((joinable.join(session, sink)?, Some(binding)))
            }
        }
    }
}

/// What the accept loop offers a registration.
enum Offer {
    New(Accepted),
    Join(Joinable),
}

impl std::fmt::Debug for Accepted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accepted")
            .field("peer", &self.peer)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

type Waiting = Mutex<HashMap<String, mpsc::Sender<Offer>>>;

struct ServerInner {
    waiting: Waiting,
    /// Sessions that have their connection, each with the token of its
    /// [`SessionBinding`] (so that an old binding dropped late does not
    /// undo a newer one of the same session-id).
    bound: Mutex<HashMap<String, u64>>,
    next_binding: AtomicU64,
    tls: Option<tokio_rustls::TlsAcceptor>,
    identifying: Semaphore,
    log: super::MsrpLog,
}

/// A listening MSRP port shared by every session.
#[derive(Clone)]
pub struct MsrpServer {
    inner: Arc<ServerInner>,
    local: SocketAddr,
    _task: Arc<AbortOnDrop>,
}

/// Stops the accept loop with the last clone of the server.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl std::fmt::Debug for MsrpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MsrpServer")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

/// A session waiting for its connection; dropping it stops waiting.
pub struct Registration {
    session_id: String,
    rx: mpsc::Receiver<Offer>,
    server: Weak<ServerInner>,
}

/// A session's hold on the connection it took; dropping it lets another
/// connection for the session in again.
pub struct SessionBinding {
    session_id: String,
    token: u64,
    server: Weak<ServerInner>,
}

impl std::fmt::Debug for SessionBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionBinding")
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

impl Drop for SessionBinding {
    fn drop(&mut self) {
        if let Some(s) = self.server.upgrade() {
            let mut bound = lock(&s.bound);
            if bound.get(&self.session_id) == Some(&self.token) {
                bound.remove(&self.session_id);
            }
        }
    }
}

impl Registration {
    /// The next connection naming this session; the session is bound to
    /// it from now on (see [`Accepted::binding`]).
    pub async fn accept(&mut self) -> Option<Accepted> {
        loop {
            // An offer to share a connection is declined (its request
            // gets 481): this caller takes connections of its own.
            if let Offer::New(mut a) = self.rx.recv().await? {
                a.binding = Some(self.bind());
                return Some(a);
            }
        }
    }

    fn bind(&self) -> SessionBinding {
        let token = self
            .server
            .upgrade()
            .map(|s| {
                let token = s.next_binding.fetch_add(1, Ordering::Relaxed);
                lock(&s.bound).insert(self.session_id.clone(), token);
                token
            })
            .unwrap_or_default();
        SessionBinding {
            session_id: self.session_id.clone(),
            token,
            server: self.server.clone(),
        }
    }

    /// The next connection naming this session whose first request comes
    /// from `peer_session` (the session-id of the last URI of the peer's
    /// `a=path`); others are closed. RFC 4975 §5.4 compares the whole
    /// URI; only the session-id is compared, as CEMA (RFC 6714) does,
    /// because middleboxes rewrite the rest and the original SDK's active
    /// side puts a placeholder port in its path.
    pub async fn accept_from(&mut self, peer_session: &str) -> Option<Accepted> {
        loop {
            match self.accept_any_from(peer_session).await? {
                Handed::New(a) => return Some(a),
                // Declined: its request gets 481.
                Handed::Joined { .. } => continue,
            }
        }
    }

    /// [`Registration::accept_from`], taking also a connection shared
    /// with other sessions (see [`Handed`]), by the same rule: the
    /// request that names this session comes from `peer_session`.
    pub async fn accept_any_from(&mut self, peer_session: &str) -> Option<Handed> {
        loop {
            match self.rx.recv().await? {
                Offer::New(mut a) if a.from_session.as_deref() == Some(peer_session) => {
                    a.binding = Some(self.bind());
                    return Some(Handed::New(a));
                }
                Offer::Join(j) if j.from_session.as_deref() == Some(peer_session) => {
                    return Some(Handed::Joined {
                        joinable: j,
                        binding: self.bind(),
                    });
                }
                Offer::New(_) | Offer::Join(_) => {}
            }
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(s) = self.server.upgrade() {
            lock(&s.waiting).remove(&self.session_id);
        }
    }
}

impl MsrpServer {
    /// Listens on `addr` (port 0: any); `tls` lets it accept `msrps:`.
    pub async fn bind(
        addr: SocketAddr,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> std::io::Result<MsrpServer> {
        Self::bind_logged(addr, tls, super::MsrpLog::default()).await
    }

    /// [`MsrpServer::bind`], saying in `log` which connections it turns
    /// away and why.
    pub async fn bind_logged(
        addr: SocketAddr,
        tls: Option<Arc<rustls::ServerConfig>>,
        log: super::MsrpLog,
    ) -> std::io::Result<MsrpServer> {
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let inner = Arc::new(ServerInner {
            waiting: Mutex::new(HashMap::new()),
            bound: Mutex::new(HashMap::new()),
            next_binding: AtomicU64::new(1),
            tls: tls.map(tokio_rustls::TlsAcceptor::from),
            identifying: Semaphore::new(IDENTIFYING_AT_ONCE),
            log,
        });
        let weak = Arc::downgrade(&inner);
        let task = tokio::spawn(accept_loop(listener, weak)).abort_handle();
        Ok(MsrpServer {
            inner,
            local,
            _task: Arc::new(AbortOnDrop(task)),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    pub fn accepts_tls(&self) -> bool {
        self.inner.tls.is_some()
    }

    /// Waits for connections whose first request is for `session_id`.
    pub fn register(&self, session_id: &str) -> Registration {
        let (tx, rx) = mpsc::channel(2);
        lock(&self.inner.waiting).insert(session_id.to_owned(), tx);
        Registration {
            session_id: session_id.to_owned(),
            rx,
            server: Arc::downgrade(&self.inner),
        }
    }

    /// Sessions waiting for a connection.
    pub fn waiting(&self) -> usize {
        lock(&self.inner.waiting).len()
    }
}

async fn accept_loop(listener: TcpListener, server: Weak<ServerInner>) {
    loop {
        let Ok((tcp, peer)) = listener.accept().await else {
            // Out of descriptors and the like: try again shortly.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let Some(inner) = server.upgrade() else {
            return;
        };
        let Ok(permit) = inner.identifying.try_acquire() else {
            inner.log.log(
                super::LogLevel::Warning,
                format!("MSRP connection from {peer} dropped: {IDENTIFYING_AT_ONCE} others are still to send their first request"),
            );
            continue;
        };
        permit.forget();
        let weak = Arc::downgrade(&inner);
        drop(inner);
        tokio::spawn(async move {
            let outcome = tokio::time::timeout(FIRST_REQUEST_TIMEOUT, identify(tcp, peer, &weak))
                .await
                .unwrap_or_else(|_| {
                    Err(format!(
                        "no first request within {} s",
                        FIRST_REQUEST_TIMEOUT.as_secs()
                    ))
                });
            if let Some(inner) = weak.upgrade() {
                inner.identifying.add_permits(1);
                if let Err(why) = outcome {
                    inner.log.log(
                        super::LogLevel::Warning,
                        format!("MSRP connection from {peer} closed: {why}"),
                    );
                }
            }
        });
    }
}

/// Reads the first request of `tcp` and hands the connection on.
async fn identify(
    tcp: TcpStream,
    peer: SocketAddr,
    server: &Weak<ServerInner>,
) -> Result<(), String> {
    let _ = tcp.set_nodelay(true);
    let mut first = [0u8; 1];
    if !matches!(tcp.peek(&mut first).await, Ok(1)) {
        return Err("closed before sending anything".into());
    }
    let tls = first[0] == 0x16;
    let mut io: Box<dyn MsrpIo> = if tls {
        let Some(acceptor) = server.upgrade().and_then(|s| s.tls.clone()) else {
            return Err("TLS, which this port does not take".into());
        };
        match acceptor.accept(tcp).await {
            Ok(t) => Box::new(t),
            Err(e) => return Err(format!("TLS handshake failed: {e}")),
        }
    } else {
        Box::new(tcp)
    };
    let mut parser = Parser::new(Limits::default());
    let mut initial = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    let (session_id, from_session, req) = loop {
        let n = io
            .read(&mut buf)
            .await
            .map_err(|e| format!("reading its first request: {e}"))?;
        if n == 0 {
            return Err("closed before its first request was complete".into());
        }
        let got = buf.get(..n).unwrap_or_default();
        initial.extend_from_slice(got);
        parser
            .feed(got)
            .map_err(|e| format!("its first request is no MSRP: {e}"))?;
        match parser.poll() {
            Ok(Some(Event::Head(Head::Request(req)))) => {
                let Some(Ok(ToPath(path))) = req.headers.typed::<ToPath>() else {
                    return Err("its first request has no valid To-Path".into());
                };
                let from = match req.headers.typed::<msrp_proto::headers::FromPath>() {
                    Some(Ok(msrp_proto::headers::FromPath(p))) => {
                        p.last().and_then(|u| u.session_id.clone())
                    }
                    _ => None,
                };
                match path.first().and_then(|u| u.session_id.clone()) {
                    Some(id) => break (id, from, req),
                    None => return Err("its To-Path names no session".into()),
                }
            }
            Ok(None) => continue,
            Ok(Some(_)) => return Err("it did not start with a request".into()),
            Err(e) => return Err(format!("its first request is no MSRP: {e}")),
        }
    };
    let bound = server
        .upgrade()
        .is_some_and(|s| lock(&s.bound).contains_key(&session_id));
    if bound {
        refuse_in_use(io, parser, &req).await;
        return Err(format!(
            "session {session_id} is bound to another connection (answered 506)"
        ));
    }
    let Some(tx) = server
        .upgrade()
        .and_then(|s| lock(&s.waiting).get(&session_id).cloned())
    else {
        return Err(format!(
            "no session {session_id} waits for a connection here"
        ));
    };
    tx.send(Offer::New(Accepted {
        io,
        initial,
        peer,
        tls,
        from_session,
        binding: None,
        joins: Some(join_hook(server.clone())),
    }))
    .await
    .map_err(|_| format!("session {session_id} stopped waiting"))
}

/// Offers a connection's held request to the session it names, by the
/// rules of a new connection's first request: 506 when the session is
/// bound to another connection, 481 when no session of that id waits.
fn join_hook(server: Weak<ServerInner>) -> JoinHook {
    Arc::new(move |joinable: Joinable| {
        let Some(s) = server.upgrade() else {
            return Err((481, "Session does not exist"));
        };
        if lock(&s.bound).contains_key(&joinable.session_id) {
            s.log.log(
                super::LogLevel::Warning,
                format!(
                    "MSRP request for session {} on a connection it is not bound to (answered 506)",
                    joinable.session_id
                ),
            );
            return Err((506, "Session already in use"));
        }
        let Some(tx) = lock(&s.waiting).get(&joinable.session_id).cloned() else {
            return Err((481, "Session does not exist"));
        };
        tx.try_send(Offer::Join(joinable))
            .map_err(|_| (481, "Session does not exist"))
    })
}

/// Answers `req`, the first request of a connection for a session bound
/// to another one, with 506 once it has arrived whole (when its sender
/// wants a response: none to a REPORT or to `Failure-Report: no`), then
/// closes the connection. It reads on a little after the answer and
/// before closing: closing with unread data would reset the connection,
/// which can destroy the answer before the peer reads it.
async fn refuse_in_use(mut io: Box<dyn MsrpIo>, mut parser: Parser, req: &msrp_proto::Request) {
    let mut buf = vec![0u8; 16 * 1024];
    // The rest of the request: answering in the middle of its body would
    // leave the peer writing into a connection about to close.
    loop {
        match parser.poll() {
            Ok(Some(Event::End(_))) => break,
            Ok(Some(_)) => continue,
            Ok(None) => {}
            Err(_) => return,
        }
        match io.read(&mut buf).await {
            Ok(n) if n > 0 => {
                if parser.feed(buf.get(..n).unwrap_or_default()).is_err() {
                    return;
                }
            }
            _ => return,
        }
    }
    if msrp_proto::session::response_wanted(req, 506) {
        let us = match req.headers.typed::<ToPath>() {
            Some(Ok(ToPath(p))) => p.into_iter().next(),
            _ => None,
        };
        let answer =
            msrp_proto::session::response_to(req, 506, "Session already in use", us.as_ref());
        if let Some(bytes) = answer {
            if io.write_all(&bytes).await.is_err() || io.flush().await.is_err() {
                return;
            }
        }
    }
    let _ = io.shutdown().await;
    let _ = tokio::time::timeout(REFUSED_LINGER, async {
        while matches!(io.read(&mut buf).await, Ok(n) if n > 0) {}
    })
    .await;
}

/// The servers of an application, one per local address, bound when a
/// session first needs one. Cloning shares them.
#[derive(Clone, Default)]
pub struct MsrpEndpoint {
    servers: Arc<tokio::sync::Mutex<HashMap<IpAddr, MsrpServer>>>,
    tls: Arc<Mutex<Option<Arc<rustls::ServerConfig>>>>,
    /// `logging.trace_msrp`: connections made from now on trace.
    trace: Arc<std::sync::atomic::AtomicBool>,
    /// How relays' certificates are checked: the application's TLS
    /// trust (`tls.ca_list`, `tls.verify_server`).
    relay_tls: Arc<Mutex<Option<Arc<rustls::ClientConfig>>>>,
    log: super::MsrpLog,
    relays: super::RelayFinder,
    /// Connections we opened, for `msrp.connection_reuse`.
    pub(super) opened: super::reuse::OpenedConnections,
    /// Connections to relays, for `msrp.connection_reuse`.
    pub(super) relay_connections: super::relay_share::RelayConnections,
}

impl std::fmt::Debug for MsrpEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MsrpEndpoint").finish_non_exhaustive()
    }
}

impl MsrpEndpoint {
    /// The MSRP library's log (MSRPLibraryLog).
    pub fn log(&self) -> &super::MsrpLog {
        &self.log
    }

    /// Relays found by DNS, remembered for a while.
    pub fn relay_finder(&self) -> &super::RelayFinder {
        &self.relays
    }

    /// Turns MSRPTransportTrace on or off for connections made later.
    pub fn set_trace(&self, on: bool) {
        self.trace.store(on, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn tracing(&self) -> bool {
        self.trace.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The TLS client configuration relay connections verify with.
    pub fn set_relay_tls(&self, config: Arc<rustls::ClientConfig>) {
        *lock(&self.relay_tls) = Some(config);
    }

    /// What relay connections verify with: the application's, else the
    /// system default of this crate's TLS (Mozilla's public roots only).
    pub fn relay_tls(&self) -> Result<Arc<rustls::ClientConfig>, String> {
        if let Some(c) = lock(&self.relay_tls).clone() {
            return Ok(c);
        }
        crate::engine::tls::client_config(&crate::engine::TlsSettings {
            verify_server: true,
            public_roots: true,
            ..crate::engine::TlsSettings::default()
        })
        .map_err(|e| e.to_string())
    }

    /// The server on `ip`, bound on first use (any port; TLS with the
    /// application's MSRP certificate).
    pub async fn server(&self, ip: IpAddr) -> std::io::Result<MsrpServer> {
        let mut servers = self.servers.lock().await;
        if let Some(s) = servers.get(&ip) {
            return Ok(s.clone());
        }
        let known = lock(&self.tls).clone();
        let tls = match known {
            Some(t) => t,
            None => {
                let t = super::tls::self_signed_server_config().map_err(std::io::Error::other)?;
                *lock(&self.tls) = Some(t.clone());
                t
            }
        };
        let tls = Some(tls);
        let s = MsrpServer::bind_logged(SocketAddr::new(ip, 0), tls, self.log.clone()).await?;
        servers.insert(ip, s.clone());
        Ok(s)
    }
}

/// A socket bound on `ip` before it connects, so that the port can go in
/// our `a=path` (the active side's URI, RFC 4975 §5.4).
pub fn bind_for_connect(ip: IpAddr) -> std::io::Result<(TcpSocket, SocketAddr)> {
    let socket = match ip {
        IpAddr::V4(_) => TcpSocket::new_v4()?,
        IpAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.bind(SocketAddr::new(ip, 0))?;
    let local = socket.local_addr()?;
    Ok((socket, local))
}

/// Connects `socket` (or a fresh one) to the first hop of a To-Path:
/// TLS for `msrps:`, verified by `client` against the URI's host (a
/// relay), or accepting any certificate when `client` is None (a direct
/// peer: they present self-signed certificates).
pub async fn connect(
    socket: Option<TcpSocket>,
    to: &MsrpUri,
    client: Option<Arc<rustls::ClientConfig>>,
) -> std::io::Result<Box<dyn MsrpIo>> {
    connect_to(socket, to, None, client).await
}

/// [`connect`] to `addr` when given (found by DNS beforehand, or the
/// c=/m= address of a CEMA peer), the URI still naming whom TLS verifies.
pub async fn connect_to(
    socket: Option<TcpSocket>,
    to: &MsrpUri,
    addr: Option<SocketAddr>,
    client: Option<Arc<rustls::ClientConfig>>,
) -> std::io::Result<Box<dyn MsrpIo>> {
    let port = to.port.unwrap_or(2855);
    let addr = match (addr, &to.host) {
        (Some(a), _) => a,
        (None, host) => match host {
            Host::Ipv4(a) => SocketAddr::new(IpAddr::V4(*a), port),
            Host::Ipv6(a) => SocketAddr::new(IpAddr::V6(*a), port),
            Host::Name(n) => tokio::net::lookup_host((n.as_str(), port))
                .await?
                .next()
                .ok_or_else(|| std::io::Error::other(format!("{n} has no address")))?,
        },
    };
    let tcp = match socket {
        Some(s) => s.connect(addr).await?,
        None => TcpStream::connect(addr).await?,
    };
    let _ = tcp.set_nodelay(true);
    if !to.secure {
        return Ok(Box::new(tcp));
    }
    let config = match client {
        Some(c) => c,
        None => super::tls::accept_any_client_config()
            .map_err(|e| std::io::Error::other(e.to_string()))?,
    };
    let name = match &to.host {
        Host::Name(n) => crate::engine::tls::server_name(n)
            .ok_or_else(|| std::io::Error::other("the MSRP URI's host is no TLS name"))?,
        // The URI's address even when `addr` differs (CEMA: a middlebox's
        // c=/m= address): the certificate is the peer's, not the box's.
        Host::Ipv4(a) => rustls::pki_types::ServerName::IpAddress(IpAddr::V4(*a).into()),
        Host::Ipv6(a) => rustls::pki_types::ServerName::IpAddress(IpAddr::V6(*a).into()),
    };
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await?;
    Ok(Box::new(tls))
}
