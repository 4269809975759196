//! `msrp-proto`: the sans-IO MSRP core of sipsimple-rs (RFC 4975, relays
//! RFC 4976, connection model RFC 6135/6714).
//!
//! Does not own: sockets, TLS and timers (the `sipsimple` engine), SDP (the
//! `sdp` crate), message payloads such as CPIM (the `payloads` crate).
#![forbid(unsafe_code)]
