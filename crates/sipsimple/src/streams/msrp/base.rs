//! MSRPStreamBase: what every MSRP stream does with SDP and its
//! connection. The concrete streams (chat, file transfer, desktop
//! sharing) hold one and handle what arrives.
//!
//! Who connects (RFC 4975 §5.4 with RFC 6135's `a=setup`): the side that
//! offers listens (`actpass`) and the answerer connects (`active`),
//! unless the offer said `active`, then we listen (`passive`). The active
//! side binds its socket before the SDP is written so that the port in
//! its `a=path` is the real one, and opens with an empty SEND that binds
//! the connection to the session. The passive side waits on the
//! application's shared MSRP port for a connection whose first request
//! names its session-id. Where to connect to: `cema` (RFC 6714). The
//! SDP direction and what it allows: `direction`.

use crate::sync::lock;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use msrp_proto::headers::FailureReport;
use msrp_proto::session::RelayBinding;
use msrp_proto::uri::MsrpUri;
use msrp_proto::{Session, SessionConfig};
use sdp::{Attribute, Media, SessionDescription, Setup};
use tokio::net::TcpSocket;

use super::cema::{self, CONNECT_TIMEOUT};
use super::relay_path;

mod abort;
mod accept;
mod direction;
pub use super::remote::RemoteMedia;
use crate::msrp::{
    authorize, bind_for_connect, host_of, new_message_id, new_session_id, ConnectionEvent,
    EventSink, LogLevel, MsrpConnection, MsrpEndpoint, MsrpLog, MsrpRelaySettings, MsrpSendError,
    Registration, RelayLink, SessionBinding,
};
use crate::notification::NotificationData;
use crate::streams::interface::{StreamContext, StreamDirection, StreamError};
use crate::streams::settings::StreamSettings;

/// Chunk size on a path through relays.
pub const RELAY_CHUNK_SIZE: u64 = 8 * 1024;

/// Messages a stream keeps for sending before its connection is up.
pub const MAX_QUEUED_BEFORE_START: usize = 1024;

/// A message for the connection.
#[derive(Debug, Clone)]
pub struct OutgoingMessage {
    pub message_id: String,
    pub content_type: String,
    pub body: Bytes,
    pub success_report: bool,
    pub failure_report: FailureReport,
}

/// Whether the offered m-line `m` is a live MSRP stream of kind `media`
/// (`message`, `application`): TCP/MSRP or TCP/TLS/MSRP, port not 0.
/// What every MSRP stream type checks before its own tests.
pub(crate) fn is_offered_msrp(m: &Media, media: &str) -> bool {
    let msrp = m.protocol.eq_ignore_ascii_case("TCP/MSRP")
        || m.protocol.eq_ignore_ascii_case("TCP/TLS/MSRP");
    msrp && m.port != 0 && m.media.eq_ignore_ascii_case(media)
}

pub use msrp_proto::headers::type_accepted;

enum Role {
    /// We connect, from this socket (taken when connecting).
    Active(Option<TcpSocket>),
    /// We wait on the shared port.
    Passive(Option<Registration>),
    /// We are on our relay through this authorized connection, or a
    /// seat on one shared with other sessions.
    Relay(Option<RelayLink>),
}

struct State {
    role: Option<Role>,
    setup: Setup,
    local_uri: Option<MsrpUri>,
    /// What re-AUTHs the relay binding before it expires.
    binding: Option<RelayBinding>,
    remote: Option<RemoteMedia>,
    connection: Option<Arc<MsrpConnection>>,
    /// The shared port's mark that our session has its connection (when
    /// we were connected to): other connections for it are refused with
    /// 506 while it is kept, so it goes with the connection.
    port_binding: Option<SessionBinding>,
    queued: Vec<OutgoingMessage>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// See the `direction` module.
    direction: direction::Directions,
}

/// What the base and the connection's sink share without the state lock
/// (the sink runs under the connection's lock; the state lock is taken
/// while calling into the connection, so the sink must never take it).
pub(super) struct Flags {
    pub(super) context: OnceLock<StreamContext>,
    ended: AtomicBool,
    deactivated: AtomicBool,
    failed: AtomicBool,
    /// The session hands the peer's NICKNAMEs on (we are a chat room).
    nickname_requests: AtomicBool,
    /// The id of our binding SEND, whose events are not the stream's.
    bind_id: OnceLock<String>,
    /// The connection once it is up (None again when the stream ends).
    connected: tokio::sync::watch::Sender<Option<Arc<MsrpConnection>>>,
    /// The relays in front of our URI in our path (their Use-Path). A
    /// leaf lock: the sink updates it when the relay renews the binding.
    pub(super) relays: Mutex<Vec<MsrpUri>>,
}

/// The spec's MSRPStreamBase.
pub struct MsrpStreamBase {
    /// `message`, `application`, ... (the m-line's media).
    pub media_type: &'static str,
    /// What we take (see the `accept` module).
    accept: Mutex<accept::AcceptTypes>,
    /// The session's chunk size (msrp-proto's default when None).
    pub chunk_size: Option<u64>,
    /// Incoming bodies handed on as they arrive (files), not reassembled.
    pub stream_incoming: bool,
    endpoint: MsrpEndpoint,
    local_ip: IpAddr,
    tls: bool,
    relay: Option<MsrpRelaySettings>,
    relay_discovery: Option<crate::msrp::RelayDiscovery>,
    keepalive_interval: Option<std::time::Duration>,
    connection_reuse: bool,
    /// The peer's offer, for a stream made to answer one.
    offer: Option<RemoteMedia>,
    state: Arc<Mutex<State>>,
    flags: Arc<Flags>,
}

impl std::fmt::Debug for MsrpStreamBase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MsrpStreamBase")
            .field("media_type", &self.media_type)
            .field(
                "local_uri",
                &self.lock().local_uri.as_ref().map(ToString::to_string),
            )
            .finish_non_exhaustive()
    }
}

impl MsrpStreamBase {
    /// A stream by `settings`; `offer` is the peer's m-line when the
    /// stream answers one (its protocol is then ours too).
    pub fn new(
        media_type: &'static str,
        accept_types: Vec<String>,
        accept_wrapped_types: Vec<String>,
        settings: &StreamSettings,
        offer: Option<RemoteMedia>,
    ) -> MsrpStreamBase {
        let tls = settings.msrp.tls;
        MsrpStreamBase {
            media_type,
            accept: Mutex::new(accept::AcceptTypes {
                types: accept_types,
                wrapped: accept_wrapped_types,
            }),
            chunk_size: None,
            stream_incoming: false,
            endpoint: settings.msrp.endpoint.clone(),
            local_ip: settings.local_ip,
            relay: settings.msrp.relay.clone(),
            relay_discovery: settings.msrp.relay_discovery.clone(),
            keepalive_interval: settings.msrp.keepalive_interval,
            connection_reuse: settings.msrp.connection_reuse,
            tls: offer.as_ref().map_or(tls, |o| o.tls),
            offer,
            state: Arc::new(Mutex::new(State {
                role: None,
                setup: Setup::ActPass,
                local_uri: None,
                binding: None,
                remote: None,
                connection: None,
                port_binding: None,
                queued: Vec::new(),
                task: None,
                direction: direction::Directions::default(),
            })),
            flags: Arc::new(Flags {
                context: OnceLock::new(),
                ended: AtomicBool::new(false),
                deactivated: AtomicBool::new(false),
                failed: AtomicBool::new(false),
                nickname_requests: AtomicBool::new(false),
                bind_id: OnceLock::new(),
                connected: tokio::sync::watch::Sender::new(None),
                relays: Mutex::new(Vec::new()),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// The context `initialize` got.
    pub fn context(&self) -> Option<&StreamContext> {
        self.flags.context.get()
    }

    /// Our MSRP URI (the last of our path), once initialized.
    pub fn local_uri(&self) -> Option<MsrpUri> {
        self.lock().local_uri.clone()
    }

    /// The peer's m-line as negotiated (or offered, before the answer).
    pub fn remote_media(&self) -> Option<RemoteMedia> {
        let s = self.lock();
        s.remote.clone().or_else(|| self.offer.clone())
    }

    /// Whether `end` was called or the connection failed: nothing more
    /// can be sent.
    pub fn is_ended(&self) -> bool {
        self.flags.ended.load(Ordering::SeqCst) || self.flags.failed.load(Ordering::SeqCst)
    }

    /// Whether our side of the path goes through our relay.
    pub fn on_relay(&self) -> bool {
        !lock(&self.flags.relays).is_empty()
    }

    /// Whether the path goes through a relay, ours or the peer's: TCP's
    /// back-pressure ends there (see `relay_window`).
    pub fn relayed(&self) -> bool {
        self.on_relay() || self.remote_media().is_some_and(|r| r.path.len() > 1)
    }

    /// The connection, once it is up; None if the stream ends first.
    pub async fn connection(&self) -> Option<Arc<MsrpConnection>> {
        let mut rx = self.flags.connected.subscribe();
        loop {
            if let Some(c) = rx.borrow_and_update().clone() {
                return Some(c);
            }
            if self.is_ended() {
                return None;
            }
            // A failure before the connection wakes us through the end.
            tokio::select! {
                changed = rx.changed() => if changed.is_err() { return None },
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
        }
    }

    /// Whether the connection is up.
    pub fn is_connected(&self) -> bool {
        self.lock().connection.is_some()
    }

    /// The connection if it is up now.
    pub fn current_connection(&self) -> Option<Arc<MsrpConnection>> {
        self.lock().connection.clone()
    }

    /// Whether the peer's NICKNAMEs are handed on (RFC 7701 focus) rather
    /// than answered 501; read when the stream starts.
    pub fn set_nickname_requests(&self, on: bool) {
        self.flags.nickname_requests.store(on, Ordering::SeqCst);
    }

    /// Picks who connects, binds what that needs and makes our URI.
    pub async fn initialize(
        &self,
        context: StreamContext,
        _direction: StreamDirection,
    ) -> Result<(), StreamError> {
        let post = |c: &StreamContext, d| c.center.post(c.sender, d);
        // An offer that listens (RFC 6135 `actpass`, `passive`) is
        // connected to. One that says nothing predates RFC 6135: under
        // RFC 4975 §5.4 its offerer connects (the original SDK's
        // msrplib did), so we listen, as for `active`.
        let active = matches!(
            self.offer.as_ref().and_then(|o| o.setup),
            Some(Setup::ActPass) | Some(Setup::Passive)
        );
        let session_id = new_session_id();
        // With a relay (RFC 4976), incoming sessions always use it and
        // ours when the account says so: a client behind NAT can neither
        // be reached nor count on reaching the peer's first hop.
        let relay = match (&self.relay, &self.relay_discovery) {
            (Some(r), _) => Some(r.clone()),
            (None, Some(d)) if self.offer.is_some() || d.for_outbound => {
                self.endpoint.relay_finder().find(d).await
            }
            _ => None,
        };
        let relay = relay.filter(|r| self.offer.is_some() || r.for_outbound);
        if let Some(relay) = &relay {
            let verified = self.endpoint.relay_tls();
            let authorized = match verified {
                Ok(tls) if self.connection_reuse => {
                    let trace = self.trace_sink(&context);
                    self.endpoint
                        .authorize_shared(relay, &session_id, tls, trace)
                        .await
                }
                Ok(tls) => authorize(relay, &session_id, tls).await,
                Err(e) => Err(format!("no TLS configuration for the MSRP relay: {e}")),
            };
            let log = self.endpoint.log();
            let path = match authorized {
                Ok(p) => {
                    let use_path: Vec<String> = p
                        .authorized
                        .use_path
                        .iter()
                        .map(ToString::to_string)
                        .collect();
                    log.log(
                        LogLevel::Info,
                        format!(
                            "MSRP relay {} authorized session {session_id}; Use-Path {}",
                            relay.uri,
                            use_path.join(" ")
                        ),
                    );
                    p
                }
                Err(e) => {
                    log.log(LogLevel::Error, e.clone());
                    post(
                        &context,
                        NotificationData::MediaStreamDidFail { reason: e.clone() },
                    );
                    return Err(e.into());
                }
            };
            let mut s = self.lock();
            s.role = Some(Role::Relay(Some(path.link)));
            // Through the relay we can connect but not be connected to
            // directly: to an offer that listens (or lets us choose) we
            // are the active side, our binding SEND making the relay
            // connect on; an offerer that connects itself (`active`, or
            // RFC 4975 without `a=setup`) reaches us at the relay.
            s.setup = match self.offer.as_ref().map(|o| o.setup) {
                None => Setup::ActPass,
                Some(Some(Setup::ActPass)) | Some(Some(Setup::Passive)) => Setup::Active,
                Some(_) => Setup::Passive,
            };
            // AUTH went to the relay's URI without a session-id.
            let mut relay_uri = relay.uri.clone();
            relay_uri.session_id = None;
            s.binding = path.authorized.expires.map(|secs| RelayBinding {
                relay: relay_uri,
                username: relay.username.clone(),
                password: relay.password.clone(),
                use_path: path.authorized.use_path.clone(),
                expires: Duration::from_secs(u64::from(secs)),
                granted_at: std::time::Instant::now(),
            });
            s.local_uri = Some(path.local);
            drop(s);
            *lock(&self.flags.relays) = path.authorized.use_path;
            let _ = self.flags.context.set(context.clone());
            post(&context, NotificationData::MediaStreamDidInitialize);
            return Ok(());
        }
        let result: Result<(Role, Setup, u16), String> = if active {
            bind_for_connect(self.local_ip)
                .map(|(socket, local)| (Role::Active(Some(socket)), Setup::Active, local.port()))
                .map_err(|e| format!("cannot bind an MSRP socket: {e}"))
        } else {
            match self.endpoint.server(self.local_ip).await {
                Ok(server) => Ok((
                    Role::Passive(Some(server.register(&session_id))),
                    if self.offer.is_some() {
                        Setup::Passive
                    } else {
                        Setup::ActPass
                    },
                    server.local_addr().port(),
                )),
                Err(e) => Err(format!("cannot listen for MSRP: {e}")),
            }
        };
        let (role, setup, port) = match result {
            Ok(r) => r,
            Err(e) => {
                post(
                    &context,
                    NotificationData::MediaStreamDidFail { reason: e.clone() },
                );
                return Err(e.into());
            }
        };
        let uri = MsrpUri::new(
            self.tls,
            host_of(self.local_ip),
            Some(port),
            Some(&session_id),
        );
        {
            let mut s = self.lock();
            s.role = Some(role);
            s.setup = setup;
            s.local_uri = Some(uri);
        }
        let _ = self.flags.context.set(context.clone());
        post(&context, NotificationData::MediaStreamDidInitialize);
        Ok(())
    }

    /// Our m-line.
    pub fn get_local_media(&self) -> Result<Media, StreamError> {
        let s = self.lock();
        let uri = s
            .local_uri
            .as_ref()
            .ok_or_else(|| StreamError::from("the MSRP stream is not initialized"))?;
        let protocol = if uri.secure {
            "TCP/TLS/MSRP"
        } else {
            "TCP/MSRP"
        };
        // With a relay, the m-line's port is the relay's: the first hop
        // is where peers connect.
        let relays = lock(&self.flags.relays).clone();
        let first = relays.first().unwrap_or(uri);
        let mut m = Media::new(
            self.media_type,
            first.port.unwrap_or(2855),
            protocol,
            vec!["*".into()],
        );
        let path: Vec<String> = relays
            .iter()
            .chain([uri])
            .map(ToString::to_string)
            .collect();
        m.attributes.push(Attribute::new("path", path.join(" ")));
        let accept = lock(&self.accept).clone();
        m.attributes
            .push(Attribute::new("accept-types", accept.types.join(" ")));
        if !accept.wrapped.is_empty() {
            m.attributes.push(Attribute::new(
                "accept-wrapped-types",
                accept.wrapped.join(" "),
            ));
        }
        m.attributes.push(Attribute::new("setup", s.setup.as_str()));
        cema::advertise(&mut m, !relays.is_empty());
        Ok(m)
    }

    /// Negotiated: connects or waits for the peer, then runs the session
    /// with `sink` hearing every event (the base handles `Closed`).
    pub fn start(
        &self,
        remote: &SessionDescription,
        index: usize,
        sink: EventSink,
    ) -> Result<(), StreamError> {
        let remote = RemoteMedia::from_sdp(remote, index)?;
        let Some(context) = self.flags.context.get().cloned() else {
            return Err("the MSRP stream is not initialized".into());
        };
        let mut s = self.lock();
        if s.task.is_some() {
            // A re-INVITE that kept the stream.
            drop(s);
            return self.take_remote(remote);
        }
        let local = s
            .local_uri
            .clone()
            .ok_or_else(|| StreamError::from("the MSRP stream is not initialized"))?;
        let we_offered = self.offer.is_none();
        let role = match s.role.as_mut() {
            // We offered `actpass` and listen; an answer of `passive`
            // (RFC 6135), or none from an answerer that predates it (RFC
            // 4975 §5.4: the offerer connects), leaves connecting to us.
            Some(Role::Passive(_)) if we_offered && remote.setup != Some(Setup::Active) => {
                let (socket, _) = bind_for_connect(self.local_ip)
                    .map_err(|e| StreamError(format!("cannot bind an MSRP socket: {e}")))?;
                // Our place on the shared port goes with the old role.
                s.role = Some(Role::Active(None));
                s.setup = Setup::Active;
                Role::Active(Some(socket))
            }
            Some(Role::Active(socket)) => Role::Active(socket.take()),
            Some(Role::Passive(reg)) => Role::Passive(reg.take()),
            Some(Role::Relay(io)) => Role::Relay(io.take()),
            None => return Err("the MSRP stream is not initialized".into()),
        };
        s.remote = Some(remote.clone());
        // On a relay, our To-Path starts with it (RFC 4976 §6) and our
        // From-Path is our URI alone: the relay adds itself.
        let relays = lock(&self.flags.relays).clone();
        let to_path: Vec<MsrpUri> = relays.iter().chain(&remote.path).cloned().collect();
        let mut cfg = SessionConfig::new(vec![local], to_path, crate::random::random_u64());
        if matches!(role, Role::Relay(_)) {
            cfg.relay_binding = s.binding.clone();
        }
        if let Some(size) = self.chunk_size {
            cfg.chunk_size = size;
        }
        // Relays read a frame whole into a buffer of their own size
        // (Kamailio: tcp_rd_buf_size, 16 KiB by default): through ours or
        // the peer's, chunks stay well under it.
        let relayed = !relays.is_empty() || remote.path.len() > 1;
        if relayed {
            cfg.chunk_size = cfg.chunk_size.min(RELAY_CHUNK_SIZE);
        }
        cfg.stream_incoming = self.stream_incoming;
        cfg.accept_types = self.accept_types();
        cfg.keepalive_interval = self.keepalive_interval;
        cfg.nickname_requests = self.flags.nickname_requests.load(Ordering::SeqCst);
        cfg.receiving = s.direction.current().receives();
        let session = Session::new(cfg);
        let sink = base_sink(self.flags.clone(), sink, self.endpoint.log().clone());
        let trace = self.trace_sink(&context);
        // RFC 4975 §5.4: the side that connects sends the first SEND, to
        // bind the connection. On a relay, the side that would connect
        // were there none: its SEND makes the relays connect through.
        let binds = match &role {
            Role::Active(_) => true,
            Role::Relay(_) if we_offered => remote.setup != Some(Setup::Active),
            Role::Relay(_) => s.setup == Setup::Active,
            Role::Passive(_) => false,
        };
        let state = Arc::downgrade(&self.state);
        let flags = self.flags.clone();
        let log = self.endpoint.log().clone();
        let reuse = self.connection_reuse.then(|| self.endpoint.clone());
        s.task = Some(tokio::spawn(async move {
            let connected = open(role, &remote, session, sink, trace, reuse).await;
            let Some(state) = state.upgrade() else { return };
            let post = |d| context.center.post(context.sender, d);
            match connected {
                Ok((conn, port_binding)) => {
                    let mut s = lock(&state);
                    if flags.ended.load(Ordering::SeqCst) {
                        return;
                    }
                    let conn = Arc::new(conn);
                    // A re-INVITE may have changed it while connecting.
                    conn.set_receiving(s.direction.current().receives());
                    if binds {
                        let id = new_message_id();
                        let _ = flags.bind_id.set(id.clone());
                        let _ = conn.send(&id, "", Bytes::new(), false, FailureReport::Yes);
                    }
                    for m in std::mem::take(&mut s.queued) {
                        let _ = conn.send(
                            &m.message_id,
                            &m.content_type,
                            m.body,
                            m.success_report,
                            m.failure_report,
                        );
                    }
                    s.connection = Some(conn.clone());
                    s.port_binding = port_binding;
                    drop(s);
                    flags.connected.send_replace(Some(conn));
                    post(NotificationData::MediaStreamDidStart);
                }
                Err(e) => {
                    log.log(LogLevel::Error, format!("MSRP connection not made: {e}"));
                    if !flags.ended.load(Ordering::SeqCst) {
                        flags.failed.store(true, Ordering::SeqCst);
                        post(NotificationData::MediaStreamDidFail { reason: e });
                    }
                }
            }
        }));
        Ok(())
    }

    /// MSRPTransportTrace goes out as the stream, on behalf of its
    /// connection (of every session on it, for a shared one).
    fn trace_sink(&self, context: &StreamContext) -> Option<crate::msrp::trace::TraceSink> {
        self.endpoint.tracing().then(|| {
            let c = context.clone();
            Arc::new(move |direction: &'static str, data: String| {
                c.center.post(
                    c.sender,
                    NotificationData::MSRPTransportTrace { direction, data },
                )
            }) as crate::msrp::trace::TraceSink
        })
    }

    /// Whether a re-offer's `a=path` can be taken (see
    /// [`relay_path::path_update_allowed`]).
    pub fn path_update_allowed(&self, new: &RemoteMedia) -> bool {
        self.remote_media()
            .is_none_or(|old| relay_path::path_update_allowed(&old.path, &new.path))
    }

    /// A renegotiation succeeded: the peer's m-line as it is now; a new
    /// path of the peer's is what we send to from now on.
    pub fn update_remote(
        &self,
        remote: &SessionDescription,
        index: usize,
    ) -> Result<(), StreamError> {
        self.take_remote(RemoteMedia::from_sdp(remote, index)?)
    }

    fn take_remote(&self, remote: RemoteMedia) -> Result<(), StreamError> {
        let mut s = self.lock();
        let moved = s.remote.as_ref().is_some_and(|r| r.path != remote.path);
        if let (true, Some(conn)) = (moved, &s.connection) {
            let relays = lock(&self.flags.relays).clone();
            conn.set_remote_path(relays.into_iter().chain(remote.path.clone()).collect());
        }
        s.remote = Some(remote);
        Ok(())
    }

    /// Sends `m` now, or once the connection is up.
    pub fn send(&self, m: OutgoingMessage) -> Result<(), MsrpSendError> {
        if self.flags.ended.load(Ordering::SeqCst) || self.flags.failed.load(Ordering::SeqCst) {
            return Err(MsrpSendError::Closed);
        }
        let mut s = self.lock();
        let direction = s.direction.current();
        if !direction.sends() {
            return Err(MsrpSendError::NotSending(direction));
        }
        match &s.connection {
            Some(c) => c.send(
                &m.message_id,
                &m.content_type,
                m.body,
                m.success_report,
                m.failure_report,
            ),
            None if s.queued.len() >= MAX_QUEUED_BEFORE_START => Err(MsrpSendError::QueueFull),
            None => {
                s.queued.push(m);
                Ok(())
            }
        }
    }

    /// The id of the binding SEND, whose events belong to no message of
    /// the stream's.
    pub fn is_bind(&self, message_id: &str) -> bool {
        self.flags.bind_id.get().is_some_and(|b| b == message_id)
    }

    /// About to be removed: the connection closing is no failure.
    pub fn deactivate(&self) {
        self.flags.deactivated.store(true, Ordering::SeqCst);
    }

    /// Closes the connection (MediaStreamWillEnd, MediaStreamDidEnd).
    pub fn end(&self) {
        if self.flags.ended.swap(true, Ordering::SeqCst) {
            return;
        }
        let context = self.flags.context.get();
        if let Some(c) = context {
            c.center
                .post(c.sender, NotificationData::MediaStreamWillEnd);
        }
        let (conn, task) = {
            let mut s = self.lock();
            s.role = None;
            s.queued.clear();
            s.port_binding = None;
            (s.connection.take(), s.task.take())
        };
        self.flags.connected.send_replace(None);
        if let Some(t) = task {
            t.abort();
        }
        if let Some(c) = conn {
            c.close();
        }
        if let Some(c) = context {
            c.center.post(c.sender, NotificationData::MediaStreamDidEnd);
        }
    }
}

/// The concrete stream's sink, with the base's handling of the end of
/// the connection in front: a close we did not ask for fails the stream.
fn base_sink(flags: Arc<Flags>, inner: EventSink, log: MsrpLog) -> EventSink {
    Arc::new(move |ev: ConnectionEvent| {
        if let ConnectionEvent::Session(e) = &ev {
            let post = |d| {
                if let Some(c) = flags.context.get() {
                    c.center.post(c.sender, d);
                }
            };
            if relay_path::on_relay_event(&flags.relays, e, &log, post) {
                return;
            }
        }
        if let ConnectionEvent::Closed { error } = &ev {
            if let Some(e) = error {
                log.log(LogLevel::Warning, format!("MSRP connection failed: {e}"));
            }
            let quiet =
                flags.ended.load(Ordering::SeqCst) || flags.deactivated.load(Ordering::SeqCst);
            if !quiet && !flags.failed.swap(true, Ordering::SeqCst) {
                if let Some(c) = flags.context.get() {
                    let reason = error
                        .clone()
                        .unwrap_or_else(|| "the peer closed the MSRP connection".to_owned());
                    c.center
                        .post(c.sender, NotificationData::MediaStreamDidFail { reason });
                }
            }
        }
        inner(ev);
    })
}

/// Makes the connection: connects to the peer (see [`cema::connect`]),
/// or takes the one the shared port hands us (with the port's binding of
/// our session to it).
async fn open(
    role: Role,
    remote: &RemoteMedia,
    session: Session,
    sink: EventSink,
    trace: Option<crate::msrp::trace::TraceSink>,
    reuse: Option<MsrpEndpoint>,
) -> Result<(MsrpConnection, Option<SessionBinding>), String> {
    match role {
        Role::Active(socket) => {
            let first = remote
                .path
                .first()
                .ok_or_else(|| "the peer's a=path is empty".to_owned())?;
            // Not polled when the session joins a live connection.
            let dial = cema::connect(socket, remote);
            let conn = match reuse {
                Some(endpoint) => {
                    endpoint
                        .connect_shared(first, session, sink, trace, dial)
                        .await?
                }
                None => MsrpConnection::spawn(dial.await?, Vec::new(), session, sink, trace),
            };
            Ok((conn, None))
        }
        Role::Passive(Some(mut reg)) => {
            let peer = remote
                .path
                .last()
                .and_then(|u| u.session_id.clone())
                .unwrap_or_default();
            let handed = tokio::time::timeout(CONNECT_TIMEOUT, reg.accept_any_from(&peer))
                .await
                .map_err(|_| "the peer did not connect for MSRP in time".to_owned())?
                .ok_or_else(|| "the MSRP port closed".to_owned())?;
            Ok(handed.run(session, sink, trace)?)
        }
        Role::Relay(Some(RelayLink::Own(io))) => Ok((
            MsrpConnection::spawn(io, Vec::new(), session, sink, trace),
            None,
        )),
        Role::Relay(Some(RelayLink::Shared(seat))) => Ok((seat.run(session, sink)?, None)),
        Role::Passive(None) | Role::Relay(None) => Err("the MSRP stream was started twice".into()),
    }
}
