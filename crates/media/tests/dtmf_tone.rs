//! RFC 4733 events and the tone generator, checked by frequency content.

use media::dtmf::{digit_event, digit_packets, event_digit, EventReceiver, TelephoneEvent};
use media::tone::{dtmf_frequencies, goertzel, ToneGenerator};

#[test]
fn the_event_payload_is_laid_out_as_rfc_4733_says() {
    let e = TelephoneEvent {
        event: 5,
        end: true,
        volume: 10,
        duration: 800,
    };
    assert_eq!(e.to_bytes(), [5, 0x8a, 0x03, 0x20]);
    assert_eq!(TelephoneEvent::parse(&[5, 0x8a, 0x03, 0x20]).unwrap(), e);
    assert!(TelephoneEvent::parse(&[1, 2]).is_err());
    for (d, code) in [
        ('0', 0),
        ('9', 9),
        ('*', 10),
        ('#', 11),
        ('A', 12),
        ('d', 15),
    ] {
        assert_eq!(digit_event(d).unwrap(), code);
        assert_eq!(event_digit(code).unwrap(), d.to_ascii_uppercase());
    }
    assert!(digit_event('x').is_err());
    assert_eq!(event_digit(16), None);
    // DIGITS lists the sixteen events in code order.
    for (code, d) in media::dtmf::DIGITS.chars().enumerate() {
        assert_eq!(usize::from(digit_event(d).unwrap()), code);
    }
    assert_eq!(media::dtmf::DIGITS.len(), 16);
}

#[test]
fn a_digit_is_updates_then_three_ends_and_is_reported_once() {
    let packets = digit_packets('#', 800, 160, 10).unwrap();
    let durations: Vec<u16> = packets
        .iter()
        .map(|(_, p)| TelephoneEvent::parse(p).unwrap().duration)
        .collect();
    assert_eq!(durations, [160, 320, 480, 640, 800, 800, 800]);
    let ends: Vec<bool> = packets
        .iter()
        .map(|(_, p)| TelephoneEvent::parse(p).unwrap().end)
        .collect();
    assert_eq!(ends, [false, false, false, false, true, true, true]);
    assert!(
        packets[0].0 && packets[1..].iter().all(|(m, _)| !m),
        "marker on the first only"
    );

    let mut rx = EventReceiver::default();
    let digits: Vec<char> = packets
        .iter()
        .filter_map(|(_, p)| rx.on_packet(4000, p))
        .collect();
    assert_eq!(digits, ['#']);
    // The next event starts at another timestamp.
    assert_eq!(rx.on_packet(8000, &packets[0].1), Some('#'));
}

#[test]
fn dtmf_tones_contain_their_two_frequencies_only() {
    let all = [697.0, 770.0, 852.0, 941.0, 1209.0, 1336.0, 1477.0, 1633.0];
    for digit in ['1', '5', '9', '0', '*', '#', 'D'] {
        let (low, high) = dtmf_frequencies(digit).unwrap();
        let mut samples = vec![0i16; 800]; // 100 ms at 8 kHz
        ToneGenerator::dtmf(8000, digit, 16000)
            .unwrap()
            .fill(&mut samples);
        let power = |f: f64| goertzel(&samples, 8000, f);
        for f in all {
            if f == low || f == high {
                assert!(power(f) > 1e6, "{digit}: {f} Hz missing");
            } else {
                assert!(power(f) < power(low) / 100.0, "{digit}: {f} Hz present");
            }
        }
    }
    assert_eq!(dtmf_frequencies('5').unwrap(), (770.0, 1336.0));
}

#[test]
fn a_tone_has_its_frequency_and_level_across_frames() {
    let mut g = ToneGenerator::new(8000, &[440.0], 8000);
    let mut samples = vec![0i16; 8000];
    // Filled 160 samples at a time: phase carries over between frames.
    for frame in samples.chunks_mut(160) {
        g.fill(frame);
    }
    let crossings = samples
        .windows(2)
        .filter(|w| (w[0] < 0) != (w[1] < 0))
        .count();
    assert!(
        (878..=882).contains(&crossings),
        "{crossings} zero crossings in 1 s"
    );
    let peak = samples.iter().map(|s| s.unsigned_abs()).max().unwrap();
    assert!((7990..=8000).contains(&peak), "peak {peak}");
}
