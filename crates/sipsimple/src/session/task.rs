//! The task behind one Session: it owns the sans-IO InviteSession, turns
//! its actions into engine calls and its events into notifications, and
//! runs its timers. Everything reaches it as an [`Input`].

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use sdp::offer_answer::PayloadFormat;
use sdp::SessionDescription;
use sip_proto::headers::HeaderName;
use sip_proto::invite::{Action, Body, InviteSession, Originator, SessionEvent};
use sip_proto::transaction::{ClientKey, Event, ServerKey, Target};
use sip_proto::uri::Uri;
use sip_proto::{Message, Method, Request, Response};
use tokio::sync::mpsc;

use super::{lock, Command, SessionError, SessionState, Shared};
use crate::account::Services;
use crate::engine::TransportKind;
use crate::notification::{NotificationCenter, NotificationData};

/// Messages are boxed: a channel allocates its slots in blocks of the
/// largest variant, and every session has one (measured: the per-call
/// heap of `benches/call_load.rs`).
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
    },
    Command(Command),
}

pub(crate) struct SessionTask {
    pub(crate) shared: Arc<Shared>,
    pub(crate) invite: InviteSession,
    pub(crate) inputs: mpsc::Receiver<Input>,
    pub(crate) self_tx: mpsc::Sender<Input>,
    pub(crate) services: Services,
    pub(crate) center: NotificationCenter,
    /// Server transactions by the CSeq of their request, and where the
    /// request came from (2xx retransmissions go there).
    pub(crate) server: HashMap<(u32, String), (ServerKey, Target)>,
    /// The first hop of an outgoing session.
    pub(crate) route: Option<Target>,
    pub(crate) invite_client: Option<ClientKey>,
    /// What our offer offered (outgoing), to read the answer with.
    pub(crate) offer: Option<(SessionDescription, Vec<PayloadFormat>)>,
    /// The peer's offer (incoming).
    pub(crate) remote_offer: Option<SessionDescription>,
    /// Our last offer or answer (its origin is kept, its version raised
    /// for each new one, RFC 3264 §8).
    pub(crate) local_sdp: Option<SessionDescription>,
    /// Our re-INVITE in flight for hold (true) or unhold (false).
    pub(crate) pending_hold: Option<bool>,
    pub(crate) on_exit: Box<dyn FnOnce() + Send + Sync>,
}

fn cseq(headers: &sip_proto::headers::Headers) -> Option<(u32, String)> {
    let c = headers.typed::<sip_proto::headers::CSeq>()?.ok()?;
    Some((c.seq, c.method.as_str().to_owned()))
}

/// A URI's host and port as a target, if the host is an address (no
/// lookup needed).
fn numeric_target(uri: &Uri<'_>) -> Option<Target> {
    let sip = uri.as_sip()?;
    let host = sip.host.to_string();
    let ip: IpAddr = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()?;
    let transport = match sip.params.get("transport").flatten() {
        Some(t) if t.eq_ignore_ascii_case("tcp") => TransportKind::Tcp,
        Some(t) if t.eq_ignore_ascii_case("tls") => TransportKind::Tls,
        _ if uri.scheme() == "sips" => TransportKind::Tls,
        _ => TransportKind::Udp,
    };
    let default = if transport == TransportKind::Tls {
        5061
    } else {
        5060
    };
    Some(Target {
        addr: SocketAddr::new(ip, sip.port.unwrap_or(default)),
        transport,
    })
}

impl SessionTask {
    fn post(&self, data: NotificationData) {
        self.center.post(self.shared.sender, data);
    }

    fn set_state(&self, s: SessionState) {
        *lock(&self.shared.state) = s;
    }

    /// Runs until the session has ended.
    pub(crate) async fn run(mut self, first: Vec<Action>) {
        self.execute(first).await;
        loop {
            if self.state() == SessionState::Terminated {
                break;
            }
            let deadline = self.invite.poll_timeout();
            let input = tokio::select! {
                i = self.inputs.recv() => match i {
                    Some(i) => i,
                    None => break,
                },
                _ = async {
                    match deadline {
                        Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
                        None => std::future::pending().await,
                    }
                } => {
                    let actions = self.invite.handle_timeout(std::time::Instant::now());
                    self.execute(actions).await;
                    self.events().await;
                    continue;
                }
            };
            self.on_input(input).await;
            self.events().await;
        }
        if let Some(a) = lock(&self.shared.audio).as_ref() {
            a.end();
            a.stop_recording();
        }
        (self.on_exit)();
    }

    fn state(&self) -> SessionState {
        *lock(&self.shared.state)
    }

    async fn on_input(&mut self, input: Input) {
        let now = std::time::Instant::now();
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
            Input::Ack(ack) => self.invite.handle_ack(&ack),
            Input::Cancelled => self.invite.handle_cancel(),
            Input::Response(r) => {
                if r.status.is_final() {
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
            Input::RequestFailed { method, seq } => {
                self.invite.handle_request_timeout(&method, seq)
            }
            Input::Command(c) => self.on_command(c, now).await,
        };
        self.execute(actions).await;
    }

    async fn on_command(&mut self, c: Command, now: std::time::Instant) -> Vec<Action> {
        let state = self.state();
        let refuse = |action| Err(SessionError::State { action, state });
        match c {
            Command::Ring(reply) => match self.invite.ring(180, None) {
                Ok(a) => {
                    let _ = reply.send(Ok(()));
                    a
                }
                Err(_) => {
                    let _ = reply.send(refuse("send_ring_indication"));
                    Vec::new()
                }
            },
            Command::Accept(audio, reply) => {
                if state != SessionState::Incoming {
                    let _ = reply.send(refuse("accept"));
                    return Vec::new();
                }
                let Some(offer) = self.remote_offer.clone() else {
                    let _ = reply.send(Err(SessionError::Failed("no offer to answer".into())));
                    return Vec::new();
                };
                let index = offer
                    .media
                    .iter()
                    .position(|m| m.media == "audio")
                    .unwrap_or(0);
                let (media, negotiation) = audio.answer(&offer, index);
                let negotiation = match negotiation {
                    Ok(n) => n,
                    Err(e) => {
                        let _ = reply.send(Err(SessionError::Failed(e.to_string())));
                        return self
                            .invite
                            .reject(488, "Not Acceptable Here")
                            .unwrap_or_default();
                    }
                };
                let answer = build_sdp(
                    audio.local_rtp().ip(),
                    offer.media.len(),
                    index,
                    media,
                    &offer,
                );
                if let Err(e) = audio.start(negotiation) {
                    let _ = reply.send(Err(SessionError::Failed(e)));
                    return self
                        .invite
                        .reject(488, "Not Acceptable Here")
                        .unwrap_or_default();
                }
                audio.notify_to(self.center.clone(), self.shared.sender);
                *lock(&self.shared.audio) = Some(audio);
                self.local_sdp = Some(answer.clone());
                self.set_state(SessionState::Accepting);
                self.post(NotificationData::SIPSessionWillStart);
                let actions = self
                    .invite
                    .accept(Some(Body::sdp(answer.to_string())), now)
                    .unwrap_or_default();
                let _ = reply.send(Ok(()));
                actions
            }
            Command::Reject(code, reason, reply) => match self.invite.reject(code, &reason) {
                Ok(a) => {
                    let _ = reply.send(Ok(()));
                    a
                }
                Err(_) => {
                    let _ = reply.send(refuse("reject"));
                    Vec::new()
                }
            },
            Command::Hold(on, reply) => {
                let offer = (state == SessionState::Connected)
                    .then(|| self.new_offer(on))
                    .flatten();
                let Some((sdp, formats)) = offer else {
                    let _ = reply.send(refuse(if on { "hold" } else { "unhold" }));
                    return Vec::new();
                };
                match self.invite.reinvite(Some(Body::sdp(sdp.to_string()))) {
                    Ok(actions) => {
                        self.pending_hold = Some(on);
                        self.offer = Some((sdp, formats));
                        let _ = reply.send(Ok(()));
                        actions
                    }
                    Err(_) => {
                        let _ = reply.send(refuse(if on { "hold" } else { "unhold" }));
                        Vec::new()
                    }
                }
            }
            Command::End(reply) => match self.invite.end() {
                Ok(a) => {
                    if state == SessionState::Connected {
                        self.set_state(SessionState::Terminating);
                        self.post(NotificationData::SIPSessionWillEnd);
                    }
                    let _ = reply.send(Ok(()));
                    a
                }
                Err(_) => {
                    let _ = reply.send(refuse("end"));
                    Vec::new()
                }
            },
        }
    }

    /// Where a request of ours goes: the first hop of the call for the
    /// INVITE, else the dialog's next hop.
    async fn target_for(&self, request: &Request) -> Option<Target> {
        let in_dialog = self.invite.dialog().is_some()
            && request
                .headers
                .get_str(&HeaderName::To)
                .is_some_and(|t| t.contains("tag="));
        if !in_dialog {
            return self.route;
        }
        let dialog = self.invite.dialog()?;
        let next = dialog
            .route_set
            .first()
            .map(|r| r.uri.clone())
            .unwrap_or_else(|| dialog.remote_target.clone());
        if let Some(t) = numeric_target(&next) {
            return Some(t);
        }
        let sip = next.as_sip()?;
        let routes = self
            .services
            .dns
            .lookup_sip_proxy(sip, &self.services.engine.transports())
            .await
            .result
            .ok()?;
        routes.first().map(|r| Target {
            addr: r.socket_addr(),
            transport: r.transport,
        })
    }

    async fn execute(&mut self, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::SendRequest(request) => self.send_request(request).await,
                Action::Respond(response) => {
                    let Some(c) = cseq(&response.headers) else {
                        continue;
                    };
                    if let Some((key, _)) = self.server.get(&c) {
                        let _ = self.services.engine.send_response(key, response).await;
                    }
                }
                Action::SendStateless(Message::Request(ack)) => {
                    if let Some(target) = self.target_for(&ack).await {
                        let _ = self
                            .services
                            .engine
                            .send_stateless(target, Message::Request(ack))
                            .await;
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
            }
        }
    }

    async fn send_request(&mut self, request: Request) {
        let Some((seq, method)) = cseq(&request.headers) else {
            return;
        };
        let method = Method::from_token(&method);
        let Some(target) = self.target_for(&request).await else {
            let _ = self.self_tx.try_send(Input::RequestFailed { method, seq });
            return;
        };
        let tls_name = request
            .uri()
            .ok()
            .and_then(|u| u.as_sip().map(|s| s.host.to_string()));
        let sent = self
            .services
            .engine
            .request(request, target, tls_name.as_deref())
            .await;
        let mut responses = match sent {
            Ok(r) => r,
            Err(_) => {
                let _ = self.self_tx.try_send(Input::RequestFailed { method, seq });
                return;
            }
        };
        if method == Method::Invite && self.invite.dialog().is_none() {
            self.invite_client = Some(responses.key.clone());
        }
        let tx = self.self_tx.clone();
        tokio::spawn(async move {
            while let Some(e) = responses.next().await {
                let input = match e {
                    Event::Response { response, .. } => Input::Response(Box::new(response)),
                    Event::Timeout { .. } => Input::RequestFailed {
                        method: method.clone(),
                        seq,
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
            match e {
                SessionEvent::Provisional { code, reason, .. } => {
                    self.post(NotificationData::SIPSessionGotProvisionalResponse {
                        code,
                        reason: reason.clone(),
                    });
                    if code == 180 || code == 183 {
                        self.post(NotificationData::SIPSessionGotRingIndication);
                    }
                }
                SessionEvent::Established { body } => {
                    let actions = self.established(body);
                    self.execute(actions).await;
                }
                SessionEvent::Failed {
                    originator,
                    code,
                    reason,
                } => {
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
                SessionEvent::Ended { originator, reason } => {
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
                    let actions = self.remote_reinvite(body);
                    self.execute(actions).await;
                }
                SessionEvent::ReinviteAccepted { body } => self.reinvite_accepted(body),
                SessionEvent::ReinviteRejected { .. } => self.pending_hold = None,
            }
        }
    }

    /// Our next offer: the last SDP with its version raised and the audio
    /// offered sendonly (hold) or sendrecv.
    fn new_offer(&self, hold: bool) -> Option<(SessionDescription, Vec<PayloadFormat>)> {
        let audio = lock(&self.shared.audio).clone()?;
        let mut sdp = self.local_sdp.clone()?;
        let index = sdp.media.iter().position(|m| m.media == "audio")?;
        let direction = if hold {
            sdp::Direction::SendOnly
        } else {
            sdp::Direction::SendRecv
        };
        let (media, formats) = audio.offer_with(direction);
        *sdp.media.get_mut(index)? = media;
        sdp.origin.session_version = sdp.origin.session_version.wrapping_add(1);
        Some((sdp, formats))
    }

    fn hold_changed(&self, originator: &'static str, held: &Mutex<bool>, on: bool) {
        let was = std::mem::replace(&mut *lock(held), on);
        if was != on {
            self.post(NotificationData::SIPSessionDidChangeHoldState {
                originator,
                on_hold: on,
                partial: false,
            });
        }
    }

    /// Our hold or unhold re-INVITE was accepted: restart the audio on
    /// the answer's terms.
    fn reinvite_accepted(&mut self, body: Option<Body>) {
        let Some(on) = self.pending_hold.take() else {
            return;
        };
        let restarted = (|| {
            let (offer, offered) = self.offer.as_ref()?;
            let answer = SessionDescription::parse(&body?.data).ok()?;
            let index = offer.media.iter().position(|m| m.media == "audio")?;
            let n = sdp::offer_answer::read_answer(offer, &answer, index, offered).ok()?;
            lock(&self.shared.audio).clone()?.start(n).ok()
        })();
        if restarted.is_some() {
            self.local_sdp = self.offer.as_ref().map(|(o, _)| o.clone());
            let shared = self.shared.clone();
            self.hold_changed("local", &shared.local_hold, on);
        }
    }

    /// The peer re-INVITEs with an offer: answer it with the audio (still
    /// holding the peer if we do) and notice whether it holds us. An
    /// offer-less re-INVITE is refused for now (488).
    fn remote_reinvite(&mut self, body: Option<Body>) -> Vec<Action> {
        let now = std::time::Instant::now();
        let refuse = |s: &mut Self| {
            s.invite
                .reject_reinvite(488, "Not Acceptable Here")
                .unwrap_or_default()
        };
        let Some(offer) = body.and_then(|b| SessionDescription::parse(&b.data).ok()) else {
            return refuse(self);
        };
        let (Some(audio), Some(index), Some(mut sdp)) = (
            lock(&self.shared.audio).clone(),
            offer.media.iter().position(|m| m.media == "audio"),
            self.local_sdp.clone(),
        ) else {
            return refuse(self);
        };
        let want = if *lock(&self.shared.local_hold) {
            sdp::Direction::SendOnly
        } else {
            sdp::Direction::SendRecv
        };
        let (media, negotiation) = audio.answer_with(&offer, index, want);
        let Ok(negotiation) = negotiation else {
            return refuse(self);
        };
        let Some(slot) = sdp.media.get_mut(index) else {
            return refuse(self);
        };
        *slot = media;
        sdp.origin.session_version = sdp.origin.session_version.wrapping_add(1);
        if audio.start(negotiation).is_err() {
            return refuse(self);
        }
        let held_by_peer = !offer.direction(index).receives();
        self.local_sdp = Some(sdp.clone());
        let shared = self.shared.clone();
        self.hold_changed("remote", &shared.remote_hold, held_by_peer);
        self.invite
            .accept_reinvite(Some(Body::sdp(sdp.to_string())), now)
            .unwrap_or_default()
    }

    /// The session is up; for an outgoing one the answer starts the
    /// audio. An unusable answer fails the session and hangs up.
    fn established(&mut self, body: Option<Body>) -> Vec<Action> {
        if self.shared.outgoing {
            self.post(NotificationData::SIPSessionWillStart);
            let started = (|| {
                let (offer, offered) = self.offer.as_ref()?;
                let answer = SessionDescription::parse(&body?.data).ok()?;
                let index = offer.media.iter().position(|m| m.media == "audio")?;
                let n = sdp::offer_answer::read_answer(offer, &answer, index, offered).ok()?;
                let audio = lock(&self.shared.audio).clone()?;
                audio.start(n).ok()
            })();
            if started.is_none() {
                self.post(NotificationData::SIPSessionDidFail {
                    originator: "local",
                    code: 488,
                    reason: "Not Acceptable Here".into(),
                    failure_reason: "the answer could not be used".into(),
                });
                let actions = self.invite.end().unwrap_or_default();
                self.set_state(SessionState::Terminated);
                return actions;
            }
        }
        self.set_state(SessionState::Connected);
        *lock(&self.shared.start_time) = Some(SystemTime::now());
        self.post(NotificationData::SIPSessionDidStart);
        Vec::new()
    }
}

fn originator_name(o: Originator) -> &'static str {
    match o {
        Originator::Local => "local",
        Originator::Remote => "remote",
    }
}

/// An SDP with `media` at `index` and the other m= lines of `offer`
/// refused (port 0), for an answer.
pub(crate) fn build_sdp(
    ip: IpAddr,
    count: usize,
    index: usize,
    media: sdp::Media,
    offer: &SessionDescription,
) -> SessionDescription {
    let mut d = SessionDescription::new(sdp::Origin {
        username: "-".into(),
        session_id: crate::random::below(u32::MAX).to_string(),
        session_version: 1,
        net_type: "IN".into(),
        addr_type: sdp::AddrType::of(ip),
        address: ip.to_string(),
    });
    d.connection = Some(sdp::Connection::new(ip));
    for i in 0..count {
        if i == index {
            d.media.push(media.clone());
        } else if let Some(m) = offer.media.get(i) {
            let mut refused = sdp::Media::new(
                &m.media,
                0,
                &m.protocol,
                m.formats.iter().take(1).cloned().collect(),
            );
            refused.connections.clear();
            d.media.push(refused);
        }
    }
    d
}
