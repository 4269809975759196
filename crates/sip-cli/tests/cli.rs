//! The `sip` binary as a person runs it: output and exit codes.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn sip(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sip"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run sip");
    let mut pipe = child.stdin.take().expect("stdin");
    pipe.write_all(stdin.unwrap_or_default())
        .expect("write stdin");
    drop(pipe);
    child.wait_with_output().expect("wait for sip")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn rfc4475(name: &str) -> String {
    format!("../sip-proto/tests/data/rfc4475/{name}")
}

fn sample(name: &str) -> Vec<u8> {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "samples", name]
        .iter()
        .collect();
    std::fs::read(path).expect("sample file")
}

#[test]
fn demo_two_agents_exchange_messages_on_loopback() {
    let o = sip(&["demo"], None);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    // Each side's application saw the other's MESSAGE, body intact, and
    // each sender got the 200.
    assert!(
        out.contains(r#"bob: got a MESSAGE from "Alice" <sip:alice@example.test>"#)
            && out.contains(r#"(text/plain): "Hello Bob, this is Alice.""#),
        "{out}"
    );
    assert!(
        out.contains(r#"alice: got a MESSAGE from "Bob" <sip:bob@example.test>"#)
            && out.contains(r#"(text/plain): "Hi Alice! Got it.""#),
        "{out}"
    );
    assert_eq!(out.matches("MESSAGE delivered: 200 OK").count(), 2, "{out}");
    // The wire: requests and answers shown, on loopback only.
    assert!(
        out.contains(">> 127.0.0.1:") && out.contains("<< 127.0.0.1:"),
        "{out}"
    );
    // The call: set up, a tone each way arrived at its frequency, ended.
    assert_eq!(out.matches("call started").count(), 2, "{out}");
    assert!(
        out.contains("bob received") && out.contains("loudest 440 Hz"),
        "{out}"
    );
    assert!(
        out.contains("alice received") && out.contains("loudest 1000 Hz"),
        "{out}"
    );
    assert!(out.contains("alice: call ended (local hung up)"), "{out}");
    assert!(out.contains("bob: call ended (remote hung up)"), "{out}");
    assert_eq!(out.matches("application stopped").count(), 2, "{out}");
    let longest = out.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(longest <= 160, "a line of {longest} characters");
}

#[test]
fn demo_samples_exits_zero_and_shows_samples() {
    let o = sip(&["demo", "--samples"], None);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    // The INVITE's Call-ID, read through the typed Call-ID view too.
    assert!(
        out.contains("Call-ID: a84b4c76e66710@pc33.atlanta.example.com"),
        "{out}"
    );
    assert!(
        out.contains("id=a84b4c76e66710  host=pc33.atlanta.example.com"),
        "{out}"
    );
    // The invalid torture message is refused, and why.
    assert!(
        out.contains("REFUSED: invalid To header: expected no whitespace inside <...>"),
        "{out}"
    );
    assert!(out.contains("a UAS would answer 400 Bad Request"), "{out}");
    // The multipart sample: both parts, the binary one as hex.
    assert!(out.contains("2 part(s)"), "{out}");
    assert!(out.contains("0000: 89 50 4e 47"), "{out}");
    assert!(out.contains("every sample was judged as expected"), "{out}");
    // Readable: no displayed line runs away.
    let longest = out.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(longest <= 160, "a line of {longest} characters");
}

#[test]
fn parse_valid_file_shows_typed_headers() {
    let o = sip(&["parse", &rfc4475("wsinv.dat")], None);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(out.contains("valid INVITE request"), "{out}");
    // Request-URI broken into parts.
    assert!(
        out.contains("scheme=sip  user=vivekg  host=chair-dnrc.example.com (domain)"),
        "{out}"
    );
    assert!(out.contains("params: unknownparam"), "{out}");
    // A folded Via with two values: each interpreted.
    assert!(
        out.contains("transport=TCP  host=spindle.example.com  branch=z9hG4bK9ikj8"),
        "{out}"
    );
    assert!(
        out.contains("transport=UDP  host=192.168.255.111  branch=z9hG4bK30239"),
        "{out}"
    );
    // From with an escaped quote in its display name, and its tag.
    assert!(
        out.contains("uri=sip:jdrosen@example.com  tag=98asjd8"),
        "{out}"
    );
    assert!(out.contains("seq=9  method=INVITE"), "{out}");
    assert!(out.contains("68 hops left"), "{out}");
    // The unknown header as it is, and the body as text.
    assert!(out.contains("NewFangledHeader: newfangled value continued newfangled value"));
    assert!(out.contains("| m=video 3227 RTP/AVP 31"), "{out}");
}

#[test]
fn parse_sample_shows_rport_and_digest() {
    let o = sip(
        &["parse", "samples/invite.sip", "samples/register.sip"],
        None,
    );
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(
        out.contains("branch=z9hG4bK776asdhds  rport=requested"),
        "{out}"
    );
    assert!(
        out.contains("scheme=Digest  username=bob  realm=biloxi.example.com"),
        "{out}"
    );
    assert!(
        out.contains("q=0.700 (preference)  expires=3600 s (1h)"),
        "{out}"
    );
}

#[test]
fn parse_invalid_file_exits_one_and_explains() {
    let o = sip(&["parse", &rfc4475("ltgtruri.dat")], None);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
    assert!(
        out.contains("REFUSED: malformed Request-URI: expected URI scheme"),
        "{out}"
    );
    assert!(out.contains("a UAS would answer 400 Bad Request"), "{out}");
    // Split anyway: the headers are still shown.
    assert!(out.contains("Call-ID: ltgtruri.1@192.0.2.5"), "{out}");
}

#[test]
fn refused_header_is_pointed_at() {
    let o = sip(&["parse", &rfc4475("badaspec.dat")], None);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1));
    let to = out
        .lines()
        .position(|l| l.starts_with("  To: "))
        .expect("To line");
    let next = out.lines().nth(to + 1).unwrap_or("");
    assert!(
        next.contains("! not valid: expected no whitespace"),
        "{out}"
    );
}

#[test]
fn unsplittable_message_shows_raw_head() {
    let o = sip(&["parse", &rfc4475("lwsstart.dat")], None);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(out.contains("REFUSED: malformed start line"), "{out}");
    assert!(
        out.contains(" >  1 | INVITE  sip:user@example.com  SIP/2.0"),
        "{out}"
    );
}

#[test]
fn stdin_input_works() {
    for args in [&["parse"][..], &["parse", "-"][..]] {
        let o = sip(args, Some(&sample("ok.sip")));
        let out = stdout(&o);
        assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
        assert!(out.contains("== <stdin> (698 bytes, datagram)"), "{out}");
        assert!(out.contains("valid 200 response"), "{out}");
        assert!(out.contains("received=192.0.2.101"), "{out}");
    }
}

#[test]
fn stream_frames_messages_and_pings() {
    let mut input = sample("invite.sip");
    input.extend_from_slice(b"\r\n\r\n");
    input.extend_from_slice(&sample("register.sip"));
    let o = sip(&["parse", "--stream"], Some(&input));
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert_eq!(out.matches("frame ").count(), 3, "{out}");
    assert_eq!(out.lines().filter(|l| l.ends_with(": message")).count(), 2);
    assert!(out.contains("frame 2: ping"), "{out}");
    assert!(
        out.contains("stream: 2 message(s), 0 invalid, 1 ping(s), 0 pong(s)"),
        "{out}"
    );
}

#[test]
fn stream_reports_leftover_bytes() {
    let mut input = sample("invite.sip");
    input.extend_from_slice(b"OPTIONS sip:a@b SIP/2.0\r\n");
    let o = sip(&["parse", "--stream", "-"], Some(&input));
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("incomplete: the last 25 bytes"), "{out}");
}

#[test]
fn missing_file_exits_two_with_one_line() {
    let o = sip(&["parse", "no/such/file.sip"], None);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("sip: cannot read no/such/file.sip"),
        "{err}"
    );
    assert!(!err.contains("backtrace"), "{err}");
}

#[test]
fn usage_error_exits_two() {
    let o = sip(&["parse", "--no-such-flag"], None);
    assert_eq!(o.status.code(), Some(2));
}

/// dnsmasq on a free loopback port with a small RFC 3263 zone; killed on drop.
struct Dns(std::process::Child, u16);

impl Drop for Dns {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn dnsmasq() -> Dns {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("dnsmasq")
        .args([
            "--no-daemon",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--pid-file=",
            "--listen-address=127.0.0.1",
            "--bind-interfaces",
            &format!("--port={port}"),
            "--local=/example.test/",
            "--host-record=p1.example.test,192.0.2.11",
            "--host-record=p3.example.test,192.0.2.13",
            "--naptr-record=example.test,10,50,S,SIP+D2T,,_sip._tcp.example.test",
            "--srv-host=_sip._tcp.example.test,p3.example.test,5070,10,0",
            "--srv-host=_stun._udp.example.test,p1.example.test,3479,1,0",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("dnsmasq is installed (scripts/test.sh installs dnsmasq-base)");
    let dns = Dns(child, port);
    // Ready when the port is taken.
    for _ in 0..50 {
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_err() {
            return dns;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("dnsmasq did not start");
}

#[test]
fn lookup_prints_queries_and_routes() {
    let dns = dnsmasq();
    let ns = format!("127.0.0.1:{}", dns.1);
    let o = sip(
        &[
            "lookup",
            "sip:example.test",
            "--nameserver",
            &ns,
            "--transports",
            "udp,tcp",
        ],
        None,
    );
    let out = stdout(&o);
    assert!(o.status.success(), "{out}{}", stderr(&o));
    assert!(out.contains("NAPTR   example.test"), "{out}");
    assert!(out.contains("1. TCP  192.0.2.13:5070"), "{out}");
    assert!(out.contains("sip:192.0.2.13:5070;transport=tcp"), "{out}");
    let o = sip(
        &[
            "lookup",
            "example.test",
            "--service",
            "stun",
            "--nameserver",
            &ns,
        ],
        None,
    );
    assert!(o.status.success());
    assert!(
        stdout(&o).contains("UDP  192.0.2.11:3479"),
        "{}",
        stdout(&o)
    );
    // Nothing found: exit 1 with the reason.
    let o = sip(
        &["lookup", "sip:nowhere.example.test", "--nameserver", &ns],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("no route"));
    // Bad input: one line, exit 2.
    let o = sip(&["lookup", "sip:x", "--transports", "carrier-pigeon"], None);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
}

/// RFC 3261 §8.1.1: a request without Call-ID or CSeq is not valid, and
/// `sip parse` names the header missing.
#[test]
fn parse_names_a_missing_mandatory_header() {
    let full = "OPTIONS sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
                To: <sip:bob@example.com>\r\nFrom: <sip:a@example.com>;tag=1\r\nCall-ID: c1\r\n\
                CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
    let o = sip(&["parse", "-"], Some(full.as_bytes()));
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    for (name, line) in [
        ("Call-ID", "Call-ID: c1\r\n"),
        ("CSeq", "CSeq: 1 OPTIONS\r\n"),
    ] {
        let o = sip(&["parse", "-"], Some(full.replace(line, "").as_bytes()));
        assert_eq!(o.status.code(), Some(1), "without {name}: {}", stdout(&o));
        assert!(
            stdout(&o).contains(&format!("missing {name} header")),
            "{}",
            stdout(&o)
        );
    }
}
