//! The jitter buffer: order restored, gaps marked, late and duplicate
//! packets dropped, timestamps wrapping, the delay following the jitter,
//! and concealment fading out.

use media::jitter::{Concealer, Frame, JitterBuffer};

const F: u32 = 160;

fn payload(n: u32) -> Vec<u8> {
    n.to_be_bytes().to_vec()
}

/// Pops until `count` non-idle frames, as the numbers they carry (None
/// for a missing one).
fn play(jb: &mut JitterBuffer, count: usize) -> Vec<Option<u32>> {
    let mut out = Vec::new();
    for _ in 0..count * 4 {
        match jb.pop() {
            Frame::Audio(p) => out.push(Some(u32::from_be_bytes(p.try_into().unwrap()))),
            Frame::Missing => out.push(None),
            Frame::Idle => continue,
        }
        if out.len() == count {
            break;
        }
    }
    out
}

#[test]
fn in_order_packets_play_in_order_after_the_initial_delay() {
    let mut jb = JitterBuffer::new(F, 2, 10);
    jb.push(1000, &payload(0), 0);
    assert_eq!(
        jb.pop(),
        Frame::Idle,
        "one frame is below the 2-frame floor"
    );
    for n in 1..10 {
        jb.push(1000 + n * F, &payload(n), n * F);
    }
    assert_eq!(play(&mut jb, 10), (0..10).map(Some).collect::<Vec<_>>());
    assert_eq!(jb.stats.played, 10);
}

#[test]
fn reordered_packets_come_out_in_order_and_a_lost_one_is_marked() {
    let mut jb = JitterBuffer::new(F, 3, 10);
    // 0 2 1 3 5 6 (4 lost) 7
    for (i, n) in [0u32, 2, 1, 3, 5, 6, 7].into_iter().enumerate() {
        jb.push(n * F, &payload(n), i as u32 * F);
    }
    assert_eq!(
        play(&mut jb, 8),
        [
            Some(0),
            Some(1),
            Some(2),
            Some(3),
            None,
            Some(5),
            Some(6),
            Some(7)
        ]
    );
    assert_eq!(jb.stats.concealed, 1);
}

#[test]
fn late_and_duplicate_packets_are_dropped_and_counted() {
    let mut jb = JitterBuffer::new(F, 2, 10);
    for n in 0..4 {
        jb.push(n * F, &payload(n), n * F);
    }
    jb.push(F, &payload(1), 4 * F); // duplicate while still waiting
    assert_eq!(play(&mut jb, 3), [Some(0), Some(1), Some(2)]);
    jb.push(0, &payload(0), 5 * F); // its time was played
    assert_eq!(jb.stats.duplicates, 1);
    assert_eq!(jb.stats.late, 1);
    assert_eq!(play(&mut jb, 1), [Some(3)]);
}

#[test]
fn timestamps_wrap_around() {
    let mut jb = JitterBuffer::new(F, 2, 10);
    let start = u32::MAX - 2 * F + 1;
    for n in 0..6u32 {
        jb.push(start.wrapping_add(n * F), &payload(n), n * F);
    }
    assert_eq!(play(&mut jb, 6), (0..6).map(Some).collect::<Vec<_>>());
}

#[test]
fn the_delay_grows_with_jitter_within_the_ceiling() {
    let mut steady = JitterBuffer::new(F, 2, 12);
    let mut jittery = JitterBuffer::new(F, 2, 12);
    for n in 0..200u32 {
        steady.push(n * F, &payload(n), n * F);
        // Arrival wobbles by ±2 frames.
        let wobble = if n % 2 == 0 { 0 } else { 4 * F };
        jittery.push(n * F, &payload(n), n * F + wobble);
    }
    assert_eq!(steady.target_frames(), 2, "no jitter: the floor");
    let t = jittery.target_frames();
    assert!(
        (5..=12).contains(&t),
        "target {t} frames for 640 units of jitter"
    );
}

#[test]
fn a_long_pause_goes_idle_and_playout_restarts() {
    let mut jb = JitterBuffer::new(F, 2, 4);
    for n in 0..3 {
        jb.push(n * F, &payload(n), n * F);
    }
    assert_eq!(play(&mut jb, 3), [Some(0), Some(1), Some(2)]);
    // Nothing for a while: a few concealed frames, then idle.
    let mut frames = Vec::new();
    for _ in 0..8 {
        frames.push(jb.pop());
    }
    assert!(frames.contains(&Frame::Missing) && frames.last() == Some(&Frame::Idle));
    // The stream comes back later: it rebuffers and plays again.
    for n in 100..104 {
        jb.push(n * F, &payload(n), n * F);
    }
    assert_eq!(
        play(&mut jb, 4),
        [Some(100), Some(101), Some(102), Some(103)]
    );
}

#[test]
fn concealment_repeats_the_last_frame_fading_to_silence() {
    let mut c = Concealer::default();
    assert_eq!(c.conceal(4), [0, 0, 0, 0], "nothing to repeat yet");
    c.good(&[1000, -1000, 800, -800]);
    let energy = |f: &[i16]| f.iter().map(|s| i64::from(*s).pow(2)).sum::<i64>();
    let mut last = energy(&[1000, -1000, 800, -800]);
    for _ in 0..4 {
        let f = c.conceal(4);
        let e = energy(&f);
        assert!(e < last && e > 0, "fading: {e} after {last}");
        last = e;
    }
    assert_eq!(c.conceal(4), [0, 0, 0, 0], "silence after four");
}

#[test]
fn after_a_gap_the_next_packet_can_be_peeked_for_fec() {
    let mut jb = JitterBuffer::new(F, 2, 10);
    for n in [0, 1, 3, 4] {
        jb.push(n * F, &payload(n), n * F);
    }
    assert_eq!(play(&mut jb, 2), vec![Some(0), Some(1)]);
    assert_eq!(jb.pop(), Frame::Missing);
    assert_eq!(jb.peek(), Some(&payload(3)[..]));
    assert_eq!(play(&mut jb, 1), vec![Some(3)]);
}
