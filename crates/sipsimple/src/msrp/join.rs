//! A session of ours joining a connection the peer already has with us.
//!
//! RFC 4975 §5.4 lets a device carry several sessions on one
//! connection: a peer that has a connection to our shared port may send
//! the first request of another session of ours over it instead of
//! opening a new one. The connection's demux holds that request; the
//! shared port offers the connection ([`Joinable`]) to the session the
//! request names, if it waits for its connection and nothing else has
//! it; the session joins (its own core on the same stream) or lets the
//! offer go, and the request is then handed to it or refused.

use std::sync::Arc;
use std::time::Duration;

use msrp_proto::Session;
use tokio::sync::oneshot;

use super::connection::Shared;
use super::{EventSink, MsrpConnection};

/// How long reading waits for a session to take the connection offered
/// to it (its task runs at once; this only bounds a stuck one).
pub(super) const JOIN_WAIT: Duration = Duration::from_secs(10);

/// Offers a connection to the session a held request names: Ok when it
/// was offered, else the status and comment to refuse the request with.
pub type JoinHook = Arc<dyn Fn(Joinable) -> Result<(), (u16, &'static str)> + Send + Sync>;

/// A live connection offered to a session of ours; dropping it declines.
pub struct Joinable {
    shared: Arc<Shared>,
    /// The session the held request is for (ours).
    pub session_id: String,
    /// The session-id of the sender's own URI (the last of the request's
    /// From-Path), as for a new connection's first request.
    pub from_session: Option<String>,
    decided: Option<oneshot::Sender<()>>,
}

impl std::fmt::Debug for Joinable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Joinable")
            .field("session_id", &self.session_id)
            .field("from_session", &self.from_session)
            .finish_non_exhaustive()
    }
}

impl Joinable {
    pub(super) fn new(
        shared: Arc<Shared>,
        session_id: String,
        from_session: Option<String>,
    ) -> (Joinable, oneshot::Receiver<()>) {
        let (tx, rx) = oneshot::channel();
        let j = Joinable {
            shared,
            session_id,
            from_session,
            decided: Some(tx),
        };
        (j, rx)
    }

    /// Runs `session` on the connection, its events to `sink`; the held
    /// request is its first. Fails when the connection closed meanwhile,
    /// carries as many sessions as it may, or `session` is not the one
    /// the request names.
    pub fn join(mut self, session: Session, sink: EventSink) -> Result<MsrpConnection, String> {
        if session.local_session_id() != Some(self.session_id.as_str()) {
            return Err(format!(
                "the connection was offered to session {}",
                self.session_id
            ));
        }
        let joined = self.shared.join(session, sink);
        if let Some(d) = self.decided.take() {
            let _ = d.send(());
        }
        joined
    }
}
