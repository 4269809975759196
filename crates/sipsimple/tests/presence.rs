//! Presence through a real presence server: Kamailio with its presence,
//! presence_xml and presence_mwi modules (Debian kamailio-presence-modules;
//! `scripts/test.sh` installs it), started per test on free loopback
//! ports (tests/kamailio/presence.cfg). Two of our applications, alice
//! and bob, publish (RFC 3903) and watch (RFC 6665, RFC 3856) each
//! other; alice's watcher info (RFC 3857) shows bob watching; a
//! message-summary published to Kamailio reaches alice's voicemail
//! subscription (RFC 3842); deactivating unsubscribes. With pua and
//! pua_usrloc, Kamailio publishes a registered user's presence itself;
//! the event services fail over past a server that answers 503.

use std::time::Duration;

use payloads::pidf::{Basic, Note, Presence, Tuple};
use sipsimple::application::SipApplication;
use sipsimple::config::MemoryBackend;
use sipsimple::notification::{Filter, Notification, NotificationData, Subscription};
use sipsimple::publication::{Publication, PublicationOptions, PublicationState};
use sipsimple::subscription::SubscriptionState;

mod common;
mod kamailio;
use common::{names, until};
use kamailio::{start_presence_server, start_presence_server_with_pua, Kamailio};

const DOMAIN: &str = "sipsimple.test";

fn config(k: &Kamailio, user: &str, extra: &str) -> MemoryBackend {
    let text = format!(
        "local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = [\"udp\"]\nudp_port = 0\n\
         [accounts.\"{user}@{DOMAIN}\"]\nenabled = true\n\
         auth.password = \"secret\"\n\
         sip.outbound_proxy = \"sip:127.0.0.1:{}\"\n\
         registration.enabled = false\n{extra}",
        k.udp
    );
    MemoryBackend::with(text.parse().unwrap())
}

async fn start(k: &Kamailio, user: &str, extra: &str) -> (SipApplication, Subscription) {
    let app = SipApplication::new();
    let all = app.notification_center().subscribe(Filter::all());
    app.start(config(k, user, extra)).await.unwrap();
    (app, all)
}

fn account(app: &SipApplication, user: &str) -> std::sync::Arc<sipsimple::account::Account> {
    app.account_manager()
        .get_account(&format!("{user}@{DOMAIN}"))
        .unwrap()
}

fn presence(user: &str, basic: Basic, note: &str) -> Presence {
    let mut p = Presence::new(&format!("sip:{user}@{DOMAIN}"));
    let mut t = Tuple::new("t1", basic);
    t.notes.push(Note::new(note));
    p.tuples.push(t);
    p
}

/// The first SIPAccountGotPresenceState of `uri` whose first tuple has
/// `note` (earlier ones, e.g. while pending or before the publication
/// arrived, are skipped).
async fn presence_with_note(all: &mut Subscription, uri: &str, note: &str) -> Presence {
    presence_where(all, uri, note, |p| {
        p.tuples
            .iter()
            .any(|t| t.notes.iter().any(|x| x.text == note))
    })
    .await
}

/// The first SIPAccountGotPresenceState of `uri` whose document passes
/// `wanted` (`what` names it for the failure message).
async fn presence_where(
    all: &mut Subscription,
    uri: &str,
    what: &str,
    wanted: impl Fn(&Presence) -> bool,
) -> Presence {
    let mut seen: Vec<Notification> = Vec::new();
    loop {
        let n = tokio::time::timeout(Duration::from_secs(30), all.next())
            .await
            .unwrap_or_else(|_| {
                panic!("no presence of {uri} with {what:?}; saw {:?}", names(&seen))
            })
            .expect("center alive");
        if let NotificationData::SIPAccountGotPresenceState {
            uri: got,
            presence: Some(p),
        } = &n.data
        {
            if got == uri && wanted(p) {
                return (**p).clone();
            }
        }
        seen.push(n);
    }
}

/// Alice publishes her presence with `note`, asking `expires` seconds.
async fn publish_own(alice: &sipsimple::account::Account, expires: u32, note: &str) -> Publication {
    let p = alice
        .publish_event(
            &format!("sip:alice@{DOMAIN}"),
            PublicationOptions {
                event: "presence".into(),
                expires,
                credentials: None,
                tls_name: None,
            },
        )
        .await
        .unwrap();
    p.publish(
        "application/pidf+xml",
        presence("alice", Basic::Open, note).to_xml(),
    );
    p
}

async fn published(all: &mut Subscription) {
    let seen = until(all, "SIPPublicationDidSucceed").await;
    assert!(
        !names(&seen).contains(&"SIPPublicationDidFail"),
        "{:?}",
        names(&seen)
    );
}

#[tokio::test]
async fn two_accounts_publish_and_watch_each_other_through_kamailio() {
    let k = start_presence_server();
    let (alice_app, mut alice_all) = start(&k, "alice", "").await;
    let (bob_app, mut bob_all) = start(&k, "bob", "").await;
    let alice = account(&alice_app, "alice");
    let bob = account(&bob_app, "bob");

    // alice publishes (Kamailio challenges the PUBLISH with 407 first).
    alice
        .publish_presence(&presence("alice", Basic::Open, "at my desk"))
        .await
        .unwrap();
    published(&mut alice_all).await;

    // bob watches alice and gets her published state.
    let watching = bob
        .watch_presence("sip:alice@sipsimple.test")
        .await
        .unwrap();
    let got = presence_with_note(&mut bob_all, "sip:alice@sipsimple.test", "at my desk").await;
    assert_eq!(got.tuples[0].status.basic, Some(Basic::Open));
    assert_eq!(watching.state(), SubscriptionState::Active);

    // A modify (SIP-If-Match) reaches the watcher as a new NOTIFY.
    alice
        .publish_presence(&presence("alice", Basic::Closed, "out to lunch"))
        .await
        .unwrap();
    let got = presence_with_note(&mut bob_all, "sip:alice@sipsimple.test", "out to lunch").await;
    assert_eq!(got.tuples[0].status.basic, Some(Basic::Closed));

    // And the other way round.
    bob.publish_presence(&presence("bob", Basic::Open, "in a meeting"))
        .await
        .unwrap();
    published(&mut bob_all).await;
    alice.watch_presence("bob@sipsimple.test").await.unwrap();
    let got = presence_with_note(&mut alice_all, "sip:bob@sipsimple.test", "in a meeting").await;
    assert_eq!(got.entity, "sip:bob@sipsimple.test");

    // Unwatching unsubscribes: the subscription ends on our side.
    let sender = watching.sender();
    bob.unwatch_presence("sip:alice@sipsimple.test");
    loop {
        let seen = until(&mut bob_all, "SIPSubscriptionDidEnd").await;
        if let Some(NotificationData::SIPSubscriptionDidEnd { originator, .. }) = seen
            .last()
            .filter(|n| n.sender == sender)
            .map(|n| n.data.clone())
        {
            assert_eq!(originator, "local");
            break;
        }
    }
    assert_eq!(watching.state(), SubscriptionState::Terminated);
    assert!(bob.watched_contacts().is_empty());

    alice_app.stop();
    bob_app.stop();
    until(&mut alice_all, "SIPApplicationDidEnd").await;
    until(&mut bob_all, "SIPApplicationDidEnd").await;
}

#[tokio::test]
async fn watcher_info_shows_who_watches_our_presence() {
    let k = start_presence_server();
    let (alice_app, mut alice_all) = start(&k, "alice", "presence.enabled = true\n").await;
    let (bob_app, _bob_all) = start(&k, "bob", "").await;
    let bob = account(&bob_app, "bob");

    // alice's winfo subscription starts with the account: no watcher yet.
    let first = loop {
        let seen = until(&mut alice_all, "SIPAccountGotPresenceWinfo").await;
        if let Some(NotificationData::SIPAccountGotPresenceWinfo { watcher_info }) =
            seen.last().map(|n| n.data.clone())
        {
            break watcher_info;
        }
    };
    let watchers = |w: &payloads::watcherinfo::WatcherInfo| -> Vec<(String, String)> {
        w.lists
            .iter()
            .flat_map(|l| l.watchers.iter())
            .map(|w| (w.uri.clone(), w.status.as_str().to_owned()))
            .collect()
    };
    assert!(
        !watchers(&first).iter().any(|(u, _)| u.contains("bob")),
        "{first:?}"
    );

    // bob watches alice: alice's watcher list gets bob, active (Kamailio
    // authorizes every watcher: force_active).
    bob.watch_presence("sip:alice@sipsimple.test")
        .await
        .unwrap();
    loop {
        let seen = until(&mut alice_all, "SIPAccountGotPresenceWinfo").await;
        let Some(NotificationData::SIPAccountGotPresenceWinfo { watcher_info }) =
            seen.last().map(|n| n.data.clone())
        else {
            continue;
        };
        let list = watchers(&watcher_info);
        if let Some((_, status)) = list.iter().find(|(u, _)| u.contains("bob@sipsimple.test")) {
            assert_eq!(status, "active", "{list:?}");
            assert!(watcher_info
                .lists
                .iter()
                .any(|l| l.package == "presence" && l.resource.contains("alice")));
            break;
        }
    }
    alice_app.stop();
    bob_app.stop();
    until(&mut alice_all, "SIPApplicationDidEnd").await;
}

#[tokio::test]
async fn a_published_message_summary_reaches_the_voicemail_subscription() {
    let k = start_presence_server();
    let (alice_app, mut alice_all) = start(&k, "alice", "message_summary.enabled = true\n").await;
    // Let the subscription be in place before the summary is published.
    until(&mut alice_all, "SIPSubscriptionDidStart").await;

    // The voicemail system: a Publication of message-summary for alice's
    // mailbox (presence_mwi keeps it and notifies her subscription).
    let (vm_app, mut vm_all) = start(&k, "bob", "").await;
    let services_account = account(&vm_app, "bob");
    let mwi = services_account
        .publish_event(
            "sip:alice@sipsimple.test",
            PublicationOptions {
                event: "message-summary".into(),
                expires: 600,
                credentials: None,
                tls_name: None,
            },
        )
        .await
        .unwrap();
    // RFC 3842 §5's example body.
    mwi.publish(
        "application/simple-message-summary",
        "Messages-Waiting: yes\r\nMessage-Account: sip:alice@sipsimple.test\r\n\
         Voice-Message: 2/8 (0/2)\r\n",
    );
    published(&mut vm_all).await;
    assert!(matches!(mwi.state(), PublicationState::Published { .. }));

    let summary = loop {
        let seen = until(&mut alice_all, "SIPAccountGotMessageSummary").await;
        if let Some(NotificationData::SIPAccountGotMessageSummary { summary }) =
            seen.last().map(|n| n.data.clone())
        {
            if summary.messages_waiting {
                break summary;
            }
        }
    };
    let voice = summary
        .summary(&payloads::message_summary::MessageClass::Voice)
        .expect("a Voice-Message line");
    assert_eq!((voice.new, voice.old), (2, 8));
    assert_eq!(summary.account.as_deref(), Some("sip:alice@sipsimple.test"));

    mwi.end();
    until(&mut vm_all, "SIPPublicationDidEnd").await;
    assert_eq!(mwi.state(), PublicationState::Ended);
    drop::<Publication>(mwi);
    alice_app.stop();
    vm_app.stop();
    until(&mut alice_all, "SIPApplicationDidEnd").await;
}

#[tokio::test]
async fn stopping_the_application_unsubscribes_and_unpublishes() {
    let k = start_presence_server();
    let (alice_app, mut alice_all) = start(&k, "alice", "").await;
    let alice = account(&alice_app, "alice");
    alice
        .publish_presence(&presence("alice", Basic::Open, "here"))
        .await
        .unwrap();
    published(&mut alice_all).await;
    let watching = alice
        .watch_presence("sip:alice@sipsimple.test")
        .await
        .unwrap();
    presence_with_note(&mut alice_all, "sip:alice@sipsimple.test", "here").await;

    alice_app.stop();
    let seen = until(&mut alice_all, "SIPApplicationDidEnd").await;
    let seen = names(&seen);
    assert!(seen.contains(&"SIPSubscriptionDidEnd"), "{seen:?}");
    assert!(seen.contains(&"SIPPublicationDidEnd"), "{seen:?}");
    assert_eq!(watching.state(), SubscriptionState::Terminated);
    // Kamailio saw the unsubscribe (Expires: 0) and the removal.
    let log = kamailio::log(&k);
    assert!(log.matches("SUBSCRIBE").count() >= 2, "{log}");
}

/// Disabling one account (the application goes on) ends what it
/// published and watched, as stopping the application does: the
/// publication is removed and the subscription ended at Kamailio.
#[tokio::test]
async fn disabling_an_account_unsubscribes_and_unpublishes_while_the_application_runs() {
    let k = start_presence_server();
    let (app, mut all) = start(&k, "alice", "").await;
    let alice = account(&app, "alice");
    alice
        .publish_presence(&presence("alice", Basic::Open, "here"))
        .await
        .unwrap();
    published(&mut all).await;
    let watching = alice
        .watch_presence("sip:alice@sipsimple.test")
        .await
        .unwrap();
    presence_with_note(&mut all, "sip:alice@sipsimple.test", "here").await;
    let subscribes_before = kamailio::log(&k).matches("SUBSCRIBE").count();
    let publishes_before = kamailio::log(&k).matches("PUBLISH").count();

    alice
        .set("enabled", Some(sipsimple::config::Value::Boolean(false)))
        .unwrap();
    alice.save().unwrap();
    let mut seen = names(&until(&mut all, "SIPAccountDidDeactivate").await)
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    for wanted in ["SIPSubscriptionDidEnd", "SIPPublicationDidEnd"] {
        if !seen.iter().any(|n| n == wanted) {
            seen.extend(
                names(&until(&mut all, wanted).await)
                    .into_iter()
                    .map(str::to_owned),
            );
        }
    }
    assert_eq!(watching.state(), SubscriptionState::Terminated);
    assert!(
        !seen.iter().any(|n| n == "SIPApplicationDidEnd"),
        "{seen:?}"
    );
    // Kamailio saw the unsubscribe (a SUBSCRIBE with Expires: 0).
    let log = kamailio::log(&k);
    assert!(
        log.matches("SUBSCRIBE").count() > subscribes_before,
        "{log}"
    );
    // ... and the unpublish (a PUBLISH with Expires: 0 and SIP-If-Match).
    assert!(log.matches("PUBLISH").count() > publishes_before, "{log}");
    app.stop();
}

/// Refresh over real seconds (the cores' refresh rules are tested on
/// virtual time): a publication and a subscription asking 4 s each are
/// refreshed at 3/4 of their expiry, so after 11 s both still hold at
/// Kamailio (our NOTIFYs keep coming, the published note is still
/// seen) and Kamailio saw the refreshes: PUBLISH with SIP-If-Match and
/// SUBSCRIBE within the dialog.
#[tokio::test]
async fn short_publications_and_subscriptions_are_refreshed_in_time() {
    use sipsimple::subscription::SubscriptionOptions;
    let k = start_presence_server();
    let (app, mut all) = start(&k, "alice", "").await;
    let alice = account(&app, "alice");
    let p = publish_own(&alice, 4, "refreshed").await;
    published(&mut all).await;
    let mut options = SubscriptionOptions::new("presence", &["application/pidf+xml"]);
    options.expires = 4;
    let watching = alice
        .subscribe_with(&format!("sip:alice@{DOMAIN}"), options)
        .await
        .unwrap();
    // 11 s: refreshes due at 3, 6 and 9 s for both.
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(11);
    while let Ok(Some(n)) = tokio::time::timeout_at(deadline, all.next()).await {
        seen.push(n);
    }
    assert!(matches!(p.state(), PublicationState::Published { .. }));
    assert_eq!(watching.state(), SubscriptionState::Active);
    let count = |sender, name: &str| {
        seen.iter()
            .filter(|n| n.sender == sender && n.name() == name)
            .count()
    };
    // Each refresh is answered 2xx (the publication says so again) and,
    // RFC 6665 §4.2.1.2, followed by a NOTIFY.
    let refreshed = count(p.sender(), "SIPPublicationDidSucceed");
    let notified = count(watching.sender(), "SIPSubscriptionGotNotify");
    assert!(
        refreshed >= 3,
        "{refreshed} publication refreshes: {:?}",
        names(&seen)
    );
    assert!(notified >= 3, "{notified} NOTIFYs: {:?}", names(&seen));
    assert_eq!(count(watching.sender(), "SIPSubscriptionDidFail"), 0);
    drop(watching);
    app.stop();
    until(&mut all, "SIPApplicationDidEnd").await;
}

/// A scripted overloaded server on UDP: every request gets 503 Service
/// Unavailable; the methods it saw are kept.
async fn unavailable_server() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use sip_proto::{Message, Response, StatusCode};
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = socket.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65536];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            let Ok(Message::Request(r)) = Message::parse(bytes::Bytes::copy_from_slice(&buf[..n]))
            else {
                continue;
            };
            log.lock().unwrap().push(r.method.as_str().to_owned());
            let resp = Response::for_request(&r, StatusCode::new(503).unwrap(), Some("busy"));
            let _ = socket
                .send_to(&Message::Response(resp).to_bytes(), from)
                .await;
        }
    });
    (port, seen)
}

/// RFC 3263 §4.3 for event services: the domain's SRV records put an
/// overloaded server (503) before Kamailio; the account's PUBLISH and
/// SUBSCRIBE each go on to Kamailio, the publication succeeds and the
/// subscription brings back what was published. Without failover both
/// would fail with the 503.
#[tokio::test]
async fn publications_and_subscriptions_fail_over_past_a_server_that_answers_503() {
    use sipsimple::subscription::SubscriptionOptions;
    let k = start_presence_server();
    let (busy, busy_saw) = unavailable_server().await;
    let zone = [
        "--host-record=busy.sipsimple.test,127.0.0.1".to_owned(),
        "--host-record=presence.sipsimple.test,127.0.0.1".to_owned(),
        format!("--srv-host=_sip._udp.{DOMAIN},busy.{DOMAIN},{busy},10,0"),
        format!(
            "--srv-host=_sip._udp.{DOMAIN},presence.{DOMAIN},{},20,0",
            k.udp
        ),
    ];
    let dns = common::dnsmasq(DOMAIN, &zone).await;
    let text = format!(
        "local_ip = \"127.0.0.1\"\ndns.nameservers = [\"{}\"]\n\
         [sip]\ntransport_list = [\"udp\"]\nudp_port = 0\n\
         [accounts.\"alice@{DOMAIN}\"]\nenabled = true\n\
         auth.password = \"secret\"\nregistration.enabled = false\n",
        dns.addr
    );
    let app = SipApplication::new();
    let mut all = app.notification_center().subscribe(Filter::all());
    app.start(MemoryBackend::with(text.parse().unwrap()))
        .await
        .unwrap();
    let alice = account(&app, "alice");
    let _publication = publish_own(&alice, 600, "past the busy one").await;
    published(&mut all).await;
    let _watching = alice
        .subscribe_with(
            &format!("sip:alice@{DOMAIN}"),
            SubscriptionOptions::new("presence", &["application/pidf+xml"]),
        )
        .await
        .unwrap();
    // Kamailio's NOTIFY carries what the PUBLISH gave it (the first
    // NOTIFY may come before the state is read: wait for the note).
    let mut seen = Vec::new();
    loop {
        let n = tokio::time::timeout(Duration::from_secs(30), all.next())
            .await
            .unwrap_or_else(|_| panic!("no NOTIFY with the note; saw {:?}", names(&seen)))
            .expect("center alive");
        assert!(n.name() != "SIPSubscriptionDidFail", "{:?}", names(&seen));
        if let NotificationData::SIPSubscriptionGotNotify { body, .. } = &n.data {
            if String::from_utf8_lossy(body).contains("past the busy one") {
                break;
            }
        }
        seen.push(n);
    }
    // Each was first refused by the busy server: the failover was taken.
    let saw = busy_saw.lock().unwrap().clone();
    assert!(saw.contains(&"PUBLISH".to_owned()), "{saw:?}");
    assert!(saw.contains(&"SUBSCRIBE".to_owned()), "{saw:?}");
    app.stop();
    until(&mut all, "SIPApplicationDidEnd").await;
}

/// Kamailio's pua and pua_usrloc (the presence server with pua):
/// bob only registers, never publishes; Kamailio publishes his presence
/// from his registration, and alice, watching him, sees him open. When
/// bob's account stops (unregisters), alice sees him no longer open.
#[tokio::test]
async fn a_registered_user_who_never_publishes_is_seen_open_through_kamailios_pua() {
    let k = start_presence_server_with_pua();
    let (alice_app, mut alice_all) = start(&k, "alice", "").await;
    let alice = account(&alice_app, "alice");
    let bob_uri = format!("sip:bob@{DOMAIN}");
    let _watching = alice.watch_presence(&bob_uri).await.unwrap();
    let text = format!(
        "local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = [\"udp\"]\nudp_port = 0\n\
         [accounts.\"bob@{DOMAIN}\"]\nenabled = true\n\
         auth.password = \"secret\"\n\
         sip.outbound_proxy = \"sip:127.0.0.1:{}\"\n",
        k.udp
    );
    let bob_app = SipApplication::new();
    let mut bob_all = bob_app.notification_center().subscribe(Filter::all());
    bob_app
        .start(MemoryBackend::with(text.parse().unwrap()))
        .await
        .unwrap();
    until(&mut bob_all, "SIPAccountRegistrationDidSucceed").await;
    let open = presence_where(&mut alice_all, &bob_uri, "basic open", |p| {
        p.tuples.iter().any(|t| t.status.basic == Some(Basic::Open))
    })
    .await;
    // (pua_usrloc writes the entity without its scheme.)
    assert!(
        open.entity.ends_with(&format!("bob@{DOMAIN}")),
        "{}",
        open.entity
    );
    // Kamailio published it: bob's application sent no PUBLISH.
    let log = kamailio::log(&k);
    assert!(log.contains(&format!("PUBLISH {bob_uri}")), "{log}");
    bob_app.stop();
    until(&mut bob_all, "SIPApplicationDidEnd").await;
    presence_where(&mut alice_all, &bob_uri, "not open", |p| {
        !p.tuples.iter().any(|t| t.status.basic == Some(Basic::Open))
    })
    .await;
    // ... which came of the unregister (a REGISTER after the two of the
    // registration: the challenged one and its answer).
    let log = kamailio::log(&k);
    assert!(log.matches("REGISTER ").count() >= 3, "{log}");
    alice_app.stop();
    until(&mut alice_all, "SIPApplicationDidEnd").await;
}

/// Expiry over real seconds at Kamailio (the cores' expiry is tested on
/// virtual time): bob publishes for 2 s, then his application loses its
/// network (the engine stops, so nothing refreshes or removes the
/// state); Kamailio lets the publication expire and tells alice, who
/// watches bob, that he is no longer open.
#[tokio::test]
async fn a_publication_left_to_expire_at_kamailio_ends_for_its_watchers() {
    let k = start_presence_server();
    let (alice_app, mut alice_all) = start(&k, "alice", "").await;
    let (bob_app, mut bob_all) = start(&k, "bob", "").await;
    let bob_uri = format!("sip:bob@{DOMAIN}");
    let bob = account(&bob_app, "bob");
    let p = bob
        .publish_event(
            &bob_uri,
            PublicationOptions {
                event: "presence".into(),
                expires: 2,
                credentials: None,
                tls_name: None,
            },
        )
        .await
        .unwrap();
    p.publish(
        "application/pidf+xml",
        presence("bob", Basic::Open, "for two seconds").to_xml(),
    );
    published(&mut bob_all).await;
    let alice = account(&alice_app, "alice");
    let _watching = alice.watch_presence(&bob_uri).await.unwrap();
    presence_with_note(&mut alice_all, &bob_uri, "for two seconds").await;
    let publishes = kamailio::log(&k).matches("PUBLISH ").count();
    bob_app.engine().unwrap().shutdown().await;
    // Kamailio's NOTIFY for an expired presentity carries no document
    // (presence None) or one without bob's note.
    let mut seen = Vec::new();
    loop {
        let n = tokio::time::timeout(Duration::from_secs(30), alice_all.next())
            .await
            .unwrap_or_else(|_| panic!("bob never went; saw {:?}", names(&seen)))
            .expect("center alive");
        if let NotificationData::SIPAccountGotPresenceState { uri, presence } = &n.data {
            let noted = presence.as_ref().is_some_and(|p| {
                p.tuples
                    .iter()
                    .any(|t| t.notes.iter().any(|x| x.text == "for two seconds"))
            });
            if *uri == bob_uri && !noted {
                break;
            }
        }
        seen.push(n);
    }
    // Nothing of bob's removed it: no PUBLISH reached Kamailio since.
    assert_eq!(kamailio::log(&k).matches("PUBLISH ").count(), publishes);
    drop(p);
    alice_app.stop();
    until(&mut alice_all, "SIPApplicationDidEnd").await;
}
