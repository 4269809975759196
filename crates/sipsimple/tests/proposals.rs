//! Streams added and removed during a call (the spec's proposals): alice
//! and bob in one process on loopback. A second audio stream is proposed
//! and accepted (audio then flows on it both ways, checked by frequency),
//! refused with 488, withdrawn with CANCEL (487 on both sides) and
//! removed again; an application-defined stream type from the registry
//! is negotiated alongside audio.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{alice_and_bob, alice_calls_bob, contact_uri, incoming_session, tone_stream, until};
use media::tone::goertzel;
use sdp::offer_answer::Codec;
use sdp::{Attribute, Media, SessionDescription};
use sipsimple::application::SipApplication;
use sipsimple::notification::{Filter, Notification, NotificationData, Subscription};
use sipsimple::session::{Session, SessionState};
use sipsimple::streams::audio::AudioStream;
use sipsimple::streams::{
    BoxFuture, MediaStream, MediaStreamType, StreamContext, StreamDirection, StreamError,
    StreamSettings,
};

struct Call {
    alice: SipApplication,
    bob: SipApplication,
    alice_all: Subscription,
    bob_all: Subscription,
    caller: Session,
    callee: Session,
}

/// Alice calls bob with one audio stream each (440 Hz / 1000 Hz) and
/// waits until both sides are connected.
async fn call() -> Call {
    let (alice, bob, mut alice_all, mut bob_all) = alice_and_bob().await;
    let (caller, callee) = alice_calls_bob(
        &alice,
        &bob,
        &mut bob_all,
        vec![tone_stream(440.0, vec![Codec::pcmu()]).await],
    )
    .await;
    callee
        .accept(vec![tone_stream(1000.0, vec![Codec::pcmu()]).await])
        .await
        .unwrap();
    until(&mut alice_all, "SIPSessionDidStart").await;
    until(&mut bob_all, "SIPSessionDidStart").await;
    Call {
        alice,
        bob,
        alice_all,
        bob_all,
        caller,
        callee,
    }
}

fn last(ns: &[Notification]) -> &NotificationData {
    &ns.last().expect("a notification").data
}

fn audio(session: &Session, n: usize) -> Arc<AudioStream> {
    session.streams()[n]
        .clone()
        .downcast::<AudioStream>()
        .unwrap()
}

fn power(samples: &[i16], hz: f64) -> f64 {
    goertzel(samples, 8000, hz)
}

#[tokio::test]
async fn a_second_audio_stream_is_proposed_accepted_and_carries_its_own_audio() {
    let mut c = call().await;
    let second = tone_stream(700.0, vec![Codec::pcmu()]).await;
    c.caller.add_stream(second.clone()).await.unwrap();
    assert_eq!(c.caller.state(), SessionState::SendingProposal);
    assert_eq!(c.caller.proposed_streams().unwrap().len(), 1);

    // Bob sees the proposal with a stream the registry made for it.
    let proposal = until(&mut c.bob_all, "SIPSessionGotProposal").await;
    match last(&proposal) {
        NotificationData::SIPSessionGotProposal {
            originator,
            streams,
        } => {
            assert_eq!(*originator, "remote");
            assert_eq!(streams.types(), ["audio"]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c.callee.state(), SessionState::ReceivedProposal);
    // He answers it with a stream of his own playing 1200 Hz.
    let bobs_second = tone_stream(1200.0, vec![Codec::pcmu()]).await;
    c.callee
        .accept_proposal(vec![bobs_second.clone()])
        .await
        .unwrap();

    let accepted = until(&mut c.alice_all, "SIPSessionGotAcceptProposal").await;
    match last(&accepted) {
        NotificationData::SIPSessionGotAcceptProposal {
            originator,
            streams,
            proposed_streams,
        } => {
            assert_eq!(*originator, "local");
            assert_eq!(streams.0.len(), 1);
            assert_eq!(proposed_streams.0.len(), 1);
        }
        other => panic!("{other:?}"),
    }
    let renegotiated = until(&mut c.alice_all, "SIPSessionDidRenegotiateStreams").await;
    assert!(matches!(
        last(&renegotiated),
        NotificationData::SIPSessionDidRenegotiateStreams { action: "add", .. }
    ));
    until(&mut c.bob_all, "SIPSessionDidRenegotiateStreams").await;
    assert_eq!(c.caller.state(), SessionState::Connected);
    assert_eq!(c.callee.state(), SessionState::Connected);
    assert_eq!(c.caller.streams().len(), 2);
    assert_eq!(c.callee.streams().len(), 2);
    assert!(c.caller.proposed_streams().is_none());

    // Each stream carries its own tone.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let heard = second.recorded();
    assert!(
        heard.len() >= 4000,
        "alice's second stream got {}",
        heard.len()
    );
    assert!(power(&heard, 1200.0) > 100.0 * power(&heard, 1000.0));
    let heard = bobs_second.recorded();
    assert!(
        heard.len() >= 4000,
        "bob's second stream got {}",
        heard.len()
    );
    assert!(power(&heard, 700.0) > 100.0 * power(&heard, 440.0));
    let first = audio(&c.callee, 0).recorded();
    assert!(power(&first, 440.0) > 100.0 * power(&first, 700.0));

    // Alice removes it again: bob's copy ends, the first stream goes on.
    c.caller.remove_stream(second.clone()).await.unwrap();
    let removed = until(&mut c.bob_all, "SIPSessionDidRenegotiateStreams").await;
    assert!(matches!(
        last(&removed),
        NotificationData::SIPSessionDidRenegotiateStreams {
            action: "remove",
            ..
        }
    ));
    assert!(
        names_of(&removed).contains(&"MediaStreamDidEnd"),
        "{:?}",
        names_of(&removed)
    );
    assert_eq!(c.callee.streams().len(), 1);
    assert_eq!(c.caller.streams().len(), 1);
    let before = audio(&c.callee, 0).recorded().len();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(audio(&c.callee, 0).recorded().len() > before + 1600);
    c.caller.end().await.unwrap();
    until(&mut c.bob_all, "SIPSessionDidEnd").await;
    c.alice.stop();
    c.bob.stop();
}

fn names_of(ns: &[Notification]) -> Vec<&str> {
    ns.iter().map(|n| n.name()).collect()
}

#[tokio::test]
async fn a_refused_proposal_leaves_the_session_as_it_was() {
    let mut c = call().await;
    let second = tone_stream(700.0, vec![Codec::pcmu()]).await;
    c.caller.add_stream(second.clone()).await.unwrap();
    until(&mut c.bob_all, "SIPSessionGotProposal").await;
    assert!(
        c.callee.add_stream(second.clone()).await.is_err(),
        "no proposal of bob's own while answering alice's"
    );
    c.callee.reject_proposal(488, None).await.unwrap();
    let refused = until(&mut c.alice_all, "SIPSessionGotRejectProposal").await;
    match last(&refused) {
        NotificationData::SIPSessionGotRejectProposal {
            originator,
            code,
            streams,
            ..
        } => {
            assert_eq!((*originator, *code), ("local", 488));
            assert_eq!(streams.types(), ["audio"]);
        }
        other => panic!("{other:?}"),
    }
    let bob_side = until(&mut c.bob_all, "SIPSessionGotRejectProposal").await;
    assert!(matches!(
        last(&bob_side),
        NotificationData::SIPSessionGotRejectProposal {
            originator: "remote",
            code: 488,
            ..
        }
    ));
    assert_eq!(c.caller.streams().len(), 1);
    assert_eq!(c.caller.state(), SessionState::Connected);
    assert_eq!(c.callee.state(), SessionState::Connected);
    // Wrong-state calls name the state.
    let e = c.callee.reject_proposal(488, None).await.unwrap_err();
    assert!(e.to_string().contains("Connected"), "{e}");
    c.caller.end().await.unwrap();
    until(&mut c.bob_all, "SIPSessionDidEnd").await;
    c.alice.stop();
    c.bob.stop();
}

#[tokio::test]
async fn a_withdrawn_proposal_is_cancelled_with_487_on_both_sides() {
    let mut c = call().await;
    c.caller
        .add_stream(tone_stream(700.0, vec![Codec::pcmu()]).await)
        .await
        .unwrap();
    until(&mut c.bob_all, "SIPSessionGotProposal").await;
    c.caller.cancel_proposal().await.unwrap();
    let ours = until(&mut c.alice_all, "SIPSessionGotRejectProposal").await;
    assert!(matches!(
        last(&ours),
        NotificationData::SIPSessionGotRejectProposal {
            originator: "local",
            code: 487,
            ..
        }
    ));
    let theirs = until(&mut c.bob_all, "SIPSessionGotRejectProposal").await;
    assert!(matches!(
        last(&theirs),
        NotificationData::SIPSessionGotRejectProposal {
            originator: "remote",
            code: 487,
            ..
        }
    ));
    assert_eq!(c.callee.state(), SessionState::Connected);
    assert!(c.callee.proposed_streams().is_none());
    // The session goes on: a hold goes through afterwards.
    c.caller.hold().await.unwrap();
    until(&mut c.bob_all, "SIPSessionDidChangeHoldState").await;
    c.caller.end().await.unwrap();
    until(&mut c.bob_all, "SIPSessionDidEnd").await;
    c.alice.stop();
    c.bob.stop();
}

/// An application-defined stream: an `m=application ... x-note` line
/// carrying a note; each side keeps the note the other sent.
#[derive(Debug, Default)]
struct NoteStream {
    note: String,
    heard: Mutex<Option<String>>,
}

impl MediaStream for NoteStream {
    fn stream_type(&self) -> &'static str {
        "note"
    }

    fn get_local_media(
        &self,
        _remote: Option<(&SessionDescription, usize)>,
    ) -> Result<Media, StreamError> {
        let mut m = Media::new("application", 9, "TCP/x-note", vec!["*".into()]);
        m.attributes.push(Attribute::new("note", self.note.clone()));
        Ok(m)
    }

    fn initialize(
        &self,
        _context: StreamContext,
        _direction: StreamDirection,
    ) -> BoxFuture<'_, Result<(), StreamError>> {
        // A note nobody can send, to see a stream fail to get ready.
        let unusable = self.note == "unusable";
        Box::pin(async move {
            if unusable {
                Err("no way to send this note".into())
            } else {
                Ok(())
            }
        })
    }

    fn start(
        &self,
        _local: &SessionDescription,
        remote: &SessionDescription,
        index: usize,
    ) -> Result<(), StreamError> {
        let note = remote
            .media
            .get(index)
            .and_then(|m| m.attribute("note"))
            .ok_or("no note")?;
        *self.heard.lock().unwrap() = Some(note.to_owned());
        Ok(())
    }

    fn validate_update(&self, _remote: &SessionDescription, _index: usize) -> bool {
        true
    }

    fn update(
        &self,
        local: &SessionDescription,
        remote: &SessionDescription,
        index: usize,
    ) -> Result<(), StreamError> {
        self.start(local, remote, index)
    }

    fn end(&self) {}
}

struct NoteType;

impl MediaStreamType for NoteType {
    fn type_name(&self) -> &'static str {
        "note"
    }

    fn priority(&self) -> i32 {
        5
    }

    fn new_from_sdp<'a>(
        &'a self,
        _settings: &'a StreamSettings,
        remote: &'a SessionDescription,
        index: usize,
    ) -> BoxFuture<'a, Option<Arc<dyn MediaStream>>> {
        Box::pin(async move {
            let m = remote.media.get(index)?;
            (m.protocol == "TCP/x-note").then(|| {
                Arc::new(NoteStream {
                    note: "from bob".into(),
                    heard: Mutex::new(None),
                }) as Arc<dyn MediaStream>
            })
        })
    }
}

#[tokio::test]
async fn an_application_defined_stream_is_negotiated_next_to_audio() {
    let alice = common::account_app("alice").await;
    let bob = common::account_app("bob").await;
    bob.stream_registry().add(Arc::new(NoteType));
    let types: Vec<_> = bob
        .stream_registry()
        .types()
        .iter()
        .map(|t| t.type_name())
        .collect();
    assert_eq!(
        types,
        ["audio", "file-transfer", "chat", "note", "desktop-sharing"],
        "by priority, then in order added"
    );
    let mut alice_all = alice.notification_center().subscribe(Filter::all());
    let mut bob_all = bob.notification_center().subscribe(Filter::all());
    let account = alice.account_manager().accounts().remove(0);
    let note = Arc::new(NoteStream {
        note: "from alice".into(),
        heard: Mutex::new(None),
    });
    alice
        .session_manager()
        .connect(
            &account,
            &contact_uri(&bob),
            vec![tone_stream(440.0, vec![Codec::pcmu()]).await, note.clone()],
        )
        .await
        .unwrap();
    let callee = incoming_session(&bob, &mut bob_all).await;
    assert_eq!(
        callee
            .proposed_streams()
            .unwrap()
            .iter()
            .map(|s| s.stream_type())
            .collect::<Vec<_>>(),
        ["audio", "note"]
    );
    // Bob takes the proposed streams as they are.
    callee
        .accept(callee.proposed_streams().unwrap())
        .await
        .unwrap();
    until(&mut alice_all, "SIPSessionDidStart").await;
    until(&mut bob_all, "SIPSessionDidStart").await;
    assert_eq!(note.heard.lock().unwrap().as_deref(), Some("from bob"));
    let bobs_note = callee.streams()[1]
        .clone()
        .downcast::<NoteStream>()
        .unwrap();
    assert_eq!(
        bobs_note.heard.lock().unwrap().as_deref(),
        Some("from alice")
    );
    alice.stop();
    bob.stop();
}

#[tokio::test]
async fn an_offered_stream_no_registered_type_takes_is_refused_and_the_rest_goes_on() {
    let (alice, bob, mut alice_all, mut bob_all) = alice_and_bob().await;
    let note = Arc::new(NoteStream {
        note: "hello".into(),
        heard: Mutex::new(None),
    });
    let (session, callee) = alice_calls_bob(
        &alice,
        &bob,
        &mut bob_all,
        vec![tone_stream(440.0, vec![Codec::pcmu()]).await, note.clone()],
    )
    .await;
    assert_eq!(callee.proposed_streams().unwrap().len(), 1, "audio only");
    callee
        .accept(callee.proposed_streams().unwrap())
        .await
        .unwrap();
    let started = until(&mut alice_all, "SIPSessionDidStart").await;
    match last(&started) {
        NotificationData::SIPSessionDidStart { streams } => {
            assert_eq!(streams.types(), ["audio"], "the note was refused (port 0)")
        }
        other => panic!("{other:?}"),
    }
    assert!(note.heard.lock().unwrap().is_none());
    assert_eq!(session.streams().len(), 1);
    alice.stop();
    bob.stop();
}

#[tokio::test]
async fn an_offer_no_registered_stream_takes_is_refused_with_488() {
    let alice = common::account_app("alice").await;
    let bob = common::account_app("bob").await;
    let mut alice_all = alice.notification_center().subscribe(Filter::all());
    let account = alice.account_manager().accounts().remove(0);
    let note = Arc::new(NoteStream {
        note: "hello".into(),
        heard: Mutex::new(None),
    });
    alice
        .session_manager()
        .connect(&account, &contact_uri(&bob), vec![note])
        .await
        .unwrap();
    let failed = until(&mut alice_all, "SIPSessionDidFail").await;
    assert!(matches!(
        last(&failed),
        NotificationData::SIPSessionDidFail { code: 488, .. }
    ));
    alice.stop();
    bob.stop();
}

/// A stream that cannot get ready fails the call before any INVITE:
/// connect says why, SIPSessionDidFail follows SIPSessionNewOutgoing,
/// and bob never hears of it.
#[tokio::test]
async fn a_stream_that_cannot_initialize_fails_the_call_before_any_invite() {
    let (alice, bob, mut alice_all, mut bob_all) = alice_and_bob().await;
    let account = alice.account_manager().accounts().remove(0);
    let audio = tone_stream(440.0, vec![Codec::pcmu()]).await;
    let note = Arc::new(NoteStream {
        note: "unusable".into(),
        heard: Mutex::new(None),
    });
    let call = Session::new(alice.session_manager(), account);
    let r = call
        .connect(
            &contact_uri(&bob),
            vec![sipsimple::lookup::Route {
                address: [127, 0, 0, 1].into(),
                port: bob
                    .engine()
                    .unwrap()
                    .local_addr(sipsimple::engine::TransportKind::Udp)
                    .unwrap()
                    .port(),
                transport: sipsimple::engine::TransportKind::Udp,
            }],
            vec![audio, note],
        )
        .await;
    let Err(sipsimple::session::SessionError::Failed(why)) = r else {
        panic!("{r:?}");
    };
    assert!(why.contains("no way to send this note"), "{why}");
    assert_eq!(call.state(), SessionState::Terminated);
    let seen = until(&mut alice_all, "SIPSessionDidFail").await;
    assert_eq!(seen[0].name(), "SIPSessionNewOutgoing");
    assert!(matches!(
        last(&seen),
        NotificationData::SIPSessionDidFail { originator: "local", failure_reason, .. }
            if failure_reason.contains("no way to send this note")
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        bob_all.try_next().is_none(),
        "bob heard of a call that was never made"
    );
    alice.stop();
    bob.stop();
}
