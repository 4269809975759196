//! FileTransferStream: one file over MSRP (RFC 5547), pushed (we offer
//! `sendonly`) or pulled (we offer `recvonly` naming a file the peer
//! has), whole or from a byte on (`a=file-range`, to resume).
//!
//! The file is one MSRP message sent in chunks of [`CHUNK_SIZE`] with
//! `Success-Report: yes`: the receiver REPORTs each chunk once it is on
//! disk, and the last one only when the whole file's SHA-1 matches the
//! `file-selector`, so a REPORT covering the last byte means the peer has
//! the file, checked. The sender reads the file as fast as the connection
//! takes it (at most [`SEND_BUFFER`] bytes wait in memory); the receiver
//! writes through a thread of its own (`file_store`) and the connection
//! stops reading while [`RECEIVE_BUFFER`] bytes wait for the disk.
//!
//! Through relays, TCP's back-pressure ends at the relay: the push goes
//! in whole relay chunks, at most [`RELAY_WINDOW`] bytes ahead of the
//! REPORTs, and only [`RELAY_OPENING_WINDOW`] until the first REPORT
//! shows every relay connected onward (or after all was REPORTed: the
//! path was idle), the window desktop sharing uses too
//! (`relay_window`). A REPORT for a later byte range while an earlier
//! one has none means a relay dropped those bytes: the transfer fails
//! instead of the receiver waiting for them for ever.
//!
//! A push given up before it was written whole (the stream deactivated
//! or ended, or our side failing) ends its message with `#` (RFC 4975
//! §7.1: the chunk in hand cut short, or an empty chunk), written while
//! the connection is still up; the receiver finishes with
//! [`SENDER_ABORTED`], not as a cut connection, and keeps its part file
//! as after a cut, for a resumption.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use bytes::Bytes;
use msrp_proto::SessionEvent;
use sdp::{FileHash, FileRange, FileSelector};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::base::{MsrpStreamBase, RemoteMedia, RELAY_CHUNK_SIZE};
use super::file_attributes::FileAttributes;
use super::file_store::sha1_of;
use super::relay_window::{RelayWindow, Reported};
use crate::msrp::{new_message_id, ConnectionEvent, MsrpConnection, ReadGate};
use crate::notification::NotificationData;
use crate::streams::settings::StreamSettings;
use crate::sync::lock;
use disk::{disk_thread, DiskWork};

mod disk;
/// Bytes per chunk on a direct path: each chunk costs a response, a
/// REPORT and a notification on each side, so fewer go faster (32 KiB:
/// 192 MB/s, 128 KiB: 240 MB/s, docs/PERFORMANCE.md). Through relays
/// the base caps it (`RELAY_CHUNK_SIZE`: Kamailio reads a frame whole).
pub const CHUNK_SIZE: u64 = 128 * 1024;

/// Bytes of the file read ahead of the connection.
pub const SEND_BUFFER: u64 = 1 << 20;

/// Bytes of the file read at a time.
const READ_PIECE: u64 = 256 * 1024;

pub use super::relay_window::{RELAY_OPENING_WINDOW, RELAY_WINDOW};

/// Bytes received and not yet on disk before reading pauses.
pub const RECEIVE_BUFFER: u64 = 4 << 20;

/// The error a receiver's transfer ends with when the sender gave the
/// file up: its last chunk ended with `#` (RFC 4975 §7.1), which is not
/// a cut connection.
pub const SENDER_ABORTED: &str = "the sender cancelled the transfer";

/// Which way the file goes, seen from us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferDirection {
    Send,
    Receive,
}

/// A file selector for a file on disk (the spec's `FileSelector.for_file`):
/// its base name, size, the given type, and its SHA-1 when asked, hashed
/// on a blocking thread so the engine goes on meanwhile.
pub async fn file_selector_for(
    path: &Path,
    content_type: Option<&str>,
    compute_hash: bool,
) -> std::io::Result<FileSelector> {
    let meta = tokio::fs::metadata(path).await?;
    if !meta.is_file() {
        return Err(std::io::Error::other(format!(
            "{} is not a file",
            path.display()
        )));
    }
    let hash = if compute_hash {
        let p = path.to_owned();
        let digest = tokio::task::spawn_blocking(move || sha1_of(&p))
            .await
            .map_err(std::io::Error::other)??;
        Some(FileHash::sha1(digest))
    } else {
        None
    };
    Ok(FileSelector {
        name: path.file_name().map(|n| n.to_string_lossy().into_owned()),
        content_type: Some(
            content_type
                .unwrap_or("application/octet-stream")
                .to_owned(),
        ),
        size: Some(meta.len()),
        hash,
        unknown: Vec::new(),
    })
}

/// What the application can read about a transfer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransferProgress {
    /// Bytes the peer confirmed (sending) or we stored (receiving),
    /// counting those of an earlier, resumed transfer.
    pub transferred_bytes: u64,
    pub file_size: u64,
    pub finished: bool,
    pub error: Option<String>,
    /// Where the received file was saved.
    pub saved_to: Option<PathBuf>,
}

pub(super) struct Inner {
    pub(super) base: MsrpStreamBase,
    pub(super) direction: TransferDirection,
    pub(super) selector: Mutex<FileSelector>,
    pub(super) transfer_id: String,
    /// The bytes to transfer: ours when we offer, the offer's when we
    /// answer.
    pub(super) range: Option<FileRange>,
    /// The file we send.
    source: Mutex<Option<PathBuf>>,
    /// The message carrying it once begun: ended with `#` if the stream
    /// ends before it was written whole.
    sending: Mutex<Option<(Arc<MsrpConnection>, String)>>,
    directory: Mutex<PathBuf>,
    progress: Mutex<TransferProgress>,
    finished: AtomicBool,
    /// Work for the disk thread (receiving).
    disk: Mutex<Option<mpsc::Sender<DiskWork>>>,
    gate: Arc<ReadGate>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// What went through relays ahead of the peer's REPORTs (a push on
    /// a relayed path).
    window: RelayWindow,
    /// RFC 5547 §6's other file attributes: ours when we push, the
    /// offer's when we take one.
    pub(super) attributes: Mutex<FileAttributes>,
}

/// The spec's FileTransferStream.
#[derive(Clone)]
pub struct FileTransferStream {
    pub(super) inner: Arc<Inner>,
}

impl std::fmt::Debug for FileTransferStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileTransferStream")
            .field("direction", &self.inner.direction)
            .field("file", &lock(&self.inner.selector).name)
            .finish_non_exhaustive()
    }
}

impl FileTransferStream {
    /// A stream that pushes the file at `path` described by `selector`
    /// (see [`file_selector_for`]); `range` resumes from a byte on.
    pub fn new_outgoing(
        settings: &StreamSettings,
        selector: FileSelector,
        path: PathBuf,
        range: Option<FileRange>,
    ) -> FileTransferStream {
        let attributes = FileAttributes::of_file(&path);
        let stream = Self::make(
            settings,
            TransferDirection::Send,
            selector,
            Some(path),
            range,
            None,
            None,
        );
        *lock(&stream.inner.attributes) = attributes;
        stream
    }

    /// RFC 5547 §6's disposition, dates and icon of the file: what we
    /// offer when we push, what the offer said when we receive.
    pub fn file_attributes(&self) -> FileAttributes {
        lock(&self.inner.attributes).clone()
    }

    /// A stream that asks the peer for the file `selector` names (RFC
    /// 5547 §8: a `recvonly` offer); `range` asks for part of it.
    pub fn new_pull(
        settings: &StreamSettings,
        selector: FileSelector,
        range: Option<FileRange>,
    ) -> FileTransferStream {
        Self::make(
            settings,
            TransferDirection::Receive,
            selector,
            None,
            range,
            None,
            None,
        )
    }

    pub(super) fn make(
        settings: &StreamSettings,
        direction: TransferDirection,
        selector: FileSelector,
        source: Option<PathBuf>,
        range: Option<FileRange>,
        transfer_id: Option<String>,
        offer: Option<RemoteMedia>,
    ) -> FileTransferStream {
        let mut base = MsrpStreamBase::new("message", vec!["*".into()], vec![], settings, offer);
        base.chunk_size = Some(CHUNK_SIZE);
        base.stream_incoming = direction == TransferDirection::Receive;
        let size = selector.size.unwrap_or(0);
        FileTransferStream {
            inner: Arc::new(Inner {
                base,
                direction,
                transfer_id: transfer_id.unwrap_or_else(new_message_id),
                range,
                source: Mutex::new(source),
                sending: Mutex::new(None),
                directory: Mutex::new(settings.msrp.file_directory.clone()),
                progress: Mutex::new(TransferProgress {
                    file_size: size,
                    ..TransferProgress::default()
                }),
                finished: AtomicBool::new(false),
                disk: Mutex::new(None),
                gate: ReadGate::new(RECEIVE_BUFFER),
                tasks: Mutex::new(Vec::new()),
                window: RelayWindow::default(),
                selector: Mutex::new(selector),
                attributes: Mutex::new(FileAttributes::default()),
            }),
        }
    }

    /// The MSRP stream underneath.
    pub fn base(&self) -> &MsrpStreamBase {
        &self.inner.base
    }

    pub fn direction(&self) -> TransferDirection {
        self.inner.direction
    }

    /// The file selector (the spec's `file_selector`).
    pub fn file_selector(&self) -> FileSelector {
        lock(&self.inner.selector).clone()
    }

    /// In a pull we asked for, the peer's answer describes the file (its
    /// size and hash): what it says fills in what we did not know.
    pub(super) fn learn_from_answer(&self, theirs: &FileSelector) {
        let mut ours = lock(&self.inner.selector);
        if ours.size.is_none() {
            ours.size = theirs.size;
            lock(&self.inner.progress).file_size = theirs.size.unwrap_or(0);
        }
        if ours.hash.is_none() {
            ours.hash = theirs.hash.clone();
        }
        if ours.content_type.is_none() {
            ours.content_type = theirs.content_type.clone();
        }
    }

    /// RFC 5547 `a=file-transfer-id`.
    pub fn transfer_id(&self) -> &str {
        &self.inner.transfer_id
    }

    /// The `a=file-range` this transfer goes by, if any.
    pub fn file_range(&self) -> Option<FileRange> {
        self.inner.range
    }

    pub fn progress(&self) -> TransferProgress {
        lock(&self.inner.progress).clone()
    }

    /// Where a received file goes (before the stream starts).
    pub fn set_directory(&self, dir: PathBuf) {
        *lock(&self.inner.directory) = dir;
    }

    /// The file to send for a pull request the peer made (before the
    /// stream starts).
    /// The size comes from the file when the request did not say it.
    pub fn set_file(&self, path: PathBuf) {
        if let Ok(meta) = std::fs::metadata(&path) {
            let mut sel = lock(&self.inner.selector);
            if sel.size.is_none() {
                sel.size = Some(meta.len());
                lock(&self.inner.progress).file_size = meta.len();
            }
        }
        *lock(&self.inner.source) = Some(path);
    }

    /// The first byte to transfer (1-based).
    fn first_byte(&self) -> u64 {
        self.inner.range.map_or(1, |r| r.start)
    }

    /// Before the connection can exist: the receiving side's disk thread
    /// and its channel, so that no early byte finds nobody to take it.
    pub(super) fn before_start(&self) {
        if self.inner.direction == TransferDirection::Receive {
            let (tx, rx) = mpsc::channel();
            *lock(&self.inner.disk) = Some(tx);
            let weak = Arc::downgrade(&self.inner);
            let dir = lock(&self.inner.directory).clone();
            let keep = self.first_byte() - 1;
            let rt = tokio::runtime::Handle::current();
            std::thread::spawn(move || disk_thread(weak, rx, dir, keep, rt));
        }
    }

    /// The connection is being made: send the file once it is up, or
    /// hand the connection to the disk thread for its REPORTs.
    pub(super) fn on_started(&self) {
        let me = self.clone();
        let task = match self.inner.direction {
            TransferDirection::Send => tokio::spawn(async move {
                if let Err(e) = me.send_file().await {
                    me.inner.fail(&e);
                }
            }),
            TransferDirection::Receive => tokio::spawn(async move {
                if let Some(conn) = me.inner.base.connection().await {
                    conn.set_read_gate(me.inner.gate.clone());
                    if let Some(tx) = lock(&me.inner.disk).as_ref() {
                        let _ = tx.send(DiskWork::Connected(conn));
                    }
                }
            }),
        };
        lock(&self.inner.tasks).push(task);
    }

    async fn send_file(&self) -> Result<(), String> {
        let path = lock(&self.inner.source)
            .clone()
            .ok_or("no file to send was given")?;
        let selector = self.file_selector();
        let size = selector.size.ok_or("the file size is unknown")?;
        let first = self.first_byte();
        let end = self
            .inner
            .range
            .and_then(|r| r.stop)
            .unwrap_or(size)
            .min(size);
        let Some(conn) = self.inner.base.connection().await else {
            return Ok(()); // ended before it started
        };
        let id = new_message_id();
        lock(&self.inner.progress).transferred_bytes = first - 1;
        let content_type = selector
            .content_type
            .clone()
            .unwrap_or_else(|| "application/octet-stream".into());
        conn.begin(&id, &content_type, size, first, true)?;
        *lock(&self.inner.sending) = Some((conn.clone(), id.clone()));
        let mut file = tokio::fs::File::open(&path)
            .await
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        file.seek(std::io::SeekFrom::Start(first - 1))
            .await
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut left = (end + 1).saturating_sub(first);
        let relayed = self.inner.base.relayed();
        self.inner.window.start_at(first - 1);
        if left == 0 {
            conn.append(&id, Bytes::new(), true)
                .map_err(|e| e.to_string())?;
        }
        while left > 0 {
            let want = usize::try_from(left.min(READ_PIECE)).unwrap_or(READ_PIECE as usize);
            let mut buf = vec![0u8; want];
            file.read_exact(&mut buf)
                .await
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let mut piece = Bytes::from(buf);
            while !piece.is_empty() {
                let n = match relayed {
                    true => self.relay_room(&conn, piece.len() as u64).await,
                    false => piece.len() as u64,
                };
                // The connection's end, or the peer's failure REPORT,
                // reports itself; the rest of the file is not wanted.
                if conn.is_closed() || self.inner.finished.load(Ordering::SeqCst) {
                    return Ok(());
                }
                let part = piece.split_to(usize::try_from(n).unwrap_or(piece.len()));
                left -= part.len() as u64;
                if relayed {
                    // Counted first: its REPORT may come before `append`
                    // returns.
                    self.inner.window.add(part.len() as u64);
                }
                if let Err(e) = conn.append(&id, part, left == 0) {
                    // Given up meanwhile (`cancel_push`): not a failure.
                    return match lock(&self.inner.sending).is_some() {
                        true => Err(e.to_string()),
                        false => Ok(()),
                    };
                }
                conn.wait_buffered_below(&id, SEND_BUFFER).await;
            }
        }
        Ok(())
    }

    /// On a path through relays, how many of the next `n` bytes may go:
    /// waits for room for a chunk, then takes whole relay chunks (a part
    /// of one would wait in the connection for the rest), or all that is
    /// left of the file.
    async fn relay_room(&self, conn: &MsrpConnection, n: u64) -> u64 {
        let one = n.min(RELAY_CHUNK_SIZE);
        let done = || conn.is_closed() || self.inner.finished.load(Ordering::SeqCst);
        self.inner.window.wait_room(one, &done).await;
        let whole = self.inner.window.room() / RELAY_CHUNK_SIZE * RELAY_CHUNK_SIZE;
        n.min(whole.max(one))
    }

    /// Every event of the connection, in order (runs under its lock:
    /// nothing here calls into the connection).
    pub(super) fn on_event(&self, ev: ConnectionEvent) {
        let inner = &self.inner;
        match ev {
            ConnectionEvent::Closed { error } => {
                if let Some(tx) = lock(&inner.disk).as_ref() {
                    let _ = tx.send(DiskWork::Closed);
                }
                if inner.direction == TransferDirection::Send {
                    let reason = error.unwrap_or_else(|| "the connection closed".into());
                    inner.finish(Some(reason));
                }
            }
            ConnectionEvent::Session(SessionEvent::ChunkData { offset, data, .. }) => {
                inner.gate.hold(data.len() as u64);
                if let Some(tx) = lock(&inner.disk).as_ref() {
                    let _ = tx.send(DiskWork::Data { offset, data });
                }
            }
            ConnectionEvent::Session(SessionEvent::ChunkReceived {
                message_id,
                content_type,
                range,
                flag,
                success_report,
            }) => {
                // The peer's empty binding SEND carries no type; a chunk
                // of the file (even of an empty one) does.
                if content_type.is_none() && range.len() == Some(0) {
                    return;
                }
                if let Some(tx) = lock(&inner.disk).as_ref() {
                    let _ = tx.send(DiskWork::ChunkEnd {
                        message_id,
                        range,
                        flag,
                        success_report,
                    });
                }
            }
            ConnectionEvent::Session(SessionEvent::MessageDelivered {
                message_id,
                range,
                chunk,
            }) => {
                if inner.base.is_bind(&message_id) {
                    return;
                }
                let lost = range
                    .and_then(|r| Some((r.start.checked_sub(1)?, r.end?)))
                    .filter(|_| inner.base.relayed())
                    .map(|(start, end)| inner.window.reported(start, end));
                if let Some(Reported::Lost { first, bytes }) = lost {
                    // The receiver would wait for those bytes for ever.
                    inner.fail_at_once(format!(
                        "a relay lost bytes {}-{} of the file: a later chunk was REPORTed first",
                        first + 1,
                        first + bytes
                    ));
                    return;
                }
                let (transferred, size) = {
                    let mut p = lock(&inner.progress);
                    if let Some(end) = range.and_then(|r| r.end) {
                        p.transferred_bytes = p.transferred_bytes.max(end);
                    }
                    (p.transferred_bytes, p.file_size)
                };
                inner.post(NotificationData::FileTransferStreamDidDeliverChunk {
                    message_id,
                    code: 200,
                    reason: super::report_reason(chunk.as_deref()),
                    chunk: chunk.map(|h| *h),
                    transferred_bytes: transferred,
                    file_size: size,
                });
                if transferred >= size {
                    inner.finish(None);
                }
            }
            ConnectionEvent::Session(SessionEvent::MessageFailed {
                message_id,
                status,
                reason,
                chunk,
            }) => {
                if inner.base.is_bind(&message_id) {
                    return;
                }
                let reason = reason.unwrap_or_default();
                inner.post(NotificationData::FileTransferStreamDidNotDeliverChunk {
                    message_id,
                    code: status,
                    reason: reason.clone(),
                    chunk: chunk.map(|h| *h),
                });
                inner.finish(Some(format!(
                    "the peer refused the file: {status} {reason}"
                )));
            }
            ConnectionEvent::Session(_) => {}
        }
    }
}

impl Inner {
    pub(super) fn post(&self, data: NotificationData) {
        if let Some(c) = self.base.context() {
            c.center.post(c.sender, data);
        }
    }

    /// Ends the transfer once, either way.
    fn finish(&self, error: Option<String>) {
        if self.finished.swap(true, Ordering::SeqCst) {
            return;
        }
        {
            let mut p = lock(&self.progress);
            p.finished = true;
            p.error = error.clone();
        }
        self.window.wake();
        self.post(NotificationData::FileTransferStreamDidFinish { error });
    }

    /// A failure of ours (file, disk): the stream fails and ends.
    fn fail(&self, reason: &str) {
        if self.finished.load(Ordering::SeqCst) {
            return;
        }
        self.post(NotificationData::MediaStreamDidFail {
            reason: reason.to_owned(),
        });
        self.finish(Some(reason.to_owned()));
        // A push that cannot go on (the file unreadable) is given up.
        self.cancel_push();
        self.base.end();
    }

    /// [`Inner::fail`] from a connection event: the transfer is over at
    /// once (no later REPORT may finish it otherwise), while giving the
    /// push up and ending waits for the connection's lock to be free.
    fn fail_at_once(self: &Arc<Self>, reason: String) {
        if self.finished.load(Ordering::SeqCst) {
            return;
        }
        self.post(NotificationData::MediaStreamDidFail {
            reason: reason.clone(),
        });
        self.finish(Some(reason));
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let me = self.clone();
            rt.spawn(async move {
                me.cancel_push();
                me.base.end();
            });
        }
    }

    /// Gives up a push not written whole: its message ends with `#` (a
    /// chunk cut short, or an empty one; RFC 4975 §7.1), so the peer
    /// knows it was cancelled, not cut off. Called when the session
    /// deactivates the stream, before its BYE or re-INVITE leaves, while
    /// the connection is still up; at the end, the connection writes it
    /// before it closes.
    pub(super) fn cancel_push(&self) {
        if self.direction != TransferDirection::Send {
            return;
        }
        for t in lock(&self.tasks).drain(..) {
            t.abort();
        }
        let sending = lock(&self.sending).take();
        if let Some((conn, id)) = sending {
            conn.abort(&id);
        }
    }

    pub(super) fn end(&self) {
        // A receiving side's disk thread says how it ended: it may be
        // storing the last chunk (whose REPORT already went, so the
        // sender may have hung up) and must not be called a failure.
        let disk_says = lock(&self.disk)
            .take()
            .is_some_and(|tx| tx.send(DiskWork::Closed).is_ok());
        for t in lock(&self.tasks).drain(..) {
            t.abort();
        }
        self.cancel_push();
        if !disk_says && !self.finished.load(Ordering::SeqCst) {
            self.finish(Some(
                "the stream ended before the file was transferred".into(),
            ));
        }
        self.base.end();
    }
}
