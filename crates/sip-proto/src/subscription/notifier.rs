//! The notifier's side of one subscription (RFC 6665 §4.2): checks the
//! SUBSCRIBE that creates it, answers refreshes and unsubscribes, builds
//! the NOTIFYs, and ends it on expiry.

use std::time::{Duration, Instant};

use super::{
    event_value, in_dialog_request, same_event, set_body, SubState, SubStateValue,
    SubscriptionError, SubscriptionStatus, TerminationReason,
};
use crate::dialog::{Dialog, DialogError};
use crate::headers::{CSeq, Event, Expires, HeaderName, To};
use crate::invite::Body;
use crate::message::{Method, Request, Response, StatusCode};
use crate::uri::Uri;

/// What the notifier takes.
#[derive(Debug, Clone)]
pub struct NotifierConfig {
    /// The event packages accepted (Allow-Events in a 489).
    pub packages: Vec<String>,
    /// Shorter asked expiries get 423 with this Min-Expires.
    pub min_expires: u32,
    /// Longer asked expiries are cut to this.
    pub max_expires: u32,
    /// The expiry when the SUBSCRIBE has no Expires (the package's).
    pub default_expires: u32,
    pub contact: Uri<'static>,
    /// `SIP/2.0/UDP host:port;rport`: the top Via without its branch.
    pub via: String,
    /// Unique per subscription; branches are this plus a counter.
    pub branch_prefix: String,
    pub user_agent: Option<String>,
}

/// One subscription as its notifier sees it.
#[derive(Debug, Clone)]
pub struct IncomingSubscription {
    config: NotifierConfig,
    dialog: Dialog,
    package: String,
    event_id: Option<String>,
    status: SubscriptionStatus,
    expires_at: Instant,
    branches: u32,
    /// The final NOTIFY (terminated) has been built.
    done: bool,
}

fn response(request: &Request, code: u16, to_tag: &str) -> Response {
    let status = StatusCode::new(code).unwrap_or(StatusCode::SERVER_INTERNAL_ERROR);
    Response::for_request(request, status, Some(to_tag))
}

/// Checks Event and Expires of a SUBSCRIBE: the granted expiry, or the
/// rejection to send (489 with Allow-Events, 423 with Min-Expires, 400).
fn check(config: &NotifierConfig, request: &Request, to_tag: &str) -> Result<u32, Box<Response>> {
    let h = &request.headers;
    let accepted = match h.typed::<Event>() {
        Some(Ok(e)) => config
            .packages
            .iter()
            .any(|p| p.eq_ignore_ascii_case(&e.package)),
        _ => false,
    };
    if !accepted {
        let mut r = response(request, 489, to_tag);
        r.headers
            .push(HeaderName::AllowEvents, config.packages.join(", "));
        return Err(Box::new(r));
    }
    let asked = match h.typed::<Expires>() {
        None => config.default_expires,
        Some(Ok(e)) => e.0,
        Some(Err(_)) => return Err(Box::new(response(request, 400, to_tag))),
    };
    // §4.2.1.1: 0 is always acceptable (a fetch, or an unsubscribe).
    if asked != 0 && asked < config.min_expires {
        let mut r = response(request, 423, to_tag);
        r.headers
            .push(HeaderName::MinExpires, config.min_expires.to_string());
        return Err(Box::new(r));
    }
    Ok(asked.min(config.max_expires))
}

impl IncomingSubscription {
    /// A new subscription from an out-of-dialog SUBSCRIBE, answered with
    /// our `to_tag`: the 200 (`pending` false) or 202 (`pending` true,
    /// awaiting authorization) with Expires and Contact — or, as `Err`,
    /// the rejection to send. The caller then sends the first NOTIFY
    /// ([`notify`](Self::notify)) at once (§4.2.1.2).
    pub fn accept(
        config: NotifierConfig,
        request: &Request,
        to_tag: &str,
        pending: bool,
        now: Instant,
    ) -> Result<(IncomingSubscription, Response), Box<Response>> {
        if request.method != Method::Subscribe {
            return Err(Box::new(response(request, 405, to_tag)));
        }
        let granted = check(&config, request, to_tag)?;
        let mut r = response(request, if pending { 202 } else { 200 }, to_tag);
        r.headers.push(HeaderName::Expires, granted.to_string());
        r.headers
            .push(HeaderName::Contact, format!("<{}>", config.contact));
        let dialog =
            Dialog::uas(request, &r).map_err(|_| Box::new(response(request, 400, to_tag)))?;
        let (package, event_id) = match request.headers.typed::<Event>() {
            Some(Ok(e)) => (e.package.to_string(), e.id().map(str::to_owned)),
            _ => return Err(Box::new(response(request, 489, to_tag))),
        };
        let status = if granted == 0 {
            // A fetch: one NOTIFY, then over.
            SubscriptionStatus::Terminated {
                reason: None,
                retry_after: None,
            }
        } else if pending {
            SubscriptionStatus::Pending
        } else {
            SubscriptionStatus::Active
        };
        let sub = IncomingSubscription {
            config,
            dialog,
            package,
            event_id,
            status,
            expires_at: now + Duration::from_secs(u64::from(granted)),
            branches: 0,
            done: false,
        };
        Ok((sub, r))
    }

    pub fn status(&self) -> &SubscriptionStatus {
        &self.status
    }

    pub fn dialog(&self) -> &Dialog {
        &self.dialog
    }

    /// The event package and id of this subscription.
    pub fn event(&self) -> (&str, Option<&str>) {
        (&self.package, self.event_id.as_deref())
    }

    /// Whether the final NOTIFY has been built: nothing more to send.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// When `handle_timeout` wants to be called (the expiry).
    pub fn poll_timeout(&self) -> Option<Instant> {
        (!self.done).then_some(self.expires_at)
    }

    fn remaining(&self, now: Instant) -> u32 {
        let left = self.expires_at.saturating_duration_since(now).as_secs();
        u32::try_from(left).unwrap_or(u32::MAX)
    }

    /// Whether `request` belongs to this subscription's dialog.
    pub fn matches(&self, request: &Request) -> bool {
        self.dialog.matches(request)
    }

    /// A NOTIFY with the current state and `body`. After a terminated
    /// state it is the last one.
    pub fn notify(
        &mut self,
        body: Option<&Body>,
        now: Instant,
    ) -> Result<Request, SubscriptionError> {
        let state = match &self.status {
            SubscriptionStatus::Active => SubState::active(self.remaining(now)),
            SubscriptionStatus::Pending | SubscriptionStatus::Subscribing => {
                SubState::pending(self.remaining(now))
            }
            SubscriptionStatus::Terminated {
                reason,
                retry_after,
            } => SubState::terminated(
                reason.clone(),
                retry_after.map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX)),
            ),
        };
        self.build_notify(&state, body)
    }

    fn build_notify(
        &mut self,
        state: &SubState,
        body: Option<&Body>,
    ) -> Result<Request, SubscriptionError> {
        if self.done {
            return Err(SubscriptionError::Terminated);
        }
        self.branches = self.branches.wrapping_add(1);
        let via = format!(
            "{};branch=z9hG4bK{}{}",
            self.config.via, self.config.branch_prefix, self.branches
        );
        let mut r = in_dialog_request(&mut self.dialog, Method::Notify, &via);
        let h = &mut r.headers;
        h.push(HeaderName::Contact, format!("<{}>", self.config.contact));
        h.push(
            HeaderName::Event,
            event_value(&self.package, self.event_id.as_deref()),
        );
        h.push(HeaderName::SubscriptionState, state.to_string());
        if let Some(ua) = &self.config.user_agent {
            h.push(HeaderName::UserAgent, ua.as_str());
        }
        set_body(&mut r, body);
        if state.value == SubStateValue::Terminated {
            self.done = true;
            self.status = SubscriptionStatus::Terminated {
                reason: state.reason.clone(),
                retry_after: state.retry_after.map(|s| Duration::from_secs(u64::from(s))),
            };
        }
        Ok(r)
    }

    /// Authorizes a pending subscription: the NOTIFY saying active.
    pub fn authorize(
        &mut self,
        body: Option<&Body>,
        now: Instant,
    ) -> Result<Request, SubscriptionError> {
        if self.status != SubscriptionStatus::Pending {
            return Err(SubscriptionError::WrongState(
                "authorizing a subscription not pending",
            ));
        }
        self.status = SubscriptionStatus::Active;
        self.notify(body, now)
    }

    /// Refuses a pending (or ends an active) subscription: the final
    /// NOTIFY, terminated;reason=rejected.
    pub fn reject(&mut self) -> Result<Request, SubscriptionError> {
        self.terminate(TerminationReason::Rejected, None, None)
    }

    /// Ends the subscription with `reason` (deactivated, probation,
    /// noresource, giveup, ...) and an optional retry-after: the final
    /// NOTIFY.
    pub fn terminate(
        &mut self,
        reason: TerminationReason,
        retry_after: Option<u32>,
        body: Option<&Body>,
    ) -> Result<Request, SubscriptionError> {
        self.build_notify(&SubState::terminated(Some(reason), retry_after), body)
    }

    /// A SUBSCRIBE inside the dialog: a refresh (the 200 with the new
    /// Expires) or an unsubscribe (Expires 0: the 200, and the
    /// subscription is terminated — send [`notify`](Self::notify), the
    /// final NOTIFY, which says `terminated` without a reason: none of
    /// RFC 6665's reasons is "the subscriber asked", and `timeout` would
    /// make it subscribe again).
    pub fn handle_subscribe(&mut self, request: &Request, now: Instant) -> Response {
        let tag = self.dialog.id.local_tag.clone();
        if request.method != Method::Subscribe {
            return response(request, 405, &tag);
        }
        let event_ok = request
            .headers
            .typed::<Event>()
            .and_then(Result::ok)
            .is_some_and(|e| same_event(&e, &self.package, self.event_id.as_deref()));
        if !event_ok {
            let mut r = response(request, 489, &tag);
            r.headers
                .push(HeaderName::AllowEvents, self.config.packages.join(", "));
            return r;
        }
        if self.done {
            return response(request, 481, &tag);
        }
        let granted = match check(&self.config, request, &tag) {
            Ok(g) => g,
            Err(r) => return *r,
        };
        match self.dialog.on_request(request) {
            Ok(()) => {}
            Err(DialogError::OutOfOrder { .. }) => return response(request, 500, &tag),
            Err(_) => return response(request, 481, &tag),
        }
        self.expires_at = now + Duration::from_secs(u64::from(granted));
        if granted == 0 {
            self.status = SubscriptionStatus::Terminated {
                reason: None,
                retry_after: None,
            };
        }
        let mut r = response(request, 200, &tag);
        r.headers.push(HeaderName::Expires, granted.to_string());
        r.headers
            .push(HeaderName::Contact, format!("<{}>", self.config.contact));
        r
    }

    /// The subscription expired without a refresh: the final NOTIFY,
    /// terminated;reason=timeout (§4.2.2), if it is due.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<Request> {
        if self.done || now < self.expires_at {
            return None;
        }
        self.build_notify(
            &SubState::terminated(Some(TerminationReason::Timeout), None),
            None,
        )
        .ok()
    }

    /// The final response to one of our NOTIFYs: a 481 or 408 (or any
    /// failure but a challenge) removes the subscription (§4.2.2); the
    /// return is whether it lives on.
    pub fn handle_notify_response(&mut self, response: &Response) -> bool {
        let ours = response
            .headers
            .typed::<CSeq>()
            .and_then(Result::ok)
            .is_some_and(|c| c.method == Method::Notify && c.seq <= self.dialog.local_seq)
            && response
                .headers
                .typed::<To>()
                .and_then(Result::ok)
                .is_some_and(|t| t.tag().unwrap_or_default() == self.dialog.id.remote_tag);
        if ours && !response.status.is_success() && !matches!(response.status.code(), 401 | 407) {
            self.done = true;
            self.status = SubscriptionStatus::Terminated {
                reason: None,
                retry_after: None,
            };
        }
        !self.done
    }
}
