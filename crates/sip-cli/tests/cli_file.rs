//! `sip send-file` to `sip listen --accept-files DIR` as two real
//! processes on loopback (MSRP over TLS, the default, and TCP): the saved
//! file's SHA-256 equals the sent one and the exit status says the peer
//! confirmed it, and the progress lines (sender's and listener's) count
//! up to the whole file; a file accepted at the listener's question goes
//! to `file_transfer.directory`; a declined file exits 1; `sip get-file` pulls a file
//! from an in-process SDK application that serves it. Every process
//! started is killed by its PID when the test ends.

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use sipsimple::application::SipApplication;
use sipsimple::config::MemoryBackend;
use sipsimple::notification::Filter;
use sipsimple::streams::msrp::FileTransferStream;
use sipsimple::streams::MediaStream;

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir = Dir(std::env::temp_dir().join(format!("sip-file-{name}-{}", std::process::id())));
        let _ = std::fs::remove_dir_all(&dir.0);
        std::fs::create_dir_all(&dir.0).unwrap();
        dir
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn config(dir: &Path, user: &str, port: u16, msrp: &str) -> PathBuf {
    let path = dir.join(format!("{user}.toml"));
    std::fs::write(
        &path,
        format!(
            "local_ip = \"127.0.0.1\"\ndefault_account = \"{user}@127.0.0.1\"\n\
             [sip]\ntransport_list = [\"udp\"]\nudp_port = {port}\n\
             [accounts.\"{user}@127.0.0.1\"]\nenabled = true\nregistration.enabled = false\n\
             msrp.transport = \"{msrp}\"\n"
        ),
    )
    .unwrap();
    path
}

fn sip(cfg: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sip"));
    c.arg("--config").arg(cfg);
    c
}

/// `sip listen` as bob on a port that was free a moment ago: under a
/// parallel test run another process may take it first (the listener
/// then exits at once), so a few ports are tried.
fn listen_on_a_free_port(dir: &Path, msrp: &str, args: impl Fn(&mut Command)) -> (Proc, u16) {
    listen_with(dir, msrp, |bob| {
        let mut c = sip(bob);
        args(&mut c);
        c
    })
}

/// [`listen_on_a_free_port`] with the command built by `command` from
/// bob's configuration file.
fn listen_with(dir: &Path, msrp: &str, command: impl Fn(&Path) -> Command) -> (Proc, u16) {
    for _ in 0..5 {
        let port = free_udp_port();
        let bob = config(dir, "bob", port, msrp);
        // Its stderr kept: the progress of the files it takes.
        let mut listener = Proc::start_keeping_stderr(command(&bob), true);
        // Generous: a loaded machine runs hundreds of tests beside it.
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            match listener.lines.recv_timeout(Duration::from_millis(100)) {
                Ok(l) => {
                    listener.seen.push(l.clone());
                    if l.contains("accounts:") {
                        return (listener, port);
                    }
                }
                Err(_) => {
                    if let Ok(Some(_)) = listener.child.try_wait() {
                        break;
                    }
                }
            }
        }
    }
    panic!("sip listen did not start on any of 5 ports");
}

/// A `sip` process; its stdout lines on a channel (and its stderr, when
/// kept, as it comes); killed when dropped.
struct Proc {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    stderr: Arc<std::sync::Mutex<String>>,
}

impl Proc {
    fn start(c: Command) -> Proc {
        Proc::start_keeping_stderr(c, false)
    }

    fn start_keeping_stderr(mut c: Command, keep: bool) -> Proc {
        let mut child = c
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(if keep { Stdio::piped() } else { Stdio::null() })
            .spawn()
            .unwrap();
        let stderr = Arc::new(std::sync::Mutex::new(String::new()));
        if let Some(mut err) = child.stderr.take() {
            let kept = stderr.clone();
            // Raw reads: the progress line is redrawn with `\r`, no `\n`.
            std::thread::spawn(move || {
                use std::io::Read;
                let mut buf = [0u8; 4096];
                while let Ok(n) = err.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    kept.lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines() {
                let Ok(l) = l else { break };
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Proc {
            child,
            lines,
            seen: Vec::new(),
            stderr,
        }
    }

    /// Waits until stderr has shown `text`; all of stderr so far.
    fn wait_for_stderr(&self, text: &str, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let err = self.stderr.lock().unwrap().clone();
            if err.contains(text) {
                return err;
            }
            assert!(Instant::now() < deadline, "no {text:?} on stderr: {err:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -{name}");
    }

    fn wait_for(&mut self, text: &str, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if l.contains(text) {
                        return l;
                    }
                }
                Err(_) => panic!("no {text:?} from sip; saw {:?}", self.seen),
            }
        }
    }

    fn exit_code(&mut self, secs: u64) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                while let Ok(l) = self.lines.recv_timeout(Duration::from_millis(200)) {
                    self.seen.push(l);
                }
                return s.code();
            }
            assert!(
                Instant::now() < deadline,
                "sip did not exit; saw {:?}",
                self.seen
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

fn send_to_listener(msrp: &str) {
    let dir = Dir::new(&format!("push-{msrp}"));
    let inbox = dir.0.join("inbox");
    let alice = config(&dir.0, "alice", 0, msrp);
    let file = dir.0.join("report final.pdf");
    std::fs::write(&file, data(300_000)).unwrap();
    let (mut listener, port) = listen_on_a_free_port(&dir.0, msrp, |c| {
        c.args(["listen", "--accept-files"]).arg(&inbox);
    });
    let mut c = sip(&alice);
    c.args(["send-file", &format!("sip:bob@127.0.0.1:{port}")])
        .arg(&file);
    let mut sender = Proc::start_keeping_stderr(c, true);
    assert_eq!(sender.exit_code(60), Some(0), "{:?}", sender.seen);
    assert!(
        sender.seen.iter().any(|l| l
            .contains("sent report final.pdf (300000 bytes): the peer confirmed the whole file")),
        "{:?}",
        sender.seen
    );
    // Stderr may still be on its way from the exited process.
    assert_progress_to_the_end(&sender.wait_for_stderr("(100%)", 10), 300_000);
    listener.wait_for("incoming file from", 15);
    let saved = listener.wait_for("saved report final.pdf (300000 bytes) to", 15);
    let path = inbox.join("report final.pdf");
    assert!(saved.ends_with(&path.display().to_string()), "{saved}");
    assert_eq!(
        Sha256::digest(std::fs::read(&path).unwrap()),
        Sha256::digest(std::fs::read(&file).unwrap())
    );
}

#[test]
fn send_file_to_listen_accept_files_over_tls() {
    send_to_listener("tls");
}

#[test]
fn send_file_to_listen_accept_files_over_tcp() {
    send_to_listener("tcp");
}

#[test]
fn a_declined_file_exits_1() {
    let dir = Dir::new("declined");
    let alice = config(&dir.0, "alice", 0, "tcp");
    let file = dir.0.join("x.bin");
    std::fs::write(&file, data(10)).unwrap();
    let (mut listener, port) = listen_on_a_free_port(&dir.0, "tcp", |c| {
        c.arg("listen");
    });
    let mut c = sip(&alice);
    c.args(["send-file", &format!("sip:bob@127.0.0.1:{port}")])
        .arg(&file);
    let mut sender = Proc::start(c);
    listener.wait_for("incoming file from", 15);
    // The question has no line end; answer it.
    use std::io::Write;
    let stdin = listener.child.stdin.as_mut().unwrap();
    writeln!(stdin, "n").unwrap();
    stdin.flush().unwrap();
    assert_eq!(sender.exit_code(30), Some(1), "{:?}", sender.seen);
    assert!(!dir.0.join("inbox").exists());
}

/// Without `--accept-files`, `sip listen` asks; answered `y`, the file
/// goes to `file_transfer.directory` and its progress shows on stderr.
#[test]
fn a_file_accepted_at_the_listeners_question_lands_in_the_configured_directory() {
    let dir = Dir::new("asked");
    let downloads = dir.0.join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let alice = config(&dir.0, "alice", 0, "tcp");
    let file = dir.0.join("notes.bin");
    std::fs::write(&file, data(300_000)).unwrap();
    let (mut listener, port) = listen_with(&dir.0, "tcp", |bob| {
        use std::io::Write;
        // A global setting: its own table, after the account's.
        let mut cfg = std::fs::OpenOptions::new().append(true).open(bob).unwrap();
        writeln!(
            cfg,
            "[file_transfer]\ndirectory = {:?}",
            downloads.display().to_string()
        )
        .unwrap();
        let mut c = sip(bob);
        c.arg("listen");
        c
    });
    let mut c = sip(&alice);
    c.args(["send-file", &format!("sip:bob@127.0.0.1:{port}")])
        .arg(&file);
    let mut sender = Proc::start(c);
    let offer = listener.wait_for("incoming file from", 15);
    assert!(offer.contains("notes.bin (300000 bytes)"), "{offer}");
    // The question has no line end; answer it.
    use std::io::Write;
    let stdin = listener.child.stdin.as_mut().unwrap();
    writeln!(stdin, "y").unwrap();
    stdin.flush().unwrap();
    assert_eq!(sender.exit_code(60), Some(0), "{:?}", sender.seen);
    let path = downloads.join("notes.bin");
    let saved = listener.wait_for("saved notes.bin (300000 bytes) to", 15);
    assert!(saved.ends_with(&path.display().to_string()), "{saved}");
    assert_eq!(
        Sha256::digest(std::fs::read(&path).unwrap()),
        Sha256::digest(std::fs::read(&file).unwrap())
    );
    assert_progress_to_the_end(&listener.wait_for_stderr("(100%)", 10), 300_000);
}

/// SIGTERM while the file is still offered (the listener has not
/// answered): the offer is withdrawn (CANCEL), the listener's question
/// goes away, and `send-file` exits at once.
#[test]
fn sigterm_withdraws_a_file_offer_still_ringing() {
    let dir = Dir::new("file-term");
    let alice = config(&dir.0, "alice", 0, "tcp");
    let file = dir.0.join("x.bin");
    std::fs::write(&file, data(10)).unwrap();
    let (mut listener, port) = listen_on_a_free_port(&dir.0, "tcp", |c| {
        c.arg("listen");
    });
    let mut c = sip(&alice);
    c.args(["send-file", &format!("sip:bob@127.0.0.1:{port}")])
        .arg(&file);
    let mut sender = Proc::start(c);
    listener.wait_for("incoming file from", 15);
    let killed = Command::new("kill")
        .args(["-TERM", &sender.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // It does not wait for the listener's answer or Timer B (32 s): the
    // 10 s is a hang guard, not a measure.
    let code = sender.exit_code(10);
    assert!(
        code.is_some(),
        "killed by the signal, not ended: {:?}",
        sender.seen
    );
    listener.wait_for("went away", 10);
    assert!(!dir.0.join("inbox").exists());
}

/// `sip get-file` asks an SDK application for its file, which serves it.
#[test]
fn get_file_pulls_from_an_sdk_application() {
    let dir = Dir::new("pull");
    let port = free_udp_port();
    let alice = config(&dir.0, "alice", 0, "tcp");
    let served = dir.0.join("served.bin");
    std::fs::write(&served, data(100_000)).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let bob = rt.block_on(async {
        let app = SipApplication::new();
        let cfg = format!(
            "local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = [\"udp\"]\nudp_port = {port}\n\
             [accounts.\"bob@127.0.0.1\"]\nenabled = true\nregistration.enabled = false\n\
             msrp.transport = \"tcp\"\n"
        );
        app.start(MemoryBackend::with(cfg.parse().unwrap()))
            .await
            .unwrap();
        app
    });
    let mut events = bob.notification_center().subscribe(Filter::all());
    let file = served.clone();
    let server = rt.spawn(async move {
        loop {
            let n = events.next().await.unwrap();
            if n.name() != "SIPSessionNewIncoming" {
                continue;
            }
            let s = bob
                .session_manager()
                .sessions()
                .into_iter()
                .find(|s| s.sender() == n.sender)
                .unwrap();
            let proposed = s.proposed_streams().unwrap();
            let ft = proposed[0]
                .clone()
                .downcast::<FileTransferStream>()
                .unwrap();
            assert_eq!(ft.file_selector().name.as_deref(), Some("served.bin"));
            ft.set_file(file.clone());
            s.accept(vec![ft as Arc<dyn MediaStream>]).await.unwrap();
            return bob;
        }
    });
    let into = dir.0.join("got");
    let mut c = sip(&alice);
    c.args([
        "get-file",
        &format!("sip:bob@127.0.0.1:{port}"),
        "served.bin",
        "--directory",
    ])
    .arg(&into);
    let mut getter = Proc::start(c);
    assert_eq!(getter.exit_code(60), Some(0), "{:?}", getter.seen);
    assert_eq!(
        std::fs::read(into.join("served.bin")).unwrap(),
        std::fs::read(&served).unwrap()
    );
    let bob = rt.block_on(server).unwrap();
    rt.block_on(async move { bob.stop() });
}

/// A disk that fills up under a transfer (here a file size limit,
/// `ulimit -f`, with SIGXFSZ ignored so the write fails with EFBIG as a
/// full disk fails with ENOSPC): the listener says which file could not
/// be written and why, keeps what it received in its `.part` file, and
/// goes on listening; the sender exits 1 without claiming the file was
/// delivered, and says why. (A real ENOSPC, on a tmpfs:
/// sipsimple's tests/file_transfer_as_root.rs.)
#[test]
fn a_receiver_whose_disk_fills_up_says_so_keeps_the_part_and_goes_on() {
    let dir = Dir::new("full-disk");
    let inbox = dir.0.join("inbox");
    let alice = config(&dir.0, "alice", 0, "tcp");
    let file = dir.0.join("big.bin");
    std::fs::write(&file, data(600_000)).unwrap();
    let (mut listener, port) = listen_with(&dir.0, "tcp", |bob| {
        let mut c = Command::new("bash");
        // 200 blocks of 1 KiB: the config and the first 200 KiB fit.
        // Its errors join its output, where the test reads.
        c.args(["-c", "trap '' XFSZ; ulimit -f 200; exec \"$0\" \"$@\" 2>&1"])
            .arg(env!("CARGO_BIN_EXE_sip"))
            .arg("--config")
            .arg(bob)
            .args(["listen", "--accept-files"])
            .arg(&inbox);
        c
    });
    let mut c = sip(&alice);
    c.args(["send-file", &format!("sip:bob@127.0.0.1:{port}")])
        .arg(&file);
    let mut sender = Proc::start_keeping_stderr(c, true);
    assert_eq!(sender.exit_code(60), Some(1), "{:?}", sender.seen);
    assert!(
        !sender.seen.iter().any(|l| l.contains("the peer confirmed")),
        "{:?}",
        sender.seen
    );
    // The sender says why: the listener's failure REPORT (413) names it.
    let why = sender.wait_for_stderr("the file transfer failed", 10);
    assert!(
        why.contains("413") && why.contains("File too large"),
        "{why}"
    );
    listener.wait_for("incoming file from", 15);
    let failed = listener.wait_for("the file transfer failed", 15);
    assert!(failed.contains("File too large"), "{failed}");
    // What arrived is kept, whole up to the limit, for a resume.
    let parts: Vec<_> = std::fs::read_dir(&inbox)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    assert_eq!(parts.len(), 1, "{parts:?}");
    let part = std::fs::read(&parts[0]).unwrap();
    assert_eq!(part.len(), 200 * 1024);
    assert_eq!(part[..], data(600_000)[..part.len()]);
    assert!(!inbox.join("big.bin").exists());
    // The listener is still up, listening for the next.
    assert_eq!(
        listener.child.try_wait().unwrap(),
        None,
        "{:?}",
        listener.seen
    );
}

/// One redraw of the progress line (`file.rs`'s `Progress::show`):
/// `DONE / TOTAL (P%)  RATE/s  M:SS left`, sizes as `12.3 MB`.
#[derive(Debug)]
struct ProgressLine {
    done: u64,
    total: u64,
    percent: u64,
    /// Bytes per second, as shown (rounded to the unit's precision).
    rate: u64,
    /// Seconds; None for `--:--` (no rate yet).
    left: Option<u64>,
}

/// `300.0 kB` → 300000: a size as the progress line writes it.
fn size(text: &str) -> Option<u64> {
    let (number, unit) = text.trim().split_once(' ')?;
    let scale = match unit {
        "B" => 1.0,
        "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        _ => return None,
    };
    Some((number.parse::<f64>().ok()? * scale).round() as u64)
}

fn progress_line(text: &str) -> Option<ProgressLine> {
    let (done, rest) = text.trim().split_once(" / ")?;
    let (total, rest) = rest.split_once(" (")?;
    let (percent, rest) = rest.split_once("%)")?;
    let (rate, rest) = rest.trim().split_once("/s")?;
    let left = rest.trim().strip_suffix(" left")?;
    let left = match left {
        "--:--" => None,
        _ => {
            let (m, s) = left.split_once(':')?;
            Some(m.parse::<u64>().ok()? * 60 + s.parse::<u64>().ok()?)
        }
    };
    Some(ProgressLine {
        done: size(done)?,
        total: size(total)?,
        percent: percent.parse().ok()?,
        rate: size(rate)?,
        left,
    })
}

/// The progress lines in `stderr`, in order (each redraw starts with
/// `\r`; the last is ended by a line end).
fn progress(stderr: &str) -> Vec<ProgressLine> {
    stderr
        .split(['\r', '\n'])
        .filter_map(progress_line)
        .collect()
}

/// The progress of a transfer of `file_size` bytes that completed: the
/// bytes done grow to the whole file, with a rate, and the last line
/// has no time left.
fn assert_progress_to_the_end(stderr: &str, file_size: u64) {
    let lines = progress(stderr);
    // 128 KiB chunks: at least the first chunk's line, then the last.
    assert!(lines.len() >= 2, "{stderr:?}");
    assert!(
        lines.windows(2).all(|w| w[0].done <= w[1].done),
        "{lines:?}"
    );
    assert!(lines[0].done < file_size, "{lines:?}");
    for l in &lines {
        // Sizes are shown to 4 significant digits.
        assert!(l.total.abs_diff(file_size) * 1000 <= file_size, "{l:?}");
        assert!(l.done <= l.total, "{l:?}");
        assert!(l.rate > 0 && l.left.is_some(), "{l:?}");
    }
    let last = lines.last().unwrap();
    assert_eq!(
        (last.done, last.percent, last.left),
        (last.total, 100, Some(0)),
        "{lines:?}"
    );
}

/// The percentages of the progress lines in `stderr`, in order.
fn percents(stderr: &str) -> Vec<u64> {
    progress(stderr).iter().map(|l| l.percent).collect()
}

/// `sip send-file` cut in the middle keeps the bytes the listener
/// confirmed (its success REPORTs) in `$XDG_STATE_HOME`; `send-file
/// --resume` offers the rest with `a=file-range`, the progress line
/// starts where the first run stopped, and the listener's file is whole.
/// The sender is interrupted (SIGINT) as soon as its first progress
/// shows, with the listener stopped (SIGSTOP) meanwhile so that it
/// confirms nothing more until the interrupt is sent.
#[test]
fn send_file_resume_sends_the_rest_after_an_interrupted_push() {
    let dir = Dir::new("resume");
    let inbox = dir.0.join("inbox");
    let state = dir.0.join("state");
    let alice = config(&dir.0, "alice", 0, "tcp");
    let file = dir.0.join("big.bin");
    let size = 32usize << 20;
    std::fs::write(&file, data(size)).unwrap();
    let (mut listener, port) = listen_on_a_free_port(&dir.0, "tcp", |c| {
        c.args(["listen", "--accept-files"]).arg(&inbox);
    });
    let to = format!("sip:bob@127.0.0.1:{port}");
    let send = |resume: bool| {
        let mut c = sip(&alice);
        c.env("XDG_STATE_HOME", &state).arg("send-file");
        if resume {
            c.arg("--resume");
        }
        c.arg(&to).arg(&file);
        Proc::start_keeping_stderr(c, true)
    };

    let mut first = send(false);
    first.wait_for_stderr("%)", 60);
    listener.signal("STOP");
    first.signal("INT");
    // The listener goes on, to answer the BYE the interrupt sends.
    listener.signal("CONT");
    assert_eq!(first.exit_code(60), Some(1), "{:?}", first.seen);
    let err = first.wait_for_stderr("`sip send-file --resume` sends the rest", 5);
    let confirmed: u64 = err
        .split("sip: ")
        .find_map(confirmed_count)
        .unwrap_or_else(|| panic!("no confirmed count in {err:?}"));
    assert!(confirmed > 0 && confirmed < size as u64, "{confirmed}");
    assert!(percents(&err).iter().all(|p| *p < 100), "{err:?}");
    let kept: Vec<_> = std::fs::read_dir(state.join("sipsimple-rs/transfers"))
        .unwrap()
        .collect();
    assert_eq!(kept.len(), 1);
    // The listener is done with the first transfer: the sender's `#`
    // (RFC 4975 §7.1) or its BYE, whichever the listener read first after
    // SIGCONT, ended it; either way it says the transfer failed.
    listener.wait_for_stderr("the file transfer failed", 30);

    let mut again = send(true);
    assert_eq!(again.exit_code(60), Some(0), "{:?}", again.seen);
    assert!(
        again.seen.iter().any(|l| l.contains(&format!(
            "resuming {} after {confirmed} of {size} bytes",
            file.display()
        ))),
        "{:?}",
        again.seen
    );
    assert!(
        again
            .seen
            .iter()
            .any(|l| l.contains("the peer confirmed the whole file")),
        "{:?}",
        again.seen
    );
    // The last progress line shows the whole file (stderr may still be
    // on its way from the exited process); the first starts where the
    // first run stopped, not at 0.
    let shown = percents(&again.wait_for_stderr("(100%)", 10));
    let resumed_at = confirmed * 100 / size as u64;
    assert!(shown[0] >= resumed_at, "{shown:?} from {resumed_at}");
    // Done: nothing is kept for another resumption.
    assert_eq!(
        std::fs::read_dir(state.join("sipsimple-rs/transfers"))
            .unwrap()
            .count(),
        0
    );
    let saved = listener.wait_for("saved big.bin", 30);
    let path = inbox.join("big.bin");
    assert!(saved.ends_with(&path.display().to_string()), "{saved}");
    assert_eq!(
        Sha256::digest(std::fs::read(&path).unwrap()),
        Sha256::digest(std::fs::read(&file).unwrap())
    );
}

/// `N bytes were confirmed: ...` (the sender's last word on a cut push).
fn confirmed_count(line: &str) -> Option<u64> {
    line.split_once(" bytes were confirmed")?
        .0
        .trim()
        .parse()
        .ok()
}
