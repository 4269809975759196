//! `sip chat URI`: a chat session over MSRP (the account's
//! `msrp.transport`, TLS by default, or TCP). Lines typed on standard
//! input are sent as text/plain messages; what the peer sends is printed
//! with the time it arrived (UTC, HH:MM:SS) and its sender; the delivery
//! report of each of our messages is printed as `message #N delivered: …`
//! or `message #N not delivered (CODE REASON): …`; an is-composing
//! indication shows as `… is typing`. End of input (once every message
//! has its report, or `--timeout` seconds passed), Ctrl-C or SIGTERM ends
//! the session; so does the peer hanging up.
//!
//! With `--message TEXT` one message is sent and the command waits for
//! its report: exit 0 only when it was delivered, 1 when it was not, the
//! session failed, or no report came within `--timeout` seconds.
//!
//! [`ChatView`] is the part `sip listen` shares: the printing of a chat
//! stream's notifications, our messages' numbers, `--echo`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::signals::Interrupts;
use anyhow::Result;
use sipsimple::notification::{NotificationData, SenderId, Subscription};
use sipsimple::session::Session;
use sipsimple::streams::msrp::{ChatStream, MessageOptions};
use sipsimple::streams::MediaStream;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::call::{local_ip, pick_account, runtime, start, stop};

/// How long the BYE may take once we decided to end.
const GRACE: Duration = Duration::from_secs(3);

/// The wall clock as HH:MM:SS (UTC).
pub(crate) fn clock() -> String {
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        % 86_400;
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

/// A message's sender as people read it: `Name <uri>`, or the URI.
pub(crate) fn who(sender: Option<&sipsimple::payloads::cpim::Address>) -> String {
    sender.map_or_else(
        || "?".to_owned(),
        |a| match &a.display_name {
            Some(name) if !name.is_empty() => format!("{name} <{}>", a.uri),
            _ => a.uri.clone(),
        },
    )
}

/// A SIP identity (`"Name" <sip:u@h>;tag=..`) as people read it: the
/// header's parameters (tags) left out.
pub(crate) fn identity(header: &str) -> String {
    match header.rfind('>') {
        Some(end) => header[..=end].trim().to_owned(),
        None => header.split(';').next().unwrap_or(header).trim().to_owned(),
    }
}

/// What a chat notification meant for the one following the session.
pub(crate) enum Report {
    Nothing,
    Delivered(String),
    NotDelivered(String, u16, String),
    /// The MSRP side failed (connection refused, closed, ...).
    Failed(String),
}

/// A chat stream of a session as the CLI shows it.
pub(crate) struct ChatView {
    stream: Arc<ChatStream>,
    /// Send every message that arrives back (`sip listen --echo`).
    echo: bool,
    /// Our messages without a report yet: Message-ID → (number, text).
    pending: HashMap<String, (u32, String)>,
    sent: u32,
}

impl ChatView {
    pub(crate) fn new(stream: Arc<ChatStream>, echo: bool) -> ChatView {
        ChatView {
            stream,
            echo,
            pending: HashMap::new(),
            sent: 0,
        }
    }

    pub(crate) fn stream(&self) -> Arc<dyn MediaStream> {
        self.stream.clone()
    }

    /// Whether `sender` is this chat stream (its notifications).
    pub(crate) fn owns(&self, sender: SenderId) -> bool {
        self.stream
            .base()
            .context()
            .is_some_and(|c| c.sender == sender)
    }

    /// Our messages still waiting for their report.
    pub(crate) fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Sends `text` as text/plain; its Message-ID, or None (said why).
    pub(crate) fn send(
        &mut self,
        text: &str,
        out: &mut impl FnMut(&str) -> Result<()>,
    ) -> Result<Option<String>> {
        self.send_typed(text.as_bytes().to_vec(), "text/plain", out)
    }

    fn send_typed(
        &mut self,
        content: Vec<u8>,
        content_type: &str,
        out: &mut impl FnMut(&str) -> Result<()>,
    ) -> Result<Option<String>> {
        let text = String::from_utf8_lossy(&content).into_owned();
        match self
            .stream
            .send_message(content, content_type, MessageOptions::default())
        {
            Ok(id) => {
                self.sent += 1;
                self.pending.insert(id.clone(), (self.sent, text));
                Ok(Some(id))
            }
            Err(e) => {
                out(&format!("! not sent: {e}\n"))?;
                Ok(None)
            }
        }
    }

    /// Prints what `n` (one of this stream's) says; echoes with `echo`.
    pub(crate) fn on(
        &mut self,
        n: &NotificationData,
        out: &mut impl FnMut(&str) -> Result<()>,
    ) -> Result<Report> {
        match n {
            NotificationData::MediaStreamDidStart => {
                let tls = self.stream.base().local_uri().is_some_and(|u| u.secure);
                out(&format!(
                    "chat connected (MSRP over {})\n",
                    if tls { "TLS" } else { "TCP" }
                ))?;
            }
            NotificationData::MediaStreamDidFail { reason } => {
                out(&format!("chat stream failed: {reason}\n"))?;
                return Ok(Report::Failed(reason.clone()));
            }
            NotificationData::ChatStreamGotMessage { message } => {
                let who = who(message.sender.as_ref());
                out(&format!("[{}] {who}: {}\n", clock(), message.text()))?;
                if self.echo {
                    self.send_typed(message.content.clone(), &message.content_type, out)?;
                }
            }
            NotificationData::ChatStreamGotComposingIndication { state, sender, .. }
                if state == "active" =>
            {
                let who = sender.as_ref().map_or("the peer", |a| a.uri.as_str());
                out(&format!("{who} is typing...\n"))?;
            }
            NotificationData::ChatStreamDidDeliverMessage { message_id, .. } => {
                if let Some((number, text)) = self.pending.remove(message_id) {
                    out(&format!("message #{number} delivered: {text}\n"))?;
                }
                return Ok(Report::Delivered(message_id.clone()));
            }
            NotificationData::ChatStreamDidNotDeliverMessage {
                message_id,
                code,
                reason,
                ..
            } => {
                if let Some((number, text)) = self.pending.remove(message_id) {
                    out(&format!(
                        "message #{number} not delivered ({code} {reason}): {text}\n"
                    ))?;
                }
                return Ok(Report::NotDelivered(
                    message_id.clone(),
                    *code,
                    reason.clone(),
                ));
            }
            _ => {}
        }
        Ok(Report::Nothing)
    }
}

/// `sip chat URI [--message TEXT]`.
pub fn chat(
    config: &Path,
    uri: &str,
    account: Option<&str>,
    message: Option<String>,
    timeout: Duration,
    mut out: impl FnMut(&str) -> Result<()>,
) -> Result<u8> {
    let rt = runtime()?;
    let status = rt.block_on(async move {
        let (app, mut events) = start(config).await?;
        let result = async {
            let account = pick_account(&app, account)?;
            let settings = app
                .session_manager()
                .stream_settings(&account, local_ip(&app))
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let mut view = ChatView::new(Arc::new(ChatStream::new(&settings)), false);
            out(&format!("chatting with {uri} from {}\n", account.id()))?;
            let mut signals = Interrupts::catch()?;
            let session = app
                .session_manager()
                .connect(&account, uri, vec![view.stream()])
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            follow(
                &session,
                &mut view,
                &mut events,
                &mut signals,
                message,
                timeout,
                &mut out,
            )
            .await
        }
        .await;
        stop(&app, &mut events).await;
        result
    });
    // The stdin reader sits in a blocking thread: do not wait for it.
    rt.shutdown_timeout(Duration::from_millis(100));
    status
}

/// Follows the chat session until it ends; the exit status.
async fn follow(
    session: &Session,
    view: &mut ChatView,
    events: &mut Subscription,
    signals: &mut Interrupts,
    message: Option<String>,
    timeout: Duration,
    out: &mut impl FnMut(&str) -> Result<()>,
) -> Result<u8> {
    let Interrupts {
        interrupt,
        terminate,
    } = signals;
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let one = message.is_some();
    let mut stdin_open = !one;
    // The --message one, until its report.
    let mut wanted = None;
    if let Some(text) = &message {
        wanted = view.send(text, out)?;
    }
    // It could not be sent: the stream ended already (the session failed
    // meanwhile, whose notification tells why) or refused it.
    let unsent = one && wanted.is_none();
    let far = Duration::from_secs(u64::MAX / 4);
    let first = match (one, unsent) {
        (true, true) => GRACE,
        (true, false) => timeout,
        _ => far,
    };
    let deadline = tokio::time::sleep(first);
    tokio::pin!(deadline);
    // Decided: the status to exit with once the session is over.
    let mut ending: Option<u8> = None;
    // Input ended: end once every message has its report.
    let mut closing = false;
    loop {
        let mut end_with = None;
        tokio::select! {
            n = events.next() => {
                let Some(n) = n else { return Ok(ending.unwrap_or(1)) };
                if n.sender == session.sender() {
                    match &n.data {
                        NotificationData::SIPSessionGotRingIndication => out("ringing\n")?,
                        NotificationData::SIPSessionDidStart { .. } => out("session started\n")?,
                        NotificationData::SIPSessionDidFail { code, reason, failure_reason, .. } => {
                            let why = if *code == 0 {
                                failure_reason.clone()
                            } else {
                                format!("{code} {reason}")
                            };
                            out(&format!("chat failed: {why}\n"))?;
                            if ending.is_none() && one {
                                eprintln!("sip: message not delivered: the session failed ({why})");
                            }
                            return Ok(ending.unwrap_or(1));
                        }
                        NotificationData::SIPSessionDidEnd { originator, .. } => {
                            out(&format!("chat ended ({originator} hung up)\n"))?;
                            if ending.is_none() && one {
                                eprintln!("sip: message not delivered: the peer hung up first");
                            }
                            return Ok(ending.unwrap_or(if one { 1 } else { 0 }));
                        }
                        _ => {}
                    }
                } else if view.owns(n.sender) {
                    match view.on(&n.data, out)? {
                        Report::Delivered(id) if wanted.as_ref() == Some(&id) => end_with = Some(0),
                        Report::NotDelivered(id, code, reason) if wanted.as_ref() == Some(&id) => {
                            eprintln!("sip: message not delivered: {code} {reason}");
                            end_with = Some(1);
                        }
                        Report::Failed(reason) => {
                            if one {
                                eprintln!("sip: message not delivered: {reason}");
                            }
                            end_with = Some(1);
                        }
                        _ => {}
                    }
                    if closing && view.pending() == 0 {
                        end_with = end_with.or(Some(0));
                    }
                }
            }
            l = stdin.next_line(), if stdin_open => match l {
                Ok(Some(l)) => {
                    let l = l.trim_end();
                    if !l.is_empty() {
                        view.send(l, out)?;
                    }
                }
                _ => {
                    stdin_open = false;
                    closing = true;
                    if view.pending() == 0 {
                        end_with = Some(0);
                    } else {
                        deadline.as_mut().reset(tokio::time::Instant::now() + timeout);
                    }
                }
            },
            _ = &mut deadline => {
                if let Some(status) = ending {
                    // The BYE got no answer in time: go anyway.
                    return Ok(status);
                }
                if unsent {
                    eprintln!("sip: the message could not be sent");
                    end_with = Some(1);
                } else if one {
                    eprintln!("sip: no delivery report within {} s", timeout.as_secs_f64());
                    end_with = Some(1);
                } else {
                    out(&format!("{} message(s) got no report in time\n", view.pending()))?;
                    end_with = Some(0);
                }
            }
            _ = interrupt.recv() => end_with = Some(if one { 1 } else { 0 }),
            _ = terminate.recv() => end_with = Some(if one { 1 } else { 0 }),
        }
        if let (Some(status), None) = (end_with, ending) {
            ending = Some(status);
            let _ = session.end().await;
            deadline.as_mut().reset(tokio::time::Instant::now() + GRACE);
        }
    }
}
