//! The manager's dispatch of in-dialog requests: a session that stops
//! reading its queue is answered for, and the others are not held up.

use std::sync::Arc;

use sip_proto::transaction::{ServerKey, Target, TransportKind as SipTransport};
use sip_proto::{Message, Method, Request};
use tokio::sync::mpsc;

use super::*;
use crate::account::AccountManager;
use crate::config::{ConfigurationManager, MemoryBackend};
use crate::engine::{Engine, EngineConfig};
use crate::router::{Disposition, RequestOwner, Responder};
use crate::session::requests::SessionRequests;
use crate::streams::MediaStreamRegistry;

fn bye(call_id: &str, cseq: u32) -> Request {
    let text = format!(
        "BYE sip:us@127.0.0.1 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-{call_id}-{cseq}\r\n\
         From: <sip:peer@127.0.0.1>;tag=p\r\n\
         To: <sip:us@127.0.0.1>;tag=u\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {cseq} BYE\r\n\
         Max-Forwards: 70\r\n\
         Content-Length: 0\r\n\r\n"
    );
    match Message::parse(text.into_bytes()) {
        Ok(Message::Request(r)) => r,
        other => panic!("test request did not parse: {other:?}"),
    }
}

/// A live session whose task never reads its queue: the receiver is
/// handed back so the queue stays open (a stalled session, not a gone one).
fn stalled_session(
    manager: &SessionManager,
    account: SessionAccount,
    call_id: &str,
) -> mpsc::Receiver<Input> {
    let (commands, inputs) = mpsc::channel(64);
    let shared = Shared::new(
        manager.center.new_sender(),
        account,
        false,
        SessionState::Connected,
        "sip:us@127.0.0.1".into(),
        "sip:peer@127.0.0.1".into(),
    );
    let session = Session {
        shared: Arc::new(shared),
        commands,
    };
    lock(&manager.inner)
        .sessions
        .insert(call_id.to_owned(), session);
    inputs
}

#[tokio::test]
async fn a_session_whose_queue_is_full_gets_500_retry_after_and_the_others_go_on() {
    let center = NotificationCenter::default();
    let config = ConfigurationManager::start(MemoryBackend::new(), center.clone()).unwrap();
    let accounts = AccountManager::new(center.clone());
    accounts.start(config, None).unwrap();
    let account = SessionAccount::from(accounts.bonjour_account().unwrap());
    let manager = SessionManager::new(center.clone(), MediaStreamRegistry::default());
    let owner = SessionRequests {
        sessions: manager.clone(),
        accounts,
    };
    let (engine, _events) = Engine::start(EngineConfig::default()).await.unwrap();
    let responder = Responder::new(engine, None);
    let incoming = |call_id: &str, cseq: u32| {
        let request = bye(call_id, cseq);
        Box::new(IncomingRequest {
            key: ServerKey::Rfc3261 {
                branch: format!("z9hG4bK-{call_id}-{cseq}"),
                sent_by: "127.0.0.1:5999".into(),
                method: Method::Bye,
            },
            request,
            source: Target {
                addr: "127.0.0.1:5999".parse().unwrap(),
                transport: SipTransport::Udp,
            },
            responder: responder.clone(),
        })
    };

    let mut slow = stalled_session(&manager, account.clone(), "slow");
    let mut quick = stalled_session(&manager, account, "quick");
    // The queue holds 64; none of these may wait.
    for cseq in 1..=64 {
        assert!(matches!(
            owner.in_dialog(incoming("slow", cseq)),
            Ok(Disposition::Taken)
        ));
    }
    // RFC 3261 §21.5.1 with Retry-After: the peer retries this one
    // transaction later; the dialog is not ended (RFC 5057).
    match owner.in_dialog(incoming("slow", 65)) {
        Ok(Disposition::Answer(500, headers)) => assert!(
            headers
                .iter()
                .any(|(n, v)| *n == HeaderName::RetryAfter && v == "1"),
            "500 without Retry-After: {headers:?}"
        ),
        _ => panic!("a full queue must be answered 500 at once"),
    }
    // The other session is not held up by the stalled one.
    assert!(matches!(
        owner.in_dialog(incoming("quick", 1)),
        Ok(Disposition::Taken)
    ));
    assert!(matches!(quick.try_recv(), Ok(Input::Request { .. })));
    // The stalled session gets its 64 in order once it reads again.
    for want in 1..=64u32 {
        match slow.try_recv() {
            Ok(Input::Request { request, .. }) => {
                let cseq = request
                    .headers
                    .typed::<sip_proto::headers::CSeq>()
                    .and_then(Result::ok)
                    .map(|c| c.seq);
                assert_eq!(cseq, Some(want));
            }
            _ => panic!("request {want} lost"),
        }
    }
    // A request of no session is handed back (the router answers 481).
    assert!(owner.in_dialog(incoming("none", 1)).is_err());
}
