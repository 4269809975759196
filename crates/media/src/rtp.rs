//! RTP packets (RFC 3550 §5.1): parsing that borrows the datagram and
//! refuses what is malformed, writing, and the sender's sequence number
//! and timestamp.

/// Why a datagram is not an RTP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RtpError {
    #[error("{0} bytes is shorter than an RTP header")]
    TooShort(usize),
    #[error("RTP version {0}, not 2")]
    Version(u8),
    #[error("the CSRC list runs past the packet")]
    Csrcs,
    #[error("the header extension runs past the packet")]
    Extension,
    #[error("padding of {0} bytes does not fit the packet")]
    Padding(u8),
}

/// A parsed RTP packet; the payload and extension borrow the datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub csrcs: Vec<u32>,
    /// Profile-defined id and the extension data (RFC 3550 §5.3.1).
    pub extension: Option<(u16, &'a [u8])>,
    pub payload: &'a [u8],
}

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]))
}

fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *b.get(i)?,
        *b.get(i + 1)?,
        *b.get(i + 2)?,
        *b.get(i + 3)?,
    ]))
}

/// Whether a datagram looks like RTP or RTCP rather than STUN or DTLS
/// (RFC 7983: first byte 128..=191).
pub fn is_rtp_or_rtcp(datagram: &[u8]) -> bool {
    datagram.first().is_some_and(|b| (128..=191).contains(b))
}

impl<'a> RtpPacket<'a> {
    pub fn parse(b: &'a [u8]) -> Result<RtpPacket<'a>, RtpError> {
        if b.len() < 12 {
            return Err(RtpError::TooShort(b.len()));
        }
        let first = b.first().copied().unwrap_or(0);
        let version = first >> 6;
        if version != 2 {
            return Err(RtpError::Version(version));
        }
        let padding = first & 0x20 != 0;
        let has_extension = first & 0x10 != 0;
        let cc = usize::from(first & 0x0f);
        let second = b.get(1).copied().unwrap_or(0);
        let mut at = 12;
        let mut csrcs = Vec::with_capacity(cc);
        for _ in 0..cc {
            csrcs.push(u32_at(b, at).ok_or(RtpError::Csrcs)?);
            at += 4;
        }
        let extension = if has_extension {
            let id = u16_at(b, at).ok_or(RtpError::Extension)?;
            let words = usize::from(u16_at(b, at + 2).ok_or(RtpError::Extension)?);
            let data = b
                .get(at + 4..at + 4 + words * 4)
                .ok_or(RtpError::Extension)?;
            at += 4 + words * 4;
            Some((id, data))
        } else {
            None
        };
        let mut end = b.len();
        if padding {
            let count = b.last().copied().unwrap_or(0);
            if count == 0 || usize::from(count) > end - at {
                return Err(RtpError::Padding(count));
            }
            end -= usize::from(count);
        }
        Ok(RtpPacket {
            marker: second & 0x80 != 0,
            payload_type: second & 0x7f,
            sequence: u16_at(b, 2).unwrap_or(0),
            timestamp: u32_at(b, 4).unwrap_or(0),
            ssrc: u32_at(b, 8).unwrap_or(0),
            csrcs,
            extension,
            payload: b.get(at..end).unwrap_or(&[]),
        })
    }

    /// The packet on the wire (no padding; an extension's data is padded
    /// to whole 32-bit words). At most 15 CSRCs are written.
    pub fn write(&self, out: &mut Vec<u8>) {
        let cc = self.csrcs.len().min(15);
        let mut first = 0x80 | cc as u8;
        if self.extension.is_some() {
            first |= 0x10;
        }
        out.push(first);
        out.push(u8::from(self.marker) << 7 | (self.payload_type & 0x7f));
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        for c in self.csrcs.iter().take(cc) {
            out.extend_from_slice(&c.to_be_bytes());
        }
        if let Some((id, data)) = self.extension {
            let words = data.len().div_ceil(4).min(usize::from(u16::MAX));
            out.extend_from_slice(&id.to_be_bytes());
            out.extend_from_slice(&(words as u16).to_be_bytes());
            let data = data.get(..words * 4).unwrap_or(data);
            out.extend_from_slice(data);
            out.resize(out.len() + (words * 4 - data.len()), 0);
        }
        out.extend_from_slice(self.payload);
    }

    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(12 + self.payload.len());
        self.write(&mut v);
        v
    }
}

/// The sending side of one RTP stream: SSRC, the next sequence number
/// and the media clock. Both start from random values the caller gives
/// (RFC 3550 §5.1), which keeps this deterministic.
#[derive(Debug, Clone)]
pub struct RtpSender {
    pub ssrc: u32,
    sequence: u16,
    timestamp: u32,
    /// Packets and payload octets sent, for the sender report.
    pub packets: u32,
    pub octets: u32,
}

impl RtpSender {
    pub fn new(ssrc: u32, first_sequence: u16, first_timestamp: u32) -> RtpSender {
        RtpSender {
            ssrc,
            sequence: first_sequence,
            timestamp: first_timestamp,
            packets: 0,
            octets: 0,
        }
    }

    /// The RTP timestamp the next packet will carry.
    pub fn timestamp(&self) -> u32 {
        self.timestamp
    }

    /// Builds the next packet carrying `samples` samples of `payload`
    /// and advances sequence and timestamp.
    pub fn packet<'p>(
        &mut self,
        payload_type: u8,
        marker: bool,
        payload: &'p [u8],
        samples: u32,
    ) -> RtpPacket<'p> {
        let p = RtpPacket {
            marker,
            payload_type,
            sequence: self.sequence,
            timestamp: self.timestamp,
            ssrc: self.ssrc,
            csrcs: Vec::new(),
            extension: None,
            payload,
        };
        self.sequence = self.sequence.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(samples);
        self.packets = self.packets.wrapping_add(1);
        self.octets = self.octets.wrapping_add(payload.len() as u32);
        p
    }

    /// A packet at the current timestamp that does not advance it (RFC
    /// 4733 events: every packet of one event has the event's start
    /// time).
    pub fn packet_at<'p>(
        &mut self,
        payload_type: u8,
        marker: bool,
        payload: &'p [u8],
        timestamp: u32,
    ) -> RtpPacket<'p> {
        let p = RtpPacket {
            marker,
            payload_type,
            sequence: self.sequence,
            timestamp,
            ssrc: self.ssrc,
            csrcs: Vec::new(),
            extension: None,
            payload,
        };
        self.sequence = self.sequence.wrapping_add(1);
        self.packets = self.packets.wrapping_add(1);
        self.octets = self.octets.wrapping_add(payload.len() as u32);
        p
    }

    /// Moves the media clock on without sending (silence suppressed, or
    /// time spent sending events).
    pub fn skip(&mut self, samples: u32) {
        self.timestamp = self.timestamp.wrapping_add(samples);
    }
}
