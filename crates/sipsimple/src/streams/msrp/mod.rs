//! The MSRP streams: the base every one of them stands on (SDP, who
//! connects, the connection, queueing until it is up) and ChatStream.

pub mod base;
pub mod chat;
mod imdn;

pub use base::{MsrpSettings, MsrpStreamBase, OutgoingMessage, RemoteMedia};
pub use chat::{
    ChatMessage, ChatStream, ChatStreamError, ChatStreamType, ComposingState, DeliveryState,
    MessageOptions,
};
