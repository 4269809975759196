//! `sip demo`: two user agents, alice and bob, as two SIP applications in
//! this one process on loopback. Nothing to set up: each starts on an
//! in-memory configuration with one account that registers nowhere.
//! Alice sends bob a MESSAGE addressed straight to his contact; bob's
//! application answers 200 and reports it; bob answers in kind. Every
//! SIP message on the wire is shown, shortened to its first lines.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use sipsimple::application::SipApplication;
use sipsimple::config::MemoryBackend;
use sipsimple::engine::TransportKind;
use sipsimple::notification::{Filter, Notification, NotificationData, Subscription};

/// How long to wait for any one step; loopback takes milliseconds.
const STEP: Duration = Duration::from_secs(10);

fn config(user: &str, name: &str) -> Result<MemoryBackend> {
    let text = format!(
        r#"
local_ip = "127.0.0.1"
user_agent = "sipsimple-rs demo ({user})"
[sip]
transport_list = ["udp"]
[logging]
trace_sip = true
[accounts."{user}@example.test"]
enabled = true
display_name = "{name}"
registration.enabled = false
"#
    );
    Ok(MemoryBackend::with(
        text.parse().context("demo configuration")?,
    ))
}

/// One line per notification worth showing, prefixed with who saw it.
fn describe(who: &str, n: &Notification) -> Option<String> {
    let text = match &n.data {
        NotificationData::SIPApplicationDidStart => "application started".to_owned(),
        NotificationData::SIPAccountDidActivate => "account active".to_owned(),
        NotificationData::SIPApplicationDidEnd => "application stopped".to_owned(),
        NotificationData::SIPEngineSIPTrace {
            received,
            source,
            destination,
            text,
            ..
        } => {
            let (arrow, peer) = if *received {
                ("<<", source)
            } else {
                (">>", destination)
            };
            let mut lines = text.lines().filter(|l| {
                let l = l.to_ascii_lowercase();
                l.starts_with("message ")
                    || l.starts_with("sip/2.0 ")
                    || l.starts_with("from:")
                    || l.starts_with("to:")
                    || l.starts_with("content-type:")
            });
            let first = lines.next().unwrap_or_default().to_owned();
            let mut s = format!("{arrow} {peer}  {first}");
            for l in lines {
                s.push_str(&format!("\n{:8}{:>24}  {l}", "", ""));
            }
            let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
            if !body.is_empty() {
                s.push_str(&format!("\n{:8}{:>24}  | {body}", "", ""));
            }
            s
        }
        NotificationData::SIPEngineGotMessage {
            from_header,
            content_type,
            body,
            ..
        } => format!(
            "got a MESSAGE from {from_header} ({content_type}): {:?}",
            String::from_utf8_lossy(body)
        ),
        NotificationData::SIPMessageDidSucceed { code, reason } => {
            format!("MESSAGE delivered: {code} {reason}")
        }
        NotificationData::SIPMessageDidFail { code, reason } => {
            format!("MESSAGE failed: {code} {reason}")
        }
        _ => return None,
    };
    Some(format!("{who:>5}: {text}\n"))
}

struct Agent {
    name: &'static str,
    app: SipApplication,
    events: Subscription,
}

impl Agent {
    async fn start(user: &'static str, name: &str) -> Result<Agent> {
        let app = SipApplication::new();
        let events = app.notification_center().subscribe(Filter::all());
        app.start(config(user, name)?)
            .await
            .with_context(|| format!("starting {user}"))?;
        Ok(Agent {
            name: user,
            app,
            events,
        })
    }

    /// Shows this agent's notifications until one satisfies `done`.
    async fn show_until(
        &mut self,
        out: &mut impl FnMut(&str) -> Result<()>,
        done: impl Fn(&NotificationData) -> bool,
    ) -> Result<NotificationData> {
        loop {
            let n = tokio::time::timeout(STEP, self.events.next())
                .await
                .with_context(|| format!("{} heard nothing for {STEP:?}", self.name))?
                .context("notification center gone")?;
            if let Some(line) = describe(self.name, &n) {
                out(&line)?;
            }
            if done(&n.data) {
                return Ok(n.data);
            }
        }
    }

    /// The contact URI other agents reach this one's account at.
    fn contact(&self) -> Result<String> {
        let account = self
            .app
            .account_manager()
            .default_account()
            .or_else(|| self.app.account_manager().accounts().into_iter().next())
            .context("no account")?;
        let addr = self
            .app
            .engine()
            .and_then(|e| e.local_addr(TransportKind::Udp))
            .context("no UDP transport")?;
        Ok(format!("sip:{}@{addr}", account.contact_username()))
    }

    async fn say(&self, to: &str, text: &str) -> Result<()> {
        let account = self
            .app
            .account_manager()
            .accounts()
            .into_iter()
            .next()
            .context("no account")?;
        account
            .send_message(to, "text/plain", text)
            .await
            .with_context(|| format!("{} could not send to {to}", self.name))?;
        Ok(())
    }
}

/// One agent sends, the other receives: shows both sides in order.
async fn exchange(
    out: &mut impl FnMut(&str) -> Result<()>,
    from: &mut Agent,
    to: &mut Agent,
    text: &str,
) -> Result<()> {
    let address = to.contact()?;
    out(&format!(
        "\n{} sends {} a MESSAGE at {address}\n",
        from.name, to.name
    ))?;
    from.say(&address, text).await?;
    from.show_until(out, |d| {
        matches!(
            d,
            NotificationData::SIPMessageDidSucceed { .. }
                | NotificationData::SIPMessageDidFail { .. }
        )
    })
    .await?;
    let got = to
        .show_until(out, |d| {
            matches!(d, NotificationData::SIPEngineGotMessage { .. })
        })
        .await?;
    // The rest of the receiver's side: its 200 going out.
    to.show_until(out, |d| {
        matches!(
            d,
            NotificationData::SIPEngineSIPTrace {
                received: false,
                ..
            }
        )
    })
    .await?;
    match got {
        NotificationData::SIPEngineGotMessage { body, .. } if body == text.as_bytes() => Ok(()),
        other => bail!("{} got something else: {other:?}", to.name),
    }
}

/// Runs the demo, writing through `out`. Errors if any step fails.
pub fn run(mut out: impl FnMut(&str) -> Result<()>) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async move {
        out("sip demo: two SIP applications, alice and bob, in one process on 127.0.0.1\n\n")?;
        let mut alice = Agent::start("alice", "Alice").await?;
        alice
            .show_until(&mut out, |d| {
                matches!(d, NotificationData::SIPApplicationDidStart)
            })
            .await?;
        let mut bob = Agent::start("bob", "Bob").await?;
        bob.show_until(&mut out, |d| {
            matches!(d, NotificationData::SIPApplicationDidStart)
        })
        .await?;

        exchange(&mut out, &mut alice, &mut bob, "Hello Bob, this is Alice.").await?;
        exchange(&mut out, &mut bob, &mut alice, "Hi Alice! Got it.").await?;

        out("\n")?;
        for agent in [&mut alice, &mut bob] {
            agent.app.stop();
            agent
                .show_until(&mut out, |d| {
                    matches!(d, NotificationData::SIPApplicationDidEnd)
                })
                .await?;
        }
        out("\nboth MESSAGEs arrived; see `sip demo --samples` for the message parser\n")?;
        Ok(())
    })
}
