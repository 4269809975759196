//! The simulated network the tests of the sans-IO cores (sip-proto,
//! msrp-proto) run on: what a real network does to what they send, on
//! virtual time, reproducible from a seed.
//!
//! Owns: the seedable generator ([`Rng`]), a datagram network that loses,
//! duplicates, delays and so reorders ([`DatagramNetwork`], what SIP over
//! UDP meets), ordered byte-stream connections whose writes arrive split
//! at random points after random delays and which a cut ends, dropping
//! what is in flight and telling both ends ([`StreamNetwork`], what TCP
//! and TLS transports such as MSRP's meet), and the choice of the next
//! moment a simulation steps to ([`next_event`]).
//!
//! Does not own: the cores, addressing or routing (a datagram carries
//! whatever the test puts in it; a connection is named by the test),
//! parsing, and any real clock or socket: time is the `Instant` the test
//! passes in, as the cores take it.

mod datagram;
mod rng;
mod stream;

use std::time::Instant;

pub use datagram::DatagramNetwork;
pub use rng::Rng;
pub use stream::{End, StreamEvent, StreamNetwork};

/// The earliest of the times the parts of a simulation are waiting for
/// (network, timers of the cores, scripted moments), if it is not past
/// `limit`: where virtual time steps next, or None when the run is over.
pub fn next_event(
    times: impl IntoIterator<Item = Option<Instant>>,
    limit: Instant,
) -> Option<Instant> {
    times.into_iter().flatten().min().filter(|t| *t <= limit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn next_event_is_the_earliest_time_up_to_the_limit() {
        let t0 = Instant::now();
        let s = |n| Some(t0 + Duration::from_secs(n));
        assert_eq!(
            next_event([s(5), None, s(2)], t0 + Duration::from_secs(10)),
            s(2)
        );
        assert_eq!(next_event([s(5), s(3)], t0 + Duration::from_secs(3)), s(3));
        assert_eq!(next_event([s(5)], t0 + Duration::from_secs(4)), None);
        assert_eq!(next_event([None, None], t0), None);
    }
}
