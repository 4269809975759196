//! Load: one application watching N contacts (default 10,000) through
//! Kamailio as presence server (started here on loopback,
//! `benches/support/presence_bench.cfg`: the tests' presence server for
//! any user, digest auth on every PUBLISH and SUBSCRIBE).
//!
//! 1. A second application (one account, its own tokio runtime) publishes
//!    a PIDF document (a tuple with a note, a person with activities) for
//!    each of N presentities `p0..` (at most 64 PUBLISH exchanges in
//!    flight).
//! 2. The watching application (one account, its own runtime) calls
//!    `Account::watch_presence` for the N contacts in a loop: the time
//!    until every contact's first SIPAccountGotPresenceState with its
//!    document, the heap and RSS it took (per subscription, once more
//!    after the NOTIFY transactions' Timer J), its CPU.
//! 3. The publisher modifies all N documents: the time until all N
//!    updates reached the watcher (NOTIFYs/s end to end) and the
//!    watcher's CPU per NOTIFY handled (its threads only).
//!
//! Kamailio's CPU (all its processes) and shared memory are printed
//! beside ours.
//!
//! cargo bench -p sipsimple --bench presence_watch [-- N]
//!
//! Environment: PRESENCE_WATCH_N (N, if not given as argument),
//! PRESENCE_SUBS_DB_MODE (Kamailio's `subs_db_mode`, default 0: in
//! memory; 1 as the tests, written through to db_text),
//! PRESENCE_KAMAILIO_SHM (its shared memory in MiB, default 1024: with
//! 256, the bursts ran it out and 14–17 % of the modifies got 500).
//! Needs kamailio with its presence modules (scripts/test.sh installs
//! them). Run only by `cargo bench`: without `--bench` it exits at once.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/counting.rs"]
mod counting;
#[path = "../tests/kamailio/mod.rs"]
mod kamailio;

use std::collections::{BTreeMap, HashSet};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use payloads::pidf::{Activities, Activity, Basic, Note, Person, Presence, Tuple};
use sipsimple::application::SipApplication;
use sipsimple::config::MemoryBackend;
use sipsimple::notification::{Filter, NotificationData, Subscription};
use sipsimple::publication::{Publication, PublicationOptions};
use sipsimple::subscription::SubscriptionState;

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

const DOMAIN: &str = "sipsimple.test";
/// PUBLISH exchanges the publisher keeps in flight (it is not what is
/// measured; a burst of thousands would only overflow Kamailio's socket).
const PUBLISHING_AT_ONCE: usize = 64;

fn config(k: &kamailio::Kamailio, user: &str) -> MemoryBackend {
    let text = format!(
        "local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = [\"udp\"]\nudp_port = 0\n\
         [accounts.\"{user}@{DOMAIN}\"]\nenabled = true\n\
         auth.password = \"secret\"\n\
         sip.outbound_proxy = \"sip:127.0.0.1:{}\"\n\
         registration.enabled = false\n",
        k.udp
    );
    MemoryBackend::with(text.parse().expect("generated config"))
}

fn contact(i: usize) -> String {
    format!("sip:p{i}@{DOMAIN}")
}

/// What a client like Blink publishes, in short: a service open with a
/// note, a person with activities and the same note.
fn document(i: usize, note: &str) -> Presence {
    let mut p = Presence::new(&contact(i));
    let mut t = Tuple::new(&format!("t{i}"), Basic::Open);
    t.notes.push(Note::new(note));
    p.tuples.push(t);
    let mut person = Person::new(&format!("p{i}"));
    person
        .rpid
        .activities
        .push(Activities::of([Activity::Busy, Activity::OnThePhone]));
    person.notes.push(Note::new(note));
    p.persons.push(person);
    p
}

fn note_of(p: &Presence) -> Option<&str> {
    p.tuples.first()?.notes.first().map(|n| n.text.as_str())
}

/// What the watcher has seen.
#[derive(Default)]
struct Seen {
    notifies: u64,
    /// Notifications the observer's queue dropped (it fell behind).
    missed: u64,
    without_document: u64,
    first: HashSet<String>,
    first_all: Option<Instant>,
    updated: HashSet<String>,
    updated_all: Option<Instant>,
    /// When each first and each update arrived.
    first_at: Vec<Instant>,
    updated_at: Vec<Instant>,
    /// SIPSubscriptionDidFail by status code.
    subscription_failures: BTreeMap<u16, usize>,
}

/// "p50 a s, p90 b s, p99 c s, max d s" of `times` after `start`.
fn percentiles(times: &[Instant], start: Instant) -> String {
    let mut d: Vec<f64> = times.iter().map(|t| (*t - start).as_secs_f64()).collect();
    d.sort_by(f64::total_cmp);
    let at = |q: f64| d.get(((d.len() as f64 * q) as usize).min(d.len().saturating_sub(1)));
    match (at(0.5), at(0.9), at(0.99), d.last()) {
        (Some(a), Some(b), Some(c), Some(m)) => {
            format!("p50 {a:.2} s, p90 {b:.2} s, p99 {c:.2} s, max {m:.2} s")
        }
        _ => "none".into(),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// utime + stime in seconds of the threads of this process whose name
/// starts with `prefix` (tokio names its workers after the runtime).
fn threads_cpu(prefix: &str) -> f64 {
    let mut ticks = 0.0;
    for task in std::fs::read_dir("/proc/self/task").into_iter().flatten() {
        let Ok(task) = task else { continue };
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        if !stat[open + 1..close].starts_with(prefix) {
            continue;
        }
        ticks += stat_ticks(&stat[close + 1..]);
    }
    ticks / clock_ticks()
}

/// utime + stime from what follows the command name in a stat line.
fn stat_ticks(rest: &str) -> f64 {
    let f: Vec<&str> = rest.split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    n(11) + n(12)
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// The processes of Kamailio: its main process and its children.
fn kamailio_pids(main: u32) -> Vec<u32> {
    let mut pids = vec![main];
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, r)| r.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(main) {
            pids.push(pid);
        }
    }
    pids
}

/// CPU seconds of all Kamailio's processes.
fn kamailio_cpu(main: u32) -> f64 {
    let ticks: f64 = kamailio_pids(main)
        .iter()
        .map(|p| {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
            stat.rsplit_once(')')
                .map(|(_, r)| stat_ticks(r))
                .unwrap_or(0.0)
        })
        .sum();
    ticks / clock_ticks()
}

/// A `Name:  N kB` line of /proc/PID/status, in KiB.
fn status_kib(pid: &str, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// Kamailio's memory in MiB: shared memory in use (`core.shmmem`
/// real_used) and the private memory (RssAnon) of all its processes.
fn kamailio_mem(k: &kamailio::Kamailio) -> (f64, f64) {
    let shm = kamailio::kamcmd(k, &["core.shmmem"])
        .lines()
        .find_map(|l| l.trim().strip_prefix("real_used:"))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1048576.0;
    let private: f64 = kamailio_pids(k.pid())
        .iter()
        .map(|p| status_kib(&p.to_string(), "RssAnon:"))
        .sum::<f64>()
        / 1024.0;
    (shm, private)
}

fn mib(bytes: isize) -> f64 {
    bytes as f64 / 1048576.0
}

/// Publishes (or modifies) every document, `PUBLISHING_AT_ONCE` at a
/// time; returns the failures, by status code.
async fn publish_all(
    app: &SipApplication,
    publications: &mut Vec<Publication>,
    n: usize,
    note: &str,
) -> BTreeMap<u16, usize> {
    let center = app.notification_center();
    let mut done = center.subscribe(Filter::name("SIPPublicationDidSucceed"));
    let mut failed = center.subscribe(Filter::name("SIPPublicationDidFail"));
    let account = app
        .account_manager()
        .get_account(&format!("publisher@{DOMAIN}"))
        .expect("publisher account");
    let (mut finished, mut failures) = (0, BTreeMap::new());
    for i in 0..n {
        while i - finished >= PUBLISHING_AT_ONCE {
            if let Some(code) = one_finished(&mut done, &mut failed).await {
                *failures.entry(code).or_default() += 1;
            }
            finished += 1;
        }
        let body = document(i, note).to_xml();
        if publications.len() <= i {
            let p = account
                .publish_event(
                    &contact(i),
                    PublicationOptions {
                        event: "presence".into(),
                        expires: 3600,
                        credentials: None,
                        tls_name: None,
                    },
                )
                .await
                .expect("publication starts");
            publications.push(p);
        }
        publications[i].publish("application/pidf+xml", body);
    }
    while finished < n {
        if let Some(code) = one_finished(&mut done, &mut failed).await {
            *failures.entry(code).or_default() += 1;
        }
        finished += 1;
    }
    failures
}

/// Waits for one publication to succeed or fail; the code if it failed.
async fn one_finished(done: &mut Subscription, failed: &mut Subscription) -> Option<u16> {
    tokio::select! {
        n = done.next() => { n.expect("center alive"); None }
        n = failed.next() => match n.expect("center alive").data {
            NotificationData::SIPPublicationDidFail { code, .. } => Some(code),
            _ => Some(0),
        },
        _ = tokio::time::sleep(Duration::from_secs(60)) => panic!("publications stalled"),
    }
}

async fn start_app(k: &kamailio::Kamailio, user: &str) -> SipApplication {
    let app = SipApplication::new();
    app.start(config(k, user))
        .await
        .expect("application starts");
    app
}

fn main() {
    // `cargo test --benches` runs bench binaries without `--bench`: this
    // one needs minutes and a Kamailio, so it only runs under cargo bench.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        println!("presence_watch: run by `cargo bench -p sipsimple --bench presence_watch`");
        return;
    }
    let env = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
    };
    let n = args
        .iter()
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .or_else(|| env("PRESENCE_WATCH_N"))
        .unwrap_or(10_000);
    let subs_db_mode = env("PRESENCE_SUBS_DB_MODE").unwrap_or(0);
    let shm = env("PRESENCE_KAMAILIO_SHM").unwrap_or(1024);

    let cfg = std::env::temp_dir().join(format!("presence-bench-{}.cfg", std::process::id()));
    let template = std::fs::read_to_string(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("benches/support/presence_bench.cfg"),
    )
    .expect("bench config");
    std::fs::write(
        &cfg,
        template.replace("@SUBS_DB_MODE@", &subs_db_mode.to_string()),
    )
    .expect("bench config written");
    let k = kamailio::start_presence_server_from(&cfg, shm as u32);
    let _ = std::fs::remove_file(&cfg);
    let kpid = k.pid();
    println!(
        "Kamailio presence server (pid {kpid}, subs_db_mode {subs_db_mode}, -m {shm} MiB); \
         {n} presentities, {n} watched contacts"
    );

    let runtime = |name: &str, threads: usize| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name(name)
            .enable_all()
            .build()
            .expect("runtime")
    };
    let rt_pub = runtime("publisher", 1);
    let rt_watch = runtime("watcher", 2);

    // 1. Every presentity publishes.
    let publisher = rt_pub.block_on(start_app(&k, "publisher"));
    let mut publications = Vec::with_capacity(n);
    let started = Instant::now();
    let failed = rt_pub.block_on(publish_all(&publisher, &mut publications, n, "v1"));
    let took = started.elapsed().as_secs_f64();
    let (shm_pub, private_pub) = kamailio_mem(&k);
    println!(
        "published {n} documents in {took:.2} s ({:.0}/s), failures by code {failed:?}; Kamailio shm {shm_pub:.1} MiB, \
         private {private_pub:.1} MiB",
        n as f64 / took
    );

    // 2. One account watches them all.
    let watcher = rt_watch.block_on(start_app(&k, "watcher"));
    let account = watcher
        .account_manager()
        .get_account(&format!("watcher@{DOMAIN}"))
        .expect("watcher account");
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mut states = watcher
        .notification_center()
        .subscribe(Filter::name("SIPAccountGotPresenceState"));
    let collector = {
        let seen = seen.clone();
        rt_watch.spawn(async move {
            while let Some(note) = states.next().await {
                let NotificationData::SIPAccountGotPresenceState { uri, presence } = note.data
                else {
                    continue;
                };
                let mut s = lock(&seen);
                s.notifies += 1;
                s.missed += states.take_missed();
                let Some(p) = presence else {
                    s.without_document += 1;
                    continue;
                };
                let v2 = note_of(&p) == Some("v2");
                if v2 && s.updated.insert(uri.clone()) {
                    s.updated_at.push(Instant::now());
                    if s.updated.len() == n {
                        s.updated_all = Some(Instant::now());
                    }
                }
                if s.first.insert(uri) {
                    s.first_at.push(Instant::now());
                    if s.first.len() == n {
                        s.first_all = Some(Instant::now());
                    }
                }
            }
        })
    };
    let mut failures = watcher
        .notification_center()
        .subscribe(Filter::name("SIPSubscriptionDidFail"));
    let failure_counter = {
        let seen = seen.clone();
        rt_watch.spawn(async move {
            while let Some(note) = failures.next().await {
                if let NotificationData::SIPSubscriptionDidFail { code, .. } = note.data {
                    *lock(&seen).subscription_failures.entry(code).or_default() += 1;
                }
            }
        })
    };
    // The publisher's PUBLISH transactions linger for Timer K (5 s); the
    // baseline is taken once they are gone.
    std::thread::sleep(Duration::from_secs(6));
    let mut subscriptions = Vec::with_capacity(n);
    let heap_before = counting::live();
    let rss_before = status_kib("self", "VmRSS:");
    let cpu_before = threads_cpu("watcher");
    let kcpu_before = kamailio_cpu(kpid);
    let (kshm_before, kprivate_before) = kamailio_mem(&k);

    let started = Instant::now();
    rt_watch.block_on(async {
        for i in 0..n {
            let s = account
                .watch_presence(&contact(i))
                .await
                .expect("watching starts");
            subscriptions.push(s);
        }
    });
    let all_called = started.elapsed().as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(200);
    while lock(&seen).first_all.is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let (got, without, all_at, notifies, spread, sub_failures) = {
        let s = lock(&seen);
        (
            s.first.len(),
            s.without_document,
            s.first_all,
            s.notifies,
            percentiles(&s.first_at, started),
            s.subscription_failures.clone(),
        )
    };
    let took = all_at.map(|t| t - started).unwrap_or(started.elapsed());
    let cpu = threads_cpu("watcher") - cpu_before;
    let kcpu = kamailio_cpu(kpid) - kcpu_before;
    let heap = counting::live() - heap_before;
    let rss = status_kib("self", "VmRSS:") - rss_before;
    let (kshm, kprivate) = kamailio_mem(&k);
    println!(
        "watch: {got} of {n} contacts had their first NOTIFY after {:.2} s ({:.0} subscriptions/s; \
         watch_presence calls returned after {all_called:.2} s); {notifies} NOTIFYs, {without} without a document",
        took.as_secs_f64(),
        got as f64 / took.as_secs_f64()
    );
    let stats = rt_watch
        .block_on(watcher.engine().expect("running").stats())
        .expect("engine stats");
    println!(
        "watch: first NOTIFYs {spread}; subscription failures by code {sub_failures:?}; \
         watcher engine sent {} received {} datagrams",
        stats.sent, stats.received
    );
    println!(
        "watch: ours CPU {cpu:.2} s ({:.0} µs per subscription), heap +{:.1} MiB ({:.2} KiB per subscription), \
         RSS {:.1} -> {:.1} MiB (+{:.2} KiB per subscription)",
        cpu * 1e6 / n as f64,
        mib(heap),
        heap as f64 / 1024.0 / n as f64,
        rss_before / 1024.0,
        (rss_before + rss) / 1024.0,
        rss / n as f64,
    );
    println!(
        "watch: Kamailio CPU {kcpu:.2} s ({:.0} µs per subscription), shm {kshm_before:.1} -> {kshm:.1} MiB \
         (+{:.2} KiB per subscription), private {kprivate_before:.1} -> {kprivate:.1} MiB",
        kcpu * 1e6 / n as f64,
        (kshm - kshm_before) * 1024.0 / n as f64,
    );
    // The NOTIFY server transactions stay for Timer J (32 s on UDP), the
    // SUBSCRIBE client transactions for Timer K (5 s): what is left after
    // is the subscriptions' own cost.
    std::thread::sleep(Duration::from_secs(33));
    let heap = counting::live() - heap_before;
    let rss = status_kib("self", "VmRSS:") - rss_before;
    let active = subscriptions
        .iter()
        .filter(|s| s.state() == SubscriptionState::Active)
        .count();
    println!(
        "watch, 33 s later (transactions gone, {active} subscriptions active): heap +{:.1} MiB, \
         {:.2} KiB per subscription; RSS +{:.1} MiB",
        mib(heap),
        heap as f64 / 1024.0 / n as f64,
        rss / 1024.0,
    );

    // 3. Every presentity changes its state: N NOTIFYs to handle.
    let cpu_before = threads_cpu("watcher");
    let pub_cpu_before = threads_cpu("publisher");
    let kcpu_before = kamailio_cpu(kpid);
    let notifies_before = lock(&seen).notifies;
    let started = Instant::now();
    let failed = rt_pub.block_on(publish_all(&publisher, &mut publications, n, "v2"));
    let published = started.elapsed().as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(200);
    while lock(&seen).updated_all.is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let (updated, all_at, notifies, spread, sub_failures) = {
        let s = lock(&seen);
        (
            s.updated.len(),
            s.updated_all,
            s.notifies - notifies_before,
            percentiles(&s.updated_at, started),
            s.subscription_failures.clone(),
        )
    };
    let took = all_at.map(|t| t - started).unwrap_or(started.elapsed());
    let cpu = threads_cpu("watcher") - cpu_before;
    let pub_cpu = threads_cpu("publisher") - pub_cpu_before;
    let kcpu = kamailio_cpu(kpid) - kcpu_before;
    println!(
        "update: {updated} of {n} updates arrived {:.2} s after the first modify \
         ({:.0} NOTIFYs/s end to end; the {n} modifies took {published:.2} s, failures by code {failed:?}); \
         {notifies} NOTIFYs handled",
        took.as_secs_f64(),
        updated as f64 / took.as_secs_f64(),
    );
    println!("update: arrivals {spread}; subscription failures so far by code {sub_failures:?}");
    println!(
        "update: watcher CPU {cpu:.2} s = {:.0} µs per NOTIFY (a core would handle {:.0}/s); \
         publisher CPU {pub_cpu:.2} s; Kamailio CPU {kcpu:.2} s ({:.0} µs per PUBLISH + NOTIFY)",
        cpu * 1e6 / notifies.max(1) as f64,
        notifies as f64 / cpu.max(1e-9),
        kcpu * 1e6 / n as f64,
    );

    // 4. Stopping unsubscribes every contact and removes every document.
    let started = Instant::now();
    rt_watch.block_on(async {
        let mut ended = watcher
            .notification_center()
            .subscribe(Filter::name("SIPApplicationDidEnd"));
        drop(subscriptions);
        watcher.stop();
        let _ = tokio::time::timeout(Duration::from_secs(60), ended.next()).await;
    });
    collector.abort();
    failure_counter.abort();
    let missed = lock(&seen).missed;
    println!(
        "stop: the watcher unsubscribed and stopped in {:.2} s; its observer missed {missed} notifications",
        started.elapsed().as_secs_f64()
    );
    rt_pub.block_on(async {
        let mut ended = publisher
            .notification_center()
            .subscribe(Filter::name("SIPApplicationDidEnd"));
        drop(publications);
        publisher.stop();
        let _ = tokio::time::timeout(Duration::from_secs(60), ended.next()).await;
    });
    // What Kamailio complained about (its log goes with it).
    let log = kamailio::log(&k);
    let errors: Vec<&str> = log.lines().filter(|l| l.contains("ERROR")).collect();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for e in &errors {
        let what = e.split_once("ERROR").map(|(_, w)| w).unwrap_or(e);
        *kinds.entry(what.chars().take(140).collect()).or_default() += 1;
    }
    println!("Kamailio logged {} errors", errors.len());
    for (what, count) in kinds.iter().take(8) {
        println!("  {count} x ERROR{what}");
    }
    drop(k);
}
