//! Calls with SIPp, started and stopped by each test: scripted UACs and
//! UASes check what we send on the wire (an offer-less re-INVITE answered
//! with our offer, a 491 retried after the RFC 3261 §14.1 wait, early
//! media on a 183, 488 for a codec we lack) and SIPp's RTP echo or pcap
//! player sends audio our side checks.

mod common;

use std::time::{Duration, Instant};

use common::sipp::{common_args, run_sipp, scenario, sipp_available, sipp_listening};
use common::{free_port, until};
use media::tone::goertzel;
use sdp::offer_answer::Codec;
use sipsimple::engine::TransportKind;
use sipsimple::notification::{AckReceived, Filter, NotificationData};

/// SIPp calls with only G.729 offered: 488 (checked by SIPp's scenario),
/// and no session is left behind.
#[tokio::test]
async fn an_invite_with_only_an_unsupported_codec_gets_488() {
    sipp_available();
    let app = common::account_app("bob").await;
    let account = app.account_manager().accounts().remove(0);
    let ours = app
        .engine()
        .unwrap()
        .local_addr(TransportKind::Udp)
        .unwrap();
    let mut args = vec![
        "-sf".to_string(),
        scenario("uac_invite_g729.xml"),
        ours.to_string(),
        "-s".into(),
        account.contact_username().to_owned(),
    ];
    args.extend(common_args(free_port(), free_port(), TransportKind::Udp));
    args.extend(["-m", "1"].map(String::from));
    let (code, out) = run_sipp(args).await;
    assert_eq!(code, 0, "SIPp expected 488:\n{out}");
    assert!(app.session_manager().sessions().is_empty());
    app.stop();
}

/// We call SIPp's built-in UAS with RTP echo: it answers, sends our own
/// audio back, and takes our BYE; what we hear is our 1000 Hz tone.
#[tokio::test]
async fn our_call_to_sipp_with_rtp_echo_hears_itself() {
    sipp_available();
    let port = free_port();
    let media_port = 40000 + (free_port() % 5000) * 2;
    let mut args = vec!["-sn".to_string(), "uas".into(), "-rtp_echo".into()];
    args.extend(common_args(port, media_port, TransportKind::Udp));
    args.extend(["-m", "1"].map(String::from));
    let sipp = tokio::spawn(run_sipp(args));
    sipp_listening(port).await;

    let app = common::account_app("alice").await;
    let mut all = app.notification_center().subscribe(Filter::all());
    let account = app.account_manager().accounts().remove(0);
    let audio = common::tone_stream(1000.0, vec![Codec::pcmu()]).await;
    let call = app
        .session_manager()
        .connect(
            &account,
            &format!("sip:service@127.0.0.1:{port}"),
            vec![audio.clone()],
        )
        .await
        .unwrap();
    common::until(&mut all, "SIPSessionDidStart").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    call.end().await.unwrap();
    common::until(&mut all, "SIPSessionDidEnd").await;
    let heard = audio.recorded();
    assert!(heard.len() >= 4000, "{} samples echoed", heard.len());
    assert!(goertzel(&heard, 8000, 1000.0) > 100.0 * goertzel(&heard, 8000, 440.0));
    let (code, out) = sipp.await.unwrap();
    assert_eq!(code, 0, "SIPp:\n{out}");
    app.stop();
}

/// SIPp re-INVITEs without SDP: our 200 must carry an offer (SIPp checks
/// it), and the answer in its ACK (a=sendonly, another port) must reach
/// our side: the peer now holds us and its RTP address changed.
#[tokio::test]
async fn a_reinvite_without_sdp_gets_our_offer_and_the_ack_answer_holds_us() {
    sipp_available();
    let app = common::account_app("bob").await;
    let mut all = app.notification_center().subscribe(Filter::all());
    let account = app.account_manager().accounts().remove(0);
    let ours = app
        .engine()
        .unwrap()
        .local_addr(TransportKind::Udp)
        .unwrap();
    let mut args = vec![
        "-sf".to_string(),
        scenario("uac_reinvite_without_sdp.xml"),
        ours.to_string(),
        "-s".into(),
        account.contact_username().to_owned(),
    ];
    args.extend(common_args(free_port(), free_port(), TransportKind::Udp));
    args.extend(["-m", "1"].map(String::from));
    let sipp = tokio::spawn(run_sipp(args));
    let session = common::incoming_session(&app, &mut all).await;
    session
        .accept(vec![common::tone_stream(440.0, vec![Codec::pcmu()]).await])
        .await
        .unwrap();
    let held = until(&mut all, "SIPSessionDidChangeHoldState").await;
    assert_eq!(common::hold_state(&held), ("remote", true));
    // The re-INVITE's transaction completed with its ACK.
    assert!(held.iter().any(|n| matches!(
        &n.data,
        NotificationData::SIPSessionDidProcessTransaction {
            originator: "remote",
            code: 200,
            ack_received: Some(AckReceived::Yes),
            ..
        }
    )));
    assert!(session.on_hold());
    let ended = until(&mut all, "SIPSessionDidEnd").await;
    assert!(
        held.iter()
            .chain(&ended)
            .any(|n| n.name() == "AudioStreamDidChangeRTPParameters"),
        "the new port is noticed"
    );
    let (code, out) = sipp.await.unwrap();
    assert_eq!(code, 0, "SIPp:\n{out}");
    app.stop();
}

/// SIPp refuses our hold re-INVITE with 491: we retry it after the RFC
/// 3261 §14.1 wait (we own the Call-ID: 2.1 to 4 s) and the retry holds.
#[tokio::test]
async fn a_reinvite_refused_with_491_is_retried_after_the_rfc_wait() {
    sipp_available();
    let port = free_port();
    let mut args = vec!["-sf".to_string(), scenario("uas_reinvite_491.xml")];
    args.extend(common_args(
        port,
        40000 + (free_port() % 5000) * 2,
        TransportKind::Udp,
    ));
    args.extend(["-m", "1"].map(String::from));
    let sipp = tokio::spawn(run_sipp(args));
    sipp_listening(port).await;

    let app = common::account_app("alice").await;
    let mut all = app.notification_center().subscribe(Filter::all());
    let account = app.account_manager().accounts().remove(0);
    let call = app
        .session_manager()
        .connect(
            &account,
            &format!("sip:service@127.0.0.1:{port}"),
            vec![common::tone_stream(1000.0, vec![Codec::pcmu()]).await],
        )
        .await
        .unwrap();
    until(&mut all, "SIPSessionDidStart").await;
    let asked = Instant::now();
    call.hold().await.unwrap();
    let held = until(&mut all, "SIPSessionDidChangeHoldState").await;
    let waited = asked.elapsed();
    assert_eq!(common::hold_state(&held), ("local", true));
    assert!(held.iter().any(|n| matches!(
        &n.data,
        NotificationData::SIPSessionDidProcessTransaction { code: 491, .. }
    )));
    assert!(
        waited >= Duration::from_millis(2100) && waited < Duration::from_secs(6),
        "retried after {waited:?}"
    );
    call.end().await.unwrap();
    until(&mut all, "SIPSessionDidEnd").await;
    let (code, out) = sipp.await.unwrap();
    assert_eq!(code, 0, "SIPp:\n{out}");
    app.stop();
}

/// SIPp answers 183 with SDP and plays A-law audio before its 200: we hear
/// it while the call is still ringing, and the 200 then starts the call.
#[tokio::test]
async fn early_media_on_a_183_is_heard_before_the_200() {
    sipp_available();
    let port = free_port();
    let mut args = vec!["-sf".to_string(), scenario("uas_183_early_media.xml")];
    args.extend(common_args(
        port,
        40000 + (free_port() % 5000) * 2,
        TransportKind::Udp,
    ));
    args.extend(["-m", "1"].map(String::from));
    let sipp = tokio::spawn(run_sipp(args));
    sipp_listening(port).await;

    let app = common::account_app("alice").await;
    let mut all = app.notification_center().subscribe(Filter::all());
    let account = app.account_manager().accounts().remove(0);
    let audio = common::tone_stream(1000.0, vec![Codec::pcmu(), Codec::pcma()]).await;
    let call = app
        .session_manager()
        .connect(
            &account,
            &format!("sip:service@127.0.0.1:{port}"),
            vec![audio.clone()],
        )
        .await
        .unwrap();
    let progress = until(&mut all, "SIPSessionGotProvisionalResponse").await;
    assert!(matches!(
        &progress.last().unwrap().data,
        NotificationData::SIPSessionGotProvisionalResponse { code: 183, .. }
    ));
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let early = audio.recorded();
    assert_eq!(call.state(), sipsimple::session::SessionState::Outgoing);
    assert!(
        early.len() >= 2400,
        "{} samples before the 200",
        early.len()
    );
    let energy: f64 = early.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / early.len() as f64;
    assert!(energy > 1000.0, "the early audio is not silence ({energy})");
    assert_eq!(audio.codec().as_deref(), Some("PCMA"));
    until(&mut all, "SIPSessionDidStart").await;
    call.end().await.unwrap();
    until(&mut all, "SIPSessionDidEnd").await;
    let (code, out) = sipp.await.unwrap();
    assert_eq!(code, 0, "SIPp:\n{out}");
    app.stop();
}
