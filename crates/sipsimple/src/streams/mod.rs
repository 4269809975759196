//! Media streams of a session: the stream interface and registry
//! (`interface`), and the streams. `audio`: RTP with G.711; MSRP streams
//! come with the MSRP issue.

pub mod audio;
mod interface;
mod rtcp;

pub use interface::{
    BoxFuture, MediaStream, MediaStreamRegistry, MediaStreamType, RecordingDefaults, StreamContext,
    StreamDirection, StreamError, StreamList, StreamSettings,
};
