//! What a receiver knows about one source, for its RTCP report block
//! (RFC 3550 A.1 sequence tracking with probation, A.3 loss, A.8
//! interarrival jitter). Arrival times are passed in as media-clock units
//! by the caller, which owns the clock.

use crate::rtcp::ReportBlock;

const MAX_DROPOUT: u16 = 3000;
const MAX_MISORDER: u16 = 100;
const MIN_SEQUENTIAL: u8 = 2;

/// Reception state of one SSRC.
#[derive(Debug, Clone)]
pub struct ReceiverStats {
    pub ssrc: u32,
    max_seq: u16,
    /// Sequence number wraps, shifted left 16.
    cycles: u32,
    base_seq: u32,
    bad_seq: u32,
    probation: u8,
    received: u32,
    expected_prior: u32,
    received_prior: u32,
    /// Jitter estimate in timestamp units, scaled by 16 (A.8).
    jitter_q4: u32,
    /// Transit time of the previous packet, if any.
    transit: Option<u32>,
}

impl ReceiverStats {
    /// Starts tracking a source with its first packet's sequence number;
    /// pass that packet to `on_packet` too. A source is valid after
    /// `MIN_SEQUENTIAL` (2) packets in sequence.
    pub fn new(ssrc: u32, first_sequence: u16) -> ReceiverStats {
        let mut s = ReceiverStats {
            ssrc,
            max_seq: first_sequence.wrapping_sub(1),
            cycles: 0,
            base_seq: 0,
            bad_seq: u32::MAX,
            probation: MIN_SEQUENTIAL,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            jitter_q4: 0,
            transit: None,
        };
        s.init(first_sequence);
        // As A.1's init_seq: the first packet itself then counts towards
        // probation through `on_packet`.
        s.max_seq = first_sequence.wrapping_sub(1);
        s.probation = MIN_SEQUENTIAL;
        s
    }

    fn init(&mut self, seq: u16) {
        self.base_seq = u32::from(seq);
        self.max_seq = seq;
        self.bad_seq = u32::MAX;
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
    }

    /// Whether the source is past probation (two packets in sequence).
    pub fn is_valid(&self) -> bool {
        self.probation == 0
    }

    /// Counts a packet (A.1). Returns false for one that should be
    /// dropped: during probation out of sequence, or a large jump not yet
    /// confirmed by the next packet.
    pub fn on_packet(&mut self, seq: u16, rtp_timestamp: u32, arrival: u32) -> bool {
        let udelta = seq.wrapping_sub(self.max_seq);
        if self.probation > 0 {
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init(seq);
                    self.received += 1;
                    self.jitter(rtp_timestamp, arrival);
                    return true;
                }
            } else {
                self.probation = MIN_SEQUENTIAL - 1;
                self.max_seq = seq;
            }
            return false;
        }
        if udelta < MAX_DROPOUT {
            if seq < self.max_seq {
                self.cycles = self.cycles.wrapping_add(1 << 16);
            }
            self.max_seq = seq;
        } else if udelta <= u16::MAX - MAX_MISORDER {
            // A very large jump: the source may have restarted. Believe
            // it once the next packet follows it.
            if u32::from(seq) == self.bad_seq {
                self.init(seq);
            } else {
                self.bad_seq = u32::from(seq.wrapping_add(1));
                return false;
            }
        }
        // else: a duplicate or reordered packet, counted.
        self.received += 1;
        self.jitter(rtp_timestamp, arrival);
        true
    }

    /// A.8: J += (|D| - J) / 16, with D the change in transit time.
    fn jitter(&mut self, rtp_timestamp: u32, arrival: u32) {
        let transit = arrival.wrapping_sub(rtp_timestamp);
        if let Some(prev) = self.transit {
            let d = (transit.wrapping_sub(prev) as i32).unsigned_abs();
            // Q4 fixed point, as the RFC's sample code keeps it.
            let j = self.jitter_q4 as i64;
            self.jitter_q4 =
                (j + i64::from(d) - ((j + 8) >> 4)).clamp(0, i64::from(u32::MAX)) as u32;
        }
        self.transit = Some(transit);
    }

    /// Extended highest sequence number received.
    pub fn extended_max(&self) -> u32 {
        self.cycles.wrapping_add(u32::from(self.max_seq))
    }

    /// Packets expected since the first.
    pub fn expected(&self) -> u32 {
        self.extended_max()
            .wrapping_sub(self.base_seq)
            .wrapping_add(1)
    }

    /// Cumulative loss (negative with duplicates).
    pub fn lost(&self) -> i64 {
        i64::from(self.expected()) - i64::from(self.received)
    }

    pub fn received(&self) -> u32 {
        self.received
    }

    /// Interarrival jitter in timestamp units.
    pub fn jitter_units(&self) -> u32 {
        self.jitter_q4 >> 4
    }

    /// The report block for this source (A.3), starting a new interval.
    /// `last_sr` and `delay` come from the caller's record of the last
    /// sender report.
    pub fn report(&mut self, last_sr: u32, delay_since_last_sr: u32) -> ReportBlock {
        let expected = self.expected();
        let expected_interval = expected.wrapping_sub(self.expected_prior);
        let received_interval = self.received.wrapping_sub(self.received_prior);
        self.expected_prior = expected;
        self.received_prior = self.received;
        let lost_interval = i64::from(expected_interval) - i64::from(received_interval);
        let fraction = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / i64::from(expected_interval)).min(255) as u8
        };
        ReportBlock {
            ssrc: self.ssrc,
            fraction_lost: fraction,
            cumulative_lost: self.lost().clamp(-0x80_0000, 0x7f_ffff) as i32,
            highest_sequence: self.extended_max(),
            jitter: self.jitter_units(),
            last_sr,
            delay_since_last_sr,
        }
    }
}
