//! The receiving side of chunking (RFC 4975 §5.1, §7.3): putting a
//! message back together from its chunks by Message-ID and Byte-Range.
//! Chunks may come out of order (a relay may reorder across
//! connections), twice, overlapping, with `*` totals learned only from
//! the `$` chunk, or end in a `#` abort.
//!
//! Everything held is bounded ([`ReassemblyLimits`]): messages in flight,
//! bytes per message and in all, and the number of holes per message. A
//! declared total is never allocated up front, so a peer claiming a
//! gigabyte and sending a byte costs a byte. Where a bound is hit the
//! error maps to the 413 a receiver sends (RFC 4975 §7.3: "stop sending").
//!
//! Large file transfers should not use this: they stream body pieces to
//! disk as the parser hands them on. This is for chat-sized messages.

use std::collections::HashMap;

use crate::headers::ByteRange;
use crate::message::Flag;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReassemblyLimits {
    pub max_messages: usize,
    pub max_message_bytes: u64,
    pub max_total_bytes: u64,
    /// Disjoint received ranges kept per message.
    pub max_fragments: usize,
}

impl Default for ReassemblyLimits {
    /// Chat messages, not files: 64 in flight, 4 MiB each, 16 MiB in all.
    fn default() -> Self {
        ReassemblyLimits {
            max_messages: 64,
            max_message_bytes: 4 << 20,
            max_total_bytes: 16 << 20,
            max_fragments: 256,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReassemblyError {
    #[error("more than {0} messages in flight")]
    TooManyMessages(usize),
    #[error("message larger than {0} bytes")]
    MessageTooLarge(u64),
    #[error("more than {0} bytes held for reassembly")]
    TooMuchHeld(u64),
    #[error("more than {0} disjoint ranges in one message")]
    TooFragmented(usize),
    #[error("chunk disagrees with the message: {0}")]
    Inconsistent(&'static str),
}

impl ReassemblyError {
    /// The MSRP status to answer the chunk with (RFC 4975 §10).
    pub fn status(&self) -> u16 {
        match self {
            ReassemblyError::Inconsistent(_) => 400,
            _ => 413,
        }
    }
}

/// What one chunk did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// More chunks are needed.
    Partial { received: u64, total: Option<u64> },
    /// The whole message, in order.
    Complete(Vec<u8>),
    /// The sender gave up on it; what had arrived is dropped.
    Aborted { received: u64 },
}

#[derive(Debug, Default)]
struct Partial {
    total: Option<u64>,
    data: Vec<u8>,
    /// Received ranges, 0-based half-open, sorted and disjoint.
    have: Vec<(u64, u64)>,
}

impl Partial {
    fn received(&self) -> u64 {
        self.have.iter().map(|(a, b)| b - a).sum()
    }

    /// Adds `[from, to)`, merging neighbours.
    fn mark(&mut self, from: u64, to: u64) {
        if from >= to {
            return;
        }
        let mut merged = (from, to);
        self.have.retain(|&(a, b)| {
            let touches = a <= merged.1 && merged.0 <= b;
            if touches {
                merged = (merged.0.min(a), merged.1.max(b));
            }
            !touches
        });
        let at = self.have.partition_point(|&(a, _)| a < merged.0);
        self.have.insert(at, merged);
    }

    fn is_complete(&self) -> bool {
        match self.total {
            Some(0) => true,
            Some(t) => self.have.first() == Some(&(0, t)),
            None => false,
        }
    }
}

/// Reassembles incoming messages of one session.
#[derive(Debug, Default)]
pub struct Reassembler {
    limits: ReassemblyLimits,
    partial: HashMap<String, Partial>,
    held: u64,
}

impl Reassembler {
    pub fn new(limits: ReassemblyLimits) -> Self {
        Reassembler {
            limits,
            partial: HashMap::new(),
            held: 0,
        }
    }

    pub fn in_flight(&self) -> usize {
        self.partial.len()
    }

    /// Bytes buffered across all messages.
    pub fn held_bytes(&self) -> u64 {
        self.held
    }

    /// Drops a message (a timeout, a closed session).
    pub fn remove(&mut self, message_id: &str) {
        if let Some(p) = self.partial.remove(message_id) {
            self.held -= p.data.len() as u64;
        }
    }

    /// Takes one chunk's body. `range` is its Byte-Range header; the body
    /// length decides where it ends (a chunk cut short by its sender with
    /// `+` carries fewer bytes than a `*` end would). On error the
    /// message is dropped: a receiver that refuses a chunk with 413 will
    /// not see the rest.
    pub fn chunk(
        &mut self,
        message_id: &str,
        range: ByteRange,
        body: &[u8],
        flag: Flag,
    ) -> Result<Progress, ReassemblyError> {
        let r = self.add(message_id, range, body, flag);
        if r.is_err() {
            self.remove(message_id);
        }
        r
    }

    fn add(
        &mut self,
        message_id: &str,
        range: ByteRange,
        body: &[u8],
        flag: Flag,
    ) -> Result<Progress, ReassemblyError> {
        let lim = self.limits;
        if !self.partial.contains_key(message_id) && self.partial.len() >= lim.max_messages {
            return Err(ReassemblyError::TooManyMessages(lim.max_messages));
        }
        let from = range.start - 1;
        let to = from
            .checked_add(body.len() as u64)
            .ok_or(ReassemblyError::MessageTooLarge(lim.max_message_bytes))?;
        if range.end.is_some_and(|e| to > e) {
            return Err(ReassemblyError::Inconsistent("body longer than its range"));
        }
        let p = self.partial.entry(message_id.to_owned()).or_default();
        let mut total = range.total;
        // A `$` chunk ends the message: its end is the size.
        if flag == Flag::Complete && total.is_none() {
            total = Some(to);
        }
        if let Some(t) = total {
            match p.total {
                Some(old) if old != t => {
                    return Err(ReassemblyError::Inconsistent("total changed"));
                }
                _ => p.total = Some(t),
            }
        }
        if let Some(t) = p.total {
            if t > lim.max_message_bytes {
                return Err(ReassemblyError::MessageTooLarge(lim.max_message_bytes));
            }
            if to > t || p.have.last().is_some_and(|&(_, b)| b > t) {
                return Err(ReassemblyError::Inconsistent("bytes beyond the total"));
            }
        }
        if flag == Flag::Aborted {
            let received = p.received();
            self.remove(message_id);
            return Ok(Progress::Aborted { received });
        }
        if to > lim.max_message_bytes {
            return Err(ReassemblyError::MessageTooLarge(lim.max_message_bytes));
        }
        let old_len = p.data.len() as u64;
        if to > old_len {
            let grow = to - old_len;
            if self.held + grow > lim.max_total_bytes {
                return Err(ReassemblyError::TooMuchHeld(lim.max_total_bytes));
            }
            self.held += grow;
            // `to` is bounded by max_message_bytes, so it fits memory
            // the caller agreed to spend.
            p.data.resize(usize::try_from(to).unwrap_or(usize::MAX), 0);
        }
        let (f, t) = (
            usize::try_from(from).unwrap_or(usize::MAX),
            usize::try_from(to).unwrap_or(usize::MAX),
        );
        if let Some(dst) = p.data.get_mut(f..t) {
            dst.copy_from_slice(body);
        }
        p.mark(from, to);
        if p.have.len() > lim.max_fragments {
            return Err(ReassemblyError::TooFragmented(lim.max_fragments));
        }
        if p.is_complete() {
            let mut done = self.partial.remove(message_id).unwrap_or_default();
            self.held -= done.data.len() as u64;
            done.data
                .truncate(usize::try_from(done.total.unwrap_or(0)).unwrap_or(usize::MAX));
            return Ok(Progress::Complete(done.data));
        }
        Ok(Progress::Partial {
            received: p.received(),
            total: p.total,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::TypedHeader;

    fn br(s: &str) -> ByteRange {
        ByteRange::parse(s).unwrap()
    }

    #[test]
    fn in_order_out_of_order_duplicates_overlaps() {
        let mut r = Reassembler::default();
        assert!(matches!(
            r.chunk("m1", br("11-20/20"), b"abcdefghij", Flag::Complete),
            Ok(Progress::Partial {
                received: 10,
                total: Some(20)
            })
        ));
        // A duplicate changes nothing.
        assert!(matches!(
            r.chunk("m1", br("11-20/20"), b"abcdefghij", Flag::Complete),
            Ok(Progress::Partial { received: 10, .. })
        ));
        // An overlapping chunk fills the gap and completes.
        assert_eq!(
            r.chunk("m1", br("1-12/20"), b"0123456789ab", Flag::More),
            Ok(Progress::Complete(b"0123456789abcdefghij".to_vec()))
        );
        assert_eq!((r.in_flight(), r.held_bytes()), (0, 0));
    }

    #[test]
    fn unknown_totals_and_abort() {
        let mut r = Reassembler::default();
        assert!(matches!(
            r.chunk("s", br("1-*/*"), b"hello ", Flag::More),
            Ok(Progress::Partial { total: None, .. })
        ));
        assert_eq!(
            r.chunk("s", br("7-*/*"), b"world", Flag::Complete),
            Ok(Progress::Complete(b"hello world".to_vec()))
        );
        let _ = r.chunk("a", br("1-3/10"), b"abc", Flag::More);
        assert_eq!(
            r.chunk("a", br("4-3/10"), b"", Flag::Aborted),
            Ok(Progress::Aborted { received: 3 })
        );
        assert_eq!(r.in_flight(), 0);
        assert_eq!(
            r.chunk("e", br("1-0/0"), b"", Flag::Complete),
            Ok(Progress::Complete(Vec::new()))
        );
    }

    #[test]
    fn bounds() {
        let lim = ReassemblyLimits {
            max_messages: 2,
            max_message_bytes: 100,
            max_total_bytes: 150,
            max_fragments: 3,
        };
        let mut r = Reassembler::new(lim);
        // A declared size above the bound is refused before any byte.
        let e = r.chunk("big", br("1-1/1000000000"), b"x", Flag::More);
        assert_eq!(e, Err(ReassemblyError::MessageTooLarge(100)));
        assert_eq!(e.map_err(|e| e.status()), Err(413));
        assert!(r.chunk("a", br("1-80/*"), &[0; 80], Flag::More).is_ok());
        assert!(r.chunk("b", br("1-1/*"), &[0; 1], Flag::More).is_ok());
        assert_eq!(
            r.chunk("c", br("1-1/1"), b"x", Flag::Complete),
            Err(ReassemblyError::TooManyMessages(2))
        );
        assert_eq!(
            r.chunk("b", br("2-80/*"), &[0; 79], Flag::More),
            Err(ReassemblyError::TooMuchHeld(150))
        );
        // The refused message is dropped, its bytes released.
        assert_eq!((r.in_flight(), r.held_bytes()), (1, 80));
        let mut f = Reassembler::new(lim);
        for s in ["1-1/*", "3-3/*", "5-5/*"] {
            assert!(f.chunk("f", br(s), b"x", Flag::More).is_ok());
        }
        assert_eq!(
            f.chunk("f", br("7-7/*"), b"x", Flag::More),
            Err(ReassemblyError::TooFragmented(3))
        );
        let mut i = Reassembler::default();
        let _ = i.chunk("i", br("1-2/10"), b"ab", Flag::More);
        assert_eq!(
            i.chunk("i", br("3-4/11"), b"cd", Flag::More),
            Err(ReassemblyError::Inconsistent("total changed"))
        );
        assert_eq!(
            i.chunk("j", br("1-2/10"), b"abc", Flag::More),
            Err(ReassemblyError::Inconsistent("body longer than its range"))
        );
    }
}
