//! baresip as a peer, started per test with a config of our own and
//! driven over ctrl_tcp (Debian package baresip; `scripts/test.sh`
//! installs it): shared by `interop_baresip.rs` and the conference test. Its `ausine` plays 440 Hz (or
//! a tone of the test's), `sndfile` writes what it
//! decodes to WAV in its directory.
#![allow(dead_code)] // each test binary uses a different subset

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::common::{free_port, TempDir};

pub struct Baresip {
    child: Child,
    dir: TempDir,
    pub sip_port: u16,
    /// The one ctrl_tcp connection (baresip 1.0 serves only the latest
    /// one): commands go out on it, and everything baresip sends on it,
    /// replies and events (netstring JSON: CALL_INCOMING, CALL_CLOSED,
    /// ...), is collected in `events`.
    ctrl: Option<TcpStream>,
    events: Arc<std::sync::Mutex<String>>,
    commands: std::sync::atomic::AtomicU32,
}

impl Drop for Baresip {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start_baresip(answer_automatically: bool) -> Baresip {
    let answermode = if answer_automatically {
        "auto"
    } else {
        "manual"
    };
    start_baresip_as(|sip_port| {
        format!("<sip:carol@127.0.0.1:{sip_port}>;regint=0;answermode={answermode}")
    })
}

/// baresip with the account line `account(sip_port)` makes.
pub fn start_baresip_as(account: impl FnOnce(u16) -> String) -> Baresip {
    start_baresip_playing(account, 440)
}

/// baresip as carol answering automatically, its `ausine` playing `hz`.
pub fn start_baresip_with_tone(hz: u32) -> Baresip {
    start_baresip_playing(
        |sip_port| format!("<sip:carol@127.0.0.1:{sip_port}>;regint=0;answermode=auto"),
        hz,
    )
}

fn start_baresip_playing(account: impl FnOnce(u16) -> String, hz: u32) -> Baresip {
    let dir = TempDir::new("baresip");
    let sip_port = free_port();
    let ctrl_port = free_port();
    let rtp_base = 30000 + (free_port() % 1000) * 10;
    let config = format!(
        "poll_method epoll\n\
         sip_listen 127.0.0.1:{sip_port}\n\
         call_local_timeout 120\n\
         audio_player aubridge,nil\n\
         audio_source ausine,{hz}\n\
         audio_alert aubridge,nil\n\
         ausrc_srate 48000\n\
         ausrc_channels 2\n\
         auplay_srate 8000\n\
         rtp_ports {rtp_base}-{}\n\
         rtcp_mux no\n\
         net_interface 127.0.0.1\n\
         module_path /usr/lib/baresip/modules\n\
         module g711.so\n\
         module g722.so\n\
         module opus.so\n\
         module srtp.so\n\
         module ausine.so\n\
         module aubridge.so\n\
         module sndfile.so\n\
         module_app account.so\n\
         module_app menu.so\n\
         module_app ctrl_tcp.so\n\
         ctrl_tcp_listen 127.0.0.1:{ctrl_port}\n\
         snd_path {}\n",
        rtp_base + 9,
        dir.0.display()
    );
    std::fs::write(dir.0.join("config"), config).unwrap();
    std::fs::write(dir.0.join("accounts"), account(sip_port) + "\n").unwrap();
    std::fs::write(dir.0.join("contacts"), "").unwrap();
    let log = std::fs::File::create(dir.0.join("baresip.log")).unwrap();
    let child = Command::new("baresip")
        .arg("-f")
        .arg(&dir.0)
        .current_dir(&dir.0)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("baresip is installed (scripts/test.sh installs it)");
    let mut b = Baresip {
        child,
        dir,
        sip_port,
        ctrl: None,
        events: Arc::default(),
        commands: Default::default(),
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", ctrl_port)).is_err() {
        if let Ok(Some(status)) = b.child.try_wait() {
            panic!("baresip exited ({status}):\n{}", b.log());
        }
        assert!(
            Instant::now() < deadline,
            "baresip did not start:\n{}",
            b.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut events = TcpStream::connect(("127.0.0.1", ctrl_port)).unwrap();
    b.ctrl = Some(events.try_clone().unwrap());
    let seen = b.events.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = events.read(&mut buf) {
            seen.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    b
}

impl Baresip {
    /// baresip's ctrl_tcp events so far.
    pub fn events(&self) -> String {
        self.events.lock().unwrap().clone()
    }

    /// Waits (10 s at most) for an event containing `want`.
    pub async fn event(&self, want: &str) {
        for _ in 0..100 {
            if self.events().contains(want) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no {want:?} among baresip's events: {}", self.events());
    }

    /// The CALL_CLOSED events so far, in order.
    pub fn closed_calls(&self) -> Vec<String> {
        self.events()
            .split("},")
            .filter(|e| e.contains("\"type\":\"CALL_CLOSED\""))
            .map(str::to_owned)
            .collect()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("baresip.log")).unwrap_or_default()
    }

    /// Sends one ctrl_tcp command (netstring JSON).
    pub fn command(&self, command: &str, params: &str) {
        let n = self
            .commands
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let token = format!("\"token\":\"t{n}\"");
        let json = format!("{{\"command\":\"{command}\",\"params\":\"{params}\",{token}}}");
        let mut ctrl = self.ctrl.as_ref().unwrap();
        ctrl.write_all(format!("{}:{json},", json.len()).as_bytes())
            .unwrap();
        // Its reply, carrying the token, says the command was taken.
        for _ in 0..100 {
            if self.events().contains(&token) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("baresip did not answer {json}: {}", self.events());
    }

    /// The WAV files sndfile wrote of what baresip decoded.
    pub fn decoded(&self) -> Vec<PathBuf> {
        std::fs::read_dir(&self.dir.0)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension().is_some_and(|x| x == "wav")
                    && p.file_name()
                        .is_some_and(|n| n.to_string_lossy().contains("dec"))
            })
            .collect()
    }
}

/// Samples of a mono or stereo 16-bit WAV (first channel), and its rate.
pub fn read_wav(path: &Path) -> (Vec<i16>, u32) {
    let mut r = hound::WavReader::open(path).unwrap();
    let spec = r.spec();
    let samples: Vec<i16> = r
        .samples::<i16>()
        .step_by(usize::from(spec.channels))
        .filter_map(Result::ok)
        .collect();
    (samples, spec.sample_rate)
}
