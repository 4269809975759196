//! One MSRP session's connection: a reader task and a writer task around
//! the sans-IO [`msrp_proto::Session`], which both share under a mutex
//! that is never held across an await.
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
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use bytes::Bytes;
use msrp_proto::headers::{ByteRange, FailureReport, MessageId};
use msrp_proto::{AbortOutcome, Session, SessionEvent};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::MsrpIo;

/// Messages a connection takes before its sender must wait.
pub const MAX_QUEUED_MESSAGES: usize = 4096;

/// Body bytes queued messages may hold before a sender must wait (one
/// message of any size is always taken when nothing else waits).
pub const MAX_QUEUED_BYTES: u64 = 32 * 1024 * 1024;

/// Responses and REPORTs waiting to be written before reading pauses.
pub const MAX_BACKLOG: usize = 256;

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
}

struct Shared {
    session: Mutex<Session>,
    /// Something to write, or closing.
    wake: Notify,
    /// The writer took transmits: the reader may go on.
    drained: Notify,
    closed: AtomicBool,
    sink: EventSink,
    trace: Option<super::trace::TraceSink>,
    /// A batch was written: a streamed message may take more bytes.
    written: Notify,
    /// Set by a stream that keeps what it reads somewhere slower than
    /// the network (a file): reading waits while it is closed.
    gate: OnceLock<Arc<ReadGate>>,
    /// Why the session says the connection is dead (a keep-alive failed):
    /// set under the session's lock, acted on once it is released.
    dead: OnceLock<String>,
}

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
    fn lock(&self) -> MutexGuard<'_, Session> {
        self.session.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hands every queued event to the sink; called with the lock held
    /// so that events leave in the order the core made them.
    fn drain(&self, session: &mut Session) {
        while let Some(e) = session.poll_event() {
            if let SessionEvent::KeepAliveFailed { status, reason } = &e {
                let _ = self.dead.set(format!(
                    "the MSRP connection is dead: keep-alive answered {status} {}",
                    reason.as_deref().unwrap_or_default()
                ));
            }
            (self.sink)(ConnectionEvent::Session(e));
        }
    }

    /// Closes the connection if the session found it dead; true then.
    fn close_if_dead(&self) -> bool {
        match self.dead.get() {
            Some(why) => {
                self.close(Some(why.trim_end().to_owned()));
                true
            }
            None => false,
        }
    }

    /// Reports the end once, whoever sees it first.
    fn close(&self, error: Option<String>) {
        if !self.closed.swap(true, Ordering::SeqCst) {
            let _guard = self.lock();
            (self.sink)(ConnectionEvent::Closed { error });
        }
        self.wake.notify_one();
        self.drained.notify_one();
        self.written.notify_waiters();
        if let Some(g) = self.gate.get() {
            g.released.notify_waiters();
        }
    }
}

/// A running MSRP connection. Dropping it closes the connection.
pub struct MsrpConnection {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for MsrpConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MsrpConnection")
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
        let shared = Arc::new(Shared {
            session: Mutex::new(session),
            wake: Notify::new(),
            drained: Notify::new(),
            closed: AtomicBool::new(false),
            sink,
            trace,
            written: Notify::new(),
            gate: OnceLock::new(),
            dead: OnceLock::new(),
        });
        let (reader, writer) = tokio::io::split(io);
        let tasks = vec![
            tokio::spawn(read_loop(shared.clone(), reader, initial)),
            tokio::spawn(write_loop(shared.clone(), writer)),
        ];
        MsrpConnection { shared, tasks }
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
        let mut s = self.shared.lock();
        let full = s.queued_messages() >= MAX_QUEUED_MESSAGES
            || (s.queued_messages() > 0 && s.queued_bytes() + body.len() as u64 > MAX_QUEUED_BYTES);
        if full {
            return Err(MsrpSendError::QueueFull);
        }
        s.send_message_with_id(
            MessageId(message_id.to_owned()),
            content_type,
            body,
            success_report,
            failure_report,
        );
        // A message refused at once (too large) reports now.
        self.shared.drain(&mut s);
        drop(s);
        self.shared.wake.notify_one();
        Ok(())
    }

    /// Gives up a message not yet written whole (see
    /// [`Session::abort_message`]); its `MessageCancelled` event reaches
    /// the sink before this returns. None when no such message has bytes
    /// left to write.
    pub fn abort(&self, message_id: &str) -> Option<AbortOutcome> {
        let mut s = self.shared.lock();
        let outcome = s.abort_message(message_id);
        self.shared.drain(&mut s);
        drop(s);
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
        let mut s = self.shared.lock();
        s.begin_message(
            MessageId(message_id.to_owned()),
            content_type,
            total,
            first,
            success_report,
            FailureReport::Yes,
        )
        .map_err(|e| e.to_string())
    }

    /// The next bytes of a message begun with [`MsrpConnection::begin`].
    pub fn append(&self, message_id: &str, data: Bytes, last: bool) -> Result<(), MsrpSendError> {
        if self.is_closed() {
            return Err(MsrpSendError::Closed);
        }
        let taken = self.shared.lock().append_body(message_id, data, last);
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
            let buffered = self.shared.lock().buffered(message_id).unwrap_or(0);
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
            if self.shared.lock().queued_messages() < limit || self.is_closed() {
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
            .shared
            .lock()
            .set_nickname(Instant::now(), nickname)
            .map_err(|e| e.to_string())?;
        self.shared.wake.notify_one();
        Ok(tid.to_string())
    }

    /// Answers the peer's NICKNAME `tid`; false when no such request
    /// waits or `status` is not one RFC 7701 gives it.
    pub fn answer_nickname(&self, tid: &str, status: u16, comment: &str) -> bool {
        let sent = self.shared.lock().answer_nickname(tid, status, comment);
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
            let roomy = {
                let s = self.shared.lock();
                s.queued_messages() <= MAX_QUEUED_MESSAGES / 2
                    && s.queued_bytes() <= MAX_QUEUED_BYTES / 2
            };
            if roomy || self.is_closed() {
                return;
            }
            written.await;
        }
    }

    /// A new To-Path for what the session sends from now on (the peer's
    /// new `a=path` after a re-INVITE).
    pub fn set_remote_path(&self, path: Vec<msrp_proto::MsrpUri>) {
        self.shared.lock().set_remote_path(path);
    }

    /// A REPORT for bytes of an incoming streamed message.
    pub fn report(&self, message_id: &str, range: ByteRange, status: u16, reason: &str) {
        let sent = self.shared.lock().report(message_id, range, status, reason);
        if sent {
            self.shared.wake.notify_one();
        }
    }

    /// Waits (up to `limit`) until what the session has to write was
    /// taken by the writer: a last REPORT goes out before a close.
    pub async fn drain(&self, limit: std::time::Duration) {
        let until = Instant::now() + limit;
        while self.shared.lock().pending_transmits() > 0
            && Instant::now() < until
            && !self.is_closed()
        {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        // The writer's batch: written within a moment on loopback or LAN.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    /// Makes reading wait on `gate` (once per connection).
    pub fn set_read_gate(&self, gate: Arc<ReadGate>) {
        let _ = self.shared.gate.set(gate);
    }

    /// Messages not yet fully written.
    pub fn queued_messages(&self) -> usize {
        self.shared.lock().queued_messages()
    }

    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::SeqCst)
    }

    /// Closes the connection; the sink hears `Closed { error: None }`.
    pub fn close(&self) {
        self.shared.close(None);
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Drop for MsrpConnection {
    fn drop(&mut self) {
        self.close();
    }
}

async fn read_loop(
    shared: Arc<Shared>,
    mut reader: tokio::io::ReadHalf<Box<dyn MsrpIo>>,
    initial: Vec<u8>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut tracer = shared
        .trace
        .as_ref()
        .map(|_| super::trace::ReadTracer::new());
    // What the server read to identify the connection first, then each
    // read straight from the buffer (no copy in between: a file's every
    // byte passes here).
    let mut n = initial.len();
    let mut first = Some(initial);
    loop {
        let got: &[u8] = match &first {
            Some(initial) => initial,
            None => buf.get(..n).unwrap_or_default(),
        };
        if let (Some(t), Some(sink)) = (&mut tracer, &shared.trace) {
            t.feed(got, &mut |text| sink("incoming", text));
        }
        if !got.is_empty() {
            let result = {
                let mut s = shared.lock();
                let r = s.handle_input(Instant::now(), got);
                shared.drain(&mut s);
                r
            };
            shared.wake.notify_one();
            if let Err(e) = result {
                return shared.close(Some(format!("bad MSRP from the peer: {e}")));
            }
            if shared.close_if_dead() {
                return;
            }
        }
        first = None;
        // Read no more while our answers pile up unwritten.
        while !shared.closed.load(Ordering::SeqCst)
            && shared.lock().pending_transmits() > MAX_BACKLOG
        {
            shared.drained.notified().await;
        }
        if let Some(gate) = shared.gate.get() {
            gate.wait_open(&shared.closed).await;
        }
        if shared.closed.load(Ordering::SeqCst) {
            return;
        }
        match reader.read(&mut buf).await {
            Ok(0) => {
                let cut = shared.lock().in_message();
                let error =
                    cut.then(|| "the connection closed in the middle of a message".to_owned());
                return shared.close(error);
            }
            Ok(read) => n = read,
            Err(e) => return shared.close(Some(format!("reading: {e}"))),
        }
    }
}

async fn write_loop(shared: Arc<Shared>, mut writer: tokio::io::WriteHalf<Box<dyn MsrpIo>>) {
    let mut batch: Vec<u8> = Vec::new();
    loop {
        // A large chunk (a file's) is written as it is: copying it into
        // the batch would touch every byte once more.
        let mut large: Option<Vec<u8>> = None;
        let deadline = {
            let mut s = shared.lock();
            let now = Instant::now();
            if s.poll_timeout().is_some_and(|t| t <= now) {
                s.handle_timeout(now);
            }
            while batch.len() < WRITE_BATCH {
                match s.poll_transmit(now) {
                    Some(t) => {
                        if let Some(sink) = &shared.trace {
                            sink("outgoing", super::trace::describe_written(&t));
                        }
                        if t.len() >= WRITE_BATCH / 2 {
                            large = Some(t);
                            break;
                        }
                        batch.extend_from_slice(&t);
                    }
                    None => break,
                }
            }
            shared.drain(&mut s);
            s.poll_timeout()
        };
        if shared.close_if_dead() {
            return;
        }
        if !batch.is_empty() || large.is_some() {
            shared.drained.notify_one();
            shared.written.notify_waiters();
            for bytes in [Some(&batch), large.as_ref()].into_iter().flatten() {
                if bytes.is_empty() {
                    continue;
                }
                if let Err(e) = writer.write_all(bytes).await {
                    return shared.close(Some(format!("writing: {e}")));
                }
            }
            batch.clear();
            continue;
        }
        if shared.closed.load(Ordering::SeqCst) {
            let _ = writer.shutdown().await;
            return;
        }
        if let Err(e) = writer.flush().await {
            return shared.close(Some(format!("writing: {e}")));
        }
        match deadline {
            Some(d) => {
                tokio::select! {
                    _ = shared.wake.notified() => {}
                    _ = tokio::time::sleep_until(d.into()) => {}
                }
            }
            None => shared.wake.notified().await,
        }
    }
}
