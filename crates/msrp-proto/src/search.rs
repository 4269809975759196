//! Byte-string search for the end-line, over every body byte on both
//! sides of a file transfer: memchr's SIMD `memmem` (a crate nearly every
//! Rust program already has), several times faster than a byte loop.

/// The first position of `needle` in `hay`.
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    find_from(hay, needle, 0)
}

/// The first position at or after `from` of `needle` in `hay`.
pub(crate) fn find_from(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    memchr::memmem::find(hay.get(from..)?, needle).map(|at| from + at)
}

/// The length of the longest suffix of `hay` that is a proper prefix of
/// `needle`: bytes that may still turn into the needle when more arrive.
pub(crate) fn partial_suffix(hay: &[u8], needle: &[u8]) -> usize {
    let max = needle.len().saturating_sub(1).min(hay.len());
    (1..=max)
        .rev()
        .find(|&k| hay.get(hay.len() - k..) == needle.get(..k))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds() {
        assert_eq!(find(b"abcabd", b"abd"), Some(3));
        assert_eq!(find(b"ab", b"abd"), None);
        assert_eq!(find(b"xx", b""), None);
        assert_eq!(find_from(b"abab", b"ab", 1), Some(2));
        assert_eq!(partial_suffix(b"xx\r\n--", b"\r\n---x"), 4);
        assert_eq!(partial_suffix(b"xx", b"\r\n"), 0);
        assert_eq!(partial_suffix(b"\r", b"\r\n"), 1);
    }
}
