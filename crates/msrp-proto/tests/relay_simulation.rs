//! Two session cores talking through a relay model (RFC 4976 §7) over
//! `sim_net`'s stream network on virtual time: every write reaches the
//! other end in order (TCP) but split at random points and after random
//! delays, and a connection may be cut, which loses what is in flight on
//! it and tells both its ends. Many seeds; each run checks what the RFCs
//! promise end to end:
//! - every message arrives whole and unchanged, exactly once;
//! - each sender learns `MessageSent` from the relay's hop-by-hop 200s
//!   and `MessageDelivered` from the far end's success REPORT, which the
//!   relay forwards (REPORTs get no responses, RFC 4975 §7.1.2);
//! - with a connection cut (by the test in the middle of a message, or at
//!   random: on a reliable transport a lost connection is what loss is),
//!   nothing is delivered in part or changed, nothing twice, a sender is
//!   told "delivered" only for what the far end really got, and every
//!   message not delivered is reported failed or was accepted by the relay
//!   and is still waiting for its REPORT when the session ends with the
//!   connection (RFC 4975: a lost connection ends the session) — never
//!   dropped without a word.
//!
//! The relay model forwards by To-Path: it takes itself off the front of
//! To-Path, puts itself in front of From-Path, answers SENDs 200 itself
//! unless Failure-Report is `no`, and swallows the next hop's responses.
//! A SEND it can no longer forward (the next hop's connection is gone) is
//! answered 481, as Kamailio's relay does (tests/kamailio/msrp-relay.cfg).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use bytes::Bytes;
use msrp_proto::headers::FailureReport;
use msrp_proto::write::{end_line, head_bytes};
use msrp_proto::{
    Event, Flag, Head, Headers, Limits, Method, MsrpUri, Parser, Response, Session, SessionConfig,
    SessionEvent, TransactionId,
};
use sim_net::{next_event, End, Rng, StreamEvent, StreamNetwork};

const ALICE: &str = "msrp://alice.example.test:7001/alice1;tcp";
const RELAY: &str = "msrps://relay.example.test:2855/r1;tcp";
const BOB: &str = "msrp://bob.example.test:7002/bob1;tcp";

fn uri(s: &str) -> MsrpUri {
    MsrpUri::parse(s).unwrap()
}

/// Which side of the relay a connection is on; also the name of that
/// connection in the network, whose `End::A` is the endpoint and `End::B`
/// the relay.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
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

    fn index(self) -> usize {
        match self {
            Side::Alice => 0,
            Side::Bob => 1,
        }
    }
}

/// A message being forwarded: its head went out, body pieces follow.
struct Forwarding {
    has_body: bool,
    tid: TransactionId,
    /// The previous hop, owed a response once the end-line is in (none
    /// for REPORTs and `Failure-Report: no`).
    owed: Option<String>,
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
    /// Each side's connection is up (the network has not said it is cut).
    alive: [bool; 2],
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
            alive: [true, true],
        }
    }

    fn input(&mut self, from: Side, data: &[u8]) {
        let i = from.index();
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
                    let owed = (r.method == Method::Send && failure != "no")
                        .then(|| from_path.split(' ').next().unwrap().to_owned());
                    let head = Head::Request(r);
                    self.emit(from.other(), head_bytes(&head, has_body).unwrap());
                    self.forwarding[i] = Some(Forwarding {
                        has_body,
                        tid: head.tid().clone(),
                        owed,
                    });
                }
                Event::BodyData(b) => self.emit(from.other(), b.to_vec()),
                Event::End(_) if self.swallowing[i] => self.swallowing[i] = false,
                Event::End(flag) => {
                    let f = self.forwarding[i].take().expect("an end-line after a head");
                    self.emit(from.other(), end_line(&f.tid, flag, f.has_body));
                    self.release_held(from.other());
                    if let Some(prev) = f.owed {
                        let (status, comment) = if self.alive[from.other().index()] {
                            (200, "OK")
                        } else {
                            (481, "Session does not exist")
                        };
                        let a = response(&f.tid, &prev, status, comment);
                        self.answer(from, a);
                    }
                }
            }
        }
    }

    /// The network says `side`'s connection is gone.
    fn connection_lost(&mut self, side: Side) {
        self.alive[side.index()] = false;
        self.held[side.index()].clear();
        // A chunk from that side was half forwarded: the connection it
        // goes on stays (other sessions may share it), so the chunk is
        // ended as abandoned (`#`, RFC 4975 §7.1) for the far end to see
        // the message is not whole.
        if let Some(f) = self.forwarding[side.index()].take() {
            self.emit(side.other(), end_line(&f.tid, Flag::Aborted, f.has_body));
            self.release_held(side.other());
        }
    }

    /// Answers held back while a message was on its way to `side` go now.
    fn release_held(&mut self, side: Side) {
        for a in std::mem::take(&mut self.held[side.index()]) {
            self.emit(side, a);
        }
    }

    /// A response to `to`: never in the middle of a message being
    /// forwarded to that side on the same connection.
    fn answer(&mut self, to: Side, data: Vec<u8>) {
        if self.forwarding[to.other().index()].is_some() {
            self.held[to.index()].push(data);
        } else {
            self.emit(to, data);
        }
    }

    fn emit(&mut self, to: Side, data: Vec<u8>) {
        if self.alive[to.index()] {
            self.out.push((to, data));
        }
    }
}

/// A hop-by-hop response from the relay to `to`.
fn response(tid: &TransactionId, to: &str, status: u16, comment: &str) -> Vec<u8> {
    let mut h = Headers::new();
    h.push("To-Path", to.to_owned());
    h.push("From-Path", RELAY.to_owned());
    let resp = Head::Response(Response {
        tid: tid.clone(),
        status,
        comment: Some(comment.into()),
        headers: h,
    });
    let mut bytes = head_bytes(&resp, false).unwrap();
    bytes.extend(end_line(tid, Flag::Complete, false));
    bytes
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
    /// The network told this endpoint its connection is gone.
    connection_lost: bool,
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
        SessionEvent::MessageSent { message_id, .. } => seen.sent.push(message_id),
        // Only a REPORT covering the last byte means the whole.
        SessionEvent::MessageDelivered {
            message_id, range, ..
        } if range.is_none_or(|r| r.end.is_some() && r.end == r.total) => {
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
    net: StreamNetwork<Side>,
    now: Instant,
    alice_seen: Seen,
    bob_seen: Seen,
}

impl Run {
    /// `cut_chance`: how likely each write is to cut its connection.
    fn new(seed: u64, chunk: u64, cut_chance: f64) -> Run {
        let mut a = SessionConfig::new(vec![uri(ALICE)], vec![uri(RELAY), uri(BOB)], seed);
        let mut b = SessionConfig::new(vec![uri(BOB)], vec![uri(RELAY), uri(ALICE)], seed + 1);
        a.chunk_size = chunk;
        b.chunk_size = chunk;
        let rng = Rng::new(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let mut net = StreamNetwork::new(rng, 40).with_cut_chance(cut_chance);
        net.open(Side::Alice);
        net.open(Side::Bob);
        Run {
            alice: Session::new(a),
            bob: Session::new(b),
            relay: Relay::new(),
            net,
            now: Instant::now(),
            alice_seen: Seen::default(),
            bob_seen: Seen::default(),
        }
    }

    /// Moves bytes and time until nothing is in flight and no timer is
    /// due before `until`. An endpoint whose connection is gone keeps
    /// running (its writes go nowhere): its own timers must account for
    /// what it was waiting for.
    fn run_until(&mut self, until: Instant) {
        loop {
            while let Some(t) = self.alice.poll_transmit(self.now) {
                self.net.send(self.now, Side::Alice, End::A, &t);
            }
            while let Some(t) = self.bob.poll_transmit(self.now) {
                self.net.send(self.now, Side::Bob, End::A, &t);
            }
            for (side, data) in std::mem::take(&mut self.relay.out) {
                self.net.send(self.now, side, End::B, &data);
            }
            while let Some(e) = self.alice.poll_event() {
                record(&mut self.alice_seen, e);
            }
            while let Some(e) = self.bob.poll_event() {
                record(&mut self.bob_seen, e);
            }
            let due = [
                self.net.next_due(),
                self.alice.poll_timeout(),
                self.bob.poll_timeout(),
            ];
            let Some(next) = next_event(due, until) else {
                self.now = self.now.max(until);
                return;
            };
            self.now = self.now.max(next);
            for ev in self.net.take_due(self.now) {
                match ev {
                    StreamEvent::Data {
                        conn,
                        to: End::B,
                        bytes,
                    } => self.relay.input(conn, &bytes),
                    StreamEvent::Data {
                        conn: Side::Alice,
                        to: End::A,
                        bytes,
                    } => self.alice.handle_input(self.now, &bytes).unwrap(),
                    StreamEvent::Data {
                        conn: Side::Bob,
                        to: End::A,
                        bytes,
                    } => self.bob.handle_input(self.now, &bytes).unwrap(),
                    StreamEvent::Closed { conn, end: End::B } => self.relay.connection_lost(conn),
                    StreamEvent::Closed {
                        conn: Side::Alice,
                        end: End::A,
                    } => self.alice_seen.connection_lost = true,
                    StreamEvent::Closed {
                        conn: Side::Bob,
                        end: End::A,
                    } => self.bob_seen.connection_lost = true,
                }
            }
            self.alice.handle_timeout(self.now);
            self.bob.handle_timeout(self.now);
        }
    }

    /// Either connection was cut.
    fn cut(&self) -> bool {
        self.alice_seen.connection_lost || self.bob_seen.connection_lost
    }
}

fn body(rng: &mut Rng, n: usize) -> Vec<u8> {
    let len = match n % 4 {
        0 => 1 + rng.below(20) as usize,
        1 => 200 + rng.below(2_000) as usize,
        2 => 5_000 + rng.below(20_000) as usize,
        _ => rng.below(300) as usize + 1,
    };
    (0..len).map(|_| (rng.next_u64() >> 56) as u8).collect()
}

/// Twelve messages from alice and four from bob, interleaved; what each
/// sent, by message id.
type Sent = HashMap<String, Vec<u8>>;

fn send_both_ways(run: &mut Run, rng: &mut Rng) -> (Sent, Sent) {
    let mut from_alice = HashMap::new();
    let mut from_bob = HashMap::new();
    for n in 0..12 {
        let b = body(rng, n);
        let id = run.alice.send_message(
            "application/octet-stream",
            Bytes::from(b.clone()),
            true,
            FailureReport::Yes,
        );
        from_alice.insert(id, b);
        if n % 3 == 0 {
            let b = body(rng, n + 1);
            let id = run.bob.send_message(
                "text/plain",
                Bytes::from(b.clone()),
                true,
                FailureReport::Yes,
            );
            from_bob.insert(id, b);
        }
    }
    (from_alice, from_bob)
}

/// How one direction's messages ended.
#[derive(Default, Debug)]
struct Fates {
    delivered: usize,
    failed: usize,
    /// Accepted by the relay, no REPORT before the connection was lost.
    awaiting_report: usize,
}

/// What must hold for the messages `sender` sent to `receiver` after any
/// cuts, once every timer has run out.
fn check_fates(seed: u64, cut: bool, sent: &Sent, sender: &Seen, receiver: &Seen) -> Fates {
    // Nothing twice, nothing in part, nothing changed or made up.
    assert_eq!(receiver.duplicates, 0, "seed {seed}");
    for (id, b) in &receiver.received {
        assert_eq!(
            sent.get(id),
            Some(b),
            "seed {seed}: {id} changed on the way"
        );
    }
    let mut fates = Fates::default();
    for id in sent.keys() {
        let delivered = sender.delivered.contains(id);
        let failed = sender.failed.iter().any(|(f, _)| f == id);
        // "Delivered" only for what the far end really got.
        if delivered {
            assert!(
                receiver.received.contains_key(id),
                "seed {seed}: {id} called delivered"
            );
            assert!(!failed, "seed {seed}: {id} both delivered and failed");
            fates.delivered += 1;
        } else if failed {
            fates.failed += 1;
        } else {
            // Neither: only a message every chunk of which the relay
            // accepted, whose REPORT a cut lost; without a cut every
            // message is delivered.
            assert!(cut, "seed {seed}: {id} neither delivered nor failed");
            assert!(
                sender.sent.contains(id),
                "seed {seed}: {id} dropped without a word"
            );
            fates.awaiting_report += 1;
        }
    }
    if !cut {
        assert_eq!(
            fates.delivered,
            sent.len(),
            "seed {seed}: lost without a cut"
        );
    }
    fates
}

#[test]
fn messages_both_ways_through_a_relay_arrive_whole_once_and_are_reported() {
    for seed in 1..=40u64 {
        let mut run = Run::new(seed, 1 + seed * 97 % 3000, 0.0);
        let mut rng = Rng::new(seed | 1);
        let (from_alice, from_bob) = send_both_ways(&mut run, &mut rng);
        let until = run.now + Duration::from_secs(25);
        run.run_until(until);
        let check = |sent: &Sent, sender: &Seen, receiver: &Seen| {
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
    let mut answered_481 = 0;
    for seed in 1..=20u64 {
        let mut run = Run::new(seed, 500, 0.0);
        let mut rng = Rng::new(seed | 1);
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
        run.net.cut(run.now, Side::Bob);
        // Past every transaction timeout (30 s).
        let until = run.now + Duration::from_secs(60);
        run.run_until(until);
        assert!(run.bob_seen.connection_lost && !run.alice_seen.connection_lost);
        // Whatever bob got is whole and what alice sent, nothing twice;
        // alice is told "delivered" only for what bob really got; what
        // did not reach him failed or waits for its REPORT.
        check_fates(seed, true, &sent, &run.alice_seen, &run.bob_seen);
        // Alice's connection stayed: her session answered for all.
        assert!(run.alice.is_idle(), "seed {seed}");
        if run.bob_seen.received.len() < sent.len() {
            cut_short += 1;
        }
        answered_481 += run.alice_seen.failed.iter().filter(|f| f.1 == 481).count();
    }
    // The cut really fell inside the transfer in most runs.
    assert!(
        cut_short >= 10,
        "only {cut_short} of 20 runs were cut short"
    );
    // Messages sent on after the cut were refused by the relay.
    assert!(answered_481 > 0);
}

#[test]
fn connections_cut_at_random_lose_messages_only_as_failed_or_unreported() {
    let mut runs_cut = 0;
    let mut total = Fates::default();
    let mut aborted = 0;
    for seed in 1..=80u64 {
        // Per write: never, rarely, sometimes, often.
        let cut_chance = [0.0, 0.002, 0.01, 0.05][seed as usize % 4];
        let mut run = Run::new(seed, 1 + seed * 89 % 3000, cut_chance);
        let mut rng = Rng::new(seed | 1);
        let (from_alice, from_bob) = send_both_ways(&mut run, &mut rng);
        // Past every transaction timeout (30 s).
        let until = run.now + Duration::from_secs(90);
        run.run_until(until);
        let cut = run.cut();
        runs_cut += usize::from(cut);
        for f in [
            check_fates(seed, cut, &from_alice, &run.alice_seen, &run.bob_seen),
            check_fates(seed, cut, &from_bob, &run.bob_seen, &run.alice_seen),
        ] {
            total.delivered += f.delivered;
            total.failed += f.failed;
            total.awaiting_report += f.awaiting_report;
        }
        // Whatever was cut, neither session is left holding anything:
        // each chunk got its response or its 408.
        assert!(run.alice.is_idle() && run.bob.is_idle(), "seed {seed}");
        aborted += run.alice_seen.aborted.len() + run.bob_seen.aborted.len();
    }
    // The cuts bit: most runs with cuts on had one, and all three fates
    // (and a chunk the relay had to abandon) came up.
    assert!(runs_cut >= 40, "only {runs_cut} of 60 runs were cut");
    assert!(
        total.delivered > 0 && total.failed > 0 && total.awaiting_report > 0,
        "{total:?}"
    );
    assert!(aborted > 0, "no chunk was cut off in the middle");
}
