//! The adaptive jitter buffer: packets go in as they arrive (out of
//! order, late, duplicated, lost), frames come out one per packet time in
//! timestamp order, with a marked gap where a packet is missing so the
//! decoder can conceal it. The delay before playout follows the measured
//! jitter (RFC 3550 A.8's estimate), between a floor and a ceiling.
//!
//! Sans-IO: the caller passes arrival times in media-clock units and pulls
//! a frame every packet time from its own clock.

use std::collections::BTreeMap;

/// What the buffer gives for one packet time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// The payload for this time.
    Audio(Vec<u8>),
    /// The packet for this time is missing (lost or not yet in): conceal.
    Missing,
    /// Not playing: still filling up, or drained after a long silence.
    Idle,
}

/// Counters for statistics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterStats {
    pub played: u64,
    pub concealed: u64,
    /// Arrived after their time had been played (or concealed).
    pub late: u64,
    pub duplicates: u64,
    /// Dropped because the buffer was over its ceiling.
    pub overflow: u64,
}

/// One stream's jitter buffer.
#[derive(Debug, Clone)]
pub struct JitterBuffer {
    /// Timestamp units per frame (160 at 8 kHz, 20 ms).
    frame: u32,
    min_frames: u32,
    max_frames: u32,
    /// Waiting packets by timestamp, relative to `base` (unwrapped).
    packets: BTreeMap<i64, Vec<u8>>,
    /// Unwrapping reference: the first timestamp seen.
    base: Option<u32>,
    last_unwrapped: i64,
    /// The (unwrapped) timestamp of the next frame out, once playing.
    next: Option<i64>,
    /// Everything before this was played or concealed, even across a
    /// rebuffer: a packet for it is late (found by property testing: a
    /// retransmitted old packet played twice after an idle spell).
    done_before: Option<i64>,
    /// Frames missing in a row while playing.
    misses: u32,
    /// Jitter estimate in timestamp units, ×16 (A.8).
    jitter_q4: u64,
    transit: Option<i64>,
    pub stats: JitterStats,
}

impl JitterBuffer {
    /// A buffer for frames of `frame` timestamp units, holding between
    /// `min_frames` and `max_frames` frames before playout.
    pub fn new(frame: u32, min_frames: u32, max_frames: u32) -> JitterBuffer {
        JitterBuffer {
            frame: frame.max(1),
            min_frames: min_frames.max(1),
            max_frames: max_frames.max(min_frames.max(1)),
            packets: BTreeMap::new(),
            base: None,
            last_unwrapped: 0,
            next: None,
            done_before: None,
            misses: 0,
            jitter_q4: 0,
            transit: None,
            stats: JitterStats::default(),
        }
    }

    /// A 32-bit timestamp placed near the last one seen (handles wrap).
    fn unwrap(&mut self, ts: u32) -> i64 {
        let base = *self.base.get_or_insert(ts);
        let relative = i64::from(ts.wrapping_sub(base));
        // Choose the candidate closest to the last timestamp.
        let cycle = 1i64 << 32;
        let k = (self.last_unwrapped - relative + cycle / 2).div_euclid(cycle);
        let t = relative + k * cycle;
        self.last_unwrapped = t;
        t
    }

    /// The delay to build before playing, in frames: twice the jitter
    /// plus a frame, within the floor and ceiling.
    pub fn target_frames(&self) -> u32 {
        let jitter = self.jitter_q4 >> 4;
        let frames = (jitter.saturating_mul(2) / u64::from(self.frame)).saturating_add(1);
        u32::try_from(frames)
            .unwrap_or(u32::MAX)
            .clamp(self.min_frames, self.max_frames)
    }

    /// Frames waiting.
    pub fn buffered(&self) -> usize {
        self.packets.len()
    }

    /// A packet arrived at `arrival` (media-clock units of the caller's
    /// clock).
    pub fn push(&mut self, timestamp: u32, payload: &[u8], arrival: u32) {
        let t = self.unwrap(timestamp);
        // A.8 jitter from transit-time differences.
        let transit = i64::from(arrival) - t;
        if let Some(prev) = self.transit {
            let d = (transit - prev).unsigned_abs();
            // A.8 in Q4, saturating: a wild arrival time must not
            // overflow (found by property testing).
            let j = self.jitter_q4;
            self.jitter_q4 =
                j.saturating_add(d) - (j.saturating_add(8) >> 4).min(j.saturating_add(d));
        }
        self.transit = Some(transit);
        if self.next.or(self.done_before).is_some_and(|n| t < n) {
            self.stats.late += 1;
            return;
        }
        if self.packets.contains_key(&t) {
            self.stats.duplicates += 1;
            return;
        }
        self.packets.insert(t, payload.to_vec());
        // Over the ceiling: drop the oldest and move playout on.
        while self.packets.len() as u32 > self.max_frames * 2 {
            if let Some((&oldest, _)) = self.packets.iter().next() {
                self.packets.remove(&oldest);
                self.stats.overflow += 1;
                if let Some(n) = self.next.as_mut() {
                    *n = (*n).max(oldest + i64::from(self.frame));
                }
            }
        }
    }

    /// The payload of the next packet time, if it is here: after a
    /// [`Frame::Missing`], what a decoder with FEC (Opus) rebuilds the
    /// missing frame from.
    pub fn peek(&self) -> Option<&[u8]> {
        self.next
            .and_then(|n| self.packets.get(&n))
            .map(Vec::as_slice)
    }

    /// The frame for the next packet time.
    pub fn pop(&mut self) -> Frame {
        let Some(next) = self.next else {
            // Start once the target delay is buffered, at the oldest.
            if self.packets.len() as u32 >= self.target_frames() {
                if let Some((&first, _)) = self.packets.iter().next() {
                    self.next = Some(first);
                    return self.pop();
                }
            }
            return Frame::Idle;
        };
        self.next = Some(next + i64::from(self.frame));
        self.done_before = self.next;
        if let Some(p) = self.packets.remove(&next) {
            self.misses = 0;
            self.stats.played += 1;
            return Frame::Audio(p);
        }
        self.misses += 1;
        if self.packets.is_empty() && self.misses > self.max_frames {
            // The stream paused (silence, hold): rebuffer when it returns.
            self.next = None;
            self.misses = 0;
            return Frame::Idle;
        }
        self.stats.concealed += 1;
        Frame::Missing
    }
}

/// Loss concealment for decoded frames: the last good frame repeated
/// with falling gain (halved per repeat), silence after four; enough to
/// hide a lost packet or two without a click, the way simple G.711
/// endpoints do.
#[derive(Debug, Clone, Default)]
pub struct Concealer {
    last: Vec<i16>,
    repeats: u32,
}

impl Concealer {
    /// Remembers a good frame.
    pub fn good(&mut self, frame: &[i16]) {
        self.last.clear();
        self.last.extend_from_slice(frame);
        self.repeats = 0;
    }

    /// A frame of `len` samples in place of a missing one.
    pub fn conceal(&mut self, len: usize) -> Vec<i16> {
        self.repeats += 1;
        let shift = self.repeats.min(16);
        if self.repeats > 4 || self.last.is_empty() {
            return vec![0; len];
        }
        (0..len)
            .map(|i| self.last.get(i % self.last.len()).map_or(0, |s| s >> shift))
            .collect()
    }
}
