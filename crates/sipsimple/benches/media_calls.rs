//! Concurrent calls with real media: how many calls an answering UA holds
//! at 50 RTP packets/s each way without loss or late packets, and its CPU
//! per call, for G.711 (PCMU) and Opus; our SipApplication and baresip
//! answer in the same run.
//!
//! The caller is a SipApplication in this process: N calls, each an
//! AudioStream sending a tone in the one codec it offers. The answerer is
//! another process: this binary re-run as an answering application
//! (`SIPSIMPLE_MEDIA_UAS`), which answers every call with a tone stream of
//! its own, or baresip (auto-answer, its `ausine` source). Once every call
//! is up, the calls are held for SECONDS; the figure of a step is what the
//! caller's streams received from the answerer in that window (packets
//! against 50/s, sequence gaps, RFC 3550 interarrival jitter) and the
//! answerer's CPU (/proc/PID/stat) per call. Steps rise until a step
//! loses more than 0.1 % or its worst jitter passes 20 ms.
//!
//! cargo bench -p sipsimple --bench media_calls [-- SECONDS] [pcmu] [opus] [ours] [baresip] [max=N]
//!
//! Needs baresip (scripts/test.sh installs it). The caller's own CPU is
//! part of the machine's load: on 2 cores both ends share them.

#[path = "../tests/common/mod.rs"]
mod common;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use media::tone::ToneGenerator;
use sdp::offer_answer::Codec;
use sipsimple::application::SipApplication;
use sipsimple::config::MemoryBackend;
use sipsimple::notification::Filter;
use sipsimple::session::{SessionLimits, SessionState};
use sipsimple::streams::audio::{AudioSource, AudioStream};
use sipsimple::streams::MediaStream;

const STEPS: [usize; 9] = [10, 25, 50, 100, 150, 200, 300, 400, 500];
const UAS_ENV: &str = "SIPSIMPLE_MEDIA_UAS";

fn codec(name: &str) -> Codec {
    match name {
        "opus" => Codec::opus(),
        _ => Codec::pcmu(),
    }
}

async fn tone(hz: f64, codec_name: &str, range: (u16, u16)) -> Arc<AudioStream> {
    Arc::new(
        AudioStream::new(
            "127.0.0.1".parse().unwrap(),
            range,
            vec![codec(codec_name)],
            AudioSource::Tone(ToneGenerator::new(8000, &[hz], 8000)),
        )
        .await
        .expect("an RTP port pair"),
    )
}

async fn app(user: &str, port: u16) -> SipApplication {
    let app = SipApplication::new();
    let text = format!(
        "local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = [\"udp\"]\nudp_port = {port}\n\
         [accounts.\"{user}@127.0.0.1\"]\nenabled = true\nregistration.enabled = false\n"
    );
    app.start(MemoryBackend::with(text.parse().unwrap()))
        .await
        .unwrap();
    app.session_manager().set_limits(SessionLimits {
        max_sessions: 2000,
        max_unanswered_incoming: 2000,
        ..SessionLimits::default()
    });
    app
}

/// The answering application: every call answered with a 1 kHz tone.
async fn run_uas(port: u16, codec_name: String) {
    let bob = app("bob", port).await;
    let mut incoming = bob
        .notification_center()
        .subscribe(Filter::name("SIPSessionNewIncoming"));
    println!("ready");
    while let Some(n) = incoming.next().await {
        let Some(session) = bob
            .session_manager()
            .sessions()
            .into_iter()
            .find(|s| s.sender() == n.sender)
        else {
            continue;
        };
        let codec_name = codec_name.clone();
        tokio::spawn(async move {
            let stream = tone(1000.0, &codec_name, (52000, 54000)).await;
            let _ = session.accept(vec![stream as Arc<dyn MediaStream>]).await;
        });
    }
}

/// (user + system CPU seconds) of process `pid`.
fn cpu_of(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command's closing parenthesis, from the state
    // on: utime is the 12th, stime the 13th (proc(5)).
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let field = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    let ticks = field(11) + field(12);
    ticks as f64 / 100.0
}

struct Answerer {
    child: Child,
    port: u16,
    _dir: Option<common::TempDir>,
}

impl Drop for Answerer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_ours(codec_name: &str) -> Answerer {
    let port = common::free_port();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(UAS_ENV, format!("{port}:{codec_name}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "ready");
    Answerer {
        child,
        port,
        _dir: None,
    }
}

fn start_baresip() -> Answerer {
    let dir = common::TempDir::new("media-calls-baresip");
    let port = common::free_port();
    let config = format!(
        "poll_method epoll\nsip_listen 127.0.0.1:{port}\ncall_max_calls 4000\n\
         audio_player aubridge,nil\naudio_source ausine,1000\naudio_alert aubridge,nil\n\
         ausrc_srate 48000\nausrc_channels 2\n\
         rtp_ports 54000-58000\nrtcp_mux no\nnet_interface 127.0.0.1\n\
         module_path /usr/lib/baresip/modules\nmodule g711.so\nmodule opus.so\n\
         module ausine.so\nmodule aubridge.so\nmodule_app account.so\n"
    );
    std::fs::write(dir.0.join("config"), config).unwrap();
    std::fs::write(
        dir.0.join("accounts"),
        format!("<sip:bob@127.0.0.1:{port}>;regint=0;answermode=auto\n"),
    )
    .unwrap();
    std::fs::write(dir.0.join("contacts"), "").unwrap();
    let child = Command::new("baresip")
        .arg("-v")
        .arg("-f")
        .arg(&dir.0)
        .current_dir(&dir.0)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.0.join("log")).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("baresip is installed (scripts/test.sh installs it)");
    // Up once its SIP port is bound.
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
        assert!(Instant::now() < deadline, "baresip did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Answerer {
        child,
        port,
        _dir: Some(dir),
    }
}

struct Step {
    calls: usize,
    up: usize,
    loss: f64,
    worst_jitter_ms: f64,
    cpu_per_call: f64,
}

async fn step(answerer: &Answerer, codec_name: &str, calls: usize, seconds: u64) -> Step {
    let alice = app("alice", 0).await;
    let account = alice.account_manager().accounts().remove(0);
    let target = format!("sip:bob@127.0.0.1:{}", answerer.port);
    let mut streams = Vec::new();
    for i in 0..calls {
        let s = tone(440.0, codec_name, (50000, 52000)).await;
        streams.push(s.clone());
        let _ = alice
            .session_manager()
            .connect(&account, &target, vec![s as Arc<dyn MediaStream>])
            .await;
        // 100 INVITEs a second: a ramp, not a flood.
        if i % 10 == 9 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // Counted from the sessions' states: a notification observer that
    // falls behind under load may miss some.
    let deadline = Instant::now() + Duration::from_secs(30);
    let connected = |app: &SipApplication| {
        app.session_manager()
            .sessions()
            .iter()
            .filter(|s| s.state() == SessionState::Connected)
            .count()
    };
    while connected(&alice) < calls && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let started = connected(&alice);
    // Settle (jitter buffers fill), then the window.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before: Vec<_> = streams.iter().map(|s| s.stats()).collect();
    let cpu0 = cpu_of(answerer.child.id());
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let cpu = cpu_of(answerer.child.id()) - cpu0;
    let window = t0.elapsed().as_secs_f64();
    let after: Vec<_> = streams.iter().map(|s| s.stats()).collect();
    let (mut expected, mut missing, mut worst) = (0f64, 0f64, 0f64);
    let clock = if codec_name == "opus" { 48.0 } else { 8.0 };
    for (b, a) in before.iter().zip(&after) {
        // Gaps in the sequence numbers (RFC 3550 A.3), and a stream that
        // stopped altogether counts whole.
        let got = a.packets_received.saturating_sub(b.packets_received) as f64;
        let lost = (a.lost - b.lost).max(0) as f64;
        let want = 50.0 * window;
        expected += want;
        missing += if got < want / 2.0 { want - got } else { lost };
        worst = f64::max(worst, a.jitter as f64 / clock);
    }
    for s in alice.session_manager().sessions() {
        let _ = s.end().await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    alice.stop();
    drop(streams);
    tokio::time::sleep(Duration::from_millis(500)).await;
    Step {
        calls,
        up: started,
        loss: if expected > 0.0 {
            missing / expected
        } else {
            1.0
        },
        worst_jitter_ms: worst,
        cpu_per_call: cpu / window / calls as f64,
    }
}

fn main() {
    if let Ok(spec) = std::env::var(UAS_ENV) {
        let (port, codec_name) = spec.split_once(':').unwrap();
        let port: u16 = port.parse().unwrap();
        let codec_name = codec_name.to_owned();
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(run_uas(port, codec_name));
        return;
    }
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let seconds: u64 = args.iter().find_map(|a| a.parse().ok()).unwrap_or(10);
    let max: usize = args
        .iter()
        .find_map(|a| a.strip_prefix("max=")?.parse().ok())
        .unwrap_or(usize::MAX);
    let pick = |all: &[&'static str]| -> Vec<&'static str> {
        let chosen: Vec<_> = all
            .iter()
            .copied()
            .filter(|x| args.iter().any(|a| a == x))
            .collect();
        if chosen.is_empty() {
            all.to_vec()
        } else {
            chosen
        }
    };
    let codecs = pick(&["pcmu", "opus"]);
    let answerers = pick(&["ours", "baresip"]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    println!("{seconds} s per step, 50 packets/s each way per call, loopback:");
    println!("| answerer | codec | calls | calls up | received loss | worst jitter | answerer CPU per call |");
    println!("|---|---|---|---|---|---|---|");
    for who in &answerers {
        for c in &codecs {
            let answerer = match *who {
                "ours" => start_ours(c),
                _ => start_baresip(),
            };
            for n in STEPS.into_iter().filter(|n| *n <= max) {
                let s = rt.block_on(step(&answerer, c, n, seconds));
                println!(
                    "| {who} | {c} | {} | {} | {:.2} % | {:.1} ms | {:.2} % of a core |",
                    s.calls,
                    s.up,
                    s.loss * 100.0,
                    s.worst_jitter_ms,
                    s.cpu_per_call * 100.0
                );
                if s.up < s.calls {
                    if let Some(d) = &answerer._dir {
                        let log = std::fs::read_to_string(d.0.join("log")).unwrap_or_default();
                        let tail: Vec<&str> = log.lines().rev().take(15).collect();
                        eprintln!("baresip's log ends:");
                        for l in tail.iter().rev() {
                            eprintln!("  {l}");
                        }
                    }
                }
                if s.up < s.calls || s.loss > 0.001 || s.worst_jitter_ms > 20.0 {
                    break;
                }
            }
        }
    }
}
