//! A tone generator: one or two sine waves at a given level, for DTMF
//! digits played locally, ringback and test tones. Phase is kept across
//! calls so frames join without clicks.

use std::f64::consts::TAU;

use crate::dtmf::{digit_event, DtmfError};

/// The two frequencies (Hz) of a DTMF digit (ITU-T Q.23).
pub fn dtmf_frequencies(digit: char) -> Result<(f64, f64), DtmfError> {
    const LOW: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
    const HIGH: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
    // Keypad rows and columns of each event code 0-15.
    const POS: [(usize, usize); 16] = [
        (3, 1), // 0
        (0, 0),
        (0, 1),
        (0, 2),
        (1, 0),
        (1, 1),
        (1, 2),
        (2, 0),
        (2, 1),
        (2, 2),
        (3, 0), // *
        (3, 2), // #
        (0, 3), // A
        (1, 3),
        (2, 3),
        (3, 3), // D
    ];
    let event = digit_event(digit)?;
    let (row, col) = POS.get(usize::from(event)).copied().unwrap_or((0, 0));
    Ok((
        LOW.get(row).copied().unwrap_or(697.0),
        HIGH.get(col).copied().unwrap_or(1209.0),
    ))
}

/// A running tone.
#[derive(Debug, Clone)]
pub struct ToneGenerator {
    sample_rate: u32,
    frequencies: Vec<f64>,
    /// Peak amplitude of each component (0..=32767 in total).
    amplitude: f64,
    phase: Vec<f64>,
}

impl ToneGenerator {
    /// Sines at `frequencies`, together peaking at `amplitude`.
    pub fn new(sample_rate: u32, frequencies: &[f64], amplitude: i16) -> ToneGenerator {
        let n = frequencies.len().max(1) as f64;
        ToneGenerator {
            sample_rate: sample_rate.max(1),
            frequencies: frequencies.to_vec(),
            amplitude: f64::from(amplitude.unsigned_abs().min(32767)) / n,
            phase: vec![0.0; frequencies.len()],
        }
    }

    /// The two tones of a DTMF digit.
    pub fn dtmf(sample_rate: u32, digit: char, amplitude: i16) -> Result<ToneGenerator, DtmfError> {
        let (low, high) = dtmf_frequencies(digit)?;
        Ok(ToneGenerator::new(sample_rate, &[low, high], amplitude))
    }

    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Goes on at another rate, the phase kept (an audio stream plays a
    /// tone at whatever rate its codec runs).
    pub fn set_sample_rate(&mut self, sample_rate: u32) {
        self.sample_rate = sample_rate.max(1);
    }

    /// Fills `out` with the next samples. A component at or above half
    /// the rate is left out: sampled, it would sound as an alias far
    /// below its frequency (6 kHz at 8 kHz is a 2 kHz tone).
    pub fn fill(&mut self, out: &mut [i16]) {
        let rate = f64::from(self.sample_rate);
        for s in out.iter_mut() {
            let mut v = 0.0;
            for (f, p) in self.frequencies.iter().zip(self.phase.iter_mut()) {
                if 2.0 * f >= rate {
                    continue;
                }
                v += p.sin();
                *p = (*p + TAU * f / rate) % TAU;
            }
            *s = (v * self.amplitude).round().clamp(-32768.0, 32767.0) as i16;
        }
    }
}

/// The power of frequency `f` in `samples` (the Goertzel algorithm):
/// what tests and a DTMF detector use to see which tones are there.
pub fn goertzel(samples: &[i16], sample_rate: u32, f: f64) -> f64 {
    let k = TAU * f / f64::from(sample_rate.max(1));
    let coeff = 2.0 * k.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s0 = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (samples.len().max(1) as f64).powi(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tone_the_rate_cannot_carry_is_left_out_not_aliased() {
        let mut t = ToneGenerator::new(8000, &[1000.0, 6000.0], 16000);
        let mut narrow = vec![0i16; 8000];
        t.fill(&mut narrow);
        assert!(goertzel(&narrow, 8000, 1000.0) > 1000.0 * goertzel(&narrow, 8000, 2000.0));
        // At 16 kHz the same generator carries both.
        t.set_sample_rate(16000);
        assert_eq!(t.sample_rate(), 16000);
        let mut wide = vec![0i16; 16000];
        t.fill(&mut wide);
        let (low, high) = (
            goertzel(&wide, 16000, 1000.0),
            goertzel(&wide, 16000, 6000.0),
        );
        assert!(high > low / 2.0 && low > high / 2.0, "{low} {high}");
        assert!(high > 1000.0 * goertzel(&wide, 16000, 2000.0));
    }
}
