//! The subscriber (RFC 6665 §4.1): one subscription, which forking may
//! split into several dialogs (one per notifier, keyed by its tag).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{
    body_of, event_value, in_dialog_request, same_event, set_body, RetryPolicy, SubState,
    SubStateValue, SubscriptionStatus, TerminationReason,
};
use crate::dialog::{Dialog, DialogId};
use crate::digest::{self, CredentialStore, DigestState};
use crate::headers::{
    CSeq, Event, Expires, From as FromHeader, HeaderName, MinExpires, NameAddr, RetryAfter, To,
};
use crate::invite::Body;
use crate::message::{Method, Request, Response, StatusCode};
use crate::registration::refresh_in;
use crate::uri::Uri;

/// What a subscription is about: fixed for its lifetime.
#[derive(Debug, Clone)]
pub struct SubscribeConfig {
    /// Our From, without tag.
    pub local: NameAddr<'static>,
    /// The resource: Request-URI and To.
    pub target: Uri<'static>,
    pub contact: Uri<'static>,
    /// The event package, e.g. `presence`.
    pub event: String,
    /// The Event `id` parameter, if any.
    pub event_id: Option<String>,
    /// Accept values (media types), in order of preference.
    pub accept: Vec<String>,
    /// The expiry to ask for, in seconds.
    pub expires: u32,
    /// Option tags for Supported (`eventlist` for a subscription that
    /// accepts a resource list, RFC 4662 §4.1), on every SUBSCRIBE.
    pub supported: Vec<String>,
    /// Call-ID and From tag of the first subscription; a new subscription
    /// (after a termination) appends `-<n>` to both.
    pub call_id: String,
    pub from_tag: String,
    /// `SIP/2.0/UDP host:port;rport`: the top Via without its branch.
    pub via: String,
    /// Unique per subscriber; branches are this plus a counter.
    pub branch_prefix: String,
    pub user_agent: Option<String>,
    /// A body for the initial SUBSCRIBE (a filter, say).
    pub body: Option<Body>,
    /// When to subscribe again after a termination that allows it later
    /// but gave no retry-after (probation, giveup, no reason), and after
    /// a 408 or 5xx to the initial SUBSCRIBE without Retry-After. Other
    /// failures without Retry-After end the subscription.
    pub retry_default: Duration,
    /// How long to wait for a NOTIFY after a 2xx or an unsubscribe
    /// (RFC 6665 §4.1.2.4: 64·T1).
    pub notify_wait: Duration,
}

/// What happened, for the middleware.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriberEvent {
    /// A NOTIFY was accepted (answered 200) on the dialog with the
    /// notifier whose tag is `remote_tag`.
    Notify {
        remote_tag: String,
        state: SubState,
        body: Option<Body>,
    },
    /// The subscription as a whole changed status.
    Status(SubscriptionStatus),
    /// A SUBSCRIBE got an error response (or timed out: 408).
    Failed { code: u16, reason: String },
}

/// One dialog of the subscription.
#[derive(Debug, Clone)]
struct Leg {
    dialog: Dialog,
    status: SubscriptionStatus,
    expires_at: Option<Instant>,
    refresh_at: Option<Instant>,
    /// No NOTIFY came by then: the dialog is gone (after a 2xx, after
    /// our unsubscribe).
    notify_deadline: Option<Instant>,
    /// Our in-dialog SUBSCRIBE in flight: its CSeq and Expires.
    refreshing: Option<(u32, u32)>,
}

/// A subscription's state between messages.
#[derive(Debug)]
pub struct Subscriber {
    config: SubscribeConfig,
    credentials: CredentialStore,
    digest: DigestState,
    cnonce_counter: u64,
    generation: u32,
    call_id: String,
    from_tag: String,
    /// CSeq of the requests outside a dialog.
    cseq: u32,
    branches: u32,
    /// The expiry asked for (raised by a 423).
    expires: u32,
    /// The initial SUBSCRIBE last sent, and whether its answer is due.
    initial: Option<Request>,
    initial_pending: bool,
    legs: Vec<Leg>,
    /// Dialogs of this subscription a NOTIFY terminated: a late 2xx from
    /// one of them makes no new dialog.
    ended: Vec<(String, Option<TerminationReason>, Option<u32>)>,
    unsubscribing: bool,
    status: SubscriptionStatus,
    retry_at: Option<Instant>,
    outgoing: VecDeque<Request>,
    events: VecDeque<SubscriberEvent>,
}

fn to_tag(headers: &crate::headers::Headers) -> Option<String> {
    headers
        .typed::<To>()
        .and_then(Result::ok)
        .and_then(|t| t.tag().map(str::to_owned))
}

fn from_tag(headers: &crate::headers::Headers) -> Option<String> {
    headers
        .typed::<FromHeader>()
        .and_then(Result::ok)
        .and_then(|t| t.tag().map(str::to_owned))
}

fn expires_of(headers: &crate::headers::Headers) -> Option<u32> {
    headers.typed::<Expires>().and_then(Result::ok).map(|e| e.0)
}

fn secs(s: u32) -> Duration {
    Duration::from_secs(u64::from(s))
}

fn respond(request: &Request, code: u16) -> Response {
    let status = StatusCode::new(code).unwrap_or(StatusCode::SERVER_INTERNAL_ERROR);
    Response::for_request(request, status, None)
}

impl Subscriber {
    pub fn new(config: SubscribeConfig, credentials: CredentialStore) -> Self {
        Subscriber {
            call_id: config.call_id.clone(),
            from_tag: config.from_tag.clone(),
            expires: config.expires,
            config,
            credentials,
            digest: DigestState::default(),
            cnonce_counter: 0,
            generation: 0,
            cseq: 0,
            branches: 0,
            initial: None,
            initial_pending: false,
            legs: Vec::new(),
            ended: Vec::new(),
            unsubscribing: false,
            status: SubscriptionStatus::Terminated {
                reason: None,
                retry_after: None,
            },
            retry_at: None,
            outgoing: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The subscription as a whole: active if any dialog is, pending if
    /// any is; before [`subscribe`](Self::subscribe), terminated without
    /// a retry.
    pub fn status(&self) -> &SubscriptionStatus {
        &self.status
    }

    /// Every dialog of the subscription with its status.
    pub fn dialogs(&self) -> impl Iterator<Item = (&DialogId, &SubscriptionStatus)> {
        self.legs.iter().map(|l| (&l.dialog.id, &l.status))
    }

    /// The Call-ID of the current subscription.
    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    /// The expiry currently asked for (raised by a 423).
    pub fn expires(&self) -> u32 {
        self.expires
    }

    /// The next request to send in a new client transaction.
    pub fn poll_request(&mut self) -> Option<Request> {
        self.outgoing.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<SubscriberEvent> {
        self.events.pop_front()
    }

    /// When `handle_timeout` wants to be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let legs = self
            .legs
            .iter()
            .flat_map(|l| [l.expires_at, l.refresh_at, l.notify_deadline])
            .flatten();
        legs.chain(self.retry_at).min()
    }

    fn via(&mut self) -> String {
        self.branches = self.branches.wrapping_add(1);
        format!(
            "{};branch=z9hG4bK{}{}",
            self.config.via, self.config.branch_prefix, self.branches
        )
    }

    /// Starts the subscription (or a new one, forgetting the old): the
    /// initial SUBSCRIBE goes to [`poll_request`](Self::poll_request).
    pub fn subscribe(&mut self) {
        if self.generation > 0 || self.initial.is_some() {
            self.call_id = format!("{}-{}", self.config.call_id, self.generation);
            self.from_tag = format!("{}-{}", self.config.from_tag, self.generation);
        }
        self.generation = self.generation.wrapping_add(1);
        self.legs.clear();
        self.ended.clear();
        self.unsubscribing = false;
        self.retry_at = None;
        self.digest = DigestState::default();
        let r = self.build_initial();
        self.send_initial(r);
        self.set_status(SubscriptionStatus::Subscribing);
    }

    fn send_initial(&mut self, r: Request) {
        self.initial = Some(r.clone());
        self.initial_pending = true;
        self.outgoing.push_back(r);
    }

    fn common_headers(&self, r: &mut Request, expires: u32) {
        let c = &self.config;
        let h = &mut r.headers;
        h.push(HeaderName::Contact, format!("<{}>", c.contact));
        h.push(
            HeaderName::Event,
            event_value(&c.event, c.event_id.as_deref()),
        );
        h.push(HeaderName::Expires, expires.to_string());
        if !c.accept.is_empty() {
            h.push(HeaderName::Accept, c.accept.join(", "));
        }
        if !c.supported.is_empty() {
            h.push(HeaderName::Supported, c.supported.join(", "));
        }
        if let Some(ua) = &c.user_agent {
            h.push(HeaderName::UserAgent, ua.as_str());
        }
    }

    fn build_initial(&mut self) -> Request {
        self.cseq = self.cseq.wrapping_add(1).clamp(1, CSeq::MAX);
        let via = self.via();
        let c = &self.config;
        let mut r = Request::new(Method::Subscribe, &c.target);
        let mut from = c.local.clone();
        from.set_tag(self.from_tag.clone());
        let h = &mut r.headers;
        h.push(HeaderName::Via, via);
        h.push(HeaderName::MaxForwards, "70");
        h.push_typed(&FromHeader(from));
        h.push_typed(&To(NameAddr::new(c.target.clone())));
        h.push(HeaderName::CallId, self.call_id.as_str());
        h.push(HeaderName::CSeq, format!("{} SUBSCRIBE", self.cseq));
        self.common_headers(&mut r, self.expires);
        set_body(&mut r, self.config.body.as_ref());
        r
    }

    fn build_refresh(&mut self, i: usize, expires: u32) -> Option<Request> {
        let via = self.via();
        let leg = self.legs.get_mut(i)?;
        let mut r = in_dialog_request(&mut leg.dialog, Method::Subscribe, &via);
        leg.refreshing = Some((leg.dialog.local_seq, expires));
        self.common_headers(&mut r, expires);
        Some(r)
    }

    fn set_status(&mut self, status: SubscriptionStatus) {
        if self.status != status {
            self.status = status.clone();
            self.events.push_back(SubscriberEvent::Status(status));
        }
    }

    /// The overall status from the dialogs' (or `ended` when none is left).
    fn update_status(&mut self, ended: Option<SubscriptionStatus>) {
        let has = |s: &SubscriptionStatus| self.legs.iter().any(|l| &l.status == s);
        let status = if has(&SubscriptionStatus::Active) {
            SubscriptionStatus::Active
        } else if has(&SubscriptionStatus::Pending) {
            SubscriptionStatus::Pending
        } else if self.initial_pending || !self.legs.is_empty() {
            SubscriptionStatus::Subscribing
        } else if let Some(e) = ended {
            e
        } else {
            return;
        };
        self.set_status(status);
    }

    fn failed(&mut self, code: u16, reason: String) {
        self.events
            .push_back(SubscriberEvent::Failed { code, reason });
    }

    /// Ends leg `i`; when it was the last, what the reason says follows
    /// (a new subscription now or later, or none).
    fn end_leg(
        &mut self,
        i: usize,
        reason: Option<TerminationReason>,
        retry_after: Option<u32>,
        now: Instant,
    ) {
        if i < self.legs.len() {
            let leg = self.legs.remove(i);
            self.ended
                .push((leg.dialog.id.remote_tag, reason.clone(), retry_after));
        }
        if !self.legs.is_empty() || self.initial_pending {
            self.update_status(None);
            return;
        }
        let policy = if self.unsubscribing {
            RetryPolicy::Never
        } else {
            RetryPolicy::for_reason(reason.as_ref(), retry_after, self.config.retry_default)
        };
        self.apply_policy(policy, reason, now);
    }

    fn apply_policy(
        &mut self,
        policy: RetryPolicy,
        reason: Option<TerminationReason>,
        now: Instant,
    ) {
        match policy {
            RetryPolicy::Now => {
                self.set_status(SubscriptionStatus::Terminated {
                    reason,
                    retry_after: Some(Duration::ZERO),
                });
                self.subscribe();
            }
            RetryPolicy::After(d) => {
                self.retry_at = Some(now + d);
                self.set_status(SubscriptionStatus::Terminated {
                    reason,
                    retry_after: Some(d),
                });
            }
            RetryPolicy::Never => {
                self.retry_at = None;
                self.set_status(SubscriptionStatus::Terminated {
                    reason,
                    retry_after: None,
                });
            }
        }
    }

    /// Ends the subscription: an in-dialog SUBSCRIBE with Expires 0 on
    /// every dialog; it is over when each has sent its final NOTIFY or
    /// `notify_wait` passed. Before any dialog exists, the unsubscribe
    /// follows the 2xx.
    pub fn unsubscribe(&mut self, now: Instant) {
        self.unsubscribing = true;
        self.retry_at = None;
        for i in 0..self.legs.len() {
            self.send_unsubscribe(i, now);
        }
        if self.legs.is_empty() && !self.initial_pending {
            self.set_status(SubscriptionStatus::Terminated {
                reason: None,
                retry_after: None,
            });
        }
    }

    fn send_unsubscribe(&mut self, i: usize, now: Instant) {
        let wait = self.config.notify_wait;
        if let Some(r) = self.build_refresh(i, 0) {
            self.outgoing.push_back(r);
        }
        if let Some(leg) = self.legs.get_mut(i) {
            leg.refresh_at = None;
            leg.expires_at = None;
            leg.notify_deadline = Some(now + wait);
        }
    }

    /// Reads a final response to one of our SUBSCRIBEs.
    pub fn handle_response(&mut self, response: &Response, now: Instant) {
        let h = &response.headers;
        let Some(Ok(cseq)) = h.typed::<CSeq>() else {
            return;
        };
        if cseq.method != Method::Subscribe
            || h.get_str(&HeaderName::CallId) != Some(self.call_id.as_str())
            || !response.status.is_final()
        {
            return;
        }
        if self.initial_pending && cseq.seq == self.cseq {
            self.initial_response(response, now);
            return;
        }
        let tag = to_tag(h);
        let leg = self.legs.iter().position(|l| {
            l.refreshing.is_some_and(|(seq, _)| seq == cseq.seq)
                && tag.as_deref() == Some(l.dialog.id.remote_tag.as_str())
        });
        if let Some(i) = leg {
            self.refresh_response(i, response, now);
        }
    }

    /// The answer to a challenge, or None (with a Failed event) if there
    /// is none to give.
    fn authorized(&mut self, mut request: Request, response: &Response) -> Option<Request> {
        self.cnonce_counter = self.cnonce_counter.wrapping_add(1);
        let cnonce = format!("{}{:x}", self.config.branch_prefix, self.cnonce_counter);
        let code = response.status.code();
        match digest::authorize(
            &mut request,
            response,
            &self.credentials,
            &mut self.digest,
            &cnonce,
        ) {
            Ok(()) => Some(request),
            Err(e) => {
                self.failed(code, format!("authentication failed: {e}"));
                None
            }
        }
    }

    fn min_expires(&self, response: &Response) -> Option<u32> {
        response
            .headers
            .typed::<MinExpires>()
            .and_then(Result::ok)
            .map(|m| m.0)
            .filter(|m| *m > self.expires)
    }

    fn initial_response(&mut self, response: &Response, now: Instant) {
        self.initial_pending = false;
        let code = response.status.code();
        let Some(initial) = self.initial.clone() else {
            return;
        };
        match code {
            200..=299 => return self.initial_success(&initial, response, now),
            401 | 407 => {
                let mut r = self.build_initial();
                for name in [HeaderName::Authorization, HeaderName::ProxyAuthorization] {
                    for v in initial.headers.get_all(&name) {
                        r.headers.push_copy(v);
                    }
                }
                if let Some(r) = self.authorized(r, response) {
                    return self.send_initial(r);
                }
            }
            423 => match self.min_expires(response) {
                Some(min) => {
                    self.expires = min;
                    let r = self.build_initial();
                    return self.send_initial(r);
                }
                None => self.failed(code, "423 without a usable Min-Expires".into()),
            },
            _ => self.failed(code, format!("{code} {}", response.reason())),
        }
        if !self.legs.is_empty() {
            // A NOTIFY made a dialog already: it decides.
            return self.update_status(None);
        }
        let policy = if code == 489 || self.unsubscribing {
            RetryPolicy::Never
        } else {
            match response.headers.typed::<RetryAfter>().and_then(Result::ok) {
                Some(r) => RetryPolicy::After(secs(r.seconds)),
                // No answer, or a server's trouble: later, it may pass.
                None if code == 408 || (500..600).contains(&code) => {
                    RetryPolicy::After(self.config.retry_default)
                }
                None => RetryPolicy::Never,
            }
        };
        self.apply_policy(policy, None, now);
    }

    fn initial_success(&mut self, initial: &Request, response: &Response, now: Instant) {
        let expires = expires_of(&response.headers).unwrap_or(self.expires);
        let tag = to_tag(&response.headers);
        let wait = self.config.notify_wait;
        if let Some((_, reason, after)) = self
            .ended
            .iter()
            .find(|e| Some(e.0.as_str()) == tag.as_deref())
            .cloned()
        {
            // Its NOTIFY ended this dialog already (rejected at once, say).
            if self.legs.is_empty() {
                let policy = if self.unsubscribing {
                    RetryPolicy::Never
                } else {
                    RetryPolicy::for_reason(reason.as_ref(), after, self.config.retry_default)
                };
                self.apply_policy(policy, reason, now);
            } else {
                self.update_status(None);
            }
            return;
        }
        let i = match self
            .legs
            .iter()
            .position(|l| Some(l.dialog.id.remote_tag.as_str()) == tag.as_deref())
        {
            Some(i) => {
                // The NOTIFY came first and made the dialog (§4.1.2.4).
                if let Some(leg) = self.legs.get_mut(i) {
                    let _ = leg.dialog.confirm(response);
                }
                i
            }
            None => match Dialog::uac(initial, response) {
                Ok(dialog) => {
                    self.legs.push(Leg {
                        dialog,
                        status: SubscriptionStatus::Subscribing,
                        expires_at: None,
                        refresh_at: None,
                        notify_deadline: Some(now + wait),
                        refreshing: None,
                    });
                    self.legs.len().saturating_sub(1)
                }
                Err(e) => {
                    self.failed(response.status.code(), e.to_string());
                    if self.legs.is_empty() {
                        self.apply_policy(RetryPolicy::Never, None, now);
                    }
                    return;
                }
            },
        };
        if let Some(leg) = self.legs.get_mut(i) {
            if leg.expires_at.is_none() && expires > 0 {
                leg.expires_at = Some(now + secs(expires));
                leg.refresh_at = Some(now + refresh_in(expires));
            }
        }
        if self.unsubscribing {
            self.send_unsubscribe(i, now);
        }
        self.update_status(None);
    }

    fn refresh_response(&mut self, i: usize, response: &Response, now: Instant) {
        let code = response.status.code();
        let Some(leg) = self.legs.get_mut(i) else {
            return;
        };
        let Some((_, asked)) = leg.refreshing.take() else {
            return;
        };
        if asked == 0 {
            // Our unsubscribe: on success the final NOTIFY ends it.
            if !response.status.is_success() && !matches!(code, 401 | 407) {
                self.end_leg(i, None, None, now);
                return;
            }
        }
        match code {
            200..=299 => {
                leg.dialog.on_refresh_response(response);
                let granted = expires_of(&response.headers).unwrap_or(asked);
                if asked > 0 && granted > 0 {
                    leg.expires_at = Some(now + secs(granted));
                    leg.refresh_at = Some(now + refresh_in(granted));
                }
            }
            401 | 407 => {
                if let Some(r) = self.build_refresh(i, asked) {
                    if let Some(r) = self.authorized(r, response) {
                        self.outgoing.push_back(r);
                    } else if let Some(leg) = self.legs.get_mut(i) {
                        leg.refreshing = None;
                    }
                }
            }
            // The notifier lost the subscription (§4.1.2.2): a new one.
            481 => self.end_leg(i, Some(TerminationReason::Deactivated), None, now),
            423 => {
                if let Some(min) = self.min_expires(response) {
                    self.expires = min;
                    if let Some(r) = self.build_refresh(i, min) {
                        self.outgoing.push_back(r);
                    }
                } else {
                    self.failed(code, "423 without a usable Min-Expires".into());
                }
            }
            // Other failures leave the subscription as it was until it
            // expires (§4.1.2.2).
            _ => self.failed(code, format!("{code} {}", response.reason())),
        }
    }

    /// Reads a NOTIFY and gives the response to send (200; 481 for no
    /// dialog of ours; 489 for another event; 400 without a usable
    /// Subscription-State; 500 out of order).
    pub fn handle_notify(&mut self, notify: &Request, now: Instant) -> Response {
        let h = &notify.headers;
        if notify.method != Method::Notify
            || h.get_str(&HeaderName::CallId) != Some(self.call_id.as_str())
            || to_tag(h).as_deref() != Some(self.from_tag.as_str())
            || self.generation == 0
        {
            return respond(notify, 481);
        }
        let event_ok = h
            .typed::<Event>()
            .and_then(Result::ok)
            .is_some_and(|e| same_event(&e, &self.config.event, self.config.event_id.as_deref()));
        if !event_ok {
            return respond(notify, 489);
        }
        let state = match SubState::of(h) {
            Ok(s) => s,
            Err(e) => {
                let mut r = respond(notify, 400);
                r.set_reason(&format!("Bad Request ({e})"));
                return r;
            }
        };
        let ok = respond(notify, 200);
        let remote = from_tag(h).unwrap_or_default();
        let i = match self
            .legs
            .iter()
            .position(|l| l.dialog.id.remote_tag == remote)
        {
            Some(i) => i,
            None => {
                // A NOTIFY before the 2xx, or from another fork: it makes
                // the dialog (§4.1.2.4), while this subscription lives.
                let alive = self.initial_pending
                    || !matches!(self.status, SubscriptionStatus::Terminated { .. });
                if !alive {
                    return respond(notify, 481);
                }
                let mut dialog = match Dialog::uas(notify, &ok) {
                    Ok(d) => d,
                    Err(_) => return respond(notify, 400),
                };
                dialog.local_seq = self.cseq;
                self.legs.push(Leg {
                    dialog,
                    status: SubscriptionStatus::Subscribing,
                    expires_at: None,
                    refresh_at: None,
                    notify_deadline: None,
                    refreshing: None,
                });
                let i = self.legs.len().saturating_sub(1);
                if self.unsubscribing
                    && !self.initial_pending
                    && state.value != SubStateValue::Terminated
                {
                    self.send_unsubscribe(i, now);
                }
                // on_request below checks what Dialog::uas took.
                if let Some(leg) = self.legs.get_mut(i) {
                    leg.dialog.remote_seq = None;
                }
                i
            }
        };
        let Some(leg) = self.legs.get_mut(i) else {
            return respond(notify, 500);
        };
        match leg.dialog.on_request(notify) {
            Ok(()) => {}
            Err(crate::dialog::DialogError::OutOfOrder { .. }) => return respond(notify, 500),
            Err(_) => return respond(notify, 481),
        }
        self.events.push_back(SubscriberEvent::Notify {
            remote_tag: remote,
            state: state.clone(),
            body: body_of(notify),
        });
        if state.value == SubStateValue::Terminated {
            self.end_leg(i, state.reason, state.retry_after, now);
            return ok;
        }
        leg.status = if state.value == SubStateValue::Active {
            SubscriptionStatus::Active
        } else {
            SubscriptionStatus::Pending
        };
        if !self.unsubscribing {
            leg.notify_deadline = None;
            if let Some(e) = state.expires {
                leg.expires_at = Some(now + secs(e));
                if leg.refreshing.is_none() {
                    leg.refresh_at = Some(now + refresh_in(e));
                }
            }
        }
        self.update_status(None);
        ok
    }

    /// Runs what is due at `now`: refreshes, retries, expiries.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.retry_at.is_some_and(|t| t <= now) {
            self.retry_at = None;
            self.subscribe();
            return;
        }
        let mut i = 0;
        while i < self.legs.len() {
            let Some(leg) = self.legs.get_mut(i) else {
                break;
            };
            let due = |t: Option<Instant>| t.is_some_and(|t| t <= now);
            if due(leg.notify_deadline) {
                // No NOTIFY: the subscription failed (§4.1.2.4), or our
                // unsubscribe is done.
                self.end_leg(i, None, None, now);
                continue;
            }
            if due(leg.expires_at) {
                self.end_leg(i, Some(TerminationReason::Timeout), None, now);
                continue;
            }
            if due(leg.refresh_at) {
                leg.refresh_at = None;
                let expires = self.expires;
                if let Some(r) = self.build_refresh(i, expires) {
                    self.digest = DigestState::default();
                    self.outgoing.push_back(r);
                }
            }
            i += 1;
        }
    }
}
