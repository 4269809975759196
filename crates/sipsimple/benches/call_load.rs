//! Call load: SIPp's built-in UAC (INVITE with SDP, ACK, BYE; no media)
//! against a SipApplication that answers every call with an audio stream
//! (RTP sockets bound, silence sent), at rising call rates. For each rate:
//! calls attempted, succeeded, failed, and the process's CPU; the highest
//! rate with no failed call is the figure. Then calls held open to count
//! what an established call costs in memory (heap, counting allocator).
//!
//! cargo bench -p sipsimple --bench call_load [-- SECONDS_PER_RATE]
//!
//! Needs sipp (scripts/test.sh installs it).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/counting.rs"]
mod counting;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use media::tone::ToneGenerator;
use sdp::offer_answer::Codec;
use sipsimple::application::SipApplication;
use sipsimple::config::MemoryBackend;
use sipsimple::engine::TransportKind;
use sipsimple::notification::Filter;
use sipsimple::streams::audio::{AudioSource, AudioStream};

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    ticks / 100.0
}

/// The answering application: every incoming call accepted with a
/// silent audio stream.
async fn answering_app() -> (SipApplication, u16) {
    let app = SipApplication::new();
    let config = "local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = [\"udp\"]\n\
                  [accounts.\"uas@127.0.0.1\"]\nenabled = true\nregistration.enabled = false\n";
    app.start(MemoryBackend::with(config.parse().unwrap()))
        .await
        .unwrap();
    let port = app
        .engine()
        .unwrap()
        .local_addr(TransportKind::Udp)
        .unwrap()
        .port();
    let mut incoming = app
        .notification_center()
        .subscribe(Filter::name("SIPSessionNewIncoming"));
    let manager = app.session_manager().clone();
    tokio::spawn(async move {
        while let Some(n) = incoming.next().await {
            let Some(session) = manager
                .sessions()
                .into_iter()
                .find(|s| s.sender() == n.sender)
            else {
                continue;
            };
            tokio::spawn(async move {
                let stream = AudioStream::new(
                    "127.0.0.1".parse().unwrap(),
                    (20000, 60000),
                    vec![Codec::pcmu()],
                    AudioSource::Tone(ToneGenerator::new(8000, &[0.0], 0)),
                )
                .await;
                if let Ok(stream) = stream {
                    let _ = session.accept(vec![Arc::new(stream)]).await;
                }
            });
        }
    });
    (app, port)
}

/// One SIPp run: (successful, failed) calls.
fn sipp(port: u16, rate: u32, calls: u32, hold_ms: u32) -> (u32, u32) {
    let stats = std::env::temp_dir().join(format!("sipp-load-{}-{rate}.csv", std::process::id()));
    let out = Command::new("sipp")
        .arg(format!("127.0.0.1:{port}"))
        .args(["-sn", "uac", "-s", "uas", "-i", "127.0.0.1"])
        .args(["-p", &common::free_port().to_string()])
        .args(["-mp", &(30000 + common::free_port() % 10000).to_string()])
        .args(["-r", &rate.to_string(), "-m", &calls.to_string()])
        .args(["-l", "100000", "-d", &hold_ms.to_string()])
        .args(["-nostdin", "-timeout", "120s", "-max_socket", "100"])
        .args(["-trace_stat", "-stf"])
        .arg(&stats)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .expect("sipp is installed (scripts/test.sh installs it)");
    let _ = out;
    // The last line of the statistics file has the cumulative counters.
    let text = std::fs::read_to_string(&stats).unwrap_or_default();
    let _ = std::fs::remove_file(&stats);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(';').collect();
    let last: Vec<&str> = text.lines().last().unwrap_or_default().split(';').collect();
    let field = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .and_then(|i| last.get(i))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("SuccessfulCall(C)"), field("FailedCall(C)"))
}

fn main() {
    let seconds: u32 = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(10);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (app, port) = rt.block_on(answering_app());
    let _guard = rt.enter();
    let mut best = 0;
    for rate in [200, 400, 800, 1600, 3200] {
        let cpu = cpu_seconds();
        let started = Instant::now();
        let (ok, failed) = sipp(port, rate, rate * seconds, 0);
        let took = started.elapsed().as_secs_f64();
        println!(
            "rate {rate:>4} calls/s for {seconds} s: {ok} succeeded, {failed} failed, \
             {took:.1} s, our CPU {:.2} s ({:.0} µs per call)",
            cpu_seconds() - cpu,
            (cpu_seconds() - cpu) * 1e6 / f64::from(ok.max(1))
        );
        if failed == 0 && ok == rate * seconds {
            best = rate;
        } else {
            break;
        }
    }
    println!("highest rate with no failed call: {best} calls/s");

    // Memory: 200 calls held open for 10 s, counted while all are up,
    // from a quiet start (the load runs' sessions gone).
    let quiet = Instant::now();
    while !app.session_manager().sessions().is_empty() && quiet.elapsed() < Duration::from_secs(30)
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(6)); // finished transactions expire (Timer K/J)
    let before = counting::live();
    let held = 200;
    let runner = std::thread::spawn(move || sipp(port, 100, held, 10_000));
    let wait = Instant::now();
    while app.session_manager().sessions().len() < held as usize
        && wait.elapsed() < Duration::from_secs(8)
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    let up = app.session_manager().sessions().len();
    let live = counting::live() - before;
    println!(
        "{up} calls established at once: heap +{:.1} MiB, {:.1} KiB per call \
         (session task, INVITE session, audio stream with its sockets and tasks, \
         and the INVITE transactions still in the engine)",
        live as f64 / 1048576.0,
        live as f64 / 1024.0 / up.max(1) as f64
    );
    let (ok, failed) = runner.join().unwrap();
    println!("held calls: {ok} succeeded, {failed} failed");
    app.stop();
    std::thread::sleep(Duration::from_secs(1));
}
