//! Datagram parsing: never panics, and whatever parses round-trips through
//! the canonical serialization.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sip_proto::{Limits, Message};

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    if let Ok(m) = Message::parse_unvalidated(bytes.clone(), &Limits::default()) {
        // Typed reads of every header must fail cleanly, never panic.
        sip_proto::fuzzing::read_all_typed(m.headers());
        let _ = m.to_bytes();
    }
    if let Ok(m) = Message::parse(bytes) {
        let canonical = m.to_bytes();
        let again = Message::parse(canonical.clone()).expect("canonical form must parse");
        assert_eq!(again, m, "parse(serialize(m)) != m");
        assert_eq!(again.to_bytes(), canonical, "canonical form not stable");
    }
});
