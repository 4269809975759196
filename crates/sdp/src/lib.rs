//! `sdp`: the Session Description Protocol of sipsimple-rs, sans-IO.
//!
//! Owns: the SDP model ([`SessionDescription`], [`Media`], [`Connection`],
//! [`Attribute`]), a bounded parser that names the line and the fault of
//! anything it refuses ([`SdpError`]), a canonical serializer (CRLF line
//! ends), typed views of the attributes a SIP SIMPLE client reads (RTP
//! maps and formats, direction, ptime, rtcp, SRTP `crypto`, ICE lines kept,
//! MSRP `path`/`accept-types`/`setup`/`file-selector`/`msrp-cema`), and RFC 3264 offer
//! and answer.
//!
//! Does not own: what a session does with the result (streams, RTP, ICE
//! live in their own crates), any I/O.
//!
//! Why our own: the SDP crates on crates.io either panic or silently drop
//! what they do not understand, and offer/answer is where a SIP client's
//! interop lives; the grammar is small and bounded parsing of it is cheap
//! to get right.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

mod attributes;
mod error;
pub mod file_selector;
mod model;
pub mod offer_answer;
pub mod opus;
mod parse;
mod write;

pub use attributes::{Crypto, Direction, Fmtp, RtcpAttr, RtpMap, Setup, MSRP_CEMA};
pub use error::{ErrorKind, SdpError};
pub use file_selector::{FileHash, FileRange, FileSelector, FileSelectorError};
pub use model::{
    AddrType, Attribute, Bandwidth, Connection, Media, Origin, SessionDescription, Timing,
};
pub use opus::OpusFmtp;
pub use parse::Limits;
