//! Media streams of a session: the stream interface and registry
//! (`interface`), and the streams. `audio`: RTP (and its RTCP, SRTP) with
//! Opus, G.722 and G.711; `msrp`: the MSRP streams (chat, file transfer,
//! desktop sharing).

pub mod audio;
mod interface;
pub mod msrp;
mod settings;

pub use interface::{
    BoxFuture, MediaStream, MediaStreamRegistry, MediaStreamType, RecordingDefaults, StreamContext,
    StreamDirection, StreamError, StreamList,
};
pub use settings::StreamSettings;
