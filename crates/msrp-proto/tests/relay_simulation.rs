//! Two session cores talking through a relay model (RFC 4976 §7) over an
//! in-memory network on virtual time: every write reaches the other end
//! in order (TCP) but split at random points and after random delays,
//! and a connection may be cut. Many seeds; each run checks what the
//! RFCs promise end to end:
//! - every message arrives whole and unchanged, exactly once;
//! - each sender learns `MessageSent` from the relay's hop-by-hop 200s
//!   and `MessageDelivered` from the far end's success REPORT, which the
//!   relay forwards (REPORTs get no responses, RFC 4975 §7.1.2);
//! - with the relay's connection to bob cut in the middle of a message,
//!   nothing is delivered in part or changed, and alice is told
//!   "delivered" only for what bob really got.
//!
//! The relay model forwards by To-Path: it takes itself off the front of
//! To-Path, puts itself in front of From-Path, answers SENDs 200 itself
//! unless Failure-Report is `no`, and swallows the next hop's responses.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;
use msrp_proto::headers::FailureReport;
use msrp_proto::write::{end_line, head_bytes};
use msrp_proto::{
    Event, Flag, Head, Headers, Limits, Method, MsrpUri, Parser, Response, Session, SessionConfig,
    SessionEvent,
};

const ALICE: &str = "msrp://alice.example.test:7001/alice1;tcp";
const RELAY: &str = "msrps://relay.example.test:2855/r1;tcp";
const BOB: &str = "msrp://bob.example.test:7002/bob1;tcp";

/// xorshift64*: deterministic, seedable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn uri(s: &str) -> MsrpUri {
    MsrpUri::parse(s).unwrap()
}

/// The four directed links: alice→relay, relay→alice, relay→bob,
/// bob→relay.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
enum Link {
    AliceToRelay,
    RelayToAlice,
    RelayToBob,
    BobToRelay,
}

/// Bytes in flight: each write is split at random points, each piece
/// delivered at a random later time, never before the piece ahead of it.
struct Network {
    rng: Rng,
    queues: HashMap<Link, VecDeque<(Instant, Vec<u8>)>>,
    max_delay_ms: u64,
}

impl Network {
    fn send(&mut self, link: Link, now: Instant, data: Vec<u8>) {
        let q = self.queues.entry(link).or_default();
        let mut last = q.back().map_or(now, |(t, _)| *t);
        let mut rest = &data[..];
        while !rest.is_empty() {
            let n = 1 + self.rng.below(rest.len() as u64 + 64) as usize;
            let (piece, tail) = rest.split_at(n.min(rest.len()));
            // A random latency, but never ahead of the bytes before it.
            let at = (now + Duration::from_millis(self.rng.below(self.max_delay_ms))).max(last);
            last = at;
            q.push_back((at, piece.to_vec()));
            rest = tail;
        }
    }

    fn next_due(&self) -> Option<Instant> {
        self.queues
            .values()
            .filter_map(|q| q.front())
            .map(|(t, _)| *t)
            .min()
    }

    fn take_due(&mut self, now: Instant) -> Vec<(Link, Vec<u8>)> {
        let mut out = Vec::new();
        for (link, q) in &mut self.queues {
            while q.front().is_some_and(|(t, _)| *t <= now) {
                if let Some((_, data)) = q.pop_front() {
                    out.push((*link, data));
                }
            }
        }
        out.sort_by_key(|(l, _)| *l);
        out
    }

    fn cut(&mut self, links: &[Link]) {
        for l in links {
            self.queues.remove(l);
        }
    }
}

/// Which side of the relay a connection is on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Alice,
    Bob,
}

impl Side {
    fn other(self) -> Side {
        match self {
            Side::Alice => Side::Bob,
            Side::Bob => Side::Alice,
        }
    }
}

/// A message being forwarded: its head went out, body pieces follow.
struct Forwarding {
    has_body: bool,
    tid: msrp_proto::TransactionId,
    /// The 200 owed to the previous hop once the end-line is in.
    answer: Option<Vec<u8>>,
}

/// An RFC 4976 relay between two connections (no AUTH: the model starts
/// with both clients' bindings in place).
struct Relay {
    parsers: [Parser; 2],
    forwarding: [Option<Forwarding>; 2],
    /// A response is being read: hop-by-hop, it goes no further.
    swallowing: [bool; 2],
    /// Responses for each side, waiting for a message to it to end.
    held: [Vec<Vec<u8>>; 2],
    out: Vec<(Side, Vec<u8>)>,
    alive_to_bob: bool,
}

impl Relay {
    fn new() -> Relay {
        Relay {
            parsers: [
                Parser::new(Limits::default()),
                Parser::new(Limits::default()),
            ],
            forwarding: [None, None],
            swallowing: [false, false],
            held: [Vec::new(), Vec::new()],
            out: Vec::new(),
            alive_to_bob: true,
        }
    }

    fn index(side: Side) -> usize {
        match side {
            Side::Alice => 0,
            Side::Bob => 1,
        }
    }

    fn input(&mut self, from: Side, data: &[u8]) {
        let i = Relay::index(from);
        self.parsers[i].feed(data).expect("well-formed input");
        while let Some(ev) = self.parsers[i].poll().expect("well-formed input") {
            match ev {
                Event::Head(Head::Response(_)) => self.swallowing[i] = true,
                Event::Head(Head::Request(mut r)) => {
                    let to: Vec<&str> = r.headers.get("To-Path").unwrap().split(' ').collect();
                    assert_eq!(to[0], RELAY, "a request not for this relay");
                    let from_path = r.headers.get("From-Path").unwrap().to_owned();
                    let next_to = to[1..].join(" ");
                    let failure = r.headers.get("Failure-Report").unwrap_or("yes").to_owned();
                    let mut h = Headers::new();
                    for x in r.headers.iter() {
                        match x.name.as_str() {
                            "To-Path" => h.push("To-Path", next_to.clone()),
                            "From-Path" => h.push("From-Path", format!("{RELAY} {from_path}")),
                            _ => h.push(x.name.clone(), x.value.clone()),
                        }
                    }
                    r.headers = h;
                    let has_body = r.headers.get("Content-Type").is_some();
                    // §7.3.1: a SEND is answered at this hop unless its
                    // sender asked for no responses; REPORTs never are.
                    let answer = (r.method == Method::Send && failure != "no").then(|| {
                        let mut rh = Headers::new();
                        rh.push("To-Path", from_path.split(' ').next().unwrap().to_owned());
                        rh.push("From-Path", RELAY.to_owned());
                        let resp = Head::Response(Response {
                            tid: r.tid.clone(),
                            status: 200,
                            comment: Some("OK".into()),
                            headers: rh,
                        });
                        let mut bytes = head_bytes(&resp, false).unwrap();
                        bytes.extend(end_line(&r.tid, Flag::Complete, false));
                        bytes
                    });
                    let head = Head::Request(r);
                    self.emit(from.other(), head_bytes(&head, has_body).unwrap());
                    self.forwarding[i] = Some(Forwarding {
                        has_body,
                        tid: head.tid().clone(),
                        answer,
                    });
                }
                Event::BodyData(b) => self.emit(from.other(), b.to_vec()),
                Event::End(_) if self.swallowing[i] => self.swallowing[i] = false,
                Event::End(flag) => {
                    let f = self.forwarding[i].take().expect("an end-line after a head");
                    self.emit(from.other(), end_line(&f.tid, flag, f.has_body));
                    // Answers held back while this message was on its way
                    // to that side go now.
                    let held = std::mem::take(&mut self.held[Relay::index(from.other())]);
                    for a in held {
                        self.emit(from.other(), a);
                    }
                    if let Some(a) = f.answer {
                        self.answer(from, a);
                    }
                }
            }
        }
    }

    /// A response to `to`: never in the middle of a message being
    /// forwarded to that side on the same connection.
    fn answer(&mut self, to: Side, data: Vec<u8>) {
        if self.forwarding[Relay::index(to.other())].is_some() {
            self.held[Relay::index(to)].push(data);
        } else {
            self.emit(to, data);
        }
    }

    fn emit(&mut self, to: Side, data: Vec<u8>) {
        if to == Side::Bob && !self.alive_to_bob {
            return;
        }
        self.out.push((to, data));
    }
}

/// One run's outcome for the checks.
#[derive(Default)]
struct Seen {
    received: BTreeMap<String, Vec<u8>>,
    duplicates: usize,
    aborted: Vec<String>,
    sent: Vec<String>,
    delivered: Vec<String>,
    failed: Vec<(String, u16)>,
}

fn record(seen: &mut Seen, ev: SessionEvent) {
    match ev {
        SessionEvent::MessageReceived {
            message_id, body, ..
        } => {
            let again = seen.received.insert(message_id, body).is_some();
            seen.duplicates += usize::from(again);
        }
        SessionEvent::MessageAborted { message_id } => seen.aborted.push(message_id),
        SessionEvent::MessageSent { message_id } => seen.sent.push(message_id),
        // Only a REPORT covering the last byte means the whole.
        SessionEvent::MessageDelivered { message_id, range }
            if range.is_none_or(|r| r.end.is_some() && r.end == r.total) =>
        {
            seen.delivered.push(message_id)
        }
        SessionEvent::MessageFailed {
            message_id, status, ..
        } => seen.failed.push((message_id, status)),
        _ => {}
    }
}

struct Run {
    alice: Session,
    bob: Session,
    relay: Relay,
    net: Network,
    now: Instant,
    alice_seen: Seen,
    bob_seen: Seen,
}

impl Run {
    fn new(seed: u64, chunk: u64) -> Run {
        let mut a = SessionConfig::new(vec![uri(ALICE)], vec![uri(RELAY), uri(BOB)], seed);
        let mut b = SessionConfig::new(vec![uri(BOB)], vec![uri(RELAY), uri(ALICE)], seed + 1);
        a.chunk_size = chunk;
        b.chunk_size = chunk;
        Run {
            alice: Session::new(a),
            bob: Session::new(b),
            relay: Relay::new(),
            net: Network {
                rng: Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1),
                queues: HashMap::new(),
                max_delay_ms: 40,
            },
            now: Instant::now(),
            alice_seen: Seen::default(),
            bob_seen: Seen::default(),
        }
    }

    /// Moves bytes and time until nothing is in flight and no timer is
    /// due before `until`.
    fn run_until(&mut self, until: Instant) {
        loop {
            while let Some(t) = self.alice.poll_transmit(self.now) {
                self.net.send(Link::AliceToRelay, self.now, t);
            }
            while let Some(t) = self.bob.poll_transmit(self.now) {
                if self.relay.alive_to_bob {
                    self.net.send(Link::BobToRelay, self.now, t);
                }
            }
            for (side, data) in std::mem::take(&mut self.relay.out) {
                let link = match side {
                    Side::Alice => Link::RelayToAlice,
                    Side::Bob => Link::RelayToBob,
                };
                self.net.send(link, self.now, data);
            }
            while let Some(e) = self.alice.poll_event() {
                record(&mut self.alice_seen, e);
            }
            while let Some(e) = self.bob.poll_event() {
                record(&mut self.bob_seen, e);
            }
            let next = [
                self.net.next_due(),
                self.alice.poll_timeout(),
                self.bob.poll_timeout(),
            ]
            .into_iter()
            .flatten()
            .min();
            let Some(next) = next.filter(|t| *t <= until) else {
                self.now = self.now.max(until);
                return;
            };
            self.now = self.now.max(next);
            for (link, data) in self.net.take_due(self.now) {
                match link {
                    Link::AliceToRelay => self.relay.input(Side::Alice, &data),
                    Link::BobToRelay => self.relay.input(Side::Bob, &data),
                    Link::RelayToAlice => self.alice.handle_input(self.now, &data).unwrap(),
                    Link::RelayToBob => self.bob.handle_input(self.now, &data).unwrap(),
                }
            }
            self.alice.handle_timeout(self.now);
            self.bob.handle_timeout(self.now);
        }
    }
}

fn body(rng: &mut Rng, n: usize) -> Vec<u8> {
    let len = match n % 4 {
        0 => 1 + rng.below(20) as usize,
        1 => 200 + rng.below(2_000) as usize,
        2 => 5_000 + rng.below(20_000) as usize,
        _ => rng.below(300) as usize + 1,
    };
    (0..len).map(|_| (rng.next() >> 56) as u8).collect()
}

#[test]
fn messages_both_ways_through_a_relay_arrive_whole_once_and_are_reported() {
    for seed in 1..=40u64 {
        let mut run = Run::new(seed, 1 + seed * 97 % 3000);
        let mut rng = Rng(seed | 1);
        let mut from_alice = HashMap::new();
        let mut from_bob = HashMap::new();
        for n in 0..12 {
            let b = body(&mut rng, n);
            let id = run.alice.send_message(
                "application/octet-stream",
                Bytes::from(b.clone()),
                true,
                FailureReport::Yes,
            );
            from_alice.insert(id, b);
            if n % 3 == 0 {
                let b = body(&mut rng, n + 1);
                let id = run.bob.send_message(
                    "text/plain",
                    Bytes::from(b.clone()),
                    true,
                    FailureReport::Yes,
                );
                from_bob.insert(id, b);
            }
        }
        let until = run.now + Duration::from_secs(25);
        run.run_until(until);
        let check = |sent: &HashMap<String, Vec<u8>>, sender: &Seen, receiver: &Seen| {
            assert_eq!(receiver.duplicates, 0, "seed {seed}");
            assert_eq!(receiver.received.len(), sent.len(), "seed {seed}");
            for (id, b) in sent {
                assert_eq!(receiver.received.get(id), Some(b), "seed {seed}: {id}");
                assert!(sender.sent.contains(id), "seed {seed}: no 200 for {id}");
                assert!(
                    sender.delivered.contains(id),
                    "seed {seed}: no REPORT for {id}"
                );
            }
            assert!(sender.failed.is_empty(), "seed {seed}: {:?}", sender.failed);
        };
        check(&from_alice, &run.alice_seen, &run.bob_seen);
        check(&from_bob, &run.bob_seen, &run.alice_seen);
        assert!(run.alice.is_idle() && run.bob.is_idle(), "seed {seed}");
    }
}

#[test]
fn a_cut_between_the_relay_and_bob_delivers_nothing_in_part_and_nothing_is_called_delivered() {
    let mut cut_short = 0;
    for seed in 1..=20u64 {
        let mut run = Run::new(seed, 500);
        let mut rng = Rng(seed | 1);
        let mut sent = HashMap::new();
        for n in 0..6 {
            // Large enough that the cut falls inside one of them.
            let mut b = body(&mut rng, 2);
            b.extend(body(&mut rng, n));
            let id = run.alice.send_message(
                "application/octet-stream",
                Bytes::from(b.clone()),
                true,
                FailureReport::Yes,
            );
            sent.insert(id, b);
        }
        // Cut the relay's side to bob at a point of the transfer that
        // differs by seed (all of it is on the wire within ~40 ms).
        let cut_at = run.now + Duration::from_millis(seed * 7 % 45);
        run.run_until(cut_at);
        run.relay.alive_to_bob = false;
        run.net.cut(&[Link::RelayToBob, Link::BobToRelay]);
        let until = run.now + Duration::from_secs(60);
        run.run_until(until);
        // Whatever bob got is whole and what alice sent; nothing twice.
        assert_eq!(run.bob_seen.duplicates, 0, "seed {seed}");
        for (id, b) in &run.bob_seen.received {
            assert_eq!(
                sent.get(id),
                Some(b),
                "seed {seed}: {id} changed on the way"
            );
        }
        // Alice is told "delivered" only for what bob really got.
        for id in &run.alice_seen.delivered {
            assert!(run.bob_seen.received.contains_key(id), "seed {seed}: {id}");
        }
        if run.bob_seen.received.len() < sent.len() {
            cut_short += 1;
        }
    }
    // The cut really fell inside the transfer in most runs.
    assert!(
        cut_short >= 10,
        "only {cut_short} of 20 runs were cut short"
    );
}
