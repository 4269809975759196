//! `sip register`: what it prints while an account fails to register with
//! a registrar that is down, and how Ctrl-C stops it; against Kamailio as
//! registrar, SIGTERM unregisters before it exits.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

mod common;
use common::presence_server::{self, DOMAIN};

/// `sip register` with `cfg`: the process, its PID and its output. A
/// backstop kills it after 30 s so a hung child never hangs the suite.
fn register(
    cfg: &std::path::Path,
) -> (
    std::process::Child,
    u32,
    BufReader<std::process::ChildStdout>,
) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sip"))
        .arg("--config")
        .arg(cfg)
        .arg("register")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(30));
        let _ = Command::new("kill")
            .arg("-KILL")
            .arg(pid.to_string())
            .status();
    });
    let reader = BufReader::new(child.stdout.take().unwrap());
    (child, pid, reader)
}

#[test]
fn register_reports_failures_and_stops_on_ctrl_c() {
    let dir = std::env::temp_dir().join(format!("sip-cli-register-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("config.toml");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        &cfg,
        format!(
            "local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = [\"tcp\"]\n\
             [accounts.\"alice@example.test\"]\nenabled = true\n\
             sip.outbound_proxy = \"sip:127.0.0.1:{closed};transport=tcp\"\n"
        ),
    )
    .unwrap();
    let (mut child, pid, mut reader) = register(&cfg);
    let mut lines = Vec::new();
    loop {
        let mut l = String::new();
        if reader.read_line(&mut l).unwrap() == 0 {
            break;
        }
        let failed = l.contains("registration failed");
        lines.push(l);
        if failed {
            break;
        }
    }
    assert_eq!(
        lines,
        [
            "alice@example.test: registering\n",
            format!(
                "alice@example.test: registration failed: no registrar answered: \
                 connection refused by 127.0.0.1:{closed} over TCP; retrying in 5 s\n"
            )
            .as_str()
        ]
    );
    Command::new("kill")
        .arg("-INT")
        .arg(pid.to_string())
        .status()
        .unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut reader, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    assert_eq!(rest, "stopping\nstopped\n");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn register_without_an_enabled_account_says_so() {
    let dir = std::env::temp_dir().join(format!("sip-cli-register-none-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("config.toml");
    std::fs::write(&cfg, "local_ip = \"127.0.0.1\"\n").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_sip"))
        .arg("--config")
        .arg(&cfg)
        .args(["register"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "sip: no enabled account (sip account add user@domain)\n"
    );
    let o = Command::new(env!("CARGO_BIN_EXE_sip"))
        .arg("--config")
        .arg(&cfg)
        .args(["register", "bob@example.test"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no account bob@example.test"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Against a real registrar (Kamailio, digest): `sip register` shows the
/// binding, Kamailio's location table holds alice's contact, and SIGTERM
/// removes it (REGISTER with expires 0) before the process exits 0.
#[test]
fn sigterm_unregisters_from_the_registrar_before_exiting() {
    let k = presence_server::start_as_registrar();
    let dir = common::Dir::new("register-sigterm");
    let cfg = dir.0.join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = [\"udp\"]\nudp_port = 0\n\
             [accounts.\"alice@{DOMAIN}\"]\nenabled = true\nauth.password = \"secret\"\n\
             sip.outbound_proxy = \"sip:127.0.0.1:{}\"\n",
            k.udp
        ),
    )
    .unwrap();
    let (mut child, pid, mut reader) = register(&cfg);
    let mut lines = Vec::new();
    loop {
        let mut l = String::new();
        assert!(reader.read_line(&mut l).unwrap() > 0, "{lines:?}");
        let done = l.contains(": registered ");
        lines.push(l);
        if done {
            break;
        }
    }
    // (usrloc keys the table by user: no use_domain in this config.)
    let contact = |dump: &str| dump.contains("AoR: alice");
    assert!(
        contact(&k.kamcmd(&["ul.dump"])),
        "{}",
        k.kamcmd(&["ul.dump"])
    );
    Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut reader, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    // The unregister is challenged like the REGISTER was, then 200.
    assert!(rest.starts_with("stopping\n"), "{rest}");
    assert!(
        rest.ends_with(&format!(
            "alice@{DOMAIN}: 200 OK from UDP 127.0.0.1:{}\nalice@{DOMAIN}: unregistered\nstopped\n",
            k.udp
        )),
        "{rest}"
    );
    let dump = k.kamcmd(&["ul.dump"]);
    assert!(!contact(&dump), "the binding is still there:\n{dump}");
}
