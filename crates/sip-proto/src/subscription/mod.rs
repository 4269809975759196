//! Event subscriptions (RFC 6665), sans-IO: the subscriber
//! ([`Subscriber`]) and the notifier's side of one subscription
//! ([`IncomingSubscription`]).
//!
//! Both build the requests and responses and keep the state; the caller
//! sends requests in client transactions, answers server transactions
//! with the responses given back, keeps the clock (passing `now` in and
//! asking `poll_timeout` when to call `handle_timeout`), and feeds back
//! the final responses (or, on a transaction timeout, a 408 built with
//! [`timeout_response`]).
//!
//! What the Subscription-State of a NOTIFY means for the subscriber is
//! [`SubState`] and [`RetryPolicy`] (RFC 6665 §4.1.3).

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use crate::headers::{
    HeaderName, Headers, SubscriptionState as SubscriptionStateHeader, Transport, TypedHeader, Via,
};
use crate::invite::Body;
use crate::message::{Method, Request, Response, StatusCode};
use crate::uri::Host;

#[cfg(test)]
mod core_tests;
mod notifier;
mod subscriber;

pub use notifier::{IncomingSubscription, NotifierConfig};
pub use subscriber::{SubscribeConfig, Subscriber, SubscriberEvent};

/// The `substate-value` of Subscription-State.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubStateValue {
    Active,
    Pending,
    Terminated,
    /// An extension value: RFC 6665 §4.1.3 says to treat it as pending.
    Other(String),
}

/// Why a subscription ended (RFC 6665 §4.2.2 `event-reason-value`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TerminationReason {
    Deactivated,
    Probation,
    Rejected,
    Timeout,
    Giveup,
    Noresource,
    Invariant,
    /// An extension reason, kept as received (lower case).
    Other(String),
}

impl TerminationReason {
    pub fn parse(s: &str) -> TerminationReason {
        match s.to_ascii_lowercase().as_str() {
            "deactivated" => TerminationReason::Deactivated,
            "probation" => TerminationReason::Probation,
            "rejected" => TerminationReason::Rejected,
            "timeout" => TerminationReason::Timeout,
            "giveup" => TerminationReason::Giveup,
            "noresource" => TerminationReason::Noresource,
            "invariant" => TerminationReason::Invariant,
            other => TerminationReason::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            TerminationReason::Deactivated => "deactivated",
            TerminationReason::Probation => "probation",
            TerminationReason::Rejected => "rejected",
            TerminationReason::Timeout => "timeout",
            TerminationReason::Giveup => "giveup",
            TerminationReason::Noresource => "noresource",
            TerminationReason::Invariant => "invariant",
            TerminationReason::Other(s) => s,
        }
    }
}

impl fmt::Display for TerminationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the subscriber does after a termination (RFC 6665 §4.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryPolicy {
    /// Subscribe again at once with a new SUBSCRIBE (deactivated, timeout).
    Now,
    /// Subscribe again after this long (probation, giveup, no or an
    /// unknown reason: its retry-after, else the configured default).
    After(Duration),
    /// Do not subscribe again (rejected, noresource, invariant).
    Never,
}

impl RetryPolicy {
    /// The RFC 6665 §4.1.3 consequence of `reason` with `retry_after`
    /// seconds; `default` when the reason allows a later retry and the
    /// notifier gave no time.
    pub fn for_reason(
        reason: Option<&TerminationReason>,
        retry_after: Option<u32>,
        default: Duration,
    ) -> RetryPolicy {
        let later = retry_after.map_or(default, |s| Duration::from_secs(u64::from(s)));
        match reason {
            Some(TerminationReason::Deactivated | TerminationReason::Timeout) => RetryPolicy::Now,
            Some(
                TerminationReason::Rejected
                | TerminationReason::Noresource
                | TerminationReason::Invariant,
            ) => RetryPolicy::Never,
            Some(TerminationReason::Probation | TerminationReason::Giveup)
            | Some(TerminationReason::Other(_))
            | None => RetryPolicy::After(later),
        }
    }
}

/// A Subscription-State value read into its meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubState {
    pub value: SubStateValue,
    /// Seconds left (active, pending).
    pub expires: Option<u32>,
    pub reason: Option<TerminationReason>,
    /// Seconds before subscribing again (terminated).
    pub retry_after: Option<u32>,
}

/// A Subscription-State the subscriber cannot act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubStateError {
    #[error("no Subscription-State")]
    Missing,
    #[error("bad Subscription-State: {0}")]
    Syntax(String),
    #[error("bad {0} parameter in Subscription-State")]
    BadParam(&'static str),
}

fn number_param(
    h: &SubscriptionStateHeader<'_>,
    name: &'static str,
) -> Result<Option<u32>, SubStateError> {
    match h.params.get(name) {
        None => Ok(None),
        Some(v) => v
            .and_then(|v| v.parse().ok())
            .map(Some)
            .ok_or(SubStateError::BadParam(name)),
    }
}

impl SubState {
    pub fn active(expires: u32) -> SubState {
        SubState {
            value: SubStateValue::Active,
            expires: Some(expires),
            reason: None,
            retry_after: None,
        }
    }

    pub fn pending(expires: u32) -> SubState {
        SubState {
            value: SubStateValue::Pending,
            ..SubState::active(expires)
        }
    }

    pub fn terminated(reason: Option<TerminationReason>, retry_after: Option<u32>) -> SubState {
        SubState {
            value: SubStateValue::Terminated,
            expires: None,
            reason,
            retry_after,
        }
    }

    /// Reads a typed Subscription-State header.
    pub fn from_header(h: &SubscriptionStateHeader<'_>) -> Result<SubState, SubStateError> {
        let value = match h.state.to_ascii_lowercase().as_str() {
            "active" => SubStateValue::Active,
            "pending" => SubStateValue::Pending,
            "terminated" => SubStateValue::Terminated,
            other => SubStateValue::Other(other.to_owned()),
        };
        let reason = match h.params.get("reason") {
            None => None,
            Some(Some(r)) if !r.is_empty() => Some(TerminationReason::parse(r)),
            Some(_) => return Err(SubStateError::BadParam("reason")),
        };
        Ok(SubState {
            value,
            expires: number_param(h, "expires")?,
            reason,
            retry_after: number_param(h, "retry-after")?,
        })
    }

    /// Parses a Subscription-State value.
    pub fn parse(value: &str) -> Result<SubState, SubStateError> {
        let h = SubscriptionStateHeader::parse(value)
            .map_err(|e| SubStateError::Syntax(e.to_string()))?;
        SubState::from_header(&h)
    }

    /// The Subscription-State of `headers`.
    pub fn of(headers: &Headers) -> Result<SubState, SubStateError> {
        match headers.typed::<SubscriptionStateHeader>() {
            None => Err(SubStateError::Missing),
            Some(Err(e)) => Err(SubStateError::Syntax(e.to_string())),
            Some(Ok(h)) => SubState::from_header(&h),
        }
    }

    /// The header value.
    pub fn to_header(&self) -> SubscriptionStateHeader<'static> {
        let state = match &self.value {
            SubStateValue::Active => "active".to_owned(),
            SubStateValue::Pending => "pending".to_owned(),
            SubStateValue::Terminated => "terminated".to_owned(),
            SubStateValue::Other(s) => s.clone(),
        };
        let mut h = SubscriptionStateHeader::new(Cow::Owned(state));
        if let Some(r) = &self.reason {
            h.params.set("reason", Some(r.as_str().to_owned()));
        }
        if let Some(e) = self.expires {
            h.params.set("expires", Some(e.to_string()));
        }
        if let Some(r) = self.retry_after {
            h.params.set("retry-after", Some(r.to_string()));
        }
        h
    }
}

impl fmt::Display for SubState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_header().fmt(f)
    }
}

/// Where a subscription (or one of its forked dialogs) is, for the
/// middleware to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriptionStatus {
    /// SUBSCRIBE sent; no NOTIFY yet.
    Subscribing,
    /// The notifier has not authorized it yet (or an extension state).
    Pending,
    Active,
    /// Over; `retry_after` is when this side subscribes again (`None`:
    /// it does not).
    Terminated {
        reason: Option<TerminationReason>,
        retry_after: Option<Duration>,
    },
}

/// Errors of the subscription API (wrong use, not network conditions).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscriptionError {
    #[error("the subscription is terminated")]
    Terminated,
    #[error("{0} is not possible now")]
    WrongState(&'static str),
}

/// The 408 to feed back to `handle_response` when the transaction of
/// `request` timed out (Timer F) or its transport failed.
pub fn timeout_response(request: &Request) -> Response {
    let status = StatusCode::new(408).unwrap_or(StatusCode::SERVER_INTERNAL_ERROR);
    Response::for_request(request, status, None)
}

/// Whether two Event values name the same subscription: same package
/// (case-insensitive) and the same `id`, or neither has one (§8.2.1).
pub(crate) fn same_event(a: &crate::headers::Event<'_>, package: &str, id: Option<&str>) -> bool {
    a.package.eq_ignore_ascii_case(package) && a.id() == id
}

/// The Event header value for `package` and `id`.
pub(crate) fn event_value(package: &str, id: Option<&str>) -> String {
    match id {
        Some(id) => format!("{package};id={id}"),
        None => package.to_owned(),
    }
}

/// A request inside `dialog`: the dialog's headers, our Via (branch
/// included), Contact, and Content-Length 0.
pub(crate) fn in_dialog_request(
    dialog: &mut crate::dialog::Dialog,
    method: Method,
    via: &str,
) -> Request {
    let placeholder = Via::new(
        Transport::Udp,
        Host::Domain("invalid".into()),
        None,
        "z9hG4bK",
    );
    let (mut r, _) = dialog.new_request(method, &placeholder, None);
    r.headers.set(HeaderName::Via, via.to_owned());
    r
}

/// Puts `body` (or none) on `request` with its Content-Type and Length.
pub(crate) fn set_body(request: &mut Request, body: Option<&Body>) {
    let h = &mut request.headers;
    h.remove_all(&HeaderName::ContentLength);
    h.remove_all(&HeaderName::ContentType);
    match body {
        Some(b) => {
            h.push(HeaderName::ContentType, b.content_type.as_str());
            h.push(HeaderName::ContentLength, b.data.len().to_string());
            request.body = bytes::Bytes::from(b.data.clone());
        }
        None => {
            h.push(HeaderName::ContentLength, "0");
            request.body = bytes::Bytes::new();
        }
    }
}

/// The body of a request, with its type.
pub(crate) fn body_of(request: &Request) -> Option<Body> {
    if request.body.is_empty() {
        return None;
    }
    Some(Body {
        content_type: request
            .headers
            .get_str(&HeaderName::ContentType)
            .unwrap_or("application/octet-stream")
            .to_owned(),
        data: request.body.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::{AllowEvents, Event, SipETag, SipIfMatch};

    /// Parses, prints, parses the print: the same value, printed alike.
    macro_rules! round_trip {
        ($t:ty, $v:expr) => {{
            let parsed = <$t>::parse($v).unwrap();
            let printed = parsed.to_string();
            let again = <$t>::parse(&printed).unwrap();
            assert_eq!(again, parsed);
            assert_eq!(again.to_string(), printed);
            printed
        }};
    }

    #[test]
    fn event_headers_print_and_parse_back() {
        assert_eq!(round_trip!(Event, "presence ; id=7"), "presence;id=7");
        assert_eq!(round_trip!(Event, "dialog"), "dialog");
        assert!(Event::parse("pres ence").is_err());
        assert_eq!(
            round_trip!(
                SubscriptionStateHeader,
                "terminated;reason=probation;retry-after=30"
            ),
            "terminated;reason=probation;retry-after=30"
        );
        assert_eq!(round_trip!(AllowEvents, "presence.winfo"), "presence.winfo");
        assert_eq!(round_trip!(SipETag, "dx200xyz"), "dx200xyz");
        assert_eq!(round_trip!(SipIfMatch, "dx200xyz"), "dx200xyz");
        assert!(SipETag::parse("a b").is_err());
        assert!(SipIfMatch::parse("").is_err());
    }

    #[test]
    fn substate_reads_every_reason_and_prints_back() {
        let s = SubState::parse("Terminated;reason=GiveUp;retry-after=45").unwrap();
        assert_eq!(s.value, SubStateValue::Terminated);
        assert_eq!(s.reason, Some(TerminationReason::Giveup));
        assert_eq!(s.retry_after, Some(45));
        assert_eq!(SubState::parse(&s.to_string()), Ok(s));
        let a = SubState::parse("active;expires=600").unwrap();
        assert_eq!(a, SubState::active(600));
        assert_eq!(
            SubState::parse("pending").unwrap().value,
            SubStateValue::Pending
        );
        assert!(matches!(
            SubState::parse("waiting").unwrap().value,
            SubStateValue::Other(_)
        ));
        assert_eq!(
            SubState::parse("active;expires=soon"),
            Err(SubStateError::BadParam("expires"))
        );
        assert_eq!(
            SubState::parse("terminated;retry-after"),
            Err(SubStateError::BadParam("retry-after"))
        );
        assert!(SubState::parse("").is_err());
        for r in [
            "deactivated",
            "probation",
            "rejected",
            "timeout",
            "giveup",
            "noresource",
            "invariant",
            "x-custom",
        ] {
            let s = SubState::parse(&format!("terminated;reason={r}")).unwrap();
            assert_eq!(s.reason.as_ref().map(TerminationReason::as_str), Some(r));
        }
    }

    #[test]
    fn retry_policy_follows_rfc6665_4_1_3() {
        let d = Duration::from_secs(90);
        let p =
            |r: &str, after| RetryPolicy::for_reason(Some(&TerminationReason::parse(r)), after, d);
        assert_eq!(p("deactivated", None), RetryPolicy::Now);
        assert_eq!(p("timeout", Some(5)), RetryPolicy::Now);
        assert_eq!(p("probation", None), RetryPolicy::After(d));
        assert_eq!(
            p("probation", Some(5)),
            RetryPolicy::After(Duration::from_secs(5))
        );
        assert_eq!(
            p("giveup", Some(7)),
            RetryPolicy::After(Duration::from_secs(7))
        );
        assert_eq!(p("rejected", Some(7)), RetryPolicy::Never);
        assert_eq!(p("noresource", None), RetryPolicy::Never);
        assert_eq!(p("invariant", None), RetryPolicy::Never);
        assert_eq!(
            RetryPolicy::for_reason(None, None, d),
            RetryPolicy::After(d)
        );
    }
}
