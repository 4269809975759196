//! SIP accounts (the spec's `sipsimple.account`): the AccountManager that
//! loads and tracks them, the Account with its settings, contact,
//! activation and registration (RFC 3261 §10, in `registration`), and
//! the serverless BonjourAccount (in `bonjour`).

mod bonjour;
mod manager;
mod presence;
mod rls;
mod xcap;
pub use rls::{LIST_ACCEPT, LIST_NAME, MAX_LIST_MEMBERS, MAX_LIST_PARTS, MAX_NESTING};
pub use xcap::RULE_PREFIX;
mod registration;

pub use bonjour::{BonjourAccount, Neighbour, BONJOUR_ID};
pub use manager::AccountManager;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use std::net::SocketAddr;

use sip_proto::uri::Uri;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{ConfigError, SettingChange, SettingsObject, SipAddress, Value};
use crate::engine::{host_port, transport_param, TransportKind};
use crate::message::{Delivered, Message, MessageError};
use crate::notification::{NotificationCenter, NotificationData, SenderId};
use crate::services::Services;

/// The host of a SIP URI as a TLS server name (RFC 5922 §4: the name in
/// the URI used to reach the server, never the address it resolved to).
pub(crate) fn uri_host(uri: &Uri<'_>) -> Option<String> {
    uri.as_sip().map(|s| s.host.to_string())
}

/// The name a TLS server must prove for a request of an account to
/// `target`. Through the outbound proxy the server is the proxy:
/// `tls.name`, else the proxy's host. Without one, the account's own
/// domain (its registrar, its presence server) proves `tls.name`, else the
/// domain; any other domain proves its own name, since `tls.name` speaks
/// for the account's servers, not for a callee's (RFC 5922 §4).
pub(crate) fn tls_name_for(
    proxy: Option<&Uri<'_>>,
    tls_name: Option<&str>,
    domain: &str,
    target: &Uri<'_>,
) -> Option<String> {
    if let Some(proxy) = proxy {
        return tls_name.map(str::to_owned).or_else(|| uri_host(proxy));
    }
    let host = uri_host(target)?;
    if host.eq_ignore_ascii_case(domain) {
        return Some(tls_name.map_or(host, str::to_owned));
    }
    Some(host)
}

/// A user name and password for digest authentication (the spec's
/// `credentials`).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password: Debug output ends up in logs.
        write!(f, "<Credentials for {:?}>", self.username)
    }
}

/// Our address for `t` as a peer should reach it: the engine's bound
/// address, or, when it listens on all addresses, the one on the default
/// route (connecting a UDP socket sends nothing); loopback without one.
fn contact_addr(services: &Services, t: TransportKind) -> Option<SocketAddr> {
    let bound = services.engine.local_addr(t)?;
    if !bound.ip().is_unspecified() {
        return Some(bound);
    }
    let probe: SocketAddr = ([192, 0, 2, 1], 9).into();
    services
        .engine
        .local_addr_towards(t, probe)
        .filter(|a| !a.ip().is_unspecified())
        .or_else(|| Some(SocketAddr::new([127, 0, 0, 1].into(), bound.port())))
}

/// `sip:user@address:port;transport=...` for `t`, if the engine runs it.
fn contact_uri(services: &Services, user: &str, t: TransportKind) -> Option<Uri<'static>> {
    let addr = contact_addr(services, t)?;
    Uri::parse(&format!(
        "sip:{user}@{}{}",
        host_port(addr),
        transport_param(t)
    ))
    .ok()
    .map(|u| u.into_owned())
}

/// One SIP account (user@domain) and its settings.
pub struct Account {
    id: SipAddress,
    uri: Uri<'static>,
    /// The user part of our Contact: random, so requests meant for this
    /// account can be told apart from those for another one on the same
    /// address (the spec's 8 random letters).
    contact_user: String,
    settings: Mutex<SettingsObject>,
    sender: SenderId,
    center: NotificationCenter,
    active: AtomicBool,
    /// What the application runs (engine, DNS) while it runs: an account
    /// is active when it is enabled and these exist.
    services: Arc<Mutex<Option<Services>>>,
    /// The running registration task and its stop switch.
    registration: Mutex<Option<(watch::Sender<bool>, JoinHandle<()>)>>,
    /// Presence, watcher and voicemail subscriptions and the publication.
    events: presence::EventServicesCell,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .field("active", &self.is_active())
            .finish()
    }
}

impl Account {
    fn new(
        id: SipAddress,
        settings: SettingsObject,
        center: NotificationCenter,
        services: Arc<Mutex<Option<Services>>>,
    ) -> Result<Account, ConfigError> {
        let uri = Uri::parse(&format!("sip:{id}"))
            .map(|u| u.into_owned())
            .map_err(|e| ConfigError::Invalid {
                setting: format!("account id {id}"),
                reason: e.to_string(),
            })?;
        Ok(Account {
            id,
            uri,
            contact_user: crate::random::letters(8),
            sender: settings.sender(),
            settings: Mutex::new(settings),
            center,
            active: AtomicBool::new(false),
            services,
            registration: Mutex::new(None),
            events: Default::default(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, SettingsObject> {
        crate::sync::lock(&self.settings)
    }

    pub fn id(&self) -> &SipAddress {
        &self.id
    }

    /// The sender id of this account's notifications (its settings
    /// object's too).
    pub fn sender(&self) -> SenderId {
        self.sender
    }

    /// The SIP URI of the id, for From and To.
    pub fn uri(&self) -> &Uri<'static> {
        &self.uri
    }

    /// The user part of the account's Contact URIs.
    pub fn contact_username(&self) -> &str {
        &self.contact_user
    }

    /// The spec's `contact[transport]`: this account's Contact URI for
    /// `transport` while the engine runs it (the random user at the
    /// engine's address). Registration uses the address towards the
    /// registrar instead, which is the same unless the engine listens on
    /// every address of a multihomed host.
    pub fn contact(&self, transport: TransportKind) -> Option<Uri<'static>> {
        contact_uri(&self.services()?, &self.contact_user, transport)
    }

    /// The spec's `credentials`: `auth.username` (else the id's user)
    /// and `auth.password`, as they are now.
    pub fn credentials(&self) -> Credentials {
        Credentials {
            username: self
                .text("auth.username")
                .unwrap_or_else(|| self.id.username.clone()),
            password: self.text("auth.password").unwrap_or_default(),
        }
    }

    /// A setting's effective value (see docs/CONFIGURATION.md).
    pub fn get(&self, path: &str) -> Result<Option<Value>, ConfigError> {
        Ok(self.lock().get(path)?.cloned())
    }

    /// Assigns a setting; it takes effect on `save`.
    pub fn set(&self, path: &str, value: Option<Value>) -> Result<(), ConfigError> {
        self.lock().set(path, value)
    }

    pub fn is_enabled(&self) -> bool {
        matches!(self.get("enabled"), Ok(Some(Value::Boolean(true))))
    }

    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::SeqCst)
    }

    /// Stores the changed settings (CFGSettingsObjectDidChange), then
    /// activates or deactivates the account if `enabled` changed.
    pub fn save(&self) -> Result<std::collections::BTreeMap<String, SettingChange>, ConfigError> {
        let changes = self.lock().save()?;
        self.update_activation();
        Ok(changes)
    }

    fn services(&self) -> Option<Services> {
        self.services
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Active when enabled and the engine runs; posts SIPAccountDidActivate
    /// or SIPAccountDidDeactivate on a change, and starts or stops the
    /// registration with it.
    fn update_activation(&self) {
        let services = self.services();
        let want = self.is_enabled() && services.is_some();
        if self.active.swap(want, Ordering::SeqCst) == want {
            return;
        }
        if want {
            self.center
                .post(self.sender, NotificationData::SIPAccountDidActivate);
            if let Some(services) = services {
                self.start_registration(services.clone());
                self.start_event_services(services);
            }
        } else {
            self.stop_registration();
            let events = std::mem::take(&mut *crate::sync::lock(&self.events));
            presence::end_all(events);
            self.center
                .post(self.sender, NotificationData::SIPAccountDidDeactivate);
        }
    }

    /// The account's outbound proxy, if one is set and parses.
    pub(crate) fn outbound_proxy(&self) -> Option<Uri<'static>> {
        self.text("sip.outbound_proxy")
            .and_then(|p| Uri::parse(&p).ok().map(|u| u.into_owned()))
    }

    /// The name a TLS server must prove for a request of this account to
    /// `target`: see [`tls_name_for`].
    pub(crate) fn tls_name_towards(&self, target: &Uri<'_>) -> Option<String> {
        tls_name_for(
            self.outbound_proxy().as_ref(),
            self.text("tls.name").as_deref(),
            &self.id.domain,
            target,
        )
    }

    fn text(&self, path: &str) -> Option<String> {
        self.get(path)
            .ok()
            .flatten()
            .and_then(|v| v.as_str().map(str::to_owned))
    }

    fn start_registration(&self, services: Services) {
        if !matches!(
            self.get("registration.enabled"),
            Ok(Some(Value::Boolean(true)))
        ) {
            return;
        }
        let expires = self
            .get("registration.interval")
            .ok()
            .flatten()
            .and_then(|v| v.as_integer())
            .and_then(|i| u32::try_from(i).ok())
            .unwrap_or(3600);
        let outbound_proxy = self.outbound_proxy();
        let credentials = self.credentials();
        let registrar = Uri::parse(&format!("sip:{}", self.id.domain))
            .ok()
            .map(|u| u.into_owned());
        let tls_name = registrar
            .and_then(|r| self.tls_name_towards(&r))
            .unwrap_or_else(|| self.id.domain.clone());
        let plan = registration::Plan {
            aor: self.uri.clone(),
            domain: self.id.domain.clone(),
            outbound_proxy,
            username: credentials.username,
            password: credentials.password,
            contact_user: self.contact_user.clone(),
            expires,
            tls_name,
        };
        let (stop_tx, stop) = watch::channel(false);
        let task = registration::Registration {
            plan,
            services,
            center: self.center.clone(),
            sender: self.sender,
            stop,
            failed_rounds: 0,
            transport_error: None,
        };
        let handle = tokio::spawn(task.run());
        *crate::sync::lock(&self.registration) = Some((stop_tx, handle));
    }

    /// Asks the registration to unregister and end; returns its task.
    fn stop_registration(&self) -> Option<JoinHandle<()>> {
        let (stop, handle) = self
            .registration
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()?;
        let _ = stop.send(true);
        Some(handle)
    }

    /// Deactivates and waits (bounded) for the unregistration.
    async fn deactivate(&self) {
        self.stop_event_services().await;
        let handle = self.stop_registration();
        if self.active.swap(false, Ordering::SeqCst) {
            self.center
                .post(self.sender, NotificationData::SIPAccountDidDeactivate);
        }
        if let Some(mut h) = handle {
            // Unregistering has its own 5 s bound; this one is a backstop.
            if tokio::time::timeout(Duration::from_secs(6), &mut h)
                .await
                .is_err()
            {
                h.abort();
            }
        }
    }

    /// Sends a pager-mode MESSAGE (RFC 3428) from this account to `to`:
    /// through the outbound proxy if one is set, else to the RFC 3263
    /// routes of `to` itself; digest challenges are answered with the
    /// account's credentials. Posts SIPMessageDidSucceed/DidFail under the
    /// returned message's own sender id. Needs the account active.
    pub async fn send_message(
        &self,
        to: &str,
        content_type: &str,
        body: impl Into<Vec<u8>>,
    ) -> Result<Delivered, MessageError> {
        let services = self
            .services()
            .filter(|_| self.is_active())
            .ok_or_else(|| MessageError::Local(format!("account {} is not active", self.id)))?;
        let to = Uri::parse(to)
            .map_err(|e| MessageError::Local(format!("{to:?} is not a URI: {e}")))?
            .into_owned();
        let mut message = Message::new(
            &self.center,
            self.uri.clone(),
            to.clone(),
            content_type,
            body,
        );
        message.from_display_name = self.text("display_name");
        let credentials = self.credentials();
        message.credentials = Some((credentials.username, credentials.password));
        message.user_agent = services.user_agent.clone();
        message.tls_name = self.tls_name_towards(&to);
        let proxy = self.outbound_proxy();
        let routes = crate::message::routes_for(&services, proxy.as_ref().unwrap_or(&to)).await?;
        message.send(&services.engine, &routes).await
    }

    fn delete_settings(&self) -> Result<(), ConfigError> {
        self.lock().delete()
    }
}
