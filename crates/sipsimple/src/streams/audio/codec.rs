//! The negotiated codecs of a running stream, seen from the stream's own
//! frames. The stream runs at the rate of the codec it sends with, so
//! the encoder codes its frames as they are; a decoder of another rate
//! (a peer may send any format we offered, G.711 on an Opus stream)
//! converts what it decodes to the stream's rate with `media::resample`
//! (rubato's band-limited converter). The RTP loops only ever see 20 ms
//! at the stream's rate and the codec's RTP clock.

use media::codec::{new_codec, AudioCodec};
use media::resample::FrameResampler;
use sdp::offer_answer::Codec;

use super::frame_len;

/// A converter between two rates (None: the same rate).
fn converter(from: u32, to: u32) -> Result<Option<FrameResampler>, String> {
    if from == to {
        return Ok(None);
    }
    FrameResampler::new(from, to)
        .map(Some)
        .map_err(|e| e.to_string())
}

/// Runs `pcm` through `r` in whole 20 ms frames (the last one padded).
fn convert(
    r: &mut Option<FrameResampler>,
    pcm: &[i16],
    scratch: &mut Vec<i16>,
    out: &mut Vec<i16>,
) {
    let Some(r) = r.as_mut() else {
        out.extend_from_slice(pcm);
        return;
    };
    for chunk in pcm.chunks(r.input_len()) {
        r.process(chunk, scratch);
        out.extend_from_slice(scratch);
    }
}

/// What one 20 ms frame gave the send loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Encoded {
    /// A payload of the last `frames` frames.
    Packet { frames: u32 },
    /// Kept for a longer packet (the peer's `a=ptime`).
    Held,
    /// Nothing to send: DTX silence, or the codec failed. The next
    /// packet starts a talkspurt.
    Nothing,
}

/// What the send loop codes with: its rate is the stream's.
pub(super) struct StreamEncoder {
    codec: Box<dyn AudioCodec>,
    /// 20 ms frames per packet.
    per_packet: usize,
    held: Vec<i16>,
}

impl StreamEncoder {
    /// An encoder for `codec`, with what the peer's SDP said of it, its
    /// `a=ptime` and `a=maxptime` among it: Opus packs
    /// 40 or 60 ms in a packet when the peer prefers it (RFC 7587 §7),
    /// never more than its maxptime; other codecs send 20 ms.
    pub(super) fn with_ptime(
        codec: &Codec,
        ptime: Option<u32>,
        maxptime: Option<u32>,
    ) -> Result<StreamEncoder, String> {
        let per_packet = if codec.encoding.eq_ignore_ascii_case("opus") {
            let wanted = ptime.unwrap_or(20) / 20;
            let most = maxptime.unwrap_or(60) / 20;
            wanted.min(most).clamp(1, 3) as usize
        } else {
            1
        };
        let codec = new_codec(&codec.encoding, codec.clock_rate, codec.fmtp.as_deref())
            .map_err(|e| e.to_string())?;
        Ok(StreamEncoder {
            codec,
            per_packet,
            held: Vec::new(),
        })
    }

    /// The codec's PCM rate: the stream runs at it.
    pub(super) fn sample_rate(&self) -> u32 {
        self.codec.sample_rate()
    }

    /// RTP timestamp units per 20 ms.
    pub(super) fn frame_clock(&self) -> u32 {
        self.codec.frame_clock()
    }

    /// Forgets frames kept for a packet not yet sent.
    pub(super) fn drop_held(&mut self) {
        self.held.clear();
    }

    /// Codes one frame (20 ms at `sample_rate()`) into `out` (cleared
    /// first), or keeps it for the next packet.
    pub(super) fn encode(&mut self, frame: &[i16], out: &mut Vec<u8>) -> Encoded {
        out.clear();
        let result = if self.per_packet == 1 {
            self.codec.encode(frame, out)
        } else {
            self.held.extend_from_slice(frame);
            if self.held.len() < self.per_packet * frame.len() {
                return Encoded::Held;
            }
            let result = self.codec.encode(&self.held, out);
            self.held.clear();
            result
        };
        match result {
            Ok(()) if !out.is_empty() => Encoded::Packet {
                frames: self.per_packet as u32,
            },
            _ => Encoded::Nothing,
        }
    }
}

/// One receive format: its codec, made when its first packet comes.
struct Decoder {
    payload_type: u8,
    codec: Box<dyn AudioCodec>,
    down: Option<FrameResampler>,
}

/// What the playout decodes with: every format we agreed to receive.
pub(super) struct StreamDecoders {
    /// The stream's rate: what every decoder gives.
    rate: u32,
    formats: Vec<(u8, Codec)>,
    decoders: Vec<Decoder>,
    /// The format of the last packet: a gap is concealed with its codec.
    last: Option<u8>,
    pcm: Vec<i16>,
    scratch: Vec<i16>,
}

impl StreamDecoders {
    /// Decoders for these (payload type, codec) pairs; codecs we do not
    /// run are left out (their packets are dropped).
    pub(super) fn new(formats: Vec<(u8, Codec)>, rate: u32) -> StreamDecoders {
        StreamDecoders {
            rate,
            formats: formats
                .into_iter()
                .filter(|(_, c)| media::codec::rates(&c.encoding, c.clock_rate).is_some())
                .collect(),
            decoders: Vec::new(),
            last: None,
            pcm: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// The rate of what they give: the stream's.
    pub(super) fn rate(&self) -> u32 {
        self.rate
    }

    fn decoder(&mut self, pt: u8) -> Option<&mut Decoder> {
        if !self.decoders.iter().any(|d| d.payload_type == pt) {
            let (_, c) = self.formats.iter().find(|(p, _)| *p == pt)?;
            let codec = new_codec(&c.encoding, c.clock_rate, None).ok()?;
            let down = converter(codec.sample_rate(), self.rate).ok()?;
            self.decoders.push(Decoder {
                payload_type: pt,
                codec,
                down,
            });
        }
        self.decoders.iter_mut().find(|d| d.payload_type == pt)
    }

    /// Decodes a payload of format `pt` into samples at the stream's
    /// rate appended to
    /// `out`; false if the format is unknown. A payload the codec
    /// rejects is concealed.
    pub(super) fn decode(&mut self, pt: u8, payload: &[u8], out: &mut Vec<i16>) -> bool {
        let mut pcm = std::mem::take(&mut self.pcm);
        let mut scratch = std::mem::take(&mut self.scratch);
        pcm.clear();
        let known = match self.decoder(pt) {
            Some(d) => {
                if d.codec.decode(payload, &mut pcm).is_err() {
                    pcm.clear();
                    d.codec.conceal(None, &mut pcm);
                }
                convert(&mut d.down, &pcm, &mut scratch, out);
                true
            }
            None => false,
        };
        if known {
            self.last = Some(pt);
        }
        self.pcm = pcm;
        self.scratch = scratch;
        known
    }

    /// A frame in place of a missing one (appended to `out`):
    /// concealed by the last codec heard, which may rebuild it from
    /// `next` (the following packet, payload type first), else silence.
    pub(super) fn conceal(&mut self, next: Option<&[u8]>, out: &mut Vec<i16>) {
        let mut pcm = std::mem::take(&mut self.pcm);
        let mut scratch = std::mem::take(&mut self.scratch);
        pcm.clear();
        let last = self.last;
        let done = match last.and_then(|pt| self.decoder(pt)) {
            Some(d) => {
                // FEC only from a packet of the same format.
                let next = next
                    .and_then(|n| n.split_first())
                    .filter(|(p, _)| Some(**p) == last)
                    .map(|(_, rest)| rest);
                d.codec.conceal(next, &mut pcm);
                convert(&mut d.down, &pcm, &mut scratch, out);
                true
            }
            None => false,
        };
        if !done {
            out.extend(std::iter::repeat_n(0, frame_len(self.rate)));
        }
        self.pcm = pcm;
        self.scratch = scratch;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opus(fmtp: &str) -> Codec {
        Codec {
            fmtp: Some(fmtp.into()),
            ..Codec::opus()
        }
    }

    /// What 30 frames of `pcm` give.
    fn run(encoder: &mut StreamEncoder, pcm: &[i16]) -> Vec<Encoded> {
        let mut out = Vec::new();
        (0..30).map(|_| encoder.encode(pcm, &mut out)).collect()
    }

    fn tone() -> Vec<i16> {
        (0..960)
            .map(|i| {
                (8000.0 * (std::f64::consts::TAU * 440.0 * f64::from(i) / 48000.0).sin()) as i16
            })
            .collect()
    }

    #[test]
    fn the_peers_ptime_packs_opus_frames_within_its_maxptime() {
        let packets = |ptime, maxptime| {
            let mut e = StreamEncoder::with_ptime(&opus(""), ptime, maxptime).unwrap();
            run(&mut e, &tone())
                .into_iter()
                .filter_map(|r| match r {
                    Encoded::Packet { frames } => Some(frames),
                    Encoded::Held => None,
                    Encoded::Nothing => panic!("a tone is sent"),
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(packets(None, None), vec![1; 30]);
        assert_eq!(packets(Some(40), None), vec![2; 15]);
        assert_eq!(packets(Some(60), Some(120)), vec![3; 10]);
        assert_eq!(packets(Some(60), Some(40)), vec![2; 15]);
        assert_eq!(packets(Some(100), None), vec![3; 10]);
        // G.711 keeps 20 ms, whatever the ptime.
        let mut g711 = StreamEncoder::with_ptime(&Codec::pcmu(), Some(40), None).unwrap();
        let frame = vec![0i16; 160];
        assert!(run(&mut g711, &frame)
            .iter()
            .all(|r| *r == Encoded::Packet { frames: 1 }));
    }

    /// The peer's `usedtx=1` (RFC 7587 §6.1): silence sends a few
    /// packets, not one per frame; without it, every frame goes.
    #[test]
    fn usedtx_from_the_peer_sends_fewer_packets_on_silence() {
        let silence = vec![0i16; 960];
        let count = |fmtp: &str| {
            let mut e = StreamEncoder::with_ptime(&opus(fmtp), None, None).unwrap();
            run(&mut e, &silence)
                .iter()
                .filter(|r| matches!(r, Encoded::Packet { .. }))
                .count()
        };
        assert_eq!(count("useinbandfec=1"), 30);
        let dtx = count("useinbandfec=1;usedtx=1");
        assert!(dtx < 15, "{dtx} packets for 30 silent frames");
    }
}
