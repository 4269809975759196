//! RFC 3264 offer/answer for RTP media: building an offer from our codecs,
//! answering an offer (the offered formats we have, in the offer's order
//! as §6.1 recommends, the offerer's payload numbers kept,
//! telephone-event at the chosen codec's clock, direction, port 0 for
//! what we refuse), and reading the answer to our offer. Payload types
//! map both ways: we send with the numbers the peer put in its SDP and
//! receive with ours.

use std::net::{IpAddr, SocketAddr};

use crate::attributes::{Direction, RtpMap};
use crate::model::{Attribute, Connection, Media, SessionDescription};
use crate::opus::OpusFmtp;

/// A codec we can use, in our order of preference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Codec {
    /// As in rtpmap, e.g. `PCMU`, `opus`, `telephone-event`.
    pub encoding: String,
    pub clock_rate: u32,
    /// `None` means one channel.
    pub channels: Option<u16>,
    pub fmtp: Option<String>,
}

impl Codec {
    pub fn new(encoding: &str, clock_rate: u32) -> Codec {
        Codec {
            encoding: encoding.to_owned(),
            clock_rate,
            channels: None,
            fmtp: None,
        }
    }

    pub fn pcmu() -> Codec {
        Codec::new("PCMU", 8000)
    }

    pub fn pcma() -> Codec {
        Codec::new("PCMA", 8000)
    }

    /// G.722: 16 kHz audio on an 8000 Hz RTP clock (RFC 3551 §4.5.2).
    pub fn g722() -> Codec {
        Codec::new("G722", 8000)
    }

    /// Opus as RFC 7587 §7 names it (`opus/48000/2` whatever is sent),
    /// with what we ask of the peer's encoder and say of ours
    /// ([`OpusFmtp::ours`]: in-band FEC, mono, up to 48 kHz).
    pub fn opus() -> Codec {
        Codec::opus_with(&OpusFmtp::ours())
    }

    /// Opus with other fmtp parameters (e.g. `usedtx=1`).
    pub fn opus_with(fmtp: &OpusFmtp) -> Codec {
        let text = fmtp.to_string();
        Codec {
            channels: Some(2),
            fmtp: (!text.is_empty()).then_some(text),
            ..Codec::new("opus", 48000)
        }
    }

    /// Whether the fmtp says what its side wants (RFC 7587 §6.1: Opus),
    /// so an answer carries its own and never the offer's, and we send
    /// by the peer's alone.
    fn declarative(&self) -> bool {
        self.encoding.eq_ignore_ascii_case("opus")
    }

    /// RFC 4733 DTMF events (0-15: the digits, * # and A-D) at 8000 Hz.
    pub fn telephone_event() -> Codec {
        Codec::telephone_event_at(8000)
    }

    /// DTMF events on another clock: RFC 4733 §2.1 has them on the
    /// clock of the audio they go with (48000 next to Opus).
    pub fn telephone_event_at(clock_rate: u32) -> Codec {
        Codec {
            fmtp: Some("0-15".into()),
            ..Codec::new("telephone-event", clock_rate)
        }
    }

    pub fn is_telephone_event(&self) -> bool {
        self.encoding.eq_ignore_ascii_case("telephone-event")
    }

    /// Same codec: encoding (case-insensitive), clock rate, channels.
    fn matches(&self, map: &RtpMap) -> bool {
        self.encoding.eq_ignore_ascii_case(&map.encoding)
            && self.clock_rate == map.clock_rate
            && self.channels.unwrap_or(1) == map.channels.unwrap_or(1)
    }

    /// The static payload type of RFC 3551 table 4, if it has one.
    pub fn static_payload_type(&self) -> Option<u8> {
        let stat = STATIC
            .iter()
            .find(|(_, e, r)| self.encoding.eq_ignore_ascii_case(e) && self.clock_rate == *r)?;
        (self.channels.unwrap_or(1) == 1).then_some(stat.0)
    }
}

/// RFC 3551 static audio payload types we may meet without an rtpmap.
const STATIC: &[(u8, &str, u32)] = &[
    (0, "PCMU", 8000),
    (3, "GSM", 8000),
    (4, "G723", 8000),
    (8, "PCMA", 8000),
    (9, "G722", 8000),
    (18, "G729", 8000),
];

/// The codec a format of `media` stands for: its rtpmap, else the static
/// table.
fn rtpmap_of(media: &Media, format: &str) -> Option<RtpMap> {
    let pt: u8 = format.parse().ok()?;
    media.rtpmap(pt).or_else(|| {
        STATIC
            .iter()
            .find(|(p, _, _)| *p == pt)
            .map(|(p, e, r)| RtpMap {
                payload_type: *p,
                encoding: (*e).to_owned(),
                clock_rate: *r,
                channels: None,
            })
    })
}

/// One negotiated payload format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadFormat {
    pub payload_type: u8,
    pub codec: Codec,
}

/// What an RTP stream runs with after offer/answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpNegotiation {
    /// Formats we send with, the peer's payload numbers, best first.
    pub send: Vec<PayloadFormat>,
    /// Formats we receive, our payload numbers.
    pub receive: Vec<PayloadFormat>,
    /// Our direction.
    pub direction: Direction,
    /// Where the peer wants RTP (None when it wants none, e.g. port 0 or
    /// the 0.0.0.0 hold address).
    pub remote_rtp: Option<SocketAddr>,
    /// Where the peer wants RTCP: `a=rtcp`, else RTP port + 1.
    pub remote_rtcp: Option<SocketAddr>,
    pub ptime: Option<u32>,
    /// The peer's `a=maxptime`: no packet we send may be longer.
    pub maxptime: Option<u32>,
}

impl RtpNegotiation {
    /// The codec to send voice with (not telephone-event).
    pub fn send_codec(&self) -> Option<&PayloadFormat> {
        self.send.iter().find(|f| !f.codec.is_telephone_event())
    }

    /// The peer's payload type for DTMF events, if both support them:
    /// the one on the send codec's clock, else the first.
    pub fn send_telephone_event(&self) -> Option<u8> {
        self.send_telephone_event_format().map(|f| f.payload_type)
    }

    /// As [`RtpNegotiation::send_telephone_event`], with its clock.
    pub fn send_telephone_event_format(&self) -> Option<&PayloadFormat> {
        let clock = self.send_codec().map(|f| f.codec.clock_rate);
        let mut events = self.send.iter().filter(|f| f.codec.is_telephone_event());
        let first = events.clone().next();
        events.find(|f| Some(f.codec.clock_rate) == clock).or(first)
    }
}

/// Why an offer or answer cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NegotiationError {
    #[error("no codec in common")]
    NoCommonCodec,
    #[error("the answer has {answer} media lines, the offer {offer} (RFC 3264 §6)")]
    MediaCount { offer: usize, answer: usize },
    #[error("media {0} of the answer is not the offer's kind or protocol")]
    MediaMismatch(usize),
    #[error("media {0}: the answer picks a codec that was not offered")]
    NotOffered(usize),
    #[error("media {0} has no usable connection address")]
    NoAddress(usize),
}

/// What we put in an offer or answer for one RTP stream.
#[derive(Debug, Clone)]
pub struct LocalRtp {
    pub address: IpAddr,
    pub port: u16,
    pub codecs: Vec<Codec>,
    pub direction: Direction,
    /// `RTP/AVP`, or `RTP/SAVP` with SRTP.
    pub protocol: String,
    pub ptime: Option<u32>,
    /// `a=maxptime`: the longest packet we take.
    pub maxptime: Option<u32>,
    /// Extra attributes to add (e.g. `a=crypto`, ICE lines).
    pub attributes: Vec<Attribute>,
}

/// Payload numbers for an offer: static ones where RFC 3551 has them,
/// dynamic 96..=127 for the rest (telephone-event gets 101 if free).
fn assign(codecs: &[Codec]) -> Vec<PayloadFormat> {
    let mut used: Vec<u8> = codecs
        .iter()
        .filter_map(Codec::static_payload_type)
        .collect();
    let mut out = Vec::new();
    for c in codecs {
        let pt = match c.static_payload_type() {
            Some(pt) => Some(pt),
            None => {
                let wanted = if c.is_telephone_event() && !used.contains(&101) {
                    Some(101)
                } else {
                    (96..=127)
                        .find(|p| !used.contains(p) && *p != 101)
                        .or_else(|| (96..=127).find(|p| !used.contains(p)))
                };
                if let Some(p) = wanted {
                    used.push(p);
                }
                wanted
            }
        };
        if let Some(payload_type) = pt {
            out.push(PayloadFormat {
                payload_type,
                codec: c.clone(),
            });
        }
    }
    out
}

fn describe(kind: &str, local: &LocalRtp, formats: &[PayloadFormat]) -> Media {
    let mut m = Media::new(
        kind,
        local.port,
        &local.protocol,
        formats.iter().map(|f| f.payload_type.to_string()).collect(),
    );
    m.connections.push(Connection::new(local.address));
    for f in formats {
        m.attributes.push(Attribute::new(
            "rtpmap",
            RtpMap {
                payload_type: f.payload_type,
                encoding: f.codec.encoding.clone(),
                clock_rate: f.codec.clock_rate,
                channels: f.codec.channels,
            }
            .to_string(),
        ));
        if let Some(p) = &f.codec.fmtp {
            m.attributes
                .push(Attribute::new("fmtp", format!("{} {p}", f.payload_type)));
        }
    }
    if let Some(p) = local.ptime {
        m.attributes.push(Attribute::new("ptime", p.to_string()));
    }
    if let Some(p) = local.maxptime {
        m.attributes.push(Attribute::new("maxptime", p.to_string()));
    }
    m.attributes.extend(local.attributes.iter().cloned());
    m.set_direction(local.direction);
    m
}

/// An `m=audio` for an offer, and the formats it offers (our numbers).
pub fn offer_media(local: &LocalRtp) -> (Media, Vec<PayloadFormat>) {
    let formats = assign(&local.codecs);
    (describe("audio", local, &formats), formats)
}

/// Where the peer of media `index` wants RTP and RTCP.
fn remote_addresses(
    sdp: &SessionDescription,
    index: usize,
) -> (Option<SocketAddr>, Option<SocketAddr>) {
    let Some(m) = sdp.media.get(index) else {
        return (None, None);
    };
    let Some(ip) = sdp.connection_for(index).and_then(Connection::ip) else {
        return (None, None);
    };
    if m.port == 0 || ip.is_unspecified() {
        return (None, None);
    }
    let rtcp = match m.rtcp() {
        Some(r) => {
            let ip = r.address.and_then(|a| a.parse().ok()).unwrap_or(ip);
            Some(SocketAddr::new(ip, r.port))
        }
        None => m.port.checked_add(1).map(|p| SocketAddr::new(ip, p)),
    };
    (Some(SocketAddr::new(ip, m.port)), rtcp)
}

/// Answers media `index` of `offer` (RFC 3264 §6.1): the offered formats
/// we support, in the offer's order, with the offerer's payload numbers
/// (so we send with the first of the offer's codecs we run);
/// telephone-event if both have it; the direction both sides allow. With
/// nothing in common the stream is refused: port 0, and the error says
/// why.
pub fn answer_media(
    offer: &SessionDescription,
    index: usize,
    local: &LocalRtp,
) -> (Media, Result<RtpNegotiation, NegotiationError>) {
    let refuse = |m: &Media, e| {
        let mut r = Media::new(
            &m.media,
            0,
            &m.protocol,
            m.formats.iter().take(1).cloned().collect(),
        );
        r.connections.push(Connection::new(local.address));
        (r, Err(e))
    };
    let Some(m) = offer.media.get(index) else {
        let empty = Media::new("audio", 0, &local.protocol, vec!["0".into()]);
        return refuse(&empty, NegotiationError::MediaMismatch(index));
    };
    // The offer's order and numbers (RFC 3264 §6.1 recommends keeping
    // the offerer's order), for the codecs we have.
    let mut chosen: Vec<PayloadFormat> = Vec::new();
    // Our own fmtp of declarative codecs, for the answer and our receive
    // side (`chosen` holds the offer's: what we send by).
    let mut ours: Vec<(u8, Option<String>)> = Vec::new();
    for f in &m.formats {
        let Some(map) = rtpmap_of(m, f) else { continue };
        let Some(c) = local.codecs.iter().find(|c| c.matches(&map)) else {
            continue;
        };
        if chosen.iter().any(|x| x.payload_type == map.payload_type) {
            continue;
        }
        chosen.push(PayloadFormat {
            payload_type: map.payload_type,
            codec: Codec {
                fmtp: m.fmtp(f).or_else(|| c.fmtp.clone()),
                ..c.clone()
            },
        });
        if c.declarative() {
            if let Some(last) = chosen.last_mut() {
                last.codec.fmtp = m.fmtp(f);
            }
            ours.push((map.payload_type, c.fmtp.clone()));
        }
    }
    // Events on the first codec's clock only, when the offer has them
    // there (RFC 4733 §2.1); else whichever it has.
    let clock = chosen
        .iter()
        .find(|f| !f.codec.is_telephone_event())
        .map(|f| f.codec.clock_rate);
    if chosen
        .iter()
        .any(|f| f.codec.is_telephone_event() && Some(f.codec.clock_rate) == clock)
    {
        chosen.retain(|f| !f.codec.is_telephone_event() || Some(f.codec.clock_rate) == clock);
    }
    if !chosen.iter().any(|f| !f.codec.is_telephone_event()) {
        return refuse(m, NegotiationError::NoCommonCodec);
    }
    let offered = offer.direction(index);
    let direction = local.direction.with(offered);
    let answer_local = LocalRtp {
        direction,
        protocol: m.protocol.clone(),
        ..local.clone()
    };
    let receive: Vec<PayloadFormat> = chosen
        .iter()
        .map(
            |f| match ours.iter().find(|(pt, _)| *pt == f.payload_type) {
                Some((_, fmtp)) => PayloadFormat {
                    payload_type: f.payload_type,
                    codec: Codec {
                        fmtp: fmtp.clone(),
                        ..f.codec.clone()
                    },
                },
                None => f.clone(),
            },
        )
        .collect();
    let media = describe(&m.media, &answer_local, &receive);
    let (remote_rtp, remote_rtcp) = remote_addresses(offer, index);
    let negotiation = RtpNegotiation {
        send: chosen,
        receive,
        direction,
        remote_rtp,
        remote_rtcp,
        ptime: m.ptime(),
        maxptime: m.maxptime(),
    };
    (media, Ok(negotiation))
}

/// Reads the answer to our offer for media `index` (`offered`: the
/// formats we offered, with our numbers). We receive with our numbers
/// and send with the answer's.
pub fn read_answer(
    offer: &SessionDescription,
    answer: &SessionDescription,
    index: usize,
    offered: &[PayloadFormat],
) -> Result<RtpNegotiation, NegotiationError> {
    if answer.media.len() != offer.media.len() {
        return Err(NegotiationError::MediaCount {
            offer: offer.media.len(),
            answer: answer.media.len(),
        });
    }
    let (Some(o), Some(a)) = (offer.media.get(index), answer.media.get(index)) else {
        return Err(NegotiationError::MediaMismatch(index));
    };
    if o.media != a.media {
        return Err(NegotiationError::MediaMismatch(index));
    }
    if a.is_rejected() {
        return Err(NegotiationError::NoCommonCodec);
    }
    let mut send = Vec::new();
    let mut receive = Vec::new();
    for f in &a.formats {
        let Some(map) = rtpmap_of(a, f) else { continue };
        let Some(ours) = offered.iter().find(|p| p.codec.matches(&map)) else {
            return Err(NegotiationError::NotOffered(index));
        };
        send.push(PayloadFormat {
            payload_type: map.payload_type,
            codec: Codec {
                fmtp: if ours.codec.declarative() {
                    a.fmtp(f)
                } else {
                    a.fmtp(f).or_else(|| ours.codec.fmtp.clone())
                },
                ..ours.codec.clone()
            },
        });
        receive.push(ours.clone());
    }
    if !send.iter().any(|f| !f.codec.is_telephone_event()) {
        return Err(NegotiationError::NoCommonCodec);
    }
    let theirs = answer.direction(index);
    let ours = offer.direction(index);
    let direction = ours.with(theirs);
    let (remote_rtp, remote_rtcp) = remote_addresses(answer, index);
    Ok(RtpNegotiation {
        send,
        receive,
        direction,
        remote_rtp,
        remote_rtcp,
        ptime: a.ptime(),
        maxptime: a.maxptime(),
    })
}
