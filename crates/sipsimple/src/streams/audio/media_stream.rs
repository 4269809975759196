//! AudioStream as a MediaStream: its m= lines reflect the hold state,
//! negotiated SDPs (re)start the RTP loops, and the stream posts the
//! MediaStream* and AudioStream* notifications as its own sender. Also
//! the registry's audio type, which makes a stream for an offered audio
//! m-line it can take.

use crate::sync::lock;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use sdp::offer_answer::{Codec, PayloadFormat, RtpNegotiation};
use sdp::{Direction, Media, SessionDescription};

use super::{AudioSource, AudioStream};
use crate::notification::NotificationData;
use crate::streams::interface::{
    BoxFuture, MediaStream, MediaStreamType, StreamContext, StreamDirection, StreamError,
};
use crate::streams::settings::StreamSettings;

/// Our side of an SDP exchange that has not completed yet.
pub(crate) enum Pending {
    /// We offered these formats (our payload numbers).
    Offered(Vec<PayloadFormat>),
    /// We answered; this is what the answer agreed.
    Answered(RtpNegotiation),
}

/// The codecs the AudioStream runs (Opus, G.722, PCMU, PCMA), in the
/// order of `names` (rtpmap encoding names, as in `rtp.audio_codec_list`);
/// other names are left out.
pub fn supported_codecs(names: &[String]) -> Vec<Codec> {
    names
        .iter()
        .filter_map(|n| match n.to_ascii_uppercase().as_str() {
            "OPUS" => Some(Codec::opus()),
            "G722" => Some(Codec::g722()),
            "PCMU" => Some(Codec::pcmu()),
            "PCMA" => Some(Codec::pcma()),
            _ => None,
        })
        .collect()
}

impl AudioStream {
    /// The sender id of this stream's notifications, once initialized.
    pub fn sender(&self) -> Option<crate::notification::SenderId> {
        lock(&self.notify).as_ref().map(|(_, s)| *s)
    }

    /// Replaces what is sent (a stream made for an incoming offer starts
    /// with silence).
    pub fn set_source(&self, source: AudioSource) {
        *lock(&self.source) = super::SourceState::new(source);
    }

    /// The direction our next SDP asks for: sendonly while we hold the
    /// peer (inactive if it holds us too, RFC 3264 §8.4).
    fn wanted_direction(&self) -> Direction {
        match (
            self.local_hold.load(Ordering::Relaxed),
            self.remote_hold.load(Ordering::Relaxed),
        ) {
            (false, _) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (true, true) => Direction::Inactive,
        }
    }

    /// Runs the RTP loops on the terms of the exchange just completed.
    fn apply(
        &self,
        local: &SessionDescription,
        remote: &SessionDescription,
        index: usize,
        first: bool,
    ) -> Result<(), StreamError> {
        // Kept until our next m= line: an early answer and the 2xx's
        // are both read against the same offer.
        let keys = match &*lock(&self.sdes) {
            super::SdesState::Offered(offered) => {
                let answer = remote
                    .media
                    .get(index)
                    .ok_or_else(|| StreamError("no such m-line in the answer".into()))?;
                offered
                    .read_answer(self.srtp_policy(), answer)
                    .map_err(StreamError)?
            }
            super::SdesState::Answered(keys) => keys.clone(),
            super::SdesState::None => None,
        };
        *lock(&self.srtp_keys) = keys;
        let negotiation = match &*lock(&self.pending) {
            Some(Pending::Answered(n)) => n.clone(),
            Some(Pending::Offered(formats)) => {
                sdp::offer_answer::read_answer(local, remote, index, formats)
                    .map_err(|e| StreamError(e.to_string()))?
            }
            None => return Err("no offer or answer of this stream to apply".into()),
        };
        let before = lock(&self.negotiation)
            .as_ref()
            .map(|n| (n.send_codec().cloned(), n.remote_rtp));
        let after = (negotiation.send_codec().cloned(), negotiation.remote_rtp);
        self.run_rtp(negotiation).map_err(StreamError)?;
        self.refresh_bridge();
        let held = !remote.direction(index).receives();
        if self.remote_hold.swap(held, Ordering::Relaxed) != held {
            self.post(NotificationData::AudioStreamDidChangeHoldState {
                originator: "remote",
                on_hold: held,
            });
        }
        if !first && before != Some(after) {
            self.post(NotificationData::AudioStreamDidChangeRTPParameters);
        }
        Ok(())
    }

    fn set_local_hold(&self, on: bool) {
        let changed = self.local_hold.swap(on, Ordering::Relaxed) != on;
        self.refresh_bridge();
        if changed {
            self.post(NotificationData::AudioStreamDidChangeHoldState {
                originator: "local",
                on_hold: on,
            });
        }
    }
}

impl MediaStream for AudioStream {
    fn stream_type(&self) -> &'static str {
        "audio"
    }

    fn get_local_media(
        &self,
        remote: Option<(&SessionDescription, usize)>,
    ) -> Result<Media, StreamError> {
        let direction = self.wanted_direction();
        match remote {
            None => {
                let (mut media, formats) = self.offer_with(direction);
                let policy = self.srtp_policy();
                let crypto = super::sdes::OfferedCrypto::new(policy, &self.srtp_suites())
                    .map_err(StreamError)?;
                media.protocol = policy.protocol().to_owned();
                media.attributes.extend(crypto.attributes());
                *lock(&self.pending) = Some(Pending::Offered(formats));
                *lock(&self.sdes) = super::SdesState::Offered(crypto);
                Ok(media)
            }
            Some((offer, index)) => {
                let want = if self.local_hold.load(Ordering::Relaxed) {
                    Direction::SendOnly
                } else {
                    Direction::SendRecv
                };
                let (mut media, negotiation) = self.answer_with(offer, index, want);
                let negotiation = negotiation.map_err(|e| StreamError(e.to_string()))?;
                let offered = offer
                    .media
                    .get(index)
                    .ok_or_else(|| StreamError("no such m-line in the offer".into()))?;
                let answer = super::sdes::answer(self.srtp_policy(), &self.srtp_suites(), offered)
                    .map_err(StreamError)?;
                let keys = answer.map(|(line, keys)| {
                    media.attributes.push(line);
                    keys
                });
                *lock(&self.pending) = Some(Pending::Answered(negotiation));
                *lock(&self.sdes) = super::SdesState::Answered(keys);
                Ok(media)
            }
        }
    }

    fn initialize(
        &self,
        context: StreamContext,
        _direction: StreamDirection,
    ) -> BoxFuture<'_, Result<(), StreamError>> {
        *lock(&self.notify) = Some((context.center, context.sender));
        *lock(&self.recordings) = context.recordings;
        self.initialized.store(true, Ordering::Relaxed);
        self.post(NotificationData::MediaStreamDidInitialize);
        Box::pin(std::future::ready(Ok(())))
    }

    fn start(
        &self,
        local: &SessionDescription,
        remote: &SessionDescription,
        index: usize,
    ) -> Result<(), StreamError> {
        match self.apply(local, remote, index, true) {
            Ok(()) => {
                self.post(NotificationData::MediaStreamDidStart);
                Ok(())
            }
            Err(e) => {
                self.post(NotificationData::MediaStreamDidFail {
                    reason: e.to_string(),
                });
                Err(e)
            }
        }
    }

    fn validate_update(&self, remote: &SessionDescription, index: usize) -> bool {
        remote
            .media
            .get(index)
            .is_some_and(|m| m.media == "audio" && self.srtp_policy().takes(m))
            && self
                .answer_with(remote, index, Direction::SendRecv)
                .1
                .is_ok()
    }

    fn update(
        &self,
        local: &SessionDescription,
        remote: &SessionDescription,
        index: usize,
    ) -> Result<(), StreamError> {
        self.apply(local, remote, index, false)
    }

    fn hold_supported(&self) -> bool {
        true
    }

    fn hold(&self) {
        self.set_local_hold(true);
    }

    fn unhold(&self) {
        self.set_local_hold(false);
    }

    fn on_hold_by_local(&self) -> bool {
        self.local_hold.load(Ordering::Relaxed)
    }

    fn on_hold_by_remote(&self) -> bool {
        self.remote_hold.load(Ordering::Relaxed)
    }

    fn end(&self) {
        if !self.initialized.swap(false, Ordering::Relaxed) {
            return;
        }
        self.post(NotificationData::MediaStreamWillEnd);
        self.stop_rtp();
        self.refresh_bridge();
        self.stop_recording();
        self.post(NotificationData::MediaStreamDidEnd);
    }
}

/// The registry's audio type: takes an RTP/AVP audio m-line with a codec
/// of the account's list it can run, on a port pair from
/// `rtp.port_range`, attached to the application's voice mixer (so the
/// call is heard on the voice device).
#[derive(Debug, Default)]
pub struct AudioStreamType;

/// An audio stream for a session the registry makes: silent until the
/// application gives it a source, on the voice mixer when there is one.
async fn audio_for(settings: &StreamSettings, codecs: Vec<Codec>) -> Option<Arc<dyn MediaStream>> {
    let stream = AudioStream::new(
        settings.local_ip,
        settings.audio.rtp_port_range,
        codecs,
        AudioSource::Silence,
    )
    .await
    .ok()?;
    stream.set_srtp_policy(settings.audio.srtp);
    if let Some(mixer) = &settings.audio.voice_mixer {
        stream.attach(mixer).ok()?;
    }
    Some(Arc::new(stream) as Arc<dyn MediaStream>)
}

impl MediaStreamType for AudioStreamType {
    fn type_name(&self) -> &'static str {
        "audio"
    }

    fn priority(&self) -> i32 {
        10
    }

    fn new_from_sdp<'a>(
        &'a self,
        settings: &'a StreamSettings,
        remote: &'a SessionDescription,
        index: usize,
    ) -> BoxFuture<'a, Option<Arc<dyn MediaStream>>> {
        Box::pin(async move {
            let m = remote.media.get(index)?;
            if m.media != "audio" || m.port == 0 || !settings.audio.srtp.takes(m) {
                return None;
            }
            let codecs = supported_codecs(&settings.audio.codecs);
            let probe = sdp::offer_answer::LocalRtp {
                address: settings.local_ip,
                port: 9,
                codecs: codecs.clone(),
                direction: Direction::SendRecv,
                protocol: "RTP/AVP".into(),
                ptime: None,
                maxptime: None,
                attributes: Vec::new(),
            };
            // RFC 3264 §6: a stream we could only refuse is not taken.
            sdp::offer_answer::answer_media(remote, index, &probe)
                .1
                .ok()?;
            audio_for(settings, codecs).await
        })
    }

    fn new_for_offer<'a>(
        &'a self,
        settings: &'a StreamSettings,
    ) -> BoxFuture<'a, Option<Arc<dyn MediaStream>>> {
        Box::pin(async move { audio_for(settings, supported_codecs(&settings.audio.codecs)).await })
    }
}
