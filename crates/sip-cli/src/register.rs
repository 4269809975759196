//! `sip register [ACCOUNT]`: starts the application on the configuration
//! file, so every enabled account registers, prints what happens to the
//! account(s) in plain lines, and on Ctrl-C (SIGINT) or SIGTERM stops —
//! which unregisters — and exits 0.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use sipsimple::notification::{Notification, NotificationData};
use tokio::signal::unix::{signal, SignalKind};

/// One line for a notification about an account, if it is one to show.
fn line(id: &str, n: &Notification) -> Option<String> {
    let text = match &n.data {
        NotificationData::SIPAccountWillRegister => "registering".to_owned(),
        NotificationData::SIPAccountRegistrationGotAnswer {
            code,
            reason,
            registrar,
        } => format!("{code} {reason} from {registrar}"),
        NotificationData::SIPAccountRegistrationDidSucceed {
            contact_header,
            expires,
            registrar,
            ..
        } => format!("registered {contact_header} at {registrar} for {expires} s"),
        NotificationData::SIPAccountRegistrationWillRefresh => "refreshing".to_owned(),
        NotificationData::SIPAccountRegistrationDidFail { error, retry_in } => format!(
            "registration failed: {error}; retrying in {} s",
            retry_in.as_secs()
        ),
        NotificationData::SIPAccountRegistrationDidEnd => "unregistered".to_owned(),
        NotificationData::SIPAccountRegistrationDidNotEnd { code, reason } => {
            format!("unregistration failed: {code} {reason}")
        }
        _ => return None,
    };
    Some(format!("{id}: {text}\n"))
}

pub fn run(
    config: &Path,
    only: Option<&str>,
    mut out: impl FnMut(&str) -> Result<()>,
) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async move {
        let (app, mut events) = crate::call::start(config).await?;
        let accounts = app.account_manager().accounts();
        let mut names: HashMap<_, String> = HashMap::new();
        for a in &accounts {
            let id = a.id().to_string();
            if only.is_none_or(|o| o == id) && a.is_enabled() {
                names.insert(a.sender(), id);
            }
        }
        if names.is_empty() {
            app.stop();
            match only {
                Some(id) if accounts.iter().any(|a| a.id().to_string() == id) => {
                    bail!("account {id} is disabled (sip account set {id} enabled yes)")
                }
                Some(id) => bail!("no account {id} (sip account list shows them)"),
                None => bail!("no enabled account (sip account add user@domain)"),
            }
        }
        let mut interrupt = signal(SignalKind::interrupt()).context("cannot catch Ctrl-C")?;
        let mut terminate = signal(SignalKind::terminate()).context("cannot catch SIGTERM")?;
        let mut stopping = false;
        loop {
            tokio::select! {
                n = events.next() => {
                    let Some(n) = n else { break };
                    if let Some(id) = names.get(&n.sender) {
                        if let Some(l) = line(id, &n) {
                            out(&l)?;
                        }
                    }
                    if n.sender == app.sender() && n.name() == "SIPApplicationDidEnd" {
                        break;
                    }
                }
                _ = interrupt.recv(), if !stopping => {
                    stopping = true;
                    out("stopping\n")?;
                    app.stop();
                }
                _ = terminate.recv(), if !stopping => {
                    stopping = true;
                    out("stopping\n")?;
                    app.stop();
                }
            }
        }
        out("stopped\n")?;
        Ok(())
    })
}
