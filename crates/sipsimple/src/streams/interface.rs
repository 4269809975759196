//! The stream interface (the spec's IMediaStream), the factory a stream
//! type offers for incoming offers, and the MediaStreamRegistry.
//!
//! A Session knows streams only through [`MediaStream`]: it asks each for
//! its m= line, starts it with the negotiated SDPs, and ends it. Streams
//! post their own MediaStream* notifications as their own sender.
//! Applications add stream types of their own with
//! [`MediaStreamRegistry::add`].

use super::settings::StreamSettings;
use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use sdp::{Media, SessionDescription};

use crate::notification::{NotificationCenter, SenderId};

/// A boxed future, as the object-safe stream methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a stream could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StreamError(pub String);

impl From<String> for StreamError {
    fn from(s: String) -> Self {
        StreamError(s)
    }
}

impl From<&str> for StreamError {
    fn from(s: &str) -> Self {
        StreamError(s.to_owned())
    }
}

/// Which way the proposal that brought a stream went (not necessarily
/// the session's direction: streams are also added by re-INVITEs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamDirection {
    Incoming,
    Outgoing,
}

/// What a stream gets from its session when it is initialized.
#[derive(Clone)]
pub struct StreamContext {
    pub center: NotificationCenter,
    /// The stream's own sender id, for its notifications.
    pub sender: SenderId,
    /// The session's sender id.
    pub session: SenderId,
    /// Where a recording asked for without a file name goes.
    pub recordings: Option<RecordingDefaults>,
    /// Who we are in this session (a SIP URI; CPIM `From` of chat).
    pub local_identity: String,
    /// Who the peer is (its SIP URI, possibly with a display name).
    pub remote_identity: String,
}

/// The directory (`audio.recordings_directory`) and the participants a
/// default recording name is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingDefaults {
    pub directory: std::path::PathBuf,
    /// `local-remote`, e.g. `alice@example.com-bob@example.com`.
    pub participants: String,
}

impl RecordingDefaults {
    /// Defaults for a session between `local` and `remote` (user@host, or
    /// a header or URI whose address is taken).
    pub fn new(directory: std::path::PathBuf, local: &str, remote: &str) -> RecordingDefaults {
        RecordingDefaults {
            directory,
            participants: format!("{}-{}", file_safe(local), file_safe(remote)),
        }
    }

    /// `DIRECTORY/YYYYMMDD-HHMMSS-PARTICIPANTS.wav`, at `now` (UTC).
    pub fn path(&self, now: std::time::SystemTime) -> std::path::PathBuf {
        let secs = now
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let (days, rest) = (secs / 86400, secs % 86400);
        let (y, m, d) = civil_from_days(days as i64);
        self.directory.join(format!(
            "{y:04}{m:02}{d:02}-{:02}{:02}{:02}-{}.wav",
            rest / 3600,
            rest / 60 % 60,
            rest % 60,
            self.participants
        ))
    }
}

/// The address in a header (`"Bob" <sip:bob@h>;tag=x`) or URI, without
/// the scheme, with only file-name-safe characters.
fn file_safe(identity: &str) -> String {
    let address = match (identity.find('<'), identity.find('>')) {
        (Some(a), Some(b)) if a < b => &identity[a + 1..b],
        _ => identity.split(';').next().unwrap_or(identity),
    };
    let address = address
        .trim()
        .trim_start_matches("sips:")
        .trim_start_matches("sip:");
    let address = address.split(';').next().unwrap_or(address);
    address
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '@' | '.' | '_' | '-' | '+') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Days since 1970-01-01 as a proleptic Gregorian date (H. Hinnant's
/// algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

impl StreamContext {
    /// A context for a new stream of the session `session`: the stream
    /// gets a sender id of its own.
    pub(crate) fn for_session(
        center: &NotificationCenter,
        session: SenderId,
        recordings: RecordingDefaults,
        local_identity: String,
        remote_identity: String,
    ) -> StreamContext {
        StreamContext {
            center: center.clone(),
            sender: center.new_sender(),
            session,
            recordings: Some(recordings),
            local_identity,
            remote_identity,
        }
    }
}

impl fmt::Debug for StreamContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamContext")
            .field("sender", &self.sender)
            .field("session", &self.session)
            .finish()
    }
}

/// The spec's IMediaStream. The session calls these in this order:
/// `initialize` once the stream is offered or accepted, `get_local_media`
/// for each SDP it sends, `start` once negotiated, `validate_update` and
/// `update` on renegotiation, `deactivate` just before removal, and `end`
/// always after `initialize`.
pub trait MediaStream: Any + Send + Sync + fmt::Debug {
    /// "audio", "chat", ... (the spec's `type`).
    fn stream_type(&self) -> &'static str;

    /// Our m= line: an offer when `remote` is None, else the answer to
    /// m-line `index` of the peer's offer. Hold state is reflected.
    fn get_local_media(
        &self,
        remote: Option<(&SessionDescription, usize)>,
    ) -> Result<Media, StreamError>;

    /// Gets ready (sockets, connections). Posts MediaStreamDidInitialize,
    /// or MediaStreamDidFail and returns the error.
    fn initialize(
        &self,
        context: StreamContext,
        direction: StreamDirection,
    ) -> BoxFuture<'_, Result<(), StreamError>>;

    /// Starts with the negotiated SDPs; this stream is m-line `index`.
    fn start(
        &self,
        local: &SessionDescription,
        remote: &SessionDescription,
        index: usize,
    ) -> Result<(), StreamError>;

    /// Whether a re-offer's change to this stream's m-line is acceptable;
    /// must not change the stream.
    fn validate_update(&self, remote: &SessionDescription, index: usize) -> bool;

    /// A renegotiation succeeded: take its terms.
    fn update(
        &self,
        local: &SessionDescription,
        remote: &SessionDescription,
        index: usize,
    ) -> Result<(), StreamError>;

    fn hold_supported(&self) -> bool {
        false
    }

    /// Stops sending and makes `get_local_media` say so.
    fn hold(&self) {}

    fn unhold(&self) {}

    fn on_hold_by_local(&self) -> bool {
        false
    }

    fn on_hold_by_remote(&self) -> bool {
        false
    }

    fn on_hold(&self) -> bool {
        self.on_hold_by_local() || self.on_hold_by_remote()
    }

    /// About to be removed: the transport closing is no error any more.
    fn deactivate(&self) {}

    /// Closes the stream (MediaStreamWillEnd, then MediaStreamDidEnd).
    fn end(&self);
}

impl dyn MediaStream {
    /// The concrete stream, if it is an `S`.
    pub fn downcast<S: MediaStream>(self: Arc<Self>) -> Option<Arc<S>> {
        let any: Arc<dyn Any + Send + Sync> = self;
        any.downcast::<S>().ok()
    }

    /// The same stream object (not an equal one).
    pub fn same(a: &Arc<dyn MediaStream>, b: &Arc<dyn MediaStream>) -> bool {
        std::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b))
    }
}

/// Streams in notification data: compared by identity.
#[derive(Clone, Default)]
pub struct StreamList(pub Vec<Arc<dyn MediaStream>>);

impl StreamList {
    pub fn types(&self) -> Vec<&'static str> {
        self.0.iter().map(|s| s.stream_type()).collect()
    }
}

impl PartialEq for StreamList {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .zip(&other.0)
                .all(|(a, b)| <dyn MediaStream>::same(a, b))
    }
}

impl fmt::Debug for StreamList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.types()).finish()
    }
}

impl From<Vec<Arc<dyn MediaStream>>> for StreamList {
    fn from(v: Vec<Arc<dyn MediaStream>>) -> Self {
        StreamList(v)
    }
}

/// A stream type, as the registry holds it (the spec's stream class):
/// its name, priority and `new_from_sdp`.
pub trait MediaStreamType: Send + Sync {
    fn type_name(&self) -> &'static str;

    /// Higher is tried first.
    fn priority(&self) -> i32;

    /// A stream for m-line `index` of the peer's offer, if this type
    /// takes it.
    fn new_from_sdp<'a>(
        &'a self,
        settings: &'a StreamSettings,
        remote: &'a SessionDescription,
        index: usize,
    ) -> BoxFuture<'a, Option<Arc<dyn MediaStream>>>;

    /// A stream to offer ourselves when an incoming INVITE carries no
    /// offer (delayed offer, RFC 3261 §13.2.1): the types a caller would
    /// expect in such a call (audio) make one, the others none.
    fn new_for_offer<'a>(
        &'a self,
        _settings: &'a StreamSettings,
    ) -> BoxFuture<'a, Option<Arc<dyn MediaStream>>> {
        Box::pin(async { None })
    }
}

/// The stream types incoming offers are matched against, highest
/// priority first. One per application (the spec's singleton; several
/// applications in one process each have their own). Cloning shares it.
#[derive(Clone, Default)]
pub struct MediaStreamRegistry {
    types: Arc<RwLock<Vec<Arc<dyn MediaStreamType>>>>,
}

impl fmt::Debug for MediaStreamRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<_> = self.types().iter().map(|t| t.type_name()).collect();
        f.debug_struct("MediaStreamRegistry")
            .field("types", &names)
            .finish()
    }
}

impl MediaStreamRegistry {
    /// Adds a stream type; one of the same name is replaced.
    pub fn add(&self, t: Arc<dyn MediaStreamType>) {
        let mut types = self.types.write().unwrap_or_else(|p| p.into_inner());
        types.retain(|o| o.type_name() != t.type_name());
        let at = types
            .iter()
            .position(|o| o.priority() < t.priority())
            .unwrap_or(types.len());
        types.insert(at, t);
    }

    /// The types, highest priority first (the spec's `__iter__`).
    pub fn types(&self) -> Vec<Arc<dyn MediaStreamType>> {
        self.types.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// A stream of every type that offers one for an INVITE without an
    /// offer, by priority.
    pub async fn new_for_offer(&self, settings: &StreamSettings) -> Vec<Arc<dyn MediaStream>> {
        let mut streams = Vec::new();
        for t in self.types() {
            if let Some(s) = t.new_for_offer(settings).await {
                streams.push(s);
            }
        }
        streams
    }

    /// The first stream, by priority, that takes m-line `index`.
    pub async fn new_from_sdp(
        &self,
        settings: &StreamSettings,
        remote: &SessionDescription,
        index: usize,
    ) -> Option<Arc<dyn MediaStream>> {
        for t in self.types() {
            if let Some(s) = t.new_from_sdp(settings, remote, index).await {
                return Some(s);
            }
        }
        None
    }
}
