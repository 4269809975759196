//! `sip send-file URI FILE` and `sip get-file URI NAME`: one file over
//! MSRP (RFC 5547), pushed or pulled, with a progress line on stderr
//! (bytes, rate, time left). Exit 0 only when the whole file is
//! confirmed: for a push, the peer's REPORT covers the last byte (which
//! it sends after checking the file's SHA-1); for a pull, the file was
//! stored and its hash matched.
//!
//! `--resume`: a push that was cut keeps how many bytes the peer had
//! confirmed in `$XDG_STATE_HOME/sipsimple-rs/transfers/<sha-1>`; the
//! next `send-file --resume` of the same file offers only the rest
//! (`a=file-range`), and the receiver appends it to its part file.
//!
//! [`follow_transfer`] is what `sip listen` shares for files offered to it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::signals::Interrupts;
use anyhow::{anyhow, Context, Result};
use sipsimple::notification::{NotificationData, Subscription};
use sipsimple::sdp::{FileRange, FileSelector};
use sipsimple::session::Session;
use sipsimple::streams::msrp::{file_selector_for, FileTransferStream, TransferDirection};
use sipsimple::streams::MediaStream;

use crate::call::{local_ip, pick_account, runtime, start, stop};

/// How often the progress line is redrawn.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// `12.3 MB`.
fn bytes(n: u64) -> String {
    let n = n as f64;
    if n >= 1e9 {
        format!("{:.2} GB", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.1} MB", n / 1e6)
    } else if n >= 1e3 {
        format!("{:.1} kB", n / 1e3)
    } else {
        format!("{n} B")
    }
}

/// The progress line: done of total, rate since the start, time left.
struct Progress {
    started: Instant,
    first: u64,
    shown: Option<Instant>,
}

impl Progress {
    fn new(first: u64) -> Progress {
        Progress {
            started: Instant::now(),
            first,
            shown: None,
        }
    }

    fn show(&mut self, done: u64, total: u64, force: bool) {
        if !force && self.shown.is_some_and(|t| t.elapsed() < PROGRESS_EVERY) {
            return;
        }
        self.shown = Some(Instant::now());
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let rate = done.saturating_sub(self.first) as f64 / secs;
        let left = if rate > 0.0 {
            let s = (total.saturating_sub(done) as f64 / rate) as u64;
            format!("{}:{:02} left", s / 60, s % 60)
        } else {
            "--:-- left".into()
        };
        let pct = if total == 0 {
            100.0
        } else {
            done as f64 * 100.0 / total as f64
        };
        eprint!(
            "\r{} / {} ({pct:.0}%)  {}/s  {left}   ",
            bytes(done),
            bytes(total),
            bytes(rate as u64)
        );
    }
}

/// Where the confirmed byte count of a cut push of the file with this
/// selector is kept.
fn resume_file(selector: &FileSelector) -> Option<PathBuf> {
    let hash = selector.hash.as_ref()?;
    let hex: String = hash.digest.iter().map(|b| format!("{b:02x}")).collect();
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|h| h.join(".local/state")))?;
    Some(base.join("sipsimple-rs").join("transfers").join(hex))
}

/// Follows a transfer until it finishes and the session is over; the
/// exit status (0: the whole file confirmed).
pub(crate) async fn follow_transfer(
    session: &Session,
    stream: &FileTransferStream,
    events: &mut Subscription,
    signals: &mut Interrupts,
    out: &mut impl FnMut(&str) -> Result<()>,
) -> Result<u8> {
    let Interrupts {
        interrupt,
        terminate,
    } = signals;
    let me = stream.base().context().map(|c| c.sender);
    let size = stream.file_selector().size.unwrap_or(0);
    let mut progress = Progress::new(stream.file_range().map_or(0, |r| r.start - 1));
    let mut result: Option<Option<String>> = None;
    // The session ended (by this party) before the transfer said how it
    // ended: its FileTransferStreamDidFinish is still to come (a receiver
    // may be storing the last chunk the sender, hanging up, had confirmed).
    let mut ended: Option<String> = None;
    loop {
        tokio::select! {
            n = events.next() => {
                let Some(n) = n else { break };
                if n.sender == session.sender() {
                    match &n.data {
                        NotificationData::SIPSessionDidStart { .. } => out("session started\n")?,
                        NotificationData::SIPSessionDidFail { code, reason, failure_reason, .. } => {
                            let why = if *code == 0 { failure_reason.clone() } else { format!("{code} {reason}") };
                            out(&format!("the session failed: {why}\n"))?;
                            result.get_or_insert(Some(why));
                            break;
                        }
                        NotificationData::SIPSessionDidEnd { originator, .. } => {
                            if result.is_none() {
                                out(&format!("the session ended ({originator} hung up)\n"))?;
                                ended = Some(originator.to_string());
                                continue;
                            }
                            break;
                        }
                        _ => {}
                    }
                } else if Some(n.sender) == me {
                    match &n.data {
                        NotificationData::FileTransferStreamDidDeliverChunk { transferred_bytes, file_size, .. } => {
                            progress.show(*transferred_bytes, *file_size, false);
                        }
                        NotificationData::FileTransferStreamGotChunk { transferred_bytes, file_size, .. } => {
                            progress.show(*transferred_bytes, *file_size, false);
                        }
                        NotificationData::FileTransferStreamDidFinish { error } => {
                            progress.show(stream.progress().transferred_bytes, size, true);
                            eprintln!();
                            result = Some(error.clone());
                            if ended.is_some() {
                                break;
                            }
                            // The REPORT that confirms the file goes out
                            // before the BYE (it is queued already).
                            if let Some(c) = stream.base().current_connection() {
                                c.drain(Duration::from_secs(2)).await;
                            }
                            let _ = session.end().await;
                        }
                        _ => {}
                    }
                }
            }
            // Bounded: a stream that never started has nothing to say.
            _ = tokio::time::sleep(Duration::from_secs(5)), if ended.is_some() => break,
            _ = interrupt.recv() => { result.get_or_insert(Some("interrupted".into())); let _ = session.end().await; }
            _ = terminate.recv() => { result.get_or_insert(Some("terminated".into())); let _ = session.end().await; }
        }
    }
    // No word from the stream after the session's end: a success only if
    // every byte was confirmed (sent) or the file saved (received).
    if let (None, Some(originator)) = (&result, &ended) {
        let p = stream.progress();
        let whole = match stream.direction() {
            TransferDirection::Receive => p.saved_to.is_some(),
            TransferDirection::Send => p.transferred_bytes >= size,
        };
        if !whole {
            result = Some(Some(format!(
                "the {originator} party ended the session before the whole file was confirmed"
            )));
        }
    }
    match result.flatten() {
        None => {
            let p = stream.progress();
            match (stream.direction(), p.saved_to) {
                (TransferDirection::Receive, Some(path)) => out(&format!(
                    "saved {} ({} bytes) to {}\n",
                    file_name(stream),
                    size,
                    path.display()
                ))?,
                _ => out(&format!(
                    "sent {} ({size} bytes): the peer confirmed the whole file\n",
                    file_name(stream)
                ))?,
            }
            Ok(0)
        }
        Some(why) => {
            let got = stream.progress().transferred_bytes;
            eprintln!("sip: the file transfer failed after {got} of {size} bytes: {why}");
            Ok(1)
        }
    }
}

/// `sip listen` and a file offered to it: accepted into `accept_files`
/// at once, else asked about (saved to `file_transfer.directory`), then
/// followed to its end. True when listening should stop.
pub(crate) async fn take_file(
    session: &Session,
    stream: Arc<FileTransferStream>,
    accept_files: Option<&Path>,
    auto_answer: bool,
    events: &mut Subscription,
    stdin: &mut tokio::io::Lines<tokio::io::BufReader<tokio::io::Stdin>>,
    out: &mut impl FnMut(&str) -> Result<()>,
) -> Result<bool> {
    let sel = stream.file_selector();
    let name = sel.name.clone().unwrap_or_default();
    if stream.direction() == TransferDirection::Send {
        // A pull: this client serves no files.
        out(&format!(
            "{} asked for the file {name:?}: not served\n",
            crate::chat::identity(&session.remote_identity())
        ))?;
        let _ = session.reject(488, None).await;
        return Ok(false);
    }
    out(&format!(
        "incoming file from {}: {name} ({} bytes)\n",
        crate::chat::identity(&session.remote_identity()),
        sel.size.unwrap_or(0)
    ))?;
    let answer = match accept_files {
        Some(dir) => {
            stream.set_directory(dir.to_owned());
            crate::call::Answer::Yes
        }
        None if auto_answer => crate::call::Answer::Yes,
        None => {
            out("accept? [y/n] ")?;
            crate::call::ask(session, events, stdin).await
        }
    };
    match answer {
        crate::call::Answer::Yes => {}
        crate::call::Answer::No => {
            let _ = session.reject(603, None).await;
            out("declined\n")?;
            return Ok(false);
        }
        crate::call::Answer::Gone => {
            out("\nthe file went away before it was accepted\n")?;
            return Ok(false);
        }
        crate::call::Answer::Stop => return Ok(true),
    }
    let mut signals = Interrupts::catch()?;
    session
        .accept(vec![stream.clone() as Arc<dyn MediaStream>])
        .await
        .map_err(|e| anyhow!("{e}"))?;
    follow_transfer(session, &stream, events, &mut signals, out).await?;
    Ok(false)
}

fn file_name(stream: &FileTransferStream) -> String {
    stream
        .file_selector()
        .name
        .clone()
        .unwrap_or_else(|| "the file".into())
}

/// `sip send-file URI FILE [--resume]`.
pub fn send_file(
    config: &Path,
    uri: &str,
    account: Option<&str>,
    file: &Path,
    resume: bool,
    mut out: impl FnMut(&str) -> Result<()>,
) -> Result<u8> {
    let rt = runtime()?;
    let status = rt.block_on(async move {
        let selector = file_selector_for(file, None, true)
            .await
            .with_context(|| format!("cannot read {}", file.display()))?;
        let size = selector.size.unwrap_or(0);
        let state = resume_file(&selector);
        let confirmed = match (&state, resume) {
            (Some(p), true) => std::fs::read_to_string(p)
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .filter(|&n| n < size),
            _ => None,
        };
        let (app, mut events) = start(config).await?;
        let result = async {
            let account = pick_account(&app, account)?;
            let settings = app
                .session_manager()
                .stream_settings(&account, local_ip(&app))
                .map_err(|e| anyhow!("{e}"))?;
            let range = confirmed.map(|n| FileRange { start: n + 1, stop: None });
            match confirmed {
                Some(n) => out(&format!("resuming {} after {n} of {size} bytes\n", file.display()))?,
                None if resume => out("nothing to resume: sending the whole file\n")?,
                None => {}
            }
            let stream = Arc::new(FileTransferStream::new_outgoing(
                &settings,
                selector,
                file.to_owned(),
                range,
            ));
            out(&format!("sending {} ({size} bytes) to {uri}\n", file.display()))?;
            let mut signals = Interrupts::catch()?;
            let session = app
                .session_manager()
                .connect(&account, uri, vec![stream.clone() as Arc<dyn MediaStream>])
                .await
                .map_err(|e| anyhow!("{e}"))?;
            let status =
                follow_transfer(&session, &stream, &mut events, &mut signals, &mut out).await?;
            if let Some(p) = &state {
                let confirmed = stream.progress().transferred_bytes;
                if status == 0 {
                    let _ = std::fs::remove_file(p);
                } else if confirmed > 0 {
                    if let Some(dir) = p.parent() {
                        let _ = std::fs::create_dir_all(dir);
                    }
                    let _ = std::fs::write(p, confirmed.to_string());
                    eprintln!("sip: {confirmed} bytes were confirmed: `sip send-file --resume` sends the rest");
                }
            }
            Ok(status)
        }
        .await;
        stop(&app, &mut events).await;
        result
    });
    rt.shutdown_timeout(Duration::from_millis(100));
    status
}

/// `sip get-file URI NAME [--directory DIR]`: asks the peer for its file
/// NAME (RFC 5547 §8).
pub fn get_file(
    config: &Path,
    uri: &str,
    account: Option<&str>,
    name: &str,
    directory: Option<PathBuf>,
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
                .map_err(|e| anyhow!("{e}"))?;
            let want = FileSelector {
                name: Some(name.to_owned()),
                ..FileSelector::default()
            };
            let stream = Arc::new(FileTransferStream::new_pull(&settings, want, None));
            if let Some(dir) = directory {
                stream.set_directory(dir);
            }
            out(&format!("asking {uri} for {name}\n"))?;
            let mut signals = Interrupts::catch()?;
            let session = app
                .session_manager()
                .connect(&account, uri, vec![stream.clone() as Arc<dyn MediaStream>])
                .await
                .map_err(|e| anyhow!("{e}"))?;
            follow_transfer(&session, &stream, &mut events, &mut signals, &mut out).await
        }
        .await;
        stop(&app, &mut events).await;
        result
    });
    rt.shutdown_timeout(Duration::from_millis(100));
    status
}
