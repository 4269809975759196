//! The AccountManager and Account inside a SipApplication: loading,
//! creating, deleting, the default account, activation with the engine,
//! and every notification the spec names for them.

mod common;

use std::time::Duration;

use common::{names, next_notification as next, until, TempDir};
use sip_proto::uri::Uri;
use sipsimple::application::{AppState, SipApplication};
use sipsimple::config::{FileBackend, MemoryBackend, Value};
use sipsimple::notification::{Filter, NotificationData};

const CONFIG: &str = r#"
local_ip = "127.0.0.1"
default_account = "alice@example.test"
[sip]
transport_list = ["udp"]
[accounts."alice@example.test"]
enabled = true
registration.enabled = false
[accounts."bob@example.test"]
display_name = "Bob"
registration.enabled = false
"#;

#[tokio::test]
async fn accounts_load_activate_and_change() {
    let app = SipApplication::new();
    let mut all = app.notification_center().subscribe(Filter::all());
    app.start(MemoryBackend::with(CONFIG.parse().unwrap()))
        .await
        .unwrap();
    let started = until(&mut all, "SIPApplicationDidStart").await;
    assert_eq!(
        names(&started),
        [
            "SIPApplicationWillStart",
            "SIPAccountManagerDidAddAccount",
            "SIPAccountDidActivate",
            "SIPAccountManagerDidAddAccount",
            "SIPApplicationDidStart"
        ]
    );
    let m = app.account_manager();
    let alice = m.get_account("alice@example.test").unwrap();
    let bob = m.get_account("bob@example.test").unwrap();
    assert_eq!(started[2].sender, alice.sender(), "alice activated");
    assert!(alice.is_active());
    assert!(!bob.is_active(), "bob is not enabled");
    assert_eq!(
        m.accounts()
            .iter()
            .map(|a| a.id().to_string())
            .collect::<Vec<_>>(),
        ["alice@example.test", "bob@example.test"]
    );
    assert_eq!(m.iter().count(), 2);
    assert!(m.has_account("bob@example.test") && !m.has_account("carol@example.test"));
    assert_eq!(m.default_account().unwrap().id(), alice.id());
    assert_eq!(alice.uri().to_string(), "sip:alice@example.test");
    assert_eq!(
        bob.get("display_name").unwrap(),
        Some(Value::String("Bob".into()))
    );

    // find_account: by the random contact user, or by id; enabled only.
    let contact = alice.contact_username().to_owned();
    assert_eq!(contact.len(), 8);
    assert_ne!(contact, bob.contact_username());
    let by_contact_text = format!("sip:{contact}@127.0.0.1:5060");
    let by_contact = Uri::parse(&by_contact_text).unwrap();
    assert_eq!(
        m.find_account(by_contact.as_sip().unwrap())
            .map(|a| a.id().to_string()),
        Some("alice@example.test".into())
    );
    let by_id = Uri::parse("sip:alice@EXAMPLE.test").unwrap();
    assert!(m.find_account(by_id.as_sip().unwrap()).is_some());
    let disabled = Uri::parse("sip:bob@example.test").unwrap();
    assert!(m.find_account(disabled.as_sip().unwrap()).is_none());

    // Enabling bob and saving activates him.
    bob.set("enabled", Some(Value::Boolean(true))).unwrap();
    bob.save().unwrap();
    let ns = until(&mut all, "SIPAccountDidActivate").await;
    assert_eq!(
        names(&ns),
        ["CFGSettingsObjectDidChange", "SIPAccountDidActivate"]
    );
    assert_eq!(ns[1].sender, bob.sender());
    bob.set("enabled", Some(Value::Boolean(false))).unwrap();
    bob.save().unwrap();
    assert_eq!(
        names(&until(&mut all, "SIPAccountDidDeactivate").await),
        ["CFGSettingsObjectDidChange", "SIPAccountDidDeactivate"]
    );

    // Creating: a new id is added once; the same id gives the same account.
    let carol = m.create_account("carol@example.test").unwrap();
    let again = m.create_account("sip:carol@example.test").unwrap();
    assert!(std::sync::Arc::ptr_eq(&carol, &again));
    let ns = until(&mut all, "SIPAccountManagerDidAddAccount").await;
    assert_eq!(
        ns.last().map(|n| &n.data),
        Some(&NotificationData::SIPAccountManagerDidAddAccount {
            account: "carol@example.test".into()
        })
    );
    assert!(m.create_account("example.test").is_err());

    // The default account.
    assert!(m.set_default_account(Some("nobody@example.test")).is_err());
    m.set_default_account(Some("bob@example.test")).unwrap();
    let ns = until(&mut all, "SIPAccountManagerDidChangeDefaultAccount").await;
    assert_eq!(
        ns.last().unwrap().data,
        NotificationData::SIPAccountManagerDidChangeDefaultAccount {
            old_account: Some("alice@example.test".into()),
            account: Some("bob@example.test".into()),
        }
    );
    // Deleting the default account removes it and clears the default.
    m.delete_account("bob@example.test").await.unwrap();
    let ns = until(&mut all, "SIPAccountManagerDidChangeDefaultAccount").await;
    assert!(
        names(&ns).contains(&"SIPAccountManagerDidRemoveAccount"),
        "{:?}",
        names(&ns)
    );
    assert_eq!(
        ns.last().unwrap().data,
        NotificationData::SIPAccountManagerDidChangeDefaultAccount {
            old_account: Some("bob@example.test".into()),
            account: None,
        }
    );
    assert!(m.default_account().is_none());
    assert!(!m.has_account("bob@example.test"));

    // Stopping deactivates the active accounts before DidEnd.
    app.stop();
    let ns = until(&mut all, "SIPApplicationDidEnd").await;
    assert_eq!(
        names(&ns),
        [
            "SIPApplicationWillEnd",
            "SIPAccountDidDeactivate",
            "SIPApplicationDidEnd"
        ]
    );
    assert!(!alice.is_active());
}

#[tokio::test]
async fn accounts_persist_in_the_file_across_applications() {
    let dir = TempDir::new("accounts-file");
    let path = dir.0.join("config.toml");
    std::fs::write(&path, CONFIG).unwrap();
    let app = SipApplication::new();
    app.start(FileBackend::new(&path)).await.unwrap();
    let carol = app
        .account_manager()
        .create_account("carol@example.test")
        .unwrap();
    carol.set("auth.password", Some("pw".into())).unwrap();
    carol.save().unwrap();
    app.account_manager()
        .delete_account("bob@example.test")
        .await
        .unwrap();
    let mut events = app
        .notification_center()
        .subscribe(Filter::sender(app.sender()));
    app.stop();
    while next(&mut events).await.name() != "SIPApplicationDidEnd" {}

    let again = SipApplication::new();
    again.start(FileBackend::new(&path)).await.unwrap();
    let ids: Vec<String> = again
        .account_manager()
        .accounts()
        .iter()
        .map(|a| a.id().to_string())
        .collect();
    assert_eq!(ids, ["alice@example.test", "carol@example.test"]);
    let carol = again
        .account_manager()
        .get_account("carol@example.test")
        .unwrap();
    assert_eq!(carol.get("auth.password").unwrap(), Some("pw".into()));
    let mut events = again
        .notification_center()
        .subscribe(Filter::sender(again.sender()));
    again.stop();
    while next(&mut events).await.name() != "SIPApplicationDidEnd" {}
}

#[tokio::test]
async fn a_bad_stored_account_fails_start_and_leaves_nothing_running() {
    let app = SipApplication::new();
    let config = "local_ip = \"127.0.0.1\"\n[accounts.\"no-user-part\"]\nenabled = true\n";
    let e = app
        .start(MemoryBackend::with(config.parse().unwrap()))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no-user-part"), "{e}");
    assert_eq!(app.state(), AppState::Stopped);
    assert!(app.engine().is_none());
    // Fixed, it starts.
    app.start(MemoryBackend::with(CONFIG.parse().unwrap()))
        .await
        .unwrap();
    assert_eq!(app.account_manager().accounts().len(), 2);
    app.stop();
}

#[tokio::test]
async fn a_registrar_that_is_down_fails_and_backs_off() {
    // A TCP port nobody listens on: every connect is refused at once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = format!(
        "local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = [\"tcp\"]\n\
         [accounts.\"alice@example.test\"]\nenabled = true\nauth.password = \"pw\"\n\
         sip.outbound_proxy = \"sip:127.0.0.1:{closed};transport=tcp\"\n"
    );
    let app = SipApplication::new();
    let mut fails = app
        .notification_center()
        .subscribe(Filter::name("SIPAccountRegistrationDidFail"));
    app.start(MemoryBackend::with(config.parse().unwrap()))
        .await
        .unwrap();
    let mut retries = Vec::new();
    for _ in 0..2 {
        match next(&mut fails).await.data {
            NotificationData::SIPAccountRegistrationDidFail { error, retry_in } => {
                // The refusal is said, not left as a silent timeout.
                assert_eq!(
                    error,
                    format!(
                        "no registrar answered: connection refused by 127.0.0.1:{closed} over TCP"
                    )
                );
                retries.push(retry_in);
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        retries,
        [Duration::from_secs(5), Duration::from_secs(10)],
        "the backoff doubles"
    );
    let mut events = app
        .notification_center()
        .subscribe(Filter::sender(app.sender()));
    app.stop();
    // Never registered, so nothing to unregister: stopping is quick.
    while next(&mut events).await.name() != "SIPApplicationDidEnd" {}
}

#[tokio::test]
async fn credentials_follow_the_auth_settings_and_never_print_the_password() {
    let app = SipApplication::new();
    app.start(MemoryBackend::with(CONFIG.parse().unwrap()))
        .await
        .unwrap();
    let alice = app
        .account_manager()
        .get_account("alice@example.test")
        .unwrap();
    let c = alice.credentials();
    assert_eq!((c.username.as_str(), c.password.as_str()), ("alice", ""));
    alice
        .set("auth.username", Some(Value::String("alice-auth".into())))
        .unwrap();
    alice
        .set("auth.password", Some(Value::String("s3cret".into())))
        .unwrap();
    alice.save().unwrap();
    let c = alice.credentials();
    assert_eq!(
        (c.username.as_str(), c.password.as_str()),
        ("alice-auth", "s3cret")
    );
    assert!(!format!("{c:?}").contains("s3cret"));
    // Contact: the random user at the engine's UDP address.
    let udp = app
        .engine()
        .unwrap()
        .local_addr(sipsimple::engine::TransportKind::Udp)
        .unwrap();
    assert_eq!(
        alice
            .contact(sipsimple::engine::TransportKind::Udp)
            .unwrap()
            .to_string(),
        format!("sip:{}@{udp}", alice.contact_username())
    );
    assert!(
        alice
            .contact(sipsimple::engine::TransportKind::Tcp)
            .is_none(),
        "no TCP runs"
    );
    app.stop();
}

/// Which account an incoming INVITE reaches, with several accounts (the
/// rules of docs/CONFIGURATION.md): to our address, a known user name is
/// that account, an unknown one the default account; the contact user is
/// its account; at a domain name an unknown user is nobody (404).
#[tokio::test]
async fn incoming_requests_find_their_account_and_unknown_users_the_default() {
    let config = "local_ip = \"127.0.0.1\"\ndefault_account = \"carol@example.test\"\n\
                  [sip]\ntransport_list = [\"udp\"]\n\
                  [accounts.\"alice@example.test\"]\nenabled = true\nregistration.enabled = false\n\
                  [accounts.\"bob@example.test\"]\nenabled = true\nregistration.enabled = false\n\
                  [accounts.\"carol@example.test\"]\nenabled = true\nregistration.enabled = false\n";
    let us = SipApplication::new();
    us.start(MemoryBackend::with(config.parse().unwrap()))
        .await
        .unwrap();
    let mut ours = us.notification_center().subscribe(Filter::all());
    let addr = us
        .engine()
        .unwrap()
        .local_addr(sipsimple::engine::TransportKind::Udp)
        .unwrap();
    let alice_contact = us
        .account_manager()
        .get_account("alice@example.test")
        .unwrap()
        .contact_username()
        .to_owned();
    let caller = common::account_app("dave").await;
    let mut theirs = caller.notification_center().subscribe(Filter::all());
    let from = caller.account_manager().accounts().remove(0);
    for (to, want) in [
        (format!("sip:bob@{addr}"), Some("bob@example.test")),
        (format!("sip:nobody@{addr}"), Some("carol@example.test")),
        (
            format!("sip:{alice_contact}@{addr}"),
            Some("alice@example.test"),
        ),
        // A domain name (sent to our address): nobody of that name there.
        (format!("sip:nobody@example.test:{}", addr.port()), None),
    ] {
        let audio = common::tone_stream(440.0, vec![sdp::offer_answer::Codec::pcmu()]).await;
        let route = sipsimple::lookup::Route {
            address: addr.ip(),
            port: addr.port(),
            transport: sipsimple::engine::TransportKind::Udp,
        };
        let call = sipsimple::session::Session::new(caller.session_manager(), &from);
        call.connect(&to, vec![route], vec![audio]).await.unwrap();
        if let Some(id) = want {
            let answer = common::incoming_session(&us, &mut ours).await;
            assert_eq!(answer.account().id(), id, "{to}");
            answer.reject(486, None).await.unwrap();
        }
        let failed = until(&mut theirs, "SIPSessionDidFail").await;
        let Some(NotificationData::SIPSessionDidFail { code, .. }) = failed.last().map(|n| &n.data)
        else {
            unreachable!()
        };
        assert_eq!(*code, if want.is_some() { 486 } else { 404 }, "{to}");
    }
    caller.stop();
    us.stop();
}
