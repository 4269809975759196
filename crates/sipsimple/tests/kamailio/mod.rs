//! A Kamailio started for one test or benchmark with our config
//! (tests/kamailio/kamailio.cfg) on free loopback ports, and stopped (its
//! whole process group) when dropped. Shared by the interop tests and the
//! registration benchmark (`#[path]`-included there).
#![allow(dead_code)] // each test binary uses a different subset

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rustls::pki_types::CertificateDer;

use crate::common::{self, free_port};

pub const TLS_NAME: &str = "kamailio.test";

pub struct Kamailio {
    child: Child,
    pub dir: PathBuf,
    pub udp: u16,
    pub tcp: u16,
    pub tls: u16,
    pub ca: CertificateDer<'static>,
}

impl Kamailio {
    /// The main process (its children are its workers).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        // SIGTERM to the main process stops its children too.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(self.dir.join("kamailio.log")).unwrap_or_default();
            eprintln!("---- Kamailio log ----\n{log}");
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn module_path() -> String {
    [
        "/usr/lib/x86_64-linux-gnu/kamailio/modules",
        "/usr/lib/kamailio/modules",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).join("tls.so").exists())
    .expect("Kamailio with TLS modules is installed (scripts/test.sh installs it)")
    .to_owned()
}

pub fn start_kamailio() -> Kamailio {
    start_kamailio_with(120)
}

/// Kamailio whose registrar asks for at least `min_expires` seconds.
pub fn start_kamailio_with(min_expires: u32) -> Kamailio {
    let dir = std::env::temp_dir().join(format!(
        "sipsimple-kamailio-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let pki = common::pki(TLS_NAME);
    std::fs::write(dir.join("cert.pem"), &pki.chain_pem).unwrap();
    std::fs::write(dir.join("key.pem"), &pki.key_pem).unwrap();
    let (udp, tcp, tls) = (free_port(), free_port(), free_port());
    let template = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/kamailio/kamailio.cfg"),
    )
    .unwrap();
    let cfg = template
        .replace("@UDP_PORT@", &udp.to_string())
        .replace("@TCP_PORT@", &tcp.to_string())
        .replace("@TLS_PORT@", &tls.to_string())
        .replace("@TLS_CERT@", &dir.join("cert.pem").display().to_string())
        .replace("@TLS_KEY@", &dir.join("key.pem").display().to_string())
        .replace("@CTL@", &dir.join("ctl.sock").display().to_string())
        .replace("@MIN_EXPIRES@", &min_expires.to_string())
        .replace("@MPATH@", &module_path());
    std::fs::write(dir.join("kamailio.cfg"), cfg).unwrap();
    let log = std::fs::File::create(dir.join("kamailio.log")).unwrap();
    let child = Command::new("kamailio")
        .arg("-f")
        .arg(dir.join("kamailio.cfg"))
        .args(["-DD", "-E", "-m", "64", "-M", "8"])
        .arg("-Y")
        .arg(&dir)
        .arg("-w")
        .arg(&dir)
        .arg("-P")
        .arg(dir.join("kamailio.pid"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("kamailio is installed (scripts/test.sh installs it)");
    let mut k = Kamailio {
        child,
        dir,
        udp,
        tcp,
        tls,
        ca: pki.ca,
    };
    // Ready when its sockets are bound.
    for _ in 0..100 {
        let busy = std::net::UdpSocket::bind(("127.0.0.1", udp)).is_err()
            && std::net::TcpListener::bind(("127.0.0.1", tls)).is_err();
        if busy {
            return k;
        }
        if let Ok(Some(status)) = k.child.try_wait() {
            let log = std::fs::read_to_string(k.dir.join("kamailio.log")).unwrap_or_default();
            panic!("kamailio exited ({status}):\n{log}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("kamailio did not bind its ports");
}

/// Kamailio as a presence server (tests/kamailio/presence.cfg: PUBLISH
/// and SUBSCRIBE for presence, presence.winfo and message-summary, users
/// alice and bob with password `secret`), UDP and TCP on free ports, its
/// state in a db_text directory of its own.
pub fn start_presence_server() -> Kamailio {
    start_presence_server_from(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/kamailio/presence.cfg"),
        64,
    )
}

/// [`start_presence_server`] that is also an XCAP server (RFC 4825) on
/// its TCP port, at `http://127.0.0.1:{tcp}/xcap-root` ([`xcap_root`]):
/// watchers are no longer authorized at once; the presentity's
/// pres-rules there (RFC 5025) decide (presence.cfg's `WITH_XCAP`).
pub fn start_presence_server_with_xcap() -> Kamailio {
    start_presence_server_args(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/kamailio/presence.cfg"),
        64,
        &["-A", "WITH_XCAP"],
    )
}

/// [`start_presence_server`] that is also the users' registrar and
/// publishes each registered user's presence itself (presence.cfg's
/// `WITH_PUA`: pua + pua_usrloc, basic open while registered).
pub fn start_presence_server_with_pua() -> Kamailio {
    start_presence_server_args(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/kamailio/presence.cfg"),
        64,
        &["-A", "WITH_PUA"],
    )
}

/// The XCAP root of [`start_presence_server_with_xcap`].
pub fn xcap_root(k: &Kamailio) -> String {
    format!("http://127.0.0.1:{}/xcap-root", k.tcp)
}

/// [`start_presence_server_with_xcap`] also serving XCAP over HTTPS on
/// `tls`, with a certificate for 127.0.0.1 from the test CA `k.ca`
/// (written as PEM to `dir/ca.pem`): [`xcap_root_https`].
pub fn start_presence_server_with_xcaps() -> Kamailio {
    start_presence_server_args(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/kamailio/presence.cfg"),
        64,
        &["-A", "WITH_XCAP", "-A", "WITH_XCAP_TLS"],
    )
}

/// The HTTPS XCAP root of [`start_presence_server_with_xcaps`].
pub fn xcap_root_https(k: &Kamailio) -> String {
    format!("https://127.0.0.1:{}/xcap-root", k.tls)
}

/// Kamailio as a resource list server (RFC 4662, tests/kamailio/rls.cfg)
/// in front of its own presence server, with its own XCAP server on
/// the TCP port at [`xcap_root`] holding the subscribers' rls-services
/// and resource-lists documents (RFC 4826); users alice, bob and carol
/// with password `secret`.
pub fn start_rls_server() -> Kamailio {
    start_presence_server_args(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/kamailio/rls.cfg"),
        64,
        &[],
    )
}

/// [`start_presence_server`] with another config of the same
/// placeholders (the presence benchmark's) and `shm_mib` MiB of shared
/// memory.
pub fn start_presence_server_from(cfg: &std::path::Path, shm_mib: u32) -> Kamailio {
    start_presence_server_args(cfg, shm_mib, &[])
}

fn start_presence_server_args(cfg: &std::path::Path, shm_mib: u32, args: &[&str]) -> Kamailio {
    let dir = std::env::temp_dir().join(format!(
        "sipsimple-presence-{}-{}",
        std::process::id(),
        free_port()
    ));
    let db = dir.join("db");
    std::fs::create_dir_all(&db).unwrap();
    let tables = "/usr/share/kamailio/dbtext/kamailio";
    for t in [
        "version",
        "presentity",
        "active_watchers",
        "watchers",
        "xcap",
        // The resource list server's (rls.cfg), and pua's (rls.cfg and
        // presence.cfg WITH_PUA).
        "rls_presentity",
        "rls_watchers",
        "pua",
    ] {
        std::fs::copy(format!("{tables}/{t}"), db.join(t))
            .unwrap_or_else(|e| panic!("{tables}/{t} (the kamailio package has it): {e}"));
    }
    let (udp, tcp, tls) = (free_port(), free_port(), free_port());
    // Used only by configs that listen on TLS (presence.cfg with
    // WITH_XCAP_TLS): a certificate for 127.0.0.1.
    let pki = common::pki("127.0.0.1");
    std::fs::write(dir.join("cert.pem"), &pki.chain_pem).unwrap();
    std::fs::write(dir.join("key.pem"), &pki.key_pem).unwrap();
    std::fs::write(dir.join("ca.pem"), &pki.chain_pem).unwrap();
    let template = std::fs::read_to_string(cfg).unwrap();
    let cfg = template
        .replace("@UDP_PORT@", &udp.to_string())
        .replace("@TCP_PORT@", &tcp.to_string())
        .replace("@TLS_PORT@", &tls.to_string())
        .replace("@TLS_CERT@", &dir.join("cert.pem").display().to_string())
        .replace("@TLS_KEY@", &dir.join("key.pem").display().to_string())
        .replace("@DB@", &db.display().to_string())
        .replace("@CTL@", &dir.join("ctl.sock").display().to_string())
        .replace("@MPATH@", &module_path());
    std::fs::write(dir.join("kamailio.cfg"), cfg).unwrap();
    let log = std::fs::File::create(dir.join("kamailio.log")).unwrap();
    let child = Command::new("kamailio")
        .arg("-f")
        .arg(dir.join("kamailio.cfg"))
        .args(["-DD", "-E", "-M", "8"])
        .args(["-m", &shm_mib.to_string()])
        .args(args)
        .arg("-Y")
        .arg(&dir)
        .arg("-w")
        .arg(&dir)
        .arg("-P")
        .arg(dir.join("kamailio.pid"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("kamailio is installed (scripts/test.sh installs it)");
    let mut k = Kamailio {
        child,
        dir,
        udp,
        tcp,
        tls,
        ca: pki.ca,
    };
    for _ in 0..100 {
        let busy = std::net::UdpSocket::bind(("127.0.0.1", udp)).is_err()
            && std::net::TcpListener::bind(("127.0.0.1", tcp)).is_err();
        if busy {
            return k;
        }
        if let Ok(Some(status)) = k.child.try_wait() {
            let log = std::fs::read_to_string(k.dir.join("kamailio.log")).unwrap_or_default();
            panic!("kamailio exited ({status}):\n{log}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("kamailio did not bind its ports");
}

/// The log so far (for assertion messages).
pub fn log(k: &Kamailio) -> String {
    std::fs::read_to_string(k.dir.join("kamailio.log")).unwrap_or_default()
}

/// What `kamcmd COMMAND...` prints on this Kamailio's ctl socket.
pub fn kamcmd(k: &Kamailio, command: &[&str]) -> String {
    let out = Command::new("kamcmd")
        .arg("-s")
        .arg(format!("unix:{}", k.dir.join("ctl.sock").display()))
        .args(command)
        .output()
        .expect("kamcmd is installed with kamailio");
    assert!(
        out.status.success(),
        "kamcmd: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Kamailio's location table, as `kamcmd ul.dump` prints it (small
/// tables only: kamcmd refuses a reply over its buffer).
pub fn location_table(k: &Kamailio) -> String {
    kamcmd(k, &["ul.dump"])
}

/// How many contacts the location table holds (usrloc's statistics).
pub fn contact_count(k: &Kamailio) -> usize {
    let out = kamcmd(k, &["stats.get_statistics", "usrloc:"]);
    out.lines()
        .find(|l| l.contains("location_contacts"))
        .and_then(|l| l.split('=').nth(1))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no usrloc:location_contacts statistic in {out:?}"))
}

/// A Kamailio that is only an MSRP relay (RFC 4976; its `msrp` module),
/// with msrp-proto's relay config: digest AUTH for any user with
/// `password`, on a free loopback TCP port.
pub struct MsrpRelay {
    child: Child,
    pub dir: PathBuf,
    pub port: u16,
    /// MSRP over TLS, with a certificate for 127.0.0.1 from `ca_pem`.
    pub tls_port: Option<u16>,
    /// The CA (PEM) of the TLS certificate, for `tls.ca_list`.
    pub ca_pem: Option<PathBuf>,
}

impl MsrpRelay {
    /// CPU seconds (user and system) the relay's processes used so far:
    /// Kamailio's main process and the workers it forked.
    pub fn cpu_seconds(&self) -> f64 {
        let main = self.child.id();
        let tick = 100.0; // USER_HZ on Linux
        let mut ticks = 0u64;
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // After the command name in parentheses: state, ppid, ...;
            // utime and stime are the 12th and 13th fields after it.
            let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
                continue;
            };
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let pid: u32 = entry
                .file_name()
                .to_str()
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            let ppid: u32 = fields.get(1).and_then(|p| p.parse().ok()).unwrap_or(0);
            if pid == main || ppid == main {
                let t = |i: usize| {
                    fields
                        .get(i)
                        .and_then(|v| v.parse::<u64>().ok())
                        .unwrap_or(0)
                };
                ticks += t(11) + t(12);
            }
        }
        ticks as f64 / tick
    }
}

impl Drop for MsrpRelay {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(self.dir.join("kamailio.log")).unwrap_or_default();
            eprintln!("---- MSRP relay log ----\n{log}");
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn start_msrp_relay(password: &str) -> MsrpRelay {
    start_msrp_relay_with(password, false)
}

/// [`start_msrp_relay`], also on TLS when `tls` (a certificate for the
/// IP address 127.0.0.1, signed by a CA made for the test).
pub fn start_msrp_relay_with(password: &str, tls: bool) -> MsrpRelay {
    start_msrp_relay_for(password, tls.then_some("127.0.0.1"))
}

/// [`start_msrp_relay`], also on TLS with a certificate for `tls_name`
/// when given.
pub fn start_msrp_relay_for(password: &str, tls_name: Option<&str>) -> MsrpRelay {
    start_msrp_relay_defining(password, tls_name, &[])
}

/// [`start_msrp_relay`] granting bindings of `secs` seconds (RFC 4976
/// §5.1: the AUTH 200's Expires) and dropping expired ones every second.
pub fn start_msrp_relay_expiring(password: &str, secs: u32) -> MsrpRelay {
    let defines = [
        "MSRP_MIN_EXPIRES=1".to_owned(),
        format!("MSRP_MAX_EXPIRES={secs}"),
        "MSRP_TIMER=1".to_owned(),
    ];
    start_msrp_relay_defining(password, None, &defines)
}

fn start_msrp_relay_defining(
    password: &str,
    tls_name: Option<&str>,
    defines: &[String],
) -> MsrpRelay {
    let tls = tls_name.is_some();
    let dir = std::env::temp_dir().join(format!(
        "sipsimple-msrp-relay-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let cfg = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../msrp-proto/tests/kamailio/msrp-relay.cfg");
    let log = std::fs::File::create(dir.join("kamailio.log")).unwrap();
    let mut cmd = Command::new("kamailio");
    let (mut tls_port, mut ca_pem) = (None, None);
    if tls {
        let pki = common::pki(tls_name.unwrap_or("127.0.0.1"));
        std::fs::write(dir.join("cert.pem"), &pki.chain_pem).unwrap();
        std::fs::write(dir.join("key.pem"), &pki.key_pem).unwrap();
        let ca = dir.join("ca.pem");
        std::fs::write(&ca, &pki.chain_pem).unwrap();
        let p = free_port();
        cmd.arg("-A")
            .arg(format!("MSRP_TLS_LISTEN=tls:127.0.0.1:{p}"))
            .arg("-A")
            .arg(format!(
                "MSRP_TLS_CERT=\"{}\"",
                dir.join("cert.pem").display()
            ))
            .arg("-A")
            .arg(format!(
                "MSRP_TLS_KEY=\"{}\"",
                dir.join("key.pem").display()
            ));
        tls_port = Some(p);
        ca_pem = Some(ca);
    }
    let child = cmd
        .arg("-f")
        .arg(&cfg)
        .args(["-DD", "-E", "-m", "32", "-M", "8"])
        .arg("-Y")
        .arg(&dir)
        .arg("-w")
        .arg(&dir)
        .arg("-P")
        .arg(dir.join("kamailio.pid"))
        .arg("-A")
        .arg(format!("MSRP_LISTEN=tcp:127.0.0.1:{port}"))
        .arg("-A")
        // The module has one Use-Path address: with TLS, the TLS one (it
        // writes msrps: for connections that came over TLS).
        .arg(format!(
            "MSRP_USE_PATH=\"127.0.0.1:{}\"",
            tls_port.unwrap_or(port)
        ))
        .arg("-A")
        .arg(format!("MSRP_PASS=\"{password}\""))
        .args(defines.iter().flat_map(|d| ["-A", d.as_str()]))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("kamailio is installed (scripts/test.sh installs it)");
    let mut relay = MsrpRelay {
        child,
        dir,
        port,
        tls_port,
        ca_pem,
    };
    for _ in 0..100 {
        let tls_up =
            tls_port.is_none_or(|p| std::net::TcpStream::connect(("127.0.0.1", p)).is_ok());
        if tls_up && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return relay;
        }
        if let Ok(Some(status)) = relay.child.try_wait() {
            let log = std::fs::read_to_string(relay.dir.join("kamailio.log")).unwrap_or_default();
            panic!("the MSRP relay exited ({status}):\n{log}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the MSRP relay did not listen");
}
