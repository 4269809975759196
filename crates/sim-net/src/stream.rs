use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use crate::Rng;

/// One of the two ends of a connection; which is which is the test's
/// choice (say A for the side that connected).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum End {
    A,
    B,
}

impl End {
    pub fn other(self) -> End {
        match self {
            End::A => End::B,
            End::B => End::A,
        }
    }

    fn index(self) -> usize {
        match self {
            End::A => 0,
            End::B => 1,
        }
    }
}

/// What arrives at an end of a connection.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum StreamEvent<C> {
    /// The next bytes the other end wrote, in order.
    Data { conn: C, to: End, bytes: Vec<u8> },
    /// The connection is gone: nothing more arrives, and nothing written
    /// to it goes anywhere. Each end hears this once.
    Closed { conn: C, end: End },
}

#[derive(Debug, Default)]
struct Connection {
    /// Pieces in flight, by the end that wrote them (`End::index`), each
    /// with its arrival time; times never go down within a queue.
    queues: [VecDeque<(Instant, Vec<u8>)>; 2],
    /// When the connection breaks: what has not arrived by then is lost.
    cut_at: Option<Instant>,
    /// The cut happened and both ends were told.
    closed: bool,
}

/// Ordered byte-stream connections (TCP or TLS as a transport meets
/// them): every write arrives whole and in order but split at random
/// points, each piece after a random delay and never before the piece
/// ahead of it. A connection is cut by the test ([`StreamNetwork::cut`])
/// or, with [`StreamNetwork::with_cut_chance`], at random: a reliable
/// transport does not lose bytes, it loses the connection, and what was
/// in flight with it.
#[derive(Debug)]
pub struct StreamNetwork<C> {
    rng: Rng,
    max_delay_ms: u64,
    cut_chance: f64,
    conns: BTreeMap<C, Connection>,
}

impl<C: Copy + Ord> StreamNetwork<C> {
    /// Pieces take up to `max_delay_ms` each; connections are never cut
    /// unless asked.
    pub fn new(rng: Rng, max_delay_ms: u64) -> Self {
        StreamNetwork {
            rng,
            max_delay_ms,
            cut_chance: 0.0,
            conns: BTreeMap::new(),
        }
    }

    /// Each write cuts its connection with probability `p`, at a random
    /// moment while the write is in flight.
    pub fn with_cut_chance(mut self, p: f64) -> Self {
        self.cut_chance = p;
        self
    }

    /// A new connection between the two ends of `conn` (a connection of
    /// that name that was cut is replaced).
    pub fn open(&mut self, conn: C) {
        self.conns.insert(conn, Connection::default());
    }

    /// Whether `conn` is up: opened, and its ends not told of a cut.
    pub fn is_open(&self, conn: C) -> bool {
        self.conns.get(&conn).is_some_and(|c| !c.closed)
    }

    /// `from` writes `data` at `now`. On a connection that is cut the
    /// bytes go nowhere: the writer learns of it from
    /// [`StreamEvent::Closed`], as a socket's owner does.
    pub fn send(&mut self, now: Instant, conn: C, from: End, data: &[u8]) {
        let c = self
            .conns
            .get_mut(&conn)
            .expect("writes go to a connection that was opened");
        if c.closed || c.cut_at.is_some_and(|t| t <= now) {
            return;
        }
        let q = &mut c.queues[from.index()];
        let mut last = q.back().map_or(now, |(t, _)| *t);
        let mut rest = data;
        while !rest.is_empty() {
            let n = 1 + self.rng.below(rest.len() as u64 + 64) as usize;
            let (piece, tail) = rest.split_at(n.min(rest.len()));
            // A random latency, but never ahead of the bytes before it.
            let at = (now + Duration::from_millis(self.rng.below(self.max_delay_ms))).max(last);
            last = at;
            q.push_back((at, piece.to_vec()));
            rest = tail;
        }
        // Drawn only when cuts are on, so a run without them consumes
        // the generator as one that never heard of them.
        if self.cut_chance > 0.0 && self.rng.chance(self.cut_chance) {
            let in_flight_ms = (last - now).as_millis() as u64;
            let at = now + Duration::from_millis(self.rng.below(in_flight_ms + 1));
            c.cut_at = Some(c.cut_at.map_or(at, |t| t.min(at)));
        }
    }

    /// Breaks `conn` at `now`: nothing in flight arrives, and both ends
    /// are told at the next [`StreamNetwork::take_due`].
    pub fn cut(&mut self, now: Instant, conn: C) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.cut_at = Some(c.cut_at.map_or(now, |t| t.min(now)));
        }
    }

    /// When something next arrives or a connection breaks.
    pub fn next_due(&self) -> Option<Instant> {
        self.conns
            .values()
            .filter(|c| !c.closed)
            .flat_map(|c| {
                let fronts = c.queues.iter().filter_map(|q| q.front().map(|(t, _)| *t));
                fronts.chain(c.cut_at)
            })
            .min()
    }

    /// What arrived by `now`, in time order (at one moment: by
    /// connection, then A's bytes, B's bytes, the cut).
    pub fn take_due(&mut self, now: Instant) -> Vec<StreamEvent<C>> {
        let mut due = Vec::new();
        for (name, c) in &mut self.conns {
            if c.closed {
                continue;
            }
            let cut = c.cut_at.filter(|t| *t <= now);
            for from in [End::A, End::B] {
                let q = &mut c.queues[from.index()];
                while let Some((at, _)) = q.front() {
                    if *at > now || cut.is_some_and(|t| *at >= t) {
                        break;
                    }
                    if let Some((at, bytes)) = q.pop_front() {
                        let to = from.other();
                        due.push((
                            at,
                            *name,
                            from.index(),
                            StreamEvent::Data {
                                conn: *name,
                                to,
                                bytes,
                            },
                        ));
                    }
                }
            }
            if let Some(t) = cut {
                c.queues = Default::default();
                c.closed = true;
                for end in [End::A, End::B] {
                    due.push((
                        t,
                        *name,
                        2 + end.index(),
                        StreamEvent::Closed { conn: *name, end },
                    ));
                }
            }
        }
        due.sort_by_key(|(at, name, order, _)| (*at, *name, *order));
        due.into_iter().map(|(_, _, _, e)| e).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data_to(events: &[StreamEvent<u8>], end: End) -> Vec<u8> {
        events
            .iter()
            .filter_map(|e| match e {
                StreamEvent::Data { to, bytes, .. } if *to == end => Some(bytes.clone()),
                _ => None,
            })
            .flatten()
            .collect()
    }

    fn run_all(net: &mut StreamNetwork<u8>) -> Vec<StreamEvent<u8>> {
        let mut all = Vec::new();
        while let Some(t) = net.next_due() {
            all.extend(net.take_due(t));
        }
        all
    }

    #[test]
    fn writes_arrive_whole_and_in_order_split_into_pieces() {
        let t0 = Instant::now();
        let mut net = StreamNetwork::new(Rng::new(9), 40);
        net.open(1);
        let a: Vec<u8> = (0..5000u32).map(|n| n as u8).collect();
        let b: Vec<u8> = (0..3000u32).map(|n| (n * 7) as u8).collect();
        net.send(t0, 1, End::A, &a[..2500]);
        net.send(t0 + Duration::from_millis(3), 1, End::A, &a[2500..]);
        net.send(t0, 1, End::B, &b);
        let events = run_all(&mut net);
        assert_eq!(data_to(&events, End::B), a);
        assert_eq!(data_to(&events, End::A), b);
        assert!(events.len() > 10, "writes are split: {}", events.len());
        assert!(net.is_open(1));
    }

    #[test]
    fn a_cut_loses_what_is_in_flight_and_tells_both_ends_once() {
        let t0 = Instant::now();
        let mut net = StreamNetwork::new(Rng::new(4), 40);
        net.open(7);
        net.send(t0, 7, End::A, &[1u8; 4000]);
        let first = net.next_due().unwrap();
        let got = net.take_due(first);
        net.cut(first, 7);
        net.send(first, 7, End::B, b"after the cut");
        let rest = run_all(&mut net);
        assert_eq!(
            rest,
            [
                StreamEvent::Closed {
                    conn: 7,
                    end: End::A
                },
                StreamEvent::Closed {
                    conn: 7,
                    end: End::B
                }
            ]
        );
        assert!(data_to(&got, End::B).len() < 4000);
        assert!(!net.is_open(7));
        assert_eq!(net.next_due(), None);
    }

    #[test]
    fn random_cuts_fall_while_a_write_is_in_flight() {
        let t0 = Instant::now();
        let mut cut_inside = 0;
        for seed in 1..=50 {
            let mut net = StreamNetwork::new(Rng::new(seed), 40).with_cut_chance(1.0);
            net.open(0u8);
            net.send(t0, 0, End::A, &[0u8; 20_000]);
            let events = run_all(&mut net);
            let got = data_to(&events, End::B).len();
            assert!(got <= 20_000);
            assert!(matches!(events.last(), Some(StreamEvent::Closed { .. })));
            cut_inside += usize::from(got < 20_000);
        }
        assert!(cut_inside > 40, "{cut_inside} of 50 writes were cut short");
    }
}
