//! Deciding who may watch us through XCAP (RFC 4825) pres-rules (RFC
//! 5025 on RFC 4745), against a real presence server: Kamailio with
//! presence_xml reading the rules that its own xcap_server module stores
//! (`integrated_xcap_server`), HTTP digest with the SIP passwords, all
//! started per test on free loopback ports
//! (tests/kamailio/presence.cfg with `WITH_XCAP`).
//!
//! Without a rule for them watchers stay pending (RFC 5025 §3.2.1 leaves
//! the default to the server; Kamailio's is confirm) and winfo says so;
//! `allow` makes the subscription active with the presentity's PIDF;
//! `polite-block` makes it active with a document that shows the
//! presentity unavailable; `block` terminates it (rejected).

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use payloads::pidf::{Basic, Note, Presence, Tuple};
use payloads::pres_rules::{self, Ruleset, SubHandling};
use sipsimple::application::SipApplication;
use sipsimple::config::MemoryBackend;
use sipsimple::notification::{Filter, Notification, NotificationData, Subscription};
use sipsimple::subscription::SubscriptionState;
use sipsimple::xcap::{Precondition, XcapError};

mod common;
mod kamailio;
use common::{names, until};
use kamailio::{
    start_presence_server_with_xcap, start_presence_server_with_xcaps, xcap_root, xcap_root_https,
    Kamailio,
};

const DOMAIN: &str = "sipsimple.test";

async fn start(k: &Kamailio, user: &str, extra: &str) -> (SipApplication, Subscription) {
    start_at(k, user, &xcap_root(k), "", extra).await
}

/// An application whose account `user` uses the XCAP server at `root`,
/// with `global` settings (TOML tables) before `[sip]`.
async fn start_at(
    k: &Kamailio,
    user: &str,
    root: &str,
    global: &str,
    extra: &str,
) -> (SipApplication, Subscription) {
    let text = format!(
        "local_ip = \"127.0.0.1\"\n{global}[sip]\ntransport_list = [\"udp\"]\nudp_port = 0\n\
         [accounts.\"{user}@{DOMAIN}\"]\nenabled = true\n\
         auth.password = \"secret\"\n\
         sip.outbound_proxy = \"sip:127.0.0.1:{}\"\n\
         registration.enabled = false\n\
         xcap.xcap_root = \"{root}\"\n{extra}",
        k.udp,
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

fn uri(user: &str) -> String {
    format!("sip:{user}@{DOMAIN}")
}

/// Waits for a notification that `pick` accepts, within 30 s.
async fn wait<T>(
    all: &mut Subscription,
    what: &str,
    mut pick: impl FnMut(&Notification) -> Option<T>,
) -> T {
    let mut seen: Vec<Notification> = Vec::new();
    loop {
        let n = tokio::time::timeout(Duration::from_secs(30), all.next())
            .await
            .unwrap_or_else(|_| panic!("no {what} within 30 s; saw {:?}", names(&seen)))
            .expect("center alive");
        if let Some(t) = pick(&n) {
            return t;
        }
        seen.push(n);
    }
}

/// The status alice's watcher info gives `who`, once it is `status`.
async fn winfo_shows(all: &mut Subscription, who: &str, status: &str) {
    let who = uri(who);
    wait(all, &format!("winfo {who} {status}"), |n| match &n.data {
        NotificationData::SIPAccountGotPresenceWinfo { watcher_info } => watcher_info
            .lists
            .iter()
            .flat_map(|l| l.watchers.iter())
            .any(|w| w.uri == who && w.status.as_str() == status)
            .then_some(()),
        _ => None,
    })
    .await
}

/// The next presence document of alice that `watcher` gets.
async fn alice_seen_by(all: &mut Subscription) -> Presence {
    wait(all, "alice's presence", |n| match &n.data {
        NotificationData::SIPAccountGotPresenceState {
            uri: u,
            presence: Some(p),
        } if *u == uri("alice") => Some((**p).clone()),
        _ => None,
    })
    .await
}

/// A NOTIFY of alice's presence without a document: pending (RFC 6665
/// §4.1.3, Subscription-State pending; nothing to show yet).
async fn pending(all: &mut Subscription) {
    wait(all, "a pending NOTIFY", |n| match &n.data {
        NotificationData::SIPAccountGotPresenceState {
            uri: u,
            presence: None,
        } if *u == uri("alice") => Some(()),
        _ => None,
    })
    .await
}

async fn alice_publishing(k: &Kamailio) -> (SipApplication, Subscription) {
    let (app, mut all) = start(k, "alice", "presence.enabled = true\n").await;
    let mut p = Presence::new(&uri("alice"));
    let mut t = Tuple::new("t1", Basic::Open);
    t.notes.push(Note::new("behind the rules"));
    p.tuples.push(t);
    account(&app, "alice").publish_presence(&p).await.unwrap();
    let seen = until(&mut all, "SIPPublicationDidSucceed").await;
    assert!(!names(&seen).contains(&"SIPPublicationDidFail"));
    (app, all)
}

#[tokio::test]
async fn a_pending_watcher_allowed_through_xcap_gets_the_presence_and_one_denied_does_not() {
    let k = start_presence_server_with_xcap();
    let (alice_app, mut alice_all) = alice_publishing(&k).await;
    let alice = account(&alice_app, "alice");
    let (bob_app, mut bob_all) = start(&k, "bob", "").await;
    let (carol_app, mut carol_all) = start(&k, "carol", "").await;

    // No rules yet: bob's subscription is pending (no document for him),
    // and alice's winfo shows him waiting.
    let bob_watch = account(&bob_app, "bob")
        .watch_presence(&uri("alice"))
        .await
        .unwrap();
    winfo_shows(&mut alice_all, "bob", "pending").await;
    pending(&mut bob_all).await;
    assert_eq!(bob_watch.state(), SubscriptionState::Pending);
    assert_eq!(alice.pres_rules().await.unwrap(), Ruleset::new());

    // alice allows bob: the server re-reads her rules; bob's subscription
    // becomes active and he gets her PIDF, note included.
    let written = alice.allow_watcher("bob@sipsimple.test").await.unwrap();
    assert_eq!(
        written.sub_handling_for(&uri("bob")),
        Some(SubHandling::Allow)
    );
    let seen = alice_seen_by(&mut bob_all).await;
    assert_eq!(seen.tuples[0].status.basic, Some(Basic::Open));
    assert_eq!(seen.tuples[0].notes[0].text, "behind the rules");
    assert_eq!(bob_watch.state(), SubscriptionState::Active);
    winfo_shows(&mut alice_all, "bob", "active").await;

    // carol asks too and waits; alice denies her (polite-block, RFC 5025
    // §3.2.1): her subscription is accepted, but the document she gets
    // shows alice unavailable, with none of what alice published.
    let carol_watch = account(&carol_app, "carol")
        .watch_presence(&uri("alice"))
        .await
        .unwrap();
    winfo_shows(&mut alice_all, "carol", "pending").await;
    pending(&mut carol_all).await;
    assert_eq!(carol_watch.state(), SubscriptionState::Pending);
    alice.deny_watcher(&uri("carol")).await.unwrap();
    // RFC 5025 §3.2.1: polite-block makes the subscription active and
    // gives a document showing the presentity unavailable (one closed
    // service). Kamailio 5.6 makes it active with no document at all
    // (an empty NOTIFY); either way carol learns nothing of alice.
    let (state, body) = wait(
        &mut carol_all,
        "carol's NOTIFY after the rules",
        |n| match &n.data {
            NotificationData::SIPSubscriptionGotNotify { state, body, .. } => {
                Some((state.clone(), body.clone()))
            }
            _ => None,
        },
    )
    .await;
    assert_eq!(state, "active");
    if !body.is_empty() {
        let doc = Presence::parse(&body, &Default::default()).unwrap();
        assert!(
            doc.tuples
                .iter()
                .all(|t| t.status.basic == Some(Basic::Closed) && t.notes.is_empty()),
            "{doc:?}"
        );
    }
    assert_eq!(carol_watch.state(), SubscriptionState::Active);
    // Nothing else follows for carol (bob, allowed, meanwhile still
    // gets alice's note).
    let quiet = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            let n = carol_all.next().await.expect("center alive");
            if let NotificationData::SIPAccountGotPresenceState {
                presence: Some(p), ..
            } = &n.data
            {
                return p.clone();
            }
        }
    })
    .await;
    assert!(quiet.is_err(), "carol saw {quiet:?}");

    // The stored document has both decisions, in our rules.
    let rules = alice.pres_rules().await.unwrap();
    assert_eq!(
        rules.sub_handling_for(&uri("bob")),
        Some(SubHandling::Allow)
    );
    assert_eq!(
        rules.sub_handling_for(&uri("carol")),
        Some(SubHandling::PoliteBlock)
    );
    assert!(rules.rule("sipsimple_allow").is_some());

    for app in [&alice_app, &bob_app, &carol_app] {
        app.stop();
    }
    until(&mut alice_all, "SIPApplicationDidEnd").await;
}

/// `block`: the watcher's subscription is terminated with reason
/// `rejected` (RFC 5025 §3.2.1, RFC 6665 §4.2.2), even one that was
/// allowed before (our edit takes it out of the allow rule; otherwise
/// RFC 4745 §10's combining would keep the allow).
#[tokio::test]
async fn blocking_an_allowed_watcher_terminates_its_subscription() {
    let k = start_presence_server_with_xcap();
    let (alice_app, mut alice_all) = alice_publishing(&k).await;
    let alice = account(&alice_app, "alice");
    alice.allow_watcher(&uri("bob")).await.unwrap();
    let (bob_app, mut bob_all) = start(&k, "bob", "").await;
    let watching = account(&bob_app, "bob")
        .watch_presence(&uri("alice"))
        .await
        .unwrap();
    // Allowed beforehand: active at once.
    alice_seen_by(&mut bob_all).await;
    let sender = watching.sender();

    let rules = alice.block_watcher(&uri("bob")).await.unwrap();
    assert!(rules.rule("sipsimple_allow").is_none(), "{rules:?}");
    assert_eq!(
        rules.sub_handling_for(&uri("bob")),
        Some(SubHandling::Block)
    );
    let reason = wait(&mut bob_all, "bob's subscription ending", |n| {
        match (&n.data, n.sender == sender) {
            (NotificationData::SIPSubscriptionDidEnd { originator, reason }, true) => {
                Some((originator.clone(), reason.clone()))
            }
            _ => None,
        }
    })
    .await;
    assert_eq!(reason, ("remote".to_owned(), Some("rejected".to_owned())));
    assert_eq!(watching.state(), SubscriptionState::Terminated);
    alice_app.stop();
    bob_app.stop();
    until(&mut alice_all, "SIPApplicationDidEnd").await;
}

/// ETags (RFC 4825 §7.11): a write over a version that is no longer the
/// server's is refused with 412, and the account's read-modify-write
/// reads again and redoes its edit, so a concurrent writer's change is
/// kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_change_makes_the_update_read_again() {
    let k = start_presence_server_with_xcap();
    let (app, mut all) = start(&k, "alice", "").await;
    let alice = account(&app, "alice");
    let client = alice.xcap_client().unwrap();
    assert_eq!(
        client.document_url("pres-rules", "index"),
        format!(
            "{}/pres-rules/users/sip:alice@{DOMAIN}/index",
            xcap_root(&k)
        )
    );
    let put = |condition: Precondition| {
        let client = client.clone();
        async move {
            client
                .put(
                    pres_rules::AUID,
                    "index",
                    pres_rules::CONTENT_TYPE,
                    Ruleset::new().to_xml().into_bytes(),
                    condition,
                )
                .await
        }
    };
    // Creating: `If-None-Match: *` (no document yet) succeeds. Asked
    // again over the document, RFC 7232 §3.2 wants 412; Kamailio 5.6
    // compares the tag literally and writes, which is why our update
    // does not rely on it once a document (and so an ETag) exists.
    assert!(put(Precondition::Absent).await.is_ok());
    assert!(put(Precondition::Absent).await.is_ok());

    alice.allow_watcher(&uri("bob")).await.unwrap();
    let (_, etag) = client.pres_rules().await.unwrap();
    let etag = etag.expect("Kamailio's xcap_server gives ETags");
    // A version that is no longer the server's: 412, nothing written.
    let r = put(Precondition::IfMatch("\"not-the-current-one\"".into())).await;
    assert!(matches!(r, Err(XcapError::PreconditionFailed)), "{r:?}");

    // Another device of alice's writes while our edit runs (between our
    // read and our write): our PUT carries the old ETag, gets 412, and
    // the edit is made again over the other device's version.
    let other = client.clone();
    let handle = tokio::runtime::Handle::current();
    let edits = AtomicU32::new(0);
    let rules = client
        .update_pres_rules(|rules| {
            if edits.fetch_add(1, Ordering::SeqCst) == 0 {
                tokio::task::block_in_place(|| {
                    handle.block_on(async {
                        let mut theirs = other.pres_rules().await.unwrap().0;
                        theirs.set_sub_handling("other", &uri("carol"), SubHandling::Block);
                        other
                            .put(
                                pres_rules::AUID,
                                "index",
                                pres_rules::CONTENT_TYPE,
                                theirs.to_xml().into_bytes(),
                                Precondition::IfMatch(etag.clone()),
                            )
                            .await
                            .unwrap();
                    })
                });
            }
            rules.set_sub_handling("sipsimple", &uri("carol"), SubHandling::Allow);
        })
        .await
        .unwrap();
    assert_eq!(edits.load(Ordering::SeqCst), 2);
    // Ours won (carol moved from their block rule to our allow rule),
    // and bob's allow from before is still there.
    assert_eq!(
        rules.sub_handling_for(&uri("carol")),
        Some(SubHandling::Allow)
    );
    let stored = alice.pres_rules().await.unwrap();
    assert_eq!(stored, rules);
    assert_eq!(
        stored.sub_handling_for(&uri("bob")),
        Some(SubHandling::Allow)
    );

    // Wrong password: refused, not retried forever.
    alice.set("auth.password", Some("wrong".into())).unwrap();
    assert!(matches!(
        alice.pres_rules().await,
        Err(XcapError::Unauthorized(_))
    ));
    app.stop();
    until(&mut all, "SIPApplicationDidEnd").await;
}

/// XCAP over HTTPS (RFC 4825 §11: TLS where credentials cross): the
/// server's certificate is verified against `tls.ca_list`, the
/// application's TLS setting, as for SIP over TLS; without that CA the
/// request fails before any credentials are sent.
#[tokio::test]
async fn pres_rules_over_https_are_verified_with_the_applications_cas() {
    let k = start_presence_server_with_xcaps();
    let ca = k.dir.join("ca.pem");
    let global = format!("[tls]\nca_list = \"{}\"\n", ca.display());
    let (app, mut all) = start_at(&k, "alice", &xcap_root_https(&k), &global, "").await;
    let alice = account(&app, "alice");
    alice.allow_watcher(&uri("bob")).await.unwrap();
    let rules = alice.pres_rules().await.unwrap();
    assert_eq!(
        rules.sub_handling_for(&uri("bob")),
        Some(SubHandling::Allow)
    );
    app.stop();
    until(&mut all, "SIPApplicationDidEnd").await;

    // The same server, our CA not trusted: refused at the handshake.
    let requests = || kamailio::log(&k).matches("HTTP GET").count();
    let before = requests();
    let (app, mut all) = start_at(&k, "alice", &xcap_root_https(&k), "", "").await;
    let r = account(&app, "alice").pres_rules().await;
    match r {
        Err(XcapError::Transport(text)) => {
            assert!(text.to_ascii_lowercase().contains("certificate"), "{text}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(requests(), before, "no request got through unverified");
    app.stop();
    until(&mut all, "SIPApplicationDidEnd").await;
}
