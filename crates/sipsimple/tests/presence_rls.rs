//! Watching contacts through a resource list server (RFC 4662) against a
//! real one: Kamailio's rls module in front of its own presence server,
//! the lists kept by its own XCAP server (xcap_server, read by rls as
//! `integrated_xcap_server`), started per test on free loopback ports
//! (tests/kamailio/rls.cfg).
//!
//! alice and bob publish their presence; carol, with
//! `presence.subscribe_rls`, watches both: her account writes them to its
//! resource-lists and rls-services documents (RFC 4826) and holds ONE
//! subscription, to `sip:carol+presence@sipsimple.test` with `Supported:
//! eventlist`; Kamailio subscribes to each member itself and sends her
//! multipart/related NOTIFYs (RLMI and each member's PIDF), which her
//! account posts as SIPAccountGotPresenceState per member, as separate
//! subscriptions would. A later change of one member arrives the same
//! way; deactivating carol's account unsubscribes the list.

use std::time::Duration;

use payloads::pidf::{Basic, Note, Presence, Tuple};
use payloads::rlmi::InstanceState;
use payloads::rls_services::Members;
use sipsimple::application::SipApplication;
use sipsimple::config::MemoryBackend;
use sipsimple::notification::{Filter, Notification, NotificationData, Subscription};
use sipsimple::subscription::SubscriptionState;

mod common;
mod kamailio;
use common::{names, until};
use kamailio::{start_rls_server, xcap_root, Kamailio};

const DOMAIN: &str = "sipsimple.test";

fn uri(user: &str) -> String {
    format!("sip:{user}@{DOMAIN}")
}

async fn start(k: &Kamailio, user: &str, extra: &str) -> (SipApplication, Subscription) {
    let text = format!(
        "local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = [\"udp\"]\nudp_port = 0\n\
         [accounts.\"{user}@{DOMAIN}\"]\nenabled = true\n\
         auth.password = \"secret\"\n\
         sip.outbound_proxy = \"sip:127.0.0.1:{}\"\n\
         registration.enabled = false\n\
         xcap.xcap_root = \"{}\"\n{extra}",
        k.udp,
        xcap_root(k),
    );
    let app = SipApplication::new();
    let all = app.notification_center().subscribe(Filter::all());
    app.start(MemoryBackend::with(text.parse().unwrap()))
        .await
        .unwrap();
    (app, all)
}

fn account(app: &SipApplication, user: &str) -> std::sync::Arc<sipsimple::account::Account> {
    app.account_manager()
        .get_account(&format!("{user}@{DOMAIN}"))
        .unwrap()
}

fn presence(user: &str, basic: Basic, note: &str) -> Presence {
    let mut p = Presence::new(&uri(user));
    let mut t = Tuple::new("t1", basic);
    t.notes.push(Note::new(note));
    p.tuples.push(t);
    p
}

/// An application of `user` that has published `basic` with `note`.
async fn publishing(
    k: &Kamailio,
    user: &str,
    basic: Basic,
    note: &str,
) -> (SipApplication, Subscription) {
    let (app, mut all) = start(k, user, "").await;
    account(&app, user)
        .publish_presence(&presence(user, basic, note))
        .await
        .unwrap();
    let seen = until(&mut all, "SIPPublicationDidSucceed").await;
    assert!(!names(&seen).contains(&"SIPPublicationDidFail"));
    (app, all)
}

/// Waits (30 s) for a notification that `pick` accepts; returns it and
/// what came before.
async fn wait<T>(
    all: &mut Subscription,
    what: &str,
    mut pick: impl FnMut(&Notification) -> Option<T>,
    seen: &mut Vec<Notification>,
) -> T {
    loop {
        let n = tokio::time::timeout(Duration::from_secs(30), all.next())
            .await
            .unwrap_or_else(|_| panic!("no {what} within 30 s; saw {:?}", names(seen)))
            .expect("center alive");
        if let Some(t) = pick(&n) {
            seen.push(n);
            return t;
        }
        seen.push(n);
    }
}

fn shows(p: &Presence, basic: Basic, note: &str) -> bool {
    p.tuples
        .first()
        .is_some_and(|t| t.status.basic == Some(basic) && t.notes.iter().any(|x| x.text == note))
}

/// The presence of each `(who, basic, note)` that carol's account posts,
/// in whatever order they come, once each one's first tuple is `basic`
/// with `note`.
async fn member_states(
    all: &mut Subscription,
    wanted: &[(&str, Basic, &str)],
    seen: &mut Vec<Notification>,
) -> Vec<Presence> {
    let mut found: Vec<Option<Presence>> = vec![None; wanted.len()];
    while found.iter().any(Option::is_none) {
        let missing: Vec<String> = wanted
            .iter()
            .zip(&found)
            .filter(|(_, f)| f.is_none())
            .map(|((w, b, n), _)| format!("{w} {b:?} {n:?}"))
            .collect();
        let (i, p) = wait(
            all,
            &missing.join(", "),
            |n| match &n.data {
                NotificationData::SIPAccountGotPresenceState {
                    uri: u,
                    presence: Some(p),
                } => wanted
                    .iter()
                    .position(|(w, b, note)| *u == uri(w) && shows(p, *b, note))
                    .map(|i| (i, (**p).clone())),
                _ => None,
            },
            seen,
        )
        .await;
        found[i] = Some(p);
    }
    found.into_iter().flatten().collect()
}

/// The initial SUBSCRIBEs that came from the test's accounts (the ones
/// Kamailio's RLS sends itself, from its own socket, are not logged so),
/// as `(request URI, From URI, Call-ID)`.
fn client_subscribes(k: &Kamailio) -> Vec<(String, String, String)> {
    kamailio::log(k)
        .lines()
        .filter_map(|l| {
            let rest = l.split("CLIENT-SUBSCRIBE ").nth(1)?;
            let mut w = rest.split_whitespace();
            let ruri = w.next()?.to_owned();
            let _ = w.next(); // from
            let from = w.next()?.to_owned();
            let _ = w.next(); // call-id
            let call_id = w.next()?.to_owned();
            Some((ruri, from, call_id))
        })
        .collect()
}

#[tokio::test]
async fn one_list_subscription_carries_each_members_presence_and_its_changes() {
    let k = start_rls_server();
    let (_alice_app, _alice_all) = publishing(&k, "alice", Basic::Open, "available").await;
    let (bob_app, mut bob_all) = publishing(&k, "bob", Basic::Open, "away").await;
    let (carol_app, mut carol_all) = start(&k, "carol", "presence.subscribe_rls = true\n").await;
    let carol = account(&carol_app, "carol");

    // Both contacts go into one list; the same subscription serves both.
    let first = carol.watch_presence(&uri("alice")).await.unwrap();
    let second = carol.watch_presence(&uri("bob")).await.unwrap();
    assert_eq!(first.sender(), second.sender());
    assert_eq!(
        first.target().to_string(),
        "sip:carol+presence@sipsimple.test"
    );
    assert_eq!(carol.watched_contacts(), [uri("alice"), uri("bob")]);

    // What the account wrote to the XCAP server (RFC 4826): the list,
    // and the service that names it.
    let xcap = carol.xcap_client().unwrap();
    let lists = xcap.resource_lists().await.unwrap();
    let members: Vec<&str> = lists
        .list(sipsimple::account::LIST_NAME)
        .unwrap()
        .entries()
        .iter()
        .map(|e| e.uri.as_str())
        .collect();
    assert_eq!(members, [uri("alice"), uri("bob")]);
    let services = xcap.rls_services().await.unwrap();
    let service = services
        .service("sip:carol+presence@sipsimple.test")
        .unwrap();
    assert_eq!(service.packages, ["presence"]);
    assert!(
        matches!(&service.members, Members::ResourceList(r) if r.ends_with("/~~/resource-lists/list%5b@name=%22sipsimple_presence_rls%22%5d")),
        "{:?}",
        service.members
    );

    // Each member's published state reaches carol as its own
    // SIPAccountGotPresenceState, note included.
    let mut seen = Vec::new();
    let got = member_states(
        &mut carol_all,
        &[
            ("alice", Basic::Open, "available"),
            ("bob", Basic::Open, "away"),
        ],
        &mut seen,
    )
    .await;
    assert_eq!(got[0].entity, uri("alice"));
    assert_eq!(got[1].entity, uri("bob"));
    // The list state (posted before the members' states of each
    // NOTIFY): both members active at the RLS.
    let both_active = |n: &Notification| match &n.data {
        NotificationData::SIPAccountGotPresenceListState { list }
            if ["alice", "bob"].iter().all(|u| {
                list.resource(&uri(u))
                    .is_some_and(|r| r.instances.iter().any(|i| i.state == InstanceState::Active))
            }) =>
        {
            Some((**list).clone())
        }
        _ => None,
    };
    let list = match seen.iter().rev().find_map(both_active) {
        Some(l) => l,
        None => {
            wait(
                &mut carol_all,
                "both members active",
                both_active,
                &mut seen,
            )
            .await
        }
    };
    assert_eq!(list.uri, "sip:carol+presence@sipsimple.test");

    // Only one SUBSCRIBE dialog: one initial SUBSCRIBE from carol, to
    // the list, and one subscription running in her application.
    let subscribes = client_subscribes(&k);
    let carols: Vec<_> = subscribes
        .iter()
        .filter(|(_, from, _)| from.contains("carol"))
        .collect();
    assert_eq!(carols.len(), 1, "{subscribes:?}");
    assert_eq!(carols[0].0, "sip:carol+presence@sipsimple.test");
    assert_eq!(carol_app.event_dialogs().len(), 1);
    assert_eq!(first.state(), SubscriptionState::Active);

    // bob changes: carol's list subscription brings it.
    account(&bob_app, "bob")
        .publish_presence(&presence("bob", Basic::Closed, "gone home"))
        .await
        .unwrap();
    until(&mut bob_all, "SIPPublicationDidSucceed").await;
    let got = member_states(
        &mut carol_all,
        &[("bob", Basic::Closed, "gone home")],
        &mut seen,
    )
    .await;
    assert_eq!(got[0].entity, uri("bob"));
    assert_eq!(client_subscribes(&k).len(), subscribes.len());
    assert_eq!(carol_app.event_dialogs().len(), 1);

    // Unwatching alice takes her out of the list on the XCAP server.
    carol.unwatch_presence(&uri("alice"));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let lists = xcap.resource_lists().await.unwrap();
        let left: Vec<String> = lists
            .list(sipsimple::account::LIST_NAME)
            .unwrap()
            .entries()
            .iter()
            .map(|e| e.uri.clone())
            .collect();
        if left == [uri("bob")] {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "still {left:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(carol.watched_contacts(), [uri("bob")]);
    assert_eq!(first.state(), SubscriptionState::Active, "bob is left");
    carol_app.stop();
}

#[tokio::test]
async fn deactivating_the_account_unsubscribes_the_list() {
    let k = start_rls_server();
    let (_alice_app, _alice_all) = publishing(&k, "alice", Basic::Open, "available").await;
    let (carol_app, mut carol_all) = start(&k, "carol", "presence.subscribe_rls = true\n").await;
    let carol = account(&carol_app, "carol");
    let list = carol.watch_presence(&uri("alice")).await.unwrap();
    let mut seen = Vec::new();
    member_states(
        &mut carol_all,
        &[("alice", Basic::Open, "available")],
        &mut seen,
    )
    .await;
    let call_id = client_subscribes(&k)
        .into_iter()
        .find(|(_, from, _)| from.contains("carol"))
        .map(|(_, _, c)| c)
        .expect("carol's SUBSCRIBE");

    carol
        .set("enabled", Some(sipsimple::config::Value::Boolean(false)))
        .unwrap();
    carol.save().unwrap();
    until(&mut carol_all, "SIPAccountDidDeactivate").await;
    assert!(carol.presence_list_subscription().is_none());
    // Kamailio's RLS gets the unsubscribe: a SUBSCRIBE in the list's
    // dialog with Expires 0.
    let unsubscribed = |log: &str| {
        log.lines().any(|l| {
            l.contains("SUBSCRIBE sip:rls@")
                && l.contains(&format!("call-id {call_id} "))
                && l.ends_with("expires 0")
        })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !unsubscribed(&kamailio::log(&k)) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no unsubscribe: {}",
            kamailio::log(&k)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Kamailio 5.6's rls sends no final NOTIFY to an unsubscribe (RFC
    // 6665 §4.2.1.4 wants one), so the subscription ends when the 32 s
    // (64·T1) that a final NOTIFY gets are over.
    let ended = loop {
        let n = tokio::time::timeout(Duration::from_secs(45), carol_all.next())
            .await
            .unwrap_or_else(|_| panic!("the list subscription did not end; saw {:?}", names(&seen)))
            .expect("center alive");
        if let NotificationData::SIPSubscriptionDidEnd { originator, .. } = &n.data {
            if n.sender == list.sender() {
                break originator.clone();
            }
        }
        seen.push(n);
    };
    assert_eq!(ended, "local");
    assert_eq!(list.state(), SubscriptionState::Terminated);
    assert_eq!(carol_app.event_dialogs().len(), 0);
    carol_app.stop();
}

/// The list lives on the XCAP server: without one, watching through the
/// RLS is refused (nothing subscribed, nothing kept).
#[tokio::test]
async fn without_xcap_the_list_cannot_be_kept() {
    let k = start_rls_server();
    let (app, _all) = start(
        &k,
        "carol",
        "presence.subscribe_rls = true\nxcap.enabled = false\n",
    )
    .await;
    let carol = account(&app, "carol");
    let err = carol.watch_presence(&uri("alice")).await.unwrap_err();
    assert!(err.contains("XCAP is not configured"), "{err}");
    assert!(carol.watched_contacts().is_empty());
    assert!(carol.presence_list_subscription().is_none());
    assert_eq!(app.event_dialogs().len(), 0);
    app.stop();
}
