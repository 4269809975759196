//! Sample-rate conversion of mono 16-bit frames, on `rubato`'s FFT
//! resampler (band-limited, fixed ratio): a stream at 8 kHz next to a
//! mixer or a sound card at 16 or 48 kHz, a WAV file at any rate.

use rubato::{FftFixedInOut, Resampler as _};

/// Why a converter could not be made or run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("resampling {from} Hz to {to} Hz: {reason}")]
pub struct ResampleError {
    pub from: u32,
    pub to: u32,
    pub reason: String,
}

/// Converts fixed-size frames from one rate to another. Each call takes
/// exactly `input_len()` samples and gives `output_len()`; the output
/// lags the input by `delay()` samples (the filter's length).
pub struct FrameResampler {
    from: u32,
    to: u32,
    inner: Option<FftFixedInOut<f32>>,
    input: Vec<Vec<f32>>,
    output: Vec<Vec<f32>>,
    input_len: usize,
    output_len: usize,
}

impl std::fmt::Debug for FrameResampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameResampler")
            .field("from", &self.from)
            .field("to", &self.to)
            .finish()
    }
}

impl FrameResampler {
    /// A converter for 20 ms frames from `from` Hz to `to` Hz (equal
    /// rates pass frames through untouched).
    pub fn new(from: u32, to: u32) -> Result<FrameResampler, ResampleError> {
        let err = |reason: String| ResampleError { from, to, reason };
        if from == 0 || to == 0 || !from.is_multiple_of(50) || !to.is_multiple_of(50) {
            return Err(err("rates must be positive multiples of 50 Hz".into()));
        }
        let input_len = (from / 50) as usize;
        let output_len = (to / 50) as usize;
        let inner = if from == to {
            None
        } else {
            let r = FftFixedInOut::<f32>::new(from as usize, to as usize, input_len, 1)
                .map_err(|e| err(e.to_string()))?;
            if r.input_frames_next() != input_len || r.output_frames_next() != output_len {
                return Err(err(format!(
                    "chunks of {} → {} samples, not 20 ms",
                    r.input_frames_next(),
                    r.output_frames_next()
                )));
            }
            Some(r)
        };
        Ok(FrameResampler {
            from,
            to,
            inner,
            input: vec![vec![0.0; input_len]],
            output: vec![vec![0.0; output_len]],
            input_len,
            output_len,
        })
    }

    pub fn input_len(&self) -> usize {
        self.input_len
    }

    pub fn output_len(&self) -> usize {
        self.output_len
    }

    /// How many output samples the output lags by.
    pub fn delay(&self) -> usize {
        self.inner.as_ref().map_or(0, |r| r.output_delay())
    }

    /// Converts one frame into `out` (cleared first). A frame of the
    /// wrong length is padded with silence or cut.
    pub fn process(&mut self, frame: &[i16], out: &mut Vec<i16>) {
        out.clear();
        let Some(inner) = self.inner.as_mut() else {
            out.extend(frame.iter().take(self.input_len));
            out.resize(self.output_len, 0);
            return;
        };
        if let Some(channel) = self.input.first_mut() {
            for (i, s) in channel.iter_mut().enumerate() {
                *s = frame.get(i).map_or(0.0, |v| f32::from(*v) / 32768.0);
            }
        }
        // Buffers of the right size cannot fail; if they did, silence.
        if let Ok((_, written)) = inner.process_into_buffer(&self.input, &mut self.output, None) {
            if let Some(channel) = self.output.first() {
                out.extend(
                    channel
                        .iter()
                        .take(written)
                        .map(|s| (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16),
                );
            }
        }
        out.resize(self.output_len, 0);
    }

    /// Converts a whole signal (for files): the result is aligned (the
    /// filter delay removed) and as long as the input's duration.
    pub fn convert_all(from: u32, to: u32, samples: &[i16]) -> Result<Vec<i16>, ResampleError> {
        if from == to {
            return Ok(samples.to_vec());
        }
        // Rates that are not multiples of 50 Hz (e.g. 11025) go through
        // linear interpolation: rare for telephony files.
        let Ok(mut r) = FrameResampler::new(from, to) else {
            return Ok(linear(from, to, samples));
        };
        let wanted = (samples.len() as u64 * u64::from(to) / u64::from(from)) as usize;
        let delay = r.delay();
        let mut out = Vec::with_capacity(wanted + delay + r.output_len);
        let mut frame = Vec::with_capacity(r.output_len);
        let mut fed = 0;
        while out.len() < wanted + delay {
            let chunk = samples.get(fed..).unwrap_or(&[]);
            let chunk = chunk.get(..r.input_len.min(chunk.len())).unwrap_or(&[]);
            r.process(chunk, &mut frame);
            out.extend_from_slice(&frame);
            fed += r.input_len;
        }
        Ok(out.into_iter().skip(delay).take(wanted).collect())
    }
}

/// Linear interpolation, for rates the FFT converter cannot take.
fn linear(from: u32, to: u32, samples: &[i16]) -> Vec<i16> {
    let step = f64::from(from) / f64::from(to);
    let n = (samples.len() as f64 / step) as usize;
    (0..n)
        .map(|i| {
            let x = i as f64 * step;
            let k = x as usize;
            let a = samples.get(k).map_or(0.0, |v| f64::from(*v));
            let b = samples.get(k + 1).map_or(a, |v| f64::from(*v));
            (a + (b - a) * (x - k as f64))
                .round()
                .clamp(-32768.0, 32767.0) as i16
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tone::{goertzel, ToneGenerator};

    fn tone(rate: u32, hz: f64, len: usize) -> Vec<i16> {
        let mut t = ToneGenerator::new(rate, &[hz], 8000);
        let mut v = vec![0i16; len];
        t.fill(&mut v);
        v
    }

    #[test]
    fn frames_keep_their_frequency_up_and_down() {
        for (from, to) in [(8000, 48000), (48000, 8000), (8000, 16000), (16000, 8000)] {
            let mut r = FrameResampler::new(from, to).unwrap();
            let input = tone(from, 1000.0, (from / 50) as usize * 25);
            let mut out = Vec::new();
            let mut all = Vec::new();
            for f in input.chunks(r.input_len()) {
                r.process(f, &mut out);
                assert_eq!(out.len(), r.output_len());
                all.extend_from_slice(&out);
            }
            let tail = &all[all.len() / 2..];
            assert!(
                goertzel(tail, to, 1000.0) > 100.0 * goertzel(tail, to, 1500.0),
                "{from}→{to}"
            );
        }
    }

    #[test]
    fn downsampling_removes_what_the_new_rate_cannot_carry() {
        // 6 kHz at 48 kHz would alias to 2 kHz at 8 kHz without a filter.
        let input = tone(48000, 6000.0, 48000);
        let out = FrameResampler::convert_all(48000, 8000, &input).unwrap();
        assert_eq!(out.len(), 8000);
        let energy: f64 = out.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / 8000.0;
        let original: f64 = input.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / 48000.0;
        assert!(energy < original / 100.0, "{energy} vs {original}");
    }

    #[test]
    fn whole_signals_are_aligned_and_keep_their_length() {
        let input = tone(8000, 440.0, 8000);
        let out = FrameResampler::convert_all(8000, 48000, &input).unwrap();
        assert_eq!(out.len(), 48000);
        assert!(goertzel(&out, 48000, 440.0) > 100.0 * goertzel(&out, 48000, 1000.0));
        // Odd rates go through interpolation.
        assert_eq!(
            FrameResampler::convert_all(11025, 8000, &vec![0; 11025])
                .unwrap()
                .len(),
            8000
        );
        assert!(FrameResampler::new(8001, 8000).is_err());
    }
}
