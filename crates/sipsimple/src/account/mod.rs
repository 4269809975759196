//! SIP accounts (the spec's `sipsimple.account`): the AccountManager that
//! loads and tracks them, and the Account with its settings, contact and
//! activation. Registration (RFC 3261 §10) is the next part of issue 4
//! and will live in its own module here.

mod manager;

pub use manager::AccountManager;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use sip_proto::uri::Uri;

use crate::config::{ConfigError, SettingChange, SettingsObject, SipAddress, Value};
use crate::notification::{NotificationCenter, NotificationData, SenderId};

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
    /// Whether the application's engine runs: an account is active when
    /// it is enabled and the engine runs.
    engine_running: Arc<AtomicBool>,
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
        engine_running: Arc<AtomicBool>,
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
            engine_running,
        })
    }

    fn lock(&self) -> MutexGuard<'_, SettingsObject> {
        self.settings.lock().unwrap_or_else(|p| p.into_inner())
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

    /// Active when enabled and the engine runs; posts SIPAccountDidActivate
    /// or SIPAccountDidDeactivate on a change.
    fn update_activation(&self) {
        let want = self.is_enabled() && self.engine_running.load(Ordering::SeqCst);
        if self.active.swap(want, Ordering::SeqCst) != want {
            let data = if want {
                NotificationData::SIPAccountDidActivate
            } else {
                NotificationData::SIPAccountDidDeactivate
            };
            self.center.post(self.sender, data);
        }
    }

    fn deactivate(&self) {
        if self.active.swap(false, Ordering::SeqCst) {
            self.center
                .post(self.sender, NotificationData::SIPAccountDidDeactivate);
        }
    }

    fn delete_settings(&self) -> Result<(), ConfigError> {
        self.lock().delete()
    }
}
