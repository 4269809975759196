//! Media streams of a session. `audio`: RTP with G.711 (first slice of
//! issue 5); MSRP streams come later.

pub mod audio;
mod rtcp;
