//! `sip demo`: two user agents, alice and bob, as two SIP applications in
//! this one process on loopback. Nothing to set up: each starts on an
//! in-memory configuration with one account that registers nowhere.
//! Alice sends bob a MESSAGE addressed straight to his contact; bob's
//! application answers 200 and reports it; bob answers in kind. Then
//! alice calls bob, each plays a tone, and what each hears is checked by
//! frequency. Every SIP message on the wire is shown, shortened to its
//! first lines.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use sipsimple::application::SipApplication;
use sipsimple::config::MemoryBackend;
use sipsimple::engine::TransportKind;
use sipsimple::media::tone::{goertzel, ToneGenerator};
use sipsimple::notification::{Filter, Notification, NotificationData, Subscription};
use sipsimple::sdp::offer_answer::Codec;
use sipsimple::streams::audio::{AudioSource, AudioStream};

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
            let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text.as_str(), ""));
            let mut lines = head.lines();
            let first = lines.next().unwrap_or_default().to_owned();
            let mut s = format!("{arrow} {peer}  {first}");
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
        NotificationData::SIPSessionNewOutgoing { .. } => "calling".to_owned(),
        NotificationData::SIPSessionNewIncoming { .. } => "incoming call".to_owned(),
        NotificationData::SIPSessionGotRingIndication => "ringing".to_owned(),
        NotificationData::SIPSessionDidStart { .. } => "call started".to_owned(),
        NotificationData::SIPSessionDidFail { code, reason, .. } => {
            format!("call failed: {code} {reason}")
        }
        NotificationData::SIPSessionDidEnd { originator, .. } => {
            format!("call ended ({originator} hung up)")
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

/// A tone as an audio stream on loopback.
async fn tone(hz: f64) -> Result<std::sync::Arc<AudioStream>> {
    let stream = AudioStream::new(
        std::net::Ipv4Addr::LOCALHOST.into(),
        (50000, 50500),
        vec![Codec::pcmu(), Codec::pcma()],
        AudioSource::Tone(ToneGenerator::new(8000, &[hz], 8000)),
    )
    .await
    .context("no RTP port free in 50000-50500")?;
    // The demo checks what each side heard.
    stream.keep_received(60);
    Ok(std::sync::Arc::new(stream))
}

/// Which of `candidates` (Hz) is loudest in what `stream` received, and
/// by how much over the next one (dB).
fn loudest(stream: &AudioStream, candidates: &[f64]) -> (f64, f64) {
    let (samples, rate) = (stream.recorded(), stream.recorded_rate());
    let mut p: Vec<(f64, f64)> = candidates
        .iter()
        .map(|f| (*f, goertzel(&samples, rate, *f)))
        .collect();
    p.sort_by(|a, b| b.1.total_cmp(&a.1));
    let (best, top) = p.first().copied().unwrap_or((0.0, 0.0));
    let next = p.get(1).map_or(1e-9, |x| x.1.max(1e-9));
    (best, 10.0 * (top / next).log10())
}

/// Alice calls bob; each plays a tone (alice 440 Hz, bob 1000 Hz) for a
/// second; what each hears is checked by frequency; alice hangs up.
async fn call(
    out: &mut impl FnMut(&str) -> Result<()>,
    alice: &mut Agent,
    bob: &mut Agent,
) -> Result<()> {
    let address = bob.contact()?;
    out(&format!(
        "\nalice calls bob at {address} (she plays 440 Hz, he plays 1000 Hz)\n"
    ))?;
    let account = alice
        .app
        .account_manager()
        .accounts()
        .into_iter()
        .next()
        .context("no account")?;
    let alice_audio = tone(440.0).await?;
    let session = alice
        .app
        .session_manager()
        .connect(&account, &address, vec![alice_audio.clone()])
        .await
        .context("alice could not call")?;
    bob.show_until(out, |d| {
        matches!(d, NotificationData::SIPSessionNewIncoming { .. })
    })
    .await?;
    let incoming = bob
        .app
        .session_manager()
        .sessions()
        .into_iter()
        .next()
        .context("bob has no session")?;
    incoming.send_ring_indication().await.context("ringing")?;
    let bob_audio = tone(1000.0).await?;
    incoming
        .accept(vec![bob_audio.clone()])
        .await
        .context("accepting")?;
    alice
        .show_until(out, |d| {
            matches!(d, NotificationData::SIPSessionDidStart { .. })
        })
        .await?;
    bob.show_until(out, |d| {
        matches!(d, NotificationData::SIPSessionDidStart { .. })
    })
    .await?;
    out(&format!(
        "  the call is up: {} both ways; one second of audio...\n",
        alice_audio.codec().unwrap_or_default()
    ))?;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let tones = [440.0, 1000.0];
    let (bob_hears, bob_margin) = loudest(&bob_audio, &tones);
    let (alice_hears, alice_margin) = loudest(&alice_audio, &tones);
    out(&format!(
        "  bob received {} samples: loudest {bob_hears} Hz ({bob_margin:.0} dB over the other tone)\n  \
         alice received {} samples: loudest {alice_hears} Hz ({alice_margin:.0} dB over the other tone)\n",
        bob_audio.recorded().len(),
        alice_audio.recorded().len()
    ))?;
    session.end().await.context("hanging up")?;
    alice
        .show_until(out, |d| {
            matches!(d, NotificationData::SIPSessionDidEnd { .. })
        })
        .await?;
    bob.show_until(out, |d| {
        matches!(d, NotificationData::SIPSessionDidEnd { .. })
    })
    .await?;
    if bob_hears != 440.0 || alice_hears != 1000.0 {
        bail!("the audio did not arrive as sent");
    }
    Ok(())
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
        call(&mut out, &mut alice, &mut bob).await?;

        out("\n")?;
        for agent in [&mut alice, &mut bob] {
            agent.app.stop();
            agent
                .show_until(&mut out, |d| {
                    matches!(d, NotificationData::SIPApplicationDidEnd)
                })
                .await?;
        }
        out(
            "\nboth MESSAGEs arrived and the call carried audio both ways;\n\
             see `sip demo --samples` for the message parser\n",
        )?;
        Ok(())
    })
}
