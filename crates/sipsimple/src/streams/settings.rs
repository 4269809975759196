//! What streams are made with: the account's and application's settings,
//! resolved once per stream. Plain data that depends on no stream, so the
//! stream interface and the streams can all name it without importing
//! one another.

use std::net::IpAddr;

use crate::audio::AudioMixer;
use crate::msrp::{MsrpEndpoint, MsrpRelaySettings, RelayDiscovery};

/// What a stream type may use to make a stream for an incoming offer:
/// the account's and application's settings, resolved. What every stream
/// gets, then what each kind of stream adds.
#[derive(Debug, Clone)]
pub struct StreamSettings {
    /// The account the offer came to (its id, user@domain).
    pub account: String,
    /// Our address towards the peer.
    pub local_ip: IpAddr,
    /// For RTP audio streams.
    pub audio: AudioSettings,
    /// For MSRP streams (chat, file transfer, desktop sharing).
    pub msrp: MsrpSettings,
}

/// What audio streams made for an account go by.
#[derive(Debug, Clone)]
pub struct AudioSettings {
    /// `rtp.port_range`.
    pub rtp_port_range: (u16, u16),
    /// The account's audio codecs (else the global list), most preferred
    /// first, as rtpmap encoding names.
    pub codecs: Vec<String>,
    /// The application's voice mixer, for audio streams to join.
    pub voice_mixer: Option<AudioMixer>,
    /// The account's `rtp.srtp_encryption`.
    pub srtp: SrtpPolicy,
}

/// The account's `rtp.srtp_encryption`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SrtpPolicy {
    #[default]
    Disabled,
    Optional,
    Mandatory,
}

impl SrtpPolicy {
    /// The setting's value (`disabled`, `optional`, `mandatory`); anything
    /// else is `disabled`.
    pub fn from_setting(value: &str) -> SrtpPolicy {
        match value {
            "optional" => SrtpPolicy::Optional,
            "mandatory" => SrtpPolicy::Mandatory,
            _ => SrtpPolicy::Disabled,
        }
    }

    /// The m-line's protocol we offer.
    pub fn protocol(self) -> &'static str {
        match self {
            SrtpPolicy::Mandatory => "RTP/SAVP",
            _ => "RTP/AVP",
        }
    }
}

/// What MSRP streams made for an account go by.
#[derive(Debug, Clone, Default)]
pub struct MsrpSettings {
    /// The application's MSRP listening ports.
    pub endpoint: MsrpEndpoint,
    /// The account's `msrp.transport` is `tls` (`msrps:`, TCP/TLS/MSRP).
    pub tls: bool,
    /// The account's MSRP relay, when `msrp.connection_model` is `relay`
    /// and `nat_traversal.msrp_relay` names one.
    pub relay: Option<MsrpRelaySettings>,
    /// Under the relay model with no relay named: how to look for the
    /// domain's (its `_msrps._tcp` SRV) when a session needs it.
    pub relay_discovery: Option<RelayDiscovery>,
    /// Where received files go (`file_transfer.directory`).
    pub file_directory: std::path::PathBuf,
    /// `msrp.keepalive_interval`: idle time before a keep-alive SEND.
    pub keepalive_interval: Option<std::time::Duration>,
    /// `msrp.connection_reuse`: a session we connect for runs on a live
    /// connection of ours to the same first hop, and one through our
    /// relay on our live connection to it (see `crate::msrp`).
    pub connection_reuse: bool,
}
