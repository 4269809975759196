//! What every incoming request meets, through the one request router of
//! an application: SIPp scenarios (OPTIONS capabilities, RFC 3261 §11.2;
//! Require, §8.2.2.3; unknown and unsupported methods, §8.2.1; delayed
//! offer, §13.2.1) and raw datagrams for what SIPp cannot send (a request
//! without Call-ID or CSeq, §8.1.1; a Content-Length past the datagram,
//! §18.3), plus the caps on incoming sessions.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::sipp::{common_args, run_sipp, scenario, sipp_available};
use common::{free_port, until};
use sip_proto::headers::HeaderName;
use sip_proto::{Message, Method};
use sipsimple::application::SipApplication;
use sipsimple::engine::TransportKind;
use sipsimple::notification::{Filter, NotificationData};
use sipsimple::session::SessionLimits;

fn udp_addr(app: &SipApplication) -> SocketAddr {
    app.engine()
        .unwrap()
        .local_addr(TransportKind::Udp)
        .unwrap()
}

/// Runs `file` as a SIPp UAC against `app`'s first account, once.
async fn sipp_to(app: &SipApplication, file: &str, t: TransportKind) -> (i32, String) {
    sipp_available();
    let account = app.account_manager().accounts().remove(0);
    let ours = app.engine().unwrap().local_addr(t).unwrap();
    let mut args = vec![
        "-sf".to_string(),
        scenario(file),
        ours.to_string(),
        "-s".into(),
        account.contact_username().to_owned(),
    ];
    args.extend(common_args(free_port(), free_port(), t));
    args.extend(["-m", "1"].map(String::from));
    run_sipp(args).await
}

async fn tcp_app(user: &str) -> SipApplication {
    let app = SipApplication::new();
    let config = format!(
        "local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = [\"udp\", \"tcp\"]\n\
         [accounts.\"{user}@example.test\"]\nenabled = true\nregistration.enabled = false\n"
    );
    app.start(sipsimple::config::MemoryBackend::with(
        config.parse().unwrap(),
    ))
    .await
    .unwrap();
    app
}

#[tokio::test]
async fn options_lists_allow_accept_encoding_language_over_udp_and_tcp() {
    let app = tcp_app("bob").await;
    for t in [TransportKind::Udp, TransportKind::Tcp] {
        let (code, out) = sipp_to(&app, "uac_options_capabilities.xml", t).await;
        assert_eq!(
            code, 0,
            "SIPp over {t:?} found a capability missing:\n{out}"
        );
    }
    app.stop();
}

/// The Allow of our INVITE is the router's list, the one OPTIONS gives.
#[tokio::test]
async fn our_invite_allows_what_the_router_takes() {
    let alice = common::account_app("alice").await;
    let mut alice_all = alice.notification_center().subscribe(Filter::all());
    let bob = common::account_app_with("bob", "[logging]\ntrace_sip = true\n", "").await;
    let caps = alice.request_router().capabilities();
    assert!(caps.allow.contains(&Method::Invite));
    assert!(caps.allow.contains(&Method::Message));
    let mut traces = bob
        .notification_center()
        .subscribe(Filter::name("SIPEngineSIPTrace"));
    let account = alice.account_manager().accounts().remove(0);
    let audio = common::tone_stream(440.0, vec![sdp::offer_answer::Codec::pcmu()]).await;
    let call = alice
        .session_manager()
        .connect(&account, &common::contact_uri(&bob), vec![audio])
        .await
        .unwrap();
    let invite = loop {
        let n = common::next_notification(&mut traces).await;
        if let NotificationData::SIPEngineSIPTrace {
            received: true,
            text,
            ..
        } = &n.data
        {
            if text.starts_with("INVITE ") {
                break text.clone();
            }
        }
    };
    let allow = format!("Allow: {}\r\n", caps.allow_header());
    assert!(invite.contains(&allow), "{allow:?} in\n{invite}");
    // Never answered: ending it cancels it.
    let _ = call.end().await;
    let _ = until(&mut alice_all, "SIPSessionDidFail").await;
    alice.stop();
    bob.stop();
}

#[tokio::test]
async fn an_invite_requiring_an_unknown_extension_gets_420_and_no_session() {
    let app = common::account_app("bob").await;
    let mut all = app.notification_center().subscribe(Filter::all());
    let (code, out) = sipp_to(
        &app,
        "uac_invite_unsupported_require.xml",
        TransportKind::Udp,
    )
    .await;
    assert_eq!(code, 0, "SIPp expected 420 with Unsupported:\n{out}");
    assert!(app.session_manager().sessions().is_empty());
    while let Some(n) = all.try_next() {
        assert_ne!(n.name(), "SIPSessionNewIncoming");
    }
    app.stop();
}

/// §8.2.2.3 holds inside a dialog too: a re-INVITE requiring an unknown
/// extension gets 420 and changes nothing (the call is not put on hold by
/// its a=sendonly), and the call goes on until SIPp's BYE.
#[tokio::test]
async fn a_reinvite_requiring_an_unknown_extension_gets_420_and_the_call_goes_on() {
    let app = common::account_app("bob").await;
    let mut all = app.notification_center().subscribe(Filter::all());
    let sipp = {
        let app = app.clone();
        tokio::spawn(async move {
            sipp_to(
                &app,
                "uac_reinvite_unsupported_require.xml",
                TransportKind::Udp,
            )
            .await
        })
    };
    let session = common::incoming_session(&app, &mut all).await;
    session
        .accept(vec![
            common::tone_stream(440.0, vec![sdp::offer_answer::Codec::pcmu()]).await,
        ])
        .await
        .unwrap();
    let seen = until(&mut all, "SIPSessionDidEnd").await;
    let (code, out) = sipp.await.unwrap();
    assert_eq!(code, 0, "SIPp expected 420 with Unsupported:\n{out}");
    for n in &seen {
        assert!(
            !matches!(
                n.name(),
                "SIPSessionDidChangeHoldState" | "SIPSessionGotProposal"
            ),
            "the refused re-INVITE changed the session: {}",
            n.name()
        );
    }
    assert!(seen.iter().any(|n| matches!(
        &n.data,
        NotificationData::SIPSessionDidEnd {
            originator: "remote",
            ..
        }
    )));
    app.stop();
}

/// And for a pager MESSAGE: 420, and nothing is delivered.
#[tokio::test]
async fn a_message_requiring_an_unknown_extension_gets_420_and_is_not_delivered() {
    let app = common::account_app("bob").await;
    let mut all = app.notification_center().subscribe(Filter::all());
    let (code, out) = sipp_to(
        &app,
        "uac_message_unsupported_require.xml",
        TransportKind::Udp,
    )
    .await;
    assert_eq!(code, 0, "SIPp expected 420 with Unsupported:\n{out}");
    while let Some(n) = all.try_next() {
        assert_ne!(n.name(), "SIPEngineGotMessage");
    }
    app.stop();
}

#[tokio::test]
async fn unknown_methods_get_501_known_untaken_ones_405_with_allow_and_unserved_events_489() {
    let app = common::account_app("bob").await;
    let (code, out) = sipp_to(&app, "uac_unknown_method.xml", TransportKind::Udp).await;
    assert_eq!(
        code, 0,
        "SIPp expected 501 then 405, with Allow, then 489:\n{out}"
    );
    app.stop();
}

/// SIPp's INVITE has no SDP: we accept, our 200 carries our offer (SIPp
/// checks its audio m-line), SIPp's ACK answers it and the session
/// starts with the audio stream; SIPp's BYE ends it.
#[tokio::test]
async fn a_delayed_offer_invite_gets_our_offer_and_the_ack_answer_starts_the_call() {
    sipp_available();
    let app = common::account_app("bob").await;
    let mut all = app.notification_center().subscribe(Filter::all());
    let sipp = {
        let app = app.clone();
        tokio::spawn(async move {
            sipp_to(&app, "uac_invite_delayed_offer.xml", TransportKind::Udp).await
        })
    };
    let session = common::incoming_session(&app, &mut all).await;
    let proposed = session.proposed_streams().unwrap();
    assert_eq!(proposed.len(), 1);
    assert_eq!(proposed[0].stream_type(), "audio");
    session.accept(proposed).await.unwrap();
    let started = until(&mut all, "SIPSessionDidStart").await;
    let Some(NotificationData::SIPSessionDidStart { streams }) = started.last().map(|n| &n.data)
    else {
        unreachable!()
    };
    assert_eq!(streams.0.len(), 1);
    let ended = until(&mut all, "SIPSessionDidEnd").await;
    assert!(matches!(
        ended.last().map(|n| &n.data),
        Some(NotificationData::SIPSessionDidEnd {
            originator: "remote",
            ..
        })
    ));
    let (code, out) = sipp.await.unwrap();
    assert_eq!(code, 0, "SIPp:\n{out}");
    app.stop();
}

/// A raw request from a UDP socket of our own, and the answer to it (None
/// if nothing came within two seconds).
async fn exchange(to: SocketAddr, text: &str) -> Option<sip_proto::Response> {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let from = socket.local_addr().unwrap();
    let text = text
        .replace("LOCAL", &from.to_string())
        .replace("REMOTE", &to.to_string())
        .replace('\n', "\r\n");
    socket.send_to(text.as_bytes(), to).await.unwrap();
    let mut buf = vec![0u8; 65536];
    loop {
        let got = tokio::time::timeout(Duration::from_secs(2), socket.recv(&mut buf))
            .await
            .ok()?
            .unwrap();
        // Unvalidated: the answer to a request without Call-ID has none.
        let m =
            Message::parse_unvalidated(buf[..got].to_vec(), &sip_proto::Limits::default()).ok()?;
        if let Message::Response(r) = m {
            if r.status.code() >= 200 {
                return Some(r);
            }
        }
    }
}

fn invite(call: &str, extra: &str, sdp: &str) -> String {
    format!(
        "INVITE sip:carol@REMOTE SIP/2.0\n\
         Via: SIP/2.0/UDP LOCAL;branch=z9hG4bK{call}\n\
         From: <sip:raw@LOCAL>;tag={call}\n\
         To: <sip:carol@REMOTE>\n\
         Call-ID: {call}\n\
         CSeq: 1 INVITE\n\
         Contact: <sip:raw@LOCAL>\n\
         Max-Forwards: 70\n{extra}\
         Content-Type: application/sdp\n\
         Content-Length: {}\n\n{sdp}",
        // Counted as sent: every line end becomes CRLF.
        sdp.replace('\n', "\r\n").len()
    )
}

fn audio_offer(m_lines: usize) -> String {
    let mut sdp = "v=0\no=raw 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n".to_owned();
    for i in 0..m_lines {
        sdp += &format!(
            "m=audio {} RTP/AVP 0\na=rtpmap:0 PCMU/8000\n",
            30000 + 2 * i
        );
    }
    sdp
}

#[tokio::test]
async fn requests_without_a_mandatory_header_get_400_naming_it_and_without_via_none() {
    let app = common::account_app("bob").await;
    let to = udp_addr(&app);
    let base = "OPTIONS sip:bob@REMOTE SIP/2.0\nVia: SIP/2.0/UDP LOCAL;branch=z9hG4bKnoid\n\
                From: <sip:raw@LOCAL>;tag=1\nTo: <sip:bob@REMOTE>\nCall-ID: c1\n\
                CSeq: 1 OPTIONS\nMax-Forwards: 70\nContent-Length: 0\n\n";
    for (missing, line) in [
        ("Call-ID", "Call-ID: c1\n"),
        ("CSeq", "CSeq: 1 OPTIONS\n"),
        ("From", "From: <sip:raw@LOCAL>;tag=1\n"),
        ("To", "To: <sip:bob@REMOTE>\n"),
    ] {
        let r = exchange(to, &base.replace(line, ""))
            .await
            .unwrap_or_else(|| panic!("no answer without {missing}"));
        assert_eq!(r.status.code(), 400, "without {missing}");
        assert!(
            r.reason().contains(missing),
            "the reason names {missing}: {:?}",
            r.reason()
        );
    }
    // Without Via no response can find its way (§18.2.2): dropped.
    let no_via = base.replace("Via: SIP/2.0/UDP LOCAL;branch=z9hG4bKnoid\n", "");
    assert!(exchange(to, &no_via).await.is_none());
    // The same request whole is answered 200.
    assert_eq!(exchange(to, base).await.unwrap().status.code(), 200);
    app.stop();
}

#[tokio::test]
async fn a_datagram_shorter_than_its_content_length_gets_400() {
    let app = common::account_app("bob").await;
    let to = udp_addr(&app);
    let text = "MESSAGE sip:bob@REMOTE SIP/2.0\nVia: SIP/2.0/UDP LOCAL;branch=z9hG4bKcl\n\
                From: <sip:raw@LOCAL>;tag=1\nTo: <sip:bob@REMOTE>\nCall-ID: cl1\n\
                CSeq: 1 MESSAGE\nMax-Forwards: 70\nContent-Type: text/plain\n\
                Content-Length: 50\n\nonly ten b";
    let r = exchange(to, text).await.expect("an answer");
    assert_eq!(r.status.code(), 400);
    app.stop();
}

/// Past `max_unanswered_incoming` a new INVITE gets 503 with Retry-After,
/// past `max_sessions` 486; an offer of six m-lines makes at most
/// `max_streams_per_offer` streams (each binds RTP ports).
#[tokio::test]
async fn incoming_sessions_are_capped_and_so_are_streams_per_offer() {
    let app = common::account_app("bob").await;
    app.session_manager().set_limits(SessionLimits {
        max_sessions: 2,
        max_unanswered_incoming: 1,
        max_streams_per_offer: 2,
    });
    let mut all = app.notification_center().subscribe(Filter::all());
    let to = udp_addr(&app);
    // The first INVITE rings (no final answer); do not wait for one.
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let first = invite("cap1", "", &audio_offer(6))
        .replace("LOCAL", &socket.local_addr().unwrap().to_string())
        .replace("REMOTE", &to.to_string())
        .replace('\n', "\r\n");
    socket.send_to(first.as_bytes(), to).await.unwrap();
    let session = common::incoming_session(&app, &mut all).await;
    assert_eq!(session.proposed_streams().unwrap().len(), 2);

    let second = exchange(to, &invite("cap2", "", &audio_offer(1)))
        .await
        .expect("an answer to the second INVITE");
    assert_eq!(second.status.code(), 503);
    assert!(second.headers.contains(&HeaderName::RetryAfter));

    // Once answered, the first no longer counts as unanswered, but two
    // sessions is the cap on all of them.
    session.reject(603, None).await.unwrap();
    app.session_manager().set_limits(SessionLimits {
        max_sessions: 0,
        ..app.session_manager().limits()
    });
    let third = exchange(to, &invite("cap3", "", &audio_offer(1)))
        .await
        .expect("an answer to the third INVITE");
    assert_eq!(third.status.code(), 486);
    app.stop();
}
