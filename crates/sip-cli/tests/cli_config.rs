//! `sip account` and `sip settings` on a real configuration file.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "sip-cli-config-{tag}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn sip(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sip"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("SIP_CONFIG")
        .output()
        .expect("run sip")
}

/// Runs a command that must succeed; returns its stdout.
fn ok(config: &Path, args: &[&str]) -> String {
    let o = sip(config, args);
    assert!(
        o.status.success(),
        "sip {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// Runs a command that must fail with exit 2 and one line on stderr;
/// returns that line.
fn refused(config: &Path, args: &[&str]) -> String {
    let o = sip(config, args);
    assert_eq!(o.status.code(), Some(2), "sip {args:?}");
    let err = String::from_utf8(o.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(o.stdout.is_empty());
    err
}

fn stored(config: &Path) -> toml::Table {
    fs::read_to_string(config).unwrap().parse().unwrap()
}

#[test]
fn account_lifecycle() {
    let dir = TempDir::new("accounts");
    let cfg = dir.0.join("config.toml");
    assert!(ok(&cfg, &["account", "list"]).starts_with("no accounts"));

    let out = ok(
        &cfg,
        &[
            "account",
            "add",
            "alice@example.test",
            "--password",
            "s3cret",
        ],
    );
    assert_eq!(
        out,
        "added account alice@example.test (the default account)\n"
    );
    assert_eq!(
        ok(&cfg, &["account", "add", "bob@example.test", "--disabled"]),
        "added account bob@example.test\n"
    );
    assert_eq!(
        fs::metadata(&cfg).unwrap().permissions().mode() & 0o777,
        0o600,
        "the file holds passwords"
    );
    assert_eq!(
        ok(&cfg, &["account", "list"]),
        "* alice@example.test  enabled\n  bob@example.test  disabled\n"
    );
    let t = stored(&cfg);
    assert_eq!(t["default_account"].as_str(), Some("alice@example.test"));
    assert_eq!(
        t["accounts"]["alice@example.test"]["auth"]["password"].as_str(),
        Some("s3cret")
    );

    // Refusals are one line, exit 2, and change nothing.
    let before = fs::read(&cfg).unwrap();
    assert!(refused(&cfg, &["account", "add", "alice@example.test"]).contains("exists"));
    assert!(refused(&cfg, &["account", "add", "example.test"]).contains("user@domain"));
    let e = refused(
        &cfg,
        &[
            "account",
            "set",
            "alice@example.test",
            "registration.interval",
            "10",
        ],
    );
    assert_eq!(e, "sip: registration.interval: 10 is outside 30..=86400\n");
    let e = refused(
        &cfg,
        &[
            "account",
            "set",
            "alice@example.test",
            "sip.outbound_proxy",
            "proxy",
        ],
    );
    assert!(
        e.starts_with("sip: sip.outbound_proxy: \"proxy\" is not a URI"),
        "{e}"
    );
    let e = refused(
        &cfg,
        &[
            "account",
            "set",
            "alice@example.test",
            "sip.outbound_proxy",
            "tel:+15551234",
        ],
    );
    assert!(e.contains("not a sip: or sips: URI"), "{e}");
    assert!(
        refused(&cfg, &["account", "set", "alice@example.test", "nope", "1"])
            .contains("no setting named nope")
    );
    assert!(refused(&cfg, &["account", "show", "carol@example.test"]).contains("no account"));
    assert_eq!(fs::read(&cfg).unwrap(), before);

    assert_eq!(
        ok(
            &cfg,
            &[
                "account",
                "set",
                "alice@example.test",
                "registration.interval",
                "600"
            ]
        ),
        "registration.interval: 3600 -> 600\n"
    );
    let show = ok(&cfg, &["account", "show", "alice@example.test"]);
    assert!(show.contains("* registration.interval = 600\n"), "{show}");
    assert!(show.contains("  registration.enabled = true\n"), "{show}");
    assert!(
        show.contains("* auth.password = (set, not shown)\n"),
        "{show}"
    );
    assert!(!show.contains("s3cret"));

    ok(
        &cfg,
        &[
            "account",
            "reset",
            "alice@example.test",
            "registration.interval",
        ],
    );
    assert!(stored(&cfg)["accounts"]["alice@example.test"]
        .get("sip")
        .is_none());

    assert_eq!(
        ok(&cfg, &["account", "default", "bob@example.test"]),
        "default account: bob@example.test\n"
    );
    assert_eq!(
        ok(&cfg, &["account", "delete", "bob@example.test"]),
        "deleted account bob@example.test\nthere is no default account now\n"
    );
    assert_eq!(ok(&cfg, &["account", "default"]), "no default account\n");
    assert_eq!(
        ok(&cfg, &["account", "list"]),
        "  alice@example.test  enabled\n"
    );
}

#[test]
fn global_settings() {
    let dir = TempDir::new("settings");
    let cfg = dir.0.join("config.toml");
    let show = ok(&cfg, &["settings", "show"]);
    assert!(show.contains("  sip.invite_timeout = 90\n"), "{show}");
    assert!(!cfg.exists(), "showing writes nothing");

    assert_eq!(
        ok(&cfg, &["settings", "set", "sip.transport_list", "tls,tcp"]),
        "sip.transport_list: [\"tls\", \"tcp\", \"udp\"] -> [\"tls\", \"tcp\"]\n"
    );
    ok(&cfg, &["settings", "set", "logging.trace_sip", "yes"]);
    let t = stored(&cfg);
    assert_eq!(t["logging"]["trace_sip"].as_bool(), Some(true));
    assert!(
        refused(&cfg, &["settings", "set", "sip.transport_list", "tls,sctp"])
            .contains("\"sctp\" is not one of tls, tcp, udp")
    );
    assert!(refused(&cfg, &["settings", "set", "rtp.port_range", "50001-50100"]).contains("even"));
    assert!(refused(
        &cfg,
        &["settings", "set", "default_account", "x@example.test"]
    )
    .contains("no account x@example.test"));
    ok(&cfg, &["settings", "reset", "sip.transport_list"]);
    assert!(stored(&cfg).get("sip").is_none());
    let show = ok(&cfg, &["settings", "show"]);
    assert!(show.contains("* logging.trace_sip = true\n"), "{show}");
}

#[test]
fn corrupt_file_is_named_with_its_line_and_left_alone() {
    let dir = TempDir::new("corrupt");
    let cfg = dir.0.join("config.toml");
    let text = "[sip]\ninvite_timeout = 90\ntransport_list = [\"tls\"\n";
    fs::write(&cfg, text).unwrap();
    let e = refused(&cfg, &["settings", "show"]);
    assert!(e.starts_with(&format!("sip: {}:3:", cfg.display())), "{e}");
    let e = refused(&cfg, &["account", "add", "alice@example.test"]);
    assert!(e.contains(&cfg.display().to_string()), "{e}");
    assert_eq!(fs::read_to_string(&cfg).unwrap(), text);

    // A well-formed file with a value its setting refuses.
    fs::write(&cfg, "[sip]\ninvite_timeout = 1\n").unwrap();
    let e = refused(&cfg, &["settings", "show"]);
    assert!(e.contains("sip.invite_timeout in "), "{e}");
    assert!(e.contains("1 is outside 5..=600"), "{e}");
}

/// `--password-stdin` keeps the password out of the process list: it is
/// read from standard input, stored, and an empty line is refused.
#[test]
fn a_password_from_standard_input() {
    use std::io::Write;
    let dir = TempDir::new("password-stdin");
    let cfg = dir.0.join("config.toml");
    let run = |input: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sip"))
            .arg("--config")
            .arg(&cfg)
            .args(["account", "add", "carol@example.test", "--password-stdin"])
            .env_remove("SIP_CONFIG")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let empty = run("\n");
    assert_eq!(empty.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&empty.stderr).contains("no password"));
    let o = run("pa ss word\n");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        stored(&cfg)["accounts"]["carol@example.test"]["auth"]["password"].as_str(),
        Some("pa ss word")
    );
    // Both ways at once make no sense (clap's usage error, exit 2).
    let both = sip(
        &cfg,
        &[
            "account",
            "add",
            "dave@example.test",
            "--password",
            "x",
            "--password-stdin",
        ],
    );
    assert_eq!(both.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&both.stderr).contains("cannot be used with"));
}
