//! Calls with baresip (Debian package baresip; `scripts/test.sh` installs
//! it), started and stopped by each test on loopback with a config of our
//! own: its `ausine` module plays 440 Hz, its `sndfile` module writes what
//! it decodes to WAV, and it is driven over `ctrl_tcp` (netstring JSON).
//!
//! Both ways: baresip calls us and we answer; we call baresip and it
//! answers by itself. In each, the audio is checked by frequency on both
//! sides (what we record, and the WAV baresip wrote), and the call ends
//! from one side with the other seeing it.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{free_port, until, TempDir};
use media::tone::goertzel;
use sdp::offer_answer::Codec;
use sipsimple::engine::TransportKind;
use sipsimple::notification::{Filter, NotificationData};
use sipsimple::streams::audio::AudioStream;

struct Baresip {
    child: Child,
    dir: TempDir,
    sip_port: u16,
    ctrl_port: u16,
}

impl Drop for Baresip {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_baresip(answer_automatically: bool) -> Baresip {
    let dir = TempDir::new("baresip");
    let sip_port = free_port();
    let ctrl_port = free_port();
    let rtp_base = 30000 + (free_port() % 1000) * 10;
    let config = format!(
        "poll_method epoll\n\
         sip_listen 127.0.0.1:{sip_port}\n\
         call_local_timeout 120\n\
         audio_player aubridge,nil\n\
         audio_source ausine,440\n\
         audio_alert aubridge,nil\n\
         ausrc_srate 48000\n\
         ausrc_channels 2\n\
         auplay_srate 8000\n\
         rtp_ports {rtp_base}-{}\n\
         rtcp_mux no\n\
         net_interface 127.0.0.1\n\
         module_path /usr/lib/baresip/modules\n\
         module g711.so\n\
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
    let answermode = if answer_automatically {
        "auto"
    } else {
        "manual"
    };
    std::fs::write(
        dir.0.join("accounts"),
        format!("<sip:carol@127.0.0.1:{sip_port}>;regint=0;answermode={answermode}\n"),
    )
    .unwrap();
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
        ctrl_port,
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
    b
}

impl Baresip {
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("baresip.log")).unwrap_or_default()
    }

    /// Sends one ctrl_tcp command (netstring JSON).
    fn command(&self, command: &str, params: &str) {
        let json = format!("{{\"command\":\"{command}\",\"params\":\"{params}\",\"token\":\"t\"}}");
        let mut s = TcpStream::connect(("127.0.0.1", self.ctrl_port)).unwrap();
        s.write_all(format!("{}:{json},", json.len()).as_bytes())
            .unwrap();
        // Its reply (or the first event) says the command was taken.
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 512];
        let _ = s.read(&mut buf);
    }

    /// The WAV files sndfile wrote of what baresip decoded.
    fn decoded(&self) -> Vec<PathBuf> {
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
fn read_wav(path: &Path) -> (Vec<i16>, u32) {
    let mut r = hound::WavReader::open(path).unwrap();
    let spec = r.spec();
    let samples: Vec<i16> = r
        .samples::<i16>()
        .step_by(usize::from(spec.channels))
        .filter_map(Result::ok)
        .collect();
    (samples, spec.sample_rate)
}

async fn tone_stream() -> Arc<AudioStream> {
    common::tone_stream(1000.0, vec![Codec::pcmu(), Codec::pcma()]).await
}

fn dominant(samples: &[i16], rate: u32) -> f64 {
    [440.0, 1000.0]
        .into_iter()
        .max_by(|a, b| goertzel(samples, rate, *a).total_cmp(&goertzel(samples, rate, *b)))
        .unwrap()
}

/// Both directions of audio, checked once a call with baresip is up.
fn check_audio(ours: &AudioStream, baresip: &Baresip) {
    let heard = ours.recorded();
    assert!(
        heard.len() >= 8000,
        "we got {} samples from baresip",
        heard.len()
    );
    // Skip the start: resampler and jitter buffer settle.
    let tail = &heard[heard.len() / 4..];
    assert_eq!(dominant(tail, 8000), 440.0, "baresip's 440 Hz reached us");
    assert!(goertzel(tail, 8000, 440.0) > 100.0 * goertzel(tail, 8000, 1000.0));
    let wavs = baresip.decoded();
    assert!(
        !wavs.is_empty(),
        "sndfile wrote no decoded WAV:\n{}",
        baresip.log()
    );
    let (samples, rate) = read_wav(&wavs[0]);
    assert!(
        samples.len() as u32 >= rate,
        "baresip decoded {} samples",
        samples.len()
    );
    let tail = &samples[samples.len() / 4..];
    assert_eq!(dominant(tail, rate), 1000.0, "our 1000 Hz reached baresip");
}

#[tokio::test]
async fn baresip_calls_us_and_we_hang_up() {
    let b = start_baresip(false);
    let app = common::account_app("bob").await;
    let mut all = app.notification_center().subscribe(Filter::all());
    let account = app.account_manager().accounts().remove(0);
    let addr = app
        .engine()
        .unwrap()
        .local_addr(TransportKind::Udp)
        .unwrap();
    b.command(
        "dial",
        &format!("sip:{}@{addr}", account.contact_username()),
    );

    let session = common::incoming_session(&app, &mut all).await;
    assert!(session
        .remote_user_agent()
        .is_some_and(|ua| ua.to_ascii_lowercase().contains("baresip")));
    session.send_ring_indication().await.unwrap();
    let audio = tone_stream().await;
    session.accept(vec![audio.clone()]).await.unwrap();
    until(&mut all, "SIPSessionDidStart").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    session.end().await.unwrap();
    let ended = until(&mut all, "SIPSessionDidEnd").await;
    assert!(matches!(
        ended.last().unwrap().data,
        NotificationData::SIPSessionDidEnd {
            originator: "local",
            ..
        }
    ));
    // sndfile closes its WAV when the call is gone.
    tokio::time::sleep(Duration::from_millis(500)).await;
    check_audio(&audio, &b);
    assert!(
        b.log().contains("terminated") || b.log().contains("closed"),
        "{}",
        b.log()
    );
    app.stop();
}

#[tokio::test]
async fn we_call_baresip_it_answers_and_hangs_up() {
    let b = start_baresip(true);
    let app = common::account_app("alice").await;
    let mut all = app.notification_center().subscribe(Filter::all());
    let account = app.account_manager().accounts().remove(0);
    let audio = tone_stream().await;
    app.session_manager()
        .connect(
            &account,
            &format!("sip:carol@127.0.0.1:{}", b.sip_port),
            vec![audio.clone()],
        )
        .await
        .unwrap();
    until(&mut all, "SIPSessionDidStart").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    b.command("hangup", "");
    let ended = until(&mut all, "SIPSessionDidEnd").await;
    assert!(matches!(
        ended.last().unwrap().data,
        NotificationData::SIPSessionDidEnd {
            originator: "remote",
            ..
        }
    ));
    tokio::time::sleep(Duration::from_millis(500)).await;
    check_audio(&audio, &b);
    app.stop();
}

/// baresip puts our call on hold and resumes it (re-INVITEs with
/// sendonly, then sendrecv): we see the hold changes, and we hang up.
#[tokio::test]
async fn baresip_holds_and_resumes_our_call() {
    let b = start_baresip(true);
    let app = common::account_app("alice").await;
    let mut all = app.notification_center().subscribe(Filter::all());
    let account = app.account_manager().accounts().remove(0);
    let audio = tone_stream().await;
    let call = app
        .session_manager()
        .connect(
            &account,
            &format!("sip:carol@127.0.0.1:{}", b.sip_port),
            vec![audio.clone()],
        )
        .await
        .unwrap();
    until(&mut all, "SIPSessionDidStart").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    b.command("hold", "");
    let held = until(&mut all, "SIPSessionDidChangeHoldState").await;
    assert!(
        matches!(
            held.last().unwrap().data,
            NotificationData::SIPSessionDidChangeHoldState {
                originator: "remote",
                on_hold: true,
                ..
            }
        ),
        "{}",
        b.log()
    );
    assert!(call.on_hold());
    b.command("resume", "");
    let resumed = until(&mut all, "SIPSessionDidChangeHoldState").await;
    assert!(matches!(
        resumed.last().unwrap().data,
        NotificationData::SIPSessionDidChangeHoldState { on_hold: false, .. }
    ));
    assert!(!call.on_hold());
    call.end().await.unwrap();
    until(&mut all, "SIPSessionDidEnd").await;
    app.stop();
}

/// DTMF to baresip as RFC 4733 events: baresip reports each key and its
/// end.
#[tokio::test]
async fn baresip_receives_our_dtmf() {
    let b = start_baresip(true);
    let app = common::account_app("alice").await;
    let mut all = app.notification_center().subscribe(Filter::all());
    let account = app.account_manager().accounts().remove(0);
    let audio = tone_stream().await;
    let call = app
        .session_manager()
        .connect(
            &account,
            &format!("sip:carol@127.0.0.1:{}", b.sip_port),
            vec![audio.clone()],
        )
        .await
        .unwrap();
    until(&mut all, "SIPSessionDidStart").await;
    for d in ['4', '2'] {
        audio.send_dtmf(d).unwrap();
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    let log = b.log();
    // baresip logs each RFC 4733 packet as "received event: 'K' (end=E)".
    let events: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("received event:"))
        .collect();
    for key in ["'4' (end=1)", "'2' (end=1)"] {
        assert!(
            events.iter().any(|l| l.contains(key)),
            "no {key} in baresip's log:\n{log}"
        );
    }
    call.end().await.unwrap();
    until(&mut all, "SIPSessionDidEnd").await;
    app.stop();
}
