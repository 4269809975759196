//! The AccountManager: one per application; loads the stored accounts,
//! creates and deletes them, keeps the default account, and switches
//! accounts on and off with the engine.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use sip_proto::uri::SipUri;

use super::{Account, BonjourAccount};
use crate::config::{settings, ConfigError, ConfigurationManager, SipAddress, Value};
use crate::notification::{NotificationCenter, NotificationData, SenderId};
use crate::services::Services;

const ACCOUNTS: &str = "accounts";
const BONJOUR: &str = "bonjour";

struct Inner {
    config: Option<ConfigurationManager>,
    accounts: BTreeMap<String, Arc<Account>>,
    bonjour: Option<Arc<BonjourAccount>>,
}

/// Tracks the accounts of one application. Cloning shares it.
#[derive(Clone)]
pub struct AccountManager {
    inner: Arc<Mutex<Inner>>,
    center: NotificationCenter,
    sender: SenderId,
    services: Arc<Mutex<Option<Services>>>,
    /// One schema shared by every account's settings object.
    account_schema: Arc<crate::config::Group>,
}

fn invalid(id: &str, reason: String) -> ConfigError {
    ConfigError::Invalid {
        setting: format!("account id {id:?}"),
        reason,
    }
}

impl AccountManager {
    /// A manager with no accounts until `start`.
    pub fn new(center: NotificationCenter) -> Self {
        AccountManager {
            sender: center.new_sender(),
            center,
            inner: Arc::new(Mutex::new(Inner {
                config: None,
                accounts: BTreeMap::new(),
                bonjour: None,
            })),
            services: Arc::new(Mutex::new(None)),
            account_schema: Arc::new(settings::account()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        crate::sync::lock(&self.inner)
    }

    /// The sender id of the manager's own notifications.
    pub fn sender(&self) -> SenderId {
        self.sender
    }

    fn post(&self, data: NotificationData) {
        self.center.post(self.sender, data);
    }

    /// Loads every stored account (SIPAccountManagerDidAddAccount for
    /// each) and, given the running `services`, activates the enabled ones
    /// (which then register). A stored account with a bad id or setting
    /// fails the start, naming it.
    pub fn start(
        &self,
        config: ConfigurationManager,
        services: Option<Services>,
    ) -> Result<(), ConfigError> {
        let mut loaded = Vec::new();
        let schema = self.account_schema.clone();
        for id in config.children(&[ACCOUNTS]) {
            let address = SipAddress::parse(&id).map_err(|e| invalid(&id, e))?;
            let object = config.object(&[ACCOUNTS, &id], schema.clone())?;
            loaded.push(Arc::new(Account::new(
                address,
                object,
                self.center.clone(),
                self.services.clone(),
            )?));
        }
        let bonjour = Arc::new(BonjourAccount::new(
            config.object(&[BONJOUR], Arc::new(settings::bonjour_account()))?,
            self.center.clone(),
            self.services.clone(),
        ));
        *crate::sync::lock(&self.services) = services;
        {
            let mut inner = self.lock();
            inner.config = Some(config);
            inner.bonjour = Some(bonjour.clone());
            inner.accounts = loaded
                .iter()
                .map(|a| (a.id().to_string(), a.clone()))
                .collect();
        }
        for a in &loaded {
            self.post(NotificationData::SIPAccountManagerDidAddAccount {
                account: a.id().to_string(),
            });
            a.update_activation();
        }
        bonjour.update_activation();
        Ok(())
    }

    /// Deactivates every account (the engine is going away) and waits
    /// for their unregistrations, each bounded by a short grace.
    pub async fn stop(&self) {
        *crate::sync::lock(&self.services) = None;
        // Concurrently: each waits up to its own grace.
        let mut tasks: Vec<_> = self
            .accounts()
            .into_iter()
            .map(|a| tokio::spawn(async move { a.deactivate().await }))
            .collect();
        if let Some(b) = self.bonjour_account() {
            tasks.push(tokio::spawn(async move { b.deactivate().await }));
        }
        for t in tasks {
            let _ = t.await;
        }
    }

    /// The Bonjour account (`bonjour@local`), once started. Kept apart
    /// from [`accounts`](Self::accounts): it is a different type.
    pub fn bonjour_account(&self) -> Option<Arc<BonjourAccount>> {
        self.lock().bonjour.clone()
    }

    pub fn has_account(&self, id: &str) -> bool {
        self.lock().accounts.contains_key(id)
    }

    pub fn get_account(&self, id: &str) -> Option<Arc<Account>> {
        self.lock().accounts.get(id).cloned()
    }

    /// Every account, ordered by id.
    pub fn accounts(&self) -> Vec<Arc<Account>> {
        self.lock().accounts.values().cloned().collect()
    }

    /// The spec's `iter_accounts`.
    pub fn iter(&self) -> impl Iterator<Item = Arc<Account>> {
        self.accounts().into_iter()
    }

    /// The enabled account a request addressed to `contact` is for: by
    /// the random contact user name, else by id (user@domain).
    pub fn find_account(&self, contact: &SipUri<'_>) -> Option<Arc<Account>> {
        let user = contact.user.as_deref()?;
        let host = contact.host.to_string();
        let accounts = self.accounts();
        let enabled = || accounts.iter().filter(|a| a.is_enabled());
        enabled()
            .find(|a| a.contact_username() == user)
            .or_else(|| {
                enabled()
                    .find(|a| a.id().username == user && a.id().domain.eq_ignore_ascii_case(&host))
            })
            .cloned()
    }

    /// Makes and stores a new account, or returns the existing one with
    /// this id. Posts SIPAccountManagerDidAddAccount for a new one.
    pub fn create_account(&self, id: &str) -> Result<Arc<Account>, ConfigError> {
        let address = SipAddress::parse(id).map_err(|e| invalid(id, e))?;
        let key = address.to_string();
        if let Some(a) = self.get_account(&key) {
            return Ok(a);
        }
        let config = self.config()?;
        let mut object = config.object(&[ACCOUNTS, &key], self.account_schema.clone())?;
        object.save()?;
        let account = Arc::new(Account::new(
            address,
            object,
            self.center.clone(),
            self.services.clone(),
        )?);
        self.lock().accounts.insert(key.clone(), account.clone());
        self.post(NotificationData::SIPAccountManagerDidAddAccount { account: key });
        Ok(account)
    }

    /// Deletes an account from storage: deactivates it, posts
    /// SIPAccountManagerDidRemoveAccount, and clears the default if it
    /// was the default.
    pub async fn delete_account(&self, id: &str) -> Result<(), ConfigError> {
        let Some(account) = self.get_account(id) else {
            return Err(invalid(id, "no such account".into()));
        };
        account.delete_settings()?;
        account.deactivate().await;
        self.lock().accounts.remove(id);
        self.post(NotificationData::SIPAccountManagerDidRemoveAccount {
            account: id.to_owned(),
        });
        if self.default_account_id()?.as_deref() == Some(id) {
            self.set_default_account(None)?;
        }
        Ok(())
    }

    fn config(&self) -> Result<ConfigurationManager, ConfigError> {
        self.lock()
            .config
            .clone()
            .ok_or_else(|| invalid("", "the account manager is not started".into()))
    }

    fn default_account_id(&self) -> Result<Option<String>, ConfigError> {
        let global = self.config()?.object(&[], Arc::new(settings::global()))?;
        Ok(global
            .get("default_account")?
            .and_then(Value::as_str)
            .map(str::to_owned))
    }

    /// The default account, if one is set and exists.
    pub fn default_account(&self) -> Option<Arc<Account>> {
        let id = self.default_account_id().ok().flatten()?;
        self.get_account(&id)
    }

    /// Makes `id` the default (or none); stores it in the global
    /// `default_account` setting and posts
    /// SIPAccountManagerDidChangeDefaultAccount when it changed.
    pub fn set_default_account(&self, id: Option<&str>) -> Result<(), ConfigError> {
        if let Some(id) = id {
            if !self.has_account(id) {
                return Err(invalid(id, "no such account".into()));
            }
        }
        let config = self.config()?;
        let mut global = config.object(&[], Arc::new(settings::global()))?;
        let old = global
            .get("default_account")?
            .and_then(Value::as_str)
            .map(str::to_owned);
        if old.as_deref() == id {
            return Ok(());
        }
        global.set("default_account", id.map(|s| Value::String(s.to_owned())))?;
        global.save()?;
        self.post(NotificationData::SIPAccountManagerDidChangeDefaultAccount {
            old_account: old,
            account: id.map(str::to_owned),
        });
        Ok(())
    }
}
