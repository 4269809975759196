//! `sip listen` and `sip call` as two processes on loopback: bob listens
//! and answers by himself, alice calls with a tone and hangs up after a
//! while; each records what arrives to a WAV file, and the files are
//! checked by frequency.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sipsimple::media::tone::goertzel;
use sipsimple::streams::audio::read_wav;

/// A scratch directory for one test, removed when the test ends.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir = Dir(std::env::temp_dir().join(format!("sip-cli-{name}-{}", std::process::id())));
        std::fs::create_dir_all(&dir.0).unwrap();
        dir
    }
}

/// The `sip` binary with configuration `cfg`.
fn sip(cfg: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sip"));
    c.arg("--config").arg(cfg);
    c
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn config(dir: &Path, user: &str, port: u16) -> PathBuf {
    let path = dir.join(format!("{user}.toml"));
    std::fs::write(
        &path,
        format!(
            "local_ip = \"127.0.0.1\"\ndefault_account = \"{user}@127.0.0.1\"\n\
             [sip]\ntransport_list = [\"udp\"]\nudp_port = {port}\n\
             [accounts.\"{user}@127.0.0.1\"]\nenabled = true\nregistration.enabled = false\n"
        ),
    )
    .unwrap();
    path
}

fn loudest(path: &Path) -> (usize, f64) {
    let samples = read_wav(path).unwrap_or_else(|e| panic!("{e}"));
    let f = [440.0, 1000.0]
        .into_iter()
        .max_by(|a, b| goertzel(&samples, 8000, *a).total_cmp(&goertzel(&samples, 8000, *b)))
        .unwrap();
    (samples.len(), f)
}

#[test]
fn listen_answers_call_calls_and_both_record_the_other_side() {
    let dir = Dir::new("call");
    let bob_port = free_udp_port();
    let bob_cfg = config(&dir.0, "bob", bob_port);
    let alice_cfg = config(&dir.0, "alice", 0);
    let bob_wav = dir.0.join("bob.wav");
    let alice_wav = dir.0.join("alice.wav");

    let mut bob = sip(&bob_cfg)
        .args([
            "listen",
            "--auto-answer",
            "--tone",
            "1000",
            "--max-calls",
            "1",
            "--output",
        ])
        .arg(&bob_wav)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut bob_out = BufReader::new(bob.stdout.take().unwrap());
    let mut bob_lines = Vec::new();
    let mut line = String::new();
    while bob_out.read_line(&mut line).unwrap() > 0 {
        bob_lines.push(line.trim_end().to_owned());
        if line.starts_with("accounts:") {
            break;
        }
        line.clear();
    }
    assert!(
        bob_lines
            .iter()
            .any(|l| l.contains(&format!("127.0.0.1:{bob_port}"))),
        "{bob_lines:?}"
    );

    let alice = sip(&alice_cfg)
        .args(["call", &format!("sip:bob@127.0.0.1:{bob_port}")])
        .args(["--tone", "440", "--hangup-after", "1.5", "--output"])
        .arg(&alice_wav)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let alice_out = String::from_utf8_lossy(&alice.stdout);
    assert_eq!(
        alice.status.code(),
        Some(0),
        "{alice_out}{}",
        String::from_utf8_lossy(&alice.stderr)
    );
    for expected in [
        "calling sip:bob@127.0.0.1",
        "ringing",
        "call started",
        // The default rtp.audio_codec_list offers Opus first.
        "codec opus",
    ] {
        assert!(
            alice_out.contains(expected),
            "no {expected:?} in:\n{alice_out}"
        );
    }
    assert!(
        alice_out.contains("call ended (local hung up)"),
        "{alice_out}"
    );

    // Bob took one call and stops by himself.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = bob.try_wait().unwrap() {
            assert!(status.success());
            break;
        }
        assert!(
            Instant::now() < deadline,
            "sip listen did not stop after one call"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut bob_out, &mut rest).unwrap();
    for expected in [
        "incoming call from",
        "call started",
        "call ended (remote hung up)",
        "stopped",
    ] {
        assert!(rest.contains(expected), "no {expected:?} in:\n{rest}");
    }
    // The caller as people read it: no header parameters (tags).
    let from = rest
        .lines()
        .find(|l| l.contains("incoming call from"))
        .unwrap();
    assert!(!from.contains("tag="), "{from}");

    let (n, f) = loudest(&bob_wav);
    assert!(n >= 8000, "bob recorded {n} samples");
    assert_eq!(f, 440.0, "bob recorded alice's tone");
    let (n, f) = loudest(&alice_wav);
    assert!(n >= 8000, "alice recorded {n} samples");
    assert_eq!(f, 1000.0, "alice recorded bob's tone");
}

#[test]
fn call_to_nobody_fails_with_a_clear_line_and_status_1() {
    let dir = Dir::new("call-fail");
    let bob_port = free_udp_port();
    let bob_cfg = config(&dir.0, "bob", bob_port);
    // A second account: a user bob's side does not know then belongs to
    // neither (with one account, calls to his address reach it).
    let mut text = std::fs::read_to_string(&bob_cfg).unwrap();
    text.push_str(
        "[accounts.\"robert@127.0.0.1\"]\nenabled = true\nregistration.enabled = false\n",
    );
    text = text.replace("default_account = \"bob@127.0.0.1\"\n", "");
    std::fs::write(&bob_cfg, text).unwrap();
    let alice_cfg = config(&dir.0, "alice", 0);
    let mut bob = sip(&bob_cfg)
        .args(["listen", "--auto-answer", "--max-calls", "1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(bob.stdout.take().unwrap());
    let mut line = String::new();
    while out.read_line(&mut line).unwrap() > 0 && !line.starts_with("accounts:") {
        line.clear();
    }
    // carol has no account at bob's, and he has no default: 404.
    let alice = sip(&alice_cfg)
        .args(["call", &format!("sip:carol@127.0.0.1:{bob_port}")])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&alice.stdout);
    assert_eq!(alice.status.code(), Some(1), "{text}");
    assert!(text.contains("call failed: 404"), "{text}");
    let _ = bob.kill();
    let _ = bob.wait();
}

/// Lines from a child's stdout, read on a thread, so a test can wait for
/// one with a deadline.
fn lines_of(stdout: std::process::ChildStdout) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_for(rx: &std::sync::mpsc::Receiver<String>, what: &str, seen: &mut Vec<String>) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
            let hit = l.contains(what);
            seen.push(l);
            if hit {
                return;
            }
        }
    }
    panic!("no {what:?} within 10 s; saw {seen:?}");
}

#[test]
fn commands_typed_during_a_call_reach_the_other_side() {
    use std::io::Write;
    let dir = Dir::new("call-cmd");
    let bob_port = free_udp_port();
    let bob_cfg = config(&dir.0, "bob", bob_port);
    let alice_cfg = config(&dir.0, "alice", 0);
    let mut bob = sip(&bob_cfg)
        .args(["listen", "--auto-answer", "--max-calls", "1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let bob_rx = lines_of(bob.stdout.take().unwrap());
    let mut bob_seen = Vec::new();
    wait_for(&bob_rx, "accounts:", &mut bob_seen);
    let mut alice = sip(&alice_cfg)
        .args([
            "call",
            &format!("sip:bob@127.0.0.1:{bob_port}"),
            "--tone",
            "440",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let alice_rx = lines_of(alice.stdout.take().unwrap());
    let mut alice_seen = Vec::new();
    let mut input = alice.stdin.take().unwrap();
    wait_for(&alice_rx, "call started", &mut alice_seen);
    writeln!(input, "dtmf 7#").unwrap();
    wait_for(&bob_rx, "DTMF 7", &mut bob_seen);
    wait_for(&bob_rx, "DTMF #", &mut bob_seen);
    writeln!(input, "hold").unwrap();
    wait_for(&alice_rx, "we put the call on hold", &mut alice_seen);
    wait_for(&bob_rx, "the peer put the call on hold", &mut bob_seen);
    writeln!(input, "unhold").unwrap();
    wait_for(&bob_rx, "the peer resumed the call", &mut bob_seen);
    writeln!(input, "frobnicate").unwrap();
    wait_for(
        &alice_rx,
        "! unknown command \"frobnicate\"",
        &mut alice_seen,
    );
    writeln!(input, "hangup").unwrap();
    wait_for(&alice_rx, "call ended (local hung up)", &mut alice_seen);
    assert!(alice.wait().unwrap().success());
    wait_for(&bob_rx, "stopped", &mut bob_seen);
    assert!(bob.wait().unwrap().success());
}

/// Without --input or --tone a call is on the voice device: bob's config
/// makes it WAV files (`audio.input_device`, `audio.output_device`; the
/// sound card would be `sound`), so alice hears bob's microphone file and
/// bob's speaker file holds alice's tone.
#[test]
fn a_call_without_input_options_uses_the_voice_device() {
    let dir = Dir::new("device");
    let mic = dir.0.join("bob-mic.wav");
    let speaker = dir.0.join("bob-speaker.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&mic, spec).unwrap();
    let mut tone = sipsimple::media::tone::ToneGenerator::new(16000, &[1000.0], 8000);
    let mut samples = vec![0i16; 16000];
    tone.fill(&mut samples);
    for s in samples {
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();

    let bob_port = free_udp_port();
    let bob_cfg = config(&dir.0, "bob", bob_port);
    let mut text = std::fs::read_to_string(&bob_cfg).unwrap();
    text = text.replacen(
        "[sip]",
        &format!(
            "[audio]\ninput_device = \"wav:{}\"\noutput_device = \"wav:{}\"\nsample_rate = 16000\n[sip]",
            mic.display(),
            speaker.display()
        ),
        1,
    );
    std::fs::write(&bob_cfg, text).unwrap();
    let alice_cfg = config(&dir.0, "alice", 0);
    let alice_wav = dir.0.join("alice.wav");

    let mut bob = sip(&bob_cfg)
        .args(["listen", "--auto-answer", "--max-calls", "1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = lines_of(bob.stdout.take().unwrap());
    let mut seen = Vec::new();
    wait_for(&lines, "accounts:", &mut seen);

    let alice = sip(&alice_cfg)
        .args(["call", &format!("sip:bob@127.0.0.1:{bob_port}")])
        .args(["--tone", "440", "--hangup-after", "2", "--output"])
        .arg(&alice_wav)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        alice.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&alice.stdout),
        String::from_utf8_lossy(&alice.stderr)
    );
    wait_for(&lines, "stopped", &mut seen);
    let _ = bob.wait();

    let (n, f) = loudest(&alice_wav);
    assert!(n >= 8000, "alice recorded {n} samples");
    assert_eq!(f, 1000.0, "alice heard bob's microphone file");
    let (n, f) = loudest(&speaker);
    assert!(n >= 8000, "bob's speaker file has {n} samples");
    assert_eq!(f, 440.0, "bob's speaker file holds alice's tone");
}

/// `--hangup-after` to an address where nothing answers: the user asked to
/// stop, so the call ends then with its reason, not after Timer B (32 s).
#[test]
fn hangup_after_ends_an_unanswered_call_at_once() {
    let dir = Dir::new("call-silent");
    // A socket that reads nothing: every INVITE goes unanswered.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let alice_cfg = config(&dir.0, "alice", 0);
    let started = Instant::now();
    let alice = sip(&alice_cfg)
        .args(["call", &format!("sip:nobody@127.0.0.1:{port}")])
        .args(["--hangup-after", "1"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let took = started.elapsed();
    let text = String::from_utf8_lossy(&alice.stdout);
    assert_eq!(alice.status.code(), Some(1), "{text}");
    assert!(text.contains("no answer from"), "{text}");
    assert!(took < Duration::from_secs(12), "took {took:?}:\n{text}");
}

#[test]
fn a_call_to_a_refused_tcp_port_says_the_connection_was_refused() {
    let dir = Dir::new("call-refused");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let alice_cfg = config(&dir.0, "alice", 0);
    let text = std::fs::read_to_string(&alice_cfg)
        .unwrap()
        .replace("[\"udp\"]", "[\"udp\", \"tcp\"]");
    std::fs::write(&alice_cfg, text).unwrap();
    let started = Instant::now();
    let alice = sip(&alice_cfg)
        .args([
            "call",
            &format!("sip:nobody@127.0.0.1:{closed};transport=tcp"),
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&alice.stdout);
    assert_eq!(alice.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "call failed: connection refused by 127.0.0.1:{closed} over TCP"
        )),
        "{text}"
    );
    assert!(started.elapsed() < Duration::from_secs(5), "{text}");
}

#[test]
fn sigterm_during_a_call_hangs_up_and_the_media_port_comes_from_rtp_port_range() {
    let dir = Dir::new("term");
    let bob_port = free_udp_port();
    let bob_cfg = config(&dir.0, "bob", bob_port);
    // An RTP range of alice's own, away from other tests' ports.
    let base = 30000 + (std::process::id() % 500) as u16 * 20;
    let alice_cfg = dir.0.join("alice.toml");
    std::fs::write(
        &alice_cfg,
        format!(
            "local_ip = \"127.0.0.1\"\ndefault_account = \"alice@127.0.0.1\"\n\
             [sip]\ntransport_list = [\"udp\"]\n[rtp]\nport_range = \"{base}-{}\"\n\
             [accounts.\"alice@127.0.0.1\"]\nenabled = true\nregistration.enabled = false\n",
            base + 20
        ),
    )
    .unwrap();
    let mut bob = sip(&bob_cfg)
        .args([
            "listen",
            "--auto-answer",
            "--tone",
            "1000",
            "--max-calls",
            "1",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let bob_lines = lines_of(bob.stdout.take().unwrap());
    let mut bob_seen = Vec::new();
    wait_for(&bob_lines, "accounts:", &mut bob_seen);

    let mut alice = sip(&alice_cfg)
        .args(["--trace", "call", &format!("sip:bob@127.0.0.1:{bob_port}")])
        .args(["--tone", "440"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let alice_lines = lines_of(alice.stdout.take().unwrap());
    let mut alice_seen = Vec::new();
    wait_for(&alice_lines, "call started", &mut alice_seen);
    let started = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &alice.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = loop {
        if let Some(s) = alice.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "sip call ignored SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    // The call was hung up (a BYE, not a vanished caller): bob says the
    // remote side ended it, and stops after his one call.
    wait_for(&bob_lines, "call ended (remote hung up)", &mut bob_seen);
    let deadline = Instant::now() + Duration::from_secs(10);
    while bob.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "sip listen did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(status.code().is_some(), "killed by the signal: {status:?}");
    let mut trace = String::new();
    std::io::Read::read_to_string(alice.stderr.as_mut().unwrap(), &mut trace).unwrap();
    let port: u16 = trace
        .lines()
        .find_map(|l| l.trim().strip_prefix("m=audio "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no m=audio in alice's trace:\n{trace}"));
    assert!(
        (base..=base + 20).contains(&port),
        "alice's RTP port {port} is outside rtp.port_range {base}-{}",
        base + 20
    );
}

/// `rtp.audio_codec_list` decides what `sip call` offers and what `sip
/// listen` answers with: alice offers only PCMU then G.722 (no Opus,
/// PCMA), bob runs G.722 alone, so the call is G.722 though alice put
/// PCMU first. Both SDPs are read from alice's `--trace`.
#[test]
fn rtp_audio_codec_list_decides_the_offer_and_the_answer() {
    let dir = Dir::new("codec-list");
    let bob_port = free_udp_port();
    let with_codecs = |user: &str, port: u16, codecs: &str| {
        let path = dir.0.join(format!("{user}.toml"));
        std::fs::write(
            &path,
            format!(
                "local_ip = \"127.0.0.1\"\ndefault_account = \"{user}@127.0.0.1\"\n\
                 [sip]\ntransport_list = [\"udp\"]\nudp_port = {port}\n\
                 [rtp]\naudio_codec_list = [{codecs}]\n\
                 [accounts.\"{user}@127.0.0.1\"]\nenabled = true\nregistration.enabled = false\n"
            ),
        )
        .unwrap();
        path
    };
    let bob_cfg = with_codecs("bob", bob_port, "\"G722\"");
    let alice_cfg = with_codecs("alice", 0, "\"PCMU\", \"G722\"");
    let mut bob = sip(&bob_cfg)
        .args(["listen", "--auto-answer", "--max-calls", "1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let bob_lines = lines_of(bob.stdout.take().unwrap());
    let mut bob_seen = Vec::new();
    wait_for(&bob_lines, "accounts:", &mut bob_seen);
    let alice = sip(&alice_cfg)
        .args(["--trace", "call", &format!("sip:bob@127.0.0.1:{bob_port}")])
        .args(["--tone", "440", "--hangup-after", "1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let _ = bob.kill();
    let _ = bob.wait();
    let stdout = String::from_utf8_lossy(&alice.stdout);
    assert!(alice.status.success(), "{stdout}");
    assert!(stdout.contains("call started"), "{stdout}");
    let trace = String::from_utf8_lossy(&alice.stderr);
    let media: Vec<Vec<&str>> = trace
        .lines()
        .filter_map(|l| l.trim().strip_prefix("m=audio "))
        .map(|rest| rest.split_whitespace().skip(2).collect())
        .collect();
    // The offer: PCMU (0) then G.722 (9), and telephone-event at 8 kHz.
    let offer = media
        .first()
        .unwrap_or_else(|| panic!("no offer in:\n{trace}"));
    assert_eq!(offer.get(..2), Some(&["0", "9"][..]), "{trace}");
    assert!(
        !trace.contains("opus/48000") && !trace.contains("PCMA/8000"),
        "{trace}"
    );
    // The answer: G.722 alone of the audio codecs.
    let answer = media
        .get(1)
        .unwrap_or_else(|| panic!("no answer in:\n{trace}"));
    assert_eq!(answer.first(), Some(&"9"), "{trace}");
    assert!(!answer.contains(&"0"), "{trace}");
}
