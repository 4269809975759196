//! Every typed header parser: never panics; a parsed value prints back to
//! a value that parses to the same thing.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    sip_proto::fuzzing::check_round_trip_all(s);
});
