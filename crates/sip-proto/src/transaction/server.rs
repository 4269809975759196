//! Server transactions: INVITE (RFC 3261 §17.2.1 with RFC 6026's Accepted
//! state) and non-INVITE (§17.2.2).

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::client::Out;
use super::{Event, ServerKey, Target, TimerConfig, TransactionError, Transmit};
use crate::message::{Message, Response};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServerState {
    /// Non-INVITE only: no response sent yet.
    Trying,
    Proceeding,
    Completed,
    /// INVITE: the ACK arrived.
    Confirmed,
    /// RFC 6026: an INVITE was answered 2xx; the TU retransmits it.
    Accepted,
    Terminated,
}

pub(crate) struct ServerTx {
    pub(crate) key: ServerKey,
    invite: bool,
    pub(crate) state: ServerState,
    /// Where responses go (RFC 3261 §18.2.2 / RFC 3581).
    response_target: Target,
    last_response: Option<Bytes>,
    /// The To tag of the final response (RFC 2543 ACK matching).
    pub(crate) final_to_tag: Option<String>,
    /// Timer G.
    retransmit_at: Option<Instant>,
    interval: Duration,
    /// Timer H (Completed) or L (Accepted).
    timeout_at: Option<Instant>,
    /// Timer I or J.
    end_at: Option<Instant>,
}

impl ServerTx {
    pub(crate) fn new(
        key: ServerKey,
        invite: bool,
        response_target: Target,
        cfg: &TimerConfig,
    ) -> ServerTx {
        ServerTx {
            key,
            invite,
            state: if invite {
                ServerState::Proceeding
            } else {
                ServerState::Trying
            },
            response_target,
            last_response: None,
            final_to_tag: None,
            retransmit_at: None,
            interval: cfg.t1,
            timeout_at: None,
            end_at: None,
        }
    }

    pub(crate) fn deadline(&self) -> Option<Instant> {
        [self.retransmit_at, self.timeout_at, self.end_at]
            .into_iter()
            .flatten()
            .min()
    }

    pub(crate) fn state_name(&self) -> &'static str {
        match self.state {
            ServerState::Trying => "Trying",
            ServerState::Proceeding => "Proceeding",
            ServerState::Completed => "Completed",
            ServerState::Confirmed => "Confirmed",
            ServerState::Accepted => "Accepted",
            ServerState::Terminated => "Terminated",
        }
    }

    pub(crate) fn is_invite(&self) -> bool {
        self.invite
    }

    fn terminate(&mut self, out: &mut Out<'_>) {
        self.state = ServerState::Terminated;
        self.retransmit_at = None;
        self.timeout_at = None;
        self.end_at = None;
        out.events.push_back(Event::ServerTerminated {
            key: self.key.clone(),
        });
    }

    fn transmit(&self, data: Bytes, retransmission: bool, out: &mut Out<'_>) {
        out.transmits.push_back(Transmit {
            target: self.response_target,
            data,
            retransmission,
        });
    }

    /// The request arrived again: resend the last response, if any.
    pub(crate) fn on_request_retransmission(&mut self, out: &mut Out<'_>) {
        let resend = match self.state {
            ServerState::Proceeding | ServerState::Completed => self.last_response.clone(),
            // Trying has nothing to send; Accepted leaves 2xx to the TU;
            // Confirmed and Terminated absorb.
            _ => None,
        };
        if let Some(data) = resend {
            self.transmit(data, true, out);
        }
    }

    /// The TU sends a response through the transaction.
    pub(crate) fn send_response(
        &mut self,
        now: Instant,
        response: &Response,
        cfg: &TimerConfig,
        out: &mut Out<'_>,
    ) -> Result<(), TransactionError> {
        let status = response.status;
        let wrong_state = || TransactionError::WrongState {
            key: Box::new(self.key.clone()),
            state: self.state_name(),
            status: status.code(),
        };
        let allowed = match self.state {
            ServerState::Trying | ServerState::Proceeding => true,
            // RFC 6026: 2xx retransmissions (and other 2xx) pass in Accepted.
            ServerState::Accepted => status.is_success(),
            _ => false,
        };
        if !allowed {
            return Err(wrong_state());
        }
        let data = Message::Response(response.clone()).to_bytes();
        self.transmit(data.clone(), false, out);
        self.last_response = Some(data);
        let reliable = self.response_target.transport.is_reliable();
        if status.is_provisional() {
            self.state = ServerState::Proceeding;
            return Ok(());
        }
        if let Some(Ok(to)) = response.headers.typed::<crate::headers::To>() {
            self.final_to_tag = to.tag().map(str::to_owned);
        }
        match (self.invite, status.is_success()) {
            (true, true) => {
                if self.state != ServerState::Accepted {
                    // RFC 6026 §8.7: Accepted, Timer L.
                    self.state = ServerState::Accepted;
                    self.timeout_at = Some(now + cfg.timeout());
                }
            }
            (true, false) => {
                // §17.2.1: Completed; Timer G on UDP, Timer H always.
                self.state = ServerState::Completed;
                self.interval = cfg.t1;
                self.retransmit_at = (!reliable).then(|| now + cfg.t1);
                self.timeout_at = Some(now + cfg.timeout());
            }
            (false, _) => {
                // §17.2.2: Completed; Timer J is 64·T1 on UDP, 0 otherwise.
                self.state = ServerState::Completed;
                self.end_at = Some(
                    now + if reliable {
                        Duration::ZERO
                    } else {
                        cfg.timeout()
                    },
                );
            }
        }
        if self.end_at.is_some_and(|t| t <= now) {
            self.terminate(out);
        }
        Ok(())
    }

    /// An ACK matched this INVITE transaction (only in Completed it counts).
    pub(crate) fn on_ack(&mut self, now: Instant, cfg: &TimerConfig, out: &mut Out<'_>) {
        if self.state != ServerState::Completed {
            return;
        }
        self.state = ServerState::Confirmed;
        self.retransmit_at = None;
        self.timeout_at = None;
        // Timer I: T4 on UDP, 0 on reliable transports.
        let reliable = self.response_target.transport.is_reliable();
        self.end_at = Some(now + if reliable { Duration::ZERO } else { cfg.t4 });
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
            if self.state == ServerState::Completed {
                // Timer H: the ACK never came.
                out.events.push_back(Event::AckTimeout {
                    key: self.key.clone(),
                });
            }
            // Timer H or L ends the transaction.
            self.terminate(out);
            return;
        }
        if let Some(t) = self.retransmit_at.filter(|t| *t <= now) {
            if let Some(data) = self.last_response.clone() {
                self.transmit(data, true, out);
            }
            // Timer G doubles up to T2.
            self.interval = (self.interval * 2).min(cfg.t2);
            self.retransmit_at = Some(t + self.interval);
        }
    }
}
