//! Byte-string search for the end-line. Kept dependency-free: the needle
//! starts with bytes (`\r` or `-`) that are rare in most bodies, so a scan
//! for the first byte followed by a compare is fast enough, and linear in
//! practice.

/// The first position of `needle` in `hay`.
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    find_from(hay, needle, 0)
}

/// The first position at or after `from` of `needle` in `hay`.
pub(crate) fn find_from(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let (&first, _) = needle.split_first()?;
    let mut i = from;
    while let Some(rest) = hay.get(i..) {
        let at = rest.iter().position(|&b| b == first)?;
        let pos = i + at;
        if hay.get(pos..pos + needle.len())? == needle {
            return Some(pos);
        }
        i = pos + 1;
    }
    None
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
