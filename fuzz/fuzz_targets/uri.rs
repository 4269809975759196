//! URI parsing: never panics; a parsed URI prints back to text that parses
//! to the same URI, and is equivalent to itself (RFC 3261 §19.1.4).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sip_proto::Uri;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(u) = Uri::parse(s) {
        let text = u.to_string();
        let again = Uri::parse(&text).expect("printed URI must parse");
        assert_eq!(again, u);
        assert!(u.equivalent(&again));
    }
});
