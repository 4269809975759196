//! `sip message`, `sip presence` and `sip mwi` as real processes.
//!
//! Messages go from one `sip` process to `sip listen` on loopback: plain
//! (the 200 is the receipt), CPIM with a delivery notification asked for
//! (exit 0 only once the listener's account sent the IMDN back), and to
//! nobody (404, exit 1). Presence and voicemail go through Kamailio as
//! the presence server (started by the test): one process publishes
//! "away — at lunch", another watches and prints it, a third lists the
//! watcher, and SIGTERM removes what was published; a message summary
//! published for alice reaches `sip mwi`. With the server's XCAP on,
//! watchers wait pending until `sip presence watchers --allow/--ask`
//! writes alice's pres-rules (RFC 5025).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::presence_server::{self, PresenceServer, DOMAIN};
use common::{free_udp_port, sip, Dir, Proc};

/// `user@127.0.0.1` on UDP `port`, with `extra` account settings.
fn local_config(dir: &Path, user: &str, port: u16, extra: &str) -> PathBuf {
    let path = dir.join(format!("{user}.toml"));
    std::fs::write(
        &path,
        format!(
            "local_ip = \"127.0.0.1\"\ndefault_account = \"{user}@127.0.0.1\"\n\
             [sip]\ntransport_list = [\"udp\"]\nudp_port = {port}\n\
             [accounts.\"{user}@127.0.0.1\"]\nenabled = true\nregistration.enabled = false\n\
             display_name = \"{user}\"\n{extra}"
        ),
    )
    .unwrap();
    path
}

/// `user@sipsimple.test` sending everything through the presence server.
fn server_config(dir: &Path, k: &PresenceServer, user: &str) -> PathBuf {
    server_config_with(dir, k, user, "")
}

/// [`server_config`] with more account settings.
fn server_config_with(dir: &Path, k: &PresenceServer, user: &str, extra: &str) -> PathBuf {
    let path = dir.join(format!("{user}.toml"));
    std::fs::write(
        &path,
        format!(
            "local_ip = \"127.0.0.1\"\ndefault_account = \"{user}@{DOMAIN}\"\n\
             [sip]\ntransport_list = [\"udp\"]\nudp_port = 0\n\
             [accounts.\"{user}@{DOMAIN}\"]\nenabled = true\nregistration.enabled = false\n\
             auth.password = \"secret\"\nsip.outbound_proxy = \"sip:127.0.0.1:{}\"\n{extra}",
            k.udp
        ),
    )
    .unwrap();
    path
}

/// `sip ARGS` run to its end (killed after 60 s): status and stdout.
fn run(cfg: &Path, args: &[&str]) -> (Option<i32>, String) {
    let child = sip(cfg)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(60));
        let _ = Command::new("kill").arg(pid.to_string()).status();
    });
    drop(killer);
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

fn started(cfg: &Path, args: &[&str]) -> Proc {
    let mut c = sip(cfg);
    c.args(args);
    Proc::start(c)
}

#[test]
fn a_plain_message_reaches_sip_listen_and_the_200_is_its_receipt() {
    let dir = Dir::new("msg-plain");
    let bob_port = free_udp_port();
    let bob = local_config(&dir.0, "bob", bob_port, "");
    let alice = local_config(&dir.0, "alice", 0, "");
    let mut listener = Proc::listen(&bob, &[]);
    let to = format!("sip:bob@127.0.0.1:{bob_port}");
    let (code, out) = run(&alice, &["message", &to, "hello there"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("delivered: 200"), "{out}");
    let line = listener.wait_for("message from");
    assert!(line.contains("alice <sip:alice@127.0.0.1>"), "{line}");
    assert!(line.ends_with(": hello there"), "{line}");

    // Nobody answers there: not delivered, exit 1.
    drop(listener);
    let (code, out) = run(&alice, &["message", &to, "hi"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("not delivered"), "{out}");
}

#[test]
fn a_cpim_message_waits_for_the_recipients_delivery_notification() {
    let dir = Dir::new("msg-cpim");
    let (alice_port, bob_port) = (free_udp_port(), free_udp_port());
    // Bob's IMDN goes to sip:alice@127.0.0.1: his proxy is alice's port,
    // as a real proxy would route it.
    let bob = local_config(
        &dir.0,
        "bob",
        bob_port,
        &format!("sip.outbound_proxy = \"sip:127.0.0.1:{alice_port}\"\n"),
    );
    let alice = local_config(&dir.0, "alice", alice_port, "");
    let mut listener = Proc::listen(&bob, &[]);
    let to = format!("sip:bob@127.0.0.1:{bob_port}");
    let (code, out) = run(&alice, &["message", &to, "wrapped", "--cpim"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("accepted: 200"), "{out}");
    assert!(out.contains("the recipient's device confirmed it"), "{out}");
    let line = listener.wait_for("message from");
    assert!(line.ends_with(": wrapped"), "{line}");

    // A recipient whose notification cannot reach alice (no proxy:
    // sip:alice@127.0.0.1 is port 5060, where nobody listens): the 200
    // alone is not delivery, so the command gives up after --timeout.
    drop(listener);
    let lost_port = free_udp_port();
    let carol = local_config(&dir.0, "carol", lost_port, "");
    let mut listener = Proc::listen(&carol, &[]);
    let to = format!("sip:carol@127.0.0.1:{lost_port}");
    let (code, out) = run(
        &alice,
        &["message", &to, "lost", "--cpim", "--timeout", "2"],
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("accepted: 200"), "{out}");
    assert!(out.contains("no delivery notification within 2 s"), "{out}");
    listener.wait_for("message from");
}

#[test]
fn presence_published_by_one_process_is_watched_by_another_through_kamailio() {
    let k = presence_server::start();
    let dir = Dir::new("presence");
    let alice = server_config(&dir.0, &k, "alice");
    let bob = server_config(&dir.0, &k, "bob");

    let mut publisher = started(
        &alice,
        &[
            "presence", "publish", "--status", "away", "--note", "at lunch",
        ],
    );
    publisher.wait_for("published (for");

    let mut watcher = started(&bob, &["presence", "watch", &format!("alice@{DOMAIN}")]);
    watcher.wait_for("watching 1 contact(s)");
    let line = watcher.wait_for("away");
    assert!(
        line.ends_with(&format!("sip:alice@{DOMAIN}: away — at lunch")),
        "{line}"
    );

    // Alice sees bob among her watchers (RFC 3857).
    let mut watchers = started(&alice, &["presence", "watchers"]);
    let line = watchers.wait_for(&format!("sip:bob@{DOMAIN}"));
    assert!(line.contains(": active"), "{line}");
    watchers.terminate();
    assert_eq!(watchers.exit_code(15), Some(0));

    // SIGTERM removes the publication: the watcher no longer sees her
    // away.
    publisher.terminate();
    assert_eq!(publisher.exit_code(15), Some(0));
    publisher.saw("publication ended");
    let line = watcher.wait_for(&format!("sip:alice@{DOMAIN}: "));
    assert!(!line.contains("away"), "{line}");

    watcher.terminate();
    assert_eq!(watcher.exit_code(15), Some(0));
    watcher.saw("stopped");
    // Each process unsubscribed on its way out (Expires: 0).
    let log = k.log();
    assert!(log.contains("SUBSCRIBE"), "{log}");
}

/// The other two statuses of `sip presence publish` as a watcher sees
/// them: alice available, carol busy, both watched by one `sip presence
/// watch` process.
#[test]
fn available_and_busy_are_seen_as_published() {
    let k = presence_server::start();
    let dir = Dir::new("presence-statuses");
    let alice = server_config(&dir.0, &k, "alice");
    let bob = server_config(&dir.0, &k, "bob");
    let carol = server_config(&dir.0, &k, "carol");
    let mut alice_pub = started(
        &alice,
        &[
            "presence",
            "publish",
            "--status",
            "available",
            "--note",
            "at my desk",
        ],
    );
    alice_pub.wait_for("published (for");
    let mut carol_pub = started(
        &carol,
        &[
            "presence",
            "publish",
            "--status",
            "busy",
            "--note",
            "in a meeting",
        ],
    );
    carol_pub.wait_for("published (for");
    let mut watcher = started(
        &bob,
        &[
            "presence",
            "watch",
            &format!("alice@{DOMAIN}"),
            &format!("carol@{DOMAIN}"),
        ],
    );
    watcher.wait_for("watching 2 contact(s)");
    // The two NOTIFYs come in either order.
    let line = watcher.saw(&format!("sip:alice@{DOMAIN}: available"));
    assert!(line.ends_with("available — at my desk"), "{line}");
    let line = watcher.saw(&format!("sip:carol@{DOMAIN}: busy"));
    assert!(line.ends_with("busy — in a meeting"), "{line}");
    for p in [&mut watcher, &mut alice_pub, &mut carol_pub] {
        p.terminate();
        assert_eq!(p.exit_code(15), Some(0));
    }
}

#[test]
fn a_message_summary_for_the_mailbox_reaches_sip_mwi() {
    let k = presence_server::start();
    let dir = Dir::new("mwi");
    let alice = server_config(&dir.0, &k, "alice");
    let mut mwi = started(&alice, &["mwi"]);
    mwi.wait_for("watching the voicemail");
    mwi.wait_for("voicemail: subscribed");

    // The voicemail system: bob's SDK account publishes a summary for
    // alice's mailbox (RFC 3842 §5's example counts).
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use sipsimple::application::SipApplication;
        use sipsimple::config::MemoryBackend;
        use sipsimple::publication::{PublicationOptions, PublicationState};
        let text = format!(
            "local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = [\"udp\"]\nudp_port = 0\n\
             [accounts.\"bob@{DOMAIN}\"]\nenabled = true\nregistration.enabled = false\n\
             auth.password = \"secret\"\nsip.outbound_proxy = \"sip:127.0.0.1:{}\"\n",
            k.udp
        );
        let app = SipApplication::new();
        app.start(MemoryBackend::with(text.parse().unwrap()))
            .await
            .unwrap();
        let bob = app
            .account_manager()
            .get_account(&format!("bob@{DOMAIN}"))
            .unwrap();
        let p = bob
            .publish_event(
                &format!("sip:alice@{DOMAIN}"),
                PublicationOptions {
                    event: "message-summary".into(),
                    expires: 600,
                    credentials: None,
                    tls_name: None,
                },
            )
            .await
            .unwrap();
        p.publish(
            "application/simple-message-summary",
            format!(
                "Messages-Waiting: yes\r\nMessage-Account: sip:alice@{DOMAIN}\r\n\
                 Voice-Message: 2/8 (0/2)\r\n"
            ),
        );
        for _ in 0..100 {
            if matches!(p.state(), PublicationState::Published { .. }) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let line = tokio::task::block_in_place(|| mwi.wait_for("messages waiting: yes"));
        assert!(
            line.contains("Voice-Message 2 new, 8 old (0/2 urgent)"),
            "{line}"
        );
        assert!(line.contains(&format!("[sip:alice@{DOMAIN}]")), "{line}");
        app.stop();
    });
    mwi.terminate();
    assert_eq!(mwi.exit_code(15), Some(0));
}

#[test]
fn with_no_server_a_watcher_subscribes_to_the_publisher_directly() {
    let dir = Dir::new("presence-direct");
    let alice_port = free_udp_port();
    let alice = local_config(&dir.0, "alice", alice_port, "");
    let bob = local_config(&dir.0, "bob", 0, "");
    let mut publisher = started(
        &alice,
        &[
            "presence",
            "publish",
            "--direct",
            "--status",
            "busy",
            "--note",
            "in a call",
        ],
    );
    publisher.wait_for("publishing alice@127.0.0.1 as busy — in a call");

    let alice_uri = format!("sip:alice@127.0.0.1:{alice_port}");
    let mut watcher = started(&bob, &["presence", "watch", &alice_uri]);
    let line = watcher.wait_for("busy");
    assert!(
        line.ends_with(&format!("{alice_uri}: busy — in a call")),
        "{line}"
    );
    let line = publisher.wait_for("watches us directly");
    assert!(line.starts_with("\"bob\" <sip:bob@127.0.0.1>"), "{line}");

    // The publisher going away ends the subscription from its side.
    publisher.terminate();
    assert_eq!(publisher.exit_code(15), Some(0));
    let line = watcher.wait_for("subscription ended");
    assert!(line.contains("remote side (noresource)"), "{line}");
    watcher.terminate();
    assert_eq!(watcher.exit_code(15), Some(0));
}

/// `sip --trace` writes each SIP message, sent and received, to standard
/// error; without it, none.
#[test]
fn trace_shows_the_sip_messages_on_stderr() {
    let dir = Dir::new("trace");
    let bob_port = free_udp_port();
    let bob = local_config(&dir.0, "bob", bob_port, "");
    let alice = local_config(&dir.0, "alice", 0, "");
    let mut listener = Proc::listen(&bob, &[]);
    let to = format!("sip:bob@127.0.0.1:{bob_port}");
    for traced in [true, false] {
        let mut c = sip(&alice);
        if traced {
            c.arg("--trace");
        }
        let out = c.args(["message", &to, "traced?"]).output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            err.contains(&format!("MESSAGE {to} SIP/2.0")),
            traced,
            "{err}"
        );
        assert_eq!(err.contains("SIP/2.0 200 OK"), traced, "{err}");
        assert_eq!(err.contains("---- sent udp"), traced, "{err}");
        listener.wait_for("traced?");
    }
}

/// `--ask`: each direct watcher waits, pending (RFC 6665), for the
/// user's answer: one refused sees its subscription rejected, one
/// allowed sees the status.
#[test]
fn a_publisher_that_asks_allows_one_watcher_and_refuses_another() {
    let dir = Dir::new("presence-ask");
    let alice_port = free_udp_port();
    let alice = local_config(&dir.0, "alice", alice_port, "");
    let bob = local_config(&dir.0, "bob", 0, "");
    let carol = local_config(&dir.0, "carol", 0, "");
    let mut publisher = started(
        &alice,
        &[
            "presence",
            "publish",
            "--direct",
            "--ask",
            "--status",
            "busy",
            "--note",
            "in a call",
        ],
    );
    publisher.wait_for("publishing alice@127.0.0.1");
    let alice_uri = format!("sip:alice@127.0.0.1:{alice_port}");

    let mut refused = started(&bob, &["presence", "watch", &alice_uri]);
    let q = publisher.wait_for("allow? [y/n]");
    assert!(q.starts_with("\"bob\" <sip:bob@127.0.0.1>"), "{q}");
    refused.wait_for(&format!("{alice_uri}: pending"));
    publisher.type_line("n");
    publisher.wait_for("may not watch us");
    let line = refused.wait_for("subscription ended");
    assert!(line.contains("(rejected)"), "{line}");
    assert!(
        !refused.seen.iter().any(|l| l.contains("busy")),
        "{:?}",
        refused.seen
    );

    let mut allowed = started(&carol, &["presence", "watch", &alice_uri]);
    publisher.wait_for("\"carol\" <sip:carol@127.0.0.1> asks to watch");
    publisher.type_line("y");
    let line = allowed.wait_for("busy");
    assert!(
        line.ends_with(&format!("{alice_uri}: busy — in a call")),
        "{line}"
    );
    for p in [&mut publisher, &mut refused, &mut allowed] {
        p.terminate();
        assert_eq!(p.exit_code(15), Some(0));
    }
}

/// Watchers at a presence server that asks the presentity's pres-rules
/// (RFC 5025, on Kamailio's XCAP server): bob and carol wait, pending;
/// `sip presence watchers --allow bob` lets bob see alice's status, and
/// `--ask` puts carol to the user, whose "n" denies her politely
/// (polite-block: active, but she never sees the status).
#[test]
fn sip_presence_watchers_allows_and_denies_pending_watchers_through_xcap() {
    let k = presence_server::start_with_xcap();
    let dir = Dir::new("presence-xcap");
    let xcap = format!("xcap.xcap_root = \"{}\"\n", k.xcap_root());
    let alice = server_config_with(&dir.0, &k, "alice", &xcap);
    let bob = server_config(&dir.0, &k, "bob");
    let carol = server_config(&dir.0, &k, "carol");

    let mut publisher = started(
        &alice,
        &[
            "presence", "publish", "--status", "away", "--note", "at lunch",
        ],
    );
    publisher.wait_for("published (for");
    let alice_uri = format!("sip:alice@{DOMAIN}");
    let mut bob_watch = started(&bob, &["presence", "watch", &alice_uri]);
    bob_watch.wait_for(&format!("{alice_uri}: pending"));
    let mut carol_watch = started(&carol, &["presence", "watch", &alice_uri]);
    carol_watch.wait_for(&format!("{alice_uri}: pending"));

    let mut watchers = started(
        &alice,
        &[
            "presence",
            "watchers",
            "--allow",
            &format!("bob@{DOMAIN}"),
            "--ask",
        ],
    );
    let line = watchers.wait_for("allowed");
    assert_eq!(
        line,
        format!("sip:bob@{DOMAIN}: allowed (pres-rules on the XCAP server)")
    );
    // bob now sees alice; carol, still pending, is put to the user.
    let line = bob_watch.wait_for("away");
    assert!(
        line.ends_with(&format!("{alice_uri}: away — at lunch")),
        "{line}"
    );
    let q = watchers.wait_for("allow? [y/n]");
    assert_eq!(
        q,
        format!("sip:carol@{DOMAIN} waits to watch our presence: allow? [y/n]")
    );
    watchers.saw(&format!("sip:bob@{DOMAIN}: active"));
    watchers.type_line("n");
    let line = watchers.wait_for("denied");
    assert!(
        line.starts_with(&format!("sip:carol@{DOMAIN}: denied")),
        "{line}"
    );

    // carol's subscription became active (polite-block) but showed her
    // nothing of alice's status.
    std::thread::sleep(Duration::from_secs(2));
    for p in [
        &mut publisher,
        &mut bob_watch,
        &mut carol_watch,
        &mut watchers,
    ] {
        p.terminate();
        assert_eq!(p.exit_code(15), Some(0));
    }
    assert!(
        !carol_watch.seen.iter().any(|l| l.contains("away")),
        "{:?}",
        carol_watch.seen
    );
    let log = k.log();
    assert!(
        log.contains("HTTP PUT /xcap-root/pres-rules/users/sip:alice@"),
        "{log}"
    );

    // Without an XCAP server configured the decision cannot be made: an
    // error naming the settings, exit 2 (the command's usage or
    // configuration errors).
    let (code, out) = run(
        &bob,
        &["presence", "watchers", "--deny", &format!("carol@{DOMAIN}")],
    );
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("xcap.xcap_root"), "{out}");
}
