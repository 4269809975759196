//! The SIP core's Publication: event state we publish (RFC 3903) to a
//! compositor (a presence server), run as a task over the engine.
//!
//! The protocol (entity tags, refresh with SIP-If-Match, modify, remove,
//! 412 recovery, 423, digest) is the sans-IO
//! [`sip_proto::publication::Publisher`]; this task sends its PUBLISHes
//! one at a time through the first hops the caller found (on to the next
//! one when a hop fails or answers 503, RFC 3263 §4.3), refreshes when
//! told, retries after a failure that says when, and posts the
//! SIPPublication* notifications.

use crate::sync::lock;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sip_proto::digest::CredentialStore;
use sip_proto::invite::Body;
use sip_proto::publication::{PublishConfig, PublishOutcome, Publisher};
use sip_proto::transaction::Target;
use sip_proto::uri::Uri;
use sip_proto::{Request, Response};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::account::Credentials;
use crate::engine::{via_without_branch, EngineError};
use crate::lookup::Route;
use crate::notification::{NotificationCenter, NotificationData, SenderId};
use crate::random;
use crate::services::Services;

/// Where a publication is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicationState {
    /// Nothing published yet, or removed.
    Idle,
    /// The compositor holds our state under this entity tag.
    Published { etag: String, expires: u32 },
    /// The last PUBLISH failed.
    Failed { code: u16, reason: String },
    /// Ended ([`Publication::end`]): nothing more is sent.
    Ended,
}

/// What to publish and how.
#[derive(Clone)]
pub struct PublicationOptions {
    /// The event package (`presence`, `dialog`, ...).
    pub event: String,
    /// The expiry to ask for, in seconds.
    pub expires: u32,
    pub credentials: Option<Credentials>,
    /// The name a TLS first hop's certificate must carry (default the
    /// AOR's host).
    pub tls_name: Option<String>,
}

impl std::fmt::Debug for PublicationOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicationOptions")
            .field("event", &self.event)
            .field("expires", &self.expires)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

enum Command {
    Publish(Body),
    End,
}

struct Shared {
    sender: SenderId,
    event: String,
    state: Mutex<PublicationState>,
}

/// One publication (an event package's state of one presentity).
/// Cloning shares it; when the last handle goes, the state is removed.
#[derive(Clone)]
pub struct Publication {
    shared: Arc<Shared>,
    commands: mpsc::UnboundedSender<Command>,
    _ender: Arc<Ender>,
}

struct Ender(mpsc::UnboundedSender<Command>);

impl Drop for Ender {
    fn drop(&mut self) {
        let _ = self.0.send(Command::End);
    }
}

impl std::fmt::Debug for Publication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publication")
            .field("event", &self.shared.event)
            .field("state", &self.state())
            .finish()
    }
}

impl Publication {
    /// A publication of `event` for `aor`, sent through `routes` (the
    /// first hop: outbound proxy or the AOR's RFC 3263 routes). Nothing
    /// is sent until [`publish`](Self::publish).
    pub fn start(
        services: &Services,
        center: &NotificationCenter,
        aor: Uri<'static>,
        options: PublicationOptions,
        routes: Vec<Route>,
    ) -> Result<Publication, String> {
        let PublicationOptions {
            event,
            expires,
            credentials,
            tls_name,
        } = options;
        let event = event.as_str();
        let Some(first) = routes.first().copied() else {
            return Err(format!("no route to {aor}"));
        };
        let local = services
            .engine
            .local_addr_towards(first.transport, first.socket_addr())
            .ok_or_else(|| format!("no {} transport is running", first.transport.via_name()))?;
        let tls_name = tls_name.or_else(|| aor.as_sip().map(|s| s.host.to_string()));
        let config = PublishConfig {
            aor,
            event: event.to_owned(),
            expires,
            call_id: format!("{}@{}", random::tag(), local.ip()),
            from_tag: random::tag(),
            via: via_without_branch(first.transport, local),
            branch_prefix: random::letters(10),
            user_agent: services.user_agent.clone(),
        };
        let store = match &credentials {
            Some(c) => CredentialStore::with_default(&c.username, &c.password),
            None => CredentialStore::new(),
        };
        let shared = Arc::new(Shared {
            sender: center.new_sender(),
            event: event.to_owned(),
            state: Mutex::new(PublicationState::Idle),
        });
        let (commands, rx) = mpsc::unbounded_channel();
        let task = Task {
            core: Publisher::new(config, store),
            services: services.clone(),
            center: center.clone(),
            shared: shared.clone(),
            // The Via names the first hop's transport: the others of that
            // transport are where a failover may go.
            targets: routes
                .iter()
                .filter(|r| r.transport == first.transport)
                .map(|r| Target {
                    addr: r.socket_addr(),
                    transport: r.transport,
                })
                .collect(),
            current: 0,
            tls_name,
            body: None,
            refresh_at: None,
            retry_at: None,
        };
        tokio::spawn(task.run(rx));
        Ok(Publication {
            shared,
            _ender: Arc::new(Ender(commands.clone())),
            commands,
        })
    }

    pub fn sender(&self) -> SenderId {
        self.shared.sender
    }

    pub fn event(&self) -> &str {
        &self.shared.event
    }

    pub fn state(&self) -> PublicationState {
        lock(&self.shared.state).clone()
    }

    /// Publishes this state (a modify when some is published already).
    pub fn publish(&self, content_type: &str, body: impl Into<Vec<u8>>) {
        let _ = self.commands.send(Command::Publish(Body {
            content_type: content_type.to_owned(),
            data: body.into(),
        }));
    }

    /// Removes the published state and ends; SIPPublicationDidEnd follows.
    pub fn end(&self) {
        let _ = self.commands.send(Command::End);
    }
}

struct Task {
    core: Publisher,
    services: Services,
    center: NotificationCenter,
    shared: Arc<Shared>,
    /// The first hops in RFC 3263 order, and the one that answered last:
    /// it holds our entity tag, so refreshes go there first.
    targets: Vec<Target>,
    current: usize,
    tls_name: Option<String>,
    /// What we mean to publish (sent again after a failure).
    body: Option<Body>,
    refresh_at: Option<Instant>,
    retry_at: Option<Instant>,
}

/// Challenges, 423s and 412s in one round before giving up.
const MAX_FOLLOW_UPS: usize = 8;

impl Task {
    fn post(&self, data: NotificationData) {
        self.center.post(self.shared.sender, data);
    }

    fn set_state(&self, state: PublicationState) {
        *lock(&self.shared.state) = state;
    }

    /// The final response to `request`: from the current hop, else
    /// (RFC 3263 §4.3: no answer, a transport failure or 503) from the
    /// next ones in turn. `None` when none answered.
    async fn send(&mut self, request: Request) -> Result<Option<Response>, EngineError> {
        let count = self.targets.len();
        let mut unavailable = None;
        for attempt in 0..count {
            let index = (self.current + attempt) % count;
            let Some(target) = self.targets.get(index).copied() else {
                break;
            };
            let sent = self
                .services
                .engine
                .request(
                    crate::engine::rebranched(&request, attempt),
                    target,
                    self.tls_name.as_deref(),
                )
                .await;
            let answer = match sent {
                Err(EngineError::Stopped) => return Err(EngineError::Stopped),
                Err(_) => None,
                Ok(mut answers) => answers.final_response().await,
            };
            match answer {
                Some(r) if r.status.code() == 503 && attempt + 1 < count => unavailable = Some(r),
                Some(r) => {
                    self.current = index;
                    return Ok(Some(r));
                }
                None => {}
            }
        }
        Ok(unavailable)
    }

    /// One round: `request` and its follow-ups until an outcome. False
    /// when the engine has stopped.
    async fn round(&mut self, mut request: Request) -> bool {
        for _ in 0..MAX_FOLLOW_UPS {
            let outcome = match self.send(request).await {
                Err(EngineError::Stopped) => return false,
                Ok(Some(response)) => match self.core.handle_response(&response) {
                    Some(o) => o,
                    None => return true,
                },
                Ok(None) | Err(_) => self.core.handle_timeout(),
            };
            match outcome {
                PublishOutcome::Send(next) => request = next,
                PublishOutcome::Published {
                    etag,
                    expires,
                    refresh_in,
                } => {
                    self.refresh_at = Some(Instant::now() + refresh_in);
                    self.retry_at = None;
                    self.set_state(PublicationState::Published {
                        etag: etag.clone(),
                        expires,
                    });
                    self.post(NotificationData::SIPPublicationDidSucceed { etag, expires });
                    return true;
                }
                PublishOutcome::Removed => {
                    self.refresh_at = None;
                    self.set_state(PublicationState::Idle);
                    return true;
                }
                PublishOutcome::Failed {
                    code,
                    reason,
                    retry_in,
                } => {
                    self.refresh_at = None;
                    // A server's trouble or no answer passes; try again
                    // (later when it did not say when).
                    let retry = retry_in.or_else(|| {
                        (code == 408 || code >= 500).then_some(Duration::from_secs(60))
                    });
                    self.retry_at = retry.map(|d| Instant::now() + d);
                    self.set_state(PublicationState::Failed {
                        code,
                        reason: reason.clone(),
                    });
                    self.post(NotificationData::SIPPublicationDidFail { code, reason });
                    return true;
                }
            }
        }
        true
    }

    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        loop {
            let next = [self.refresh_at, self.retry_at].into_iter().flatten().min();
            let sleep = async {
                match next {
                    Some(t) => tokio::time::sleep_until(t).await,
                    None => std::future::pending().await,
                }
            };
            let alive = tokio::select! {
                command = commands.recv() => match command {
                    Some(Command::Publish(body)) => {
                        self.body = Some(body.clone());
                        let r = self.core.publish(body);
                        self.round(r).await
                    }
                    Some(Command::End) | None => break,
                },
                _ = sleep => {
                    let now = Instant::now();
                    if self.retry_at.is_some_and(|t| t <= now) {
                        self.retry_at = None;
                        match self.body.clone() {
                            Some(b) => {
                                let r = self.core.publish(b);
                                self.round(r).await
                            }
                            None => true,
                        }
                    } else {
                        self.refresh_at = None;
                        match self.core.refresh() {
                            Some(r) => self.round(r).await,
                            None => true,
                        }
                    }
                }
            };
            if !alive {
                self.set_state(PublicationState::Ended);
                return;
            }
        }
        // Removal (RFC 3903 §4.5) is bounded: stopping must not hang on a
        // compositor that does not answer.
        if let Some(r) = self.core.remove() {
            let _ = tokio::time::timeout(Duration::from_secs(5), self.round(r)).await;
        }
        self.set_state(PublicationState::Ended);
        self.post(NotificationData::SIPPublicationDidEnd);
    }
}
