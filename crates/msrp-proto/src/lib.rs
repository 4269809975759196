//! `msrp-proto`: the sans-IO MSRP core of sipsimple-rs (RFC 4975, relays
//! RFC 4976, connection model RFC 6135/6714).
//!
//! Owns: MSRP URIs with the RFC 4975 §6.1 comparison ([`MsrpUri`]); the
//! message model ([`Head`], [`Request`], [`Response`], [`Flag`]) with the
//! typed headers of RFC 4975 and RFC 4976 ([`headers`]); answering a
//! relay's AUTH challenge ([`auth`], hashing by `sip_proto::digest`); the
//! serializer and a seeded transaction-id generator ([`write`]); the
//! incremental stream parser that hands bodies on as they arrive
//! ([`Parser`]); chunking of outgoing messages ([`chunk::Chunker`]) and
//! bounded reassembly of incoming ones ([`reassembly::Reassembler`]); a
//! first endpoint session core in the quinn-proto shape ([`Session`]),
//! whose large chunks go out interruptible, in slices, and can be cut
//! short with `#` (RFC 4975 §7.1), with the NICKNAME transaction of RFC
//! 7701 chat rooms; several sessions on one connection, demultiplexed by
//! the To-Path ([`demux::Demux`]).
//!
//! Does not own: sockets, TLS and timers (the `sipsimple` engine), SDP (the
//! `sdp` crate), message payloads such as CPIM (the `payloads` crate).
//!
//! Why our own: MSRP framing is an end-line search over a stream whose
//! body may be gigabytes; the crates that exist buffer whole chunks, panic
//! on bad input or bring their own runtime. A sans-IO core that hands the
//! body on as it arrives is small and is what the engine and the fuzzers
//! need.
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

pub mod auth;
pub mod chunk;
pub mod demux;
pub mod headers;
pub mod message;
pub mod parser;
pub mod reassembly;
pub mod relay;
mod search;
pub mod session;
#[cfg(test)]
mod test_support;
pub mod uri;
pub mod write;

pub use headers::{HeaderError, TypedHeader};
pub use message::{
    Flag, Head, Header, Headers, MessageError, Method, Request, Response, TransactionId,
};
pub use parser::{parse_chunk, Event, Limits, Parser, StreamError};
pub use relay::{AuthClient, Authorized, RelayAuthError};
pub use session::{AbortOutcome, Session, SessionConfig, SessionEvent};
pub use uri::{Host, MsrpUri, UriError};
pub use write::{encode, TidGenerator, WriteError};
