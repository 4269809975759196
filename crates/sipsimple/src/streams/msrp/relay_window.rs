//! How much a stream may send ahead of the peer's success REPORTs on a
//! path through relays (RFC 4976): shared by file transfer (a REPORT per
//! chunk, naming its byte range) and desktop sharing (a REPORT per
//! message, naming its id).
//!
//! TCP's back-pressure ends at a relay, which queues what the next hop
//! does not take yet; end-to-end REPORTs are the only back-pressure
//! across it. The window counts bytes in the order they were sent: a
//! REPORT covers a span of them, and the REPORTs come back along the
//! path in the order the bytes went, so one that starts beyond what was
//! REPORTed so far means a relay lost the bytes in between.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use super::base::RELAY_CHUNK_SIZE;
use crate::sync::lock;

/// Bytes sent ahead of the peer's REPORTs once a REPORT showed the path
/// open (see [`RELAY_OPENING_WINDOW`]): Kamailio drops a connection
/// whose write queue passes its `tcp_conn_wq_max` (32 KiB by default)
/// when the next hop is slow, frames and all.
pub const RELAY_WINDOW: u64 = 128 * 1024;

/// Bytes sent ahead of the peer's REPORTs while the path may still be
/// opening: at the start, and after everything sent was REPORTed (the
/// path was idle, and a relay may have closed its connection onward).
///
/// A relay that has no connection to the next hop yet opens one and
/// queues frames meanwhile; the kernel takes none of them, so its own
/// queue is all there is. Kamailio's (`tcp_conn_wq_max`, 32 KiB by
/// default) then refuses the frame that does not fit and drops it
/// silently: it answered the hop-by-hop 200 before relaying. Seen as a
/// desktop-sharing viewer stuck short of its last 8 or 32 KiB through
/// Kamailio under load (the relay log: `_wbufq_add(): write queue full`
/// right after its `quick connect`); a file would miss a chunk. Three
/// relay chunks and their heads fit in that queue.
pub const RELAY_OPENING_WINDOW: u64 = 3 * RELAY_CHUNK_SIZE;

/// Kamailio's default `tcp_conn_wq_max`.
const RELAY_QUEUE: u64 = 32 * 1024;
/// Room for the head of each chunk the opening window lets go (about
/// 400 bytes through two relays on loopback; longer paths, longer heads).
const MAX_HEAD: u64 = 2048;
const _: () = assert!(
    RELAY_OPENING_WINDOW + RELAY_OPENING_WINDOW / RELAY_CHUNK_SIZE * MAX_HEAD <= RELAY_QUEUE
);

/// What a REPORT meant to the [`RelayWindow`].
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Reported {
    /// Nothing new: not about bytes of ours awaiting one, or about bytes
    /// already REPORTed.
    NotOurs,
    InOrder,
    /// The bytes from `first` (0-based, in sending order) on, `bytes` of
    /// them, got no REPORT before later ones did: a relay lost them.
    Lost {
        first: u64,
        bytes: u64,
    },
}

#[derive(Default)]
struct State {
    /// Bytes sent, and the REPORTed prefix of them, counted from the
    /// window's start.
    sent: u64,
    reported: u64,
    /// A REPORT came for bytes sent since the path was last idle: every
    /// relay on it has its connection onward.
    open: bool,
    /// Messages awaiting their REPORT, oldest first: id and the span of
    /// their bytes.
    messages: VecDeque<(String, u64, u64)>,
}

/// What was sent through relays and not yet REPORTed.
#[derive(Default)]
pub(super) struct RelayWindow {
    state: Mutex<State>,
    moved: tokio::sync::Notify,
}

impl RelayWindow {
    /// Counts bytes from `start` on, nothing sent yet (a file resumed
    /// from byte `start + 1`: its REPORTs name file offsets).
    pub(super) fn start_at(&self, start: u64) {
        *self.lock() = State {
            sent: start,
            reported: start,
            ..State::default()
        };
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// `n` more bytes go.
    pub(super) fn add(&self, n: u64) {
        add(&mut self.lock(), n);
    }

    /// The message `id` of `n` bytes goes; its REPORT is
    /// [`RelayWindow::reported_message`].
    pub(super) fn add_message(&self, id: &str, n: u64) {
        let mut s = self.lock();
        let start = s.sent;
        add(&mut s, n);
        s.messages.push_back((id.to_owned(), start, start + n));
    }

    /// A REPORT for the bytes `start..end` (0-based, end excluded).
    pub(super) fn reported(&self, start: u64, end: u64) -> Reported {
        let mut s = self.lock();
        if end <= s.reported || end > s.sent || start >= end {
            return Reported::NotOurs;
        }
        let verdict = if start > s.reported {
            Reported::Lost {
                first: s.reported,
                bytes: start - s.reported,
            }
        } else {
            Reported::InOrder
        };
        s.reported = end;
        s.open = true;
        drop(s);
        self.moved.notify_waiters();
        verdict
    }

    /// A REPORT (either way) for the message `id`: the messages before
    /// it are done with too.
    pub(super) fn reported_message(&self, id: &str) -> Reported {
        let span = {
            let mut s = self.lock();
            let Some(at) = s.messages.iter().position(|(m, ..)| m == id) else {
                return Reported::NotOurs;
            };
            let last = s.messages.drain(..=at).next_back();
            last.map(|(_, start, end)| (start, end))
        };
        match span {
            Some((start, end)) => self.reported(start, end),
            None => Reported::NotOurs,
        }
    }

    /// Bytes that may go now.
    pub(super) fn room(&self) -> u64 {
        let s = self.lock();
        let window = if s.open {
            RELAY_WINDOW
        } else {
            RELAY_OPENING_WINDOW
        };
        window.saturating_sub(s.sent - s.reported)
    }

    /// Waits until `n` more bytes may go (or `closed()`: the connection
    /// is gone, or the stream is done with).
    pub(super) async fn wait_room(&self, n: u64, closed: &(dyn Fn() -> bool + Sync)) {
        loop {
            let moved = self.moved.notified();
            tokio::pin!(moved);
            moved.as_mut().enable();
            if self.room() >= n || closed() {
                return;
            }
            // A closed connection wakes nobody here: look again now and then.
            let _ = tokio::time::timeout(Duration::from_secs(1), moved).await;
        }
    }

    /// Wakes the waiters to look at `closed()` again.
    pub(super) fn wake(&self) {
        self.moved.notify_waiters();
    }

    #[cfg(test)]
    fn unreported(&self) -> u64 {
        let s = self.lock();
        s.sent - s.reported
    }
}

fn add(s: &mut State, n: u64) {
    if s.sent == s.reported {
        s.open = false;
    }
    s.sent += n;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const C: u64 = RELAY_CHUNK_SIZE;

    #[test]
    fn a_path_not_yet_reported_takes_only_what_a_connecting_relay_queues() {
        let w = RelayWindow::default();
        for _ in 0..3 {
            assert!(w.room() >= C);
            w.add(C);
        }
        // The fourth is what Kamailio dropped while it connected onward.
        assert!(w.room() < C);
        assert_eq!(w.reported(0, C), Reported::InOrder);
        // The path is open: the full window.
        assert_eq!(w.room(), RELAY_WINDOW - 2 * C);
        while w.room() >= C {
            w.add(C);
        }
        assert_eq!(w.unreported(), RELAY_WINDOW);
    }

    #[test]
    fn after_everything_was_reported_the_next_burst_opens_the_path_again() {
        let w = RelayWindow::default();
        w.add(C);
        assert_eq!(w.reported(0, C), Reported::InOrder);
        assert_eq!(w.room(), RELAY_WINDOW);
        // Idle: a relay may have closed its connection onward since.
        w.add(C);
        assert_eq!(w.room(), RELAY_OPENING_WINDOW - C);
    }

    #[test]
    fn a_report_beyond_a_gap_means_the_bytes_before_it_were_lost() {
        let w = RelayWindow::default();
        w.start_at(1000);
        w.add(3 * C);
        assert_eq!(w.reported(1000, 1000 + C), Reported::InOrder);
        assert_eq!(
            w.reported(1000 + 2 * C, 1000 + 3 * C),
            Reported::Lost {
                first: 1000 + C,
                bytes: C
            }
        );
        assert_eq!(w.unreported(), 0);
        // Late, repeated or foreign REPORTs change nothing.
        assert_eq!(w.reported(1000 + C, 1000 + 2 * C), Reported::NotOurs);
        assert_eq!(w.reported(0, 1000 + 3 * C + 1), Reported::NotOurs);
    }

    #[test]
    fn a_report_covering_everything_so_far_is_in_order() {
        // A receiver may REPORT from the first byte on each time.
        let w = RelayWindow::default();
        w.add(2 * C);
        assert_eq!(w.reported(0, C), Reported::InOrder);
        assert_eq!(w.reported(0, 2 * C), Reported::InOrder);
        assert_eq!(w.unreported(), 0);
    }

    #[test]
    fn a_report_that_overtakes_an_earlier_message_means_that_one_was_lost() {
        let w = RelayWindow::default();
        w.add_message("a", C);
        w.add_message("b", 100);
        w.add_message("c", C);
        assert_eq!(
            w.reported_message("c"),
            Reported::Lost {
                first: 0,
                bytes: C + 100
            }
        );
        assert_eq!(w.unreported(), 0);
        assert_eq!(w.reported_message("a"), Reported::NotOurs);
        assert_eq!(w.reported_message("zzz"), Reported::NotOurs);
    }

    #[tokio::test]
    async fn a_sender_waiting_for_room_wakes_on_the_report() {
        let w = Arc::new(RelayWindow::default());
        for id in ["a", "b", "c"] {
            w.add_message(id, C);
        }
        let waiting = {
            let w = w.clone();
            tokio::spawn(async move { w.wait_room(C, &|| false).await })
        };
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        assert_eq!(w.reported_message("a"), Reported::InOrder);
        waiting.await.unwrap();
    }
}
