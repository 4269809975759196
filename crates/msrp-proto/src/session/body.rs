//! The bytes of one outgoing message that are given but not yet written.
//!
//! A chat message is given whole; a file is given piece by piece as the
//! transport reads it, and pieces leave the buffer as their chunks are
//! written, so a gigabyte file never sits in memory.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

#[derive(Debug, Default)]
pub(super) struct BodyBuffer {
    pieces: VecDeque<Bytes>,
    len: u64,
    /// Every byte of the message has been given.
    complete: bool,
}

impl BodyBuffer {
    pub(super) fn whole(body: Bytes) -> Self {
        let len = body.len() as u64;
        BodyBuffer {
            pieces: VecDeque::from([body]),
            len,
            complete: true,
        }
    }

    pub(super) fn streamed() -> Self {
        BodyBuffer::default()
    }

    pub(super) fn push(&mut self, data: Bytes, last: bool) {
        self.len += data.len() as u64;
        if !data.is_empty() {
            self.pieces.push_back(data);
        }
        self.complete |= last;
    }

    pub(super) fn len(&self) -> u64 {
        self.len
    }

    pub(super) fn is_complete(&self) -> bool {
        self.complete
    }

    /// Takes the first `n` bytes (fewer if fewer are buffered): a slice of
    /// the first piece when it holds them all, else a copy.
    pub(super) fn take(&mut self, n: u64) -> Bytes {
        let n = usize::try_from(n.min(self.len)).unwrap_or(usize::MAX);
        if let Some(front) = self.pieces.front_mut() {
            if front.len() >= n {
                let out = front.split_to(n);
                if front.is_empty() {
                    self.pieces.pop_front();
                }
                self.len -= n as u64;
                return out;
            }
        }
        let mut out = BytesMut::with_capacity(n);
        while out.len() < n {
            let Some(front) = self.pieces.front_mut() else {
                break;
            };
            let want = (n - out.len()).min(front.len());
            out.extend_from_slice(&front.split_to(want));
            if front.is_empty() {
                self.pieces.pop_front();
            }
        }
        self.len -= out.len() as u64;
        out.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_across_pieces_and_keeps_the_rest() {
        let mut b = BodyBuffer::streamed();
        b.push(Bytes::from_static(b"abc"), false);
        b.push(Bytes::from_static(b""), false);
        b.push(Bytes::from_static(b"defg"), true);
        assert_eq!((b.len(), b.is_complete()), (7, true));
        assert_eq!(&b.take(2)[..], b"ab");
        assert_eq!(&b.take(3)[..], b"cde");
        assert_eq!(&b.take(10)[..], b"fg");
        assert_eq!(b.len(), 0);
        assert!(b.take(1).is_empty());
    }
}
