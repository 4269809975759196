//! Configuration storage: the TOML file backend on a real filesystem and
//! the memory backend.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use common::TempDir;
use sipsimple::config::{ConfigError, FileBackend, MemoryBackend, StorageBackend};

fn sample() -> toml::Table {
    r#"
user_agent = "sipsimple-rs test"
default_account = "alice@example.test"

[accounts."alice@example.test"]
enabled = true
display_name = "Alice"
auth = { username = "alice", password = "s3cret" }
"#
    .parse()
    .unwrap()
}

#[test]
fn missing_file_is_an_empty_configuration() {
    let dir = TempDir::new("missing");
    let b = FileBackend::new(dir.0.join("config.toml"));
    assert!(b.load().unwrap().is_empty());
    // Loading creates nothing.
    assert!(!b.path().exists());
}

#[test]
fn save_then_load_round_trips_with_mode_0600_and_no_leftovers() {
    let dir = TempDir::new("roundtrip");
    let path = dir.0.join("nested/dir/config.toml");
    let b = FileBackend::new(&path);
    b.save(&sample()).unwrap();
    assert_eq!(b.load().unwrap(), sample());
    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the file holds passwords");
    let entries: Vec<_> = fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(entries, ["config.toml"], "no temporary file left behind");
    // The file is plain TOML a person can edit.
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains("display_name = \"Alice\""), "{text}");
}

#[test]
fn saving_over_a_world_readable_file_makes_it_private() {
    let dir = TempDir::new("private");
    let path = dir.0.join("config.toml");
    fs::write(&path, "user_agent = \"x\"\n").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let b = FileBackend::new(&path);
    let mut tree = b.load().unwrap();
    tree.insert("user_agent".into(), "y".into());
    b.save(&tree).unwrap();
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(b.load().unwrap()["user_agent"].as_str(), Some("y"));
}

#[test]
fn corrupt_file_names_file_and_line_and_is_left_untouched() {
    let dir = TempDir::new("corrupt");
    let path = dir.0.join("config.toml");
    let corrupt = "user_agent = \"ok\"\n[accounts]\nalice = { enabled = tru }\n";
    fs::write(&path, corrupt).unwrap();
    let b = FileBackend::new(&path);
    match b.load() {
        Err(ConfigError::Syntax {
            path: p,
            line,
            column,
            ref message,
        }) => {
            assert_eq!(p, path);
            assert_eq!(line, 3, "{message}");
            assert!(column > 1, "{column}");
            let shown = b.load().unwrap_err().to_string();
            assert!(
                shown.starts_with(&format!("{}:3:", path.display())),
                "{shown}"
            );
        }
        other => panic!("expected a syntax error, got {other:?}"),
    }
    assert_eq!(fs::read_to_string(&path).unwrap(), corrupt);
    // Fixing the file and loading again works: start can be retried.
    fs::write(&path, "user_agent = \"ok\"\n").unwrap();
    assert_eq!(b.load().unwrap()["user_agent"].as_str(), Some("ok"));
}

#[test]
fn unreadable_path_is_an_io_error_naming_it() {
    let dir = TempDir::new("unreadable");
    // A directory where the file should be: reading it fails.
    let path = dir.0.join("config.toml");
    fs::create_dir(&path).unwrap();
    let b = FileBackend::new(&path);
    let err = b.load().unwrap_err();
    assert!(matches!(err, ConfigError::Io { .. }), "{err:?}");
    assert!(err.to_string().starts_with(&path.display().to_string()));
    // Saving cannot replace a directory either, and says so.
    let err = b.save(&sample()).unwrap_err();
    assert!(matches!(err, ConfigError::Io { .. }), "{err:?}");
    assert!(path.is_dir());
    let leftovers = fs::read_dir(&dir.0).unwrap().count();
    assert_eq!(leftovers, 1, "the temporary file is removed on failure");
}

#[test]
fn memory_backend_stores_what_was_saved() {
    let b = MemoryBackend::new();
    assert!(b.load().unwrap().is_empty());
    b.save(&sample()).unwrap();
    assert_eq!(b.load().unwrap(), sample());
    let b = MemoryBackend::with(sample());
    assert_eq!(b.load().unwrap(), sample());
}
