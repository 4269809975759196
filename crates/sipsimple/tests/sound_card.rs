//! The sound card device. Its link between the card's callbacks and the
//! mixer (`sipsimple::audio::sound_card`: rings, channel and format
//! conversion, rate conversion) is plain code and is tested here in every
//! build, fed as a card would feed it. Then the device settings: `sound`
//! and `sound:NAME` open the card (a build without the `sound-card`
//! feature says so; this machine has no card, so a build with it names
//! the device that did not open), and with nothing set the voice device
//! is the card's default when one opens, else null. Last, with the
//! feature, the whole path through a real sound server: a private
//! PulseAudio whose null sink's monitor is the microphone, reached by
//! cpal through ALSA's pulse plugin; a tone played on the card comes back.

mod common;

use media::tone::{goertzel, ToneGenerator};
use sipsimple::application::{ApplicationError, SipApplication};
use sipsimple::audio::sound_card::{CardLink, Ring};
use sipsimple::audio::DeviceSetting;
use sipsimple::config::MemoryBackend;

fn tone(rate: u32, hz: f64, samples: usize) -> Vec<i16> {
    let mut t = ToneGenerator::new(rate, &[hz], 8000);
    let mut buf = vec![0i16; samples];
    t.fill(&mut buf);
    buf
}

fn dominant(samples: &[i16], rate: u32, candidates: &[f64]) -> f64 {
    candidates
        .iter()
        .copied()
        .max_by(|a, b| goertzel(samples, rate, *a).total_cmp(&goertzel(samples, rate, *b)))
        .unwrap()
}

/// A 48 kHz stereo float microphone, as cpal hands it over, reaches a
/// 16 kHz mixer as 20 ms mono frames of the same tone.
#[test]
fn a_stereo_48k_float_microphone_reaches_a_16k_mixer() {
    let ring = Ring::new(48000);
    let mut link = CardLink::new(16000, Some((ring.clone(), 48000)), None).unwrap();
    let mut frame = vec![0i16; 320];
    assert!(!link.read(&mut frame), "nothing captured yet");
    // 100 ms of 1 kHz in callbacks of 10 ms, left and right equal.
    let mono = tone(48000, 1000.0, 4800);
    for chunk in mono.chunks(480) {
        let stereo: Vec<f32> = chunk
            .iter()
            .flat_map(|s| [f32::from(*s) / 32768.0; 2])
            .collect();
        ring.capture(&stereo, 2);
    }
    let mut heard = Vec::new();
    while link.read(&mut frame) {
        heard.extend_from_slice(&frame);
    }
    assert_eq!(heard.len(), 5 * 320, "five 20 ms frames");
    // Past the resampler's delay, the tone is 1 kHz at 16 kHz.
    let tail = &heard[640..];
    assert_eq!(dominant(tail, 16000, &[440.0, 1000.0, 3000.0]), 1000.0);
    assert!(goertzel(tail, 16000, 1000.0) > 100.0 * goertzel(tail, 16000, 3000.0));
}

/// The mixer's 8 kHz frames play on a 48 kHz stereo 16-bit card: both
/// channels carry the tone; when the mixer falls behind the card plays
/// silence.
#[test]
fn an_8k_mixer_plays_on_a_48k_stereo_card() {
    let ring = Ring::new(48000);
    let mut link = CardLink::new(8000, None, Some((ring.clone(), 48000))).unwrap();
    let mut frame = [0i16; 160];
    assert!(!link.read(&mut frame), "no microphone side");
    let signal = tone(8000, 440.0, 1600);
    for f in signal.chunks(160) {
        link.write(f);
    }
    assert_eq!(ring.len(), 10 * 960, "200 ms at 48 kHz");
    let mut out = vec![0i16; 2 * 9600];
    ring.play(&mut out, 2);
    assert!(ring.is_empty());
    let left: Vec<i16> = out.iter().step_by(2).copied().collect();
    let right: Vec<i16> = out.iter().skip(1).step_by(2).copied().collect();
    assert_eq!(left, right);
    let tail = &left[1920..];
    assert_eq!(dominant(tail, 48000, &[440.0, 1000.0]), 440.0);
    let mut more = vec![1i16; 64];
    ring.play(&mut more, 2);
    assert!(more.iter().all(|s| *s == 0), "underrun plays silence");
}

/// A card that runs ahead of the mixer does not grow the delay: the ring
/// keeps the newest 200 ms.
#[test]
fn the_rings_keep_at_most_200_ms() {
    let ring = Ring::new(16000);
    let second: Vec<i32> = (0..16000).map(|i| i << 16).collect();
    ring.capture(&second, 1);
    assert_eq!(ring.len(), 3200);
    let mut out = vec![0i16; 3200];
    ring.play(&mut out, 1);
    assert_eq!(out[0], 12800_i32 as i16, "the oldest samples went");
    assert_eq!(out[3199], 15999_i32 as i16);
}

#[test]
fn rates_the_link_cannot_convert_are_refused() {
    let r = CardLink::new(16000, Some((Ring::new(11025), 11025)), None);
    assert!(r.is_err());
}

#[test]
fn device_settings_parse_and_say_what_is_accepted() {
    assert_eq!(DeviceSetting::parse(None), Ok(DeviceSetting::Default));
    assert_eq!(DeviceSetting::parse(Some("null")), Ok(DeviceSetting::Null));
    assert_eq!(
        DeviceSetting::parse(Some("sound")),
        Ok(DeviceSetting::Sound("default".into()))
    );
    assert_eq!(
        DeviceSetting::parse(Some("sound:hw:1,0")),
        Ok(DeviceSetting::Sound("hw:1,0".into()))
    );
    assert_eq!(
        DeviceSetting::parse(Some("wav:/tmp/a.wav")),
        Ok(DeviceSetting::Wav("/tmp/a.wav".into()))
    );
    let e = DeviceSetting::parse(Some("speakers")).unwrap_err();
    assert!(e.contains("null, wav:PATH, sound or sound:NAME"), "{e}");
}

async fn start_with(devices: &str) -> (SipApplication, Result<(), ApplicationError>) {
    let app = SipApplication::new();
    let text = format!("local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = [\"udp\"]\n{devices}");
    let r = app.start(MemoryBackend::with(text.parse().unwrap())).await;
    (app, r)
}

/// `sound` asks for the card: a build without the feature refuses it by
/// name; a build with it, on this machine without a card, says which
/// device did not open. Nothing is left running either way.
#[tokio::test]
async fn asking_for_a_sound_card_that_cannot_open_fails_start_clearly() {
    let (app, r) = start_with("[audio]\noutput_device = \"sound:no-such-card\"\n").await;
    let Err(ApplicationError::Audio(e)) = r else {
        panic!("{r:?}");
    };
    assert!(e.starts_with("audio.input_device/output_device: "), "{e}");
    if cfg!(feature = "sound-card") {
        assert!(e.contains("no sound card device \"no-such-card\""), "{e}");
    } else {
        assert!(e.contains("sound-card"), "{e}");
    }
    assert!(app.voice_audio_mixer().is_none());
}

/// With nothing set, the voice device is the card's default one if it
/// opens, else null; this machine has no card.
#[tokio::test]
async fn without_a_setting_the_voice_device_falls_back_to_null_without_a_card() {
    let (app, r) = start_with("").await;
    r.unwrap();
    let device = app.voice_audio_mixer().unwrap().device_description();
    if cfg!(feature = "sound-card") && card_opens() {
        assert_eq!(device, "sound:in=default,out=default");
    } else {
        assert_eq!(device, "null");
    }
    app.stop();
}

#[cfg(feature = "sound-card")]
fn card_opens() -> bool {
    sipsimple::audio::sound_card::SoundCardBackend::open(48000, Some("default"), Some("default"))
        .is_ok()
}

#[cfg(not(feature = "sound-card"))]
fn card_opens() -> bool {
    false
}

/// A private PulseAudio (Debian packages pulseaudio and
/// libasound2-plugins; scripts/test.sh installs them) with one null sink
/// whose monitor is the default source: what is played to the sound card
/// comes back as its microphone, on the server's real-time clock. ALSA's
/// `default` device reaches it through the pulse plugin, found through
/// PULSE_SERVER. Stopped, by PID, when dropped.
#[cfg(feature = "sound-card")]
struct PulseServer {
    child: std::process::Child,
    _dir: common::TempDir,
}

#[cfg(feature = "sound-card")]
impl Drop for PulseServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(feature = "sound-card")]
fn pulse_server() -> PulseServer {
    use std::process::{Command, Stdio};
    let dir = common::TempDir::new("pulse");
    let socket = dir.0.join("native");
    let child = Command::new("pulseaudio")
        .args([
            "-n",
            "--daemonize=no",
            "--exit-idle-time=-1",
            "--disable-shm=yes",
            "--use-pid-file=no",
            "--log-target=stderr",
        ])
        .arg("-L")
        .arg(format!(
            "module-native-protocol-unix socket={} auth-anonymous=1",
            socket.display()
        ))
        .args(["-L", "module-null-sink sink_name=sipsimple_test rate=48000"])
        .env("HOME", &dir.0)
        .env("XDG_RUNTIME_DIR", &dir.0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("pulseaudio is installed (scripts/test.sh installs it)");
    let server = format!("unix:{}", socket.display());
    let pulse = PulseServer { child, _dir: dir };
    let pactl = |args: &[&str]| {
        Command::new("pactl")
            .args(["-s", &server])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let mut up = false;
    for _ in 0..100 {
        if pactl(&["info"]) {
            up = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(up, "pulseaudio did not start");
    assert!(pactl(&["set-default-source", "sipsimple_test.monitor"]));
    // Each nextest test is a process of its own: this reaches only us.
    std::env::set_var("PULSE_SERVER", &server);
    pulse
}

/// Through a real sound server: a 1 kHz WAV plays on the mixer's sound
/// card (cpal → ALSA → PulseAudio's null sink) and comes back as its
/// microphone (the sink's monitor), recorded by a WaveRecorder that hears
/// only the card's input.
#[cfg(feature = "sound-card")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tone_played_on_the_sound_card_comes_back_from_its_microphone() {
    use sipsimple::audio::sound_card::SoundCardBackend;
    use sipsimple::audio::{AudioMixer, AudioPort, PlayOptions, WavePlayer, WaveRecorder};

    let _pulse = pulse_server();
    let dir = common::TempDir::new("card-loop");
    let tone_file = dir.0.join("tone.wav");
    common::write_tone(&tone_file, 16000, 1000.0, 1.0);

    let card = SoundCardBackend::open(16000, Some("default"), Some("default"))
        .unwrap_or_else(|e| panic!("the PulseAudio-backed card opens: {e}"));
    let mixer = AudioMixer::new(Box::new(card));
    assert_eq!(mixer.device_description(), "sound:in=default,out=default");
    let device = mixer.device();
    let player = WavePlayer::new(
        &mixer,
        &tone_file,
        PlayOptions {
            loop_count: 0,
            ..PlayOptions::default()
        },
    );
    let recorded = dir.0.join("mic.wav");
    let recorder = WaveRecorder::new(&mixer, &recorded);
    // player → card output; card input → recorder (and nothing else).
    mixer.connect(
        player.producer_slot().unwrap(),
        device.consumer_slot().unwrap(),
    );
    mixer.connect(
        device.producer_slot().unwrap(),
        recorder.consumer_slot().unwrap(),
    );
    mixer.start();
    player.start().unwrap();
    recorder.start().unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    recorder.stop();
    player.stop();

    let heard = sipsimple::audio::backend::read_wav_at(&recorded, 16000).unwrap();
    assert!(heard.len() >= 2 * 16000, "{} samples recorded", heard.len());
    // The last second: past the server's latency, the tone is back.
    let tail = &heard[heard.len() - 16000..];
    assert_eq!(dominant(tail, 16000, &[440.0, 1000.0, 3000.0]), 1000.0);
    assert!(
        goertzel(tail, 16000, 1000.0) > 100.0 * goertzel(tail, 16000, 3000.0),
        "a clean 1 kHz came back"
    );
}

/// A call with one side on the sound card. Alice sets no audio device:
/// with a sound server running her voice device is the card's default
/// (the spec's default). Bob's microphone is a 1 kHz WAV and his speaker
/// a WAV file. Bob's tone reaches alice's speaker (the null sink), her
/// microphone (its monitor) picks it up and sends it back: bob's speaker
/// file holds his own tone, which only alice's card can have returned.
#[cfg(feature = "sound-card")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_heard_and_answered_through_the_sound_card() {
    use sipsimple::notification::Filter;

    let _pulse = pulse_server();
    let dir = common::TempDir::new("card-call");
    let mic = dir.0.join("bob-mic.wav");
    let speaker = dir.0.join("bob-speaker.wav");
    common::write_tone(&mic, 16000, 1000.0, 1.0);

    let alice = common::account_app("alice").await;
    assert_eq!(
        alice.voice_audio_mixer().unwrap().device_description(),
        "sound:in=default,out=default",
        "unset devices are the sound card's default one"
    );
    let devices = format!(
        "[audio]\nsample_rate = 16000\ninput_device = \"wav:{}\"\noutput_device = \"wav:{}\"\n",
        mic.display(),
        speaker.display()
    );
    let bob = common::account_app_with("bob", &devices, "").await;
    let mut alice_all = alice.notification_center().subscribe(Filter::all());
    let mut bob_all = bob.notification_center().subscribe(Filter::all());
    let (call, _stream) = common::call_on_voice_mixer(&bob, &alice).await;
    // Alice takes the stream her registry made: it is on her card.
    let answer = common::incoming_session(&alice, &mut alice_all).await;
    answer
        .accept(answer.proposed_streams().unwrap())
        .await
        .unwrap();
    common::until(&mut bob_all, "SIPSessionDidStart").await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    call.end().await.unwrap();
    common::until(&mut bob_all, "SIPSessionDidEnd").await;
    bob.stop();
    alice.stop();
    common::until(&mut bob_all, "SIPApplicationDidEnd").await;

    let heard = sipsimple::audio::backend::read_wav_at(&speaker, 16000).unwrap();
    assert!(heard.len() >= 2 * 16000, "{} samples", heard.len());
    let tail = &heard[heard.len() - 16000..];
    assert_eq!(dominant(tail, 16000, &[440.0, 1000.0, 3000.0]), 1000.0);
    assert!(
        goertzel(tail, 16000, 1000.0) > 100.0 * goertzel(tail, 16000, 3000.0),
        "bob's tone came back through alice's card"
    );
}
