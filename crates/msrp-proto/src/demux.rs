//! Several MSRP sessions on one connection (RFC 4975 §5.4: a device may
//! carry many sessions on one connection; the To-Path tells them apart).
//!
//! [`Demux`] owns the connection's one stream parser and routes what it
//! reads: a request to the session the first URI of its To-Path names
//! (a relay takes itself off before forwarding, so that URI is ours;
//! session-ids compare exactly, RFC 4975 §6.1), its body and end-line
//! after it; a response to the session that sent the request, by its
//! transaction id. A request for a session that is not on the connection
//! is answered 481 and its body dropped (RFC 4975 §7.3: the To-Path must
//! map to a session associated with the connection the request came on).
//!
//! Writes take one transmit from each session in turn: a session's
//! chunks are bounded by its chunk size, so a large message of one
//! session never holds back another session's messages, as inside one
//! session a large message never holds back a small one. A chunk half
//! written (a session's large chunks go out in slices, see
//! [`Session::is_mid_chunk`]) keeps the connection until its end-line:
//! nothing, not even a 481, may come inside its body; a session taken
//! off mid-chunk ends that chunk with `#` first.
//!
//! With [`Demux::hold_unknown`] a request for an unknown session stops
//! the stream instead ([`Demux::held_request`]): its owner may add that
//! session (a session of ours that waits for its peer to connect, which
//! the peer chose to reach over a connection it already has) and then
//! [`Demux::release`] hands the request on, or answers 481.
//!
//! On a connection to a relay, a new session's AUTH runs as a
//! transaction of the demux before the session joins ([`Demux::start_auth`],
//! the `auth` module): the relay's answers reach it by transaction id.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use crate::headers::ToPath;
use crate::message::{Head, Request, TransactionId};
use crate::parser::{Event, Limits, Parser, StreamError};
use crate::session::{response_to, response_wanted, Session, SessionEvent};

mod auth;
pub use auth::AuthOutcome;

/// Sessions one connection carries at most.
pub const MAX_SESSIONS: usize = 64;

/// Requests of ours whose responses are routed by transaction id.
/// Requests sent with `Failure-Report: no` or `partial` are mostly never
/// answered, so the oldest are forgotten; a response that comes after
/// is routed by its To-Path instead (our URI, RFC 4975 §7.2).
const TRACKED_TRANSACTIONS: usize = 16 * 1024;

/// 481s waiting to be written: beyond, the peer is not reading and
/// further ones are not sent.
const MAX_REFUSALS: usize = 1024;

/// Why a session was not added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DemuxError {
    #[error("the connection carries {MAX_SESSIONS} sessions already")]
    Full,
    #[error("the session has no session-id of its own")]
    NoSessionId,
    #[error("session {0} is on the connection already")]
    Duplicate(String),
}

/// A session [`Demux::add_session`] did not take.
#[derive(Debug)]
pub struct Rejected {
    pub reason: DemuxError,
    pub session: Box<Session>,
}

/// Where the events of the message being read go.
#[derive(Debug)]
enum Route {
    /// Between messages.
    Idle,
    /// To this session (dropped if it left meanwhile).
    To(String),
    /// A request answered with this status once it has ended: 481 for
    /// no session here, or what the owner said of a held one.
    Refuse(Box<Request>, u16, &'static str),
    /// A response nobody waits for.
    Drop,
}

/// One connection's parser and the sessions it carries.
#[derive(Debug)]
pub struct Demux {
    parser: Parser,
    sessions: Vec<(String, Session)>,
    /// The session whose transmit is taken first next time.
    turn: usize,
    /// The session whose event is returned first next time.
    event_turn: usize,
    route: Route,
    sent: HashMap<TransactionId, String>,
    sent_order: VecDeque<TransactionId>,
    refusals: VecDeque<Vec<u8>>,
    hold_unknown: bool,
    held: Option<Box<Request>>,
    auths: auth::Auths,
}

impl Demux {
    pub fn new(limits: Limits) -> Demux {
        Demux {
            parser: Parser::new(limits),
            sessions: Vec::new(),
            turn: 0,
            event_turn: 0,
            route: Route::Idle,
            sent: HashMap::new(),
            sent_order: VecDeque::new(),
            refusals: VecDeque::new(),
            hold_unknown: false,
            held: None,
            auths: auth::Auths::default(),
        }
    }

    /// Stop at a request for a session not on the connection (see the
    /// module doc) instead of answering it 481 at once.
    pub fn hold_unknown(&mut self, on: bool) {
        self.hold_unknown = on;
    }

    /// Adds `session`, named by its own session-id; a session it does
    /// not take comes back with why.
    pub fn add_session(&mut self, session: Session) -> Result<String, Rejected> {
        let reason = match session.local_session_id() {
            None => DemuxError::NoSessionId,
            Some(id) if self.session(id).is_some() => DemuxError::Duplicate(id.to_owned()),
            Some(_) if self.sessions.len() >= MAX_SESSIONS => DemuxError::Full,
            Some(id) => {
                let id = id.to_owned();
                self.sessions.push((id.clone(), session));
                return Ok(id);
            }
        };
        Err(Rejected {
            reason,
            session: Box::new(session),
        })
    }

    /// Takes the session off the connection; the rest of a message of
    /// its that is being read is dropped, later requests for it get 481.
    /// What it must still write ([`Session::parting_transmits`]: the `#`
    /// end of a chunk it was writing first) goes out before anything else.
    pub fn remove_session(&mut self, session_id: &str) -> Option<Session> {
        let at = self.sessions.iter().position(|(s, _)| s == session_id)?;
        let (_, mut session) = self.sessions.remove(at);
        self.sent.retain(|_, s| s != session_id);
        for t in session.parting_transmits().into_iter().rev() {
            self.refusals.push_front(t);
        }
        Some(session)
    }

    pub fn session(&self, session_id: &str) -> Option<&Session> {
        self.sessions
            .iter()
            .find(|(s, _)| s == session_id)
            .map(|(_, s)| s)
    }

    pub fn session_mut(&mut self, session_id: &str) -> Option<&mut Session> {
        self.sessions
            .iter_mut()
            .find(|(s, _)| s == session_id)
            .map(|(_, s)| s)
    }

    /// The session-ids on the connection.
    pub fn session_ids(&self) -> impl Iterator<Item = &str> {
        self.sessions.iter().map(|(s, _)| s.as_str())
    }

    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// Received bytes. An error means the stream cannot be read further:
    /// close the connection (every session on it).
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) -> Result<(), StreamError> {
        self.parser.feed(data)?;
        self.run(now)
    }

    /// With [`Demux::hold_unknown`]: the request the stream stopped at,
    /// for a session not on the connection. Nothing more is read until
    /// [`Demux::release`].
    pub fn held_request(&self) -> Option<&Request> {
        self.held.as_deref()
    }

    /// Goes on after [`Demux::held_request`]: the request goes to its
    /// session if it was added meanwhile, else it is answered 481.
    pub fn release(&mut self, now: Instant) -> Result<(), StreamError> {
        if let Some(req) = self.held.take() {
            self.route_request(now, req, false);
        }
        self.run(now)
    }

    /// Goes on after [`Demux::held_request`], answering it `status`
    /// (506: its session is bound to another connection, RFC 4975 §5.4)
    /// and dropping its body.
    pub fn refuse_held(
        &mut self,
        now: Instant,
        status: u16,
        comment: &'static str,
    ) -> Result<(), StreamError> {
        if let Some(req) = self.held.take() {
            self.route = Route::Refuse(req, status, comment);
        }
        self.run(now)
    }

    fn run(&mut self, now: Instant) -> Result<(), StreamError> {
        while self.held.is_none() {
            let Some(ev) = self.parser.poll()? else {
                break;
            };
            match ev {
                Event::Head(Head::Request(req)) => {
                    self.route_request(now, Box::new(req), self.hold_unknown)
                }
                Event::Head(Head::Response(resp)) => {
                    let Some(resp) = self.auths.take_response(resp) else {
                        self.route = Route::Drop;
                        continue;
                    };
                    let to = self
                        .sent
                        .remove(&resp.tid)
                        .or_else(|| first_session_id(&resp.headers));
                    self.route = match to {
                        Some(id) => {
                            self.deliver(now, &id, Event::Head(Head::Response(resp)));
                            Route::To(id)
                        }
                        None => Route::Drop,
                    };
                }
                Event::BodyData(b) => {
                    if let Route::To(id) = &self.route {
                        let id = id.clone();
                        self.deliver(now, &id, Event::BodyData(b));
                    }
                }
                Event::End(flag) => match std::mem::replace(&mut self.route, Route::Idle) {
                    Route::To(id) => self.deliver(now, &id, Event::End(flag)),
                    Route::Refuse(req, status, comment) => self.refuse(&req, status, comment),
                    Route::Idle | Route::Drop => {}
                },
            }
        }
        Ok(())
    }

    fn route_request(&mut self, now: Instant, req: Box<Request>, may_hold: bool) {
        let to = first_session_id(&req.headers).filter(|id| self.session(id).is_some());
        self.route = match to {
            Some(id) => {
                self.deliver(now, &id, Event::Head(Head::Request(*req)));
                Route::To(id)
            }
            None if may_hold => {
                self.held = Some(req);
                Route::Idle
            }
            None => Route::Refuse(req, 481, "Session does not exist"),
        };
    }

    fn deliver(&mut self, now: Instant, session_id: &str, ev: Event) {
        if let Some(s) = self.session_mut(session_id) {
            s.handle_event(now, ev);
        }
    }

    fn refuse(&mut self, req: &Request, status: u16, comment: &str) {
        if !response_wanted(req, status) || self.refusals.len() >= MAX_REFUSALS {
            return;
        }
        let us = match req.headers.typed::<ToPath>() {
            Some(Ok(ToPath(p))) => p.into_iter().next(),
            _ => None,
        };
        if let Some(b) = response_to(req, status, comment, us.as_ref()) {
            self.refusals.push_back(b);
        }
    }

    /// The next bytes to write: the rest of a chunk half written, our
    /// 481s, then AUTHs (see the `auth` module), then one transmit of the
    /// next session in turn.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        // The rest of a chunk half written, untracked: it is no request.
        if let Some((_, s)) = self.sessions.iter_mut().find(|(_, s)| s.is_mid_chunk()) {
            return s.poll_transmit(now);
        }
        if let Some(t) = self.refusals.pop_front() {
            return Some(t);
        }
        if let Some(t) = self.auths.poll_transmit() {
            return Some(t);
        }
        let n = self.sessions.len();
        for i in 0..n {
            let at = (self.turn + i) % n;
            let Some((id, s)) = self.sessions.get_mut(at) else {
                continue;
            };
            if let Some(t) = s.poll_transmit(now) {
                let id = id.clone();
                self.turn = at + 1;
                if let Some(tid) = request_tid(&t) {
                    self.track(tid, id);
                }
                return Some(t);
            }
        }
        None
    }

    fn track(&mut self, tid: TransactionId, session_id: String) {
        if self.sent_order.len() >= TRACKED_TRANSACTIONS {
            if let Some(old) = self.sent_order.pop_front() {
                self.sent.remove(&old);
            }
        }
        self.sent_order.push_back(tid.clone());
        self.sent.insert(tid, session_id);
    }

    /// The next event of any session, with the session's id; sessions
    /// take turns.
    pub fn poll_event(&mut self) -> Option<(String, SessionEvent)> {
        let n = self.sessions.len();
        for i in 0..n {
            let at = (self.event_turn + i) % n;
            let Some((id, s)) = self.sessions.get_mut(at) else {
                continue;
            };
            if let Some(e) = s.poll_event() {
                self.event_turn = at + 1;
                return Some((id.clone(), e));
            }
        }
        None
    }

    /// The earliest deadline of any session.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.sessions
            .iter()
            .filter_map(|(_, s)| s.poll_timeout())
            .min()
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        for (_, s) in &mut self.sessions {
            if s.poll_timeout().is_some_and(|t| t <= now) {
                s.handle_timeout(now);
            }
        }
    }

    /// Transmits produced and not yet taken, ours and the sessions': the
    /// transport stops reading while this is high.
    pub fn pending_transmits(&self) -> usize {
        self.refusals.len()
            + self
                .sessions
                .iter()
                .map(|(_, s)| s.pending_transmits())
                .sum::<usize>()
    }

    /// Whether the stream is in the middle of a message.
    pub fn in_message(&self) -> bool {
        !self.parser.is_idle() || self.held.is_some()
    }
}

/// The session-id of the first URI of the To-Path.
fn first_session_id(headers: &crate::message::Headers) -> Option<String> {
    match headers.typed::<ToPath>() {
        Some(Ok(ToPath(p))) => p.into_iter().next().and_then(|u| u.session_id),
        _ => None,
    }
}

/// The transaction id of an encoded request (`MSRP <tid> <METHOD>`);
/// None for a response (`MSRP <tid> <code>`).
fn request_tid(bytes: &[u8]) -> Option<TransactionId> {
    let line_end = crate::search::find_from(bytes, b"\r\n", 0)?;
    let line = std::str::from_utf8(bytes.get(..line_end)?).ok()?;
    let mut parts = line.split(' ');
    if parts.next()? != "MSRP" {
        return None;
    }
    let tid = parts.next()?;
    let third = parts.next()?;
    let is_status = third.len() == 3 && third.bytes().all(|b| b.is_ascii_digit());
    if is_status {
        return None;
    }
    TransactionId::new(tid).ok()
}

#[cfg(test)]
mod tests;
