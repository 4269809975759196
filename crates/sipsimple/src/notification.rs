//! The NotificationCenter: one per application, never a global. Everything
//! that happens is posted as a [`Notification`] with the spec's name, the
//! id of its sender, a timestamp and typed data; observers subscribe by
//! name, by sender, or both, and read an async stream.
//!
//! Delivery keeps posting order for every observer (posting fans out under
//! one lock, so a notification posted while another is being delivered
//! lands after it). Posting never waits: each observer has a bounded
//! queue, and when it is full the OLDEST waiting notification gives way
//! to the new one and is counted, so a slow observer is reported, not
//! allowed to stall the engine, and still sees how things ended: the
//! last notifications of a transfer or a session (its DidFinish, its
//! DidEnd) are never the ones lost behind a flood of progress.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use tokio::sync::Notify;

use crate::route::{QueryTrace, Route};
use crate::streams::StreamList;

/// Whether the ACK of an INVITE's 2xx arrived
/// (SIPSessionDidProcessTransaction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckReceived {
    Yes,
    No,
    /// A non-2xx answer: its ACK is the transaction layer's.
    Unknown,
}

/// Who posted a notification (an application, account, session, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SenderId(pub u64);

/// The data of each notification, one variant per spec name. The variant
/// name is the notification name.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
#[allow(non_camel_case_types)]
pub enum NotificationData {
    DNSLookupDidSucceed {
        result: Vec<Route>,
    },
    DNSLookupDidFail {
        error: String,
    },
    DNSLookupTrace {
        query: QueryTrace,
        /// The method being run: `lookup_sip_proxy` or `lookup_service`.
        context: &'static str,
        /// The `service` argument, for `lookup_service` only.
        service: Option<String>,
        /// The SIP URI, or for `lookup_service` the domain.
        uri: String,
    },
    SIPEngineSIPTrace {
        received: bool,
        source: String,
        destination: String,
        transport: &'static str,
        text: String,
    },
    /// A settings object was saved with these changes (setting path →
    /// old and new value).
    CFGSettingsObjectDidChange {
        modified: std::collections::BTreeMap<String, crate::config::SettingChange>,
    },
    CFGSettingsObjectWasDeleted,
    SIPApplicationWillStart,
    SIPApplicationDidStart,
    SIPApplicationWillEnd,
    SIPApplicationDidEnd,
    /// TLS could not be set up (certificate or CA file); the engine runs
    /// without listening for TLS.
    /// The streams offered to the peer.
    SIPSessionNewOutgoing {
        streams: StreamList,
    },
    /// The streams made for the peer's offer (the session's
    /// `proposed_streams`).
    SIPSessionNewIncoming {
        streams: StreamList,
    },
    SIPSessionGotRingIndication,
    SIPSessionGotProvisionalResponse {
        code: u16,
        reason: String,
    },
    SIPSessionWillStart,
    /// The streams now active.
    SIPSessionDidStart {
        streams: StreamList,
    },
    /// Streams were proposed ("local": by add_stream; "remote": by the
    /// peer's re-INVITE).
    SIPSessionGotProposal {
        originator: &'static str,
        streams: StreamList,
    },
    SIPSessionGotRejectProposal {
        originator: &'static str,
        code: u16,
        reason: String,
        streams: StreamList,
    },
    SIPSessionGotAcceptProposal {
        originator: &'static str,
        streams: StreamList,
        proposed_streams: StreamList,
    },
    SIPSessionHadProposalFailure {
        failure_reason: String,
        streams: StreamList,
    },
    /// `action` is "add" or "remove".
    SIPSessionDidRenegotiateStreams {
        action: &'static str,
        streams: StreamList,
    },
    /// A transaction of the session's dialog completed.
    SIPSessionDidProcessTransaction {
        originator: &'static str,
        method: String,
        code: u16,
        reason: String,
        /// For INVITE transactions only.
        ack_received: Option<AckReceived>,
    },
    MediaStreamDidInitialize,
    MediaStreamDidStart,
    MediaStreamDidFail {
        reason: String,
    },
    MediaStreamWillEnd,
    MediaStreamDidEnd,
    /// A chat message arrived (plain or unwrapped from CPIM).
    ChatStreamGotMessage {
        message: crate::chat_message::ChatMessage,
    },
    /// A success REPORT came for a message we sent.
    ChatStreamDidDeliverMessage {
        message_id: String,
        code: u16,
        reason: String,
    },
    /// A failure REPORT or error response came, or the message could not
    /// be sent at all.
    ChatStreamDidNotDeliverMessage {
        message_id: String,
        code: u16,
        reason: String,
    },
    /// Every chunk of a message we sent was written.
    ChatStreamDidSendMessage {
        message_id: String,
    },
    /// An is-composing indication (RFC 3994) arrived, or the last one
    /// timed out to idle (then `refresh` is None).
    ChatStreamGotComposingIndication {
        state: String,
        refresh: Option<u32>,
        last_active: Option<payloads::DateTime>,
        content_type: Option<String>,
        sender: Option<payloads::cpim::Address>,
    },
    /// The chat room's focus took our nickname (RFC 7701 NICKNAME, 200);
    /// `message_id` is what `set_local_nickname` returned.
    ChatStreamDidSetNickname {
        message_id: String,
        nickname: String,
    },
    /// The focus refused our nickname: `code` 425 (reserved or in use),
    /// 424 (malformed), 403 (not allowed), 408 (no answer in time), 0
    /// (the stream ended first) or another.
    ChatStreamDidNotSetNickname {
        message_id: String,
        nickname: String,
        code: u16,
        reason: String,
    },
    /// We are a chat room (`set_chatroom_capabilities` with `nickname`)
    /// and a participant asks for `nickname`: answer through
    /// `ChatStream::accept_nickname` or `reject_nickname` with
    /// `transaction_id`.
    ChatStreamGotNicknameRequest {
        transaction_id: String,
        nickname: String,
    },
    /// An IMDN (RFC 5438) came for a message we sent: `kind` is
    /// `delivery`, `display` or `processing`, `status` e.g. `delivered`,
    /// `displayed`, `failed`.
    ChatStreamGotDispositionNotification {
        message_id: String,
        kind: &'static str,
        status: String,
    },
    /// A success REPORT came for a chunk of the file we send.
    FileTransferStreamDidDeliverChunk {
        message_id: String,
        code: u16,
        reason: String,
        /// Bytes of the file the peer has confirmed (with those it had
        /// before, when resuming).
        transferred_bytes: u64,
        file_size: u64,
    },
    /// A chunk of the file we send was refused or failed.
    FileTransferStreamDidNotDeliverChunk {
        message_id: String,
        code: u16,
        reason: String,
    },
    /// The transfer is over, either way: `error` says why it failed.
    /// (The spec's notification has no fields; the reason is an
    /// addition, as in python3-sipsimple.)
    FileTransferStreamDidFinish {
        error: Option<String>,
    },
    /// Bytes of the file we receive arrived (and are being stored).
    FileTransferStreamGotChunk {
        content: bytes::Bytes,
        content_type: String,
        transferred_bytes: u64,
        file_size: u64,
    },
    /// A desktop-sharing handler failed; `context` says when
    /// (connecting, reading, sending). Its stream fails after it.
    DesktopSharingHandlerDidFail {
        context: String,
        reason: String,
    },
    /// RFB bytes from the peer, posted by the internal VNC handlers.
    DesktopSharingStreamGotData {
        data: bytes::Bytes,
    },
    /// An MSRP chunk sent or received (`logging.trace_msrp`): the head,
    /// the body cut short.
    MSRPTransportTrace {
        direction: &'static str,
        data: String,
    },
    /// Not in the spec: an MSRP stream on a relay renewed its binding
    /// there (RFC 4976 §5.1: a re-AUTH before the Expires of the last).
    /// `use_path` is the relay's Use-Path from now on; `path_changed`
    /// says it differs from the one peers have, so the session offers
    /// it in a re-INVITE.
    MSRPRelayDidRenewBinding {
        use_path: Vec<String>,
        expires: Option<u32>,
        path_changed: bool,
    },
    /// Not in the spec: a re-AUTH to the relay failed (`code` 408: no
    /// answer); the binding lapses at its expiry unless a retry works.
    MSRPRelayDidNotRenewBinding {
        code: u16,
        reason: String,
    },
    /// What the MSRP library logs (`sipsimple::msrp::log`), posted by its
    /// one anonymous sender: `level` is DEBUG, INFO, WARNING or ERROR.
    MSRPLibraryLog {
        level: &'static str,
        message: String,
    },
    /// `on_hold` as seen from `originator`'s side.
    AudioStreamDidChangeHoldState {
        originator: &'static str,
        on_hold: bool,
    },
    /// The codec or the peer's RTP address changed on renegotiation.
    AudioStreamDidChangeRTPParameters,
    WavePlayerDidStart,
    WavePlayerDidEnd,
    WavePlayerDidFail {
        error: String,
    },
    /// No RTP arrived for the stream's RTP timeout while audio was
    /// expected (posted once until media comes back).
    AudioStreamDidTimeout,
    SIPSessionDidFail {
        /// "local" or "remote".
        originator: &'static str,
        code: u16,
        reason: String,
        failure_reason: String,
    },
    SIPSessionWillEnd,
    AudioStreamWillStartRecordingAudio {
        filename: String,
    },
    AudioStreamDidStartRecordingAudio {
        filename: String,
    },
    AudioStreamWillStopRecordingAudio {
        filename: String,
    },
    AudioStreamDidStopRecordingAudio {
        filename: String,
    },
    /// An RFC 4733 event arrived (reported once per event).
    AudioStreamGotDTMF {
        digit: char,
    },
    /// Hold changed: `originator` "local" (we hold the peer) or "remote"
    /// (the peer holds us).
    SIPSessionDidChangeHoldState {
        originator: &'static str,
        on_hold: bool,
        partial: bool,
    },
    SIPSessionDidEnd {
        originator: &'static str,
        end_reason: String,
    },
    BonjourAccountWillRegister,
    /// A contact was published (`name` is the contact URI).
    BonjourAccountRegistrationDidSucceed {
        name: String,
        transport: crate::engine::TransportKind,
    },
    /// Publishing failed. `code` is a Bonjour error code where the mDNS
    /// library gives one (mdns-sd gives none).
    BonjourAccountRegistrationDidFail {
        code: Option<i32>,
        reason: String,
    },
    BonjourAccountRegistrationDidEnd,
    BonjourAccountWillRestartDiscovery,
    BonjourAccountDidAddNeighbour {
        /// The service's full name: the neighbour's key.
        neighbour: String,
        display_name: Option<String>,
        host: String,
        uri: String,
    },
    BonjourAccountDidRemoveNeighbour {
        neighbour: String,
        uri: String,
    },
    /// A MESSAGE (RFC 3428) for one of our accounts arrived and was
    /// answered 200.
    SIPEngineGotMessage {
        request_uri: String,
        from_header: String,
        to_header: String,
        content_type: String,
        body: Vec<u8>,
        /// Where it came from (`ip:port`).
        source: String,
    },
    /// A sent MESSAGE got a 2xx.
    SIPMessageDidSucceed {
        code: u16,
        reason: String,
    },
    /// A sent MESSAGE was refused (`code` is the answer's), got no answer
    /// (408), or could not be sent (0).
    SIPMessageDidFail {
        code: u16,
        reason: String,
    },
    SIPApplicationFailedToStartTLS {
        error: String,
    },
    /// Accounts are named by id (user@domain); the manager gives the
    /// Account itself.
    SIPAccountManagerDidAddAccount {
        account: String,
    },
    SIPAccountManagerDidRemoveAccount {
        account: String,
    },
    SIPAccountManagerDidChangeDefaultAccount {
        old_account: Option<String>,
        account: Option<String>,
    },
    SIPAccountDidActivate,
    SIPAccountDidDeactivate,
    SIPAccountWillRegister,
    SIPAccountRegistrationWillRefresh,
    /// Registered (or refreshed): our Contact, every binding the
    /// registrar listed, the granted expiry, and the registrar used.
    SIPAccountRegistrationDidSucceed {
        contact_header: String,
        contact_header_list: Vec<String>,
        expires: u32,
        registrar: Route,
    },
    /// The next attempt comes after `retry_in`.
    SIPAccountRegistrationDidFail {
        error: String,
        retry_in: std::time::Duration,
    },
    SIPAccountRegistrationDidEnd,
    SIPAccountRegistrationDidNotEnd {
        code: u16,
        reason: String,
    },
    /// Every final response to a REGISTER.
    SIPAccountRegistrationGotAnswer {
        code: u16,
        reason: String,
        registrar: Route,
    },
    /// A subscription (RFC 6665) was accepted: pending or active.
    SIPSubscriptionDidStart,
    /// NULL, SENT, PENDING, ACTIVE or TERMINATED (a terminated one that
    /// subscribes again goes back to SENT).
    SIPSubscriptionChangedState {
        state: String,
    },
    /// A NOTIFY of the subscription, answered 200.
    SIPSubscriptionGotNotify {
        event: String,
        /// Its Subscription-State value (active, pending, terminated).
        state: String,
        content_type: Option<String>,
        body: Vec<u8>,
    },
    /// A SUBSCRIBE got an error response (408: no answer); whether the
    /// subscription goes on follows from RFC 6665 §4.1.3 (DidEnd if not).
    SIPSubscriptionDidFail {
        code: u16,
        reason: String,
    },
    /// The subscription is over and will not be renewed: `originator`
    /// is `local` (we ended it) or `remote`; `reason` the notifier's.
    SIPSubscriptionDidEnd {
        originator: String,
        reason: Option<String>,
    },
    /// Someone subscribes to an event package we serve: decide with
    /// `subscription.accept`, `accept_pending` or `reject` (RFC 6665).
    SIPIncomingSubscriptionGotSubscribe {
        subscription: crate::subscription::IncomingSubscription,
        event: String,
        /// The subscriber's From header.
        from: String,
        request_uri: String,
    },
    /// The initial SUBSCRIBE was answered with `code`.
    SIPIncomingSubscriptionAnsweredSubscribe {
        code: u16,
    },
    SIPIncomingSubscriptionGotRefreshingSubscribe,
    SIPIncomingSubscriptionGotUnsubscribe,
    SIPIncomingSubscriptionNotifyDidSucceed {
        code: u16,
    },
    SIPIncomingSubscriptionNotifyDidFail {
        code: u16,
        reason: String,
    },
    /// Over: `originator` `local` (we ended it) or `remote` (the
    /// subscriber unsubscribed, let it expire or is gone).
    SIPIncomingSubscriptionDidEnd {
        originator: String,
    },
    /// The compositor holds our state under `etag` for `expires` seconds.
    SIPPublicationDidSucceed {
        etag: String,
        expires: u32,
    },
    SIPPublicationDidFail {
        code: u16,
        reason: String,
    },
    /// The publication ended (its state removed, or the engine stopped).
    SIPPublicationDidEnd,
    /// A watched contact's presence (RFC 3863; `presence` None when the
    /// NOTIFY had no document, e.g. while our subscription is pending).
    SIPAccountGotPresenceState {
        uri: String,
        presence: Option<Box<payloads::pidf::Presence>>,
    },
    /// A NOTIFY of the account's presence list subscription (RFC 4662,
    /// `presence.subscribe_rls`): the list's meta-information kept so
    /// far, each partial update applied: every member's subscription
    /// state at the server (`active`, `pending`, `terminated` with its
    /// reason), the version and the list's names. Each member whose
    /// state the NOTIFY carried is also posted as
    /// SIPAccountGotPresenceState, as a subscription of its own would.
    SIPAccountGotPresenceListState {
        list: Box<payloads::rlmi::Rlmi>,
    },
    /// Who watches our presence (RFC 3857), the full list after applying
    /// each partial update.
    SIPAccountGotPresenceWinfo {
        watcher_info: Box<payloads::watcherinfo::WatcherInfo>,
    },
    /// Our voicemail's summary (RFC 3842).
    SIPAccountGotMessageSummary {
        summary: Box<payloads::message_summary::MessageSummary>,
    },
    /// A pager-mode MESSAGE (RFC 3428) reached the account: plain, or
    /// unwrapped from CPIM (then `message_id` is its `imdn.Message-ID`;
    /// else the Call-ID). A positive-delivery request is answered already.
    SIPAccountGotMessage {
        message: crate::chat_message::ChatMessage,
    },
    /// An is-composing indication (RFC 3994) came in a MESSAGE.
    SIPAccountGotComposingIndication {
        state: String,
        refresh: Option<u32>,
        last_active: Option<payloads::DateTime>,
        content_type: Option<String>,
        sender: Option<payloads::cpim::Address>,
    },
    /// An IMDN (RFC 5438) came in a MESSAGE about one we sent: `kind` is
    /// `delivery`, `display` or `processing`, `status` e.g. `delivered`.
    SIPAccountGotDispositionNotification {
        message_id: String,
        kind: &'static str,
        status: String,
        sender: Option<payloads::cpim::Address>,
    },
    /// A notification an application defines for itself.
    Custom {
        name: String,
        data: String,
    },
}

impl NotificationData {
    /// The spec's notification name.
    pub fn name(&self) -> &str {
        match self {
            NotificationData::DNSLookupDidSucceed { .. } => "DNSLookupDidSucceed",
            NotificationData::DNSLookupDidFail { .. } => "DNSLookupDidFail",
            NotificationData::DNSLookupTrace { .. } => "DNSLookupTrace",
            NotificationData::CFGSettingsObjectDidChange { .. } => "CFGSettingsObjectDidChange",
            NotificationData::CFGSettingsObjectWasDeleted => "CFGSettingsObjectWasDeleted",
            NotificationData::SIPAccountManagerDidAddAccount { .. } => {
                "SIPAccountManagerDidAddAccount"
            }
            NotificationData::SIPAccountManagerDidRemoveAccount { .. } => {
                "SIPAccountManagerDidRemoveAccount"
            }
            NotificationData::SIPAccountManagerDidChangeDefaultAccount { .. } => {
                "SIPAccountManagerDidChangeDefaultAccount"
            }
            NotificationData::SIPAccountDidActivate => "SIPAccountDidActivate",
            NotificationData::SIPAccountDidDeactivate => "SIPAccountDidDeactivate",
            NotificationData::SIPAccountWillRegister => "SIPAccountWillRegister",
            NotificationData::SIPAccountRegistrationWillRefresh => {
                "SIPAccountRegistrationWillRefresh"
            }
            NotificationData::SIPAccountRegistrationDidSucceed { .. } => {
                "SIPAccountRegistrationDidSucceed"
            }
            NotificationData::SIPAccountRegistrationDidFail { .. } => {
                "SIPAccountRegistrationDidFail"
            }
            NotificationData::SIPAccountRegistrationDidEnd => "SIPAccountRegistrationDidEnd",
            NotificationData::SIPAccountRegistrationDidNotEnd { .. } => {
                "SIPAccountRegistrationDidNotEnd"
            }
            NotificationData::SIPAccountRegistrationGotAnswer { .. } => {
                "SIPAccountRegistrationGotAnswer"
            }
            NotificationData::SIPApplicationWillStart => "SIPApplicationWillStart",
            NotificationData::SIPApplicationDidStart => "SIPApplicationDidStart",
            NotificationData::SIPApplicationWillEnd => "SIPApplicationWillEnd",
            NotificationData::SIPApplicationDidEnd => "SIPApplicationDidEnd",
            NotificationData::SIPEngineGotMessage { .. } => "SIPEngineGotMessage",
            NotificationData::SIPSessionNewOutgoing { .. } => "SIPSessionNewOutgoing",
            NotificationData::SIPSessionNewIncoming { .. } => "SIPSessionNewIncoming",
            NotificationData::SIPSessionGotRingIndication => "SIPSessionGotRingIndication",
            NotificationData::SIPSessionGotProvisionalResponse { .. } => {
                "SIPSessionGotProvisionalResponse"
            }
            NotificationData::SIPSessionWillStart => "SIPSessionWillStart",
            NotificationData::SIPSessionDidStart { .. } => "SIPSessionDidStart",
            NotificationData::SIPSessionGotProposal { .. } => "SIPSessionGotProposal",
            NotificationData::SIPSessionGotRejectProposal { .. } => "SIPSessionGotRejectProposal",
            NotificationData::SIPSessionGotAcceptProposal { .. } => "SIPSessionGotAcceptProposal",
            NotificationData::SIPSessionHadProposalFailure { .. } => "SIPSessionHadProposalFailure",
            NotificationData::SIPSessionDidRenegotiateStreams { .. } => {
                "SIPSessionDidRenegotiateStreams"
            }
            NotificationData::SIPSessionDidProcessTransaction { .. } => {
                "SIPSessionDidProcessTransaction"
            }
            NotificationData::MediaStreamDidInitialize => "MediaStreamDidInitialize",
            NotificationData::MediaStreamDidStart => "MediaStreamDidStart",
            NotificationData::MediaStreamDidFail { .. } => "MediaStreamDidFail",
            NotificationData::MediaStreamWillEnd => "MediaStreamWillEnd",
            NotificationData::MediaStreamDidEnd => "MediaStreamDidEnd",
            NotificationData::ChatStreamGotMessage { .. } => "ChatStreamGotMessage",
            NotificationData::ChatStreamDidDeliverMessage { .. } => "ChatStreamDidDeliverMessage",
            NotificationData::ChatStreamDidNotDeliverMessage { .. } => {
                "ChatStreamDidNotDeliverMessage"
            }
            NotificationData::ChatStreamDidSendMessage { .. } => "ChatStreamDidSendMessage",
            NotificationData::ChatStreamDidSetNickname { .. } => "ChatStreamDidSetNickname",
            NotificationData::ChatStreamDidNotSetNickname { .. } => "ChatStreamDidNotSetNickname",
            NotificationData::ChatStreamGotNicknameRequest { .. } => "ChatStreamGotNicknameRequest",
            NotificationData::ChatStreamGotComposingIndication { .. } => {
                "ChatStreamGotComposingIndication"
            }
            NotificationData::ChatStreamGotDispositionNotification { .. } => {
                "ChatStreamGotDispositionNotification"
            }
            NotificationData::FileTransferStreamDidDeliverChunk { .. } => {
                "FileTransferStreamDidDeliverChunk"
            }
            NotificationData::FileTransferStreamDidNotDeliverChunk { .. } => {
                "FileTransferStreamDidNotDeliverChunk"
            }
            NotificationData::FileTransferStreamDidFinish { .. } => "FileTransferStreamDidFinish",
            NotificationData::FileTransferStreamGotChunk { .. } => "FileTransferStreamGotChunk",
            NotificationData::DesktopSharingHandlerDidFail { .. } => "DesktopSharingHandlerDidFail",
            NotificationData::DesktopSharingStreamGotData { .. } => "DesktopSharingStreamGotData",
            NotificationData::MSRPTransportTrace { .. } => "MSRPTransportTrace",
            NotificationData::MSRPLibraryLog { .. } => "MSRPLibraryLog",
            NotificationData::MSRPRelayDidRenewBinding { .. } => "MSRPRelayDidRenewBinding",
            NotificationData::MSRPRelayDidNotRenewBinding { .. } => "MSRPRelayDidNotRenewBinding",
            NotificationData::AudioStreamDidChangeHoldState { .. } => {
                "AudioStreamDidChangeHoldState"
            }
            NotificationData::AudioStreamDidChangeRTPParameters => {
                "AudioStreamDidChangeRTPParameters"
            }
            NotificationData::AudioStreamDidTimeout => "AudioStreamDidTimeout",
            NotificationData::WavePlayerDidStart => "WavePlayerDidStart",
            NotificationData::WavePlayerDidEnd => "WavePlayerDidEnd",
            NotificationData::WavePlayerDidFail { .. } => "WavePlayerDidFail",
            NotificationData::SIPSessionDidFail { .. } => "SIPSessionDidFail",
            NotificationData::SIPSessionWillEnd => "SIPSessionWillEnd",
            NotificationData::AudioStreamGotDTMF { .. } => "AudioStreamGotDTMF",
            NotificationData::AudioStreamWillStartRecordingAudio { .. } => {
                "AudioStreamWillStartRecordingAudio"
            }
            NotificationData::AudioStreamDidStartRecordingAudio { .. } => {
                "AudioStreamDidStartRecordingAudio"
            }
            NotificationData::AudioStreamWillStopRecordingAudio { .. } => {
                "AudioStreamWillStopRecordingAudio"
            }
            NotificationData::AudioStreamDidStopRecordingAudio { .. } => {
                "AudioStreamDidStopRecordingAudio"
            }
            NotificationData::SIPSessionDidChangeHoldState { .. } => "SIPSessionDidChangeHoldState",
            NotificationData::SIPSessionDidEnd { .. } => "SIPSessionDidEnd",
            NotificationData::BonjourAccountWillRegister => "BonjourAccountWillRegister",
            NotificationData::BonjourAccountRegistrationDidSucceed { .. } => {
                "BonjourAccountRegistrationDidSucceed"
            }
            NotificationData::BonjourAccountRegistrationDidFail { .. } => {
                "BonjourAccountRegistrationDidFail"
            }
            NotificationData::BonjourAccountRegistrationDidEnd => {
                "BonjourAccountRegistrationDidEnd"
            }
            NotificationData::BonjourAccountWillRestartDiscovery => {
                "BonjourAccountWillRestartDiscovery"
            }
            NotificationData::BonjourAccountDidAddNeighbour { .. } => {
                "BonjourAccountDidAddNeighbour"
            }
            NotificationData::BonjourAccountDidRemoveNeighbour { .. } => {
                "BonjourAccountDidRemoveNeighbour"
            }
            NotificationData::SIPMessageDidSucceed { .. } => "SIPMessageDidSucceed",
            NotificationData::SIPMessageDidFail { .. } => "SIPMessageDidFail",
            NotificationData::SIPApplicationFailedToStartTLS { .. } => {
                "SIPApplicationFailedToStartTLS"
            }
            NotificationData::SIPEngineSIPTrace { .. } => "SIPEngineSIPTrace",
            NotificationData::SIPSubscriptionDidStart => "SIPSubscriptionDidStart",
            NotificationData::SIPSubscriptionChangedState { .. } => "SIPSubscriptionChangedState",
            NotificationData::SIPSubscriptionGotNotify { .. } => "SIPSubscriptionGotNotify",
            NotificationData::SIPSubscriptionDidFail { .. } => "SIPSubscriptionDidFail",
            NotificationData::SIPSubscriptionDidEnd { .. } => "SIPSubscriptionDidEnd",
            NotificationData::SIPIncomingSubscriptionGotSubscribe { .. } => {
                "SIPIncomingSubscriptionGotSubscribe"
            }
            NotificationData::SIPIncomingSubscriptionAnsweredSubscribe { .. } => {
                "SIPIncomingSubscriptionAnsweredSubscribe"
            }
            NotificationData::SIPIncomingSubscriptionGotRefreshingSubscribe => {
                "SIPIncomingSubscriptionGotRefreshingSubscribe"
            }
            NotificationData::SIPIncomingSubscriptionGotUnsubscribe => {
                "SIPIncomingSubscriptionGotUnsubscribe"
            }
            NotificationData::SIPIncomingSubscriptionNotifyDidSucceed { .. } => {
                "SIPIncomingSubscriptionNotifyDidSucceed"
            }
            NotificationData::SIPIncomingSubscriptionNotifyDidFail { .. } => {
                "SIPIncomingSubscriptionNotifyDidFail"
            }
            NotificationData::SIPIncomingSubscriptionDidEnd { .. } => {
                "SIPIncomingSubscriptionDidEnd"
            }
            NotificationData::SIPPublicationDidSucceed { .. } => "SIPPublicationDidSucceed",
            NotificationData::SIPPublicationDidFail { .. } => "SIPPublicationDidFail",
            NotificationData::SIPPublicationDidEnd => "SIPPublicationDidEnd",
            NotificationData::SIPAccountGotPresenceState { .. } => "SIPAccountGotPresenceState",
            NotificationData::SIPAccountGotPresenceListState { .. } => {
                "SIPAccountGotPresenceListState"
            }
            NotificationData::SIPAccountGotPresenceWinfo { .. } => "SIPAccountGotPresenceWinfo",
            NotificationData::SIPAccountGotMessageSummary { .. } => "SIPAccountGotMessageSummary",
            NotificationData::SIPAccountGotMessage { .. } => "SIPAccountGotMessage",
            NotificationData::SIPAccountGotComposingIndication { .. } => {
                "SIPAccountGotComposingIndication"
            }
            NotificationData::SIPAccountGotDispositionNotification { .. } => {
                "SIPAccountGotDispositionNotification"
            }
            NotificationData::Custom { name, .. } => name,
        }
    }
}

/// One posted notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub sender: SenderId,
    pub timestamp: SystemTime,
    pub data: NotificationData,
}

impl Notification {
    pub fn name(&self) -> &str {
        self.data.name()
    }
}

/// What an observer wants: a name, a sender, both, or everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub name: Option<String>,
    pub sender: Option<SenderId>,
}

impl Filter {
    pub fn all() -> Filter {
        Filter::default()
    }

    pub fn name(name: &str) -> Filter {
        Filter {
            name: Some(name.to_owned()),
            sender: None,
        }
    }

    pub fn sender(sender: SenderId) -> Filter {
        Filter {
            name: None,
            sender: Some(sender),
        }
    }

    pub fn and_sender(mut self, sender: SenderId) -> Filter {
        self.sender = Some(sender);
        self
    }

    fn matches(&self, n: &Notification) -> bool {
        self.name.as_deref().is_none_or(|x| x == n.name())
            && self.sender.is_none_or(|s| s == n.sender)
    }
}

struct Observer {
    filter: Filter,
    queue: Arc<Queue>,
}

impl Drop for Observer {
    /// The center is gone (or forgot this observer): its reader hears
    /// the end once it has read what waits.
    fn drop(&mut self) {
        self.queue.center_gone.store(true, Ordering::SeqCst);
        self.queue.ready.notify_one();
    }
}

/// One observer's queue. Bounded, and full means the oldest waiting
/// notification is dropped for the new one (not the new one refused): an
/// observer that fell behind lost stale progress, never the final state
/// (a file transfer through a relay posts a DidDeliverChunk per 8 KiB
/// REPORT, 12800 for 100 MB, then FileTransferStreamDidFinish).
struct Queue {
    items: Mutex<VecDeque<Notification>>,
    capacity: usize,
    /// Something was queued, or the center is gone (one reader: a
    /// stored permit covers a post between its check and its wait).
    ready: Notify,
    missed: AtomicU64,
    center_gone: AtomicBool,
    subscription_gone: AtomicBool,
}

impl Queue {
    fn items(&self) -> MutexGuard<'_, VecDeque<Notification>> {
        // A poisoned lock only means a push or pop interrupted by a
        // panicking thread; a VecDeque stays consistent across either.
        self.items.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn push(&self, n: Notification) {
        {
            let mut items = self.items();
            if items.len() >= self.capacity {
                items.pop_front();
                self.missed.fetch_add(1, Ordering::Relaxed);
            }
            items.push_back(n);
        }
        self.ready.notify_one();
    }
}

struct Inner {
    observers: Vec<Observer>,
    next_sender: u64,
}

/// The notification center of one application. Cloning shares it.
#[derive(Clone)]
pub struct NotificationCenter {
    inner: Arc<Mutex<Inner>>,
    capacity: usize,
}

impl std::fmt::Debug for NotificationCenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotificationCenter")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

/// An observer's stream of notifications.
pub struct Subscription {
    queue: Arc<Queue>,
}

impl Subscription {
    /// The next notification; `None` once the center is gone and what
    /// it posted was read.
    pub async fn next(&mut self) -> Option<Notification> {
        loop {
            if let Some(n) = self.try_next() {
                return Some(n);
            }
            if self.queue.center_gone.load(Ordering::SeqCst) {
                // Set after the last post: one more look, then the end.
                return self.try_next();
            }
            self.queue.ready.notified().await;
        }
    }

    /// A notification if one is waiting.
    pub fn try_next(&mut self) -> Option<Notification> {
        self.queue.items().pop_front()
    }

    /// How many notifications were dropped because this observer fell
    /// behind (the oldest waiting ones, to make room for newer), since
    /// the last call (the lag report).
    pub fn take_missed(&self) -> u64 {
        self.queue.missed.swap(0, Ordering::Relaxed)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.queue.subscription_gone.store(true, Ordering::SeqCst);
    }
}

impl Default for NotificationCenter {
    fn default() -> Self {
        NotificationCenter::new(1024)
    }
}

impl NotificationCenter {
    /// A center whose observers may each have `capacity` notifications
    /// waiting.
    pub fn new(capacity: usize) -> Self {
        NotificationCenter {
            inner: Arc::new(Mutex::new(Inner {
                observers: Vec::new(),
                next_sender: 1,
            })),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A poisoned lock only means an observer list mid-update by a
        // panicking thread; the list itself is still consistent.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A fresh sender id for an object that posts.
    pub fn new_sender(&self) -> SenderId {
        let mut inner = self.lock();
        let id = SenderId(inner.next_sender);
        inner.next_sender += 1;
        id
    }

    /// Subscribes; dropping the subscription unsubscribes.
    pub fn subscribe(&self, filter: Filter) -> Subscription {
        let queue = Arc::new(Queue {
            items: Mutex::new(VecDeque::new()),
            capacity: self.capacity,
            ready: Notify::new(),
            missed: AtomicU64::new(0),
            center_gone: AtomicBool::new(false),
            subscription_gone: AtomicBool::new(false),
        });
        self.lock().observers.push(Observer {
            filter,
            queue: queue.clone(),
        });
        Subscription { queue }
    }

    /// Posts a notification to every matching observer, without waiting.
    pub fn post(&self, sender: SenderId, data: NotificationData) {
        let n = Notification {
            sender,
            timestamp: SystemTime::now(),
            data,
        };
        let mut inner = self.lock();
        inner.observers.retain(|o| {
            if o.queue.subscription_gone.load(Ordering::SeqCst) {
                return false;
            }
            if o.filter.matches(&n) {
                o.queue.push(n.clone());
            }
            true
        });
    }

    /// Observers currently subscribed.
    pub fn observers(&self) -> usize {
        self.lock()
            .observers
            .iter()
            .filter(|o| !o.queue.subscription_gone.load(Ordering::SeqCst))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom(name: &str, data: &str) -> NotificationData {
        NotificationData::Custom {
            name: name.to_owned(),
            data: data.to_owned(),
        }
    }

    #[tokio::test]
    async fn filters_by_name_sender_and_both() {
        let nc = NotificationCenter::default();
        let (a, b) = (nc.new_sender(), nc.new_sender());
        let mut by_name = nc.subscribe(Filter::name("X"));
        let mut by_sender = nc.subscribe(Filter::sender(b));
        let mut both = nc.subscribe(Filter::name("X").and_sender(b));
        let mut all = nc.subscribe(Filter::all());
        nc.post(a, custom("X", "1"));
        nc.post(b, custom("Y", "2"));
        nc.post(b, custom("X", "3"));
        let data = |s: &mut Subscription| {
            std::iter::from_fn(|| s.try_next())
                .map(|n| match n.data {
                    NotificationData::Custom { data, .. } => data,
                    _ => unreachable!(),
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(data(&mut by_name), ["1", "3"]);
        assert_eq!(data(&mut by_sender), ["2", "3"]);
        assert_eq!(data(&mut both), ["3"]);
        assert_eq!(data(&mut all), ["1", "2", "3"]);
    }

    #[tokio::test]
    async fn a_slow_observer_never_blocks_and_is_told_what_it_missed() {
        let nc = NotificationCenter::new(4);
        let s = nc.new_sender();
        let mut slow = nc.subscribe(Filter::all());
        let mut fast = nc.subscribe(Filter::all());
        for i in 0..10 {
            // Posting returns at once even though `slow` reads nothing.
            nc.post(s, custom("N", &i.to_string()));
            assert!(fast.try_next().is_some());
        }
        assert_eq!(slow.take_missed(), 6);
        assert_eq!(slow.take_missed(), 0);
        // The newest four are kept, in order: the oldest made room.
        let got: Vec<_> = std::iter::from_fn(|| slow.try_next())
            .map(|n| n.data)
            .collect();
        assert_eq!(
            got,
            (6..10)
                .map(|i| custom("N", &i.to_string()))
                .collect::<Vec<_>>()
        );
    }

    /// Issue 15: a 100 MB file through Kamailio's relay posts 12800
    /// FileTransferStreamDidDeliverChunk before its DidFinish; an
    /// observer that reads none of them meanwhile (a test waiting on the
    /// other party first) must still get the DidFinish, not lose it to
    /// a full queue.
    #[tokio::test]
    async fn the_last_notification_survives_a_flood_the_observer_did_not_read() {
        let nc = NotificationCenter::new(8);
        let s = nc.new_sender();
        let mut all = nc.subscribe(Filter::all());
        for i in 0..100u64 {
            nc.post(
                s,
                NotificationData::FileTransferStreamDidDeliverChunk {
                    message_id: "m".into(),
                    code: 200,
                    reason: "OK".into(),
                    transferred_bytes: (i + 1) * 8192,
                    file_size: 100 * 8192,
                },
            );
        }
        nc.post(
            s,
            NotificationData::FileTransferStreamDidFinish { error: None },
        );
        let mut last_progress = None;
        let mut finished = false;
        while let Some(n) = all.try_next() {
            match n.data {
                NotificationData::FileTransferStreamDidDeliverChunk {
                    transferred_bytes, ..
                } => last_progress = Some(transferred_bytes),
                NotificationData::FileTransferStreamDidFinish { error } => {
                    assert_eq!(error, None);
                    finished = true;
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(finished, "the DidFinish was dropped");
        assert_eq!(last_progress, Some(100 * 8192));
        assert_eq!(all.take_missed(), 101 - 8);
    }

    #[tokio::test]
    async fn next_ends_after_what_a_dropped_center_left() {
        let nc = NotificationCenter::default();
        let s = nc.new_sender();
        let mut sub = nc.subscribe(Filter::all());
        nc.post(s, custom("N", "1"));
        drop(nc);
        assert_eq!(sub.next().await.map(|n| n.data), Some(custom("N", "1")));
        assert!(sub.next().await.is_none());
    }

    #[tokio::test]
    async fn next_wakes_for_a_post_from_another_task() {
        let nc = NotificationCenter::default();
        let s = nc.new_sender();
        let mut sub = nc.subscribe(Filter::all());
        let poster = nc.clone();
        let task = tokio::spawn(async move {
            for i in 0..3 {
                tokio::task::yield_now().await;
                poster.post(s, custom("N", &i.to_string()));
            }
        });
        for i in 0..3 {
            let n = sub.next().await.unwrap();
            assert_eq!(n.data, custom("N", &i.to_string()));
        }
        task.await.unwrap();
    }

    #[tokio::test]
    async fn posting_while_delivering_keeps_order_across_tasks() {
        let nc = NotificationCenter::default();
        let s = nc.new_sender();
        let mut first = nc.subscribe(Filter::name("A"));
        let mut watcher = nc.subscribe(Filter::all());
        let relay = nc.clone();
        // An observer that reacts to A by posting B.
        let task = tokio::spawn(async move {
            while let Some(n) = first.next().await {
                if let NotificationData::Custom { data, .. } = n.data {
                    relay.post(s, custom("B", &data));
                }
            }
        });
        nc.post(s, custom("A", "1"));
        nc.post(s, custom("A", "2"));
        let mut names = Vec::new();
        while names.len() < 4 {
            let n = watcher.next().await.unwrap();
            let name = n.name().to_owned();
            let data = match n.data {
                NotificationData::Custom { data, .. } => data,
                _ => String::new(),
            };
            names.push(format!("{name}{data}"));
        }
        // Each B comes after the A that caused it; the A's keep their order.
        let pos = |x: &str| names.iter().position(|n| n == x).unwrap();
        assert!(pos("A1") < pos("A2"));
        assert!(pos("A1") < pos("B1") && pos("A2") < pos("B2"));
        assert!(pos("B1") < pos("B2"));
        drop(nc);
        task.abort();
    }

    #[test]
    fn dropped_subscriptions_are_removed() {
        let nc = NotificationCenter::default();
        let s = nc.new_sender();
        let sub = nc.subscribe(Filter::all());
        assert_eq!(nc.observers(), 1);
        drop(sub);
        nc.post(s, custom("N", ""));
        assert_eq!(nc.observers(), 0);
    }

    #[test]
    fn spec_names() {
        let d = NotificationData::DNSLookupDidFail { error: "x".into() };
        assert_eq!(d.name(), "DNSLookupDidFail");
    }
}
