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

/// What the send loop codes with: its rate is the stream's.
pub(super) struct StreamEncoder {
    codec: Box<dyn AudioCodec>,
}

impl StreamEncoder {
    /// An encoder for `codec`, with what the peer's SDP said of it.
    pub(super) fn new(codec: &Codec) -> Result<StreamEncoder, String> {
        let codec = new_codec(&codec.encoding, codec.clock_rate, codec.fmtp.as_deref())
            .map_err(|e| e.to_string())?;
        Ok(StreamEncoder { codec })
    }

    /// The codec's PCM rate: the stream runs at it.
    pub(super) fn sample_rate(&self) -> u32 {
        self.codec.sample_rate()
    }

    /// RTP timestamp units per 20 ms.
    pub(super) fn frame_clock(&self) -> u32 {
        self.codec.frame_clock()
    }

    /// Codes one frame (20 ms at `sample_rate()`) into `out` (cleared
    /// first); false if the codec failed, and nothing is to be sent.
    pub(super) fn encode(&mut self, frame: &[i16], out: &mut Vec<u8>) -> bool {
        out.clear();
        self.codec.encode(frame, out).is_ok()
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
