//! Load: N accounts (default 1,000) in one SipApplication register with a
//! Kamailio registrar (digest auth, started here on loopback): time until
//! every account is registered, the CPU time and memory that took, the
//! bindings counted in Kamailio's location table, then the time to
//! unregister them all. The same registrations by SIPp (one call per
//! user, `[authentication]`) against the same Kamailio, side by side.
//!
//! cargo bench -p sipsimple --bench register_many [-- ACCOUNTS]
//!
//! Needs kamailio, kamcmd and sipp (scripts/test.sh installs them).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/counting.rs"]
mod counting;
#[path = "../tests/kamailio/mod.rs"]
mod kamailio;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sipsimple::application::SipApplication;
use sipsimple::config::MemoryBackend;
use sipsimple::notification::{Filter, NotificationData};

/// Counts live heap bytes: RSS only grows (freed memory stays with the
/// allocator), so what the accounts really hold is measured here.
#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

fn live_kib() -> f64 {
    counting::live() as f64 / 1024.0
}

/// utime + stime of a process from /proc/PID/stat, in seconds.
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are
    // the 14th and 15th fields overall.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / clock_ticks())
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// A `Vm...` line of /proc/PID/status, in MiB.
fn vm_mib(pid: &str, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn bindings(k: &kamailio::Kamailio) -> usize {
    kamailio::contact_count(k)
}

fn config(k: &kamailio::Kamailio, n: usize) -> MemoryBackend {
    let mut text = String::from("local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = [\"udp\"]\n");
    for i in 0..n {
        text.push_str(&format!(
            "[accounts.\"bench{i}@sipsimple.test\"]\nenabled = true\n\
             auth.password = \"secret\"\n\
             sip.outbound_proxy = \"sip:127.0.0.1:{}\"\n\
             registration.interval = 3600\n",
            k.udp
        ));
    }
    MemoryBackend::with(text.parse().expect("generated config"))
}

async fn ours(k: &kamailio::Kamailio, n: usize) {
    let me = "self";
    let rss_before = vm_mib(me, "VmRSS:").unwrap_or(0.0);
    let live_before = live_kib();
    let cpu_before = cpu_seconds(me).unwrap_or(0.0);
    let app = SipApplication::new();
    // One subscription per name: 1,000 accounts post several thousand
    // notifications while starting, more than an observer's queue holds.
    let center = app.notification_center();
    let mut succeeded = center.subscribe(Filter::name("SIPAccountRegistrationDidSucceed"));
    let mut failures = center.subscribe(Filter::name("SIPAccountRegistrationDidFail"));
    let mut ended = center.subscribe(Filter::name("SIPApplicationDidEnd"));
    let started = Instant::now();
    app.start(config(k, n)).await.expect("application starts");
    for _ in 0..n {
        tokio::time::timeout(Duration::from_secs(60), succeeded.next())
            .await
            .expect("registrations progress")
            .expect("center alive");
    }
    assert_eq!(succeeded.take_missed(), 0, "the observer kept up");
    let mut failed = 0;
    while let Some(note) = failures.try_next() {
        failed += 1;
        if let NotificationData::SIPAccountRegistrationDidFail { error, .. } = note.data {
            if failed <= 3 {
                eprintln!("registration failed: {error}");
            }
        }
    }
    let took = started.elapsed();
    let cpu = cpu_seconds(me).unwrap_or(0.0) - cpu_before;
    let live = live_kib() - live_before;
    let rss = vm_mib(me, "VmRSS:").unwrap_or(0.0);
    let hwm = vm_mib(me, "VmHWM:").unwrap_or(0.0);
    let table = bindings(k);
    let stats = app
        .engine()
        .expect("running")
        .stats()
        .await
        .expect("engine stats");
    println!(
        "sipsimple-rs: {} requests sent for {n} registrations (2 each without loss: \
         the rest are retransmissions)",
        stats.sent
    );
    println!(
        "sipsimple-rs: {n} accounts registered in {:.3} s ({:.0}/s), CPU {cpu:.2} s, \
         RSS {rss_before:.1} -> {rss:.1} MiB (+{:.1}; {:.1} KiB per account), peak {hwm:.1} MiB, \
         {failed} failed attempts; Kamailio holds {table} bindings",
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64(),
        rss - rss_before,
        (rss - rss_before) * 1024.0 / n as f64,
    );
    assert_eq!(table, n, "every account's binding is in the location table");
    // Completed client transactions linger for Timer K (5 s on UDP);
    // what stays after that is the accounts' own cost.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let settled = app
        .engine()
        .expect("running")
        .stats()
        .await
        .expect("engine stats");
    let rss_settled = vm_mib(me, "VmRSS:").unwrap_or(0.0);
    let live_settled = live_kib() - live_before;
    println!(
        "sipsimple-rs: heap in use {:.1} MiB ({:.1} KiB per account) when all registered; \
         6 s later, {} transactions left: {:.1} MiB ({:.1} KiB per account), RSS {rss_settled:.1} MiB",
        live / 1024.0,
        live / n as f64,
        settled.transactions,
        live_settled / 1024.0,
        live_settled / n as f64,
    );

    let stopping = Instant::now();
    app.stop();
    tokio::time::timeout(Duration::from_secs(30), ended.next())
        .await
        .expect("the application stops")
        .expect("center alive");
    let left = bindings(k);
    println!(
        "sipsimple-rs: all unregistered and stopped in {:.3} s; Kamailio holds {left} bindings",
        stopping.elapsed().as_secs_f64()
    );
    assert_eq!(left, 0, "every binding was removed");
}

/// SIPp registering `n` users, at most `in_flight` at a time.
fn sipp(k: &kamailio::Kamailio, n: usize, in_flight: usize, run: &str) {
    let before = bindings(k);
    let dir = PathBuf::from(&k.dir);
    let users = dir.join("users.csv");
    let mut csv = String::from("SEQUENTIAL\n");
    for i in 0..n {
        csv.push_str(&format!("sipp{run}{i};secret\n"));
    }
    std::fs::write(&users, csv).expect("injection file");
    let scenario =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sipp/uac_register_auth.xml");
    let started = Instant::now();
    let mut child = Command::new("sipp")
        .arg(format!("127.0.0.1:{}", k.udp))
        .arg("-sf")
        .arg(&scenario)
        .arg("-inf")
        .arg(&users)
        .args([
            "-m",
            &n.to_string(),
            "-l",
            &in_flight.to_string(),
            "-r",
            "100000",
        ])
        .args(["-au", "bench0", "-ap", "secret"])
        .args(["-i", "127.0.0.1", "-p", &common::free_port().to_string()])
        .args([
            "-nostdin",
            "-timeout",
            "60s",
            "-timeout_error",
            "-trace_err",
        ])
        .arg("-error_file")
        .arg(dir.join("sipp-errors.log"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sipp is installed (scripts/test.sh installs it)");
    let pid = child.id().to_string();
    let (mut cpu, mut hwm) = (0.0, 0.0);
    // Until it exits: the zombie's stat still has its final CPU times.
    loop {
        if let Some(h) = vm_mib(&pid, "VmHWM:") {
            hwm = h;
        }
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, r)| r.split_whitespace().next());
        if let Some(c) = cpu_seconds(&pid) {
            cpu = c;
        }
        if state == Some("Z") || stat.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let status = child.wait().expect("sipp ran");
    let took = started.elapsed();
    let table = bindings(k) - before;
    println!(
        "SIPp 3.6 (-l {in_flight}): {n} users registered in {:.3} s ({:.0}/s), CPU {cpu:.2} s, peak RSS {hwm:.1} MiB, \
         exit {}; Kamailio holds {table} more bindings",
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64(),
        status.code().unwrap_or(-1),
    );
    if !status.success() {
        let log = std::fs::read_to_string(dir.join("sipp-errors.log")).unwrap_or_default();
        let head: String = log.lines().take(40).collect::<Vec<_>>().join("\n");
        let klog = std::fs::read_to_string(dir.join("kamailio.log")).unwrap_or_default();
        let tail: Vec<&str> = klog.lines().rev().take(15).collect();
        panic!(
            "SIPp did not register every user:\n{head}\nKamailio:\n{}",
            tail.join("\n")
        );
    }
    assert_eq!(table, n, "every SIPp binding is in the location table");
}

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let k = kamailio::start_kamailio_with(120);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(ours(&k, n));
    // SIPp with the same bound on exchanges in flight as the SDK, then
    // with all at once (other users, so each run's bindings are counted).
    sipp(&k, n, sipsimple::services::REGISTERING_AT_ONCE, "a");
    sipp(&k, n, n, "b");
}
