//! Media streams of a session: the stream interface and registry
//! (`interface`), and the streams. `audio`: RTP with G.711; `msrp`: the MSRP
//! streams (chat).

pub mod audio;
mod interface;
pub mod msrp;

pub use interface::{
    BoxFuture, MediaStream, MediaStreamRegistry, MediaStreamType, RecordingDefaults, StreamContext,
    StreamDirection, StreamError, StreamList, StreamSettings,
};
