//! `sip message URI TEXT`: one pager-mode MESSAGE (RFC 3428) from an
//! account of the configuration file. Plain text by default: exit 0 when
//! the peer answered 2xx, which for pager mode is the delivery receipt.
//! With `--cpim` the text is wrapped in CPIM (RFC 3862) asking for a
//! positive delivery notification (RFC 5438): a 2xx then only means a
//! server took it, and the command waits up to `--timeout` seconds for
//! the recipient's IMDN; exit 0 only when it says `delivered`.
//!
//! `sip listen` prints the MESSAGEs its accounts get ([`line`]); its
//! accounts answer delivery requests on their own.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use sipsimple::instant_message::{self, ImOptions};
use sipsimple::message::MessageError;
use sipsimple::notification::{Notification, NotificationData};

use crate::call::{pick_account, runtime, start, stop};
use crate::chat::{clock, who};

/// `sip:` in front of what has no scheme (`bob@example.com`).
pub(crate) fn with_scheme(uri: &str) -> String {
    let lower = uri.to_ascii_lowercase();
    if ["sip:", "sips:", "tel:"]
        .iter()
        .any(|s| lower.starts_with(s))
    {
        uri.to_owned()
    } else {
        format!("sip:{uri}")
    }
}

/// `sip message`.
pub fn message(
    config: &Path,
    uri: &str,
    account: Option<&str>,
    text: &str,
    cpim: bool,
    timeout: Duration,
    mut out: impl FnMut(&str) -> Result<()>,
) -> Result<u8> {
    let rt = runtime()?;
    let uri = with_scheme(uri);
    let status = rt.block_on(async move {
        let (app, mut events) = start(config).await?;
        let result = async {
            let account = pick_account(&app, account)?;
            let options = if cpim {
                ImOptions::with_delivery(false)
            } else {
                ImOptions::default()
            };
            let sent = instant_message::send_im(
                &account,
                &uri,
                "text/plain",
                text.as_bytes().to_vec(),
                &options,
            )
            .await;
            let sent = match sent {
                Ok(s) => s,
                Err(MessageError::Rejected { code, reason }) => {
                    out(&format!("not delivered: {code} {reason}\n"))?;
                    return Ok(1);
                }
                Err(e) => {
                    out(&format!("not delivered: {e}\n"))?;
                    return Ok(1);
                }
            };
            let answer = format!("{} {}", sent.delivered.code, sent.delivered.reason);
            let Some(id) = sent.message_id.filter(|_| cpim) else {
                out(&format!("delivered: {answer}\n"))?;
                return Ok(0);
            };
            out(&format!(
                "accepted: {answer}; waiting for the delivery notification\n"
            ))?;
            let me = account.sender();
            let wait = async {
                while let Some(n) = events.next().await {
                    if n.sender != me {
                        continue;
                    }
                    if let NotificationData::SIPAccountGotDispositionNotification {
                        message_id,
                        kind: "delivery",
                        status,
                        ..
                    } = &n.data
                    {
                        if *message_id == id {
                            return Some(status.clone());
                        }
                    }
                }
                None
            };
            Ok(match tokio::time::timeout(timeout, wait).await {
                Ok(Some(status)) if status == "delivered" => {
                    out("delivered: the recipient's device confirmed it\n")?;
                    0
                }
                Ok(Some(status)) => {
                    out(&format!("not delivered: the recipient says {status}\n"))?;
                    1
                }
                _ => {
                    out(&format!(
                        "no delivery notification within {} s\n",
                        timeout.as_secs_f64()
                    ))?;
                    1
                }
            })
        }
        .await;
        stop(&app, &mut events).await;
        result
    });
    rt.shutdown_timeout(Duration::from_millis(100));
    status
}

/// What `sip listen` prints of an account's instant messages.
pub(crate) fn line(n: &Notification) -> Option<String> {
    match &n.data {
        NotificationData::SIPAccountGotMessage { message } => Some(format!(
            "[{}] message from {}: {}\n",
            clock(),
            who(message.sender.as_ref()),
            message.text()
        )),
        NotificationData::SIPAccountGotComposingIndication { state, sender, .. }
            if state == "active" =>
        {
            Some(format!("{} is typing a message...\n", who(sender.as_ref())))
        }
        _ => None,
    }
}
