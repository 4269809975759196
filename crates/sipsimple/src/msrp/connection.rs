//! An MSRP connection: a reader task and a writer task around the
//! sans-IO [`msrp_proto::demux::Demux`] and the sessions it carries, which
//! both share under a mutex that is never held across an await. Each
//! session holds an [`MsrpConnection`]: its handle on the connection.
//! One session per connection is the rule (see the module doc of
//! `crate::msrp`); a connection accepted on the shared port also takes
//! further sessions of ours that the peer reaches over it (the `join`
//! module), and the connection ends with its last session. The reader's
//! and the writer's loops are in the `tasks` module.
//!
//! Two tasks, not one: a task that writes a large chunk to a peer that is
//! itself blocked writing to us would never read, and both would wait on
//! full socket buffers for ever.
//!
//! Back-pressure: a sender may have at most [`MAX_QUEUED_MESSAGES`]
//! messages not yet fully written ([`MsrpSendError::QueueFull`] beyond);
//! the reader stops reading while more than [`MAX_BACKLOG`] responses and
//! REPORTs wait to be written, so a peer that sends without reading
//! stalls on its own socket instead of growing our memory.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use bytes::Bytes;
use msrp_proto::demux::Demux;
use msrp_proto::headers::{ByteRange, FailureReport, MessageId};
use msrp_proto::{AbortOutcome, Authorized, RelayAuthError, Session, SessionEvent};
use tokio::sync::{oneshot, Notify};
use tokio::task::JoinHandle;

use super::MsrpIo;
use crate::sync::lock;
use join::JoinHook;
use tasks::{read_loop, write_loop};

pub(super) mod join;
mod tasks;

/// Messages a connection takes before its sender must wait.
pub const MAX_QUEUED_MESSAGES: usize = 4096;

/// Body bytes queued messages may hold before a sender must wait (one
/// message of any size is always taken when nothing else waits).
pub const MAX_QUEUED_BYTES: u64 = 32 * 1024 * 1024;

/// Responses and REPORTs waiting to be written before reading pauses.
pub const MAX_BACKLOG: usize = 256;

/// How long a closed connection's writer may take to write what its
/// last session must still write (see `Shared::parting`).
const PARTING_LIMIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Bytes gathered into one write (many small chunks, one syscall).
const WRITE_BATCH: usize = 64 * 1024;

/// What a connection reports to its stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionEvent {
    Session(SessionEvent),
    /// The connection is gone: `error` is None for a clean close by the
    /// peer between messages or by us.
    Closed {
        error: Option<String>,
    },
}

/// Called with every event, in order, while the connection's state is
/// locked: it must not call back into the connection (spawn for that).
pub type EventSink = Arc<dyn Fn(ConnectionEvent) + Send + Sync>;

/// Why a message was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MsrpSendError {
    #[error("the MSRP connection is closed")]
    Closed,
    #[error("{MAX_QUEUED_MESSAGES} messages or {MAX_QUEUED_BYTES} bytes are waiting to be written: try again later")]
    QueueFull,
    /// The stream's negotiated SDP direction (RFC 3264) does not let us
    /// send: `recvonly` or `inactive` from our side.
    #[error("the stream's direction is {}: it does not let us send", .0.as_str())]
    NotSending(sdp::Direction),
}

/// The sessions on a connection, each with its sink.
pub(super) struct Core {
    pub(super) demux: Demux,
    members: std::collections::HashMap<String, Member>,
    /// Sessions authorized on the connection that have not joined it
    /// yet (a shared relay connection, the `relay_share` module): the
    /// connection stays while any is held, sessions on it or not.
    pub(super) seats: usize,
}

struct Member {
    sink: EventSink,
    /// Shared with the session's handle: set when the session is gone
    /// from the connection.
    closed: Arc<AtomicBool>,
}

pub(super) struct Shared {
    core: Mutex<Core>,
    /// Something to write, or closing.
    pub(super) wake: Notify,
    /// The writer took transmits: the reader may go on.
    drained: Notify,
    /// The connection is gone (for every session on it).
    closed: AtomicBool,
    trace: Option<super::trace::TraceSink>,
    /// A batch was written: a streamed message may take more bytes.
    written: Notify,
    /// Set by streams that keep what they read somewhere slower than
    /// the network (a file): reading waits while one is closed.
    gates: Mutex<Vec<(String, Arc<ReadGate>)>>,
    /// Sessions the core found dead (a keep-alive failed), with why: set
    /// under the core's lock, acted on once it is released.
    dead: Mutex<Vec<(String, String)>>,
    /// The reader's and the writer's tasks, in that order.
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// The last session left (not for a dead connection): the writer
    /// writes what is still queued (the `#` end of a chunk it was
    /// writing, see `Demux::remove_session`) and shuts the stream, the
    /// reader reads until the peer closes too (at most `PARTING_LIMIT`).
    parting: AtomicBool,
    /// Where a request for another session of ours is offered (a
    /// connection accepted on the shared port); None: such requests get
    /// 481.
    pub(super) joins: Option<JoinHook>,
    /// Who waits for each AUTH run on the connection, by its key.
    pub(super) auth_waiters: Mutex<std::collections::HashMap<String, AuthWaiter>>,
}

/// Hears how an AUTH run on a connection ended.
pub(super) type AuthWaiter = oneshot::Sender<Result<Authorized, RelayAuthError>>;

/// Back-pressure from whoever consumes incoming bodies: it holds the
/// bytes it was handed until they are stored, and reading pauses while
/// more than `limit` are held.
#[derive(Debug)]
pub struct ReadGate {
    limit: u64,
    held: AtomicU64,
    released: Notify,
}

impl ReadGate {
    pub fn new(limit: u64) -> Arc<ReadGate> {
        Arc::new(ReadGate {
            limit,
            held: AtomicU64::new(0),
            released: Notify::new(),
        })
    }

    /// `n` more bytes are waiting to be stored.
    pub fn hold(&self, n: u64) {
        self.held.fetch_add(n, Ordering::SeqCst);
    }

    /// `n` bytes were stored (callable from any thread).
    pub fn release(&self, n: u64) {
        let _ = self
            .held
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |h| {
                Some(h.saturating_sub(n))
            });
        self.released.notify_waiters();
    }

    async fn wait_open(&self, closed: &AtomicBool) {
        loop {
            let released = self.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            if self.held.load(Ordering::SeqCst) <= self.limit || closed.load(Ordering::SeqCst) {
                return;
            }
            released.await;
        }
    }
}

impl Shared {
    fn new(
        limits: msrp_proto::Limits,
        trace: Option<super::trace::TraceSink>,
        joins: Option<JoinHook>,
    ) -> Arc<Shared> {
        let mut demux = Demux::new(limits);
        demux.hold_unknown(joins.is_some());
        Arc::new(Shared {
            core: Mutex::new(Core {
                demux,
                members: std::collections::HashMap::new(),
                seats: 0,
            }),
            wake: Notify::new(),
            drained: Notify::new(),
            closed: AtomicBool::new(false),
            trace,
            written: Notify::new(),
            gates: Mutex::new(Vec::new()),
            dead: Mutex::new(Vec::new()),
            tasks: Mutex::new(Vec::new()),
            parting: AtomicBool::new(false),
            joins,
            auth_waiters: Mutex::new(std::collections::HashMap::new()),
        })
    }

    /// A running connection with no session yet: sessions take seats on
    /// it and join it (a shared relay connection, the `relay_share`
    /// module). Nothing holds it open until the first seat is taken.
    pub(super) fn spawn_idle(
        io: Box<dyn MsrpIo>,
        trace: Option<super::trace::TraceSink>,
        joins: Option<JoinHook>,
    ) -> Arc<Shared> {
        let shared = Shared::new(msrp_proto::Limits::default(), trace, joins);
        shared.run(io, Vec::new());
        shared
    }

    fn run(self: &Arc<Self>, io: Box<dyn MsrpIo>, initial: Vec<u8>) {
        let (reader, writer) = tokio::io::split(io);
        *lock(&self.tasks) = vec![
            tokio::spawn(read_loop(self.clone(), reader, initial)),
            tokio::spawn(write_loop(self.clone(), writer)),
        ];
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Core> {
        crate::sync::lock(&self.core)
    }

    /// Hands every queued event to its session's sink; called with the
    /// lock held so that events leave in the order the core made them.
    pub(super) fn drain(&self, core: &mut Core) {
        while let Some((id, e)) = core.demux.poll_event() {
            if let SessionEvent::KeepAliveFailed { status, reason } = &e {
                let why = format!(
                    "the MSRP connection is dead: keep-alive answered {status} {}",
                    reason.as_deref().unwrap_or_default()
                );
                lock(&self.dead).push((id.clone(), why.trim_end().to_owned()));
            }
            if let Some(m) = core.members.get(&id) {
                (m.sink)(ConnectionEvent::Session(e));
            }
        }
        while let Some((key, outcome)) = core.demux.poll_auth() {
            if let Some(waiter) = lock(&self.auth_waiters).remove(&key) {
                let _ = waiter.send(outcome);
            }
        }
    }

    /// Closes the connection and stops its tasks (after the parting
    /// bytes, see [`Shared::stop_tasks`]).
    pub(super) fn shut(&self) {
        self.close(None);
        self.stop_tasks();
    }

    /// Takes the sessions the core found dead off the connection, each
    /// told why; the connection closes with the last. True when it did.
    fn close_dead(&self) -> bool {
        let dead = std::mem::take(&mut *lock(&self.dead));
        for (id, why) in dead {
            self.leave(&id, Some(why));
        }
        self.closed.load(Ordering::SeqCst)
    }

    /// Takes session `id` off the connection; its sink hears `Closed`
    /// (once). The connection closes when no session is left.
    fn leave(&self, id: &str, error: Option<String>) {
        // A sink may hold the last handle on the connection (a stream's
        // state does): it is dropped after the lock, whose release the
        // handle's drop would wait for.
        let dead = error.is_some();
        let (member, empty) = {
            let mut core = self.lock();
            let member = core.members.remove(id);
            if let Some(m) = &member {
                m.closed.store(true, Ordering::SeqCst);
                (m.sink)(ConnectionEvent::Closed { error });
            }
            core.demux.remove_session(id);
            let empty = core.members.is_empty() && core.seats == 0;
            // Always a parting, not only with bytes still queued: what the
            // writer already took may still be on its way into the socket
            // (a `#` end-line), and a socket dropped with unread bytes
            // (the peer's last responses) is reset, which can make the
            // peer's kernel throw away what it has not handed on yet.
            if empty && !dead {
                self.parting.store(true, Ordering::SeqCst);
            }
            (member, empty)
        };
        drop(member);
        lock(&self.gates).retain(|(g, _)| g != id);
        if empty {
            self.shut();
        }
    }

    /// Stops the reader and the writer; when the writer has parting bytes
    /// to write, both go on until they are written and the peer closes
    /// too (the reader discarding what comes: a socket closed with
    /// unread bytes is reset, which would lose them), or are stopped
    /// after [`PARTING_LIMIT`] (a peer that reads nothing).
    fn stop_tasks(&self) {
        let tasks = lock(&self.tasks);
        let runtime = tokio::runtime::Handle::try_current();
        match runtime {
            Ok(rt) if self.parting.load(Ordering::SeqCst) => {
                let handles: Vec<_> = tasks.iter().map(JoinHandle::abort_handle).collect();
                rt.spawn(async move {
                    tokio::time::sleep(PARTING_LIMIT).await;
                    for h in handles {
                        h.abort();
                    }
                });
            }
            _ => {
                for t in tasks.iter() {
                    t.abort();
                }
            }
        }
    }

    /// Ends the connection: every session on it hears `Closed` once.
    fn close(&self, error: Option<String>) {
        if !self.closed.swap(true, Ordering::SeqCst) {
            let members: Vec<Member> = {
                let mut core = self.lock();
                let members: Vec<Member> = core.members.drain().map(|(_, m)| m).collect();
                for m in &members {
                    m.closed.store(true, Ordering::SeqCst);
                    (m.sink)(ConnectionEvent::Closed {
                        error: error.clone(),
                    });
                }
                members
            };
            // As in `leave`: dropped without the lock.
            drop(members);
            // Their receivers hear the connection is gone.
            lock(&self.auth_waiters).clear();
        }
        self.wake.notify_one();
        self.drained.notify_one();
        self.written.notify_waiters();
        for (_, g) in lock(&self.gates).iter() {
            g.released.notify_waiters();
        }
    }

    /// Adds a session that the peer reached over this connection.
    pub(super) fn join(
        self: &Arc<Self>,
        session: Session,
        sink: EventSink,
    ) -> Result<MsrpConnection, String> {
        self.try_join(session, sink).map_err(|(why, _, _)| why)
    }

    /// Adds a session; when it cannot (the connection closed, or it
    /// carries as many sessions as it may), the session comes back.
    pub(super) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    #[allow(clippy::type_complexity)]
    pub(super) fn try_join(
        self: &Arc<Self>,
        session: Session,
        sink: EventSink,
    ) -> Result<MsrpConnection, (String, Box<Session>, EventSink)> {
        let mut core = self.lock();
        if self.closed.load(Ordering::SeqCst) {
            return Err((MsrpSendError::Closed.to_string(), Box::new(session), sink));
        }
        let id = match core.demux.add_session(session) {
            Ok(id) => id,
            Err(r) => return Err((r.reason.to_string(), r.session, sink)),
        };
        let closed = Arc::new(AtomicBool::new(false));
        core.members.insert(
            id.clone(),
            Member {
                sink,
                closed: closed.clone(),
            },
        );
        Ok(MsrpConnection {
            shared: self.clone(),
            id,
            closed,
        })
    }
}

/// A session's handle on its running MSRP connection. Dropping it takes
/// the session off the connection, which closes with its last session.
pub struct MsrpConnection {
    shared: Arc<Shared>,
    /// Our session-id on the connection.
    id: String,
    closed: Arc<AtomicBool>,
}

impl std::fmt::Debug for MsrpConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MsrpConnection")
            .field("session", &self.id)
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

impl MsrpConnection {
    /// Runs `session` on `io`; `initial` is what was already read from it
    /// (the server reads the first request to find the session).
    pub fn spawn(
        io: Box<dyn MsrpIo>,
        initial: Vec<u8>,
        session: Session,
        sink: EventSink,
        trace: Option<super::trace::TraceSink>,
    ) -> MsrpConnection {
        Self::spawn_joinable(io, initial, session, sink, trace, None)
    }

    /// [`MsrpConnection::spawn`], offering requests for other sessions
    /// to `joins` (see [`super::Accepted::joins`]) instead of answering
    /// them 481.
    pub fn spawn_joinable(
        io: Box<dyn MsrpIo>,
        initial: Vec<u8>,
        session: Session,
        sink: EventSink,
        trace: Option<super::trace::TraceSink>,
        joins: Option<JoinHook>,
    ) -> MsrpConnection {
        let shared = Shared::new(session.config().limits, trace, joins);
        let conn = match shared.join(session, sink.clone()) {
            Ok(c) => c,
            Err(e) => {
                // A session without a session-id of its own: nothing
                // could be routed to it.
                sink(ConnectionEvent::Closed { error: Some(e) });
                shared.closed.store(true, Ordering::SeqCst);
                return MsrpConnection {
                    shared,
                    id: String::new(),
                    closed: Arc::new(AtomicBool::new(true)),
                };
            }
        };
        shared.run(io, initial);
        conn
    }

    /// Runs `f` on our session, then hands on what it made happen; None
    /// when the session is no longer on the connection.
    fn with<R>(&self, f: impl FnOnce(&mut Session) -> R) -> Option<R> {
        let mut core = self.shared.lock();
        let r = f(core.demux.session_mut(&self.id)?);
        self.shared.drain(&mut core);
        Some(r)
    }

    /// Reads our session; None when it is no longer on the connection.
    fn read<R>(&self, f: impl FnOnce(&Session) -> R) -> Option<R> {
        self.shared.lock().demux.session(&self.id).map(f)
    }

    /// Queues a message under `message_id`; it goes out in chunks in turn
    /// with the others.
    pub fn send(
        &self,
        message_id: &str,
        content_type: &str,
        body: Bytes,
        success_report: bool,
        failure_report: FailureReport,
    ) -> Result<(), MsrpSendError> {
        if self.is_closed() {
            return Err(MsrpSendError::Closed);
        }
        self.with(|s| {
            let full = s.queued_messages() >= MAX_QUEUED_MESSAGES
                || (s.queued_messages() > 0
                    && s.queued_bytes() + body.len() as u64 > MAX_QUEUED_BYTES);
            if full {
                return Err(MsrpSendError::QueueFull);
            }
            // A message refused at once (too large) reports as `with`
            // returns.
            s.send_message_with_id(
                MessageId(message_id.to_owned()),
                content_type,
                body,
                success_report,
                failure_report,
            );
            Ok(())
        })
        .unwrap_or(Err(MsrpSendError::Closed))?;
        self.shared.wake.notify_one();
        Ok(())
    }

    /// Gives up a message not yet written whole (see
    /// [`Session::abort_message`]); its `MessageCancelled` event reaches
    /// the sink before this returns. None when no such message has bytes
    /// left to write.
    pub fn abort(&self, message_id: &str) -> Option<AbortOutcome> {
        let outcome = self.with(|s| s.abort_message(message_id)).flatten();
        // The `#` chunk, when there is one, is the writer's to send.
        self.shared.wake.notify_one();
        outcome
    }

    /// Starts a message of `total` bytes sent from byte `first` on, whose
    /// body comes through [`MsrpConnection::append`] (a file).
    pub fn begin(
        &self,
        message_id: &str,
        content_type: &str,
        total: u64,
        first: u64,
        success_report: bool,
    ) -> Result<(), String> {
        if self.is_closed() {
            return Err(MsrpSendError::Closed.to_string());
        }
        self.with(|s| {
            s.begin_message(
                MessageId(message_id.to_owned()),
                content_type,
                total,
                first,
                success_report,
                FailureReport::Yes,
            )
            .map_err(|e| e.to_string())
        })
        .unwrap_or_else(|| Err(MsrpSendError::Closed.to_string()))
    }

    /// The next bytes of a message begun with [`MsrpConnection::begin`].
    pub fn append(&self, message_id: &str, data: Bytes, last: bool) -> Result<(), MsrpSendError> {
        if self.is_closed() {
            return Err(MsrpSendError::Closed);
        }
        let taken = self
            .with(|s| s.append_body(message_id, data, last))
            .unwrap_or(false);
        self.shared.wake.notify_one();
        if taken {
            Ok(())
        } else {
            Err(MsrpSendError::Closed)
        }
    }

    /// Waits until no more than `limit` bytes of `message_id` wait to be
    /// written (or the connection closes): a file is read only as fast as
    /// it is sent.
    pub async fn wait_buffered_below(&self, message_id: &str, limit: u64) {
        loop {
            let written = self.shared.written.notified();
            tokio::pin!(written);
            written.as_mut().enable();
            let buffered = self.read(|s| s.buffered(message_id)).flatten().unwrap_or(0);
            if buffered <= limit || self.is_closed() {
                return;
            }
            written.await;
        }
    }

    /// Waits until fewer than `limit` messages wait to be written (or the
    /// connection closes): a producer of many small messages (desktop
    /// sharing) goes no faster than the socket.
    pub async fn wait_queued_below(&self, limit: usize) {
        loop {
            let written = self.shared.written.notified();
            tokio::pin!(written);
            written.as_mut().enable();
            if self.queued_messages() < limit || self.is_closed() {
                return;
            }
            written.await;
        }
    }

    /// Sends an RFC 7701 NICKNAME; returns its transaction id, which the
    /// `NicknameResult` event names.
    pub fn set_nickname(&self, nickname: &str) -> Result<String, String> {
        if self.is_closed() {
            return Err(MsrpSendError::Closed.to_string());
        }
        let tid = self
            .with(|s| s.set_nickname(Instant::now(), nickname))
            .ok_or_else(|| MsrpSendError::Closed.to_string())?
            .map_err(|e| e.to_string())?;
        self.shared.wake.notify_one();
        Ok(tid.to_string())
    }

    /// Answers the peer's NICKNAME `tid`; false when no such request
    /// waits or `status` is not one RFC 7701 gives it.
    pub fn answer_nickname(&self, tid: &str, status: u16, comment: &str) -> bool {
        let sent = self
            .with(|s| s.answer_nickname(tid, status, comment))
            .unwrap_or(false);
        if sent {
            self.shared.wake.notify_one();
        }
        sent
    }

    /// Waits until at most half of [`MAX_QUEUED_MESSAGES`] and of
    /// [`MAX_QUEUED_BYTES`] wait to be written (or the connection
    /// closes): a sender that got [`MsrpSendError::QueueFull`] goes on
    /// at the pace of the peer.
    pub async fn wait_room(&self) {
        loop {
            let written = self.shared.written.notified();
            tokio::pin!(written);
            written.as_mut().enable();
            let roomy = self
                .read(|s| {
                    s.queued_messages() <= MAX_QUEUED_MESSAGES / 2
                        && s.queued_bytes() <= MAX_QUEUED_BYTES / 2
                })
                .unwrap_or(true);
            if roomy || self.is_closed() {
                return;
            }
            written.await;
        }
    }

    /// A new To-Path for what the session sends from now on (the peer's
    /// new `a=path` after a re-INVITE).
    pub fn set_remote_path(&self, path: Vec<msrp_proto::MsrpUri>) {
        self.with(|s| s.set_remote_path(path));
    }

    /// Whether the session takes content from the peer (the stream's
    /// negotiated direction, which a re-INVITE may change).
    pub fn set_receiving(&self, receiving: bool) {
        self.with(|s| s.set_receiving(receiving));
    }

    /// A REPORT for bytes of an incoming streamed message.
    pub fn report(&self, message_id: &str, range: ByteRange, status: u16, reason: &str) {
        let sent = self
            .with(|s| s.report(message_id, range, status, reason))
            .unwrap_or(false);
        if sent {
            self.shared.wake.notify_one();
        }
    }

    /// Waits (up to `limit`) until what the session has to write was
    /// taken by the writer: a last REPORT goes out before a close.
    pub async fn drain(&self, limit: std::time::Duration) {
        let until = Instant::now() + limit;
        while self.read(|s| s.pending_transmits()).unwrap_or(0) > 0
            && Instant::now() < until
            && !self.is_closed()
        {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        // The writer's batch: written within a moment on loopback or LAN.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    /// Makes reading wait on `gate` (once per session).
    pub fn set_read_gate(&self, gate: Arc<ReadGate>) {
        let mut gates = lock(&self.shared.gates);
        if !gates.iter().any(|(id, _)| *id == self.id) {
            gates.push((self.id.clone(), gate));
        }
    }

    /// Messages not yet fully written.
    pub fn queued_messages(&self) -> usize {
        self.read(Session::queued_messages).unwrap_or(0)
    }

    /// Whether the session is off the connection or the connection gone.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst) || self.shared.closed.load(Ordering::SeqCst)
    }

    /// The connection under the handle (to carry more sessions).
    pub(super) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Whether both handles are on the same connection.
    pub fn same_connection(&self, other: &MsrpConnection) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// How many sessions the connection carries now.
    pub fn sessions(&self) -> usize {
        self.shared.lock().demux.len()
    }

    /// Takes the session off the connection (the sink hears `Closed {
    /// error: None }`); the connection closes with its last session.
    pub fn close(&self) {
        self.shared.leave(&self.id, None);
    }
}

impl Drop for MsrpConnection {
    fn drop(&mut self) {
        self.close();
    }
}
