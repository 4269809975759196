//! `payloads`: the bodies SIP SIMPLE carries inside MSRP and SIP messages.
//!
//! Does not own: the transports that carry them (MSRP, SIP).
#![forbid(unsafe_code)]
