//! The transaction layer on virtual time: two or more user agents wired by
//! an in-memory network that drops, duplicates, delays and reorders
//! datagrams (`sim_net::DatagramNetwork`). Times asserted are RFC 3261 §17's.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sim_net::{next_event, DatagramNetwork, Rng};
use sip_proto::headers::{CSeq, HeaderName, To, Via};
use sip_proto::transaction::{
    ClientKey, Event, ServerKey, Target, TimerConfig, Transactions, TransportKind,
};
use sip_proto::uri::Uri;
use sip_proto::{Message, Method, Request, Response, StatusCode};

/// What a test user agent does with its events.
#[derive(Clone, Copy, PartialEq)]
enum Role {
    /// Answers every request: INVITE with 180 then `invite_status`,
    /// others with 200. Retransmits a 2xx to INVITE until the ACK, as the
    /// UA core must (RFC 3261 §13.3.1.4).
    Uas { invite_status: u16 },
    /// Only records.
    Uac,
}

struct Node {
    addr: SocketAddr,
    tx: Transactions,
    role: Role,
    log: Vec<(Duration, Event)>,
    /// 2xx responses awaiting ACK: (response bytes target, message, next, interval)
    pending_2xx: Vec<(Target, Message, Instant, Duration, String)>,
}

struct Sim {
    start: Instant,
    now: Instant,
    nodes: Vec<Node>,
    /// Datagrams: (to node, from, bytes).
    net: DatagramNetwork<(usize, Target, Bytes)>,
    sent: Vec<(Duration, usize, SocketAddr, Bytes)>,
}

fn addr(i: usize) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 5060 + i as u16))
}

impl Sim {
    fn new(seed: u64, loss: f64, dup: f64, cfg: TimerConfig, roles: &[Role]) -> Sim {
        let start = Instant::now();
        Sim {
            start,
            now: start,
            nodes: roles
                .iter()
                .enumerate()
                .map(|(i, role)| Node {
                    addr: addr(i),
                    tx: Transactions::new(cfg),
                    role: *role,
                    log: Vec::new(),
                    pending_2xx: Vec::new(),
                })
                .collect(),
            net: DatagramNetwork::new(Rng::new(seed), loss, dup),
            sent: Vec::new(),
        }
    }

    fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    fn target(i: usize) -> Target {
        Target {
            addr: addr(i),
            transport: TransportKind::Udp,
        }
    }

    fn node_of(&self, a: SocketAddr) -> Option<usize> {
        self.nodes.iter().position(|n| n.addr == a)
    }

    /// Moves transmits onto the wire (lossy) and handles events.
    fn drain(&mut self) {
        loop {
            let mut progressed = false;
            for i in 0..self.nodes.len() {
                while let Some(t) = self.nodes[i].tx.poll_transmit() {
                    progressed = true;
                    self.sent
                        .push((self.elapsed(), i, t.target.addr, t.data.clone()));
                    let Some(to) = self.node_of(t.target.addr) else {
                        continue;
                    };
                    let from = Target {
                        addr: self.nodes[i].addr,
                        transport: TransportKind::Udp,
                    };
                    self.net.send(self.now, (to, from, t.data.clone()));
                }
                while let Some(e) = self.nodes[i].tx.poll_event() {
                    progressed = true;
                    self.on_event(i, e);
                }
            }
            if !progressed {
                break;
            }
        }
    }

    fn on_event(&mut self, i: usize, e: Event) {
        let now = self.now;
        let elapsed = self.elapsed();
        let node = &mut self.nodes[i];
        node.log.push((elapsed, e.clone()));
        match (&node.role, e) {
            (Role::Uas { invite_status }, Event::Request { key, request, .. }) => {
                if request.method == Method::Invite {
                    let ringing = Response::for_request(&request, StatusCode::RINGING, Some("uas"));
                    node.tx.send_response(now, &key, ringing).unwrap();
                    let status = StatusCode::new(*invite_status).unwrap();
                    let resp = Response::for_request(&request, status, Some("uas"));
                    if status.is_success() {
                        let via = request.headers.typed::<Via>().unwrap().unwrap();
                        let target = Target {
                            addr: SocketAddr::new(
                                "127.0.0.1".parse().unwrap(),
                                via.rport().flatten().or(via.port).unwrap_or(5060),
                            ),
                            transport: TransportKind::Udp,
                        };
                        let call_id = request
                            .headers
                            .get_str(&HeaderName::CallId)
                            .unwrap()
                            .to_owned();
                        let t1 = node.tx.config().t1;
                        node.pending_2xx.push((
                            target,
                            Message::Response(resp.clone()),
                            now + t1,
                            t1,
                            call_id,
                        ));
                    }
                    node.tx.send_response(now, &key, resp).unwrap();
                } else {
                    let resp = Response::for_request(&request, StatusCode::OK, Some("uas"));
                    node.tx.send_response(now, &key, resp).unwrap();
                }
            }
            (Role::Uas { .. }, Event::Ack { request, .. }) => {
                let call_id = request
                    .headers
                    .get_str(&HeaderName::CallId)
                    .unwrap()
                    .to_owned();
                node.pending_2xx.retain(|p| p.4 != call_id);
            }
            (Role::Uac, Event::Response { key, response })
                if key.method == Method::Invite && response.status.is_success() =>
            {
                // ACK for a 2xx: a new transaction-less request (§13.2.2.4).
                let to = self_target_of(&response);
                let ack = ack_for_2xx(&response, node.addr);
                node.tx.send_stateless(to, &Message::Request(ack));
            }
            _ => {}
        }
    }

    /// The UA-core 2xx retransmissions (T1 doubling up to T2).
    fn retransmit_2xx(&mut self) {
        let now = self.now;
        for node in &mut self.nodes {
            let t2 = node.tx.config().t2;
            let mut due = Vec::new();
            for p in &mut node.pending_2xx {
                if p.2 <= now {
                    due.push((p.0, p.1.clone()));
                    p.3 = (p.3 * 2).min(t2);
                    p.2 = now + p.3;
                }
            }
            for (t, m) in due {
                node.tx.send_stateless(t, &m);
            }
        }
    }

    fn next_time(&self, limit: Instant) -> Option<Instant> {
        let wire = self.net.next_due();
        let timers = self.nodes.iter().filter_map(|n| n.tx.poll_timeout()).min();
        let twoxx = self
            .nodes
            .iter()
            .flat_map(|n| n.pending_2xx.iter().map(|p| p.2))
            .min();
        next_event([wire, timers, twoxx], limit)
    }

    /// Runs until nothing is scheduled or `limit` of virtual time passed.
    fn run(&mut self, limit: Duration) {
        self.drain();
        while let Some(t) = self.next_time(self.start + limit) {
            self.now = self.now.max(t);
            for (to, from, data) in self.net.take_due(self.now) {
                let msg = Message::parse(data).expect("our own messages parse");
                self.nodes[to].tx.handle_message(self.now, msg, from);
            }
            for n in &mut self.nodes {
                n.tx.handle_timeout(self.now);
            }
            self.retransmit_2xx();
            self.drain();
        }
    }

    fn send(&mut self, from: usize, to: usize, req: Request) -> ClientKey {
        let key = self.nodes[from]
            .tx
            .send_request(self.now, req, Sim::target(to))
            .unwrap();
        self.drain();
        key
    }
}

fn self_target_of(response: &Response) -> Target {
    // Tests send to the UAS at node 1's address.
    let _ = response;
    Target {
        addr: addr(1),
        transport: TransportKind::Udp,
    }
}

fn ack_for_2xx(response: &Response, local: SocketAddr) -> Request {
    let mut ack = Request::new(Method::Ack, &Uri::parse("sip:bob@127.0.0.1:5061").unwrap());
    let h = &mut ack.headers;
    h.push(
        HeaderName::Via,
        format!(
            "SIP/2.0/UDP {local};branch=z9hG4bKack{}",
            response.headers.get_str(&HeaderName::CallId).unwrap()
        ),
    );
    for name in [HeaderName::From, HeaderName::To, HeaderName::CallId] {
        h.push(
            name.clone(),
            response.headers.get_str(&name).unwrap().to_owned(),
        );
    }
    let cseq = response.headers.typed::<CSeq>().unwrap().unwrap();
    h.push(HeaderName::CSeq, format!("{} ACK", cseq.seq));
    h.push(HeaderName::ContentLength, "0");
    ack
}

fn request(method: Method, n: u32, local: SocketAddr) -> Request {
    let mut r = Request::new(
        method.clone(),
        &Uri::parse("sip:bob@127.0.0.1:5061").unwrap(),
    );
    let h = &mut r.headers;
    h.push(
        HeaderName::Via,
        format!("SIP/2.0/UDP {local};branch=z9hG4bK{method}{n};rport"),
    );
    h.push(HeaderName::MaxForwards, "70");
    h.push(HeaderName::From, format!("<sip:alice@127.0.0.1>;tag=a{n}"));
    h.push(HeaderName::To, "<sip:bob@127.0.0.1>");
    h.push(HeaderName::CallId, format!("call{method}{n}"));
    h.push(HeaderName::CSeq, format!("{n} {method}"));
    h.push(HeaderName::ContentLength, "0");
    r
}

fn finals(node: &Node) -> Vec<(ClientKey, u16)> {
    node.log
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Response { key, response } if response.status.is_final() => {
                Some((key.clone(), response.status.code()))
            }
            _ => None,
        })
        .collect()
}

fn timeouts(node: &Node) -> Vec<(Duration, ClientKey)> {
    node.log
        .iter()
        .filter_map(|(t, e)| match e {
            Event::Timeout { key } => Some((*t, key.clone())),
            _ => None,
        })
        .collect()
}

const UAS_OK: Role = Role::Uas { invite_status: 200 };

#[test]
fn non_invite_completes_under_30_percent_loss() {
    let mut resent = 0;
    for seed in 1..=40u64 {
        let mut sim = Sim::new(
            seed,
            0.30,
            0.10,
            TimerConfig::default(),
            &[Role::Uac, UAS_OK],
        );
        let key = sim.send(0, 1, request(Method::Message, seed as u32, addr(0)));
        sim.run(Duration::from_secs(120));
        let f = finals(&sim.nodes[0]);
        assert_eq!(
            f.len(),
            1,
            "seed {seed}: exactly one final response passed up: {f:?}"
        );
        assert_eq!(f[0], (key, 200));
        assert!(timeouts(&sim.nodes[0]).is_empty(), "seed {seed}");
        // The UAS saw the request once however often it was retransmitted.
        let requests = sim.nodes[1]
            .log
            .iter()
            .filter(|(_, e)| matches!(e, Event::Request { .. }))
            .count();
        assert_eq!(requests, 1, "seed {seed}");
        assert!(
            sim.nodes.iter().all(|n| n.tx.is_empty()),
            "seed {seed}: transactions outlived their timers"
        );
        // Without loss: one request, one response.
        resent += sim.sent.len() - 2;
    }
    // The loss really bit: retransmissions carried the exchanges.
    assert!(resent > 40, "only {resent} retransmissions in 40 runs");
}

#[test]
fn invite_completes_under_30_percent_loss() {
    let mut resent = 0;
    for seed in 1..=40u64 {
        let mut sim = Sim::new(
            seed,
            0.30,
            0.10,
            TimerConfig::default(),
            &[Role::Uac, UAS_OK],
        );
        let key = sim.send(0, 1, request(Method::Invite, seed as u32, addr(0)));
        sim.run(Duration::from_secs(200));
        let f = finals(&sim.nodes[0]);
        assert!(!f.is_empty(), "seed {seed}: no final response");
        assert!(
            f.iter().all(|(k, s)| *k == key && *s == 200),
            "seed {seed}: {f:?}"
        );
        // The UAS got the ACK for its 2xx and stopped retransmitting.
        assert!(
            sim.nodes[1].pending_2xx.is_empty(),
            "seed {seed}: 2xx never ACKed"
        );
        assert!(
            sim.nodes.iter().all(|n| n.tx.is_empty()),
            "seed {seed}: transactions outlived their timers"
        );
        // Without loss: INVITE, 100, 180, 200, ACK.
        resent += sim.sent.len() - 5;
    }
    assert!(resent > 40, "only {resent} retransmissions in 40 runs");
}

#[test]
fn invite_rejected_under_30_percent_loss_is_acked_by_the_transaction() {
    for seed in 1..=40u64 {
        let roles = [Role::Uac, Role::Uas { invite_status: 486 }];
        let mut sim = Sim::new(seed, 0.30, 0.10, TimerConfig::default(), &roles);
        let key = sim.send(0, 1, request(Method::Invite, seed as u32, addr(0)));
        sim.run(Duration::from_secs(200));
        assert_eq!(finals(&sim.nodes[0]), [(key, 486)], "seed {seed}");
        // Timer H did not fire: the transaction's ACK got through.
        let ack_timeouts = sim.nodes[1]
            .log
            .iter()
            .filter(|(_, e)| matches!(e, Event::AckTimeout { .. }))
            .count();
        assert_eq!(ack_timeouts, 0, "seed {seed}");
        assert!(sim.nodes.iter().all(|n| n.tx.is_empty()), "seed {seed}");
    }
}

fn send_times(sim: &Sim, from: usize) -> Vec<Duration> {
    sim.sent
        .iter()
        .filter(|s| s.1 == from)
        .map(|s| s.0)
        .collect()
}

#[test]
fn timer_e_and_f_at_rfc_times() {
    let cfg = TimerConfig::default();
    // Node 1 does not exist on the wire: every request is lost.
    let mut sim = Sim::new(7, 1.0, 0.0, cfg, &[Role::Uac]);
    let key = sim.send(0, 1, request(Method::Options, 1, addr(0)));
    sim.run(Duration::from_secs(100));
    let ms = |m: u64| Duration::from_millis(m);
    // E: T1, 2T1, 4T1, then T2 (4 s) until F = 64·T1 = 32 s.
    let expected: Vec<_> = [
        0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500,
    ]
    .into_iter()
    .map(ms)
    .collect();
    assert_eq!(send_times(&sim, 0), expected);
    assert_eq!(timeouts(&sim.nodes[0]), [(cfg.timeout(), key)]);
    assert!(sim.nodes[0].tx.is_empty());
}

#[test]
fn timer_a_and_b_at_rfc_times() {
    let cfg = TimerConfig::default();
    let mut sim = Sim::new(7, 1.0, 0.0, cfg, &[Role::Uac]);
    let key = sim.send(0, 1, request(Method::Invite, 1, addr(0)));
    sim.run(Duration::from_secs(100));
    let ms = |m: u64| Duration::from_millis(m);
    // A doubles without bound: 0.5, 1, 2, 4, 8, 16 s; B = 64·T1 = 32 s.
    let expected: Vec<_> = [0, 500, 1500, 3500, 7500, 15500, 31500]
        .into_iter()
        .map(ms)
        .collect();
    assert_eq!(send_times(&sim, 0), expected);
    assert_eq!(timeouts(&sim.nodes[0]), [(Duration::from_secs(32), key)]);
    assert!(sim.nodes[0].tx.is_empty());
}

#[test]
fn configurable_t1_scales_timers() {
    let cfg = TimerConfig {
        t1: Duration::from_millis(100),
        t2: Duration::from_millis(400),
        t4: Duration::from_millis(500),
    };
    let mut sim = Sim::new(7, 1.0, 0.0, cfg, &[Role::Uac]);
    let key = sim.send(0, 1, request(Method::Options, 1, addr(0)));
    sim.run(Duration::from_secs(100));
    assert_eq!(
        timeouts(&sim.nodes[0]),
        [(Duration::from_millis(6400), key)]
    );
}

#[test]
fn timer_h_fires_when_ack_never_comes() {
    // The UAC never answers: hand-feed the INVITE to a lone UAS.
    let cfg = TimerConfig::default();
    let mut uas = Transactions::new(cfg);
    let t0 = Instant::now();
    let src = Target {
        addr: addr(0),
        transport: TransportKind::Udp,
    };
    let inv = request(Method::Invite, 1, addr(0));
    uas.handle_message(t0, Message::Request(inv.clone()), src);
    let key = match uas.poll_event() {
        Some(Event::Request { key, .. }) => key,
        other => panic!("{other:?}"),
    };
    uas.send_response(
        t0,
        &key,
        Response::for_request(&inv, StatusCode::new(486).unwrap(), Some("x")),
    )
    .unwrap();
    let mut sent = Vec::new();
    let mut now = t0;
    while let Some(t) = uas.poll_timeout() {
        now = t;
        uas.handle_timeout(now);
        while let Some(x) = uas.poll_transmit() {
            sent.push((now - t0, x.retransmission));
        }
    }
    // Timer G: 486 resent at 0.5, 1.5, 3.5, 7.5, then every T2 until H.
    let resends: Vec<_> = sent
        .iter()
        .filter(|s| s.1)
        .map(|s| s.0.as_millis())
        .collect();
    assert_eq!(
        resends,
        [500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]
    );
    let events: Vec<_> = std::iter::from_fn(|| uas.poll_event()).collect();
    assert!(events.contains(&Event::AckTimeout { key: key.clone() }));
    assert_eq!(now - t0, cfg.timeout());
    assert!(uas.is_empty());
}

#[test]
fn server_absorbs_retransmissions_and_resends_last_response() {
    let mut uas = Transactions::new(TimerConfig::default());
    let t0 = Instant::now();
    let src = Target {
        addr: addr(0),
        transport: TransportKind::Udp,
    };
    let req = request(Method::Options, 5, addr(0));
    uas.handle_message(t0, Message::Request(req.clone()), src);
    let Some(Event::Request { key, request, .. }) = uas.poll_event() else {
        panic!()
    };
    // rport filled in, received not needed (sent-by is the source IP).
    let via = request.headers.typed::<Via>().unwrap().unwrap();
    assert_eq!(via.rport(), Some(Some(5060)));
    // Trying: a retransmission is absorbed silently.
    uas.handle_message(t0, Message::Request(req.clone()), src);
    assert_eq!(uas.poll_transmit(), None);
    assert_eq!(uas.poll_event(), None);
    uas.send_response(
        t0,
        &key,
        Response::for_request(&request, StatusCode::OK, Some("t")),
    )
    .unwrap();
    let first = uas.poll_transmit().unwrap();
    // Completed: the retransmission gets the same 200 again.
    uas.handle_message(t0, Message::Request(req), src);
    let again = uas.poll_transmit().unwrap();
    assert_eq!(again.data, first.data);
    assert!(again.retransmission);
    // A second final response is refused with the state named.
    let err = uas
        .send_response(
            t0,
            &key,
            Response::for_request(&request, StatusCode::OK, Some("t")),
        )
        .unwrap_err();
    assert!(err.to_string().contains("Completed"), "{err}");
    // Timer J (64·T1 on UDP) ends it.
    uas.handle_timeout(t0 + Duration::from_secs(32));
    assert!(uas.is_empty());
}

#[test]
fn cancel_of_pending_invite() {
    let cfg = TimerConfig::default();
    let mut uac = Transactions::new(cfg);
    let mut uas = Transactions::new(cfg);
    let t0 = Instant::now();
    let to_uas = Target {
        addr: addr(1),
        transport: TransportKind::Udp,
    };
    let to_uac = Target {
        addr: addr(0),
        transport: TransportKind::Udp,
    };
    let pump = |from: &mut Transactions, to: &mut Transactions, src: Target| {
        while let Some(t) = from.poll_transmit() {
            to.handle_message(t0, Message::parse(t.data).unwrap(), src);
        }
    };
    let inv_key = uac
        .send_request(t0, request(Method::Invite, 9, addr(0)), to_uas)
        .unwrap();
    pump(&mut uac, &mut uas, to_uac);
    let Some(Event::Request {
        key: skey,
        request: inv,
        ..
    }) = uas.poll_event()
    else {
        panic!()
    };
    pump(&mut uas, &mut uac, to_uas); // 100 Trying
    uas.send_response(
        t0,
        &skey,
        Response::for_request(&inv, StatusCode::RINGING, Some("b")),
    )
    .unwrap();
    pump(&mut uas, &mut uac, to_uas);
    let cancel_key = uac.cancel(t0, &inv_key).unwrap();
    assert_eq!(cancel_key.branch, inv_key.branch);
    pump(&mut uac, &mut uas, to_uac);
    assert_eq!(
        uas.poll_event(),
        Some(Event::Cancelled {
            invite: skey.clone()
        })
    );
    uas.send_response(
        t0,
        &skey,
        Response::for_request(&inv, StatusCode::REQUEST_TERMINATED, Some("b")),
    )
    .unwrap();
    pump(&mut uas, &mut uac, to_uas); // 200 to CANCEL, 487 to INVITE
    let codes: Vec<_> = std::iter::from_fn(|| uac.poll_event())
        .filter_map(|e| match e {
            Event::Response { key, response } => Some((key.method, response.status.code())),
            _ => None,
        })
        .collect();
    assert!(codes.contains(&(Method::Cancel, 200)), "{codes:?}");
    assert!(codes.contains(&(Method::Invite, 487)), "{codes:?}");
    // The INVITE transaction ACKed the 487 itself, to the same branch.
    let ack = uac.poll_transmit().expect("ACK");
    let ack = Message::parse(ack.data).unwrap();
    let ack = ack.as_request().unwrap();
    assert_eq!(ack.method, Method::Ack);
    assert_eq!(
        ack.headers.typed::<Via>().unwrap().unwrap().branch(),
        Some(inv_key.branch.as_str())
    );
    assert_eq!(ack.headers.typed::<To>().unwrap().unwrap().tag(), Some("b"));
    assert_eq!(
        ack.headers.typed::<CSeq>().unwrap().unwrap().method,
        Method::Ack
    );
}

#[test]
fn cancel_without_invite_gets_481() {
    let mut uas = Transactions::new(TimerConfig::default());
    let t0 = Instant::now();
    let src = Target {
        addr: addr(0),
        transport: TransportKind::Udp,
    };
    uas.handle_message(
        t0,
        Message::Request(request(Method::Cancel, 3, addr(0))),
        src,
    );
    let resp = Message::parse(uas.poll_transmit().unwrap().data).unwrap();
    assert_eq!(resp.as_response().unwrap().status.code(), 481);
}

#[test]
fn rfc2543_requests_match_without_magic_cookie() {
    let mut uas = Transactions::new(TimerConfig::default());
    let t0 = Instant::now();
    let src = Target {
        addr: addr(0),
        transport: TransportKind::Udp,
    };
    let mut req = request(Method::Options, 4, addr(0));
    req.headers
        .set(HeaderName::Via, format!("SIP/2.0/UDP {}", addr(0)));
    uas.handle_message(t0, Message::Request(req.clone()), src);
    let Some(Event::Request { key, .. }) = uas.poll_event() else {
        panic!()
    };
    assert!(matches!(key, ServerKey::Rfc2543 { .. }));
    // The same request again is a retransmission, not a new transaction.
    uas.handle_message(t0, Message::Request(req), src);
    assert_eq!(uas.poll_event(), None);
    assert_eq!(uas.len(), 1);
}

#[test]
fn stray_responses_are_dropped_silently() {
    let mut uac = Transactions::new(TimerConfig::default());
    let t0 = Instant::now();
    let src = Target {
        addr: addr(1),
        transport: TransportKind::Udp,
    };
    let req = request(Method::Options, 1, addr(0));
    let resp = Response::for_request(&req, StatusCode::OK, Some("x"));
    uac.handle_message(t0, Message::Response(resp), src);
    assert_eq!(uac.poll_event(), None);
    assert_eq!(uac.poll_transmit(), None);
}

#[test]
fn reliable_transport_does_not_retransmit() {
    let mut uac = Transactions::new(TimerConfig::default());
    let t0 = Instant::now();
    let tcp = Target {
        addr: addr(1),
        transport: TransportKind::Tcp,
    };
    let mut req = request(Method::Options, 1, addr(0));
    req.headers.set(
        HeaderName::Via,
        format!("SIP/2.0/TCP {};branch=z9hG4bKtcp1", addr(0)),
    );
    let key = uac.send_request(t0, req, tcp).unwrap();
    assert!(uac.poll_transmit().is_some());
    // Only Timer F is armed.
    assert_eq!(uac.poll_timeout(), Some(t0 + Duration::from_secs(32)));
    uac.handle_timeout(t0 + Duration::from_secs(32));
    assert_eq!(uac.poll_transmit(), None);
    let events: Vec<_> = std::iter::from_fn(|| uac.poll_event()).collect();
    assert!(events.contains(&Event::Timeout { key }));
}

#[test]
fn many_transactions_share_one_timer_queue() {
    let mut sim = Sim::new(3, 0.0, 0.0, TimerConfig::default(), &[Role::Uac, UAS_OK]);
    let mut keys = HashMap::new();
    for n in 0..200 {
        let k = sim.send(0, 1, request(Method::Options, n, addr(0)));
        keys.insert(k, ());
    }
    sim.run(Duration::from_secs(60));
    assert_eq!(finals(&sim.nodes[0]).len(), 200);
    assert!(sim.nodes.iter().all(|n| n.tx.is_empty()));
}
