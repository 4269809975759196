//! Opus (RFC 6716) through libopus, the reference implementation, as
//! Debian ships it (`libopus-dev`), linked by `opusic-sys` without its
//! bundled copy: one libopus on the machine, updated with the system,
//! and no CMake build of C code inside ours. The `opus` crate was
//! not used: it turns the bundled build back on.
//!
//! RTP per RFC 7587: a 48 kHz clock whatever the audio bandwidth; we
//! send mono (`stereo=0`) packets of 20, 40 or 60 ms, with in-band FEC
//! when the peer can use it, DTX when it takes it, and decode whatever
//! the peer sends (a mono decoder mixes stereo down).
#![allow(unsafe_code)]

use std::ptr::NonNull;

use opusic_sys as ffi;

use super::{AudioCodec, CodecError};

/// The RTP clock and our PCM rate (RFC 7587 §4.1).
pub const OPUS_RATE: u32 = 48000;
/// Samples of one 20 ms frame at 48 kHz.
const FRAME: usize = 960;
/// The longest packet libopus makes or takes: 120 ms.
const MAX_SAMPLES: usize = 5760;
/// RFC 6716 §3.2.1: no frame is longer than 1275 bytes; a packet of
/// one 20 ms frame fits well within this.
const MAX_PACKET: usize = 1500;

/// What the SDP asked of our encoder (RFC 7587 §6.1 fmtp parameters
/// of the peer: what it wants to receive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpusParams {
    /// `maxplaybackrate`: no point coding a band the peer won't play.
    pub max_playback_rate: u32,
    /// `useinbandfec=1`: the peer can use FEC, so we send it.
    pub inband_fec: bool,
    /// `usedtx=1`: the peer accepts discontinuous transmission.
    pub dtx: bool,
    /// `maxaveragebitrate`, bit/s.
    pub bitrate: i32,
    /// `stereo=1`: the peer would rather get stereo. Mono is what we
    /// have and is always allowed (RFC 7587 §6.1: every receiver decodes
    /// both).
    pub stereo: bool,
    /// `sprop-stereo=1`: the peer is likely to send stereo; our mono
    /// decoder mixes it down.
    pub sprop_stereo: bool,
    /// `cbr=1`: the peer wants constant bitrate (RFC 7587 §6.1).
    pub cbr: bool,
}

impl Default for OpusParams {
    fn default() -> Self {
        OpusParams {
            max_playback_rate: OPUS_RATE,
            inband_fec: true,
            dtx: false,
            bitrate: 32000,
            stereo: false,
            sprop_stereo: false,
            cbr: false,
        }
    }
}

impl OpusParams {
    /// From an fmtp value (`a=fmtp:PT` after the payload type),
    /// ignoring what it does not know or cannot read.
    pub fn from_fmtp(fmtp: Option<&str>) -> OpusParams {
        let mut p = OpusParams::default();
        let Some(fmtp) = fmtp else { return p };
        for item in fmtp.split(';') {
            let Some((k, v)) = item.split_once('=') else {
                continue;
            };
            let v = v.trim();
            match k.trim().to_ascii_lowercase().as_str() {
                "maxplaybackrate" => {
                    if let Ok(r) = v.parse::<u32>() {
                        p.max_playback_rate = r.clamp(8000, OPUS_RATE);
                    }
                }
                "useinbandfec" => p.inband_fec = v == "1",
                "usedtx" => p.dtx = v == "1",
                "stereo" => p.stereo = v == "1",
                "sprop-stereo" => p.sprop_stereo = v == "1",
                "cbr" => p.cbr = v == "1",
                "maxaveragebitrate" => {
                    if let Ok(b) = v.parse::<i32>() {
                        p.bitrate = p.bitrate.min(b.clamp(6000, 510_000));
                    }
                }
                _ => {}
            }
        }
        p
    }

    fn bandwidth(&self) -> i32 {
        match self.max_playback_rate {
            0..=8000 => ffi::OPUS_BANDWIDTH_NARROWBAND,
            8001..=12000 => ffi::OPUS_BANDWIDTH_MEDIUMBAND,
            12001..=16000 => ffi::OPUS_BANDWIDTH_WIDEBAND,
            16001..=24000 => ffi::OPUS_BANDWIDTH_SUPERWIDEBAND,
            _ => ffi::OPUS_BANDWIDTH_FULLBAND,
        }
    }
}

fn error(what: &str, code: i32) -> CodecError {
    // SAFETY: opus_strerror returns a pointer to a static C string for
    // any code, known or not.
    let text = unsafe { std::ffi::CStr::from_ptr(ffi::opus_strerror(code)) };
    CodecError(format!("opus {what}: {}", text.to_string_lossy()))
}

struct Encoder(NonNull<ffi::OpusEncoder>);
struct Decoder(NonNull<ffi::OpusDecoder>);

// SAFETY: libopus states are plain memory with no thread affinity; each
// is used through `&mut self` only, so never from two threads at once.
unsafe impl Send for Encoder {}
// SAFETY: as for the encoder.
unsafe impl Send for Decoder {}

impl Drop for Encoder {
    fn drop(&mut self) {
        // SAFETY: made by opus_encoder_create, destroyed once, here.
        unsafe { ffi::opus_encoder_destroy(self.0.as_ptr()) }
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        // SAFETY: made by opus_decoder_create, destroyed once, here.
        unsafe { ffi::opus_decoder_destroy(self.0.as_ptr()) }
    }
}

/// An Opus encoder and decoder pair for one RTP stream, mono, 48 kHz.
pub struct OpusCodec {
    encoder: Encoder,
    decoder: Decoder,
    pcm: Vec<i16>,
    params: OpusParams,
}

impl std::fmt::Debug for OpusCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusCodec")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl OpusCodec {
    pub fn new(params: OpusParams) -> Result<OpusCodec, CodecError> {
        let mut err = 0;
        // SAFETY: valid rate/channels/application; `err` outlives the call.
        let enc = unsafe {
            ffi::opus_encoder_create(OPUS_RATE as i32, 1, ffi::OPUS_APPLICATION_VOIP, &mut err)
        };
        let encoder = Encoder(NonNull::new(enc).ok_or_else(|| error("encoder", err))?);
        // SAFETY: as above.
        let dec = unsafe { ffi::opus_decoder_create(OPUS_RATE as i32, 1, &mut err) };
        let decoder = Decoder(NonNull::new(dec).ok_or_else(|| error("decoder", err))?);
        let codec = OpusCodec {
            encoder,
            decoder,
            pcm: vec![0; MAX_SAMPLES],
            params,
        };
        let p = &codec.params;
        codec.ctl(ffi::OPUS_SET_BITRATE_REQUEST, p.bitrate)?;
        codec.ctl(ffi::OPUS_SET_MAX_BANDWIDTH_REQUEST, p.bandwidth())?;
        codec.ctl(ffi::OPUS_SET_INBAND_FEC_REQUEST, i32::from(p.inband_fec))?;
        // FEC is only sent when the encoder expects loss.
        codec.ctl(
            ffi::OPUS_SET_PACKET_LOSS_PERC_REQUEST,
            if p.inband_fec { 10 } else { 0 },
        )?;
        codec.ctl(ffi::OPUS_SET_DTX_REQUEST, i32::from(p.dtx))?;
        codec.ctl(ffi::OPUS_SET_VBR_REQUEST, i32::from(!p.cbr))?;
        codec.ctl(ffi::OPUS_SET_SIGNAL_REQUEST, ffi::OPUS_SIGNAL_VOICE)?;
        Ok(codec)
    }

    /// An encoder setting whose value is one int.
    fn ctl(&self, request: i32, value: i32) -> Result<(), CodecError> {
        // SAFETY: every request used here takes exactly one opus_int32.
        let r = unsafe { ffi::opus_encoder_ctl(self.encoder.0.as_ptr(), request, value) };
        if r == ffi::OPUS_OK {
            Ok(())
        } else {
            Err(error("encoder setting", r))
        }
    }

    pub fn params(&self) -> &OpusParams {
        &self.params
    }

    /// Decodes into `out`: `data` None is loss concealment, `fec` takes
    /// the redundant copy of the previous frame out of `data`.
    fn decode_raw(
        &mut self,
        data: Option<&[u8]>,
        fec: bool,
        samples: usize,
        out: &mut Vec<i16>,
    ) -> Result<(), CodecError> {
        let (ptr, len) = match data {
            Some(d) => (
                d.as_ptr(),
                i32::try_from(d.len()).map_err(|_| CodecError("opus packet too long".into()))?,
            ),
            None => (std::ptr::null(), 0),
        };
        let samples = samples.min(self.pcm.len());
        // SAFETY: `ptr`/`len` describe a live slice (or null/0, which
        // libopus reads as a lost packet); `pcm` has room for `samples`
        // mono samples, which bounds what libopus writes.
        let n = unsafe {
            ffi::opus_decode(
                self.decoder.0.as_ptr(),
                ptr,
                len,
                self.pcm.as_mut_ptr(),
                samples as i32,
                i32::from(fec),
            )
        };
        let n = usize::try_from(n).map_err(|_| error("decode", n))?;
        out.extend_from_slice(self.pcm.get(..n).unwrap_or(&[]));
        Ok(())
    }
}

impl AudioCodec for OpusCodec {
    fn name(&self) -> &'static str {
        "opus"
    }

    fn sample_rate(&self) -> u32 {
        OPUS_RATE
    }

    fn clock_rate(&self) -> u32 {
        OPUS_RATE
    }

    /// 20, 40 or 60 ms of PCM make one packet (a peer's `a=ptime`, RFC
    /// 7587 §7); any other length is padded or cut to 20 ms. With DTX,
    /// a frame libopus marks as not to be sent (2 bytes or less) leaves
    /// `out` as it was: nothing to send (RFC 7587 §3.1.3).
    fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) -> Result<(), CodecError> {
        let mut frame = [0i16; 3 * FRAME];
        let samples = match pcm.len() {
            n @ (FRAME | 1920 | 2880) => n,
            _ => FRAME,
        };
        for (f, s) in frame.iter_mut().zip(pcm).take(samples) {
            *f = *s;
        }
        let start = out.len();
        out.resize(start + MAX_PACKET, 0);
        let room = out.get_mut(start..).unwrap_or(&mut []);
        // SAFETY: `frame` holds at least `samples` samples, `room`
        // MAX_PACKET bytes, the sizes passed.
        let n = unsafe {
            ffi::opus_encode(
                self.encoder.0.as_ptr(),
                frame.as_ptr(),
                samples as i32,
                room.as_mut_ptr(),
                room.len() as i32,
            )
        };
        match usize::try_from(n) {
            Ok(n) if self.params.dtx && n <= 2 => {
                out.truncate(start);
                Ok(())
            }
            Ok(n) => {
                out.truncate(start + n);
                Ok(())
            }
            Err(_) => {
                out.truncate(start);
                Err(error("encode", n))
            }
        }
    }

    fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<(), CodecError> {
        if payload.is_empty() {
            return Err(CodecError("empty opus packet".into()));
        }
        self.decode_raw(Some(payload), false, MAX_SAMPLES, out)
    }

    fn conceal(&mut self, next: Option<&[u8]>, out: &mut Vec<i16>) {
        let start = out.len();
        // The next packet's FEC data rebuilds this frame; without it
        // (or if it has none) libopus extrapolates.
        let recovered = match next {
            Some(n) if !n.is_empty() => self.decode_raw(Some(n), true, FRAME, out).is_ok(),
            _ => false,
        };
        if !recovered || out.len() == start {
            out.truncate(start);
            if self.decode_raw(None, false, FRAME, out).is_err() {
                out.resize(start + FRAME, 0);
            }
        }
    }
}
