//! The sending side of chunking (RFC 4975 §5.1, §7.1.1): cutting a
//! message body into chunks of at most a configured size, each with its
//! Byte-Range and continuation flag. A session keeps one [`Chunker`] per
//! outgoing message and takes a chunk from each in turn, which is what
//! lets a large file transfer interleave with small chat messages on one
//! connection.
//!
//! Sans-IO: the chunker plans, the caller owns the bytes (a file, a
//! buffer) and writes each planned slice between the head and end-line.

use crate::headers::{ByteRange, MAX_BYTE_POS};
use crate::message::Flag;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    #[error("chunk size must be at least 1")]
    ZeroChunkSize,
    #[error("message size above 2^63-1")]
    TooLarge,
    #[error("first byte {first} is not within the message of {total} bytes")]
    OutOfRange { first: u64, total: u64 },
}

/// One planned chunk: `len` body bytes starting at message offset
/// `range.start - 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkPlan {
    pub range: ByteRange,
    pub len: u64,
    pub flag: Flag,
}

impl ChunkPlan {
    /// The slice of a message held in memory this chunk carries.
    pub fn offsets(&self) -> std::ops::Range<usize> {
        let from = usize::try_from(self.range.start - 1).unwrap_or(usize::MAX);
        let len = usize::try_from(self.len).unwrap_or(usize::MAX);
        from..from.saturating_add(len)
    }
}

/// Plans the chunks of one outgoing message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunker {
    total: Option<u64>,
    chunk_size: u64,
    /// 1-based position of the next byte to send.
    next: u64,
    /// A chunk was planned: from then on the peer may hold part of the
    /// message, and only a `#` chunk ends it cleanly.
    started: bool,
    finished: bool,
}

impl Chunker {
    /// `total` is the message size if known (a file), `None` for a
    /// stream whose end is learned when the source runs dry.
    pub fn new(total: Option<u64>, chunk_size: u64) -> Result<Self, ChunkError> {
        if chunk_size == 0 {
            return Err(ChunkError::ZeroChunkSize);
        }
        if total.is_some_and(|t| t > MAX_BYTE_POS) {
            return Err(ChunkError::TooLarge);
        }
        Ok(Chunker {
            total,
            chunk_size,
            next: 1,
            started: false,
            finished: false,
        })
    }

    /// A message of `total` bytes sent from byte `first` on (1-based):
    /// the rest of a file whose start the peer already has (RFC 5547
    /// `a=file-range`). Ranges and flags are those of the whole message.
    pub fn starting_at(total: u64, chunk_size: u64, first: u64) -> Result<Self, ChunkError> {
        let mut c = Chunker::new(Some(total), chunk_size)?;
        let empty_whole = total == 0 && first == 1;
        if first == 0 || (first > total && !empty_whole) {
            return Err(ChunkError::OutOfRange { first, total });
        }
        c.next = first;
        Ok(c)
    }

    /// Bytes sent so far (for a message started at byte `first`, the
    /// bytes before it count as sent).
    pub fn sent(&self) -> u64 {
        self.next - 1
    }

    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Whether a chunk was planned (for a message started in the middle,
    /// one of those sent now: the peer's earlier bytes do not count).
    pub fn is_started(&self) -> bool {
        self.started
    }

    /// The next chunk out of `available` bytes the caller has ready;
    /// `eof` says no more will come after them (needed to end a message
    /// of unknown size). `None` when finished or waiting for data.
    pub fn next_chunk(&mut self, available: u64, eof: bool) -> Option<ChunkPlan> {
        if self.finished {
            return None;
        }
        let plan = match self.total {
            Some(total) => {
                let remaining = total - self.sent();
                let len = self.chunk_size.min(remaining).min(available);
                if len == 0 && remaining > 0 {
                    return None;
                }
                let end = self.next + len - 1;
                let flag = if end == total {
                    Flag::Complete
                } else {
                    Flag::More
                };
                ChunkPlan {
                    range: ByteRange {
                        start: self.next,
                        end: Some(end),
                        total: Some(total),
                    },
                    len,
                    flag,
                }
            }
            None => {
                let len = self.chunk_size.min(available);
                let last = eof && available <= self.chunk_size;
                if len == 0 && !last {
                    return None;
                }
                let end = self.next + len - 1;
                if end > MAX_BYTE_POS {
                    return None;
                }
                ChunkPlan {
                    range: ByteRange {
                        start: self.next,
                        end: Some(end),
                        // The last chunk states the size it now knows.
                        total: last.then_some(end),
                    },
                    len,
                    flag: if last { Flag::Complete } else { Flag::More },
                }
            }
        };
        self.next += plan.len;
        self.started = true;
        self.finished = plan.flag == Flag::Complete;
        Some(plan)
    }

    /// An empty chunk with the `#` flag that abandons the message
    /// (RFC 4975 §7.1: the sender intends to send no more of it).
    pub fn abort(&mut self) -> Option<ChunkPlan> {
        if self.finished {
            return None;
        }
        self.finished = true;
        Some(ChunkPlan {
            range: ByteRange {
                start: self.next,
                end: Some(self.next - 1),
                total: self.total,
            },
            len: 0,
            flag: Flag::Aborted,
        })
    }
}

/// Every chunk of a body held in memory.
pub fn split(len: u64, chunk_size: u64) -> Result<Vec<ChunkPlan>, ChunkError> {
    let mut c = Chunker::new(Some(len), chunk_size)?;
    let mut out = Vec::new();
    while let Some(p) = c.next_chunk(len, true) {
        out.push(p);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::TypedHeader;

    #[test]
    fn known_size() {
        let plans = split(25, 10).unwrap();
        let ranges: Vec<_> = plans.iter().map(|p| p.range.to_value()).collect();
        assert_eq!(ranges, ["1-10/25", "11-20/25", "21-25/25"]);
        let flags: Vec<_> = plans.iter().map(|p| p.flag).collect();
        assert_eq!(flags, [Flag::More, Flag::More, Flag::Complete]);
        assert_eq!(plans.get(2).map(ChunkPlan::offsets), Some(20..25));
        // An empty message is one empty chunk.
        let empty = split(0, 10).unwrap();
        assert_eq!(empty.len(), 1);
        assert_eq!(
            empty.first().map(|p| p.range.to_value()),
            Some("1-0/0".into())
        );
        assert_eq!(split(1, 0), Err(ChunkError::ZeroChunkSize));
    }

    #[test]
    fn waits_for_data_and_streams_unknown_size() {
        let mut c = Chunker::new(Some(8), 4).unwrap();
        assert_eq!(c.next_chunk(0, false), None);
        assert_eq!(
            c.next_chunk(3, false).map(|p| p.range.to_value()),
            Some("1-3/8".into())
        );
        let mut s = Chunker::new(None, 4).unwrap();
        let a = s.next_chunk(10, false).unwrap();
        assert_eq!((a.range.to_value(), a.flag), ("1-4/*".into(), Flag::More));
        assert_eq!(s.next_chunk(0, false), None);
        let b = s.next_chunk(3, true).unwrap();
        assert_eq!(
            (b.range.to_value(), b.flag),
            ("5-7/7".into(), Flag::Complete)
        );
        assert!(s.is_finished());
        assert_eq!(s.next_chunk(1, true), None);
    }

    #[test]
    fn starts_in_the_middle() {
        let mut c = Chunker::starting_at(25, 10, 21).unwrap();
        // The peer's first 20 bytes came in an earlier session.
        assert!(!c.is_started());
        let p = c.next_chunk(5, true).unwrap();
        assert_eq!(
            (p.range.to_value(), p.flag, p.len),
            ("21-25/25".into(), Flag::Complete, 5)
        );
        assert!(c.is_finished());
        assert!(Chunker::starting_at(0, 10, 1).is_ok());
        assert_eq!(
            Chunker::starting_at(25, 10, 26),
            Err(ChunkError::OutOfRange {
                first: 26,
                total: 25
            })
        );
        assert!(Chunker::starting_at(25, 10, 0).is_err());
    }

    #[test]
    fn abort() {
        let mut c = Chunker::new(Some(100), 10).unwrap();
        assert!(!c.is_started());
        let _ = c.next_chunk(100, true);
        assert!(c.is_started());
        let a = c.abort().unwrap();
        assert_eq!(
            (a.range.to_value(), a.flag, a.len),
            ("11-10/100".into(), Flag::Aborted, 0)
        );
        assert_eq!(c.abort(), None);
    }
}
