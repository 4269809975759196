//! The set of transactions of one user agent: matching (§17.1.3, §17.2.3),
//! the server transport's Via processing (§18.2.1, RFC 3581), CANCEL
//! (§9), and one timer queue for all.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use super::client::{ClientState, ClientTx, Out};
use super::server::{ServerState, ServerTx};
use super::{ClientKey, Event, ServerKey, Target, TimerConfig, TransactionError, Transmit};
use crate::headers::{CSeq, From as FromHeader, HeaderName, Headers, To, TypedHeader, Via};
use crate::message::{Message, Method, Request, Response, StatusCode};
use crate::uri::Host;

enum Tx {
    Client(ClientTx),
    Server(ServerTx),
}

impl Tx {
    fn deadline(&self) -> Option<Instant> {
        match self {
            Tx::Client(c) => c.deadline(),
            Tx::Server(s) => s.deadline(),
        }
    }

    fn terminated(&self) -> bool {
        match self {
            Tx::Client(c) => c.state == ClientState::Terminated,
            Tx::Server(s) => s.state == ServerState::Terminated,
        }
    }
}

/// All transactions of one user agent. See the module docs.
pub struct Transactions {
    cfg: TimerConfig,
    /// Send 100 Trying as soon as an INVITE arrives (§17.2.1 allows the TU
    /// to do it within 200 ms instead; sending at once is simpler and what
    /// most user agents do).
    pub auto_trying: bool,
    next_id: u64,
    txs: HashMap<u64, Tx>,
    clients: HashMap<ClientKey, u64>,
    servers: HashMap<ServerKey, u64>,
    timers: BinaryHeap<Reverse<(Instant, u64)>>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
}

impl Transactions {
    pub fn new(cfg: TimerConfig) -> Self {
        Transactions {
            cfg,
            auto_trying: true,
            next_id: 0,
            txs: HashMap::new(),
            clients: HashMap::new(),
            servers: HashMap::new(),
            timers: BinaryHeap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    pub fn config(&self) -> &TimerConfig {
        &self.cfg
    }

    /// Live transactions (client and server).
    pub fn len(&self) -> usize {
        self.txs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }

    pub fn client_state(&self, key: &ClientKey) -> Option<&'static str> {
        match self.txs.get(self.clients.get(key)?)? {
            Tx::Client(c) => Some(c.state_name()),
            Tx::Server(_) => None,
        }
    }

    pub fn server_state(&self, key: &ServerKey) -> Option<&'static str> {
        match self.txs.get(self.servers.get(key)?)? {
            Tx::Server(s) => Some(s.state_name()),
            Tx::Client(_) => None,
        }
    }

    /// The live client transactions sending to `target` (to fail them
    /// when the transport cannot reach it).
    pub fn clients_to(&self, target: Target) -> Vec<ClientKey> {
        self.clients
            .iter()
            .filter(
                |(_, id)| matches!(self.txs.get(id), Some(Tx::Client(c)) if c.target() == target),
            )
            .map(|(k, _)| k.clone())
            .collect()
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The earliest time [`handle_timeout`](Self::handle_timeout) has work
    /// (it may be early, never late).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((t, _))| *t)
    }

    fn out(&mut self) -> (Out<'_>, &TimerConfig) {
        (
            Out {
                transmits: &mut self.transmits,
                events: &mut self.events,
            },
            &self.cfg,
        )
    }

    /// Runs `f` on transaction `id` with the output queues and the timer
    /// settings, then removes it if it ended or reschedules its timer.
    fn drive<R>(
        &mut self,
        id: u64,
        f: impl FnOnce(&mut Tx, &mut Out<'_>, &TimerConfig) -> R,
    ) -> Option<R> {
        let tx = self.txs.get_mut(&id)?;
        let mut out = Out {
            transmits: &mut self.transmits,
            events: &mut self.events,
        };
        let r = f(tx, &mut out, &self.cfg);
        self.settle(id);
        Some(r)
    }

    /// A server transaction's request arrived again.
    fn retransmission(&mut self, id: u64) {
        self.drive(id, |tx, out, _| {
            if let Tx::Server(s) = tx {
                s.on_request_retransmission(out);
            }
        });
    }

    fn schedule(&mut self, id: u64) {
        if let Some(t) = self.txs.get(&id).and_then(Tx::deadline) {
            self.timers.push(Reverse((t, id)));
        }
    }

    /// Removes a terminated transaction, else (re)schedules its timer.
    fn settle(&mut self, id: u64) {
        let done = self.txs.get(&id).is_some_and(Tx::terminated);
        if done {
            match self.txs.remove(&id) {
                Some(Tx::Client(c)) => {
                    self.clients.remove(&c.key);
                }
                Some(Tx::Server(s)) => {
                    self.servers.remove(&s.key);
                }
                None => {}
            }
        } else {
            self.schedule(id);
        }
    }

    fn insert(&mut self, tx: Tx) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.txs.insert(id, tx);
        id
    }

    /// Starts a client transaction for `request` (which carries its own top
    /// Via with a unique branch) towards `target`.
    pub fn send_request(
        &mut self,
        now: Instant,
        request: Request,
        target: Target,
    ) -> Result<ClientKey, TransactionError> {
        if request.method == Method::Ack {
            return Err(TransactionError::AckHasNoTransaction);
        }
        let branch = match request.headers.typed::<Via>() {
            Some(Ok(v)) => v
                .branch()
                .map(str::to_owned)
                .ok_or(TransactionError::NoBranch)?,
            _ => return Err(TransactionError::NoBranch),
        };
        let key = ClientKey {
            branch: branch.clone(),
            method: request.method.clone(),
        };
        if self.clients.contains_key(&key) {
            return Err(TransactionError::DuplicateBranch(branch));
        }
        let (mut out, cfg) = self.out();
        let tx = ClientTx::start(now, key.clone(), request, target, cfg, &mut out);
        let id = self.insert(Tx::Client(tx));
        self.clients.insert(key.clone(), id);
        self.schedule(id);
        Ok(key)
    }

    /// Sends a message outside any transaction: the ACK of a 2xx, or a
    /// stateless response.
    pub fn send_stateless(&mut self, target: Target, message: &Message) {
        self.transmits.push_back(Transmit {
            target,
            data: message.to_bytes(),
            retransmission: false,
        });
    }

    /// Cancels a pending INVITE (§9.1): a CANCEL with the INVITE's
    /// Request-URI, Call-ID, To, From, CSeq number, top Via and Route set,
    /// sent in its own client transaction to the same target.
    pub fn cancel(
        &mut self,
        now: Instant,
        invite: &ClientKey,
    ) -> Result<ClientKey, TransactionError> {
        let id = *self
            .clients
            .get(invite)
            .ok_or(TransactionError::MissingHeader(
                "a pending INVITE to cancel",
            ))?;
        let (cancel, target) = match self.txs.get(&id) {
            Some(Tx::Client(c)) => (build_cancel(c.request()), c.target()),
            _ => {
                return Err(TransactionError::MissingHeader(
                    "a pending INVITE to cancel",
                ))
            }
        };
        self.send_request(now, cancel, target)
    }

    /// Sends `response` through the server transaction `key`.
    pub fn send_response(
        &mut self,
        now: Instant,
        key: &ServerKey,
        response: Response,
    ) -> Result<(), TransactionError> {
        let id = *self
            .servers
            .get(key)
            .ok_or_else(|| TransactionError::NoSuchTransaction(Box::new(key.clone())))?;
        let missing = || TransactionError::NoSuchTransaction(Box::new(key.clone()));
        self.drive(id, |tx, out, cfg| match tx {
            Tx::Server(s) => s.send_response(now, &response, cfg, out),
            Tx::Client(_) => Err(missing()),
        })
        .unwrap_or_else(|| Err(missing()))
    }

    /// The transport could not deliver a client transaction's request.
    pub fn handle_transport_error(&mut self, key: &ClientKey) {
        if let Some(&id) = self.clients.get(key) {
            self.drive(id, |tx, out, _| {
                if let Tx::Client(c) = tx {
                    c.on_transport_error(out);
                }
            });
        }
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&Reverse((t, id))) = self.timers.peek() {
            if t > now {
                break;
            }
            self.timers.pop();
            // Skip stale entries: the transaction's own deadline decides.
            let due = self
                .txs
                .get(&id)
                .and_then(Tx::deadline)
                .is_some_and(|d| d <= now && d == t);
            if !due {
                continue;
            }
            self.drive(id, |tx, out, cfg| match tx {
                Tx::Client(c) => c.on_timer(now, cfg, out),
                Tx::Server(s) => s.on_timer(now, cfg, out),
            });
        }
    }

    /// A message arrived from `source`. Requests get the §18.2.1 Via
    /// processing, then match a server transaction or start one; responses
    /// go to their client transaction or are dropped silently (§18.1.2).
    /// Messages without the headers matching needs are dropped too.
    pub fn handle_message(&mut self, now: Instant, message: Message, source: Target) {
        match message {
            Message::Request(r) => self.handle_request(now, r, source),
            Message::Response(r) => self.handle_response(now, r),
        }
    }

    fn handle_response(&mut self, now: Instant, response: Response) {
        let branch = match response.headers.typed::<Via>() {
            Some(Ok(v)) => v.branch().map(str::to_owned),
            _ => None,
        };
        let method = match response.headers.typed::<CSeq>() {
            Some(Ok(c)) => c.method,
            _ => return,
        };
        let Some(branch) = branch else { return };
        let key = ClientKey { branch, method };
        let Some(&id) = self.clients.get(&key) else {
            return;
        };
        self.drive(id, |tx, out, cfg| {
            if let Tx::Client(c) = tx {
                c.on_response(now, response, cfg, out);
            }
        });
    }

    fn handle_request(&mut self, now: Instant, mut request: Request, source: Target) {
        let Some(Ok(via)) = request.headers.typed::<Via>() else {
            return;
        };
        let response_target = response_target(&via, source);
        if let Some(new_via) = received_and_rport(&via, source.addr) {
            request
                .headers
                .replace_first_element(&HeaderName::Via, &new_via);
        }
        let Some(key) = server_key(&request, &request.method) else {
            return;
        };
        match request.method {
            Method::Ack => self.handle_ack(now, request, source),
            Method::Cancel => self.handle_cancel(now, key, request, response_target),
            _ => {
                if let Some(&id) = self.servers.get(&key) {
                    self.retransmission(id);
                    return;
                }
                let invite = request.method == Method::Invite;
                let tx = ServerTx::new(key.clone(), invite, response_target, &self.cfg);
                let id = self.insert(Tx::Server(tx));
                self.servers.insert(key.clone(), id);
                if invite && self.auto_trying {
                    let trying = Response::for_request(&request, StatusCode::TRYING, None);
                    // A fresh Proceeding transaction accepts a 1xx.
                    let _ = self.send_response(now, &key, trying);
                }
                self.events.push_back(Event::Request {
                    key,
                    request,
                    source,
                });
            }
        }
    }

    fn handle_ack(&mut self, now: Instant, request: Request, source: Target) {
        let invite_key = server_key(&request, &Method::Invite);
        let ack_to_tag = request
            .headers
            .typed::<To>()
            .and_then(Result::ok)
            .and_then(|t| t.tag().map(str::to_owned));
        let matched = invite_key
            .and_then(|k| self.servers.get(&k).copied())
            .filter(|id| {
                match self.txs.get(id) {
                    // RFC 2543 keys carry no To tag: the ACK's must be the one
                    // of the final response (§17.2.3).
                    Some(Tx::Server(s)) => {
                        s.state == ServerState::Completed
                            && (matches!(s.key, ServerKey::Rfc3261 { .. })
                                || s.final_to_tag == ack_to_tag)
                    }
                    _ => false,
                }
            });
        match matched {
            Some(id) => {
                self.drive(id, |tx, out, cfg| {
                    if let Tx::Server(s) = tx {
                        s.on_ack(now, cfg, out);
                    }
                });
            }
            // The ACK of a 2xx belongs to the dialog, not a transaction.
            None => self.events.push_back(Event::Ack { request, source }),
        }
    }

    fn handle_cancel(
        &mut self,
        now: Instant,
        key: ServerKey,
        request: Request,
        response_target: Target,
    ) {
        if let Some(&id) = self.servers.get(&key) {
            self.retransmission(id);
            return;
        }
        let tx = ServerTx::new(key.clone(), false, response_target, &self.cfg);
        let id = self.insert(Tx::Server(tx));
        self.servers.insert(key.clone(), id);
        // §9.2: the CANCEL matches the INVITE with the same key but method.
        let invite = server_key(&request, &Method::Invite).filter(|k| {
            self.servers
                .get(k)
                .and_then(|id| self.txs.get(id))
                .is_some_and(|t| matches!(t, Tx::Server(s) if s.is_invite() && s.state == ServerState::Proceeding))
        });
        let status = if invite.is_some() {
            StatusCode::OK
        } else {
            StatusCode::new(481).unwrap_or(StatusCode::BAD_REQUEST)
        };
        let response = Response::for_request(&request, status, None);
        let _ = self.send_response(now, &key, response);
        if let Some(invite) = invite {
            self.events.push_back(Event::Cancelled { invite });
        }
    }
}

/// §17.2.3: the key of a request, as if its method were `method` (INVITE
/// for an ACK or CANCEL looking for its INVITE).
fn server_key(request: &Request, method: &Method) -> Option<ServerKey> {
    let via = request.headers.typed::<Via>()?.ok()?;
    // ACK of a non-2xx shares the INVITE's transaction.
    let method = if *method == Method::Ack {
        Method::Invite
    } else {
        method.clone()
    };
    if via.has_rfc3261_branch() {
        let sent_by = match via.port {
            Some(p) => format!("{}:{p}", via.host),
            None => via.host.to_string(),
        };
        return Some(ServerKey::Rfc3261 {
            branch: via.branch().unwrap_or_default().to_owned(),
            sent_by,
            method,
        });
    }
    let h = &request.headers;
    let tag = |t: Option<&str>| t.unwrap_or_default().to_owned();
    let from = h.typed::<FromHeader>()?.ok()?;
    let cseq = h.typed::<CSeq>()?.ok()?;
    let to_tag = match method {
        // The INVITE (and its ACK/CANCEL lookups) key without the To tag
        // our final response added.
        Method::Invite => String::new(),
        _ => tag(h.typed::<To>()?.ok()?.tag()),
    };
    Some(ServerKey::Rfc2543 {
        call_id: h.get_str(&HeaderName::CallId)?.to_owned(),
        from_tag: tag(from.tag()),
        cseq: cseq.seq,
        method,
        top_via: via.to_string(),
        request_uri: request.uri_str().to_owned(),
        to_tag,
    })
}

/// §18.2.2 with RFC 3581: reliable transports answer on the connection the
/// request came from; datagrams go to the source address, at the source
/// port when the client asked for rport, else at the Via port.
fn response_target(via: &Via<'_>, source: Target) -> Target {
    if source.transport.is_reliable() {
        return source;
    }
    let port = if via.rport().is_some() {
        source.addr.port()
    } else {
        via.port.unwrap_or(5060)
    };
    Target {
        addr: SocketAddr::new(source.addr.ip(), port),
        transport: source.transport,
    }
}

/// §18.2.1 / RFC 3581: the top Via with `received` when the sent-by host is
/// not the source address, and `rport` filled in when requested. `None`
/// when nothing changes.
fn received_and_rport(via: &Via<'_>, source: SocketAddr) -> Option<String> {
    let ip = source.ip();
    let host_is_source = match &via.host {
        Host::V4(a) => std::net::IpAddr::V4(*a) == ip,
        Host::V6(a) => std::net::IpAddr::V6(*a) == ip,
        Host::Domain(_) => false,
    };
    let wants_rport = via.rport() == Some(None);
    if host_is_source && !wants_rport {
        return None;
    }
    let mut v = via.clone();
    if !host_is_source {
        v.params.set("received", Some(ip.to_string()));
    }
    if wants_rport {
        v.params.set("rport", Some(source.port().to_string()));
    }
    Some(v.to_string())
}

/// The CANCEL of §9.1 for `invite`.
pub fn build_cancel(invite: &Request) -> Request {
    let mut cancel = Request {
        method: Method::Cancel,
        uri: invite.uri.clone(),
        version: invite.version,
        headers: Headers::new(),
        body: bytes::Bytes::new(),
    };
    let h = &mut cancel.headers;
    if let Some(Ok(via)) = invite.headers.typed::<Via>() {
        h.push(HeaderName::Via, via.to_string());
    }
    for src in invite.headers.iter() {
        match src.name {
            HeaderName::Route | HeaderName::From | HeaderName::To | HeaderName::CallId => {
                h.push_copy(src)
            }
            _ => {}
        }
    }
    if let Some(Ok(cseq)) = invite.headers.typed::<CSeq>() {
        h.push(CSeq::NAME, format!("{} CANCEL", cseq.seq));
    }
    h.push(HeaderName::MaxForwards, "70");
    h.push(HeaderName::ContentLength, "0");
    cancel
}
