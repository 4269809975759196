//! A chat message as an application receives it, over a chat stream
//! (MSRP) or in a SIP MESSAGE. Kept apart from the streams: the
//! notifications carry it, and the streams post notifications, so it
//! may depend on neither.

use payloads::cpim::Address;
use payloads::DateTime;

/// A chat message as it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    pub message_id: String,
    /// The content type of the message itself (inside CPIM if wrapped).
    pub content_type: String,
    pub content: Vec<u8>,
    /// CPIM `From`; for a plain message, the session's peer.
    pub sender: Option<Address>,
    pub recipients: Vec<Address>,
    pub courtesy_recipients: Vec<Address>,
    pub subject: Option<String>,
    pub timestamp: Option<DateTime>,
    pub required: Vec<String>,
    /// Whether it came wrapped in CPIM.
    pub cpim: bool,
    /// The IMDN notifications the sender asked for (RFC 5438), if any. A
    /// positive-delivery one is answered by the stream; display is the
    /// application's to send (`ChatStream::send_display_notification`).
    pub notification_request: Option<payloads::imdn::Request>,
    /// Sent to us alone through a chat room (RFC 7701 §8): the peer is a
    /// focus and the CPIM `To` is us, not the room.
    pub private: bool,
}

impl ChatMessage {
    /// The content as text (lossy for bytes that are not UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.content).into_owned()
    }
}
