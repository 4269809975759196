//! An account's event services, as the accounts of python3-sipsimple
//! have them: it publishes its own presence (RFC 3903, `presence`
//! event), watches contacts' presence (SIPAccountGotPresenceState), its
//! own watchers when `presence.enabled` (the `presence.winfo` event,
//! SIPAccountGotPresenceWinfo) and its voicemail when
//! `message_summary.enabled` (RFC 3842, SIPAccountGotMessageSummary).
//! With `presence.subscribe_rls` the watched contacts are one resource
//! list behind one subscription instead (RFC 4662, `account::rls`).
//!
//! Every request leaves with the account's identity: through the
//! outbound proxy when one is set (else the target's RFC 3263 routes),
//! digest challenges answered with its credentials. Each service is a
//! [`Subscription`] or [`Publication`] of the SIP core whose NOTIFYs the
//! account reads through a hook (not the notification queue, which may
//! drop under load) and posts, parsed, under the account's sender id.
//! Deactivating the account unsubscribes and removes what it published.

use crate::sync::lock;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use payloads::message_summary::{MessageSummary, SummaryLimits};
use payloads::pidf::Presence;
use payloads::watcherinfo::WatcherInfo;
use payloads::xml::XmlLimits;
use sip_proto::uri::Uri;
use tokio::sync::mpsc;

use super::{Account, Credentials};
use crate::config::Value;
use crate::lookup::Route;
use crate::notification::{NotificationCenter, NotificationData, SenderId};
use crate::publication::{Publication, PublicationOptions, PublicationState};
use crate::services::Services;
use crate::subscription::{GotNotify, Subscription, SubscriptionOptions, SubscriptionState};

/// How long an account waits for its unsubscribes and unpublish when it
/// deactivates (bounded: stopping must not hang on a silent server).
const SERVICES_GRACE: Duration = Duration::from_secs(4);

/// The expiry asked for presence and winfo subscriptions and for the
/// publication (python3-sipsimple's 600 s).
const PRESENCE_EXPIRES: u32 = 600;

/// The running services of one account.
#[derive(Default)]
pub(crate) struct EventServices {
    publication: Option<Publication>,
    watched: Vec<(String, Subscription)>,
    winfo: Option<Subscription>,
    mwi: Option<Subscription>,
    /// The presence list subscription (`presence.subscribe_rls`).
    list: Option<Subscription>,
    /// Its members, as last written to the XCAP server.
    list_members: Vec<String>,
    /// Held while the list is edited (its XCAP writes, then the
    /// subscription), so that edits do not interleave.
    list_edit: Arc<tokio::sync::Mutex<()>>,
}

/// What every request of the account's services is sent with.
#[derive(Clone)]
struct Identity {
    uri: Uri<'static>,
    display_name: Option<String>,
    credentials: Credentials,
    contact_user: String,
    outbound_proxy: Option<Uri<'static>>,
    /// The `tls.name` setting; see `tls_name_for` for where it applies.
    tls_name: Option<String>,
    domain: String,
    center: NotificationCenter,
    sender: SenderId,
}

impl Identity {
    async fn routes(
        &self,
        services: &Services,
        target: &Uri<'static>,
    ) -> Result<Vec<Route>, String> {
        crate::message::routes_for(services, self.outbound_proxy.as_ref().unwrap_or(target))
            .await
            .map_err(|e| e.to_string())
    }

    fn tls_name_towards(&self, target: &Uri<'_>) -> Option<String> {
        super::tls_name_for(
            self.outbound_proxy.as_ref(),
            self.tls_name.as_deref(),
            &self.domain,
            target,
        )
    }

    fn options(&self, event: &str, accept: &[&str], target: &Uri<'_>) -> SubscriptionOptions {
        let mut o = SubscriptionOptions::new(event, accept);
        o.expires = PRESENCE_EXPIRES;
        o.credentials = Some(self.credentials.clone());
        o.display_name = self.display_name.clone();
        o.contact_user = self.contact_user.clone();
        o.tls_name = self.tls_name_towards(target);
        o
    }

    async fn subscribe(
        &self,
        services: &Services,
        target: Uri<'static>,
        options: SubscriptionOptions,
    ) -> Result<Subscription, String> {
        let routes = self.routes(services, &target).await?;
        Subscription::start(
            services,
            &services.event_dialogs,
            &self.center,
            self.uri.clone(),
            target,
            options,
            routes,
        )
    }

    /// Subscribes with a hook whose NOTIFYs `read` turns into the
    /// account's notifications.
    async fn service<F>(
        &self,
        services: &Services,
        target: Uri<'static>,
        mut options: SubscriptionOptions,
        mut read: F,
    ) -> Result<Subscription, String>
    where
        F: FnMut(GotNotify) -> Vec<NotificationData> + Send + 'static,
    {
        let (hook, mut notifies) = mpsc::unbounded_channel();
        options.hook = Some(hook);
        let subscription = self.subscribe(services, target, options).await?;
        let (center, sender) = (self.center.clone(), self.sender);
        // Ends when the subscription's task does (it holds the hook).
        tokio::spawn(async move {
            while let Some(n) = notifies.recv().await {
                for data in read(n) {
                    center.post(sender, data);
                }
            }
        });
        Ok(subscription)
    }
}

/// SIPAccountGotPresenceState for one NOTIFY of `uri`'s presence.
fn presence_of(uri: String) -> impl FnMut(GotNotify) -> Vec<NotificationData> {
    move |n| {
        let presence = n
            .body
            .filter(|b| {
                sip_proto::headers::MediaType::parse(&b.content_type)
                    .is_ok_and(|m| m.matches("application", "pidf+xml"))
            })
            .and_then(|b| Presence::parse(&b.data, &XmlLimits::default()).ok())
            .map(Box::new);
        if presence.is_none() && n.state == "terminated" {
            return Vec::new();
        }
        vec![NotificationData::SIPAccountGotPresenceState {
            uri: uri.clone(),
            presence,
        }]
    }
}

/// SIPAccountGotPresenceWinfo with the watcher list kept so far.
fn winfo_reader() -> impl FnMut(GotNotify) -> Vec<NotificationData> {
    let mut kept: Option<WatcherInfo> = None;
    let mut read = move |n: GotNotify| -> Option<NotificationData> {
        let body = n.body?;
        let doc = WatcherInfo::parse(&body.data, &XmlLimits::default()).ok()?;
        match &mut kept {
            Some(k) => {
                if k.apply(doc.clone()).is_err() {
                    // Out of step (a version skipped): only a full
                    // document can be trusted now.
                    if doc.state != payloads::watcherinfo::State::Full {
                        return None;
                    }
                    *k = doc;
                }
            }
            None => kept = Some(doc),
        }
        kept.clone()
            .map(|w| NotificationData::SIPAccountGotPresenceWinfo {
                watcher_info: Box::new(w),
            })
    };
    move |n| read(n).into_iter().collect()
}

fn summary_reader(n: GotNotify) -> Vec<NotificationData> {
    let Some(body) = n.body else {
        return Vec::new();
    };
    MessageSummary::parse(&body.data, &SummaryLimits::default())
        .map(|summary| NotificationData::SIPAccountGotMessageSummary {
            summary: Box::new(summary),
        })
        .into_iter()
        .collect()
}

impl Account {
    fn identity(&self) -> Identity {
        Identity {
            uri: self.uri.clone(),
            display_name: self.text("display_name"),
            credentials: self.credentials(),
            contact_user: self.contact_user.clone(),
            outbound_proxy: self.outbound_proxy(),
            tls_name: self.text("tls.name"),
            domain: self.id.domain.clone(),
            center: self.center.clone(),
            sender: self.sender,
        }
    }

    fn active_services(&self) -> Result<Services, String> {
        self.services()
            .filter(|_| self.is_active())
            .ok_or_else(|| format!("account {} is not active", self.id))
    }

    /// Subscribes to `event` of `target` as this account (outbound proxy,
    /// credentials, Contact). The subscription's own notifications
    /// (SIPSubscription*) go under its sender id. Needs the account
    /// active.
    pub async fn subscribe(
        &self,
        target: &str,
        event: &str,
        accept: &[&str],
    ) -> Result<Subscription, String> {
        let services = self.active_services()?;
        let target = parse_uri(target)?;
        let identity = self.identity();
        let options = identity.options(event, accept, &target);
        identity.subscribe(&services, target, options).await
    }

    /// As [`subscribe`](Self::subscribe) with the caller's `options`
    /// (event, accept, expiry, a filter body); the account fills in its
    /// credentials, display name, Contact user and TLS name.
    pub async fn subscribe_with(
        &self,
        target: &str,
        options: SubscriptionOptions,
    ) -> Result<Subscription, String> {
        let services = self.active_services()?;
        let target = parse_uri(target)?;
        let identity = self.identity();
        let mut filled = identity.options(&options.event, &[], &target);
        filled.accept = options.accept;
        filled.expires = options.expires;
        filled.supported = options.supported;
        filled.body = options.body;
        identity.subscribe(&services, target, filled).await
    }

    /// Publishes `presence` as this account's state (the first call
    /// starts the publication, later ones modify it). The publication's
    /// SIPPublication* notifications go under its sender id.
    pub async fn publish_presence(&self, presence: &Presence) -> Result<Publication, String> {
        let services = self.active_services()?;
        let existing = lock(&self.events)
            .publication
            .clone()
            .filter(|p| p.state() != PublicationState::Ended);
        let publication = match existing {
            Some(p) => p,
            None => {
                let identity = self.identity();
                let routes = identity.routes(&services, &self.uri).await?;
                let p = Publication::start(
                    &services,
                    &self.center,
                    self.uri.clone(),
                    PublicationOptions {
                        event: "presence".into(),
                        expires: PRESENCE_EXPIRES,
                        tls_name: identity.tls_name_towards(&self.uri),
                        credentials: Some(identity.credentials),
                    },
                    routes,
                )?;
                lock(&self.events).publication = Some(p.clone());
                p
            }
        };
        publication.publish("application/pidf+xml", presence.to_xml());
        Ok(publication)
    }

    /// A publication of `options.event` for `aor` sent as this account
    /// (outbound proxy; the account's credentials unless `options` has
    /// others). Nothing is sent until its `publish`.
    pub async fn publish_event(
        &self,
        aor: &str,
        mut options: PublicationOptions,
    ) -> Result<Publication, String> {
        let services = self.active_services()?;
        let aor = parse_uri(aor)?;
        let identity = self.identity();
        let routes = identity.routes(&services, &aor).await?;
        options.tls_name = options.tls_name.or(identity.tls_name_towards(&aor));
        options.credentials = options.credentials.or(Some(identity.credentials));
        Publication::start(&services, &self.center, aor, options, routes)
    }

    /// Removes the published presence (SIPPublicationDidEnd follows).
    pub fn unpublish_presence(&self) {
        if let Some(p) = lock(&self.events).publication.take() {
            p.end();
        }
    }

    /// Watches `contact`'s presence: SIPAccountGotPresenceState under the
    /// account's sender id with each NOTIFY (watching it again is a
    /// no-op). Needs the account active.
    ///
    /// With `presence.subscribe_rls`, `contact` joins the account's
    /// presence list instead (written to the XCAP server, see
    /// [`publish_presence_list`](Self::publish_presence_list)) and the
    /// subscription returned is the one list subscription to
    /// [`presence_list_uri`](Self::presence_list_uri) (RFC 4662), started
    /// with the first member: its NOTIFYs post SIPAccountGotPresenceListState
    /// and, for each member they carry, SIPAccountGotPresenceState as
    /// above.
    pub async fn watch_presence(&self, contact: &str) -> Result<Subscription, String> {
        let services = self.active_services()?;
        let target = parse_uri(contact)?;
        let key = target.to_string();
        if self.flag("presence.subscribe_rls") {
            return self.watch_in_list(&services, key).await;
        }
        if let Some((_, s)) = lock(&self.events)
            .watched
            .iter()
            .find(|(k, s)| *k == key && s.state() != SubscriptionState::Terminated)
        {
            return Ok(s.clone());
        }
        let identity = self.identity();
        let options = identity.options("presence", &["application/pidf+xml"], &target);
        let s = identity
            .service(&services, target, options, presence_of(key.clone()))
            .await?;
        let mut events = lock(&self.events);
        events.watched.retain(|(k, _)| *k != key);
        events.watched.push((key, s.clone()));
        Ok(s)
    }

    /// Stops watching `contact` (unsubscribes; a member of the presence
    /// list leaves it: the list is written again in the background, and
    /// the list subscription ends with its last member).
    pub fn unwatch_presence(&self, contact: &str) {
        let key = parse_uri(contact)
            .map(|u| u.to_string())
            .unwrap_or_default();
        self.unwatch_in_list(&key);
        let mut events = lock(&self.events);
        events.watched.retain(|(k, s)| {
            if *k == key {
                s.end();
            }
            *k != key
        });
    }

    /// The contacts watched now (one subscription each, then the
    /// presence list's members).
    pub fn watched_contacts(&self) -> Vec<String> {
        let events = lock(&self.events);
        let mut all: Vec<String> = events.watched.iter().map(|(k, _)| k.clone()).collect();
        for m in &events.list_members {
            if !all.contains(m) {
                all.push(m.clone());
            }
        }
        all
    }

    /// The presence list subscription, while it runs.
    pub fn presence_list_subscription(&self) -> Option<Subscription> {
        running(&lock(&self.events).list)
    }

    async fn watch_in_list(
        &self,
        services: &Services,
        key: String,
    ) -> Result<Subscription, String> {
        let edit = lock(&self.events).list_edit.clone();
        let _editing = edit.lock().await;
        let (mut members, subscription) = {
            let events = lock(&self.events);
            (events.list_members.clone(), running(&events.list))
        };
        if members.contains(&key) {
            if let Some(s) = subscription {
                return Ok(s);
            }
        } else {
            if members.len() >= super::rls::MAX_LIST_MEMBERS {
                return Err(format!(
                    "the presence list has {} members already",
                    members.len()
                ));
            }
            members.push(key);
        }
        self.publish_presence_list(&members)
            .await
            .map_err(|e| format!("presence.subscribe_rls: {e}"))?;
        lock(&self.events).list_members = members;
        // A running subscription follows the list at the server (an RLS
        // re-reads a list its XCAP server changed).
        if let Some(s) = subscription {
            return Ok(s);
        }
        let identity = self.identity();
        let target = parse_uri(&self.presence_list_uri())?;
        let mut options = identity.options("presence", &super::rls::LIST_ACCEPT, &target);
        options.supported = vec!["eventlist".to_owned()];
        let mut reader = super::rls::ListReader::new();
        let s = identity
            .service(services, target, options, move |n| reader.read(n))
            .await?;
        if !self.is_active() {
            // Deactivated meanwhile: what it stopped did not include this.
            s.end();
            return Err(format!("account {} is not active", self.id));
        }
        lock(&self.events).list = Some(s.clone());
        Ok(s)
    }

    /// Takes `key` out of the presence list, if it is a member: the list
    /// is written again (in the background: this is called from sync
    /// code), and the subscription ends when no member is left.
    fn unwatch_in_list(&self, key: &str) {
        if !lock(&self.events).list_members.iter().any(|m| m == key) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            lock(&self.events).list_members.retain(|m| m != key);
            return;
        };
        let edit = lock(&self.events).list_edit.clone();
        let events = self.events.clone();
        let client = self.xcap_client();
        let service = self.presence_list_uri();
        let key = key.to_owned();
        runtime.spawn(async move {
            let _editing = edit.lock().await;
            let members: Vec<String> = {
                let mut events = lock(&events);
                events.list_members.retain(|m| *m != key);
                events.list_members.clone()
            };
            // A failed write leaves the member at the server; the next
            // edit writes the list again.
            if let Ok(client) = client {
                let _ = super::rls::write_list(&client, &service, &members).await;
            }
            if members.is_empty() {
                if let Some(s) = lock(&events).list.take() {
                    s.end();
                }
            }
        });
    }

    fn flag(&self, path: &str) -> bool {
        matches!(self.get(path), Ok(Some(Value::Boolean(true))))
    }

    /// Watches this account's own watchers (RFC 3857 `presence.winfo`):
    /// SIPAccountGotPresenceWinfo under the account's sender id with the
    /// watcher list kept so far, at each NOTIFY. Started on activation
    /// when `presence.enabled`; calling it again returns the running
    /// subscription. Needs the account active.
    pub async fn watch_watchers(&self) -> Result<Subscription, String> {
        let services = self.active_services()?;
        start_winfo(&self.identity(), &services, &self.events).await
    }

    /// Watches this account's voicemail (RFC 3842 `message-summary`) at
    /// `message_summary.voicemail_uri`, else its own address:
    /// SIPAccountGotMessageSummary under the account's sender id. Started
    /// on activation when `message_summary.enabled`; calling it again
    /// returns the running subscription. Needs the account active.
    pub async fn watch_message_summary(&self) -> Result<Subscription, String> {
        let services = self.active_services()?;
        start_mwi(&self.identity(), &services, &self.events, self.mailbox()).await
    }

    fn mailbox(&self) -> Uri<'static> {
        self.text("message_summary.voicemail_uri")
            .and_then(|v| parse_uri(&v).ok())
            .unwrap_or_else(|| self.uri.clone())
    }

    /// On activation: the winfo and message-summary subscriptions the
    /// settings ask for (spawned: activation must not wait for DNS).
    pub(super) fn start_event_services(&self, services: Services) {
        let identity = self.identity();
        let winfo = self.flag("presence.enabled");
        let mwi = self.flag("message_summary.enabled").then(|| self.mailbox());
        if !winfo && mwi.is_none() {
            return;
        }
        let events = self.events.clone();
        tokio::spawn(async move {
            // A failure to start leaves the service off; the application
            // can start it again with watch_watchers/watch_message_summary.
            if winfo {
                let _ = start_winfo(&identity, &services, &events).await;
            }
            if let Some(mailbox) = mwi {
                let _ = start_mwi(&identity, &services, &events, mailbox).await;
            }
        });
    }

    /// On deactivation: unsubscribes everything and removes the published
    /// state, waiting (bounded) for it to be done.
    pub(super) async fn stop_event_services(&self) {
        let taken = std::mem::take(&mut *lock(&self.events));
        let subscriptions: Vec<Subscription> = taken
            .watched
            .into_iter()
            .map(|(_, s)| s)
            .chain(taken.winfo)
            .chain(taken.mwi)
            .chain(taken.list)
            .collect();
        for s in &subscriptions {
            s.end();
        }
        if let Some(p) = &taken.publication {
            p.end();
        }
        let done = async {
            loop {
                let subs_done = subscriptions
                    .iter()
                    .all(|s| s.state() == SubscriptionState::Terminated);
                let pub_done = taken
                    .publication
                    .as_ref()
                    .is_none_or(|p| p.state() == PublicationState::Ended);
                if subs_done && pub_done {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        let _ = tokio::time::timeout(SERVICES_GRACE, done).await;
    }
}

/// Ends every service without waiting (a setting turned the account off).
pub(super) fn end_all(events: EventServices) {
    for (_, s) in &events.watched {
        s.end();
    }
    for s in events
        .winfo
        .iter()
        .chain(events.mwi.iter())
        .chain(events.list.iter())
    {
        s.end();
    }
    if let Some(p) = &events.publication {
        p.end();
    }
}

/// The running one of `slot`, if any.
fn running(slot: &Option<Subscription>) -> Option<Subscription> {
    slot.clone()
        .filter(|s| s.state() != SubscriptionState::Terminated)
}

async fn start_winfo(
    identity: &Identity,
    services: &Services,
    events: &EventServicesCell,
) -> Result<Subscription, String> {
    if let Some(s) = running(&lock(events).winfo) {
        return Ok(s);
    }
    let options = identity.options(
        "presence.winfo",
        &["application/watcherinfo+xml"],
        &identity.uri,
    );
    let s = identity
        .service(services, identity.uri.clone(), options, winfo_reader())
        .await?;
    lock(events).winfo = Some(s.clone());
    Ok(s)
}

async fn start_mwi(
    identity: &Identity,
    services: &Services,
    events: &EventServicesCell,
    mailbox: Uri<'static>,
) -> Result<Subscription, String> {
    if let Some(s) = running(&lock(events).mwi) {
        return Ok(s);
    }
    let mut options = identity.options(
        "message-summary",
        &["application/simple-message-summary"],
        &mailbox,
    );
    options.expires = 3600;
    let s = identity
        .service(services, mailbox, options, summary_reader)
        .await?;
    lock(events).mwi = Some(s.clone());
    Ok(s)
}

fn parse_uri(text: &str) -> Result<Uri<'static>, String> {
    let schemes = ["sip:", "sips:", "tel:", "pres:"];
    let lower = text.to_ascii_lowercase();
    let with_scheme = if schemes.iter().any(|s| lower.starts_with(s)) {
        text.to_owned()
    } else {
        format!("sip:{text}")
    };
    Uri::parse(&with_scheme)
        .map(|u| u.into_owned())
        .map_err(|e| format!("{text:?} is not a SIP URI: {e}"))
}

/// Shared between the account and its spawned service starters.
pub(crate) type EventServicesCell = Arc<Mutex<EventServices>>;
