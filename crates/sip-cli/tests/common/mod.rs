//! What the `sip` process tests share: a scratch directory, free ports,
//! a `sip` process whose output lines are read as they come (killed by
//! its PID when dropped), and Kamailio as a presence server.
#![allow(dead_code)] // each test binary uses a different subset

use std::io::{BufReader, Read, Write};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub mod presence_server;
pub mod vnc;

/// A scratch directory for one test, removed when the test ends.
pub struct Dir(pub PathBuf);

impl Dir {
    pub fn new(name: &str) -> Dir {
        let dir = Dir(std::env::temp_dir().join(format!("sip-cli-{name}-{}", std::process::id())));
        std::fs::create_dir_all(&dir.0).unwrap();
        dir
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn sip(cfg: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sip"));
    c.arg("--config").arg(cfg);
    c
}

/// A `sip` process whose output lines arrive on a channel; killed (by
/// its PID) when dropped.
pub struct Proc {
    pub child: Child,
    lines: mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl Proc {
    pub fn start(mut command: Command) -> Proc {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            // The listener's prompt has no line end: "[y/n] " ends a line too.
            let mut reader = BufReader::new(out);
            let mut line = Vec::new();
            let mut byte = [0u8; 1];
            while reader.read(&mut byte).unwrap_or(0) == 1 {
                if byte[0] != b'\n' {
                    line.push(byte[0]);
                }
                if byte[0] == b'\n' || line.ends_with(b"[y/n] ") {
                    let text = String::from_utf8_lossy(&line).trim().to_owned();
                    if !text.is_empty() && tx.send(text).is_err() {
                        break;
                    }
                    line.clear();
                }
            }
        });
        Proc {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// `sip listen ARGS` on `cfg`, once it is listening.
    pub fn listen(cfg: &Path, args: &[&str]) -> Proc {
        let mut c = sip(cfg);
        c.arg("listen").args(args);
        let mut p = Proc::start(c);
        p.wait_for("accounts:");
        p
    }

    /// Waits (15 s at most) for an output line containing `text`.
    pub fn wait_for(&mut self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
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

    /// A line containing `text`, already seen or waited for (for lines
    /// whose order against others is not fixed).
    pub fn saw(&mut self, text: &str) -> String {
        match self.seen.iter().find(|l| l.contains(text)) {
            Some(l) => l.clone(),
            None => self.wait_for(text),
        }
    }

    pub fn type_line(&mut self, text: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{text}").unwrap();
        stdin.flush().unwrap();
    }

    /// Closes its standard input.
    pub fn close_stdin(&mut self) {
        drop(self.child.stdin.take());
    }

    /// Its exit status within `secs` seconds (panics otherwise).
    pub fn exit_code(&mut self, secs: u64) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                // Collect what is left of its output.
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

    pub fn terminate(&mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
