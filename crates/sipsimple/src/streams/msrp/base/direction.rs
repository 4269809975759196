//! The SDP direction of an MSRP stream (`a=sendrecv`, `sendonly`,
//! `recvonly`, `inactive`), the original SDK's MSRPStreamBase
//! `direction`.
//!
//! RFC 4975 gives these attributes no meaning of their own: RFC 3264's
//! hold. Our offer says the direction we want; our answer to an offer
//! says what RFC 3264 §6.1 allows between what we want and what was
//! offered (`sendonly` is answered `recvonly` or `inactive`, and so on:
//! [`sdp::Direction::with`]). Once both SDPs are known, the negotiated
//! direction, seen from our side, is what we may do: without `send` in
//! it, messages (content) are refused at once, and those waiting for the
//! connection will not go (their owner reports them not delivered);
//! without `recv`, the peer's content is answered 403 (msrp-proto's
//! `direction` module). What is no content always flows: responses,
//! REPORTs, empty SENDs that bind the connection or keep it alive. A
//! re-INVITE that changes the direction changes all this and keeps the
//! stream and its connection.
//!
//! A message the connection already holds when sending stops (it was
//! being written) is left to finish: it was sent before the change.
//!
//! Hold is not this: MSRP streams do not support hold (the spec's
//! `hold()` is for audio and video), so the session's hold leaves their
//! direction alone.

use sdp::{Direction, SessionDescription};

use super::MsrpStreamBase;

/// What the stream asks for, and what was negotiated.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Directions {
    pub(super) local: Direction,
    pub(super) negotiated: Option<Direction>,
}

impl Directions {
    /// What holds now: the negotiated direction, or before there is one
    /// what we ask for (nothing beyond it can be negotiated).
    pub(super) fn current(&self) -> Direction {
        self.negotiated.unwrap_or(self.local)
    }
}

impl MsrpStreamBase {
    /// The direction our offers ask for and our answers start from.
    pub fn local_direction(&self) -> Direction {
        self.lock().direction.local
    }

    /// Changes [`MsrpStreamBase::local_direction`]: the next offer or
    /// answer says it; what holds until then is unchanged.
    pub fn set_local_direction(&self, direction: Direction) {
        self.lock().direction.local = direction;
    }

    /// The negotiated direction seen from our side (`sendonly`: we send
    /// and do not receive); before the negotiation, the one we ask for.
    pub fn direction(&self) -> Direction {
        self.lock().direction.current()
    }

    /// The direction for our m-line: an offer's (`remote` None), or the
    /// answer to m-line `index` of the peer's offer (RFC 3264 §6.1).
    pub fn sdp_direction(&self, remote: Option<(&SessionDescription, usize)>) -> Direction {
        let local = self.local_direction();
        match remote.and_then(|(sdp, index)| sdp.declared_direction(index)) {
            Some(offered) => local.with(offered),
            None => local,
        }
    }

    /// Takes the negotiated direction of m-line `index` from both SDPs
    /// (on start and on every renegotiation); the connection, if up,
    /// takes or refuses the peer's content by it. Returns the ids of the
    /// messages waiting for the connection that may no longer be sent:
    /// they are dropped, for the owner to report.
    pub fn negotiate(
        &self,
        local: &SessionDescription,
        remote: &SessionDescription,
        index: usize,
    ) -> Vec<String> {
        // A missing m-line declares nothing: sendrecv, RFC 3264's default.
        let ours = local.declared_direction(index).unwrap_or_default();
        let theirs = remote.declared_direction(index).unwrap_or_default();
        let negotiated = ours.with(theirs);
        let mut s = self.lock();
        s.direction.negotiated = Some(negotiated);
        if let Some(conn) = &s.connection {
            conn.set_receiving(negotiated.receives());
        }
        if negotiated.sends() {
            return Vec::new();
        }
        std::mem::take(&mut s.queued)
            .into_iter()
            .map(|m| m.message_id)
            .collect()
    }
}
