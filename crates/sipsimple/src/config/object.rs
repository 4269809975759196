//! Settings objects and the ConfigurationManager that stores them.
//!
//! A settings object (global settings, one account) is a schema plus the
//! values that differ from its defaults, stored under a key in the
//! backend's tree (`[]` for the global settings, `["accounts", id]` for an
//! account). Assignment validates at once and keeps the old value on
//! refusal; nothing reaches storage until `save`, which writes the whole
//! tree atomically and then posts CFGSettingsObjectDidChange with each
//! changed setting's old and new value.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::backend::{ConfigError, StorageBackend, Tree};
use super::schema::{Group, Value};
use crate::notification::{NotificationCenter, NotificationData, SenderId};

/// What a secret setting's value reads as in a notification.
pub const MASKED: &str = "***masked***";

/// One setting's change in a save: effective values, `None` for nil.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingChange {
    pub old: Option<Value>,
    pub new: Option<Value>,
}

struct Stored {
    backend: Box<dyn StorageBackend>,
    tree: Tree,
}

/// The configuration of one application: its backend and what it holds.
/// Cloning shares it.
#[derive(Clone)]
pub struct ConfigurationManager {
    stored: Arc<Mutex<Stored>>,
    center: NotificationCenter,
}

fn table_at<'t>(tree: &'t Tree, key: &[String]) -> Option<&'t Tree> {
    key.iter()
        .try_fold(tree, |t, k| t.get(k).and_then(Value::as_table))
}

fn table_at_mut<'t>(tree: &'t mut Tree, key: &[String]) -> &'t mut Tree {
    key.iter().fold(tree, |t, k| {
        let entry = t
            .entry(k.clone())
            .or_insert_with(|| Value::Table(Tree::new()));
        if !entry.is_table() {
            // A scalar where a group belongs was refused when loading;
            // replacing it keeps the tree well-formed either way.
            *entry = Value::Table(Tree::new());
        }
        match entry {
            Value::Table(t) => t,
            _ => unreachable!("made a table just above"),
        }
    })
}

fn lookup<'t>(table: &'t Tree, path: &str) -> Option<&'t Value> {
    let mut parts = path.split('.').peekable();
    let mut t = table;
    while let Some(part) = parts.next() {
        let v = t.get(part)?;
        if parts.peek().is_none() {
            return Some(v);
        }
        t = v.as_table()?;
    }
    None
}

/// Sets or removes the value at a dotted path; drops groups left empty.
fn store(table: &mut Tree, path: &str, value: Option<&Value>) {
    match path.split_once('.') {
        None => match value {
            Some(v) => {
                table.insert(path.to_owned(), v.clone());
            }
            None => {
                table.remove(path);
            }
        },
        Some((group, rest)) => {
            if value.is_none() && !table.contains_key(group) {
                return;
            }
            let sub = table
                .entry(group.to_owned())
                .or_insert_with(|| Value::Table(Tree::new()));
            if !sub.is_table() {
                *sub = Value::Table(Tree::new());
            }
            if let Value::Table(sub) = sub {
                store(sub, rest, value);
                if sub.is_empty() {
                    table.remove(group);
                }
            }
        }
    }
}

impl ConfigurationManager {
    /// Loads what `backend` holds. A backend that cannot be read fails
    /// here, with nothing changed, and start may be tried again.
    pub fn start(
        backend: impl StorageBackend + 'static,
        center: NotificationCenter,
    ) -> Result<ConfigurationManager, ConfigError> {
        let tree = backend.load()?;
        Ok(ConfigurationManager {
            stored: Arc::new(Mutex::new(Stored {
                backend: Box::new(backend),
                tree,
            })),
            center,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Stored> {
        crate::sync::lock(&self.stored)
    }

    /// The names stored under `key` (e.g. the account ids under
    /// `["accounts"]`), sorted.
    pub fn children(&self, key: &[&str]) -> Vec<String> {
        let key: Vec<String> = key.iter().map(|k| k.to_string()).collect();
        let stored = self.lock();
        table_at(&stored.tree, &key)
            .map(|t| {
                t.iter()
                    .filter(|(_, v)| v.is_table())
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The settings object stored under `key`, or a new one with every
    /// setting at its default. A stored value that does not fit the schema
    /// is an error naming the storage and the setting.
    pub fn object(&self, key: &[&str], schema: Arc<Group>) -> Result<SettingsObject, ConfigError> {
        let key: Vec<String> = key.iter().map(|k| k.to_string()).collect();
        let stored = self.lock();
        let table = table_at(&stored.tree, &key);
        let mut values = BTreeMap::new();
        for (path, setting) in schema.walk() {
            let Some(v) = table.and_then(|t| lookup(t, &path)) else {
                continue;
            };
            setting
                .check(Some(v))
                .map_err(|reason| ConfigError::Invalid {
                    setting: format!(
                        "{} in {}",
                        full_name(&key, &path),
                        stored.backend.describe()
                    ),
                    reason,
                })?;
            if setting.default.as_ref() != Some(v) {
                values.insert(path, v.clone());
            }
        }
        let exists = table.is_some();
        drop(stored);
        Ok(SettingsObject {
            sender: self.center.new_sender(),
            manager: self.clone(),
            exists,
            key,
            schema,
            saved: values.clone(),
            values,
        })
    }

    /// Applies `change` to a copy of the tree, saves it, and keeps it only
    /// if the backend took it.
    fn commit(&self, change: impl FnOnce(&mut Tree)) -> Result<(), ConfigError> {
        let mut stored = self.lock();
        let mut tree = stored.tree.clone();
        change(&mut tree);
        stored.backend.save(&tree)?;
        stored.tree = tree;
        Ok(())
    }
}

fn full_name(key: &[String], path: &str) -> String {
    let mut parts: Vec<&str> = key.iter().map(String::as_str).collect();
    parts.push(path);
    parts.join(".")
}

/// A set of settings with defaults, validated on assignment and stored on
/// `save` (the spec's SettingsObject).
pub struct SettingsObject {
    manager: ConfigurationManager,
    key: Vec<String>,
    schema: Arc<Group>,
    sender: SenderId,
    /// Whether the key exists in storage.
    exists: bool,
    /// Non-default values as of the last load or save.
    saved: BTreeMap<String, Value>,
    /// Non-default values now.
    values: BTreeMap<String, Value>,
}

impl SettingsObject {
    /// The sender id its notifications carry.
    pub fn sender(&self) -> SenderId {
        self.sender
    }

    pub fn schema(&self) -> &Group {
        &self.schema
    }

    /// The effective value of a setting: assigned, else its default;
    /// `None` for an unset nillable setting.
    pub fn get(&self, path: &str) -> Result<Option<&Value>, ConfigError> {
        let setting = self
            .schema
            .find(path)
            .ok_or_else(|| ConfigError::UnknownSetting(path.to_owned()))?;
        Ok(self.values.get(path).or(setting.default.as_ref()))
    }

    /// Assigns a setting (`None` unsets a nillable one). A value the
    /// setting refuses is an error and the old value stays.
    pub fn set(&mut self, path: &str, value: Option<Value>) -> Result<(), ConfigError> {
        let setting = self
            .schema
            .find(path)
            .ok_or_else(|| ConfigError::UnknownSetting(path.to_owned()))?;
        setting
            .check(value.as_ref())
            .map_err(|reason| ConfigError::Invalid {
                setting: path.to_owned(),
                reason,
            })?;
        match value {
            Some(v) if setting.default.as_ref() != Some(&v) => {
                self.values.insert(path.to_owned(), v);
            }
            _ => {
                self.values.remove(path);
            }
        }
        Ok(())
    }

    /// Returns a setting to its default.
    pub fn reset(&mut self, path: &str) -> Result<(), ConfigError> {
        self.schema
            .find(path)
            .ok_or_else(|| ConfigError::UnknownSetting(path.to_owned()))?;
        self.values.remove(path);
        Ok(())
    }

    /// `changes` with the values of secret settings replaced by a marker:
    /// observers learn that a password changed, never what it was or is.
    fn masked(&self, changes: &BTreeMap<String, SettingChange>) -> BTreeMap<String, SettingChange> {
        let secret: Vec<String> = self
            .schema
            .walk()
            .into_iter()
            .filter(|(_, s)| s.secret)
            .map(|(p, _)| p)
            .collect();
        let hide = |v: &Option<Value>| v.as_ref().map(|_| Value::String(MASKED.to_owned()));
        changes
            .iter()
            .map(|(path, c)| {
                let c = if secret.contains(path) {
                    SettingChange {
                        old: hide(&c.old),
                        new: hide(&c.new),
                    }
                } else {
                    c.clone()
                };
                (path.clone(), c)
            })
            .collect()
    }

    /// Changes not yet saved: setting path → old and new effective value.
    pub fn pending(&self) -> BTreeMap<String, SettingChange> {
        let mut out = BTreeMap::new();
        for (path, setting) in self.schema.walk() {
            let old = self.saved.get(&path).or(setting.default.as_ref());
            let new = self.values.get(&path).or(setting.default.as_ref());
            if old != new {
                out.insert(
                    path,
                    SettingChange {
                        old: old.cloned(),
                        new: new.cloned(),
                    },
                );
            }
        }
        out
    }

    /// Stores the changes (all or nothing) and posts
    /// CFGSettingsObjectDidChange with them, if there were any. Returns
    /// the changes.
    pub fn save(&mut self) -> Result<BTreeMap<String, SettingChange>, ConfigError> {
        let modified = self.pending();
        if modified.is_empty() && self.exists {
            return Ok(modified);
        }
        let key = self.key.clone();
        let values = &self.values;
        self.manager.commit(|tree| {
            let table = table_at_mut(tree, &key);
            for path in modified.keys() {
                store(table, path, values.get(path));
            }
        })?;
        self.exists = true;
        self.saved = self.values.clone();
        if !modified.is_empty() {
            self.manager.center.post(
                self.sender,
                NotificationData::CFGSettingsObjectDidChange {
                    modified: self.masked(&modified),
                },
            );
        }
        Ok(modified)
    }

    /// Removes the object from storage and posts
    /// CFGSettingsObjectWasDeleted. The object is left at its defaults,
    /// not stored; saving it would store it again.
    pub fn delete(&mut self) -> Result<(), ConfigError> {
        let key = self.key.clone();
        if let Some((last, parent)) = key.split_last() {
            self.manager.commit(|tree| {
                let parent = table_at_mut(tree, parent);
                parent.remove(last);
            })?;
        } else {
            // The root object: clear its own settings, keep the rest.
            let paths: Vec<String> = self.schema.walk().into_iter().map(|(p, _)| p).collect();
            self.manager.commit(|tree| {
                for p in &paths {
                    store(tree, p, None);
                }
            })?;
        }
        self.exists = false;
        self.values.clear();
        self.saved.clear();
        self.manager
            .center
            .post(self.sender, NotificationData::CFGSettingsObjectWasDeleted);
        Ok(())
    }
}
