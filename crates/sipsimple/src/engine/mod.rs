//! The engine: one tokio task that owns the SIP sockets (UDP, TCP), the
//! timers and the sans-IO transaction layer, and drives it. Applications
//! talk to it through [`Engine`] (commands) and an event receiver.
//!
//! Why one task: every protocol state lives in `sip_proto::transaction`,
//! which needs `&mut`; a single owner needs no locks, and socket reads,
//! commands and the next timer are one `select!`. Connection reads and
//! writes run in their own small tasks so a slow or broken peer can never
//! stall the loop: their queues are bounded and a connection that cannot
//! keep up is closed.

mod flows;
mod task;
mod tcp;
pub(crate) mod tls;
mod udp_errors;

pub use tls::{TlsError, TlsSettings};

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use sip_proto::headers::HeaderName;
use sip_proto::transaction::{ClientKey, Event, ServerKey, Target, TimerConfig};
use sip_proto::{Limits, Message, Request, Response};
use tokio::sync::{mpsc, oneshot};

pub use sip_proto::transaction::TransportKind;

/// Engine settings. Ports 0 pick any free port.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub bind: IpAddr,
    pub udp_port: Option<u16>,
    pub tcp_port: Option<u16>,
    /// Listen for TLS (needs `tls.identity`). Outgoing TLS works without.
    pub tls_port: Option<u16>,
    pub tls: TlsSettings,
    pub timers: TimerConfig,
    pub limits: Limits,
    /// Most TCP connections at once (accepted plus opened).
    pub max_connections: usize,
    /// A connection with no traffic for this long is closed.
    pub idle_timeout: Duration,
    /// Most events waiting for the application; beyond, new requests are
    /// answered 503 and the drop is counted, so a flood cannot grow memory.
    pub event_queue: usize,
    /// Report every message sent and received as a `Trace` event.
    pub trace: bool,
    /// Where traces go instead of the event channel: a bounded path of
    /// their own, so that under load they never crowd out requests (a
    /// full sink drops the trace and counts it in `traces_dropped`).
    pub trace_sink: Option<mpsc::Sender<Trace>>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            udp_port: Some(0),
            tcp_port: Some(0),
            tls_port: None,
            tls: TlsSettings {
                verify_server: true,
                ..TlsSettings::default()
            },
            timers: TimerConfig::default(),
            limits: Limits::default(),
            max_connections: 1024,
            idle_timeout: Duration::from_secs(300),
            event_queue: 4096,
            trace: false,
            trace_sink: None,
        }
    }
}

/// What the engine reports.
// Transaction events dominate and are moved once through the channel;
// boxing them would add an allocation per message for no gain.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineEvent {
    /// A transaction event (requests, responses, timeouts, ...).
    Transaction(Event),
    /// A message sent or received, for traces and the SIPEngineSIPTrace
    /// notification. `text` has credentials masked.
    Trace(Trace),
    /// A CRLF pong answered our keep-alive ping on a connection (RFC 5626
    /// §4.4.1): the flow is alive.
    Pong(Target),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    pub direction: Direction,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub transport: TransportKind,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Sent,
    Received,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("the engine has stopped")]
    Stopped,
    #[error("no {0:?} transport is running")]
    NoTransport(TransportKind),
    #[error(transparent)]
    Transaction(#[from] sip_proto::transaction::TransactionError),
    #[error("a TLS target needs the name to verify (the SIP domain or TLS name)")]
    NoTlsName,
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("cannot bind {transport:?} on {addr}: {source}")]
    Bind {
        transport: TransportKind,
        addr: SocketAddr,
        source: std::io::Error,
    },
}

pub(crate) enum Command {
    SendRequest(
        Box<Request>,
        Target,
        Option<String>,
        Option<(mpsc::Sender<Event>, FailureSlot)>,
        oneshot::Sender<Result<ClientKey, EngineError>>,
    ),
    SendResponse(
        Box<ServerKey>,
        Box<Response>,
        oneshot::Sender<Result<(), EngineError>>,
    ),
    /// With the name a TLS server must prove, for a request.
    SendStateless(Target, Box<Message>, Option<String>),
    Cancel(ClientKey, oneshot::Sender<Result<ClientKey, EngineError>>),
    KeepAlive(Target),
    Stats(oneshot::Sender<EngineStats>),
    Shutdown(oneshot::Sender<()>),
}

/// Why a client transaction failed without an answer, set by the engine
/// before it delivers the transaction's Timeout event.
pub(crate) type FailureSlot = std::sync::Arc<std::sync::OnceLock<String>>;

/// The events of one client transaction sent with [`Engine::request`].
pub struct Responses {
    pub key: ClientKey,
    events: mpsc::Receiver<Event>,
    failure: FailureSlot,
}

impl Responses {
    /// Why the transaction failed at once rather than timing out: the
    /// transport's own error ("connection refused by ...", a TLS
    /// certificate refused, ...). None while it runs, and after a real
    /// Timer B/F timeout.
    pub fn failure(&self) -> Option<String> {
        self.failure.get().cloned()
    }

    /// The next transaction event (provisional and final responses,
    /// timeout); `None` once the transaction ended.
    pub async fn next(&mut self) -> Option<Event> {
        self.events.recv().await
    }

    /// The final response, skipping provisional ones; `None` when the
    /// transaction timed out or failed to send (Timer F/B, connect
    /// failure) or the engine stopped.
    pub async fn final_response(&mut self) -> Option<Response> {
        while let Some(e) = self.events.recv().await {
            match e {
                Event::Response { response, .. } if response.status.is_final() => {
                    return Some(response)
                }
                Event::Timeout { .. } | Event::ClientTerminated { .. } => return None,
                _ => {}
            }
        }
        None
    }
}

/// Counters for tests and monitoring.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineStats {
    pub transactions: usize,
    pub connections: usize,
    pub received: u64,
    pub sent: u64,
    pub malformed: u64,
    pub events_dropped: u64,
    /// Traces lost because their sink was full.
    pub traces_dropped: u64,
}

/// `host:port` as in a Via or URI: IPv6 addresses in brackets.
pub fn host_port(a: SocketAddr) -> String {
    match a.ip() {
        IpAddr::V6(ip) => format!("[{ip}]:{}", a.port()),
        IpAddr::V4(ip) => format!("{ip}:{}", a.port()),
    }
}

/// `;transport=...` for a URI (none for UDP, the default).
pub fn transport_param(t: TransportKind) -> &'static str {
    match t {
        TransportKind::Udp => "",
        TransportKind::Tcp => ";transport=tcp",
        TransportKind::Tls => ";transport=tls",
    }
}

/// A top Via without its branch: `SIP/2.0/UDP host:port;rport`.
pub fn via_without_branch(t: TransportKind, local: SocketAddr) -> String {
    format!("SIP/2.0/{} {};rport", t.via_name(), host_port(local))
}

/// `request` for another hop of an RFC 3263 failover (§4.3: a new
/// request, hence a new client transaction): its top Via's branch gets
/// `-N` so the transaction the last hop left (UDP's Timer K after a 503)
/// does not collide with this one.
pub(crate) fn rebranched(request: &Request, attempt: usize) -> Request {
    let mut r = request.clone();
    if attempt == 0 {
        return r;
    }
    let Some(via) = r
        .headers
        .get_str(&HeaderName::Via)
        .map(|v| v.split(',').next().unwrap_or(v).trim().to_owned())
    else {
        return r;
    };
    let lower = via.to_ascii_lowercase();
    if let Some(at) = lower.find(";branch=") {
        let start = at + ";branch=".len();
        let end = via
            .get(start..)
            .and_then(|rest| rest.find([';', ' ', '\t']))
            .map_or(via.len(), |e| start + e);
        if let (Some(head), Some(tail)) = (via.get(..end), via.get(end..)) {
            let value = format!("{head}-{attempt}{tail}");
            r.headers.replace_first_element(&HeaderName::Via, &value);
        }
    }
    r
}

/// A handle to a running engine. Cloning is cheap; the engine stops when
/// [`Engine::shutdown`] is called or every handle is dropped.
#[derive(Clone)]
pub struct Engine {
    commands: mpsc::Sender<Command>,
    udp: Option<SocketAddr>,
    tcp: Option<SocketAddr>,
    tls: Option<SocketAddr>,
}

impl Engine {
    /// Binds the sockets and starts the engine task on the current tokio
    /// runtime. Returns the handle and the event receiver.
    pub async fn start(
        config: EngineConfig,
    ) -> Result<(Engine, mpsc::Receiver<EngineEvent>), EngineError> {
        let (commands, command_rx) = mpsc::channel(256);
        let (events_tx, events) = mpsc::channel(config.event_queue.max(1));
        let running = task::EngineTask::bind(config, command_rx, events_tx).await?;
        let engine = Engine {
            commands,
            udp: running.udp_addr(),
            tcp: running.tcp_addr(),
            tls: running.tls_addr(),
        };
        tokio::spawn(running.run());
        Ok((engine, events))
    }

    /// The local address of a transport.
    pub fn local_addr(&self, transport: TransportKind) -> Option<SocketAddr> {
        match transport {
            TransportKind::Udp => self.udp,
            TransportKind::Tcp => self.tcp,
            TransportKind::Tls => self.tls,
        }
    }

    /// The transports this engine runs, most secure first (the order
    /// RFC 3263 lookups prefer them in).
    pub fn transports(&self) -> Vec<TransportKind> {
        [TransportKind::Tls, TransportKind::Tcp, TransportKind::Udp]
            .into_iter()
            .filter(|t| self.local_addr(*t).is_some())
            .collect()
    }

    /// Our address as seen on the way to `peer`: the bound address, or,
    /// when the engine listens on all addresses, the one the kernel would
    /// use to reach `peer` (what goes into Via and Contact).
    pub fn local_addr_towards(&self, t: TransportKind, peer: SocketAddr) -> Option<SocketAddr> {
        let bound = self.local_addr(t)?;
        if !bound.ip().is_unspecified() {
            return Some(bound);
        }
        let probe = std::net::UdpSocket::bind((bound.ip(), 0)).ok()?;
        probe.connect(peer).ok()?;
        let ip: IpAddr = probe.local_addr().ok()?.ip();
        Some(SocketAddr::new(ip, bound.port()))
    }

    async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, EngineError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| EngineError::Stopped)?;
        rx.await.map_err(|_| EngineError::Stopped)
    }

    /// Starts a client transaction. The request carries its top Via with a
    /// unique branch.
    pub async fn send_request(
        &self,
        request: Request,
        target: Target,
    ) -> Result<ClientKey, EngineError> {
        self.call(|tx| Command::SendRequest(Box::new(request), target, None, None, tx))
            .await?
    }

    /// As [`send_request`](Self::send_request), naming the server for TLS:
    /// the SIP domain (or configured TLS name) the certificate must match,
    /// sent as SNI. Never the resolved address.
    pub async fn send_request_tls(
        &self,
        request: Request,
        target: Target,
        tls_name: &str,
    ) -> Result<ClientKey, EngineError> {
        let name = Some(tls_name.to_owned());
        self.call(|tx| Command::SendRequest(Box::new(request), target, name, None, tx))
            .await?
    }

    /// Sends a request whose transaction events (responses, timeout) come
    /// to the returned [`Responses`] instead of the event stream: for
    /// users inside the middleware (registration, subscriptions) that
    /// wait for their own answers. `tls_name` as in
    /// [`send_request_tls`](Self::send_request_tls).
    pub async fn request(
        &self,
        request: Request,
        target: Target,
        tls_name: Option<&str>,
    ) -> Result<Responses, EngineError> {
        let (events, rx) = mpsc::channel(16);
        let failure = FailureSlot::default();
        let name = tls_name.map(str::to_owned);
        let waiter = Some((events, failure.clone()));
        let key = self
            .call(|tx| Command::SendRequest(Box::new(request), target, name, waiter, tx))
            .await??;
        Ok(Responses {
            key,
            events: rx,
            failure,
        })
    }

    /// Answers through a server transaction.
    pub async fn send_response(
        &self,
        key: &ServerKey,
        response: Response,
    ) -> Result<(), EngineError> {
        self.call(|tx| Command::SendResponse(Box::new(key.clone()), Box::new(response), tx))
            .await?
    }

    /// Sends without a transaction (ACK for 2xx, stateless responses).
    /// A response goes over the connection its request came in on while
    /// the request's server transaction lasts (a 2xx retransmitted until
    /// the ACK does, RFC 6026), else as a request without a name would.
    pub async fn send_stateless(
        &self,
        target: Target,
        message: Message,
    ) -> Result<(), EngineError> {
        self.commands
            .send(Command::SendStateless(target, Box::new(message), None))
            .await
            .map_err(|_| EngineError::Stopped)
    }

    /// As [`send_stateless`](Self::send_stateless) for a request (the
    /// ACK of a 2xx) to a TLS server that must prove `tls_name`: it goes
    /// over the connection verified for that name, as the dialog's other
    /// requests to that server do.
    pub async fn send_stateless_tls(
        &self,
        target: Target,
        message: Message,
        tls_name: &str,
    ) -> Result<(), EngineError> {
        let name = Some(tls_name.to_owned());
        self.commands
            .send(Command::SendStateless(target, Box::new(message), name))
            .await
            .map_err(|_| EngineError::Stopped)
    }

    /// Cancels a pending INVITE (RFC 3261 §9.1).
    pub async fn cancel(&self, invite: &ClientKey) -> Result<ClientKey, EngineError> {
        self.call(|tx| Command::Cancel(invite.clone(), tx)).await?
    }

    /// Sends a CRLFCRLF keep-alive ping on the open TCP or TLS connection
    /// to `target` (RFC 5626 §4.4.1); the pong arrives as
    /// [`EngineEvent::Pong`]. Nothing is sent if there is no connection.
    /// Over TLS it is the connection for the last name a request gave
    /// for that address.
    pub async fn send_keepalive(&self, target: Target) -> Result<(), EngineError> {
        self.commands
            .send(Command::KeepAlive(target))
            .await
            .map_err(|_| EngineError::Stopped)
    }

    pub async fn stats(&self) -> Result<EngineStats, EngineError> {
        self.call(Command::Stats).await
    }

    /// Stops the engine: sockets close, connections end, pending
    /// transactions are abandoned. Returns when the task has finished.
    pub async fn shutdown(&self) {
        let _ = self.call(Command::Shutdown).await;
    }
}

/// Replaces the values of credentials and digest responses in a trace so
/// secrets never reach logs (DESIGN.md: secrets are masked): the values
/// of Authorization and Proxy-Authorization (whatever the spacing before
/// the colon, and their folded continuation lines), the password of a
/// `user:password@` in any SIP or SIPS URI, and the SRTP keys of SDP
/// `a=crypto` lines (RFC 4568 `inline:`).
pub fn mask_secrets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_head = true;
    let mut masking = false;
    for line in text.split_inclusive('\n') {
        let content = line.trim_end_matches(['\r', '\n']);
        let ending = &line[content.len()..];
        if in_head && content.is_empty() {
            in_head = false;
            masking = false;
        }
        let folded = content.starts_with([' ', '\t']);
        if in_head && !folded {
            masking = content.split_once(':').is_some_and(|(name, _)| {
                let name = name.trim_end();
                name.eq_ignore_ascii_case("authorization")
                    || name.eq_ignore_ascii_case("proxy-authorization")
            });
            if masking {
                if let Some(colon) = content.find(':') {
                    out.push_str(&content[..=colon]);
                    out.push_str(" ***masked***");
                    out.push_str(ending);
                    continue;
                }
            }
        } else if in_head && masking {
            // A continuation of a masked header: nothing of it is kept.
            out.push_str(" ***masked***");
            out.push_str(ending);
            continue;
        }
        if !in_head && content.starts_with("a=crypto:") {
            out.push_str(&mask_sdes_keys(content));
        } else {
            out.push_str(&mask_uri_passwords(content));
        }
        out.push_str(ending);
    }
    out
}

/// `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:KEY|2^20` → `inline:***masked***`
/// (RFC 4568 key parameters: the SRTP master key in the clear).
fn mask_sdes_keys(line: &str) -> String {
    let words: Vec<String> = line
        .split(' ')
        .map(|w| {
            if w.to_ascii_lowercase().starts_with("inline:") {
                "inline:***masked***".to_owned()
            } else {
                w.to_owned()
            }
        })
        .collect();
    words.join(" ")
}

/// `sip:user:secret@host` → `sip:user:***@host`, for every SIP or SIPS URI
/// in `line`.
fn mask_uri_passwords(line: &str) -> String {
    let lower = line.to_ascii_lowercase();
    let mut out = String::with_capacity(line.len());
    let mut done = 0;
    let mut from = 0;
    while let Some(found) = lower[from..].find("sip") {
        let at = from + found;
        let scheme_end = if lower[at..].starts_with("sips:") {
            at + 5
        } else if lower[at..].starts_with("sip:") {
            at + 4
        } else {
            from = at + 3;
            continue;
        };
        // The userinfo ends at '@' before anything that ends a URI.
        let rest = &line[scheme_end..];
        let end = rest
            .find(['@', '>', ' ', ';', '?', ',', '"', '\t'])
            .unwrap_or(rest.len());
        if rest[end..].starts_with('@') {
            if let Some(colon) = rest[..end].find(':') {
                out.push_str(&line[done..scheme_end + colon + 1]);
                out.push_str("***");
                done = scheme_end + end;
            }
        }
        from = scheme_end + end;
    }
    out.push_str(&line[done..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failover_attempt_gets_its_own_branch_and_keeps_the_rest_of_the_via() {
        let text = "PUBLISH sip:a@example.test SIP/2.0\r\n\
                    Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKab1;rport\r\n\
                    From: <sip:a@example.test>;tag=f\r\nTo: <sip:a@example.test>\r\n\
                    Call-ID: c\r\nCSeq: 1 PUBLISH\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
        let Ok(Message::Request(r)) = Message::parse(text.as_bytes().to_vec()) else {
            panic!("did not parse");
        };
        assert_eq!(
            rebranched(&r, 0).headers.get_str(&HeaderName::Via),
            r.headers.get_str(&HeaderName::Via)
        );
        let again = rebranched(&r, 2);
        assert_eq!(
            again.headers.get_str(&HeaderName::Via),
            Some("SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKab1-2;rport")
        );
    }
}
