//! Giving up a message of ours (RFC 4975 §7.1): a chat message the user
//! takes back, a file transfer cancelled half-way.
//!
//! A message none of whose chunks was written is simply forgotten: the
//! peer never heard of it. One the peer holds part of must be ended, or
//! the peer keeps its partial message until it gives up on its own: the
//! RFC's way is a chunk whose end-line carries `#`, after which the
//! sender sends no more of it and the receiver drops what it has. A
//! chunk of it half written (the `writing` module: a large chunk goes
//! out in slices, its range end `*`) is that chunk: its end-line comes
//! at once with `#`, none of its remaining bytes goes. Between chunks,
//! ours is an empty chunk at the next byte (`N-(N-1)/total`, the form
//! every empty chunk takes here).
//!
//! Nothing is awaited for the message any more: responses to its chunks,
//! the `#` chunk's own among them, are ignored when they come, so no 408
//! fires for a message the user already gave up.

use super::{Session, SessionEvent};

/// What [`Session::abort_message`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbortOutcome {
    /// No chunk of it had been written: dropped, nothing goes out.
    Dropped,
    /// Chunks of it had been written: a `#` chunk ends it.
    Interrupted,
    /// A chunk of it was half written: that chunk ends at once with `#`.
    Cut,
}

impl Session {
    /// Gives up `message_id` and reports
    /// [`SessionEvent::MessageCancelled`]. None when no such message has
    /// bytes left to write: unknown, already failed, or written whole
    /// (too late to take back: its responses and reports still come).
    pub fn abort_message(&mut self, message_id: &str) -> Option<AbortOutcome> {
        let at = self
            .outgoing
            .iter()
            .position(|m| m.message_id.0 == message_id);
        let cut = self.cut_chunk_of(message_id);
        let msg = at.and_then(|at| self.outgoing.remove(at));
        if cut {
            // Its last chunk, if that is the one cut, left it here.
            self.finishing.remove(message_id);
        }
        if msg.is_none() && !cut {
            return None;
        }
        self.pending.retain(|_, p| p.message_id != message_id);
        self.partial.retain(|(_, m)| m != message_id);
        let outcome = if cut {
            AbortOutcome::Cut
        } else if let Some(mut msg) = msg.filter(|m| m.chunker.is_started()) {
            let end = msg.chunker.abort();
            // An empty body always has a transaction id and encodes: the
            // error arm is for form's sake.
            if let Some(Ok((_, _, bytes))) =
                end.map(|plan| self.encode_chunk(&msg, &plan, &[], false))
            {
                self.transmits.push_back(bytes);
            }
            AbortOutcome::Interrupted
        } else {
            AbortOutcome::Dropped
        };
        self.events.push_back(SessionEvent::MessageCancelled {
            message_id: message_id.to_owned(),
        });
        Some(outcome)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use bytes::Bytes;

    use super::AbortOutcome;
    use crate::headers::{ByteRange, FailureReport, MessageId};
    use crate::message::Flag;
    use crate::session::tests::{events, headless, pair, pump};
    use crate::session::writing::tests::{file_between, refusal_413, tid_of};
    use crate::session::SessionEvent;

    #[test]
    fn a_message_partly_written_ends_with_a_hash_chunk_and_nothing_waits_for_it() {
        let (mut a, mut b) = pair(100);
        let now = Instant::now();
        let id = a.send_message(
            "text/plain",
            Bytes::from(vec![b'x'; 1000]),
            true,
            FailureReport::Yes,
        );
        // Two of its ten chunks reach bob; his 200s are still on the way.
        for _ in 0..2 {
            let chunk = a.poll_transmit(now).unwrap();
            b.handle_input(now, &chunk).unwrap();
        }
        assert_eq!(a.abort_message(&id), Some(AbortOutcome::Interrupted));
        assert_eq!(
            events(&mut a),
            vec![SessionEvent::MessageCancelled {
                message_id: id.clone()
            }]
        );
        let end = String::from_utf8(a.poll_transmit(now).unwrap()).unwrap();
        assert!(end.contains(&format!("Message-ID: {id}\r\n")), "{end}");
        // Empty, at the next byte, and `#`: no more of it will come.
        assert!(end.contains("Byte-Range: 201-200/1000\r\n"), "{end}");
        assert!(end.ends_with(&format!("-------{}#\r\n", tid_of(end.as_bytes()))));
        assert!(!end.contains("Content-Type"), "{end}");
        b.handle_input(now, end.as_bytes()).unwrap();
        let after = pump(&mut a, &mut b, now, 13);
        assert!(after.is_empty(), "none of the 8 chunks left goes out");
        assert_eq!(
            events(&mut b),
            vec![SessionEvent::MessageAborted {
                message_id: id.clone()
            }]
        );
        // Bob's three 200s came after the abort: nothing more is said of
        // the message, and no 408 is pending for it.
        assert_eq!(events(&mut a), vec![]);
        assert!(a.is_idle());
        assert_eq!(a.poll_timeout(), None);
        a.handle_timeout(now + Duration::from_secs(60));
        assert_eq!(events(&mut a), vec![]);
        let next = a.send_message(
            "text/plain",
            Bytes::from_static(b"after"),
            false,
            FailureReport::Yes,
        );
        pump(&mut a, &mut b, now, 13);
        assert_eq!(
            events(&mut b),
            vec![SessionEvent::MessageReceived {
                message_id: next,
                content_type: Some("text/plain".into()),
                body: b"after".to_vec(),
            }]
        );
    }

    #[test]
    fn a_message_not_yet_written_is_dropped_without_a_word_on_the_wire() {
        let (mut a, mut b) = pair(100);
        let now = Instant::now();
        let dropped = a.send_message(
            "text/plain",
            Bytes::from(vec![b'y'; 300]),
            false,
            FailureReport::Yes,
        );
        // A resumed file whose earlier bytes the peer has from before:
        // none sent in this session, so nothing to end either.
        a.begin_message(
            MessageId("resumed1".into()),
            "application/octet-stream",
            300,
            201,
            false,
            FailureReport::Yes,
        )
        .unwrap();
        let kept = a.send_message(
            "text/plain",
            Bytes::from_static(b"kept"),
            false,
            FailureReport::Yes,
        );
        assert_eq!(a.abort_message(&dropped), Some(AbortOutcome::Dropped));
        assert_eq!(a.abort_message("resumed1"), Some(AbortOutcome::Dropped));
        assert_eq!(a.abort_message(&dropped), None, "given up once");
        assert_eq!(a.abort_message("no-such-message"), None);
        assert!(!a.append_body("resumed1", Bytes::from_static(b"late"), true));
        assert_eq!(
            events(&mut a),
            vec![
                SessionEvent::MessageCancelled {
                    message_id: dropped.clone()
                },
                SessionEvent::MessageCancelled {
                    message_id: "resumed1".into()
                },
            ]
        );
        let written = pump(&mut a, &mut b, now, 7);
        assert!(written.iter().all(|w| {
            let text = String::from_utf8_lossy(w);
            !text.contains(&dropped) && !text.contains("resumed1")
        }));
        assert_eq!(
            events(&mut b),
            vec![SessionEvent::MessageReceived {
                message_id: kept.clone(),
                content_type: Some("text/plain".into()),
                body: b"kept".to_vec(),
            }]
        );
        // Written whole and answered: too late to take back.
        assert_eq!(a.abort_message(&kept), None);
        assert_eq!(
            headless(&mut a),
            vec![SessionEvent::MessageSent {
                message_id: kept,
                chunk: None
            }]
        );
    }

    #[test]
    fn a_file_given_up_half_way_ends_for_a_streaming_receiver_too() {
        let (mut a, b) = pair(100);
        let mut b = file_between(&mut a, &b, 1000, false);
        let now = Instant::now();
        // Two whole chunks go; the 50 bytes after them wait for more.
        assert!(a.append_body("file1", Bytes::from(vec![7u8; 250]), false));
        pump(&mut a, &mut b, now, 11);
        assert_eq!(a.abort_message("file1"), Some(AbortOutcome::Interrupted));
        pump(&mut a, &mut b, now, 11);
        let last = events(&mut b)
            .into_iter()
            .filter(|e| matches!(e, SessionEvent::ChunkReceived { .. }))
            .last();
        assert_eq!(
            last,
            Some(SessionEvent::ChunkReceived {
                message_id: "file1".into(),
                content_type: Some("application/octet-stream".into()),
                range: ByteRange {
                    start: 201,
                    end: Some(200),
                    total: Some(1000),
                },
                flag: Flag::Aborted,
                success_report: false,
            })
        );
        let got = events(&mut a);
        assert_eq!(
            got.last(),
            Some(&SessionEvent::MessageCancelled {
                message_id: "file1".into()
            })
        );
        assert!(
            !got.iter()
                .any(|e| matches!(e, SessionEvent::MessageFailed { .. })),
            "{got:?}"
        );
        assert!(a.is_idle());
    }

    /// RFC 4975 §7.1.1 and §10: a 413 asks the sender to stop sending the
    /// message, whether it wanted every answer or only errors.
    #[test]
    fn a_413_to_a_chunk_stops_the_rest_of_the_message() {
        for report in [FailureReport::Yes, FailureReport::Partial] {
            let (mut a, _) = pair(100);
            let now = Instant::now();
            let id = a.send_message("text/plain", Bytes::from(vec![b'z'; 1000]), false, report);
            let first = a.poll_transmit(now).unwrap();
            let _second = a.poll_transmit(now).unwrap();
            let tid = tid_of(&first);
            a.handle_input(now, refusal_413(&tid).as_bytes()).unwrap();
            assert_eq!(
                headless(&mut a),
                vec![SessionEvent::MessageFailed {
                    message_id: id,
                    status: 413,
                    reason: Some("Too large".into()),
                    chunk: None,
                }],
                "{report:?}"
            );
            assert_eq!(
                a.poll_transmit(now),
                None,
                "{report:?}: a chunk after the 413"
            );
            assert!(a.is_idle(), "{report:?}");
        }
    }
}
