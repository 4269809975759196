//! Calls with baresip (Debian package baresip; `scripts/test.sh` installs
//! it), started and stopped by each test on loopback with a config of our
//! own: its `ausine` module plays 440 Hz, its `sndfile` module writes what
//! it decodes to WAV, and it is driven over `ctrl_tcp` (netstring JSON).
//!
//! Both ways: baresip calls us and we answer; we call baresip and it
//! answers by itself; directly and through Kamailio with digest auth;
//! PCMU, PCMA, G.722 and Opus. In each, the audio is checked by frequency on both
//! sides (what we record, and the WAV baresip wrote), and the call ends
//! from one side with the other seeing it. Also: hold and resume by
//! either side, DTMF both ways, and our 486/603 and CANCEL as baresip
//! reports them (its ctrl_tcp CALL_CLOSED events). SRTP with SDES keys,
//! the AES-CM and the AES-GCM suites.

mod baresip;
mod common;
mod kamailio;

use std::sync::Arc;
use std::time::Duration;

use baresip::{read_wav, start_baresip, start_baresip_as, Baresip};
use common::until;
use media::tone::goertzel;
use sdp::offer_answer::Codec;
use sipsimple::engine::TransportKind;
use sipsimple::notification::{Filter, NotificationData};
use sipsimple::streams::audio::AudioStream;

async fn tone_stream() -> Arc<AudioStream> {
    common::tone_stream(1000.0, vec![Codec::pcmu(), Codec::pcma()]).await
}

fn dominant(samples: &[i16], rate: u32) -> f64 {
    [440.0, 1000.0]
        .into_iter()
        .max_by(|a, b| goertzel(samples, rate, *a).total_cmp(&goertzel(samples, rate, *b)))
        .unwrap()
}

/// Alice's application calling baresip's carol with `stream`.
async fn call_baresip(
    b: &Baresip,
    stream: Arc<AudioStream>,
) -> (
    sipsimple::application::SipApplication,
    sipsimple::notification::Subscription,
    sipsimple::session::Session,
) {
    let app = common::account_app("alice").await;
    let all = app.notification_center().subscribe(Filter::all());
    let account = app.account_manager().accounts().remove(0);
    let call = app
        .session_manager()
        .connect(
            &account,
            &format!("sip:carol@127.0.0.1:{}", b.sip_port),
            vec![stream],
        )
        .await
        .unwrap();
    (app, all, call)
}

/// Both directions of audio, checked once a call with baresip is up.
fn check_audio(ours: &AudioStream, baresip: &Baresip) {
    let heard = ours.recorded();
    // At the codec's rate: 8, 16 or 48 kHz.
    let ours_rate = ours.recorded_rate();
    assert!(
        heard.len() >= ours_rate as usize,
        "we got {} samples from baresip",
        heard.len()
    );
    // Skip the start: resampler and jitter buffer settle.
    let tail = &heard[heard.len() / 4..];
    assert_eq!(
        dominant(tail, ours_rate),
        440.0,
        "baresip's 440 Hz reached us"
    );
    assert!(goertzel(tail, ours_rate, 440.0) > 100.0 * goertzel(tail, ours_rate, 1000.0));
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
    // The tests hold each call up for 2 s: both recordings last about that.
    for (who, seconds) in [
        ("we", heard.len() as f64 / f64::from(ours_rate)),
        ("baresip", samples.len() as f64 / f64::from(rate)),
    ] {
        assert!(
            (1.5..=3.0).contains(&seconds),
            "{who} recorded {seconds:.2} s of a 2 s call"
        );
    }
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
    let audio = tone_stream().await;
    let (app, mut all, _call) = call_baresip(&b, audio.clone()).await;
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
    let audio = tone_stream().await;
    let (app, mut all, call) = call_baresip(&b, audio.clone()).await;
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
    let audio = tone_stream().await;
    let (app, mut all, call) = call_baresip(&b, audio.clone()).await;
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

/// A call to baresip offering PCMA only: it answers with PCMA and the
/// audio arrives both ways; then baresip calls us and we accept PCMA
/// only from its offer.
#[tokio::test]
async fn calls_with_baresip_in_pcma_both_ways() {
    let b = start_baresip(true);
    let audio = common::tone_stream(1000.0, vec![Codec::pcma()]).await;
    let (app, mut all, _call) = call_baresip(&b, audio.clone()).await;
    until(&mut all, "SIPSessionDidStart").await;
    assert_eq!(audio.codec().as_deref(), Some("PCMA"));
    tokio::time::sleep(Duration::from_secs(2)).await;
    b.command("hangup", "");
    until(&mut all, "SIPSessionDidEnd").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    check_audio(&audio, &b);
    drop(b);

    let b = start_baresip(false);
    b.command("dial", &common::contact_uri(&app));
    let session = common::incoming_session(&app, &mut all).await;
    let audio = common::tone_stream(1000.0, vec![Codec::pcma()]).await;
    session.accept(vec![audio.clone()]).await.unwrap();
    until(&mut all, "SIPSessionDidStart").await;
    assert_eq!(audio.codec().as_deref(), Some("PCMA"));
    tokio::time::sleep(Duration::from_secs(2)).await;
    session.end().await.unwrap();
    until(&mut all, "SIPSessionDidEnd").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    check_audio(&audio, &b);
    app.stop();
}

/// G.722 and Opus each way: we call baresip offering only the codec
/// and it answers with it, then baresip calls us (offering all it has)
/// and we accept only that codec; audio checked by frequency in both
/// recordings, the stream's codec and sample rate as negotiated.
#[tokio::test]
async fn calls_with_baresip_in_g722_and_opus_both_ways() {
    for (codec, rate) in [(Codec::g722(), 16000), (Codec::opus(), 48000)] {
        let name = codec.encoding.clone();
        let b = start_baresip(true);
        let audio = common::tone_stream(1000.0, vec![codec.clone()]).await;
        let (app, mut all, _call) = call_baresip(&b, audio.clone()).await;
        until(&mut all, "SIPSessionDidStart").await;
        assert_eq!(audio.codec().as_deref(), Some(name.as_str()));
        assert_eq!(audio.sample_rate(), Some(rate));
        tokio::time::sleep(Duration::from_secs(2)).await;
        b.command("hangup", "");
        until(&mut all, "SIPSessionDidEnd").await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        check_audio(&audio, &b);
        drop(b);

        let b = start_baresip(false);
        b.command("dial", &common::contact_uri(&app));
        let session = common::incoming_session(&app, &mut all).await;
        let audio = common::tone_stream(1000.0, vec![codec]).await;
        session.accept(vec![audio.clone()]).await.unwrap();
        until(&mut all, "SIPSessionDidStart").await;
        assert_eq!(audio.codec().as_deref(), Some(name.as_str()), "{name}");
        assert_eq!(audio.sample_rate(), Some(rate));
        tokio::time::sleep(Duration::from_secs(2)).await;
        session.end().await.unwrap();
        until(&mut all, "SIPSessionDidEnd").await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        check_audio(&audio, &b);
        app.stop();
    }
}

/// RFC 7587 §7 `a=ptime` honoured: baresip's account asks for 40 ms
/// packets in its offer, so we pack two 20 ms Opus frames in each (half
/// the packets it sends us at our `a=ptime:20`; counted, not timed), and
/// what it decodes is our tone for the whole call.
#[tokio::test]
async fn opus_to_baresip_in_the_40_ms_packets_it_asks_for() {
    let b = start_baresip_as(|p| {
        format!("<sip:carol@127.0.0.1:{p}>;regint=0;answermode=manual;ptime=40")
    });
    let app = common::account_app("bob").await;
    let mut all = app.notification_center().subscribe(Filter::all());
    b.command("dial", &common::contact_uri(&app));
    let session = common::incoming_session(&app, &mut all).await;
    let audio = common::tone_stream(1000.0, vec![Codec::opus()]).await;
    session.accept(vec![audio.clone()]).await.unwrap();
    until(&mut all, "SIPSessionDidStart").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    session.end().await.unwrap();
    until(&mut all, "SIPSessionDidEnd").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stats = audio.stats();
    let (sent, received) = (stats.packets_sent, stats.packets_received);
    assert!(
        received > 50 && 10 * sent > 3 * received && 10 * sent < 7 * received,
        "we sent {sent} packets and received {received}:\n{}",
        b.log()
    );
    check_audio(&audio, &b);
    app.stop();
}

/// An Opus call with baresip carries the full band both ways: its 9 kHz
/// in our recording (at 48 kHz), our 1 kHz and 10 kHz in what it
/// decoded. Narrowband inside (as before issue 16's fix) would lose both.
#[tokio::test]
async fn opus_with_baresip_carries_tones_above_4_khz_both_ways() {
    let b = baresip::start_baresip_with_tone(9000);
    let audio = Arc::new(
        AudioStream::new(
            "127.0.0.1".parse().unwrap(),
            (50000, 50500),
            vec![Codec::opus()],
            sipsimple::streams::audio::AudioSource::Tone(media::tone::ToneGenerator::new(
                48000,
                &[1000.0, 10000.0],
                12000,
            )),
        )
        .await
        .unwrap(),
    );
    audio.keep_received(10);
    let (app, mut all, _call) = call_baresip(&b, audio.clone()).await;
    until(&mut all, "SIPSessionDidStart").await;
    assert_eq!(audio.sample_rate(), Some(48000));
    tokio::time::sleep(Duration::from_secs(2)).await;
    b.command("hangup", "");
    until(&mut all, "SIPSessionDidEnd").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    app.stop();

    // Both tones stand 100 times above what lies around them.
    let stands_out = |who: &str, samples: &[i16], rate: u32, tones: &[f64], around: &[f64]| {
        assert!(
            samples.len() as u32 >= rate,
            "{who}: {} samples",
            samples.len()
        );
        let tail = &samples[samples.len() / 4..];
        let noise = around
            .iter()
            .map(|hz| goertzel(tail, rate, *hz))
            .fold(0.0, f64::max);
        for hz in tones {
            let l = goertzel(tail, rate, *hz);
            assert!(l > 100.0 * noise, "{who}: {hz} Hz ({l:.3e} vs {noise:.3e})");
        }
    };
    assert_eq!(audio.recorded_rate(), 48000);
    stands_out(
        "we",
        &audio.recorded(),
        48000,
        &[9000.0],
        &[1000.0, 3000.0, 7500.0, 11000.0],
    );
    let wavs = b.decoded();
    assert!(!wavs.is_empty(), "no decoded WAV:\n{}", b.log());
    let (samples, rate) = read_wav(&wavs[0]);
    assert!(rate >= 24000, "baresip decoded at {rate} Hz");
    stands_out(
        "baresip",
        &samples,
        rate,
        &[1000.0, 10000.0],
        &[2000.0, 5000.0, 8500.0, 11500.0],
    );
}

/// SRTP with SDES keys (RFC 4568) against baresip's srtp module (an
/// SRTP of its own, libre's): baresip with `mediaenc=srtp-mand` (RTP/SAVP)
/// called by us and calling us, and with `mediaenc=srtp` (best effort,
/// RTP/AVP with crypto lines) meeting our optional policy. Audio checked
/// by frequency both ways: nothing decrypts unless both ends agree.
#[tokio::test]
async fn srtp_calls_with_baresip_both_ways() {
    use sipsimple::streams::audio::sdes::SrtpPolicy;
    for (mediaenc, ours) in [
        ("srtp-mand", SrtpPolicy::Mandatory),
        ("srtp", SrtpPolicy::Optional),
    ] {
        let b = start_baresip_as(|p| {
            format!("<sip:carol@127.0.0.1:{p}>;regint=0;answermode=auto;mediaenc={mediaenc}")
        });
        let audio = tone_stream().await;
        audio.set_srtp_policy(ours);
        let (app, mut all, _call) = call_baresip(&b, audio.clone()).await;
        until(&mut all, "SIPSessionDidStart").await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(audio.srtp_active(), "{mediaenc}: {}", b.log());
        b.command("hangup", "");
        until(&mut all, "SIPSessionDidEnd").await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        check_audio(&audio, &b);
        app.stop();
    }

    // baresip calls us with RTP/SAVP: the account takes SRTP offers.
    let b = start_baresip_as(|p| {
        format!("<sip:carol@127.0.0.1:{p}>;regint=0;answermode=manual;mediaenc=srtp-mand")
    });
    let app = common::account_app_with("bob", "", "rtp.srtp_encryption = \"optional\"\n").await;
    let mut all = app.notification_center().subscribe(Filter::all());
    b.command("dial", &common::contact_uri(&app));
    let session = common::incoming_session(&app, &mut all).await;
    let audio = tone_stream().await;
    audio.set_srtp_policy(SrtpPolicy::Optional);
    session.accept(vec![audio.clone()]).await.unwrap();
    until(&mut all, "SIPSessionDidStart").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(audio.srtp_active());
    session.end().await.unwrap();
    until(&mut all, "SIPSessionDidEnd").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    check_audio(&audio, &b);
    app.stop();
}

/// AEAD_AES_128_GCM and AEAD_AES_256_GCM (RFC 7714) with baresip's srtp
/// module (libre's SRTP on OpenSSL's AES-GCM): we call it offering one
/// GCM suite only, it answers with that suite (its log says which), and
/// the tones cross both ways: nothing decrypts unless both agree. Only
/// this way round: baresip 1.0's own offers carry one crypto line,
/// AES_CM_128_HMAC_SHA1_80.
#[tokio::test]
async fn gcm_srtp_calls_to_baresip_with_audio_both_ways() {
    use media::srtp::SrtpProfile;
    use sipsimple::streams::audio::sdes::SrtpPolicy;
    for suite in [SrtpProfile::AeadAes128Gcm, SrtpProfile::AeadAes256Gcm] {
        let b = start_baresip_as(|p| {
            format!("<sip:carol@127.0.0.1:{p}>;regint=0;answermode=auto;mediaenc=srtp-mand")
        });
        let audio = tone_stream().await;
        audio.set_srtp_policy(SrtpPolicy::Mandatory);
        audio.set_srtp_suites(&[suite]);
        let (app, mut all, _call) = call_baresip(&b, audio.clone()).await;
        until(&mut all, "SIPSessionDidStart").await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(audio.srtp_suite(), Some(suite));
        let said = format!("cryptosuite={}", suite.name());
        assert!(b.log().contains(&said), "{said}: {}", b.log());
        b.command("hangup", "");
        until(&mut all, "SIPSessionDidEnd").await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        check_audio(&audio, &b);
        app.stop();
    }
}

/// RTP packets `audio` receives in one second, from 300 ms on (time for a
/// direction change to take effect).
async fn packets_in_a_second(audio: &sipsimple::streams::audio::AudioStream) -> u32 {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = audio.stats().packets_received;
    tokio::time::sleep(Duration::from_secs(1)).await;
    audio.stats().packets_received - before
}

/// We hold baresip and resume: our local hold changes are reported, and
/// baresip, answering our sendonly offer recvonly, stops sending RTP
/// while held and sends again once resumed.
#[tokio::test]
async fn we_hold_and_resume_baresip() {
    let b = start_baresip(true);
    let audio = tone_stream().await;
    let (app, mut all, call) = call_baresip(&b, audio.clone()).await;
    until(&mut all, "SIPSessionDidStart").await;
    call.hold().await.unwrap();
    let held = until(&mut all, "SIPSessionDidChangeHoldState").await;
    assert_eq!(common::hold_state(&held), ("local", true));
    // baresip answers the sendonly offer recvonly: its RTP stops.
    let during = packets_in_a_second(&audio).await;
    call.unhold().await.unwrap();
    let resumed = until(&mut all, "SIPSessionDidChangeHoldState").await;
    assert_eq!(common::hold_state(&resumed), ("local", false));
    let after = packets_in_a_second(&audio).await;
    assert!(during <= 2, "baresip sent {during} packets to a held call");
    assert!(
        after >= 40,
        "baresip sent {after} packets in 1 s after the resume"
    );
    call.end().await.unwrap();
    until(&mut all, "SIPSessionDidEnd").await;
    app.stop();
}

/// baresip sends DTMF (its `sndcode`, RFC 4733): we report each digit.
#[tokio::test]
async fn we_receive_dtmf_from_baresip() {
    let b = start_baresip(true);
    let (app, mut all, call) = call_baresip(&b, tone_stream().await).await;
    until(&mut all, "SIPSessionDidStart").await;
    let mut got = Vec::new();
    for d in ['7', '9'] {
        b.command("sndcode", &d.to_string());
        let n = until(&mut all, "AudioStreamGotDTMF").await;
        if let NotificationData::AudioStreamGotDTMF { digit } = n.last().unwrap().data {
            got.push(digit);
        }
    }
    assert_eq!(got, ['7', '9'], "{}", b.log());
    call.end().await.unwrap();
    until(&mut all, "SIPSessionDidEnd").await;
    app.stop();
}

/// baresip calls us and we refuse with 486, then 603: baresip reports
/// the call closed with each.
#[tokio::test]
async fn baresip_sees_our_486_and_603() {
    let b = start_baresip(false);
    let app = common::account_app("bob").await;
    let mut all = app.notification_center().subscribe(Filter::all());
    for code in [486u16, 603] {
        b.command("dial", &common::contact_uri(&app));
        let session = common::incoming_session(&app, &mut all).await;
        session.reject(code, None).await.unwrap();
        until(&mut all, "SIPSessionDidFail").await;
        let reason = if code == 486 { "Busy Here" } else { "Decline" };
        b.event(&format!("\"param\":\"{code} {reason}\"")).await;
    }
    let closed = b.closed_calls();
    assert_eq!(closed.len(), 2, "{closed:?}");
    assert!(closed
        .iter()
        .all(|e| e.contains("\"direction\":\"outgoing\"")));
    assert!(closed[0].contains("486 Busy Here") && closed[1].contains("603 Decline"));
    app.stop();
}

/// We call baresip, it rings (manual answer), and we give up: our CANCEL
/// closes the incoming call on baresip's side, and its 487 fails ours.
#[tokio::test]
async fn baresip_sees_our_cancel() {
    let b = start_baresip(false);
    let (app, mut all, call) = call_baresip(&b, tone_stream().await).await;
    until(&mut all, "SIPSessionGotRingIndication").await;
    call.end().await.unwrap();
    let failed = until(&mut all, "SIPSessionDidFail").await;
    assert!(matches!(
        failed.last().unwrap().data,
        NotificationData::SIPSessionDidFail {
            originator: "local",
            code: 487,
            ..
        }
    ));
    // libre ends an INVITE server transaction on CANCEL with ECONNRESET,
    // which baresip reports as the incoming call closed with its text.
    b.event("\"type\":\"CALL_CLOSED\"").await;
    let closed = &b.closed_calls()[0];
    assert!(closed.contains("\"direction\":\"incoming\""), "{closed}");
    assert!(closed.contains("Connection reset by peer"), "{closed}");
    app.stop();
}

/// Both registered with Kamailio (digest for REGISTER and INVITE): we
/// call baresip by its address of record, then baresip calls us; audio
/// both ways each time.
#[tokio::test]
async fn calls_with_baresip_through_kamailio_with_auth() {
    let k = kamailio::start_kamailio();
    let (app, mut all) = common::registered_app(k.udp, "alice").await;
    let proxy = k.udp;
    let b = start_baresip_as(|_| {
        format!(
            "<sip:bob@sipsimple.test>;auth_pass=secret;outbound=\"sip:127.0.0.1:{proxy}\";\
             regint=600;answermode=auto"
        )
    });
    for _ in 0..100 {
        if kamailio::contact_count(&k) == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(kamailio::contact_count(&k), 2, "{}", b.log());
    let account = app.account_manager().accounts().remove(0);
    let audio = tone_stream().await;
    app.session_manager()
        .connect(&account, "sip:bob@sipsimple.test", vec![audio.clone()])
        .await
        .unwrap();
    until(&mut all, "SIPSessionDidStart").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    b.command("hangup", "");
    until(&mut all, "SIPSessionDidEnd").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    check_audio(&audio, &b);
    for wav in b.decoded() {
        std::fs::remove_file(wav).unwrap();
    }

    b.command("dial", "sip:alice@sipsimple.test");
    let session = common::incoming_session(&app, &mut all).await;
    assert!(session.remote_identity().contains("bob@sipsimple.test"));
    let audio = tone_stream().await;
    session.accept(vec![audio.clone()]).await.unwrap();
    until(&mut all, "SIPSessionDidStart").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    session.end().await.unwrap();
    until(&mut all, "SIPSessionDidEnd").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    check_audio(&audio, &b);
    app.stop();
}
