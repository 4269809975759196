//! AudioStream as an audio port (the spec's IAudioPort): the stream sits
//! in a slot of a mixer, sends what the slot consumes and produces what
//! it receives, converted between its 8 kHz and the mixer's rate. The
//! RTP loops and the mixer each run their own 20 ms clock, so a short
//! queue each way absorbs their phase (and drops the oldest audio if one
//! runs ahead).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, Weak};

use media::resample::FrameResampler;

use super::{lock, FRAME};
use crate::audio::{AudioMixer, AudioPort, SlotHandle, SlotId, SlotIo};

/// At most this many 20 ms frames wait each way.
const QUEUE_FRAMES: usize = 4;

pub(crate) struct StreamIo {
    rate: u32,
    to_send: Mutex<VecDeque<i16>>,
    received: Mutex<VecDeque<i16>>,
    /// Mixer rate → 8 kHz, and back; made on first use (a call that
    /// only ever carries silence never needs them: measured, making and
    /// running them per call was most of a call's CPU under load).
    down: Mutex<Option<FrameResampler>>,
    up: Mutex<Option<FrameResampler>>,
}

/// Runs `frame` through the converter in `slot`, making it if needed.
fn convert(
    slot: &Mutex<Option<FrameResampler>>,
    from: u32,
    to: u32,
    frame: &[i16],
    out: &mut Vec<i16>,
) {
    let mut r = lock(slot);
    if r.is_none() {
        *r = FrameResampler::new(from, to).ok();
    }
    match r.as_mut() {
        Some(r) => r.process(frame, out),
        None => {
            out.clear();
            out.resize((to / 50) as usize, 0);
        }
    }
}

fn bounded_push(q: &mut VecDeque<i16>, samples: &[i16]) {
    q.extend(samples.iter().copied());
    let max = QUEUE_FRAMES * FRAME;
    if q.len() > max {
        let extra = q.len() - max;
        q.drain(..extra);
    }
}

impl StreamIo {
    /// The next 8 kHz frame to send (silence when the mixer gave none).
    pub(crate) fn next_to_send(&self, frame: &mut [i16]) {
        let mut q = lock(&self.to_send);
        for out in frame.iter_mut() {
            *out = q.pop_front().unwrap_or(0);
        }
    }

    /// A decoded 8 kHz frame that arrived.
    pub(crate) fn push_received(&self, samples: &[i16]) {
        bounded_push(&mut lock(&self.received), samples);
    }
}

impl SlotIo for StreamIo {
    fn produce(&self, frame: &mut [i16]) -> bool {
        let narrow: Vec<i16> = {
            let mut q = lock(&self.received);
            if q.len() < FRAME {
                return false;
            }
            q.drain(..FRAME).collect()
        };
        if narrow.iter().all(|s| *s == 0) && lock(&self.up).is_none() {
            return false;
        }
        let mut wide = Vec::with_capacity(frame.len());
        convert(&self.up, 8000, self.rate, &narrow, &mut wide);
        for (o, i) in frame.iter_mut().zip(&wide) {
            *o = *i;
        }
        true
    }

    fn consume(&self, frame: &[i16]) {
        // Silence stays silence at any rate: no converter needed until
        // there is sound.
        if frame.iter().all(|s| *s == 0) && lock(&self.down).is_none() {
            bounded_push(&mut lock(&self.to_send), &[0; FRAME]);
            return;
        }
        let mut narrow = Vec::with_capacity(FRAME);
        convert(&self.down, self.rate, 8000, frame, &mut narrow);
        bounded_push(&mut lock(&self.to_send), &narrow);
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
