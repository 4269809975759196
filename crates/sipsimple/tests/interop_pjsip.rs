//! Calls with PJSIP 2.15 (the pjsua2 Python binding, the C stack
//! python-sipsimple was built on), through our own peer script
//! (tests/pjsua2/peer.py) started per test. `scripts/test.sh` installs
//! the binding into a venv (`$SIPSIMPLE_PJ_VENV`, default
//! ~/.cache/sipsimple-rs/pjvenv).
//!
//! pjsua2 plays 440 Hz and records what it gets, we play 1000 Hz and
//! record what we get, and both recordings are checked by frequency.
//! Calls both ways, directly and through Kamailio with digest auth, with
//! PCMU, PCMA and G.722; hold and resume by either side; DTMF both ways; our
//! 486/603 and our CANCEL as pjsua2 reports them. The peer prints one line
//! per event it sees ("codec PCMA", "media remote-hold", "dtmf 4",
//! "disconnected 487"), which is what the tests check on its side.

mod common;
mod kamailio;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::{free_port, until, TempDir};
use media::tone::goertzel;
use sdp::offer_answer::Codec;
use sipsimple::notification::{Filter, NotificationData};
use sipsimple::streams::audio::{read_wav, AudioStream};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

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
    lines: UnboundedReceiver<String>,
    seen: Vec<String>,
    _dir: TempDir,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts tests/pjsua2/peer.py in `role` ("answer" or "call") with the
/// extra `args`, and waits for it to be ready (registered, when given a
/// registrar).
async fn start_peer(role: &str, args: &[&str]) -> Peer {
    let dir = TempDir::new("pjsua2");
    let port = free_port();
    let record = dir.0.join("pjsua2.wav");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/pjsua2/peer.py");
    let mut child = Command::new(python())
        .arg(script)
        .arg(role)
        .args(["--port", &port.to_string(), "--tone", "440"])
        .arg("--record")
        .arg(&record)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the pjsua2 peer starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = unbounded_channel();
    std::thread::spawn(move || {
        use std::io::{BufRead, BufReader};
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    let mut peer = Peer {
        child,
        port,
        record,
        lines,
        seen: Vec::new(),
        _dir: dir,
    };
    peer.line("ready").await;
    peer
}

impl Peer {
    /// Waits (20 s at most) for the peer to print `want`.
    async fn line(&mut self, want: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(l)) => {
                    let found = l == want;
                    self.seen.push(l);
                    if found {
                        return;
                    }
                }
                Ok(None) | Err(_) => {
                    panic!(
                        "the pjsua2 peer never said {want:?}; it said {:?}",
                        self.seen
                    )
                }
            }
        }
    }

    /// Waits for the peer to exit (it hangs up or sees our BYE), checks
    /// that it heard our 1000 Hz, and returns what it recorded (8 kHz).
    async fn heard_our_tone(mut self) -> Vec<i16> {
        let mut status = None;
        for _ in 0..150 {
            status = self.child.try_wait().unwrap();
            if status.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let status = status.expect("the pjsua2 peer finishes");
        assert!(
            status.success(),
            "the pjsua2 peer's call did not go through: {:?}",
            self.seen
        );
        let heard = read_wav(&self.record).unwrap();
        assert!(
            heard.len() >= 8000,
            "pjsua2 recorded {} samples",
            heard.len()
        );
        let tail = &heard[heard.len() / 4..];
        assert!(louder(tail, 1000.0, 440.0), "pjsua2 heard our 1000 Hz");
        heard
    }
}

async fn stream() -> Arc<AudioStream> {
    common::tone_stream(1000.0, vec![Codec::pcmu(), Codec::pcma()]).await
}

fn louder(samples: &[i16], f: f64, than: f64) -> bool {
    louder_at(samples, 8000, f, than)
}

fn louder_at(samples: &[i16], rate: u32, f: f64, than: f64) -> bool {
    goertzel(samples, rate, f) > 100.0 * goertzel(samples, rate, than)
}

/// What we kept, at the stream's rate (16 kHz for G.722).
fn we_heard_pjsip(audio: &AudioStream) {
    let heard = audio.recorded();
    let rate = audio.recorded_rate();
    assert!(
        heard.len() >= rate as usize,
        "we got {} samples",
        heard.len()
    );
    assert!(
        louder_at(&heard[heard.len() / 4..], rate, 440.0, 1000.0),
        "we heard pjsua2's 440 Hz"
    );
}

/// We call the peer (answering with `args`); returns once the call is up.
async fn call_peer(
    app: &sipsimple::application::SipApplication,
    all: &mut sipsimple::notification::Subscription,
    peer: &Peer,
) -> (sipsimple::session::Session, Arc<AudioStream>) {
    call_peer_with(app, all, peer, stream().await).await
}

async fn call_peer_with(
    app: &sipsimple::application::SipApplication,
    all: &mut sipsimple::notification::Subscription,
    peer: &Peer,
    audio: Arc<AudioStream>,
) -> (sipsimple::session::Session, Arc<AudioStream>) {
    let account = app.account_manager().accounts().remove(0);
    let session = app
        .session_manager()
        .connect(
            &account,
            &format!("sip:pjsua@127.0.0.1:{}", peer.port),
            vec![audio.clone()],
        )
        .await
        .unwrap();
    until(all, "SIPSessionDidStart").await;
    (session, audio)
}

/// A call both ways with the peer offering or accepting only `codec`:
/// both sides say that codec was chosen, and the audio arrives. We
/// offer and accept G.722, PCMU and PCMA.
async fn call_with_codec(we_call: bool, codec: &str) {
    call_with(we_call, codec, None).await;
}

/// As [`call_with_codec`], with SDES-keyed SRTP mandatory on the peer
/// (`srtp`: its `--srtp`) and wanted on ours: the call must be
/// encrypted for any audio to be heard.
async fn call_with(we_call: bool, codec: &str, srtp: Option<&str>) {
    use sipsimple::streams::audio::sdes::SrtpPolicy;
    let account = if srtp.is_some() {
        "rtp.srtp_encryption = \"optional\"\n"
    } else {
        ""
    };
    let app = common::account_app_with("alice", "", account).await;
    let mut all = app.notification_center().subscribe(Filter::all());
    let ours = || async {
        let s =
            common::tone_stream(1000.0, vec![Codec::g722(), Codec::pcmu(), Codec::pcma()]).await;
        if srtp.is_some() {
            s.set_srtp_policy(SrtpPolicy::Mandatory);
        }
        s
    };
    let mut extra = vec!["--codec", codec, "--seconds", "2"];
    if let Some(mode) = srtp {
        extra.extend(["--srtp", mode]);
    }
    let (mut peer, audio) = if we_call {
        let peer = start_peer("answer", &extra).await;
        let (_session, audio) = call_peer_with(&app, &mut all, &peer, ours().await).await;
        (peer, audio)
    } else {
        let uri = common::contact_uri(&app);
        let mut args = extra.clone();
        args.extend(["--uri", uri.as_str()]);
        let peer = start_peer("call", &args).await;
        let session = common::incoming_session(&app, &mut all).await;
        session.send_ring_indication().await.unwrap();
        let audio = ours().await;
        session.accept(vec![audio.clone()]).await.unwrap();
        until(&mut all, "SIPSessionDidStart").await;
        (peer, audio)
    };
    assert_eq!(audio.codec().as_deref(), Some(codec));
    assert_eq!(audio.srtp_active(), srtp.is_some());
    let rate = if codec == "G722" { 16000 } else { 8000 };
    assert_eq!(audio.sample_rate(), Some(rate));
    peer.line(&format!("codec {codec}")).await;
    // The peer hangs up after 2 s: a BYE from PJSIP ends our side.
    until(&mut all, "SIPSessionDidEnd").await;
    we_heard_pjsip(&audio);
    let theirs = peer.heard_our_tone().await;
    // Both recordings last about as long as the call (2.3 s of media:
    // the peer's 0.3 s codec report, then its 2 s).
    for (who, samples, rate) in [
        ("we", audio.recorded().len(), audio.recorded_rate()),
        ("pjsua2", theirs.len(), 8000),
    ] {
        let seconds = samples as f64 / f64::from(rate);
        assert!(
            (1.8..=3.0).contains(&seconds),
            "{who} recorded {seconds:.2} s of a 2.3 s call"
        );
    }
    app.stop();
}

/// SRTP with SDES keys against PJSIP's SRTP (libsrtp), mandatory on its
/// side, both ways.
#[tokio::test]
async fn srtp_calls_with_pjsip_both_ways() {
    call_with(true, "PCMU", Some("mandatory")).await;
    call_with(false, "G722", Some("mandatory")).await;
}

#[tokio::test]
async fn we_call_pjsip_with_pcmu_and_audio_flows_both_ways() {
    call_with_codec(true, "PCMU").await;
}

#[tokio::test]
async fn we_call_pjsip_with_pcma_and_audio_flows_both_ways() {
    call_with_codec(true, "PCMA").await;
}

#[tokio::test]
async fn we_call_pjsip_with_g722_and_audio_flows_both_ways() {
    call_with_codec(true, "G722").await;
}

#[tokio::test]
async fn pjsip_calls_us_with_g722_and_audio_flows_both_ways() {
    call_with_codec(false, "G722").await;
}

#[tokio::test]
async fn pjsip_calls_us_with_pcmu_and_audio_flows_both_ways() {
    call_with_codec(false, "PCMU").await;
}

#[tokio::test]
async fn pjsip_calls_us_with_pcma_and_audio_flows_both_ways() {
    call_with_codec(false, "PCMA").await;
}

/// We hold PJSIP and resume: it reports the remote hold and then active
/// media again, we report our local hold changes, and our tone reaches
/// it after the resume.
#[tokio::test]
async fn we_hold_and_resume_pjsip() {
    let app = common::account_app("alice").await;
    let mut all = app.notification_center().subscribe(Filter::all());
    let mut peer = start_peer("answer", &["--seconds", "15"]).await;
    let (session, _audio) = call_peer(&app, &mut all, &peer).await;
    peer.line("media active").await;
    session.hold().await.unwrap();
    let held = until(&mut all, "SIPSessionDidChangeHoldState").await;
    assert_eq!(common::hold_state(&held), ("local", true));
    peer.line("media remote-hold").await;
    assert!(session.on_hold());
    session.unhold().await.unwrap();
    let resumed = until(&mut all, "SIPSessionDidChangeHoldState").await;
    assert_eq!(common::hold_state(&resumed), ("local", false));
    peer.line("media active").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    session.end().await.unwrap();
    until(&mut all, "SIPSessionDidEnd").await;
    peer.line("disconnected 200").await;
    peer.heard_our_tone().await;
    app.stop();
}

/// PJSIP holds our call and resumes it (re-INVITEs sendonly, then
/// sendrecv): we see both hold changes as remote.
#[tokio::test]
async fn pjsip_holds_and_resumes_our_call() {
    let app = common::account_app("alice").await;
    let mut all = app.notification_center().subscribe(Filter::all());
    let mut peer = start_peer("answer", &["--hold", "--seconds", "15"]).await;
    let (session, _audio) = call_peer(&app, &mut all, &peer).await;
    let held = until(&mut all, "SIPSessionDidChangeHoldState").await;
    assert_eq!(common::hold_state(&held), ("remote", true));
    peer.line("held").await;
    let resumed = until(&mut all, "SIPSessionDidChangeHoldState").await;
    assert_eq!(common::hold_state(&resumed), ("remote", false));
    peer.line("resumed").await;
    assert!(!session.on_hold());
    session.end().await.unwrap();
    until(&mut all, "SIPSessionDidEnd").await;
    app.stop();
}

/// RFC 4733 DTMF both ways: PJSIP reports our 4 and 2, we report its 1
/// and 3 as AudioStreamGotDTMF.
#[tokio::test]
async fn dtmf_flows_both_ways_with_pjsip() {
    let app = common::account_app("alice").await;
    let mut all = app.notification_center().subscribe(Filter::all());
    let mut peer = start_peer("answer", &["--dtmf", "13", "--seconds", "15"]).await;
    let (session, audio) = call_peer(&app, &mut all, &peer).await;
    let mut got = Vec::new();
    while got.len() < 2 {
        let n = until(&mut all, "AudioStreamGotDTMF").await;
        if let NotificationData::AudioStreamGotDTMF { digit } = n.last().unwrap().data {
            got.push(digit);
        }
    }
    assert_eq!(got, ['1', '3']);
    for d in ['4', '2'] {
        audio.send_dtmf(d).unwrap();
    }
    peer.line("dtmf 4").await;
    peer.line("dtmf 2").await;
    session.end().await.unwrap();
    until(&mut all, "SIPSessionDidEnd").await;
    app.stop();
}

/// PJSIP calls us and we refuse with 486, then 603: it reports each code.
#[tokio::test]
async fn pjsip_sees_our_486_and_603() {
    let app = common::account_app("bob").await;
    let mut all = app.notification_center().subscribe(Filter::all());
    for code in [486, 603] {
        let uri = common::contact_uri(&app);
        let mut peer = start_peer("call", &["--uri", &uri]).await;
        let session = common::incoming_session(&app, &mut all).await;
        session.reject(code, None).await.unwrap();
        let failed = until(&mut all, "SIPSessionDidFail").await;
        assert!(matches!(
            failed.last().unwrap().data,
            NotificationData::SIPSessionDidFail { originator: "local", code: c, .. } if c == code
        ));
        peer.line(&format!("disconnected {code}")).await;
    }
    app.stop();
}

/// We call PJSIP, it rings, and we give up: our CANCEL reaches it and it
/// reports the INVITE ended with 487.
#[tokio::test]
async fn pjsip_sees_our_cancel() {
    let app = common::account_app("alice").await;
    let mut all = app.notification_center().subscribe(Filter::all());
    let mut peer = start_peer("answer", &["--answer", "180"]).await;
    let account = app.account_manager().accounts().remove(0);
    let session = app
        .session_manager()
        .connect(
            &account,
            &format!("sip:pjsua@127.0.0.1:{}", peer.port),
            vec![stream().await],
        )
        .await
        .unwrap();
    until(&mut all, "SIPSessionGotRingIndication").await;
    session.end().await.unwrap();
    let failed = until(&mut all, "SIPSessionDidFail").await;
    assert!(
        matches!(
            failed.last().unwrap().data,
            NotificationData::SIPSessionDidFail {
                originator: "local",
                code: 487,
                ..
            }
        ),
        "{:?}",
        failed.last().unwrap().data
    );
    peer.line("disconnected 487").await;
    app.stop();
}

/// Both registered with Kamailio (digest auth for REGISTER and INVITE):
/// we call PJSIP by its address of record, then PJSIP calls us; the
/// audio arrives both ways each time.
#[tokio::test]
async fn calls_with_pjsip_through_kamailio_with_auth() {
    let k = kamailio::start_kamailio();
    let registrar = format!("127.0.0.1:{}", k.udp);
    let (app, mut all) = common::registered_app(k.udp, "alice").await;
    let account = app.account_manager().accounts().remove(0);

    let peer_args = ["--registrar", &registrar, "--user", "bob", "--seconds", "2"];
    let mut peer = start_peer("answer", &peer_args).await;
    assert!(peer.seen.contains(&"registered".to_owned()));
    let audio = stream().await;
    app.session_manager()
        .connect(&account, "sip:bob@sipsimple.test", vec![audio.clone()])
        .await
        .unwrap();
    until(&mut all, "SIPSessionDidStart").await;
    peer.line("confirmed").await;
    until(&mut all, "SIPSessionDidEnd").await;
    we_heard_pjsip(&audio);
    peer.heard_our_tone().await;

    let mut args = peer_args.to_vec();
    args.extend(["--uri", "sip:alice@sipsimple.test"]);
    let mut peer = start_peer("call", &args).await;
    let session = common::incoming_session(&app, &mut all).await;
    assert!(session.remote_identity().contains("bob@sipsimple.test"));
    let audio = stream().await;
    session.accept(vec![audio.clone()]).await.unwrap();
    until(&mut all, "SIPSessionDidStart").await;
    peer.line("confirmed").await;
    until(&mut all, "SIPSessionDidEnd").await;
    we_heard_pjsip(&audio);
    peer.heard_our_tone().await;
    app.stop();
}
