//! The application-wide dependencies every subsystem that talks on the
//! network shares: the engine, DNS, the User-Agent, the registration
//! throttle and what streams made for incoming offers start from. Built
//! once by SipApplication when it starts; accounts, sessions and the
//! request router take a clone. It lives apart from any of them so that
//! none has to import another to reach it.

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::engine::Engine;
use crate::lookup::DnsLookup;

/// What the task needs from the application.
#[derive(Clone)]
pub struct Services {
    pub engine: Engine,
    pub dns: DnsLookup,
    pub user_agent: Option<String>,
    /// Bounds the REGISTER exchanges in flight across all accounts: a
    /// thousand accounts starting at once would otherwise overflow the
    /// registrar's receive buffer, and a third of them would wait for a
    /// retransmission (measured: docs/PERFORMANCE.md).
    pub registering: Arc<Semaphore>,
    /// The same bound for initial SUBSCRIBEs: an application watching
    /// thousands of contacts would otherwise send them in one burst, and
    /// half would be retransmitted (measured: docs/PERFORMANCE.md).
    pub subscribing: Arc<Semaphore>,
    /// `rtp.port_range` and `rtp.audio_codec_list` as the application
    /// started with them (streams made for incoming offers use these).
    pub rtp_port_range: (u16, u16),
    pub audio_codecs: Vec<String>,
    /// The application's voice mixer: streams made for incoming offers
    /// join it.
    pub voice_mixer: Option<crate::audio::AudioMixer>,
    /// `audio.recordings_directory`, resolved.
    pub recordings_directory: std::path::PathBuf,
    /// What the application takes (Allow in our INVITEs and 2xx).
    pub capabilities: crate::router::CapabilitySource,
    /// The MSRP listening ports every MSRP stream shares.
    pub msrp: crate::msrp::MsrpEndpoint,
    /// `file_transfer.directory`, resolved: where received files go.
    pub download_directory: std::path::PathBuf,
    /// Where the request router finds the subscription a NOTIFY is for.
    pub event_dialogs: crate::subscription::EventDialogs,
    /// `sip.invite_timeout`: how long an outgoing INVITE may go without
    /// a final answer before it is cancelled.
    pub invite_timeout: std::time::Duration,
}

/// `$XDG_DATA_HOME/sipsimple-rs/recordings`, else under
/// `~/.local/share`, else under the temporary directory.
pub fn default_recordings_directory() -> std::path::PathBuf {
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".local/share"))
        })
        .unwrap_or_else(std::env::temp_dir);
    data.join("sipsimple-rs").join("recordings")
}

/// `$XDG_DOWNLOAD_DIR`, else `~/Downloads`, else the temporary directory
/// (the platform download directory for `file_transfer.directory: nil`).
pub fn default_download_directory() -> std::path::PathBuf {
    std::env::var_os("XDG_DOWNLOAD_DIR")
        .filter(|d| !d.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join("Downloads")))
        .unwrap_or_else(std::env::temp_dir)
}

/// REGISTER exchanges in flight per application.
pub const REGISTERING_AT_ONCE: usize = 64;

impl Services {
    pub fn new(engine: Engine, dns: DnsLookup, user_agent: Option<String>) -> Services {
        Services {
            engine,
            dns,
            user_agent,
            registering: Arc::new(Semaphore::new(REGISTERING_AT_ONCE)),
            subscribing: Arc::new(Semaphore::new(REGISTERING_AT_ONCE)),
            rtp_port_range: (50000, 50500),
            audio_codecs: vec!["PCMU".into(), "PCMA".into()],
            voice_mixer: None,
            recordings_directory: default_recordings_directory(),
            capabilities: crate::router::CapabilitySource::default(),
            msrp: crate::msrp::MsrpEndpoint::default(),
            download_directory: default_download_directory(),
            event_dialogs: crate::subscription::EventDialogs::default(),
            invite_timeout: std::time::Duration::from_secs(90),
        }
    }
}
