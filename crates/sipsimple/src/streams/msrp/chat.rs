//! ChatStream: session-based instant messaging over MSRP (RFC 4975),
//! wrapping in Message/CPIM (RFC 3862) when the peer takes it, and
//! is-composing indications (RFC 3994).
//!
//! Reports: messages go with `Success-Report: yes` and `Failure-Report:
//! partial`, as the spec asks: the peer answers a chunk only when it
//! refuses it, and confirms delivery end to end with a REPORT. Each
//! message's state (pending, sent, delivered, failed) is kept for the
//! application to read ([`ChatStream::delivery_state`]), bounded to the
//! newest [`DELIVERY_MEMORY`] messages.
//!
//! Direction: a chat offers `sendrecv` ([`ChatStream::new`]) or another
//! direction ([`ChatStream::with_direction`]), answers an offer as RFC
//! 3264 §6.1 allows, and follows the negotiated direction
//! ([`ChatStream::direction`]) through re-INVITEs: while it does not let
//! us send, messages and is-composing fail at once
//! ([`ChatStreamError::NotSending`]); while it does not let the peer
//! send, its messages get 403 and never reach the application (the
//! base's `direction` module says why).

use crate::sync::lock;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use msrp_proto::headers::FailureReport;
use msrp_proto::SessionEvent;
use payloads::cpim::{self, Address};
use payloads::iscomposing::IsComposing;
use payloads::{DateTime, Offset};

use super::base::{type_accepted, MsrpStreamBase, OutgoingMessage, RemoteMedia};
use crate::msrp::{new_message_id, ConnectionEvent, MsrpSendError};
use crate::notification::NotificationData;
use crate::streams::settings::StreamSettings;

// The message type lives outside the streams so that the notifications
// can carry it without depending on them; its public path stays here.
pub use crate::chat_message::ChatMessage;

/// How many messages' delivery states are kept.
pub const DELIVERY_MEMORY: usize = 10_000;

/// RFC 3994 §4.2: an active state without a refresh lapses after 120 s.
const COMPOSING_DEFAULT_REFRESH: u32 = 120;

pub(super) const CPIM: &str = "message/cpim";
pub(super) const IS_COMPOSING: &str = "application/im-iscomposing+xml";

/// Where a message we sent stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryState {
    /// Queued or being written.
    Pending,
    /// Written to the connection; no report yet.
    Sent,
    /// The peer's success REPORT came (or its IMDN said delivered).
    Delivered,
    /// The peer's IMDN display notification came (RFC 5438).
    Displayed,
    Failed {
        code: u16,
        reason: String,
    },
}

/// The spec's ChatStreamError.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChatStreamError {
    #[error("{0} needs CPIM, which the peer does not accept")]
    NeedsCpim(&'static str),
    #[error("the peer does not accept {0}")]
    NotAccepted(String),
    #[error("the chat stream has ended")]
    Ended,
    #[error("too many messages are waiting: try again later")]
    QueueFull,
    #[error("the peer is not a chat room that takes nicknames (no a=chatroom:nickname)")]
    NicknameNotSupported,
    #[error(
        "the peer is not a chat room that takes private messages (no a=chatroom:private-messages)"
    )]
    PrivateMessagesNotSupported,
    #[error("the chat stream is not connected yet")]
    NotConnected,
    #[error("bad nickname: {0}")]
    InvalidNickname(String),
    #[error("no nickname request {0} waits for an answer")]
    UnknownNicknameRequest(String),
    #[error("{0} is not a response RFC 7701 gives a NICKNAME (200, 403, 424, 425)")]
    InvalidNicknameStatus(u16),
    #[error("no message {0} waits to be sent (unknown, or already written whole)")]
    NotAbortable(String),
    #[error("cannot change what the stream accepts: {0}")]
    AcceptTypes(String),
    /// The stream's direction (negotiated, or before that the one we ask
    /// for) does not let us send: `recvonly` or `inactive` (RFC 3264).
    #[error("the chat stream's direction is {}: it does not let us send", .0.as_str())]
    NotSending(sdp::Direction),
}

impl From<MsrpSendError> for ChatStreamError {
    fn from(e: MsrpSendError) -> Self {
        match e {
            MsrpSendError::Closed => ChatStreamError::Ended,
            MsrpSendError::QueueFull => ChatStreamError::QueueFull,
            MsrpSendError::NotSending(d) => ChatStreamError::NotSending(d),
        }
    }
}

/// The optional arguments of `send_message` (all CPIM headers).
#[derive(Debug, Clone, Default)]
pub struct MessageOptions {
    /// CPIM `From`; the default is us. A chat room's focus forwards a
    /// participant's message under the participant's name (RFC 7701 §8).
    pub sender: Option<Address>,
    /// CPIM `To`; the default is the session's peer. Anyone else, through
    /// a chat room, makes a private message (RFC 7701 §8).
    pub recipients: Vec<Address>,
    pub courtesy_recipients: Vec<Address>,
    /// Subjects with their languages (`None`: no `;lang`).
    pub subject: Vec<(String, Option<String>)>,
    /// CPIM `DateTime`; the default is now.
    pub timestamp: Option<DateTime>,
    pub required: Vec<String>,
    /// Extra CPIM headers: (namespace URI, name, value).
    pub additional_headers: Vec<(String, String, String)>,
    /// IMDN notifications to ask the peer for (RFC 5438
    /// `imdn.Disposition-Notification`), e.g. positive-delivery, display.
    pub notifications: Vec<payloads::imdn::Disposition>,
}

impl MessageOptions {
    fn needs_cpim(&self) -> Option<&'static str> {
        if self.sender.is_some() {
            Some("sender")
        } else if !self.recipients.is_empty() {
            Some("recipients")
        } else if !self.courtesy_recipients.is_empty() {
            Some("courtesy_recipients")
        } else if !self.subject.is_empty() {
            Some("subject")
        } else if !self.required.is_empty() {
            Some("required")
        } else if !self.additional_headers.is_empty() {
            Some("additional_headers")
        } else if !self.notifications.is_empty() {
            Some("notifications")
        } else {
            None
        }
    }
}

/// `active` or `idle`, as `send_composing_indication` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComposingState {
    Active,
    Idle,
}

/// A message sent before the stream was initialized: wrapped once the
/// session's identities are known (CPIM From and To).
pub(super) struct Early {
    id: String,
    content: Bytes,
    content_type: String,
    options: MessageOptions,
}

#[derive(Default)]
pub(super) struct ChatState {
    pub(super) early: Vec<Early>,
    pub(super) delivery: HashMap<String, DeliveryState>,
    pub(super) order: VecDeque<String>,
    /// The timer that turns the peer's `active` into `idle`.
    pub(super) composing_timer: Option<tokio::task::JoinHandle<()>>,
    /// Our NICKNAMEs awaiting an answer: transaction id to nickname.
    pub(super) nicknames: HashMap<String, String>,
    /// Answers that came before `set_local_nickname` noted its id (the
    /// connection runs on its own tasks).
    pub(super) nickname_results: HashMap<String, (u16, Option<String>)>,
    /// What we offer as a chat room's focus (`a=chatroom`).
    pub(super) local_chatroom: Vec<String>,
    /// The peer's `a=chatroom` as negotiated, kept here because the
    /// connection's sink may not take the base's lock to read it.
    pub(super) remote_chatroom: Option<Vec<String>>,
}

impl ChatState {
    fn set(&mut self, id: &str, state: DeliveryState) {
        if !self.delivery.contains_key(id) {
            if self.order.len() >= DELIVERY_MEMORY {
                if let Some(old) = self.order.pop_front() {
                    self.delivery.remove(&old);
                }
            }
            self.order.push_back(id.to_owned());
        }
        self.delivery.insert(id.to_owned(), state);
    }

    /// Only a message we know changes state.
    pub(super) fn update(&mut self, id: &str, state: DeliveryState) -> bool {
        match self.delivery.get_mut(id) {
            Some(s) => {
                // A late `sent` never undoes a report, nor a success
                // REPORT an IMDN's `displayed`.
                let late_sent = state == DeliveryState::Sent && *s != DeliveryState::Pending;
                let late_delivered =
                    state == DeliveryState::Delivered && *s == DeliveryState::Displayed;
                if !late_sent && !late_delivered {
                    *s = state;
                }
                true
            }
            None => false,
        }
    }
}

pub(super) struct ChatInner {
    pub(super) base: MsrpStreamBase,
    pub(super) chat: Mutex<ChatState>,
}

/// The spec's ChatStream.
pub struct ChatStream {
    pub(super) inner: Arc<ChatInner>,
}

impl std::fmt::Debug for ChatStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatStream")
            .field("base", &self.inner.base)
            .finish()
    }
}

/// What a chat stream accepts: CPIM, any text, is-composing.
pub(super) fn chat_accept_types() -> Vec<String> {
    vec![CPIM.into(), "text/*".into(), IS_COMPOSING.into()]
}

impl ChatStream {
    /// A chat stream to offer, for a session of the account `settings`
    /// were made for (`SessionManager::stream_settings`).
    pub fn new(settings: &StreamSettings) -> ChatStream {
        ChatStream::with_offer(settings, None)
    }

    /// As [`ChatStream::new`], offering `direction` (`recvonly`: we only
    /// read, the peer's answer will be `sendonly` or `inactive`).
    pub fn with_direction(settings: &StreamSettings, direction: sdp::Direction) -> ChatStream {
        let chat = ChatStream::with_offer(settings, None);
        chat.set_direction(direction);
        chat
    }

    /// The negotiated direction seen from our side (`recvonly`: we may
    /// not send, the peer may); before the negotiation, the one we ask
    /// for. See the base's `direction` module.
    pub fn direction(&self) -> sdp::Direction {
        self.inner.base.direction()
    }

    /// The direction our next offer or answer asks for. Before the
    /// stream is offered (or an incoming one accepted) it goes in that
    /// SDP; on a live session, [`Session::renew_offer`](crate::session::Session::renew_offer)
    /// offers it in a re-INVITE.
    pub fn set_direction(&self, direction: sdp::Direction) {
        self.inner.base.set_local_direction(direction);
    }

    pub(super) fn with_offer(settings: &StreamSettings, offer: Option<RemoteMedia>) -> ChatStream {
        ChatStream {
            inner: Arc::new(ChatInner {
                base: MsrpStreamBase::new(
                    "message",
                    chat_accept_types(),
                    vec!["*".into()],
                    settings,
                    offer,
                ),
                chat: Mutex::new(ChatState::default()),
            }),
        }
    }

    /// The MSRP base (URIs, the peer's accept-types, connection state).
    pub fn base(&self) -> &MsrpStreamBase {
        &self.inner.base
    }

    /// Whether the peer takes Message/CPIM.
    pub fn cpim_supported(&self) -> bool {
        self.inner
            .base
            .remote_media()
            .is_some_and(|r| type_accepted(&r.accept_types, CPIM))
    }

    /// Sends a message (queued until the stream starts); returns its
    /// Message-ID. Wrapped in CPIM when the peer takes CPIM; without CPIM
    /// the options that need it are refused.
    /// Waits until messages are taken again after
    /// [`ChatStreamError::QueueFull`]: the connection has written enough
    /// of what was queued (a slow peer slows the sender), or the stream
    /// ended (then `send_message` says so).
    pub async fn wait_writable(&self) {
        if let Some(conn) = self.inner.base.connection().await {
            conn.wait_room().await;
        }
    }

    pub fn send_message(
        &self,
        content: impl Into<Bytes>,
        content_type: &str,
        options: MessageOptions,
    ) -> Result<String, ChatStreamError> {
        let content = content.into();
        if self.inner.base.is_ended() {
            return Err(ChatStreamError::Ended);
        }
        // Here too and not only in the base's `send`: before `initialize`
        // a message waits in `early`, out of the base's sight.
        let direction = self.inner.base.direction();
        if !direction.sends() {
            return Err(ChatStreamError::NotSending(direction));
        }
        if self.inner.base.context().is_none() {
            // Not initialized: who we and the peer are is not known yet.
            let mut c = lock(&self.inner.chat);
            if c.early.len() >= super::base::MAX_QUEUED_BEFORE_START {
                return Err(ChatStreamError::QueueFull);
            }
            let id = new_message_id();
            c.early.push(Early {
                id: id.clone(),
                content,
                content_type: content_type.to_owned(),
                options,
            });
            c.set(&id, DeliveryState::Pending);
            return Ok(id);
        }
        let id = new_message_id();
        self.inner
            .send_as(id.clone(), content, content_type, &options)?;
        Ok(id)
    }

    /// Sends what came before `initialize`, now that the identities are
    /// known. One that cannot go (the queue is full) is reported.
    pub(super) fn send_early(&self) {
        let early = std::mem::take(&mut lock(&self.inner.chat).early);
        for m in early {
            if let Err(e) = self
                .inner
                .send_as(m.id.clone(), m.content, &m.content_type, &m.options)
            {
                self.inner.not_delivered(&m.id, 0, &e.to_string());
            }
        }
    }

    /// Sends an is-composing indication (RFC 3994); returns its id.
    pub fn send_composing_indication(
        &self,
        state: ComposingState,
        refresh: Option<u32>,
        last_active: Option<DateTime>,
        recipients: Vec<Address>,
    ) -> Result<String, ChatStreamError> {
        let doc = match state {
            ComposingState::Active => IsComposing::active(Some("text/plain"), refresh),
            ComposingState::Idle => IsComposing::idle(last_active, Some("text/plain")),
        };
        let options = MessageOptions {
            recipients,
            ..MessageOptions::default()
        };
        let id = new_message_id();
        let (msrp_type, body) =
            self.inner
                .wrap(&id, Bytes::from(doc.to_xml()), IS_COMPOSING, &options)?;
        // No reports: an indication that is lost is replaced by the next.
        self.inner.base.send(OutgoingMessage {
            message_id: id.clone(),
            content_type: msrp_type,
            body,
            success_report: false,
            failure_report: FailureReport::Partial,
        })?;
        Ok(id)
    }

    /// Tells the sender of `message` that it was displayed (RFC 5438
    /// display notification), when it asked for that; returns the id of
    /// the notification's own message.
    pub fn send_display_notification(
        &self,
        message: &ChatMessage,
    ) -> Result<String, ChatStreamError> {
        let asked = message
            .notification_request
            .as_ref()
            .is_some_and(|r| r.wants(&payloads::imdn::Disposition::Display));
        if !asked {
            return Err(ChatStreamError::NotAccepted(
                "a display notification the sender did not ask for".into(),
            ));
        }
        self.inner.send_notification(
            message,
            payloads::imdn::NotificationKind::Display,
            payloads::imdn::Status::Displayed,
        )
    }

    /// Takes back a message not yet written whole (RFC 4975 §7.1): one
    /// none of whose bytes left is dropped; one partly written is ended
    /// with a `#` chunk, so the peer drops what it got and never shows
    /// it. Either way ChatStreamDidNotDeliverMessage (code 0) follows.
    pub fn abort_message(&self, message_id: &str) -> Result<(), ChatStreamError> {
        let early = {
            let mut c = lock(&self.inner.chat);
            let before = c.early.len();
            c.early.retain(|m| m.id != message_id);
            c.early.len() != before
        };
        if !early && !self.inner.base.abort_message(message_id) {
            return Err(ChatStreamError::NotAbortable(message_id.to_owned()));
        }
        self.inner
            .not_delivered(message_id, 0, "aborted before it was sent whole");
        Ok(())
    }

    /// What the stream takes, written as `a=accept-types`: without
    /// `message/cpim` the peer sends plain content (a sender of ours
    /// wraps only for a peer that lists CPIM). Only before the stream is
    /// initialized: for an outgoing stream before the session is made,
    /// for an incoming one before it is accepted.
    pub fn set_accept_types(&self, types: &[&str]) -> Result<(), ChatStreamError> {
        let types = types.iter().map(|t| (*t).to_owned()).collect();
        self.inner
            .base
            .set_accept_types(types)
            .map_err(|e| ChatStreamError::AcceptTypes(e.0))
    }

    /// What the stream takes inside CPIM (`a=accept-wrapped-types`; empty:
    /// none written); as [`ChatStream::set_accept_types`], only before
    /// the stream is initialized.
    pub fn set_accept_wrapped_types(&self, types: &[&str]) -> Result<(), ChatStreamError> {
        let types = types.iter().map(|t| (*t).to_owned()).collect();
        self.inner
            .base
            .set_accept_wrapped_types(types)
            .map_err(|e| ChatStreamError::AcceptTypes(e.0))
    }

    /// Where a message we sent stands (None: unknown or forgotten).
    pub fn delivery_state(&self, message_id: &str) -> Option<DeliveryState> {
        lock(&self.inner.chat).delivery.get(message_id).cloned()
    }
}

/// A CPIM address from a SIP identity (`"Name" <sip:u@h>;tag=..`, or a
/// bare URI).
pub(super) fn identity(text: &str) -> Address {
    Address::from_name_addr(text)
}

impl ChatInner {
    /// Wraps and queues a message under `id`.
    pub(super) fn send_as(
        &self,
        id: String,
        content: Bytes,
        content_type: &str,
        options: &MessageOptions,
    ) -> Result<(), ChatStreamError> {
        let (msrp_type, body) = self.wrap(&id, content, content_type, options)?;
        lock(&self.chat).set(&id, DeliveryState::Pending);
        let sent = self.base.send(OutgoingMessage {
            message_id: id.clone(),
            content_type: msrp_type,
            body,
            success_report: true,
            failure_report: FailureReport::Partial,
        });
        if let Err(e) = sent {
            let mut c = lock(&self.chat);
            c.delivery.remove(&id);
            c.order.retain(|o| *o != id);
            return Err(e.into());
        }
        Ok(())
    }

    /// The MSRP content type and body for `content`.
    pub(super) fn wrap(
        &self,
        id: &str,
        content: Bytes,
        content_type: &str,
        options: &MessageOptions,
    ) -> Result<(String, Bytes), ChatStreamError> {
        let remote = self.base.remote_media();
        let accepted = remote.as_ref().map(|r| r.accept_types.clone());
        // Before the peer's SDP is known, assume what every chat peer
        // takes: CPIM (the original SDK and RFC 7701 clients do).
        let cpim = accepted.as_ref().is_none_or(|a| type_accepted(a, CPIM));
        if !cpim {
            if let Some(what) = options.needs_cpim() {
                return Err(ChatStreamError::NeedsCpim(what));
            }
            if let Some(a) = &accepted {
                if !type_accepted(a, content_type) {
                    return Err(ChatStreamError::NotAccepted(content_type.to_owned()));
                }
            }
            return Ok((content_type.to_owned(), content));
        }
        if let Some(wrapped) = remote.as_ref().map(|r| &r.accept_wrapped_types) {
            if !wrapped.is_empty() && !type_accepted(wrapped, content_type) {
                return Err(ChatStreamError::NotAccepted(content_type.to_owned()));
            }
        }
        self.check_private(options)?;
        let context = self.base.context();
        let from = options
            .sender
            .clone()
            .or_else(|| context.map(|c| identity(&c.local_identity)));
        let to = if options.recipients.is_empty() {
            context
                .map(|c| vec![identity(&c.remote_identity)])
                .unwrap_or_default()
        } else {
            options.recipients.clone()
        };
        let mut b = cpim::Message::builder(content_type, content.to_vec()).datetime(
            options
                .timestamp
                .unwrap_or_else(|| DateTime::from_system_time(SystemTime::now(), Offset::Utc)),
        );
        if let Some(f) = from {
            b = b.from(f);
        }
        for t in to {
            b = b.to(t);
        }
        for c in &options.courtesy_recipients {
            b = b.cc(c.clone());
        }
        for (text, lang) in &options.subject {
            b = b.subject(text, lang.as_deref());
        }
        for (i, (ns, name, value)) in options.additional_headers.iter().enumerate() {
            let prefix = format!("x{i}");
            b = b.namespace(&prefix, ns).header(ns, name, value);
        }
        for r in &options.required {
            b = b.require(r);
        }
        if !options.notifications.is_empty() {
            // The IMDN Message-ID is the MSRP one: one id names the message.
            b = payloads::imdn::RequestBuilder::imdn_request(b, id, &options.notifications);
        }
        let message = b
            .build()
            .map_err(|e| ChatStreamError::NotAccepted(format!("CPIM: {e}")))?;
        Ok((CPIM.to_owned(), Bytes::from(message.to_bytes())))
    }

    /// A message that will not be delivered: its state and the
    /// notification (code 0: no MSRP status, a local reason).
    pub(super) fn not_delivered(&self, message_id: &str, code: u16, reason: &str) {
        let failed = DeliveryState::Failed {
            code,
            reason: reason.to_owned(),
        };
        let known = {
            let mut c = lock(&self.chat);
            if !c.delivery.contains_key(message_id) {
                c.set(message_id, failed.clone());
            }
            c.update(message_id, failed)
        };
        if known {
            self.post(NotificationData::ChatStreamDidNotDeliverMessage {
                message_id: message_id.to_owned(),
                code,
                reason: reason.to_owned(),
                chunk: None,
            });
        }
    }

    pub(super) fn post(&self, data: NotificationData) {
        if let Some(c) = self.base.context() {
            c.center.post(c.sender, data);
        }
    }

    /// Every event of the connection, in order (runs under its lock).
    pub(super) fn on_event(self: &Arc<Self>, ev: ConnectionEvent) {
        let ConnectionEvent::Session(ev) = ev else {
            return;
        };
        match ev {
            SessionEvent::MessageReceived {
                message_id,
                content_type,
                body,
            } => self.on_message(message_id, content_type, body),
            SessionEvent::MessageSent { message_id, chunk } => {
                if self.base.is_bind(&message_id) {
                    return;
                }
                if lock(&self.chat).update(&message_id, DeliveryState::Sent) {
                    self.post(NotificationData::ChatStreamDidSendMessage {
                        message_id,
                        message: chunk.map(|h| *h),
                    });
                }
            }
            SessionEvent::MessageDelivered {
                message_id, chunk, ..
            } => {
                if lock(&self.chat).update(&message_id, DeliveryState::Delivered) {
                    self.post(NotificationData::ChatStreamDidDeliverMessage {
                        message_id,
                        code: 200,
                        reason: super::report_reason(chunk.as_deref()),
                        chunk: chunk.map(|h| *h),
                    });
                }
            }
            SessionEvent::MessageFailed {
                message_id,
                status,
                reason,
                chunk,
            } => {
                if self.base.is_bind(&message_id) {
                    return;
                }
                let reason = reason.unwrap_or_default();
                let known = lock(&self.chat).update(
                    &message_id,
                    DeliveryState::Failed {
                        code: status,
                        reason: reason.clone(),
                    },
                );
                if known {
                    self.post(NotificationData::ChatStreamDidNotDeliverMessage {
                        message_id,
                        code: status,
                        reason,
                        chunk: chunk.map(|h| *h),
                    });
                }
            }
            SessionEvent::NicknameResult {
                tid,
                status,
                comment,
            } => self.on_nickname_result(tid, status, comment),
            SessionEvent::NicknameRequested { tid, nickname } => {
                self.post(NotificationData::ChatStreamGotNicknameRequest {
                    transaction_id: tid,
                    nickname,
                })
            }
            // `abort_message` reports it: the message may have been taken
            // back before it ever reached the connection.
            SessionEvent::MessageCancelled { .. } => {}
            // Chat reads whole messages: these are file-transfer events.
            SessionEvent::MessageAborted { .. }
            | SessionEvent::ChunkAcknowledged { .. }
            | SessionEvent::ChunkData { .. }
            | SessionEvent::ChunkReceived { .. } => {}
            // The connection closes on these; the close fails the stream.
            SessionEvent::KeepAliveFailed { .. } => {}
            // The base's: the relay binding is no message of the chat.
            SessionEvent::RelayReauthorized { .. } | SessionEvent::RelayReauthFailed { .. } => {}
        }
    }

    fn on_message(
        self: &Arc<Self>,
        message_id: String,
        content_type: Option<String>,
        body: Vec<u8>,
    ) {
        // An empty SEND binds the connection or keeps it alive.
        let Some(content_type) = content_type.filter(|_| !body.is_empty()) else {
            return;
        };
        let peer = self.base.context().map(|c| identity(&c.remote_identity));
        let bare = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let message = if bare == CPIM {
            // As large as an MSRP message may be (msrp-proto's reassembly
            // bound), so that whatever MSRP took, CPIM takes.
            let limits = cpim::Limits {
                max_size: body.len().max(cpim::Limits::default().max_size),
                ..cpim::Limits::default()
            };
            let Ok(m) = cpim::Message::parse_with(&body, &limits) else {
                return; // RFC 4975 leaves it to us: a CPIM we cannot read is dropped
            };
            ChatMessage::from_cpim(message_id, m, peer)
        } else {
            ChatMessage::plain(message_id, content_type.clone(), body, peer)
        };
        let message = ChatMessage {
            private: self.is_private(&message),
            ..message
        };
        let inner_type = message
            .content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if inner_type == IS_COMPOSING {
            if let Ok(doc) = IsComposing::parse(&message.content) {
                self.on_composing(doc, message.sender);
            }
            return;
        }
        if inner_type == payloads::imdn::CONTENT_TYPE {
            return self.on_imdn(&message.content);
        }
        self.answer_delivery_request(&message);
        self.post(NotificationData::ChatStreamGotMessage { message });
    }

    fn on_composing(self: &Arc<Self>, doc: IsComposing, sender: Option<Address>) {
        let active = doc.state.is_active();
        self.post(NotificationData::ChatStreamGotComposingIndication {
            state: doc.state.as_str().to_owned(),
            refresh: doc.refresh,
            last_active: doc.last_active,
            content_type: doc.content_type.clone(),
            sender: sender.clone(),
        });
        let mut c = lock(&self.chat);
        if let Some(t) = c.composing_timer.take() {
            t.abort();
        }
        if active {
            // RFC 3994 §4.2: without a refresh in time, the peer is idle.
            let after =
                Duration::from_secs(u64::from(doc.refresh.unwrap_or(COMPOSING_DEFAULT_REFRESH)));
            let weak: Weak<ChatInner> = Arc::downgrade(self);
            c.composing_timer = Some(tokio::spawn(async move {
                tokio::time::sleep(after).await;
                if let Some(me) = weak.upgrade() {
                    me.post(NotificationData::ChatStreamGotComposingIndication {
                        state: "idle".into(),
                        refresh: None,
                        last_active: None,
                        content_type: doc.content_type,
                        sender,
                    });
                }
            }));
        }
    }
}
