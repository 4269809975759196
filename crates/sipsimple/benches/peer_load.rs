//! The same SIPp call load against three answering UAs on this machine:
//! our SipApplication, PJSIP through pjsua2 (`tests/pjsua2/load_peer.py`)
//! and baresip (auto-answer). SIPp's built-in UAC (INVITE with SDP, 200,
//! ACK, BYE; no media from SIPp) runs at rising rates for SECONDS each;
//! the highest rate at which every call succeeds is the figure. Then 25
//! calls are held up at once and the answering process's resident memory
//! (VmRSS) is read before and during, for memory per established call.
//! Each answerer sends its RTP as it normally would.
//!
//! cargo bench -p sipsimple --bench peer_load [-- SECONDS] [ours] [pjsua2] [baresip]
//!
//! Needs sipp and baresip (scripts/test.sh installs them) and the pjsua2
//! venv ($SIPSIMPLE_PJ_VENV, default ~/.cache/sipsimple-rs/pjvenv).

#[path = "support/answer.rs"]
mod answer;
#[path = "../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sipsimple::application::SipApplication;
use sipsimple::config::MemoryBackend;
use sipsimple::engine::TransportKind;

const RATES: [u32; 11] = [25, 50, 75, 100, 150, 200, 400, 800, 1600, 2400, 3200];
/// Calls held at once for the memory figure. The pjsua2 wheel is built
/// with PJSUA_MAX_CALLS = 4 (a 5th concurrent call gets 486), so it
/// holds 4.
const HELD: u32 = 25;

/// (resident KiB, CPU seconds) of a process.
fn usage(pid: u32) -> (u64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (rss, ticks / 100.0)
}

/// One SIPp run against `port`: (successful, failed) calls.
fn sipp(port: u16, rate: u32, calls: u32, hold_ms: u32) -> (u32, u32) {
    let stats = std::env::temp_dir().join(format!("sipp-peer-{}-{rate}.csv", std::process::id()));
    let child = Command::new("sipp")
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
        .spawn();
    // An overloaded answerer can keep SIPp waiting past its own timeout:
    // the run is cut at its length plus a minute.
    if let Ok(mut child) = child {
        let limit =
            Duration::from_secs(u64::from(calls / rate.max(1)) + u64::from(hold_ms / 1000) + 60);
        let started = Instant::now();
        while matches!(child.try_wait(), Ok(None)) {
            if started.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let text = std::fs::read_to_string(&stats).unwrap_or_default();
    let _ = std::fs::remove_file(&stats);
    let header: Vec<&str> = text.lines().next().unwrap_or_default().split(';').collect();
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

/// An answering UA under test: its SIP port and process id.
struct Answerer {
    name: &'static str,
    port: u16,
    pid: u32,
    /// How many calls it can hold at once for the memory figure.
    held: u32,
    child: Option<Child>,
    _dir: Option<common::TempDir>,
    /// Ours runs in this process.
    app: Option<SipApplication>,
}

impl Drop for Answerer {
    fn drop(&mut self) {
        if let Some(app) = self.app.take() {
            app.stop();
            std::thread::sleep(Duration::from_secs(1));
        }
        if let Some(c) = self.child.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
}

fn pjsua2() -> Answerer {
    let venv = std::env::var_os("SIPSIMPLE_PJ_VENV").map_or_else(
        || {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/sipsimple-rs/pjvenv")
        },
        PathBuf::from,
    );
    let port = common::free_port();
    let child = Command::new(venv.join("bin/python"))
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/pjsua2/load_peer.py"))
        .args(["--port", &port.to_string(), "--max-calls", "4"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the pjsua2 venv (scripts/test.sh makes it)");
    wait_for_port(port);
    Answerer {
        name: "PJSIP 2.15 (pjsua2, Python)",
        port,
        pid: child.id(),
        held: 4,
        child: Some(child),
        _dir: None,
        app: None,
    }
}

fn baresip() -> Answerer {
    let dir = common::TempDir::new("baresip-load");
    let port = common::free_port();
    let config = format!(
        "poll_method epoll\n\
         sip_listen 127.0.0.1:{port}\n\
         call_max_calls 1024\n\
         audio_player aubridge,nil\n\
         audio_source ausine,440\n\
         audio_alert aubridge,nil\n\
         ausrc_srate 48000\n\
         ausrc_channels 2\n\
         rtp_ports 20000-29999\n\
         rtcp_mux no\n\
         net_interface 127.0.0.1\n\
         module_path /usr/lib/baresip/modules\n\
         module g711.so\n\
         module ausine.so\n\
         module aubridge.so\n\
         module_app account.so\n\
         module_app menu.so\n"
    );
    std::fs::write(dir.0.join("config"), config).unwrap();
    std::fs::write(
        dir.0.join("accounts"),
        format!("<sip:uas@127.0.0.1:{port}>;regint=0;answermode=auto\n"),
    )
    .unwrap();
    std::fs::write(dir.0.join("contacts"), "").unwrap();
    let child = Command::new("baresip")
        .arg("-f")
        .arg(&dir.0)
        .current_dir(&dir.0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("baresip (scripts/test.sh installs it)");
    wait_for_port(port);
    Answerer {
        name: "baresip 1.0",
        port,
        pid: child.id(),
        held: HELD,
        child: Some(child),
        _dir: Some(dir),
        app: None,
    }
}

/// Our application, answering every call with the stream its registry
/// made for the offer (on the voice mixer, as a softphone would).
fn ours(rt: &tokio::runtime::Runtime) -> Answerer {
    let app = rt.block_on(async {
        let app = SipApplication::new();
        let config = "local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = [\"udp\"]\n\
                      [rtp]\nport_range = \"20000-60000\"\n\
                      [accounts.\"uas@127.0.0.1\"]\nenabled = true\nregistration.enabled = false\n";
        app.start(MemoryBackend::with(config.parse().unwrap()))
            .await
            .unwrap();
        answer::answer_every_call(&app);
        app
    });
    let port = app
        .engine()
        .unwrap()
        .local_addr(TransportKind::Udp)
        .unwrap()
        .port();
    Answerer {
        name: "sipsimple-rs",
        port,
        pid: std::process::id(),
        held: HELD,
        child: None,
        _dir: None,
        app: Some(app),
    }
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false)
}

/// Memory with calls held, then the rate ladder, each on a fresh
/// answerer.
fn measure(make: &dyn Fn() -> Answerer, seconds: u32) {
    let a = make();
    println!("== {} ==", a.name);
    std::thread::sleep(Duration::from_secs(2));
    let (idle, _) = usage(a.pid);
    let port = a.port;
    let held = a.held;
    let runner = std::thread::spawn(move || sipp(port, 25, held, 12_000));
    // At 25/s they are all up after a second, and held for 12.
    std::thread::sleep(Duration::from_secs(6));
    let (up, _) = usage(a.pid);
    let (ok, failed) = runner.join().unwrap();
    println!(
        "  {held} calls held: VmRSS {idle} KiB idle, {up} KiB with them up: \
         {:.1} KiB per call ({ok} succeeded, {failed} failed)",
        (up as f64 - idle as f64) / f64::from(held)
    );
    drop(a);
    let a = make();
    std::thread::sleep(Duration::from_secs(2));
    let mut best = 0;
    for rate in RATES {
        let (_, cpu0) = usage(a.pid);
        let (ok, failed) = sipp(a.port, rate, rate * seconds, 0);
        let (_, cpu1) = usage(a.pid);
        println!(
            "  {rate:>4} calls/s for {seconds} s: {ok} succeeded, {failed} failed, \
             CPU {:.2} s ({:.0} µs per call){}",
            cpu1 - cpu0,
            (cpu1 - cpu0) * 1e6 / f64::from(ok.max(1)),
            if alive(a.pid) {
                ""
            } else {
                "; the answerer is gone (crashed)"
            }
        );
        if failed == 0 && ok == rate * seconds {
            best = rate;
        } else {
            break;
        }
        // Let the finished transactions and calls clear.
        std::thread::sleep(Duration::from_secs(2));
    }
    println!("  highest rate with no failed call: {best} calls/s");
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let seconds: u32 = args.iter().find_map(|a| a.parse().ok()).unwrap_or(10);
    let all = !args
        .iter()
        .any(|a| ["ours", "pjsua2", "baresip"].contains(&a.as_str()));
    let wants = |n: &str| all || args.iter().any(|a| a == n);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = rt.enter();
    if wants("ours") {
        measure(&|| ours(&rt), seconds);
    }
    if wants("pjsua2") {
        measure(&pjsua2, seconds);
    }
    if wants("baresip") {
        measure(&baresip, seconds);
    }
}
