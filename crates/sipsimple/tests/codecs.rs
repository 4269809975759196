//! Our two applications calling each other with Opus and with G.722:
//! the codec each side reports, its sample rate, audio both ways with
//! the frequency checked in each recording, DTMF on the codec's clock,
//! and a re-INVITE that renegotiates the codec. And the band each codec
//! carries end to end: a tone above 4 kHz reaches the other side's
//! recording over G.722 and Opus, not over PCMU.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{alice_and_bob, alice_calls_bob, next_notification as next, until};
use media::tone::{goertzel, ToneGenerator};
use sdp::offer_answer::Codec;
use sipsimple::notification::{Filter, NotificationData};
use sipsimple::streams::audio::{AudioSource, AudioStream};

/// The power of `hz` in what `s` received (at its recorded rate).
fn power(s: &AudioStream, samples: &[i16], hz: f64) -> f64 {
    goertzel(samples, s.recorded_rate(), hz)
}

/// What each side heard, the first 200 ms (codec and converter start-up)
/// left out: alice's 440 Hz at bob's, bob's 1000 Hz at alice's.
fn assert_heard(alice: &AudioStream, bob: &AudioStream, what: &str) {
    let by_bob = bob.recorded();
    let by_alice = alice.recorded();
    // 800 ms, of which the first 200 are left out.
    let enough = |s: &AudioStream| s.recorded_rate() as usize * 4 / 5;
    let skip = |s: &AudioStream| s.recorded_rate() as usize / 5;
    assert!(
        by_bob.len() >= enough(bob),
        "{what}: bob got {}",
        by_bob.len()
    );
    assert!(
        by_alice.len() >= enough(alice),
        "{what}: alice got {}",
        by_alice.len()
    );
    let (by_bob, by_alice) = (&by_bob[skip(bob)..], &by_alice[skip(alice)..]);
    assert!(
        power(bob, by_bob, 440.0) > 100.0 * power(bob, by_bob, 1000.0),
        "{what}: bob hears alice's 440 Hz"
    );
    assert!(
        power(alice, by_alice, 1000.0) > 100.0 * power(alice, by_alice, 440.0),
        "{what}: alice hears bob's 1000 Hz"
    );
}

async fn call_with(codec: Codec, rate: u32) {
    let name = codec.encoding.clone();
    let (alice, bob, mut alice_all, mut bob_all) = alice_and_bob().await;
    let alice_audio = common::tone_stream(440.0, vec![codec.clone(), Codec::pcmu()]).await;
    alice_audio.keep_received(10);
    let (call, answer) =
        alice_calls_bob(&alice, &bob, &mut bob_all, vec![alice_audio.clone()]).await;
    // Bob would rather have PCMU: the offer's order decides.
    let bob_audio = common::tone_stream(1000.0, vec![Codec::pcmu(), codec.clone()]).await;
    bob_audio.keep_received(10);
    answer.accept(vec![bob_audio.clone()]).await.unwrap();
    until(&mut alice_all, "SIPSessionDidStart").await;
    let bob_started = until(&mut bob_all, "MediaStreamDidStart").await;
    let bob_stream = bob_started.last().unwrap().sender;
    for s in [&alice_audio, &bob_audio] {
        assert_eq!(s.codec().as_deref(), Some(name.as_str()));
        assert_eq!(s.sample_rate(), Some(rate));
        // What the stream keeps is at its codec's rate, not narrowed.
        assert_eq!(s.recorded_rate(), rate);
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_heard(&alice_audio, &bob_audio, &name);
    let stats = bob_audio.stats();
    assert!(stats.packets_received >= 50 && stats.lost == 0, "{stats:?}");

    // DTMF on the codec's clock.
    let mut digits = bob
        .notification_center()
        .subscribe(Filter::name("AudioStreamGotDTMF"));
    for d in ['5', '#'] {
        alice_audio.send_dtmf(d).unwrap();
    }
    let mut got = Vec::new();
    while got.len() < 2 {
        let n = next(&mut digits).await;
        assert_eq!(n.sender, bob_stream);
        if let NotificationData::AudioStreamGotDTMF { digit } = n.data {
            got.push(digit);
        }
    }
    assert_eq!(got, ['5', '#'], "{name}");

    // Alice drops the codec: the re-INVITE of her hold moves both sides
    // to PCMU, and the audio goes on after the unhold.
    alice_audio.set_codecs(vec![Codec::pcmu()]);
    let mut changed = alice
        .notification_center()
        .subscribe(Filter::name("AudioStreamDidChangeRTPParameters"));
    call.hold().await.unwrap();
    until(&mut bob_all, "SIPSessionDidChangeHoldState").await;
    next(&mut changed).await;
    for s in [&alice_audio, &bob_audio] {
        assert_eq!(s.codec().as_deref(), Some("PCMU"), "{name} renegotiated");
        assert_eq!(s.sample_rate(), Some(8000));
        assert_eq!(s.recorded_rate(), 8000, "kept audio converted");
    }
    call.unhold().await.unwrap();
    until(&mut bob_all, "SIPSessionDidChangeHoldState").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (a0, b0) = (alice_audio.recorded().len(), bob_audio.recorded().len());
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let by_bob = bob_audio.recorded().split_off(b0);
    let by_alice = alice_audio.recorded().split_off(a0);
    assert!(by_bob.len() >= 6400 && by_alice.len() >= 6400);
    assert!(power(&bob_audio, &by_bob, 440.0) > 100.0 * power(&bob_audio, &by_bob, 1000.0));
    assert!(power(&alice_audio, &by_alice, 1000.0) > 100.0 * power(&alice_audio, &by_alice, 440.0));

    call.end().await.unwrap();
    until(&mut bob_all, "SIPSessionDidEnd").await;
    alice.stop();
    bob.stop();
}

#[tokio::test]
async fn an_opus_call_between_our_applications() {
    call_with(Codec::opus(), 48000).await;
}

#[tokio::test]
async fn a_g722_call_between_our_applications() {
    call_with(Codec::g722(), 16000).await;
}

/// The registry's streams follow the settings: an account listing opus
/// first offers it with events at 48000 and 8000, and answers with it.
#[tokio::test]
async fn settings_streams_offer_opus_first_with_events_on_both_clocks() {
    let alice = common::account_app_with(
        "alice",
        "",
        "rtp.audio_codec_list = [\"opus\", \"G722\", \"PCMU\"]\n",
    )
    .await;
    let bob = common::account_app("bob").await;
    let mut alice_all = alice.notification_center().subscribe(Filter::all());
    let mut bob_all = bob.notification_center().subscribe(Filter::all());
    let account = alice.account_manager().accounts().remove(0);
    let settings = alice
        .session_manager()
        .stream_settings(&account, "127.0.0.1".parse().unwrap())
        .unwrap();
    let codecs = sipsimple::streams::audio::supported_codecs(&settings.audio.codecs);
    assert_eq!(
        codecs
            .iter()
            .map(|c| c.encoding.as_str())
            .collect::<Vec<_>>(),
        ["opus", "G722", "PCMU"]
    );
    let audio = Arc::new(
        AudioStream::new(
            "127.0.0.1".parse().unwrap(),
            settings.audio.rtp_port_range,
            codecs,
            sipsimple::streams::audio::AudioSource::Silence,
        )
        .await
        .unwrap(),
    );
    let (call, answer) = alice_calls_bob(&alice, &bob, &mut bob_all, vec![audio.clone()]).await;
    answer
        .accept(answer.proposed_streams().unwrap())
        .await
        .unwrap();
    until(&mut alice_all, "SIPSessionDidStart").await;
    assert_eq!(audio.codec().as_deref(), Some("opus"));
    assert_eq!(
        answer.audio_stream().unwrap().codec().as_deref(),
        Some("opus")
    );
    call.end().await.unwrap();
    until(&mut bob_all, "SIPSessionDidEnd").await;
    alice.stop();
    bob.stop();
}

/// Alice sends 1000 Hz and `high` Hz over `codec` alone; bob records
/// what arrives (`start_recording_received`) and alice the call (both
/// directions, `start_recording`). Returns each WAV file's rate and
/// samples, the first 300 ms (start-up) left out: (bob's, alice's).
async fn two_tones_over(codec: Codec, high: f64) -> ((u32, Vec<i16>), (u32, Vec<i16>)) {
    let dir = common::TempDir::new("wideband");
    let (alice, bob, mut alice_all, mut bob_all) = alice_and_bob().await;
    // Made for 8 kHz on purpose: the stream plays it at its own rate.
    let tones = ToneGenerator::new(8000, &[1000.0, high], 12000);
    let alice_audio = Arc::new(
        AudioStream::new(
            "127.0.0.1".parse().unwrap(),
            (50000, 50500),
            vec![codec.clone()],
            AudioSource::Tone(tones),
        )
        .await
        .unwrap(),
    );
    let (call, answer) =
        alice_calls_bob(&alice, &bob, &mut bob_all, vec![alice_audio.clone()]).await;
    let bob_audio = Arc::new(
        AudioStream::new(
            "127.0.0.1".parse().unwrap(),
            (50000, 50500),
            vec![codec.clone()],
            AudioSource::Silence,
        )
        .await
        .unwrap(),
    );
    answer.accept(vec![bob_audio.clone()]).await.unwrap();
    until(&mut alice_all, "SIPSessionDidStart").await;
    until(&mut bob_all, "MediaStreamDidStart").await;
    let (by_bob, by_alice) = (dir.0.join("bob.wav"), dir.0.join("alice.wav"));
    bob_audio.start_recording_received(&by_bob).unwrap();
    alice_audio.start_recording(Some(&by_alice)).unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    bob_audio.stop_recording();
    alice_audio.stop_recording();
    call.end().await.unwrap();
    until(&mut bob_all, "SIPSessionDidEnd").await;
    alice.stop();
    bob.stop();
    let read = |path: &std::path::Path| {
        let mut r = hound::WavReader::open(path).unwrap();
        let rate = r.spec().sample_rate;
        let samples: Vec<i16> = r.samples::<i16>().map(Result::unwrap).collect();
        let skip = (rate as usize * 3 / 10).min(samples.len());
        (rate, samples[skip..].to_vec())
    };
    (read(&by_bob), read(&by_alice))
}

/// Both tones stand 100 times above what lies between and around them.
fn assert_both_tones(who: &str, (rate, samples): &(u32, Vec<i16>), high: f64) {
    assert!(
        samples.len() >= *rate as usize,
        "{who}: {} samples",
        samples.len()
    );
    let level = |hz: f64| goertzel(samples, *rate, hz);
    let noise = [2000.0, 3000.0, high - 1500.0, high + 700.0]
        .into_iter()
        .map(level)
        .fold(0.0, f64::max);
    for hz in [1000.0, high] {
        assert!(
            level(hz) > 100.0 * noise,
            "{who}: {hz} Hz at {rate} Hz ({:.3e} vs noise {noise:.3e})",
            level(hz)
        );
    }
}

#[tokio::test]
async fn a_g722_call_carries_6_khz_end_to_end() {
    let (bob, alice) = two_tones_over(Codec::g722(), 6000.0).await;
    assert_eq!((bob.0, alice.0), (16000, 16000), "recorded at G.722's rate");
    assert_both_tones("bob's recording", &bob, 6000.0);
    assert_both_tones("alice's recording", &alice, 6000.0);
}

#[tokio::test]
async fn an_opus_call_carries_10_khz_end_to_end() {
    let (bob, alice) = two_tones_over(Codec::opus(), 10000.0).await;
    assert_eq!((bob.0, alice.0), (48000, 48000), "recorded at Opus's rate");
    assert_both_tones("bob's recording", &bob, 10000.0);
    assert_both_tones("alice's recording", &alice, 10000.0);
}

/// The same two tones over PCMU: 1000 Hz arrives, 6 kHz cannot (the
/// file is at 8 kHz), and is not folded back either (as 2 kHz).
#[tokio::test]
async fn a_pcmu_call_does_not_carry_6_khz() {
    let ((rate, samples), _) = two_tones_over(Codec::pcmu(), 6000.0).await;
    assert_eq!(rate, 8000);
    assert!(samples.len() >= 8000, "{} samples", samples.len());
    let level = |hz: f64| goertzel(&samples, rate, hz);
    assert!(
        level(1000.0) > 100.0 * level(2000.0),
        "no 2 kHz alias of 6 kHz ({:.3e} vs {:.3e})",
        level(1000.0),
        level(2000.0)
    );
}

/// RFC 7587 §6.1 `usedtx=1`: bob's answer asks for DTX, so alice, who
/// sends silence, sends a packet now and then instead of one per 20 ms,
/// while bob's tone goes at full rate (alice did not ask for DTX).
/// Counted against each other in the same call, not against time.
#[tokio::test]
async fn dtx_asked_by_the_peer_sends_fewer_packets_on_silence() {
    use sdp::OpusFmtp;
    let (alice, bob, mut alice_all, mut bob_all) = alice_and_bob().await;
    let alice_audio = Arc::new(
        AudioStream::new(
            "127.0.0.1".parse().unwrap(),
            (50000, 50500),
            vec![Codec::opus()],
            AudioSource::Silence,
        )
        .await
        .unwrap(),
    );
    let (call, answer) =
        alice_calls_bob(&alice, &bob, &mut bob_all, vec![alice_audio.clone()]).await;
    let dtx = Codec::opus_with(&OpusFmtp {
        use_dtx: Some(true),
        ..OpusFmtp::ours()
    });
    let bob_audio = common::tone_stream(1000.0, vec![dtx]).await;
    answer.accept(vec![bob_audio.clone()]).await.unwrap();
    until(&mut alice_all, "SIPSessionDidStart").await;
    // Until bob has sent 100 packets (2 s of his tone).
    let guard = std::time::Instant::now() + Duration::from_secs(30);
    while bob_audio.stats().packets_sent < 100 {
        assert!(std::time::Instant::now() < guard, "bob sends nothing");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (quiet, loud) = (
        alice_audio.stats().packets_sent,
        bob_audio.stats().packets_sent,
    );
    assert!(quiet * 4 < loud, "alice sent {quiet}, bob {loud}");
    // DTX still sends now and then (the peer's comfort noise).
    assert!(bob_audio.stats().packets_received > 0);
    call.end().await.unwrap();
    until(&mut bob_all, "SIPSessionDidEnd").await;
    alice.stop();
    bob.stop();
}
