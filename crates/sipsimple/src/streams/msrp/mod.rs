//! The MSRP streams: the base every one of them stands on (SDP, who
//! connects and where to (RFC 6135, CEMA), the connection, queueing
//! until it is up), ChatStream,
//! FileTransferStream and DesktopSharingStream with its VNC handlers.

pub mod base;
mod cema;
pub mod chat;
mod chat_media;
mod chatroom;
pub mod desktop_sharing;
mod file_attributes;
mod file_media;
mod file_store;
pub mod file_transfer;
mod imdn;
mod relay_path;
mod relay_window;
mod remote;
pub mod vnc;

pub use crate::streams::settings::MsrpSettings;
pub use base::{MsrpStreamBase, OutgoingMessage, RemoteMedia};
pub use chat::{
    ChatMessage, ChatStream, ChatStreamError, ComposingState, DeliveryState, MessageOptions,
};
pub use chat_media::ChatStreamType;
pub use desktop_sharing::{DesktopSharingError, DesktopSharingStream, DesktopSharingStreamType};
pub use file_attributes::FileAttributes;
pub use file_media::FileTransferStreamType;
pub use file_store::{received_part, safe_file_name};
pub use file_transfer::{
    file_selector_for, FileTransferStream, TransferDirection, TransferProgress, SENDER_ABORTED,
};
pub use remote::MediaAddress;
pub use vnc::{
    DesktopSharingHandler, ExternalVNCServerHandler, ExternalVNCViewerHandler, HandlerKind,
    HandlerLink, InternalVNCServerHandler, InternalVNCViewerHandler,
};

/// The reason a success REPORT's Status gave, which the spec's
/// notifications pass on; "OK" when it gave none.
fn report_reason(head: Option<&msrp_proto::Head>) -> String {
    head.and_then(|h| h.headers().typed::<msrp_proto::headers::Status>())
        .and_then(Result::ok)
        .and_then(|s| s.reason)
        .unwrap_or_else(|| "OK".into())
}
