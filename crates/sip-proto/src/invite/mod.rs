//! The INVITE session (RFC 3261 §13-§15): one call's signalling as a
//! sans-IO state machine over a [`Dialog`]. It builds the requests and
//! responses, tracks the state, and runs the timers the transaction layer
//! does not: the UAS core's 2xx retransmission until the ACK (§13.3.1.4),
//! the ACK wait, and the re-INVITE glare retry (§14.1). What to send comes
//! out as [`Action`]s, what happened as [`SessionEvent`]s; time is passed
//! in.
//!
//! Bodies (SDP offers and answers) pass through untouched: what they mean
//! is the caller's business (the `sdp` crate).
//!
//! The caller routes actions: `SendRequest` starts a client transaction
//! whose answers come back through [`InviteSession::handle_response`];
//! `Respond` answers the server transaction of the request with the same
//! CSeq; `SendStateless` goes to the dialog's next hop without a
//! transaction (the ACK of a 2xx, 2xx retransmissions).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::dialog::{Dialog, DialogState};
use crate::digest::{self, CredentialStore, DigestState};
use crate::headers::{CSeq, HeaderName, NameAddr, To, TypedHeader, Via};
use crate::message::{Message, Method, Request, Response};
use crate::transaction::TimerConfig;
use crate::uri::Uri;

mod incoming;

/// A message body with its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    pub content_type: String,
    pub data: Vec<u8>,
}

impl Body {
    pub fn sdp(data: impl Into<Vec<u8>>) -> Body {
        Body {
            content_type: "application/sdp".into(),
            data: data.into(),
        }
    }

    fn of(headers: &crate::headers::Headers, data: &[u8]) -> Option<Body> {
        if data.is_empty() {
            return None;
        }
        Some(Body {
            content_type: headers
                .get_str(&HeaderName::ContentType)
                .unwrap_or("application/octet-stream")
                .to_owned(),
            data: data.to_vec(),
        })
    }
}

/// What one end of the session needs to know about itself.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Our From (outgoing) or the To we answer as (incoming).
    pub local: NameAddr<'static>,
    pub contact: Uri<'static>,
    /// `SIP/2.0/UDP host:port;rport`: the top Via without its branch.
    pub via: String,
    /// Unique per session; branches are this plus a counter.
    pub branch_prefix: String,
    /// Our tag.
    pub local_tag: String,
    pub user_agent: Option<String>,
    pub timers: TimerConfig,
    /// Answers to 401/407 on our INVITE and re-INVITEs.
    pub credentials: Option<CredentialStore>,
    /// The Allow header's value in our INVITE, 2xx and re-INVITEs: the
    /// methods the application as a whole takes (RFC 3261 §20.5), which
    /// only it knows; `None` lists what this session itself handles.
    pub allow: Option<String>,
}

/// Where the session is (the spec's Session states map onto these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Outgoing: INVITE sent, nothing but 100 yet.
    Calling,
    /// Outgoing: a provisional response came (early dialog if tagged).
    Proceeding,
    /// Outgoing: CANCEL asked, waiting for the INVITE's final answer.
    Cancelling,
    /// Incoming: INVITE received, not answered finally.
    Incoming,
    /// Incoming: 2xx sent, waiting for the ACK.
    Accepting,
    Confirmed,
    /// BYE sent, waiting for its answer.
    Terminating,
    Terminated,
}

/// Who ended or refused the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Originator {
    Local,
    Remote,
}

/// What happened, for the Session to turn into notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// A provisional response (outgoing), with its body (early media SDP).
    Provisional {
        code: u16,
        reason: String,
        body: Option<Body>,
    },
    /// The session is up: for an outgoing one, the 2xx's body (the
    /// answer); for an incoming one, the ACK's body, if any.
    Established { body: Option<Body> },
    /// It never came up.
    Failed {
        originator: Originator,
        code: u16,
        reason: String,
    },
    /// It ended after being up.
    Ended {
        originator: Originator,
        reason: String,
    },
    /// The peer sent a re-INVITE; answer with `accept_reinvite` or
    /// `reject_reinvite`. `body` is its offer (None: it wants ours).
    RemoteReinvite { body: Option<Body> },
    /// Our re-INVITE was accepted; the 2xx's body (the answer).
    ReinviteAccepted { body: Option<Body> },
    /// Our re-INVITE was refused (487 after `cancel_reinvite`); the
    /// session goes on unchanged.
    ReinviteRejected { code: u16, reason: String },
    /// The ACK of our 2xx to the peer's re-INVITE arrived; its body is
    /// the answer when the re-INVITE had no offer (RFC 3264 §5 via
    /// RFC 3261 §14.2).
    ReinviteAcked { body: Option<Body> },
    /// The peer cancelled its re-INVITE before we answered it (we sent
    /// 487); the session goes on unchanged.
    RemoteReinviteCancelled,
}

/// What to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    SendRequest(Request),
    /// Answer the server transaction whose request had this CSeq.
    Respond(Response),
    /// Outside any transaction, to the dialog's next hop.
    SendStateless(Message),
    /// Cancel the INVITE client transaction (the caller's transaction
    /// layer builds the CANCEL, RFC 3261 §9.1).
    CancelInvite,
    /// Cancel our re-INVITE's client transaction (the one whose request
    /// had this CSeq number).
    CancelReinvite {
        seq: u32,
    },
}

/// A method called in a state that does not allow it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{action} is not possible while the session is {state:?}")]
pub struct StateError {
    pub action: &'static str,
    pub state: SessionState,
}

/// The 2xx being retransmitted until the ACK (§13.3.1.4).
#[derive(Debug, Clone)]
struct PendingTwoHundred {
    response: Response,
    next: Instant,
    interval: Duration,
    give_up: Instant,
}

/// One INVITE session.
#[derive(Debug, Clone)]
pub struct InviteSession {
    config: SessionConfig,
    state: SessionState,
    /// The INVITE that created the session (ours, or the peer's).
    invite: Request,
    dialog: Option<Dialog>,
    digest: DigestState,
    branches: u32,
    events: VecDeque<SessionEvent>,
    two_hundred: Option<PendingTwoHundred>,
    /// Our re-INVITE in flight, and its body (to retry after 491).
    reinvite: Option<(u32, Option<Body>)>,
    /// When to retry a re-INVITE that met glare.
    glare_retry: Option<(Instant, Option<Body>)>,
    /// The peer's re-INVITE we have not answered (its request).
    remote_reinvite: Option<Request>,
    /// We were asked to end while the ACK was outstanding.
    bye_after_ack: bool,
    /// For glare timers: whether we own the Call-ID (we sent the INVITE).
    outgoing: bool,
    /// Any response to our INVITE came (100 Trying included).
    heard_from_peer: bool,
}

fn cseq_of(headers: &crate::headers::Headers) -> Option<CSeq> {
    headers.typed::<CSeq>().and_then(Result::ok)
}

impl InviteSession {
    fn new(config: SessionConfig, invite: Request, state: SessionState, outgoing: bool) -> Self {
        InviteSession {
            config,
            state,
            invite,
            dialog: None,
            digest: DigestState::default(),
            branches: 0,
            events: VecDeque::new(),
            two_hundred: None,
            reinvite: None,
            glare_retry: None,
            remote_reinvite: None,
            bye_after_ack: false,
            outgoing,
            heard_from_peer: false,
        }
    }

    pub fn state(&self) -> SessionState {
        self.state
    }

    /// Whether anything (a 100 Trying at least) answered our INVITE: a
    /// CANCEL of an INVITE nothing answered can only end by Timer B.
    pub fn heard_from_peer(&self) -> bool {
        self.heard_from_peer
    }

    pub fn dialog(&self) -> Option<&Dialog> {
        self.dialog.as_ref()
    }

    /// The INVITE that created the session.
    pub fn invite(&self) -> &Request {
        &self.invite
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// When `handle_timeout` wants to be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.two_hundred.as_ref().map(|p| p.next.min(p.give_up)),
            self.glare_retry.as_ref().map(|(t, _)| *t),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn via(&mut self) -> String {
        self.branches += 1;
        format!(
            "{};branch=z9hG4bK{}{}",
            self.config.via, self.config.branch_prefix, self.branches
        )
    }

    fn fail(&mut self, originator: Originator, code: u16, reason: &str) {
        self.state = SessionState::Terminated;
        self.events.push_back(SessionEvent::Failed {
            originator,
            code,
            reason: reason.to_owned(),
        });
    }

    fn ended(&mut self, originator: Originator, reason: &str) {
        self.state = SessionState::Terminated;
        self.two_hundred = None;
        self.glare_retry = None;
        self.events.push_back(SessionEvent::Ended {
            originator,
            reason: reason.to_owned(),
        });
    }

    fn with_body(&self, r: &mut crate::headers::Headers, body: Option<&Body>) -> Vec<u8> {
        r.remove_all(&HeaderName::ContentLength);
        match body {
            Some(b) => {
                r.push(HeaderName::ContentType, b.content_type.as_str());
                r.push(HeaderName::ContentLength, b.data.len().to_string());
                b.data.clone()
            }
            None => {
                r.push(HeaderName::ContentLength, "0");
                Vec::new()
            }
        }
    }

    fn common_headers(&self, h: &mut crate::headers::Headers) {
        h.push(HeaderName::Contact, format!("<{}>", self.config.contact));
        h.push(
            HeaderName::Allow,
            self.config
                .allow
                .as_deref()
                .unwrap_or("INVITE, ACK, CANCEL, BYE"),
        );
        if let Some(ua) = &self.config.user_agent {
            h.push(HeaderName::UserAgent, ua.as_str());
        }
    }

    // ---- outgoing -------------------------------------------------------

    /// A new outgoing session: the INVITE to send as a client
    /// transaction, with `offer` as its body (or none: the peer offers in
    /// its 2xx and we answer in the ACK — not supported by `handle_response`
    /// yet, which then ACKs without a body).
    pub fn outgoing(
        config: SessionConfig,
        remote: NameAddr<'static>,
        request_uri: Uri<'static>,
        call_id: &str,
        offer: Option<Body>,
    ) -> (InviteSession, Request) {
        let mut invite = Request::new(Method::Invite, &request_uri);
        let mut s = InviteSession::new(config, invite.clone(), SessionState::Calling, true);
        let via = s.via();
        let h = &mut invite.headers;
        h.push(HeaderName::Via, via);
        h.push(HeaderName::MaxForwards, "70");
        let mut from = s.config.local.clone();
        from.set_tag(s.config.local_tag.clone());
        h.push(HeaderName::From, from.to_string());
        h.push(HeaderName::To, remote.to_string());
        h.push(HeaderName::CallId, call_id);
        h.push(HeaderName::CSeq, "1 INVITE");
        s.common_headers(h);
        let data = s.with_body(&mut invite.headers, offer.as_ref());
        invite.body = data.into();
        s.invite = invite.clone();
        (s, invite)
    }

    /// A response to one of our requests (matched by its CSeq).
    pub fn handle_response(&mut self, response: &Response, now: Instant) -> Vec<Action> {
        let Some(cseq) = cseq_of(&response.headers) else {
            return Vec::new();
        };
        // Only an outgoing session's INVITE is ours; an incoming one's
        // CSeq space is the peer's.
        let invite_seq = cseq_of(&self.invite.headers)
            .map(|c| c.seq)
            .filter(|_| self.outgoing);
        match cseq.method {
            Method::Invite if Some(cseq.seq) == invite_seq => self.on_invite_response(response),
            Method::Invite if self.reinvite.as_ref().is_some_and(|r| r.0 == cseq.seq) => {
                self.on_reinvite_response(response, now)
            }
            Method::Bye if self.state == SessionState::Terminating => {
                if response.status.code() >= 200 {
                    self.ended(Originator::Local, "BYE");
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// The client transaction of our request with this CSeq timed out
    /// (Timer B/F) or failed at the transport.
    pub fn handle_request_timeout(&mut self, method: &Method, seq: u32) -> Vec<Action> {
        let invite_seq = cseq_of(&self.invite.headers)
            .map(|c| c.seq)
            .filter(|_| self.outgoing);
        match method {
            Method::Invite if Some(seq) == invite_seq && self.dialog_confirmed().is_none() => {
                self.fail(Originator::Local, 408, "Request Timeout");
                Vec::new()
            }
            // RFC 5057: an in-dialog request timing out ends the dialog.
            Method::Invite | Method::Bye => {
                if self.state != SessionState::Terminated {
                    self.ended(Originator::Local, "Request Timeout");
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn dialog_confirmed(&self) -> Option<&Dialog> {
        self.dialog
            .as_ref()
            .filter(|d| d.state == DialogState::Confirmed)
    }

    fn ack_for(&mut self, response: &Response, body: Option<&Body>) -> Option<Request> {
        // The ACK goes in the dialog the 2xx made (§13.2.2.4): a fork's
        // 2xx gets its own.
        let mut dialog = match &self.dialog {
            Some(d) if d.id.remote_tag == to_tag(response) => d.clone(),
            _ => Dialog::uac(&self.invite, response).ok()?,
        };
        let seq = cseq_of(&response.headers).map(|c| c.seq)?;
        let via_text = self.via();
        let via = <Via as TypedHeader>::parse(&via_text).ok()?;
        let (mut ack, _) = dialog.new_request(Method::Ack, &via, Some(seq));
        // Credentials of the INVITE go on its ACK too (§22.1).
        for name in [HeaderName::Authorization, HeaderName::ProxyAuthorization] {
            for h in self.invite.headers.get_all(&name) {
                ack.headers.push_copy(h);
            }
        }
        let data = self.with_body(&mut ack.headers, body);
        ack.body = data.into();
        Some(ack)
    }

    /// A BYE in `dialog`, saying why in a Reason header (RFC 3326):
    /// `cause` is the SIP status code that describes it.
    fn bye_in(&mut self, dialog: &mut Dialog, cause: u16, text: &str) -> Request {
        let via_text = self.via();
        let mut bye = match <Via as TypedHeader>::parse(&via_text).ok() {
            Some(via) => dialog.new_request(Method::Bye, &via, None).0,
            None => Request::new(Method::Bye, &dialog.remote_target),
        };
        bye.headers.push(
            HeaderName::Reason,
            format!("SIP ;cause={cause} ;text=\"{text}\""),
        );
        if let Some(ua) = &self.config.user_agent {
            bye.headers.push(HeaderName::UserAgent, ua.as_str());
        }
        bye
    }

    fn on_invite_response(&mut self, response: &Response) -> Vec<Action> {
        let code = response.status.code();
        let reason = response.reason().to_owned();
        let body = Body::of(&response.headers, &response.body);
        self.heard_from_peer = true;
        match code {
            100 => Vec::new(),
            101..=199 => {
                if matches!(self.state, SessionState::Calling | SessionState::Proceeding) {
                    if self.dialog.is_none() && !to_tag(response).is_empty() {
                        self.dialog = Dialog::uac(&self.invite, response).ok();
                    }
                    self.state = SessionState::Proceeding;
                    self.events
                        .push_back(SessionEvent::Provisional { code, reason, body });
                }
                Vec::new()
            }
            200..=299 => self.on_invite_success(response, body),
            401 | 407 if matches!(self.state, SessionState::Calling | SessionState::Proceeding) => {
                self.authenticate(response)
            }
            _ => {
                match self.state {
                    // Our CANCEL took effect: the refusal is ours (487).
                    SessionState::Cancelling => self.fail(Originator::Local, code, &reason),
                    SessionState::Calling | SessionState::Proceeding => {
                        self.fail(Originator::Remote, code, &reason)
                    }
                    _ => {}
                }
                Vec::new()
            }
        }
    }

    fn on_invite_success(&mut self, response: &Response, body: Option<Body>) -> Vec<Action> {
        let Some(ack) = self.ack_for(response, None) else {
            return Vec::new();
        };
        let tag = to_tag(response);
        let mut actions = vec![Action::SendStateless(Message::Request(ack))];
        let established_with = self.dialog_confirmed().map(|d| d.id.remote_tag.clone());
        match established_with {
            // A retransmitted 2xx: its ACK again (done above).
            Some(t) if t == tag => {}
            // A forked 2xx after the first: ACK and end it (§13.2.2.4).
            Some(_) => {
                if let Ok(mut fork) = Dialog::uac(&self.invite, response) {
                    let bye = self.bye_in(&mut fork, 200, "Call completed elsewhere");
                    actions.push(Action::SendRequest(bye));
                }
            }
            None => {
                let mut dialog = match self.dialog.take() {
                    Some(mut d) if d.id.remote_tag == tag => {
                        let _ = d.confirm(response);
                        d
                    }
                    _ => match Dialog::uac(&self.invite, response) {
                        Ok(d) => d,
                        Err(_) => return actions,
                    },
                };
                if self.state == SessionState::Cancelling {
                    // The 2xx crossed our CANCEL: the call is up, so end it.
                    let bye = self.bye_in(&mut dialog, 487, "Request Terminated");
                    self.dialog = Some(dialog);
                    self.state = SessionState::Terminating;
                    actions.push(Action::SendRequest(bye));
                    self.events.push_back(SessionEvent::Failed {
                        originator: Originator::Local,
                        code: 487,
                        reason: "Request Terminated".into(),
                    });
                    return actions;
                }
                self.dialog = Some(dialog);
                self.state = SessionState::Confirmed;
                self.events.push_back(SessionEvent::Established { body });
            }
        }
        actions
    }

    /// Our INVITE again as a new transaction: a new branch and the next
    /// CSeq (§8.1.3.5 for a retry with credentials, RFC 3263 for
    /// failover).
    fn next_invite(&mut self) -> Request {
        let mut invite = self.invite.clone();
        let seq = cseq_of(&invite.headers)
            .map_or(1, |c| c.seq)
            .wrapping_add(1);
        invite.headers.remove_all(&HeaderName::Via);
        invite.headers.remove_all(&HeaderName::CSeq);
        let via = self.via();
        invite.headers.push(HeaderName::Via, via);
        invite
            .headers
            .push(HeaderName::CSeq, format!("{seq} INVITE"));
        invite
    }

    fn authenticate(&mut self, challenge: &Response) -> Vec<Action> {
        let code = challenge.status.code();
        let Some(store) = self.config.credentials.clone() else {
            self.fail(Originator::Remote, code, challenge.reason());
            return Vec::new();
        };
        let mut invite = self.next_invite();
        let cnonce = format!("{}c{}", self.config.branch_prefix, self.branches);
        match digest::authorize(&mut invite, challenge, &store, &mut self.digest, &cnonce) {
            Ok(()) => {
                self.invite = invite.clone();
                self.state = SessionState::Calling;
                vec![Action::SendRequest(invite)]
            }
            Err(e) => {
                self.fail(
                    Originator::Remote,
                    code,
                    &format!("{}: {e}", challenge.reason()),
                );
                Vec::new()
            }
        }
    }

    /// RFC 3263 §4.3 failover: our INVITE's transaction failed (timed
    /// out, or the transport refused it) or a server answered 503, and
    /// there is another server to try. Returns the INVITE again as a new
    /// transaction (new branch, next CSeq, credentials kept) for the
    /// caller to send there; an early dialog of the first server is
    /// forgotten. `local` replaces our Via (without branch) and Contact
    /// when the next server is reached over another transport or from
    /// another address.
    pub fn retry_invite(
        &mut self,
        local: Option<(String, Uri<'static>)>,
    ) -> Result<Request, StateError> {
        if !self.outgoing || !matches!(self.state, SessionState::Calling | SessionState::Proceeding)
        {
            return Err(StateError {
                action: "retry the INVITE",
                state: self.state,
            });
        }
        if let Some((via, contact)) = local {
            self.config.via = via;
            self.config.contact = contact;
        }
        let mut invite = self.next_invite();
        invite.headers.remove_all(&HeaderName::Contact);
        invite
            .headers
            .push(HeaderName::Contact, format!("<{}>", self.config.contact));
        self.invite = invite.clone();
        self.dialog = None;
        self.state = SessionState::Calling;
        Ok(invite)
    }

    /// Cancels an outgoing session that has no final answer yet (§9.1).
    /// The INVITE's answer (487, or a 2xx that crossed the CANCEL) ends
    /// it.
    pub fn cancel(&mut self) -> Result<Vec<Action>, StateError> {
        match self.state {
            SessionState::Calling | SessionState::Proceeding => {
                self.state = SessionState::Cancelling;
                Ok(vec![Action::CancelInvite])
            }
            state => Err(StateError {
                action: "cancel",
                state,
            }),
        }
    }

    /// Ends the session the way its state calls for: BYE when confirmed
    /// (after the ACK, for an incoming one still waiting for it), CANCEL
    /// when outgoing and unanswered, 603 Decline when incoming and
    /// unanswered.
    pub fn end(&mut self) -> Result<Vec<Action>, StateError> {
        match self.state {
            SessionState::Calling | SessionState::Proceeding => self.cancel(),
            SessionState::Incoming => self.reject(603, "Decline"),
            SessionState::Accepting => {
                self.bye_after_ack = true;
                Ok(Vec::new())
            }
            SessionState::Confirmed => {
                let Some(mut dialog) = self.dialog.take() else {
                    return Err(StateError {
                        action: "end",
                        state: self.state,
                    });
                };
                let bye = self.bye_in(&mut dialog, 200, "Call completed");
                self.dialog = Some(dialog);
                self.state = SessionState::Terminating;
                self.two_hundred = None;
                self.glare_retry = None;
                Ok(vec![Action::SendRequest(bye)])
            }
            state => Err(StateError {
                action: "end",
                state,
            }),
        }
    }

    // ---- re-INVITE from us ---------------------------------------------

    /// Sends a re-INVITE with `body` (a new offer: hold, streams added or
    /// removed).
    pub fn reinvite(&mut self, body: Option<Body>) -> Result<Vec<Action>, StateError> {
        if self.state != SessionState::Confirmed
            || self.reinvite.is_some()
            || self.remote_reinvite.is_some()
            || self.two_hundred.is_some()
        {
            return Err(StateError {
                action: "reinvite",
                state: self.state,
            });
        }
        Ok(self.send_reinvite(body).into_iter().collect())
    }

    fn send_reinvite(&mut self, body: Option<Body>) -> Option<Action> {
        let mut dialog = self.dialog.take()?;
        let via_text = self.via();
        let via = <Via as TypedHeader>::parse(&via_text).ok();
        let mut r = match via {
            Some(via) => dialog.new_request(Method::Invite, &via, None).0,
            None => {
                self.dialog = Some(dialog);
                return None;
            }
        };
        self.dialog = Some(dialog);
        self.common_headers(&mut r.headers);
        let data = self.with_body(&mut r.headers, body.as_ref());
        r.body = data.into();
        let seq = cseq_of(&r.headers).map_or(0, |c| c.seq);
        self.reinvite = Some((seq, body));
        Some(Action::SendRequest(r))
    }

    /// Cancels our re-INVITE that has no final answer yet (RFC 3261
    /// §14.1 allows it; the 487 that follows is a ReinviteRejected).
    pub fn cancel_reinvite(&mut self) -> Result<Vec<Action>, StateError> {
        match &self.reinvite {
            Some((seq, _)) => Ok(vec![Action::CancelReinvite { seq: *seq }]),
            None => Err(StateError {
                action: "cancel_reinvite (no re-INVITE in flight)",
                state: self.state,
            }),
        }
    }

    fn on_reinvite_response(&mut self, response: &Response, now: Instant) -> Vec<Action> {
        let code = response.status.code();
        if code < 200 {
            return Vec::new();
        }
        let body = self.reinvite.take().and_then(|(_, b)| b);
        match code {
            200..=299 => {
                if let Some(d) = self.dialog.as_mut() {
                    d.on_refresh_response(response);
                }
                let ack = self.ack_for(response, None);
                self.events.push_back(SessionEvent::ReinviteAccepted {
                    body: Body::of(&response.headers, &response.body),
                });
                ack.map(|a| vec![Action::SendStateless(Message::Request(a))])
                    .unwrap_or_default()
            }
            491 => {
                // §14.1: the Call-ID's owner waits 2.1-4 s, the other 0-2 s.
                // The spread comes from the branch prefix, which is random.
                let spread = self
                    .config
                    .branch_prefix
                    .bytes()
                    .fold(0u32, |a, b| a.wrapping_mul(31).wrapping_add(u32::from(b)))
                    % 1000;
                let wait = if self.outgoing {
                    Duration::from_millis(2100 + u64::from(spread) * 19 / 10)
                } else {
                    Duration::from_millis(u64::from(spread) * 2)
                };
                self.glare_retry = Some((now + wait, body));
                Vec::new()
            }
            408 | 481 => {
                // RFC 5057: the dialog is gone.
                self.ended(Originator::Remote, response.reason());
                Vec::new()
            }
            _ => {
                self.events.push_back(SessionEvent::ReinviteRejected {
                    code,
                    reason: response.reason().to_owned(),
                });
                Vec::new()
            }
        }
    }

    /// Runs the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        if let Some(p) = self.two_hundred.as_mut() {
            if now >= p.give_up {
                // No ACK for 64*T1 (§13.3.1.4): end the session with BYE.
                self.two_hundred = None;
                let was_setup = self.state == SessionState::Accepting;
                self.state = SessionState::Confirmed;
                if let Ok(mut a) = self.end() {
                    actions.append(&mut a);
                }
                if was_setup {
                    self.events.push_back(SessionEvent::Failed {
                        originator: Originator::Remote,
                        code: 408,
                        reason: "no ACK".into(),
                    });
                }
            } else if now >= p.next {
                actions.push(Action::SendStateless(Message::Response(p.response.clone())));
                p.interval = (p.interval * 2).min(self.config.timers.t2);
                p.next = now + p.interval;
            }
        }
        if let Some((at, _)) = &self.glare_retry {
            if now >= *at && self.state == SessionState::Confirmed {
                if let Some((_, body)) = self.glare_retry.take() {
                    actions.extend(self.send_reinvite(body));
                }
            }
        }
        actions
    }
}

fn to_tag(response: &Response) -> String {
    response
        .headers
        .typed::<To>()
        .and_then(Result::ok)
        .and_then(|t| t.tag().map(str::to_owned))
        .unwrap_or_default()
}
