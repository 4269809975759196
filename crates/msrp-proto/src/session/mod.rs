//! A minimal MSRP endpoint session core in the quinn-proto shape:
//! [`Session::handle_input`] takes received bytes and the time,
//! [`Session::poll_transmit`] hands out bytes to write,
//! [`Session::poll_event`] what happened, [`Session::poll_timeout`] and
//! [`Session::handle_timeout`] drive the transaction timer.
//!
//! What it does (RFC 4975 §7): sends messages as chunks of a configured
//! size, one chunk per message in turn so a large message interleaves
//! with small ones; answers SENDs with 200 or an error as their
//! Failure-Report asks; reassembles incoming messages; sends a success
//! REPORT when asked; reads REPORTs; answers unknown methods with 501;
//! fails a chunk whose response does not come in time (408); sends a
//! keep-alive after an idle interval when configured (`keepalive`).
//! NICKNAME (RFC 7701) is handed to the owner ([`Session::set_nickname`]).
//!
//! Files (RFC 5547): [`Session::begin_message`] starts a message whose
//! body the caller hands over piece by piece ([`Session::append_body`])
//! as it reads them, possibly from the middle of the file on; its chunks
//! are acknowledged one by one ([`SessionEvent::ChunkAcknowledged`]). With
//! [`SessionConfig::stream_incoming`] incoming bodies are not reassembled
//! but handed on as they arrive ([`SessionEvent::ChunkData`],
//! [`SessionEvent::ChunkReceived`]) and the caller decides what REPORT to
//! send ([`Session::report`]): memory stays flat whatever the size.
//!
//! On a relay (RFC 4976), the binding the first AUTH made is refreshed
//! before it expires ([`SessionConfig::relay_binding`], the
//! `relay_refresh` module).
//!
//! A message of ours can be given up ([`Session::abort_message`], the
//! `abort` module): a message partly written ends with a `#` chunk.
//!
//! A chunk larger than [`SessionConfig::write_slice`] is handed out in
//! slices and can be cut short in mid-body (the `writing` module, RFC
//! 4975 §7.1): an abort ends it at once with `#`.
//!
//! Not here: who connects (RFC 6135 `a=setup`, the middleware's
//! negotiation).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;

mod abort;
mod answer;
mod body;
mod direction;
mod event;
mod incoming;
mod keepalive;
mod nickname;
mod relay_refresh;
mod reports;
mod send_chunk;
mod writing;
pub use abort::AbortOutcome;
pub use answer::{response_to, response_wanted};
use body::BodyBuffer;
use incoming::{Incoming, StreamedPaths};
use keepalive::KeepAlive;
pub use nickname::NICKNAME_STATUSES;
pub use relay_refresh::RelayBinding;
pub use writing::DEFAULT_WRITE_SLICE;

use crate::chunk::Chunker;
use crate::headers::{
    ByteRange, ContentType, FailureReport, FromPath, MessageId, SuccessReport, ToPath, TypedHeader,
};
use crate::message::{Flag, Head, Headers, Method, Response, TransactionId};
use crate::parser::{Limits, Parser, StreamError};
use crate::reassembly::{Progress, Reassembler, ReassemblyLimits};
use crate::uri::MsrpUri;
use crate::write::TidGenerator;

#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Our From-Path: our own URI, last. Through a relay this is still our
    /// URI alone: the relay puts itself in front as it forwards (RFC 4976
    /// §6); the relay's Use-Path goes into the SDP `a=path`, not here.
    /// Seen against Kamailio: a From-Path that already names the relay
    /// gets the relay twice and answers routed to the relay itself.
    pub local_path: Vec<MsrpUri>,
    /// The To-Path towards the peer, its URI last: through a relay, our
    /// relay's Use-Path first, then the peer's `a=path`.
    pub remote_path: Vec<MsrpUri>,
    pub chunk_size: u64,
    /// Body bytes of a chunk handed out per [`Session::poll_transmit`].
    /// A chunk with a larger body is written in slices and may be cut
    /// short between two of them (the `writing` module); its Byte-Range
    /// end says `*`. Chunks this size or smaller go whole, ends exact.
    pub write_slice: u64,
    /// How long a chunk waits for its response (RFC 4975 §7.1.1: 30 s).
    pub transaction_timeout: Duration,
    pub limits: Limits,
    pub reassembly: ReassemblyLimits,
    /// Seeds transaction and message ids.
    pub seed: u64,
    /// Hand incoming SEND bodies on as they arrive instead of
    /// reassembling them (a file transfer's receiving side).
    pub stream_incoming: bool,
    /// Idle time after which an empty SEND with `Keep-Alive: yes` goes
    /// out (see the `keepalive` module); None: never.
    pub keepalive_interval: Option<Duration>,
    /// Hand the peer's NICKNAMEs to the owner (an RFC 7701 focus), not 501.
    pub nickname_requests: bool,
    /// What we said we take (`a=accept-types`): a SEND of any other type
    /// gets 415 (RFC 4975 §7.3.1). Empty: anything.
    pub accept_types: Vec<String>,
    /// The relay binding this session's connection was authorized with
    /// (RFC 4976 §5.1): re-AUTHed on the connection before it expires.
    pub relay_binding: Option<RelayBinding>,
    /// Whether content from the peer is taken: false when the stream's
    /// negotiated direction says the peer does not send (RFC 3264), and
    /// a SEND with content gets 403 (see the `direction` module).
    pub receiving: bool,
}

impl SessionConfig {
    /// 2048-byte chunks: RFC 4975 §7.1.1 asks senders to chunk anything
    /// larger, so other messages are never stuck behind one.
    pub fn new(local_path: Vec<MsrpUri>, remote_path: Vec<MsrpUri>, seed: u64) -> Self {
        SessionConfig {
            local_path,
            remote_path,
            chunk_size: 2048,
            write_slice: DEFAULT_WRITE_SLICE,
            transaction_timeout: Duration::from_secs(30),
            limits: Limits::default(),
            reassembly: ReassemblyLimits::default(),
            seed,
            stream_incoming: false,
            keepalive_interval: None,
            nickname_requests: false,
            accept_types: Vec::new(),
            relay_binding: None,
            receiving: true,
        }
    }
}

/// What the session reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    MessageReceived {
        message_id: String,
        content_type: Option<String>,
        body: Vec<u8>,
    },
    /// The peer abandoned a message it was sending.
    MessageAborted { message_id: String },
    /// Every chunk was accepted by the next hop (or written, when no
    /// responses were asked for). `chunk` is the head of its last chunk
    /// as written, for a caller that reports what went on the wire.
    MessageSent {
        message_id: String,
        chunk: Option<Box<Head>>,
    },
    /// We gave up a message of ours ([`Session::abort_message`]): no
    /// more of it is sent, and nothing more is reported about it.
    MessageCancelled { message_id: String },
    /// A chunk was refused, timed out, or a failure REPORT came.
    /// `chunk` is the head of the response or REPORT that said so; None
    /// when the cause was ours (a timeout, a message we could not send).
    MessageFailed {
        message_id: String,
        status: u16,
        reason: Option<String>,
        chunk: Option<Box<Head>>,
    },
    /// A keep-alive went unanswered, or the peer said it knows no such
    /// session: the connection is dead though TCP may not know it.
    KeepAliveFailed { status: u16, reason: Option<String> },
    /// A success REPORT (RFC 4975 §7.1.2) for these bytes; `chunk` is
    /// the REPORT's head.
    MessageDelivered {
        message_id: String,
        range: Option<ByteRange>,
        chunk: Option<Box<Head>>,
    },
    /// The next hop accepted a chunk of a message started with
    /// [`Session::begin_message`].
    ChunkAcknowledged {
        message_id: String,
        range: ByteRange,
    },
    /// With `stream_incoming`: body bytes of a chunk as they arrive;
    /// `offset` is the 0-based position of `data` in the message.
    ChunkData {
        message_id: String,
        offset: u64,
        data: Bytes,
    },
    /// With `stream_incoming`: a chunk ended and was answered 200.
    /// `range` is what it carried (its end is the last byte that came);
    /// `success_report` says the sender asked for a REPORT, which
    /// [`Session::report`] sends.
    ChunkReceived {
        message_id: String,
        content_type: Option<String>,
        range: ByteRange,
        flag: Flag,
        success_report: bool,
    },
    /// The answer to our [`Session::set_nickname`] (408: none in time).
    NicknameResult {
        tid: String,
        status: u16,
        comment: Option<String>,
    },
    /// With `nickname_requests`: answer with [`Session::answer_nickname`].
    NicknameRequested { tid: String, nickname: String },
    /// Our relay renewed its binding (RFC 4976 §5.1): the Use-Path to
    /// give peers from now on (a relay may change it on every AUTH) and
    /// the new lifetime in seconds.
    RelayReauthorized {
        use_path: Vec<MsrpUri>,
        expires: Option<u32>,
    },
    /// A re-AUTH was refused or not answered (408): without a later one
    /// the binding lapses at its expiry.
    RelayReauthFailed { status: u16, reason: Option<String> },
}

#[derive(Debug)]
struct Outgoing {
    message_id: MessageId,
    content_type: String,
    body: BodyBuffer,
    chunker: Chunker,
    /// Report every acknowledged chunk (files, not chat messages).
    chunk_events: bool,
    success_report: bool,
    failure_report: FailureReport,
    /// Chunks written whose response is awaited.
    awaiting: usize,
    /// The head of the last chunk, set once it is written.
    last_head: Option<Box<Head>>,
}

#[derive(Debug)]
struct Pending {
    message_id: String,
    deadline: Option<Instant>,
    /// Set when the chunk's acknowledgement is reported.
    range: Option<ByteRange>,
}

/// One MSRP session over one connection.
#[derive(Debug)]
pub struct Session {
    cfg: SessionConfig,
    parser: Parser,
    reassembler: Reassembler,
    tids: TidGenerator,
    transmits: VecDeque<Vec<u8>>,
    events: VecDeque<SessionEvent>,
    /// Messages with chunks left to write, taken in turn.
    outgoing: VecDeque<Outgoing>,
    /// Messages fully written, waiting for responses to their chunks.
    finishing: HashMap<String, Outgoing>,
    pending: HashMap<TransactionId, Pending>,
    /// Chunks sent with `Failure-Report: partial`: no 200 comes for them,
    /// only an error response. The newest are remembered (bounded) so an
    /// error still names its message.
    partial: VecDeque<(TransactionId, String)>,
    incoming: Option<Incoming>,
    /// With `stream_incoming`: where REPORTs for each message go.
    streamed: StreamedPaths,
    keepalive: KeepAlive,
    nicknames: nickname::Nicknames,
    refresh: Option<relay_refresh::Refresher>,
    /// The chunk half written, if any (the `writing` module).
    writing: Option<writing::Writing>,
}

/// How many `Failure-Report: partial` transactions are remembered for
/// matching an error response (a peer answers within a round trip; 4096
/// chunks in flight is far more than any window).
const PARTIAL_MEMORY: usize = 4096;

impl Session {
    pub fn new(cfg: SessionConfig) -> Self {
        Session {
            parser: Parser::new(cfg.limits),
            reassembler: Reassembler::new(cfg.reassembly),
            tids: TidGenerator::new(cfg.seed),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            outgoing: VecDeque::new(),
            finishing: HashMap::new(),
            pending: HashMap::new(),
            partial: VecDeque::new(),
            incoming: None,
            streamed: StreamedPaths::default(),
            keepalive: KeepAlive::new(cfg.keepalive_interval),
            nicknames: Default::default(),
            refresh: cfg.relay_binding.clone().map(relay_refresh::Refresher::new),
            writing: None,
            cfg,
        }
    }

    /// Queues a message; its id names it in later events.
    pub fn send_message(
        &mut self,
        content_type: &str,
        body: Bytes,
        success_report: bool,
        failure_report: FailureReport,
    ) -> String {
        // A transaction id is an ident too; one of them names the message.
        let message_id = MessageId(self.tids.next_tid().as_str().to_owned());
        self.send_message_with_id(
            message_id,
            content_type,
            body,
            success_report,
            failure_report,
        )
    }

    /// Queues a message under an id chosen by the caller (a stream that
    /// hands out ids before its connection exists). The id must be an
    /// RFC 4975 ident, unique within the session.
    pub fn send_message_with_id(
        &mut self,
        message_id: MessageId,
        content_type: &str,
        body: Bytes,
        success_report: bool,
        failure_report: FailureReport,
    ) -> String {
        let id = message_id.0.clone();
        let chunker = Chunker::new(Some(body.len() as u64), self.cfg.chunk_size.max(1));
        match chunker {
            Ok(chunker) => self.outgoing.push_back(Outgoing {
                message_id,
                content_type: content_type.to_owned(),
                body: BodyBuffer::whole(body),
                chunker,
                chunk_events: false,
                success_report,
                failure_report,
                awaiting: 0,
                last_head: None,
            }),
            Err(_) => self.events.push_back(SessionEvent::MessageFailed {
                message_id: id.clone(),
                status: 413,
                reason: Some("message too large".into()),
                chunk: None,
            }),
        }
        id
    }

    /// Starts a message of `total` bytes whose body comes later through
    /// [`Session::append_body`], sent from byte `first` (1-based) on: 1
    /// for a whole file, N + 1 to resume after N bytes. Chunks go out as
    /// their bytes arrive, each acknowledgement is reported.
    #[allow(clippy::too_many_arguments)]
    pub fn begin_message(
        &mut self,
        message_id: MessageId,
        content_type: &str,
        total: u64,
        first: u64,
        success_report: bool,
        failure_report: FailureReport,
    ) -> Result<(), crate::chunk::ChunkError> {
        let chunker = Chunker::starting_at(total, self.cfg.chunk_size.max(1), first)?;
        self.outgoing.push_back(Outgoing {
            message_id,
            content_type: content_type.to_owned(),
            body: BodyBuffer::streamed(),
            chunker,
            chunk_events: true,
            success_report,
            failure_report,
            awaiting: 0,
            last_head: None,
        });
        Ok(())
    }

    /// The next bytes of a message begun with [`Session::begin_message`];
    /// `last` when no more will come. False when no such message is
    /// waiting for data (finished, failed or never begun).
    pub fn append_body(&mut self, message_id: &str, data: Bytes, last: bool) -> bool {
        match self
            .outgoing
            .iter_mut()
            .find(|m| m.message_id.0 == message_id && m.chunk_events)
        {
            Some(m) => {
                m.body.push(data, last);
                true
            }
            None => false,
        }
    }

    /// Bytes given for `message_id` and not yet written.
    pub fn buffered(&self, message_id: &str) -> Option<u64> {
        let writing = self.unwritten_in_chunk(Some(message_id));
        self.outgoing
            .iter()
            .find(|m| m.message_id.0 == message_id)
            .map(|m| m.body.len() + writing.unwrap_or(0))
            .or(writing)
    }

    /// Received bytes. An error means the stream cannot be read further:
    /// close the connection.
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) -> Result<(), StreamError> {
        if !data.is_empty() {
            self.keepalive.touch(now);
        }
        self.parser.feed(data)?;
        while let Some(ev) = self.parser.poll()? {
            self.on_event(now, ev);
        }
        Ok(())
    }

    /// The next bytes to write: queued responses and REPORTs first, then
    /// one chunk of the next outgoing message in turn.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        let t = self.next_transmit(now);
        if t.is_some() {
            self.keepalive.touch(now);
        }
        t
    }

    fn next_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        // Nothing may come between the slices of a chunk.
        if self.writing.is_some() {
            return self.next_slice();
        }
        if let Some(t) = self.transmits.pop_front() {
            return Some(t);
        }
        // A message waiting for its bytes lets the others go first.
        let mut plan = None;
        for _ in 0..self.outgoing.len() {
            let mut msg = self.outgoing.pop_front()?;
            // Whole chunks while more is to come: a slow reader makes no
            // flood of small ones.
            if !msg.body.is_complete() && msg.body.len() < self.cfg.chunk_size {
                self.outgoing.push_back(msg);
                continue;
            }
            match msg
                .chunker
                .next_chunk(msg.body.len(), msg.body.is_complete())
            {
                Some(p) => {
                    plan = Some((msg, p));
                    break;
                }
                None => self.outgoing.push_back(msg),
            }
        }
        let (mut msg, plan) = plan?;
        let piece = msg.body.take(plan.len);
        let id = msg.message_id.0.clone();
        let sliced = piece.len() as u64 > self.cfg.write_slice;
        let (tid, head, bytes) = match self.encode_chunk(&msg, &plan, &piece, sliced) {
            Ok((tid, head, bytes)) if sliced => {
                let first = self.begin_writing(id.clone(), tid.clone(), bytes, piece, plan.flag);
                (tid, head, first)
            }
            Ok(t) => t,
            Err((status, reason)) => {
                // Back in the queue so that `fail` knows and reports it.
                self.outgoing.push_back(msg);
                self.fail(&id, status, Some(&reason), None);
                return None;
            }
        };
        if msg.failure_report == FailureReport::Partial {
            if self.partial.len() >= PARTIAL_MEMORY {
                self.partial.pop_front();
            }
            self.partial.push_back((tid.clone(), id.clone()));
        }
        if msg.failure_report == FailureReport::Yes {
            msg.awaiting += 1;
            self.pending.insert(
                tid,
                Pending {
                    message_id: id.clone(),
                    // A timeout beyond the clock's range means never.
                    deadline: now.checked_add(self.cfg.transaction_timeout),
                    range: msg.chunk_events.then_some(plan.range),
                },
            );
        }
        if !msg.chunker.is_finished() {
            self.outgoing.push_back(msg);
        } else if msg.awaiting == 0 {
            self.sent_when_written(id, Box::new(head));
        } else {
            // Kept only for the last chunk: MessageSent names it.
            msg.last_head = Some(Box::new(head));
            self.finishing.insert(id, msg);
        }
        Some(bytes)
    }

    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// When [`Session::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let sends = self.pending.values().filter_map(|p| p.deadline).min();
        sends
            .into_iter()
            .chain(self.nicknames.next_deadline())
            .chain(self.keepalive.due())
            .chain(self.refresh.as_ref().and_then(|r| r.deadline()))
            .min()
    }

    /// Fails chunks whose response did not come in time (RFC 4975
    /// §7.1.1: as if a 408 had come).
    pub fn handle_timeout(&mut self, now: Instant) {
        let expired: Vec<TransactionId> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline.is_some_and(|d| d <= now))
            .map(|(t, _)| t.clone())
            .collect();
        for t in expired {
            if let Some(p) = self.pending.remove(&t) {
                if self.keepalive.answered(&p.message_id) {
                    self.keepalive_failed(408, Some("no answer to a keep-alive in time".into()));
                    continue;
                }
                self.fail(&p.message_id, 408, Some("no response in time"), None);
            }
        }
        if self.keepalive.due().is_some_and(|d| d <= now) {
            self.send_keepalive(now);
        }
        self.nickname_timeouts(now);
        self.relay_refresh_timeout(now);
    }

    /// Whether everything queued was written and answered.
    pub fn is_idle(&self) -> bool {
        self.transmits.is_empty()
            && self.writing.is_none()
            && self.outgoing.is_empty()
            && self.pending.is_empty()
            && self.finishing.is_empty()
            && self.nicknames.is_idle()
    }

    /// Messages queued whose chunks are not all written yet: the
    /// transport takes no new message while this is high, so a slow peer
    /// slows the sender instead of growing a queue.
    pub fn queued_messages(&self) -> usize {
        self.outgoing.len()
    }

    /// Body bytes of queued messages not yet written.
    pub fn queued_bytes(&self) -> u64 {
        let writing = self.unwritten_in_chunk(None).unwrap_or(0);
        self.outgoing.iter().map(|m| m.body.len()).sum::<u64>() + writing
    }

    /// Responses, REPORTs and chunks produced but not yet taken by
    /// [`Session::poll_transmit`]: the transport stops reading while this
    /// is high, so a peer that sends without reading cannot grow it.
    pub fn pending_transmits(&self) -> usize {
        self.transmits.len() + usize::from(self.writing.is_some())
    }

    /// Whether the stream is in the middle of a message: a connection
    /// that ends now cut a message off.
    pub fn in_message(&self) -> bool {
        !self.parser.is_idle()
    }

    /// A new To-Path towards the peer (its new `a=path` from a
    /// re-INVITE, or our relay's new Use-Path in front): requests from
    /// now on take it. An empty path is ignored.
    pub fn set_remote_path(&mut self, path: Vec<MsrpUri>) {
        if !path.is_empty() {
            self.cfg.remote_path = path;
        }
    }

    /// Our From-Path and the To-Path towards the peer.
    pub fn config(&self) -> &SessionConfig {
        &self.cfg
    }

    fn our_uri(&self) -> Option<&MsrpUri> {
        self.cfg.local_path.last()
    }

    fn path_headers(&self, to: &[MsrpUri]) -> Headers {
        let mut h = Headers::new();
        h.push_typed(&ToPath(to.to_vec()));
        h.push_typed(&FromPath(self.cfg.local_path.clone()));
        h
    }

    /// Drops what is left of an outgoing message and reports it once.
    fn fail(
        &mut self,
        message_id: &str,
        status: u16,
        reason: Option<&str>,
        chunk: Option<Box<Head>>,
    ) {
        let before = self.outgoing.len();
        self.outgoing.retain(|m| m.message_id.0 != message_id);
        // RFC 4975 §7.1.1: an error stops the message, its chunk in hand
        // too.
        let cut = self.cut_chunk_of(message_id);
        let was_known =
            self.finishing.remove(message_id).is_some() || self.outgoing.len() != before || cut;
        self.pending.retain(|_, p| p.message_id != message_id);
        if was_known {
            self.events.push_back(SessionEvent::MessageFailed {
                message_id: message_id.to_owned(),
                status,
                reason: reason.map(str::to_owned),
                chunk,
            });
        }
    }

    fn on_response(&mut self, now: Instant, resp: Response) {
        if self.on_reauth_response(now, &resp) {
            return;
        }
        if self.on_nickname_response(&resp.tid, resp.status, resp.comment.clone()) {
            return;
        }
        let Some(p) = self.pending.remove(&resp.tid) else {
            let at = self.partial.iter().position(|(t, _)| *t == resp.tid);
            if let Some((_, message_id)) = at.and_then(|at| self.partial.remove(at)) {
                if resp.status != 200 {
                    self.failed_after_sent(message_id, resp);
                }
            }
            // Else a late answer to a transaction already timed out.
            return;
        };
        if self.keepalive.answered(&p.message_id) {
            if keepalive::is_fatal(resp.status) {
                self.keepalive_failed(resp.status, resp.comment);
            }
            return;
        }
        if resp.status != 200 {
            let (status, comment) = (resp.status, resp.comment.clone());
            let chunk = Some(Box::new(Head::Response(resp)));
            self.fail(&p.message_id, status, comment.as_deref(), chunk);
            return;
        }
        if let Some(range) = p.range {
            self.events.push_back(SessionEvent::ChunkAcknowledged {
                message_id: p.message_id.clone(),
                range,
            });
        }
        let in_queue = self
            .outgoing
            .iter_mut()
            .find(|m| m.message_id.0 == p.message_id);
        if let Some(m) = in_queue {
            m.awaiting = m.awaiting.saturating_sub(1);
            return;
        }
        let done = self.finishing.get_mut(&p.message_id).is_some_and(|m| {
            m.awaiting = m.awaiting.saturating_sub(1);
            m.awaiting == 0
        });
        if done {
            let last = self.finishing.remove(&p.message_id);
            self.events.push_back(SessionEvent::MessageSent {
                message_id: p.message_id,
                chunk: last.and_then(|m| m.last_head),
            });
        }
    }

    fn on_request(&mut self, inc: Incoming, flag: Flag) {
        let req = &inc.req;
        match req.method {
            Method::Send => {}
            // REPORTs are never answered (RFC 4975 §7.1.2).
            Method::Report => return self.on_report(req),
            Method::Nickname => return self.on_nickname_request(inc.req),
            _ => return self.answer(req, 501, "Unknown method"),
        }
        if let Some(streamed) = inc.streamed {
            return self.end_streamed(req, streamed, flag);
        }
        let (mid, range) = match self.check_send(req) {
            Ok(v) => v,
            Err((status, comment)) => return self.answer(req, status, comment),
        };
        // A keep-alive (see the `keepalive` module) proves the path and
        // carries nothing: answered, never a message.
        if inc.body.is_empty() && req.headers.get("Keep-Alive").is_some() && flag == Flag::Complete
        {
            return self.answer(req, 200, "OK");
        }
        if self.refuses_content(req, inc.body.is_empty()) {
            self.reassembler.remove(&mid);
            return self.answer(req, 403, direction::NOT_RECEIVING);
        }
        let content_type = req.headers.get(ContentType::NAME);
        if let Some(ct) = content_type.filter(|_| !self.cfg.accept_types.is_empty()) {
            if !crate::headers::type_accepted(&self.cfg.accept_types, ct) {
                self.reassembler.remove(&mid);
                return self.answer(req, 415, "Unsupported media type");
            }
        }
        if inc.too_large {
            self.reassembler.remove(&mid);
            return self.answer(req, 413, "Message too large");
        }
        match self.reassembler.chunk(&mid, range, &inc.body, flag) {
            Err(e) => self.answer(req, e.status(), &e.to_string()),
            Ok(p) => {
                self.answer(req, 200, "OK");
                match p {
                    Progress::Partial { .. } => {}
                    Progress::Aborted { .. } => self
                        .events
                        .push_back(SessionEvent::MessageAborted { message_id: mid }),
                    Progress::Complete(body) => {
                        let wants = req.headers.typed::<SuccessReport>();
                        if matches!(wants, Some(Ok(SuccessReport(true)))) {
                            let len = body.len() as u64;
                            let from = req.headers.typed::<FromPath>().and_then(Result::ok);
                            if let Some(FromPath(back)) = from {
                                let range = ByteRange {
                                    start: 1,
                                    end: Some(len),
                                    total: Some(len),
                                };
                                self.send_report(back, &mid, range, 200, "OK");
                            }
                        }
                        self.events.push_back(SessionEvent::MessageReceived {
                            message_id: mid,
                            content_type: req.headers.get(ContentType::NAME).map(str::to_owned),
                            body,
                        });
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
