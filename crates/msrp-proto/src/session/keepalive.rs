//! Keep-alives: after an idle interval the session sends an empty SEND
//! carrying `Keep-Alive: yes`, the non-standard header the original
//! SDK's MSRP library uses for the same purpose.
//!
//! Why: an MSRP connection can sit idle for hours in a chat, while NATs
//! forget TCP mappings within minutes and relays close idle connections
//! (Kamailio after its `tcp_connection_lifetime`, 120 s by default). An
//! empty SEND is a legal request every peer answers (RFC 4975 §5.4 uses
//! one to bind a connection), and its answer proves the path still
//! works: a keep-alive that times out, or that the peer says belongs to
//! no session (481), means the connection is dead even though TCP has
//! not noticed.

use std::time::{Duration, Instant};

use super::{Pending, Session, SessionEvent};
use crate::headers::{ByteRange, MessageId};
use crate::message::{Flag, Head, Method, Request};
use crate::write::encode;

/// The keep-alive state of one session.
#[derive(Debug)]
pub(super) struct KeepAlive {
    interval: Option<Duration>,
    /// When a byte last went either way (None before the first).
    last_activity: Option<Instant>,
    /// The Message-ID of the keep-alive awaiting its answer.
    in_flight: Option<String>,
}

impl KeepAlive {
    pub(super) fn new(interval: Option<Duration>) -> Self {
        KeepAlive {
            interval: interval.filter(|i| !i.is_zero()),
            last_activity: None,
            in_flight: None,
        }
    }

    /// Bytes went one way or the other: the connection is not idle.
    pub(super) fn touch(&mut self, now: Instant) {
        self.last_activity = Some(now);
    }

    /// When the next keep-alive is due: one at a time, and only once the
    /// connection has carried something (a connection that never did is
    /// the transport's to time out).
    pub(super) fn due(&self) -> Option<Instant> {
        if self.in_flight.is_some() {
            return None;
        }
        self.last_activity?.checked_add(self.interval?)
    }

    pub(super) fn start(&mut self, message_id: String, now: Instant) {
        self.in_flight = Some(message_id);
        self.touch(now);
    }

    /// Whether `message_id` is the keep-alive in flight; it no longer is
    /// once this says so.
    pub(super) fn answered(&mut self, message_id: &str) -> bool {
        if self.in_flight.as_deref() == Some(message_id) {
            self.in_flight = None;
            true
        } else {
            false
        }
    }
}

/// Whether an answer to a keep-alive means the connection is dead: no
/// answer in time, or the far end no longer knows the session. Any other
/// answer came from a live peer, odd as it may be.
pub(super) fn is_fatal(status: u16) -> bool {
    matches!(status, 408 | 481)
}

impl Session {
    /// An empty SEND with `Keep-Alive: yes`, whose answer is awaited like
    /// a chunk's.
    pub(super) fn send_keepalive(&mut self, now: Instant) {
        let message_id = self.tids.next_tid().as_str().to_owned();
        let mut h = self.path_headers(&self.cfg.remote_path.clone());
        h.push_typed(&MessageId(message_id.clone()));
        h.push_typed(&ByteRange {
            start: 1,
            end: Some(0),
            total: Some(0),
        });
        h.push("Keep-Alive", "yes".to_owned());
        let tid = self.tids.next_tid();
        let head = Head::Request(Request {
            tid: tid.clone(),
            method: Method::Send,
            headers: h,
        });
        let Ok(bytes) = encode(&head, None, Flag::Complete) else {
            return;
        };
        self.transmits.push_back(bytes);
        self.pending.insert(
            tid,
            Pending {
                message_id: message_id.clone(),
                deadline: now.checked_add(self.cfg.transaction_timeout),
                range: None,
            },
        );
        self.keepalive.start(message_id, now);
    }

    pub(super) fn keepalive_failed(&mut self, status: u16, reason: Option<String>) {
        self.events
            .push_back(SessionEvent::KeepAliveFailed { status, reason });
    }
}
