//! Presence both ways with third-party peers: PJSIP 2.15 (the pjsua2
//! Python binding, tests/pjsua2/presence_peer.py; `scripts/test.sh`
//! installs it into `$SIPSIMPLE_PJ_VENV`) and baresip 1.0 (its `presence`
//! module), each started and stopped by the test on loopback.
//!
//! Each side publishes (RFC 3903) to Kamailio as presence server
//! (tests/kamailio/presence.cfg) and watches the other through it
//! (RFC 3856): we see the peer's basic status and note change, and the
//! peer reports ours. Without a server, each side is the other's
//! notifier: we watch each peer directly, and pjsua2 watches us (our
//! IncomingSubscription, the application accepting and pushing PIDF).
//!
//! Peer quirks, found here:
//! - pjsua2 starts its publication when the account is added only when
//!   the account has no registrar; each process publishes with a new
//!   tuple id and entity tag, so Kamailio's aggregated document keeps the
//!   tuples of earlier pjsua processes until they expire (one process per
//!   test here). Its status text is the RPID note, else the tuple note,
//!   else "Online"/"Offline".
//! - baresip's presence module must be loaded after the account module
//!   (`module_app` after `account.so`): loaded before, it finds no
//!   account and never publishes. Its first PUBLISH says
//!   `<basic>unknown</basic>` (invalid PIDF, which we refuse: a state
//!   with no document); only `presence_online`/`presence_offline` over
//!   ctrl_tcp make it valid. Its documents carry no note, only basic.
//! - baresip reads a NOTIFY with regular expressions on the raw text:
//!   the first `<basic>` (unprefixed) and `<rpid:away/>`, `<rpid:busy/>`
//!   with exactly that prefix: we write RPID with that prefix (as the
//!   RFCs' examples do), so it sees our busy too.
//!   It subscribes only to contacts marked `;presence=p2p`, and then
//!   through the account's outbound proxy all the same.

mod common;
mod kamailio;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, names, until, TempDir};
use kamailio::{start_presence_server, Kamailio};
use payloads::pidf::{Activities, Activity, Basic, Note, Person, Presence, Tuple};
use sipsimple::account::Account;
use sipsimple::application::SipApplication;
use sipsimple::config::MemoryBackend;
use sipsimple::notification::{Filter, Notification, NotificationData, Subscription};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

const DOMAIN: &str = "sipsimple.test";
/// How long a peer may take to show a change (generous: two cores).
const WAIT: Duration = Duration::from_secs(30);

/// Our application with the account `user@sipsimple.test`, sending
/// through Kamailio (or nowhere when `proxy` is None).
async fn start_ours(proxy: Option<&Kamailio>, user: &str) -> (SipApplication, Subscription) {
    let proxy = proxy
        .map(|k| format!("sip.outbound_proxy = \"sip:127.0.0.1:{}\"\n", k.udp))
        .unwrap_or_default();
    let text = format!(
        "local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = [\"udp\"]\nudp_port = 0\n\
         [accounts.\"{user}@{DOMAIN}\"]\nenabled = true\n\
         auth.password = \"secret\"\nregistration.enabled = false\n{proxy}"
    );
    let app = SipApplication::new();
    let all = app.notification_center().subscribe(Filter::all());
    app.start(MemoryBackend::with(text.parse().unwrap()))
        .await
        .unwrap();
    (app, all)
}

fn account(app: &SipApplication, user: &str) -> std::sync::Arc<Account> {
    app.account_manager()
        .get_account(&format!("{user}@{DOMAIN}"))
        .unwrap()
}

fn presence(user: &str, basic: Basic, note: &str) -> Presence {
    let mut p = Presence::new(&format!("sip:{user}@{DOMAIN}"));
    let mut t = Tuple::new("t1", basic);
    t.notes.push(Note::new(note));
    p.tuples.push(t);
    p
}

/// [`presence`] with a person doing `activity` (RPID).
fn presence_doing(user: &str, basic: Basic, note: &str, activity: Activity) -> Presence {
    let mut p = presence(user, basic, note);
    let mut person = Person::new("p1");
    person.rpid.activities.push(Activities::of([activity]));
    p.persons.push(person);
    p
}

/// What a peer's presence document must say.
struct Want<'a> {
    basic: Basic,
    /// In a tuple or a person; None: no note at all.
    note: Option<&'a str>,
    /// A person's RPID activity, if it must have one.
    activity: Option<Activity>,
}

impl Want<'_> {
    fn met_by(&self, p: &Presence) -> bool {
        let notes: Vec<&str> = p
            .tuples
            .iter()
            .flat_map(|t| &t.notes)
            .chain(p.persons.iter().flat_map(|x| &x.notes))
            .map(|n| n.text.as_str())
            .collect();
        let doing = |a: Activity| {
            p.persons
                .iter()
                .flat_map(|x| &x.rpid.activities)
                .any(|acts| acts.known().any(|k| *k == a))
        };
        // One tuple: a state left over from before would be a second.
        p.tuples.len() == 1
            && p.tuples[0].status.basic == Some(self.basic)
            && match self.note {
                Some(note) => notes.contains(&note),
                None => notes.is_empty(),
            }
            && self.activity.is_none_or(doing)
    }
}

async fn publish(account: &Account, all: &mut Subscription, p: &Presence) {
    account.publish_presence(p).await.unwrap();
    let seen = until(all, "SIPPublicationDidSucceed").await;
    assert!(
        !names(&seen).contains(&"SIPPublicationDidFail"),
        "{:?}",
        names(&seen)
    );
}

/// The first presence of `uri` we are told of that is what we `want`.
async fn we_see(all: &mut Subscription, uri: &str, want: Want<'_>) -> Presence {
    let mut seen: Vec<Notification> = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let n = tokio::time::timeout_at(deadline, all.next())
            .await
            .unwrap_or_else(|_| {
                let states: Vec<_> = seen
                    .iter()
                    .filter_map(|n| match &n.data {
                        NotificationData::SIPAccountGotPresenceState { presence, .. } => {
                            Some(presence.as_ref().map(|p| p.to_xml()))
                        }
                        _ => None,
                    })
                    .collect();
                let (basic, note) = (want.basic, want.note);
                panic!("no {basic:?} {note:?} of {uri}; got {states:#?}")
            })
            .expect("center alive");
        if let NotificationData::SIPAccountGotPresenceState {
            uri: got,
            presence: Some(p),
        } = &n.data
        {
            if got == uri && want.met_by(p) {
                return (**p).clone();
            }
        }
        seen.push(n);
    }
}

fn pj_python() -> PathBuf {
    let venv = std::env::var_os("SIPSIMPLE_PJ_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/sipsimple-rs/pjvenv")
        });
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "no pjsua2 venv at {}: run scripts/test.sh (it installs pjsua2-python)",
        venv.display()
    );
    python
}

/// tests/pjsua2/presence_peer.py, driven by lines on its stdin.
struct PjPeer {
    child: Child,
    stdin: Option<ChildStdin>,
    port: u16,
    lines: UnboundedReceiver<String>,
    seen: Vec<String>,
}

impl Drop for PjPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl PjPeer {
    async fn start(args: &[&str]) -> PjPeer {
        let port = free_port();
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/pjsua2/presence_peer.py");
        let mut child = Command::new(pj_python())
            .arg(script)
            .args(["--port", &port.to_string()])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the pjsua2 presence peer starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = unbounded_channel();
        std::thread::spawn(move || {
            use std::io::{BufRead, BufReader};
            for l in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        let mut peer = PjPeer {
            stdin: child.stdin.take(),
            child,
            port,
            lines,
            seen: Vec::new(),
        };
        peer.line("ready").await;
        peer
    }

    fn send(&mut self, command: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{command}").unwrap();
        stdin.flush().unwrap();
    }

    /// Waits for the peer to print `want`.
    async fn line(&mut self, want: &str) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(l)) => {
                    let found = l == want;
                    self.seen.push(l);
                    if found {
                        return;
                    }
                }
                Ok(None) | Err(_) => {
                    panic!("pjsua2 never said {want:?}; it said {:#?}", self.seen)
                }
            }
        }
    }
}

/// pjsua2 subscribes to us directly: our application accepts and
/// pushes each new document; pjsua2 reports them.
#[tokio::test]
async fn pjsip_watches_us_directly() {
    let (app, mut all) = start_ours(None, "alice").await;
    app.incoming_subscriptions().accept_events(&["presence"]);
    let addr = app
        .engine()
        .unwrap()
        .local_addr(sipsimple::engine::TransportKind::Udp)
        .unwrap();
    let ours = format!("sip:alice@{addr}");
    let mut bob = PjPeer::start(&["--user", "bob"]).await;
    bob.send(&format!("watch {ours}"));
    let seen = until(&mut all, "SIPIncomingSubscriptionGotSubscribe").await;
    let NotificationData::SIPIncomingSubscriptionGotSubscribe { subscription, .. } =
        &seen.last().unwrap().data
    else {
        unreachable!()
    };
    let pidf = "application/pidf+xml";
    subscription.accept(pidf, presence("alice", Basic::Open, "at my desk").to_xml());
    bob.line(&format!("buddy {ours} ACTIVE online unknown at my desk"))
        .await;
    let phone = presence_doing("alice", Basic::Open, "on the phone", Activity::Busy);
    subscription.push_content(pidf, phone.to_xml());
    bob.line(&format!("buddy {ours} ACTIVE online busy on the phone"))
        .await;
    subscription.push_content(pidf, presence("alice", Basic::Closed, "gone").to_xml());
    bob.line(&format!("buddy {ours} ACTIVE offline unknown gone"))
        .await;
    app.stop();
    until(&mut all, "SIPApplicationDidEnd").await;
}

/// pjsua2's bob and our alice, both through Kamailio: pjsua2 reports our
/// published open/closed, notes and RPID activity, and we see its.
#[tokio::test]
async fn pjsip_and_we_see_each_others_presence_through_kamailio() {
    let k = start_presence_server();
    let (app, mut all) = start_ours(Some(&k), "alice").await;
    let alice = account(&app, "alice");
    let proxy = format!("127.0.0.1:{}", k.udp);
    let mut bob = PjPeer::start(&["--proxy", &proxy, "--user", "bob"]).await;

    let ours = "sip:alice@sipsimple.test";
    let at_desk = presence("alice", Basic::Open, "at my desk");
    publish(&alice, &mut all, &at_desk).await;
    bob.send(&format!("watch {ours}"));
    bob.line(&format!("buddy {ours} ACTIVE online unknown at my desk"))
        .await;
    let lunch = presence("alice", Basic::Closed, "out to lunch");
    publish(&alice, &mut all, &lunch).await;
    bob.line(&format!("buddy {ours} ACTIVE offline unknown out to lunch"))
        .await;
    let phone = presence_doing("alice", Basic::Open, "on the phone", Activity::Busy);
    publish(&alice, &mut all, &phone).await;
    bob.line(&format!("buddy {ours} ACTIVE online busy on the phone"))
        .await;

    let theirs = "sip:bob@sipsimple.test";
    bob.send("status open unknown in a meeting");
    alice.watch_presence(theirs).await.unwrap();
    let want = Want {
        basic: Basic::Open,
        note: Some("in a meeting"),
        activity: None,
    };
    let got = we_see(&mut all, theirs, want).await;
    assert_eq!(got.entity, theirs);
    bob.send("status closed away gone");
    let want = Want {
        basic: Basic::Closed,
        note: Some("gone"),
        activity: Some(Activity::Away),
    };
    we_see(&mut all, theirs, want).await;

    app.stop();
    until(&mut all, "SIPApplicationDidEnd").await;
}

/// We subscribe to pjsua2 itself (no server): it answers as its own
/// notifier with its status, and NOTIFYs each change.
#[tokio::test]
async fn we_watch_pjsip_directly() {
    let (app, mut all) = start_ours(None, "alice").await;
    let alice = account(&app, "alice");
    let mut bob = PjPeer::start(&["--user", "bob"]).await;
    bob.send("status open busy on the phone");
    bob.line("status set").await;
    let theirs = format!("sip:bob@127.0.0.1:{}", bob.port);
    alice.watch_presence(&theirs).await.unwrap();
    let want = Want {
        basic: Basic::Open,
        note: Some("on the phone"),
        activity: Some(Activity::Busy),
    };
    let got = we_see(&mut all, &theirs, want).await;
    assert_eq!(got.entity, theirs);
    bob.send("status closed unknown gone home");
    let want = Want {
        basic: Basic::Closed,
        note: Some("gone home"),
        activity: None,
    };
    we_see(&mut all, &theirs, want).await;
    app.stop();
    until(&mut all, "SIPApplicationDidEnd").await;
}

/// baresip with its presence module, as `bob` through Kamailio
/// (publishing every `pubint` seconds and on each change) with one
/// contact, `alice`, whose presence it watches.
struct Baresip {
    child: Child,
    sip_port: u16,
    dir: TempDir,
    ctrl_port: u16,
    commands: u32,
}

impl Drop for Baresip {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Baresip {
    /// Through Kamailio `k`, or on its own (`sip:bob@127.0.0.1:PORT`, no
    /// contacts) when None.
    fn start(k: Option<&Kamailio>) -> Baresip {
        let dir = TempDir::new("baresip-presence");
        let sip_port = free_port();
        let ctrl_port = free_port();
        let config = format!(
            "poll_method epoll\n\
             sip_listen 127.0.0.1:{sip_port}\n\
             net_interface 127.0.0.1\n\
             audio_player aubridge,nil\n\
             audio_source ausine,440\n\
             module_path /usr/lib/baresip/modules\n\
             module g711.so\n\
             module ausine.so\n\
             module aubridge.so\n\
             module_app account.so\n\
             module_app contact.so\n\
             module_app presence.so\n\
             module_app menu.so\n\
             module_app ctrl_tcp.so\n\
             ctrl_tcp_listen 127.0.0.1:{ctrl_port}\n"
        );
        std::fs::write(dir.0.join("config"), config).unwrap();
        // No registrar behind this Kamailio: regint=0.
        let (account, contacts) = match k {
            Some(k) => (
                format!(
                    "<sip:bob@{DOMAIN}>;auth_pass=secret;outbound=\"sip:127.0.0.1:{}\";\
                     regint=0;pubint=600\n",
                    k.udp
                ),
                format!("\"Alice\" <sip:alice@{DOMAIN}>;presence=p2p\n"),
            ),
            None => (
                format!("<sip:bob@127.0.0.1:{sip_port}>;regint=0\n"),
                String::new(),
            ),
        };
        std::fs::write(dir.0.join("accounts"), account).unwrap();
        std::fs::write(dir.0.join("contacts"), contacts).unwrap();
        let log = std::fs::File::create(dir.0.join("baresip.log")).unwrap();
        let child = Command::new("baresip")
            .arg("-f")
            .arg(&dir.0)
            .current_dir(&dir.0)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("baresip is installed (scripts/test.sh installs it)");
        let mut b = Baresip {
            child,
            sip_port,
            dir,
            ctrl_port,
            commands: 0,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", ctrl_port)).is_err() {
            if let Ok(Some(status)) = b.child.try_wait() {
                panic!("baresip exited ({status}):\n{}", b.log());
            }
            assert!(
                Instant::now() < deadline,
                "baresip did not start:\n{}",
                b.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        b
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("baresip.log")).unwrap_or_default()
    }

    /// Sends one ctrl_tcp command (netstring JSON) on a connection of
    /// its own and returns baresip's reply, which carries our token.
    fn command(&mut self, command: &str) -> String {
        self.commands += 1;
        let token = format!("\"token\":\"t{}\"", self.commands);
        let json = format!("{{\"command\":\"{command}\",\"params\":\"\",{token}}}");
        let mut ctrl = TcpStream::connect(("127.0.0.1", self.ctrl_port)).unwrap();
        ctrl.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        ctrl.write_all(format!("{}:{json},", json.len()).as_bytes())
            .unwrap();
        let mut got = String::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let mut buf = [0u8; 4096];
            if let Ok(n @ 1..) = ctrl.read(&mut buf) {
                got.push_str(&String::from_utf8_lossy(&buf[..n]));
                if got.contains(&token) && got.ends_with(',') {
                    return got;
                }
            }
        }
        panic!("baresip did not answer {json}: {got}\n{}", self.log());
    }

    /// Waits for baresip's contact list to show alice as `status`
    /// ("Online", "Offline").
    async fn shows_alice(&mut self, status: &str) {
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut last = String::new();
        while tokio::time::Instant::now() < deadline {
            last = self.command("contacts");
            // "<colour>Online<reset> Alice <sip:alice@...>", escaped.
            let shown = last
                .find("Alice <sip:alice@sipsimple.test>")
                .map(|i| &last[i.saturating_sub(24)..i]);
            if shown.is_some_and(|s| s.contains(status)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!(
            "baresip never showed alice {status}; its contacts: {last}\n{}",
            self.log()
        );
    }
}

/// baresip's bob and our alice, both through Kamailio: baresip's contact
/// list follows our open/closed, and we see its presence_online and
/// presence_offline.
#[tokio::test]
async fn baresip_and_we_see_each_others_presence_through_kamailio() {
    let k = start_presence_server();
    let (app, mut all) = start_ours(Some(&k), "alice").await;
    let alice = account(&app, "alice");
    publish(
        &alice,
        &mut all,
        &presence("alice", Basic::Open, "at my desk"),
    )
    .await;
    let mut bob = Baresip::start(Some(&k));

    // baresip subscribes to its contact alice by itself.
    bob.shows_alice("Online").await;
    publish(
        &alice,
        &mut all,
        &presence("alice", Basic::Closed, "out to lunch"),
    )
    .await;
    bob.shows_alice("Offline").await;
    publish(&alice, &mut all, &presence("alice", Basic::Open, "back")).await;
    bob.shows_alice("Online").await;
    // Our RPID is written with the `rpid:` prefix of RFC 4480's examples,
    // which is what baresip's patterns look for.
    let phone = presence_doing("alice", Basic::Open, "on the phone", Activity::Busy);
    publish(&alice, &mut all, &phone).await;
    bob.shows_alice("Busy").await;

    // baresip's first document says <basic>unknown</basic>: no PIDF we
    // can read, so the first state we get has no document.
    let theirs = "sip:bob@sipsimple.test";
    alice.watch_presence(theirs).await.unwrap();
    loop {
        let seen = until(&mut all, "SIPAccountGotPresenceState").await;
        if let NotificationData::SIPAccountGotPresenceState { uri, presence } =
            &seen.last().unwrap().data
        {
            assert_eq!(uri, theirs);
            assert!(presence.is_none(), "{presence:?}");
            break;
        }
    }
    for (command, basic) in [
        ("presence_offline", Basic::Closed),
        ("presence_online", Basic::Open),
        ("presence_offline", Basic::Closed),
    ] {
        bob.command(command);
        let want = Want {
            basic,
            note: None,
            activity: None,
        };
        let got = we_see(&mut all, theirs, want).await;
        assert_eq!(got.entity, theirs);
    }

    app.stop();
    until(&mut all, "SIPApplicationDidEnd").await;
}

/// We subscribe to baresip itself (no server): its presence module
/// answers as notifier with its own status and NOTIFYs each change.
#[tokio::test]
async fn we_watch_baresip_directly() {
    let (app, mut all) = start_ours(None, "alice").await;
    let alice = account(&app, "alice");
    let mut bob = Baresip::start(None);
    bob.command("presence_online");
    let theirs = format!("sip:bob@127.0.0.1:{}", bob.sip_port);
    alice.watch_presence(&theirs).await.unwrap();
    for (command, basic) in [
        (None, Basic::Open),
        (Some("presence_offline"), Basic::Closed),
        (Some("presence_online"), Basic::Open),
    ] {
        if let Some(command) = command {
            bob.command(command);
        }
        let want = Want {
            basic,
            note: None,
            activity: None,
        };
        we_see(&mut all, &theirs, want).await;
    }
    app.stop();
    until(&mut all, "SIPApplicationDidEnd").await;
}
