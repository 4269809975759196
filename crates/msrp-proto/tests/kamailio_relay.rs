//! Interop with a real RFC 4976 MSRP relay: Kamailio's `msrp` module,
//! started by this test from `tests/kamailio/msrp-relay.cfg` on a free
//! loopback port.
//!
//! What it proves: [`AuthClient`] gets through Kamailio's digest
//! challenge and reads its Use-Path and Expires; a wrong password is
//! refused; two [`Session`]s, each on the connection it authorized, talk
//! through the relay with the paths of RFC 4976 §6 (a text message with a
//! success REPORT both ways, and a 100 KB message in 2 KB chunks that
//! arrives whole).
//!
//! Blocking std sockets with read timeouts; everything MSRP is
//! msrp-proto's public API. Kamailio is a Debian package (`kamailio`,
//! installed by scripts/test.sh): without it the test fails, it does not
//! skip. `KAMAILIO=/path/to/kamailio` picks another binary;
//! `MSRP_TRACE=1` (with `--nocapture`) prints what each peer writes and
//! reads.

use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use msrp_proto::demux::Demux;
use msrp_proto::headers::{Expires, FailureReport, UsePath, WwwAuthenticate};
use msrp_proto::{
    AuthClient, Authorized, Event, Head, Host, Limits, MsrpUri, Parser, RelayAuthError, Response,
    Session, SessionConfig, SessionEvent,
};

const PASSWORD: &str = "relay-test-secret";
const STEP: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------- relay

/// A Kamailio started for one test; stopped (by PID) and its run
/// directory removed on drop, a panic included.
struct Relay {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Relay {
    fn start() -> Relay {
        let cfg = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kamailio/msrp-relay.cfg");
        assert!(cfg.is_file(), "missing {}", cfg.display());
        let dir = unique_dir();
        fs::create_dir_all(&dir).expect("run directory");
        let port = free_port();
        let log = fs::File::create(dir.join("kamailio.log")).expect("log file");
        let bin = kamailio_binary();
        let mut cmd = Command::new(&bin);
        cmd.arg("-f")
            .arg(&cfg)
            // Foreground, logs on stderr, run files in our directory.
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
            .arg(format!("MSRP_USE_PATH=\"127.0.0.1:{port}\""))
            .arg("-A")
            .arg(format!("MSRP_PASS=\"{PASSWORD}\""))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log);
        // Its own process group, so a stuck shutdown can be ended whole.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                let _ = fs::remove_dir_all(&dir);
                panic!(
                    "kamailio is not installed ({bin}: not found): this interop test needs \
                     the Debian package `kamailio` (scripts/test.sh installs it: \
                     apt-get install kamailio), or KAMAILIO=/path/to/kamailio"
                );
            }
            Err(e) => panic!("cannot start {bin}: {e}"),
        };
        let mut relay = Relay { child, port, dir };
        relay.wait_ready();
        relay
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + STEP;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("kamailio exited at start ({status}):\n{}", self.log());
            }
            if TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_ok() {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "kamailio did not listen on {} in time:\n{}",
                    self.port,
                    self.log()
                );
            }
            sleep(Duration::from_millis(50));
        }
    }

    /// The relay URI clients address AUTH to.
    fn uri(&self) -> MsrpUri {
        MsrpUri::new(
            false,
            Host::Ipv4(Ipv4Addr::LOCALHOST),
            Some(self.port),
            None,
        )
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).expect("connect to relay");
        s.set_read_timeout(Some(Duration::from_millis(20)))
            .expect("read timeout");
        s.set_nodelay(true).expect("nodelay");
        s
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.join("kamailio.log")).unwrap_or_default()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        // SIGTERM to the main process stops its children too.
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            sleep(Duration::from_millis(50));
        }
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            // Still there: the whole group (ours, made at spawn).
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .status();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!("---- kamailio log ----\n{}", self.log());
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn kamailio_binary() -> String {
    if let Ok(b) = std::env::var("KAMAILIO") {
        return b;
    }
    // /usr/sbin is not on every user's PATH.
    for p in ["/usr/sbin/kamailio", "/usr/local/sbin/kamailio"] {
        if Path::new(p).is_file() {
            return p.to_owned();
        }
    }
    "kamailio".to_owned()
}

fn free_port() -> u16 {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique_dir() -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!(
        "msrp-proto-kamailio-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ))
}

fn seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    nanos ^ (u64::from(std::process::id()) << 32) ^ COUNTER.fetch_add(1, Ordering::Relaxed)
}

// ---------------------------------------------------------------- wire

/// Reads what is there within the read timeout; `None` at end of stream.
fn read_some(s: &mut TcpStream, buf: &mut [u8]) -> Option<usize> {
    match s.read(buf) {
        Ok(0) => None,
        Ok(n) => Some(n),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Some(0),
        Err(e) => panic!("read from relay: {e}"),
    }
}

/// What an AUTH exchange showed on the wire.
struct AuthRun {
    result: Result<Authorized, RelayAuthError>,
    /// Every response the relay sent, read by a second parser tapping
    /// the same bytes.
    responses: Vec<Response>,
    /// The raw bytes read, for messages.
    raw: String,
}

/// Runs one AUTH exchange over `s`: our URI is `local`.
fn authenticate(
    s: &mut TcpStream,
    relay: &MsrpUri,
    local: &MsrpUri,
    user: &str,
    password: &str,
    expires: Option<u32>,
) -> AuthRun {
    let mut client = AuthClient::new(
        relay.clone(),
        local.clone(),
        user,
        password,
        expires,
        seed(),
    )
    .expect("AUTH request");
    let mut tap = Parser::new(Limits::default());
    let mut responses = Vec::new();
    let mut raw = Vec::new();
    let mut buf = vec![0u8; 65536];
    let deadline = Instant::now() + STEP;
    loop {
        while let Some(out) = client.poll_transmit() {
            s.write_all(&out).expect("write AUTH");
        }
        assert!(
            Instant::now() < deadline,
            "no AUTH outcome in time; read so far:\n{}",
            String::from_utf8_lossy(&raw)
        );
        let n = read_some(s, &mut buf).unwrap_or_else(|| {
            panic!(
                "relay closed during AUTH; read:\n{}",
                String::from_utf8_lossy(&raw)
            )
        });
        if n == 0 {
            continue;
        }
        let data = &buf[..n];
        raw.extend_from_slice(data);
        tap.feed(data).expect("tap parser");
        while let Some(ev) = tap.poll().expect("tap parser") {
            if let Event::Head(Head::Response(r)) = ev {
                responses.push(r);
            }
        }
        match client.handle_input(data) {
            Ok(None) => {}
            Ok(Some(done)) => {
                assert_eq!(client.buffered(), 0, "bytes after the AUTH 200");
                return AuthRun {
                    result: Ok(done),
                    responses,
                    raw: String::from_utf8_lossy(&raw).into_owned(),
                };
            }
            Err(e) => {
                return AuthRun {
                    result: Err(e),
                    responses,
                    raw: String::from_utf8_lossy(&raw).into_owned(),
                }
            }
        }
    }
}

/// A client of the relay: its connection and its own URI.
struct Client {
    stream: TcpStream,
    uri: MsrpUri,
    auth: Authorized,
}

fn local_uri(s: &TcpStream, name: &str) -> MsrpUri {
    let port = s.local_addr().expect("local addr").port();
    let id = format!("{name}{:x}", seed() & 0xffff_ffff);
    MsrpUri::new(
        false,
        Host::Ipv4(Ipv4Addr::LOCALHOST),
        Some(port),
        Some(&id),
    )
}

fn client(relay: &Relay, name: &str) -> Client {
    let mut stream = relay.connect();
    let uri = local_uri(&stream, name);
    let run = authenticate(&mut stream, &relay.uri(), &uri, name, PASSWORD, None);
    let auth = run
        .result
        .unwrap_or_else(|e| panic!("{name}: AUTH failed: {e}\n{}", run.raw));
    Client { stream, uri, auth }
}

/// One endpoint: a connection and the Session on it.
struct Peer {
    name: &'static str,
    stream: TcpStream,
    session: Session,
    events: Vec<SessionEvent>,
    closed: bool,
}

impl Peer {
    fn new(name: &'static str, c: Client, remote_path: Vec<MsrpUri>) -> Peer {
        // RFC 4976 §6.1: the From-Path a client writes is its own URI; its
        // relay puts itself in front when forwarding.
        let cfg = SessionConfig::new(vec![c.uri], remote_path, seed());
        Peer {
            name,
            stream: c.stream,
            session: Session::new(cfg),
            events: Vec::new(),
            closed: false,
        }
    }

    /// Writes what the session has, reads what is there.
    fn pump(&mut self, buf: &mut [u8]) {
        let now = Instant::now();
        while let Some(out) = self.session.poll_transmit(now) {
            if std::env::var_os("MSRP_TRACE").is_some() {
                let text = String::from_utf8_lossy(&out);
                let cut: String = text.chars().take(400).collect();
                eprintln!("---- {} writes {} bytes ----\n{cut}", self.name, out.len());
            }
            self.stream.write_all(&out).expect("write to relay");
        }
        if self.closed {
            return;
        }
        match read_some(&mut self.stream, buf) {
            None => self.closed = true,
            Some(0) => {}
            Some(n) => {
                let data = buf.get(..n).expect("read length");
                if std::env::var_os("MSRP_TRACE").is_some() {
                    let text = String::from_utf8_lossy(data);
                    let cut: String = text.chars().take(700).collect();
                    eprintln!("---- {} read {n} bytes ----\n{cut}", self.name);
                }
                if let Err(e) = self.session.handle_input(Instant::now(), data) {
                    panic!("{}: stream error {e}", self.name);
                }
            }
        }
        self.session.handle_timeout(Instant::now());
        while let Some(ev) = self.session.poll_event() {
            self.events.push(ev);
        }
    }
}

/// Pumps both peers until `done` holds.
fn run_until(
    relay: &Relay,
    a: &mut Peer,
    b: &mut Peer,
    what: &str,
    done: impl Fn(&Peer, &Peer) -> bool,
) {
    let mut buf = vec![0u8; 65536];
    let deadline = Instant::now() + STEP;
    while !done(a, b) {
        assert!(
            Instant::now() < deadline,
            "{what}: not in time\nA events: {:?}\nB events: {:?}\n---- kamailio log tail ----\n{}",
            a.events,
            b.events,
            tail(&relay.log(), 40)
        );
        assert!(
            !a.closed && !b.closed,
            "{what}: the relay closed a connection"
        );
        a.pump(&mut buf);
        b.pump(&mut buf);
    }
}

fn tail(s: &str, lines: usize) -> String {
    let v: Vec<&str> = s.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

fn received<'a>(p: &'a Peer, body: &[u8]) -> Option<&'a SessionEvent> {
    p.events.iter().find(
        |e| matches!(e, SessionEvent::MessageReceived { body: b, .. } if b.as_slice() == body),
    )
}

fn has(p: &Peer, want: impl Fn(&SessionEvent) -> bool) -> bool {
    p.events.iter().any(want)
}

// ---------------------------------------------------------------- tests

#[test]
fn auth_challenge_use_path_and_wrong_password() {
    let relay = Relay::start();

    // Right password: 401 with a digest challenge, then 200.
    let mut s = relay.connect();
    let me = local_uri(&s, "alice");
    let run = authenticate(&mut s, &relay.uri(), &me, "alice", PASSWORD, None);
    eprintln!("---- AUTH, right password: relay sent ----\n{}", run.raw);
    let done = run
        .result
        .unwrap_or_else(|e| panic!("AUTH failed: {e}\n{}", run.raw));
    let statuses: Vec<u16> = run.responses.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [401, 200], "{}", run.raw);
    let r401 = &run.responses[0];
    let Some(Ok(WwwAuthenticate(ch))) = r401.headers.typed::<WwwAuthenticate>() else {
        panic!("401 without a readable WWW-Authenticate:\n{}", run.raw);
    };
    assert!(ch.is_digest());
    assert!(ch.param("nonce").is_some() && ch.param("realm").is_some());
    let qop = ch.param("qop").map(|q| q.into_owned()).unwrap_or_default();
    assert!(qop.split(',').any(|q| q.trim() == "auth"), "qop {qop:?}");
    // Responses go back to us alone (RFC 4975 §7.2).
    for r in &run.responses {
        assert_eq!(
            r.headers.get("To-Path").map(MsrpUri::parse),
            Some(Ok(me.clone()))
        );
    }

    // The 200: Use-Path names this relay with a session id of its own.
    let r200 = &run.responses[1];
    let Some(Ok(UsePath(up))) = r200.headers.typed::<UsePath>() else {
        panic!("200 without Use-Path:\n{}", run.raw);
    };
    assert_eq!(up, done.use_path);
    assert_eq!(done.use_path.len(), 1, "one relay, one hop");
    let hop = &done.use_path[0];
    assert!(!hop.secure, "{hop}");
    assert_eq!(hop.host, Host::Ipv4(Ipv4Addr::LOCALHOST), "{hop}");
    assert_eq!(hop.port, Some(relay.port), "{hop}");
    assert_eq!(hop.transport, "tcp", "{hop}");
    assert!(
        hop.session_id.as_deref().is_some_and(|id| !id.is_empty()),
        "{hop}"
    );
    assert!(
        matches!(r200.headers.typed::<Expires>(), Some(Ok(Expires(e))) if e > 0),
        "{}",
        run.raw
    );
    // Asked for nothing, the cfg's auth_max_expires.
    assert_eq!(done.expires, Some(3600), "{done:?}");
    // Kamailio sends no Authentication-Info: nothing proves the relay
    // knows the password, and AuthClient says so.
    assert!(!done.relay_verified);

    // Two clients get two distinct session ids.
    let mut s2 = relay.connect();
    let me2 = local_uri(&s2, "bob");
    let other = authenticate(&mut s2, &relay.uri(), &me2, "bob", PASSWORD, None)
        .result
        .expect("second client's AUTH");
    assert_ne!(other.use_path, done.use_path);

    // Wrong password: Kamailio answers the second AUTH with a fresh 401
    // challenge (the cfg's policy, the one of Kamailio's own example and
    // of RFC 7235 §3.1 for invalid credentials); AuthClient answers one
    // challenge only and gives up with that status.
    let mut s3 = relay.connect();
    let me3 = local_uri(&s3, "mallory");
    let bad = authenticate(&mut s3, &relay.uri(), &me3, "mallory", "wrong", None);
    eprintln!("---- AUTH, wrong password: relay sent ----\n{}", bad.raw);
    let statuses: Vec<u16> = bad.responses.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [401, 401], "{}", bad.raw);
    assert!(bad.responses[1]
        .headers
        .typed::<WwwAuthenticate>()
        .is_some_and(|w| w.is_ok()));
    assert!(
        matches!(
            bad.result,
            Err(RelayAuthError::Rejected { status: 401, .. })
        ),
        "{:?}",
        bad.result.err()
    );

    // Asking for a lifetime (RFC 4976 §5.1 lets the client send Expires):
    // Kamailio 5.6's msrp_cmap_save mishandles it (a 423 without
    // Min-/Max-Expires, or a SIGSEGV of the worker: see the cfg), so the
    // cfg refuses such an AUTH with 400 before it gets there. What this
    // checks is that AuthClient surfaces that refusal.
    let mut s4 = relay.connect();
    let me4 = local_uri(&s4, "carol");
    let asked = authenticate(&mut s4, &relay.uri(), &me4, "carol", PASSWORD, Some(600));
    let statuses: Vec<u16> = asked.responses.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [401, 400], "{}", asked.raw);
    assert!(
        matches!(
            asked.result,
            Err(RelayAuthError::Rejected { status: 400, .. })
        ),
        "{:?}",
        asked.result.err()
    );
    drop(relay);
}

#[test]
fn two_clients_talk_through_the_relay() {
    let relay = Relay::start();
    let ca = client(&relay, "alice");
    let cb = client(&relay, "bob");
    let relay_a = ca.auth.use_path.clone();
    let relay_b = cb.auth.use_path.clone();
    let (uri_a, uri_b) = (ca.uri.clone(), cb.uri.clone());

    // RFC 4976 §6: each side's path (its SDP a=path) is its Use-Path then
    // its own URI; a To-Path is the sender's own relays, then the peer's
    // path. Both use the one relay, so it is named twice (two session
    // ids): Kamailio forwards to itself over a second TCP connection,
    // then delivers on the peer's AUTH connection. The From-Path each
    // Session writes is its own URI alone; the relay puts itself in
    // front on each hop.
    let to_b: Vec<MsrpUri> = relay_a
        .iter()
        .chain(&relay_b)
        .cloned()
        .chain([uri_b.clone()])
        .collect();
    let to_a: Vec<MsrpUri> = relay_b
        .iter()
        .chain(&relay_a)
        .cloned()
        .chain([uri_a.clone()])
        .collect();
    let mut a = Peer::new("A", ca, to_b);
    let mut b = Peer::new("B", cb, to_a);

    // A text message with a success REPORT.
    let text = b"Hello Bob, through Kamailio.";
    let mid = a.session.send_message(
        "text/plain",
        Bytes::from_static(text),
        true,
        FailureReport::Yes,
    );
    run_until(&relay, &mut a, &mut b, "text A->B", |a, b| {
        received(b, text).is_some()
            && has(
                a,
                |e| matches!(e, SessionEvent::MessageSent { message_id, .. } if *message_id == mid),
            )
            && has(
                a,
                |e| matches!(e, SessionEvent::MessageDelivered { message_id, .. } if *message_id == mid),
            )
    });
    assert!(
        matches!(received(&b, text), Some(SessionEvent::MessageReceived { content_type: Some(ct), .. }) if ct == "text/plain")
    );
    let delivered = a.events.iter().find_map(|e| match e {
        SessionEvent::MessageDelivered {
            message_id, range, ..
        } if *message_id == mid => Some(*range),
        _ => None,
    });
    let range = delivered.flatten().expect("the REPORT has a Byte-Range");
    assert_eq!(
        (range.start, range.end, range.total),
        (1, Some(text.len() as u64), Some(text.len() as u64))
    );
    assert!(
        !has(&a, |e| matches!(e, SessionEvent::MessageFailed { .. })),
        "{:?}",
        a.events
    );

    // The other way.
    let reply = b"Hi Alice.";
    let mid_b = b.session.send_message(
        "text/plain",
        Bytes::from_static(reply),
        true,
        FailureReport::Yes,
    );
    run_until(&relay, &mut a, &mut b, "text B->A", |a, b| {
        received(a, reply).is_some()
            && has(
                b,
                |e| matches!(e, SessionEvent::MessageDelivered { message_id, .. } if *message_id == mid_b),
            )
    });

    // 100 KB in 2 KB chunks arrives whole.
    let big: Vec<u8> = (0..100 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mid_big = a.session.send_message(
        "application/octet-stream",
        Bytes::from(big.clone()),
        true,
        FailureReport::Yes,
    );
    run_until(&relay, &mut a, &mut b, "100 KB A->B", |a, b| {
        received(b, &big).is_some()
            && has(
                a,
                |e| matches!(e, SessionEvent::MessageDelivered { message_id, .. } if *message_id == mid_big),
            )
            && has(
                a,
                |e| matches!(e, SessionEvent::MessageSent { message_id, .. } if *message_id == mid_big),
            )
    });
    for p in [&a, &b] {
        assert!(
            !has(p, |e| matches!(
                e,
                SessionEvent::MessageFailed { .. } | SessionEvent::MessageAborted { .. }
            )),
            "{}: {:?}",
            p.name,
            p.events
        );
    }
    assert!(a.session.is_idle() && b.session.is_idle());
    drop(relay);
}

/// Writes what `demux` has and feeds it what `s` has to read.
fn pump_demux(demux: &mut Demux, s: &mut TcpStream, buf: &mut [u8]) {
    let now = Instant::now();
    while let Some(out) = demux.poll_transmit(now) {
        s.write_all(&out).expect("write to relay");
    }
    match read_some(s, buf) {
        None => panic!("the relay closed the shared connection"),
        Some(0) => {}
        Some(n) => demux
            .handle_input(now, buf.get(..n).expect("read length"))
            .expect("relay stream"),
    }
    demux.handle_timeout(Instant::now());
}

/// RFC 4976 §5.1 with RFC 4975 §5.4: two AUTHs on one connection (run
/// by the connection's [`Demux`], each answering its own challenge) give
/// two bindings; Kamailio routes each to the session of ours that holds
/// it, on that one connection, and both sessions answer through it.
#[test]
fn two_auths_on_one_connection_give_two_working_bindings() {
    let relay = Relay::start();
    let mut shared = relay.connect();
    let port = shared.local_addr().expect("local addr").port();
    let ours = |name: &str| {
        let id = format!("{name}{:x}", seed() & 0xffff_ffff);
        MsrpUri::new(
            false,
            Host::Ipv4(Ipv4Addr::LOCALHOST),
            Some(port),
            Some(&id),
        )
    };
    let (u1, u2) = (ours("one"), ours("two"));
    let (id1, id2) = (
        u1.session_id.clone().unwrap(),
        u2.session_id.clone().unwrap(),
    );
    let mut demux = Demux::new(Limits::default());
    for u in [&u1, &u2] {
        let c = AuthClient::new(relay.uri(), u.clone(), "alice", PASSWORD, None, seed())
            .expect("AUTH request");
        demux
            .start_auth(u.session_id.clone().unwrap(), c)
            .expect("AUTH on the connection");
    }
    let mut buf = vec![0u8; 65536];
    let mut bindings = std::collections::HashMap::new();
    let deadline = Instant::now() + STEP;
    while bindings.len() < 2 {
        assert!(Instant::now() < deadline, "no AUTH outcomes: {bindings:?}");
        pump_demux(&mut demux, &mut shared, &mut buf);
        while let Some((key, result)) = demux.poll_auth() {
            let done = result.unwrap_or_else(|e| panic!("AUTH of {key}: {e}"));
            bindings.insert(key, done.use_path);
        }
    }
    let (p1, p2) = (bindings[&id1].clone(), bindings[&id2].clone());
    assert_ne!(p1, p2, "a binding per AUTH");

    // Bob reaches the first binding, carol the second, each from a
    // connection of its own; ours carries both sessions.
    let (cb, cc) = (client(&relay, "bob"), client(&relay, "carol"));
    let to = |own: &[MsrpUri], theirs: &[MsrpUri], uri: &MsrpUri| -> Vec<MsrpUri> {
        own.iter()
            .chain(theirs)
            .cloned()
            .chain([uri.clone()])
            .collect()
    };
    let (bob_uri, carol_uri) = (cb.uri.clone(), cc.uri.clone());
    let (bob_relay, carol_relay) = (cb.auth.use_path.clone(), cc.auth.use_path.clone());
    for (u, p, peer, peer_relay) in [
        (&u1, &p1, &bob_uri, &bob_relay),
        (&u2, &p2, &carol_uri, &carol_relay),
    ] {
        let cfg = SessionConfig::new(vec![u.clone()], to(p, peer_relay, peer), seed());
        demux.add_session(Session::new(cfg)).expect("session joins");
    }
    let mut bob = Peer::new("bob", cb, to(&bob_relay, &p1, &u1));
    let mut carol = Peer::new("carol", cc, to(&carol_relay, &p2, &u2));
    bob.session.send_message(
        "text/plain",
        Bytes::from_static(b"to one"),
        false,
        FailureReport::Yes,
    );
    carol.session.send_message(
        "text/plain",
        Bytes::from_static(b"to two"),
        false,
        FailureReport::Yes,
    );
    for (id, body) in [
        (&id1, b"back from one".as_slice()),
        (&id2, b"back from two".as_slice()),
    ] {
        demux
            .session_mut(id)
            .expect("on the connection")
            .send_message(
                "text/plain",
                Bytes::copy_from_slice(body),
                false,
                FailureReport::Yes,
            );
    }
    let mut ours_got: Vec<(String, Vec<u8>)> = Vec::new();
    let deadline = Instant::now() + STEP;
    while ours_got.len() < 2
        || received(&bob, b"back from one").is_none()
        || received(&carol, b"back from two").is_none()
    {
        assert!(
            Instant::now() < deadline,
            "not delivered: ours {ours_got:?}\nbob {:?}\ncarol {:?}\n{}",
            bob.events,
            carol.events,
            tail(&relay.log(), 40)
        );
        pump_demux(&mut demux, &mut shared, &mut buf);
        bob.pump(&mut buf);
        carol.pump(&mut buf);
        while let Some((id, e)) = demux.poll_event() {
            if let SessionEvent::MessageReceived { body, .. } = e {
                ours_got.push((id, body));
            }
        }
    }
    ours_got.sort();
    let mut want = vec![(id1, b"to one".to_vec()), (id2, b"to two".to_vec())];
    want.sort();
    assert_eq!(ours_got, want, "each message on the session of its binding");
    assert!(received(&bob, b"back from two").is_none());
    assert!(received(&carol, b"back from one").is_none());
    drop(relay);
}
