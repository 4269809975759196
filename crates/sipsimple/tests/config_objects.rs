//! Settings objects on the ConfigurationManager: validation on assignment,
//! save/delete with their notifications, only non-default values stored,
//! application extensions, and refusal of bad stored values.

mod common;

use std::fs;
use std::sync::Arc;

use common::TempDir;
use sipsimple::config::{
    ConfigError, ConfigurationManager, FileBackend, Group, Kind, MemoryBackend, Setting,
    SettingChange, StorageBackend, Value,
};
use sipsimple::notification::{Filter, NotificationCenter, NotificationData};

fn account_schema() -> Arc<Group> {
    Arc::new(
        Group::new("")
            .setting(Setting::new("enabled", Kind::Bool, false, "use it"))
            .setting(Setting::nillable(
                "display_name",
                Kind::Text { non_empty: true },
                "shown to peers",
            ))
            .group(Group::new("registration").setting(Setting::new(
                "interval",
                Kind::Integer {
                    min: 30,
                    max: 86400,
                },
                600,
                "seconds",
            )))
            .group(
                Group::new("sip").setting(
                    Setting::nillable("outbound_proxy", Kind::Text { non_empty: true }, "")
                        .validated_by(|v| match v.as_str() {
                            Some(s) if s.starts_with("sip:") || s.starts_with("sips:") => Ok(()),
                            _ => Err("not a sip: or sips: URI".into()),
                        }),
                ),
            ),
    )
}

fn s(v: &str) -> Option<Value> {
    Some(Value::String(v.into()))
}

#[test]
fn assignment_is_validated_and_a_refused_value_keeps_the_old_one() {
    let m =
        ConfigurationManager::start(MemoryBackend::new(), NotificationCenter::default()).unwrap();
    let mut a = m
        .object(&["accounts", "alice@example.test"], account_schema())
        .unwrap();
    assert_eq!(a.get("enabled").unwrap(), Some(&Value::Boolean(false)));
    assert_eq!(a.get("display_name").unwrap(), None);
    assert_eq!(
        a.get("registration.interval").unwrap(),
        Some(&Value::Integer(600))
    );

    a.set("registration.interval", Some(Value::Integer(120)))
        .unwrap();
    let e = a
        .set("registration.interval", Some(Value::Integer(5)))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "registration.interval: 5 is outside 30..=86400"
    );
    let e = a.set("enabled", s("yes")).unwrap_err();
    assert!(matches!(e, ConfigError::Invalid { .. }), "{e}");
    let e = a
        .set("sip.outbound_proxy", s("proxy.example.test"))
        .unwrap_err();
    assert!(e.to_string().contains("not a sip: or sips: URI"), "{e}");
    assert!(
        a.set("enabled", None).is_err(),
        "only nillable settings unset"
    );
    assert!(matches!(
        a.set("registration.nope", Some(Value::Integer(1))),
        Err(ConfigError::UnknownSetting(_))
    ));
    // Every refusal left the earlier values.
    assert_eq!(
        a.get("registration.interval").unwrap(),
        Some(&Value::Integer(120))
    );
    assert_eq!(a.get("enabled").unwrap(), Some(&Value::Boolean(false)));
    assert_eq!(a.get("sip.outbound_proxy").unwrap(), None);
}

#[test]
fn save_stores_only_non_default_values_and_posts_the_changes() {
    let dir = TempDir::new("save");
    let path = dir.0.join("config.toml");
    let center = NotificationCenter::default();
    let mut changes = center.subscribe(Filter::name("CFGSettingsObjectDidChange"));
    let m = ConfigurationManager::start(FileBackend::new(&path), center.clone()).unwrap();
    let mut a = m
        .object(&["accounts", "alice@example.test"], account_schema())
        .unwrap();
    a.set("enabled", Some(Value::Boolean(true))).unwrap();
    a.set("display_name", s("Alice")).unwrap();
    // Assigning the default stores nothing.
    a.set("registration.interval", Some(Value::Integer(600)))
        .unwrap();
    assert!(changes.try_next().is_none(), "nothing posted before save");
    let saved = a.save().unwrap();
    assert_eq!(saved.len(), 2);

    let n = changes.try_next().expect("CFGSettingsObjectDidChange");
    assert_eq!(n.sender, a.sender());
    let NotificationData::CFGSettingsObjectDidChange { modified } = n.data else {
        panic!("wrong notification");
    };
    assert_eq!(
        modified["enabled"],
        SettingChange {
            old: Some(Value::Boolean(false)),
            new: Some(Value::Boolean(true))
        }
    );
    assert_eq!(
        modified["display_name"],
        SettingChange {
            old: None,
            new: s("Alice")
        }
    );
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains("[accounts.\"alice@example.test\"]"), "{text}");
    assert!(
        !text.contains("interval"),
        "defaults are not stored: {text}"
    );

    // A second save with nothing changed posts nothing.
    assert!(a.save().unwrap().is_empty());
    assert!(changes.try_next().is_none());

    // Back to defaults: the keys leave the file, the change is posted.
    a.reset("enabled").unwrap();
    a.set("display_name", None).unwrap();
    a.save().unwrap();
    assert!(changes.try_next().is_some());
    let reloaded = FileBackend::new(&path).load().unwrap();
    let alice = reloaded["accounts"]["alice@example.test"]
        .as_table()
        .unwrap();
    assert!(alice.is_empty(), "{alice:?}");
}

#[test]
fn a_new_manager_on_the_same_file_sees_the_saved_values() {
    let dir = TempDir::new("reload");
    let path = dir.0.join("config.toml");
    {
        let m = ConfigurationManager::start(FileBackend::new(&path), NotificationCenter::default())
            .unwrap();
        let mut a = m
            .object(&["accounts", "bob@example.test"], account_schema())
            .unwrap();
        a.set(
            "sip.outbound_proxy",
            s("sip:proxy.example.test;transport=tcp"),
        )
        .unwrap();
        a.save().unwrap();
        // An object with every setting at its default still exists once saved.
        m.object(&["accounts", "carol@example.test"], account_schema())
            .unwrap()
            .save()
            .unwrap();
    }
    let m = ConfigurationManager::start(FileBackend::new(&path), NotificationCenter::default())
        .unwrap();
    assert_eq!(
        m.children(&["accounts"]),
        ["bob@example.test", "carol@example.test"]
    );
    let b = m
        .object(&["accounts", "bob@example.test"], account_schema())
        .unwrap();
    assert_eq!(
        b.get("sip.outbound_proxy").unwrap().and_then(Value::as_str),
        Some("sip:proxy.example.test;transport=tcp")
    );
}

#[test]
fn a_bad_stored_value_is_refused_naming_file_and_setting() {
    let dir = TempDir::new("badvalue");
    let path = dir.0.join("config.toml");
    let text = "[accounts.\"alice@example.test\".registration]\ninterval = \"soon\"\n";
    fs::write(&path, text).unwrap();
    let m = ConfigurationManager::start(FileBackend::new(&path), NotificationCenter::default())
        .unwrap();
    let e = m
        .object(&["accounts", "alice@example.test"], account_schema())
        .err()
        .expect("refused");
    let shown = e.to_string();
    assert!(
        shown.starts_with("accounts.alice@example.test.registration.interval in "),
        "{shown}"
    );
    assert!(shown.contains(&path.display().to_string()), "{shown}");
    assert!(
        shown.contains("expected an integer in 30..=86400, got string"),
        "{shown}"
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn keys_the_schema_does_not_know_survive_a_save() {
    let dir = TempDir::new("unknown");
    let path = dir.0.join("config.toml");
    fs::write(
        &path,
        "[accounts.\"alice@example.test\"]\nfuture_option = 7\n[other_app]\nx = 1\n",
    )
    .unwrap();
    let m = ConfigurationManager::start(FileBackend::new(&path), NotificationCenter::default())
        .unwrap();
    let mut a = m
        .object(&["accounts", "alice@example.test"], account_schema())
        .unwrap();
    a.set("enabled", Some(Value::Boolean(true))).unwrap();
    a.save().unwrap();
    let t = FileBackend::new(&path).load().unwrap();
    assert_eq!(t["other_app"]["x"].as_integer(), Some(1));
    assert_eq!(
        t["accounts"]["alice@example.test"]["future_option"].as_integer(),
        Some(7)
    );
    assert_eq!(
        t["accounts"]["alice@example.test"]["enabled"].as_bool(),
        Some(true)
    );
}

#[test]
fn a_failed_save_keeps_storage_and_pending_changes_and_posts_nothing() {
    let dir = TempDir::new("failsave");
    let path = dir.0.join("config.toml");
    let center = NotificationCenter::default();
    let mut all = center.subscribe(Filter::all());
    let m = ConfigurationManager::start(FileBackend::new(&path), center).unwrap();
    let mut a = m
        .object(&["accounts", "alice@example.test"], account_schema())
        .unwrap();
    a.set("enabled", Some(Value::Boolean(true))).unwrap();
    // A directory where the file goes: the rename fails.
    fs::create_dir(&path).unwrap();
    assert!(matches!(a.save(), Err(ConfigError::Io { .. })));
    assert!(all.try_next().is_none());
    assert_eq!(a.pending().len(), 1, "the change is still pending");
    fs::remove_dir(&path).unwrap();
    assert_eq!(a.save().unwrap().len(), 1);
    assert!(all.try_next().is_some());
}

#[test]
fn delete_removes_the_object_and_says_so() {
    let center = NotificationCenter::default();
    let mut deleted = center.subscribe(Filter::name("CFGSettingsObjectWasDeleted"));
    let backend = Arc::new(MemoryBackend::new());
    let m = ConfigurationManager::start(SharedMemory(backend.clone()), center).unwrap();
    for id in ["alice@example.test", "bob@example.test"] {
        let mut a = m.object(&["accounts", id], account_schema()).unwrap();
        a.set("enabled", Some(Value::Boolean(true))).unwrap();
        a.save().unwrap();
    }
    let mut a = m
        .object(&["accounts", "alice@example.test"], account_schema())
        .unwrap();
    let sender = a.sender();
    a.delete().unwrap();
    assert_eq!(deleted.try_next().map(|n| n.sender), Some(sender));
    assert_eq!(m.children(&["accounts"]), ["bob@example.test"]);
    let stored = backend.load().unwrap();
    assert!(stored["accounts"].get("alice@example.test").is_none());
    // Loading it again gives a fresh object at its defaults.
    let a = m
        .object(&["accounts", "alice@example.test"], account_schema())
        .unwrap();
    assert_eq!(a.get("enabled").unwrap(), Some(&Value::Boolean(false)));
}

#[test]
fn applications_extend_a_schema_with_their_own_settings() {
    let mut schema = (*account_schema()).clone();
    schema.extend(
        Group::new("").group(Group::new("my_app").setting(Setting::new(
            "ringtone",
            Kind::Choice(&["classic", "none"]),
            "classic",
            "what plays on an incoming call",
        ))),
    );
    let m =
        ConfigurationManager::start(MemoryBackend::new(), NotificationCenter::default()).unwrap();
    let mut a = m
        .object(&["accounts", "alice@example.test"], Arc::new(schema))
        .unwrap();
    assert!(a.set("my_app.ringtone", s("jazz")).is_err());
    a.set("my_app.ringtone", s("none")).unwrap();
    assert_eq!(a.save().unwrap().len(), 1);
    assert_eq!(a.get("my_app.ringtone").unwrap(), s("none").as_ref());
}

/// Lets a test look into the MemoryBackend the manager owns.
struct SharedMemory(Arc<MemoryBackend>);

impl StorageBackend for SharedMemory {
    fn load(&self) -> Result<toml::Table, ConfigError> {
        self.0.load()
    }
    fn save(&self, tree: &toml::Table) -> Result<(), ConfigError> {
        self.0.save(tree)
    }
    fn describe(&self) -> String {
        self.0.describe()
    }
}
