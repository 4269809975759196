//! DesktopSharingStream: RFB (VNC) carried over MSRP, as the original
//! SDK and Blink do it. There is no standard: `m=application ...
//! TCP/MSRP *` (or TCP/TLS/MSRP) with `a=accept-types:application/x-rfb`,
//! RFC 6135's `a=setup` for who connects, and `a=rfbsetup:active|passive`
//! for who views (python3-sipsimple and Blink send it; `active` is the
//! viewer). An offer without `a=rfbsetup` is read the way the original
//! SDK wrote it, from `a=setup`, and otherwise as coming from a viewer.
//!
//! Every piece of RFB is one MSRP SEND of at most [`RFB_MESSAGE_SIZE`]
//! bytes, without reports (RFB over TCP has none to give): at most one
//! chunk each, even through a relay, so the peer gets whole messages in
//! the order they were sent (the session interleaves the chunks of
//! several messages). At most [`MAX_QUEUED`] wait to be written; beyond,
//! the handler's `send` waits, so a VNC socket is read no faster than
//! MSRP carries it. The handler's unread bytes hold the connection's read
//! gate, so a slow viewer stops the reading instead of growing memory.
//!
//! Through a relay, TCP's back-pressure ends at the relay, which drops
//! the connection when its write queue overflows (Kamailio does) and
//! frames with it. There, every message asks for a success REPORT and
//! the window file transfer uses too (`relay_window`) bounds the bytes
//! ahead of the REPORTs: [`RELAY_WINDOW`], only [`RELAY_OPENING_WINDOW`]
//! until a REPORT shows every relay connected onward (a relay that is
//! still connecting drops what does not fit its queue). A REPORT that
//! overtakes an earlier message's means a relay lost that one: the
//! stream fails.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use bytes::Bytes;
use msrp_proto::headers::FailureReport;
use msrp_proto::SessionEvent;
use sdp::{Attribute, Media, SessionDescription};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::base::{type_accepted, MsrpStreamBase, RemoteMedia, RELAY_CHUNK_SIZE};
use super::relay_window::{RelayWindow, Reported};
pub use super::relay_window::{RELAY_OPENING_WINDOW, RELAY_WINDOW};
use super::vnc::{
    DesktopSharingHandler, HandlerKind, HandlerLink, HandlerNotifier, RfbReceiver, RfbSender,
};
use crate::msrp::{new_message_id, ConnectionEvent, ReadGate};
use crate::notification::{NotificationData, SenderId};
use crate::streams::interface::{
    BoxFuture, MediaStream, MediaStreamType, StreamContext, StreamDirection, StreamError,
};
use crate::streams::settings::StreamSettings;
use crate::sync::lock;

/// The MIME type of RFB over MSRP.
pub const RFB_CONTENT_TYPE: &str = "application/x-rfb";

/// Bytes of RFB per MSRP message: the relay chunk size, so that a message
/// is one chunk on any path.
pub const RFB_MESSAGE_SIZE: usize = RELAY_CHUNK_SIZE as usize;

/// Messages waiting to be written before the handler's `send` waits.
pub const MAX_QUEUED: usize = 32;

/// The peer's bytes the handler has not taken before reading pauses.
pub const INCOMING_BUFFER: u64 = 1 << 20;

/// Pieces between the handler's `send` and the MSRP queue.
const OUTGOING_SLOTS: usize = 8;

/// Why a handler cannot be set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DesktopSharingError {
    #[error("this stream needs a {expected} handler, not a {given} one")]
    WrongKind {
        expected: &'static str,
        given: &'static str,
    },
    #[error("the stream has started: its handler can no longer change")]
    Started,
}

struct Inner {
    base: MsrpStreamBase,
    kind: HandlerKind,
    handler: Mutex<Option<Arc<dyn DesktopSharingHandler>>>,
    handler_sender: OnceLock<SenderId>,
    gate: Arc<ReadGate>,
    /// The peer's bytes towards the handler; dropped when the connection
    /// or the stream ends, which ends the handler's reading.
    incoming: Mutex<Option<mpsc::UnboundedSender<Bytes>>>,
    pump: Mutex<Option<JoinHandle<()>>>,
    window: Arc<RelayWindow>,
    started: AtomicBool,
    ended: AtomicBool,
    failed: AtomicBool,
}

/// The spec's DesktopSharingStream.
pub struct DesktopSharingStream {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for DesktopSharingStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DesktopSharingStream")
            .field("kind", &self.inner.kind)
            .field("base", &self.inner.base)
            .finish()
    }
}

impl DesktopSharingStream {
    /// A stream to offer, for a session of the account `settings` were
    /// made for, with `handler` for the RFB bytes: an
    /// ExternalVNCServerHandler to share a desktop, an
    /// ExternalVNCViewerHandler to ask the peer to share one.
    pub fn new(
        settings: &StreamSettings,
        handler: Arc<dyn DesktopSharingHandler>,
    ) -> DesktopSharingStream {
        let s = Self::make(settings, handler.kind(), None);
        *lock(&s.inner.handler) = Some(handler);
        s
    }

    fn make(
        settings: &StreamSettings,
        kind: HandlerKind,
        offer: Option<RemoteMedia>,
    ) -> DesktopSharingStream {
        let mut base = MsrpStreamBase::new(
            "application",
            vec![RFB_CONTENT_TYPE.into()],
            Vec::new(),
            settings,
            offer,
        );
        base.chunk_size = Some(RFB_MESSAGE_SIZE as u64);
        DesktopSharingStream {
            inner: Arc::new(Inner {
                base,
                kind,
                handler: Mutex::new(None),
                handler_sender: OnceLock::new(),
                gate: ReadGate::new(INCOMING_BUFFER),
                incoming: Mutex::new(None),
                pump: Mutex::new(None),
                window: Arc::default(),
                started: AtomicBool::new(false),
                ended: AtomicBool::new(false),
                failed: AtomicBool::new(false),
            }),
        }
    }

    /// The MSRP base (URIs, the peer's media, connection state).
    pub fn base(&self) -> &MsrpStreamBase {
        &self.inner.base
    }

    /// Our end of RFB: what the handler must be (for an incoming stream,
    /// the opposite of what the peer offered to be).
    pub fn kind(&self) -> HandlerKind {
        self.inner.kind
    }

    pub fn handler(&self) -> Option<Arc<dyn DesktopSharingHandler>> {
        lock(&self.inner.handler).clone()
    }

    /// Sets the handler; an incoming stream needs one before it starts.
    /// It must be of the stream's kind.
    pub fn set_handler(
        &self,
        handler: Arc<dyn DesktopSharingHandler>,
    ) -> Result<(), DesktopSharingError> {
        if handler.kind() != self.inner.kind {
            return Err(DesktopSharingError::WrongKind {
                expected: self.inner.kind.as_str(),
                given: handler.kind().as_str(),
            });
        }
        if self.inner.started.load(Ordering::SeqCst) {
            return Err(DesktopSharingError::Started);
        }
        *lock(&self.inner.handler) = Some(handler);
        Ok(())
    }

    /// Who the handler's notifications (DesktopSharingHandlerDidFail,
    /// DesktopSharingStreamGotData) come from: known from `initialize`
    /// on, before any RFB moves.
    pub fn handler_sender(&self) -> Option<SenderId> {
        self.inner.handler_sender.get().copied()
    }
}

impl Inner {
    fn post(&self, data: NotificationData) {
        if let Some(c) = self.base.context() {
            c.center.post(c.sender, data);
        }
    }

    /// The connection's events (under its lock: nothing here calls back
    /// into it).
    fn on_event(&self, ev: ConnectionEvent) {
        match ev {
            ConnectionEvent::Session(SessionEvent::MessageReceived {
                content_type, body, ..
            }) => {
                // Empty SENDs bind the connection or keep it alive;
                // anything but RFB is no business of the handler's.
                let rfb = content_type
                    .as_deref()
                    .is_some_and(|t| type_accepted(&[RFB_CONTENT_TYPE.into()], t));
                if body.is_empty() || !rfb {
                    return;
                }
                if let Some(tx) = lock(&self.incoming).as_ref() {
                    // Held before it can be taken: the handler may release
                    // it on another thread before `send` returns here.
                    let n = body.len() as u64;
                    self.gate.hold(n);
                    if tx.send(Bytes::from(body)).is_err() {
                        self.gate.release(n);
                    }
                }
            }
            ConnectionEvent::Session(SessionEvent::MessageDelivered { message_id, .. }) => {
                if let Reported::Lost { bytes, .. } = self.window.reported_message(&message_id) {
                    // The viewer would wait for those bytes for ever.
                    self.fail_lost(&format!(
                        "a relay lost {bytes} bytes of RFB: a later message was REPORTed first"
                    ));
                }
            }
            ConnectionEvent::Session(SessionEvent::MessageFailed {
                message_id,
                status,
                reason,
                ..
            }) => {
                if self.window.reported_message(&message_id) != Reported::NotOurs {
                    self.fail_lost(&format!(
                        "the peer did not take RFB data: {status} {}",
                        reason.unwrap_or_default()
                    ));
                }
            }
            ConnectionEvent::Closed { .. } => {
                lock(&self.incoming).take();
            }
            ConnectionEvent::Session(_) => {}
        }
    }

    /// RFB bytes were lost: the two ends are out of step for good.
    fn fail_lost(&self, reason: &str) {
        if !self.failed.swap(true, Ordering::SeqCst) {
            lock(&self.incoming).take();
            self.post(NotificationData::MediaStreamDidFail {
                reason: reason.to_owned(),
            });
        }
    }

    /// The handler failed: so does the stream (the session stays up for
    /// the application to end). What the handler sent before still goes
    /// out (a VNC server's last bytes before it closed): the pump ends
    /// once the handler's sender is gone.
    fn handler_failed(&self, context: &str, reason: &str) {
        if self.ended.load(Ordering::SeqCst) || self.failed.swap(true, Ordering::SeqCst) {
            return;
        }
        lock(&self.incoming).take();
        self.post(NotificationData::MediaStreamDidFail {
            reason: format!("desktop-sharing handler failed {context}: {reason}"),
        });
    }

    /// Waits for the connection, gives the handler its link, then moves
    /// its bytes into MSRP messages until either side ends.
    async fn pump(
        self: Arc<Self>,
        handler: Arc<dyn DesktopSharingHandler>,
        incoming: mpsc::UnboundedReceiver<Bytes>,
        notifier: HandlerNotifier,
    ) {
        let Some(conn) = self.base.connection().await else {
            return;
        };
        conn.set_read_gate(self.gate.clone());
        let (tx, mut rx) = mpsc::channel::<Bytes>(OUTGOING_SLOTS);
        handler.initialize(HandlerLink {
            incoming: RfbReceiver {
                rx: incoming,
                gate: self.gate.clone(),
            },
            outgoing: RfbSender { tx },
            notifier,
        });
        let relayed = self.base.relayed();
        let window = self.window.clone();
        // Drop our strong hold while waiting: the stream may go.
        let weak = Arc::downgrade(&self);
        drop(self);
        while let Some(data) = rx.recv().await {
            for piece in data.chunks(RFB_MESSAGE_SIZE) {
                conn.wait_queued_below(MAX_QUEUED).await;
                if relayed {
                    window
                        .wait_room(piece.len() as u64, &|| conn.is_closed())
                        .await;
                }
                if weak
                    .upgrade()
                    .is_none_or(|me| me.ended.load(Ordering::SeqCst))
                {
                    return;
                }
                let id = new_message_id();
                if relayed {
                    window.add_message(&id, piece.len() as u64);
                }
                let sent = conn.send(
                    &id,
                    RFB_CONTENT_TYPE,
                    data.slice_ref(piece),
                    relayed,
                    FailureReport::No,
                );
                if sent.is_err() {
                    // Closed: the base reports it.
                    return;
                }
            }
        }
    }
}

impl MediaStream for DesktopSharingStream {
    fn stream_type(&self) -> &'static str {
        "desktop-sharing"
    }

    fn get_local_media(
        &self,
        _remote: Option<(&SessionDescription, usize)>,
    ) -> Result<Media, StreamError> {
        let mut m = self.inner.base.get_local_media()?;
        m.attributes
            .push(Attribute::new("rfbsetup", self.inner.kind.as_str()));
        Ok(m)
    }

    fn initialize(
        &self,
        context: StreamContext,
        direction: StreamDirection,
    ) -> BoxFuture<'_, Result<(), StreamError>> {
        Box::pin(async move {
            let _ = self.inner.handler_sender.set(context.center.new_sender());
            self.inner.base.initialize(context, direction).await
        })
    }

    fn start(
        &self,
        _local: &SessionDescription,
        remote: &SessionDescription,
        index: usize,
    ) -> Result<(), StreamError> {
        let inner = &self.inner;
        if inner.started.load(Ordering::SeqCst) {
            // A re-INVITE that kept the stream.
            return inner.base.start(remote, index, Arc::new(|_| {}));
        }
        let Some(handler) = self.handler() else {
            let reason = "no handler was set for the desktop-sharing stream".to_owned();
            inner.failed.store(true, Ordering::SeqCst);
            inner.post(NotificationData::MediaStreamDidFail {
                reason: reason.clone(),
            });
            return Err(reason.into());
        };
        let (Some(context), Some(sender)) = (inner.base.context(), self.handler_sender()) else {
            return Err("the desktop-sharing stream is not initialized".into());
        };
        let (tx, rx) = mpsc::unbounded_channel();
        *lock(&inner.incoming) = Some(tx);
        let weak: Weak<Inner> = Arc::downgrade(inner);
        inner.base.start(
            remote,
            index,
            Arc::new(move |ev| {
                if let Some(me) = weak.upgrade() {
                    me.on_event(ev);
                }
            }),
        )?;
        inner.started.store(true, Ordering::SeqCst);
        let weak: Weak<Inner> = Arc::downgrade(inner);
        let notifier = HandlerNotifier {
            center: context.center.clone(),
            sender,
            failed: Arc::new(move |context: &str, reason: &str| {
                if let Some(me) = weak.upgrade() {
                    me.handler_failed(context, reason);
                }
            }),
        };
        let task = tokio::spawn(inner.clone().pump(handler, rx, notifier));
        *lock(&inner.pump) = Some(task);
        Ok(())
    }

    fn validate_update(&self, remote: &SessionDescription, index: usize) -> bool {
        // Neither the path nor who views may change under a session.
        let Ok(new) = RemoteMedia::from_sdp(remote, index) else {
            return false;
        };
        let same_role = remote
            .media
            .get(index)
            .and_then(peer_kind)
            .is_none_or(|k| k == self.inner.kind.opposite());
        same_role && self.inner.base.path_update_allowed(&new)
    }

    fn update(
        &self,
        _local: &SessionDescription,
        remote: &SessionDescription,
        index: usize,
    ) -> Result<(), StreamError> {
        self.inner.base.update_remote(remote, index)
    }

    fn deactivate(&self) {
        self.inner.base.deactivate();
    }

    fn end(&self) {
        let inner = &self.inner;
        if inner.ended.swap(true, Ordering::SeqCst) {
            return;
        }
        if let Some(h) = self.handler() {
            h.end();
        }
        lock(&inner.incoming).take();
        if let Some(p) = lock(&inner.pump).take() {
            p.abort();
        }
        inner.base.end();
    }
}

/// The peer's end of RFB as its m-line says: `a=rfbsetup`, else the
/// original SDK's `a=setup` (which it used for this), else None.
fn peer_kind(m: &Media) -> Option<HandlerKind> {
    m.attribute("rfbsetup")
        .or_else(|| m.attribute("setup"))
        .and_then(HandlerKind::parse)
}

/// The registry's desktop-sharing type: takes an offered `m=application`
/// over TCP/MSRP or TCP/TLS/MSRP that accepts `application/x-rfb`. The
/// stream it makes has no handler: the application sets one of
/// [`DesktopSharingStream::kind`] before accepting.
#[derive(Debug, Default)]
pub struct DesktopSharingStreamType;

impl MediaStreamType for DesktopSharingStreamType {
    fn type_name(&self) -> &'static str {
        "desktop-sharing"
    }

    /// Below chat and file transfer, as in the original SDK.
    fn priority(&self) -> i32 {
        1
    }

    fn new_from_sdp<'a>(
        &'a self,
        settings: &'a StreamSettings,
        remote: &'a SessionDescription,
        index: usize,
    ) -> BoxFuture<'a, Option<Arc<dyn MediaStream>>> {
        Box::pin(async move {
            let m = remote.media.get(index)?;
            if !super::base::is_offered_msrp(m, "application") {
                return None;
            }
            let offer = RemoteMedia::from_sdp(remote, index).ok()?;
            let rfb = offer
                .accept_types
                .iter()
                .any(|t| t.eq_ignore_ascii_case(RFB_CONTENT_TYPE));
            if !rfb {
                return None;
            }
            // python3-sipsimple's default: an offer that does not say is
            // from a viewer.
            let theirs = peer_kind(m).unwrap_or(HandlerKind::Active);
            Some(Arc::new(DesktopSharingStream::make(
                settings,
                theirs.opposite(),
                Some(offer),
            )) as Arc<dyn MediaStream>)
        })
    }
}
