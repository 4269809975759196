//! A chat message as an application receives it, over a chat stream
//! (MSRP) or in a SIP MESSAGE. Kept apart from the streams: the
//! notifications carry it, and the streams post notifications, so it
//! may depend on neither.

use payloads::cpim::{Address, ExtensionHeader, Subject};
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
    /// The first CPIM `Subject` (or a MESSAGE's `Subject` header).
    pub subject: Option<String>,
    /// Every CPIM `Subject`, each with its `lang` (RFC 3862 §3.3: one
    /// per language): the spec's MultilingualText.
    pub subjects: Vec<Subject>,
    /// The CPIM headers with no field of their own (RFC 3862 §3.1
    /// extension headers, `imdn.` ones included), in their namespaces.
    pub additional_headers: Vec<ExtensionHeader>,
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
    /// A message that came wrapped in CPIM; `peer` is the sender when
    /// the CPIM has no `From`.
    pub(crate) fn from_cpim(
        message_id: String,
        m: payloads::cpim::Message,
        peer: Option<Address>,
    ) -> ChatMessage {
        ChatMessage {
            message_id,
            content_type: m.content_type().unwrap_or("text/plain").to_owned(),
            sender: m.from.clone().or(peer),
            recipients: m.to.clone(),
            courtesy_recipients: m.cc.clone(),
            subject: m.subjects.first().map(|s| s.text.clone()),
            timestamp: m.datetime,
            required: m.require.clone(),
            notification_request: payloads::imdn::request(&m),
            subjects: m.subjects,
            additional_headers: m.extensions,
            content: m.body,
            cpim: true,
            private: false,
        }
    }

    /// A message that came as it is, without CPIM.
    pub(crate) fn plain(
        message_id: String,
        content_type: String,
        content: Vec<u8>,
        sender: Option<Address>,
    ) -> ChatMessage {
        ChatMessage {
            message_id,
            content_type,
            content,
            sender,
            recipients: Vec::new(),
            courtesy_recipients: Vec::new(),
            subject: None,
            subjects: Vec::new(),
            additional_headers: Vec::new(),
            timestamp: None,
            required: Vec::new(),
            cpim: false,
            notification_request: None,
            private: false,
        }
    }

    /// The content as text (lossy for bytes that are not UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.content).into_owned()
    }
}
