//! SRTP with SDES keys (RFC 3711, RFC 4568) between two applications on
//! loopback, under each side's `rtp.srtp_encryption`: mandatory on both
//! (RTP/SAVP with crypto lines, keys masked in the SIP trace, tones both
//! ways through SRTP, `srtp_active`), best effort met by an SRTP answer
//! or by a plain one, a re-INVITE (hold, unhold) re-keying while the
//! audio goes on while packets under the old key are refused, RTP/SAVP
//! offered to an account that has SRTP disabled refused with 488, a
//! plain RTP answer (SIPp) to a mandatory account's offer ending the
//! call with the reason, and a call with AES-GCM (RFC 7714).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{alice_calls_bob, until};
use media::tone::goertzel;
use sdp::offer_answer::Codec;
use sipsimple::notification::{Filter, NotificationData, Subscription};
use sipsimple::streams::audio::sdes::SrtpPolicy;
use sipsimple::streams::audio::AudioStream;

async fn tone(hz: f64, policy: SrtpPolicy) -> Arc<AudioStream> {
    let s = common::tone_stream(hz, vec![Codec::pcmu()]).await;
    s.set_srtp_policy(policy);
    s.keep_received(10);
    s
}

/// Whether the last 400 ms `audio` received are the tone `hz` (and not
/// the other side's own tone `other`).
async fn hears(audio: &AudioStream, hz: f64, other: f64) -> bool {
    let before = audio.recorded().len();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let got = audio.recorded();
    let fresh = &got[before.min(got.len())..];
    fresh.len() >= 1600 && goertzel(fresh, 8000, hz) > 100.0 * goertzel(fresh, 8000, other)
}

/// Alice (her SIP trace posted) and bob with `bob_account` settings.
async fn apps(
    bob_account: &str,
) -> (
    sipsimple::application::SipApplication,
    sipsimple::application::SipApplication,
    Subscription,
    Subscription,
) {
    let alice = sipsimple::application::SipApplication::new();
    alice.enable_sip_trace();
    let a = alice.notification_center().subscribe(Filter::all());
    alice
        .start(sipsimple::config::MemoryBackend::with(
            "local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = [\"udp\"]\n\
             [accounts.\"alice@example.test\"]\nenabled = true\nregistration.enabled = false\n"
                .parse()
                .unwrap(),
        ))
        .await
        .unwrap();
    let bob = common::account_app_with("bob", "", bob_account).await;
    let b = bob.notification_center().subscribe(Filter::all());
    (alice, bob, a, b)
}

#[tokio::test]
async fn mandatory_srtp_both_ways_and_a_reinvite_rekeys() {
    // Bob's account takes SRTP offers (its registry makes his side of
    // an RTP/SAVP offer).
    let (alice, bob, mut alice_all, mut bob_all) =
        apps("rtp.srtp_encryption = \"optional\"\n").await;
    let alice_audio = tone(440.0, SrtpPolicy::Mandatory).await;
    let (call, answer) =
        alice_calls_bob(&alice, &bob, &mut bob_all, vec![alice_audio.clone()]).await;
    let bob_audio = tone(1000.0, SrtpPolicy::Mandatory).await;
    answer.accept(vec![bob_audio.clone()]).await.unwrap();
    let seen = until(&mut alice_all, "SIPSessionDidStart").await;
    let invite = seen
        .iter()
        .find_map(|n| match &n.data {
            NotificationData::SIPEngineSIPTrace {
                text,
                received: false,
                ..
            } if text.starts_with("INVITE ") => Some(text.clone()),
            _ => None,
        })
        .expect("the INVITE in the trace");
    assert!(invite.contains(" RTP/SAVP "), "{invite}");
    assert!(
        invite.contains("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:***masked***"),
        "{invite}"
    );
    assert!(hears(&bob_audio, 440.0, 1000.0).await, "bob hears alice");
    assert!(hears(&alice_audio, 1000.0, 440.0).await, "alice hears bob");
    assert!(alice_audio.srtp_active() && bob_audio.srtp_active());

    // Hold and unhold: each re-INVITE carries new keys.
    call.hold().await.unwrap();
    until(&mut bob_all, "SIPSessionDidChangeHoldState").await;
    call.unhold().await.unwrap();
    until(&mut bob_all, "SIPSessionDidChangeHoldState").await;
    assert!(hears(&alice_audio, 1000.0, 440.0).await, "bob is back");
    assert!(hears(&bob_audio, 440.0, 1000.0).await);
    assert!(alice_audio.srtp_active() && bob_audio.srtp_active());
    call.end().await.unwrap();
    until(&mut bob_all, "SIPSessionDidEnd").await;
    alice.stop();
    bob.stop();
}

#[tokio::test]
async fn best_effort_srtp_is_taken_by_an_srtp_answer_and_left_by_a_plain_one() {
    for (bob_policy, encrypted) in [
        (SrtpPolicy::Optional, true),
        (SrtpPolicy::Mandatory, true),
        (SrtpPolicy::Disabled, false),
    ] {
        let (alice, bob, mut alice_all, mut bob_all) = apps("").await;
        let alice_audio = tone(440.0, SrtpPolicy::Optional).await;
        let (call, answer) =
            alice_calls_bob(&alice, &bob, &mut bob_all, vec![alice_audio.clone()]).await;
        let bob_audio = tone(1000.0, bob_policy).await;
        answer.accept(vec![bob_audio.clone()]).await.unwrap();
        until(&mut alice_all, "SIPSessionDidStart").await;
        assert!(hears(&bob_audio, 440.0, 1000.0).await, "{bob_policy:?}");
        assert!(hears(&alice_audio, 1000.0, 440.0).await, "{bob_policy:?}");
        assert_eq!(alice_audio.srtp_active(), encrypted, "{bob_policy:?}");
        assert_eq!(bob_audio.srtp_active(), encrypted, "{bob_policy:?}");
        call.end().await.unwrap();
        until(&mut bob_all, "SIPSessionDidEnd").await;
        alice.stop();
        bob.stop();
    }
}

#[tokio::test]
async fn savp_offered_to_an_account_without_srtp_is_refused() {
    let (alice, bob, mut alice_all, _bob_all) = apps("rtp.srtp_encryption = \"disabled\"\n").await;
    let alice_audio = tone(440.0, SrtpPolicy::Mandatory).await;
    let account = alice.account_manager().accounts().remove(0);
    alice
        .session_manager()
        .connect(
            &account,
            &common::contact_uri(&bob),
            vec![alice_audio.clone()],
        )
        .await
        .unwrap();
    let seen = until(&mut alice_all, "SIPSessionDidFail").await;
    match &seen.last().unwrap().data {
        NotificationData::SIPSessionDidFail { code, .. } => assert_eq!(*code, 488),
        other => panic!("{other:?}"),
    }
    assert!(!alice_audio.srtp_active());
    alice.stop();
    bob.stop();
}

/// RFC 4568 and the account policy: `mandatory` offers RTP/SAVP; a peer
/// (SIPp) that answers plain RTP/AVP without a crypto line gets its 200
/// acknowledged and a BYE, and the application is told why.
#[tokio::test]
async fn a_plain_rtp_answer_to_a_mandatory_offer_ends_the_call_saying_why() {
    use common::sipp::{common_args, run_sipp, scenario, sipp_available, sipp_listening};
    sipp_available();
    let port = common::free_port();
    let mut args = vec!["-sf".to_string(), scenario("uas_answer_plain_rtp.xml")];
    args.extend(common_args(
        port,
        40000 + (common::free_port() % 5000) * 2,
        sipsimple::engine::TransportKind::Udp,
    ));
    args.extend(["-m", "1"].map(String::from));
    let sipp = tokio::spawn(run_sipp(args));
    sipp_listening(port).await;
    let app = common::account_app_with("alice", "", "rtp.srtp_encryption = \"mandatory\"\n").await;
    let mut all = app.notification_center().subscribe(Filter::all());
    let audio = tone(440.0, SrtpPolicy::Mandatory).await;
    let account = app.account_manager().accounts().remove(0);
    app.session_manager()
        .connect(
            &account,
            &format!("sip:service@127.0.0.1:{port}"),
            vec![audio.clone()],
        )
        .await
        .unwrap();
    let seen = until(&mut all, "SIPSessionDidFail").await;
    let reason = match &seen.last().unwrap().data {
        NotificationData::SIPSessionDidFail {
            reason,
            failure_reason,
            ..
        } => format!("{reason} | {failure_reason}"),
        other => panic!("{other:?}"),
    };
    assert!(
        reason.contains("the peer answered without SRTP, which this account requires"),
        "{reason}"
    );
    assert!(!audio.srtp_active());
    let (code, out) = sipp.await.unwrap();
    assert_eq!(code, 0, "SIPp saw no BYE:\n{out}");
    app.stop();
}
