//! Calls with PJSIP 2.15 (the pjsua2 Python binding, the C stack
//! python-sipsimple was built on), through our own peer script
//! (tests/pjsua2/peer.py) started per test. `scripts/test.sh` installs
//! the binding into a venv (`$SIPSIMPLE_PJ_VENV`, default
//! ~/.cache/sipsimple-rs/pjvenv).
//!
//! Both ways; pjsua2 plays 440 Hz and records what it gets, we play
//! 1000 Hz and record what we get, and both recordings are checked by
//! frequency.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{free_port, until, TempDir};
use media::tone::goertzel;
use sdp::offer_answer::Codec;
use sipsimple::engine::TransportKind;
use sipsimple::notification::Filter;
use sipsimple::streams::audio::{read_wav, AudioStream};

fn python() -> PathBuf {
    let venv = std::env::var_os("SIPSIMPLE_PJ_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/sipsimple-rs/pjvenv")
        });
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "no pjsua2 venv at {}: run scripts/test.sh (it installs pjsua2-python)",
        venv.display()
    );
    python
}

struct Peer {
    child: Child,
    port: u16,
    record: PathBuf,
    _dir: TempDir,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_peer(role: &str, uri: Option<&str>) -> Peer {
    let dir = TempDir::new("pjsua2");
    let port = free_port();
    let record = dir.0.join("pjsua2.wav");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/pjsua2/peer.py");
    let mut cmd = Command::new(python());
    cmd.arg(script)
        .arg(role)
        .args([
            "--port",
            &port.to_string(),
            "--tone",
            "440",
            "--seconds",
            "2",
        ])
        .arg("--record")
        .arg(&record)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(uri) = uri {
        cmd.args(["--uri", uri]);
    }
    let mut child = cmd.spawn().expect("the pjsua2 peer starts");
    // Wait for "ready".
    use std::io::{BufRead, BufReader};
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(l) if l == "ready" => break,
            _ if Instant::now() > deadline => panic!("the pjsua2 peer did not get ready"),
            _ => {}
        }
    }
    Peer {
        child,
        port,
        record,
        _dir: dir,
    }
}

async fn stream() -> Arc<AudioStream> {
    common::tone_stream(1000.0, vec![Codec::pcmu(), Codec::pcma()]).await
}

fn louder(samples: &[i16], f: f64, than: f64) -> bool {
    goertzel(samples, 8000, f) > 100.0 * goertzel(samples, 8000, than)
}

/// Waits for the peer to exit (it hangs up or sees our BYE) and checks
/// what it recorded.
fn peer_heard_our_tone(mut peer: Peer) {
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(s) = peer.child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "the pjsua2 peer did not finish");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        status.success(),
        "the pjsua2 peer's call did not go through"
    );
    let heard = read_wav(&peer.record).unwrap();
    assert!(
        heard.len() >= 8000,
        "pjsua2 recorded {} samples",
        heard.len()
    );
    let tail = &heard[heard.len() / 4..];
    assert!(louder(tail, 1000.0, 440.0), "pjsua2 heard our 1000 Hz");
}

#[tokio::test]
async fn we_call_pjsip_and_audio_flows_both_ways() {
    let peer = start_peer("answer", None);
    let app = common::account_app("alice").await;
    let mut all = app.notification_center().subscribe(Filter::all());
    let account = app.account_manager().accounts().remove(0);
    let audio = stream().await;
    app.session_manager()
        .connect(
            &account,
            &format!("sip:pjsua@127.0.0.1:{}", peer.port),
            vec![audio.clone()],
        )
        .await
        .unwrap();
    until(&mut all, "SIPSessionDidStart").await;
    // The peer hangs up after 2 s: a BYE from PJSIP ends our side.
    until(&mut all, "SIPSessionDidEnd").await;
    let heard = audio.recorded();
    assert!(heard.len() >= 8000, "we got {} samples", heard.len());
    assert!(
        louder(&heard[heard.len() / 4..], 440.0, 1000.0),
        "we heard pjsua2's 440 Hz"
    );
    peer_heard_our_tone(peer);
    app.stop();
}

#[tokio::test]
async fn pjsip_calls_us_and_audio_flows_both_ways() {
    let app = common::account_app("bob").await;
    let mut all = app.notification_center().subscribe(Filter::all());
    let account = app.account_manager().accounts().remove(0);
    let addr = app
        .engine()
        .unwrap()
        .local_addr(TransportKind::Udp)
        .unwrap();
    let peer = start_peer(
        "call",
        Some(&format!("sip:{}@{addr}", account.contact_username())),
    );
    let session = common::incoming_session(&app, &mut all).await;
    session.send_ring_indication().await.unwrap();
    let audio = stream().await;
    session.accept(vec![audio.clone()]).await.unwrap();
    until(&mut all, "SIPSessionDidStart").await;
    until(&mut all, "SIPSessionDidEnd").await;
    let heard = audio.recorded();
    assert!(heard.len() >= 8000, "we got {} samples", heard.len());
    assert!(
        louder(&heard[heard.len() / 4..], 440.0, 1000.0),
        "we heard pjsua2's 440 Hz"
    );
    peer_heard_our_tone(peer);
    app.stop();
}
