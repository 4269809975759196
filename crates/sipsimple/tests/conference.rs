//! AudioConference with four real calls: alice's application calls two
//! applications of ours (bob, dave), baresip and pjsua2 (PJSIP, through
//! tests/pjsua2/peer.py as in interop_pjsip.rs), and joins the calls in
//! a conference with her own device. Every party plays its own tone:
//! alice's microphone (a WAV device) 1000 Hz, bob 500 Hz, dave 700 Hz,
//! baresip 440 Hz (ausine), pjsua2 850 Hz. Each party must hear the three
//! others and never itself (checked by frequency in what it received);
//! while alice holds the conference her tone leaves everyone's audio and
//! the others go on hearing each other; the conference bridge takes a
//! WavePlayer heard by all and a WaveRecorder of all.

mod baresip;
mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{contact_uri, incoming_session, until, write_tone, TempDir};
use media::tone::goertzel;
use sdp::offer_answer::Codec;
use sipsimple::application::SipApplication;
use sipsimple::audio::{backend::read_wav_at, AudioPort, PlayOptions, WavePlayer, WaveRecorder};
use sipsimple::conference::{AudioConference, ConferenceError};
use sipsimple::notification::{Filter, Subscription};
use sipsimple::session::Session;
use sipsimple::streams::audio::{AudioSource, AudioStream};

const ALICE: f64 = 1000.0;
const BOB: f64 = 500.0;
const DAVE: f64 = 700.0;
const BARESIP: f64 = 440.0;
const PJSUA2: f64 = 850.0;
const PROMPT: f64 = 1800.0;
/// No party plays this: the floor a tone must stand out of.
const NOISE: f64 = 1870.0;

/// tests/pjsua2/peer.py answering one call: it plays `PJSUA2` Hz and
/// records what arrives (8 kHz) until we hang up.
struct Pjsua2 {
    child: std::process::Child,
    port: u16,
    record: std::path::PathBuf,
}

impl Drop for Pjsua2 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_pjsua2(dir: &Path) -> Pjsua2 {
    use std::io::BufRead;
    let venv = std::env::var_os("SIPSIMPLE_PJ_VENV")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(&std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/sipsimple-rs/pjvenv")
        });
    let port = common::free_port();
    let record = dir.join("pjsua2.wav");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pjsua2/peer.py");
    let mut child = std::process::Command::new(venv.join("bin/python"))
        .arg(script)
        .args(["answer", "--port", &port.to_string(), "--seconds", "120"])
        .args(["--tone", &PJSUA2.to_string(), "--record"])
        .arg(&record)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("the pjsua2 peer starts (scripts/test.sh installs its venv)");
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(stdout).lines();
    loop {
        match lines.next() {
            Some(Ok(l)) if l == "ready" => break,
            Some(Ok(_)) => {}
            _ => panic!("the pjsua2 peer did not get ready"),
        }
    }
    // Its later lines are not needed; reading them keeps its pipe open.
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
    Pjsua2 {
        child,
        port,
        record,
    }
}

/// An application whose voice device is a WAV microphone playing `hz`
/// and a WAV speaker, its mixer at 16 kHz.
async fn app_with_tone(dir: &Path, user: &str, hz: f64) -> SipApplication {
    let mic = dir.join(format!("{user}-mic.wav"));
    write_tone(&mic, 16000, hz, 1.0);
    let app = SipApplication::new();
    let config = format!(
        "local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = [\"udp\"]\n\
         [audio]\nsample_rate = 16000\ninput_device = \"wav:{}\"\noutput_device = \"wav:{}\"\n\
         [accounts.\"{user}@example.test\"]\nenabled = true\nregistration.enabled = false\n",
        mic.display(),
        dir.join(format!("{user}-speaker.wav")).display()
    );
    app.start(sipsimple::config::MemoryBackend::with(
        config.parse().unwrap(),
    ))
    .await
    .unwrap();
    app
}

/// Alice calls `uri` with a stream on her voice mixer.
async fn call(alice: &SipApplication, uri: &str, codec: Codec) -> (Session, Arc<AudioStream>) {
    let stream = Arc::new(
        AudioStream::new(
            "127.0.0.1".parse().unwrap(),
            (50000, 50500),
            vec![codec],
            AudioSource::Silence,
        )
        .await
        .unwrap(),
    );
    stream.attach(&alice.voice_audio_mixer().unwrap()).unwrap();
    let account = alice.account_manager().accounts().remove(0);
    let session = alice
        .session_manager()
        .connect(&account, uri, vec![stream.clone()])
        .await
        .unwrap();
    (session, stream)
}

/// The callee takes the stream its registry made (on its voice mixer),
/// keeping what it receives.
async fn answer(app: &SipApplication, all: &mut Subscription) -> (Session, Arc<AudioStream>) {
    let session = incoming_session(app, all).await;
    let proposed = session.proposed_streams().unwrap();
    let stream = proposed[0].clone().downcast::<AudioStream>().unwrap();
    stream.keep_received(120);
    session.accept(proposed).await.unwrap();
    (session, stream)
}

fn level(s: &[i16], rate: u32, hz: f64) -> f64 {
    goertzel(s, rate, hz)
}

/// `present` all stand out of the noise; each of `absent` is far below
/// the weakest of them.
fn check(who: &str, s: &[i16], rate: u32, present: &[f64], absent: &[f64]) {
    assert!(s.len() as u32 >= rate, "{who}: {} samples", s.len());
    let noise = level(s, rate, NOISE);
    let mut weakest = f64::MAX;
    for hz in present {
        let l = level(s, rate, *hz);
        assert!(
            l > 50.0 * noise,
            "{who} hears {hz} Hz ({l:.3e} vs noise {noise:.3e})"
        );
        weakest = weakest.min(l);
    }
    for hz in absent {
        let l = level(s, rate, *hz);
        assert!(
            l * 50.0 < weakest,
            "{who} does not hear {hz} Hz ({l:.3e} vs {weakest:.3e})"
        );
    }
}

/// What a stream received between two marks of `recorded().len()`.
fn between(stream: &AudioStream, (from, to): (usize, usize)) -> Vec<i16> {
    stream.recorded().get(from..to).unwrap_or_default().to_vec()
}

#[tokio::test]
async fn four_calls_in_a_conference_hear_each_other_and_the_local_party() {
    let dir = TempDir::new("conference");
    let b = baresip::start_baresip(true);
    let pj = start_pjsua2(&dir.0);
    let alice = app_with_tone(&dir.0, "alice", ALICE).await;
    let bob = app_with_tone(&dir.0, "bob", BOB).await;
    let dave = app_with_tone(&dir.0, "dave", DAVE).await;
    let mut alice_all = alice.notification_center().subscribe(Filter::all());
    let mut bob_all = bob.notification_center().subscribe(Filter::all());
    let mut dave_all = dave.notification_center().subscribe(Filter::all());

    // Four codecs: the conference mixes whatever each call carries.
    let (to_bob, bob_leg) = call(&alice, &contact_uri(&bob), Codec::pcmu()).await;
    let (bob_call, bob_stream) = answer(&bob, &mut bob_all).await;
    until(&mut alice_all, "SIPSessionDidStart").await;
    let (to_dave, dave_leg) = call(&alice, &contact_uri(&dave), Codec::g722()).await;
    let (dave_call, dave_stream) = answer(&dave, &mut dave_all).await;
    until(&mut alice_all, "SIPSessionDidStart").await;
    let baresip_uri = format!("sip:carol@127.0.0.1:{}", b.sip_port);
    let (to_baresip, baresip_leg) = call(&alice, &baresip_uri, Codec::opus()).await;
    until(&mut alice_all, "SIPSessionDidStart").await;
    let pj_uri = format!("sip:pjsua@127.0.0.1:{}", pj.port);
    let (to_pj, pj_leg) = call(&alice, &pj_uri, Codec::pcma()).await;
    until(&mut alice_all, "SIPSessionDidStart").await;

    let mixer = alice.voice_audio_mixer().unwrap();
    let conference = AudioConference::new(&mixer);
    let device: Arc<dyn AudioPort> = alice.voice_audio_device().unwrap();
    for leg in [&bob_leg, &dave_leg, &baresip_leg, &pj_leg] {
        conference.add(leg).unwrap();
        conference.add(leg).unwrap();
        assert!(
            !leg.bridge().unwrap().contains(&device),
            "the device is the conference's"
        );
    }
    assert_eq!(conference.streams().len(), 4);
    assert!(conference.bridge().contains(&device));
    let all = WaveRecorder::new(&mixer, &dir.0.join("all.wav"));
    all.start().unwrap();
    conference
        .bridge()
        .add(&(all.clone() as Arc<dyn AudioPort>))
        .unwrap();

    let mark = || (bob_stream.recorded().len(), dave_stream.recorded().len());
    let span = |a: (usize, usize), b: (usize, usize)| ((a.0, b.0), (a.1, b.1));
    // Settling: jitter buffers, resamplers, Opus.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let joined = mark();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (bob_joined, dave_joined) = span(joined, mark());

    conference.hold();
    assert!(conference.is_on_hold() && !conference.bridge().contains(&device));
    let held_at = Instant::now();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let held = mark();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (bob_held, dave_held) = span(held, mark());

    conference.unhold();
    assert!(!conference.is_on_hold() && conference.bridge().contains(&device));
    let unheld_at = Instant::now();
    // A prompt for everyone through the conference bridge.
    write_tone(&dir.0.join("prompt.wav"), 16000, PROMPT, 1.0);
    let prompt = WavePlayer::new(
        &mixer,
        &dir.0.join("prompt.wav"),
        PlayOptions {
            loop_count: 0,
            ..PlayOptions::default()
        },
    );
    conference
        .bridge()
        .add(&(prompt.clone() as Arc<dyn AudioPort>))
        .unwrap();
    prompt.start().unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let back = mark();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (bob_back, dave_back) = span(back, mark());
    prompt.stop();
    all.stop();

    // Out of the conference, a stream's bridge has the device again.
    conference.remove(&bob_leg).unwrap();
    assert!(bob_leg.bridge().unwrap().contains(&device));
    assert_eq!(conference.remove(&bob_leg), Err(ConferenceError::NotMember));
    assert_eq!(conference.streams().len(), 3);

    let ended_at = Instant::now();
    for s in [&to_pj, &to_baresip, &to_bob, &to_dave] {
        s.end().await.unwrap();
    }
    until(&mut bob_all, "SIPSessionDidEnd").await;
    until(&mut dave_all, "SIPSessionDidEnd").await;
    drop((bob_call, dave_call));
    // sndfile closes its WAV once the call is gone.
    tokio::time::sleep(Duration::from_millis(700)).await;
    drop(conference);
    alice.stop();
    bob.stop();
    dave.stop();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let others = |me: f64| -> Vec<f64> {
        [ALICE, BOB, DAVE, BARESIP, PJSUA2]
            .into_iter()
            .filter(|hz| *hz != me)
            .collect()
    };
    for (who, me, s, joined, held, back) in [
        ("bob", BOB, &bob_stream, bob_joined, bob_held, bob_back),
        (
            "dave",
            DAVE,
            &dave_stream,
            dave_joined,
            dave_held,
            dave_back,
        ),
    ] {
        // Each at its codec's rate: bob's PCMU 8 kHz, dave's G.722 16 kHz.
        let rate = s.recorded_rate();
        check(who, &between(s, joined), rate, &others(me), &[me, PROMPT]);
        let mut held_present = others(me);
        held_present.retain(|hz| *hz != ALICE);
        check(
            &format!("{who} while alice holds"),
            &between(s, held),
            rate,
            &held_present,
            &[me, ALICE],
        );
        let mut back_present = others(me);
        back_present.push(PROMPT);
        check(
            &format!("{who} after unhold"),
            &between(s, back),
            rate,
            &back_present,
            &[me],
        );
    }

    // baresip's decoded audio and pjsua2's recording: the whole call, and
    // (timed back from the end of each file) the held stretch.
    let wavs = b.decoded();
    assert!(!wavs.is_empty(), "no decoded WAV:\n{}", b.log());
    let mut pj_child = pj;
    for _ in 0..100 {
        if pj_child.child.try_wait().unwrap().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pj_heard = read_wav_at(&pj_child.record, 8000).unwrap();
    for (who, me, (heard, rate)) in [
        ("baresip", BARESIP, baresip::read_wav(&wavs[0])),
        ("pjsua2", PJSUA2, (pj_heard, 8000)),
    ] {
        check(who, &heard, rate, &others(me), &[me]);
        let from_end = |t: Instant| (ended_at - t).as_secs_f64();
        let samples_at = |seconds: f64| {
            heard
                .len()
                .saturating_sub((seconds * f64::from(rate)) as usize)
        };
        let held_part = heard
            .get(samples_at(from_end(held_at) - 0.7)..samples_at(from_end(unheld_at) + 0.5))
            .unwrap_or_default();
        let mut held_present = others(me);
        held_present.retain(|hz| *hz != ALICE);
        check(
            &format!("{who} while alice holds"),
            held_part,
            rate,
            &held_present,
            &[me, ALICE],
        );
    }

    // Alice's speaker: the three others, never her own microphone.
    let speaker = read_wav_at(&dir.0.join("alice-speaker.wav"), 8000).unwrap();
    check(
        "alice",
        &speaker,
        8000,
        &[BOB, DAVE, BARESIP, PJSUA2],
        &[ALICE],
    );
    // The recorder of all: every party and the prompt.
    let everything = read_wav_at(&dir.0.join("all.wav"), 8000).unwrap();
    check(
        "the conference recorder",
        &everything,
        8000,
        &[ALICE, BOB, DAVE, BARESIP, PJSUA2, PROMPT],
        &[],
    );
}
