//! A call's recording: both directions mixed into one WAV file.

use std::collections::VecDeque;

use super::FRAME;

/// A WAV file (8 kHz mono) of both directions mixed: what we send and
/// what arrives. Each comes on its own 20 ms clock (the send loop, the
/// playout), so each waits in a queue until the other's frame is there
/// to mix with; a direction that carries nothing (one-way audio, DTMF
/// being sent) holds the other back at most `RECORDING_LAG` frames.
pub(super) struct Recording {
    pub(super) path: std::path::PathBuf,
    pub(super) writer: hound::WavWriter<std::io::BufWriter<std::fs::File>>,
    pub(super) sent: VecDeque<i16>,
    pub(super) received: VecDeque<i16>,
    /// False: only what arrives ([`AudioStream::start_recording_received`]).
    pub(super) both: bool,
}

/// How many frames one direction may run ahead of the other in a
/// recording before it is written alone.
const RECORDING_LAG: usize = 3;

impl Recording {
    pub(super) fn push_sent(&mut self, samples: &[i16]) {
        if !self.both {
            return;
        }
        self.sent.extend(samples.iter().copied());
        self.write_ready();
    }

    pub(super) fn push_received(&mut self, samples: &[i16]) {
        self.received.extend(samples.iter().copied());
        self.write_ready();
    }

    fn write_ready(&mut self) {
        loop {
            let both = self.sent.len() >= FRAME && self.received.len() >= FRAME;
            let ahead = self.sent.len().max(self.received.len()) > RECORDING_LAG * FRAME;
            if !(both || ahead) {
                return;
            }
            self.write_frame();
        }
    }

    /// Writes up to one frame of each direction, summed.
    fn write_frame(&mut self) {
        for _ in 0..FRAME {
            let (a, b) = (self.sent.pop_front(), self.received.pop_front());
            if a.is_none() && b.is_none() {
                return;
            }
            let mixed = i32::from(a.unwrap_or(0)) + i32::from(b.unwrap_or(0));
            let _ = self.writer.write_sample(mixed.clamp(-32768, 32767) as i16);
        }
    }

    pub(super) fn finish(mut self) {
        while !self.sent.is_empty() || !self.received.is_empty() {
            self.write_frame();
        }
        let _ = self.writer.finalize();
    }
}
