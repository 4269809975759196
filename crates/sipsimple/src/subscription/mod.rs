//! Event subscriptions (RFC 6665) in the application: the SIP core's
//! Subscription (we subscribe, `outgoing`), and the table through which
//! the request router hands each NOTIFY to the subscription whose dialog
//! it belongs to.
//!
//! The protocol (dialogs, forks, NOTIFY before the 2xx, refresh, the
//! termination reasons and what each means for a retry) is the sans-IO
//! [`sip_proto::subscription::Subscriber`]; this module runs it on the
//! engine: one task per subscription that sends its requests, feeds back
//! the answers and NOTIFYs, keeps its clock, and posts the spec's
//! SIPSubscription* notifications.
//!
//! The notifier side, IncomingSubscription (`incoming`), runs the
//! sans-IO [`sip_proto::subscription::IncomingSubscription`] the same
//! way, with the application deciding who may subscribe.
//!
//! Resource-list subscriptions (RFC 4662) are subscriptions like any
//! other here: a subscriber that sets `Supported: eventlist`
//! ([`SubscriptionOptions::supported`]) gets multipart/related NOTIFYs
//! (RLMI and each member's state), which the account's list watching
//! reads (`account::presence`, setting `presence.subscribe_rls`); the
//! router takes NOTIFYs that `Require: eventlist`.

mod incoming;
mod outgoing;

pub(crate) use incoming::IncomingSubscriptionRequests;
pub use incoming::{IncomingSubscription, IncomingSubscriptionState, IncomingSubscriptions};

pub(crate) use outgoing::GotNotify;
pub use outgoing::{Subscription, SubscriptionOptions, SubscriptionState};

use crate::sync::lock;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sip_proto::headers::HeaderName;
use sip_proto::Method;
use tokio::sync::mpsc;

use crate::router::{Disposition, IncomingRequest, RequestOwner};

/// The running subscriptions by Call-ID (each subscription's Call-ID is
/// random and its own; a new subscription after a termination takes a
/// new one and re-registers). Cloning shares the table.
#[derive(Clone, Default)]
pub struct EventDialogs {
    table: Arc<Mutex<HashMap<String, mpsc::Sender<Box<IncomingRequest>>>>>,
}

impl std::fmt::Debug for EventDialogs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventDialogs")
            .field("subscriptions", &self.len())
            .finish()
    }
}

impl EventDialogs {
    pub(crate) fn insert(&self, call_id: &str, inbox: mpsc::Sender<Box<IncomingRequest>>) {
        lock(&self.table).insert(call_id.to_owned(), inbox);
    }

    pub(crate) fn remove(&self, call_id: &str) {
        lock(&self.table).remove(call_id);
    }

    fn inbox(&self, call_id: &str) -> Option<mpsc::Sender<Box<IncomingRequest>>> {
        lock(&self.table).get(call_id).cloned()
    }

    /// How many subscriptions are running (a finished one leaves).
    pub fn len(&self) -> usize {
        lock(&self.table).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The body types of the event packages the SDK's accounts subscribe to
/// (presence, watcher info, message summary, dialog state, lists).
pub const NOTIFY_BODY_TYPES: [&str; 7] = [
    "application/pidf+xml",
    "application/watcherinfo+xml",
    "application/simple-message-summary",
    "application/dialog-info+xml",
    "application/rlmi+xml",
    "multipart/related",
    "application/xpidf+xml",
];

/// The request owner of subscriptions: NOTIFYs of our dialogs go to
/// their subscription's task (without waiting: a full inbox is a 500
/// with Retry-After, RFC 6665 §4.1.3 lets the notifier try again).
pub(crate) struct SubscriptionRequests {
    pub dialogs: EventDialogs,
}

impl RequestOwner for SubscriptionRequests {
    fn methods(&self) -> Vec<Method> {
        vec![Method::Notify]
    }

    fn accepts(&self) -> Vec<String> {
        NOTIFY_BODY_TYPES.iter().map(|t| (*t).to_owned()).collect()
    }

    /// A list's NOTIFYs carry `Require: eventlist` (RFC 4662 §4.3).
    fn supported(&self) -> Vec<String> {
        vec!["eventlist".to_owned()]
    }

    fn request(&self, _incoming: IncomingRequest) -> Disposition {
        // A NOTIFY without a To tag matches no subscription (RFC 6665
        // §4.1.2.4: ours always carry our From tag).
        Disposition::answer(481)
    }

    fn in_dialog(
        &self,
        request: Box<IncomingRequest>,
    ) -> Result<Disposition, Box<IncomingRequest>> {
        if request.request.method != Method::Notify {
            return Err(request);
        }
        let Some(inbox) = request
            .request
            .headers
            .get_str(&HeaderName::CallId)
            .and_then(|c| self.dialogs.inbox(c))
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
