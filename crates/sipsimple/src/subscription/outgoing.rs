//! The SIP core's Subscription: one subscription we hold to an event
//! package of a resource, run as a task over the engine.
//!
//! Requests go out in their own client transactions, each spawned, so a
//! NOTIFY that comes before the 2xx of its SUBSCRIBE (RFC 6665 §4.1.2.4)
//! is read while the SUBSCRIBE is still in flight. The initial SUBSCRIBE
//! goes to the first hop the caller found (outbound proxy or the
//! resource's RFC 3263 routes); the rest follow their dialog (first Route,
//! else the notifier's Contact).

use crate::sync::lock;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sip_proto::digest::CredentialStore;
use sip_proto::headers::{HeaderName, NameAddr};
use sip_proto::invite::Body;
use sip_proto::subscription::{
    timeout_response, SubStateValue, SubscribeConfig, Subscriber, SubscriberEvent,
    SubscriptionStatus,
};
use sip_proto::transaction::Target;
use sip_proto::uri::Uri;
use sip_proto::{Request, Response};
use tokio::sync::{mpsc, watch};

use super::EventDialogs;
use crate::account::Credentials;
use crate::engine::{host_port, transport_param, via_without_branch, EngineError};
use crate::lookup::Route;
use crate::notification::{NotificationCenter, NotificationData, SenderId};
use crate::random;
use crate::router::IncomingRequest;
use crate::services::Services;

/// NOTIFYs waiting for the task; more get 500 with Retry-After.
const INBOX: usize = 64;

/// What to subscribe to and how.
#[derive(Clone)]
pub struct SubscriptionOptions {
    /// The event package (`presence`, `presence.winfo`, `message-summary`).
    pub event: String,
    /// Body types we read, most preferred first (Accept).
    pub accept: Vec<String>,
    /// The expiry to ask for, in seconds.
    pub expires: u32,
    /// Option tags for Supported (`eventlist`: a list may answer, RFC
    /// 4662 §4.1).
    pub supported: Vec<String>,
    pub credentials: Option<Credentials>,
    pub display_name: Option<String>,
    /// The user part of our Contact (an account's contact user).
    pub contact_user: String,
    /// A body for the SUBSCRIBE (a filter, say): type and bytes.
    pub body: Option<(String, Vec<u8>)>,
    /// The name a TLS first hop's certificate must carry.
    pub tls_name: Option<String>,
    /// Each NOTIFY's state and body also go here (an account's service
    /// reads them: the notification queue may drop under load, this
    /// does not).
    pub(crate) hook: Option<mpsc::UnboundedSender<GotNotify>>,
}

/// A NOTIFY as a hook gets it.
pub(crate) struct GotNotify {
    pub state: String,
    pub body: Option<Body>,
}

impl std::fmt::Debug for SubscriptionOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubscriptionOptions")
            .field("event", &self.event)
            .field("accept", &self.accept)
            .field("expires", &self.expires)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl SubscriptionOptions {
    pub fn new(event: &str, accept: &[&str]) -> SubscriptionOptions {
        SubscriptionOptions {
            event: event.to_owned(),
            accept: accept.iter().map(|a| (*a).to_owned()).collect(),
            expires: 600,
            supported: Vec::new(),
            credentials: None,
            display_name: None,
            contact_user: random::letters(8),
            body: None,
            tls_name: None,
            hook: None,
        }
    }
}

/// Where a subscription is (the python-sipsimple core's state names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionState {
    /// Not started.
    Null,
    /// SUBSCRIBE sent, nothing accepted yet.
    Sent,
    /// The notifier has not authorized us yet.
    Pending,
    Active,
    Terminated,
}

impl SubscriptionState {
    pub fn as_str(&self) -> &'static str {
        match self {
            SubscriptionState::Null => "NULL",
            SubscriptionState::Sent => "SENT",
            SubscriptionState::Pending => "PENDING",
            SubscriptionState::Active => "ACTIVE",
            SubscriptionState::Terminated => "TERMINATED",
        }
    }
}

struct Shared {
    sender: SenderId,
    state: Mutex<SubscriptionState>,
    stop: watch::Sender<bool>,
    event: String,
    target: Uri<'static>,
}

/// One subscription (RFC 6665) we hold. Cloning shares it; when the last
/// handle goes the subscription ends (unsubscribes) by itself.
#[derive(Clone)]
pub struct Subscription {
    shared: Arc<Shared>,
    _ender: Arc<Ender>,
}

/// Ends the subscription when the last handle is dropped.
struct Ender(watch::Sender<bool>);

impl Drop for Ender {
    fn drop(&mut self) {
        let _ = self.0.send(true);
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("event", &self.shared.event)
            .field("target", &self.shared.target.to_string())
            .field("state", &self.state())
            .finish()
    }
}

impl Subscription {
    /// Subscribes `from` to `event` of `target`, the initial SUBSCRIBE
    /// through `routes` (the first that answers; a transport failure on
    /// one moves to the next). Notifications go to `center` under the
    /// returned subscription's sender id. Needs the application running
    /// (`services`, `dialogs`: its engine and NOTIFY table).
    pub fn start(
        services: &Services,
        dialogs: &EventDialogs,
        center: &NotificationCenter,
        from: Uri<'static>,
        target: Uri<'static>,
        options: SubscriptionOptions,
        routes: Vec<Route>,
    ) -> Result<Subscription, String> {
        let Some(first) = routes.first().copied() else {
            return Err(format!("no route to {target}"));
        };
        let local = services
            .engine
            .local_addr_towards(first.transport, first.socket_addr())
            .ok_or_else(|| format!("no {} transport is running", first.transport.via_name()))?;
        let contact = Uri::parse(&format!(
            "sip:{}@{}{}",
            options.contact_user,
            host_port(local),
            transport_param(first.transport)
        ))
        .map_err(|e| e.to_string())?
        .into_owned();
        let mut local_addr = NameAddr::new(from);
        if let Some(name) = &options.display_name {
            local_addr = local_addr.with_display_name(name.clone());
        }
        let config = SubscribeConfig {
            local: local_addr,
            target: target.clone(),
            contact,
            event: options.event.clone(),
            event_id: None,
            accept: options.accept.clone(),
            expires: options.expires,
            supported: options.supported.clone(),
            call_id: format!("{}@{}", random::tag(), local.ip()),
            from_tag: random::tag(),
            via: via_without_branch(first.transport, local),
            branch_prefix: random::letters(10),
            user_agent: services.user_agent.clone(),
            body: options.body.as_ref().map(|(t, b)| Body {
                content_type: t.clone(),
                data: b.clone(),
            }),
            retry_default: Duration::from_secs(60),
            // RFC 6665 §4.1.2.4: 64·T1.
            notify_wait: Duration::from_secs(32),
        };
        let credentials = match &options.credentials {
            Some(c) => CredentialStore::with_default(&c.username, &c.password),
            None => CredentialStore::new(),
        };
        let (stop, stop_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            sender: center.new_sender(),
            state: Mutex::new(SubscriptionState::Null),
            stop: stop.clone(),
            event: options.event.clone(),
            target,
        });
        let (inbox_tx, inbox) = mpsc::channel(INBOX);
        let (answers_tx, answers) = mpsc::unbounded_channel();
        let task = Task {
            core: Subscriber::new(config, credentials),
            services: services.clone(),
            dialogs: dialogs.clone(),
            center: center.clone(),
            shared: shared.clone(),
            routes,
            tls_name: options.tls_name.clone(),
            hook: options.hook.clone(),
            inbox_tx,
            inbox,
            answers_tx,
            answers,
            registered: None,
            started: false,
            unsubscribing: false,
            engine_gone: false,
            in_flight: 0,
        };
        tokio::spawn(task.run(stop_rx));
        Ok(Subscription {
            shared,
            _ender: Arc::new(Ender(stop)),
        })
    }

    /// The sender id of this subscription's notifications.
    pub fn sender(&self) -> SenderId {
        self.shared.sender
    }

    pub fn state(&self) -> SubscriptionState {
        *lock(&self.shared.state)
    }

    pub fn event(&self) -> &str {
        &self.shared.event
    }

    pub fn target(&self) -> &Uri<'static> {
        &self.shared.target
    }

    /// Unsubscribes (Expires 0 on every dialog); SIPSubscriptionDidEnd
    /// follows the final NOTIFY (or 32 s without one).
    pub fn end(&self) {
        let _ = self.shared.stop.send(true);
    }
}

struct Task {
    core: Subscriber,
    services: Services,
    dialogs: EventDialogs,
    center: NotificationCenter,
    shared: Arc<Shared>,
    /// The first hops for initial SUBSCRIBEs, best first.
    routes: Vec<Route>,
    tls_name: Option<String>,
    hook: Option<mpsc::UnboundedSender<GotNotify>>,
    inbox_tx: mpsc::Sender<Box<IncomingRequest>>,
    inbox: mpsc::Receiver<Box<IncomingRequest>>,
    answers_tx: mpsc::UnboundedSender<(Response, bool)>,
    answers: mpsc::UnboundedReceiver<(Response, bool)>,
    /// The Call-ID the NOTIFY table knows us by.
    registered: Option<String>,
    started: bool,
    unsubscribing: bool,
    engine_gone: bool,
    /// Requests sent and not answered yet.
    in_flight: usize,
}

fn state_of(status: &SubscriptionStatus) -> SubscriptionState {
    match status {
        SubscriptionStatus::Subscribing => SubscriptionState::Sent,
        SubscriptionStatus::Pending => SubscriptionState::Pending,
        SubscriptionStatus::Active => SubscriptionState::Active,
        SubscriptionStatus::Terminated { .. } => SubscriptionState::Terminated,
    }
}

impl Task {
    fn post(&self, data: NotificationData) {
        self.center.post(self.shared.sender, data);
    }

    /// Keeps the NOTIFY table on the current Call-ID.
    fn register(&mut self) {
        let current = self.core.call_id().to_owned();
        if self.registered.as_deref() == Some(current.as_str()) {
            return;
        }
        if let Some(old) = self.registered.take() {
            self.dialogs.remove(&old);
        }
        self.dialogs.insert(&current, self.inbox_tx.clone());
        self.registered = Some(current);
    }

    fn send(&mut self, request: Request) {
        let in_dialog = request
            .headers
            .get_str(&HeaderName::To)
            .is_some_and(|t| t.contains("tag="));
        let services = self.services.clone();
        let answers = self.answers_tx.clone();
        let routes = if in_dialog {
            Vec::new()
        } else {
            self.routes.clone()
        };
        let tls_name = self.tls_name.clone();
        self.in_flight += 1;
        tokio::spawn(async move {
            // Initial SUBSCRIBEs wait their turn (Services::subscribing);
            // a refresh or an unsubscribe goes at once.
            let _permit = if in_dialog {
                None
            } else {
                services.subscribing.clone().acquire_owned().await.ok()
            };
            let (response, gone) = exchange(&services, routes, tls_name, request).await;
            let _ = answers.send((response, gone));
        });
    }

    /// Sends what the core wants sent and posts what it reports; false
    /// when the subscription is over.
    fn drive(&mut self) -> bool {
        self.register();
        while let Some(r) = self.core.poll_request() {
            self.send(r);
        }
        while let Some(event) = self.core.poll_event() {
            match event {
                SubscriberEvent::Notify {
                    remote_tag: _,
                    state,
                    body,
                } => {
                    let state = match state.value {
                        SubStateValue::Active => "active".to_owned(),
                        SubStateValue::Pending => "pending".to_owned(),
                        SubStateValue::Terminated => "terminated".to_owned(),
                        SubStateValue::Other(o) => o,
                    };
                    if let Some(hook) = &self.hook {
                        let _ = hook.send(GotNotify {
                            state: state.clone(),
                            body: body.clone(),
                        });
                    }
                    let (content_type, body) = match body {
                        Some(b) => (Some(b.content_type), b.data),
                        None => (None, Vec::new()),
                    };
                    self.post(NotificationData::SIPSubscriptionGotNotify {
                        event: self.shared.event.clone(),
                        state,
                        content_type,
                        body,
                    });
                }
                SubscriberEvent::Failed { code, reason } => {
                    self.post(NotificationData::SIPSubscriptionDidFail { code, reason });
                }
                SubscriberEvent::Status(status) => {
                    let state = state_of(&status);
                    let before = std::mem::replace(&mut *lock(&self.shared.state), state);
                    if matches!(
                        state,
                        SubscriptionState::Pending | SubscriptionState::Active
                    ) && !self.started
                    {
                        self.started = true;
                        self.post(NotificationData::SIPSubscriptionDidStart);
                    }
                    if before != state {
                        self.post(NotificationData::SIPSubscriptionChangedState {
                            state: state.as_str().to_owned(),
                        });
                    }
                    if let SubscriptionStatus::Terminated {
                        reason,
                        retry_after: None,
                    } = status
                    {
                        self.post(NotificationData::SIPSubscriptionDidEnd {
                            originator: if self.unsubscribing {
                                "local"
                            } else {
                                "remote"
                            }
                            .to_owned(),
                            reason: reason.map(|r| r.as_str().to_owned()),
                        });
                        return false;
                    }
                }
            }
        }
        !(self.engine_gone && self.in_flight == 0)
    }

    async fn run(mut self, mut stop: watch::Receiver<bool>) {
        self.core.subscribe();
        loop {
            if !self.drive() {
                break;
            }
            let deadline = self.core.poll_timeout();
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                changed = stop.changed(), if !self.unsubscribing => {
                    if changed.is_err() || *stop.borrow() {
                        self.unsubscribing = true;
                        self.core.unsubscribe(Instant::now());
                    }
                }
                Some((response, gone)) = self.answers.recv() => {
                    self.in_flight = self.in_flight.saturating_sub(1);
                    self.engine_gone |= gone;
                    self.core.handle_response(&response, Instant::now());
                }
                Some(notify) = self.inbox.recv() => {
                    let response = self.core.handle_notify(&notify.request, Instant::now());
                    notify.responder.send(&notify.key, response).await;
                }
                _ = sleep => self.core.handle_timeout(Instant::now()),
            }
        }
        *lock(&self.shared.state) = SubscriptionState::Terminated;
        if let Some(c) = self.registered.take() {
            self.dialogs.remove(&c);
        }
    }
}

/// The final response to `request` (a 408 built here when none came),
/// and whether the engine has stopped. Outside a dialog it tries
/// `routes` in order while a route fails at the transport or answers 503
/// (RFC 3263 §4.3); inside one it goes to the dialog's next hop.
pub(super) async fn exchange(
    services: &Services,
    routes: Vec<Route>,
    tls_name: Option<String>,
    request: Request,
) -> (Response, bool) {
    let targets: Vec<Target> = if routes.is_empty() {
        let next =
            crate::lookup::next_hop(&services.dns, &services.engine.transports(), &request).await;
        next.into_iter().collect()
    } else {
        routes
            .iter()
            .map(|r| Target {
                addr: r.socket_addr(),
                transport: r.transport,
            })
            .collect()
    };
    let name = tls_name.or_else(|| {
        request
            .uri()
            .ok()
            .and_then(|u| u.as_sip().map(|s| s.host.to_string()))
    });
    let mut unavailable = None;
    let last = targets.len().saturating_sub(1);
    for (attempt, target) in targets.into_iter().enumerate() {
        let attempt_request = crate::engine::rebranched(&request, attempt);
        match services
            .engine
            .request(attempt_request, target, name.as_deref())
            .await
        {
            Ok(mut answers) => match answers.final_response().await {
                // §4.3: a 503 sends the request on to the next hop too.
                Some(r) if r.status.code() == 503 && attempt < last => unavailable = Some(r),
                Some(r) => return (r, false),
                None => {}
            },
            Err(EngineError::Stopped) => return (timeout_response(&request), true),
            Err(_) => {}
        }
    }
    (
        unavailable.unwrap_or_else(|| timeout_response(&request)),
        false,
    )
}
