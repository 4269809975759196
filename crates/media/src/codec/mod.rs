//! Audio codecs behind one interface: a 20 ms frame of mono PCM at the
//! codec's own sample rate in, an RTP payload out, and back; a lost
//! frame concealed the best way the codec has.
//!
//! | codec | PCM rate | RTP clock | payload per 20 ms | implementation |
//! |---|---|---|---|---|
//! | PCMU, PCMA | 8 kHz | 8000 | 160 bytes | ours ([`crate::g711`]) |
//! | G722 | 16 kHz | 8000 (RFC 3551 §4.5.2) | 160 bytes | ours ([`g722`], bit-exact with spandsp) |
//! | opus | 48 kHz | 48000 (RFC 7587) | 20-160 bytes | libopus ([`opus`]) |
//!
//! Concealment: Opus has its own (and FEC from the next packet); for
//! G.711 and G.722 the last good frame is repeated, fading
//! ([`crate::jitter::Concealer`]). Decoding never panics: every G.711
//! and G.722 byte is a valid code, and libopus reports bad packets as
//! errors.

pub mod g722;
pub mod opus;

use crate::g711::Law;
use crate::jitter::Concealer;

/// Why a codec could not be made or could not code a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CodecError(pub String);

/// One codec instance: the encoder and decoder state of one stream.
pub trait AudioCodec: Send {
    /// The rtpmap encoding name.
    fn name(&self) -> &'static str;
    /// The rate of the PCM it takes and gives.
    fn sample_rate(&self) -> u32;
    /// The RTP timestamp clock (not always the PCM rate: G.722).
    fn clock_rate(&self) -> u32;
    /// PCM samples in a 20 ms frame.
    fn frame_samples(&self) -> usize {
        (self.sample_rate() / 50) as usize
    }
    /// RTP timestamp units in a 20 ms frame.
    fn frame_clock(&self) -> u32 {
        self.clock_rate() / 50
    }
    /// Appends the payload for one frame of `frame_samples()` samples.
    fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<(), CodecError>;
    /// Appends the samples of one payload.
    fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<(), CodecError>;
    /// Appends a frame in place of a lost one; `next` is the payload
    /// after the gap, when it is already here (Opus rebuilds the lost
    /// frame from its FEC data).
    fn conceal(&mut self, next: Option<&[u8]>, out: &mut Vec<i16>);
}

/// PCMU or PCMA.
#[derive(Debug, Clone)]
pub struct G711Codec {
    law: Law,
    concealer: Concealer,
}

impl G711Codec {
    pub fn new(law: Law) -> G711Codec {
        G711Codec {
            law,
            concealer: Concealer::default(),
        }
    }
}

impl AudioCodec for G711Codec {
    fn name(&self) -> &'static str {
        match self.law {
            Law::Mu => "PCMU",
            Law::A => "PCMA",
        }
    }

    fn sample_rate(&self) -> u32 {
        8000
    }

    fn clock_rate(&self) -> u32 {
        8000
    }

    fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<(), CodecError> {
        self.law.encode(pcm, out);
        Ok(())
    }

    fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<(), CodecError> {
        let start = out.len();
        self.law.decode(payload, out);
        self.concealer.good(out.get(start..).unwrap_or(&[]));
        Ok(())
    }

    fn conceal(&mut self, _next: Option<&[u8]>, out: &mut Vec<i16>) {
        out.extend(self.concealer.conceal(self.frame_samples()));
    }
}

/// G.722 at 64 kbit/s.
#[derive(Debug, Clone, Default)]
pub struct G722Codec {
    encoder: g722::G722Encoder,
    decoder: g722::G722Decoder,
    concealer: Concealer,
}

impl AudioCodec for G722Codec {
    fn name(&self) -> &'static str {
        "G722"
    }

    fn sample_rate(&self) -> u32 {
        16000
    }

    fn clock_rate(&self) -> u32 {
        8000
    }

    fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<(), CodecError> {
        self.encoder.encode(pcm, out);
        Ok(())
    }

    fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<(), CodecError> {
        let start = out.len();
        self.decoder.decode(payload, out);
        self.concealer.good(out.get(start..).unwrap_or(&[]));
        Ok(())
    }

    fn conceal(&mut self, _next: Option<&[u8]>, out: &mut Vec<i16>) {
        out.extend(self.concealer.conceal(self.frame_samples()));
    }
}

/// The rates of a codec we run, by rtpmap name and clock: (PCM rate,
/// RTP clock). None for what we do not run.
pub fn rates(encoding: &str, clock_rate: u32) -> Option<(u32, u32)> {
    let e = encoding.to_ascii_lowercase();
    match (e.as_str(), clock_rate) {
        ("pcmu" | "pcma", 8000) => Some((8000, 8000)),
        ("g722", 8000) => Some((16000, 8000)),
        ("opus", 48000) => Some((48000, 48000)),
        _ => None,
    }
}

/// A codec for an rtpmap encoding name and clock rate; `fmtp` is what
/// the peer's SDP says of the format (Opus reads its parameters).
pub fn new_codec(
    encoding: &str,
    clock_rate: u32,
    fmtp: Option<&str>,
) -> Result<Box<dyn AudioCodec>, CodecError> {
    if rates(encoding, clock_rate).is_none() {
        return Err(CodecError(format!(
            "{encoding}/{clock_rate} is not a codec we run"
        )));
    }
    if let Some(law) = Law::from_encoding(encoding) {
        return Ok(Box::new(G711Codec::new(law)));
    }
    if encoding.eq_ignore_ascii_case("G722") {
        return Ok(Box::<G722Codec>::default());
    }
    Ok(Box::new(opus::OpusCodec::new(
        opus::OpusParams::from_fmtp(fmtp),
    )?))
}

#[cfg(test)]
mod tests;
