//! Identifiers that must be unique, not secret: To tags, contact user
//! names. 64 bits from the process's random hash seed mixed with a
//! counter, so no extra crate is needed for them.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

pub(crate) fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static SEED: OnceLock<RandomState> = OnceLock::new();
    let mut h = SEED.get_or_init(RandomState::new).build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.finish()
}

/// A number in `0..n` (0 when `n` is 0): RTP SSRCs, first sequence
/// numbers and timestamps, port choices.
pub(crate) fn below(n: u32) -> u32 {
    if n == 0 {
        return 0;
    }
    (random_u64() % u64::from(n)) as u32
}

/// A tag (RFC 3261 §19.3 asks for at least 32 random bits).
pub(crate) fn tag() -> String {
    format!("{:016x}", random_u64())
}

/// `n` lower-case letters (the spec's contact user name is 8).
pub(crate) fn letters(n: usize) -> String {
    let mut out = String::with_capacity(n);
    let mut bits = random_u64();
    for i in 0..n {
        if i > 0 && i % 13 == 0 {
            bits = random_u64();
        }
        // 26 letters from 5 bits: modulo bias is irrelevant for uniqueness.
        out.push(char::from(b'a' + (bits % 26) as u8));
        bits /= 26;
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn distinct_and_well_formed() {
        let a = super::letters(8);
        let b = super::letters(8);
        assert_eq!(a.len(), 8);
        assert!(a.bytes().all(|c| c.is_ascii_lowercase()));
        assert_ne!(a, b);
        assert_ne!(super::tag(), super::tag());
        assert_eq!(super::letters(30).len(), 30);
    }
}
