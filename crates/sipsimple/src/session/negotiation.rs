//! SDP offer/answer between a session and its streams (RFC 3264): the
//! initial exchange either way, re-offers from either side, proposals
//! (streams added by a re-INVITE, accepted or refused), removal (port 0,
//! the m-line kept), hold, and the offer-less re-INVITE (our offer in the
//! 200, the answer in the ACK).

use crate::sync::lock;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use sdp::{Media, SessionDescription};
use sip_proto::invite::{Action, Body};

use super::task::{OfferKind, OurOffer, Placed, RemoteProposal, SessionTask};
use super::{SessionError, SessionState};
use crate::notification::NotificationData;
use crate::streams::{MediaStream, RecordingDefaults, StreamContext, StreamDirection, StreamList};

/// A fresh SDP from `ip`, with no media yet.
pub(crate) fn new_sdp(ip: IpAddr) -> SessionDescription {
    let mut d = SessionDescription::new(sdp::Origin {
        username: "-".into(),
        session_id: crate::random::below(u32::MAX).to_string(),
        session_version: 1,
        net_type: "IN".into(),
        addr_type: sdp::AddrType::of(ip),
        address: ip.to_string(),
    });
    d.connection = Some(sdp::Connection::new(ip));
    d
}

/// An m-line refused or removed: port 0, nothing else (RFC 3264 §6, §8.2).
fn disabled(m: &Media) -> Media {
    Media::new(
        &m.media,
        0,
        &m.protocol,
        m.formats.iter().take(1).cloned().collect(),
    )
}

pub(super) fn list(streams: &[Arc<dyn MediaStream>]) -> StreamList {
    StreamList(streams.to_vec())
}

/// Which of `offered` (index, stream) each of `chosen` takes: the same
/// object, or a stream of the application's taking the place of an
/// offered one of its type.
pub(super) fn pick(
    offered: &[Placed],
    chosen: Vec<Arc<dyn MediaStream>>,
) -> Result<Vec<Placed>, SessionError> {
    let mut taken: Vec<Placed> = Vec::new();
    for s in chosen {
        let free = |i: &usize| !taken.iter().any(|(t, _)| t == i);
        let index = offered
            .iter()
            .find(|(i, o)| free(i) && <dyn MediaStream>::same(o, &s))
            .or_else(|| {
                offered
                    .iter()
                    .find(|(i, o)| free(i) && o.stream_type() == s.stream_type())
            })
            .map(|(i, _)| *i)
            .ok_or_else(|| {
                SessionError::Failed(format!(
                    "no {} stream was proposed for this stream to take",
                    s.stream_type()
                ))
            })?;
        taken.push((index, s));
    }
    taken.sort_by_key(|(i, _)| *i);
    Ok(taken)
}

impl SessionTask {
    pub(super) fn context(&self) -> StreamContext {
        let remote = lock(&self.shared.remote_identity).clone();
        StreamContext::for_session(
            &self.center,
            self.shared.sender,
            RecordingDefaults::new(
                self.services.recordings_directory.clone(),
                &self.shared.account.id(),
                &remote,
            ),
            format!("sip:{}", self.shared.account.id()),
            remote,
        )
    }

    /// Initializes `streams`; those that fail are ended and left out.
    pub(super) async fn initialize(
        &self,
        streams: Vec<Placed>,
        direction: StreamDirection,
    ) -> (Vec<Placed>, Vec<String>) {
        let mut ready = Vec::new();
        let mut errors = Vec::new();
        for (i, s) in streams {
            let context = self.context();
            lock(&self.shared.stream_senders).push((context.sender, Arc::downgrade(&s)));
            match s.initialize(context, direction).await {
                Ok(()) => ready.push((i, s)),
                Err(e) => {
                    s.end();
                    errors.push(format!("{}: {e}", s.stream_type()));
                }
            }
        }
        (ready, errors)
    }

    /// An SDP carrying on from our last one: same origin, version + 1.
    pub(super) fn next_sdp(&self) -> SessionDescription {
        match &self.local_sdp {
            Some(last) => {
                let mut d = last.clone();
                d.media.clear();
                d.origin.session_version = d.origin.session_version.wrapping_add(1);
                d
            }
            None => new_sdp(self.settings.local_ip),
        }
    }

    /// Our offer: every m-line we have (disabled ones kept at port 0),
    /// then `added`.
    pub(super) fn build_offer(
        &self,
        added: &[Arc<dyn MediaStream>],
    ) -> Result<SessionDescription, SessionError> {
        let mut sdp = self.next_sdp();
        let fail = |e: crate::streams::StreamError| SessionError::Failed(e.to_string());
        for (i, slot) in self.slots.iter().enumerate() {
            let media = match slot {
                Some(s) => s.get_local_media(None).map_err(fail)?,
                None => {
                    let last = self
                        .local_sdp
                        .as_ref()
                        .and_then(|d| d.media.get(i))
                        .or_else(|| self.remote_sdp.as_ref().and_then(|d| d.media.get(i)));
                    match last {
                        Some(m) => disabled(m),
                        None => continue,
                    }
                }
            };
            sdp.media.push(media);
        }
        for s in added {
            sdp.media.push(s.get_local_media(None).map_err(fail)?);
        }
        Ok(sdp)
    }

    /// Our answer to `offer` with `streams` (index, stream) answering
    /// their m-lines and the rest refused, and the streams answering in
    /// it. Streams that cannot answer are ended, their m-line refused,
    /// and named in `errors`.
    pub(super) fn build_answer(
        &self,
        offer: &SessionDescription,
        streams: Vec<Placed>,
        errors: &mut Vec<String>,
    ) -> (SessionDescription, Vec<Placed>) {
        let mut sdp = self.next_sdp();
        let mut answering = Vec::new();
        for (i, m) in offer.media.iter().enumerate() {
            let stream = streams.iter().find(|(j, _)| *j == i).map(|(_, s)| s);
            let media = match stream.map(|s| (s, s.get_local_media(Some((offer, i))))) {
                Some((s, Ok(media))) => {
                    answering.push((i, s.clone()));
                    media
                }
                Some((s, Err(_))) => {
                    errors.push(format!("{} cannot answer the offer", s.stream_type()));
                    s.end();
                    disabled(m)
                }
                None => disabled(m),
            };
            sdp.media.push(media);
        }
        (sdp, answering)
    }

    pub(super) fn publish_streams(&self) {
        *lock(&self.shared.streams) = self.slots.iter().flatten().cloned().collect();
    }

    /// Announces hold changes of either side since the last time
    /// (SIPSessionDidChangeHoldState; `partial`: some streams that
    /// support hold are held, not all).
    pub(super) fn hold_changed(&mut self) {
        let holding: Vec<&Arc<dyn MediaStream>> = self
            .slots
            .iter()
            .flatten()
            .filter(|s| s.hold_supported())
            .collect();
        for (side, originator) in [(0, "local"), (1, "remote")] {
            let count = holding
                .iter()
                .filter(|s| {
                    if side == 0 {
                        s.on_hold_by_local()
                    } else {
                        s.on_hold_by_remote()
                    }
                })
                .count();
            let now = (count > 0, count > 0 && count < holding.len());
            if self.announced_hold[side] != now {
                self.announced_hold[side] = now;
                self.post(NotificationData::SIPSessionDidChangeHoldState {
                    originator,
                    on_hold: now.0,
                    partial: now.1,
                });
            }
        }
    }

    /// Back to Connected after an exchange; a hold change asked meanwhile
    /// goes out now.
    pub(super) fn connected(&mut self) -> Vec<Action> {
        *lock(&self.shared.proposed) = None;
        self.set_state(SessionState::Connected);
        self.publish_streams();
        self.hold_changed();
        if std::mem::take(&mut self.hold_queued) {
            return self.send_offer(OfferKind::Refresh { hold: None });
        }
        Vec::new()
    }

    pub(super) fn send_offer(&mut self, kind: OfferKind) -> Vec<Action> {
        let added = match &kind {
            OfferKind::Add(s) => s.clone(),
            _ => Vec::new(),
        };
        let Ok(sdp) = self.build_offer(&added) else {
            return Vec::new();
        };
        match self.invite.reinvite(Some(Body::sdp(sdp.to_string()))) {
            Ok(actions) => {
                self.our_offer = Some(OurOffer { sdp, kind });
                if matches!(
                    self.our_offer.as_ref().map(|o| &o.kind),
                    Some(OfferKind::Add(_))
                ) {
                    self.set_state(SessionState::SendingProposal);
                }
                actions
            }
            Err(_) => {
                self.hold_queued = true;
                Vec::new()
            }
        }
    }

    /// A provisional response of our INVITE carried SDP: the answer, to
    /// hear early media with (RFC 3261 §13.2.1 without 100rel: the 2xx
    /// repeats it). The streams start now; refusals wait for the 2xx.
    pub(crate) fn early_media(&mut self, body: Body) {
        if self.early || self.state() != SessionState::Outgoing {
            return;
        }
        let (Some(offer), Ok(answer)) = (
            self.our_offer.as_ref().map(|o| &o.sdp),
            SessionDescription::parse(&body.data),
        ) else {
            return;
        };
        if answer.media.len() != offer.media.len() {
            return;
        }
        for (i, slot) in self.slots.iter().enumerate() {
            if let (Some(s), Some(m)) = (slot, answer.media.get(i)) {
                if m.port != 0 && s.start(offer, &answer, i).is_ok() {
                    self.early = true;
                }
            }
        }
    }

    /// The session is up; for an outgoing one the answer starts the
    /// streams (those it refused are ended). With no stream left the
    /// session fails and hangs up.
    pub(crate) fn established(&mut self, body: Option<Body>) -> Vec<Action> {
        if self.shared.outgoing {
            self.post(NotificationData::SIPSessionWillStart);
            let offer = self.our_offer.take().map(|o| o.sdp);
            let answer = body.and_then(|b| SessionDescription::parse(&b.data).ok());
            // The first stream's own words (e.g. an SRTP policy the
            // answer does not meet) tell the user why the call failed.
            let mut why = None;
            let usable = match (&offer, &answer) {
                (Some(o), Some(a)) if o.media.len() == a.media.len() => {
                    for (i, slot) in self.slots.iter_mut().enumerate() {
                        let refused = a.media.get(i).is_none_or(|m| m.port == 0);
                        if let Some(s) = slot.take() {
                            let result = match (refused, self.early) {
                                (true, _) => Err("refused".into()),
                                (false, true) => s.update(o, a, i),
                                (false, false) => s.start(o, a, i),
                            };
                            match result {
                                Ok(()) => *slot = Some(s),
                                Err(e) => {
                                    why.get_or_insert(e.0);
                                    s.end();
                                }
                            }
                        }
                    }
                    self.slots.iter().any(Option::is_some)
                }
                _ => false,
            };
            if !usable {
                let failure_reason = match why {
                    Some(why) => format!("the answer could not be used: {why}"),
                    None => "the answer could not be used".into(),
                };
                self.post(NotificationData::SIPSessionDidFail {
                    originator: "local",
                    code: 488,
                    reason: "Not Acceptable Here".into(),
                    failure_reason,
                });
                let actions = self.invite.end().unwrap_or_default();
                self.set_state(SessionState::Terminated);
                return actions;
            }
            self.local_sdp = offer;
            self.remote_sdp = answer;
        } else if let Some(offer) = self.offer_in_200.take().map(|o| *o) {
            // A delayed offer: the ACK carries the peer's answer.
            let answer = body.and_then(|b| SessionDescription::parse(&b.data).ok());
            let started = match &answer {
                Some(a) if a.media.len() == offer.media.len() => {
                    for (i, slot) in self.slots.iter_mut().enumerate() {
                        let refused = a.media.get(i).is_none_or(|m| m.port == 0);
                        if let Some(s) = slot.take() {
                            if !refused && s.start(&offer, a, i).is_ok() {
                                *slot = Some(s);
                            } else {
                                s.end();
                            }
                        }
                    }
                    self.slots.iter().any(Option::is_some)
                }
                _ => false,
            };
            if !started {
                // RFC 3261 §13.2.2.4 leaves a missing or unusable answer
                // in the ACK to a BYE.
                for s in self.slots.iter_mut().filter_map(Option::take) {
                    s.end();
                }
                self.post(NotificationData::SIPSessionDidFail {
                    originator: "remote",
                    code: 0,
                    reason: String::new(),
                    failure_reason: "the ACK carried no usable answer to our offer".into(),
                });
                let actions = self.invite.end().unwrap_or_default();
                self.set_state(SessionState::Terminated);
                return actions;
            }
            self.local_sdp = Some(offer);
            self.remote_sdp = answer;
        }
        *lock(&self.shared.start_time) = Some(SystemTime::now());
        self.publish_streams();
        self.post(NotificationData::SIPSessionDidStart {
            streams: StreamList(lock(&self.shared.streams).clone()),
        });
        self.connected()
    }

    /// The peer re-INVITEs. With an offer: new m-lines become a proposal
    /// for the application, disabled ones remove their streams, and the
    /// rest is answered at once. Without: our offer goes in the 200.
    pub(crate) async fn remote_reinvite(&mut self, body: Option<Body>) -> Vec<Action> {
        let now = Instant::now();
        let Some(body) = body else {
            return match self.build_offer(&[]) {
                Ok(offer) => {
                    let actions = self
                        .invite
                        .accept_reinvite(Some(Body::sdp(offer.to_string())), now)
                        .unwrap_or_default();
                    self.offer_in_200 = Some(Box::new(offer));
                    actions
                }
                Err(_) => self.refuse_reinvite(500, "Server Internal Error"),
            };
        };
        let Ok(offer) = SessionDescription::parse(&body.data) else {
            return self.refuse_reinvite(488, "Not Acceptable Here");
        };
        // RFC 3264 §8: m-lines are never removed, only disabled.
        if offer.media.len() < self.slots.len() {
            return self.refuse_reinvite(488, "Not Acceptable Here");
        }
        let mut removed = Vec::new();
        for (i, slot) in self.slots.iter().enumerate() {
            let Some(s) = slot else { continue };
            if offer.media.get(i).is_none_or(|m| m.port == 0) {
                removed.push(i);
            } else if !s.validate_update(&offer, i) {
                return self.refuse_reinvite(488, "Not Acceptable Here");
            }
        }
        let mut proposal = Vec::new();
        for i in self.slots.len()..offer.media.len() {
            if offer.media.get(i).is_some_and(|m| m.port != 0) {
                if let Some(s) = self.registry.new_from_sdp(&self.settings, &offer, i).await {
                    proposal.push((i, s));
                }
            }
        }
        if proposal.is_empty() {
            return self.answer_offer(offer, Vec::new(), removed, None).await;
        }
        let streams: Vec<_> = proposal.iter().map(|(_, s)| s.clone()).collect();
        *lock(&self.shared.proposed) = Some(streams.clone());
        self.remote_proposal = Some(Box::new(RemoteProposal {
            offer,
            streams: proposal,
            removed,
        }));
        self.set_state(SessionState::ReceivedProposal);
        self.post(NotificationData::SIPSessionGotProposal {
            originator: "remote",
            streams: list(&streams),
        });
        Vec::new()
    }

    pub(super) fn refuse_reinvite(&mut self, code: u16, reason: &str) -> Vec<Action> {
        self.invite
            .reject_reinvite(code, reason)
            .unwrap_or_default()
    }

    /// Answers the peer's re-offer: `added` (accepted new streams) start,
    /// `removed` m-lines end their streams, the others update.
    /// `proposed`: the proposal this answers, if any.
    pub(super) async fn answer_offer(
        &mut self,
        offer: SessionDescription,
        added: Vec<Placed>,
        removed: Vec<usize>,
        proposed: Option<Vec<Arc<dyn MediaStream>>>,
    ) -> Vec<Action> {
        let now = Instant::now();
        let mut gone = Vec::new();
        for i in removed {
            if let Some(s) = self.slots.get_mut(i).and_then(Option::take) {
                s.deactivate();
                s.end();
                gone.push(s);
            }
        }
        let (added, mut errors) = self.initialize(added, StreamDirection::Incoming).await;
        let current: Vec<_> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((i, s.clone()?)))
            .chain(added.iter().cloned())
            .collect();
        let (answer, answering) = self.build_answer(&offer, current, &mut errors);
        let actions = self
            .invite
            .accept_reinvite(Some(Body::sdp(answer.to_string())), now)
            .unwrap_or_default();
        self.slots.resize(offer.media.len(), None);
        let mut accepted = Vec::new();
        for (i, s) in answering {
            let new = added.iter().any(|(j, _)| *j == i);
            let result = if new {
                s.start(&answer, &offer, i)
            } else {
                s.update(&answer, &offer, i)
            };
            match (result, self.slots.get_mut(i)) {
                (Ok(()), Some(slot)) => {
                    if new {
                        accepted.push(s.clone());
                    }
                    *slot = Some(s);
                }
                (Err(e), slot) => {
                    errors.push(format!("{}: {e}", s.stream_type()));
                    s.end();
                    if let Some(slot) = slot {
                        if !new {
                            gone.push(s);
                        }
                        *slot = None;
                    }
                }
                (Ok(()), None) => s.end(),
            }
        }
        self.local_sdp = Some(answer);
        self.remote_sdp = Some(offer);
        if !gone.is_empty() {
            self.publish_streams();
            self.post(NotificationData::SIPSessionDidRenegotiateStreams {
                action: "remove",
                streams: list(&gone),
            });
        }
        if let Some(proposed) = proposed {
            if accepted.is_empty() {
                self.post(NotificationData::SIPSessionHadProposalFailure {
                    failure_reason: errors.join("; "),
                    streams: list(&proposed),
                });
            } else {
                self.publish_streams();
                self.post(NotificationData::SIPSessionGotAcceptProposal {
                    originator: "remote",
                    streams: list(&accepted),
                    proposed_streams: list(&proposed),
                });
                self.post(NotificationData::SIPSessionDidRenegotiateStreams {
                    action: "add",
                    streams: list(&accepted),
                });
            }
        }
        let mut actions = actions;
        actions.append(&mut self.connected());
        actions
    }

    /// The ACK of our 200 to the peer's re-INVITE; if that 200 carried
    /// our offer, the ACK's body is the answer.
    pub(crate) fn reinvite_acked(&mut self, body: Option<Body>) -> Vec<Action> {
        let Some(offer) = self.offer_in_200.take().map(|o| *o) else {
            return Vec::new();
        };
        let Some(answer) = body.and_then(|b| SessionDescription::parse(&b.data).ok()) else {
            // RFC 3261 §13.2.2.4 leaves a bad answer in an ACK to a BYE.
            return self.invite.end().unwrap_or_default();
        };
        for (i, slot) in self.slots.iter().enumerate() {
            if let Some(s) = slot {
                let _ = s.update(&offer, &answer, i);
            }
        }
        self.local_sdp = Some(offer);
        self.remote_sdp = Some(answer);
        self.connected()
    }

    /// The answer to our re-INVITE.
    pub(crate) fn reinvite_accepted(&mut self, body: Option<Body>) -> Vec<Action> {
        let Some(ours) = self.our_offer.take() else {
            return Vec::new();
        };
        let answer = body
            .and_then(|b| SessionDescription::parse(&b.data).ok())
            .filter(|a| a.media.len() == ours.sdp.media.len());
        let added = match ours.kind {
            OfferKind::Add(s) => s,
            _ => Vec::new(),
        };
        let Some(answer) = answer else {
            for s in &added {
                s.end();
            }
            if !added.is_empty() {
                self.post(NotificationData::SIPSessionHadProposalFailure {
                    failure_reason: "the answer could not be used".into(),
                    streams: list(&added),
                });
            }
            return self.connected();
        };
        let mut gone = Vec::new();
        for (i, slot) in self.slots.iter_mut().enumerate() {
            if let Some(s) = slot.take() {
                let refused = answer.media.get(i).is_none_or(|m| m.port == 0);
                if !refused && s.update(&ours.sdp, &answer, i).is_ok() {
                    *slot = Some(s);
                } else {
                    s.end();
                    gone.push(s);
                }
            }
        }
        let base = self.slots.len();
        let mut accepted = Vec::new();
        for (k, s) in added.iter().enumerate() {
            let i = base + k;
            let refused = answer.media.get(i).is_none_or(|m| m.port == 0);
            if !refused && s.start(&ours.sdp, &answer, i).is_ok() {
                self.slots.push(Some(s.clone()));
                accepted.push(s.clone());
            } else {
                s.end();
                self.slots.push(None);
            }
        }
        self.local_sdp = Some(ours.sdp);
        self.remote_sdp = Some(answer);
        self.publish_streams();
        if !gone.is_empty() {
            self.post(NotificationData::SIPSessionDidRenegotiateStreams {
                action: "remove",
                streams: list(&gone),
            });
        }
        if !added.is_empty() {
            if accepted.is_empty() {
                self.post(NotificationData::SIPSessionGotRejectProposal {
                    originator: "local",
                    code: 200,
                    reason: "OK".into(),
                    streams: list(&added),
                });
            } else {
                self.post(NotificationData::SIPSessionGotAcceptProposal {
                    originator: "local",
                    streams: list(&accepted),
                    proposed_streams: list(&added),
                });
                self.post(NotificationData::SIPSessionDidRenegotiateStreams {
                    action: "add",
                    streams: list(&accepted),
                });
            }
        }
        self.connected()
    }

    /// Our re-INVITE was refused: the session stays as it was (a hold
    /// change is undone on the streams).
    pub(crate) fn reinvite_rejected(&mut self, code: u16, reason: String) -> Vec<Action> {
        let Some(ours) = self.our_offer.take() else {
            return Vec::new();
        };
        match ours.kind {
            OfferKind::Add(streams) => {
                for s in &streams {
                    s.end();
                }
                self.post(NotificationData::SIPSessionGotRejectProposal {
                    originator: "local",
                    code,
                    reason,
                    streams: list(&streams),
                });
            }
            OfferKind::Refresh { hold: Some(on) } => {
                for s in self.slots.iter().flatten().filter(|s| s.hold_supported()) {
                    if on {
                        s.unhold();
                    } else {
                        s.hold();
                    }
                }
            }
            OfferKind::Refresh { hold: None } | OfferKind::Initial => {}
        }
        self.connected()
    }

    /// The peer withdrew its proposal (CANCEL of its re-INVITE).
    pub(crate) fn remote_proposal_cancelled(&mut self) {
        if let Some(p) = self.remote_proposal.take() {
            let streams: Vec<_> = p.streams.into_iter().map(|(_, s)| s).collect();
            self.post(NotificationData::SIPSessionGotRejectProposal {
                originator: "remote",
                code: 487,
                reason: "Request Terminated".into(),
                streams: list(&streams),
            });
            *lock(&self.shared.proposed) = None;
            self.set_state(SessionState::Connected);
        }
    }
}
