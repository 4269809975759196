//! `sip-proto`: the sans-IO SIP core of sipsimple-rs.
//!
//! Owns: the SIP message model ([`Message`], [`Request`], [`Response`]),
//! the parser for datagrams and byte streams ([`StreamFramer`]), SIP/SIPS/TEL
//! URIs with RFC 3261 §19.1.4 comparison, typed header views, multipart
//! bodies and the serializer; on top of them the transaction layer, the UAS
//! core, dialogs, digest authentication, the REGISTER client, the INVITE
//! session state machine, event subscriptions (RFC 6665: the subscriber
//! and the notifier's side, [`subscription`]) and the event state
//! publication client (RFC 3903, [`publication`]). It opens no socket,
//! reads no clock and spawns no task: time and bytes are passed in,
//! actions are polled out.
//!
//! Does not own: sockets, timers and DNS (the `sipsimple` engine), SDP (its
//! own crate), media.
//!
//! Why our own parser: no maintained crate parses the RFC 4475 torture
//! corpus, keeps unknown headers exact, bounds its work, and reads a
//! typical INVITE with its typed headers several times faster than rsip
//! (docs/PERFORMANCE.md has the figures and the targets still open). The
//! raw message is kept as a [`bytes::Bytes`] buffer; header values are spans
//! of it and typed headers borrow from them, so parsing allocates little.
//! The hot scans (line ends, header names, hosts) compare sixteen or
//! thirty-two bytes at once through the `wide` crate's vector types: the
//! same SSE2 instructions `core::arch` offers, behind a safe API, so the
//! crate keeps `forbid(unsafe_code)`.
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

pub mod body;
pub mod dialog;
pub mod digest;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
mod grammar;
pub mod headers;
pub mod invite;
pub mod message;
pub mod params;
pub mod parser;
pub mod publication;
pub mod registration;
pub mod subscription;
pub mod transaction;
pub mod uas;
pub mod uri;

/// Re-exported so users can name the buffer type the API takes.
pub use bytes;
pub use error::{ParseError, SyntaxError};
pub use headers::{Header, HeaderName, Headers, TypedHeader};
pub use message::{Message, Method, Request, Response, StatusCode, Version};
pub use parser::{Frame, Limits, StreamFramer};
pub use uri::{Host, SipUri, Uri};
