//! The desktop-sharing handlers (the spec's IDesktopSharingHandler): what
//! consumes and produces the RFB bytes a [`super::DesktopSharingStream`]
//! carries. The stream hands its handler a [`HandlerLink`] once its MSRP
//! connection is up: the peer's bytes in order, a sender for ours, and
//! the way to fail.
//!
//! Back-pressure both ways: [`RfbSender::send`] waits while the MSRP
//! connection is behind, so a handler that reads a socket only as fast as
//! it can send stops reading it; the bytes a handler has not taken yet
//! are counted against the connection's read gate, so a handler that does
//! not keep up stops the connection's reading.
//!
//! Four handlers, as in the spec: [`ExternalVNCServerHandler`] (we share
//! the desktop of a VNC server we connect to), [`ExternalVNCViewerHandler`]
//! (a VNC viewer connects to a port of ours), and the internal viewer and
//! server handlers for an application that speaks RFB itself.

use crate::sync::lock;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::msrp::ReadGate;
use crate::notification::{NotificationCenter, NotificationData, SenderId};

/// How much of a VNC socket is read at once.
const SOCKET_READ: usize = 16 * 1024;

/// Pieces an internal handler's `send` keeps before it waits.
const INTERNAL_SLOTS: usize = 16;

/// Which end of RFB a handler is (the spec's `type`; `a=rfbsetup`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandlerKind {
    /// The VNC viewer.
    Active,
    /// The VNC server: the desktop being shared.
    Passive,
}

impl HandlerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            HandlerKind::Active => "active",
            HandlerKind::Passive => "passive",
        }
    }

    pub fn parse(s: &str) -> Option<HandlerKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "active" => Some(HandlerKind::Active),
            "passive" => Some(HandlerKind::Passive),
            _ => None,
        }
    }

    /// The peer's end when we are this one.
    pub fn opposite(self) -> HandlerKind {
        match self {
            HandlerKind::Active => HandlerKind::Passive,
            HandlerKind::Passive => HandlerKind::Active,
        }
    }
}

/// The peer's RFB bytes, in order (the spec's `incoming_queue`).
#[derive(Debug)]
pub struct RfbReceiver {
    pub(super) rx: mpsc::UnboundedReceiver<Bytes>,
    pub(super) gate: Arc<ReadGate>,
}

impl RfbReceiver {
    /// The next bytes; None once the stream is over.
    pub async fn recv(&mut self) -> Option<Bytes> {
        let data = self.rx.recv().await?;
        self.gate.release(data.len() as u64);
        Some(data)
    }
}

/// The stream is gone: nothing more can be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the desktop-sharing stream has ended")]
pub struct StreamClosed;

/// Our RFB bytes towards the peer (the spec's `outgoing_queue`).
#[derive(Debug, Clone)]
pub struct RfbSender {
    pub(super) tx: mpsc::Sender<Bytes>,
}

impl RfbSender {
    /// Queues `data`, waiting while the MSRP connection is behind.
    pub async fn send(&self, data: Bytes) -> Result<(), StreamClosed> {
        if data.is_empty() {
            return Ok(());
        }
        self.tx.send(data).await.map_err(|_| StreamClosed)
    }
}

/// What the stream does when its handler fails (context, reason).
pub(super) type OnFailure = Arc<dyn Fn(&str, &str) + Send + Sync>;

/// Posts as the handler and tells its stream when the handler fails.
#[derive(Clone)]
pub struct HandlerNotifier {
    pub(super) center: NotificationCenter,
    pub(super) sender: SenderId,
    pub(super) failed: OnFailure,
}

impl fmt::Debug for HandlerNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerNotifier")
            .field("sender", &self.sender)
            .finish()
    }
}

impl HandlerNotifier {
    /// The handler's sender id (`DesktopSharingStream::handler_sender`).
    pub fn sender(&self) -> SenderId {
        self.sender
    }

    pub fn post(&self, data: NotificationData) {
        self.center.post(self.sender, data);
    }

    /// DesktopSharingHandlerDidFail (`context`: connecting, reading,
    /// sending), then the stream fails.
    pub fn fail(&self, context: &str, reason: &str) {
        self.post(NotificationData::DesktopSharingHandlerDidFail {
            context: context.to_owned(),
            reason: reason.to_owned(),
        });
        (self.failed)(context, reason);
    }
}

/// What a handler gets when its stream starts.
#[derive(Debug)]
pub struct HandlerLink {
    pub incoming: RfbReceiver,
    pub outgoing: RfbSender,
    pub notifier: HandlerNotifier,
}

/// The spec's IDesktopSharingHandler.
pub trait DesktopSharingHandler: Send + Sync + fmt::Debug {
    /// Viewer (`active`) or server (`passive`).
    fn kind(&self) -> HandlerKind;

    /// The stream started: RFB flows through `link` until it ends. Must
    /// return at once (spawn what runs).
    fn initialize(&self, link: HandlerLink);

    /// The stream is ending: stop and close what the handler opened.
    fn end(&self);
}

/// The tasks a handler runs, stopped at `end` (their sockets close).
#[derive(Debug, Default)]
struct Tasks(Mutex<Vec<JoinHandle<()>>>);

impl Tasks {
    fn spawn(&self, f: impl std::future::Future<Output = ()> + Send + 'static) {
        lock(&self.0).push(tokio::spawn(f));
    }

    fn stop(&self) {
        for t in lock(&self.0).drain(..) {
            t.abort();
        }
    }
}

/// Moves bytes between `socket` and the stream until either side ends.
/// The socket closing or failing fails the handler; the stream ending
/// does not.
async fn relay(socket: TcpStream, link: HandlerLink, who: &'static str) {
    let HandlerLink {
        mut incoming,
        outgoing,
        notifier,
    } = link;
    let _ = socket.set_nodelay(true);
    let (mut rd, mut wr) = socket.into_split();
    let reading = async {
        let mut buf = vec![0u8; SOCKET_READ];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) => return Some(("reading", format!("the {who} closed the connection"))),
                Ok(n) => {
                    let data = Bytes::copy_from_slice(buf.get(..n).unwrap_or_default());
                    if outgoing.send(data).await.is_err() {
                        return None;
                    }
                }
                Err(e) => return Some(("reading", format!("from the {who}: {e}"))),
            }
        }
    };
    let writing = async {
        while let Some(data) = incoming.recv().await {
            if let Err(e) = wr.write_all(&data).await {
                return Some(("sending", format!("to the {who}: {e}")));
            }
        }
        None
    };
    let failure = tokio::select! {
        f = reading => f,
        f = writing => f,
    };
    if let Some((context, reason)) = failure {
        notifier.fail(context, &reason);
    }
}

/// Shares the desktop of a VNC server this handler connects to when the
/// stream starts (`passive`: we are the RFB server side).
#[derive(Debug)]
pub struct ExternalVNCServerHandler {
    address: String,
    connect_timeout: Duration,
    tasks: Tasks,
}

impl ExternalVNCServerHandler {
    /// `address` is HOST:PORT of the VNC server.
    pub fn new(address: impl Into<String>, connect_timeout: Duration) -> ExternalVNCServerHandler {
        ExternalVNCServerHandler {
            address: address.into(),
            connect_timeout,
            tasks: Tasks::default(),
        }
    }

    /// The spec's default `connect_timeout`, 3 s.
    pub fn with_default_timeout(address: impl Into<String>) -> ExternalVNCServerHandler {
        Self::new(address, Duration::from_secs(3))
    }

    pub fn address(&self) -> &str {
        &self.address
    }
}

impl DesktopSharingHandler for ExternalVNCServerHandler {
    fn kind(&self) -> HandlerKind {
        HandlerKind::Passive
    }

    fn initialize(&self, link: HandlerLink) {
        let address = self.address.clone();
        let limit = self.connect_timeout;
        self.tasks.spawn(async move {
            let connected = tokio::time::timeout(limit, TcpStream::connect(&address)).await;
            let socket = match connected {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    return link
                        .notifier
                        .fail("connecting", &format!("to the VNC server {address}: {e}"))
                }
                Err(_) => {
                    return link.notifier.fail(
                        "connecting",
                        &format!("to the VNC server {address}: timed out after {limit:?}"),
                    )
                }
            };
            relay(socket, link, "VNC server").await;
        });
    }

    fn end(&self) {
        self.tasks.stop();
    }
}

/// A port a VNC viewer connects to (`active`: we are the RFB viewer
/// side). One viewer only: the port closes once it is taken.
#[derive(Debug)]
pub struct ExternalVNCViewerHandler {
    listener: Mutex<Option<std::net::TcpListener>>,
    address: SocketAddr,
    connect_timeout: Option<Duration>,
    tasks: Tasks,
}

impl ExternalVNCViewerHandler {
    /// Listens on `address` now (port 0: any free one; see
    /// [`ExternalVNCViewerHandler::address`]).
    pub fn new(address: SocketAddr) -> std::io::Result<ExternalVNCViewerHandler> {
        let listener = std::net::TcpListener::bind(address)?;
        listener.set_nonblocking(true)?;
        Ok(ExternalVNCViewerHandler {
            address: listener.local_addr()?,
            listener: Mutex::new(Some(listener)),
            connect_timeout: None,
            tasks: Tasks::default(),
        })
    }

    /// How long, once the stream started, the viewer has to connect
    /// before the handler fails. The spec says 3 s; the default here is
    /// no limit, since a person starts the viewer after reading the port.
    pub fn with_connect_timeout(mut self, limit: Duration) -> ExternalVNCViewerHandler {
        self.connect_timeout = Some(limit);
        self
    }

    /// Where the viewer connects.
    pub fn address(&self) -> SocketAddr {
        self.address
    }
}

impl DesktopSharingHandler for ExternalVNCViewerHandler {
    fn kind(&self) -> HandlerKind {
        HandlerKind::Active
    }

    fn initialize(&self, link: HandlerLink) {
        let Some(listener) = lock(&self.listener).take() else {
            return link
                .notifier
                .fail("connecting", "the handler was already used");
        };
        let limit = self.connect_timeout;
        self.tasks.spawn(async move {
            let listener = match tokio::net::TcpListener::from_std(listener) {
                Ok(l) => l,
                Err(e) => return link.notifier.fail("connecting", &e.to_string()),
            };
            let accepted = match limit {
                Some(limit) => tokio::time::timeout(limit, listener.accept())
                    .await
                    .unwrap_or_else(|_| {
                        Err(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            format!("no VNC viewer connected in {limit:?}"),
                        ))
                    }),
                None => listener.accept().await,
            };
            // One viewer: later ones are refused.
            drop(listener);
            match accepted {
                Ok((socket, _)) => relay(socket, link, "VNC viewer").await,
                Err(e) => link.notifier.fail("connecting", &e.to_string()),
            }
        });
    }

    fn end(&self) {
        lock(&self.listener).take();
        self.tasks.stop();
    }
}

/// What the two internal handlers share: the application's bytes wait in
/// a bounded queue until the stream takes them; the peer's bytes are
/// posted as DesktopSharingStreamGotData and, when the application took
/// [`InternalVNCViewerHandler::receiver`], also handed to it in order.
#[derive(Debug)]
struct Internal {
    kind: HandlerKind,
    tx: mpsc::Sender<Bytes>,
    rx: Mutex<Option<mpsc::Receiver<Bytes>>>,
    to_app: Mutex<Option<mpsc::Sender<Bytes>>>,
    tasks: Tasks,
}

impl Internal {
    fn new(kind: HandlerKind) -> Internal {
        let (tx, rx) = mpsc::channel(INTERNAL_SLOTS);
        Internal {
            kind,
            tx,
            rx: Mutex::new(Some(rx)),
            to_app: Mutex::new(None),
            tasks: Tasks::default(),
        }
    }

    async fn send(&self, data: Bytes) -> Result<(), StreamClosed> {
        if data.is_empty() {
            return Ok(());
        }
        self.tx.send(data).await.map_err(|_| StreamClosed)
    }

    fn receiver(&self) -> mpsc::Receiver<Bytes> {
        let (tx, rx) = mpsc::channel(INTERNAL_SLOTS);
        *lock(&self.to_app) = Some(tx);
        rx
    }

    fn initialize(&self, link: HandlerLink) {
        let HandlerLink {
            mut incoming,
            outgoing,
            notifier,
        } = link;
        if let Some(mut rx) = lock(&self.rx).take() {
            self.tasks.spawn(async move {
                while let Some(data) = rx.recv().await {
                    if outgoing.send(data).await.is_err() {
                        return;
                    }
                }
            });
        }
        let to_app = lock(&self.to_app).take();
        self.tasks.spawn(async move {
            while let Some(data) = incoming.recv().await {
                notifier.post(NotificationData::DesktopSharingStreamGotData { data: data.clone() });
                if let Some(app) = &to_app {
                    // The application stopped reading: notifications go on.
                    let _ = app.send(data).await;
                }
            }
        });
    }

    fn end(&self) {
        lock(&self.rx).take();
        lock(&self.to_app).take();
        self.tasks.stop();
    }
}

macro_rules! internal_handler {
    ($(#[$doc:meta])* $name:ident, $kind:expr) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name(Internal);

        impl $name {
            pub fn new() -> $name {
                $name(Internal::new($kind))
            }

            /// Sends RFB bytes to the peer, in order; waits while the
            /// connection is behind (and, before the stream starts, once
            /// a few pieces are waiting).
            pub async fn send(&self, data: impl Into<Bytes>) -> Result<(), StreamClosed> {
                self.0.send(data.into()).await
            }

            /// The peer's bytes, in order and with back-pressure, besides
            /// the DesktopSharingStreamGotData notifications (which an
            /// observer that falls behind misses). Take it before the
            /// stream starts; a receiver not read stalls the stream.
            pub fn receiver(&self) -> mpsc::Receiver<Bytes> {
                self.0.receiver()
            }
        }

        impl Default for $name {
            fn default() -> $name {
                $name::new()
            }
        }

        impl DesktopSharingHandler for $name {
            fn kind(&self) -> HandlerKind {
                self.0.kind
            }

            fn initialize(&self, link: HandlerLink) {
                self.0.initialize(link)
            }

            fn end(&self) {
                self.0.end()
            }
        }
    };
}

internal_handler!(
    /// A VNC viewer inside the application (`active`).
    InternalVNCViewerHandler,
    HandlerKind::Active
);
internal_handler!(
    /// A VNC server inside the application (`passive`).
    InternalVNCServerHandler,
    HandlerKind::Passive
);
