//! A chunk being written in slices (RFC 4975 §7.1): the one chunk whose
//! end-line has not gone out yet.
//!
//! A chunk whose body is larger than `SessionConfig::write_slice` leaves
//! the core in slices, one per [`Session::poll_transmit`]: its head and
//! first slice, further slices, the last slice with the end-line. Its
//! Byte-Range end is `*` (RFC 4975 §7.1.1: the range-end is `*` when the
//! request may be interrupted), so the sender may end it after any slice
//! without having lied about its length: the receiver learns where it
//! ended from the end-line. Giving the message up
//! ([`Session::abort_message`]) or a refusal of an earlier chunk ends it
//! at once with `#`: none of the bytes still planned goes out.
//!
//! While a chunk is being written nothing else may be written on the
//! connection (an answer in the middle of a body would be body): the
//! slices come before queued answers, and a connection shared by several
//! sessions stays with this one until the end-line (see
//! [`crate::demux::Demux`]).
//!
//! Not done: cutting a chunk with `+` so that an answer or a small
//! message waiting behind it goes first (§7.1's interleaving). Slices are
//! bounded, so what waits waits for at most one chunk.

use bytes::Bytes;

use super::{Session, SessionEvent};
use crate::headers::ByteRange;
use crate::message::{Flag, Head, TransactionId};
use crate::write::end_line;

/// 16 KiB: chat (2048-byte chunks) and relayed chunks (8 KiB, a relay
/// reads a frame whole) stay whole; a file's 128 KiB chunks can be cut
/// after any 16 KiB.
pub const DEFAULT_WRITE_SLICE: u64 = 16 * 1024;

#[derive(Debug)]
pub(super) struct Writing {
    pub(super) message_id: String,
    tid: TransactionId,
    /// Body bytes of the chunk not handed out yet.
    rest: Bytes,
    flag: Flag,
    /// The chunk's head, when it is its message's last and no response
    /// is awaited: [`SessionEvent::MessageSent`] once its end-line went.
    pub(super) sent_on_end: Option<Box<Head>>,
}

impl Writing {
    /// Plans no more body: the next transmit is the end-line with `flag`.
    pub(super) fn cut(&mut self, flag: Flag) {
        self.rest = Bytes::new();
        self.flag = flag;
        self.sent_on_end = None;
    }
}

/// The Byte-Range a chunk of `range` says when it may be cut: its end
/// unknown until the end-line comes.
pub(super) fn interruptible(range: ByteRange) -> ByteRange {
    ByteRange { end: None, ..range }
}

impl Session {
    /// Whether a chunk is half written: the next transmit continues it,
    /// and nothing else may be written before its end-line.
    pub fn is_mid_chunk(&self) -> bool {
        self.writing.is_some()
    }

    /// Body bytes of the chunk being written not handed out yet, if it
    /// is one of `message_id` (of any message for None).
    pub(super) fn unwritten_in_chunk(&self, message_id: Option<&str>) -> Option<u64> {
        self.writing
            .as_ref()
            .filter(|w| message_id.is_none_or(|m| w.message_id == m))
            .map(|w| w.rest.len() as u64)
    }

    /// A message whose last chunk was begun and which awaits no
    /// response: sent now, or once that chunk's end-line is, if it is
    /// the one in slices.
    pub(super) fn sent_when_written(&mut self, message_id: String, head: Box<Head>) {
        match &mut self.writing {
            Some(w) => w.sent_on_end = Some(head),
            None => self.events.push_back(SessionEvent::MessageSent {
                message_id,
                chunk: Some(head),
            }),
        }
    }

    /// Starts writing `piece` as a chunk in slices: `head_bytes` (head
    /// and empty line) with the first slice are returned, the rest goes
    /// out through [`Session::next_slice`].
    pub(super) fn begin_writing(
        &mut self,
        message_id: String,
        tid: TransactionId,
        mut head_bytes: Vec<u8>,
        mut piece: Bytes,
        flag: Flag,
    ) -> Vec<u8> {
        let first = self.slice_len(piece.len());
        head_bytes.extend_from_slice(&piece.split_to(first));
        self.writing = Some(Writing {
            message_id,
            tid,
            rest: piece,
            flag,
            sent_on_end: None,
        });
        head_bytes
    }

    fn slice_len(&self, available: usize) -> usize {
        usize::try_from(self.cfg.write_slice.max(1))
            .unwrap_or(usize::MAX)
            .min(available)
    }

    /// The next slice of the chunk being written, with its end-line when
    /// it is the last.
    pub(super) fn next_slice(&mut self) -> Option<Vec<u8>> {
        let n = self.slice_len(self.writing.as_ref()?.rest.len());
        let w = self.writing.as_mut()?;
        let mut out = w.rest.split_to(n).to_vec();
        if !w.rest.is_empty() {
            return Some(out);
        }
        let done = self.writing.take()?;
        out.extend_from_slice(&end_line(&done.tid, done.flag, true));
        if let Some(head) = done.sent_on_end {
            self.events.push_back(SessionEvent::MessageSent {
                message_id: done.message_id,
                chunk: Some(head),
            });
        }
        Some(out)
    }

    /// Ends the chunk being written at once with `#` if it belongs to
    /// `message_id` and is not ended so already. True when it did.
    pub(super) fn cut_chunk_of(&mut self, message_id: &str) -> bool {
        match &mut self.writing {
            Some(w) if w.message_id == message_id && w.flag != Flag::Aborted => {
                w.cut(Flag::Aborted);
                true
            }
            _ => false,
        }
    }

    /// What must still be written after this session stops, so that a
    /// connection it shares stays readable: a chunk half written ends
    /// with `#` (its message given up), then the answers, REPORTs and
    /// `#` chunks already produced. Everything else queued is dropped.
    pub fn parting_transmits(&mut self) -> Vec<Vec<u8>> {
        if let Some(w) = &mut self.writing {
            w.cut(Flag::Aborted);
        }
        let mut out: Vec<Vec<u8>> = self.next_slice().into_iter().collect();
        out.extend(self.transmits.drain(..));
        out
    }
}

#[cfg(test)]
pub(super) mod tests {
    use std::time::{Duration, Instant};

    use bytes::Bytes;

    use super::super::AbortOutcome;
    use crate::headers::{ByteRange, FailureReport, MessageId};
    use crate::message::Flag;
    use crate::session::tests::{events, headless, pair, pump};
    use crate::session::{Session, SessionConfig, SessionEvent};

    /// Alice and bob with 1000-byte chunks written 300 bytes at a time.
    fn sliced_pair() -> (Session, Session) {
        let (a, b) = pair(1000);
        let a = Session::new(SessionConfig {
            write_slice: 300,
            ..a.config().clone()
        });
        (a, b)
    }

    /// A file of `total` bytes begun on `a` as `file1`, and `b` as a
    /// receiver that streams it (a file transfer's receiving side).
    pub(in crate::session) fn file_between(
        a: &mut Session,
        b: &Session,
        total: u64,
        success_report: bool,
    ) -> Session {
        a.begin_message(
            MessageId("file1".into()),
            "application/octet-stream",
            total,
            1,
            success_report,
            FailureReport::Yes,
        )
        .unwrap();
        Session::new(SessionConfig {
            stream_incoming: true,
            ..b.config().clone()
        })
    }

    /// Bob's 413 to alice's chunk `tid` (RFC 4975 §7.1.1: stop sending
    /// the message).
    pub(in crate::session) fn refusal_413(tid: &str) -> String {
        format!(
            "MSRP {tid} 413 Too large\r\n\
             To-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\r\n\
             From-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n-------{tid}$\r\n"
        )
    }

    /// The transaction id of a chunk's start line.
    pub(in crate::session) fn tid_of(chunk: &[u8]) -> String {
        String::from_utf8_lossy(chunk)
            .split(' ')
            .nth(1)
            .unwrap_or_default()
            .to_owned()
    }

    fn body(n: usize) -> Bytes {
        Bytes::from((0..n).map(|i| (i % 251) as u8).collect::<Vec<_>>())
    }

    #[test]
    fn a_large_chunk_goes_in_slices_with_an_open_range_end_and_arrives_whole() {
        let (mut a, mut b) = sliced_pair();
        let now = Instant::now();
        let id = a.send_message("text/plain", body(1250), true, FailureReport::Yes);
        let first = a.poll_transmit(now).unwrap();
        let text = String::from_utf8_lossy(&first).into_owned();
        // RFC 4975 §7.1.1: `*` where the chunk may still be cut.
        assert!(text.contains("Byte-Range: 1-*/1250\r\n"), "{text}");
        assert!(!text.contains("-------"), "no end-line yet: {text}");
        assert!(a.is_mid_chunk());
        b.handle_input(now, &first).unwrap();
        let mut slices = 1;
        while a.is_mid_chunk() {
            let t = a.poll_transmit(now).unwrap();
            b.handle_input(now, &t).unwrap();
            slices += 1;
        }
        assert_eq!(slices, 4, "1000 bytes in slices of 300");
        // 250 bytes fit one slice: the last chunk goes whole, end exact.
        let last = a.poll_transmit(now).unwrap();
        assert!(String::from_utf8_lossy(&last).contains("Byte-Range: 1001-1250/1250\r\n"));
        b.handle_input(now, &last).unwrap();
        pump(&mut a, &mut b, now, 7);
        assert_eq!(
            events(&mut b),
            vec![SessionEvent::MessageReceived {
                message_id: id.clone(),
                content_type: Some("text/plain".into()),
                body: body(1250).to_vec(),
            }]
        );
        let sent = headless(&mut a);
        assert!(sent.contains(&SessionEvent::MessageSent {
            message_id: id,
            chunk: None
        }));
        assert!(a.is_idle());
    }

    #[test]
    fn an_abort_in_mid_chunk_ends_that_chunk_at_once_with_a_hash() {
        let (mut a, mut b) = sliced_pair();
        let now = Instant::now();
        let id = a.send_message("text/plain", body(3000), true, FailureReport::Yes);
        let head = a.poll_transmit(now).unwrap();
        let second = a.poll_transmit(now).unwrap();
        b.handle_input(now, &head).unwrap();
        b.handle_input(now, &second).unwrap();
        assert_eq!(a.buffered(&id), Some(3000 - 600));
        assert_eq!(a.abort_message(&id), Some(AbortOutcome::Cut));
        assert_eq!(a.abort_message(&id), None, "given up once");
        // The very next bytes: the end-line, none of the 400 planned.
        let end = a.poll_transmit(now).unwrap();
        assert_eq!(end, format!("\r\n-------{}#\r\n", tid_of(&head)).as_bytes());
        assert!(!a.is_mid_chunk());
        b.handle_input(now, &end).unwrap();
        let after = pump(&mut a, &mut b, now, 11);
        assert!(after.is_empty(), "no chunk of it after the cut");
        assert_eq!(
            events(&mut b),
            vec![SessionEvent::MessageAborted {
                message_id: id.clone()
            }]
        );
        assert_eq!(
            events(&mut a),
            vec![SessionEvent::MessageCancelled {
                message_id: id.clone()
            }]
        );
        // Bob's 200 to the cut chunk came and was ignored: no 408 either.
        assert!(a.is_idle());
        a.handle_timeout(now + Duration::from_secs(60));
        assert_eq!(events(&mut a), vec![]);
        let next = a.send_message("text/plain", body(10), false, FailureReport::Yes);
        pump(&mut a, &mut b, now, 5);
        assert_eq!(
            events(&mut b),
            vec![SessionEvent::MessageReceived {
                message_id: next,
                content_type: Some("text/plain".into()),
                body: body(10).to_vec(),
            }]
        );
    }

    /// The last chunk of a message sent without responses reports the
    /// message sent at its end-line; cut before it, the message is
    /// cancelled and never said to be sent.
    #[test]
    fn the_last_chunk_cut_never_reports_its_message_sent() {
        let (mut a, _) = sliced_pair();
        let now = Instant::now();
        let id = a.send_message("text/plain", body(900), false, FailureReport::No);
        let _ = a.poll_transmit(now).unwrap();
        assert_eq!(events(&mut a), vec![], "not sent before its end-line");
        assert_eq!(a.abort_message(&id), Some(AbortOutcome::Cut));
        while a.poll_transmit(now).is_some() {}
        assert_eq!(
            events(&mut a),
            vec![SessionEvent::MessageCancelled { message_id: id }]
        );
        assert!(a.is_idle());
        let whole = a.send_message("text/plain", body(900), false, FailureReport::No);
        while a.poll_transmit(now).is_some() {}
        assert_eq!(
            headless(&mut a),
            vec![SessionEvent::MessageSent {
                message_id: whole,
                chunk: None
            }]
        );
    }

    /// Answers and other messages wait for the end-line: nothing comes
    /// inside the body.
    #[test]
    fn nothing_is_written_inside_a_chunk_in_slices() {
        let (mut a, mut b) = sliced_pair();
        let now = Instant::now();
        let big = a.send_message("text/plain", body(1000), false, FailureReport::Yes);
        let head = a.poll_transmit(now).unwrap();
        // Bob's message needs an answer from alice while she is mid-chunk.
        b.send_message("text/plain", body(5), false, FailureReport::Yes);
        let small = a.send_message("text/plain", body(3), false, FailureReport::Yes);
        a.handle_input(now, &b.poll_transmit(now).unwrap()).unwrap();
        let mut written = vec![head];
        while let Some(t) = a.poll_transmit(now) {
            written.push(t);
        }
        let stream = written.concat();
        let end = format!("-------{}$\r\n", tid_of(&written[0]));
        let end_at = crate::search::find(&stream, end.as_bytes()).unwrap();
        let answer_at = crate::search::find(&stream, b" 200 OK").unwrap();
        let small_at = crate::search::find(&stream, format!("Message-ID: {small}").as_bytes());
        assert!(answer_at > end_at && small_at.unwrap() > end_at);
        b.handle_input(now, &stream).unwrap();
        let got = events(&mut b);
        assert!(got.iter().any(
            |e| matches!(e, SessionEvent::MessageReceived { message_id, .. } if *message_id == big)
        ));
        assert!(got.iter().any(
            |e| matches!(e, SessionEvent::MessageReceived { message_id, .. } if *message_id == small)
        ));
    }

    /// RFC 4975 §7.1.1: a 413 asks the sender to stop the message, the
    /// chunk in hand included.
    #[test]
    fn a_refusal_of_an_earlier_chunk_cuts_the_chunk_in_hand() {
        let (mut a, _) = sliced_pair();
        let now = Instant::now();
        let id = a.send_message("text/plain", body(3000), false, FailureReport::Yes);
        let mut first = a.poll_transmit(now).unwrap();
        while a.is_mid_chunk() {
            first.extend(a.poll_transmit(now).unwrap());
        }
        let second = a.poll_transmit(now).unwrap();
        assert!(a.is_mid_chunk());
        let tid = tid_of(&first);
        a.handle_input(now, refusal_413(&tid).as_bytes()).unwrap();
        let end = a.poll_transmit(now).unwrap();
        assert_eq!(
            end,
            format!("\r\n-------{}#\r\n", tid_of(&second)).as_bytes()
        );
        assert_eq!(a.poll_transmit(now), None);
        let got = headless(&mut a);
        assert!(matches!(
            got.as_slice(),
            [SessionEvent::MessageFailed { message_id, status: 413, .. }] if *message_id == id
        ));
        assert!(a.is_idle());
    }

    /// A file read by a streaming receiver: the bytes that came before
    /// the `#` are handed on and the chunk is said to end where they do.
    #[test]
    fn a_streaming_receiver_sees_a_cut_chunk_end_where_its_bytes_did() {
        let (mut a, b) = sliced_pair();
        let mut b = file_between(&mut a, &b, 5000, true);
        let now = Instant::now();
        assert!(a.append_body("file1", body(5000), true));
        for _ in 0..2 {
            let t = a.poll_transmit(now).unwrap();
            b.handle_input(now, &t).unwrap();
        }
        assert_eq!(a.abort_message("file1"), Some(AbortOutcome::Cut));
        pump(&mut a, &mut b, now, 13);
        let got = events(&mut b);
        let data: usize = got
            .iter()
            .map(|e| match e {
                SessionEvent::ChunkData { data, .. } => data.len(),
                _ => 0,
            })
            .sum();
        assert_eq!(data, 600);
        assert_eq!(
            got.last(),
            Some(&SessionEvent::ChunkReceived {
                message_id: "file1".into(),
                content_type: Some("application/octet-stream".into()),
                range: ByteRange {
                    start: 1,
                    end: Some(600),
                    total: Some(5000),
                },
                flag: Flag::Aborted,
                success_report: true,
            })
        );
    }

    /// What the RFC lets any sender do (§7.1): a chunk whose range end is
    /// `*`, or larger than what came, cut with `+`; the bytes that came
    /// count and the rest comes in the next chunk.
    #[test]
    fn chunks_cut_with_a_plus_by_the_peer_are_continued_and_reassembled() {
        for first_range in ["1-*/11", "1-11/11"] {
            let (_, mut b) = pair(100);
            let now = Instant::now();
            let chunk = |tid: &str, range: &str, body: &str, flag: char| {
                format!(
                    "MSRP {tid} SEND\r\n\
                     To-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n\
                     From-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\r\n\
                     Message-ID: cut1\r\nByte-Range: {range}\r\nSuccess-Report: yes\r\n\
                     Content-Type: text/plain\r\n\r\n{body}\r\n-------{tid}{flag}\r\n"
                )
            };
            b.handle_input(now, chunk("tcut0001", first_range, "hell", '+').as_bytes())
                .unwrap();
            b.handle_input(now, chunk("tcut0002", "5-11/11", "o world", '$').as_bytes())
                .unwrap();
            assert_eq!(
                events(&mut b),
                vec![SessionEvent::MessageReceived {
                    message_id: "cut1".into(),
                    content_type: Some("text/plain".into()),
                    body: b"hello world".to_vec(),
                }],
                "{first_range}"
            );
            let mut out = Vec::new();
            while let Some(t) = b.poll_transmit(now) {
                out.push(String::from_utf8_lossy(&t).into_owned());
            }
            // Two 200s and the success REPORT for all of it.
            assert_eq!(out.len(), 3, "{out:?}");
            assert!(out[2].contains("Byte-Range: 1-11/11\r\n"), "{out:?}");
        }
    }

    /// A `#` after part of a chunk whose range end is `*`: no delivery
    /// and no success REPORT (the message was never received whole).
    #[test]
    fn a_chunk_cut_with_a_hash_by_the_peer_aborts_the_message_without_a_report() {
        let (_, mut b) = pair(100);
        let now = Instant::now();
        let cut = "MSRP tcut0009 SEND\r\n\
                   To-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n\
                   From-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\r\n\
                   Message-ID: cut2\r\nByte-Range: 1-*/50\r\nSuccess-Report: yes\r\n\
                   Content-Type: text/plain\r\n\r\nsome of it\r\n-------tcut0009#\r\n";
        b.handle_input(now, cut.as_bytes()).unwrap();
        assert_eq!(
            events(&mut b),
            vec![SessionEvent::MessageAborted {
                message_id: "cut2".into()
            }]
        );
        let out: Vec<_> = std::iter::from_fn(|| b.poll_transmit(now)).collect();
        assert_eq!(out.len(), 1, "the 200 alone");
        assert!(!String::from_utf8_lossy(&out[0]).contains("REPORT"));
    }
}
