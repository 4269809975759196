//! The MSRP streams: the base every one of them stands on (SDP, who
//! connects, the connection, queueing until it is up) and ChatStream.

pub mod base;
pub mod chat;
mod chat_media;
mod imdn;

pub use base::{MsrpSettings, MsrpStreamBase, OutgoingMessage, RemoteMedia};
pub use chat::{
    ChatMessage, ChatStream, ChatStreamError, ComposingState, DeliveryState, MessageOptions,
};
pub use chat_media::ChatStreamType;
