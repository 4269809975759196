//! Desktop sharing (RFB over MSRP) between two applications in one
//! process on loopback: the internal handlers carry bytes in order both
//! ways, a large burst included, over TCP and TLS; a VNC server that
//! refuses the connection, or never answers it within connect_timeout,
//! fails the handler and the stream, and the session still ends
//! cleanly; the viewer port takes one viewer and refuses a second; and
//! the real thing: a virtual X display
//! with a VNC server (TigerVNC's Xvnc) painted one colour (xsetroot),
//! shared by alice, viewed through bob's viewer port by a real RFB client
//! (vncsnapshot) whose capture must show that colour.
//!
//! The tools are Debian packages that scripts/test.sh installs; a test
//! that needs one and does not find it fails and says which.

mod common;
mod kamailio;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::{account_app_with, contact_uri, incoming_session, until, TempDir};
use sipsimple::application::SipApplication;
use sipsimple::notification::{Filter, NotificationData, Subscription};
use sipsimple::session::Session;
use sipsimple::streams::msrp::{
    DesktopSharingHandler, DesktopSharingStream, ExternalVNCServerHandler,
    ExternalVNCViewerHandler, HandlerKind, InternalVNCServerHandler, InternalVNCViewerHandler,
};
use sipsimple::streams::MediaStream;
use tokio::time::timeout;

struct Peers {
    alice: SipApplication,
    bob: SipApplication,
    alice_all: Subscription,
    bob_all: Subscription,
}

async fn peers(transport: &str) -> Peers {
    let account = format!("msrp.transport = \"{transport}\"\n");
    peers_with(&account, &account).await
}

async fn peers_with(alice_account: &str, bob_account: &str) -> Peers {
    let alice = account_app_with("alice", "", alice_account).await;
    let bob = account_app_with("bob", "", bob_account).await;
    let alice_all = alice.notification_center().subscribe(Filter::all());
    let bob_all = bob.notification_center().subscribe(Filter::all());
    Peers {
        alice,
        bob,
        alice_all,
        bob_all,
    }
}

fn settings(app: &SipApplication) -> sipsimple::streams::StreamSettings {
    let account = app.account_manager().accounts().remove(0);
    app.session_manager()
        .stream_settings(account, "127.0.0.1".parse().unwrap())
        .unwrap()
}

/// Alice offers a stream with `handler`; bob takes the stream his
/// registry made, gives it `theirs` and accepts.
async fn share(
    p: &mut Peers,
    handler: Arc<dyn DesktopSharingHandler>,
    theirs: Arc<dyn DesktopSharingHandler>,
) -> (
    Session,
    Session,
    Arc<DesktopSharingStream>,
    Arc<DesktopSharingStream>,
) {
    let ours = Arc::new(DesktopSharingStream::new(&settings(&p.alice), handler));
    let account = p.alice.account_manager().accounts().remove(0);
    let caller = p
        .alice
        .session_manager()
        .connect(
            &account,
            &contact_uri(&p.bob),
            vec![ours.clone() as Arc<dyn MediaStream>],
        )
        .await
        .unwrap();
    let callee = incoming_session(&p.bob, &mut p.bob_all).await;
    let proposed = callee.proposed_streams().unwrap();
    assert_eq!(
        proposed.iter().map(|s| s.stream_type()).collect::<Vec<_>>(),
        ["desktop-sharing"]
    );
    let stream = proposed[0]
        .clone()
        .downcast::<DesktopSharingStream>()
        .unwrap();
    assert_eq!(stream.kind(), theirs.kind(), "the opposite of alice's");
    assert!(stream.handler().is_none());
    stream.set_handler(theirs).unwrap();
    callee.accept(proposed).await.unwrap();
    (caller, callee, ours, stream)
}

/// Bytes 0, 1, 2, ... of a pattern that shows reordering and loss.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3] ^ seed)
        .collect()
}

async fn collect(rx: &mut tokio::sync::mpsc::Receiver<bytes::Bytes>, len: usize) -> Vec<u8> {
    let mut got = Vec::with_capacity(len);
    while got.len() < len {
        let piece = timeout(Duration::from_secs(30), rx.recv())
            .await
            .unwrap_or_else(|_| panic!("only {} of {len} bytes came", got.len()))
            .expect("stream alive");
        got.extend_from_slice(&piece);
    }
    got
}

async fn internal_both_ways(transport: &str) {
    let mut p = peers(transport).await;
    internal_between(&mut p, transport).await;
}

async fn internal_between(p: &mut Peers, transport: &str) {
    let server = Arc::new(InternalVNCServerHandler::new());
    let viewer = Arc::new(InternalVNCViewerHandler::new());
    let mut at_alice = server.receiver();
    let mut at_bob = viewer.receiver();
    // Sent before the stream exists: kept and sent first, in order.
    server.send(&b"RFB 003.008\n"[..]).await.unwrap();
    let (caller, _callee, ours, theirs) = share(p, server.clone(), viewer.clone()).await;

    let m = ours.get_local_media(None).unwrap();
    assert_eq!(
        (m.media.as_str(), m.protocol.as_str()),
        (
            "application",
            if transport == "tls" {
                "TCP/TLS/MSRP"
            } else {
                "TCP/MSRP"
            }
        )
    );
    assert_eq!(m.attribute("accept-types"), Some("application/x-rfb"));
    assert_eq!(m.attribute("rfbsetup"), Some("passive"));
    assert!(m.attribute("setup").is_some() && m.attribute("path").is_some());
    let bob_side = theirs.get_local_media(None).unwrap();
    assert_eq!(bob_side.attribute("rfbsetup"), Some("active"));
    assert_eq!(theirs.kind(), HandlerKind::Active);

    assert_eq!(collect(&mut at_bob, 12).await, b"RFB 003.008\n");
    // The notification of the same bytes, from the handler.
    let got = until(&mut p.bob_all, "DesktopSharingStreamGotData").await;
    let n = got.last().unwrap();
    assert_eq!(Some(n.sender), theirs.handler_sender());
    assert!(
        matches!(&n.data, NotificationData::DesktopSharingStreamGotData { data } if &data[..] == b"RFB 003.008\n")
    );

    // A burst each way at once, in pieces of every size: 6 MiB from the
    // server side, 2 MiB from the viewer side.
    let down = pattern(6 << 20, 0x5a);
    let up = pattern(2 << 20, 0xa5);
    let (d, u) = (down.clone(), up.clone());
    let (s, v) = (server.clone(), viewer.clone());
    let sending_down = tokio::spawn(async move {
        let mut at = 0;
        let mut size = 1;
        while at < d.len() {
            let end = (at + size).min(d.len());
            s.send(d[at..end].to_vec()).await.unwrap();
            at = end;
            size = size * 7 % 100_003 + 1;
        }
    });
    let sending_up = tokio::spawn(async move {
        for piece in u.chunks(3000) {
            v.send(piece.to_vec()).await.unwrap();
        }
    });
    let (got_down, got_up) = tokio::join!(
        collect(&mut at_bob, down.len()),
        collect(&mut at_alice, up.len())
    );
    sending_down.await.unwrap();
    sending_up.await.unwrap();
    assert!(got_down == down, "the server's bytes arrived in order");
    assert!(got_up == up, "the viewer's bytes arrived in order");

    caller.end().await.unwrap();
    let seen = until(&mut p.bob_all, "SIPSessionDidEnd").await;
    assert!(
        !seen.iter().any(|n| n.name() == "MediaStreamDidFail"),
        "{:?}",
        common::names(&seen)
    );
}

#[tokio::test]
async fn internal_handlers_carry_bytes_in_order_both_ways() {
    internal_both_ways("tcp").await;
}

#[tokio::test]
async fn internal_handlers_carry_bytes_in_order_both_ways_over_tls() {
    internal_both_ways("tls").await;
}

const RELAY_PASSWORD: &str = "relay-secret";

fn relay_account(port: u16, for_outbound: bool) -> String {
    format!(
        "msrp.transport = \"tcp\"\nmsrp.connection_model = \"relay\"\n\
         auth.password = \"{RELAY_PASSWORD}\"\n\
         nat_traversal.msrp_relay = \"msrp://127.0.0.1:{port};tcp\"\n\
         nat_traversal.use_msrp_relay_for_outbound = {for_outbound}\n"
    )
}

/// Through Kamailio's MSRP relay (RFC 4976), both parties on it: the
/// 8 KiB messages fit its read buffer, and the bursts arrive in order.
#[tokio::test]
async fn internal_handlers_through_the_kamailio_relay() {
    let relay = kamailio::start_msrp_relay(RELAY_PASSWORD);
    let mut p = peers_with(
        &relay_account(relay.port, true),
        &relay_account(relay.port, false),
    )
    .await;
    internal_between(&mut p, "tcp").await;
}

#[tokio::test]
async fn an_incoming_stream_takes_only_a_handler_of_its_kind() {
    let mut p = peers("tcp").await;
    let viewer = Arc::new(ExternalVNCViewerHandler::new("127.0.0.1:0".parse().unwrap()).unwrap());
    let ours = Arc::new(DesktopSharingStream::new(&settings(&p.alice), viewer));
    let account = p.alice.account_manager().accounts().remove(0);
    let caller = p
        .alice
        .session_manager()
        .connect(
            &account,
            &contact_uri(&p.bob),
            vec![ours.clone() as Arc<dyn MediaStream>],
        )
        .await
        .unwrap();
    let callee = incoming_session(&p.bob, &mut p.bob_all).await;
    let theirs = callee.proposed_streams().unwrap()[0]
        .clone()
        .downcast::<DesktopSharingStream>()
        .unwrap();
    // Alice views: bob must be the server side.
    assert_eq!(theirs.kind(), HandlerKind::Passive);
    let wrong = theirs.set_handler(Arc::new(InternalVNCViewerHandler::new()));
    assert!(wrong.is_err(), "{wrong:?}");
    callee.reject(488, None).await.unwrap();
    until(&mut p.alice_all, "SIPSessionDidFail").await;
    drop(caller);
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test]
async fn a_refused_vnc_server_fails_the_handler_and_the_stream_ends_cleanly() {
    let mut p = peers("tcp").await;
    let port = closed_port();
    let server = Arc::new(ExternalVNCServerHandler::with_default_timeout(format!(
        "127.0.0.1:{port}"
    )));
    let viewer = Arc::new(ExternalVNCViewerHandler::new("127.0.0.1:0".parse().unwrap()).unwrap());
    let (caller, _callee, ours, _theirs) = share(&mut p, server, viewer).await;
    let seen = until(&mut p.alice_all, "DesktopSharingHandlerDidFail").await;
    let failed = seen.last().unwrap();
    assert_eq!(Some(failed.sender), ours.handler_sender());
    match &failed.data {
        NotificationData::DesktopSharingHandlerDidFail { context, reason } => {
            assert_eq!(context, "connecting");
            assert!(reason.contains(&port.to_string()), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    the_stream_fails_and_the_session_ends_cleanly(&mut p, &caller, &ours).await;
}

/// After alice's handler failed: her stream fails, and the session (its
/// only stream) ends by itself (BYE), as python-sipsimple's does;
/// nothing else fails on either side.
async fn the_stream_fails_and_the_session_ends_cleanly(
    p: &mut Peers,
    caller: &Session,
    ours: &DesktopSharingStream,
) {
    let seen = until(&mut p.alice_all, "MediaStreamDidFail").await;
    assert_eq!(
        seen.last().unwrap().sender,
        ours.base().context().unwrap().sender
    );
    // The session ends its streams after it says it ended.
    let mut alice_end = until(&mut p.alice_all, "SIPSessionDidEnd").await;
    assert!(matches!(
        alice_end.last().unwrap().data,
        NotificationData::SIPSessionDidEnd {
            originator: "local",
            ..
        }
    ));
    assert_eq!(caller.state(), sipsimple::session::SessionState::Terminated);
    alice_end.extend(until(&mut p.alice_all, "MediaStreamDidEnd").await);
    let names = common::names(&alice_end);
    assert!(!names.contains(&"MediaStreamDidFail"), "{names:?}");
    let bob_end = until(&mut p.bob_all, "SIPSessionDidEnd").await;
    assert!(
        !bob_end.iter().any(|n| n.name() == "MediaStreamDidFail"),
        "{:?}",
        common::names(&bob_end)
    );
}

/// A VNC server that never answers the TCP connect: a listening socket
/// with a backlog of 0 whose one place a connection nobody accepts
/// holds, so that the kernel drops the handler's SYNs. The handler's
/// connect_timeout runs out: DesktopSharingHandlerDidFail (`connecting`,
/// a reason that says it timed out), and the stream ends as a refused
/// one does.
#[tokio::test]
async fn a_vnc_server_that_never_answers_fails_the_handler_when_connect_timeout_runs_out() {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let silent = socket.listen(0).unwrap();
    let addr = silent.local_addr().unwrap();
    let _holds_the_queue = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut p = peers("tcp").await;
    let server = Arc::new(ExternalVNCServerHandler::new(
        addr.to_string(),
        Duration::from_secs(1),
    ));
    let viewer = Arc::new(ExternalVNCViewerHandler::new("127.0.0.1:0".parse().unwrap()).unwrap());
    let (caller, _callee, ours, _theirs) = share(&mut p, server, viewer).await;
    let seen = until(&mut p.alice_all, "DesktopSharingHandlerDidFail").await;
    let failed = seen.last().unwrap();
    assert_eq!(Some(failed.sender), ours.handler_sender());
    match &failed.data {
        NotificationData::DesktopSharingHandlerDidFail { context, reason } => {
            assert_eq!(context, "connecting");
            assert!(reason.contains("timed out"), "{reason}");
            assert!(reason.contains(&addr.to_string()), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    the_stream_fails_and_the_session_ends_cleanly(&mut p, &caller, &ours).await;
    drop(silent);
}

/// ExternalVNCViewerHandler is for one viewer (the spec): a second
/// viewer connecting while the first is connected is refused (its
/// connect fails, or the connection closes without a byte), and the
/// first goes on carrying bytes both ways.
#[tokio::test]
async fn the_viewer_port_refuses_a_second_viewer_and_the_first_goes_on() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut p = peers("tcp").await;
    let server = Arc::new(InternalVNCServerHandler::new());
    let mut from_viewer = server.receiver();
    let viewer = Arc::new(ExternalVNCViewerHandler::new("127.0.0.1:0".parse().unwrap()).unwrap());
    let port = viewer.address();
    let (caller, _callee, _ours, _theirs) = share(&mut p, server.clone(), viewer).await;
    let mut first = tokio::net::TcpStream::connect(port).await.unwrap();
    // Bytes both ways: the handler took this one.
    let greeting = b"RFB 003.008\n";
    server.send(greeting.to_vec()).await.unwrap();
    let mut got = [0u8; 12];
    timeout(Duration::from_secs(30), first.read_exact(&mut got))
        .await
        .expect("the greeting within 30 s")
        .unwrap();
    assert_eq!(&got, greeting);
    first.write_all(greeting).await.unwrap();
    assert_eq!(collect(&mut from_viewer, 12).await, greeting);

    match tokio::net::TcpStream::connect(port).await {
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused, "{e}"),
        Ok(mut second) => {
            let mut byte = [0u8; 1];
            let read = timeout(Duration::from_secs(30), second.read(&mut byte))
                .await
                .expect("the second viewer is closed, not kept waiting");
            assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
        }
    }

    let down = pattern(200_000, 0x11);
    let up = pattern(150_000, 0x22);
    server.send(down.clone()).await.unwrap();
    let mut got = vec![0u8; down.len()];
    timeout(Duration::from_secs(30), first.read_exact(&mut got))
        .await
        .expect("the bytes within 30 s")
        .unwrap();
    assert!(got == down);
    first.write_all(&up).await.unwrap();
    assert!(collect(&mut from_viewer, up.len()).await == up);
    caller.end().await.unwrap();
    until(&mut p.bob_all, "SIPSessionDidEnd").await;
}

/// Back-pressure end to end: a "VNC server" that writes as fast as it
/// can, shared by alice, while bob's viewer port has a viewer that does
/// not read. The server must stall (every buffer on the way is bounded,
/// the kernel's socket buffers included) instead of the applications'
/// memory growing; once the viewer reads, every byte arrives in order.
#[tokio::test]
async fn a_viewer_that_does_not_read_stalls_the_vnc_server() {
    let mut p = peers("tcp").await;
    stall_between(&mut p, 128 << 20, 48 << 20).await;
}

#[tokio::test]
async fn a_viewer_that_does_not_read_stalls_the_vnc_server_through_the_relay() {
    let relay = kamailio::start_msrp_relay(RELAY_PASSWORD);
    let mut p = peers_with(
        &relay_account(relay.port, true),
        &relay_account(relay.port, false),
    )
    .await;
    // Held at about 8 MB here: a smaller total shows it, and keeps a
    // loaded machine's relay from being the test.
    stall_between(&mut p, 32 << 20, 16 << 20).await;
}

/// `total` bytes from a VNC server to a viewer that reads nothing for a
/// while: the server must be held below `held` bytes written.
async fn stall_between(p: &mut Peers, total: usize, held: usize) {
    // Word i is i: cheap to make and check, and shows any reordering.
    let data: Vec<u8> = (0..(total / 4) as u32).flat_map(u32::to_le_bytes).collect();
    let data = Arc::new(data);
    let d = data.clone();
    let vnc = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let vnc_addr = vnc.local_addr().unwrap();
    let written = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let w = written.clone();
    // The server stays connected until the end, as a VNC server does.
    let (done, stay) = tokio::sync::oneshot::channel::<()>();
    let producer = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        let (mut s, _) = vnc.accept().await.unwrap();
        for piece in d.chunks(64 * 1024) {
            if s.write_all(piece).await.is_err() {
                return;
            }
            w.fetch_add(piece.len(), std::sync::atomic::Ordering::SeqCst);
        }
        let _ = stay.await;
    });
    let server = Arc::new(ExternalVNCServerHandler::with_default_timeout(
        vnc_addr.to_string(),
    ));
    let viewer = Arc::new(ExternalVNCViewerHandler::new("127.0.0.1:0".parse().unwrap()).unwrap());
    let port = viewer.address();
    let (caller, _callee, _ours, _theirs) = share(p, server, viewer).await;
    let mut idle_viewer = tokio::net::TcpStream::connect(port).await.unwrap();

    // Let it run into the limits, then see that it stays there.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stalled = written.load(std::sync::atomic::Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let later = written.load(std::sync::atomic::Ordering::SeqCst);
    eprintln!("held at {stalled} then {later} bytes");
    assert!(
        stalled < held && later - stalled < 1 << 20,
        "the server wrote {stalled} bytes, then {later}: nothing held it back"
    );

    use tokio::io::AsyncReadExt;
    let mut got = vec![0u8; total];
    let mut have = 0;
    while have < total {
        let n = timeout(Duration::from_secs(30), idle_viewer.read(&mut got[have..]))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "stuck after {have} of {total} bytes; the server wrote {}; \
                     loopback sockets now:\n{}",
                    written.load(std::sync::atomic::Ordering::SeqCst),
                    loopback_sockets()
                )
            })
            .unwrap();
        assert!(n > 0, "the viewer port closed after {have} bytes");
        have += n;
    }
    assert!(got == *data, "in order, none lost");
    let _ = done.send(());
    producer.await.unwrap();
    caller.end().await.unwrap();
    until(&mut p.bob_all, "SIPSessionDidEnd").await;
}

/// Every loopback TCP socket with its queues (`ss`), for a stall: which
/// socket holds the bytes that did not arrive.
fn loopback_sockets() -> String {
    match std::process::Command::new("ss")
        .args(["-tnpi", "state", "all", "src", "127.0.0.1"])
        .output()
    {
        Ok(out) => String::from_utf8_lossy(&out.stdout).into_owned(),
        Err(e) => format!("(ss: {e})"),
    }
}

/// A VNC server that sends its last bytes and closes: the handler fails
/// (`reading`), and those bytes still reach the viewer, whole.
#[tokio::test]
async fn the_last_bytes_of_a_vnc_server_that_closes_still_arrive() {
    const LAST: usize = 300_000;
    let vnc = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let vnc_addr = vnc.local_addr().unwrap();
    let data = pattern(LAST, 0x42);
    let d = data.clone();
    let server_side = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        let (mut s, _) = vnc.accept().await.unwrap();
        s.write_all(&d).await.unwrap();
        // Dropped: the connection closes right after the bytes.
    });
    let mut p = peers("tcp").await;
    let server = Arc::new(ExternalVNCServerHandler::with_default_timeout(
        vnc_addr.to_string(),
    ));
    let viewer = Arc::new(ExternalVNCViewerHandler::new("127.0.0.1:0".parse().unwrap()).unwrap());
    let port = viewer.address();
    let (caller, _callee, _ours, _theirs) = share(&mut p, server, viewer).await;
    let mut viewing = tokio::net::TcpStream::connect(port).await.unwrap();
    server_side.await.unwrap();
    let seen = until(&mut p.alice_all, "DesktopSharingHandlerDidFail").await;
    assert!(
        matches!(&seen.last().unwrap().data, NotificationData::DesktopSharingHandlerDidFail { context, .. } if context == "reading")
    );
    use tokio::io::AsyncReadExt;
    let mut got = vec![0u8; LAST];
    timeout(Duration::from_secs(20), viewing.read_exact(&mut got))
        .await
        .expect("the last bytes within 20 s")
        .unwrap();
    assert!(got == data);
    // Its only stream failed: the session ends by itself.
    until(&mut p.bob_all, "SIPSessionDidEnd").await;
    assert_ne!(caller.state(), sipsimple::session::SessionState::Connected);
}

/// A program the proof needs, or a failure that says how to get it.
fn tool(name: &str, package: &str) -> String {
    for dir in ["/usr/bin", "/usr/local/bin", "/bin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p.display().to_string();
        }
    }
    panic!(
        "{name} is missing: apt-get install {package} (scripts/test.sh installs it); \
         the desktop-sharing proof needs a real VNC server and client"
    );
}

/// An Xvnc on a display of its own, killed (by PID) when dropped.
struct Xvnc {
    child: Child,
    display: u32,
    port: u16,
}

impl Drop for Xvnc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Xvnc {
    fn start() -> Xvnc {
        let xvnc = tool("Xvnc", "tigervnc-standalone-server");
        let base = 40 + std::process::id() % 400;
        for display in base..base + 40 {
            let taken = Path::new(&format!("/tmp/.X{display}-lock")).exists()
                || Path::new(&format!("/tmp/.X11-unix/X{display}")).exists();
            if taken {
                continue;
            }
            let port = common::free_port();
            let mut child = Command::new(&xvnc)
                .arg(format!(":{display}"))
                .args(["-rfbport", &port.to_string()])
                .args(["-SecurityTypes", "None", "-geometry", "320x240", "-depth"])
                .arg("24")
                .args(["-localhost", "-nolisten", "tcp"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("Xvnc starts");
            for _ in 0..100 {
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Xvnc {
                        child,
                        display,
                        port,
                    };
                }
                if let Ok(Some(_)) = child.try_wait() {
                    break; // the display was taken meanwhile: the next one
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("Xvnc did not start on any display from :{base}");
    }

    /// Paints the root window one colour.
    fn paint(&self, colour: &str) {
        let status = Command::new(tool("xsetroot", "x11-xserver-utils"))
            .args(["-display", &format!(":{}", self.display), "-solid", colour])
            .status()
            .expect("xsetroot runs");
        assert!(status.success(), "xsetroot failed: {status}");
    }
}

/// Captures the screen behind `at` with vncsnapshot (a real RFB client):
/// RGB pixels and the size.
async fn capture(at: SocketAddr, dir: &Path) -> (Vec<u8>, u16, u16) {
    let out = dir.join("screen.jpg");
    let mut snap = Command::new(tool("vncsnapshot", "vncsnapshot"))
        // Raw encoding: the whole framebuffer crosses MSRP (300 kB), and
        // TigerVNC's Tight rectangles are beyond vncsnapshot's 1.2a.
        .args(["-quiet", "-allowblank", "-nocursor", "-encodings", "raw"])
        .args(["-quality", "100"])
        .arg(format!("{}::{}", at.ip(), at.port()))
        .arg(&out)
        .stdout(Stdio::null())
        .spawn()
        .expect("vncsnapshot runs");
    // Polled, not waited on: the engine runs on this runtime meanwhile.
    let mut status = None;
    for _ in 0..600 {
        status = snap.try_wait().expect("vncsnapshot's status");
        if status.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let Some(status) = status else {
        let _ = snap.kill();
        let _ = snap.wait();
        panic!("vncsnapshot did not finish within 30 s");
    };
    assert!(status.success(), "vncsnapshot failed: {status}");
    let file = std::fs::File::open(&out).expect("vncsnapshot wrote its capture");
    let mut decoder = jpeg_decoder::Decoder::new(std::io::BufReader::new(file));
    let pixels = decoder.decode().expect("a JPEG");
    let info = decoder.info().expect("JPEG info");
    assert_eq!(info.pixel_format, jpeg_decoder::PixelFormat::RGB24);
    (pixels, info.width, info.height)
}

#[tokio::test]
async fn a_real_vnc_server_shared_by_alice_is_captured_through_bobs_viewer_port() {
    let xvnc = Xvnc::start();
    xvnc.paint("#ff0000");
    let mut p = peers("tcp").await;
    let server = Arc::new(ExternalVNCServerHandler::with_default_timeout(format!(
        "127.0.0.1:{}",
        xvnc.port
    )));
    let viewer = Arc::new(ExternalVNCViewerHandler::new("127.0.0.1:0".parse().unwrap()).unwrap());
    let port = viewer.address();
    let (caller, _callee, _ours, _theirs) = share(&mut p, server, viewer).await;
    until(&mut p.bob_all, "MediaStreamDidStart").await;

    let dir = TempDir::new("desktop");
    let (pixels, width, height) = capture(port, &dir.0).await;
    assert_eq!((width, height), (320, 240));
    // JPEG is lossy: every pixel near pure red.
    let off = pixels
        .chunks(3)
        .filter(|px| px[0] < 240 || px[1] > 16 || px[2] > 16)
        .count();
    assert_eq!(
        off,
        0,
        "pixels that are not red: {off}, first {:?}",
        &pixels[..3]
    );

    // The viewer has gone (vncsnapshot disconnects once it has the
    // picture): bob's viewer handler ends, and with its only stream the
    // session may already be ending from bob's side.
    let _ = caller.end().await;
    let seen = until(&mut p.alice_all, "SIPSessionDidEnd").await;
    assert!(
        !seen.iter().any(|n| n.name() == "MediaStreamDidFail"),
        "{:?}",
        common::names(&seen)
    );
    drop(xvnc);
}
