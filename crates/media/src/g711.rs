//! G.711 (ITU-T G.711): 16-bit linear PCM to and from 8-bit μ-law (PCMU,
//! RTP payload type 0) and A-law (PCMA, payload type 8), at 8 kHz.
//!
//! Both laws cut the magnitude into eight segments, each half as fine as
//! the next louder one, and send sign, segment and four mantissa bits.
//! Decoding goes through a 256-entry table built once; encoding computes
//! the segment from the position of the highest set bit.

use std::sync::OnceLock;

/// μ-law adds this bias so segment boundaries fall on powers of two.
const ULAW_BIAS: i32 = 0x84;
/// Largest magnitude μ-law can express before the bias is added.
const ULAW_CLIP: i32 = 32635;

/// One linear sample to μ-law.
pub fn ulaw_encode(sample: i16) -> u8 {
    let s = i32::from(sample);
    let sign: u8 = if s < 0 { 0x80 } else { 0 };
    let magnitude = s.unsigned_abs().min(ULAW_CLIP as u32) as i32 + ULAW_BIAS;
    // Segment: how far the top bit sits above bit 7.
    let top = 31 - (magnitude as u32).leading_zeros() as i32;
    let segment = (top - 7).clamp(0, 7);
    let mantissa = (magnitude >> (segment + 3)) & 0x0f;
    !(sign | (segment as u8) << 4 | mantissa as u8)
}

fn ulaw_decode_slow(code: u8) -> i16 {
    let c = !code;
    let segment = i32::from((c >> 4) & 0x07);
    let mantissa = i32::from(c & 0x0f);
    let magnitude = (((mantissa << 3) + ULAW_BIAS) << segment) - ULAW_BIAS;
    if c & 0x80 != 0 {
        -magnitude as i16
    } else {
        magnitude as i16
    }
}

/// One linear sample to A-law.
pub fn alaw_encode(sample: i16) -> u8 {
    let s = i32::from(sample);
    // A-law's sign bit is set for positive values (before the 0x55 mask).
    let (sign, magnitude) = if s >= 0 {
        (0x80u8, s)
    } else {
        // -1 and -8 encode like 0 and 7: the law is symmetric around -0.5.
        (0u8, (-s - 1).max(0))
    };
    let magnitude = magnitude.min(0x7fff);
    let code = if magnitude < 256 {
        (magnitude >> 4) as u8
    } else {
        let top = 31 - (magnitude as u32).leading_zeros() as i32;
        let segment = (top - 7).clamp(1, 7);
        let mantissa = (magnitude >> (segment + 3)) & 0x0f;
        (segment as u8) << 4 | mantissa as u8
    };
    (sign | code) ^ 0x55
}

fn alaw_decode_slow(code: u8) -> i16 {
    let c = code ^ 0x55;
    let segment = i32::from((c >> 4) & 0x07);
    let mantissa = i32::from(c & 0x0f);
    // The decoder returns the middle of the interval the code covers.
    let magnitude = if segment == 0 {
        (mantissa << 4) + 8
    } else {
        ((mantissa << 4) + 0x108) << (segment - 1)
    };
    if c & 0x80 != 0 {
        magnitude as i16
    } else {
        -magnitude as i16
    }
}

fn tables() -> &'static ([i16; 256], [i16; 256]) {
    static T: OnceLock<([i16; 256], [i16; 256])> = OnceLock::new();
    T.get_or_init(|| {
        let mut u = [0i16; 256];
        let mut a = [0i16; 256];
        for (i, (u, a)) in u.iter_mut().zip(a.iter_mut()).enumerate() {
            *u = ulaw_decode_slow(i as u8);
            *a = alaw_decode_slow(i as u8);
        }
        (u, a)
    })
}

/// One μ-law code to a linear sample.
pub fn ulaw_decode(code: u8) -> i16 {
    tables().0.get(usize::from(code)).copied().unwrap_or(0)
}

/// One A-law code to a linear sample.
pub fn alaw_decode(code: u8) -> i16 {
    tables().1.get(usize::from(code)).copied().unwrap_or(0)
}

/// Which law.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Law {
    /// PCMU, RTP payload type 0.
    Mu,
    /// PCMA, RTP payload type 8.
    A,
}

impl Law {
    /// The law of an rtpmap encoding name (case-insensitive).
    pub fn from_encoding(name: &str) -> Option<Law> {
        if name.eq_ignore_ascii_case("PCMU") {
            Some(Law::Mu)
        } else if name.eq_ignore_ascii_case("PCMA") {
            Some(Law::A)
        } else {
            None
        }
    }

    pub fn encode(self, samples: &[i16], out: &mut Vec<u8>) {
        out.reserve(samples.len());
        match self {
            Law::Mu => out.extend(samples.iter().map(|s| ulaw_encode(*s))),
            Law::A => out.extend(samples.iter().map(|s| alaw_encode(*s))),
        }
    }

    pub fn decode(self, codes: &[u8], out: &mut Vec<i16>) {
        let (u, a) = tables();
        let table = match self {
            Law::Mu => u,
            Law::A => a,
        };
        out.reserve(codes.len());
        out.extend(
            codes
                .iter()
                .map(|c| table.get(usize::from(*c)).copied().unwrap_or(0)),
        );
    }

    /// The code for silence.
    pub fn silence(self) -> u8 {
        match self {
            Law::Mu => 0xff,
            Law::A => 0xd5,
        }
    }
}
