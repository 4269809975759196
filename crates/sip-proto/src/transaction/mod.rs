//! The transaction layer of RFC 3261 §17 (with RFC 6026), sans-IO.
//!
//! [`Transactions`] owns every client and server transaction of one user
//! agent. Time is an input: the caller passes `now` to each `handle_*`
//! call, asks [`Transactions::poll_timeout`] for the next deadline, and
//! drains [`Transactions::poll_transmit`] and [`Transactions::poll_event`].
//! Nothing here opens a socket or reads a clock, so the RFC timers (Timer B
//! is 32 s) are tested on virtual time in microseconds.

mod client;
mod layer;
mod server;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;

pub use layer::Transactions;

use crate::message::{Method, Request, Response};

/// RFC 3261 timer base values (§17.1.1.1, Table 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// Round-trip estimate, 500 ms by default.
    pub t1: Duration,
    /// Longest retransmit interval for non-INVITE requests and INVITE
    /// responses, 4 s by default.
    pub t2: Duration,
    /// Longest time a message stays in the network, 5 s by default.
    pub t4: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        TimerConfig {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

impl TimerConfig {
    /// 64·T1: Timers B, F, H, J, L, M.
    pub fn timeout(&self) -> Duration {
        self.t1 * 64
    }
}

/// The transport kinds a transaction cares about: only reliability
/// changes its timers (§17.1.1.2, §17.1.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    Udp,
    Tcp,
    Tls,
}

impl TransportKind {
    pub fn is_reliable(self) -> bool {
        !matches!(self, TransportKind::Udp)
    }

    /// The Via transport token.
    pub fn via_name(self) -> &'static str {
        match self {
            TransportKind::Udp => "UDP",
            TransportKind::Tcp => "TCP",
            TransportKind::Tls => "TLS",
        }
    }

    /// The lower-case name: the URI `transport=` value and the name in
    /// settings and traces.
    pub fn name(self) -> &'static str {
        match self {
            TransportKind::Udp => "udp",
            TransportKind::Tcp => "tcp",
            TransportKind::Tls => "tls",
        }
    }
}

/// Where a message goes or came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Target {
    pub addr: SocketAddr,
    pub transport: TransportKind,
}

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub target: Target,
    pub data: Bytes,
    /// True for a retransmission by a timer or of an absorbed duplicate.
    pub retransmission: bool,
}

/// Identifies a client transaction.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientKey {
    pub branch: String,
    pub method: Method,
}

/// Identifies a server transaction (§17.2.3). RFC 3261 branches key on
/// (branch, sent-by, method); RFC 2543 requests on the fields of §17.2.3.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ServerKey {
    Rfc3261 {
        branch: String,
        sent_by: String,
        method: Method,
    },
    Rfc2543 {
        call_id: String,
        from_tag: String,
        cseq: u32,
        method: Method,
        top_via: String,
        request_uri: String,
        to_tag: String,
    },
}

/// What the transaction layer tells its user (the transaction user, TU).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A new request: a server transaction now exists for it. The TU
    /// answers with [`Transactions::send_response`].
    Request {
        key: ServerKey,
        request: Request,
        source: Target,
    },
    /// An ACK that matches no transaction (the ACK of a 2xx, which belongs
    /// to the dialog, RFC 3261 §17.2.3).
    Ack {
        request: Request,
        source: Target,
    },
    /// A CANCEL arrived for an INVITE server transaction. The layer has
    /// already answered the CANCEL with 200; the TU should answer the
    /// INVITE with 487 (RFC 3261 §9.2).
    Cancelled {
        invite: ServerKey,
    },
    /// A response for a client transaction (provisional or final; 2xx
    /// retransmissions of an INVITE too, RFC 6026).
    Response {
        key: ClientKey,
        response: Response,
    },
    /// Timer B or F fired: no final response (the TU treats it as 408).
    Timeout {
        key: ClientKey,
    },
    /// Timer H fired: the ACK for a non-2xx final response never came.
    AckTimeout {
        key: ServerKey,
    },
    /// A transaction ended; its key may be reused.
    ClientTerminated {
        key: ClientKey,
    },
    ServerTerminated {
        key: ServerKey,
    },
}

/// Errors of the transaction API (wrong use, not network conditions).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransactionError {
    #[error("request has no top Via with a branch")]
    NoBranch,
    #[error("request lacks {0}")]
    MissingHeader(&'static str),
    #[error("no server transaction {0:?}")]
    NoSuchTransaction(Box<ServerKey>),
    #[error("a client transaction with branch {0} exists already")]
    DuplicateBranch(String),
    #[error("server transaction {key:?} is {state} and cannot send a {status} response")]
    WrongState {
        key: Box<ServerKey>,
        state: &'static str,
        status: u16,
    },
    #[error("ACK is sent without a transaction (RFC 3261 §17.1.1.3)")]
    AckHasNoTransaction,
}
