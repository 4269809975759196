use super::*;
use crate::tone::{goertzel, ToneGenerator};

/// One second of a tone at `rate`.
fn tone(rate: u32, hz: f64) -> Vec<i16> {
    let mut t = ToneGenerator::new(rate, &[hz], 10000);
    let mut v = vec![0i16; rate as usize];
    t.fill(&mut v);
    v
}

fn round_trip(codec: &mut dyn AudioCodec, input: &[i16]) -> (Vec<i16>, usize) {
    let mut out = Vec::new();
    let mut payload = Vec::new();
    let mut bytes = 0;
    for frame in input.chunks(codec.frame_samples()) {
        payload.clear();
        codec.encode(frame, &mut payload).unwrap();
        bytes += payload.len();
        codec.decode(&payload, &mut out).unwrap();
    }
    (out, bytes)
}

/// SNR (dB) of `output` against `input`, at the codec delay (searched
/// up to 20 ms) that fits best; the first 100 ms (start-up) left out.
fn snr(input: &[i16], output: &[i16], rate: u32) -> f64 {
    let skip = (rate / 10) as usize;
    let max_lag = (rate / 50) as usize;
    let n = input.len() - skip - max_lag;
    (0..max_lag)
        .map(|lag| {
            let (mut sig, mut noise) = (0.0, 0.0);
            for i in skip..skip + n {
                let x = f64::from(input[i]);
                let y = f64::from(output[i + lag]);
                sig += x * x;
                noise += (x - y) * (x - y);
            }
            10.0 * (sig / noise.max(1.0)).log10()
        })
        .fold(f64::MIN, f64::max)
}

fn keeps_frequency(out: &[i16], rate: u32, hz: f64) {
    let tail = &out[out.len() / 4..];
    let on = goertzel(tail, rate, hz);
    for off in [hz * 0.5, hz * 1.5] {
        assert!(
            on > 100.0 * goertzel(tail, rate, off),
            "{hz} Hz vs {off} Hz"
        );
    }
}

#[test]
fn g711_keeps_a_tone_above_35_db() {
    for law in [Law::Mu, Law::A] {
        let mut c = G711Codec::new(law);
        let input = tone(8000, 1000.0);
        let (out, bytes) = round_trip(&mut c, &input);
        assert_eq!(bytes, 8000);
        keeps_frequency(&out, 8000, 1000.0);
        let s = snr(&input, &out, 8000);
        // Measured: 37 dB (μ-law), 49 dB (A-law).
        assert!(s > 35.0, "{law:?}: {s:.1} dB");
    }
}

#[test]
fn g722_keeps_low_and_high_band_tones_above_40_and_22_db() {
    // 1 kHz rides the low sub-band, 6 kHz the high one (narrowband codecs
    // cannot carry it at all).
    for hz in [1000.0, 6000.0] {
        let mut c = G722Codec::default();
        let input = tone(16000, hz);
        let (out, bytes) = round_trip(&mut c, &input);
        assert_eq!(bytes, 8000, "64 kbit/s");
        assert_eq!(out.len(), input.len());
        keeps_frequency(&out, 16000, hz);
        let s = snr(&input, &out, 16000);
        // Measured: 47 dB at 1 kHz, 27 dB at 6 kHz.
        let floor = if hz < 4000.0 { 40.0 } else { 22.0 };
        assert!(s > floor, "{hz} Hz: {s:.1} dB");
    }
}

#[test]
fn opus_keeps_tones_above_18_db_at_32_kbit() {
    for hz in [1000.0, 6000.0] {
        let mut c = new_codec("opus", 48000, Some("useinbandfec=1")).unwrap();
        let input = tone(48000, hz);
        let (out, bytes) = round_trip(c.as_mut(), &input);
        assert_eq!(out.len(), input.len());
        assert!(bytes < 48000 / 8 * 2, "{bytes} bytes in a second");
        keeps_frequency(&out, 48000, hz);
        let s = snr(&input, &out, 48000);
        // Measured: 28 dB at 1 kHz, 24 dB at 6 kHz.
        assert!(s > 18.0, "{hz} Hz: {s:.1} dB");
    }
}

#[test]
fn opus_conceals_a_lost_frame_from_the_next_ones_fec() {
    let mut c = new_codec("opus", 48000, Some("useinbandfec=1")).unwrap();
    let input = tone(48000, 1000.0);
    let frames: Vec<Vec<u8>> = input
        .chunks(960)
        .map(|f| {
            let mut p = Vec::new();
            c.encode(f, &mut p).unwrap();
            p
        })
        .collect();
    let mut out = Vec::new();
    for (i, p) in frames.iter().enumerate() {
        if i % 10 == 5 {
            c.conceal(frames.get(i + 1).map(Vec::as_slice), &mut out);
        } else {
            c.decode(p, &mut out).unwrap();
        }
    }
    assert_eq!(out.len(), input.len());
    keeps_frequency(&out, 48000, 1000.0);
    // Plain PLC too (no next packet).
    let before = out.len();
    c.conceal(None, &mut out);
    assert_eq!(out.len() - before, 960);
}

#[test]
fn garbage_never_panics() {
    let mut state = 0x1234_5678u32;
    let mut codecs: Vec<Box<dyn AudioCodec>> = ["PCMU", "PCMA", "G722", "opus"]
        .iter()
        .map(|n| {
            let (_, clock) = rates(n, if *n == "opus" { 48000 } else { 8000 }).unwrap();
            new_codec(n, clock, None).unwrap()
        })
        .collect();
    for len in [0usize, 1, 2, 3, 7, 160, 1275, 1500, 4000] {
        let junk: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            })
            .collect();
        for c in &mut codecs {
            let mut out = Vec::new();
            let _ = c.decode(&junk, &mut out);
            c.conceal(Some(&junk), &mut out);
        }
    }
}

#[test]
fn codecs_we_do_not_run_are_refused() {
    assert!(new_codec("speex", 8000, None).is_err());
    assert!(new_codec("G722", 16000, None).is_err());
    assert!(new_codec("opus", 8000, None).is_err());
    assert_eq!(rates("g722", 8000), Some((16000, 8000)));
}

#[test]
fn opus_fmtp_is_read() {
    let p = opus::OpusParams::from_fmtp(Some(
        "maxplaybackrate=16000; stereo=0; useinbandfec=0;maxaveragebitrate=20000",
    ));
    assert_eq!(p.max_playback_rate, 16000);
    assert!(!p.inband_fec);
    assert_eq!(p.bitrate, 20000);
    assert!(!p.stereo && !p.dtx);
    assert_eq!(
        opus::OpusParams::from_fmtp(None),
        opus::OpusParams::default()
    );
    let p = opus::OpusParams::from_fmtp(Some("stereo=1;sprop-stereo=1;usedtx=1;cbr=1"));
    assert!(p.stereo && p.sprop_stereo && p.dtx && p.cbr);
}

/// `cbr=1` (RFC 7587 §6.1): every packet the same size, speech or
/// silence; without it, silence codes smaller than a tone.
#[test]
fn cbr_asked_by_the_peer_keeps_every_packet_the_same_size() {
    let tone: Vec<i16> = (0..960)
        .map(|i| (8000.0 * (std::f64::consts::TAU * 440.0 * f64::from(i) / 48000.0).sin()) as i16)
        .collect();
    let silence = vec![0i16; 960];
    let sizes = |params: opus::OpusParams| {
        let mut sizes: Vec<usize> = opus_packets(params.clone(), &tone, 20)
            .iter()
            .chain(&opus_packets(params, &silence, 20))
            .map(Vec::len)
            .collect();
        sizes.sort_unstable();
        sizes.dedup();
        sizes
    };
    let cbr = opus::OpusParams::from_fmtp(Some("cbr=1"));
    assert_eq!(sizes(cbr).len(), 1);
    assert!(sizes(opus::OpusParams::default()).len() > 1);
}

/// Payloads an Opus encoder gives for `frames` 20 ms frames of `pcm`
/// (repeated), empty ones (nothing to send) left out.
fn opus_packets(params: opus::OpusParams, pcm: &[i16], frames: usize) -> Vec<Vec<u8>> {
    let mut codec = opus::OpusCodec::new(params).unwrap();
    (0..frames)
        .filter_map(|_| {
            let mut out = Vec::new();
            codec.encode(pcm, &mut out).unwrap();
            (!out.is_empty()).then_some(out)
        })
        .collect()
}

/// RFC 7587 §3.1.3 and §6.1 `usedtx=1`: on silence a DTX encoder sends
/// a packet now and then instead of one per frame; on a tone, every
/// frame still goes.
#[test]
fn a_dtx_encoder_sends_fewer_packets_on_silence() {
    let silence = vec![0i16; 960];
    let tone: Vec<i16> = (0..960)
        .map(|i| (8000.0 * (std::f64::consts::TAU * 440.0 * f64::from(i) / 48000.0).sin()) as i16)
        .collect();
    let dtx = opus::OpusParams {
        dtx: true,
        ..opus::OpusParams::default()
    };
    let plain = opus_packets(opus::OpusParams::default(), &silence, 100);
    let quiet = opus_packets(dtx.clone(), &silence, 100);
    assert_eq!(plain.len(), 100);
    assert!(quiet.len() <= 20, "{} packets of 100 frames", quiet.len());
    assert!(
        !quiet.is_empty(),
        "DTX still refreshes the peer's comfort noise"
    );
    assert_eq!(opus_packets(dtx, &tone, 100).len(), 100);
}

/// A peer's `a=ptime:40` or `:60` (RFC 7587 §7): one packet carries
/// 40 or 60 ms, and decodes to as many samples.
#[test]
fn opus_packets_carry_40_and_60_ms() {
    for samples in [1920usize, 2880] {
        let tone: Vec<i16> = (0..samples)
            .map(|i| (8000.0 * (std::f64::consts::TAU * 1000.0 * i as f64 / 48000.0).sin()) as i16)
            .collect();
        let mut codec = opus::OpusCodec::new(opus::OpusParams::default()).unwrap();
        let mut decoded = Vec::new();
        for _ in 0..5 {
            let mut out = Vec::new();
            codec.encode(&tone, &mut out).unwrap();
            let before = decoded.len();
            codec.decode(&out, &mut decoded).unwrap();
            assert_eq!(decoded.len() - before, samples);
        }
        let tail = &decoded[decoded.len() / 2..];
        assert!(
            crate::tone::goertzel(tail, 48000, 1000.0)
                > 100.0 * crate::tone::goertzel(tail, 48000, 3000.0)
        );
    }
}

/// RFC 7587 §6.1 `maxplaybackrate`: a peer that plays at most 8 kHz gets
/// narrowband packets (RFC 6716 §3.1: the TOC's config says SILK or
/// CELT narrowband), so a 6 kHz tone does not reach it while a 1 kHz one
/// does; without the parameter the 6 kHz tone is carried.
#[test]
fn maxplaybackrate_narrows_the_encoded_band() {
    let narrow = opus::OpusParams::from_fmtp(Some("maxplaybackrate=8000"));
    let high = tone(48000, 6000.0);
    for packet in opus_packets(narrow.clone(), &high[..960], 50) {
        let config = packet[0] >> 3;
        assert!(
            matches!(config, 0..=3 | 16..=19),
            "TOC config {config} is not narrowband"
        );
    }
    let power_at = |params: opus::OpusParams, input: &[i16], hz: f64| {
        let mut codec = opus::OpusCodec::new(params).unwrap();
        let (out, _) = round_trip(&mut codec, input);
        goertzel(&out[out.len() / 4..], 48000, hz)
    };
    let kept = power_at(opus::OpusParams::default(), &high, 6000.0);
    let cut = power_at(narrow.clone(), &high, 6000.0);
    assert!(
        cut * 100.0 < kept,
        "6 kHz: {cut} narrowband vs {kept} fullband"
    );
    keeps_frequency(
        &{
            let mut codec = opus::OpusCodec::new(narrow).unwrap();
            round_trip(&mut codec, &tone(48000, 1000.0)).0
        },
        48000,
        1000.0,
    );
}
