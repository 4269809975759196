//! The answering side of an INVITE session: ringing, accepting (with the
//! 2xx retransmitted until the ACK), refusing, CANCEL, the ACK, and the
//! requests the peer sends inside the dialog (BYE, re-INVITE).

use std::time::Instant;

use super::{
    cseq_of, Action, Body, InviteSession, Originator, PendingTwoHundred, SessionConfig,
    SessionEvent, SessionState, StateError,
};
use crate::dialog::Dialog;
use crate::headers::HeaderName;
use crate::message::{Method, Request, Response, StatusCode};

impl InviteSession {
    /// A new incoming session from a dialog-creating INVITE. Its offer
    /// (if any) is `invite.body`.
    pub fn incoming(config: SessionConfig, invite: &Request) -> InviteSession {
        InviteSession::new(config, invite.clone(), SessionState::Incoming, false)
    }

    fn response(&self, request: &Request, code: u16, reason: Option<&str>) -> Response {
        let status = StatusCode::new(code).unwrap_or(StatusCode::SERVER_INTERNAL_ERROR);
        let mut r = Response::for_request(request, status, Some(&self.config.local_tag));
        if let Some(reason) = reason {
            r.set_reason(reason);
        }
        if let Some(ua) = &self.config.user_agent {
            r.headers.push(HeaderName::Server, ua.as_str());
        }
        r
    }

    /// A response of ours that creates (or confirms) the dialog: RFC 3261
    /// §12.1.1 has the UAS copy every Record-Route of the request into it,
    /// in order, so the caller learns the route set too.
    fn dialog_response(&self, request: &Request, code: u16) -> Response {
        let mut r = self.response(request, code, None);
        for h in request.headers.get_all(&HeaderName::RecordRoute) {
            r.headers.push_copy(h);
        }
        r
    }

    /// 180 Ringing (or another provisional `code`) on the INVITE.
    pub fn ring(&mut self, code: u16, body: Option<Body>) -> Result<Vec<Action>, StateError> {
        if self.state != SessionState::Incoming || !(101..200).contains(&code) {
            return Err(StateError {
                action: "ring",
                state: self.state,
            });
        }
        let mut r = self.dialog_response(&self.invite, code);
        r.headers
            .push(HeaderName::Contact, format!("<{}>", self.config.contact));
        let data = self.with_body(&mut r.headers, body.as_ref());
        r.body = data.into();
        if self.dialog.is_none() {
            self.dialog = Dialog::uas(&self.invite, &r).ok();
        }
        Ok(vec![Action::Respond(r)])
    }

    /// Accepts with a 200 carrying `body` (the answer), retransmitted
    /// until the ACK comes (§13.3.1.4).
    pub fn accept(&mut self, body: Option<Body>, now: Instant) -> Result<Vec<Action>, StateError> {
        if self.state != SessionState::Incoming {
            return Err(StateError {
                action: "accept",
                state: self.state,
            });
        }
        let mut r = self.dialog_response(&self.invite, 200);
        self.common_headers(&mut r.headers);
        let data = self.with_body(&mut r.headers, body.as_ref());
        r.body = data.into();
        match Dialog::uas(&self.invite, &r) {
            Ok(d) => self.dialog = Some(d),
            Err(_) => {
                return Err(StateError {
                    action: "accept (the INVITE cannot make a dialog)",
                    state: self.state,
                })
            }
        }
        self.state = SessionState::Accepting;
        let t1 = self.config.timers.t1;
        self.two_hundred = Some(PendingTwoHundred {
            response: r.clone(),
            next: now + t1,
            interval: t1,
            give_up: now + t1 * 64,
        });
        Ok(vec![Action::Respond(r)])
    }

    /// Refuses the INVITE with a final `code` (300-699).
    pub fn reject(&mut self, code: u16, reason: &str) -> Result<Vec<Action>, StateError> {
        if self.state != SessionState::Incoming || !(300..700).contains(&code) {
            return Err(StateError {
                action: "reject",
                state: self.state,
            });
        }
        let r = self.response(&self.invite, code, Some(reason));
        self.fail(Originator::Local, code, reason);
        Ok(vec![Action::Respond(r)])
    }

    /// The peer cancelled the INVITE (the transaction layer answered the
    /// CANCEL): 487 on the INVITE if it is still unanswered.
    pub fn handle_cancel(&mut self) -> Vec<Action> {
        if self.state != SessionState::Incoming {
            return Vec::new();
        }
        let r = self.response(&self.invite, 487, None);
        self.fail(Originator::Remote, 487, "Request Terminated");
        vec![Action::Respond(r)]
    }

    /// The ACK of our 2xx (the dialog's, not a transaction's).
    pub fn handle_ack(&mut self, ack: &Request) -> Vec<Action> {
        if !self.dialog.as_ref().is_some_and(|d| d.matches(ack)) {
            return Vec::new();
        }
        let ack_seq = cseq_of(&ack.headers).map(|c| c.seq);
        let pending_seq = self
            .two_hundred
            .as_ref()
            .and_then(|p| cseq_of(&p.response.headers).map(|c| c.seq));
        if ack_seq.is_none() || ack_seq != pending_seq {
            return Vec::new();
        }
        self.two_hundred = None;
        let body = Body::of(&ack.headers, &ack.body);
        if self.state == SessionState::Accepting {
            self.state = SessionState::Confirmed;
            self.events.push_back(SessionEvent::Established { body });
            if self.bye_after_ack {
                return self.end().unwrap_or_default();
            }
        } else if self.state == SessionState::Confirmed {
            self.events.push_back(SessionEvent::ReinviteAcked { body });
        }
        Vec::new()
    }

    /// The peer cancelled its re-INVITE (the transaction layer answered
    /// the CANCEL): 487 on the re-INVITE if it is still unanswered.
    pub fn handle_reinvite_cancel(&mut self) -> Vec<Action> {
        let Some(request) = self.remote_reinvite.take() else {
            return Vec::new();
        };
        self.events.push_back(SessionEvent::RemoteReinviteCancelled);
        vec![Action::Respond(self.response(&request, 487, None))]
    }

    /// A request inside the dialog (BYE, re-INVITE, ...): the actions
    /// include its answer, unless it is a re-INVITE left to the caller
    /// (SessionEvent::RemoteReinvite).
    pub fn handle_request(&mut self, request: &Request, now: Instant) -> Vec<Action> {
        let Some(dialog) = self.dialog.as_mut() else {
            return vec![Action::Respond(self.response(request, 481, None))];
        };
        if let Err(e) = dialog.on_request(request) {
            let code = match e {
                crate::dialog::DialogError::OutOfOrder { .. } => 500,
                _ => 481,
            };
            return vec![Action::Respond(self.response(request, code, None))];
        }
        match request.method {
            Method::Bye => {
                let ok = self.response(request, 200, None);
                let was_up = !matches!(self.state, SessionState::Incoming);
                if self.state == SessionState::Incoming {
                    // BYE before our final answer (§15.1.2): 487 the INVITE.
                    let r = self.response(&self.invite, 487, None);
                    self.fail(Originator::Remote, 487, "Request Terminated");
                    return vec![Action::Respond(ok), Action::Respond(r)];
                }
                if was_up && self.state != SessionState::Terminated {
                    // RFC 3326: the peer may say why; "BYE" when it does not.
                    let why = request
                        .headers
                        .typed::<crate::headers::Reason>()
                        .and_then(Result::ok)
                        .and_then(|r| r.text().map(|t| t.into_owned()))
                        .unwrap_or_else(|| "BYE".to_owned());
                    self.ended(Originator::Remote, &why);
                }
                vec![Action::Respond(ok)]
            }
            Method::Invite => {
                // Glare (§14.2): our own re-INVITE is pending.
                if self.reinvite.is_some() || self.remote_reinvite.is_some() {
                    return vec![Action::Respond(self.response(request, 491, None))];
                }
                if self.state != SessionState::Confirmed {
                    let mut r = self.response(request, 500, None);
                    r.headers.push(HeaderName::RetryAfter, "1");
                    return vec![Action::Respond(r)];
                }
                let _ = now;
                self.remote_reinvite = Some(request.clone());
                self.events.push_back(SessionEvent::RemoteReinvite {
                    body: Body::of(&request.headers, &request.body),
                });
                Vec::new()
            }
            _ => vec![Action::Respond(self.response(request, 405, None))],
        }
    }

    /// Accepts the peer's re-INVITE with `body` (our answer, or our offer
    /// if it had none). The 200 is retransmitted until its ACK.
    pub fn accept_reinvite(
        &mut self,
        body: Option<Body>,
        now: Instant,
    ) -> Result<Vec<Action>, StateError> {
        let Some(request) = self.remote_reinvite.take() else {
            return Err(StateError {
                action: "accept_reinvite (no re-INVITE pending)",
                state: self.state,
            });
        };
        let mut r = self.dialog_response(&request, 200);
        self.common_headers(&mut r.headers);
        let data = self.with_body(&mut r.headers, body.as_ref());
        r.body = data.into();
        let t1 = self.config.timers.t1;
        self.two_hundred = Some(PendingTwoHundred {
            response: r.clone(),
            next: now + t1,
            interval: t1,
            give_up: now + t1 * 64,
        });
        Ok(vec![Action::Respond(r)])
    }

    /// Refuses the peer's re-INVITE (488 for an offer we cannot take);
    /// the session goes on as it was.
    pub fn reject_reinvite(&mut self, code: u16, reason: &str) -> Result<Vec<Action>, StateError> {
        let Some(request) = self.remote_reinvite.take() else {
            return Err(StateError {
                action: "reject_reinvite (no re-INVITE pending)",
                state: self.state,
            });
        };
        Ok(vec![Action::Respond(self.response(
            &request,
            code,
            Some(reason),
        ))])
    }
}
