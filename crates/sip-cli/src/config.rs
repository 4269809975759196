//! `sip account ...` and `sip settings ...`: the configuration file, read
//! and changed through the SDK's ConfigurationManager so the CLI refuses
//! exactly what the SDK refuses.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use sipsimple::config::{
    display, settings, ConfigurationManager, FileBackend, Group, SettingsObject, SipAddress, Value,
};
use sipsimple::notification::NotificationCenter;

/// `--config`, else `$SIP_CONFIG`, else the platform's config directory
/// (`~/.config/sipsimple-rs/config.toml` on Linux).
pub fn path(explicit: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(p) = explicit.or_else(|| std::env::var_os("SIP_CONFIG").map(PathBuf::from)) {
        return Ok(p);
    }
    dirs::config_dir()
        .map(|d| d.join("sipsimple-rs").join("config.toml"))
        .ok_or_else(|| anyhow!("no config directory on this system: give --config FILE"))
}

pub struct Config {
    manager: ConfigurationManager,
}

const ACCOUNTS: &str = "accounts";

impl Config {
    pub fn open(path: &Path) -> Result<Config> {
        let manager =
            ConfigurationManager::start(FileBackend::new(path), NotificationCenter::default())?;
        Ok(Config { manager })
    }

    fn global(&self) -> Result<SettingsObject> {
        Ok(self.manager.object(&[], Arc::new(settings::global()))?)
    }

    fn account(&self, id: &str) -> Result<SettingsObject> {
        let id = account_id(id)?;
        if !self.manager.children(&[ACCOUNTS]).contains(&id) {
            bail!("no account {id} (sip account list shows them)");
        }
        Ok(self
            .manager
            .object(&[ACCOUNTS, &id], Arc::new(settings::account()))?)
    }

    fn default_account(&self) -> Result<Option<String>> {
        Ok(self
            .global()?
            .get("default_account")?
            .and_then(Value::as_str)
            .map(str::to_owned))
    }

    pub fn account_add(
        &self,
        id: &str,
        password: Option<String>,
        display_name: Option<String>,
        disabled: bool,
    ) -> Result<String> {
        let id = account_id(id)?;
        if self.manager.children(&[ACCOUNTS]).contains(&id) {
            bail!("account {id} exists");
        }
        let mut a = self
            .manager
            .object(&[ACCOUNTS, &id], Arc::new(settings::account()))?;
        a.set("enabled", Some(Value::Boolean(!disabled)))?;
        if let Some(p) = password {
            a.set("auth.password", Some(Value::String(p)))?;
        }
        if let Some(n) = display_name {
            a.set("display_name", Some(Value::String(n)))?;
        }
        a.save()?;
        let mut text = format!("added account {id}");
        // The first account becomes the default, as a user would expect.
        if self.default_account()?.is_none() {
            let mut g = self.global()?;
            g.set("default_account", Some(Value::String(id.clone())))?;
            g.save()?;
            text.push_str(" (the default account)");
        }
        text.push('\n');
        Ok(text)
    }

    pub fn account_list(&self) -> Result<String> {
        let ids = self.manager.children(&[ACCOUNTS]);
        if ids.is_empty() {
            return Ok("no accounts (add one with: sip account add user@domain)\n".into());
        }
        let default = self.default_account()?;
        let mut text = String::new();
        for id in ids {
            let a = self
                .manager
                .object(&[ACCOUNTS, &id], Arc::new(settings::account()))?;
            let enabled = a.get("enabled")?.and_then(Value::as_bool).unwrap_or(false);
            let mark = if default.as_deref() == Some(id.as_str()) {
                "*"
            } else {
                " "
            };
            let state = if enabled { "enabled" } else { "disabled" };
            text.push_str(&format!("{mark} {id}  {state}\n"));
        }
        Ok(text)
    }

    pub fn account_show(&self, id: &str) -> Result<String> {
        let a = self.account(id)?;
        Ok(show(&a))
    }

    pub fn account_set(&self, id: &str, path: &str, value: &str) -> Result<String> {
        let mut a = self.account(id)?;
        set(&mut a, path, Some(value))
    }

    pub fn account_reset(&self, id: &str, path: &str) -> Result<String> {
        let mut a = self.account(id)?;
        set(&mut a, path, None)
    }

    pub fn account_delete(&self, id: &str) -> Result<String> {
        let mut a = self.account(id)?;
        let id = account_id(id)?;
        a.delete()?;
        let mut text = format!("deleted account {id}\n");
        if self.default_account()?.as_deref() == Some(id.as_str()) {
            let mut g = self.global()?;
            g.set("default_account", None)?;
            g.save()?;
            text.push_str("there is no default account now\n");
        }
        Ok(text)
    }

    pub fn account_default(&self, id: Option<&str>) -> Result<String> {
        match id {
            None => Ok(match self.default_account()? {
                Some(id) => format!("{id}\n"),
                None => "no default account\n".into(),
            }),
            Some(id) => {
                let id = account_id(id)?;
                self.account(&id)?;
                let mut g = self.global()?;
                g.set("default_account", Some(Value::String(id.clone())))?;
                g.save()?;
                Ok(format!("default account: {id}\n"))
            }
        }
    }

    pub fn settings_show(&self) -> Result<String> {
        Ok(show(&self.global()?))
    }

    pub fn settings_set(&self, path: &str, value: &str) -> Result<String> {
        let mut g = self.global()?;
        if path == "default_account" {
            // Only an account that exists may be the default.
            return self.account_default(Some(value));
        }
        set(&mut g, path, Some(value))
    }

    pub fn settings_reset(&self, path: &str) -> Result<String> {
        let mut g = self.global()?;
        set(&mut g, path, None)
    }
}

/// `user@domain` in its canonical form, or why it is not one.
fn account_id(text: &str) -> Result<String> {
    Ok(SipAddress::parse(text).map_err(|e| anyhow!(e))?.to_string())
}

/// Every setting as `path = value`; values that differ from the default
/// are marked with `*`. Passwords are not printed.
fn show(object: &SettingsObject) -> String {
    let schema: &Group = object.schema();
    let mut text = String::new();
    for (path, setting) in schema.walk() {
        let value = object.get(&path).ok().flatten();
        let changed = value != setting.default.as_ref();
        let shown = if path.ends_with("password") {
            match value.and_then(Value::as_str) {
                Some("") | None => "\"\"".to_owned(),
                Some(_) => "(set, not shown)".to_owned(),
            }
        } else {
            display(value)
        };
        let mark = if changed { "*" } else { " " };
        text.push_str(&format!("{mark} {path} = {shown}\n"));
    }
    text
}

/// Assigns text typed by the user (`None`: back to the default), saves,
/// and says what changed.
fn set(object: &mut SettingsObject, path: &str, text: Option<&str>) -> Result<String> {
    match text {
        Some(text) => {
            let setting = object
                .schema()
                .find(path)
                .ok_or_else(|| anyhow!("no setting named {path}"))?;
            let value = setting
                .parse_text(text)
                .map_err(|reason| anyhow!("{path}: {reason}"))?;
            object.set(path, Some(value))?;
        }
        None => object.reset(path)?,
    }
    let changes = object.save().context("cannot save the configuration")?;
    Ok(match changes.get(path) {
        Some(_) if path.ends_with("password") => format!("{path} changed\n"),
        Some(c) => format!(
            "{path}: {} -> {}\n",
            display(c.old.as_ref()),
            display(c.new.as_ref())
        ),
        None => format!("{path} unchanged\n"),
    })
}

/// The first line of standard input, without its line end: a password
/// that never appears in the process list (`--password-stdin`).
pub fn password_from_stdin() -> Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!("no password on standard input");
    }
    Ok(password)
}
