//! The BonjourAccount (`bonjour@local`): serverless SIP on the local
//! network. While active it publishes its contact over multicast DNS as a
//! DNS-SD service (`_sipuri._udp`, `_sipuri._tcp`, `_sipuri._tls`; RFC
//! 6762/6763) and browses for the same services of its neighbours,
//! posting BonjourAccount* notifications as they come and go.
//!
//! mDNS itself is the `mdns-sd` crate: a well-kept responder and browser
//! with its own thread, which is all this needs. What this module owns is
//! the SIP side: what is published (the contact URI in the TXT record),
//! how a resolved service becomes a neighbour's URI, and the spec's
//! activation rules.
//!
//! Each published service is one neighbour: a peer running UDP and TCP
//! shows up twice, once per transport, each with the URI for it.

use crate::sync::lock;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mdns_sd::{IfKind, ServiceDaemon, ServiceEvent, ServiceInfo};
use sip_proto::uri::Uri;
use tokio::task::JoinHandle;

use super::Credentials;
use crate::config::{ConfigError, SettingChange, SettingsObject, SipAddress, Value};
use crate::engine::{host_port, transport_param, TransportKind};
use crate::message::{Delivered, Message, MessageError};
use crate::notification::{NotificationCenter, NotificationData, SenderId};
use crate::services::Services;

/// The id every Bonjour account has.
pub const BONJOUR_ID: &str = "bonjour@local";

/// How long each goodbye may take when the account deactivates.
const UNPUBLISH_GRACE: Duration = Duration::from_secs(1);

/// A SIP user agent found on the local network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbour {
    /// The published service's full name (unique per neighbour and
    /// transport), e.g. `qwertyui._sipuri._udp.local.`.
    pub neighbour: String,
    /// The name it publishes for its user, if any.
    pub display_name: Option<String>,
    /// The host it published from.
    pub host: String,
    /// Where to send requests for it.
    pub uri: Uri<'static>,
}

struct Discovery {
    daemon: ServiceDaemon,
    published: Vec<String>,
    browsers: Vec<JoinHandle<()>>,
}

/// The P2P account. One per application.
pub struct BonjourAccount {
    id: SipAddress,
    contact_user: String,
    settings: Mutex<SettingsObject>,
    sender: SenderId,
    center: NotificationCenter,
    active: AtomicBool,
    services: Arc<Mutex<Option<Services>>>,
    discovery: Mutex<Option<Discovery>>,
    neighbours: Arc<Mutex<BTreeMap<String, Neighbour>>>,
}

impl std::fmt::Debug for BonjourAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BonjourAccount")
            .field("contact_user", &self.contact_user)
            .field("active", &self.is_active())
            .finish()
    }
}

/// The DNS-SD service type for a transport.
fn service_type(t: TransportKind) -> String {
    format!("_sipuri._{}.local.", t.via_name().to_ascii_lowercase())
}

/// This machine's name as an mDNS host (`name.local.`), reduced to the
/// characters a DNS label may carry.
fn mdns_host() -> String {
    let name = gethostname::gethostname().to_string_lossy().into_owned();
    let label: String = name
        .split('.')
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    let label = if label.is_empty() {
        "sipsimple".into()
    } else {
        label
    };
    format!("{label}.local.")
}

impl BonjourAccount {
    pub(super) fn new(
        settings: SettingsObject,
        center: NotificationCenter,
        services: Arc<Mutex<Option<Services>>>,
    ) -> BonjourAccount {
        BonjourAccount {
            id: SipAddress {
                username: "bonjour".into(),
                domain: "local".into(),
            },
            contact_user: crate::random::letters(8),
            sender: settings.sender(),
            settings: Mutex::new(settings),
            center,
            active: AtomicBool::new(false),
            services,
            discovery: Mutex::new(None),
            neighbours: Arc::new(Mutex::new(BTreeMap::new())),
        }
    }

    /// Always `bonjour@local`.
    pub fn id(&self) -> &SipAddress {
        &self.id
    }

    pub fn sender(&self) -> SenderId {
        self.sender
    }

    /// The random user part of the contact (8 letters).
    pub fn contact_username(&self) -> &str {
        &self.contact_user
    }

    /// The contact URI for `transport` while the engine runs it: the
    /// engine's address (or, if it listens on every address, the one on
    /// the default route) and port.
    pub fn contact(&self, transport: TransportKind) -> Option<Uri<'static>> {
        let services = lock(&self.services).clone()?;
        super::contact_uri(&services, &self.contact_user, transport)
    }

    /// The spec's `credentials`: the contact user name, no password.
    pub fn credentials(&self) -> Credentials {
        Credentials {
            username: self.contact_user.clone(),
            password: String::new(),
        }
    }

    /// The spec's `uri`: the contact without port or transport, for From.
    pub fn uri(&self) -> Option<Uri<'static>> {
        let services = lock(&self.services).clone()?;
        let t = *services.engine.transports().first()?;
        let ip = super::contact_addr(&services, t)?.ip();
        let host = match ip {
            IpAddr::V6(ip) => format!("[{ip}]"),
            IpAddr::V4(ip) => ip.to_string(),
        };
        Uri::parse(&format!("sip:{}@{host}", self.contact_user))
            .ok()
            .map(|u| u.into_owned())
    }

    pub fn get(&self, path: &str) -> Result<Option<Value>, ConfigError> {
        Ok(lock(&self.settings).get(path)?.cloned())
    }

    pub fn set(&self, path: &str, value: Option<Value>) -> Result<(), ConfigError> {
        lock(&self.settings).set(path, value)
    }

    /// Stores the changed settings, then activates or deactivates the
    /// account if `enabled` changed.
    pub fn save(self: &Arc<Self>) -> Result<BTreeMap<String, SettingChange>, ConfigError> {
        let changes = lock(&self.settings).save()?;
        self.update_activation();
        Ok(changes)
    }

    pub fn is_enabled(&self) -> bool {
        matches!(self.get("enabled"), Ok(Some(Value::Boolean(true))))
    }

    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::SeqCst)
    }

    /// The neighbours seen so far, by service name.
    pub fn neighbours(&self) -> Vec<Neighbour> {
        lock(&self.neighbours).values().cloned().collect()
    }

    fn text(&self, path: &str) -> Option<String> {
        self.get(path)
            .ok()
            .flatten()
            .and_then(|v| v.as_str().map(str::to_owned))
    }

    fn post(&self, data: NotificationData) {
        self.center.post(self.sender, data);
    }

    /// Active when enabled and the engine runs (SIPAccountDidActivate /
    /// DidDeactivate on a change); publishing and browsing follow.
    pub(super) fn update_activation(self: &Arc<Self>) {
        let services = lock(&self.services).clone();
        let want = self.is_enabled() && services.is_some();
        if self.active.swap(want, Ordering::SeqCst) == want {
            return;
        }
        if let (true, Some(services)) = (want, services) {
            self.post(NotificationData::SIPAccountDidActivate);
            self.post(NotificationData::BonjourAccountWillRegister);
            match self.start_discovery(&services) {
                Ok(d) => *lock(&self.discovery) = Some(d),
                Err(reason) => self.post(NotificationData::BonjourAccountRegistrationDidFail {
                    code: None,
                    reason,
                }),
            }
        } else {
            let me = self.clone();
            // Goodbyes take a moment; the caller of `save` need not wait.
            tokio::spawn(async move { me.stop_discovery().await });
            self.post(NotificationData::SIPAccountDidDeactivate);
        }
    }

    /// Deactivates and waits (bounded) for the goodbyes to go out.
    pub(super) async fn deactivate(&self) {
        let was = self.active.swap(false, Ordering::SeqCst);
        self.stop_discovery().await;
        if was {
            self.post(NotificationData::SIPAccountDidDeactivate);
        }
    }

    fn start_discovery(&self, services: &Services) -> Result<Discovery, String> {
        let port = self
            .get("mdns.port")
            .ok()
            .flatten()
            .and_then(|v| v.as_integer())
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(5353);
        let daemon = ServiceDaemon::new_with_port(port).map_err(|e| format!("mDNS: {e}"))?;
        let interfaces: Vec<String> = self
            .get("mdns.interfaces")
            .ok()
            .flatten()
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        let fail = |e: mdns_sd::Error| {
            let _ = daemon.shutdown();
            format!("mDNS: {e}")
        };
        if !interfaces.is_empty() {
            daemon.disable_interface(IfKind::All).map_err(fail)?;
            for name in interfaces {
                let kind = match name.parse::<IpAddr>() {
                    Ok(ip) => IfKind::Addr(ip),
                    Err(_) => IfKind::Name(name),
                };
                daemon.enable_interface(kind).map_err(fail)?;
            }
        }
        let wanted: Vec<String> = self
            .get("sip.transport_list")
            .ok()
            .flatten()
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        let transports: Vec<TransportKind> = services
            .engine
            .transports()
            .into_iter()
            .filter(|t| wanted.iter().any(|w| w.eq_ignore_ascii_case(t.via_name())))
            .collect();
        if transports.is_empty() {
            let _ = daemon.shutdown();
            return Err("none of bonjour sip.transport_list runs in the engine".into());
        }
        let host = mdns_host();
        let display_name = self.text("display_name");
        let mut discovery = Discovery {
            daemon: daemon.clone(),
            published: Vec::new(),
            browsers: Vec::new(),
        };
        for t in transports {
            let (Some(contact), Some(bound)) = (self.contact(t), services.engine.local_addr(t))
            else {
                continue;
            };
            let mut txt = vec![
                ("txtvers".to_owned(), "1".to_owned()),
                ("contact".to_owned(), contact.to_string()),
            ];
            if let Some(name) = &display_name {
                txt.push(("name".to_owned(), name.clone()));
            }
            let ty = service_type(t);
            let info = if bound.ip().is_unspecified() {
                ServiceInfo::new(&ty, &self.contact_user, &host, (), bound.port(), &txt[..])
                    .map(ServiceInfo::enable_addr_auto)
            } else {
                ServiceInfo::new(
                    &ty,
                    &self.contact_user,
                    &host,
                    bound.ip(),
                    bound.port(),
                    &txt[..],
                )
            };
            let registered = info.and_then(|info| {
                let fullname = info.get_fullname().to_owned();
                daemon.register(info).map(|()| fullname)
            });
            match registered {
                Ok(fullname) => {
                    discovery.published.push(fullname);
                    self.post(NotificationData::BonjourAccountRegistrationDidSucceed {
                        name: contact.to_string(),
                        transport: t,
                    });
                }
                Err(e) => self.post(NotificationData::BonjourAccountRegistrationDidFail {
                    code: None,
                    reason: format!("publishing {ty}: {e}"),
                }),
            }
            match daemon.browse(&ty) {
                Ok(events) => discovery.browsers.push(tokio::spawn(browse(
                    events,
                    t,
                    format!("{}.", self.contact_user),
                    self.neighbours.clone(),
                    self.center.clone(),
                    self.sender,
                ))),
                Err(e) => self.post(NotificationData::BonjourAccountRegistrationDidFail {
                    code: None,
                    reason: format!("browsing {ty}: {e}"),
                }),
            }
        }
        Ok(discovery)
    }

    /// Withdraws what was published (mDNS goodbyes), stops browsing and
    /// the daemon, and forgets the neighbours.
    async fn stop_discovery(&self) {
        let Some(d) = lock(&self.discovery).take() else {
            return;
        };
        for b in &d.browsers {
            b.abort();
        }
        let had = !d.published.is_empty();
        for name in d.published {
            if let Ok(done) = d.daemon.unregister(&name) {
                let _ = tokio::time::timeout(UNPUBLISH_GRACE, done.recv_async()).await;
            }
        }
        if let Ok(done) = d.daemon.shutdown() {
            let _ = tokio::time::timeout(UNPUBLISH_GRACE, done.recv_async()).await;
        }
        lock(&self.neighbours).clear();
        if had {
            self.post(NotificationData::BonjourAccountRegistrationDidEnd);
        }
    }

    /// Sends a pager-mode MESSAGE from this account to `to`, usually a
    /// neighbour's URI (see [`Account::send_message`](super::Account::send_message)).
    pub async fn send_message(
        &self,
        to: &str,
        content_type: &str,
        body: impl Into<Vec<u8>>,
    ) -> Result<Delivered, MessageError> {
        let services = lock(&self.services)
            .clone()
            .filter(|_| self.is_active())
            .ok_or_else(|| MessageError::Local("the Bonjour account is not active".into()))?;
        let from = self
            .uri()
            .ok_or_else(|| MessageError::Local("no contact address".into()))?;
        let to = Uri::parse(to)
            .map_err(|e| MessageError::Local(format!("{to:?} is not a URI: {e}")))?
            .into_owned();
        let mut message = Message::new(&self.center, from, to.clone(), content_type, body);
        message.from_display_name = self.text("display_name");
        message.user_agent = services.user_agent.clone();
        let routes = crate::message::routes_for(&services, &to).await?;
        message.send(&services.engine, &routes).await
    }
}

/// The URI a resolved service is reached at: its published contact if
/// that names a concrete address, else built from what mDNS resolved.
fn neighbour_uri(service: &mdns_sd::ResolvedService, t: TransportKind) -> Option<Uri<'static>> {
    if let Some(contact) = service.get_property_val_str("contact") {
        if let Ok(uri) = Uri::parse(contact) {
            let concrete = uri
                .as_sip()
                .is_some_and(|s| !matches!(s.host.to_string().as_str(), "0.0.0.0" | "[::]"));
            if concrete {
                return Some(uri.into_owned());
            }
        }
    }
    let addrs = service.get_addresses();
    let ip = addrs
        .iter()
        .map(|a| a.to_ip_addr())
        .find(IpAddr::is_ipv4)
        .or_else(|| addrs.iter().next().map(|a| a.to_ip_addr()))?;
    let user = service.fullname.split('.').next().unwrap_or_default();
    Uri::parse(&format!(
        "sip:{user}@{}{}",
        host_port(SocketAddr::new(ip, service.port)),
        transport_param(t)
    ))
    .ok()
    .map(|u| u.into_owned())
}

/// Turns one service type's browse events into neighbour notifications.
async fn browse(
    events: mdns_sd::Receiver<ServiceEvent>,
    t: TransportKind,
    own_prefix: String,
    neighbours: Arc<Mutex<BTreeMap<String, Neighbour>>>,
    center: NotificationCenter,
    sender: SenderId,
) {
    while let Ok(event) = events.recv_async().await {
        match event {
            ServiceEvent::ServiceResolved(service) => {
                if service.fullname.starts_with(&own_prefix) {
                    continue;
                }
                let Some(uri) = neighbour_uri(&service, t) else {
                    continue;
                };
                let n = Neighbour {
                    neighbour: service.fullname.clone(),
                    display_name: service.get_property_val_str("name").map(str::to_owned),
                    host: service.host.trim_end_matches('.').to_owned(),
                    uri,
                };
                let previous = lock(&neighbours).insert(n.neighbour.clone(), n.clone());
                if previous.as_ref() == Some(&n) {
                    continue;
                }
                // A neighbour that changed (say, its address) is reported
                // as gone and back, so observers never keep a stale URI.
                if let Some(p) = previous {
                    center.post(
                        sender,
                        NotificationData::BonjourAccountDidRemoveNeighbour {
                            neighbour: p.neighbour,
                            uri: p.uri.to_string(),
                        },
                    );
                }
                {
                    center.post(
                        sender,
                        NotificationData::BonjourAccountDidAddNeighbour {
                            neighbour: n.neighbour,
                            display_name: n.display_name,
                            host: n.host,
                            uri: n.uri.to_string(),
                        },
                    );
                }
            }
            ServiceEvent::ServiceRemoved(_, fullname) => {
                let gone = lock(&neighbours).remove(&fullname);
                if let Some(n) = gone {
                    center.post(
                        sender,
                        NotificationData::BonjourAccountDidRemoveNeighbour {
                            neighbour: n.neighbour,
                            uri: n.uri.to_string(),
                        },
                    );
                }
            }
            _ => {}
        }
    }
}
