//! The audio objects on a mixer ticked by hand (each tick is 20 ms of
//! audio): bridges connect ports in a full mesh, never a port to itself,
//! forget dropped ports and nest; the device reads and writes WAV files
//! and mutes; WavePlayer loops, pauses, scales and notifies; WaveRecorder
//! writes what it hears; TonePlayer plays DTMF and ringback; a mixer at
//! 48 kHz takes an 8 kHz file. What was heard is checked by frequency.

mod common;

use std::sync::Arc;

use common::{write_tone, TempDir};
use media::tone::goertzel;
use sipsimple::audio::{
    backend::read_wav_at, AudioBridge, AudioDevice, AudioError, AudioMixer, AudioPort, NullBackend,
    PlayOptions, TonePlayer, WavBackend, WavePlayer, WaveRecorder,
};
use sipsimple::notification::{Filter, NotificationCenter, NotificationData};

fn null_mixer(rate: u32) -> AudioMixer {
    AudioMixer::new(Box::new(NullBackend { sample_rate: rate }))
}

fn ticks(mixer: &AudioMixer, n: usize) {
    for _ in 0..n {
        mixer.tick();
    }
}

fn port<P: AudioPort + 'static>(p: &Arc<P>) -> Arc<dyn AudioPort> {
    p.clone()
}

fn power(samples: &[i16], rate: u32, hz: f64) -> f64 {
    goertzel(samples, rate, hz)
}

#[test]
fn a_bridge_meshes_its_ports_and_never_a_port_with_itself() {
    let dir = TempDir::new("mesh");
    let mixer = null_mixer(8000);
    write_tone(&dir.0.join("a.wav"), 8000, 440.0, 1.0);
    write_tone(&dir.0.join("b.wav"), 8000, 1000.0, 1.0);
    let a = WavePlayer::new(&mixer, &dir.0.join("a.wav"), PlayOptions::default());
    let b = WavePlayer::new(&mixer, &dir.0.join("b.wav"), PlayOptions::default());
    let rec = WaveRecorder::new(&mixer, &dir.0.join("out.wav"));
    let device = AudioDevice::new(&mixer, false, false);
    let bridge = AudioBridge::new(&mixer);
    for p in [port(&a), port(&b), port(&rec), port(&device)] {
        bridge.add(&p).unwrap();
    }
    bridge.add(&port(&a)).unwrap();
    assert_eq!(
        bridge.ports().len(),
        4,
        "a set: adding twice changes nothing"
    );
    let edges = mixer.connections();
    assert!(edges.iter().all(|(from, to)| from != to), "{edges:?}");
    let dev = device.producer_slot().unwrap();
    assert!(edges.contains(&(a.producer_slot().unwrap(), rec.consumer_slot().unwrap())));
    assert!(edges.contains(&(dev, rec.consumer_slot().unwrap())));
    assert!(edges.contains(&(a.producer_slot().unwrap(), dev)));

    a.start().unwrap();
    b.start().unwrap();
    rec.start().unwrap();
    ticks(&mixer, 25);
    rec.stop();
    let heard = read_wav_at(&dir.0.join("out.wav"), 8000).unwrap();
    assert_eq!(heard.len(), 25 * 160);
    assert!(power(&heard, 8000, 440.0) > 100.0 * power(&heard, 8000, 700.0));
    assert!(power(&heard, 8000, 1000.0) > 100.0 * power(&heard, 8000, 700.0));

    // The recorder is reusable; a new filename keeps the first recording.
    rec.set_filename(&dir.0.join("again.wav")).unwrap();
    assert_eq!(rec.filename(), dir.0.join("again.wav"));
    rec.start().unwrap();
    assert!(
        rec.set_filename(&dir.0.join("x.wav")).is_err(),
        "not while recording"
    );
    ticks(&mixer, 10);
    rec.stop();
    assert_eq!(
        read_wav_at(&dir.0.join("again.wav"), 8000).unwrap().len(),
        10 * 160
    );
    assert_eq!(
        read_wav_at(&dir.0.join("out.wav"), 8000).unwrap().len(),
        25 * 160
    );

    // Another mixer's port is refused; removing a stranger is an error.
    let other = null_mixer(8000);
    let stranger = WaveRecorder::new(&other, &dir.0.join("x.wav"));
    assert_eq!(bridge.add(&port(&stranger)), Err(AudioError::OtherMixer));
    assert_eq!(bridge.remove(&port(&stranger)), Err(AudioError::NotMember));
    bridge.remove(&port(&b)).unwrap();
    assert!(!bridge.contains(&port(&b)));
    assert!(!mixer
        .connections()
        .iter()
        .any(|(from, _)| Some(*from) == b.producer_slot()));
}

#[test]
fn a_dropped_port_leaves_the_bridge_and_the_mixer() {
    let dir = TempDir::new("weak");
    let mixer = null_mixer(8000);
    let bridge = AudioBridge::new(&mixer);
    let rec = WaveRecorder::new(&mixer, &dir.0.join("out.wav"));
    bridge.add(&port(&rec)).unwrap();
    let slots = mixer.slot_count();
    {
        let tones = TonePlayer::new(&mixer);
        bridge.add(&port(&tones)).unwrap();
        assert_eq!(bridge.ports().len(), 2);
        assert_eq!(mixer.slot_count(), slots + 1);
    }
    assert_eq!(bridge.ports().len(), 1, "the bridge held it weakly");
    assert_eq!(mixer.slot_count(), slots);
    let rec_slot = rec.consumer_slot().unwrap();
    assert!(mixer
        .connections()
        .iter()
        .all(|(from, to)| *to != rec_slot || {
            // Only the bridge's own relay still feeds the recorder.
            !bridge.ports().is_empty() && Some(*from) == bridge.consumer_slot()
        }));
    ticks(&mixer, 2);
}

#[test]
fn nested_bridges_pass_audio_both_ways_without_echo() {
    let dir = TempDir::new("nest");
    let mixer = null_mixer(8000);
    write_tone(&dir.0.join("outer.wav"), 8000, 440.0, 2.0);
    write_tone(&dir.0.join("inner.wav"), 8000, 1000.0, 2.0);
    let outer = AudioBridge::new(&mixer);
    let inner = AudioBridge::new(&mixer);
    outer.add(&port(&inner)).unwrap();
    let outer_player = WavePlayer::new(&mixer, &dir.0.join("outer.wav"), PlayOptions::default());
    let inner_player = WavePlayer::new(&mixer, &dir.0.join("inner.wav"), PlayOptions::default());
    let outer_rec = WaveRecorder::new(&mixer, &dir.0.join("outer-rec.wav"));
    let inner_rec = WaveRecorder::new(&mixer, &dir.0.join("inner-rec.wav"));
    outer.add(&port(&outer_player)).unwrap();
    outer.add(&port(&outer_rec)).unwrap();
    inner.add(&port(&inner_player)).unwrap();
    inner.add(&port(&inner_rec)).unwrap();
    for p in [&outer_player, &inner_player] {
        p.start().unwrap();
    }
    outer_rec.start().unwrap();
    inner_rec.start().unwrap();
    ticks(&mixer, 50);
    outer_rec.stop();
    inner_rec.stop();
    let at_outer = read_wav_at(&dir.0.join("outer-rec.wav"), 8000).unwrap();
    let at_inner = read_wav_at(&dir.0.join("inner-rec.wav"), 8000).unwrap();
    // Each side hears both tones.
    for heard in [&at_outer, &at_inner] {
        assert!(power(heard, 8000, 440.0) > 100.0 * power(heard, 8000, 700.0));
        assert!(power(heard, 8000, 1000.0) > 100.0 * power(heard, 8000, 700.0));
    }
    // No echo: the inner tone reaches the inner recorder once, at the
    // player's level (8000), not doubled through the relay.
    let peak = at_inner.iter().map(|s| i32::from(*s).abs()).max().unwrap();
    assert!(peak <= 8000 + 8000 + 50, "peak {peak}: only the two tones");
}

#[test]
fn the_device_reads_and_writes_wav_files_and_mutes() {
    let dir = TempDir::new("device");
    write_tone(&dir.0.join("mic.wav"), 16000, 700.0, 1.0);
    let backend = WavBackend::new(
        8000,
        Some(&dir.0.join("mic.wav")),
        true,
        Some(&dir.0.join("speaker.wav")),
    )
    .unwrap();
    let mixer = AudioMixer::new(Box::new(backend));
    write_tone(&dir.0.join("far.wav"), 8000, 1200.0, 1.0);
    let far = WavePlayer::new(&mixer, &dir.0.join("far.wav"), PlayOptions::default());
    let rec = WaveRecorder::new(&mixer, &dir.0.join("rec.wav"));
    let device = AudioDevice::new(&mixer, false, false);
    let bridge = AudioBridge::new(&mixer);
    for p in [port(&device), port(&far), port(&rec)] {
        bridge.add(&p).unwrap();
    }
    far.start().unwrap();
    rec.start().unwrap();
    ticks(&mixer, 25);
    // Muted input: the recorder hears only the player now.
    device.set_input_muted(true);
    device.set_output_muted(true);
    ticks(&mixer, 25);
    rec.stop();
    drop((bridge, far, device, rec));
    drop(mixer);
    let heard = read_wav_at(&dir.0.join("rec.wav"), 8000).unwrap();
    let (unmuted, muted) = heard.split_at(25 * 160);
    assert!(
        power(unmuted, 8000, 700.0) > 100.0 * power(unmuted, 8000, 1000.0),
        "the mic (16 kHz file, converted)"
    );
    assert!(
        power(muted, 8000, 700.0) * 100.0 < power(muted, 8000, 1200.0),
        "muted mic"
    );
    let speaker = read_wav_at(&dir.0.join("speaker.wav"), 8000).unwrap();
    assert_eq!(speaker.len(), 50 * 160, "a frame per tick");
    let (loud, quiet) = speaker.split_at(25 * 160);
    assert!(
        power(loud, 8000, 1200.0) > 100.0 * power(loud, 8000, 700.0),
        "the player reached the speaker, not the mic"
    );
    assert!(quiet.iter().all(|s| *s == 0), "muted output");
}

#[test]
fn a_wave_player_loops_pauses_scales_and_notifies() {
    let dir = TempDir::new("player");
    let center = NotificationCenter::default();
    let mut events = center.subscribe(Filter::all());
    let mixer = null_mixer(8000);
    mixer.set_notification_center(center.clone());
    write_tone(&dir.0.join("beep.wav"), 8000, 1000.0, 0.1);
    let options = PlayOptions {
        volume: 50,
        loop_count: 2,
        pause_time: 0.2,
        initial_play: true,
    };
    let player = WavePlayer::new(&mixer, &dir.0.join("beep.wav"), options);
    let rec = WaveRecorder::new(&mixer, &dir.0.join("rec.wav"));
    let bridge = AudioBridge::new(&mixer);
    bridge.add(&port(&player)).unwrap();
    bridge.add(&port(&rec)).unwrap();
    rec.start().unwrap();
    player.start().unwrap();
    assert!(player.is_active());
    ticks(&mixer, 30);
    assert!(!player.is_active(), "two plays and a pause are 0.4 s");
    rec.stop();
    let heard = read_wav_at(&dir.0.join("rec.wav"), 8000).unwrap();
    let loud = |s: &[i16]| s.iter().filter(|v| v.abs() > 100).count();
    // 100 ms, 200 ms of silence, 100 ms (1 kHz at 8 kHz: every fourth
    // sample is a zero crossing, so 600 of 800 are loud).
    assert!(
        (550..=650).contains(&loud(&heard[..800])),
        "{}",
        loud(&heard[..800])
    );
    assert_eq!(loud(&heard[850..2350]), 0, "the pause");
    assert!(loud(&heard[2400..3200]) > 550, "the second play");
    assert_eq!(loud(&heard[3300..]), 0, "then nothing");
    let peak = heard.iter().map(|s| i32::from(*s).abs()).max().unwrap();
    assert!(
        (3900..=4100).contains(&peak),
        "volume 50 halves 8000: {peak}"
    );
    let names: Vec<String> = std::iter::from_fn(|| events.try_next())
        .map(|n| n.name().to_owned())
        .collect();
    assert_eq!(names, ["WavePlayerDidStart", "WavePlayerDidEnd"]);

    // A missing file fails and says why.
    let missing = WavePlayer::new(&mixer, &dir.0.join("nope.wav"), PlayOptions::default());
    assert!(missing.start().is_err());
    let n = events.try_next().unwrap();
    assert!(
        matches!(n.data, NotificationData::WavePlayerDidFail { ref error } if error.contains("nope.wav"))
    );
    assert_eq!(Some(n.sender), missing.sender());
}

#[test]
fn tone_player_plays_dtmf_and_ringback() {
    let dir = TempDir::new("tones");
    let mixer = null_mixer(8000);
    let tones = TonePlayer::new(&mixer);
    let rec = WaveRecorder::new(&mixer, &dir.0.join("rec.wav"));
    let bridge = AudioBridge::new(&mixer);
    bridge.add(&port(&tones)).unwrap();
    bridge.add(&port(&rec)).unwrap();
    rec.start().unwrap();
    tones.play_dtmf("5").unwrap();
    assert!(tones.play_dtmf("x").is_err());
    ticks(&mixer, 10);
    tones.start_ringback();
    ticks(&mixer, 150);
    tones.stop();
    assert!(!tones.is_active());
    rec.stop();
    let heard = read_wav_at(&dir.0.join("rec.wav"), 8000).unwrap();
    let digit = &heard[..800];
    // 5 is 770 + 1336 Hz.
    assert!(power(digit, 8000, 770.0) > 100.0 * power(digit, 8000, 941.0));
    assert!(power(digit, 8000, 1336.0) > 100.0 * power(digit, 8000, 1477.0));
    let ring = &heard[1600..1600 + 16000];
    assert!(power(ring, 8000, 440.0) > 100.0 * power(ring, 8000, 1000.0));
    assert!(power(ring, 8000, 480.0) > 100.0 * power(ring, 8000, 1000.0));
    let off = &heard[1600 + 16000 + 400..1600 + 16000 + 8000];
    assert!(
        off.iter().all(|s| *s == 0),
        "4 s of silence after 2 s of ring"
    );
}

#[test]
fn a_48_khz_mixer_plays_an_8_khz_file() {
    let dir = TempDir::new("rate");
    let mixer = null_mixer(48000);
    assert_eq!(mixer.frame_len(), 960);
    write_tone(&dir.0.join("narrow.wav"), 8000, 440.0, 1.0);
    let player = WavePlayer::new(&mixer, &dir.0.join("narrow.wav"), PlayOptions::default());
    let rec = WaveRecorder::new(&mixer, &dir.0.join("wide.wav"));
    let bridge = AudioBridge::new(&mixer);
    bridge.add(&port(&player)).unwrap();
    bridge.add(&port(&rec)).unwrap();
    player.start().unwrap();
    rec.start().unwrap();
    ticks(&mixer, 25);
    rec.stop();
    let spec = hound::WavReader::open(dir.0.join("wide.wav"))
        .unwrap()
        .spec();
    assert_eq!(spec.sample_rate, 48000);
    let heard = read_wav_at(&dir.0.join("wide.wav"), 48000).unwrap();
    assert!(power(&heard, 48000, 440.0) > 100.0 * power(&heard, 48000, 1000.0));
}

#[tokio::test]
async fn the_clock_ticks_every_20_ms_and_stops_with_the_mixer() {
    let dir = TempDir::new("clock");
    let mixer = null_mixer(8000);
    let rec = WaveRecorder::new(&mixer, &dir.0.join("rec.wav"));
    let tones = TonePlayer::new(&mixer);
    let bridge = AudioBridge::new(&mixer);
    bridge.add(&port(&tones)).unwrap();
    bridge.add(&port(&rec)).unwrap();
    tones.start_ringback();
    rec.start().unwrap();
    mixer.start();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    rec.stop();
    let heard = read_wav_at(&dir.0.join("rec.wav"), 8000).unwrap();
    // About 25 frames; the bound is loose (a loaded machine is late,
    // and the clock catches up).
    assert!(
        (10 * 160..=40 * 160).contains(&heard.len()),
        "{}",
        heard.len()
    );
}
