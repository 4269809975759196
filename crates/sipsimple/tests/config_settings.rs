//! The SDK's settings schemas: their documentation stays current, and they
//! work through the ConfigurationManager like any schema.

use std::path::PathBuf;
use std::sync::Arc;

use sipsimple::config::{settings, ConfigurationManager, MemoryBackend, Value};
use sipsimple::notification::NotificationCenter;

fn doc_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/CONFIGURATION.md")
}

#[test]
fn configuration_doc_is_current() {
    let want = settings::markdown();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(doc_path(), &want).unwrap();
    }
    let have = std::fs::read_to_string(doc_path()).unwrap_or_default();
    assert!(
        have == want,
        "docs/CONFIGURATION.md is stale: UPDATE_DOCS=1 cargo test -p sipsimple --test config_settings"
    );
}

#[test]
fn the_sdk_schemas_validate_and_store_like_any_other() {
    let m =
        ConfigurationManager::start(MemoryBackend::new(), NotificationCenter::default()).unwrap();
    let mut global = m.object(&[], Arc::new(settings::global())).unwrap();
    assert_eq!(
        global.get("sip.transport_list").unwrap(),
        Some(&Value::Array(vec![
            "tls".into(),
            "tcp".into(),
            "udp".into()
        ]))
    );
    assert!(global
        .set("rtp.port_range", Some("50001-50100".into()))
        .is_err());
    assert!(global
        .set(
            "rtp.audio_codec_list",
            Some(Value::Array(vec!["G729".into()]))
        )
        .is_err());
    global
        .set("default_account", Some("alice@example.test".into()))
        .unwrap();
    global.save().unwrap();

    let mut alice = m
        .object(
            &["accounts", "alice@example.test"],
            Arc::new(settings::account()),
        )
        .unwrap();
    assert!(alice
        .set("sip.outbound_proxy", Some("proxy.example.test".into()))
        .is_err());
    alice
        .set("sip.outbound_proxy", Some("sips:proxy.example.test".into()))
        .unwrap();
    alice.set("auth.password", Some("s3cret".into())).unwrap();
    alice.save().unwrap();

    // The global object does not claim the accounts stored under it.
    assert_eq!(m.children(&["accounts"]), ["alice@example.test"]);
    let again = m.object(&[], Arc::new(settings::global())).unwrap();
    assert_eq!(
        again
            .get("default_account")
            .unwrap()
            .and_then(Value::as_str),
        Some("alice@example.test")
    );
    let bonjour = m
        .object(&["bonjour"], Arc::new(settings::bonjour_account()))
        .unwrap();
    // Off unless asked for: it announces the user on the LAN.
    assert_eq!(
        bonjour.get("enabled").unwrap(),
        Some(&Value::Boolean(false))
    );
    assert_eq!(
        bonjour.get("mdns.port").unwrap(),
        Some(&Value::Integer(5353))
    );
}

/// Settings naming what the stack does not do yet are refused, with a
/// reason, rather than accepted and ignored: ICE, and the STUN servers
/// that only ICE would use.
#[test]
fn ice_and_stun_servers_are_refused_until_they_exist() {
    let m =
        ConfigurationManager::start(MemoryBackend::new(), NotificationCenter::default()).unwrap();
    let mut alice = m
        .object(
            &["accounts", "alice@example.test"],
            Arc::new(settings::account()),
        )
        .unwrap();
    let err = alice
        .set(
            "nat_traversal.stun_server_list",
            Some(Value::Array(vec!["stun.example.test:3478".into()])),
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("STUN is not used yet"), "{err}");
    let err = alice
        .set("nat_traversal.use_ice", Some(Value::Boolean(true)))
        .unwrap_err()
        .to_string();
    assert!(err.contains("ICE is not implemented"), "{err}");
    // Unset and false stay allowed.
    alice.set("nat_traversal.stun_server_list", None).unwrap();
    alice
        .set("nat_traversal.use_ice", Some(Value::Boolean(false)))
        .unwrap();

    // A file that sets them does not load either.
    let text = "[accounts.\"bob@example.test\"]\n\
                nat_traversal.stun_server_list = [\"stun.example.test\"]\n";
    let m = ConfigurationManager::start(
        MemoryBackend::with(text.parse().unwrap()),
        NotificationCenter::default(),
    )
    .unwrap();
    let loaded = m.object(
        &["accounts", "bob@example.test"],
        Arc::new(settings::account()),
    );
    assert!(loaded.is_err(), "a stored STUN list must be refused");
}
