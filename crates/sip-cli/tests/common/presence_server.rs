//! Kamailio as a presence server for `sip presence` and `sip mwi`: the
//! config of the SDK's presence tests (crates/sipsimple/tests/kamailio/
//! presence.cfg: presence, presence_xml, presence_mwi over db_text; users
//! alice, bob and carol of `sipsimple.test`, password `secret`; with
//! `WITH_XCAP` also its XCAP server) on free loopback ports, stopped when
//! dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::free_udp_port;

pub const DOMAIN: &str = "sipsimple.test";

pub struct PresenceServer {
    child: Child,
    pub dir: PathBuf,
    pub udp: u16,
    pub tcp: u16,
}

impl PresenceServer {
    /// The XCAP root of [`start_with_xcap`].
    #[allow(dead_code)] // not every test binary uses XCAP
    pub fn xcap_root(&self) -> String {
        format!("http://127.0.0.1:{}/xcap-root", self.tcp)
    }

    /// What `kamcmd COMMAND...` prints on this Kamailio's ctl socket.
    #[allow(dead_code)] // not every test binary asks Kamailio
    pub fn kamcmd(&self, command: &[&str]) -> String {
        let out = Command::new("kamcmd")
            .arg("-s")
            .arg(format!("unix:{}", self.dir.join("ctl.sock").display()))
            .args(command)
            .output()
            .expect("kamcmd is installed with kamailio");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("kamailio.log")).unwrap_or_default()
    }
}

impl Drop for PresenceServer {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("---- Kamailio log ----\n{}", self.log());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn module_path() -> &'static str {
    [
        "/usr/lib/x86_64-linux-gnu/kamailio/modules",
        "/usr/lib/kamailio/modules",
    ]
    .into_iter()
    .find(|p| Path::new(p).join("presence.so").exists())
    .expect("Kamailio's presence modules are installed (scripts/test.sh installs them)")
}

pub fn start() -> PresenceServer {
    start_with(&[])
}

/// [`start`] that is also the XCAP server (RFC 4825) of the users on its
/// TCP port ([`PresenceServer::xcap_root`]): watchers then wait, pending,
/// until the presentity's pres-rules (RFC 5025) there decide.
#[allow(dead_code)] // not every test binary uses XCAP
pub fn start_with_xcap() -> PresenceServer {
    start_with(&["-A", "WITH_XCAP"])
}

/// [`start`] that is also the users' registrar (presence.cfg's
/// `WITH_PUA`), its location table readable with [`PresenceServer::kamcmd`].
#[allow(dead_code)] // not every test binary registers
pub fn start_as_registrar() -> PresenceServer {
    start_with(&["-A", "WITH_PUA"])
}

fn start_with(args: &[&str]) -> PresenceServer {
    let dir = std::env::temp_dir().join(format!(
        "sip-cli-presence-{}-{}",
        std::process::id(),
        free_udp_port()
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
        "pua",
    ] {
        std::fs::copy(format!("{tables}/{t}"), db.join(t))
            .unwrap_or_else(|e| panic!("{tables}/{t} (the kamailio package has it): {e}"));
    }
    let (udp, tcp) = (free_udp_port(), free_udp_port());
    let template = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../sipsimple/tests/kamailio/presence.cfg"),
    )
    .unwrap();
    let cfg = template
        .replace("@UDP_PORT@", &udp.to_string())
        .replace("@TCP_PORT@", &tcp.to_string())
        .replace("@DB@", &db.display().to_string())
        .replace("@CTL@", &dir.join("ctl.sock").display().to_string())
        .replace("@MPATH@", module_path());
    std::fs::write(dir.join("kamailio.cfg"), cfg).unwrap();
    let log = std::fs::File::create(dir.join("kamailio.log")).unwrap();
    let child = Command::new("kamailio")
        .arg("-f")
        .arg(dir.join("kamailio.cfg"))
        .args(args)
        .args(["-DD", "-E", "-m", "64", "-M", "8", "-Y"])
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
    let mut k = PresenceServer {
        child,
        dir,
        udp,
        tcp,
    };
    for _ in 0..100 {
        if std::net::UdpSocket::bind(("127.0.0.1", udp)).is_err() {
            return k;
        }
        if let Ok(Some(status)) = k.child.try_wait() {
            panic!("kamailio exited ({status}):\n{}", k.log());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("kamailio did not bind its ports");
}
