//! The negotiated codecs of a running stream, seen from the stream's own
//! 8 kHz frames: the encoder converts each frame up to the codec's rate
//! (16 kHz for G.722, 48 kHz for Opus) before coding it, the decoders
//! convert what they decode down, both with `media::resample` (rubato's
//! band-limited converter). The RTP loops only ever see 20 ms at 8 kHz
//! and the codec's RTP clock.

use media::codec::{new_codec, AudioCodec};
use media::resample::FrameResampler;
use sdp::offer_answer::Codec;

use super::{FRAME, STREAM_RATE};

/// A converter between the stream's rate and `rate` (None: same rate).
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

/// What the send loop codes with.
pub(super) struct StreamEncoder {
    codec: Box<dyn AudioCodec>,
    up: Option<FrameResampler>,
    wide: Vec<i16>,
    scratch: Vec<i16>,
}

impl StreamEncoder {
    /// An encoder for `codec`, with what the peer's SDP said of it.
    pub(super) fn new(codec: &Codec) -> Result<StreamEncoder, String> {
        let c = new_codec(&codec.encoding, codec.clock_rate, codec.fmtp.as_deref())
            .map_err(|e| e.to_string())?;
        Ok(StreamEncoder {
            up: converter(STREAM_RATE, c.sample_rate())?,
            codec: c,
            wide: Vec::new(),
            scratch: Vec::new(),
        })
    }

    /// RTP timestamp units per 20 ms.
    pub(super) fn frame_clock(&self) -> u32 {
        self.codec.frame_clock()
    }

    /// Codes one 8 kHz frame into `out` (cleared first); false if the
    /// codec failed, and nothing is to be sent.
    pub(super) fn encode(&mut self, frame: &[i16], out: &mut Vec<u8>) -> bool {
        out.clear();
        self.wide.clear();
        convert(&mut self.up, frame, &mut self.scratch, &mut self.wide);
        self.codec.encode(&self.wide, out).is_ok()
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
    pub(super) fn new(formats: Vec<(u8, Codec)>) -> StreamDecoders {
        StreamDecoders {
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

    fn decoder(&mut self, pt: u8) -> Option<&mut Decoder> {
        if !self.decoders.iter().any(|d| d.payload_type == pt) {
            let (_, c) = self.formats.iter().find(|(p, _)| *p == pt)?;
            let codec = new_codec(&c.encoding, c.clock_rate, None).ok()?;
            let down = converter(codec.sample_rate(), STREAM_RATE).ok()?;
            self.decoders.push(Decoder {
                payload_type: pt,
                codec,
                down,
            });
        }
        self.decoders.iter_mut().find(|d| d.payload_type == pt)
    }

    /// Decodes a payload of format `pt` into 8 kHz samples appended to
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

    /// A frame in place of a missing one (8 kHz, appended to `out`):
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
            out.extend(std::iter::repeat_n(0, FRAME));
        }
        self.pcm = pcm;
        self.scratch = scratch;
    }
}
