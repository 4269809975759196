//! `sip call URI` and `sip listen`: calls with one audio stream, on the
//! configuration file's accounts. Without a sound card the audio comes
//! from `--input FILE.wav` (or `--tone HZ`, or silence) and what arrives
//! goes to `--output FILE.wav`.
//!
//! While a call is up, lines on standard input are commands: `hangup`,
//! `hold`, `unhold`, `dtmf DIGITS`, `record [FILE.wav]` (both
//! directions; alone: start under a generated name, or stop), `mute`,
//! `unmute`.
//! Ctrl-C (or SIGTERM) hangs up and exits.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::signals::Interrupts;
use anyhow::{bail, Context, Result};
use sipsimple::application::SipApplication;
use sipsimple::config::FileBackend;
use sipsimple::media::tone::ToneGenerator;
use sipsimple::notification::{Filter, NotificationData, Subscription};
use sipsimple::session::{Session, SessionAccount, SessionLimits};
use sipsimple::streams::audio::{supported_codecs, AudioSource, AudioStream};
use sipsimple::streams::msrp::{ChatStream, DesktopSharingStream, FileTransferStream};
use sipsimple::streams::MediaStream;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::chat::ChatView;

/// Options shared by `call` and `listen`.
pub struct AudioOptions {
    pub input: Option<PathBuf>,
    pub tone: Option<f64>,
    pub output: Option<PathBuf>,
}

impl AudioOptions {
    /// A stream on the engine's address (every address if it listens on
    /// all), with the ports and codecs the settings give `account`
    /// (`rtp.port_range`, its or the global `rtp.audio_codec_list`).
    pub(crate) async fn stream(
        &self,
        app: &SipApplication,
        account: impl Into<SessionAccount>,
    ) -> Result<Arc<AudioStream>> {
        let ip = local_ip(app);
        let settings = app
            .session_manager()
            .stream_settings(account, ip)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let codecs = supported_codecs(&settings.audio.codecs);
        if codecs.is_empty() {
            bail!(
                "rtp.audio_codec_list ({}) names no codec this client runs",
                settings.audio.codecs.join(", ")
            );
        }
        let (low, high) = settings.audio.rtp_port_range;
        let source = match (&self.input, self.tone) {
            (Some(path), _) => AudioSource::wav(path).map_err(anyhow::Error::msg)?,
            (None, Some(hz)) => AudioSource::Tone(ToneGenerator::new(8000, &[hz], 8000)),
            (None, None) => AudioSource::Silence,
        };
        let stream = AudioStream::new(ip, settings.audio.rtp_port_range, codecs, source)
            .await
            .with_context(|| format!("no RTP port free in {low}-{high} (rtp.port_range)"))?;
        stream.set_srtp_policy(settings.audio.srtp);
        // Without a file or a tone the call is on the voice device (the
        // sound card when there is one, see `audio.*_device`).
        if self.input.is_none() && self.tone.is_none() {
            if let Some(mixer) = app.voice_audio_mixer() {
                stream.attach(&mixer).map_err(anyhow::Error::msg)?;
            }
        }
        Ok(Arc::new(stream))
    }
}

/// The engine's address (every address if it listens on all), for the
/// media of a session.
pub(crate) fn local_ip(app: &SipApplication) -> std::net::IpAddr {
    app.engine()
        .and_then(|e| e.transports().first().and_then(|t| e.local_addr(*t)))
        .map_or(std::net::Ipv4Addr::UNSPECIFIED.into(), |a| a.ip())
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// `sip --trace`: every SIP message of the commands that start an
/// application is written to standard error (secrets masked).
pub(crate) static TRACE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub(crate) async fn start(config: &Path) -> Result<(SipApplication, Subscription)> {
    let app = SipApplication::new();
    let events = app.notification_center().subscribe(Filter::all());
    if TRACE.load(std::sync::atomic::Ordering::Relaxed) {
        app.enable_sip_trace();
        let mut traces = app
            .notification_center()
            .subscribe(Filter::name("SIPEngineSIPTrace"));
        // Its own subscription and task: the command's event loop is not
        // touched, and the trace ends with the application's center.
        tokio::spawn(async move {
            use std::io::Write;
            while let Some(n) = traces.next().await {
                if let sipsimple::notification::NotificationData::SIPEngineSIPTrace {
                    received,
                    source,
                    destination,
                    transport,
                    text,
                } = &n.data
                {
                    let arrow = if *received { "received" } else { "sent" };
                    let mut err = std::io::stderr().lock();
                    let _ = writeln!(
                        err,
                        "---- {arrow} {transport} {source} -> {destination}\n{}",
                        text.trim_end()
                    );
                }
            }
        });
    }
    app.start(FileBackend::new(config)).await?;
    Ok((app, events))
}

/// Stops `app` and waits (bounded) until it says it ended: its accounts
/// unregistered, unsubscribed and unpublished.
pub(crate) async fn stop(app: &SipApplication, events: &mut Subscription) {
    app.stop();
    let _ = tokio::time::timeout(Duration::from_secs(8), async {
        while let Some(n) = events.next().await {
            if n.name() == "SIPApplicationDidEnd" {
                break;
            }
        }
    })
    .await;
}

/// The account to use: the named one, else the default, else the first
/// enabled one.
pub(crate) fn pick_account(
    app: &SipApplication,
    name: Option<&str>,
) -> Result<Arc<sipsimple::account::Account>> {
    let m = app.account_manager();
    let found = match name {
        Some(id) => m.get_account(id),
        None => m
            .default_account()
            .or_else(|| m.accounts().into_iter().find(|a| a.is_enabled())),
    };
    match found {
        Some(a) if a.is_active() => Ok(a),
        Some(a) => bail!("account {} is disabled", a.id()),
        None => bail!("no account to call from (sip account add user@domain)"),
    }
}

/// One line for a notification of `session`, if worth showing.
pub(crate) fn line(n: &NotificationData) -> Option<String> {
    Some(match n {
        NotificationData::SIPSessionGotRingIndication => "ringing".into(),
        NotificationData::SIPSessionGotProvisionalResponse { code, reason } => {
            format!("{code} {reason}")
        }
        NotificationData::SIPSessionDidStart { .. } => "call started".into(),
        // No response behind it (cancelled unanswered, no route): the
        // reason is ours.
        NotificationData::SIPSessionDidFail {
            code: 0,
            failure_reason,
            ..
        } => format!("call failed: {failure_reason}"),
        NotificationData::SIPSessionDidFail { code, reason, .. } => {
            format!("call failed: {code} {reason}")
        }
        NotificationData::SIPSessionDidChangeHoldState {
            originator,
            on_hold,
            ..
        } => format!(
            "{} {}",
            if *originator == "local" {
                "we"
            } else {
                "the peer"
            },
            if *on_hold {
                "put the call on hold"
            } else {
                "resumed the call"
            }
        ),
        NotificationData::SIPSessionDidEnd { originator, .. } => {
            format!("call ended ({originator} hung up)")
        }
        NotificationData::AudioStreamGotDTMF { digit } => format!("DTMF {digit}"),
        NotificationData::AudioStreamDidStartRecordingAudio { filename } => {
            format!("recording to {filename}")
        }
        NotificationData::AudioStreamDidStopRecordingAudio { filename } => {
            format!("recording saved to {filename}")
        }
        _ => return None,
    })
}

/// How long a call's BYE may take once a signal asked us to stop.
const SIGNAL_GRACE: Duration = Duration::from_secs(3);

/// How a call ended.
enum Outcome {
    Ended,
    Failed,
    Interrupted,
}

/// Follows `session` until it ends: prints its notifications, runs the
/// commands typed on stdin, hangs up after `limit` or on a signal.
#[allow(clippy::too_many_arguments)] // each is a different part of the call
async fn follow(
    session: &Session,
    audio: Option<&Arc<AudioStream>>,
    mut chat: Option<&mut ChatView>,
    events: &mut Subscription,
    signals: &mut Interrupts,
    options: &AudioOptions,
    limit: Option<Duration>,
    out: &mut impl FnMut(&str) -> Result<()>,
) -> Result<Outcome> {
    let Interrupts {
        interrupt,
        terminate,
    } = signals;
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    let deadline = tokio::time::sleep(limit.unwrap_or(Duration::from_secs(u64::MAX / 4)));
    tokio::pin!(deadline);
    let mut interrupted = false;
    loop {
        tokio::select! {
            n = events.next() => {
                let Some(n) = n else { return Ok(Outcome::Failed) };
                if let Some(c) = chat.as_mut().filter(|c| c.owns(n.sender)) {
                    c.on(&n.data, out)?;
                    continue;
                }
                if n.sender != session.sender() && audio.and_then(|a| a.sender()) != Some(n.sender) {
                    continue;
                }
                if let Some(l) = line(&n.data) {
                    out(&format!("{l}\n"))?;
                }
                match n.data {
                    NotificationData::SIPSessionDidStart { .. } => {
                        let Some(audio) = audio else { continue };
                        out(&format!("codec {}\n", audio.codec().unwrap_or_default()))?;
                        if let Some(path) = &options.output {
                            audio
                                .start_recording_received(path)
                                .map_err(anyhow::Error::msg)?;
                        }
                    }
                    NotificationData::SIPSessionDidEnd { .. } => {
                        return Ok(if interrupted { Outcome::Interrupted } else { Outcome::Ended });
                    }
                    NotificationData::SIPSessionDidFail { .. } => return Ok(Outcome::Failed),
                    _ => {}
                }
            }
            l = stdin.next_line(), if stdin_open => match l {
                Ok(Some(l)) => command(l.trim(), session, audio, chat.as_deref_mut(), out).await?,
                _ => stdin_open = false,
            },
            _ = &mut deadline => {
                if interrupted {
                    // The BYE got no answer in time: a signal asked us to
                    // go, so go (the peer's own timers end its side).
                    return Ok(Outcome::Interrupted);
                }
                out("hanging up\n")?;
                let _ = session.end().await;
                deadline.as_mut().reset(tokio::time::Instant::now() + Duration::from_secs(3600));
            }
            _ = interrupt.recv() => {
                interrupted = true;
                out("hanging up\n")?;
                let _ = session.end().await;
                deadline.as_mut().reset(tokio::time::Instant::now() + SIGNAL_GRACE);
            }
            _ = terminate.recv() => {
                interrupted = true;
                let _ = session.end().await;
                deadline.as_mut().reset(tokio::time::Instant::now() + SIGNAL_GRACE);
            }
        }
    }
}

async fn command(
    l: &str,
    session: &Session,
    audio: Option<&Arc<AudioStream>>,
    chat: Option<&mut ChatView>,
    out: &mut impl FnMut(&str) -> Result<()>,
) -> Result<()> {
    let (verb, arg) = l.split_once(' ').unwrap_or((l, ""));
    if let "" | "hangup" | "bye" = verb {
        if !verb.is_empty() {
            if let Err(e) = session.end().await {
                out(&format!("! {e}\n"))?;
            }
        }
        return Ok(());
    }
    // With chat, `msg TEXT` sends a message; without audio every line does.
    if let Some(chat) = chat {
        match (verb, audio) {
            ("msg", _) => return chat.send(arg, out).map(|_| ()),
            (_, None) => return chat.send(l, out).map(|_| ()),
            _ => {}
        }
    }
    let Some(audio) = audio else {
        return Ok(());
    };
    let result = match verb {
        "hold" => session.hold().await.map_err(|e| e.to_string()),
        "unhold" | "resume" => session.unhold().await.map_err(|e| e.to_string()),
        "dtmf" => arg.chars().try_for_each(|d| audio.send_dtmf(d)),
        "record" if !arg.is_empty() => audio.start_recording(Some(Path::new(arg))).map(|_| ()),
        // Alone, `record` starts a recording under a name of its own
        // (audio.recordings_directory), or stops the one running.
        "record" if audio.recording_filename().is_some() => {
            audio.stop_recording();
            Ok(())
        }
        "record" => audio.start_recording(None).map(|_| ()),
        "mute" => {
            audio.set_muted(true);
            out("muted\n")?;
            Ok(())
        }
        "unmute" => {
            audio.set_muted(false);
            out("unmuted\n")?;
            Ok(())
        }
        other => Err(format!(
            "unknown command {other:?}: hangup, hold, unhold, dtmf DIGITS, record [FILE], mute, unmute, msg TEXT (with chat)"
        )),
    };
    if let Err(e) = result {
        out(&format!("! {e}\n"))?;
    }
    Ok(())
}

/// `sip call URI`.
pub fn call(
    config: &Path,
    uri: &str,
    account: Option<&str>,
    options: AudioOptions,
    hangup_after: Option<Duration>,
    mut out: impl FnMut(&str) -> Result<()>,
) -> Result<u8> {
    let rt = runtime()?;
    let status = rt.block_on(async move {
        let (app, mut events) = start(config).await?;
        let result = async {
            let account = pick_account(&app, account)?;
            let audio = options.stream(&app, &account).await?;
            out(&format!("calling {uri} from {}\n", account.id()))?;
            let mut signals = Interrupts::catch().context("cannot catch Ctrl-C or SIGTERM")?;
            let session = app
                .session_manager()
                .connect(&account, uri, vec![audio.clone()])
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            follow(
                &session,
                Some(&audio),
                None,
                &mut events,
                &mut signals,
                &options,
                hangup_after,
                &mut out,
            )
            .await
        }
        .await;
        stop(&app, &mut events).await;
        match result? {
            Outcome::Ended | Outcome::Interrupted => Ok(0),
            Outcome::Failed => Ok(1),
        }
    });
    // The stdin reader sits in a blocking thread: do not wait for it.
    rt.shutdown_timeout(Duration::from_millis(100));
    status
}

/// What the person at the prompt said, or what happened meanwhile.
pub(crate) enum Answer {
    Yes,
    No,
    /// The session ended before an answer.
    Gone,
    /// Standard input closed, or a signal: stop listening.
    Stop,
}

/// Waits for "y" or "n" on stdin while watching `session`: a caller who
/// cancels must not leave a question behind that a later "y" answers.
pub(crate) async fn ask(
    session: &Session,
    events: &mut Subscription,
    stdin: &mut tokio::io::Lines<BufReader<tokio::io::Stdin>>,
) -> Answer {
    loop {
        tokio::select! {
            l = stdin.next_line() => return match l {
                Ok(Some(l)) if l.trim().eq_ignore_ascii_case("y") => Answer::Yes,
                Ok(Some(_)) => Answer::No,
                _ => Answer::Stop,
            },
            n = events.next() => match n {
                None => return Answer::Stop,
                Some(n) if n.sender == session.sender() && matches!(
                    n.data,
                    NotificationData::SIPSessionDidFail { .. } | NotificationData::SIPSessionDidEnd { .. }
                ) => return Answer::Gone,
                Some(_) => {}
            },
        }
    }
}

/// What `sip listen` takes besides calls.
pub struct Take {
    /// Send chat messages back.
    pub echo: bool,
    /// Accept files at once, into this directory.
    pub accept_files: Option<PathBuf>,
    /// View desktops shared with us through a viewer port here.
    pub view_desktop: Option<std::net::SocketAddr>,
    /// Show this VNC server to peers that ask to view our desktop.
    pub share_desktop: Option<String>,
}

/// `sip listen`: waits for calls to the enabled accounts; answers them
/// (at once with `auto_answer`, else after asking on stdin); stops after
/// `max_calls` calls or on Ctrl-C.
pub fn listen(
    config: &Path,
    auto_answer: bool,
    options: AudioOptions,
    max_calls: Option<u32>,
    take: Take,
    mut out: impl FnMut(&str) -> Result<()>,
) -> Result<u8> {
    let echo = take.echo;
    let rt = runtime()?;
    let status = rt.block_on(async move {
        let (app, mut events) = start(config).await?;
        // One call at a time: the SDK answers a second INVITE 486 Busy
        // Here while one is up (no call waiting in this client).
        app.session_manager().set_limits(SessionLimits {
            max_sessions: 1,
            ..app.session_manager().limits()
        });
        let mut signals = Interrupts::catch().context("cannot catch Ctrl-C or SIGTERM")?;
        let addresses: Vec<String> = app
            .account_manager()
            .accounts()
            .iter()
            .filter(|a| a.is_active())
            .map(|a| a.id().to_string())
            .collect();
        if addresses.is_empty() {
            app.stop();
            bail!("no enabled account to take calls for");
        }
        if let Some(engine) = app.engine() {
            for t in engine.transports() {
                if let Some(addr) = engine.local_addr(t) {
                    out(&format!("listening on {addr} ({})\n", t.via_name()))?;
                }
            }
        }
        out(&format!("accounts: {}\n", addresses.join(", ")))?;
        let mut calls = 0;
        let mut stdin = BufReader::new(tokio::io::stdin()).lines();
        let mut stdin_open = true;
        loop {
            if max_calls.is_some_and(|m| calls >= m) {
                break;
            }
            let n = tokio::select! {
                n = events.next() => n,
                _ = signals.interrupt.recv() => break,
                _ = signals.terminate.recv() => break,
                // What is typed with no question pending answers nothing
                // (a "y" meant for a call that went away must not take
                // the next one).
                l = stdin.next_line(), if stdin_open => {
                    match l {
                        Ok(Some(l)) if !l.trim().is_empty() => out("no call to answer\n")?,
                        Ok(Some(_)) => {}
                        _ => stdin_open = false,
                    }
                    continue;
                }
            };
            let Some(n) = n else { break };
            if let Some(l) = crate::message::line(&n) {
                out(&l)?;
                continue;
            }
            if n.name() != "SIPSessionNewIncoming" {
                continue;
            }
            let Some(session) = app
                .session_manager()
                .sessions()
                .into_iter()
                .find(|s| s.sender() == n.sender)
            else {
                continue;
            };
            calls += 1;
            let proposed = session.proposed_streams().unwrap_or_default();
            if let Some(ft) = proposed
                .iter()
                .find_map(|s| s.clone().downcast::<FileTransferStream>())
            {
                let stop = crate::file::take_file(
                    &session,
                    ft,
                    take.accept_files.as_deref(),
                    auto_answer,
                    &mut events,
                    &mut stdin,
                    &mut out,
                )
                .await?;
                if stop {
                    break;
                }
                continue;
            }
            if let Some(ds) = proposed
                .iter()
                .find_map(|s| s.clone().downcast::<DesktopSharingStream>())
            {
                crate::desktop::take_desktop(
                    &session,
                    ds,
                    take.view_desktop,
                    take.share_desktop.as_deref(),
                    &mut events,
                    &mut out,
                )
                .await?;
                continue;
            }
            let kinds: Vec<&str> = proposed.iter().map(|s| s.stream_type()).collect();
            let chat = proposed
                .iter()
                .find_map(|s| s.clone().downcast::<ChatStream>());
            out(&format!(
                "incoming call from {}{}\n",
                crate::chat::identity(&session.remote_identity()),
                if chat.is_some() {
                    format!(" ({})", kinds.join(", "))
                } else {
                    String::new()
                }
            ))?;
            let _ = session.send_ring_indication().await;
            let answer = if auto_answer {
                Answer::Yes
            } else {
                out("answer? [y/n] ")?;
                ask(&session, &mut events, &mut stdin).await
            };
            match answer {
                Answer::Yes => {}
                Answer::Gone => {
                    // The caller cancelled (or the call failed) while we
                    // asked: the question no longer stands.
                    out("\nthe call went away before it was answered\n")?;
                    continue;
                }
                Answer::Stop => break,
                Answer::No => {
                    let _ = session.reject(603, None).await;
                    out("declined\n")?;
                    continue;
                }
            }
            // Audio from our own source in place of the proposed one; a
            // chat as the registry made it for the offer.
            let audio = if chat.is_none() || kinds.contains(&"audio") {
                Some(options.stream(&app, session.account().clone()).await?)
            } else {
                None
            };
            let mut chat = chat.map(|c| ChatView::new(c, echo));
            let mut streams: Vec<Arc<dyn MediaStream>> = Vec::new();
            streams.extend(audio.clone().map(|a| a as Arc<dyn MediaStream>));
            streams.extend(chat.as_ref().map(ChatView::stream));
            session
                .accept(streams)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let outcome = follow(
                &session,
                audio.as_ref(),
                chat.as_mut(),
                &mut events,
                &mut signals,
                &options,
                None,
                &mut out,
            )
            .await?;
            if let Outcome::Interrupted = outcome {
                break;
            }
        }
        stop(&app, &mut events).await;
        out("stopped\n")?;
        Ok(0)
    });
    rt.shutdown_timeout(Duration::from_millis(100));
    status
}
