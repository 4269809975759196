//! A tone source port: DTMF digits (for local feedback as keys are
//! pressed) and call-progress tones with a cadence (ringback: 440+480 Hz,
//! 2 s on, 4 s off, as in the US/ITU-T E.180 plan).

use crate::sync::lock;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, Weak};

use media::tone::ToneGenerator;

use super::mixer::{AudioMixer, SlotHandle, SlotId, SlotIo};
use super::port::{AudioError, AudioPort};

/// One piece of what to play: a tone (or silence) for a number of
/// samples.
struct Segment {
    tone: Option<ToneGenerator>,
    left: usize,
}

#[derive(Default)]
struct Program {
    segments: VecDeque<Segment>,
    /// Ringback repeats until stopped.
    repeat: Option<(Vec<f64>, usize, usize)>,
}

struct ToneIo {
    rate: u32,
    program: Mutex<Program>,
}

const AMPLITUDE: i16 = 6000;

impl ToneIo {
    fn push_cycle(&self, p: &mut Program) {
        if let Some((freqs, on, off)) = p.repeat.clone() {
            p.segments.push_back(Segment {
                tone: Some(ToneGenerator::new(self.rate, &freqs, AMPLITUDE)),
                left: on,
            });
            p.segments.push_back(Segment {
                tone: None,
                left: off,
            });
        }
    }
}

impl SlotIo for ToneIo {
    fn produce(&self, frame: &mut [i16]) -> bool {
        let mut p = lock(&self.program);
        if p.segments.is_empty() {
            self.push_cycle(&mut p);
        }
        let mut any = false;
        let mut at = 0;
        while at < frame.len() {
            let Some(seg) = p.segments.front_mut() else {
                break;
            };
            let n = seg.left.min(frame.len() - at);
            if let (Some(t), Some(out)) = (seg.tone.as_mut(), frame.get_mut(at..at + n)) {
                t.fill(out);
                any = true;
            }
            seg.left -= n;
            at += n;
            if seg.left == 0 {
                p.segments.pop_front();
                if p.segments.is_empty() {
                    self.push_cycle(&mut p);
                }
            }
        }
        any
    }
}

/// Plays tones into the bridges it is part of.
pub struct TonePlayer {
    mixer: AudioMixer,
    io: Arc<ToneIo>,
    slot: SlotHandle,
}

impl TonePlayer {
    pub fn new(mixer: &AudioMixer) -> Arc<TonePlayer> {
        let io = Arc::new(ToneIo {
            rate: mixer.sample_rate(),
            program: Mutex::new(Program::default()),
        });
        let weak: Weak<dyn SlotIo> = Arc::downgrade(&(io.clone() as Arc<dyn SlotIo>));
        let slot = mixer.add_slot(weak, true, false);
        Arc::new(TonePlayer {
            mixer: mixer.clone(),
            io,
            slot,
        })
    }

    fn ms(&self, ms: u32) -> usize {
        (u64::from(self.io.rate) * u64::from(ms) / 1000) as usize
    }

    /// Queues the DTMF tones of `digits` (0-9, *, #, A-D), each 100 ms
    /// with 50 ms between.
    pub fn play_dtmf(&self, digits: &str) -> Result<(), AudioError> {
        let mut segments = Vec::new();
        for d in digits.chars() {
            let tone = ToneGenerator::dtmf(self.io.rate, d, AMPLITUDE)
                .map_err(|e| AudioError::Failed(e.to_string()))?;
            segments.push(Segment {
                tone: Some(tone),
                left: self.ms(100),
            });
            segments.push(Segment {
                tone: None,
                left: self.ms(50),
            });
        }
        lock(&self.io.program).segments.extend(segments);
        Ok(())
    }

    /// Plays ringback (440+480 Hz, 2 s on, 4 s off) until `stop`.
    pub fn start_ringback(&self) {
        let mut p = lock(&self.io.program);
        p.segments.clear();
        p.repeat = Some((vec![440.0, 480.0], self.ms(2000), self.ms(4000)));
    }

    /// Silences it and forgets what was queued.
    pub fn stop(&self) {
        let mut p = lock(&self.io.program);
        p.segments.clear();
        p.repeat = None;
    }

    pub fn is_active(&self) -> bool {
        let p = lock(&self.io.program);
        !p.segments.is_empty() || p.repeat.is_some()
    }
}

impl AudioPort for TonePlayer {
    fn mixer(&self) -> &AudioMixer {
        &self.mixer
    }

    fn consumer_slot(&self) -> Option<SlotId> {
        None
    }

    fn producer_slot(&self) -> Option<SlotId> {
        Some(self.slot.id())
    }
}
