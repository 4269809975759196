//! CPU per 20 ms frame of a call's audio, per codec: encode + decode of
//! one frame (a speech-like signal: two tones and a little noise), the
//! whole per-frame path of a call (the stream's frame, at the codec's
//! rate since issue 16's wideband fix, coded, through the jitter buffer,
//! decoded), as the AudioStream runs it, the same with SRTP protect and
//! unprotect on the way, and what a stream on a 48 kHz mixer adds: its
//! port's conversion both ways (none for Opus, at 48 kHz already).
//!
//! cargo bench -p media --bench codecs
//!
//! Figures in docs/PERFORMANCE.md ("Codecs"). libopus is Debian's 1.3.1.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use media::codec::{new_codec, AudioCodec};
use media::jitter::{Frame, JitterBuffer};
use media::resample::FrameResampler;
use media::tone::ToneGenerator;

const CODECS: [(&str, u32); 4] = [
    ("PCMU", 8000),
    ("G722", 8000),
    ("opus", 48000),
    ("PCMA", 8000),
];

/// One second of signal at `rate`, in 20 ms frames.
fn frames(rate: u32) -> Vec<Vec<i16>> {
    let mut t = ToneGenerator::new(rate, &[440.0, 1270.0], 12000);
    let mut v = vec![0i16; rate as usize];
    t.fill(&mut v);
    let mut x = 7u32;
    for s in &mut v {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        *s = s.saturating_add(((x >> 16) as i16) >> 6);
    }
    v.chunks((rate / 50) as usize)
        .map(<[i16]>::to_vec)
        .collect()
}

fn codec(name: &str, clock: u32) -> Box<dyn AudioCodec> {
    new_codec(name, clock, Some("useinbandfec=1")).unwrap()
}

fn encode_decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode+decode 20 ms");
    for (name, clock) in CODECS {
        let mut codec = codec(name, clock);
        let input = frames(codec.sample_rate());
        let mut payload = Vec::with_capacity(1500);
        let mut pcm = Vec::with_capacity(960);
        let mut i = 0;
        g.bench_function(name, |b| {
            b.iter(|| {
                let frame = &input[i % input.len()];
                i += 1;
                payload.clear();
                pcm.clear();
                codec.encode(black_box(frame), &mut payload).unwrap();
                codec.decode(black_box(&payload), &mut pcm).unwrap();
                black_box(pcm.len())
            })
        });
    }
    g.finish();
}

/// What one call spends per 20 ms frame in each direction together:
/// encode → jitter buffer → decode, at the codec's rate (the stream's).
fn call_path(c: &mut Criterion) {
    let mut g = c.benchmark_group("call path 20 ms");
    for (name, clock) in CODECS {
        let mut codec = codec(name, clock);
        let rate = codec.sample_rate();
        let step = codec.frame_clock();
        let mut jitter = JitterBuffer::new(step, 2, 10);
        let input = frames(rate);
        let (mut payload, mut pcm) = (Vec::new(), Vec::new());
        let mut ts = 0u32;
        g.bench_function(name, |b| {
            b.iter(|| {
                let frame = &input[(ts / step) as usize % input.len()];
                payload.clear();
                codec.encode(frame, &mut payload).unwrap();
                jitter.push(ts, &payload, ts);
                ts = ts.wrapping_add(step);
                pcm.clear();
                match jitter.pop() {
                    Frame::Audio(p) => codec.decode(&p, &mut pcm).unwrap(),
                    _ => codec.conceal(None, &mut pcm),
                }
                black_box(pcm.len())
            })
        });
    }
    g.finish();
}

/// What a stream's mixer port adds per 20 ms frame on a 48 kHz mixer:
/// the stream's rate → 48 kHz and back (Opus: nothing to convert).
fn mixer_port(c: &mut Criterion) {
    let mut g = c.benchmark_group("mixer port 20 ms at 48 kHz");
    for (name, rate) in [("G.711 (8 kHz)", 8000), ("G.722 (16 kHz)", 16000)] {
        let mut up = FrameResampler::new(rate, 48000).unwrap();
        let mut down = FrameResampler::new(48000, rate).unwrap();
        let (ours, mixer) = (frames(rate), frames(48000));
        let (mut wide, mut narrow) = (Vec::new(), Vec::new());
        let mut i = 0;
        g.bench_function(name, |b| {
            b.iter(|| {
                up.process(&ours[i % ours.len()], &mut wide);
                down.process(&mixer[i % mixer.len()], &mut narrow);
                i += 1;
                black_box(wide.len() + narrow.len())
            })
        });
    }
    g.finish();
}

/// The call path with SRTP (AES_CM_128_HMAC_SHA1_80) around the network:
/// each encoded frame becomes an RTP packet, is protected by the sender's
/// context and unprotected by the receiver's (replay check included),
/// then parsed and buffered as above.
fn call_path_srtp(c: &mut Criterion) {
    use media::rtp::RtpPacket;
    use media::srtp::{MasterKey, SrtpContext, SrtpProfile};
    let key = MasterKey::new([3; 16], [5; 14]);
    let mut g = c.benchmark_group("call path 20 ms with SRTP");
    for (name, clock) in CODECS {
        let mut codec = codec(name, clock);
        let rate = codec.sample_rate();
        let step = codec.frame_clock();
        let mut jitter = JitterBuffer::new(step, 2, 10);
        let mut tx = SrtpContext::new(SrtpProfile::AesCm128HmacSha1_80, &key).unwrap();
        let mut rx = SrtpContext::new(SrtpProfile::AesCm128HmacSha1_80, &key).unwrap();
        let input = frames(rate);
        let (mut payload, mut pcm, mut packet) = (Vec::new(), Vec::new(), Vec::new());
        let (mut ts, mut seq) = (0u32, 0u16);
        g.bench_function(name, |b| {
            b.iter(|| {
                let frame = &input[(ts / step) as usize % input.len()];
                payload.clear();
                codec.encode(frame, &mut payload).unwrap();
                packet.clear();
                packet.extend_from_slice(&[0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
                packet[2..4].copy_from_slice(&seq.to_be_bytes());
                packet[4..8].copy_from_slice(&ts.to_be_bytes());
                packet.extend_from_slice(&payload);
                let wire = tx.protect_rtp(&packet).unwrap();
                let plain = rx.unprotect_rtp(&wire).unwrap();
                let rtp = RtpPacket::parse(&plain).unwrap();
                jitter.push(rtp.timestamp, rtp.payload, ts);
                ts = ts.wrapping_add(step);
                seq = seq.wrapping_add(1);
                pcm.clear();
                match jitter.pop() {
                    Frame::Audio(p) => codec.decode(&p, &mut pcm).unwrap(),
                    _ => codec.conceal(None, &mut pcm),
                }
                black_box(pcm.len())
            })
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    encode_decode,
    call_path,
    mixer_port,
    call_path_srtp
);
criterion_main!(benches);
