//! The task behind one Session: it owns the sans-IO InviteSession, turns
//! its actions into engine calls and its events into notifications, and
//! runs its timers. Everything reaches it as an [`Input`].

use crate::sync::lock;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use sdp::SessionDescription;
use sip_proto::headers::HeaderName;
use sip_proto::invite::{Action, InviteSession, Originator, SessionEvent};
use sip_proto::transaction::{ClientKey, Event, ServerKey, Target};
use sip_proto::uri::Uri;
use sip_proto::{Message, Method, Request, Response};
use tokio::sync::mpsc;

use super::{SessionState, Shared};
use crate::notification::{AckReceived, NotificationCenter, NotificationData};
use crate::services::Services;
use crate::streams::{MediaStream, MediaStreamRegistry, StreamSettings};

/// Messages are boxed: a channel allocates its slots in blocks of the
/// largest variant, and every session has one (measured: the per-call
/// heap of the call-load benchmark, `benches/peer_load.rs`).
pub(crate) enum Input {
    Request {
        key: Box<ServerKey>,
        request: Box<Request>,
        source: Target,
    },
    Ack(Box<Request>),
    Cancelled,
    Response(Box<Response>),
    RequestFailed {
        method: Method,
        seq: u32,
        /// The transport's reason when it failed at once (a refused
        /// connect, a certificate refused); None for a timeout.
        why: Option<String>,
    },
    Command(super::Command),
}

/// A further route for the INVITE (RFC 3263 §4.3), with the Via (no
/// branch) and Contact we have on it.
pub(crate) struct Failover {
    pub(crate) target: Target,
    pub(crate) via: String,
    pub(crate) contact: Uri<'static>,
}

/// The names TLS servers must prove for the session's requests (RFC
/// 5922 §4: the host of the URI used to reach the server, never the
/// address it resolved to).
#[derive(Default)]
pub(crate) struct TlsNames {
    /// The initial INVITE's first hop: the account's outbound proxy's
    /// name, else the callee's domain.
    first_hop: Option<String>,
    /// The outbound proxy: its host, the name it proves (`tls.name`,
    /// else its host), and the addresses it resolved to. In-dialog
    /// requests routed back through it (a Record-Route naming it by
    /// host or by address) verify that name, not the Record-Route's.
    proxy: Option<(String, String, Vec<std::net::SocketAddr>)>,
}

impl TlsNames {
    /// For a session to `to` over `routes`; with an outbound proxy set
    /// the routes are the proxy's (as `SessionManager::connect` and the
    /// spec's callers look them up).
    pub(crate) fn outgoing(
        account: &super::SessionAccount,
        to: &Uri<'_>,
        routes: &[crate::lookup::Route],
    ) -> Box<TlsNames> {
        let mut names = TlsNames::for_account(account);
        names.first_hop = match account.as_sip() {
            Some(a) => a.tls_name_towards(to),
            None => crate::account::uri_host(to),
        };
        if let Some((_, _, addrs)) = &mut names.proxy {
            *addrs = routes.iter().map(|r| r.socket_addr()).collect();
        }
        Box::new(names)
    }

    /// For a session the peer started: only the proxy is known.
    pub(crate) fn for_account(account: &super::SessionAccount) -> TlsNames {
        let proxy = account.as_sip().and_then(|a| {
            let uri = a.outbound_proxy()?;
            let host = crate::account::uri_host(&uri)?;
            let name = a.tls_name_towards(&uri)?;
            Some((host, name, Vec::new()))
        });
        TlsNames {
            first_hop: None,
            proxy,
        }
    }

    /// The name for an in-dialog request whose next hop is `next`,
    /// reached at `addr`.
    fn in_dialog(&self, next: &Uri<'_>, addr: std::net::SocketAddr) -> Option<String> {
        let host = crate::account::uri_host(next)?;
        if let Some((proxy_host, name, addrs)) = &self.proxy {
            if proxy_host.eq_ignore_ascii_case(&host) || addrs.contains(&addr) {
                return Some(name.clone());
            }
        }
        Some(host)
    }
}

/// A stream and the index of its m-line.
pub(crate) type Placed = (usize, Arc<dyn MediaStream>);

/// Our offer in flight, and what it was for.
pub(crate) struct OurOffer {
    pub(crate) sdp: SessionDescription,
    pub(crate) kind: OfferKind,
}

pub(crate) enum OfferKind {
    /// The INVITE's.
    Initial,
    /// A re-INVITE for hold, unhold or a removed stream; `hold` says
    /// which hold change it carries, to undo if refused.
    Refresh { hold: Option<bool> },
    /// A re-INVITE adding these streams (add_stream).
    Add(Vec<Arc<dyn MediaStream>>),
}

/// The peer's re-INVITE offering new streams, waiting for
/// accept_proposal or reject_proposal.
pub(crate) struct RemoteProposal {
    pub(crate) offer: SessionDescription,
    pub(crate) streams: Vec<Placed>,
    /// m-lines the offer disabled (their streams go when it is answered).
    pub(crate) removed: Vec<usize>,
}

pub(crate) struct SessionTask {
    pub(crate) shared: Arc<Shared>,
    pub(crate) invite: InviteSession,
    pub(crate) inputs: mpsc::Receiver<Input>,
    pub(crate) self_tx: mpsc::Sender<Input>,
    pub(crate) services: Services,
    pub(crate) center: NotificationCenter,
    pub(crate) registry: MediaStreamRegistry,
    /// For streams made from the peer's offers.
    pub(crate) settings: StreamSettings,
    /// Server transactions by the CSeq of their request, and where the
    /// request came from (2xx retransmissions go there).
    pub(crate) server: HashMap<(u32, String), (ServerKey, Target)>,
    /// The first hop of an outgoing session.
    pub(crate) route: Option<Target>,
    pub(crate) tls: Box<TlsNames>,
    /// The other RFC 3263 routes of an outgoing session, in order, for
    /// the INVITE to fail over to.
    pub(crate) failover: Vec<Failover>,
    pub(crate) invite_client: Option<ClientKey>,
    /// Our re-INVITE's client transaction (cancel_proposal).
    pub(crate) reinvite_client: Option<ClientKey>,
    /// The negotiated m-lines, each with its stream (None: refused or
    /// removed; the m-line stays, RFC 3264 §8.2).
    pub(crate) slots: Vec<Option<Arc<dyn MediaStream>>>,
    /// The SDPs of the last completed exchange (ours keeps its origin,
    /// its version raised for each new one, RFC 3264 §8).
    pub(crate) local_sdp: Option<SessionDescription>,
    pub(crate) remote_sdp: Option<SessionDescription>,
    pub(crate) our_offer: Option<OurOffer>,
    /// Incoming: the peer's offer and the streams made for its m-lines.
    /// (The rarely set fields are boxed: a session's state is counted
    /// per dialog, see docs/PERFORMANCE.md.)
    pub(crate) remote_offer: Option<Box<SessionDescription>>,
    pub(crate) proposed: Vec<Placed>,
    pub(crate) remote_proposal: Option<Box<RemoteProposal>>,
    /// Our offer sent in the 200 to an offer-less re-INVITE, until the
    /// ACK brings the answer.
    pub(crate) offer_in_200: Option<Box<SessionDescription>>,
    /// A hold change waiting for the session to be able to re-INVITE.
    pub(crate) hold_queued: bool,
    /// The hold state last announced (SIPSessionDidChangeHoldState).
    pub(crate) announced_hold: [(bool, bool); 2],
    /// Final answers of ours to INVITEs, waiting for the ACK before
    /// SIPSessionDidProcessTransaction.
    pub(crate) unacked: Option<(u16, String)>,
    /// The streams started on a provisional answer (early media, RFC
    /// 3960's gateway model): the 2xx updates them instead.
    pub(crate) early: bool,
    /// The highest CSeq of ours whose final answer was announced.
    pub(crate) processed_seq: u32,
    /// The user ended an outgoing session nothing had answered: it was
    /// reported failed at once, and what the INVITE transaction still
    /// brings (a 487, Timer B, a late 2xx that is ACKed and BYEd) is
    /// handled without telling anyone again.
    pub(crate) ended_for_user: bool,
    /// Why our last request failed without an answer, when the transport
    /// knew: the session's failure says that rather than "Request
    /// Timeout" (RFC 3261 §8.1.3.1 treats both as 408).
    pub(crate) transport_failure: Option<String>,
    /// When an outgoing session's INVITE, still without a final answer,
    /// is cancelled (`sip.invite_timeout`): a callee that rings forever
    /// must not hold the caller.
    pub(crate) invite_deadline: Option<tokio::time::Instant>,
    pub(crate) on_exit: Box<dyn FnOnce() + Send + Sync>,
}

fn cseq(headers: &sip_proto::headers::Headers) -> Option<(u32, String)> {
    let c = headers.typed::<sip_proto::headers::CSeq>()?.ok()?;
    Some((c.seq, c.method.as_str().to_owned()))
}

impl SessionTask {
    pub(crate) fn post(&self, data: NotificationData) {
        self.center.post(self.shared.sender, data);
    }

    pub(crate) fn set_state(&self, s: SessionState) {
        *lock(&self.shared.state) = s;
    }

    /// Runs until the session has ended.
    pub(crate) async fn run(mut self: Box<Self>, first: Vec<Action>) {
        Box::pin(self.execute(first)).await;
        loop {
            if self.state() == SessionState::Terminated {
                break;
            }
            let deadline = self.invite.poll_timeout();
            let ring_deadline = self.invite_deadline;
            let input = tokio::select! {
                i = self.inputs.recv() => match i {
                    Some(i) => i,
                    None => break,
                },
                _ = async {
                    match ring_deadline {
                        Some(d) => tokio::time::sleep_until(d).await,
                        None => std::future::pending().await,
                    }
                } => {
                    self.invite_deadline = None;
                    Box::pin(self.invite_timed_out()).await;
                    continue;
                }
                _ = async {
                    match deadline {
                        Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
                        None => std::future::pending().await,
                    }
                } => {
                    let actions = self.invite.handle_timeout(std::time::Instant::now());
                    Box::pin(self.execute(actions)).await;
                    Box::pin(self.events()).await;
                    continue;
                }
            };
            // Boxed: the work behind an input (DNS, the engine, streams)
            // is deep, and inline it made every idle session's task 15
            // KiB (measured); boxed, only a running step takes room.
            Box::pin(self.on_input(input)).await;
            Box::pin(self.events()).await;
        }
        for s in self.slots.iter().flatten() {
            s.end();
        }
        if let Some(OurOffer {
            kind: OfferKind::Add(streams),
            ..
        }) = &self.our_offer
        {
            for s in streams {
                s.end();
            }
        }
        lock(&self.shared.streams).clear();
        lock(&self.shared.stream_senders).clear();
        (self.on_exit)();
    }

    /// `sip.invite_timeout` passed: an INVITE still unanswered is
    /// cancelled (RFC 3261 §9.1) and the session fails for the user now;
    /// the CANCEL's outcome follows without telling anyone again.
    async fn invite_timed_out(&mut self) {
        use sip_proto::invite::SessionState as Core;
        if !matches!(self.invite.state(), Core::Calling | Core::Proceeding) {
            return;
        }
        let Ok(actions) = self.invite.end() else {
            return;
        };
        let remote = lock(&self.shared.remote_identity).clone();
        let secs = self.services.invite_timeout.as_secs();
        self.end_for_user(format!(
            "no final answer from {remote} within {secs} s (sip.invite_timeout); cancelled"
        ));
        self.execute(actions).await;
    }

    /// Ends an outgoing session nothing has finally answered for the user
    /// at once: its streams end and SIPSessionDidFail says `why`.
    pub(crate) fn end_for_user(&mut self, why: String) {
        self.ended_for_user = true;
        for s in self.slots.iter().flatten() {
            s.deactivate();
            s.end();
        }
        self.set_state(SessionState::Terminated);
        *lock(&self.shared.stop_time) = Some(SystemTime::now());
        self.post(NotificationData::SIPSessionDidFail {
            originator: "local",
            code: 0,
            reason: String::new(),
            failure_reason: why,
        });
    }

    pub(crate) fn state(&self) -> SessionState {
        *lock(&self.shared.state)
    }

    async fn on_input(&mut self, input: Input) {
        let now = std::time::Instant::now();
        // The 2xx an ACK acknowledges is not retransmitted any more.
        let mut acked = None;
        let actions = match input {
            Input::Request {
                key,
                request,
                source,
            } => {
                if let Some(c) = cseq(&request.headers) {
                    self.server.insert(c, (*key, source));
                }
                self.invite.handle_request(&request, now)
            }
            Input::Ack(ack) => {
                acked = cseq(&ack.headers).map(|(n, _)| (n, "INVITE".to_owned()));
                self.invite.handle_ack(&ack)
            }
            Input::Cancelled => {
                if self.state() == SessionState::Incoming {
                    self.invite.handle_cancel()
                } else {
                    self.invite.handle_reinvite_cancel()
                }
            }
            Input::Response(r) if r.status.code() == 503 && self.is_initial_invite(&r.headers) => {
                match self.fail_over() {
                    Some(actions) => actions,
                    None => {
                        self.processed(&r);
                        self.invite.handle_response(&r, now)
                    }
                }
            }
            Input::Response(r) => {
                if r.status.code() / 100 == 2 && self.is_initial_invite(&r.headers) {
                    if let Some(to) = r.headers.get_str(&HeaderName::To) {
                        *lock(&self.shared.remote_identity) = to.to_owned();
                    }
                }
                if r.status.is_final() {
                    self.processed(&r);
                    // RFC 3261 §20.35 says Server; some stacks send User-Agent.
                    let ua = r
                        .headers
                        .get_str(&HeaderName::Server)
                        .or_else(|| r.headers.get_str(&HeaderName::UserAgent));
                    if let Some(ua) = ua {
                        *lock(&self.shared.remote_user_agent) = Some(ua.to_owned());
                    }
                }
                self.invite.handle_response(&r, now)
            }
            Input::RequestFailed { method, seq, why } => {
                self.transport_failure = why;
                let initial = cseq(&self.invite.invite().headers)
                    .is_some_and(|(s, _)| s == seq && self.shared.outgoing);
                match self
                    .fail_over()
                    .filter(|_| initial && method == Method::Invite)
                {
                    Some(actions) => actions,
                    None => self.invite.handle_request_timeout(&method, seq),
                }
            }
            Input::Command(c) => self.on_command(c, now).await,
        };
        self.execute(actions).await;
        if let Some(c) = acked {
            self.server.remove(&c);
        }
        self.shared
            .server_transactions
            .store(self.server.len(), std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether these are the headers of a response to our (latest)
    /// initial INVITE.
    fn is_initial_invite(&self, headers: &sip_proto::headers::Headers) -> bool {
        self.shared.outgoing
            && cseq(headers).is_some_and(|c| Some(c) == cseq(&self.invite.invite().headers))
    }

    /// The INVITE again, to the next route, if there is one and the
    /// session can still fail over (no final answer, not cancelled).
    fn fail_over(&mut self) -> Option<Vec<Action>> {
        if self.failover.is_empty() {
            return None;
        }
        let next = &self.failover[0];
        let request = self
            .invite
            .retry_invite(Some((next.via.clone(), next.contact.clone())))
            .ok()?;
        let next = self.failover.remove(0);
        *lock(&self.shared.transport) = Some(next.target.transport.name());
        self.route = Some(next.target);
        self.invite_client = None;
        Some(vec![Action::SendRequest(request)])
    }

    /// Where a request of ours goes: the first hop of the call for the
    /// INVITE, else the dialog's next hop; with the name a TLS server
    /// there must prove.
    async fn target_for(&self, request: &Request) -> Option<(Target, Option<String>)> {
        let in_dialog = self.invite.dialog().is_some()
            && request
                .headers
                .get_str(&HeaderName::To)
                .is_some_and(|t| t.contains("tag="));
        if !in_dialog {
            return Some((self.route?, self.tls.first_hop.clone()));
        }
        let dialog = self.invite.dialog()?;
        let next = dialog
            .route_set
            .first()
            .map(|r| r.uri.clone())
            .unwrap_or_else(|| dialog.remote_target.clone());
        if let Some(t) = crate::lookup::numeric_target(&next) {
            return Some((t, self.tls.in_dialog(&next, t.addr)));
        }
        let sip = next.as_sip()?;
        let routes = self
            .services
            .dns
            .lookup_sip_proxy(sip, &self.services.engine.transports())
            .await
            .result
            .ok()?;
        let target = routes.first().map(|r| Target {
            addr: r.socket_addr(),
            transport: r.transport,
        })?;
        Some((target, self.tls.in_dialog(&next, target.addr)))
    }

    pub(crate) async fn execute(&mut self, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::SendRequest(request) => self.send_request(request).await,
                Action::Respond(response) => {
                    let Some(c) = cseq(&response.headers) else {
                        continue;
                    };
                    if !self.shared.outgoing && c.1 == "INVITE" && response.status.code() / 100 == 2
                    {
                        // Our answer's To has our tag: that is who we are.
                        if let Some(to) = response.headers.get_str(&HeaderName::To) {
                            *lock(&self.shared.local_identity) = to.to_owned();
                        }
                    }
                    self.responded(&c.1, &response);
                    // Kept past the final answer only for a 2xx to an
                    // INVITE, which is retransmitted until its ACK.
                    let done = response.status.is_final()
                        && !(c.1 == "INVITE" && response.status.is_success());
                    if let Some((key, _)) = self.server.get(&c) {
                        let _ = self.services.engine.send_response(key, response).await;
                    }
                    if done {
                        self.server.remove(&c);
                    }
                }
                Action::SendStateless(Message::Request(ack)) => {
                    // Over the connection verified for the name the
                    // dialog's requests to that hop prove (RFC 5922).
                    if let Some((target, name)) = self.target_for(&ack).await {
                        let engine = &self.services.engine;
                        let ack = Message::Request(ack);
                        let _ = match name {
                            Some(name) => engine.send_stateless_tls(target, ack, &name).await,
                            None => engine.send_stateless(target, ack).await,
                        };
                    }
                }
                Action::SendStateless(Message::Response(r)) => {
                    let source = cseq(&r.headers)
                        .and_then(|c| self.server.get(&c))
                        .map(|(_, s)| *s);
                    if let Some(target) = source {
                        let _ = self
                            .services
                            .engine
                            .send_stateless(target, Message::Response(r))
                            .await;
                    }
                }
                Action::CancelInvite => {
                    if let Some(key) = &self.invite_client {
                        let _ = self.services.engine.cancel(key).await;
                    }
                }
                Action::CancelReinvite { .. } => {
                    if let Some(key) = &self.reinvite_client {
                        let _ = self.services.engine.cancel(key).await;
                    }
                }
            }
        }
    }

    async fn send_request(&mut self, request: Request) {
        let Some((seq, method)) = cseq(&request.headers) else {
            return;
        };
        let method = Method::from_token(&method);
        let Some((target, tls_name)) = self.target_for(&request).await else {
            let why = Some(format!("no route to the next hop of {}", request.uri_str()));
            let _ = self
                .self_tx
                .try_send(Input::RequestFailed { method, seq, why });
            return;
        };
        let sent = self
            .services
            .engine
            .request(request, target, tls_name.as_deref())
            .await;
        let mut responses = match sent {
            Ok(r) => r,
            Err(e) => {
                let why = Some(e.to_string());
                let _ = self
                    .self_tx
                    .try_send(Input::RequestFailed { method, seq, why });
                return;
            }
        };
        if method == Method::Invite {
            if self.invite.dialog().is_none() {
                self.invite_client = Some(responses.key.clone());
            } else {
                self.reinvite_client = Some(responses.key.clone());
            }
        }
        let tx = self.self_tx.clone();
        tokio::spawn(async move {
            while let Some(e) = responses.next().await {
                let input = match e {
                    Event::Response { response, .. } => Input::Response(Box::new(response)),
                    Event::Timeout { .. } => Input::RequestFailed {
                        method: method.clone(),
                        seq,
                        why: responses.failure(),
                    },
                    Event::ClientTerminated { .. } => break,
                    _ => continue,
                };
                if tx.send(input).await.is_err() {
                    break;
                }
            }
        });
    }

    /// Turns the InviteSession's events into state and notifications.
    async fn events(&mut self) {
        while let Some(e) = self.invite.poll_event() {
            if self.ended_for_user {
                // Only the protocol's own follow-up remains (the core
                // sends the ACK and BYE of a late 2xx itself).
                continue;
            }
            match e {
                SessionEvent::Provisional { code, reason, body } => {
                    self.post(NotificationData::SIPSessionGotProvisionalResponse {
                        code,
                        reason: reason.clone(),
                    });
                    if let Some(body) = body {
                        self.early_media(body);
                    }
                    if code == 180 || code == 183 {
                        self.post(NotificationData::SIPSessionGotRingIndication);
                    }
                }
                SessionEvent::Established { body } => {
                    if !self.shared.outgoing {
                        self.ack_arrived();
                    }
                    let actions = self.established(body);
                    self.execute(actions).await;
                }
                SessionEvent::Failed {
                    originator,
                    mut code,
                    mut reason,
                } => {
                    // No response is behind a transport failure: code 0,
                    // as for the other failures that are ours.
                    if code == 408 {
                        if let Some(why) = self.transport_failure.take() {
                            code = 0;
                            reason = why;
                        }
                    }
                    if reason == "no ACK" {
                        self.ack_missing();
                    }
                    self.set_state(SessionState::Terminated);
                    *lock(&self.shared.stop_time) = Some(SystemTime::now());
                    self.post(NotificationData::SIPSessionDidFail {
                        originator: originator_name(originator),
                        code,
                        reason: reason.clone(),
                        failure_reason: if code == 487 {
                            "Call cancelled".into()
                        } else {
                            reason
                        },
                    });
                }
                SessionEvent::Ended {
                    originator,
                    mut reason,
                } => {
                    if let Some(why) = self.transport_failure.take() {
                        reason = format!("{reason}: {why}");
                    }
                    self.ack_missing();
                    if originator == Originator::Remote {
                        self.post(NotificationData::SIPSessionWillEnd);
                    }
                    self.set_state(SessionState::Terminated);
                    *lock(&self.shared.stop_time) = Some(SystemTime::now());
                    self.post(NotificationData::SIPSessionDidEnd {
                        originator: originator_name(originator),
                        end_reason: reason,
                    });
                }
                SessionEvent::RemoteReinvite { body } => {
                    let actions = self.remote_reinvite(body).await;
                    self.execute(actions).await;
                }
                SessionEvent::ReinviteAccepted { body } => {
                    let actions = self.reinvite_accepted(body);
                    self.execute(actions).await;
                }
                SessionEvent::ReinviteRejected { code, reason } => {
                    let actions = self.reinvite_rejected(code, reason);
                    self.execute(actions).await;
                }
                SessionEvent::ReinviteAcked { body } => {
                    self.ack_arrived();
                    let actions = self.reinvite_acked(body);
                    self.execute(actions).await;
                }
                SessionEvent::RemoteReinviteCancelled => self.remote_proposal_cancelled(),
            }
        }
        // It explains only the outcome of the input that brought it.
        self.transport_failure = None;
    }

    /// A final answer of ours went out: announce the transaction, or
    /// for a 2xx to an INVITE wait for its ACK.
    fn responded(&mut self, method: &str, response: &Response) {
        let code = response.status.code();
        if code < 200 {
            return;
        }
        let reason = response.reason().to_owned();
        if method == "INVITE" && code < 300 {
            self.unacked = Some((code, reason));
            return;
        }
        self.post(NotificationData::SIPSessionDidProcessTransaction {
            originator: "remote",
            method: method.to_owned(),
            code,
            reason,
            ack_received: (method == "INVITE").then_some(AckReceived::Unknown),
        });
    }

    fn ack_arrived(&mut self) {
        if let Some((code, reason)) = self.unacked.take() {
            self.post(NotificationData::SIPSessionDidProcessTransaction {
                originator: "remote",
                method: "INVITE".into(),
                code,
                reason,
                ack_received: Some(AckReceived::Yes),
            });
        }
    }

    fn ack_missing(&mut self) {
        if let Some((code, reason)) = self.unacked.take() {
            self.post(NotificationData::SIPSessionDidProcessTransaction {
                originator: "remote",
                method: "INVITE".into(),
                code,
                reason,
                ack_received: Some(AckReceived::No),
            });
        }
    }

    /// The final answer to a request of ours (each CSeq once: 2xx
    /// retransmissions are not transactions of their own).
    fn processed(&mut self, response: &Response) {
        let Some((seq, method)) = cseq(&response.headers) else {
            return;
        };
        if seq <= self.processed_seq && self.processed_seq != 0 {
            return;
        }
        self.processed_seq = seq;
        let code = response.status.code();
        if code == 401 || code == 407 {
            return;
        }
        self.post(NotificationData::SIPSessionDidProcessTransaction {
            originator: "local",
            ack_received: (method == "INVITE").then_some(if code < 300 {
                AckReceived::Yes
            } else {
                AckReceived::Unknown
            }),
            method,
            code,
            reason: response.reason().to_owned(),
        });
    }
}

fn originator_name(o: Originator) -> &'static str {
    match o {
        Originator::Local => super::LOCAL,
        Originator::Remote => super::REMOTE,
    }
}
