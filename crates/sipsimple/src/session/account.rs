//! The account a session belongs to: a SIP account or the Bonjour
//! account (the spec's `Session(account)` takes either).

use std::sync::Arc;

use sip_proto::uri::Uri;

use crate::account::{Account, BonjourAccount, Credentials};
use crate::config::Value;

#[derive(Clone)]
pub enum SessionAccount {
    Sip(Arc<Account>),
    Bonjour(Arc<BonjourAccount>),
}

impl std::fmt::Debug for SessionAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionAccount({})", self.id())
    }
}

impl From<Arc<Account>> for SessionAccount {
    fn from(a: Arc<Account>) -> Self {
        SessionAccount::Sip(a)
    }
}

impl From<&Arc<Account>> for SessionAccount {
    fn from(a: &Arc<Account>) -> Self {
        SessionAccount::Sip(a.clone())
    }
}

impl From<Arc<BonjourAccount>> for SessionAccount {
    fn from(a: Arc<BonjourAccount>) -> Self {
        SessionAccount::Bonjour(a)
    }
}

impl SessionAccount {
    /// The account's id: user@domain, or `bonjour@local`.
    pub fn id(&self) -> String {
        match self {
            SessionAccount::Sip(a) => a.id().to_string(),
            SessionAccount::Bonjour(a) => a.id().to_string(),
        }
    }

    /// The sender id of the account's notifications.
    pub fn sender(&self) -> crate::notification::SenderId {
        match self {
            SessionAccount::Sip(a) => a.sender(),
            SessionAccount::Bonjour(a) => a.sender(),
        }
    }

    pub fn contact_username(&self) -> &str {
        match self {
            SessionAccount::Sip(a) => a.contact_username(),
            SessionAccount::Bonjour(a) => a.contact_username(),
        }
    }

    /// Our From: the account's URI (Bonjour: its contact's, while the
    /// engine runs).
    pub fn uri(&self) -> Option<Uri<'static>> {
        match self {
            SessionAccount::Sip(a) => Some(a.uri().clone()),
            SessionAccount::Bonjour(a) => a.uri(),
        }
    }

    pub fn credentials(&self) -> Credentials {
        match self {
            SessionAccount::Sip(a) => a.credentials(),
            SessionAccount::Bonjour(a) => a.credentials(),
        }
    }

    /// A setting's value, None when unset or unreadable.
    pub(crate) fn setting(&self, path: &str) -> Option<Value> {
        match self {
            SessionAccount::Sip(a) => a.get(path).ok().flatten(),
            SessionAccount::Bonjour(a) => a.get(path).ok().flatten(),
        }
    }

    /// The SIP account, if it is one.
    pub fn as_sip(&self) -> Option<&Arc<Account>> {
        match self {
            SessionAccount::Sip(a) => Some(a),
            SessionAccount::Bonjour(_) => None,
        }
    }
}

/// The account a request is for, by its Request-URI (the rules users read
/// in docs/CONFIGURATION.md, "Which account gets an incoming request"):
/// an enabled account's contact user, or its user at its domain; the
/// active Bonjour account's contact user; else, for a request to an IP
/// address (a peer dialling `sip:bob@192.0.2.7` reached us directly), the
/// enabled account with that user name at any domain, else the default
/// account, else the only enabled one — as desktop softphones do. A
/// domain name with an unknown user stays unknown (404): users of a
/// domain are distinct people.
pub(crate) fn recipient(
    accounts: &crate::account::AccountManager,
    request: &sip_proto::Request,
) -> Option<SessionAccount> {
    let uri = request.uri().ok()?;
    let sip = uri.as_sip()?;
    if let Some(a) = accounts.find_account(sip) {
        return Some(a.into());
    }
    if let Some(b) = accounts.bonjour_account() {
        if b.is_active() && sip.user.as_deref() == Some(b.contact_username()) {
            return Some(b.into());
        }
    }
    if !matches!(sip.host, sip_proto::Host::V4(_) | sip_proto::Host::V6(_)) {
        return None;
    }
    let enabled: Vec<_> = accounts.iter().filter(|a| a.is_enabled()).collect();
    if let Some(named) = enabled
        .iter()
        .find(|a| sip.user.as_deref() == Some(a.id().username.as_str()))
    {
        return Some(named.clone().into());
    }
    accounts
        .default_account()
        .filter(|a| a.is_enabled())
        .or_else(|| match enabled.as_slice() {
            [only] => Some(only.clone()),
            _ => None,
        })
        .map(Into::into)
}
