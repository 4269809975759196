//! The engine task: sockets, timers and the transaction layer in one loop.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use sip_proto::transaction::{ClientKey, Event, Target, Transactions, Transmit, TransportKind};
use sip_proto::{Frame, Message, ParseError, Request, Response, StatusCode};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::flows::Flows;
use super::tcp::{self, ConnEvent, ConnHandle, ConnKey, Stream};
use super::{
    mask_secrets, tls, Command, Direction, EngineConfig, EngineError, EngineEvent, EngineStats,
    Trace,
};

/// RFC 3261 §18.1.1: a request larger than this (path MTU unknown: 1300
/// bytes) goes over a congestion-controlled transport instead of UDP.
pub(crate) const UDP_MAX_REQUEST: usize = 1300;

/// Moves a request that is too large for UDP to TCP, rewriting the
/// transport of its top Via.
fn congestion_controlled(mut req: Request, target: Target) -> (Request, Target) {
    if target.transport != TransportKind::Udp || req.wire_len() <= UDP_MAX_REQUEST {
        return (req, target);
    }
    let via = req
        .headers
        .typed::<sip_proto::headers::Via>()
        .and_then(Result::ok)
        .map(|mut v| {
            v.transport = sip_proto::headers::Transport::Tcp;
            v.to_string()
        });
    if let Some(v) = via {
        req.headers
            .replace_first_element(&sip_proto::HeaderName::Via, &v);
    }
    let target = Target {
        addr: target.addr,
        transport: TransportKind::Tcp,
    };
    (req, target)
}

/// Most messages queued for one connection still being opened.
const PENDING_PER_PEER: usize = 64;
/// How long an outgoing TCP connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) struct EngineTask {
    cfg: EngineConfig,
    /// The UDP socket (reads) and a std handle on it (sends).
    udp: Option<(Arc<UdpSocket>, std::net::UdpSocket)>,
    tcp: Option<TcpListener>,
    tls: Option<(TcpListener, tokio_rustls::TlsAcceptor)>,
    tls_client: Arc<rustls::ClientConfig>,
    /// Which connection each message goes over.
    flows: Flows,
    tx: Transactions,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<EngineEvent>,
    conns: HashMap<ConnKey, ConnHandle>,
    conn_events_tx: mpsc::Sender<ConnEvent>,
    conn_events: mpsc::Receiver<ConnEvent>,
    pending: HashMap<ConnKey, Vec<Bytes>>,
    /// Outgoing connections and TLS handshakes under way: they count
    /// against `max_connections` like open ones.
    connecting: HashSet<ConnKey>,
    /// Client transactions whose events go to their sender
    /// (`Engine::request`), not to the event stream.
    waiters: HashMap<ClientKey, (mpsc::Sender<Event>, super::FailureSlot)>,
    stats: EngineStats,
    trace: bool,
}

impl EngineTask {
    pub(crate) async fn bind(
        cfg: EngineConfig,
        commands: mpsc::Receiver<Command>,
        events: mpsc::Sender<EngineEvent>,
    ) -> Result<EngineTask, EngineError> {
        let udp = match cfg.udp_port {
            Some(port) => {
                let addr = SocketAddr::new(cfg.bind, port);
                let bind_error = |source| EngineError::Bind {
                    transport: TransportKind::Udp,
                    addr,
                    source,
                };
                // Sends go through a std handle on the same socket: tokio's
                // try_send_to answers WouldBlock until its reactor has seen
                // the socket writable, which silently dropped the first
                // datagram of a fresh engine. A plain non-blocking sendto
                // only fails when the kernel buffer is full.
                let std = std::net::UdpSocket::bind(addr).map_err(bind_error)?;
                std.set_nonblocking(true).map_err(bind_error)?;
                super::udp_errors::enable(&std);
                let sender = std.try_clone().map_err(bind_error)?;
                let s = UdpSocket::from_std(std).map_err(bind_error)?;
                Some((Arc::new(s), sender))
            }
            None => None,
        };
        let tcp = match cfg.tcp_port {
            Some(port) => {
                let addr = SocketAddr::new(cfg.bind, port);
                Some(
                    TcpListener::bind(addr)
                        .await
                        .map_err(|source| EngineError::Bind {
                            transport: TransportKind::Tcp,
                            addr,
                            source,
                        })?,
                )
            }
            None => None,
        };
        let tls = match (cfg.tls_port, tls::server_config(&cfg.tls)?) {
            (Some(port), Some(server)) => {
                let addr = SocketAddr::new(cfg.bind, port);
                let l = TcpListener::bind(addr)
                    .await
                    .map_err(|source| EngineError::Bind {
                        transport: TransportKind::Tls,
                        addr,
                        source,
                    })?;
                Some((l, tokio_rustls::TlsAcceptor::from(server)))
            }
            _ => None,
        };
        let tls_client = tls::client_config(&cfg.tls)?;
        let (conn_events_tx, conn_events) = mpsc::channel(1024);
        Ok(EngineTask {
            tls,
            tls_client,
            flows: Flows::new(cfg.tls.verify_server),
            connecting: HashSet::new(),
            tx: Transactions::new(cfg.timers),
            trace: cfg.trace,
            cfg,
            udp,
            tcp,
            commands,
            events,
            conns: HashMap::new(),
            conn_events_tx,
            conn_events,
            pending: HashMap::new(),
            waiters: HashMap::new(),
            stats: EngineStats::default(),
        })
    }

    pub(crate) fn udp_addr(&self) -> Option<SocketAddr> {
        self.udp.as_ref().and_then(|(s, _)| s.local_addr().ok())
    }

    pub(crate) fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp.as_ref().and_then(|s| s.local_addr().ok())
    }

    pub(crate) fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls.as_ref().and_then(|(l, _)| l.local_addr().ok())
    }

    /// ICMP errors for datagrams we sent: the client transactions towards
    /// each destination fail at once with the reason.
    fn on_udp_errors(&mut self, found: Vec<(SocketAddr, String)>) {
        for (to, why) in found {
            let target = Target {
                addr: to,
                transport: TransportKind::Udp,
            };
            self.fail_clients(target, None, &why);
        }
    }

    pub(crate) async fn run(mut self) {
        let mut buf = vec![0u8; 65_535];
        loop {
            let deadline = self
                .tx
                .poll_timeout()
                .map(Instant::from_std)
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            let udp = self.udp.as_ref().map(|(s, _)| s.clone());
            tokio::select! {
                cmd = self.commands.recv() => match cmd {
                    None => break,
                    Some(Command::Shutdown(done)) => {
                        let _ = done.send(());
                        break;
                    }
                    Some(c) => self.on_command(c),
                },
                r = async {
                    match &udp {
                        Some(s) => s.recv_from(&mut buf).await,
                        None => std::future::pending().await,
                    }
                } => {
                    match r {
                        Ok((n, from)) => {
                            let data = Bytes::copy_from_slice(buf.get(..n).unwrap_or(&[]));
                            self.on_datagram(data, from);
                        }
                        // An ICMP error also shows here, as the socket's
                        // pending error, and this branch may be the one
                        // that woke on it: the next read then finds
                        // nothing and clears the readiness the error
                        // queue's branch waits for (epoll reports the
                        // queue's edge once). Its entries are read now.
                        Err(_) => {
                            if let Some(s) = &udp {
                                let found = super::udp_errors::read(&**s).unwrap_or_default();
                                self.on_udp_errors(found);
                            }
                        }
                    }
                },
                errors = async {
                    match &udp {
                        Some(s) => s
                            .async_io(tokio::io::Interest::ERROR, || super::udp_errors::read(&**s))
                            .await,
                        None => std::future::pending().await,
                    }
                } => self.on_udp_errors(errors.unwrap_or_default()),
                a = async {
                    match &self.tcp {
                        Some(l) => l.accept().await,
                        None => std::future::pending().await,
                    }
                } => {
                    if let Ok((stream, peer)) = a {
                        if let Ok(local) = stream.local_addr() {
                            let key = ConnKey::unnamed(peer, TransportKind::Tcp);
                            self.on_connected(key, Stream::Tcp(stream), local);
                        }
                    }
                },
                a = async {
                    match &self.tls {
                        Some((l, _)) => l.accept().await,
                        None => std::future::pending().await,
                    }
                } => {
                    if let (Ok((stream, peer)), Some((_, acceptor))) = (a, &self.tls) {
                        if self.has_room() {
                            self.connecting.insert(ConnKey::unnamed(peer, TransportKind::Tls));
                            tcp::accept_tls(stream, peer, acceptor.clone(), CONNECT_TIMEOUT, self.conn_events_tx.clone());
                        }
                    }
                },
                ev = self.conn_events.recv() => {
                    if let Some(ev) = ev {
                        self.on_conn_event(ev);
                    }
                },
                _ = tokio::time::sleep_until(deadline) => {
                    self.tx.handle_timeout(Instant::now().into_std());
                },
            }
            self.flush();
            self.flows.clear();
        }
        // Dropping the connection handles ends their writer tasks.
        self.conns.clear();
    }

    fn now() -> std::time::Instant {
        Instant::now().into_std()
    }

    fn on_command(&mut self, c: Command) {
        match c {
            Command::SendRequest(req, target, tls_name, waiter, reply) => {
                let name = tls_name.as_deref().and_then(tls::server_name);
                let (req, target) = congestion_controlled(*req, target);
                let conn = if target.transport.is_reliable() {
                    let conn = self.flows.for_request(
                        target,
                        name.as_ref(),
                        &self.conns,
                        &self.connecting,
                    );
                    let Some(conn) = conn else {
                        let _ = reply.send(Err(EngineError::NoTlsName));
                        return;
                    };
                    Some(conn)
                } else {
                    None
                };
                self.flows.set_current(conn.clone());
                let r = self.check_transport(target.transport).and_then(|()| {
                    self.tx
                        .send_request(Self::now(), req, target)
                        .map_err(EngineError::from)
                });
                if let (Ok(key), Some(conn)) = (&r, conn) {
                    self.flows.sent(key.clone(), conn);
                }
                // Registered before any event of the transaction can be
                // delivered: this task handles both, one at a time.
                if let (Ok(key), Some(waiter)) = (&r, waiter) {
                    self.waiters.insert(key.clone(), waiter);
                }
                let _ = reply.send(r);
            }
            Command::SendResponse(key, resp, reply) => {
                self.flows.set_current(self.flows.server(&key));
                let r = self
                    .tx
                    .send_response(Self::now(), &key, *resp)
                    .map_err(EngineError::from);
                let _ = reply.send(r);
            }
            Command::SendStateless(target, msg, tls_name) => {
                let conn = match (&*msg, target.transport.is_reliable()) {
                    (_, false) => None,
                    (Message::Response(r), true) => self.flows.for_response(r),
                    (Message::Request(_), true) => {
                        let name = tls_name.as_deref().and_then(tls::server_name);
                        self.flows
                            .for_request(target, name.as_ref(), &self.conns, &self.connecting)
                    }
                };
                self.flows.set_current(conn);
                self.tx.send_stateless(target, &msg);
            }
            Command::Cancel(key, reply) => {
                let conn = self.flows.client(&key);
                self.flows.set_current(conn.clone());
                let r = self.tx.cancel(Self::now(), &key).map_err(EngineError::from);
                if let (Ok(cancel), Some(conn)) = (&r, conn) {
                    self.flows.sent(cancel.clone(), conn);
                }
                let _ = reply.send(r);
            }
            Command::KeepAlive(target) => {
                let key = self
                    .flows
                    .for_transmit(target, &self.conns, &self.connecting);
                if let Some(c) = self.conns.get(&key) {
                    let _ = c.writer.try_send(Bytes::from_static(b"\r\n\r\n"));
                }
            }
            Command::Stats(reply) => {
                let mut s = self.stats.clone();
                s.transactions = self.tx.len();
                s.connections = self.conns.len();
                let _ = reply.send(s);
            }
            Command::Shutdown(_) => {}
        }
    }

    fn check_transport(&self, t: TransportKind) -> Result<(), EngineError> {
        let ok = match t {
            TransportKind::Udp => self.udp.is_some(),
            // Outgoing streams need no listener.
            TransportKind::Tcp | TransportKind::Tls => true,
        };
        if ok {
            Ok(())
        } else {
            Err(EngineError::NoTransport(t))
        }
    }

    fn trace(
        &mut self,
        direction: Direction,
        local: Option<SocketAddr>,
        remote: SocketAddr,
        t: TransportKind,
        data: &[u8],
    ) {
        if !self.trace {
            return;
        }
        let text = mask_secrets(&String::from_utf8_lossy(data));
        let local = local.unwrap_or_else(|| SocketAddr::new(self.cfg.bind, 0));
        let trace = Trace {
            direction,
            local,
            remote,
            transport: t,
            text,
        };
        let sent = match &self.cfg.trace_sink {
            Some(sink) => sink.try_send(trace).is_ok(),
            None => self.events.try_send(EngineEvent::Trace(trace)).is_ok(),
        };
        if !sent {
            self.stats.traces_dropped += 1;
        }
    }

    fn on_datagram(&mut self, data: Bytes, from: SocketAddr) {
        if sip_proto::parser::is_keepalive(&data) {
            return;
        }
        self.stats.received += 1;
        let local = self.udp_addr();
        self.trace(Direction::Received, local, from, TransportKind::Udp, &data);
        let source = Target {
            addr: from,
            transport: TransportKind::Udp,
        };
        match Message::parse_unvalidated(data.clone(), &self.cfg.limits) {
            Ok(msg) => self.on_message(msg, source),
            Err(e) => {
                self.stats.malformed += 1;
                // RFC 3261 §18.3: a datagram shorter than its
                // Content-Length is answered 400 when its head allows.
                if matches!(e, ParseError::BodyTruncated { .. }) {
                    if let Ok(Message::Request(r)) =
                        Message::parse_head_unvalidated(data, &self.cfg.limits)
                    {
                        if r.headers.contains(&sip_proto::HeaderName::Via) {
                            let mut resp = Response::for_request(&r, StatusCode::BAD_REQUEST, None);
                            resp.set_reason(&format!("Bad Request ({e})"));
                            self.tx.send_stateless(source, &Message::Response(resp));
                        }
                    }
                }
            }
        }
    }

    /// Validates, answers what can be answered statelessly (400, 505), and
    /// hands the rest to the transaction layer.
    fn on_message(&mut self, msg: Message, source: Target) {
        if let Err(e) = msg.validate() {
            self.stats.malformed += 1;
            if let Message::Request(r) = &msg {
                if r.headers.contains(&sip_proto::HeaderName::Via) {
                    let mut resp = Response::for_request(r, e.response_status(), None);
                    if e.response_status() == StatusCode::BAD_REQUEST {
                        resp.set_reason(&format!("Bad Request ({e})"));
                    }
                    self.tx.send_stateless(source, &Message::Response(resp));
                }
            }
            return;
        }
        self.tx.handle_message(Self::now(), msg, source);
    }

    /// Whether one more connection fits under `max_connections`.
    fn has_room(&self) -> bool {
        self.conns.len() + self.connecting.len() < self.cfg.max_connections
    }

    /// What was queued for `key` is lost: its transactions fail now
    /// instead of waiting for Timer B/F (RFC 3261 §17.1.4).
    /// (The reason goes to the waiters before the transaction's Timeout
    /// event, so whoever sees the event can say why.)
    fn fail_pending(&mut self, key: ConnKey, reason: &str) {
        self.pending.remove(&key);
        self.fail_clients(key.target(), Some(&key), reason);
    }

    /// Fails the client transactions to `target` (over `conn` only, when
    /// given: another connection to that address is not at fault).
    fn fail_clients(&mut self, target: Target, conn: Option<&ConnKey>, reason: &str) {
        let clients = self.tx.clients_to(target);
        let ours = clients
            .into_iter()
            .filter(|k| conn.is_none_or(|c| self.flows.went_over(k, c)));
        for k in ours.collect::<Vec<_>>() {
            if let Some((_, failure)) = self.waiters.get(&k) {
                let _ = failure.set(reason.to_owned());
            }
            self.tx.handle_transport_error(&k);
        }
    }

    fn on_connected(&mut self, key: ConnKey, stream: Stream, local: SocketAddr) {
        // Counted since it started (ours, or a TLS accept); a plain TCP
        // accept is counted now.
        let counted = self.connecting.remove(&key);
        if !counted && !self.has_room() {
            // Refused by dropping the stream.
            return;
        }
        if let Stream::Tls(tls) = &stream {
            if let tokio_rustls::TlsStream::Client(c) = &**tls {
                let cert = c
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|chain| chain.first())
                    .map(|c| c.clone().into_owned());
                self.flows.verified(key.clone(), cert);
            }
        }
        let h = tcp::spawn(
            stream,
            key.clone(),
            local,
            self.cfg.limits.clone(),
            self.cfg.idle_timeout,
            self.conn_events_tx.clone(),
        );
        for data in self.pending.remove(&key).unwrap_or_default() {
            let _ = h.writer.try_send(data);
        }
        self.conns.insert(key, h);
    }

    fn on_conn_event(&mut self, ev: ConnEvent) {
        match ev {
            ConnEvent::Frame(key, Frame::Message(m)) => {
                self.stats.received += 1;
                let local = self.conns.get(&key).map(|c| c.local);
                let (addr, transport) = (key.addr, key.transport);
                self.trace(Direction::Received, local, addr, transport, &m.to_bytes());
                let source = key.target();
                // What the layer answers now goes back over this one.
                self.flows.set_current(Some(key));
                self.on_message(m, source);
            }
            ConnEvent::Frame(_, Frame::Invalid { .. }) => self.stats.malformed += 1,
            ConnEvent::Frame(key, Frame::Ping) => {
                // RFC 5626 §4.4.1: answer a CRLFCRLF ping with a CRLF pong.
                if let Some(c) = self.conns.get(&key) {
                    let _ = c.writer.try_send(Bytes::from_static(b"\r\n"));
                }
            }
            ConnEvent::Frame(key, Frame::Pong) => {
                let _ = self.events.try_send(EngineEvent::Pong(key.target()));
            }
            ConnEvent::Closed(key) => {
                self.conns.remove(&key);
                self.flows.closed(&key);
            }
            ConnEvent::Connected(key, stream, local) => self.on_connected(key, stream, local),
            ConnEvent::ConnectFailed(key, why) => {
                self.connecting.remove(&key);
                self.fail_pending(key, &why);
            }
        }
    }

    fn flush(&mut self) {
        loop {
            let mut busy = false;
            while let Some(t) = self.tx.poll_transmit() {
                busy = true;
                self.transmit(t);
            }
            while let Some(e) = self.tx.poll_event() {
                busy = true;
                self.deliver(e);
            }
            if !busy {
                break;
            }
        }
    }

    fn transmit(&mut self, t: Transmit) {
        self.stats.sent += 1;
        match t.target.transport {
            TransportKind::Udp => {
                let local = self.udp_addr();
                self.trace(
                    Direction::Sent,
                    local,
                    t.target.addr,
                    TransportKind::Udp,
                    &t.data,
                );
                if let Some((_, s)) = &self.udp {
                    // A full socket buffer drops the datagram; UDP
                    // retransmissions cover it.
                    let _ = s.send_to(&t.data, t.target.addr);
                }
            }
            TransportKind::Tcp | TransportKind::Tls => {
                let key = self
                    .flows
                    .for_transmit(t.target, &self.conns, &self.connecting);
                let local = self.conns.get(&key).map(|c| c.local);
                self.trace(Direction::Sent, local, key.addr, key.transport, &t.data);
                match self.conns.get(&key) {
                    Some(c) => {
                        if c.writer.try_send(t.data).is_err() {
                            // The peer does not read: drop the connection.
                            self.conns.remove(&key);
                        }
                    }
                    None => {
                        let queue = self.pending.entry(key.clone()).or_default();
                        let first = queue.is_empty();
                        if queue.len() < PENDING_PER_PEER {
                            queue.push(t.data);
                        }
                        if !first {
                            return;
                        }
                        if !self.has_room() {
                            // At the limit: fail now rather than queue for
                            // a connection nothing would ever open.
                            self.fail_pending(key, "too many connections open");
                            return;
                        }
                        if key.transport == TransportKind::Tls && key.name.is_none() {
                            self.fail_pending(key, "no name to verify the TLS server against");
                            return;
                        }
                        self.connecting.insert(key.clone());
                        let (client, events) =
                            (self.tls_client.clone(), self.conn_events_tx.clone());
                        tcp::connect(key, CONNECT_TIMEOUT, client, events);
                    }
                }
            }
        }
    }

    fn deliver(&mut self, e: Event) {
        self.flows.on_event(&e);
        let waited = match &e {
            Event::Response { key, .. } | Event::Timeout { key } => Some((key.clone(), false)),
            Event::ClientTerminated { key } => Some((key.clone(), true)),
            _ => None,
        };
        if let Some((key, ended)) = waited {
            if let Some((waiter, _)) = self.waiters.get(&key) {
                // A waiter that went away or fell 16 events behind loses
                // them; its transaction still completes normally.
                let _ = waiter.try_send(e);
                if ended {
                    self.waiters.remove(&key);
                }
                return;
            }
        }
        match self.events.try_send(EngineEvent::Transaction(e)) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(EngineEvent::Transaction(Event::Request {
                key,
                request,
                ..
            }))) => {
                // The application is behind: shed load instead of queueing.
                self.stats.events_dropped += 1;
                let busy = Response::for_request(
                    &request,
                    StatusCode::new(503).unwrap_or(StatusCode::SERVER_INTERNAL_ERROR),
                    None,
                );
                let _ = self.tx.send_response(Self::now(), &key, busy);
            }
            Err(_) => self.stats.events_dropped += 1,
        }
    }
}
