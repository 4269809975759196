//! SIPApplication: starts and stops one application's subsystems — its
//! configuration, its engine — and posts the spec's lifecycle
//! notifications. Not a process-wide singleton: several applications run
//! side by side in one process, each with its own ports, engine and
//! NotificationCenter (tests run alice and bob that way).
//!
//! Start order: configuration, engine, accounts (activated, since the
//! engine runs); stop runs it backwards. Incoming requests go through
//! the request router (`router`), where sessions and pager-mode MESSAGE
//! are registered as owners.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sip_proto::transaction::Event;
use tokio::sync::mpsc;

use crate::account::AccountManager;
use crate::audio::backend::open_device;
use crate::audio::{AudioBackend, AudioBridge, AudioDevice, AudioMixer, AudioPort, DeviceSetting};
use crate::config::{
    settings, ConfigError, ConfigurationManager, SettingsObject, StorageBackend, Value,
};
use crate::engine::{Direction, Engine, EngineConfig, EngineError, EngineEvent, TlsSettings};
use crate::instant_message::MessageRequests;
use crate::lookup::DnsLookup;
use crate::notification::{NotificationCenter, NotificationData, SenderId};
use crate::router::{IncomingRequest, RequestRouter, Responder};
use crate::services::Services;
use crate::session::{SessionManager, SessionRequests};
use crate::streams::MediaStreamRegistry;

/// SIP traces waiting to be posted; beyond, the engine drops and counts
/// them (`EngineStats::traces_dropped`) rather than hold up requests.
const TRACE_QUEUE: usize = 1024;

/// How long `stop` lets the engine wind down before giving up on it.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// How long stopping waits for the final NOTIFYs of incoming subscriptions.
const SUBSCRIPTIONS_GRACE: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppState {
    Stopped,
    Starting,
    Started,
    Stopping,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplicationError {
    #[error("the application is {0:?}; start needs it stopped")]
    NotStopped(AppState),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// An audio device setting or file that cannot be used.
    #[error("audio: {0}")]
    Audio(String),
}

struct Running {
    engine: Engine,
    config: ConfigurationManager,
    voice: AudioSet,
    alert: AudioSet,
}

/// A mixer on a device, the device as a port and a bridge holding it
/// (the spec's *_audio_mixer, *_audio_device, *_audio_bridge).
#[derive(Clone)]
struct AudioSet {
    mixer: AudioMixer,
    device: Arc<AudioDevice>,
    bridge: Arc<AudioBridge>,
}

impl AudioSet {
    fn new(backend: Box<dyn AudioBackend>, center: &NotificationCenter) -> AudioSet {
        let mixer = AudioMixer::new(backend);
        mixer.set_notification_center(center.clone());
        let device = mixer.device();
        let bridge = AudioBridge::new(&mixer);
        let port: Arc<dyn AudioPort> = device.clone();
        // Same mixer: cannot fail.
        let _ = bridge.add(&port);
        mixer.start();
        AudioSet {
            mixer,
            device,
            bridge,
        }
    }
}

/// A device setting's value, or an error naming the setting.
fn device_setting(setting: &str, value: Option<String>) -> Result<DeviceSetting, ApplicationError> {
    DeviceSetting::parse(value.as_deref())
        .map_err(|e| ApplicationError::Audio(format!("{setting}: {e}")))
}

struct Inner {
    state: AppState,
    running: Option<Running>,
    /// Trace SIP whatever `logging.trace_sip` says (a `--trace` flag).
    force_sip_trace: bool,
}

/// One application. Cloning shares it.
#[derive(Clone)]
pub struct SipApplication {
    inner: Arc<Mutex<Inner>>,
    center: NotificationCenter,
    sender: SenderId,
    accounts: AccountManager,
    sessions: SessionManager,
    router: RequestRouter,
    /// The running subscriptions, for NOTIFYs (see `subscription`).
    event_dialogs: crate::subscription::EventDialogs,
    incoming_subscriptions: crate::subscription::IncomingSubscriptions,
}

impl Default for SipApplication {
    fn default() -> Self {
        SipApplication::new()
    }
}

fn text(object: &SettingsObject, path: &str) -> Result<Option<String>, ConfigError> {
    Ok(object.get(path)?.and_then(Value::as_str).map(str::to_owned))
}

fn strings(object: &SettingsObject, path: &str) -> Result<Vec<String>, ConfigError> {
    Ok(object
        .get(path)?
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
}

fn port(object: &SettingsObject, path: &str) -> Result<u16, ConfigError> {
    let v = object.get(path)?.and_then(Value::as_integer).unwrap_or(0);
    // The schema bounds ports to 0..=65535.
    Ok(u16::try_from(v).unwrap_or(0))
}

/// Our certificate chain and key from one PEM file.
fn load_identity(
    path: &str,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let chain = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{path}: {e}"))?;
    if chain.is_empty() {
        return Err(format!("{path}: no certificate in it"));
    }
    let key = PrivateKeyDer::from_pem_file(path)
        .map_err(|e| format!("{path}: no usable private key: {e}"))?;
    Ok((chain, key))
}

fn load_roots(path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{path}: {e}"))
}

impl SipApplication {
    pub fn new() -> Self {
        let center = NotificationCenter::default();
        let registry = MediaStreamRegistry::default();
        registry.add(Arc::new(crate::streams::audio::AudioStreamType));
        registry.add(Arc::new(crate::streams::msrp::ChatStreamType));
        registry.add(Arc::new(crate::streams::msrp::FileTransferStreamType));
        registry.add(Arc::new(crate::streams::msrp::DesktopSharingStreamType));
        let sender = center.new_sender();
        let accounts = AccountManager::new(center.clone());
        let sessions = SessionManager::new(center.clone(), registry);
        let router = RequestRouter::new();
        router.register(Arc::new(SessionRequests {
            sessions: sessions.clone(),
            accounts: accounts.clone(),
        }));
        router.register(Arc::new(MessageRequests {
            accounts: accounts.clone(),
            center: center.clone(),
            sender,
        }));
        let event_dialogs = crate::subscription::EventDialogs::default();
        router.register(Arc::new(crate::subscription::SubscriptionRequests {
            dialogs: event_dialogs.clone(),
        }));
        let incoming_subscriptions =
            crate::subscription::IncomingSubscriptions::new(center.clone());
        router.register(Arc::new(
            crate::subscription::IncomingSubscriptionRequests {
                subscriptions: incoming_subscriptions.clone(),
            },
        ));
        SipApplication {
            sender,
            event_dialogs,
            incoming_subscriptions,
            accounts,
            sessions,
            router,
            center,
            inner: Arc::new(Mutex::new(Inner {
                state: AppState::Stopped,
                running: None,
                force_sip_trace: false,
            })),
        }
    }

    /// Posts SIPEngineSIPTrace for every SIP message from the next start
    /// on, even with `logging.trace_sip` off (which alone also writes
    /// them to `logging.directory`).
    pub fn enable_sip_trace(&self) {
        self.lock().force_sip_trace = true;
    }

    /// Where every incoming request goes: register an owner here for a
    /// method or dialog usage the application takes itself.
    pub fn request_router(&self) -> &RequestRouter {
        &self.router
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        crate::sync::lock(&self.inner)
    }

    /// The subscriptions others hold to our event packages, and which
    /// packages we serve (none until the application says).
    pub fn incoming_subscriptions(&self) -> &crate::subscription::IncomingSubscriptions {
        &self.incoming_subscriptions
    }

    /// This application's notification center.
    pub fn notification_center(&self) -> &NotificationCenter {
        &self.center
    }

    /// This application's accounts (usable once started).
    pub fn account_manager(&self) -> &AccountManager {
        &self.accounts
    }

    /// This application's sessions (usable once started).
    /// The stream types incoming offers are matched against (audio by
    /// default); add the application's own here.
    pub fn stream_registry(&self) -> &MediaStreamRegistry {
        self.sessions.registry()
    }

    pub fn session_manager(&self) -> &SessionManager {
        &self.sessions
    }

    /// The sender id of the application's own notifications.
    pub fn sender(&self) -> SenderId {
        self.sender
    }

    pub fn state(&self) -> AppState {
        self.lock().state
    }

    /// The spec's `running`: true between DidStart and WillEnd.
    pub fn is_running(&self) -> bool {
        self.state() == AppState::Started
    }

    /// The application's running outgoing subscriptions, by dialog
    /// (`len()`: how many; an account's presence list is one).
    pub fn event_dialogs(&self) -> crate::subscription::EventDialogs {
        self.event_dialogs.clone()
    }

    /// The running engine, between DidStart and WillEnd.
    pub fn engine(&self) -> Option<Engine> {
        self.lock().running.as_ref().map(|r| r.engine.clone())
    }

    /// The mixer of the voice device (microphone and speaker), while
    /// running.
    pub fn voice_audio_mixer(&self) -> Option<AudioMixer> {
        self.lock().running.as_ref().map(|r| r.voice.mixer.clone())
    }

    /// A bridge with the voice device in it: ports added here are heard
    /// on the speaker and hear the microphone.
    pub fn voice_audio_bridge(&self) -> Option<Arc<AudioBridge>> {
        self.lock().running.as_ref().map(|r| r.voice.bridge.clone())
    }

    pub fn voice_audio_device(&self) -> Option<Arc<AudioDevice>> {
        self.lock().running.as_ref().map(|r| r.voice.device.clone())
    }

    /// The mixer of the alert device (ringing).
    pub fn alert_audio_mixer(&self) -> Option<AudioMixer> {
        self.lock().running.as_ref().map(|r| r.alert.mixer.clone())
    }

    pub fn alert_audio_bridge(&self) -> Option<Arc<AudioBridge>> {
        self.lock().running.as_ref().map(|r| r.alert.bridge.clone())
    }

    pub fn alert_audio_device(&self) -> Option<Arc<AudioDevice>> {
        self.lock().running.as_ref().map(|r| r.alert.device.clone())
    }

    /// The configuration, between DidStart and WillEnd.
    pub fn configuration(&self) -> Option<ConfigurationManager> {
        self.lock().running.as_ref().map(|r| r.config.clone())
    }

    fn post(&self, data: NotificationData) {
        self.center.post(self.sender, data);
    }

    /// Loads the configuration from `backend` and starts the engine it
    /// describes. A configuration or bind error is returned, nothing is
    /// left running, and start may be called again. A TLS certificate
    /// that cannot be loaded is not fatal: SIPApplicationFailedToStartTLS
    /// is posted and the engine runs without listening for TLS.
    pub async fn start(
        &self,
        backend: impl StorageBackend + 'static,
    ) -> Result<(), ApplicationError> {
        {
            let mut inner = self.lock();
            if inner.state != AppState::Stopped {
                return Err(ApplicationError::NotStopped(inner.state));
            }
            inner.state = AppState::Starting;
        }
        match self.start_inner(backend).await {
            Ok(running) => {
                let mut inner = self.lock();
                inner.running = Some(running);
                inner.state = AppState::Started;
                drop(inner);
                self.post(NotificationData::SIPApplicationDidStart);
                Ok(())
            }
            Err(e) => {
                self.lock().state = AppState::Stopped;
                Err(e)
            }
        }
    }

    async fn start_inner(
        &self,
        backend: impl StorageBackend + 'static,
    ) -> Result<Running, ApplicationError> {
        let config = ConfigurationManager::start(backend, self.center.clone())?;
        let global = config.object(&[], Arc::new(settings::global()))?;
        self.post(NotificationData::SIPApplicationWillStart);
        let (voice, alert) = self.audio_sets(&global)?;

        let bind = match text(&global, "local_ip")? {
            Some(ip) => ip.parse::<IpAddr>().map_err(|_| ConfigError::Invalid {
                setting: "local_ip".into(),
                reason: format!("{ip:?} is not an IP address"),
            })?,
            None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        };
        let transports: Vec<String> = global
            .get("sip.transport_list")?
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let enabled = |t: &str| transports.iter().any(|x| x == t);

        let mut tls = TlsSettings {
            public_roots: true,
            verify_server: global
                .get("tls.verify_server")?
                .and_then(Value::as_bool)
                .unwrap_or(true),
            ..TlsSettings::default()
        };
        let mut tls_problem = None;
        if let Some(ca) = text(&global, "tls.ca_list")? {
            match load_roots(&ca) {
                Ok(roots) => tls.roots = roots,
                Err(e) => tls_problem = Some(e),
            }
        }
        if enabled("tls") {
            match text(&global, "tls.certificate")? {
                Some(cert) => match load_identity(&cert) {
                    Ok(identity) => tls.identity = Some(identity),
                    Err(e) => tls_problem = Some(e),
                },
                None => tls_problem = Some("no tls.certificate configured".into()),
            }
        }
        if let Some(error) = &tls_problem {
            self.post(NotificationData::SIPApplicationFailedToStartTLS {
                error: error.clone(),
            });
        }
        let (trace_tx, trace_rx) = mpsc::channel(TRACE_QUEUE);
        let trace_setting = global
            .get("logging.trace_sip")?
            .and_then(Value::as_bool)
            .unwrap_or(false);
        // The setting logs to a file; a file that cannot be opened is
        // said once, and tracing goes on without it.
        let trace_file = if trace_setting {
            let dir = text(&global, "logging.directory")?
                .map(std::path::PathBuf::from)
                .unwrap_or_else(crate::trace_log::default_log_directory);
            match crate::trace_log::TraceFile::open(&dir) {
                Ok(f) => Some(f),
                Err(e) => {
                    eprintln!(
                        "sipsimple: cannot write the SIP trace to {}: {e}",
                        dir.display()
                    );
                    None
                }
            }
        } else {
            None
        };
        // MSRP relays are checked with the same trust as SIP servers.
        let tls_for_msrp = tls.clone();
        let engine_config = EngineConfig {
            bind,
            udp_port: enabled("udp")
                .then(|| port(&global, "sip.udp_port"))
                .transpose()?,
            tcp_port: enabled("tcp")
                .then(|| port(&global, "sip.tcp_port"))
                .transpose()?,
            tls_port: if enabled("tls") && tls.identity.is_some() {
                Some(port(&global, "sip.tls_port")?)
            } else {
                None
            },
            tls,
            trace: trace_setting || self.lock().force_sip_trace,
            trace_sink: Some(trace_tx),
            ..EngineConfig::default()
        };
        tokio::spawn(post_traces(
            trace_rx,
            trace_file,
            self.center.clone(),
            self.sender,
        ));
        let user_agent = text(&global, "user_agent")?.unwrap_or_default();
        let user_agent_header = user_agent.clone();
        let (engine, events) = Engine::start(engine_config).await?;
        tokio::spawn(pump(
            events,
            self.center.clone(),
            self.sender,
            self.router.clone(),
            Responder::new(
                engine.clone(),
                (!user_agent.is_empty()).then_some(user_agent),
            ),
        ));
        // The configured name servers, else the system's; without either,
        // only numeric hosts resolve.
        let nameservers: Vec<std::net::SocketAddr> = global
            .get("dns.nameservers")?
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().and_then(settings::nameserver))
                    .collect()
            })
            .unwrap_or_default();
        let dns = if nameservers.is_empty() {
            DnsLookup::system(Duration::from_secs(3), 2)
                .unwrap_or_else(|_| DnsLookup::new(&[], Duration::from_secs(3), 2))
        } else {
            DnsLookup::new(&nameservers, Duration::from_secs(3), 2)
        };
        // Every lookup the application makes posts DNSLookup* here.
        let (mut dns, _) = dns.with_notifications(&self.center);
        if global
            .get("logging.trace_dns")?
            .and_then(Value::as_bool)
            .unwrap_or(false)
        {
            let dir = text(&global, "logging.directory")?
                .map(std::path::PathBuf::from)
                .unwrap_or_else(crate::trace_log::default_log_directory);
            match crate::trace_log::TraceFile::open_named(&dir, crate::trace_log::DNS_TRACE_FILE) {
                Ok(file) => {
                    let (tx, rx) = mpsc::channel(TRACE_QUEUE);
                    dns = dns.with_trace_sink(tx);
                    tokio::spawn(write_dns_traces(rx, file));
                }
                Err(e) => eprintln!(
                    "sipsimple: cannot write the DNS trace to {}: {e}",
                    dir.display()
                ),
            }
        }
        let mut services = Services::new(
            engine.clone(),
            dns,
            (!user_agent_header.is_empty()).then_some(user_agent_header),
        );
        services.capabilities = self.router.capability_source();
        services.event_dialogs = self.event_dialogs.clone();
        if let Ok(c) = crate::engine::tls::client_config(&tls_for_msrp) {
            services.msrp.set_relay_tls(c);
        }
        // MSRPLibraryLog comes from one anonymous sender: the library's.
        let (center, library) = (self.center.clone(), self.center.new_sender());
        services
            .msrp
            .log()
            .set_sink(std::sync::Arc::new(move |level, message| {
                center.post(
                    library,
                    crate::notification::NotificationData::MSRPLibraryLog {
                        level: level.as_str(),
                        message,
                    },
                )
            }));
        services.msrp.set_trace(
            global
                .get("logging.trace_msrp")?
                .and_then(Value::as_bool)
                .unwrap_or(false),
        );
        if let Some(range) = text(&global, "rtp.port_range")?.and_then(|r| {
            let (a, b) = r.split_once('-')?;
            Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
        }) {
            services.rtp_port_range = range;
        }
        services.audio_codecs = strings(&global, "rtp.audio_codec_list")?;
        if let Some(secs) = global
            .get("sip.invite_timeout")?
            .and_then(Value::as_integer)
            .and_then(|s| u64::try_from(s).ok())
        {
            services.invite_timeout = Duration::from_secs(secs);
        }
        services.voice_mixer = Some(voice.mixer.clone());
        if let Some(dir) = text(&global, "audio.recordings_directory")? {
            services.recordings_directory = dir.into();
        }
        if let Some(dir) = text(&global, "file_transfer.directory")? {
            services.download_directory = dir.into();
        }
        self.sessions.start(services.clone());
        self.incoming_subscriptions.start(services.clone());
        if let Err(e) = self.accounts.start(config.clone(), Some(services)) {
            self.accounts.stop().await;
            engine.shutdown().await;
            return Err(e.into());
        }
        Ok(Running {
            engine,
            config,
            voice,
            alert,
        })
    }

    /// The voice and alert mixers on the configured devices.
    fn audio_sets(
        &self,
        global: &SettingsObject,
    ) -> Result<(AudioSet, AudioSet), ApplicationError> {
        let rate = global
            .get("audio.sample_rate")?
            .and_then(Value::as_integer)
            .and_then(|r| u32::try_from(r).ok())
            .unwrap_or(48000);
        let input = device_setting("audio.input_device", text(global, "audio.input_device")?)?;
        let output = device_setting("audio.output_device", text(global, "audio.output_device")?)?;
        let alert = device_setting("audio.alert_device", text(global, "audio.alert_device")?)?;
        let voice = open_device(rate, &input, &output).map_err(|e| {
            ApplicationError::Audio(format!("audio.input_device/output_device: {e}"))
        })?;
        let alert = open_device(rate, &DeviceSetting::Null, &alert)
            .map_err(|e| ApplicationError::Audio(format!("audio.alert_device: {e}")))?;
        Ok((
            AudioSet::new(voice, &self.center),
            AudioSet::new(alert, &self.center),
        ))
    }

    /// Stops everything. Returns at once: SIPApplicationWillEnd is posted
    /// now, SIPApplicationDidEnd once the engine is down, or after a
    /// bounded grace if it does not go down. Needs a tokio runtime.
    pub fn stop(&self) {
        let running = {
            let mut inner = self.lock();
            if inner.state != AppState::Started {
                return;
            }
            inner.state = AppState::Stopping;
            inner.running.take()
        };
        self.post(NotificationData::SIPApplicationWillEnd);
        let app = self.clone();
        tokio::spawn(async move {
            // Sessions and accounts first: they say goodbye while the
            // engine still runs.
            app.sessions.stop().await;
            app.incoming_subscriptions.stop(SUBSCRIPTIONS_GRACE).await;
            app.accounts.stop().await;
            if let Some(r) = running {
                let _ = tokio::time::timeout(STOP_GRACE, r.engine.shutdown()).await;
            }
            app.lock().state = AppState::Stopped;
            app.post(NotificationData::SIPApplicationDidEnd);
        });
    }
}

/// A SIP trace as the spec's SIPEngineSIPTrace.
fn trace_notification(t: crate::engine::Trace) -> NotificationData {
    let received = t.direction == Direction::Received;
    let (source, destination) = if received {
        (t.remote, t.local)
    } else {
        (t.local, t.remote)
    };
    NotificationData::SIPEngineSIPTrace {
        received,
        source: source.to_string(),
        destination: destination.to_string(),
        transport: t.transport.name(),
        text: t.text,
    }
}

/// Traces posted in order from their own bounded queue (see
/// `EngineConfig::trace_sink`), apart from the requests' path.
async fn post_traces(
    mut traces: mpsc::Receiver<crate::engine::Trace>,
    mut file: Option<crate::trace_log::TraceFile>,
    center: NotificationCenter,
    sender: SenderId,
) {
    while let Some(t) = traces.recv().await {
        if let Some(f) = &mut file {
            if let Err(e) = f.write(&t) {
                eprintln!("sipsimple: the SIP trace file stopped: {e}");
                file = None;
            }
        }
        center.post(sender, trace_notification(t));
    }
}

/// Writes DNS traces until every lookup handle is gone (the application
/// stopped).
async fn write_dns_traces(
    mut traces: mpsc::Receiver<crate::lookup::DnsTrace>,
    mut file: crate::trace_log::TraceFile,
) {
    while let Some(t) = traces.recv().await {
        if let Err(e) = file.write_dns(&t) {
            eprintln!("sipsimple: the DNS trace file stopped: {e}");
            return;
        }
    }
}

/// Turns engine events into notifications and hands every request to the
/// router (which never waits on slow work, so neither does this loop).
async fn pump(
    mut events: mpsc::Receiver<EngineEvent>,
    center: NotificationCenter,
    sender: SenderId,
    router: RequestRouter,
    responder: Responder,
) {
    while let Some(event) = events.recv().await {
        match event {
            EngineEvent::Trace(t) => center.post(sender, trace_notification(t)),
            EngineEvent::Transaction(Event::Request {
                key,
                request,
                source,
            }) => {
                router
                    .route(IncomingRequest {
                        key,
                        request,
                        source,
                        responder: responder.clone(),
                    })
                    .await
            }
            EngineEvent::Transaction(Event::Ack { request, .. }) => router.ack(&request),
            EngineEvent::Transaction(Event::Cancelled { invite }) => router.cancelled(&invite),
            _ => {}
        }
    }
}
