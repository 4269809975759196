use std::time::Instant;

use crate::Rng;

/// Datagrams in flight between any nodes (UDP as SIP meets it): each one
/// sent is duplicated with probability `duplication`, each copy lost with
/// probability `loss`, and each copy that survives arrives after its own
/// random delay, so datagrams overtake each other. `T` is what the test
/// sends: its addresses and bytes, whatever it needs to deliver it.
#[derive(Debug)]
pub struct DatagramNetwork<T> {
    rng: Rng,
    loss: f64,
    duplication: f64,
    /// Inclusive bounds of a datagram's one-way delay, in milliseconds.
    delay_ms: (u64, u64),
    in_flight: Vec<(Instant, T)>,
}

impl<T: Clone> DatagramNetwork<T> {
    /// Delays of 1 to 40 ms: short against SIP's T1 (500 ms), long enough
    /// that a retransmission and the original cross.
    pub fn new(rng: Rng, loss: f64, duplication: f64) -> Self {
        DatagramNetwork {
            rng,
            loss,
            duplication,
            delay_ms: (1, 40),
            in_flight: Vec::new(),
        }
    }

    pub fn with_delay_ms(mut self, min: u64, max: u64) -> Self {
        assert!(min <= max, "a delay range runs from min to max");
        self.delay_ms = (min, max);
        self
    }

    /// Puts a datagram on the wire at `now`.
    pub fn send(&mut self, now: Instant, datagram: T) {
        let copies = if self.rng.chance(self.duplication) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            if !self.rng.chance(self.loss) {
                let at = now + self.rng.range_ms(self.delay_ms.0, self.delay_ms.1);
                self.in_flight.push((at, datagram.clone()));
            }
        }
    }

    /// When the next datagram arrives.
    pub fn next_due(&self) -> Option<Instant> {
        self.in_flight.iter().map(|(at, _)| *at).min()
    }

    /// The datagrams that arrived by `now`, in the order they arrived
    /// (those arriving at the same moment in the order they were sent).
    pub fn take_due(&mut self, now: Instant) -> Vec<T> {
        self.in_flight.sort_by_key(|(at, _)| *at);
        let n = self
            .in_flight
            .iter()
            .take_while(|(at, _)| *at <= now)
            .count();
        self.in_flight.drain(..n).map(|(_, d)| d).collect()
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn without_loss_every_datagram_arrives_within_the_delay_bounds() {
        let t0 = Instant::now();
        let mut net = DatagramNetwork::new(Rng::new(3), 0.0, 0.0).with_delay_ms(5, 9);
        for n in 0..100u32 {
            net.send(t0, n);
        }
        assert_eq!(net.in_flight(), 100);
        assert!(net.take_due(t0 + Duration::from_millis(4)).is_empty());
        let got = net.take_due(t0 + Duration::from_millis(9));
        let mut sorted = got.clone();
        sorted.sort();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
        assert_ne!(got, sorted, "random delays reorder");
        assert_eq!(net.next_due(), None);
    }

    #[test]
    fn loss_and_duplication_happen_at_their_rates() {
        let t0 = Instant::now();
        let mut net = DatagramNetwork::new(Rng::new(11), 0.3, 0.1);
        for n in 0..10_000u32 {
            net.send(t0, n);
        }
        let got = net.take_due(t0 + Duration::from_secs(1));
        // 1.1 copies sent per datagram, 70 % of them arrive: 7700.
        assert!((7_400..8_000).contains(&got.len()), "{}", got.len());
        let mut ids = got.clone();
        ids.sort();
        ids.dedup();
        assert!(ids.len() < got.len(), "some arrived twice");
        assert!(ids.len() < 10_000, "some never arrived");
    }

    #[test]
    fn total_loss_delivers_nothing() {
        let t0 = Instant::now();
        let mut net = DatagramNetwork::new(Rng::new(5), 1.0, 0.5);
        for n in 0..100u32 {
            net.send(t0, n);
        }
        assert_eq!(net.next_due(), None);
    }
}
