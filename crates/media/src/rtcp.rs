//! RTCP compound packets (RFC 3550 §6): sender and receiver reports with
//! their report blocks, SDES (CNAME and the other items), BYE; anything
//! else is kept as an opaque packet. Parsing refuses a compound packet
//! whose lengths do not add up (§6.4.1 and A.2's validity checks).

/// Why a datagram is not a valid RTCP compound packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RtcpError {
    #[error("{0} bytes is shorter than an RTCP header")]
    TooShort(usize),
    #[error("RTCP version {0}, not 2")]
    Version(u8),
    #[error("a packet's length runs past the datagram")]
    Length,
    #[error("packet type {0} has a body that does not match its count")]
    Body(u8),
    #[error("a compound packet must start with SR or RR, not {0}")]
    First(u8),
}

pub const SR: u8 = 200;
pub const RR: u8 = 201;
pub const SDES: u8 = 202;
pub const BYE: u8 = 203;

/// One reception report (§6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    pub ssrc: u32,
    /// Fraction lost since the last report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative packets lost (24-bit signed on the wire).
    pub cumulative_lost: i32,
    pub highest_sequence: u32,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP time of the last SR received.
    pub last_sr: u32,
    /// Delay since that SR, in 1/65536 s.
    pub delay_since_last_sr: u32,
}

/// One SDES chunk: a source and its items of (type, text). Text is kept
/// as the octets received (UTF-8 by the RFC, but a report must not be
/// rewritten by its reader).
pub type SdesChunk = (u32, Vec<(u8, Vec<u8>)>);

/// An SDES item type (§6.5).
pub const CNAME: u8 = 1;

/// One RTCP packet of a compound packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtcpPacket {
    SenderReport {
        ssrc: u32,
        ntp: u64,
        rtp_timestamp: u32,
        packets: u32,
        octets: u32,
        reports: Vec<ReportBlock>,
    },
    ReceiverReport {
        ssrc: u32,
        reports: Vec<ReportBlock>,
    },
    /// Chunks of (SSRC, items of (type, text)).
    SourceDescription(Vec<SdesChunk>),
    Bye {
        ssrcs: Vec<u32>,
        /// The reason's octets (UTF-8 by the RFC).
        reason: Option<Vec<u8>>,
    },
    Other {
        packet_type: u8,
        count: u8,
        body: Vec<u8>,
    },
}

fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *b.get(i)?,
        *b.get(i + 1)?,
        *b.get(i + 2)?,
        *b.get(i + 3)?,
    ]))
}

fn blocks(body: &[u8], count: usize, pt: u8) -> Result<Vec<ReportBlock>, RtcpError> {
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let at = i * 24;
        let word = |k: usize| u32_at(body, at + k).ok_or(RtcpError::Body(pt));
        let lost = word(4)?;
        // 24-bit two's complement.
        let cumulative = ((lost & 0x00ff_ffff) << 8) as i32 >> 8;
        out.push(ReportBlock {
            ssrc: word(0)?,
            fraction_lost: (lost >> 24) as u8,
            cumulative_lost: cumulative,
            highest_sequence: word(8)?,
            jitter: word(12)?,
            last_sr: word(16)?,
            delay_since_last_sr: word(20)?,
        });
    }
    Ok(out)
}

fn sdes(body: &[u8], count: usize) -> Result<Vec<SdesChunk>, RtcpError> {
    let bad = RtcpError::Body(SDES);
    let mut at = 0;
    let mut chunks = Vec::with_capacity(count);
    for _ in 0..count {
        let ssrc = u32_at(body, at).ok_or(bad)?;
        at += 4;
        let mut items = Vec::new();
        loop {
            let kind = *body.get(at).ok_or(bad)?;
            if kind == 0 {
                // End of items; the chunk is padded to a 32-bit boundary.
                at = (at + 4) & !3;
                break;
            }
            let len = usize::from(*body.get(at + 1).ok_or(bad)?);
            let text = body.get(at + 2..at + 2 + len).ok_or(bad)?;
            items.push((kind, text.to_vec()));
            at += 2 + len;
        }
        chunks.push((ssrc, items));
    }
    Ok(chunks)
}

impl RtcpPacket {
    /// Parses a compound packet. The first packet must be SR or RR
    /// (RFC 3550 §6.1), and the lengths must cover the datagram exactly.
    pub fn parse_compound(b: &[u8]) -> Result<Vec<RtcpPacket>, RtcpError> {
        if b.len() < 4 {
            return Err(RtcpError::TooShort(b.len()));
        }
        let mut out = Vec::new();
        let mut at = 0;
        while at < b.len() {
            let first = *b.get(at).ok_or(RtcpError::Length)?;
            let pt = *b.get(at + 1).ok_or(RtcpError::Length)?;
            if first >> 6 != 2 {
                return Err(RtcpError::Version(first >> 6));
            }
            if out.is_empty() && pt != SR && pt != RR {
                return Err(RtcpError::First(pt));
            }
            let words = usize::from(u16::from_be_bytes([
                *b.get(at + 2).ok_or(RtcpError::Length)?,
                *b.get(at + 3).ok_or(RtcpError::Length)?,
            ]));
            let end = at + 4 + words * 4;
            let mut body = b.get(at + 4..end).ok_or(RtcpError::Length)?;
            if first & 0x20 != 0 {
                let pad = usize::from(*body.last().ok_or(RtcpError::Body(pt))?);
                if pad == 0 || pad > body.len() {
                    return Err(RtcpError::Body(pt));
                }
                body = body.get(..body.len() - pad).unwrap_or(&[]);
            }
            let count = usize::from(first & 0x1f);
            out.push(Self::one(pt, count, body)?);
            at = end;
        }
        Ok(out)
    }

    fn one(pt: u8, count: usize, body: &[u8]) -> Result<RtcpPacket, RtcpError> {
        let bad = RtcpError::Body(pt);
        Ok(match pt {
            SR => {
                let w = |k| u32_at(body, k).ok_or(bad);
                RtcpPacket::SenderReport {
                    ssrc: w(0)?,
                    ntp: u64::from(w(4)?) << 32 | u64::from(w(8)?),
                    rtp_timestamp: w(12)?,
                    packets: w(16)?,
                    octets: w(20)?,
                    reports: blocks(body.get(24..).ok_or(bad)?, count, pt)?,
                }
            }
            RR => RtcpPacket::ReceiverReport {
                ssrc: u32_at(body, 0).ok_or(bad)?,
                reports: blocks(body.get(4..).ok_or(bad)?, count, pt)?,
            },
            SDES => RtcpPacket::SourceDescription(sdes(body, count)?),
            BYE => {
                let mut ssrcs = Vec::with_capacity(count);
                for i in 0..count {
                    ssrcs.push(u32_at(body, i * 4).ok_or(bad)?);
                }
                let rest = body.get(count * 4..).unwrap_or(&[]);
                let reason = match rest.first() {
                    Some(&len) if len > 0 => {
                        Some(rest.get(1..1 + usize::from(len)).ok_or(bad)?.to_vec())
                    }
                    _ => None,
                };
                RtcpPacket::Bye { ssrcs, reason }
            }
            _ => RtcpPacket::Other {
                packet_type: pt,
                count: count as u8,
                body: body.to_vec(),
            },
        })
    }

    /// Appends this packet (header, body, padding to a 32-bit boundary).
    /// Counts above 31 (report blocks, SDES chunks, BYE sources) are cut
    /// to 31, the most the header can say.
    pub fn write(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[0, 0, 0, 0]);
        let (pt, count) = match self {
            RtcpPacket::SenderReport {
                ssrc,
                ntp,
                rtp_timestamp,
                packets,
                octets,
                reports,
            } => {
                out.extend_from_slice(&ssrc.to_be_bytes());
                out.extend_from_slice(&ntp.to_be_bytes());
                for w in [rtp_timestamp, packets, octets] {
                    out.extend_from_slice(&w.to_be_bytes());
                }
                (SR, write_blocks(out, reports))
            }
            RtcpPacket::ReceiverReport { ssrc, reports } => {
                out.extend_from_slice(&ssrc.to_be_bytes());
                (RR, write_blocks(out, reports))
            }
            RtcpPacket::SourceDescription(chunks) => {
                let n = chunks.len().min(31);
                for (ssrc, items) in chunks.iter().take(n) {
                    let chunk_start = out.len();
                    out.extend_from_slice(&ssrc.to_be_bytes());
                    for (kind, text) in items {
                        let bytes = text.as_slice();
                        let bytes = bytes.get(..bytes.len().min(255)).unwrap_or(bytes);
                        out.push(*kind);
                        out.push(bytes.len() as u8);
                        out.extend_from_slice(bytes);
                    }
                    // At least one zero octet, then to a 32-bit boundary.
                    out.push(0);
                    while !(out.len() - chunk_start).is_multiple_of(4) {
                        out.push(0);
                    }
                }
                (SDES, n)
            }
            RtcpPacket::Bye { ssrcs, reason } => {
                let n = ssrcs.len().min(31);
                for s in ssrcs.iter().take(n) {
                    out.extend_from_slice(&s.to_be_bytes());
                }
                if let Some(r) = reason {
                    let bytes = r.as_slice();
                    let bytes = bytes.get(..bytes.len().min(255)).unwrap_or(bytes);
                    out.push(bytes.len() as u8);
                    out.extend_from_slice(bytes);
                }
                (BYE, n)
            }
            RtcpPacket::Other {
                packet_type,
                count,
                body,
            } => {
                out.extend_from_slice(body);
                (*packet_type, usize::from(*count & 0x1f))
            }
        };
        let pad = (4 - (out.len() - start) % 4) % 4;
        // An opaque body is padded the RTCP way (P bit, count in the last
        // octet) so its length survives; the others pad with zeros their
        // own formats ignore.
        let padded = pad > 0 && matches!(self, RtcpPacket::Other { .. });
        for i in 0..pad {
            out.push(if padded && i == pad - 1 { pad as u8 } else { 0 });
        }
        let words = ((out.len() - start) / 4 - 1).min(usize::from(u16::MAX)) as u16;
        let first = 0x80 | u8::from(padded) << 5 | count as u8;
        if let Some(h) = out.get_mut(start..start + 4) {
            h.copy_from_slice(&[first, pt, (words >> 8) as u8, words as u8]);
        }
    }

    /// A compound packet on the wire.
    pub fn compound(packets: &[RtcpPacket]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in packets {
            p.write(&mut out);
        }
        out
    }
}

fn write_blocks(out: &mut Vec<u8>, reports: &[ReportBlock]) -> usize {
    let n = reports.len().min(31);
    for r in reports.iter().take(n) {
        out.extend_from_slice(&r.ssrc.to_be_bytes());
        let lost = (r.cumulative_lost.clamp(-0x80_0000, 0x7f_ffff) as u32) & 0x00ff_ffff;
        out.extend_from_slice(&(u32::from(r.fraction_lost) << 24 | lost).to_be_bytes());
        for w in [
            r.highest_sequence,
            r.jitter,
            r.last_sr,
            r.delay_since_last_sr,
        ] {
            out.extend_from_slice(&w.to_be_bytes());
        }
    }
    n
}
