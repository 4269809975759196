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
use std::time::{Duration, Instant};

use msrp_proto::headers::{FromPath, ToPath};
use msrp_proto::Session;
use tokio::sync::oneshot;

use super::{EventSink, MsrpConnection, Shared};

/// How long reading waits for a session to take the connection offered
/// to it (its task runs at once; this only bounds a stuck one).
const JOIN_WAIT: Duration = Duration::from_secs(10);

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

/// Settles a request the demux holds for a session not on the connection:
/// offered to the shared port (see this module), it goes to that
/// session if it joins in time, else it is refused as the port says (506
/// for a session bound to another connection) or with 481.
pub(super) async fn settle_held(shared: &Arc<Shared>) -> Result<(), msrp_proto::StreamError> {
    loop {
        let held = shared.lock().demux.held_request().map(|req| {
            let first = |p: Vec<msrp_proto::MsrpUri>| p.into_iter().next();
            let to = match req.headers.typed::<ToPath>() {
                Some(Ok(ToPath(p))) => first(p).and_then(|u| u.session_id),
                _ => None,
            };
            let from = match req.headers.typed::<FromPath>() {
                Some(Ok(FromPath(p))) => p.into_iter().last().and_then(|u| u.session_id),
                _ => None,
            };
            (to, from)
        });
        let Some((to, from)) = held else {
            return Ok(());
        };
        let mut refusal = None;
        if let (Some(hook), Some(to)) = (&shared.joins, to) {
            let (joinable, decided) = Joinable::new(shared.clone(), to, from);
            match hook(joinable) {
                // Reading waits for the session: the request is its.
                Ok(()) => {
                    let _ = tokio::time::timeout(JOIN_WAIT, decided).await;
                }
                Err(r) => refusal = Some(r),
            }
        }
        let result = {
            let mut core = shared.lock();
            let now = Instant::now();
            let r = match refusal {
                Some((status, comment)) => core.demux.refuse_held(now, status, comment),
                None => core.demux.release(now),
            };
            shared.drain(&mut core);
            r
        };
        shared.wake.notify_one();
        result?;
    }
}
