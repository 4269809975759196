//! The sound card as a mixer's device. cpal (behind the `sound-card`
//! feature) calls the card's capture and playback callbacks on threads of
//! its own; they only move samples through two bounded rings, mono at the
//! card's rates. The mixer's side ([`CardLink`]) converts between those
//! rates and the mixer's, 20 ms at a time, so no resampling runs in the
//! card's real-time callbacks.
//!
//! The link is plain code, built and tested without the feature; only
//! [`SoundCardBackend`] needs cpal.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use media::resample::FrameResampler;

/// How much either ring holds at most: past it the oldest samples go
/// (a card or mixer that runs ahead must not grow the delay for ever).
const RING_MS: usize = 200;

/// Samples as a card delivers and takes them.
pub trait CardSample: Copy + Send + 'static {
    fn to_i16(self) -> i16;
    fn from_i16(s: i16) -> Self;
}

impl CardSample for i16 {
    fn to_i16(self) -> i16 {
        self
    }
    fn from_i16(s: i16) -> Self {
        s
    }
}

impl CardSample for i32 {
    fn to_i16(self) -> i16 {
        (self >> 16) as i16
    }
    fn from_i16(s: i16) -> Self {
        i32::from(s) << 16
    }
}

impl CardSample for f32 {
    fn to_i16(self) -> i16 {
        (self * 32768.0).round().clamp(-32768.0, 32767.0) as i16
    }
    fn from_i16(s: i16) -> Self {
        f32::from(s) / 32768.0
    }
}

/// One direction's samples between a card callback and the mixer.
#[derive(Debug)]
pub struct Ring {
    samples: Mutex<VecDeque<i16>>,
    capacity: usize,
}

impl Ring {
    /// A ring for a card running at `rate`.
    pub fn new(rate: u32) -> Arc<Ring> {
        let capacity = rate as usize * RING_MS / 1000;
        Arc::new(Ring {
            samples: Mutex::new(VecDeque::with_capacity(capacity)),
            capacity,
        })
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<i16>> {
        crate::sync::lock(&self.samples)
    }

    fn push(&self, samples: impl IntoIterator<Item = i16>) {
        let mut ring = self.lock();
        ring.extend(samples);
        let excess = ring.len().saturating_sub(self.capacity);
        ring.drain(..excess);
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capture callback: interleaved `data` of `channels` channels,
    /// mixed down to mono.
    pub fn capture<T: CardSample>(&self, data: &[T], channels: usize) {
        let channels = channels.max(1);
        self.push(data.chunks(channels).map(|c| {
            let sum: i32 = c.iter().map(|s| i32::from(s.to_i16())).sum();
            (sum / c.len().max(1) as i32) as i16
        }));
    }

    /// The playback callback: fills interleaved `data` of `channels`
    /// channels, each with the same sample; silence when the mixer has
    /// not kept up.
    pub fn play<T: CardSample>(&self, data: &mut [T], channels: usize) {
        let channels = channels.max(1);
        let mut ring = self.lock();
        for frame in data.chunks_mut(channels) {
            let s = T::from_i16(ring.pop_front().unwrap_or(0));
            frame.fill(s);
        }
    }
}

/// The mixer's side of a card: 20 ms frames at the mixer's rate in and
/// out, converted from and to the card's rates.
pub struct CardLink {
    capture: Option<(Arc<Ring>, FrameResampler)>,
    playback: Option<(Arc<Ring>, FrameResampler)>,
    chunk: Vec<i16>,
    converted: Vec<i16>,
}

impl std::fmt::Debug for CardLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardLink").finish_non_exhaustive()
    }
}

impl CardLink {
    /// A link for a mixer at `mixer_rate` and a card capturing into
    /// `capture` at its rate and playing from `playback` at its rate.
    pub fn new(
        mixer_rate: u32,
        capture: Option<(Arc<Ring>, u32)>,
        playback: Option<(Arc<Ring>, u32)>,
    ) -> Result<CardLink, String> {
        let capture = match capture {
            Some((ring, rate)) => Some((
                ring,
                FrameResampler::new(rate, mixer_rate).map_err(|e| e.to_string())?,
            )),
            None => None,
        };
        let playback = match playback {
            Some((ring, rate)) => Some((
                ring,
                FrameResampler::new(mixer_rate, rate).map_err(|e| e.to_string())?,
            )),
            None => None,
        };
        Ok(CardLink {
            capture,
            playback,
            chunk: Vec::new(),
            converted: Vec::new(),
        })
    }

    /// The microphone's next 20 ms, if the card has captured that much.
    pub fn read(&mut self, frame: &mut [i16]) -> bool {
        let Some((ring, resampler)) = self.capture.as_mut() else {
            return false;
        };
        {
            let mut samples = ring.lock();
            if samples.len() < resampler.input_len() {
                return false;
            }
            self.chunk.clear();
            self.chunk.extend(samples.drain(..resampler.input_len()));
        }
        resampler.process(&self.chunk, &mut self.converted);
        for (out, s) in frame
            .iter_mut()
            .zip(self.converted.iter().chain(std::iter::repeat(&0)))
        {
            *out = *s;
        }
        true
    }

    /// The speaker's next 20 ms, queued for the card.
    pub fn write(&mut self, frame: &[i16]) {
        if let Some((ring, resampler)) = self.playback.as_mut() {
            resampler.process(frame, &mut self.converted);
            ring.push(self.converted.iter().copied());
        }
    }
}

#[cfg(feature = "sound-card")]
pub use card::SoundCardBackend;

#[cfg(feature = "sound-card")]
mod card {
    use std::sync::mpsc;
    use std::sync::Arc;

    use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};

    use super::{CardLink, CardSample, Ring};
    use crate::audio::backend::AudioBackend;

    /// A sound card device: `input` and `output` name cpal devices
    /// ("default" or None: the host's default one). Its streams live on
    /// a thread of their own (cpal's streams cannot move between
    /// threads) until it is dropped.
    pub struct SoundCardBackend {
        sample_rate: u32,
        link: CardLink,
        names: (Option<String>, Option<String>),
        stop: Option<mpsc::Sender<()>>,
        thread: Option<std::thread::JoinHandle<()>>,
    }

    /// Which side of the card.
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Side {
        Capture,
        Playback,
    }

    fn device(host: &cpal::Host, side: Side, name: &str) -> Result<cpal::Device, String> {
        let found = if name == "default" {
            match side {
                Side::Capture => host.default_input_device(),
                Side::Playback => host.default_output_device(),
            }
        } else {
            let devices = match side {
                Side::Capture => host.input_devices(),
                Side::Playback => host.output_devices(),
            }
            .map_err(|e| e.to_string())?;
            let mut devices = devices;
            devices.find(|d| d.name().is_ok_and(|n| n == name))
        };
        found.ok_or_else(|| format!("no sound card device {name:?}"))
    }

    fn build<T: CardSample + cpal::SizedSample>(
        device: &cpal::Device,
        side: Side,
        config: &cpal::StreamConfig,
        ring: Arc<Ring>,
    ) -> Result<cpal::Stream, String> {
        let channels = usize::from(config.channels);
        // A card that goes away leaves the mixer with silence; the call
        // goes on.
        let failed = |_: cpal::StreamError| {};
        let stream = match side {
            Side::Capture => device.build_input_stream(
                config,
                move |data: &[T], _: &cpal::InputCallbackInfo| ring.capture(data, channels),
                failed,
                None,
            ),
            Side::Playback => device.build_output_stream(
                config,
                move |data: &mut [T], _: &cpal::OutputCallbackInfo| ring.play(data, channels),
                failed,
                None,
            ),
        };
        stream.map_err(|e| e.to_string())
    }

    /// Opens one side at its default configuration; its ring and rate.
    fn open(
        host: &cpal::Host,
        side: Side,
        name: &str,
    ) -> Result<(cpal::Stream, Arc<Ring>, u32), String> {
        let device = device(host, side, name)?;
        let supported = match side {
            Side::Capture => device.default_input_config(),
            Side::Playback => device.default_output_config(),
        }
        .map_err(|e| format!("sound card device {name:?}: {e}"))?;
        let config = supported.config();
        let rate = config.sample_rate.0;
        let ring = Ring::new(rate);
        let stream = match supported.sample_format() {
            cpal::SampleFormat::I16 => build::<i16>(&device, side, &config, ring.clone()),
            cpal::SampleFormat::I32 => build::<i32>(&device, side, &config, ring.clone()),
            cpal::SampleFormat::F32 => build::<f32>(&device, side, &config, ring.clone()),
            other => Err(format!("{other} samples are not supported")),
        }
        .map_err(|e| format!("sound card device {name:?}: {e}"))?;
        stream
            .play()
            .map_err(|e| format!("sound card device {name:?}: {e}"))?;
        Ok((stream, ring, rate))
    }

    type Opened = Result<(Option<(Arc<Ring>, u32)>, Option<(Arc<Ring>, u32)>), String>;

    impl SoundCardBackend {
        /// Opens the card's `input` and/or `output` device for a mixer
        /// at `sample_rate`; an error says which device failed and why.
        pub fn open(
            sample_rate: u32,
            input: Option<&str>,
            output: Option<&str>,
        ) -> Result<SoundCardBackend, String> {
            let names = (input.map(str::to_owned), output.map(str::to_owned));
            let (opened_tx, opened_rx) = mpsc::channel::<Opened>();
            let (stop, stopped) = mpsc::channel::<()>();
            let (i, o) = names.clone();
            let thread = std::thread::Builder::new()
                .name("sipsimple-sound-card".into())
                .spawn(move || {
                    let host = cpal::default_host();
                    let mut streams = Vec::new();
                    let mut side = |side, name: Option<String>| -> Result<_, String> {
                        let Some(name) = name else {
                            return Ok(None);
                        };
                        let (stream, ring, rate) = open(&host, side, &name)?;
                        streams.push(stream);
                        Ok(Some((ring, rate)))
                    };
                    let opened = side(Side::Capture, i)
                        .and_then(|c| side(Side::Playback, o).map(|p| (c, p)));
                    let ok = opened.is_ok();
                    let _ = opened_tx.send(opened);
                    if ok {
                        // Until the backend is dropped.
                        let _ = stopped.recv();
                    }
                    drop(streams);
                })
                .map_err(|e| e.to_string())?;
            let opened = opened_rx
                .recv()
                .map_err(|_| "the sound card thread failed".to_owned())
                .and_then(|r| r);
            let (capture, playback) = match opened {
                Ok(o) => o,
                Err(e) => {
                    let _ = thread.join();
                    return Err(e);
                }
            };
            Ok(SoundCardBackend {
                sample_rate,
                link: CardLink::new(sample_rate, capture, playback)?,
                names,
                stop: Some(stop),
                thread: Some(thread),
            })
        }
    }

    impl AudioBackend for SoundCardBackend {
        fn sample_rate(&self) -> u32 {
            self.sample_rate
        }

        fn read(&mut self, frame: &mut [i16]) -> bool {
            self.link.read(frame)
        }

        fn write(&mut self, frame: &[i16]) {
            self.link.write(frame)
        }

        fn describe(&self) -> String {
            format!(
                "sound:in={},out={}",
                self.names.0.as_deref().unwrap_or_default(),
                self.names.1.as_deref().unwrap_or_default()
            )
        }
    }

    impl Drop for SoundCardBackend {
        fn drop(&mut self) {
            self.stop.take();
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }
}
