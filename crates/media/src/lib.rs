//! `media`: the sans-IO media layer of sipsimple-rs.
//!
//! Owns (so far): RTP packets (RFC 3550 §5) and the sender's sequence and
//! timestamp bookkeeping, RTCP compound packets (SR, RR, SDES, BYE; RFC
//! 3550 §6) and the receiver statistics behind report blocks (loss,
//! extended highest sequence, interarrival jitter; RFC 3550 A.1, A.3,
//! A.8), the G.711 codecs (PCMU and PCMA, ITU-T G.711), RFC 4733
//! telephone-event payloads, a tone generator (DTMF and call-progress
//! tones), the audio codecs behind one interface (`codec`: G.711, G.722,
//! Opus), and SRTP/SRTCP (RFC 3711) with the SDES suites.
//!
//! Does not own: sockets and clocks (the engine passes bytes and times
//! in), SDP (the `sdp` crate), sessions. Later parts of issue 5 add the
//! jitter buffer, mixer and devices here.
//!
//! Why our own RTP and G.711: both are small, fixed formats; the crates
//! that have them come inside whole WebRTC stacks with their own runtime
//! assumptions.
// Unsafe only in `codec::opus`, the libopus binding, which allows it.
#![deny(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod codec;
pub mod dtmf;
pub mod g711;
pub mod jitter;
pub mod resample;
pub mod rtcp;
pub mod rtp;
pub mod srtp;
pub mod stats;
pub mod tone;
