//! Sessions (the spec's `sipsimple.session`, first slice): `Session`
//! drives one `sip_proto::invite::InviteSession` over the engine in a task
//! of its own and carries one audio stream; `SessionManager` turns
//! incoming INVITEs into sessions and routes the requests of a dialog to
//! its session.
//!
//! Built so far: connect (RFC 3263 routes, tried in order), ring, accept,
//! reject, CANCEL, BYE either way, SDP offer/answer for one audio stream,
//! and the notifications NewOutgoing/NewIncoming, GotRingIndication,
//! GotProvisionalResponse, WillStart, DidStart, DidFail, WillEnd, DidEnd.
//! Proposals, hold and stream changes are the next part.

mod manager;
mod task;

pub use manager::SessionManager;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use tokio::sync::{mpsc, oneshot};

use crate::notification::SenderId;
use crate::streams::audio::AudioStream;

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
    pub(crate) local_identity: String,
    pub(crate) remote_identity: Mutex<String>,
    pub(crate) remote_user_agent: Mutex<Option<String>>,
    pub(crate) start_time: Mutex<Option<SystemTime>>,
    pub(crate) stop_time: Mutex<Option<SystemTime>>,
    pub(crate) audio: Mutex<Option<Arc<AudioStream>>>,
    /// We put the peer on hold / the peer put us on hold.
    pub(crate) local_hold: Mutex<bool>,
    pub(crate) remote_hold: Mutex<bool>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Commands from the API to the session task.
pub(crate) enum Command {
    Ring(oneshot::Sender<Result<(), SessionError>>),
    Accept(Arc<AudioStream>, oneshot::Sender<Result<(), SessionError>>),
    Reject(u16, String, oneshot::Sender<Result<(), SessionError>>),
    End(oneshot::Sender<Result<(), SessionError>>),
    Hold(bool, oneshot::Sender<Result<(), SessionError>>),
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

    pub fn local_identity(&self) -> &str {
        &self.shared.local_identity
    }

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

    /// The audio stream, once it is part of the session.
    pub fn audio_stream(&self) -> Option<Arc<AudioStream>> {
        lock(&self.shared.audio).clone()
    }

    async fn command(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<(), SessionError>>) -> Command,
    ) -> Result<(), SessionError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(task::Input::Command(make(tx)))
            .await
            .map_err(|_| SessionError::Gone)?;
        rx.await.map_err(|_| SessionError::Gone)?
    }

    /// Sends 180 Ringing on an incoming session.
    pub async fn send_ring_indication(&self) -> Result<(), SessionError> {
        self.command(Command::Ring).await
    }

    /// Accepts an incoming session with `audio` answering its offer.
    pub async fn accept(&self, audio: Arc<AudioStream>) -> Result<(), SessionError> {
        self.command(|tx| Command::Accept(audio, tx)).await
    }

    /// Refuses an incoming session (603 Decline by default).
    pub async fn reject(&self, code: u16, reason: Option<&str>) -> Result<(), SessionError> {
        let reason = reason.unwrap_or(match code {
            486 => "Busy Here",
            488 => "Not Acceptable Here",
            603 => "Decline",
            _ => "Rejected",
        });
        self.command(|tx| Command::Reject(code, reason.to_owned(), tx))
            .await
    }

    /// Puts the peer on hold: a re-INVITE offering sendonly (RFC 3264
    /// §8.4). SIPSessionDidChangeHoldState follows once it is accepted.
    pub async fn hold(&self) -> Result<(), SessionError> {
        self.command(|tx| Command::Hold(true, tx)).await
    }

    /// Takes the peer off hold (a re-INVITE offering sendrecv).
    pub async fn unhold(&self) -> Result<(), SessionError> {
        self.command(|tx| Command::Hold(false, tx)).await
    }

    /// Held by either side.
    pub fn on_hold(&self) -> bool {
        *lock(&self.shared.local_hold) || *lock(&self.shared.remote_hold)
    }

    /// Ends the session whatever its state: BYE, CANCEL or a refusal.
    pub async fn end(&self) -> Result<(), SessionError> {
        self.command(Command::End).await
    }
}
