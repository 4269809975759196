//! The engine on real loopback sockets: two engines in one process talking
//! UDP and TCP, malformed input answered or dropped, a broken TCP peer cut
//! off, timers on real time (scaled down), secrets masked in traces.

use std::net::SocketAddr;
use std::time::Duration;

use sip_proto::headers::HeaderName;
use sip_proto::transaction::{Event, Target, TimerConfig};
use sip_proto::{Message, Method, Request, Response, StatusCode};
use sipsimple::engine::{Direction, Engine, EngineConfig, EngineEvent, TransportKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

mod common;
use common::{final_response, serve};

fn request(
    method: Method,
    n: u32,
    local: SocketAddr,
    t: TransportKind,
    peer: SocketAddr,
) -> Request {
    common::request(method, local, peer, t, n, n)
}

#[tokio::test]
async fn options_over_udp_between_two_engines() {
    let (a, mut a_events) = Engine::start(EngineConfig::default()).await.unwrap();
    let (b, b_events) = Engine::start(EngineConfig::default()).await.unwrap();
    serve(b.clone(), b_events);
    let (la, lb) = (
        a.local_addr(TransportKind::Udp).unwrap(),
        b.local_addr(TransportKind::Udp).unwrap(),
    );
    let req = request(Method::Options, 1, la, TransportKind::Udp, lb);
    a.send_request(
        req,
        Target {
            addr: lb,
            transport: TransportKind::Udp,
        },
    )
    .await
    .unwrap();
    let resp = final_response(&mut a_events).await;
    assert_eq!(resp.status, StatusCode::OK);
    // The UAS filled in rport with our real source port (RFC 3581).
    let via = resp.top_via_rport();
    assert_eq!(via, Some(la.port()));
    a.shutdown().await;
    b.shutdown().await;
}

trait ViaRport {
    fn top_via_rport(&self) -> Option<u16>;
}

impl ViaRport for Response {
    fn top_via_rport(&self) -> Option<u16> {
        self.headers
            .typed::<sip_proto::headers::Via>()?
            .ok()?
            .rport()?
    }
}

#[tokio::test]
async fn message_over_tcp_reuses_the_connection() {
    let (a, mut a_events) = Engine::start(EngineConfig::default()).await.unwrap();
    let (b, b_events) = Engine::start(EngineConfig::default()).await.unwrap();
    serve(b.clone(), b_events);
    let lb = b.local_addr(TransportKind::Tcp).unwrap();
    let la = a.local_addr(TransportKind::Tcp).unwrap();
    for n in 1..=3 {
        let req = request(Method::Message, n, la, TransportKind::Tcp, lb);
        let mut m = Message::Request(req);
        m.set_body("text/plain", "hello over tcp");
        let Message::Request(req) = m else {
            unreachable!()
        };
        a.send_request(
            req,
            Target {
                addr: lb,
                transport: TransportKind::Tcp,
            },
        )
        .await
        .unwrap();
        assert_eq!(final_response(&mut a_events).await.status, StatusCode::OK);
    }
    // One connection carried all three exchanges, both ways.
    assert_eq!(a.stats().await.unwrap().connections, 1);
    assert_eq!(b.stats().await.unwrap().connections, 1);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn malformed_requests_get_400_and_garbage_is_dropped() {
    let (b, b_events) = Engine::start(EngineConfig::default()).await.unwrap();
    serve(b.clone(), b_events);
    let lb = b.local_addr(TransportKind::Udp).unwrap();
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    sock.send_to(b"\x00\x01garbage that is no SIP", lb)
        .await
        .unwrap();
    // RFC 4475 mismatch01: CSeq method differs from the request method.
    let bad = b"OPTIONS sip:user@example.com SIP/2.0\r\nTo: sip:j.user@example.com\r\nFrom: sip:caller@example.net;tag=34525\r\nMax-Forwards: 6\r\nCall-ID: mismatch01.dj0234sxdfl3\r\nCSeq: 8 INVITE\r\nVia: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw\r\nl: 0\r\n\r\n";
    sock.send_to(bad, lb).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let (n, _) = timeout(Duration::from_secs(5), sock.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let resp = Message::parse(buf[..n].to_vec()).unwrap();
    assert_eq!(resp.as_response().unwrap().status.code(), 400);
    let stats = b.stats().await.unwrap();
    assert_eq!(stats.malformed, 2);
    b.shutdown().await;
}

#[tokio::test]
async fn a_tcp_peer_that_never_ends_its_head_is_cut_off() {
    let cfg = EngineConfig {
        limits: sip_proto::Limits {
            max_head_bytes: 4096,
            ..Default::default()
        },
        ..EngineConfig::default()
    };
    let (b, b_events) = Engine::start(cfg).await.unwrap();
    serve(b.clone(), b_events);
    let lb = b.local_addr(TransportKind::Tcp).unwrap();
    let mut s = tokio::net::TcpStream::connect(lb).await.unwrap();
    s.write_all(b"OPTIONS sip:a@b SIP/2.0\r\n").await.unwrap();
    let junk = vec![b'X'; 1024];
    // Keep writing a header line that never ends: the engine must close.
    let closed = timeout(Duration::from_secs(5), async {
        for _ in 0..64 {
            if s.write_all(&junk).await.is_err() {
                return true;
            }
        }
        let mut one = [0u8; 1];
        matches!(s.read(&mut one).await, Ok(0) | Err(_))
    })
    .await
    .unwrap();
    assert!(closed, "the connection should be closed by the engine");
    // The engine still serves others.
    let (a, mut a_events) = Engine::start(EngineConfig::default()).await.unwrap();
    let la = a.local_addr(TransportKind::Udp).unwrap();
    let lbu = b.local_addr(TransportKind::Udp).unwrap();
    a.send_request(
        request(Method::Options, 9, la, TransportKind::Udp, lbu),
        Target {
            addr: lbu,
            transport: TransportKind::Udp,
        },
    )
    .await
    .unwrap();
    assert_eq!(final_response(&mut a_events).await.status, StatusCode::OK);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn timer_f_on_real_time_when_nobody_answers() {
    let timers = TimerConfig {
        t1: Duration::from_millis(10),
        t2: Duration::from_millis(40),
        t4: Duration::from_millis(50),
    };
    let (a, mut events) = Engine::start(EngineConfig {
        timers,
        ..EngineConfig::default()
    })
    .await
    .unwrap();
    // A bound socket that never answers.
    let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let to = silent.local_addr().unwrap();
    let la = a.local_addr(TransportKind::Udp).unwrap();
    let started = tokio::time::Instant::now();
    let key = a
        .send_request(
            request(Method::Options, 3, la, TransportKind::Udp, to),
            Target {
                addr: to,
                transport: TransportKind::Udp,
            },
        )
        .await
        .unwrap();
    let timed_out = loop {
        let ev = timeout(Duration::from_secs(5), events.recv())
            .await
            .unwrap()
            .unwrap();
        if let EngineEvent::Transaction(Event::Timeout { key: k }) = ev {
            break k;
        }
    };
    assert_eq!(timed_out, key);
    // Timer F = 64·T1 = 640 ms (allow scheduling slack, never earlier).
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(640) && took < Duration::from_secs(3),
        "{took:?}"
    );
    // The silent peer saw the retransmissions (E: 10, 20, 40, 40, ... ms).
    let mut buf = vec![0u8; 4096];
    let mut copies = 0;
    while let Ok(Ok(_)) = timeout(Duration::from_millis(50), silent.recv_from(&mut buf)).await {
        copies += 1;
    }
    assert!(copies > 5, "only {copies} copies");
    a.shutdown().await;
}

#[tokio::test]
async fn traces_mask_credentials() {
    let cfg = EngineConfig {
        trace: true,
        ..EngineConfig::default()
    };
    let (a, mut events) = Engine::start(cfg).await.unwrap();
    let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let to = silent.local_addr().unwrap();
    let la = a.local_addr(TransportKind::Udp).unwrap();
    let mut req = request(Method::Register, 4, la, TransportKind::Udp, to);
    req.headers.push(
        HeaderName::Authorization,
        r#"Digest username="bob", realm="r", nonce="n", uri="sip:r", response="6629fae49393a05397450978507c4ef1""#,
    );
    a.send_request(
        req,
        Target {
            addr: to,
            transport: TransportKind::Udp,
        },
    )
    .await
    .unwrap();
    let trace = loop {
        if let EngineEvent::Trace(t) = timeout(Duration::from_secs(5), events.recv())
            .await
            .unwrap()
            .unwrap()
        {
            break t;
        }
    };
    assert_eq!(trace.direction, Direction::Sent);
    assert!(trace.text.contains("REGISTER"));
    assert!(trace.text.contains("Authorization: ***masked***"));
    assert!(!trace.text.contains("6629fae4"), "{}", trace.text);
    a.shutdown().await;
}

#[tokio::test]
async fn a_request_too_large_for_udp_goes_over_tcp() {
    let (a, mut a_events) = Engine::start(EngineConfig::default()).await.unwrap();
    let (b, b_events) = Engine::start(EngineConfig::default()).await.unwrap();
    let mut seen = serve(b.clone(), b_events);
    let la = a.local_addr(TransportKind::Udp).unwrap();
    // Aimed at UDP, the request must arrive over TCP: the target is B's TCP
    // port (a deployment listens on one port for both).
    let lb = b.local_addr(TransportKind::Tcp).unwrap();
    let mut m = Message::Request(request(Method::Message, 40, la, TransportKind::Udp, lb));
    m.set_body("text/plain", "x".repeat(2000));
    let Message::Request(req) = m else {
        unreachable!()
    };
    // RFC 3261 §18.1.1: over 1300 bytes with an unknown path MTU → TCP.
    a.send_request(
        req,
        Target {
            addr: lb,
            transport: TransportKind::Udp,
        },
    )
    .await
    .unwrap();
    assert_eq!(final_response(&mut a_events).await.status, StatusCode::OK);
    let (got, source) = timeout(Duration::from_secs(5), seen.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(source.transport, TransportKind::Tcp);
    let via = got
        .headers
        .typed::<sip_proto::headers::Via>()
        .unwrap()
        .unwrap();
    assert_eq!(via.transport, sip_proto::headers::Transport::Tcp);
    assert_eq!(got.body.len(), 2000);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn ipv6_loopback() {
    let cfg = || EngineConfig {
        bind: "::1".parse().unwrap(),
        ..EngineConfig::default()
    };
    let (a, mut a_events) = Engine::start(cfg()).await.unwrap();
    let (b, b_events) = Engine::start(cfg()).await.unwrap();
    let mut seen = serve(b.clone(), b_events);
    for t in [TransportKind::Udp, TransportKind::Tcp] {
        let (la, lb) = (a.local_addr(t).unwrap(), b.local_addr(t).unwrap());
        assert!(lb.is_ipv6());
        a.send_request(
            request(Method::Options, 50 + t as u32, la, t, lb),
            Target {
                addr: lb,
                transport: t,
            },
        )
        .await
        .unwrap();
        assert_eq!(final_response(&mut a_events).await.status, StatusCode::OK);
        let (_, source) = seen.recv().await.unwrap();
        assert_eq!((source.addr.ip(), source.transport), (la.ip(), t));
    }
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn idle_connections_close_and_pings_get_pongs() {
    let cfg = EngineConfig {
        idle_timeout: Duration::from_millis(300),
        ..EngineConfig::default()
    };
    let (b, b_events) = Engine::start(cfg).await.unwrap();
    serve(b.clone(), b_events);
    let lb = b.local_addr(TransportKind::Tcp).unwrap();
    let mut s = tokio::net::TcpStream::connect(lb).await.unwrap();
    // RFC 5626 §4.4.1: CRLFCRLF ping, CRLF pong.
    s.write_all(b"\r\n\r\n").await.unwrap();
    let mut pong = [0u8; 2];
    timeout(Duration::from_secs(2), s.read_exact(&mut pong))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&pong, b"\r\n");
    assert_eq!(b.stats().await.unwrap().connections, 1);
    // Silence for longer than the idle timeout: the engine hangs up.
    let mut one = [0u8; 1];
    let n = timeout(Duration::from_secs(3), s.read(&mut one))
        .await
        .unwrap()
        .unwrap_or(0);
    assert_eq!(n, 0, "closed by the engine");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(b.stats().await.unwrap().connections, 0);
    b.shutdown().await;
}

#[tokio::test]
async fn connections_beyond_the_limit_are_refused() {
    let cfg = EngineConfig {
        max_connections: 1,
        ..EngineConfig::default()
    };
    let (b, b_events) = Engine::start(cfg).await.unwrap();
    serve(b.clone(), b_events);
    let lb = b.local_addr(TransportKind::Tcp).unwrap();
    let mut first = tokio::net::TcpStream::connect(lb).await.unwrap();
    first.write_all(b"\r\n\r\n").await.unwrap();
    let mut pong = [0u8; 2];
    timeout(Duration::from_secs(2), first.read_exact(&mut pong))
        .await
        .unwrap()
        .unwrap();
    let mut second = tokio::net::TcpStream::connect(lb).await.unwrap();
    let mut one = [0u8; 1];
    let n = timeout(Duration::from_secs(2), second.read(&mut one))
        .await
        .unwrap()
        .unwrap_or(0);
    assert_eq!(n, 0, "the second connection is closed at once");
    assert_eq!(b.stats().await.unwrap().connections, 1);
    b.shutdown().await;
}

/// At `max_connections`, a request that needs a new connection fails at
/// once (a transport error, RFC 3261 §17.1.4) instead of waiting in a
/// queue nothing would ever send; once the open connection is gone, the
/// same destination is connected (nothing was left behind for it).
#[tokio::test]
async fn at_the_connection_limit_new_destinations_fail_at_once_and_later_work() {
    let cfg = EngineConfig {
        max_connections: 1,
        idle_timeout: Duration::from_millis(500),
        ..EngineConfig::default()
    };
    let (a, mut a_events) = Engine::start(cfg).await.unwrap();
    let (b, b_events) = Engine::start(EngineConfig::default()).await.unwrap();
    let (c, c_events) = Engine::start(EngineConfig::default()).await.unwrap();
    serve(b.clone(), b_events);
    serve(c.clone(), c_events);
    let la = a.local_addr(TransportKind::Tcp).unwrap();
    let (lb, lc) = (
        b.local_addr(TransportKind::Tcp).unwrap(),
        c.local_addr(TransportKind::Tcp).unwrap(),
    );
    let tcp = |addr| Target {
        addr,
        transport: TransportKind::Tcp,
    };
    a.send_request(
        request(Method::Options, 1, la, TransportKind::Tcp, lb),
        tcp(lb),
    )
    .await
    .unwrap();
    assert_eq!(final_response(&mut a_events).await.status, StatusCode::OK);

    let started = std::time::Instant::now();
    a.send_request(
        request(Method::Options, 2, la, TransportKind::Tcp, lc),
        tcp(lc),
    )
    .await
    .unwrap();
    loop {
        let ev = timeout(Duration::from_secs(5), a_events.recv())
            .await
            .expect("the request fails within 5 s, not after Timer F")
            .unwrap();
        match ev {
            EngineEvent::Transaction(Event::Timeout { .. }) => break,
            EngineEvent::Transaction(Event::Response { response, .. }) => {
                panic!("no connection was possible, yet {response:?}")
            }
            _ => {}
        }
    }
    assert!(started.elapsed() < Duration::from_secs(5));

    // The idle connection to b closes; c can be reached now.
    timeout(Duration::from_secs(10), async {
        while a.stats().await.unwrap().connections > 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the idle connection closes");
    a.send_request(
        request(Method::Options, 3, la, TransportKind::Tcp, lc),
        tcp(lc),
    )
    .await
    .unwrap();
    assert_eq!(final_response(&mut a_events).await.status, StatusCode::OK);
    a.shutdown().await;
    b.shutdown().await;
    c.shutdown().await;
}

#[tokio::test]
async fn keepalive_ping_gets_a_pong_from_the_peer_engine() {
    let (a, mut a_events) = Engine::start(EngineConfig::default()).await.unwrap();
    let (b, b_events) = Engine::start(EngineConfig::default()).await.unwrap();
    serve(b.clone(), b_events);
    let (la, lb) = (
        a.local_addr(TransportKind::Tcp).unwrap(),
        b.local_addr(TransportKind::Tcp).unwrap(),
    );
    let target = Target {
        addr: lb,
        transport: TransportKind::Tcp,
    };
    a.send_request(
        request(Method::Options, 60, la, TransportKind::Tcp, lb),
        target,
    )
    .await
    .unwrap();
    assert_eq!(final_response(&mut a_events).await.status, StatusCode::OK);
    a.send_keepalive(target).await.unwrap();
    let pong = loop {
        match timeout(Duration::from_secs(5), a_events.recv())
            .await
            .unwrap()
            .unwrap()
        {
            EngineEvent::Pong(t) => break t,
            _ => continue,
        }
    };
    assert_eq!(pong, target);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn a_tracked_request_gets_its_answers_apart_from_the_event_stream() {
    let (a, mut a_events) = Engine::start(EngineConfig::default()).await.unwrap();
    let (b, b_events) = Engine::start(EngineConfig::default()).await.unwrap();
    serve(b.clone(), b_events);
    let la = a.local_addr(TransportKind::Udp).unwrap();
    let lb = b.local_addr(TransportKind::Udp).unwrap();
    let target = Target {
        addr: lb,
        transport: TransportKind::Udp,
    };
    let mut answers = a
        .request(
            request(Method::Options, 71, la, TransportKind::Udp, lb),
            target,
            None,
        )
        .await
        .unwrap();
    let r = timeout(Duration::from_secs(10), answers.final_response())
        .await
        .unwrap()
        .expect("a final response");
    assert_eq!(r.status, StatusCode::OK);
    // An untracked request still reports on the stream, and the tracked
    // one's response did not go there.
    a.send_request(
        request(Method::Options, 72, la, TransportKind::Udp, lb),
        target,
    )
    .await
    .unwrap();
    let r = final_response(&mut a_events).await;
    assert_eq!(
        r.headers.get_str(&HeaderName::CSeq),
        Some("72 OPTIONS"),
        "the first response on the stream is the untracked one"
    );

    // A tracked request nobody answers ends with None (Timer F, scaled).
    let (quiet, _quiet_events) = Engine::start(EngineConfig {
        timers: TimerConfig {
            t1: Duration::from_millis(10),
            t2: Duration::from_millis(40),
            t4: Duration::from_millis(50),
        },
        ..EngineConfig::default()
    })
    .await
    .unwrap();
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let lq = quiet.local_addr(TransportKind::Udp).unwrap();
    let dead = silent.local_addr().unwrap();
    let mut answers = quiet
        .request(
            request(Method::Options, 73, lq, TransportKind::Udp, dead),
            Target {
                addr: dead,
                transport: TransportKind::Udp,
            },
            None,
        )
        .await
        .unwrap();
    let r = timeout(Duration::from_secs(10), answers.final_response())
        .await
        .unwrap();
    assert!(r.is_none());
}
