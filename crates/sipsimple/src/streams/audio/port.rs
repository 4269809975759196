//! AudioStream as an audio port (the spec's IAudioPort): the stream sits
//! in a slot of a mixer, sends what the slot consumes and produces what
//! it receives, converted between the stream's rate (its codec's) and
//! the mixer's; at the same rate (an Opus call on a 48 kHz mixer) nothing
//! is converted. The
//! RTP loops and the mixer each run their own 20 ms clock, so a short
//! queue each way absorbs their phase (and drops the oldest audio if one
//! runs ahead).

use crate::sync::lock;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, Weak};

use media::resample::FrameResampler;

use super::frame_len;
use crate::audio::{AudioMixer, AudioPort, SlotHandle, SlotId, SlotIo};

/// At most this many 20 ms frames wait each way.
const QUEUE_FRAMES: usize = 4;
/// 20 ms of silence at up to 48 kHz.
const SILENCE: [i16; 960] = [0; 960];

pub(crate) struct StreamIo {
    /// The mixer's rate.
    rate: u32,
    /// The stream's rate (its codec's), set by each start of the stream.
    stream_rate: std::sync::atomic::AtomicU32,
    /// Both at the stream's rate.
    to_send: Mutex<VecDeque<i16>>,
    received: Mutex<VecDeque<i16>>,
    /// Mixer rate → stream rate, and back; made on first use (a call
    /// that only ever carries silence never needs them: measured, making
    /// and running them per call was most of a call's CPU under load),
    /// never when the rates are equal, dropped when the stream's changes.
    down: Mutex<Option<FrameResampler>>,
    up: Mutex<Option<FrameResampler>>,
}

/// Runs `frame` through the converter in `slot` (made if needed) into
/// `out`; equal rates copy.
fn convert(
    slot: &Mutex<Option<FrameResampler>>,
    from: u32,
    to: u32,
    frame: &[i16],
    out: &mut Vec<i16>,
) {
    out.clear();
    if from == to {
        out.extend_from_slice(frame);
        return;
    }
    let mut r = lock(slot);
    if r.is_none() {
        *r = FrameResampler::new(from, to).ok();
    }
    match r.as_mut() {
        Some(r) => r.process(frame, out),
        None => out.resize(frame_len(to), 0),
    }
}

/// Appends `samples`, keeping at most QUEUE_FRAMES frames of `rate`.
fn bounded_push(q: &mut VecDeque<i16>, samples: &[i16], rate: u32) {
    q.extend(samples.iter().copied());
    let max = QUEUE_FRAMES * frame_len(rate);
    if q.len() > max {
        let extra = q.len() - max;
        q.drain(..extra);
    }
}

impl StreamIo {
    fn stream_rate(&self) -> u32 {
        self.stream_rate.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The stream (re)started at `rate`: audio queued at another rate
    /// and the converters made for it go.
    pub(crate) fn set_stream_rate(&self, rate: u32) {
        let old = self
            .stream_rate
            .swap(rate, std::sync::atomic::Ordering::Relaxed);
        if old != rate {
            lock(&self.to_send).clear();
            lock(&self.received).clear();
            *lock(&self.down) = None;
            *lock(&self.up) = None;
        }
    }

    /// The next frame to send, at the stream's rate (silence when the
    /// mixer gave none).
    pub(crate) fn next_to_send(&self, frame: &mut [i16]) {
        let mut q = lock(&self.to_send);
        for out in frame.iter_mut() {
            *out = q.pop_front().unwrap_or(0);
        }
    }

    /// A decoded frame that arrived, at the stream's rate.
    pub(crate) fn push_received(&self, samples: &[i16]) {
        bounded_push(&mut lock(&self.received), samples, self.stream_rate());
    }
}

impl SlotIo for StreamIo {
    fn produce(&self, frame: &mut [i16]) -> bool {
        let stream_rate = self.stream_rate();
        let n = frame_len(stream_rate);
        let ours: Vec<i16> = {
            let mut q = lock(&self.received);
            if q.len() < n {
                return false;
            }
            q.drain(..n).collect()
        };
        if ours.iter().all(|s| *s == 0) && lock(&self.up).is_none() {
            return false;
        }
        let mut theirs = Vec::with_capacity(frame.len());
        convert(&self.up, stream_rate, self.rate, &ours, &mut theirs);
        for (o, i) in frame
            .iter_mut()
            .zip(theirs.iter().chain(std::iter::repeat(&0)))
        {
            *o = *i;
        }
        true
    }

    fn consume(&self, frame: &[i16]) {
        let stream_rate = self.stream_rate();
        // Silence stays silence at any rate: no converter needed until
        // there is sound.
        if frame.iter().all(|s| *s == 0) && lock(&self.down).is_none() {
            let zeros = SILENCE.get(..frame_len(stream_rate)).unwrap_or(&SILENCE);
            bounded_push(&mut lock(&self.to_send), zeros, stream_rate);
            return;
        }
        let mut ours = Vec::with_capacity(frame_len(stream_rate));
        convert(&self.down, self.rate, stream_rate, frame, &mut ours);
        bounded_push(&mut lock(&self.to_send), &ours, stream_rate);
    }

    fn consume_silence(&self, _zeros: &[i16]) {
        // The send loop sends silence when the queue is empty.
        lock(&self.to_send).clear();
    }
}

/// The stream's place in a mixer.
pub(crate) struct StreamPort {
    mixer: AudioMixer,
    pub(crate) io: Arc<StreamIo>,
    slot: SlotHandle,
}

impl StreamPort {
    pub(crate) fn new(mixer: &AudioMixer) -> Result<Arc<StreamPort>, String> {
        let rate = mixer.sample_rate();
        // Checked now so a mixer rate we cannot convert is an error here
        // (20 ms frames need a multiple of 50 Hz).
        if rate == 0 || !rate.is_multiple_of(50) {
            return Err(format!("a mixer at {rate} Hz has no 20 ms frames"));
        }
        let io = Arc::new(StreamIo {
            rate,
            stream_rate: std::sync::atomic::AtomicU32::new(super::DEFAULT_RATE),
            to_send: Mutex::new(VecDeque::new()),
            received: Mutex::new(VecDeque::new()),
            down: Mutex::new(None),
            up: Mutex::new(None),
        });
        let weak: Weak<dyn SlotIo> = Arc::downgrade(&(io.clone() as Arc<dyn SlotIo>));
        let slot = mixer.add_slot(weak, true, true);
        Ok(Arc::new(StreamPort {
            mixer: mixer.clone(),
            io,
            slot,
        }))
    }
}

impl AudioPort for StreamPort {
    fn mixer(&self) -> &AudioMixer {
        &self.mixer
    }

    fn consumer_slot(&self) -> Option<SlotId> {
        Some(self.slot.id())
    }

    fn producer_slot(&self) -> Option<SlotId> {
        Some(self.slot.id())
    }
}
