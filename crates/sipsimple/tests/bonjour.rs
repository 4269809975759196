//! The BonjourAccount: two applications in one process publish their
//! contacts over mDNS on loopback, find each other as neighbours, exchange
//! a MESSAGE by the discovered URI, and see each other leave.
//!
//! Each test runs in a network namespace of its own that has only
//! loopback (`unshare --net`, as root): mdns-sd joins the mDNS group on
//! every interface as it starts, and tests must neither reach the
//! machine's LAN nor see each other. Inside, mDNS runs on its standard
//! port 5353.

mod common;

use std::future::Future;
use std::process::Command;
use std::time::Duration;

use common::{names, next_notification as next, until};
use sipsimple::application::SipApplication;
use sipsimple::config::{MemoryBackend, Value};
use sipsimple::engine::TransportKind;
use sipsimple::notification::{Filter, Notification, NotificationData};

const INSIDE: &str = "SIPSIMPLE_TEST_NETNS";

/// Runs `body` in a fresh network namespace: re-runs this test binary,
/// filtered to `test`, under `unshare --net` with loopback up.
fn in_own_network<F: Future<Output = ()>>(test: &str, body: impl FnOnce() -> F) {
    if std::env::var_os(INSIDE).is_some() {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(body());
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("unshare")
        .args(["--net", "--", "sh", "-c"])
        .arg(r#"ip link set lo up && exec "$0" --exact "$1" --nocapture --test-threads 1"#)
        .arg(exe)
        .arg(test)
        .env(INSIDE, "1")
        .output()
        .expect("unshare (util-linux) runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{test} in its own network:\n{text}");
    assert!(text.contains("1 passed"), "the test ran inside:\n{text}");
}

/// An application whose Bonjour account is on; `interfaces` restricts
/// mDNS to those (empty: every interface, here only loopback).
fn config(name: &str, interfaces: &str) -> String {
    format!(
        r#"
local_ip = "127.0.0.1"
[sip]
transport_list = ["udp", "tcp"]
[bonjour]
enabled = true
display_name = "{name}"
[bonjour.mdns]
interfaces = [{interfaces}]
"#
    )
}

async fn app(name: &str, interfaces: &str) -> SipApplication {
    let app = SipApplication::new();
    app.start(MemoryBackend::with(
        config(name, interfaces).parse().unwrap(),
    ))
    .await
    .unwrap();
    app
}

/// The next DidAddNeighbour for a service of `transport`.
async fn neighbour_over(
    rx: &mut sipsimple::notification::Subscription,
    transport: &str,
) -> Notification {
    loop {
        let n = next(rx).await;
        if let NotificationData::BonjourAccountDidAddNeighbour { neighbour, .. } = &n.data {
            if neighbour.contains(&format!("._sipuri._{transport}.")) {
                return n;
            }
        }
    }
}

#[test]
fn two_applications_discover_each_other_and_exchange_a_message() {
    in_own_network(
        "two_applications_discover_each_other_and_exchange_a_message",
        discover_and_exchange,
    );
}

async fn discover_and_exchange() {
    let alice = app("Alice", "").await;
    let mut alice_sees = alice
        .notification_center()
        .subscribe(Filter::name("BonjourAccountDidAddNeighbour"));
    let bob = SipApplication::new();
    let mut bob_all = bob.notification_center().subscribe(Filter::all());
    bob.start(MemoryBackend::with(config("Bob", "").parse().unwrap()))
        .await
        .unwrap();
    let bob_account = bob.account_manager().bonjour_account().unwrap();
    assert!(bob_account.is_active());
    assert_eq!(bob_account.id().to_string(), "bonjour@local");

    // Bob's own view: activated, published over both transports.
    let started = until(&mut bob_all, "SIPApplicationDidStart").await;
    assert_eq!(
        names(&started)
            .into_iter()
            .filter(|n| n.starts_with("Bonjour") || n.starts_with("SIPAccount"))
            .collect::<Vec<_>>(),
        [
            "SIPAccountDidActivate",
            "BonjourAccountWillRegister",
            "BonjourAccountRegistrationDidSucceed",
            "BonjourAccountRegistrationDidSucceed",
        ]
    );
    let bob_udp = bob_account.contact(TransportKind::Udp).unwrap();
    let bob_tcp = bob_account.contact(TransportKind::Tcp).unwrap();
    let published: Vec<String> = started
        .iter()
        .filter_map(|n| match &n.data {
            NotificationData::BonjourAccountRegistrationDidSucceed { name, .. } => {
                Some(name.clone())
            }
            _ => None,
        })
        .collect();
    assert!(published.contains(&bob_udp.to_string()), "{published:?}");
    assert!(published.contains(&bob_tcp.to_string()), "{published:?}");
    let udp_port = bob
        .engine()
        .unwrap()
        .local_addr(TransportKind::Udp)
        .unwrap()
        .port();
    assert_eq!(
        bob_udp.to_string(),
        format!(
            "sip:{}@127.0.0.1:{udp_port}",
            bob_account.contact_username()
        )
    );

    // Alice finds bob (and not herself) over each transport.
    let mut found = std::collections::BTreeMap::new();
    while found.len() < 2 {
        let n = next(&mut alice_sees).await;
        assert_eq!(
            n.sender,
            alice.account_manager().bonjour_account().unwrap().sender()
        );
        let NotificationData::BonjourAccountDidAddNeighbour {
            neighbour,
            display_name,
            host,
            uri,
        } = n.data
        else {
            unreachable!()
        };
        assert_eq!(display_name.as_deref(), Some("Bob"));
        assert!(!host.is_empty());
        let transport = if neighbour.contains("._sipuri._tcp.") {
            "tcp"
        } else {
            "udp"
        };
        found.insert(transport, uri);
    }
    assert_eq!(found["udp"], bob_udp.to_string());
    assert_eq!(found["tcp"], bob_tcp.to_string());
    let uri = found["udp"].clone();
    let alice_account = alice.account_manager().bonjour_account().unwrap();
    let seen: Vec<String> = alice_account
        .neighbours()
        .iter()
        .map(|n| n.uri.to_string())
        .collect();
    assert!(seen.contains(&bob_udp.to_string()) && seen.contains(&bob_tcp.to_string()));
    assert!(
        !seen
            .iter()
            .any(|u| u.contains(alice_account.contact_username())),
        "alice is not her own neighbour: {seen:?}"
    );

    // A MESSAGE to the discovered URI reaches bob.
    let mut got = bob
        .notification_center()
        .subscribe(Filter::name("SIPEngineGotMessage"));
    let delivered = alice_account
        .send_message(&uri, "text/plain", "hi bob, found you")
        .await
        .unwrap();
    assert_eq!(delivered.code, 200);
    let NotificationData::SIPEngineGotMessage {
        body, from_header, ..
    } = next(&mut got).await.data
    else {
        unreachable!()
    };
    assert_eq!(body, b"hi bob, found you");
    assert!(
        from_header.contains(alice_account.contact_username()),
        "{from_header}"
    );

    // Bob leaves: his goodbyes reach alice.
    let mut alice_loses = alice
        .notification_center()
        .subscribe(Filter::name("BonjourAccountDidRemoveNeighbour"));
    bob.stop();
    let ended = until(&mut bob_all, "SIPApplicationDidEnd").await;
    let ended = names(&ended);
    assert!(
        ended.contains(&"BonjourAccountRegistrationDidEnd"),
        "{ended:?}"
    );
    let mut gone = Vec::new();
    while gone.len() < 2 {
        let n = tokio::time::timeout(Duration::from_secs(10), alice_loses.next())
            .await
            .expect("bob's goodbyes arrive")
            .unwrap();
        if let NotificationData::BonjourAccountDidRemoveNeighbour { uri, .. } = n.data {
            gone.push(uri);
        }
    }
    gone.sort();
    let mut expected = vec![bob_udp.to_string(), bob_tcp.to_string()];
    expected.sort();
    assert_eq!(gone, expected);
    assert!(alice_account.neighbours().is_empty());
    alice.stop();
}

#[test]
fn disabling_the_account_withdraws_it_and_enabling_publishes_again() {
    in_own_network(
        "disabling_the_account_withdraws_it_and_enabling_publishes_again",
        disable_and_enable,
    );
}

async fn disable_and_enable() {
    let alice = app("Alice", r#""127.0.0.1""#).await;
    let bob = app("Bob", r#""lo""#).await;
    let mut alice_sees = alice.notification_center().subscribe(Filter::all());
    neighbour_over(&mut alice_sees, "udp").await;

    let bob_account = bob.account_manager().bonjour_account().unwrap();
    let mut bob_sees = bob
        .notification_center()
        .subscribe(Filter::sender(bob_account.sender()));
    bob_account
        .set("enabled", Some(Value::Boolean(false)))
        .unwrap();
    bob_account.save().unwrap();
    assert!(!bob_account.is_active());
    assert_eq!(
        names(&until(&mut bob_sees, "BonjourAccountRegistrationDidEnd").await),
        [
            "CFGSettingsObjectDidChange",
            "SIPAccountDidDeactivate",
            "BonjourAccountRegistrationDidEnd"
        ]
    );
    let removed = until(&mut alice_sees, "BonjourAccountDidRemoveNeighbour").await;
    assert!(!removed.is_empty());

    bob_account
        .set("enabled", Some(Value::Boolean(true)))
        .unwrap();
    bob_account.save().unwrap();
    assert!(bob_account.is_active());
    neighbour_over(&mut alice_sees, "udp").await;
    alice.stop();
    bob.stop();
}

#[tokio::test]
async fn the_bonjour_account_is_off_unless_enabled() {
    let app = SipApplication::new();
    let mut all = app.notification_center().subscribe(Filter::all());
    app.start(MemoryBackend::with(
        "local_ip = \"127.0.0.1\"\n".parse().unwrap(),
    ))
    .await
    .unwrap();
    let started = until(&mut all, "SIPApplicationDidStart").await;
    assert!(
        !names(&started).iter().any(|n| n.starts_with("Bonjour")),
        "{:?}",
        names(&started)
    );
    let bonjour = app.account_manager().bonjour_account().unwrap();
    assert!(!bonjour.is_enabled() && !bonjour.is_active());
    assert!(bonjour.contact(TransportKind::Udp).is_some());
    app.stop();
}
