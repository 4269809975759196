//! The session API's commands as the session task carries them out
//! (ring, accept, reject, end, hold, proposals), each checked against the
//! state first; the SDP work is `negotiation.rs`'s.

use crate::sync::lock;
use std::sync::Arc;
use std::time::Instant;

use sip_proto::invite::{Action, Body};

use super::negotiation::{list, pick};
use super::task::{OfferKind, SessionTask};
use super::{Command, Reply, SessionError, SessionState};
use crate::notification::NotificationData;
use crate::streams::{MediaStream, StreamDirection};

impl SessionTask {
    pub(crate) async fn on_command(&mut self, c: Command, now: Instant) -> Vec<Action> {
        let state = self.state();
        let refuse = |reply: Reply, action| {
            let _ = reply.send(Err(SessionError::State { action, state }));
            Vec::new()
        };
        match c {
            Command::Ring(reply) => match self.invite.ring(180, None) {
                Ok(a) => {
                    let _ = reply.send(Ok(()));
                    a
                }
                Err(_) => refuse(reply, "send_ring_indication"),
            },
            Command::Accept(streams, reply) => {
                if state != SessionState::Incoming {
                    return refuse(reply, "accept");
                }
                self.accept(streams, reply, now).await
            }
            Command::Reject(code, reason, reply) => match self.invite.reject(code, &reason) {
                Ok(a) => {
                    let _ = reply.send(Ok(()));
                    a
                }
                Err(_) => refuse(reply, "reject"),
            },
            Command::Hold(on, reply) => {
                if state == SessionState::Terminated {
                    return refuse(reply, if on { "hold" } else { "unhold" });
                }
                let streams: Vec<_> = self
                    .slots
                    .iter()
                    .flatten()
                    .chain(self.proposed.iter().map(|(_, s)| s))
                    .filter(|s| s.hold_supported())
                    .cloned()
                    .collect();
                for s in &streams {
                    if on {
                        s.hold();
                    } else {
                        s.unhold();
                    }
                }
                let _ = reply.send(Ok(()));
                // The answer of an incoming session not yet accepted will
                // carry it; otherwise a re-INVITE, now or when possible.
                if state == SessionState::Connected && self.our_offer.is_none() {
                    self.send_offer(OfferKind::Refresh { hold: Some(on) })
                } else {
                    if state != SessionState::Incoming {
                        self.hold_queued = true;
                    }
                    Vec::new()
                }
            }
            Command::Renew(reply) => {
                if state == SessionState::Terminated {
                    return refuse(reply, "renew");
                }
                let _ = reply.send(Ok(()));
                if state == SessionState::Connected && self.our_offer.is_none() {
                    self.send_offer(OfferKind::Refresh { hold: None })
                } else {
                    // Sent when the exchange under way is over.
                    self.hold_queued = true;
                    Vec::new()
                }
            }
            Command::AddStream(stream, reply) => {
                if state != SessionState::Connected || self.our_offer.is_some() {
                    return refuse(reply, "add_stream");
                }
                let (ready, errors) = self
                    .initialize(vec![(0, stream.clone())], StreamDirection::Outgoing)
                    .await;
                if ready.is_empty() {
                    self.post(NotificationData::SIPSessionHadProposalFailure {
                        failure_reason: errors.join("; "),
                        streams: list(&[stream]),
                    });
                    let _ = reply.send(Err(SessionError::Failed(errors.join("; "))));
                    return Vec::new();
                }
                *lock(&self.shared.proposed) = Some(vec![stream.clone()]);
                self.post(NotificationData::SIPSessionGotProposal {
                    originator: "local",
                    streams: list(std::slice::from_ref(&stream)),
                });
                let actions = self.send_offer(OfferKind::Add(vec![stream.clone()]));
                if self.our_offer.is_none() {
                    stream.end();
                    *lock(&self.shared.proposed) = None;
                    self.post(NotificationData::SIPSessionHadProposalFailure {
                        failure_reason: "the re-INVITE could not be sent".into(),
                        streams: list(&[stream]),
                    });
                    let _ = reply.send(Err(SessionError::Failed(
                        "the re-INVITE could not be sent".into(),
                    )));
                    return actions;
                }
                let _ = reply.send(Ok(()));
                actions
            }
            Command::RemoveStream(stream, reply) => {
                if state != SessionState::Connected || self.our_offer.is_some() {
                    return refuse(reply, "remove_stream");
                }
                let slot = self.slots.iter_mut().find(|s| {
                    s.as_ref()
                        .is_some_and(|s| <dyn MediaStream>::same(s, &stream))
                });
                let Some(slot) = slot else {
                    let _ = reply.send(Err(SessionError::Failed(
                        "the stream is not part of this session".into(),
                    )));
                    return Vec::new();
                };
                *slot = None;
                stream.deactivate();
                let actions = self.send_offer(OfferKind::Refresh { hold: None });
                stream.end();
                self.publish_streams();
                self.post(NotificationData::SIPSessionDidRenegotiateStreams {
                    action: "remove",
                    streams: list(&[stream]),
                });
                let _ = reply.send(Ok(()));
                actions
            }
            Command::AcceptProposal(streams, reply) => {
                let Some(proposal) = self.remote_proposal.take() else {
                    return refuse(reply, "accept_proposal");
                };
                let chosen = match pick(&proposal.streams, streams) {
                    Ok(c) => c,
                    Err(e) => {
                        self.remote_proposal = Some(proposal);
                        let _ = reply.send(Err(e));
                        return Vec::new();
                    }
                };
                let _ = reply.send(Ok(()));
                let proposed: Vec<_> = proposal.streams.iter().map(|(_, s)| s.clone()).collect();
                self.answer_offer(proposal.offer, chosen, proposal.removed, Some(proposed))
                    .await
            }
            Command::RejectProposal(code, reason, reply) => {
                let Some(proposal) = self.remote_proposal.take() else {
                    return refuse(reply, "reject_proposal");
                };
                let actions = self
                    .invite
                    .reject_reinvite(code, &reason)
                    .unwrap_or_default();
                let _ = reply.send(Ok(()));
                let streams: Vec<_> = proposal.streams.into_iter().map(|(_, s)| s).collect();
                self.post(NotificationData::SIPSessionGotRejectProposal {
                    originator: "remote",
                    code,
                    reason,
                    streams: list(&streams),
                });
                let mut more = self.connected();
                let mut actions = actions;
                actions.append(&mut more);
                actions
            }
            Command::CancelProposal(reply) => {
                let adding = matches!(
                    self.our_offer.as_ref().map(|o| &o.kind),
                    Some(OfferKind::Add(_))
                );
                if !adding {
                    return refuse(reply, "cancel_proposal");
                }
                match self.invite.cancel_reinvite() {
                    Ok(a) => {
                        let _ = reply.send(Ok(()));
                        a
                    }
                    Err(_) => refuse(reply, "cancel_proposal"),
                }
            }
            Command::End(reply) => match self.invite.end() {
                Ok(a)
                    if self.invite.state() == sip_proto::invite::SessionState::Cancelling
                        && !self.invite.heard_from_peer() =>
                {
                    // Nothing answered at all (not even 100): waiting for
                    // the CANCEL's outcome would hold the user for Timer
                    // B's 32 s. The session ends for them now.
                    let remote = lock(&self.shared.remote_identity).clone();
                    self.end_for_user(format!("no answer from {remote}; cancelled"));
                    let _ = reply.send(Ok(()));
                    a
                }
                Ok(a) => {
                    if !matches!(
                        state,
                        SessionState::Incoming | SessionState::Outgoing | SessionState::Null
                    ) {
                        self.set_state(SessionState::Terminating);
                        self.post(NotificationData::SIPSessionWillEnd);
                    }
                    for s in self.slots.iter().flatten() {
                        s.deactivate();
                    }
                    let _ = reply.send(Ok(()));
                    a
                }
                Err(_) => refuse(reply, "end"),
            },
        }
    }

    /// Accepts an incoming session with `chosen` streams.
    async fn accept(
        &mut self,
        chosen: Vec<Arc<dyn MediaStream>>,
        reply: Reply,
        now: Instant,
    ) -> Vec<Action> {
        let chosen = match pick(&self.proposed, chosen) {
            Ok(c) => c,
            Err(e) => {
                let _ = reply.send(Err(e));
                return Vec::new();
            }
        };
        let Some(offer) = self.remote_offer.as_deref().cloned() else {
            return self.accept_with_offer(chosen, reply, now).await;
        };
        let (ready, mut errors) = self.initialize(chosen, StreamDirection::Incoming).await;
        let (answer, answering) = self.build_answer(&offer, ready, &mut errors);
        let mut slots = vec![None; offer.media.len()];
        for (i, s) in answering {
            match s.start(&answer, &offer, i) {
                Ok(()) => slots[i] = Some(s),
                Err(e) => {
                    errors.push(format!("{}: {e}", s.stream_type()));
                    s.end();
                }
            }
        }
        if slots.iter().all(Option::is_none) {
            let _ = reply.send(Err(SessionError::Failed(errors.join("; "))));
            return self
                .invite
                .reject(488, "Not Acceptable Here")
                .unwrap_or_default();
        }
        self.proposed.clear();
        self.remote_offer = None;
        *lock(&self.shared.proposed) = None;
        self.slots = slots;
        self.publish_streams();
        self.local_sdp = Some(answer.clone());
        self.remote_sdp = Some(offer);
        self.set_state(SessionState::Accepting);
        self.post(NotificationData::SIPSessionWillStart);
        let actions = self
            .invite
            .accept(Some(Body::sdp(answer.to_string())), now)
            .unwrap_or_default();
        let _ = reply.send(Ok(()));
        actions
    }

    /// Accepts an INVITE that had no offer: ours goes in the 200, and the
    /// streams start when the ACK brings the answer (`established`).
    async fn accept_with_offer(
        &mut self,
        chosen: Vec<(usize, Arc<dyn MediaStream>)>,
        reply: Reply,
        now: Instant,
    ) -> Vec<Action> {
        let (ready, errors) = self.initialize(chosen, StreamDirection::Incoming).await;
        let streams: Vec<Arc<dyn MediaStream>> = ready.into_iter().map(|(_, s)| s).collect();
        let offer = match self.build_offer(&streams) {
            Ok(o) if !streams.is_empty() => o,
            outcome => {
                for s in &streams {
                    s.end();
                }
                let why = match outcome {
                    Err(e) => e.to_string(),
                    Ok(_) => errors.join("; "),
                };
                let _ = reply.send(Err(SessionError::Failed(why)));
                return self
                    .invite
                    .reject(488, "Not Acceptable Here")
                    .unwrap_or_default();
            }
        };
        self.proposed.clear();
        *lock(&self.shared.proposed) = None;
        self.slots = streams.into_iter().map(Some).collect();
        self.publish_streams();
        self.offer_in_200 = Some(Box::new(offer.clone()));
        self.set_state(SessionState::Accepting);
        self.post(NotificationData::SIPSessionWillStart);
        let actions = self
            .invite
            .accept(Some(Body::sdp(offer.to_string())), now)
            .unwrap_or_default();
        let _ = reply.send(Ok(()));
        actions
    }
}
