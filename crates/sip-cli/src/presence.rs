//! `sip presence publish|watch|watchers` and `sip mwi`: an account's
//! event services (RFC 3903 PUBLISH, RFC 6665 SUBSCRIBE/NOTIFY) run until
//! Ctrl-C or SIGTERM, which ends them cleanly (the published state is
//! removed, every subscription unsubscribed) and exits 0.
//!
//! - `publish --status available|away|busy|offline [--note TEXT]`: our
//!   PIDF (basic open, closed for offline; away and busy as RPID
//!   activities of the person, RFC 4480), kept up by refreshes; also
//!   given to whoever subscribes to us directly (we are their notifier;
//!   with `--direct` that is all, no PUBLISH to a server; with `--ask`
//!   each direct watcher waits, pending, for the user's y/n).
//! - `watch URI...`: one line per presence change (`[time] URI: status —
//!   note`); on a terminal the whole table is drawn again instead.
//! - `watchers`: who subscribes to our presence (RFC 3857 winfo), with
//!   each watcher's status. A presence server keeps unknown watchers
//!   pending and decides from our pres-rules (RFC 5025) on the XCAP
//!   server: `--allow`, `--deny` (polite-block) and `--block` write them
//!   first, `--ask` puts each pending watcher to the user (y allows, n
//!   denies).
//! - `mwi`: the voicemail summary (RFC 3842) at each NOTIFY.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use sipsimple::account::Account;
use sipsimple::application::SipApplication;
use sipsimple::notification::{Notification, NotificationData, SenderId, Subscription};
use sipsimple::payloads::message_summary::MessageSummary;
use sipsimple::payloads::pidf::{Activities, Activity, Basic, Note, Person, Presence, Tuple};
use sipsimple::payloads::pres_rules::SubHandling;
use sipsimple::payloads::watcherinfo::WatcherInfo;
use tokio::signal::unix::{signal, SignalKind};

use crate::call::{pick_account, runtime, start, stop};

/// How long stopping may take: the unpublish and unsubscribes.
const STOP_GRACE: Duration = Duration::from_secs(8);
use crate::chat::clock;
use crate::message::with_scheme;

/// What `sip presence publish --status` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Status {
    Available,
    Away,
    Busy,
    Offline,
}

/// Which service a run follows.
pub enum Service {
    /// `direct`: no PUBLISH (no presence server), only watchers who
    /// subscribe to us directly.
    Publish {
        status: Status,
        note: Option<String>,
        direct: bool,
        /// Ask (y/n on standard input) before a direct watcher sees us.
        ask: bool,
    },
    Watch {
        contacts: Vec<String>,
    },
    Watchers {
        /// Written to the pres-rules before watching: who, and what.
        decisions: Vec<(String, SubHandling)>,
        /// Ask (y/n on standard input) about each pending watcher.
        ask: bool,
    },
    Mwi,
}

/// What a pres-rules decision did, for the user.
fn decided(uri: &str, what: SubHandling) -> String {
    let how = match what {
        SubHandling::Allow => "allowed",
        SubHandling::PoliteBlock => "denied (polite-block: sees us unavailable)",
        SubHandling::Block => "blocked",
        SubHandling::Confirm => "left to confirm",
    };
    format!("{uri}: {how} (pres-rules on the XCAP server)\n")
}

/// The PIDF document `publish` sends for `entity`.
pub fn document(entity: &str, status: Status, note: Option<&str>) -> Presence {
    let mut p = Presence::new(entity);
    let basic = if status == Status::Offline {
        Basic::Closed
    } else {
        Basic::Open
    };
    let mut tuple = Tuple::new("sip-cli", basic);
    tuple.notes.extend(note.map(Note::new));
    p.tuples.push(tuple);
    let activity = match status {
        Status::Away => Some(Activity::Away),
        Status::Busy => Some(Activity::Busy),
        _ => None,
    };
    if let Some(a) = activity {
        let mut person = Person::new("sip-cli-person");
        person.rpid.activities.push(Activities::of([a]));
        person.notes.extend(note.map(Note::new));
        p.persons.push(person);
    }
    p
}

/// A presence document as one word and an optional note: `offline` when
/// no tuple is open, else the person's first activity (`away`, `busy`,
/// ...), else `available`.
pub fn summary(p: &Presence) -> (String, Option<String>) {
    let open = p.tuples.iter().any(|t| t.status.basic == Some(Basic::Open));
    let activity = p
        .persons
        .iter()
        .flat_map(|person| person.rpid.activities.iter())
        .flat_map(|a| a.known())
        .next();
    let status = match (open, activity) {
        (false, _) => "offline".to_owned(),
        (true, Some(a)) => a.name().to_owned(),
        (true, None) => "available".to_owned(),
    };
    let note = p
        .persons
        .iter()
        .flat_map(|person| person.notes.iter())
        .chain(p.tuples.iter().flat_map(|t| t.notes.iter()))
        .chain(p.notes.iter())
        .map(|n| n.text.trim())
        .find(|t| !t.is_empty())
        .map(str::to_owned);
    (status, note)
}

/// `sip presence ...` / `sip mwi`.
pub fn run(
    config: &Path,
    account: Option<&str>,
    service: Service,
    mut out: impl FnMut(&str) -> Result<()>,
) -> Result<u8> {
    let rt = runtime()?;
    let status = rt.block_on(async move {
        let (app, mut events) = start(config).await?;
        let result = async {
            let account = pick_account(&app, account)?;
            follow(&app, &account, service, &mut events, &mut out).await
        }
        .await;
        if result.is_err() {
            stop(&app, &mut events).await;
        }
        result
    });
    rt.shutdown_timeout(Duration::from_millis(100));
    status
}

/// The contacts' rows as last seen: URI → (status, note).
type Table = BTreeMap<String, (String, Option<String>)>;

fn row(uri: &str, status: &str, note: Option<&str>) -> String {
    match note {
        Some(n) => format!("{uri}: {status} — {n}\n"),
        None => format!("{uri}: {status}\n"),
    }
}

fn draw(table: &Table) -> String {
    // Home, clear screen: the table replaces what was drawn.
    let mut text = format!(
        "\x1b[H\x1b[2J[{}] presence of {} contact(s)\n",
        clock(),
        table.len()
    );
    for (uri, (status, note)) in table {
        text.push_str(&row(uri, status, note.as_deref()));
    }
    text
}

/// Runs the service until a signal, then stops the application, still
/// printing what the service's own objects say (the unpublish, the
/// unsubscribe) until the application ended.
async fn follow(
    app: &SipApplication,
    account: &Arc<Account>,
    service: Service,
    events: &mut Subscription,
    out: &mut impl FnMut(&str) -> Result<()>,
) -> Result<u8> {
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot catch Ctrl-C")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot catch SIGTERM")?;
    let me = account.sender();
    // The senders of the service's own SIPSubscription*/SIPPublication*.
    let mut owned: BTreeMap<SenderId, String> = BTreeMap::new();
    let mut table = Table::new();
    let live = std::io::stdout().is_terminal();
    // The document direct watchers get (publish only).
    let mut served: Option<String> = None;
    // Direct watchers: sender → who.
    let mut watchers_here: BTreeMap<SenderId, String> = BTreeMap::new();
    let ask = matches!(service, Service::Publish { ask: true, .. });
    let ask_winfo = matches!(service, Service::Watchers { ask: true, .. });
    // Pending watchers at the server waiting for the user's y/n (their
    // answer goes to the pres-rules), and everyone asked about once.
    let mut pending_here: std::collections::VecDeque<String> = Default::default();
    let mut asked: std::collections::BTreeSet<String> = Default::default();
    // Direct watchers waiting for the user's y/n, oldest first (RFC 6665
    // §4.2.1.1: pending until authorized or rejected).
    let mut questions: std::collections::VecDeque<(
        sipsimple::subscription::IncomingSubscription,
        String,
    )> = Default::default();
    let mut stdin =
        tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(tokio::io::stdin()));
    let mut stdin_open = ask || ask_winfo;
    match &service {
        Service::Publish {
            status,
            note,
            direct,
            ..
        } => {
            let doc = document(&account.uri().to_string(), *status, note.as_deref());
            served = Some(doc.to_xml());
            // Watchers who come to us, not through a server, see the same.
            app.incoming_subscriptions().accept_events(&["presence"]);
            if !*direct {
                let publication = account
                    .publish_presence(&doc)
                    .await
                    .map_err(|e| anyhow!(e))?;
                owned.insert(publication.sender(), "publication".into());
            }
            out(&format!(
                "publishing {} as {}\n",
                account.id(),
                row_status(*status, note)
            ))?;
        }
        Service::Watch { contacts } => {
            for c in contacts {
                let uri = with_scheme(c);
                let s = account.watch_presence(&uri).await.map_err(|e| anyhow!(e))?;
                owned.insert(s.sender(), uri.clone());
                table.insert(uri, ("waiting".into(), None));
            }
            out(&format!(
                "watching {} contact(s) from {}\n",
                table.len(),
                account.id()
            ))?;
        }
        Service::Watchers { decisions, .. } => {
            for (uri, what) in decisions {
                let uri = with_scheme(uri);
                account
                    .set_watcher_policy(&uri, *what)
                    .await
                    .map_err(|e| anyhow!("{uri}: {e}"))?;
                out(&decided(&uri, *what))?;
            }
            let s = account.watch_watchers().await.map_err(|e| anyhow!(e))?;
            owned.insert(s.sender(), "watcher info".into());
            out(&format!("watching the watchers of {}\n", account.id()))?;
        }
        Service::Mwi => {
            let s = account
                .watch_message_summary()
                .await
                .map_err(|e| anyhow!(e))?;
            owned.insert(s.sender(), "voicemail".into());
            out(&format!("watching the voicemail of {}\n", account.id()))?;
        }
    }
    let mut stopping = false;
    let deadline = tokio::time::sleep(Duration::from_secs(u64::MAX / 4));
    tokio::pin!(deadline);
    loop {
        let n = tokio::select! {
            n = events.next() => n,
            _ = interrupt.recv(), if !stopping => None,
            _ = terminate.recv(), if !stopping => None,
            _ = &mut deadline => break,
            line = stdin.next_line(),
                if stdin_open && !(questions.is_empty() && pending_here.is_empty()) => {
                match line {
                    Ok(Some(l)) if !pending_here.is_empty() => {
                        if let Some(who) = pending_here.pop_front() {
                            let what = if l.trim().eq_ignore_ascii_case("y") {
                                SubHandling::Allow
                            } else {
                                SubHandling::PoliteBlock
                            };
                            match account.set_watcher_policy(&who, what).await {
                                Ok(_) => out(&decided(&who, what))?,
                                Err(e) => out(&format!("{who}: not decided: {e}\n"))?,
                            }
                        }
                        if let Some(next) = pending_here.front() {
                            out(&format!("{next} waits to watch our presence: allow? [y/n] "))?;
                        }
                    }
                    Ok(Some(l)) => {
                        if let Some((subscription, who)) = questions.pop_front() {
                            if l.trim().eq_ignore_ascii_case("y") {
                                if let Some(doc) = &served {
                                    subscription.accept("application/pidf+xml", doc.clone());
                                }
                                out(&format!("{who} may watch us\n"))?;
                                watchers_here.insert(subscription.sender(), who);
                            } else {
                                subscription.reject(403);
                                out(&format!("{who} may not watch us\n"))?;
                            }
                        }
                        if let Some((_, next)) = questions.front() {
                            out(&format!("{next} asks to watch our presence: allow? [y/n] "))?;
                        }
                    }
                    _ => stdin_open = false,
                }
                continue;
            }
        };
        let Some(n) = n else {
            if stopping {
                break;
            }
            stopping = true;
            app.stop();
            // Bounded: a silent server must not keep us.
            deadline
                .as_mut()
                .reset(tokio::time::Instant::now() + STOP_GRACE);
            continue;
        };
        if n.sender == app.sender() && n.name() == "SIPApplicationDidEnd" {
            break;
        }
        if let NotificationData::SIPIncomingSubscriptionGotSubscribe {
            subscription, from, ..
        } = &n.data
        {
            let who = crate::chat::identity(from);
            match &served {
                Some(_) if !stopping && ask => {
                    subscription.accept_pending();
                    if questions.is_empty() {
                        out(&format!("{who} asks to watch our presence: allow? [y/n] "))?;
                    }
                    questions.push_back((subscription.clone(), who));
                }
                // Without --ask, everyone may watch what we publish anyway.
                Some(doc) if !stopping => {
                    subscription.accept("application/pidf+xml", doc.clone());
                    out(&format!("{who} watches us directly\n"))?;
                    watchers_here.insert(subscription.sender(), who);
                }
                _ => subscription.reject(480),
            }
            continue;
        }
        if let NotificationData::SIPIncomingSubscriptionDidEnd { .. } = &n.data {
            if let Some(who) = watchers_here.remove(&n.sender) {
                out(&format!("{who} stopped watching\n"))?;
            }
            continue;
        }
        if let Some(what) = owned.get(&n.sender) {
            if let Some(l) = service_line(what, &n) {
                out(&l)?;
            }
            continue;
        }
        if n.sender != me {
            continue;
        }
        match &n.data {
            NotificationData::SIPAccountGotPresenceState { uri, presence } => {
                let Some(entry) = table.get_mut(uri) else {
                    continue;
                };
                *entry = match presence {
                    Some(p) => summary(p),
                    None => ("pending".into(), None),
                };
                if live {
                    out(&draw(&table))?;
                } else {
                    out(&format!(
                        "[{}] {}",
                        clock(),
                        row(uri, &entry.0, entry.1.as_deref())
                    ))?;
                }
            }
            NotificationData::SIPAccountGotPresenceWinfo { watcher_info }
                if matches!(service, Service::Watchers { .. }) =>
            {
                out(&watchers(watcher_info))?;
                if !ask_winfo || stopping {
                    continue;
                }
                let waiting = watcher_info
                    .lists
                    .iter()
                    .filter(|l| l.package == "presence")
                    .flat_map(|l| l.watchers.iter())
                    .filter(|w| w.status.as_str() == "pending");
                for w in waiting {
                    if asked.insert(w.uri.clone()) {
                        if pending_here.is_empty() {
                            out(&format!(
                                "{} waits to watch our presence: allow? [y/n] ",
                                w.uri
                            ))?;
                        }
                        pending_here.push_back(w.uri.clone());
                    }
                }
            }
            NotificationData::SIPAccountGotMessageSummary { summary }
                if matches!(service, Service::Mwi) =>
            {
                out(&format!("[{}] {}", clock(), voicemail(summary)))?;
            }
            _ => {}
        }
    }
    out("stopped\n")?;
    Ok(0)
}

fn row_status(status: Status, note: &Option<String>) -> String {
    let word = format!("{status:?}").to_ascii_lowercase();
    match note {
        Some(n) => format!("{word} — {n}"),
        None => word,
    }
}

/// What the service's own subscription or publication says.
fn service_line(what: &str, n: &Notification) -> Option<String> {
    Some(match &n.data {
        NotificationData::SIPPublicationDidSucceed { expires, .. } => {
            format!("published (for {expires} s)\n")
        }
        NotificationData::SIPPublicationDidFail { code, reason } => {
            format!("publication failed: {code} {reason}\n")
        }
        NotificationData::SIPPublicationDidEnd => "publication ended\n".into(),
        NotificationData::SIPSubscriptionDidStart => format!("{what}: subscribed\n"),
        NotificationData::SIPSubscriptionDidFail { code, reason } => {
            format!("{what}: subscription failed: {code} {reason}\n")
        }
        NotificationData::SIPSubscriptionDidEnd { originator, reason } => format!(
            "{what}: subscription ended by the {originator} side{}\n",
            reason
                .as_ref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        ),
        _ => return None,
    })
}

/// The watcher list as lines: `URI (display name): status (event)`.
fn watchers(info: &WatcherInfo) -> String {
    let mut text = format!("[{}] watchers:\n", clock());
    let mut count = 0;
    for list in &info.lists {
        for w in &list.watchers {
            count += 1;
            let name = w
                .display_name
                .as_ref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default();
            text.push_str(&format!(
                "  {}{name}: {} ({}, {})\n",
                w.uri,
                w.status.as_str(),
                w.event.as_str(),
                list.package
            ));
        }
    }
    if count == 0 {
        text.push_str("  none\n");
    }
    text
}

/// `messages waiting: yes; Voice-Message 2 new, 8 old (1/0 urgent)`.
fn voicemail(s: &MessageSummary) -> String {
    let mut text = format!(
        "messages waiting: {}",
        if s.messages_waiting { "yes" } else { "no" }
    );
    for line in &s.summaries {
        text.push_str(&format!(
            "; {} {} new, {} old",
            line.class.name(),
            line.new,
            line.old
        ));
        if let Some(u) = line.urgent {
            text.push_str(&format!(" ({}/{} urgent)", u.new, u.old));
        }
    }
    if let Some(a) = &s.account {
        text.push_str(&format!(" [{a}]"));
    }
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_document_reads_back_as_what_was_asked() {
        for status in [
            Status::Available,
            Status::Away,
            Status::Busy,
            Status::Offline,
        ] {
            let doc = document("sip:a@example.com", status, Some("at lunch"));
            let back = Presence::parse(
                doc.to_xml().as_bytes(),
                &sipsimple::payloads::xml::XmlLimits::default(),
            )
            .unwrap();
            let (word, note) = summary(&back);
            assert_eq!(word, format!("{status:?}").to_ascii_lowercase());
            assert_eq!(note.as_deref(), Some("at lunch"));
        }
    }
}
