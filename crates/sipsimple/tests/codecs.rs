//! Our two applications calling each other with Opus and with G.722:
//! the codec each side reports, its sample rate, audio both ways with
//! the frequency checked in each recording, DTMF on the codec's clock,
//! and a re-INVITE that renegotiates the codec.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{alice_and_bob, alice_calls_bob, next_notification as next, until};
use media::tone::goertzel;
use sdp::offer_answer::Codec;
use sipsimple::notification::{Filter, NotificationData};
use sipsimple::streams::audio::AudioStream;

fn power(samples: &[i16], hz: f64) -> f64 {
    goertzel(samples, 8000, hz)
}

/// What each side heard, the first 200 ms (codec and converter start-up)
/// left out: alice's 440 Hz at bob's, bob's 1000 Hz at alice's.
fn assert_heard(alice: &AudioStream, bob: &AudioStream, what: &str) {
    let by_bob = bob.recorded();
    let by_alice = alice.recorded();
    assert!(by_bob.len() >= 6400, "{what}: bob got {}", by_bob.len());
    assert!(
        by_alice.len() >= 6400,
        "{what}: alice got {}",
        by_alice.len()
    );
    let (by_bob, by_alice) = (&by_bob[1600..], &by_alice[1600..]);
    assert!(
        power(by_bob, 440.0) > 100.0 * power(by_bob, 1000.0),
        "{what}: bob hears alice's 440 Hz"
    );
    assert!(
        power(by_alice, 1000.0) > 100.0 * power(by_alice, 440.0),
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
    }
    call.unhold().await.unwrap();
    until(&mut bob_all, "SIPSessionDidChangeHoldState").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (a0, b0) = (alice_audio.recorded().len(), bob_audio.recorded().len());
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let by_bob = bob_audio.recorded().split_off(b0);
    let by_alice = alice_audio.recorded().split_off(a0);
    assert!(by_bob.len() >= 6400 && by_alice.len() >= 6400);
    assert!(power(&by_bob, 440.0) > 100.0 * power(&by_bob, 1000.0));
    assert!(power(&by_alice, 1000.0) > 100.0 * power(&by_alice, 440.0));

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
