//! `sip share-desktop`, `sip view-desktop` and `sip listen
//! --view-desktop` / `--share-desktop` as real processes on loopback,
//! with a real VNC server (Xvnc on a virtual display, painted one colour)
//! on the sharing side and a real RFB client (vncsnapshot) on the
//! viewing side's printed port: the capture shows the colour. Also a VNC
//! server that refuses (exit 1, saying so) and a listener without the
//! option that declines. Every process started is killed by its PID when
//! the test ends.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use common::vnc::{capture, off_colour, Xvnc};
use common::{free_udp_port, sip, Dir, Proc};

fn config(dir: &Path, user: &str, port: u16) -> PathBuf {
    let path = dir.join(format!("{user}.toml"));
    std::fs::write(
        &path,
        format!(
            "local_ip = \"127.0.0.1\"\ndefault_account = \"{user}@127.0.0.1\"\n\
             [sip]\ntransport_list = [\"udp\"]\nudp_port = {port}\n\
             [accounts.\"{user}@127.0.0.1\"]\nenabled = true\nregistration.enabled = false\n\
             msrp.transport = \"tcp\"\n"
        ),
    )
    .unwrap();
    path
}

/// The address in `view the desktop at ADDR`.
fn viewer_port(line: &str) -> SocketAddr {
    line.rsplit(' ')
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
}

#[test]
fn share_desktop_is_viewed_through_the_port_sip_listen_prints() {
    let xvnc = Xvnc::painted("#0000ff");
    let dir = Dir::new("desktop-share");
    let port = free_udp_port();
    let bob = config(&dir.0, "bob", port);
    let alice = config(&dir.0, "alice", free_udp_port());
    let mut listener = Proc::listen(&bob, &["--view-desktop"]);
    let mut c = sip(&alice);
    c.args(["share-desktop", &format!("sip:bob@127.0.0.1:{port}")])
        .args(["--vnc", &format!("127.0.0.1:{}", xvnc.port)]);
    let mut sharer = Proc::start(c);
    let offer = listener.wait_for("shares a desktop");
    assert!(offer.contains("sip:alice@127.0.0.1"), "{offer}");
    let at = viewer_port(&listener.wait_for("view the desktop at"));
    sharer.wait_for("sharing the desktop");

    let (pixels, w, h) = capture(at, &dir.0);
    assert_eq!((w, h), (320, 240));
    assert_eq!(off_colour(&pixels, [0, 0, 255]), 0, "every pixel blue");

    // The viewer leaving ends the session; the sharer sees it end normally.
    listener.wait_for("the VNC viewer left");
    assert_eq!(sharer.exit_code(20), Some(0), "{:?}", sharer.seen);
    assert!(
        sharer.seen.iter().any(|l| l.contains("remote hung up")),
        "{:?}",
        sharer.seen
    );
    drop(xvnc);
}

#[test]
fn sigterm_ends_a_desktop_sharing_session_with_a_bye() {
    let xvnc = Xvnc::painted("#00ff00");
    let dir = Dir::new("desktop-term");
    let port = free_udp_port();
    let bob = config(&dir.0, "bob", port);
    let alice = config(&dir.0, "alice", free_udp_port());
    let mut listener = Proc::listen(&bob, &["--view-desktop"]);
    let mut c = sip(&alice);
    c.args(["share-desktop", &format!("sip:bob@127.0.0.1:{port}")])
        .args(["--vnc", &format!("127.0.0.1:{}", xvnc.port)]);
    let mut sharer = Proc::start(c);
    listener.wait_for("view the desktop at");
    sharer.wait_for("sharing the desktop");
    // The sharer is told to stop: it hangs up (the listener sees the
    // remote side end the session) and exits cleanly.
    sharer.terminate();
    assert_eq!(sharer.exit_code(10), Some(0), "{:?}", sharer.seen);
    listener.wait_for("remote hung up");
    drop(xvnc);
}

#[test]
fn view_desktop_sees_what_sip_listen_share_desktop_shows() {
    let xvnc = Xvnc::painted("#00ff00");
    let dir = Dir::new("desktop-view");
    let port = free_udp_port();
    let bob = config(&dir.0, "bob", port);
    let alice = config(&dir.0, "alice", free_udp_port());
    let vnc = format!("127.0.0.1:{}", xvnc.port);
    let mut listener = Proc::listen(&bob, &["--share-desktop", &vnc]);
    let mut c = sip(&alice);
    c.args(["view-desktop", &format!("sip:bob@127.0.0.1:{port}")]);
    let mut viewer = Proc::start(c);
    let at = viewer_port(&viewer.wait_for("view the desktop at"));
    listener.wait_for(&format!("asks to view the desktop: sharing {vnc}"));

    let (pixels, _, _) = capture(at, &dir.0);
    assert_eq!(off_colour(&pixels, [0, 255, 0]), 0, "every pixel green");

    viewer.wait_for("the VNC viewer left");
    assert_eq!(viewer.exit_code(20), Some(0), "{:?}", viewer.seen);
    listener.wait_for("the session ended (remote hung up)");
    drop(xvnc);
}

#[test]
fn a_vnc_server_that_refuses_fails_share_desktop_with_status_1() {
    let dir = Dir::new("desktop-refused");
    let port = free_udp_port();
    let bob = config(&dir.0, "bob", port);
    let alice = config(&dir.0, "alice", free_udp_port());
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut listener = Proc::listen(&bob, &["--view-desktop"]);
    let mut c = sip(&alice);
    c.args(["share-desktop", &format!("sip:bob@127.0.0.1:{port}")])
        .args(["--vnc", &format!("127.0.0.1:{closed}")]);
    let mut sharer = Proc::start(c);
    let failed = sharer.wait_for("desktop sharing failed connecting");
    assert!(failed.contains(&closed.to_string()), "{failed}");
    assert_eq!(sharer.exit_code(20), Some(1), "{:?}", sharer.seen);
    listener.wait_for("the session ended (remote hung up)");
}

#[test]
fn sip_listen_without_the_option_declines_a_desktop() {
    let dir = Dir::new("desktop-declined");
    let port = free_udp_port();
    let bob = config(&dir.0, "bob", port);
    let alice = config(&dir.0, "alice", free_udp_port());
    let mut listener = Proc::listen(&bob, &[]);
    let mut c = sip(&alice);
    c.args(["view-desktop", &format!("sip:bob@127.0.0.1:{port}")]);
    let mut viewer = Proc::start(c);
    listener.wait_for("asks to view the desktop: declined");
    viewer.wait_for("the session failed: 488");
    assert_eq!(viewer.exit_code(20), Some(1), "{:?}", viewer.seen);
}
