//! `sip listen` as a real process against raw SIP from the test: a second
//! INVITE while a call is up gets 486 Busy Here (never a transaction left
//! to time out), a caller who cancels takes the "answer?" question with
//! him, and SIGTERM ends the listener (and its call) promptly.

use std::io::{BufReader, Write};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir =
            Dir(std::env::temp_dir().join(format!("sip-listen-{name}-{}", std::process::id())));
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

fn config(dir: &Path, port: u16) -> PathBuf {
    let path = dir.join("bob.toml");
    std::fs::write(
        &path,
        format!(
            "local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = [\"udp\"]\nudp_port = {port}\n\
             [accounts.\"bob@127.0.0.1\"]\nenabled = true\nregistration.enabled = false\n"
        ),
    )
    .unwrap();
    path
}

/// `sip listen` with `args`, its output lines arriving on a channel.
struct Listener {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Listener {
    fn start(cfg: &Path, args: &[&str]) -> Listener {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sip"))
            .arg("--config")
            .arg(cfg)
            .arg("listen")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out: ChildStdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            // The prompt has no line end: a pending "] " ends a line too.
            let mut reader = BufReader::new(out);
            let mut line = Vec::new();
            let mut byte = [0u8; 1];
            while std::io::Read::read(&mut reader, &mut byte).unwrap_or(0) == 1 {
                if byte[0] != b'\n' {
                    line.push(byte[0]);
                }
                if byte[0] == b'\n' || line.ends_with(b"] ") {
                    let text = String::from_utf8_lossy(&line).trim().to_owned();
                    if !text.is_empty() && tx.send(text).is_err() {
                        break;
                    }
                    line.clear();
                }
            }
        });
        let mut l = Listener {
            child,
            lines,
            seen: Vec::new(),
        };
        l.wait_for("accounts:");
        l
    }

    /// Waits (10 s at most) for an output line containing `text`.
    fn wait_for(&mut self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if l.contains(text) {
                        return l;
                    }
                }
                Err(_) => panic!("no {text:?} from sip listen; saw {:?}", self.seen),
            }
        }
    }

    fn type_line(&mut self, text: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{text}").unwrap();
        stdin.flush().unwrap();
    }

    fn terminate(&mut self) -> (Option<i32>, Duration) {
        let started = Instant::now();
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = started + Duration::from_secs(10);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return (s.code(), started.elapsed());
            }
            assert!(Instant::now() < deadline, "sip listen ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A UDP peer that speaks raw SIP to `to`.
struct Peer {
    socket: UdpSocket,
    to: SocketAddr,
}

impl Peer {
    fn new(to: SocketAddr) -> Peer {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        Peer { socket, to }
    }

    fn send(&self, text: &str) {
        let local = self.socket.local_addr().unwrap().to_string();
        let text = text
            .replace("LOCAL", &local)
            .replace("REMOTE", &self.to.to_string())
            .replace('\n', "\r\n");
        self.socket.send_to(text.as_bytes(), self.to).unwrap();
    }

    /// The first response with status `code` within `secs` seconds.
    fn expect(&self, code: u16, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let mut buf = [0u8; 65536];
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            if let Ok(n) = self.socket.recv(&mut buf) {
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                if text.starts_with(&format!("SIP/2.0 {code} ")) {
                    return text;
                }
                seen.push(text.lines().next().unwrap_or_default().to_owned());
            }
        }
        panic!("no {code} within {secs} s; saw {seen:?}");
    }
}

const SDP: &str = "v=0\no=raw 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n\
                   m=audio 30000 RTP/AVP 0\na=rtpmap:0 PCMU/8000\n";

fn invite(call: &str) -> String {
    format!(
        "INVITE sip:bob@REMOTE SIP/2.0\nVia: SIP/2.0/UDP LOCAL;branch=z9hG4bK{call}\n\
         From: <sip:raw@LOCAL>;tag={call}\nTo: <sip:bob@REMOTE>\nCall-ID: {call}\n\
         CSeq: 1 INVITE\nContact: <sip:raw@LOCAL>\nMax-Forwards: 70\n\
         Content-Type: application/sdp\nContent-Length: {}\n\n{SDP}",
        SDP.replace('\n', "\r\n").len()
    )
}

fn cancel(call: &str) -> String {
    format!(
        "CANCEL sip:bob@REMOTE SIP/2.0\nVia: SIP/2.0/UDP LOCAL;branch=z9hG4bK{call}\n\
         From: <sip:raw@LOCAL>;tag={call}\nTo: <sip:bob@REMOTE>\nCall-ID: {call}\n\
         CSeq: 1 CANCEL\nMax-Forwards: 70\nContent-Length: 0\n\n"
    )
}

#[test]
fn a_second_invite_during_a_call_gets_486_and_sigterm_ends_the_call() {
    let dir = Dir::new("busy");
    let port = free_udp_port();
    let mut bob = Listener::start(&config(&dir.0, port), &["--auto-answer"]);
    let to: SocketAddr = ([127, 0, 0, 1], port).into();
    let first = Peer::new(to);
    first.send(&invite("first1"));
    let ok = first.expect(200, 10);
    assert!(ok.contains("m=audio"), "{ok}");
    let to_line = ok
        .lines()
        .find(|l| l.starts_with("To:"))
        .unwrap()
        .to_owned();
    first.send(&format!(
        "ACK sip:bob@REMOTE SIP/2.0\nVia: SIP/2.0/UDP LOCAL;branch=z9hG4bKack1\n\
         From: <sip:raw@LOCAL>;tag=first1\n{to_line}\nCall-ID: first1\nCSeq: 1 ACK\n\
         Max-Forwards: 70\nContent-Length: 0\n\n"
    ));
    bob.wait_for("incoming call");

    let second = Peer::new(to);
    second.send(&invite("second2"));
    second.expect(486, 5);

    // SIGTERM while the call is up: the call gets its BYE, the listener
    // stops.
    let (code, took) = bob.terminate();
    assert_eq!(code, Some(0), "{:?}", bob.seen);
    assert!(took < Duration::from_secs(9), "took {took:?}");
    let bye = first.expect_request("BYE", 2);
    assert!(bye.contains("Call-ID: first1"), "{bye}");
}

#[test]
fn a_cancelled_call_takes_its_question_away_and_the_listener_goes_on() {
    let dir = Dir::new("cancel");
    let port = free_udp_port();
    let mut bob = Listener::start(&config(&dir.0, port), &[]);
    let to: SocketAddr = ([127, 0, 0, 1], port).into();
    let caller = Peer::new(to);
    caller.send(&invite("gone1"));
    bob.wait_for("answer? [y/n]");
    caller.send(&cancel("gone1"));
    caller.expect(487, 5);
    bob.wait_for("went away");
    // A "y" typed now answers nothing, and does not stop the listener.
    bob.type_line("y");
    bob.wait_for("no call to answer");
    let next = Peer::new(to);
    next.send(&invite("next2"));
    bob.wait_for("answer? [y/n]");
    bob.type_line("n");
    next.expect(603, 5);
    let (code, _) = bob.terminate();
    assert_eq!(code, Some(0), "{:?}", bob.seen);
}

impl Peer {
    /// The first request with `method` within `secs` seconds, answered 200.
    fn expect_request(&self, method: &str, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let mut buf = [0u8; 65536];
        while Instant::now() < deadline {
            if let Ok(n) = self.socket.recv(&mut buf) {
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                if text.starts_with(&format!("{method} ")) {
                    return text;
                }
            }
        }
        panic!("no {method} within {secs} s");
    }
}
