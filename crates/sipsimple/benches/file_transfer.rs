//! One file over one MSRP session on loopback (RFC 5547 push between two
//! applications in this process, TCP and TLS), side by side with a raw
//! TCP copy of the same bytes, file to socket to file, on the same
//! machine. For each: MB/s, the share of raw TCP, CPU seconds per MB (this
//! process, both sides), and the resident memory sampled during the
//! transfer (its peak over the whole run is VmHWM).
//!
//! cargo bench -p sipsimple --bench file_transfer [-- MEGABYTES] [tcp] [tls] [raw] [relay] [relay-tls]
//!
//! `relay` runs the transfer through Kamailio's MSRP relay (its `msrp`
//! module, started here; both parties on it, over TCP), `relay-tls` the
//! same with both parties on the relay over TLS: the relay's own CPU
//! (its processes' user and system time) is printed beside ours. Not in
//! the default set: they need kamailio (scripts/test.sh installs it).
//!
//! The default is 1024 MB. The receiver writes to a directory under
//! $TMPDIR and checks the SHA-1 before keeping the file, as always; the
//! sender's SHA-1 is computed before the clock starts.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/kamailio/mod.rs"]
mod kamailio;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sipsimple::notification::{Filter, NotificationData};
use sipsimple::streams::msrp::{file_selector_for, FileTransferStream};
use sipsimple::streams::MediaStream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let f: Vec<&str> = rest.split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (t(11) + t(12)) / 100.0
}

/// Samples VmRSS every 100 ms while running; the highest seen.
struct RssWatch {
    stop: Arc<AtomicBool>,
    max: Arc<AtomicU64>,
}

impl RssWatch {
    fn start() -> RssWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let max = Arc::new(AtomicU64::new(0));
        let (s, m) = (stop.clone(), max.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                m.fetch_max(status_kib("VmRSS:"), Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        RssWatch { stop, max }
    }

    fn finish(self) -> u64 {
        self.stop.store(true, Ordering::SeqCst);
        self.max.load(Ordering::SeqCst)
    }
}

fn make_file(path: &Path, megabytes: u64) {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut block = vec![0u8; 1 << 20];
    for _ in 0..megabytes {
        for chunk in block.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes());
        }
        f.write_all(&block).unwrap();
    }
    f.flush().unwrap();
}

struct Figure {
    name: &'static str,
    secs: f64,
    cpu: f64,
    rss_kib: u64,
    /// The relay's processes, when the transfer went through one.
    relay_cpu: Option<f64>,
}

async fn raw_tcp(file: &Path, out: &Path) -> Figure {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let out = out.to_owned();
    let watch = RssWatch::start();
    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    let receiver = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut f = tokio::fs::File::create(out).await.unwrap();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = s.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            f.write_all(&buf[..n]).await.unwrap();
        }
        f.sync_all().await.unwrap();
    });
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut f = tokio::fs::File::open(file).await.unwrap();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        s.write_all(&buf[..n]).await.unwrap();
    }
    s.shutdown().await.unwrap();
    receiver.await.unwrap();
    Figure {
        name: "raw TCP copy",
        secs: t0.elapsed().as_secs_f64(),
        cpu: cpu_seconds() - cpu0,
        rss_kib: watch.finish(),
        relay_cpu: None,
    }
}

const RELAY_PASSWORD: &str = "bench-relay";

async fn msrp(file: &Path, inbox: &Path, transport: &'static str) -> Figure {
    let relay = transport
        .starts_with("relay")
        .then(|| kamailio::start_msrp_relay_with(RELAY_PASSWORD, transport == "relay-tls"));
    let (account, trust) = match &relay {
        Some(r) => {
            let (scheme, port, over) = match r.tls_port {
                Some(p) => ("msrps", p, "tls"),
                None => ("msrp", r.port, "tcp"),
            };
            let trust = r
                .ca_pem
                .as_ref()
                .map(|ca| format!("[tls]\nca_list = \"{}\"\n", ca.display()))
                .unwrap_or_default();
            let account = format!(
                "msrp.transport = \"{over}\"\nmsrp.connection_model = \"relay\"\n\
                 auth.password = \"{RELAY_PASSWORD}\"\n\
                 nat_traversal.msrp_relay = \"{scheme}://127.0.0.1:{port};tcp\"\n\
                 nat_traversal.use_msrp_relay_for_outbound = true\n"
            );
            (account, trust)
        }
        None => (format!("msrp.transport = \"{transport}\"\n"), String::new()),
    };
    let alice = common::account_app_with("alice", &trust, &account).await;
    let bob = common::account_app_with(
        "bob",
        &format!(
            "{trust}[file_transfer]\ndirectory = \"{}\"\n",
            inbox.display()
        ),
        &account,
    )
    .await;
    let relay_cpu0 = relay.as_ref().map_or(0.0, kamailio::MsrpRelay::cpu_seconds);
    let mut alice_all = alice.notification_center().subscribe(Filter::all());
    let mut bob_all = bob.notification_center().subscribe(Filter::all());
    let selector = file_selector_for(file, None, true).await.unwrap();
    let acc = alice.account_manager().accounts().remove(0);
    let settings = alice
        .session_manager()
        .stream_settings(acc.clone(), "127.0.0.1".parse().unwrap())
        .unwrap();
    let stream = Arc::new(FileTransferStream::new_outgoing(
        &settings,
        selector,
        file.to_owned(),
        None,
    ));
    let watch = RssWatch::start();
    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    let caller = alice
        .session_manager()
        .connect(
            &acc,
            &common::contact_uri(&bob),
            vec![stream.clone() as Arc<dyn MediaStream>],
        )
        .await
        .unwrap();
    let callee = common::incoming_session(&bob, &mut bob_all).await;
    let proposed = callee.proposed_streams().unwrap();
    callee.accept(proposed).await.unwrap();
    // The observers are read as the transfer goes, as an application
    // would (an observer that never reads would hold every chunk).
    let bob_done = tokio::spawn(async move {
        while let Some(n) = bob_all.next().await {
            if let NotificationData::FileTransferStreamDidFinish { error } = n.data {
                return error;
            }
        }
        Some("no end".into())
    });
    let error = loop {
        let n = alice_all.next().await.unwrap();
        if let NotificationData::FileTransferStreamDidFinish { error } = n.data {
            break error;
        }
    };
    assert_eq!(error, None, "the transfer failed");
    assert_eq!(bob_done.await.unwrap(), None);
    let figure = Figure {
        name: match transport {
            "tls" => "MSRP over TLS",
            "relay" => "MSRP through Kamailio's relay (TCP)",
            "relay-tls" => "MSRP through Kamailio's relay (TLS)",
            _ => "MSRP over TCP",
        },
        secs: t0.elapsed().as_secs_f64(),
        cpu: cpu_seconds() - cpu0,
        rss_kib: watch.finish(),
        relay_cpu: relay.as_ref().map(|r| r.cpu_seconds() - relay_cpu0),
    };
    let _ = caller.end().await;
    alice.stop();
    bob.stop();
    tokio::time::sleep(Duration::from_millis(300)).await;
    figure
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let megabytes: u64 = args.iter().find_map(|a| a.parse().ok()).unwrap_or(1024);
    let wanted: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| ["tcp", "tls", "raw", "relay", "relay-tls"].contains(a))
        .collect();
    let run =
        |name: &str| (wanted.is_empty() && !name.starts_with("relay")) || wanted.contains(&name);
    let dir = std::env::temp_dir().join(format!("ft-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("source.bin");
    make_file(&file, megabytes);
    let mut figures = Vec::new();
    if run("raw") {
        figures.push(raw_tcp(&file, &dir.join("raw.out")).await);
        let _ = std::fs::remove_file(dir.join("raw.out"));
    }
    for t in ["tcp", "tls", "relay", "relay-tls"] {
        if run(t) {
            let inbox = dir.join(format!("inbox-{t}"));
            figures.push(msrp(&file, &inbox, t).await);
            let _ = std::fs::remove_dir_all(&inbox);
        }
    }
    let raw = figures
        .iter()
        .find(|f| f.name == "raw TCP copy")
        .map(|f| megabytes as f64 / f.secs);
    println!("{megabytes} MB, file to file on loopback:");
    println!("| path | MB/s | of raw TCP | CPU s per MB | relay CPU s per MB | resident memory (max sampled) |");
    println!("|---|---|---|---|---|---|");
    for f in &figures {
        let rate = megabytes as f64 / f.secs;
        let share = raw.map_or("—".into(), |r| format!("{:.0} %", rate * 100.0 / r));
        let relay = f
            .relay_cpu
            .map_or("—".into(), |c| format!("{:.4}", c / megabytes as f64));
        println!(
            "| {} | {rate:.0} | {share} | {:.4} | {relay} | {:.1} MB |",
            f.name,
            f.cpu / megabytes as f64,
            f.rss_kib as f64 / 1024.0
        );
    }
    println!(
        "peak resident memory of the whole run (VmHWM): {:.1} MB",
        status_kib("VmHWM:") as f64 / 1024.0
    );
    let _ = std::fs::remove_dir_all(&dir);
}
