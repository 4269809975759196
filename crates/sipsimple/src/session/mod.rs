//! Sessions (the spec's `sipsimple.session`): `Session` drives one
//! `sip_proto::invite::InviteSession` over the engine in a task of its
//! own and negotiates its streams, which it knows only as
//! [`MediaStream`]s; `SessionManager` turns incoming INVITEs into
//! sessions with streams from the registry and routes the requests of a
//! dialog to its session.
//!
//! `task.rs` is the I/O and event loop; `commands.rs` carries out the
//! API's commands; `negotiation.rs` the SDP offer/answer with the
//! streams, proposals and hold; `manager.rs` makes sessions and routes
//! requests to them; `account.rs` is the account a session belongs to.

mod account;
mod commands;
mod manager;
mod negotiation;
mod requests;
mod task;

pub(crate) use account::recipient;
pub use account::SessionAccount;
pub use manager::{SessionLimits, SessionManager};
pub(crate) use requests::SessionRequests;

use crate::sync::lock;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tokio::sync::{mpsc, oneshot};

use crate::notification::SenderId;
use crate::streams::audio::AudioStream;
use crate::streams::MediaStream;

type Reply = oneshot::Sender<Result<(), SessionError>>;

/// The spec's originator constants: the `originator` of session, stream
/// and transaction notifications.
pub const LOCAL: &str = "local";
pub const REMOTE: &str = "remote";

/// The spec's session states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    Null,
    Outgoing,
    Incoming,
    Accepting,
    Connected,
    SendingProposal,
    ReceivedProposal,
    Terminating,
    Terminated,
}

/// Why a method could not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("{action} is not possible in state {state:?}")]
    State {
        action: &'static str,
        state: SessionState,
    },
    #[error("the session has ended")]
    Gone,
    #[error("{0}")]
    Failed(String),
}

pub(crate) struct Shared {
    pub(crate) sender: SenderId,
    pub(crate) state: Mutex<SessionState>,
    pub(crate) outgoing: bool,
    pub(crate) account: SessionAccount,
    /// Set by the first request in or out (and by failover).
    pub(crate) transport: Mutex<Option<&'static str>>,
    /// Our From (outgoing) or To (incoming) header, with our tag.
    pub(crate) local_identity: Mutex<String>,
    pub(crate) remote_identity: Mutex<String>,
    pub(crate) remote_user_agent: Mutex<Option<String>>,
    pub(crate) start_time: Mutex<Option<SystemTime>>,
    pub(crate) stop_time: Mutex<Option<SystemTime>>,
    /// The active streams, in m-line order.
    pub(crate) streams: Mutex<Vec<Arc<dyn MediaStream>>>,
    /// The streams of the proposal in progress (the initial offer of an
    /// incoming session included).
    pub(crate) proposed: Mutex<Option<Vec<Arc<dyn MediaStream>>>>,
    /// A new session's inputs until `connect` starts its task.
    pub(crate) pending: Mutex<Option<Box<Pending>>>,
    /// The sender id each stream was initialized with, so that a
    /// stream's MediaStreamDidFail finds its session.
    pub(crate) stream_senders: Mutex<Vec<(SenderId, std::sync::Weak<dyn MediaStream>)>>,
    /// How many requests of the peer the session still holds an answer
    /// path for (see [`Session::open_server_transactions`]).
    pub(crate) server_transactions: std::sync::atomic::AtomicUsize,
}

pub(crate) struct Pending {
    pub(crate) manager: SessionManager,
    pub(crate) inputs: mpsc::Receiver<task::Input>,
}

impl Shared {
    pub(crate) fn new(
        sender: SenderId,
        account: SessionAccount,
        outgoing: bool,
        state: SessionState,
        local_identity: String,
        remote_identity: String,
    ) -> Shared {
        Shared {
            sender,
            state: Mutex::new(state),
            outgoing,
            account,
            transport: Mutex::new(None),
            local_identity: Mutex::new(local_identity),
            remote_identity: Mutex::new(remote_identity),
            remote_user_agent: Mutex::new(None),
            start_time: Mutex::new(None),
            stop_time: Mutex::new(None),
            streams: Mutex::new(Vec::new()),
            proposed: Mutex::new(None),
            pending: Mutex::new(None),
            stream_senders: Mutex::new(Vec::new()),
            server_transactions: Default::default(),
        }
    }
}

/// Commands from the API to the session task.
pub(crate) enum Command {
    Ring(Reply),
    Accept(Vec<Arc<dyn MediaStream>>, Reply),
    Reject(u16, String, Reply),
    End(Reply),
    Hold(bool, Reply),
    /// A re-INVITE offering the streams as they are now (a stream's
    /// local media changed), now or once one can be sent.
    Renew(Reply),
    AddStream(Arc<dyn MediaStream>, Reply),
    RemoveStream(Arc<dyn MediaStream>, Reply),
    AcceptProposal(Vec<Arc<dyn MediaStream>>, Reply),
    RejectProposal(u16, String, Reply),
    CancelProposal(Reply),
}

/// One call. Cloning shares it.
#[derive(Clone)]
pub struct Session {
    pub(crate) shared: Arc<Shared>,
    pub(crate) commands: mpsc::Sender<task::Input>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("state", &self.state())
            .field("remote", &*lock(&self.shared.remote_identity))
            .finish()
    }
}

impl Session {
    /// A new outgoing session of `account` in the Null state (the
    /// spec's `Session(account)`); `connect` calls.
    pub fn new(manager: &SessionManager, account: impl Into<SessionAccount>) -> Session {
        let account = account.into();
        let local = account
            .uri()
            .map_or_else(|| account.id(), |u| u.to_string());
        let shared = Arc::new(Shared::new(
            manager.new_sender(),
            account,
            true,
            SessionState::Null,
            local,
            String::new(),
        ));
        let (commands, inputs) = mpsc::channel(64);
        *lock(&shared.pending) = Some(Box::new(Pending {
            manager: manager.clone(),
            inputs,
        }));
        Session { shared, commands }
    }

    /// Calls `to` (a SIP URI), trying `routes` in order until one takes
    /// the INVITE, and offers `streams` (initialized first). Posts
    /// SIPSessionNewOutgoing, then the call's progress. Only in the Null
    /// state; on an error returned here the session is Terminated.
    /// `SessionManager::connect` looks the routes up (RFC 3263) first.
    pub async fn connect(
        &self,
        to: &str,
        routes: Vec<crate::lookup::Route>,
        streams: Vec<Arc<dyn MediaStream>>,
    ) -> Result<(), SessionError> {
        let pending = {
            let mut state = lock(&self.shared.state);
            if *state != SessionState::Null {
                return Err(SessionError::State {
                    action: "connect",
                    state: *state,
                });
            }
            *state = SessionState::Outgoing;
            lock(&self.shared.pending).take()
        };
        let Some(pending) = pending else {
            return Err(SessionError::Gone);
        };
        let Pending { manager, inputs } = *pending;
        let started = manager
            .start_outgoing(self.clone(), inputs, to, routes, streams)
            .await;
        if started.is_err() {
            *lock(&self.shared.state) = SessionState::Terminated;
        }
        started
    }

    /// The sender id of this session's notifications.
    pub fn sender(&self) -> SenderId {
        self.shared.sender
    }

    pub fn state(&self) -> SessionState {
        *lock(&self.shared.state)
    }

    /// "outgoing" or "incoming".
    pub fn direction(&self) -> &'static str {
        if self.shared.outgoing {
            "outgoing"
        } else {
            "incoming"
        }
    }

    /// Our From (outgoing) or To (incoming) header: display name, URI
    /// and our tag.
    pub fn local_identity(&self) -> String {
        lock(&self.shared.local_identity).clone()
    }

    /// The peer's To (outgoing; with its tag once it answered) or From
    /// (incoming) header.
    pub fn remote_identity(&self) -> String {
        lock(&self.shared.remote_identity).clone()
    }

    pub fn remote_user_agent(&self) -> Option<String> {
        lock(&self.shared.remote_user_agent).clone()
    }

    pub fn start_time(&self) -> Option<SystemTime> {
        *lock(&self.shared.start_time)
    }

    pub fn stop_time(&self) -> Option<SystemTime> {
        *lock(&self.shared.stop_time)
    }

    /// The account the session belongs to.
    pub fn account(&self) -> &SessionAccount {
        &self.shared.account
    }

    /// "udp", "tcp" or "tls"; None before `connect`.
    pub fn transport(&self) -> Option<&'static str> {
        *lock(&self.shared.transport)
    }

    /// The active streams.
    pub fn streams(&self) -> Vec<Arc<dyn MediaStream>> {
        lock(&self.shared.streams).clone()
    }

    /// The streams of the proposal in progress, if any.
    pub fn proposed_streams(&self) -> Option<Vec<Arc<dyn MediaStream>>> {
        lock(&self.shared.proposed).clone()
    }

    /// The first active audio stream.
    pub fn audio_stream(&self) -> Option<Arc<AudioStream>> {
        self.streams()
            .into_iter()
            .find_map(|s| s.downcast::<AudioStream>())
    }

    async fn command(
        &self,
        action: &'static str,
        make: impl FnOnce(oneshot::Sender<Result<(), SessionError>>) -> Command,
    ) -> Result<(), SessionError> {
        // Before connect no task reads the commands.
        let state = self.state();
        if state == SessionState::Null {
            return Err(SessionError::State { action, state });
        }
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(task::Input::Command(make(tx)))
            .await
            .map_err(|_| SessionError::Gone)?;
        rx.await.map_err(|_| SessionError::Gone)?
    }

    /// Sends 180 Ringing on an incoming session.
    pub async fn send_ring_indication(&self) -> Result<(), SessionError> {
        self.command("send_ring_indication", Command::Ring).await
    }

    /// Accepts an incoming session with `streams`: proposed streams, or
    /// streams of the application's own that take the place of a
    /// proposed stream of the same type (to choose codecs or a source).
    /// The m-lines no stream takes are refused (port 0).
    pub async fn accept(&self, streams: Vec<Arc<dyn MediaStream>>) -> Result<(), SessionError> {
        self.command("accept", |tx| Command::Accept(streams, tx))
            .await
    }

    /// Accepts the peer's proposal with `streams` (chosen as in `accept`).
    pub async fn accept_proposal(
        &self,
        streams: Vec<Arc<dyn MediaStream>>,
    ) -> Result<(), SessionError> {
        self.command("accept_proposal", |tx| Command::AcceptProposal(streams, tx))
            .await
    }

    /// Refuses the peer's proposal (488 by default).
    pub async fn reject_proposal(
        &self,
        code: u16,
        reason: Option<&str>,
    ) -> Result<(), SessionError> {
        let reason = reason.unwrap_or(if code == 488 {
            "Not Acceptable Here"
        } else {
            "Rejected"
        });
        self.command("reject_proposal", |tx| {
            Command::RejectProposal(code, reason.to_owned(), tx)
        })
        .await
    }

    /// Proposes `stream` to the peer (a re-INVITE adding its m-line).
    pub async fn add_stream(&self, stream: Arc<dyn MediaStream>) -> Result<(), SessionError> {
        self.command("add_stream", |tx| Command::AddStream(stream, tx))
            .await
    }

    /// Ends `stream` and tells the peer (its m-line goes to port 0). The
    /// stream is removed even if the peer refuses the re-INVITE.
    pub async fn remove_stream(&self, stream: Arc<dyn MediaStream>) -> Result<(), SessionError> {
        self.command("remove_stream", |tx| Command::RemoveStream(stream, tx))
            .await
    }

    /// Withdraws our proposal (CANCEL of its re-INVITE);
    /// SIPSessionGotRejectProposal follows with 487.
    pub async fn cancel_proposal(&self) -> Result<(), SessionError> {
        self.command("cancel_proposal", Command::CancelProposal)
            .await
    }

    /// Refuses an incoming session (603 Decline by default).
    pub async fn reject(&self, code: u16, reason: Option<&str>) -> Result<(), SessionError> {
        let reason = reason.unwrap_or(match code {
            486 => "Busy Here",
            488 => "Not Acceptable Here",
            603 => "Decline",
            _ => "Rejected",
        });
        self.command("reject", |tx| Command::Reject(code, reason.to_owned(), tx))
            .await
    }

    /// Puts the streams that support hold on hold: a re-INVITE offering
    /// sendonly (RFC 3264 §8.4), now or as soon as one can be sent.
    /// SIPSessionDidChangeHoldState follows once it is accepted.
    pub async fn hold(&self) -> Result<(), SessionError> {
        self.command("hold", |tx| Command::Hold(true, tx)).await
    }

    /// Takes the peer off hold (a re-INVITE offering sendrecv).
    pub async fn unhold(&self) -> Result<(), SessionError> {
        self.command("unhold", |tx| Command::Hold(false, tx)).await
    }

    /// Offers the streams as they are now in a re-INVITE (now, or once
    /// the exchange under way is over): a stream's local media changed,
    /// e.g. its `a=path` (its relay renewed the binding under a new path)
    /// or the direction of a chat ([`ChatStream::set_direction`](crate::streams::msrp::ChatStream::set_direction)).
    pub async fn renew_offer(&self) -> Result<(), SessionError> {
        self.command("renew", Command::Renew).await
    }

    /// A stream is held by either side.
    pub fn on_hold(&self) -> bool {
        self.streams().iter().any(|s| s.on_hold())
    }

    /// Ends the session whatever its state: BYE, CANCEL or a refusal;
    /// a session never connected just becomes Terminated.
    pub async fn end(&self) -> Result<(), SessionError> {
        {
            let mut state = lock(&self.shared.state);
            if *state == SessionState::Null {
                *state = SessionState::Terminated;
                lock(&self.shared.pending).take();
                return Ok(());
            }
        }
        self.command("end", Command::End).await
    }
}

/// How long a failed stream waits for the peer's BYE before the session
/// drops it (see [`Session::drop_failed_stream`]).
const FAILED_STREAM_GRACE: std::time::Duration = std::time::Duration::from_millis(1000);

impl Session {
    /// Requests of the peer this session still keeps an answer path for:
    /// those not answered finally yet, and a 2xx'd INVITE until its ACK
    /// (issue 13: the table grew with every request of a long call).
    pub fn open_server_transactions(&self) -> usize {
        self.shared
            .server_transactions
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// This session's stream that was initialized with `sender`.
    pub(crate) fn stream_of(&self, sender: SenderId) -> Option<Arc<dyn MediaStream>> {
        lock(&self.shared.stream_senders)
            .iter()
            .find(|(s, _)| *s == sender)
            .and_then(|(_, stream)| stream.upgrade())
    }

    /// `failed`, one of this session's streams, failed (its connection
    /// dropped, a VNC server went away): as python-sipsimple does, a
    /// connected session drops that stream with a re-INVITE when others
    /// remain, and ends (BYE) when it was the only one. A failure during
    /// an offer/answer is the negotiation's to handle.
    pub(crate) async fn drop_failed_stream(self, failed: Arc<dyn MediaStream>) {
        // A peer hanging up closes its MSRP connections as it sends BYE:
        // the stream fails just before the BYE arrives. Wait a moment, so
        // that a BYE already on its way ends the session the usual way.
        tokio::time::sleep(FAILED_STREAM_GRACE).await;
        if self.state() != SessionState::Connected {
            return;
        }
        let (ours, others) = {
            let streams = lock(&self.shared.streams);
            let ours = streams.iter().any(|s| <dyn MediaStream>::same(s, &failed));
            (ours, streams.len().saturating_sub(1))
        };
        if !ours {
            return;
        }
        if others == 0 {
            let _ = self.end().await;
        } else {
            let _ = self.remove_stream(failed).await;
        }
    }
}
