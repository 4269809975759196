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
    to_send: Mutex<VecDeque<i16>>,
    received: Mutex<VecDeque<i16>>,
    /// Mixer rate → 8 kHz, and back.
    down: Mutex<FrameResampler>,
    up: Mutex<FrameResampler>,
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
        let mut wide = Vec::with_capacity(frame.len());
        lock(&self.up).process(&narrow, &mut wide);
        for (o, i) in frame.iter_mut().zip(&wide) {
            *o = *i;
        }
        true
    }

    fn consume(&self, frame: &[i16]) {
        let mut narrow = Vec::with_capacity(FRAME);
        lock(&self.down).process(frame, &mut narrow);
        bounded_push(&mut lock(&self.to_send), &narrow);
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
        let io = Arc::new(StreamIo {
            to_send: Mutex::new(VecDeque::new()),
            received: Mutex::new(VecDeque::new()),
            down: Mutex::new(FrameResampler::new(rate, 8000).map_err(|e| e.to_string())?),
            up: Mutex::new(FrameResampler::new(8000, rate).map_err(|e| e.to_string())?),
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
