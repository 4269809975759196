//! Where the audio a stream sends comes from, produced at the stream's
//! rate (which follows the codec, see the module docs above): a tone is
//! generated at that rate, samples of another rate (a WAV file's own)
//! go through `media::resample` frame by frame as they are played.

use media::resample::FrameResampler;
use media::tone::ToneGenerator;

/// Where the audio we send comes from.
pub enum AudioSource {
    Silence,
    /// A tone, generated at the stream's rate whatever rate the
    /// generator was made with; a component the rate cannot carry (at or
    /// above half of it: 6 kHz over G.711) is left out, not aliased.
    Tone(ToneGenerator),
    /// These samples (8 kHz), then silence.
    Samples(Vec<i16>),
    /// These samples at `rate` (a multiple of 50 Hz), converted to the
    /// stream's rate as they are played, then silence.
    Pcm {
        samples: Vec<i16>,
        rate: u32,
    },
}

/// The samples of a WAV file as 8 kHz mono (see
/// [`crate::audio::backend::read_wav_at`]).
pub fn read_wav(path: &std::path::Path) -> Result<Vec<i16>, String> {
    crate::audio::backend::read_wav_at(path, 8000)
}

impl AudioSource {
    /// The audio of a WAV file, mono at the file's own rate (a rate that
    /// is not a multiple of 50 Hz, e.g. 11025, is converted to 48 kHz
    /// first): a wideband call plays it with all the band it has.
    pub fn wav(path: &std::path::Path) -> Result<AudioSource, String> {
        let (samples, rate) = crate::audio::backend::read_wav_mono(path)?;
        if rate.is_multiple_of(50) {
            return Ok(AudioSource::Pcm { samples, rate });
        }
        let samples = media::resample::FrameResampler::convert_all(rate, 48000, &samples)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(AudioSource::Pcm {
            samples,
            rate: 48000,
        })
    }
}

/// A source and how far it has been played: shared by the stream and its
/// send loop, so a restart (hold, unhold, a new codec) carries on where
/// it was.
pub(super) struct SourceState {
    source: AudioSource,
    /// The next sample of `Samples` or `Pcm`, at their own rate.
    position: usize,
    /// Their rate → the stream's, made when first needed.
    converter: Option<((u32, u32), FrameResampler)>,
    out: Vec<i16>,
}

impl SourceState {
    pub(super) fn new(source: AudioSource) -> SourceState {
        SourceState {
            source,
            position: 0,
            converter: None,
            out: Vec::new(),
        }
    }

    /// Fills `frame` (20 ms at `rate`) with the next audio.
    pub(super) fn fill(&mut self, frame: &mut [i16], rate: u32) {
        let (samples, from) = match &mut self.source {
            AudioSource::Silence => return frame.fill(0),
            AudioSource::Tone(t) => {
                if t.sample_rate() != rate {
                    t.set_sample_rate(rate);
                }
                return t.fill(frame);
            }
            AudioSource::Samples(s) => (&*s, 8000),
            AudioSource::Pcm { samples, rate } => (&*samples, *rate),
        };
        let chunk = (from / 50) as usize;
        // Past the end (and the converter's delay flushed): silence,
        // without running the converter.
        if self.position >= samples.len() + 2 * chunk {
            return frame.fill(0);
        }
        if from == rate {
            for out in frame.iter_mut() {
                *out = samples.get(self.position).copied().unwrap_or(0);
                self.position += 1;
            }
            return;
        }
        if self.converter.as_ref().map(|(r, _)| *r) != Some((from, rate)) {
            self.converter = FrameResampler::new(from, rate)
                .ok()
                .map(|c| ((from, rate), c));
        }
        let input = samples
            .get(self.position..(self.position + chunk).min(samples.len()))
            .unwrap_or(&[]);
        self.position += chunk;
        match self.converter.as_mut() {
            Some((_, c)) => {
                c.process(input, &mut self.out);
                for (o, s) in frame
                    .iter_mut()
                    .zip(self.out.iter().chain(std::iter::repeat(&0)))
                {
                    *o = *s;
                }
            }
            // A rate we cannot convert plays as silence.
            None => frame.fill(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use media::tone::goertzel;

    fn play(source: AudioSource, rate: u32, seconds: usize) -> Vec<i16> {
        let mut s = SourceState::new(source);
        let mut all = Vec::new();
        let mut frame = vec![0i16; (rate / 50) as usize];
        for _ in 0..seconds * 50 {
            s.fill(&mut frame, rate);
            all.extend_from_slice(&frame);
        }
        all
    }

    #[test]
    fn sources_play_at_the_stream_rate() {
        // A tone made for 8 kHz, played by a 48 kHz stream: 10 kHz is there.
        let tone = ToneGenerator::new(8000, &[10000.0], 8000);
        let heard = play(AudioSource::Tone(tone), 48000, 1);
        assert!(goertzel(&heard, 48000, 10000.0) > 1000.0 * goertzel(&heard, 48000, 2000.0));
        // 16 kHz samples with 6 kHz in them, played at 16 kHz and at 48 kHz.
        let mut six = vec![0i16; 16000];
        ToneGenerator::new(16000, &[6000.0], 8000).fill(&mut six);
        for rate in [16000, 48000] {
            let heard = play(
                AudioSource::Pcm {
                    samples: six.clone(),
                    rate: 16000,
                },
                rate,
                2,
            );
            let (tone, rest) = heard.split_at(rate as usize / 2);
            assert!(goertzel(tone, rate, 6000.0) > 1000.0 * goertzel(tone, rate, 2000.0));
            // Then silence once the samples are played.
            assert!(rest.iter().skip(rate as usize).all(|s| *s == 0));
        }
        // At 8 kHz the 6 kHz cannot be: filtered out, no 2 kHz alias.
        let heard = play(
            AudioSource::Pcm {
                samples: six,
                rate: 16000,
            },
            8000,
            1,
        );
        let energy: f64 = heard.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>();
        assert!(energy / (heard.len() as f64) < 1000.0, "{energy}");
    }
}
