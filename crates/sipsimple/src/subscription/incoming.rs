//! The SIP core's IncomingSubscription: a subscription someone holds to
//! one of our event packages (we are the notifier, RFC 6665 §4.2), run
//! as a task over the engine.
//!
//! The application says which packages it serves
//! ([`IncomingSubscriptions::accept_events`]); a SUBSCRIBE for another
//! gets 489 with Allow-Events. A new subscription is posted as
//! SIPIncomingSubscriptionGotSubscribe carrying its handle, and waits
//! for the application's decision: [`IncomingSubscription::accept`]
//! (200, then a NOTIFY with the state), `accept_pending` (202, a pending
//! NOTIFY; `accept` later authorizes), or `reject`. Undecided after
//! [`DECISION_WAIT`] it gets 480, so the subscriber's transaction never
//! times out. The task then answers refreshes and the unsubscribe from
//! the dialog, sends a NOTIFY for each refresh and each `push_content`,
//! and ends the subscription on expiry (reason timeout), on `end`, or
//! when the subscriber's side answers a NOTIFY with 481/408 (§4.2.2).
//! Who may subscribe is the application's call: there is no digest
//! challenge here.

use crate::sync::lock;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sip_proto::headers::HeaderName;
use sip_proto::invite::Body;
use sip_proto::subscription::{
    IncomingSubscription as Notifier, NotifierConfig, TerminationReason,
};
use sip_proto::{Method, Request, Response};
use tokio::sync::mpsc;

use super::{outgoing::exchange, EventDialogs};
use crate::engine::{host_port, transport_param, via_without_branch};
use crate::notification::{NotificationCenter, NotificationData, SenderId};
use crate::random;
use crate::router::{Disposition, IncomingRequest, RequestOwner};
use crate::services::Services;

/// How long a new subscription waits for the application's decision.
pub const DECISION_WAIT: Duration = Duration::from_secs(10);

/// SUBSCRIBEs waiting for a subscription's task; more get 500.
const INBOX: usize = 16;

/// Expiry bounds: shorter asks get 423, longer ones are cut.
const MIN_EXPIRES: u32 = 60;
const MAX_EXPIRES: u32 = 3600;
/// RFC 3856 §6.4 (presence), RFC 3857 §4.4 (winfo): one hour.
const DEFAULT_EXPIRES: u32 = 3600;

/// Where an incoming subscription stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncomingSubscriptionState {
    /// Waiting for the application's decision.
    Incoming,
    /// Accepted as pending (202): awaiting authorization.
    Pending,
    Active,
    Terminated,
}

impl IncomingSubscriptionState {
    pub fn as_str(self) -> &'static str {
        match self {
            IncomingSubscriptionState::Incoming => "incoming",
            IncomingSubscriptionState::Pending => "pending",
            IncomingSubscriptionState::Active => "active",
            IncomingSubscriptionState::Terminated => "terminated",
        }
    }
}

enum Command {
    Accept { body: Option<Body>, pending: bool },
    Reject(u16),
    Push(Body),
    End(Option<TerminationReason>),
}

struct Shared {
    sender: SenderId,
    event: String,
    /// The subscriber as its From header names it.
    remote: String,
    state: Mutex<IncomingSubscriptionState>,
    commands: mpsc::UnboundedSender<Command>,
}

/// A subscription to one of our event packages. Cloning shares it.
#[derive(Clone)]
pub struct IncomingSubscription {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for IncomingSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IncomingSubscription")
            .field("event", &self.shared.event)
            .field("remote", &self.shared.remote)
            .field("state", &self.state())
            .finish()
    }
}

impl PartialEq for IncomingSubscription {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl IncomingSubscription {
    /// The sender id of this subscription's notifications.
    pub fn sender(&self) -> SenderId {
        self.shared.sender
    }

    /// The event package subscribed to.
    pub fn event(&self) -> &str {
        &self.shared.event
    }

    /// The subscriber, as its From header says (`"Name" <uri>;tag=..`).
    pub fn remote_identity(&self) -> &str {
        &self.shared.remote
    }

    pub fn state(&self) -> IncomingSubscriptionState {
        *lock(&self.shared.state)
    }

    fn command(&self, c: Command) {
        // A finished task ignores what comes after.
        let _ = self.shared.commands.send(c);
    }

    /// Accepts (200) and sends the first NOTIFY, active, with `body` as
    /// the state (`None`: a NOTIFY without a body). On a pending
    /// subscription: authorizes it (an active NOTIFY).
    pub fn accept(&self, content_type: &str, body: impl Into<Vec<u8>>) {
        self.command(Command::Accept {
            body: Some(Body {
                content_type: content_type.to_owned(),
                data: body.into(),
            }),
            pending: false,
        });
    }

    /// Accepts as pending (202): the subscriber learns it awaits
    /// authorization; `accept` or `reject` later decides.
    pub fn accept_pending(&self) {
        self.command(Command::Accept {
            body: None,
            pending: true,
        });
    }

    /// Refuses a new subscription with `code` (4xx-6xx); a pending one
    /// ends with a NOTIFY terminated;reason=rejected.
    pub fn reject(&self, code: u16) {
        self.command(Command::Reject(code));
    }

    /// New state for the subscriber: a NOTIFY now if active (kept for
    /// the authorization NOTIFY if pending).
    pub fn push_content(&self, content_type: &str, body: impl Into<Vec<u8>>) {
        self.command(Command::Push(Body {
            content_type: content_type.to_owned(),
            data: body.into(),
        }));
    }

    /// Ends the subscription: a final NOTIFY terminated with `reason`
    /// (`None`: noresource).
    pub fn end(&self, reason: Option<TerminationReason>) {
        self.command(Command::End(reason));
    }
}

/// The application's incoming subscriptions: the packages served and
/// the subscriptions alive. Cloning shares them.
#[derive(Clone, Default)]
pub struct IncomingSubscriptions {
    events: Arc<Mutex<Vec<String>>>,
    services: Arc<Mutex<Option<Services>>>,
    live: Arc<Mutex<Vec<IncomingSubscription>>>,
    dialogs: EventDialogs,
    center: NotificationCenter,
}

impl IncomingSubscriptions {
    pub(crate) fn new(center: NotificationCenter) -> IncomingSubscriptions {
        IncomingSubscriptions {
            center,
            ..Default::default()
        }
    }

    /// Serves these event packages from now on (`presence`, ...).
    pub fn accept_events(&self, events: &[&str]) {
        let mut list = lock(&self.events);
        for e in events {
            if !list.iter().any(|k| k.eq_ignore_ascii_case(e)) {
                list.push(e.to_ascii_lowercase());
            }
        }
    }

    /// No longer takes new subscriptions to `event` (running ones go on).
    pub fn refuse_event(&self, event: &str) {
        lock(&self.events).retain(|k| !k.eq_ignore_ascii_case(event));
    }

    pub fn accepted_events(&self) -> Vec<String> {
        lock(&self.events).clone()
    }

    /// The subscriptions not terminated yet.
    pub fn subscriptions(&self) -> Vec<IncomingSubscription> {
        let mut live = lock(&self.live);
        live.retain(|s| s.state() != IncomingSubscriptionState::Terminated);
        live.clone()
    }

    pub(crate) fn start(&self, services: Services) {
        *lock(&self.services) = Some(services);
    }

    /// Ends every subscription (noresource: this user agent goes away)
    /// and waits, bounded, for their final NOTIFYs to be answered.
    pub(crate) async fn stop(&self, grace: Duration) {
        let live = self.subscriptions();
        for s in &live {
            s.end(None);
        }
        let _ = tokio::time::timeout(grace, async {
            while live
                .iter()
                .any(|s| s.state() != IncomingSubscriptionState::Terminated)
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        *lock(&self.services) = None;
    }

    /// A new subscription from an out-of-dialog SUBSCRIBE we serve.
    fn create(&self, services: Services, incoming: IncomingRequest) {
        let request = &incoming.request;
        let event = request
            .headers
            .get_str(&HeaderName::Event)
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let remote = request
            .headers
            .get_str(&HeaderName::From)
            .unwrap_or_default()
            .to_owned();
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            sender: self.center.new_sender(),
            event: event.clone(),
            remote: remote.clone(),
            state: Mutex::new(IncomingSubscriptionState::Incoming),
            commands,
        });
        let handle = IncomingSubscription { shared };
        lock(&self.live).push(handle.clone());
        let (inbox_tx, inbox) = mpsc::channel(INBOX);
        let call_id = request
            .headers
            .get_str(&HeaderName::CallId)
            .unwrap_or_default()
            .to_owned();
        self.dialogs.insert(&call_id, inbox_tx);
        let request_uri = request.uri_str().to_owned();
        let task = Task {
            handle: handle.clone(),
            services,
            center: self.center.clone(),
            dialogs: self.dialogs.clone(),
            packages: self.accepted_events(),
            call_id,
            core: None,
            latest: None,
            answers_tx: mpsc::unbounded_channel().0,
            in_flight: 0,
            ending: false,
        };
        self.center.post(
            handle.sender(),
            NotificationData::SIPIncomingSubscriptionGotSubscribe {
                subscription: handle,
                event,
                from: remote,
                request_uri,
            },
        );
        tokio::spawn(task.run(Box::new(incoming), commands_rx, inbox));
    }
}

struct Task {
    handle: IncomingSubscription,
    services: Services,
    center: NotificationCenter,
    dialogs: EventDialogs,
    packages: Vec<String>,
    call_id: String,
    core: Option<Notifier>,
    /// The state to send with the next NOTIFY.
    latest: Option<Body>,
    answers_tx: mpsc::UnboundedSender<Response>,
    in_flight: usize,
    /// The final NOTIFY is out: the task ends once it is answered.
    ending: bool,
}

impl Task {
    fn post(&self, data: NotificationData) {
        self.center.post(self.handle.sender(), data);
    }

    fn set_state(&self, state: IncomingSubscriptionState) {
        *lock(&self.handle.shared.state) = state;
    }

    fn config(&self, incoming: &IncomingRequest) -> Option<NotifierConfig> {
        let source = incoming.source;
        let local = self
            .services
            .engine
            .local_addr_towards(source.transport, source.addr)?;
        let user = incoming
            .request
            .uri()
            .ok()
            .and_then(|u| {
                u.as_sip()
                    .and_then(|s| s.user.as_ref().map(|u| u.to_string()))
            })
            .unwrap_or_else(|| "sipsimple".to_owned());
        let contact = sip_proto::uri::Uri::parse(&format!(
            "sip:{user}@{}{}",
            host_port(local),
            transport_param(source.transport)
        ))
        .ok()?
        .into_owned();
        Some(NotifierConfig {
            packages: self.packages.clone(),
            min_expires: MIN_EXPIRES,
            max_expires: MAX_EXPIRES,
            default_expires: DEFAULT_EXPIRES,
            contact,
            via: via_without_branch(source.transport, local),
            branch_prefix: random::letters(10),
            user_agent: self.services.user_agent.clone(),
        })
    }

    fn send(&mut self, request: Request) {
        let services = self.services.clone();
        let answers = self.answers_tx.clone();
        self.in_flight += 1;
        tokio::spawn(async move {
            let (response, _gone) = exchange(&services, Vec::new(), None, request).await;
            let _ = answers.send(response);
        });
    }

    /// A NOTIFY with the current state and the latest body.
    fn notify(&mut self) {
        let Some(core) = self.core.as_mut() else {
            return;
        };
        let body = match core.status() {
            sip_proto::subscription::SubscriptionStatus::Active
            | sip_proto::subscription::SubscriptionStatus::Terminated { .. } => self.latest.clone(),
            _ => None,
        };
        if let Ok(r) = core.notify(body.as_ref(), Instant::now()) {
            self.ending |= core.is_done();
            self.send(r);
        }
    }

    /// Answers the initial SUBSCRIBE as the application decided; false
    /// when the subscription did not come to be.
    async fn decide(&mut self, incoming: &IncomingRequest, command: Command) -> bool {
        let (body, pending) = match command {
            Command::Accept { body, pending } => (body, pending),
            Command::Reject(code) => {
                let code = if (400..700).contains(&code) {
                    code
                } else {
                    603
                };
                incoming.answer(code, &[]).await;
                return false;
            }
            Command::End(_) => {
                incoming.answer(480, &[]).await;
                return false;
            }
            Command::Push(b) => {
                self.latest = Some(b);
                return true;
            }
        };
        if body.is_some() {
            self.latest = body;
        }
        let Some(config) = self.config(incoming) else {
            incoming.answer(500, &[]).await;
            return false;
        };
        let tag = random::tag();
        match Notifier::accept(config, &incoming.request, &tag, pending, Instant::now()) {
            Ok((core, response)) => {
                incoming.responder.send(&incoming.key, response).await;
                self.core = Some(core);
                self.set_state(if pending {
                    IncomingSubscriptionState::Pending
                } else {
                    IncomingSubscriptionState::Active
                });
                self.post(NotificationData::SIPIncomingSubscriptionAnsweredSubscribe {
                    code: if pending { 202 } else { 200 },
                });
                // §4.2.1.2: the NOTIFY follows at once.
                self.notify();
                true
            }
            Err(rejection) => {
                let code = rejection.status.code();
                incoming.responder.send(&incoming.key, *rejection).await;
                self.post(NotificationData::SIPIncomingSubscriptionAnsweredSubscribe { code });
                false
            }
        }
    }

    fn command(&mut self, command: Command) {
        let Some(core) = self.core.as_mut() else {
            return;
        };
        match command {
            Command::Accept { body, .. } => {
                if body.is_some() {
                    self.latest = body;
                }
                let pending =
                    *core.status() == sip_proto::subscription::SubscriptionStatus::Pending;
                if pending {
                    if let Ok(r) = core.authorize(self.latest.as_ref(), Instant::now()) {
                        self.set_state(IncomingSubscriptionState::Active);
                        self.send(r);
                    }
                }
            }
            Command::Push(body) => {
                self.latest = Some(body);
                if *core.status() == sip_proto::subscription::SubscriptionStatus::Active {
                    self.notify();
                }
            }
            Command::Reject(_) => {
                if let Ok(r) = core.reject() {
                    self.ending = true;
                    self.send(r);
                }
            }
            Command::End(reason) => {
                let reason = reason.unwrap_or(TerminationReason::Noresource);
                let body = self.latest.clone();
                if let Ok(r) = core.terminate(reason, None, body.as_ref()) {
                    self.ending = true;
                    self.send(r);
                }
            }
        }
    }

    async fn subscribe(&mut self, request: Box<IncomingRequest>) {
        let Some(core) = self.core.as_mut() else {
            request.answer(500, &[]).await;
            return;
        };
        let response = core.handle_subscribe(&request.request, Instant::now());
        let ok = response.status.is_success();
        request.responder.send(&request.key, response).await;
        if !ok {
            return;
        }
        let unsubscribe = matches!(
            core.status(),
            sip_proto::subscription::SubscriptionStatus::Terminated { .. }
        );
        self.post(if unsubscribe {
            NotificationData::SIPIncomingSubscriptionGotUnsubscribe
        } else {
            NotificationData::SIPIncomingSubscriptionGotRefreshingSubscribe
        });
        // §4.2.1.2 (refresh) and §4.2.1.4 (unsubscribe): a NOTIFY.
        self.notify();
    }

    async fn run(
        mut self,
        incoming: Box<IncomingRequest>,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut inbox: mpsc::Receiver<Box<IncomingRequest>>,
    ) {
        let (answers_tx, mut answers) = mpsc::unbounded_channel();
        self.answers_tx = answers_tx;
        let originator = self
            .serve(&incoming, &mut commands, &mut inbox, &mut answers)
            .await;
        self.dialogs.remove(&self.call_id);
        self.set_state(IncomingSubscriptionState::Terminated);
        if let Some(originator) = originator {
            self.post(NotificationData::SIPIncomingSubscriptionDidEnd {
                originator: originator.to_owned(),
            });
        }
    }

    /// Runs the subscription; who ended it, if it ever started.
    async fn serve(
        &mut self,
        incoming: &IncomingRequest,
        commands: &mut mpsc::UnboundedReceiver<Command>,
        inbox: &mut mpsc::Receiver<Box<IncomingRequest>>,
        answers: &mut mpsc::UnboundedReceiver<Response>,
    ) -> Option<&'static str> {
        let decision = tokio::time::timeout(DECISION_WAIT, async {
            loop {
                match commands.recv().await {
                    Some(Command::Push(b)) => self.latest = Some(b),
                    other => return other,
                }
            }
        })
        .await;
        let started = match decision {
            Ok(Some(c)) => self.decide(incoming, c).await,
            // Nobody decided: the subscriber must not wait for a timeout.
            _ => {
                incoming.answer(480, &[]).await;
                false
            }
        };
        if !started {
            return None;
        }
        let mut originator = "local";
        loop {
            if self.ending && self.in_flight == 0 {
                return Some(originator);
            }
            let deadline = self.core.as_ref().and_then(Notifier::poll_timeout);
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                Some(c) = commands.recv(), if !self.ending => self.command(c),
                Some(r) = inbox.recv() => {
                    self.subscribe(r).await;
                    if self.ending {
                        originator = "remote";
                    }
                }
                Some(response) = answers.recv() => {
                    self.in_flight = self.in_flight.saturating_sub(1);
                    let code = response.status.code();
                    if response.status.is_success() {
                        self.post(NotificationData::SIPIncomingSubscriptionNotifyDidSucceed { code });
                    } else {
                        self.post(NotificationData::SIPIncomingSubscriptionNotifyDidFail {
                            code,
                            reason: response.reason().to_owned(),
                        });
                    }
                    if let Some(core) = self.core.as_mut() {
                        if !core.handle_notify_response(&response) && !self.ending {
                            // §4.2.2: the subscriber's side is gone.
                            self.ending = true;
                            originator = "remote";
                        }
                    }
                }
                _ = sleep => {
                    if let Some(r) = self.core.as_mut().and_then(|c| c.handle_timeout(Instant::now())) {
                        self.ending = true;
                        originator = "remote";
                        self.send(r);
                    }
                }
            }
        }
    }
}

/// The request owner of SUBSCRIBE: a new subscription to a package the
/// application serves gets a task (489 with Allow-Events otherwise);
/// refreshes and unsubscribes go to their subscription's task.
pub(crate) struct IncomingSubscriptionRequests {
    pub subscriptions: IncomingSubscriptions,
}

impl RequestOwner for IncomingSubscriptionRequests {
    fn methods(&self) -> Vec<Method> {
        vec![Method::Subscribe]
    }

    fn request(&self, incoming: IncomingRequest) -> Disposition {
        let events = self.subscriptions.accepted_events();
        let asked = incoming
            .request
            .headers
            .get_str(&HeaderName::Event)
            .and_then(|e| e.split(';').next())
            .map(|e| e.trim().to_ascii_lowercase());
        let served = asked.as_ref().is_some_and(|a| events.contains(a));
        if !served {
            // RFC 6665 §4.2.1.1: 489, and which packages we serve (the
            // header's grammar wants one at least: none, no header).
            let allow = (!events.is_empty()).then(|| (HeaderName::AllowEvents, events.join(", ")));
            return Disposition::Answer(489, allow.into_iter().collect());
        }
        let Some(services) = lock(&self.subscriptions.services).clone() else {
            return Disposition::answer(503);
        };
        self.subscriptions.create(services, incoming);
        Disposition::Taken
    }

    fn in_dialog(
        &self,
        request: Box<IncomingRequest>,
    ) -> Result<Disposition, Box<IncomingRequest>> {
        if request.request.method != Method::Subscribe {
            return Err(request);
        }
        let Some(inbox) = request
            .request
            .headers
            .get_str(&HeaderName::CallId)
            .and_then(|c| self.subscriptions.dialogs.inbox(c))
        else {
            return Err(request);
        };
        match inbox.try_send(request) {
            Ok(()) => Ok(Disposition::Taken),
            Err(mpsc::error::TrySendError::Full(_)) => Ok(Disposition::Answer(
                500,
                vec![(HeaderName::RetryAfter, "1".to_owned())],
            )),
            Err(mpsc::error::TrySendError::Closed(request)) => Err(request),
        }
    }
}
