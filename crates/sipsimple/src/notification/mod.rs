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

use crate::route::{QueryTrace, Route};
use crate::streams::StreamList;

mod center;
pub use center::{Filter, Notification, NotificationCenter, Subscription};

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
        /// The spec's msrplib MSRPData: the REPORT's head (start line,
        /// transaction id, every header) as it was read.
        chunk: Option<msrp_proto::message::Head>,
    },
    /// A failure REPORT or error response came, or the message could not
    /// be sent at all.
    ChatStreamDidNotDeliverMessage {
        message_id: String,
        code: u16,
        reason: String,
        /// The head of the failure REPORT or error response; None when
        /// the cause was local (no response in time, the stream ended,
        /// the message could not be sent).
        chunk: Option<msrp_proto::message::Head>,
    },
    /// Every chunk of a message we sent was written.
    ChatStreamDidSendMessage {
        message_id: String,
        /// The spec's MSRPData of the sent message: the head of its last
        /// chunk as written.
        message: Option<msrp_proto::message::Head>,
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
        /// The REPORT's head (start line, transaction id, every header).
        chunk: Option<msrp_proto::message::Head>,
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
        /// The head of the failure REPORT or error response; None when
        /// the cause was local (no response in time, the stream ended).
        chunk: Option<msrp_proto::message::Head>,
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
