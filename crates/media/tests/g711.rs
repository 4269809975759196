//! G.711 against the values of ITU-T G.711's tables and its error bounds.

use media::g711::{alaw_decode, alaw_encode, ulaw_decode, ulaw_encode, Law};
use media::tone::ToneGenerator;

#[test]
fn mu_law_end_points_and_zero() {
    assert_eq!(ulaw_encode(0), 0xff);
    assert_eq!(ulaw_decode(0xff), 0);
    assert_eq!(ulaw_decode(0x7f), 0, "negative zero");
    assert_eq!(ulaw_decode(0x80), 32124);
    assert_eq!(ulaw_decode(0x00), -32124);
    assert_eq!(ulaw_encode(i16::MAX), 0x80);
    assert_eq!(ulaw_encode(i16::MIN), 0x00);
    // The first step above zero: codes 0xfe/0x7e are ±8.
    assert_eq!(ulaw_decode(0xfe), 8);
    assert_eq!(ulaw_decode(0x7e), -8);
}

#[test]
fn a_law_end_points_and_zero() {
    assert_eq!(alaw_encode(0), 0xd5);
    assert_eq!(alaw_decode(0xd5), 8);
    assert_eq!(alaw_decode(0x55), -8);
    assert_eq!(alaw_decode(0xaa), 32256);
    assert_eq!(alaw_decode(0x2a), -32256);
    assert_eq!(alaw_encode(i16::MAX), 0xaa);
    assert_eq!(alaw_encode(i16::MIN), 0x2a);
    assert_eq!(alaw_encode(-1), 0x55);
}

#[test]
fn every_code_survives_decode_then_encode() {
    for c in 0..=255u8 {
        if c != 0x7f {
            assert_eq!(ulaw_encode(ulaw_decode(c)), c, "μ-law {c:#04x}");
        }
        assert_eq!(alaw_encode(alaw_decode(c)), c, "A-law {c:#04x}");
    }
}

#[test]
fn quantization_error_is_bounded_and_monotonic() {
    for law in [Law::Mu, Law::A] {
        let mut previous = i16::MIN;
        for x in i16::MIN..=i16::MAX {
            let y = match law {
                Law::Mu => ulaw_decode(ulaw_encode(x)),
                Law::A => alaw_decode(alaw_encode(x)),
            };
            let err = (i32::from(y) - i32::from(x)).abs();
            // 4 mantissa bits: half a step is under 1/32 of the value,
            // plus the finest step near zero and the clipped top.
            assert!(err <= i32::from(x).abs() / 30 + 16, "{law:?} {x} -> {y}");
            assert!(y >= previous, "{law:?} not monotonic at {x}");
            previous = y;
        }
    }
}

#[test]
fn a_1khz_tone_keeps_over_30_db_signal_to_noise() {
    let mut tone = vec![0i16; 8000];
    ToneGenerator::new(8000, &[1000.0], 10_000).fill(&mut tone);
    for law in [Law::Mu, Law::A] {
        let mut coded = Vec::new();
        law.encode(&tone, &mut coded);
        assert_eq!(coded.len(), tone.len());
        let mut back = Vec::new();
        law.decode(&coded, &mut back);
        let signal: f64 = tone.iter().map(|s| f64::from(*s).powi(2)).sum();
        let noise: f64 = tone
            .iter()
            .zip(&back)
            .map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2))
            .sum();
        let snr = 10.0 * (signal / noise).log10();
        assert!(snr > 30.0, "{law:?}: {snr:.1} dB");
    }
    assert_eq!(Law::from_encoding("pcmu"), Some(Law::Mu));
    assert_eq!(Law::from_encoding("PCMA"), Some(Law::A));
    assert_eq!(Law::from_encoding("opus"), None);
    assert_eq!(ulaw_decode(Law::Mu.silence()), 0);
    assert_eq!(alaw_decode(Law::A.silence()).abs(), 8);
}
