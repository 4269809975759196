//! Message waiting indication (RFC 3842) from a scripted voicemail
//! server: SIPp (tests/sipp/uas_mwi_notifier.xml) takes the account's
//! message-summary SUBSCRIBE (checking its Event and Accept), sends the
//! RFC's example summary, then a second one once the messages were
//! heard, and expects the unsubscribe when the application stops. The
//! account posts SIPAccountGotMessageSummary with what each body says.

mod common;

use common::sipp::{common_args, run_sipp, scenario, sipp_available, sipp_listening};
use common::{free_port, until};
use payloads::message_summary::MessageClass;
use sipsimple::application::SipApplication;
use sipsimple::config::MemoryBackend;
use sipsimple::engine::TransportKind;
use sipsimple::notification::{Filter, NotificationData};

#[tokio::test]
async fn the_account_posts_each_summary_the_voicemail_server_notifies() {
    sipp_available();
    let port = free_port();
    let mut args = common_args(port, free_port(), TransportKind::Udp);
    args.extend([
        "-sf".into(),
        scenario("uas_mwi_notifier.xml"),
        "-m".into(),
        "1".into(),
    ]);
    let sipp = tokio::spawn(run_sipp(args));
    sipp_listening(port).await;

    let text = format!(
        "local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = [\"udp\"]\nudp_port = 0\n\
         [accounts.\"alice@example.test\"]\nenabled = true\nregistration.enabled = false\n\
         message_summary.enabled = true\n\
         message_summary.voicemail_uri = \"sip:alice@127.0.0.1:{port}\"\n"
    );
    let app = SipApplication::new();
    let mut all = app.notification_center().subscribe(Filter::all());
    app.start(MemoryBackend::with(text.parse().unwrap()))
        .await
        .unwrap();
    let account = app
        .account_manager()
        .get_account("alice@example.test")
        .unwrap();

    let mut summaries = Vec::new();
    while summaries.len() < 2 {
        let seen = until(&mut all, "SIPAccountGotMessageSummary").await;
        let n = seen.last().unwrap();
        assert_eq!(n.sender, account.sender(), "posted under the account");
        if let NotificationData::SIPAccountGotMessageSummary { summary } = &n.data {
            summaries.push(summary.clone());
        }
    }
    // RFC 3842 §5.2's example.
    let first = &summaries[0];
    assert!(first.messages_waiting);
    assert_eq!(
        first.account.as_deref(),
        Some("sip:alice@vmail.example.com")
    );
    let voice = first.summary(&MessageClass::Voice).expect("Voice-Message");
    assert_eq!((voice.new, voice.old), (2, 8));
    let urgent = voice.urgent.expect("urgent counts");
    assert_eq!((urgent.new, urgent.old), (0, 2));
    // All heard.
    let second = &summaries[1];
    assert!(!second.messages_waiting);
    let voice = second.summary(&MessageClass::Voice).expect("Voice-Message");
    assert_eq!((voice.new, voice.old, voice.urgent), (0, 10, None));

    // Stopping unsubscribes: SIPp's scenario ends only on the Expires: 0
    // SUBSCRIBE and its terminated NOTIFY answered.
    app.stop();
    until(&mut all, "SIPApplicationDidEnd").await;
    let (code, out) = sipp.await.unwrap();
    assert_eq!(code, 0, "SIPp:\n{out}");
}
