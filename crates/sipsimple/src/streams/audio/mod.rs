//! AudioStream: RTP over UDP with Opus, G.722 and G.711 (PCMU, PCMA) in
//! the order of `rtp.audio_codec_list`, and RFC 4733 telephone-events on
//! each offered codec's clock (8000, and 48000 next to Opus), on a port
//! pair from the configured range. Audio comes from an [`AudioSource`]
//! and what arrives is decoded into a bounded recording, 20 ms per
//! packet.
//!
//! The stream's rate follows the negotiated codec: it runs at the PCM
//! rate of the codec it sends with ([`AudioStream::sample_rate`]: 8000
//! for G.711, 16000 for G.722, 48000 for Opus), chosen again whenever a
//! renegotiation restarts it. Sources produce at that rate (`source.rs`),
//! recordings keep it, and its mixer port converts between it and the
//! mixer's rate (`port.rs`). Why not a fixed wide rate: a G.711 call, the
//! bulk of calls under load, would then pay for two converters it has no
//! use for, and a wideband call already runs at its codec's rate without
//! any; with the rate following the codec, the encoder never converts
//! and an Opus call on a 48 kHz mixer converts nowhere. What a narrower
//! codec cannot carry is gone at the source (a tone above half the rate
//! is left out, samples are band-limited by the converter), never
//! folded back as an alias.
//!
//! Arriving audio goes through an adaptive jitter buffer (40-200 ms) and
//! is played out every 20 ms, a missing packet concealed.
//!
//! RTCP reports go out every 5 s (`rtcp.rs`). The stream is a
//! [`MediaStream`](crate::streams::MediaStream) (`media_stream.rs`); the
//! RTP loops are in `rtp_io.rs`.
//!
//! SRTP with SDES keys (`sdes.rs`, RFC 4568) under the account's
//! `rtp.srtp_encryption`: the send and RTCP loops protect with our key,
//! the receive loops unprotect with the peer's (`media::srtp`).
//!
//! Not yet: ICE.

mod codec;
mod media_stream;
mod port;
mod recording;
mod rtcp;
mod rtp_io;
pub mod sdes;
mod source;

pub use crate::streams::settings::AudioSettings;
pub use media_stream::{supported_codecs, AudioStreamType};
pub use source::{read_wav, AudioSource};

use crate::sync::lock;
use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use media::rtp::RtpSender;
use media::stats::ReceiverStats;
use sdp::offer_answer::{Codec, LocalRtp, PayloadFormat, RtpNegotiation};
use sdp::{Direction, Media};
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

use crate::notification::{NotificationCenter, NotificationData, SenderId};
use recording::Recording;
use source::SourceState;

/// The stream's rate before a codec is negotiated (nothing flows then).
const DEFAULT_RATE: u32 = 8000;
/// What `keep_received` may keep, in seconds: a bound in time, so a
/// 48 kHz call keeps as long as a G.711 one (6 times the memory).
const MAX_KEPT_SECONDS: u32 = 600;

/// Samples in a 20 ms frame at `rate`.
pub(crate) fn frame_len(rate: u32) -> usize {
    (rate / 50) as usize
}

/// The PCM rate of `codec`, if we run it.
fn pcm_rate(codec: &Codec) -> Option<u32> {
    media::codec::rates(&codec.encoding, codec.clock_rate).map(|(rate, _)| rate)
}

/// What `keep_received` asked to keep: the samples, at the stream's
/// rate (converted when a renegotiation changes it).
#[derive(Default)]
pub(crate) struct Kept {
    pub(crate) rate: u32,
    pub(crate) samples: Vec<i16>,
}

/// The outcome of answering an offer.
pub type Answered = Result<RtpNegotiation, sdp::offer_answer::NegotiationError>;

/// What the stream measured, for tests and the status line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AudioStats {
    pub packets_sent: u32,
    pub packets_received: u32,
    /// RTP from another source or SSRC than the stream's, dropped.
    pub packets_dropped: u32,
    /// SRTP packets refused (RFC 3711 §3.3): a tag that does not check
    /// under the peer's current key, a replay, or older than the window.
    pub srtp_refused: u32,
    pub lost: i64,
    pub jitter: u32,
    pub rtcp_sent: u32,
    pub rtcp_received: u32,
    /// What the peer's last report says of our stream.
    pub remote_fraction_lost: Option<u8>,
    pub remote_jitter: Option<u32>,
    pub remote_highest_sequence: Option<u32>,
}

struct Running {
    tasks: Vec<JoinHandle<()>>,
}

/// The SRTP contexts of a running stream: ours protects RTP and RTCP we
/// send, the peer's unprotects what arrives (RFC 3711: one per direction).
#[derive(Clone)]
pub(crate) struct SrtpPair {
    pub(crate) send: Arc<Mutex<media::srtp::SrtpContext>>,
    pub(crate) receive: Arc<Mutex<media::srtp::SrtpContext>>,
}

impl SrtpPair {
    /// Fails when a key's lengths are not the suite's (SDES checks
    /// this before, so only a bug gets here).
    fn new(keys: &sdes::SrtpKeys) -> Result<SrtpPair, String> {
        use media::srtp::SrtpContext;
        let context = |key| {
            SrtpContext::new(keys.profile, key)
                .map(|c| Arc::new(Mutex::new(c)))
                .map_err(|e| e.to_string())
        };
        Ok(SrtpPair {
            send: context(&keys.send)?,
            receive: context(&keys.receive)?,
        })
    }
}

/// Where the SDES exchange of our last m= line stands.
#[derive(Default)]
pub(crate) enum SdesState {
    #[default]
    None,
    /// We offered these crypto lines.
    Offered(sdes::OfferedCrypto),
    /// We answered: these keys, or plain RTP.
    Answered(Option<sdes::SrtpKeys>),
}

/// One audio stream of a session.
pub struct AudioStream {
    rtp: Arc<UdpSocket>,
    rtcp: Arc<UdpSocket>,
    local: SocketAddr,
    /// What our next offer or answer may use, telephone-events included.
    codecs: Mutex<Vec<Codec>>,
    /// The source and how far it has been read: shared with the send
    /// loop, so a restart (hold, unhold) carries on where it was.
    source: Arc<Mutex<SourceState>>,
    /// The stream's rate: the PCM rate of the codec it last started
    /// with (`DEFAULT_RATE` before).
    rate: std::sync::atomic::AtomicU32,
    /// SSRC, sequence and clock survive restarts (RFC 3550 §5.1).
    sender: Arc<Mutex<RtpSender>>,
    recorded: Arc<Mutex<Kept>>,
    /// How many seconds of received audio `recorded` keeps (0: none; an
    /// SDK stream keeps nothing unless asked, tests and the demo ask).
    keep: Arc<std::sync::atomic::AtomicU32>,
    stats: Arc<Mutex<AudioStats>>,
    negotiation: Mutex<Option<RtpNegotiation>>,
    running: Mutex<Option<Running>>,
    /// Digits waiting to be sent as RFC 4733 events.
    dtmf: Arc<Mutex<VecDeque<char>>>,
    /// Where AudioStreamGotDTMF goes (set by the session).
    notify: Arc<Mutex<Option<(NotificationCenter, SenderId)>>>,
    /// Where `start_recording(None)` writes (from the session).
    recordings: Mutex<Option<crate::streams::RecordingDefaults>>,
    /// Both directions are also written here while recording.
    recording: Arc<Mutex<Option<Recording>>>,
    /// Send silence instead of the source (the source does not advance).
    muted: Arc<std::sync::atomic::AtomicBool>,
    /// The source we receive, shared by the receive side and RTCP.
    receiver: Arc<Mutex<Option<ReceiverStats>>>,
    /// How often RTCP reports go out (RFC 3550 §6.2: 5 s).
    rtcp_interval: Mutex<Duration>,
    /// Where RTP last came from.
    received_from: Arc<Mutex<Option<SocketAddr>>>,
    /// No RTP for this long while expecting some: AudioStreamDidTimeout.
    rtp_timeout: Mutex<Duration>,
    /// Held by us / by the peer (IMediaStream's on_hold_by_*).
    local_hold: std::sync::atomic::AtomicBool,
    remote_hold: std::sync::atomic::AtomicBool,
    /// What our last m= line offered or answered, until the SDP it was
    /// in is negotiated.
    pending: Mutex<Option<media_stream::Pending>>,
    /// Set by `initialize`: where MediaStream* notifications go.
    initialized: std::sync::atomic::AtomicBool,
    /// Once attached to a mixer: the stream's port (what it sends comes
    /// from there, what it receives goes there), shared with the loops.
    feed: Arc<Mutex<Option<Arc<port::StreamIo>>>>,
    audio: Mutex<Option<Attached>>,
    /// `rtp.srtp_encryption` of the stream's account.
    srtp_policy: Mutex<sdes::SrtpPolicy>,
    /// The suites we offer, in order, and accept.
    srtp_suites: Mutex<Vec<media::srtp::SrtpProfile>>,
    /// The SDES side of the exchange in progress.
    sdes: Mutex<SdesState>,
    /// The keys the last completed exchange agreed on (None: plain RTP).
    srtp_keys: Mutex<Option<sdes::SrtpKeys>>,
}

/// A stream on a mixer: its port, and its bridge with the mixer's device
/// (the stream joins that bridge while active: started, not held).
struct Attached {
    port: Arc<port::StreamPort>,
    bridge: Arc<crate::audio::AudioBridge>,
    /// The bridge holds ports weakly; the device lives here.
    _device: Arc<crate::audio::AudioDevice>,
}

impl std::fmt::Debug for AudioStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioStream")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

/// Binds an even RTP port and the odd RTCP port above it, trying the
/// range from a random start.
async fn bind_pair(ip: IpAddr, range: (u16, u16)) -> std::io::Result<(UdpSocket, UdpSocket)> {
    let (start, end) = range;
    let pairs = u32::from((end - start) / 2).max(1);
    let first = crate::random::below(pairs);
    for i in 0..pairs {
        let port = start + (((first + i) % pairs) * 2) as u16;
        let Ok(rtp) = UdpSocket::bind((ip, port)).await else {
            continue;
        };
        if let Ok(rtcp) = UdpSocket::bind((ip, port + 1)).await {
            return Ok((rtp, rtcp));
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AddrInUse,
        format!("no free RTP port pair in {start}-{end}"),
    ))
}

/// `codecs` with telephone-event on the clock of each (RFC 4733 §2.1:
/// 8000, and 48000 next to Opus), unless the list has its own.
fn with_events(mut codecs: Vec<Codec>) -> Vec<Codec> {
    let mut clocks: Vec<u32> = codecs
        .iter()
        .filter(|c| !c.is_telephone_event())
        .map(|c| c.clock_rate)
        .collect();
    clocks.sort_unstable();
    clocks.dedup();
    for clock in clocks {
        let has = |c: &Codec| c.is_telephone_event() && c.clock_rate == clock;
        if !codecs.iter().any(has) {
            codecs.push(Codec::telephone_event_at(clock));
        }
    }
    if !codecs.iter().any(Codec::is_telephone_event) {
        codecs.push(Codec::telephone_event());
    }
    codecs
}

impl AudioStream {
    /// A stream on `ip`, with a port pair from `range`, offering `codecs`
    /// (telephone-event is added).
    pub async fn new(
        ip: IpAddr,
        range: (u16, u16),
        codecs: Vec<Codec>,
        source: AudioSource,
    ) -> std::io::Result<AudioStream> {
        let (rtp, rtcp) = bind_pair(ip, range).await?;
        // Bound to every address, the SDP still needs one: the address on
        // the default route (connecting a UDP socket sends nothing), else
        // loopback.
        let advertised = if ip.is_unspecified() {
            std::net::UdpSocket::bind((ip, 0))
                .and_then(|s| s.connect(("192.0.2.1", 9)).and_then(|()| s.local_addr()))
                .map(|a| a.ip())
                .unwrap_or(IpAddr::from([127, 0, 0, 1]))
        } else {
            ip
        };
        let local = SocketAddr::new(advertised, rtp.local_addr()?.port());
        Ok(AudioStream {
            rtp: Arc::new(rtp),
            rtcp: Arc::new(rtcp),
            local,
            codecs: Mutex::new(with_events(codecs)),
            source: Arc::new(Mutex::new(SourceState::new(source))),
            rate: std::sync::atomic::AtomicU32::new(DEFAULT_RATE),
            sender: Arc::new(Mutex::new(RtpSender::new(
                crate::random::below(u32::MAX),
                crate::random::below(u32::from(u16::MAX)) as u16,
                crate::random::below(u32::MAX),
            ))),
            recorded: Arc::new(Mutex::new(Kept {
                rate: DEFAULT_RATE,
                samples: Vec::new(),
            })),
            keep: Arc::new(std::sync::atomic::AtomicU32::new(0)),
            stats: Arc::new(Mutex::new(AudioStats::default())),
            negotiation: Mutex::new(None),
            running: Mutex::new(None),
            dtmf: Arc::new(Mutex::new(VecDeque::new())),
            notify: Arc::new(Mutex::new(None)),
            recordings: Mutex::new(None),
            recording: Arc::new(Mutex::new(None)),
            muted: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            receiver: Arc::new(Mutex::new(None)),
            rtcp_interval: Mutex::new(Duration::from_secs(5)),
            received_from: Arc::new(Mutex::new(None)),
            rtp_timeout: Mutex::new(Duration::from_secs(30)),
            local_hold: Default::default(),
            remote_hold: Default::default(),
            pending: Mutex::new(None),
            initialized: Default::default(),
            feed: Arc::new(Mutex::new(None)),
            audio: Mutex::new(None),
            srtp_policy: Mutex::new(sdes::SrtpPolicy::Disabled),
            srtp_suites: Mutex::new(media::srtp::SrtpProfile::ALL.to_vec()),
            sdes: Mutex::new(SdesState::None),
            srtp_keys: Mutex::new(None),
        })
    }

    /// The local RTP address as our SDP gives it (for a stream bound to
    /// every address, the one on the default route).
    pub fn local_rtp(&self) -> SocketAddr {
        self.local
    }

    /// Replaces the codecs (most preferred first) our next offer or
    /// answer uses: a re-INVITE after this (hold, unhold, a peer's new
    /// offer) renegotiates the codec, and the stream restarts with it.
    pub fn set_codecs(&self, codecs: Vec<Codec>) {
        *lock(&self.codecs) = with_events(codecs);
    }

    fn local_rtp_config(&self, direction: Direction) -> LocalRtp {
        LocalRtp {
            address: self.local.ip(),
            port: self.local.port(),
            codecs: lock(&self.codecs).clone(),
            direction,
            protocol: "RTP/AVP".into(),
            ptime: Some(20),
            // The playout takes 20 ms packets (RFC 7587's default).
            maxptime: Some(20),
            attributes: Vec::new(),
        }
    }

    /// The m= line for an offer with `direction`, and what it offers.
    fn offer_with(&self, direction: Direction) -> (Media, Vec<PayloadFormat>) {
        sdp::offer_answer::offer_media(&self.local_rtp_config(direction))
    }

    /// Answers media `index` of `offer`, wanting at most `direction`.
    fn answer_with(
        &self,
        offer: &sdp::SessionDescription,
        index: usize,
        direction: Direction,
    ) -> (Media, Answered) {
        sdp::offer_answer::answer_media(offer, index, &self.local_rtp_config(direction))
    }

    /// The direction negotiated last, once started.
    pub fn direction(&self) -> Option<Direction> {
        lock(&self.negotiation).as_ref().map(|n| n.direction)
    }

    /// Keeps up to `seconds` (at most 600) of what arrives, decoded, for
    /// [`AudioStream::recorded`]. Off by default.
    pub fn keep_received(&self, seconds: u32) {
        self.keep.store(
            seconds.min(MAX_KEPT_SECONDS),
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    /// The samples received so far (decoded, at
    /// [`AudioStream::recorded_rate`]), if `keep_received` asked for them.
    pub fn recorded(&self) -> Vec<i16> {
        lock(&self.recorded).samples.clone()
    }

    /// The rate of [`AudioStream::recorded`]: the stream's. A
    /// renegotiation to a codec of another rate converts what was kept
    /// (so earlier lengths of `recorded()` no longer line up with it).
    pub fn recorded_rate(&self) -> u32 {
        lock(&self.recorded).rate
    }

    /// The stream's rate now: the negotiated codec's once started.
    fn stream_rate(&self) -> u32 {
        self.rate.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn stats(&self) -> AudioStats {
        lock(&self.stats).clone()
    }

    /// Sends `digit` (0-9, *, #, A-D) as an RFC 4733 event of 100 ms,
    /// in place of audio while it lasts. Needs telephone-event to have
    /// been negotiated.
    pub fn send_dtmf(&self, digit: char) -> Result<(), String> {
        media::dtmf::digit_event(digit).map_err(|e| e.to_string())?;
        let negotiated = lock(&self.negotiation)
            .as_ref()
            .and_then(RtpNegotiation::send_telephone_event)
            .is_some();
        if !negotiated {
            return Err("the peer did not accept telephone-event".into());
        }
        lock(&self.dtmf).push_back(digit);
        Ok(())
    }

    fn post(&self, data: NotificationData) {
        if let Some((center, sender)) = lock(&self.notify).as_ref() {
            center.post(*sender, data);
        }
    }

    /// Records the call from now on to `path` (a WAV file, mono 16-bit at
    /// the stream's rate: the negotiated codec's once started, before
    /// that the highest of its codecs, so a wideband call is recorded
    /// wideband; audio of another rate, after a renegotiation, is
    /// converted to the file's): what we send and what arrives, mixed.
    /// Posts AudioStreamWillStartRecordingAudio and
    /// DidStartRecordingAudio; returns the file. Without a path the
    /// file is `audio.recordings_directory/YYYYMMDD-HHMMSS-LOCAL-REMOTE.wav`
    /// (the directory is made). A recording already running is stopped
    /// first.
    pub fn start_recording(
        &self,
        path: Option<&std::path::Path>,
    ) -> Result<std::path::PathBuf, String> {
        self.record(path, true)
    }

    /// Like [`AudioStream::start_recording`] to `path`, but only what
    /// arrives (not in the spec: what a peer sent, for tools and tests
    /// that check it).
    pub fn start_recording_received(
        &self,
        path: &std::path::Path,
    ) -> Result<std::path::PathBuf, String> {
        self.record(Some(path), false)
    }

    fn record(
        &self,
        path: Option<&std::path::Path>,
        both: bool,
    ) -> Result<std::path::PathBuf, String> {
        let path = match path {
            Some(p) => p.to_owned(),
            None => {
                let defaults = lock(&self.recordings).clone().ok_or_else(|| {
                    "no file name, and the stream is in no session to name one after".to_owned()
                })?;
                std::fs::create_dir_all(&defaults.directory)
                    .map_err(|e| format!("{}: {e}", defaults.directory.display()))?;
                defaults.path(std::time::SystemTime::now())
            }
        };
        let path = path.as_path();
        self.stop_recording();
        let filename = path.display().to_string();
        self.post(NotificationData::AudioStreamWillStartRecordingAudio {
            filename: filename.clone(),
        });
        let rate = if lock(&self.running).is_some() {
            self.stream_rate()
        } else {
            lock(&self.codecs)
                .iter()
                .filter_map(pcm_rate)
                .max()
                .unwrap_or(DEFAULT_RATE)
        };
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer =
            hound::WavWriter::create(path, spec).map_err(|e| format!("{filename}: {e}"))?;
        *lock(&self.recording) = Some(Recording::new(path.to_owned(), writer, rate, both));
        self.post(NotificationData::AudioStreamDidStartRecordingAudio { filename });
        Ok(path.to_owned())
    }

    /// Finishes the WAV file, if recording (Will/DidStopRecordingAudio).
    pub fn stop_recording(&self) {
        let Some(r) = lock(&self.recording).take() else {
            return;
        };
        let filename = r.path.display().to_string();
        self.post(NotificationData::AudioStreamWillStopRecordingAudio {
            filename: filename.clone(),
        });
        r.finish();
        self.post(NotificationData::AudioStreamDidStopRecordingAudio { filename });
    }

    /// Sets how often RTCP reports are sent (from the next start); RFC
    /// 3550's 5 s is the default.
    pub fn set_rtcp_interval(&self, interval: Duration) {
        *lock(&self.rtcp_interval) = interval.max(Duration::from_millis(100));
    }

    /// Puts the stream on `mixer` (the application's voice mixer, for a
    /// softphone): its audio then comes from the mixer and what it
    /// receives goes there, through a bridge with the mixer's device that
    /// the stream joins while active. The AudioSource is no longer used.
    pub fn attach(&self, mixer: &crate::audio::AudioMixer) -> Result<(), String> {
        let port = port::StreamPort::new(mixer)?;
        port.io.set_stream_rate(self.stream_rate());
        let bridge = crate::audio::AudioBridge::new(mixer);
        let device = mixer.device();
        let as_port: Arc<dyn crate::audio::AudioPort> = device.clone();
        bridge.add(&as_port).map_err(|e| e.to_string())?;
        *lock(&self.feed) = Some(port.io.clone());
        *lock(&self.audio) = Some(Attached {
            port,
            bridge,
            _device: device,
        });
        self.refresh_bridge();
        Ok(())
    }

    /// The stream as an audio port, once attached to a mixer.
    pub fn port(&self) -> Option<Arc<dyn crate::audio::AudioPort>> {
        lock(&self.audio)
            .as_ref()
            .map(|a| a.port.clone() as Arc<dyn crate::audio::AudioPort>)
    }

    /// The stream's bridge (the spec's `bridge`): the mixer's device
    /// (lent to the conference while the stream is in an AudioConference),
    /// and the stream while it is active. Add a WaveRecorder or WavePlayer
    /// here to record or play into the call.
    pub fn bridge(&self) -> Option<Arc<crate::audio::AudioBridge>> {
        lock(&self.audio).as_ref().map(|a| a.bridge.clone())
    }

    /// Joins or leaves the bridge as the stream becomes active or not.
    pub(crate) fn refresh_bridge(&self) {
        let active = lock(&self.running).is_some()
            && !self.local_hold.load(std::sync::atomic::Ordering::Relaxed);
        if let Some(a) = lock(&self.audio).as_ref() {
            let port: Arc<dyn crate::audio::AudioPort> = a.port.clone();
            if active {
                let _ = a.bridge.add(&port);
            } else if a.bridge.contains(&port) {
                let _ = a.bridge.remove(&port);
            }
        }
    }

    /// How long no RTP may arrive, while the negotiated direction
    /// expects some, before AudioStreamDidTimeout (30 s by default;
    /// taken at the next start).
    pub fn set_rtp_timeout(&self, timeout: Duration) {
        *lock(&self.rtp_timeout) = timeout.max(Duration::from_millis(100));
    }

    /// The audio sample rate of the negotiated codec, once started: 8000
    /// for G.711, 16000 for G.722 (whose RTP clock is 8000), 48000 for
    /// Opus.
    /// Also the stream's own rate: what its source plays, its recordings
    /// keep and its mixer port exchanges.
    pub fn sample_rate(&self) -> Option<u32> {
        lock(&self.negotiation)
            .as_ref()
            .and_then(|n| pcm_rate(&n.send_codec()?.codec))
    }

    /// Where the peer's SDP says to send RTP (None before the start, or
    /// when it wants none).
    pub fn remote_rtp_address_sdp(&self) -> Option<SocketAddr> {
        lock(&self.negotiation).as_ref().and_then(|n| n.remote_rtp)
    }

    /// Where RTP actually comes from (it may differ behind a NAT).
    pub fn remote_rtp_address_received(&self) -> Option<SocketAddr> {
        *lock(&self.received_from)
    }

    /// Whether the running stream is protected by SRTP (the last offer
    /// and answer agreed on keys).
    pub fn srtp_active(&self) -> bool {
        lock(&self.running).is_some() && lock(&self.srtp_keys).is_some()
    }

    /// The SRTP policy of the stream's next offers and answers
    /// (`rtp.srtp_encryption`; streams made by the registry take their
    /// account's).
    pub fn set_srtp_policy(&self, policy: sdes::SrtpPolicy) {
        *lock(&self.srtp_policy) = policy;
    }

    pub fn srtp_policy(&self) -> sdes::SrtpPolicy {
        *lock(&self.srtp_policy)
    }

    /// The SDES suites of the next offers (one crypto line each, in this
    /// order) and the ones an answer may take; all we run by default.
    pub fn set_srtp_suites(&self, suites: &[media::srtp::SrtpProfile]) {
        *lock(&self.srtp_suites) = suites.to_vec();
    }

    pub fn srtp_suites(&self) -> Vec<media::srtp::SrtpProfile> {
        lock(&self.srtp_suites).clone()
    }

    /// The suite the running stream's SRTP uses, if any.
    pub fn srtp_suite(&self) -> Option<media::srtp::SrtpProfile> {
        let keys = lock(&self.srtp_keys).as_ref().map(|k| k.profile);
        keys.filter(|_| self.srtp_active())
    }

    /// ICE is not built yet: always false.
    pub fn ice_active(&self) -> bool {
        false
    }

    /// Sends silence while muted (the input mute of the spec's device,
    /// per stream).
    pub fn set_muted(&self, muted: bool) {
        self.muted
            .store(muted, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn is_muted(&self) -> bool {
        self.muted.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The file being recorded to, if any.
    pub fn recording_filename(&self) -> Option<std::path::PathBuf> {
        lock(&self.recording).as_ref().map(|r| r.path.clone())
    }

    /// The negotiated codec we send with, once started.
    pub fn codec(&self) -> Option<String> {
        lock(&self.negotiation)
            .as_ref()
            .and_then(|n| n.send_codec().map(|f| f.codec.encoding.clone()))
    }

    /// Starts sending and receiving as `negotiation` says; called again
    /// after a renegotiation (hold, unhold) it restarts with the new
    /// terms, keeping the RTP stream's identity.
    fn run_rtp(&self, negotiation: RtpNegotiation) -> Result<(), String> {
        self.stop_rtp();
        let send = negotiation
            .send_codec()
            .cloned()
            .ok_or("no codec to send with")?;
        let encoder =
            codec::StreamEncoder::with_ptime(&send.codec, negotiation.ptime, negotiation.maxptime)?;
        // The stream's rate is the send codec's from now on.
        let rate = encoder.sample_rate();
        self.rate.store(rate, std::sync::atomic::Ordering::Relaxed);
        {
            let mut kept = lock(&self.recorded);
            if kept.rate != rate {
                let old = std::mem::take(&mut kept.samples);
                kept.samples = media::resample::FrameResampler::convert_all(kept.rate, rate, &old)
                    .unwrap_or_default();
                kept.rate = rate;
            }
        }
        if let Some(feed) = lock(&self.feed).as_ref() {
            feed.set_stream_rate(rate);
        }
        let receive: Vec<(u8, Codec)> = negotiation
            .receive
            .iter()
            .filter(|f| !f.codec.is_telephone_event())
            .map(|f| (f.payload_type, f.codec.clone()))
            .collect();
        let srtp = lock(&self.srtp_keys)
            .as_ref()
            .map(SrtpPair::new)
            .transpose()?;
        let receive_clock = receive.first().map_or(8000, |(_, c)| c.clock_rate);
        let mut tasks = Vec::new();
        if let (true, Some(remote)) = (negotiation.direction.sends(), negotiation.remote_rtp) {
            tasks.push(tokio::spawn(
                rtp_io::SendSide {
                    socket: self.rtp.clone(),
                    remote,
                    payload_type: send.payload_type,
                    codec: encoder,
                    source: self.source.clone(),
                    sender: self.sender.clone(),
                    stats: self.stats.clone(),
                    muted: self.muted.clone(),
                    feed: self.feed.clone(),
                    events: negotiation
                        .send_telephone_event_format()
                        .map(|f| (f.payload_type, f.codec.clock_rate, self.dtmf.clone())),
                    srtp: srtp.clone(),
                    recording: self.recording.clone(),
                }
                .run(),
            ));
        }
        tasks.push(tokio::spawn(
            rtp_io::ReceiveSide {
                socket: self.rtp.clone(),
                formats: receive,
                clock: receive_clock,
                rate,
                events: negotiation
                    .receive
                    .iter()
                    .find(|f| f.codec.is_telephone_event())
                    .map(|f| f.payload_type),
                recorded: self.recorded.clone(),
                keep: self.keep.clone(),
                stats: self.stats.clone(),
                notify: self.notify.clone(),
                recording: self.recording.clone(),
                receiver: self.receiver.clone(),
                received_from: self.received_from.clone(),
                feed: self.feed.clone(),
                timeout: negotiation
                    .direction
                    .receives()
                    .then(|| *lock(&self.rtp_timeout)),
                srtp: srtp.clone(),
                expected: negotiation.remote_rtp,
            }
            .run(),
        ));
        tasks.push(tokio::spawn(
            rtcp::RtcpSide {
                socket: self.rtcp.clone(),
                remote: negotiation.remote_rtcp,
                sender: self.sender.clone(),
                receiver: self.receiver.clone(),
                stats: self.stats.clone(),
                interval: *lock(&self.rtcp_interval),
                cname: format!("{}@{}", lock(&self.sender).ssrc, self.local.ip()),
                srtp,
            }
            .run(),
        ));
        *lock(&self.negotiation) = Some(negotiation);
        *lock(&self.running) = Some(Running { tasks });
        Ok(())
    }

    /// Stops sending and receiving.
    fn stop_rtp(&self) {
        if let Some(r) = lock(&self.running).take() {
            for t in r.tasks {
                t.abort();
            }
        }
    }
}

impl Drop for AudioStream {
    fn drop(&mut self) {
        self.stop_rtp();
        self.stop_recording();
    }
}
