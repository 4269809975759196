//! The loops behind a running AudioStream: the send side (a 20 ms clock
//! reading the source or sending DTMF events) and the receive side
//! (jitter buffer, playout, recording, DTMF detection).

use crate::sync::lock;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use media::jitter::{Frame, JitterBuffer};
use media::rtp::{RtpPacket, RtpSender};
use media::stats::ReceiverStats;
use tokio::net::UdpSocket;

use super::codec::{Encoded, StreamDecoders, StreamEncoder};
use super::{frame_len, AudioStats, Kept, Recording, SourceState};
use crate::notification::{NotificationCenter, NotificationData, SenderId};

/// How long one DTMF event we send lasts: 100 ms.
const DTMF_PER_SECOND: u32 = 10;

/// The (marker, payload) packets of one event still to send.
type EventPackets = std::vec::IntoIter<(bool, [u8; 4])>;

/// The peer's telephone-event payload type, its clock, and our digit
/// queue.
pub(super) type Events = (u8, u32, Arc<Mutex<VecDeque<char>>>);

pub(super) struct SendSide {
    pub(super) socket: Arc<UdpSocket>,
    pub(super) remote: SocketAddr,
    pub(super) payload_type: u8,
    pub(super) codec: StreamEncoder,
    pub(super) source: Arc<Mutex<SourceState>>,
    pub(super) sender: Arc<Mutex<RtpSender>>,
    pub(super) stats: Arc<Mutex<AudioStats>>,
    pub(super) muted: Arc<std::sync::atomic::AtomicBool>,
    /// The mixer port, once attached: it replaces the source.
    pub(super) feed: Arc<Mutex<Option<Arc<super::port::StreamIo>>>>,
    pub(super) events: Option<Events>,
    /// SRTP under our key, when negotiated.
    pub(super) srtp: Option<super::SrtpPair>,
    /// What we send goes into the recording too.
    pub(super) recording: Arc<Mutex<Option<Recording>>>,
}

impl SendSide {
    /// Every 20 ms: the next audio frame, or the next packets of a DTMF
    /// event (RFC 4733 §2.5: all with the event's start timestamp, the
    /// duration growing, the end sent three times; the media clock runs
    /// on meanwhile).
    pub(super) async fn run(mut self) {
        let mut ticks = tokio::time::interval(Duration::from_millis(20));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The stream's rate, for this run: the codec's.
        let rate = self.codec.sample_rate();
        let mut frame = vec![0i16; frame_len(rate)];
        let mut payload = Vec::with_capacity(1500);
        // The first packet after a (re)start marks a talkspurt.
        let mut first = true;
        let mut event: Option<(u32, EventPackets)> = None;
        loop {
            ticks.tick().await;
            if event.is_none() {
                if let Some((_, clock, queue)) = &self.events {
                    let digit = lock(queue).pop_front();
                    if let Some(d) = digit {
                        let start = lock(&self.sender).timestamp();
                        // Durations count the event's clock (RFC 4733 §2.5.1.5).
                        let length = (clock / DTMF_PER_SECOND) as u16;
                        let step = (clock / 50) as u16;
                        if let Ok(p) = media::dtmf::digit_packets(d, length, step, 10) {
                            event = Some((start, p.into_iter()));
                        }
                    }
                }
            }
            let mut packets = Vec::new();
            if let (Some((start, parts)), Some((pt, _, _))) = (event.as_mut(), &self.events) {
                // The update of this tick, and with the last one all
                // three end packets.
                let mut sender = lock(&self.sender);
                for (marker, body) in parts.by_ref() {
                    let end = body.get(1).is_some_and(|f| f & 0x80 != 0);
                    packets.push(sender.packet_at(*pt, marker, &body, *start).to_vec());
                    if !end {
                        break;
                    }
                }
                sender.skip(self.codec.frame_clock());
                // Audio kept for a longer packet would be stamped after
                // the event: it is dropped with the time the event took.
                self.codec.drop_held();
                if parts.len() == 0 {
                    event = None;
                    first = true;
                }
            } else {
                let feed = lock(&self.feed).clone();
                if self.muted.load(std::sync::atomic::Ordering::Relaxed) {
                    frame.fill(0);
                    if let Some(f) = feed {
                        // Keep the queue moving: muted audio is dropped.
                        f.next_to_send(&mut frame);
                        frame.fill(0);
                    }
                } else if let Some(f) = feed {
                    f.next_to_send(&mut frame);
                } else {
                    lock(&self.source).fill(&mut frame, rate);
                }
                if let Some(r) = lock(&self.recording).as_mut() {
                    r.push_sent(&frame, rate);
                }
                let clock = self.codec.frame_clock();
                let mut sender = lock(&self.sender);
                match self.codec.encode(&frame, &mut payload) {
                    Encoded::Packet { frames } => {
                        // Stamped with its first frame's time (RFC 3550 §5.1).
                        let start = sender
                            .timestamp()
                            .wrapping_sub(clock.wrapping_mul(frames.saturating_sub(1)));
                        packets.push(
                            sender
                                .packet_at(self.payload_type, first, &payload, start)
                                .to_vec(),
                        );
                        first = false;
                    }
                    Encoded::Held => {}
                    // After a gap the next packet marks a talkspurt
                    // (RFC 3551 §4.1).
                    Encoded::Nothing => first = true,
                }
                sender.skip(clock);
            }
            for mut packet in packets {
                if let Some(pair) = &self.srtp {
                    match lock(&pair.send).protect_rtp(&packet) {
                        Ok(p) => packet = p,
                        Err(_) => continue,
                    }
                }
                if self.socket.send_to(&packet, self.remote).await.is_ok() {
                    lock(&self.stats).packets_sent += 1;
                }
            }
        }
    }
}

/// Aborts its task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub(super) struct ReceiveSide {
    pub(super) socket: Arc<UdpSocket>,
    pub(super) formats: Vec<(u8, sdp::offer_answer::Codec)>,
    /// The RTP clock of the codec we expect (the first we receive):
    /// the unit of arrival times and of the jitter buffer's frames.
    pub(super) clock: u32,
    /// The stream's rate: what the playout decodes to.
    pub(super) rate: u32,
    /// Our telephone-event payload type.
    pub(super) events: Option<u8>,
    pub(super) recorded: Arc<Mutex<Kept>>,
    /// Seconds of `recorded` to keep.
    pub(super) keep: Arc<std::sync::atomic::AtomicU32>,
    pub(super) stats: Arc<Mutex<AudioStats>>,
    pub(super) notify: Arc<Mutex<Option<(NotificationCenter, SenderId)>>>,
    pub(super) recording: Arc<Mutex<Option<Recording>>>,
    pub(super) receiver: Arc<Mutex<Option<ReceiverStats>>>,
    /// Where the last packet came from.
    pub(super) received_from: Arc<Mutex<Option<SocketAddr>>>,
    pub(super) feed: Arc<Mutex<Option<Arc<super::port::StreamIo>>>>,
    /// Silence this long while we expect audio is a timeout (None: we
    /// expect none).
    pub(super) timeout: Option<Duration>,
    /// SRTP under the peer's key, when negotiated.
    pub(super) srtp: Option<super::SrtpPair>,
    /// Where the peer's SDP said its RTP comes from.
    pub(super) expected: Option<SocketAddr>,
}

/// How long an SSRC must be silent before another one takes its place
/// (a peer that restarts its stream; a stranger's packets in between
/// are dropped).
const SSRC_SWITCH: Duration = Duration::from_millis(500);

/// Which packets belong to the stream (issue 13: RTP was taken from any
/// address and SSRC). The source is the address the peer's SDP gave,
/// or, when the first valid packet comes from elsewhere (a peer behind
/// NAT), that first one; the negotiated address can always take over.
/// One SSRC at a time: a new one only after the old went quiet.
#[derive(Debug, Default)]
pub(super) struct Latch {
    expected: Option<SocketAddr>,
    source: Option<SocketAddr>,
    ssrc: Option<u32>,
    last: Option<tokio::time::Instant>,
}

/// What the latch made of a packet.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Latched {
    Take,
    /// The stream's new SSRC: its sequence starts over.
    NewSsrc,
    Drop,
}

impl Latch {
    pub(super) fn new(expected: Option<SocketAddr>) -> Latch {
        Latch {
            expected,
            ..Latch::default()
        }
    }

    pub(super) fn check(
        &mut self,
        from: SocketAddr,
        ssrc: u32,
        now: tokio::time::Instant,
    ) -> Latched {
        match self.source {
            Some(s) if s != from && Some(from) != self.expected => return Latched::Drop,
            _ => self.source = Some(from),
        }
        let verdict = match self.ssrc {
            Some(x) if x == ssrc => Latched::Take,
            Some(_)
                if self
                    .last
                    .is_some_and(|l| now.duration_since(l) < SSRC_SWITCH) =>
            {
                return Latched::Drop
            }
            Some(_) => Latched::NewSsrc,
            None => Latched::Take,
        };
        self.ssrc = Some(ssrc);
        self.last = Some(now);
        verdict
    }
}

impl ReceiveSide {
    fn post(&self, data: NotificationData) {
        if let Some((center, sender)) = lock(&self.notify).as_ref() {
            center.post(*sender, data);
        }
    }

    /// Packets go into the jitter buffer as they arrive; a playout task
    /// takes one frame every 20 ms, decodes it (or conceals a missing
    /// one), and hands it to the recording.
    pub(super) async fn run(self) {
        let jitter = Arc::new(Mutex::new(JitterBuffer::new(self.clock / 50, 2, 10)));
        // Aborted with this task (the stream stops by aborting it, so a
        // plain abort after the loop would never run: measured, every
        // ended call left its playout ticking).
        let _playout = AbortOnDrop(tokio::spawn(playout(
            jitter.clone(),
            StreamDecoders::new(self.formats.clone(), self.rate),
            (self.recorded.clone(), self.keep.clone()),
            self.recording.clone(),
            self.feed.clone(),
        )));
        let mut buf = [0u8; 2048];
        let mut digits = media::dtmf::EventReceiver::default();
        let started = tokio::time::Instant::now();
        let mut tagged = Vec::with_capacity(1500);
        let mut timed_out = false;
        let mut latch = Latch::new(self.expected);
        loop {
            let got = match self.timeout {
                Some(t) => match tokio::time::timeout(t, self.socket.recv_from(&mut buf)).await {
                    Ok(got) => got,
                    Err(_) => {
                        // Once per silence: media that comes back re-arms it.
                        if !std::mem::replace(&mut timed_out, true) {
                            self.post(NotificationData::AudioStreamDidTimeout);
                        }
                        continue;
                    }
                },
                None => self.socket.recv_from(&mut buf).await,
            };
            let Ok((n, from)) = got else { break };
            let data = buf.get(..n).unwrap_or(&[]);
            let plain = match &self.srtp {
                // A packet that fails authentication or replays is
                // dropped as if it never came (RFC 3711 §3.3).
                Some(pair) => match lock(&pair.receive).unprotect_rtp(data) {
                    Ok(p) => std::borrow::Cow::Owned(p),
                    Err(_) => {
                        lock(&self.stats).srtp_refused += 1;
                        continue;
                    }
                },
                None => std::borrow::Cow::Borrowed(data),
            };
            let Ok(packet) = RtpPacket::parse(&plain) else {
                continue;
            };
            match latch.check(from, packet.ssrc, tokio::time::Instant::now()) {
                Latched::Drop => {
                    lock(&self.stats).packets_dropped += 1;
                    continue;
                }
                // Statistics start over with the new source (RFC 3550 §8).
                Latched::NewSsrc => *lock(&self.receiver) = None,
                Latched::Take => {}
            }
            timed_out = false;
            *lock(&self.received_from) = Some(from);
            let arrival =
                (started.elapsed().as_micros() * u128::from(self.clock) / 1_000_000) as u32;
            {
                let mut source = lock(&self.receiver);
                let s =
                    source.get_or_insert_with(|| ReceiverStats::new(packet.ssrc, packet.sequence));
                s.on_packet(packet.sequence, packet.timestamp, arrival);
                let mut st = lock(&self.stats);
                st.packets_received += 1;
                st.lost = s.lost().max(0);
                st.jitter = s.jitter_units();
            }
            if Some(packet.payload_type) == self.events {
                if let Some(digit) = digits.on_packet(packet.timestamp, packet.payload) {
                    self.post(NotificationData::AudioStreamGotDTMF { digit });
                }
                continue;
            }
            // The payload type rides along in front of the payload.
            tagged.clear();
            tagged.push(packet.payload_type);
            tagged.extend_from_slice(packet.payload);
            lock(&jitter).push(packet.timestamp, &tagged, arrival);
        }
    }
}

/// Every 20 ms: the next frame out of the jitter buffer, decoded or
/// concealed, into the recording.
async fn playout(
    jitter: Arc<Mutex<JitterBuffer>>,
    mut decoders: StreamDecoders,
    (recorded, keep): (Arc<Mutex<Kept>>, Arc<std::sync::atomic::AtomicU32>),
    recording: Arc<Mutex<Option<Recording>>>,
    feed: Arc<Mutex<Option<Arc<super::port::StreamIo>>>>,
) {
    let mut ticks = tokio::time::interval(Duration::from_millis(20));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut samples = Vec::new();
    loop {
        ticks.tick().await;
        // After a gap, the next packet (if here) for codecs with FEC.
        let (frame, next) = {
            let mut j = lock(&jitter);
            let frame = j.pop();
            let next = (frame == Frame::Missing)
                .then(|| j.peek().map(<[u8]>::to_vec))
                .flatten();
            (frame, next)
        };
        samples.clear();
        match frame {
            Frame::Audio(tagged) => {
                let (pt, payload) = tagged.split_first().map_or((0, &[][..]), |(p, r)| (*p, r));
                if !decoders.decode(pt, payload, &mut samples) {
                    continue;
                }
            }
            Frame::Missing => decoders.conceal(next.as_deref(), &mut samples),
            Frame::Idle => continue,
        }
        if let Some(f) = lock(&feed).as_ref() {
            f.push_received(&samples);
        }
        if let Some(r) = lock(&recording).as_mut() {
            r.push_received(&samples, decoders.rate());
        }
        let keep = keep.load(std::sync::atomic::Ordering::Relaxed);
        if keep > 0 {
            let mut kept = lock(&recorded);
            let limit = keep as usize * kept.rate as usize;
            // A restart at another rate converted what was kept; a frame
            // of this run's rate, decoded before its abort took, is left
            // out rather than mixed in at the wrong rate.
            if kept.rate == decoders.rate() && kept.samples.len() + samples.len() <= limit {
                kept.samples.extend_from_slice(&samples);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latch_keeps_one_source_and_one_ssrc_at_a_time() {
        let sdp: SocketAddr = "192.0.2.1:4000".parse().unwrap();
        let nat: SocketAddr = "198.51.100.7:6123".parse().unwrap();
        let stranger: SocketAddr = "203.0.113.9:9999".parse().unwrap();
        let t0 = tokio::time::Instant::from_std(std::time::Instant::now());
        let now = || t0;
        // The first valid packet may come from elsewhere (NAT).
        let mut l = Latch::new(Some(sdp));
        assert_eq!(l.check(nat, 1, now()), Latched::Take);
        assert_eq!(l.check(stranger, 1, now()), Latched::Drop);
        // The negotiated address can take over.
        assert_eq!(l.check(sdp, 1, now()), Latched::Take);
        assert_eq!(l.check(nat, 1, now()), Latched::Drop);
        // Another SSRC while the first is alive: dropped; once it has
        // been quiet for SSRC_SWITCH, it is the stream's new one.
        assert_eq!(l.check(sdp, 2, now()), Latched::Drop);
        let later = t0 + SSRC_SWITCH;
        assert_eq!(l.check(sdp, 2, later), Latched::NewSsrc);
        assert_eq!(l.check(sdp, 1, later), Latched::Drop);
    }
}
