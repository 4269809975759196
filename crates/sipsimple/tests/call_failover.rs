//! RFC 3263 §4.3 failover of an outgoing call: the callee's domain has
//! two SRV targets (served by a real dnsmasq); the first cannot take the
//! call, and the INVITE goes to the second, where another application
//! answers. The caller sees one call: no SIPSessionDidFail.
//!
//! Over TCP the first target refuses the connection; over UDP it is a
//! SIPp that answers 503 (and gets its ACK).

mod common;

use sipsimple::application::SipApplication;
use sipsimple::config::MemoryBackend;
use sipsimple::engine::TransportKind;
use sipsimple::notification::{Filter, Subscription};

use common::sipp::{common_args, run_sipp, scenario, sipp_available, sipp_listening};
use common::{free_port, names, until};
use sdp::offer_answer::Codec;

/// An application with the account `user@sipsimple.test` (no
/// registration) on `transport`, resolving names with `dns`.
async fn app(
    user: &str,
    transport: &str,
    dns: Option<std::net::SocketAddr>,
) -> (SipApplication, Subscription) {
    let app = SipApplication::new();
    let all = app.notification_center().subscribe(Filter::all());
    let dns = dns
        .map(|a| format!("dns.nameservers = [\"{a}\"]\n"))
        .unwrap_or_default();
    let text = format!(
        "local_ip = \"127.0.0.1\"\n{dns}[sip]\ntransport_list = [\"{transport}\"]\n\
         [accounts.\"{user}@sipsimple.test\"]\nenabled = true\nregistration.enabled = false\n"
    );
    app.start(MemoryBackend::with(text.parse().unwrap()))
        .await
        .unwrap();
    (app, all)
}

/// Alice calls bob@sipsimple.test, whose SRV records put `first` before
/// bob's own port; bob answers, and alice's call starts without failing.
async fn call_fails_over(transport: TransportKind, first: u16) {
    let (name, kind) = match transport {
        TransportKind::Udp => ("udp", "_udp"),
        _ => ("tcp", "_tcp"),
    };
    let (bob, mut bob_all) = app("bob", name, None).await;
    let bob_port = bob.engine().unwrap().local_addr(transport).unwrap().port();
    let zone = [
        "--host-record=first.sipsimple.test,127.0.0.1".to_owned(),
        "--host-record=second.sipsimple.test,127.0.0.1".to_owned(),
        format!("--srv-host=_sip.{kind}.sipsimple.test,first.sipsimple.test,{first},10,0"),
        format!("--srv-host=_sip.{kind}.sipsimple.test,second.sipsimple.test,{bob_port},20,0"),
    ];
    let dns = common::dnsmasq("sipsimple.test", &zone).await;
    let (alice, mut alice_all) = app("alice", name, Some(dns.addr)).await;
    let account = alice.account_manager().accounts().remove(0);
    let audio = common::tone_stream(440.0, vec![Codec::pcmu()]).await;
    alice
        .session_manager()
        .connect(&account, "sip:bob@sipsimple.test", vec![audio])
        .await
        .unwrap();
    let session = common::incoming_session(&bob, &mut bob_all).await;
    session
        .accept(vec![common::tone_stream(1000.0, vec![Codec::pcmu()]).await])
        .await
        .unwrap();
    let seen = until(&mut alice_all, "SIPSessionDidStart").await;
    assert!(
        !names(&seen).contains(&"SIPSessionDidFail"),
        "failover is not a failure: {:?}",
        names(&seen)
    );
    let call = alice.session_manager().sessions().remove(0);
    assert_eq!(call.transport(), Some(name));
    call.end().await.unwrap();
    until(&mut alice_all, "SIPSessionDidEnd").await;
    until(&mut bob_all, "SIPSessionDidEnd").await;
    alice.stop();
    bob.stop();
}

#[tokio::test]
async fn a_call_fails_over_past_a_server_that_refuses_the_connection() {
    // A port nobody listens on: the connection is refused at once.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    call_fails_over(TransportKind::Tcp, dead).await;
}

#[tokio::test]
async fn a_call_fails_over_past_a_server_that_answers_503() {
    sipp_available();
    let port = free_port();
    let mut args = common_args(port, free_port(), TransportKind::Udp);
    args.extend([
        "-sf".into(),
        scenario("uas_invite_503.xml"),
        "-m".into(),
        "1".into(),
    ]);
    let sipp = tokio::spawn(run_sipp(args));
    sipp_listening(port).await;
    call_fails_over(TransportKind::Udp, port).await;
    let (code, out) = sipp.await.unwrap();
    assert_eq!(
        code, 0,
        "SIPp did not get the INVITE and the ACK of its 503:\n{out}"
    );
}
