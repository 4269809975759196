//! The SIP trace: every SIP message sent and received, as the engine
//! reports it in SIPEngineSIPTrace. `sip demo` shows each shortened to
//! its first lines ([`brief`]); `sip --trace` prints each in full
//! ([`full`]) on standard error, so the command's own output on standard
//! output stays as it is.

use std::sync::atomic::{AtomicBool, Ordering};

use sipsimple::application::SipApplication;
use sipsimple::notification::{Notification, NotificationData, Subscription};

/// Set once by `sip --trace`.
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Turns on `--trace` for every application this process starts.
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// One SIP message as SIPEngineSIPTrace reports it.
struct Trace<'a> {
    received: bool,
    source: &'a str,
    destination: &'a str,
    transport: &'a str,
    text: &'a str,
}

impl<'a> Trace<'a> {
    fn of(data: &'a NotificationData) -> Option<Trace<'a>> {
        match data {
            NotificationData::SIPEngineSIPTrace {
                received,
                source,
                destination,
                transport,
                text,
            } => Some(Trace {
                received: *received,
                source,
                destination,
                transport,
                text,
            }),
            _ => None,
        }
    }

    /// `<<` for a message received, `>>` for one sent.
    fn arrow(&self) -> &'static str {
        if self.received {
            "<<"
        } else {
            ">>"
        }
    }
}

/// The short form of `sip demo`: the peer and the start line, From, To
/// and Content-Type, and the media lines of SDP or the start of another
/// body. `None` for anything but a SIP trace.
pub fn brief(data: &NotificationData) -> Option<String> {
    let t = Trace::of(data)?;
    let peer = if t.received { t.source } else { t.destination };
    let (head, body) = t.text.split_once("\r\n\r\n").unwrap_or((t.text, ""));
    let mut lines = head.lines();
    let first = lines.next().unwrap_or_default();
    let mut s = format!("{} {peer}  {first}", t.arrow());
    let pad = format!("\n{:8}{:>24}  ", "", "");
    let mut sdp = false;
    for l in lines {
        let lower = l.to_ascii_lowercase();
        if lower.starts_with("from:")
            || lower.starts_with("to:")
            || lower.starts_with("content-type:")
        {
            s.push_str(&pad);
            s.push_str(l);
        }
        sdp |= lower.starts_with("content-type: application/sdp");
    }
    if sdp {
        // The media lines say what the offer or answer is about.
        for l in body.lines().filter(|l| l.starts_with("m=")) {
            s.push_str(&format!("{pad}| SDP {l}"));
        }
    } else if !body.is_empty() {
        let short: String = body.chars().take(80).collect();
        s.push_str(&format!("{pad}| {short}"));
    }
    Some(s)
}

/// The full form of `sip --trace`: a heading with the direction, source
/// → destination and transport, then the message text line by line, then
/// a blank line. `None` for anything but a SIP trace.
pub fn full(data: &NotificationData) -> Option<String> {
    let t = Trace::of(data)?;
    let what = if t.received { "received" } else { "sent" };
    let mut s = format!(
        "{} {what} {} -> {} ({}, {} bytes)\n",
        t.arrow(),
        t.source,
        t.destination,
        t.transport,
        t.text.len()
    );
    for l in t.text.lines() {
        s.push_str(l);
        s.push('\n');
    }
    s.push('\n');
    Some(s)
}

/// Asks `app` for the SIP trace when `--trace` was given; call before
/// starting it.
pub fn prepare(app: &SipApplication) {
    if enabled() {
        app.enable_sip_trace();
    }
}

/// An application's notifications, printing the SIP trace on standard
/// error as it passes when `--trace` was given. Dropping it prints the
/// traces still waiting, so the last messages of a run are shown too.
pub struct Events {
    inner: Subscription,
    trace: bool,
}

impl Events {
    pub fn new(inner: Subscription) -> Events {
        Events {
            inner,
            trace: enabled(),
        }
    }

    fn show(&self, n: &Notification) {
        if self.trace {
            if let Some(text) = full(&n.data) {
                eprint!("{text}");
            }
        }
    }

    /// The next notification; `None` once the center is gone. Cancel-safe
    /// like [`Subscription::next`].
    pub async fn next(&mut self) -> Option<Notification> {
        let n = self.inner.next().await?;
        self.show(&n);
        Some(n)
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        if self.trace {
            while let Some(n) = self.inner.try_next() {
                self.show(&n);
            }
        }
    }
}
