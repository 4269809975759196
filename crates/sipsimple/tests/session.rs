//! Sessions between two applications in one process on loopback: alice
//! calls bob, bob rings and accepts, audio flows both ways over RTP with
//! G.711 (each side plays a tone; what arrives is checked by frequency),
//! and the call ends with BYE; a refused call and a cancelled one fail
//! with the right codes on both sides.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{alice_and_bob, alice_calls_bob, names, next_notification as next, until};
use media::tone::{goertzel, ToneGenerator};
use sdp::offer_answer::Codec;
use sipsimple::application::SipApplication;
use sipsimple::notification::{AckReceived, Filter, NotificationData};
use sipsimple::session::{Session, SessionState};
use sipsimple::streams::audio::{AudioSource, AudioStream};

async fn app(user: &str) -> SipApplication {
    common::account_app(user).await
}

async fn tone_stream(hz: f64, codecs: Vec<Codec>) -> Arc<AudioStream> {
    common::tone_stream(hz, codecs).await
}

fn bob_uri(bob: &SipApplication) -> String {
    common::contact_uri(bob)
}

/// Bob's side of a new call, once NewIncoming is posted.
async fn incoming(
    bob: &SipApplication,
    sub: &mut sipsimple::notification::Subscription,
) -> Session {
    common::incoming_session(bob, sub).await
}

fn power(samples: &[i16], hz: f64) -> f64 {
    goertzel(samples, 8000, hz)
}

#[tokio::test]
async fn alice_calls_bob_audio_flows_both_ways_and_bye_ends_it() {
    let (alice, bob, mut alice_all, mut bob_all) = alice_and_bob().await;

    let alice_audio = tone_stream(440.0, vec![Codec::pcmu(), Codec::pcma()]).await;
    let account = alice.account_manager().accounts().remove(0);
    let call = alice
        .session_manager()
        .connect(&account, &bob_uri(&bob), vec![alice_audio.clone()])
        .await
        .unwrap();
    assert_eq!(call.state(), SessionState::Outgoing);
    assert_eq!(call.direction(), "outgoing");

    let answer = incoming(&bob, &mut bob_all).await;
    assert_eq!(answer.state(), SessionState::Incoming);
    assert!(answer.remote_identity().contains("alice@example.test"));
    answer.send_ring_indication().await.unwrap();
    // Bob prefers PCMA, but the answer keeps the offer's order (RFC 3264
    // §6.1): PCMU, alice's first, both ways.
    let bob_audio = tone_stream(1000.0, vec![Codec::pcma(), Codec::pcmu()]).await;
    answer.accept(vec![bob_audio.clone()]).await.unwrap();

    let started = until(&mut alice_all, "SIPSessionDidStart").await;
    // The identities are the headers, tags included: each side's local
    // identity is the other's remote one.
    let tag = |h: String| h.split(";tag=").nth(1).map(str::to_owned);
    assert!(call.local_identity().contains("<sip:alice@example.test>"));
    assert!(tag(call.local_identity()).is_some());
    assert_eq!(tag(call.local_identity()), tag(answer.remote_identity()));
    assert!(
        tag(call.remote_identity()).is_some(),
        "bob's tag, from the 200"
    );
    assert_eq!(tag(call.remote_identity()), tag(answer.local_identity()));
    assert!(answer.local_identity().contains(&bob_uri(&bob)));
    let session_names: Vec<&str> = names(&started)
        .into_iter()
        .filter(|n| n.starts_with("SIPSession"))
        .collect();
    assert_eq!(
        session_names,
        [
            "SIPSessionNewOutgoing",
            "SIPSessionGotProvisionalResponse",
            "SIPSessionGotRingIndication",
            "SIPSessionDidProcessTransaction",
            "SIPSessionWillStart",
            "SIPSessionDidStart"
        ]
    );
    let processed = started
        .iter()
        .find(|n| n.name() == "SIPSessionDidProcessTransaction")
        .unwrap();
    assert!(matches!(
        &processed.data,
        NotificationData::SIPSessionDidProcessTransaction {
            originator: "local",
            method,
            code: 200,
            ack_received: Some(AckReceived::Yes),
            ..
        } if method == "INVITE"
    ));
    // Alice's stream started, as its own sender, before the session did.
    let stream_started = started
        .iter()
        .find(|n| n.name() == "MediaStreamDidStart")
        .expect("MediaStreamDidStart");
    assert_ne!(stream_started.sender, call.sender());
    match &started.last().unwrap().data {
        NotificationData::SIPSessionDidStart { streams } => {
            assert_eq!(streams.types(), ["audio"]);
            assert_eq!(call.streams().len(), 1);
        }
        other => panic!("{other:?}"),
    }
    let bob_started = until(&mut bob_all, "SIPSessionDidStart").await;
    assert!(names(&bob_started).contains(&"SIPSessionWillStart"));
    // Bob's 200 was ACKed: his side of the INVITE transaction says so.
    assert!(bob_started.iter().any(|n| matches!(
        &n.data,
        NotificationData::SIPSessionDidProcessTransaction {
            originator: "remote",
            code: 200,
            ack_received: Some(AckReceived::Yes),
            ..
        }
    )));
    assert_eq!(call.state(), SessionState::Connected);
    assert_eq!(answer.state(), SessionState::Connected);
    assert!(call.start_time().is_some());
    assert_eq!(alice_audio.codec().as_deref(), Some("PCMU"));
    assert_eq!(bob_audio.codec().as_deref(), Some("PCMU"));

    // A second of audio each way.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let heard_by_bob = bob_audio.recorded();
    let heard_by_alice = alice_audio.recorded();
    assert!(
        heard_by_bob.len() >= 6400,
        "bob got {} samples",
        heard_by_bob.len()
    );
    assert!(
        heard_by_alice.len() >= 6400,
        "alice got {} samples",
        heard_by_alice.len()
    );
    assert!(
        power(&heard_by_bob, 440.0) > 100.0 * power(&heard_by_bob, 1000.0),
        "bob hears alice's 440 Hz"
    );
    assert!(
        power(&heard_by_alice, 1000.0) > 100.0 * power(&heard_by_alice, 440.0),
        "alice hears bob's 1000 Hz"
    );
    let stats = bob_audio.stats();
    assert!(stats.packets_received >= 40 && stats.lost == 0, "{stats:?}");

    call.end().await.unwrap();
    let ended = until(&mut alice_all, "SIPSessionDidEnd").await;
    assert!(names(&ended).contains(&"SIPSessionWillEnd"));
    assert!(matches!(
        &ended.last().unwrap().data,
        NotificationData::SIPSessionDidEnd {
            originator: "local",
            ..
        }
    ));
    let bob_ended = until(&mut bob_all, "SIPSessionDidEnd").await;
    assert!(matches!(
        &bob_ended.last().unwrap().data,
        NotificationData::SIPSessionDidEnd {
            originator: "remote",
            ..
        }
    ));
    assert_eq!(call.state(), SessionState::Terminated);
    assert!(call.stop_time().is_some());
    alice.stop();
    bob.stop();
}

#[tokio::test]
async fn a_refused_call_fails_with_486_on_both_sides() {
    let alice = app("alice").await;
    let bob = app("bob").await;
    let mut alice_fail = alice
        .notification_center()
        .subscribe(Filter::name("SIPSessionDidFail"));
    let mut bob_all = bob.notification_center().subscribe(Filter::all());
    let account = alice.account_manager().accounts().remove(0);
    alice
        .session_manager()
        .connect(
            &account,
            &bob_uri(&bob),
            vec![tone_stream(440.0, vec![Codec::pcmu()]).await],
        )
        .await
        .unwrap();
    let answer = incoming(&bob, &mut bob_all).await;
    answer.reject(486, None).await.unwrap();
    let NotificationData::SIPSessionDidFail {
        originator,
        code,
        reason,
        ..
    } = next(&mut alice_fail).await.data
    else {
        unreachable!()
    };
    assert_eq!(
        (originator, code, reason.as_str()),
        ("remote", 486, "Busy Here")
    );
    let failed = until(&mut bob_all, "SIPSessionDidFail").await;
    assert!(matches!(
        failed.last().unwrap().data,
        NotificationData::SIPSessionDidFail {
            originator: "local",
            code: 486,
            ..
        }
    ));
    alice.stop();
    bob.stop();
}

#[tokio::test]
async fn ending_a_ringing_call_cancels_it_with_487() {
    let (alice, bob, mut alice_all, mut bob_all) = alice_and_bob().await;
    let account = alice.account_manager().accounts().remove(0);
    let call = alice
        .session_manager()
        .connect(
            &account,
            &bob_uri(&bob),
            vec![tone_stream(440.0, vec![Codec::pcmu()]).await],
        )
        .await
        .unwrap();
    let answer = incoming(&bob, &mut bob_all).await;
    answer.send_ring_indication().await.unwrap();
    until(&mut alice_all, "SIPSessionGotRingIndication").await;
    call.end().await.unwrap();
    let failed = until(&mut alice_all, "SIPSessionDidFail").await;
    assert!(matches!(
        failed.last().unwrap().data,
        NotificationData::SIPSessionDidFail {
            originator: "local",
            code: 487,
            ..
        }
    ));
    let failed = until(&mut bob_all, "SIPSessionDidFail").await;
    assert!(matches!(
        failed.last().unwrap().data,
        NotificationData::SIPSessionDidFail {
            originator: "remote",
            code: 487,
            ..
        }
    ));
    assert_eq!(answer.state(), SessionState::Terminated);
    alice.stop();
    bob.stop();
}

#[tokio::test]
async fn hold_and_unhold_renegotiate_the_audio_direction() {
    let (alice, bob, mut alice_all, mut bob_all) = alice_and_bob().await;
    let alice_audio = tone_stream(440.0, vec![Codec::pcmu()]).await;
    let (call, answer) =
        alice_calls_bob(&alice, &bob, &mut bob_all, vec![alice_audio.clone()]).await;
    let bob_audio = tone_stream(1000.0, vec![Codec::pcmu()]).await;
    answer.accept(vec![bob_audio.clone()]).await.unwrap();
    until(&mut alice_all, "SIPSessionDidStart").await;
    until(&mut bob_all, "SIPSessionDidStart").await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    call.hold().await.unwrap();
    let held = until(&mut alice_all, "SIPSessionDidChangeHoldState").await;
    assert_eq!(common::hold_state(&held), ("local", true));
    let held = until(&mut bob_all, "SIPSessionDidChangeHoldState").await;
    assert_eq!(common::hold_state(&held), ("remote", true));
    assert!(call.on_hold() && answer.on_hold());
    assert_eq!(alice_audio.direction(), Some(sdp::Direction::SendOnly));
    assert_eq!(bob_audio.direction(), Some(sdp::Direction::RecvOnly));
    // On hold, bob sends nothing: alice's recording stops growing once
    // her jitter buffer has drained and concealed its last frames
    // (at most 200 ms), while bob still hears alice.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (a0, b0) = (alice_audio.recorded().len(), bob_audio.recorded().len());
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (a1, b1) = (alice_audio.recorded().len(), bob_audio.recorded().len());
    assert!(
        a1 - a0 <= 160,
        "alice still got {} samples on hold",
        a1 - a0
    );
    assert!(
        b1 - b0 >= 1600,
        "bob got only {} samples from alice",
        b1 - b0
    );

    call.unhold().await.unwrap();
    let unheld = until(&mut bob_all, "SIPSessionDidChangeHoldState").await;
    assert!(matches!(
        unheld.last().unwrap().data,
        NotificationData::SIPSessionDidChangeHoldState { on_hold: false, .. }
    ));
    until(&mut alice_all, "SIPSessionDidChangeHoldState").await;
    assert!(!call.on_hold() && !answer.on_hold());
    let a2 = alice_audio.recorded().len();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        alice_audio.recorded().len() - a2 >= 1600,
        "bob's audio is back"
    );
    let heard = alice_audio.recorded();
    assert!(power(&heard[a2..], 1000.0) > 100.0 * power(&heard[a2..], 440.0));
    call.end().await.unwrap();
    until(&mut bob_all, "SIPSessionDidEnd").await;
    alice.stop();
    bob.stop();
}

#[tokio::test]
async fn dtmf_digits_arrive_as_rfc_4733_events() {
    let (alice, bob, mut alice_all, mut bob_all) = alice_and_bob().await;
    let alice_audio = tone_stream(440.0, vec![Codec::pcmu()]).await;
    assert!(alice_audio.send_dtmf('1').is_err(), "not negotiated yet");
    let (call, answer) =
        alice_calls_bob(&alice, &bob, &mut bob_all, vec![alice_audio.clone()]).await;
    answer
        .accept(vec![tone_stream(1000.0, vec![Codec::pcmu()]).await])
        .await
        .unwrap();
    until(&mut alice_all, "SIPSessionDidStart").await;
    // The stream posts as itself (the sender of its MediaStreamDidStart).
    let bob_started = until(&mut bob_all, "MediaStreamDidStart").await;
    let bob_stream = bob_started.last().unwrap().sender;
    let mut digits = bob
        .notification_center()
        .subscribe(Filter::name("AudioStreamGotDTMF"));
    for d in ['1', '#', 'A'] {
        alice_audio.send_dtmf(d).unwrap();
    }
    assert!(alice_audio.send_dtmf('x').is_err());
    let mut got = Vec::new();
    while got.len() < 3 {
        let n = next(&mut digits).await;
        assert_eq!(n.sender, bob_stream);
        if let NotificationData::AudioStreamGotDTMF { digit } = n.data {
            got.push(digit);
        }
    }
    assert_eq!(got, ['1', '#', 'A'], "each once, in order");
    call.end().await.unwrap();
    until(&mut bob_all, "SIPSessionDidEnd").await;
    alice.stop();
    bob.stop();
}

#[tokio::test]
async fn a_wav_file_is_played_into_the_call_and_the_other_side_records_both_ways() {
    let dir = common::TempDir::new("wav");
    // 1 s of 1000 Hz at 16 kHz stereo: the stream mixes down and converts.
    let input = dir.0.join("in.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 16000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&input, spec).unwrap();
    let mut tone = vec![0i16; 16000];
    ToneGenerator::new(16000, &[1000.0], 8000).fill(&mut tone);
    for s in &tone {
        w.write_sample(*s).unwrap();
        w.write_sample(*s).unwrap();
    }
    w.finalize().unwrap();

    let (alice, bob, mut alice_all, mut bob_all) = alice_and_bob().await;
    let alice_audio = Arc::new(
        AudioStream::new(
            "127.0.0.1".parse().unwrap(),
            (50000, 50500),
            vec![Codec::pcmu()],
            AudioSource::wav(&input).unwrap(),
        )
        .await
        .unwrap(),
    );
    let (call, answer) = alice_calls_bob(&alice, &bob, &mut bob_all, vec![alice_audio]).await;
    let bob_audio = tone_stream(440.0, vec![Codec::pcmu()]).await;
    answer.accept(vec![bob_audio.clone()]).await.unwrap();
    until(&mut alice_all, "SIPSessionDidStart").await;
    let output = dir.0.join("out.wav");
    assert_eq!(bob_audio.start_recording(Some(&output)).unwrap(), output);
    assert_eq!(
        bob_audio.recording_filename().as_deref(),
        Some(output.as_path())
    );
    let started = until(&mut bob_all, "AudioStreamDidStartRecordingAudio").await;
    assert!(names(&started).contains(&"AudioStreamWillStartRecordingAudio"));
    tokio::time::sleep(Duration::from_millis(800)).await;
    bob_audio.stop_recording();
    until(&mut bob_all, "AudioStreamDidStopRecordingAudio").await;
    call.end().await.unwrap();
    until(&mut bob_all, "SIPSessionDidEnd").await;

    let recorded = sipsimple::streams::audio::read_wav(&output).unwrap();
    assert!(
        recorded.len() >= 4800,
        "{} samples recorded",
        recorded.len()
    );
    // Both directions: the file alice plays, and bob's own 440 Hz.
    for hz in [1000.0, 440.0] {
        assert!(
            power(&recorded, hz) > 100.0 * power(&recorded, 700.0),
            "{hz} Hz in the recording"
        );
    }
    alice.stop();
    bob.stop();
}

#[tokio::test]
async fn rtcp_reports_go_both_ways_and_carry_what_each_side_received() {
    let (alice, bob, mut alice_all, mut bob_all) = alice_and_bob().await;
    let alice_audio = tone_stream(440.0, vec![Codec::pcmu()]).await;
    alice_audio.set_rtcp_interval(Duration::from_millis(300));
    let (call, answer) =
        alice_calls_bob(&alice, &bob, &mut bob_all, vec![alice_audio.clone()]).await;
    let bob_audio = tone_stream(1000.0, vec![Codec::pcmu()]).await;
    bob_audio.set_rtcp_interval(Duration::from_millis(300));
    answer.accept(vec![bob_audio.clone()]).await.unwrap();
    until(&mut alice_all, "SIPSessionDidStart").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for (name, audio) in [("alice", &alice_audio), ("bob", &bob_audio)] {
        let s = audio.stats();
        assert!(s.rtcp_sent >= 3 && s.rtcp_received >= 3, "{name}: {s:?}");
        // The peer's report block is about our stream: nothing lost, and
        // it has seen our packets.
        assert_eq!(s.remote_fraction_lost, Some(0), "{name}: {s:?}");
        assert!(s.remote_highest_sequence.is_some(), "{name}: {s:?}");
    }
    call.end().await.unwrap();
    until(&mut bob_all, "SIPSessionDidEnd").await;
    alice.stop();
    bob.stop();
}

/// The stream's RTP attributes, and the RTP timeout: when alice's media
/// dies without a word in SIP, bob's stream says so once.
#[tokio::test]
async fn rtp_attributes_and_a_timeout_when_the_peer_media_dies() {
    use sipsimple::streams::MediaStream;

    let (alice, bob, mut alice_all, mut bob_all) = alice_and_bob().await;
    let alice_audio = tone_stream(440.0, vec![Codec::pcmu()]).await;
    let (call, answer) =
        alice_calls_bob(&alice, &bob, &mut bob_all, vec![alice_audio.clone()]).await;
    let bob_audio = tone_stream(1000.0, vec![Codec::pcmu()]).await;
    bob_audio.set_rtp_timeout(Duration::from_millis(300));
    assert_eq!(bob_audio.sample_rate(), None, "not started");
    answer.accept(vec![bob_audio.clone()]).await.unwrap();
    until(&mut alice_all, "SIPSessionDidStart").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(bob_audio.sample_rate(), Some(8000));
    assert_eq!(
        bob_audio.remote_rtp_address_sdp(),
        Some(alice_audio.local_rtp())
    );
    assert_eq!(
        bob_audio.remote_rtp_address_received(),
        Some(alice_audio.local_rtp()),
        "alice sends from the port she announced"
    );
    assert!(!bob_audio.srtp_active() && !bob_audio.ice_active());
    assert_eq!(answer.transport(), Some("udp"));
    assert_eq!(answer.account().id(), "bob@example.test");
    assert_eq!(call.account().id(), "alice@example.test");

    // Alice's RTP stops; SIP knows nothing of it.
    MediaStream::end(&*alice_audio);
    let timed_out = until(&mut bob_all, "AudioStreamDidTimeout").await;
    assert!(
        !names(&timed_out).contains(&"SIPSessionDidEnd"),
        "the session is still up"
    );
    // Once only.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let mut more = bob
        .notification_center()
        .subscribe(Filter::name("AudioStreamDidTimeout"));
    assert!(
        tokio::time::timeout(Duration::from_millis(400), more.next())
            .await
            .is_err()
    );
    call.end().await.unwrap();
    until(&mut bob_all, "SIPSessionDidEnd").await;
    alice.stop();
    bob.stop();
}

/// An ended call leaves nothing running: the session task, the stream's
/// send, receive, playout and RTCP tasks all go (a playout task once
/// outlived every call: found under SIPp load).
#[tokio::test]
async fn an_ended_call_leaves_no_task_behind() {
    let (alice, bob, mut alice_all, mut bob_all) = alice_and_bob().await;
    let account = alice.account_manager().accounts().remove(0);
    let metrics = tokio::runtime::Handle::current().metrics();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = metrics.num_alive_tasks();
    for _ in 0..3 {
        let call = alice
            .session_manager()
            .connect(
                &account,
                &bob_uri(&bob),
                vec![tone_stream(440.0, vec![Codec::pcmu()]).await],
            )
            .await
            .unwrap();
        let answer = incoming(&bob, &mut bob_all).await;
        answer
            .accept(answer.proposed_streams().unwrap())
            .await
            .unwrap();
        until(&mut alice_all, "SIPSessionDidStart").await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            metrics.num_alive_tasks() > before + 6,
            "the call's tasks run"
        );
        call.end().await.unwrap();
        until(&mut alice_all, "SIPSessionDidEnd").await;
        until(&mut bob_all, "SIPSessionDidEnd").await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = metrics.num_alive_tasks();
    // What may remain: per call, alice's readers of her INVITE and BYE
    // client transactions, which end with those transactions (Timers M
    // and K, up to 32 s). A leaked playout task would add two per call.
    assert!(
        after <= before + 2 * 3,
        "{before} tasks before, {after} after"
    );
    alice.stop();
    bob.stop();
}

/// The spec's two steps: `Session::new(account)` makes a session in the
/// Null state, where only `connect` (and `end`) may be called; `connect`
/// takes the routes to try in order (here one over a transport alice
/// does not run, then bob's).
#[tokio::test]
async fn a_session_is_made_in_the_null_state_and_connected_over_given_routes() {
    use sipsimple::engine::TransportKind;
    use sipsimple::lookup::Route;
    use sipsimple::session::SessionError;

    let (alice, bob, mut alice_all, mut bob_all) = alice_and_bob().await;
    let account = alice.account_manager().accounts().remove(0);
    let call = Session::new(alice.session_manager(), account.clone());
    assert_eq!(call.state(), SessionState::Null);
    assert!(Arc::ptr_eq(call.account().as_sip().unwrap(), &account));
    assert_eq!(call.transport(), None);
    assert_eq!(
        call.hold().await,
        Err(SessionError::State {
            action: "hold",
            state: SessionState::Null
        })
    );
    assert!(alice.session_manager().sessions().is_empty());

    let bob_addr = bob
        .engine()
        .unwrap()
        .local_addr(TransportKind::Udp)
        .unwrap();
    // A route over TCP, which alice does not run, is passed over (failover
    // past servers that fail is tests/call_failover.rs).
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let routes = vec![
        Route {
            address: bob_addr.ip(),
            port: dead,
            transport: TransportKind::Tcp,
        },
        Route {
            address: bob_addr.ip(),
            port: bob_addr.port(),
            transport: TransportKind::Udp,
        },
    ];
    let audio = tone_stream(440.0, vec![Codec::pcmu()]).await;
    call.connect(&bob_uri(&bob), routes.clone(), vec![audio.clone()])
        .await
        .unwrap();
    assert_eq!(call.state(), SessionState::Outgoing);
    assert!(matches!(
        call.connect(&bob_uri(&bob), routes, vec![audio]).await,
        Err(SessionError::State {
            action: "connect",
            ..
        })
    ));
    let answer = incoming(&bob, &mut bob_all).await;
    answer
        .accept(vec![tone_stream(1000.0, vec![Codec::pcmu()]).await])
        .await
        .unwrap();
    let seen = until(&mut alice_all, "SIPSessionDidStart").await;
    assert!(!names(&seen).contains(&"SIPSessionDidFail"));
    assert_eq!(names(&seen)[0], "SIPSessionNewOutgoing");
    assert_eq!(call.transport(), Some("udp"), "the route that took it");
    call.end().await.unwrap();
    until(&mut alice_all, "SIPSessionDidEnd").await;

    // A session never connected just ends.
    let unused = Session::new(alice.session_manager(), account);
    unused.end().await.unwrap();
    assert_eq!(unused.state(), SessionState::Terminated);
    alice.stop();
    bob.stop();
}

/// An account's own `rtp.audio_codec_list` decides the answer to an
/// offer: alice offers PCMU first, bob's account lists only PCMA, and
/// the stream the registry made for him (accepted as proposed) answers
/// with PCMA; an account without the setting follows the global list.
#[tokio::test]
async fn an_accounts_codec_list_chooses_the_answer_to_an_offer() {
    for (own, expected) in [(Some("[\"PCMA\"]"), "PCMA"), (None, "PCMU")] {
        let alice = app("alice").await;
        let own = own
            .map(|l| format!("rtp.audio_codec_list = {l}\n"))
            .unwrap_or_default();
        let bob = common::account_app_with("bob", "", &own).await;
        let mut alice_all = alice.notification_center().subscribe(Filter::all());
        let mut bob_all = bob.notification_center().subscribe(Filter::all());
        let account = alice.account_manager().accounts().remove(0);
        let audio = tone_stream(440.0, vec![Codec::pcmu(), Codec::pcma()]).await;
        let call = alice
            .session_manager()
            .connect(&account, &bob_uri(&bob), vec![audio.clone()])
            .await
            .unwrap();
        let answer = incoming(&bob, &mut bob_all).await;
        answer
            .accept(answer.proposed_streams().unwrap())
            .await
            .unwrap();
        until(&mut alice_all, "SIPSessionDidStart").await;
        assert_eq!(audio.codec().as_deref(), Some(expected));
        assert_eq!(
            answer.audio_stream().unwrap().codec().as_deref(),
            Some(expected)
        );
        call.end().await.unwrap();
        until(&mut alice_all, "SIPSessionDidEnd").await;
        alice.stop();
        bob.stop();
    }
}

/// A recording's default name: the directory of
/// `audio.recordings_directory`, the UTC time, and the participants'
/// addresses made safe for a file name.
#[test]
fn a_default_recording_name_has_the_time_and_the_participants() {
    use sipsimple::streams::RecordingDefaults;
    use std::time::{Duration, UNIX_EPOCH};

    let d = RecordingDefaults::new(
        "/rec".into(),
        "alice@example.test",
        "\"Bob\" <sip:bob@example.test:5070;transport=tcp>;tag=x1",
    );
    assert_eq!(d.participants, "alice@example.test-bob@example.test_5070");
    for (secs, name) in [
        (1_795_801_359, "20261127-174239"),
        (951_782_400, "20000229-000000"),
        (946_684_799, "19991231-235959"),
    ] {
        assert_eq!(
            d.path(UNIX_EPOCH + Duration::from_secs(secs)),
            std::path::PathBuf::from(format!(
                "/rec/{name}-alice@example.test-bob@example.test_5070.wav"
            ))
        );
    }
}

/// start_recording without a file name records under
/// `audio.recordings_directory` with a name of the session's own.
#[tokio::test]
async fn start_recording_without_a_name_records_in_the_recordings_directory() {
    let dir = common::TempDir::new("recordings");
    let alice = app("alice").await;
    let audio = format!(
        "[audio]\nrecordings_directory = \"{}\"\n",
        dir.0.join("calls").display()
    );
    let bob = common::account_app_with("bob", &audio, "").await;
    let mut alice_all = alice.notification_center().subscribe(Filter::all());
    let mut bob_all = bob.notification_center().subscribe(Filter::all());
    let account = alice.account_manager().accounts().remove(0);
    let call = alice
        .session_manager()
        .connect(
            &account,
            &bob_uri(&bob),
            vec![tone_stream(440.0, vec![Codec::pcmu()]).await],
        )
        .await
        .unwrap();
    let answer = incoming(&bob, &mut bob_all).await;
    let bob_audio = tone_stream(1000.0, vec![Codec::pcmu()]).await;
    answer.accept(vec![bob_audio.clone()]).await.unwrap();
    until(&mut alice_all, "SIPSessionDidStart").await;
    let path = bob_audio.start_recording(None).unwrap();
    assert_eq!(path.parent(), Some(dir.0.join("calls").as_path()));
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.ends_with("-bob@example.test-alice@example.test.wav"),
        "{name}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    bob_audio.stop_recording();
    let recorded = sipsimple::streams::audio::read_wav(&path).unwrap();
    assert!(recorded.len() >= 2400, "{} samples", recorded.len());
    // What bob sends (1000 Hz) and what he hears (alice's 440 Hz).
    for hz in [1000.0, 440.0] {
        assert!(
            power(&recorded, hz) > 100.0 * power(&recorded, 700.0),
            "{hz} Hz in the recording"
        );
    }
    call.end().await.unwrap();
    until(&mut alice_all, "SIPSessionDidEnd").await;
    alice.stop();
    bob.stop();
}

/// RTP from a stranger (another address, another SSRC) sent to bob's
/// port while alice talks is dropped and counted; bob hears only alice
/// (issue 13: RTP was taken from any source).
#[tokio::test]
async fn rtp_from_another_source_is_dropped_and_counted() {
    let (alice, bob, mut alice_all, mut bob_all) = alice_and_bob().await;
    let alice_audio = tone_stream(440.0, vec![Codec::pcmu()]).await;
    let (call, answer) =
        alice_calls_bob(&alice, &bob, &mut bob_all, vec![alice_audio.clone()]).await;
    let bob_audio = tone_stream(1000.0, vec![Codec::pcmu()]).await;
    answer.accept(vec![bob_audio.clone()]).await.unwrap();
    until(&mut alice_all, "SIPSessionDidStart").await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let stranger = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut tone = ToneGenerator::new(8000, &[3000.0], 8000);
    let mut frame = [0i16; 160];
    let start = bob_audio.recorded().len();
    for n in 0u16..50 {
        tone.fill(&mut frame);
        let mut packet = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 9, 9, 9, 9];
        packet[2..4].copy_from_slice(&n.to_be_bytes());
        packet[4..8].copy_from_slice(&(u32::from(n) * 160).to_be_bytes());
        let mut payload = Vec::new();
        media::g711::Law::Mu.encode(&frame, &mut payload);
        packet.extend(payload);
        stranger
            .send_to(&packet, bob_audio.local_rtp())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        bob_audio.stats().packets_dropped >= 50,
        "{:?}",
        bob_audio.stats()
    );
    let heard = bob_audio.recorded();
    let heard = &heard[start..];
    assert!(power(heard, 440.0) > 100.0 * power(heard, 3000.0));
    assert_eq!(
        bob_audio.remote_rtp_address_received(),
        Some(alice_audio.local_rtp())
    );
    call.end().await.unwrap();
    until(&mut bob_all, "SIPSessionDidEnd").await;
    alice.stop();
    bob.stop();
}

/// A long call keeps no answer path for requests it has answered: after
/// the initial INVITE and five hold/unhold re-INVITEs, each ACKed, bob's
/// session holds none (issue 13: the table grew with every request).
#[tokio::test]
async fn answered_requests_leave_no_server_transaction_behind() {
    let (alice, bob, mut alice_all, mut bob_all) = alice_and_bob().await;
    let alice_audio = tone_stream(440.0, vec![Codec::pcmu()]).await;
    let (call, answer) =
        alice_calls_bob(&alice, &bob, &mut bob_all, vec![alice_audio.clone()]).await;
    let bob_audio = tone_stream(1000.0, vec![Codec::pcmu()]).await;
    answer.accept(vec![bob_audio.clone()]).await.unwrap();
    until(&mut alice_all, "SIPSessionDidStart").await;
    for _ in 0..5 {
        call.hold().await.unwrap();
        until(&mut bob_all, "SIPSessionDidChangeHoldState").await;
        call.unhold().await.unwrap();
        until(&mut bob_all, "SIPSessionDidChangeHoldState").await;
    }
    // The last ACK may still be on its way.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while answer.open_server_transactions() > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(answer.open_server_transactions(), 0);
    call.end().await.unwrap();
    until(&mut bob_all, "SIPSessionDidEnd").await;
    alice.stop();
    bob.stop();
}
