//! `sipsimple`: the middleware of the SIP SIMPLE SDK (see
//! `docs/API-MAP.md` for what of the spec exists).
//!
//! Owns everything that runs: SipApplication (lifecycle), the tokio engine
//! (UDP, TCP and TLS driving the transaction layer), RFC 3263 lookup, the
//! NotificationCenter, the configuration, accounts with registration and
//! the Bonjour account, pager-mode MESSAGE, event subscriptions and
//! publications (`subscription`, `publication`: RFC 6665, RFC 3903), sessions (`session`) with
//! pluggable streams (`streams`: the stream interface, its registry,
//! AudioStream over RTP and the MSRP streams: ChatStream,
//! FileTransferStream, DesktopSharingStream), MSRP
//! connections, the shared MSRP port and relays (`msrp`), and the audio
//! objects (`audio`: a clocked mixer, bridges, WAV player/recorder, tones,
//! devices: null, WAV files, and the sound card through cpal behind the
//! `sound-card` feature), the audio conference (`conference`), and the
//! XCAP client (`xcap`: RFC 4825 documents over HTTP(S), the account's
//! pres-rules that decide who may watch it).
//!
//! Does not own: protocol syntax and state machines (the sans-IO crates
//! `sip-proto`, `sdp`, `msrp-proto`), message bodies (`payloads`: CPIM,
//! is-composing, IMDN) or media coding (`media`: RTP/RTCP, G.711, DTMF,
//! jitter buffer, resampling).
#![forbid(unsafe_code)]

pub mod account;
pub mod application;
pub mod audio;
pub mod chat_message;
pub mod conference;
pub mod config;
pub mod engine;
pub mod instant_message;
pub mod lookup;
pub mod message;
pub mod msrp;
pub mod notification;
pub mod publication;
mod random;
pub mod route;
pub mod router;
pub mod services;
pub mod session;
pub mod streams;
pub mod subscription;
mod sync;
pub mod trace_log;
pub mod xcap;

pub use media;
pub use payloads;
pub use sdp;
pub use sip_proto as proto;
