//! `sipsimple`: the middleware of the SIP SIMPLE SDK (see
//! `docs/API-MAP.md` for what of the spec exists).
//!
//! Owns (as it is built, issue by issue): SIPApplication, the tokio engine
//! (sockets, timers, TLS, DNS), the NotificationCenter, accounts, sessions
//! and streams. Today: SipApplication (lifecycle), the engine (UDP, TCP
//! and TLS driving the transaction layer), RFC 3263 lookup, the
//! NotificationCenter, the configuration, accounts with registration,
//! pager-mode MESSAGE, and a re-export of the message layer.
//!
//! Does not own: protocol syntax and state machines (in the sans-IO crates
//! such as `sip-proto`).
#![forbid(unsafe_code)]

pub mod account;
pub mod application;
pub mod audio;
pub mod config;
pub mod engine;
pub mod lookup;
pub mod message;
pub mod notification;
mod random;
pub mod session;
pub mod streams;

pub use media;
pub use sdp;
pub use sip_proto as proto;
