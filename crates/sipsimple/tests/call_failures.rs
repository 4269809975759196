//! How an outgoing call fails when the callee never answers or cannot be
//! reached, and what the user is told: `sip.invite_timeout` cancels an
//! INVITE that only rings (a SIPp UAS), and a refused connection fails
//! the call at once, saying so.

mod common;

use std::time::{Duration, Instant};

use common::sipp::{common_args, run_sipp, scenario, sipp_available, sipp_listening};
use common::{free_port, next_notification as next};
use sipsimple::application::SipApplication;
use sipsimple::engine::TransportKind;
use sipsimple::notification::{Filter, NotificationData};

/// An application on 127.0.0.1 with `transports` and the account
/// `alice@example.test`; `sip` lines go in its `[sip]` table.
async fn caller(transports: &str, sip: &str) -> SipApplication {
    let app = SipApplication::new();
    let config = format!(
        "local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = {transports}\n{sip}\
         [accounts.\"alice@example.test\"]\nenabled = true\nregistration.enabled = false\n"
    );
    app.start(sipsimple::config::MemoryBackend::with(
        config.parse().unwrap(),
    ))
    .await
    .unwrap();
    app
}

/// Alice calls `to`: the names of her session's notifications up to its
/// SIPSessionDidFail, and that failure's reason.
async fn call_fails(app: &SipApplication, to: &str) -> (Vec<String>, String) {
    let mut all = app.notification_center().subscribe(Filter::all());
    let account = app.account_manager().accounts().remove(0);
    let audio = common::tone_stream(440.0, vec![sdp::offer_answer::Codec::pcmu()]).await;
    let call = app
        .session_manager()
        .connect(&account, to, vec![audio])
        .await
        .unwrap();
    let mut seen = Vec::new();
    loop {
        let n = next(&mut all).await;
        if n.sender != call.sender() {
            continue;
        }
        seen.push(n.name().to_owned());
        if let NotificationData::SIPSessionDidFail { failure_reason, .. } = n.data {
            return (seen, failure_reason);
        }
    }
}

#[tokio::test]
async fn an_invite_that_only_rings_is_cancelled_after_the_invite_timeout() {
    sipp_available();
    let port = free_port();
    let mut args = common_args(port, free_port(), TransportKind::Udp);
    args.extend(["-sf", &scenario("uas_ring_forever.xml"), "-m", "1"].map(String::from));
    let sipp = tokio::spawn(run_sipp(args));
    sipp_listening(port).await;
    let app = caller("[\"udp\"]", "invite_timeout = 5\n").await;
    let started = Instant::now();
    let (seen, why) = call_fails(&app, &format!("sip:bob@127.0.0.1:{port}")).await;
    let took = started.elapsed();
    assert!(
        seen.iter().any(|n| n == "SIPSessionGotRingIndication"),
        "it rang first: {seen:?}"
    );
    assert!(why.contains("sip.invite_timeout"), "{why}");
    assert!(why.contains("within 5 s"), "{why}");
    assert!(
        took >= Duration::from_secs(5) && took < Duration::from_secs(8),
        "{took:?}"
    );
    // SIPp saw the CANCEL, and the ACK of its 487.
    let (code, out) = sipp.await.unwrap();
    assert_eq!(code, 0, "SIPp did not get the CANCEL and the ACK:\n{out}");
    app.stop();
}

/// A port nobody listens on (TCP refuses it; UDP answers ICMP
/// port-unreachable).
fn closed_port() -> u16 {
    free_port()
}

#[tokio::test]
async fn a_refused_tcp_connect_fails_the_call_at_once_saying_so() {
    let app = caller("[\"tcp\"]", "").await;
    let port = closed_port();
    let started = Instant::now();
    let (_, why) = call_fails(&app, &format!("sip:bob@127.0.0.1:{port};transport=tcp")).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(
        why,
        format!("connection refused by 127.0.0.1:{port} over TCP")
    );
    app.stop();
}

/// A UDP port nothing listens on answers ICMP port-unreachable; the call
/// fails on it at once (Linux: the engine reads its socket's error queue)
/// rather than after Timer B's 32 s.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_udp_port_nobody_listens_on_fails_the_call_at_once() {
    let app = caller("[\"udp\"]", "").await;
    let port = closed_port();
    let started = Instant::now();
    let (_, why) = call_fails(&app, &format!("sip:bob@127.0.0.1:{port}")).await;
    // On the first datagram's ICMP (Timer B would be 32 s).
    assert!(started.elapsed() < Duration::from_secs(2), "{why}");
    assert!(why.contains("port unreachable"), "{why}");
    assert!(why.contains(&format!("127.0.0.1:{port}")), "{why}");
    app.stop();
}
