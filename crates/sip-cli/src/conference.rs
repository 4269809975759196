//! `sip conference URI URI...`: calls every URI and joins the calls that
//! start in one AudioConference with the local party. The local audio is
//! the voice device, or `--input FILE.wav` / `--tone HZ` played into the
//! conference; `--output FILE.wav` records the whole conference.
//!
//! Lines on standard input: `hold` (the local party leaves the mix, the
//! others go on), `unhold`, `hangup` (all). Ctrl-C or SIGTERM hangs up
//! every call and exits once they ended.

use std::path::Path;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use crate::signals::Interrupts;
use anyhow::{bail, Result};
use sipsimple::audio::{
    AudioMixer, AudioPort, PlayOptions, SlotHandle, SlotId, SlotIo, WavePlayer, WaveRecorder,
};
use sipsimple::conference::AudioConference;
use sipsimple::media::tone::ToneGenerator;
use sipsimple::notification::NotificationData;
use sipsimple::session::Session;
use sipsimple::streams::audio::AudioStream;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::call::{line, pick_account, runtime, start, stop, AudioOptions};

/// How long the calls' BYEs may take once asked to stop.
const GRACE: Duration = Duration::from_secs(3);

/// `--tone` as a port of the mixer: a tone for ever, no file needed.
struct TonePort {
    mixer: AudioMixer,
    _io: Arc<ToneIo>,
    slot: SlotHandle,
}

struct ToneIo(Mutex<ToneGenerator>);

impl SlotIo for ToneIo {
    fn produce(&self, frame: &mut [i16]) -> bool {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).fill(frame);
        true
    }
}

impl TonePort {
    fn new(mixer: &AudioMixer, hz: f64) -> Arc<TonePort> {
        let io = Arc::new(ToneIo(Mutex::new(ToneGenerator::new(
            mixer.sample_rate(),
            &[hz],
            8000,
        ))));
        let weak: Weak<dyn SlotIo> = Arc::downgrade(&(io.clone() as Arc<dyn SlotIo>));
        let slot = mixer.add_slot(weak, true, false);
        Arc::new(TonePort {
            mixer: mixer.clone(),
            _io: io,
            slot,
        })
    }
}

impl AudioPort for TonePort {
    fn mixer(&self) -> &AudioMixer {
        &self.mixer
    }

    fn consumer_slot(&self) -> Option<SlotId> {
        None
    }

    fn producer_slot(&self) -> Option<SlotId> {
        Some(self.slot.id())
    }
}

/// One call of the conference.
struct Leg {
    uri: String,
    session: Session,
    stream: Arc<AudioStream>,
    started: bool,
    over: bool,
}

/// The local party's audio besides the device: a tone or a file.
fn local_source(mixer: &AudioMixer, options: &AudioOptions) -> Result<Option<Arc<dyn AudioPort>>> {
    if let Some(path) = &options.input {
        let player = WavePlayer::new(
            mixer,
            path,
            PlayOptions {
                loop_count: 0,
                ..PlayOptions::default()
            },
        );
        player
            .start()
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        return Ok(Some(player));
    }
    Ok(options
        .tone
        .map(|hz| TonePort::new(mixer, hz) as Arc<dyn AudioPort>))
}

/// `sip conference URI URI...`.
pub fn conference(
    config: &Path,
    uris: &[String],
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
            let Some(mixer) = app.voice_audio_mixer() else {
                bail!("the application has no voice mixer");
            };
            let conference = AudioConference::new(&mixer);
            let bridge = conference.bridge();
            let local = local_source(&mixer, &options)?;
            if let Some(l) = &local {
                bridge.add(l).map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            let recorder = match &options.output {
                Some(path) => {
                    let r = WaveRecorder::new(&mixer, path);
                    r.start()
                        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                    bridge
                        .add(&(r.clone() as Arc<dyn AudioPort>))
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    Some(r)
                }
                None => None,
            };
            // The streams go on the voice mixer (no file or tone of their own).
            let on_mixer = AudioOptions {
                input: None,
                tone: None,
                output: None,
            };
            let mut signals = Interrupts::catch()?;
            let mut legs = Vec::new();
            for uri in uris {
                let stream = on_mixer.stream(&app, &account).await?;
                out(&format!(
                    "[{}] calling {uri} from {}\n",
                    legs.len() + 1,
                    account.id()
                ))?;
                match app
                    .session_manager()
                    .connect(&account, uri, vec![stream.clone()])
                    .await
                {
                    Ok(session) => legs.push(Leg {
                        uri: uri.clone(),
                        session,
                        stream,
                        started: false,
                        over: false,
                    }),
                    Err(e) => out(&format!("[{}] {uri}: {e}\n", legs.len() + 1))?,
                }
            }
            let outcome = run(
                &conference,
                local.as_ref(),
                &mut legs,
                &mut events,
                &mut signals,
                hangup_after,
                &mut out,
            )
            .await;
            if let Some(r) = recorder {
                r.stop();
            }
            outcome
        }
        .await;
        stop(&app, &mut events).await;
        result
    });
    // The stdin reader sits in a blocking thread: do not wait for it.
    rt.shutdown_timeout(Duration::from_millis(100));
    status
}

/// Follows the calls until all ended: 0 if any started, else 1.
async fn run(
    conference: &AudioConference,
    local: Option<&Arc<dyn AudioPort>>,
    legs: &mut [Leg],
    events: &mut sipsimple::notification::Subscription,
    signals: &mut Interrupts,
    limit: Option<Duration>,
    out: &mut impl FnMut(&str) -> Result<()>,
) -> Result<u8> {
    let Interrupts {
        interrupt,
        terminate,
    } = signals;
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    let deadline = tokio::time::sleep(limit.unwrap_or(Duration::from_secs(u64::MAX / 4)));
    tokio::pin!(deadline);
    let mut leaving = false;
    while legs.iter().any(|l| !l.over) {
        tokio::select! {
            n = events.next() => {
                let Some(n) = n else { break };
                let Some(i) = legs.iter().position(|l| {
                    l.session.sender() == n.sender || l.stream.sender() == Some(n.sender)
                }) else { continue };
                let Some(leg) = legs.get_mut(i) else { continue };
                if let Some(text) = line(&n.data) {
                    out(&format!("[{}] {text}\n", i + 1))?;
                }
                match n.data {
                    NotificationData::SIPSessionDidStart { .. } => {
                        leg.started = true;
                        match conference.add(&leg.stream) {
                            Ok(()) => out(&format!(
                                "[{}] {} joined the conference ({} in it)\n",
                                i + 1,
                                leg.uri,
                                conference.streams().len()
                            ))?,
                            Err(e) => out(&format!("[{}] ! {e}\n", i + 1))?,
                        }
                    }
                    NotificationData::SIPSessionDidEnd { .. }
                    | NotificationData::SIPSessionDidFail { .. } => {
                        leg.over = true;
                        let _ = conference.remove(&leg.stream);
                    }
                    _ => {}
                }
            }
            l = stdin.next_line(), if stdin_open => match l {
                Ok(Some(l)) => match l.trim() {
                    "" => {}
                    "hold" => {
                        conference.hold();
                        if let Some(p) = local {
                            let _ = conference.bridge().remove(p);
                        }
                        out("conference on hold\n")?;
                    }
                    "unhold" | "resume" => {
                        conference.unhold();
                        if let Some(p) = local {
                            let _ = conference.bridge().add(p);
                        }
                        out("conference resumed\n")?;
                    }
                    "hangup" | "bye" => hang_up(legs).await,
                    other => out(&format!("! unknown command {other:?}: hold, unhold, hangup\n"))?,
                },
                _ => stdin_open = false,
            },
            _ = &mut deadline => {
                if leaving {
                    // BYEs unanswered in time: the peers' timers end theirs.
                    break;
                }
                leaving = true;
                out("hanging up\n")?;
                hang_up(legs).await;
                deadline.as_mut().reset(tokio::time::Instant::now() + GRACE);
            }
            _ = interrupt.recv() => {
                leaving = true;
                out("hanging up\n")?;
                hang_up(legs).await;
                deadline.as_mut().reset(tokio::time::Instant::now() + GRACE);
            }
            _ = terminate.recv() => {
                leaving = true;
                hang_up(legs).await;
                deadline.as_mut().reset(tokio::time::Instant::now() + GRACE);
            }
        }
    }
    Ok(if legs.iter().any(|l| l.started) { 0 } else { 1 })
}

async fn hang_up(legs: &[Leg]) {
    for leg in legs.iter().filter(|l| !l.over) {
        let _ = leg.session.end().await;
    }
}
