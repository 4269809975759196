//! Client transactions: INVITE (RFC 3261 §17.1.1 with RFC 6026's Accepted
//! state) and non-INVITE (§17.1.2).

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{ClientKey, Event, Target, TimerConfig, Transmit};
use crate::headers::{HeaderName, To, TypedHeader};
use crate::message::{Message, Method, Request, Response};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientState {
    /// INVITE: Calling; non-INVITE: Trying.
    Initial,
    Proceeding,
    Completed,
    /// RFC 6026: an INVITE got a 2xx; later 2xx are passed up until Timer M.
    Accepted,
    Terminated,
}

pub(crate) struct ClientTx {
    pub(crate) key: ClientKey,
    invite: bool,
    pub(crate) state: ClientState,
    request: Request,
    data: Bytes,
    target: Target,
    /// Timer A (INVITE) or E (non-INVITE), and its current interval.
    retransmit_at: Option<Instant>,
    interval: Duration,
    /// Timer B or F.
    timeout_at: Option<Instant>,
    /// Timer D, K or M: when the transaction ends.
    end_at: Option<Instant>,
    /// The ACK sent for a non-2xx final response, resent on retransmissions.
    ack: Option<Bytes>,
}

/// Where a transaction puts what it sends and reports.
pub(crate) struct Out<'o> {
    pub(crate) transmits: &'o mut std::collections::VecDeque<Transmit>,
    pub(crate) events: &'o mut std::collections::VecDeque<Event>,
}

impl ClientTx {
    pub(crate) fn start(
        now: Instant,
        key: ClientKey,
        request: Request,
        target: Target,
        cfg: &TimerConfig,
        out: &mut Out<'_>,
    ) -> ClientTx {
        let invite = request.method == Method::Invite;
        let data = Message::Request(request.clone()).to_bytes();
        out.transmits.push_back(Transmit {
            target,
            data: data.clone(),
            retransmission: false,
        });
        let reliable = target.transport.is_reliable();
        ClientTx {
            key,
            invite,
            state: ClientState::Initial,
            request,
            data,
            target,
            retransmit_at: (!reliable).then(|| now + cfg.t1),
            interval: cfg.t1,
            timeout_at: Some(now + cfg.timeout()),
            end_at: None,
            ack: None,
        }
    }

    pub(crate) fn deadline(&self) -> Option<Instant> {
        [self.retransmit_at, self.timeout_at, self.end_at]
            .into_iter()
            .flatten()
            .min()
    }

    pub(crate) fn state_name(&self) -> &'static str {
        match (self.state, self.invite) {
            (ClientState::Initial, true) => "Calling",
            (ClientState::Initial, false) => "Trying",
            (ClientState::Proceeding, _) => "Proceeding",
            (ClientState::Completed, _) => "Completed",
            (ClientState::Accepted, _) => "Accepted",
            (ClientState::Terminated, _) => "Terminated",
        }
    }

    pub(crate) fn request(&self) -> &Request {
        &self.request
    }

    pub(crate) fn target(&self) -> Target {
        self.target
    }

    fn terminate(&mut self, out: &mut Out<'_>) {
        self.state = ClientState::Terminated;
        self.retransmit_at = None;
        self.timeout_at = None;
        self.end_at = None;
        out.events.push_back(Event::ClientTerminated {
            key: self.key.clone(),
        });
    }

    fn pass_up(&self, response: Response, out: &mut Out<'_>) {
        out.events.push_back(Event::Response {
            key: self.key.clone(),
            response,
        });
    }

    pub(crate) fn on_response(
        &mut self,
        now: Instant,
        response: Response,
        cfg: &TimerConfig,
        out: &mut Out<'_>,
    ) {
        let status = response.status;
        let reliable = self.target.transport.is_reliable();
        match (self.state, self.invite) {
            (ClientState::Initial | ClientState::Proceeding, _) if status.is_provisional() => {
                self.state = ClientState::Proceeding;
                if self.invite {
                    // §17.1.1.2: Timer A stops once a provisional arrives.
                    self.retransmit_at = None;
                } else if self.retransmit_at.is_some() {
                    // §17.1.2.2: in Proceeding, E fires every T2.
                    self.interval = cfg.t2;
                    self.retransmit_at = Some(now + cfg.t2);
                }
                self.pass_up(response, out);
            }
            (ClientState::Initial | ClientState::Proceeding, true) if status.is_success() => {
                // RFC 6026 §8.4: Accepted, Timer M; the TU sends the ACK.
                self.state = ClientState::Accepted;
                self.retransmit_at = None;
                self.timeout_at = None;
                self.end_at = Some(now + cfg.timeout());
                self.pass_up(response, out);
            }
            (ClientState::Initial | ClientState::Proceeding, true) => {
                // §17.1.1.2: 300-699 → Completed, ACK, Timer D.
                let ack = Message::Request(self.build_ack(&response)).to_bytes();
                out.transmits.push_back(Transmit {
                    target: self.target,
                    data: ack.clone(),
                    retransmission: false,
                });
                self.ack = Some(ack);
                self.state = ClientState::Completed;
                self.retransmit_at = None;
                self.timeout_at = None;
                // Timer D: at least 32 s on UDP, 0 on reliable transports.
                self.end_at = Some(
                    now + if reliable {
                        Duration::ZERO
                    } else {
                        Duration::from_secs(32).max(cfg.timeout() / 2)
                    },
                );
                self.pass_up(response, out);
            }
            (ClientState::Initial | ClientState::Proceeding, false) => {
                self.state = ClientState::Completed;
                self.retransmit_at = None;
                self.timeout_at = None;
                // Timer K: T4 on UDP, 0 on reliable transports.
                self.end_at = Some(now + if reliable { Duration::ZERO } else { cfg.t4 });
                self.pass_up(response, out);
            }
            (ClientState::Completed, true) if !status.is_provisional() && !status.is_success() => {
                // A retransmitted final response: resend the ACK, absorb it.
                if let Some(ack) = &self.ack {
                    out.transmits.push_back(Transmit {
                        target: self.target,
                        data: ack.clone(),
                        retransmission: true,
                    });
                }
            }
            (ClientState::Accepted, _) if status.is_success() => {
                // RFC 6026: further 2xx (retransmissions or forks) go to
                // the TU, which ACKs each.
                self.pass_up(response, out);
            }
            // Anything else is absorbed (retransmitted finals of a
            // non-INVITE, provisionals after a final).
            _ => {}
        }
        if self.end_at.is_some_and(|t| t <= now) {
            self.terminate(out);
        }
    }

    pub(crate) fn on_timer(&mut self, now: Instant, cfg: &TimerConfig, out: &mut Out<'_>) {
        if self.end_at.is_some_and(|t| t <= now) {
            self.terminate(out);
            return;
        }
        if self.timeout_at.is_some_and(|t| t <= now) {
            // Timer B or F: report the timeout and end.
            out.events.push_back(Event::Timeout {
                key: self.key.clone(),
            });
            self.terminate(out);
            return;
        }
        if let Some(t) = self.retransmit_at.filter(|t| *t <= now) {
            out.transmits.push_back(Transmit {
                target: self.target,
                data: self.data.clone(),
                retransmission: true,
            });
            self.interval = if self.invite {
                // Timer A doubles without bound (B ends it).
                self.interval * 2
            } else {
                // Timer E doubles up to T2 (and is T2 in Proceeding).
                match self.state {
                    ClientState::Proceeding => cfg.t2,
                    _ => (self.interval * 2).min(cfg.t2),
                }
            };
            self.retransmit_at = Some(t + self.interval);
        }
    }

    /// The transport failed to deliver the request (§17.1.1.2, §17.1.2.2):
    /// the TU sees a timeout-like failure and the transaction ends.
    pub(crate) fn on_transport_error(&mut self, out: &mut Out<'_>) {
        if matches!(self.state, ClientState::Initial | ClientState::Proceeding) {
            out.events.push_back(Event::Timeout {
                key: self.key.clone(),
            });
        }
        self.terminate(out);
    }

    /// The ACK of §17.1.1.3 for a non-2xx final response.
    fn build_ack(&self, response: &Response) -> Request {
        build_ack(&self.request, response)
    }
}

/// ACK for a non-2xx final response (RFC 3261 §17.1.1.3): the original
/// Request-URI, Call-ID, From, CSeq number, top Via and Route set, and the
/// response's To (with its tag).
pub fn build_ack(invite: &Request, response: &Response) -> Request {
    let mut ack = Request {
        method: Method::Ack,
        uri: invite.uri.clone(),
        version: invite.version,
        headers: crate::headers::Headers::new(),
        body: Bytes::new(),
    };
    let h = &mut ack.headers;
    if let Some(Ok(via)) = invite.headers.typed::<crate::headers::Via>() {
        h.push(HeaderName::Via, via.to_string());
    }
    for src in invite.headers.iter() {
        match src.name {
            HeaderName::Route | HeaderName::From | HeaderName::CallId => h.push_copy(src),
            _ => {}
        }
    }
    match response.headers.typed::<To>() {
        Some(Ok(to)) => h.push(To::NAME, to.to_string()),
        _ => {
            if let Some(to) = invite.headers.get(&HeaderName::To) {
                h.push_copy(to);
            }
        }
    }
    if let Some(Ok(cseq)) = invite.headers.typed::<crate::headers::CSeq>() {
        h.push(HeaderName::CSeq, format!("{} ACK", cseq.seq));
    }
    h.push(HeaderName::MaxForwards, "70");
    h.push(HeaderName::ContentLength, "0");
    ack
}
