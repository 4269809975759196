//! Our G.722 against spandsp's (Debian libspandsp-dev, installed by
//! scripts/test.sh), in the same run: the same codes from the same
//! input, the same samples from the same codes, bit for bit.

use media::codec::g722::{G722Decoder, G722Encoder};
use media::tone::ToneGenerator;

#[allow(non_camel_case_types)]
type state = std::ffi::c_void;

#[link(name = "spandsp")]
extern "C" {
    fn g722_encode_init(s: *mut state, rate: i32, options: i32) -> *mut state;
    fn g722_encode(s: *mut state, out: *mut u8, amp: *const i16, len: i32) -> i32;
    fn g722_encode_free(s: *mut state) -> i32;
    fn g722_decode_init(s: *mut state, rate: i32, options: i32) -> *mut state;
    fn g722_decode(s: *mut state, amp: *mut i16, data: *const u8, len: i32) -> i32;
    fn g722_decode_free(s: *mut state) -> i32;
}

/// Speech-like input: tones sweeping across both sub-bands, a loud
/// stretch that clips the predictor, and noise.
fn input() -> Vec<i16> {
    let mut v = Vec::new();
    let tones = [
        (300.0, 3000),
        (1000.0, 12000),
        (3400.0, 20000),
        (5500.0, 8000),
        (7000.0, 32000),
    ];
    for (hz, level) in tones {
        let mut t = ToneGenerator::new(16000, &[hz, hz * 0.37], level);
        let mut frame = vec![0i16; 4000];
        t.fill(&mut frame);
        v.extend(frame);
    }
    let mut x = 1u32;
    v.extend((0..8000).map(|_| {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        (x >> 16) as i16
    }));
    v
}

fn spandsp_encode(samples: &[i16]) -> Vec<u8> {
    let mut out = vec![0u8; samples.len()];
    unsafe {
        let s = g722_encode_init(std::ptr::null_mut(), 64000, 0);
        assert!(!s.is_null());
        let n = g722_encode(s, out.as_mut_ptr(), samples.as_ptr(), samples.len() as i32);
        g722_encode_free(s);
        out.truncate(n as usize);
    }
    out
}

fn spandsp_decode(codes: &[u8]) -> Vec<i16> {
    let mut out = vec![0i16; codes.len() * 2];
    unsafe {
        let s = g722_decode_init(std::ptr::null_mut(), 64000, 0);
        assert!(!s.is_null());
        let n = g722_decode(s, out.as_mut_ptr(), codes.as_ptr(), codes.len() as i32);
        g722_decode_free(s);
        out.truncate(n as usize);
    }
    out
}

#[test]
fn encoder_matches_spandsp_bit_for_bit() {
    let samples = input();
    let mut ours = Vec::new();
    let mut enc = G722Encoder::default();
    // In 20 ms frames, as a call codes them: state carries across.
    for frame in samples.chunks(320) {
        enc.encode(frame, &mut ours);
    }
    let theirs = spandsp_encode(&samples);
    assert_eq!(ours.len(), theirs.len());
    let first = ours.iter().zip(&theirs).position(|(a, b)| a != b);
    assert_eq!(first, None, "first differing code");
}

#[test]
fn decoder_matches_spandsp_bit_for_bit() {
    // Their codes of real audio, and every byte value in a run.
    let mut codes = spandsp_encode(&input());
    let real = codes.len() * 2;
    codes.extend((0..=255u8).cycle().take(4096));
    let mut ours = Vec::new();
    let mut dec = G722Decoder::default();
    for frame in codes.chunks(160) {
        dec.decode(frame, &mut ours);
    }
    let theirs = spandsp_decode(&codes);
    assert_eq!(ours.len(), theirs.len());
    // spandsp 0.0.6 casts the QMF output to 16 bits where the
    // Recommendation limits it: past full scale its sample wraps (a
    // click), ours stays at the rail. Elsewhere: equal.
    let mut clipped = 0;
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        if a != b {
            let rail = *a == i16::MAX || *a == i16::MIN;
            assert!(rail, "sample {i}: ours {a}, theirs {b}");
            clipped += usize::from(i < real);
        }
    }
    // Real audio comes near the rails only in its full-scale stretch.
    assert!(clipped < real / 1000, "{clipped} clipped samples");
}
