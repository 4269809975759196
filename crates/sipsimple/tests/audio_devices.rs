//! Calls heard through the applications' voice devices: each application
//! runs its voice mixer on WAV files (`audio.input_device = "wav:..."`
//! as the microphone, `audio.output_device` as the speaker), the audio
//! streams join those mixers, and what each side's speaker file holds is
//! the other side's microphone tone. A WavePlayer in a stream's bridge is
//! heard by the peer; a WaveRecorder there records the call.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::{incoming_session, until, write_tone, TempDir};
use media::tone::goertzel;
use sipsimple::application::SipApplication;
use sipsimple::audio::{backend::read_wav_at, AudioPort, PlayOptions, WavePlayer, WaveRecorder};
use sipsimple::notification::Filter;
use sipsimple::streams::audio::AudioStream;
use sipsimple::streams::MediaStream;

/// An application whose voice device is `mic` and `speaker` (WAV files)
/// with its mixer at `rate`.
async fn app_with_devices(user: &str, rate: u32, mic: &Path, speaker: &Path) -> SipApplication {
    let app = SipApplication::new();
    let config = format!(
        "local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = [\"udp\"]\n\
         [audio]\nsample_rate = {rate}\ninput_device = \"wav:{}\"\noutput_device = \"wav:{}\"\n\
         [accounts.\"{user}@example.test\"]\nenabled = true\nregistration.enabled = false\n",
        mic.display(),
        speaker.display()
    );
    app.start(sipsimple::config::MemoryBackend::with(
        config.parse().unwrap(),
    ))
    .await
    .unwrap();
    app
}

fn power(samples: &[i16], rate: u32, hz: f64) -> f64 {
    goertzel(samples, rate, hz)
}

#[tokio::test]
async fn each_side_hears_the_other_microphone_on_its_speaker() {
    let dir = TempDir::new("devices");
    write_tone(&dir.0.join("alice-mic.wav"), 16000, 440.0, 1.0);
    write_tone(&dir.0.join("bob-mic.wav"), 8000, 1000.0, 1.0);
    // Alice's mixer runs at 16 kHz, bob's at 48 kHz: both convert.
    let alice = app_with_devices(
        "alice",
        16000,
        &dir.0.join("alice-mic.wav"),
        &dir.0.join("alice-speaker.wav"),
    )
    .await;
    let bob = app_with_devices(
        "bob",
        48000,
        &dir.0.join("bob-mic.wav"),
        &dir.0.join("bob-speaker.wav"),
    )
    .await;
    assert_eq!(alice.voice_audio_mixer().unwrap().sample_rate(), 16000);
    assert!(alice
        .voice_audio_bridge()
        .unwrap()
        .contains(&(alice.voice_audio_device().unwrap() as Arc<dyn AudioPort>)));
    assert!(alice.alert_audio_mixer().is_some());

    let mut alice_all = alice.notification_center().subscribe(Filter::all());
    let mut bob_all = bob.notification_center().subscribe(Filter::all());
    let (call, stream) = common::call_on_voice_mixer(&alice, &bob).await;
    let answer = incoming_session(&bob, &mut bob_all).await;
    // Bob takes the stream his registry made: it is on his voice mixer.
    let proposed = answer.proposed_streams().unwrap();
    let bobs = proposed[0].clone().downcast::<AudioStream>().unwrap();
    assert!(bobs.port().is_some(), "attached to bob's voice mixer");
    answer.accept(proposed).await.unwrap();
    until(&mut alice_all, "SIPSessionDidStart").await;
    until(&mut bob_all, "SIPSessionDidStart").await;
    let bridge = stream.bridge().unwrap();
    assert!(
        bridge.contains(&stream.port().unwrap()),
        "active: in its bridge"
    );

    // A recorder in alice's stream bridge records the call (her mic and
    // what bob sends).
    let rec = WaveRecorder::new(&alice.voice_audio_mixer().unwrap(), &dir.0.join("call.wav"));
    rec.start().unwrap();
    bridge.add(&(rec.clone() as Arc<dyn AudioPort>)).unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // Holding takes the stream out of its bridge.
    call.hold().await.unwrap();
    until(&mut alice_all, "SIPSessionDidChangeHoldState").await;
    assert!(!bridge.contains(&stream.port().unwrap()));
    call.unhold().await.unwrap();
    until(&mut alice_all, "SIPSessionDidChangeHoldState").await;
    assert!(bridge.contains(&stream.port().unwrap()));

    // A WavePlayer in alice's stream bridge is heard by bob.
    write_tone(&dir.0.join("prompt.wav"), 16000, 1800.0, 1.0);
    let player = WavePlayer::new(
        &alice.voice_audio_mixer().unwrap(),
        &dir.0.join("prompt.wav"),
        PlayOptions::default(),
    );
    bridge.add(&(player.clone() as Arc<dyn AudioPort>)).unwrap();
    player.start().unwrap();
    tokio::time::sleep(Duration::from_millis(900)).await;
    rec.stop();
    call.end().await.unwrap();
    until(&mut bob_all, "SIPSessionDidEnd").await;
    drop(player);
    alice.stop();
    bob.stop();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let bob_heard = read_wav_at(&dir.0.join("bob-speaker.wav"), 8000).unwrap();
    let alice_heard = read_wav_at(&dir.0.join("alice-speaker.wav"), 8000).unwrap();
    assert!(bob_heard.len() > 8000 && alice_heard.len() > 8000);
    let b = &bob_heard[bob_heard.len() / 4..];
    let a = &alice_heard[alice_heard.len() / 4..];
    assert!(
        power(b, 8000, 440.0) > 100.0 * power(b, 8000, 700.0),
        "bob hears alice's mic"
    );
    assert!(
        power(b, 8000, 1000.0) * 10.0 < power(b, 8000, 440.0),
        "not his own"
    );
    assert!(
        power(b, 8000, 1800.0) > 100.0 * power(b, 8000, 700.0),
        "and alice's prompt"
    );
    assert!(
        power(a, 8000, 1000.0) > 100.0 * power(a, 8000, 700.0),
        "alice hears bob's mic"
    );
    assert!(
        power(a, 8000, 440.0) * 10.0 < power(a, 8000, 1000.0),
        "not her own"
    );
    let call_audio = read_wav_at(&dir.0.join("call.wav"), 8000).unwrap();
    assert!(power(&call_audio, 8000, 440.0) > 100.0 * power(&call_audio, 8000, 700.0));
    assert!(power(&call_audio, 8000, 1000.0) > 100.0 * power(&call_audio, 8000, 700.0));
    stream.end();
}

#[tokio::test]
async fn a_device_setting_that_is_not_a_device_is_refused_at_start() {
    let app = SipApplication::new();
    let config = "[audio]\ninput_device = \"hw:0\"\n";
    let e = app
        .start(sipsimple::config::MemoryBackend::with(
            config.parse().unwrap(),
        ))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("audio.input_device"), "{e}");
    let missing = "[audio]\ninput_device = \"wav:/nonexistent/x.wav\"\n";
    let e = app
        .start(sipsimple::config::MemoryBackend::with(
            missing.parse().unwrap(),
        ))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("/nonexistent/x.wav"), "{e}");
}
