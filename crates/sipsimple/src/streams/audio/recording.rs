//! A call's recording: both directions mixed into one WAV file.

use std::collections::VecDeque;

use media::resample::FrameResampler;

use super::frame_len;

/// A WAV file (mono, at the rate the stream had when it started) of both
/// directions mixed: what we send and what arrives. Each comes on its
/// own 20 ms clock (the send loop, the playout), so each waits in a
/// queue until the other's frame is there to mix with; a direction that
/// carries nothing (one-way audio, DTMF being sent) holds the other back
/// at most `RECORDING_LAG` frames. A WAV file has one rate: audio of
/// another (the stream renegotiated to a codec of another rate) is
/// converted to it.
pub(super) struct Recording {
    pub(super) path: std::path::PathBuf,
    writer: hound::WavWriter<std::io::BufWriter<std::fs::File>>,
    /// The file's rate.
    rate: u32,
    sent: Direction,
    received: Direction,
    /// False: only what arrives ([`AudioStream::start_recording_received`]).
    both: bool,
}

/// One direction's queue, at the file's rate.
#[derive(Default)]
struct Direction {
    queue: VecDeque<i16>,
    /// From the stream's rate, when it is not the file's.
    converter: Option<(u32, FrameResampler)>,
    scratch: Vec<i16>,
}

impl Direction {
    fn push(&mut self, samples: &[i16], from: u32, to: u32) {
        if from == to {
            self.queue.extend(samples.iter().copied());
            return;
        }
        if self.converter.as_ref().map(|(r, _)| *r) != Some(from) {
            self.converter = FrameResampler::new(from, to).ok().map(|c| (from, c));
        }
        let Some((_, c)) = self.converter.as_mut() else {
            return;
        };
        for chunk in samples.chunks(c.input_len()) {
            c.process(chunk, &mut self.scratch);
            self.queue.extend(self.scratch.iter().copied());
        }
    }
}

/// How many frames one direction may run ahead of the other in a
/// recording before it is written alone.
const RECORDING_LAG: usize = 3;

impl Recording {
    pub(super) fn new(
        path: std::path::PathBuf,
        writer: hound::WavWriter<std::io::BufWriter<std::fs::File>>,
        rate: u32,
        both: bool,
    ) -> Recording {
        Recording {
            path,
            writer,
            rate,
            sent: Direction::default(),
            received: Direction::default(),
            both,
        }
    }

    /// A frame we sent, at `rate`.
    pub(super) fn push_sent(&mut self, samples: &[i16], rate: u32) {
        if !self.both {
            return;
        }
        self.sent.push(samples, rate, self.rate);
        self.write_ready();
    }

    /// A frame that arrived, at `rate`.
    pub(super) fn push_received(&mut self, samples: &[i16], rate: u32) {
        self.received.push(samples, rate, self.rate);
        self.write_ready();
    }

    fn write_ready(&mut self) {
        let frame = frame_len(self.rate);
        loop {
            let (sent, received) = (self.sent.queue.len(), self.received.queue.len());
            let both = sent >= frame && received >= frame;
            let ahead = sent.max(received) > RECORDING_LAG * frame;
            if !(both || ahead) {
                return;
            }
            self.write_frame();
        }
    }

    /// Writes up to one frame of each direction, summed.
    fn write_frame(&mut self) {
        for _ in 0..frame_len(self.rate) {
            let (a, b) = (self.sent.queue.pop_front(), self.received.queue.pop_front());
            if a.is_none() && b.is_none() {
                return;
            }
            let mixed = i32::from(a.unwrap_or(0)) + i32::from(b.unwrap_or(0));
            let _ = self.writer.write_sample(mixed.clamp(-32768, 32767) as i16);
        }
    }

    pub(super) fn finish(mut self) {
        while !self.sent.queue.is_empty() || !self.received.queue.is_empty() {
            self.write_frame();
        }
        let _ = self.writer.finalize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use media::tone::{goertzel, ToneGenerator};

    /// A recording begun at 16 kHz (G.722) goes on at 8 kHz after a
    /// renegotiation to PCMU: the file keeps its rate, the tone its
    /// frequency, the time its length.
    #[test]
    fn audio_of_another_rate_is_converted_to_the_files() {
        let path =
            std::env::temp_dir().join(format!("sipsimple-recording-{}.wav", std::process::id()));
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 16000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer = hound::WavWriter::create(&path, spec).unwrap();
        let mut r = Recording::new(path.clone(), writer, 16000, false);
        for rate in [16000, 8000] {
            let mut tone = ToneGenerator::new(rate, &[1000.0], 8000);
            let mut frame = vec![0i16; frame_len(rate)];
            for _ in 0..50 {
                tone.fill(&mut frame);
                r.push_received(&frame, rate);
            }
        }
        r.finish();
        let samples: Vec<i16> = hound::WavReader::open(&path)
            .unwrap()
            .samples::<i16>()
            .map(Result::unwrap)
            .collect();
        let _ = std::fs::remove_file(&path);
        assert_eq!(samples.len(), 32000, "two seconds at 16 kHz");
        let second = &samples[17600..];
        assert!(goertzel(second, 16000, 1000.0) > 100.0 * goertzel(second, 16000, 3000.0));
    }
}
