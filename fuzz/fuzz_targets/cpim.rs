//! Message/CPIM parsing: never panics; a message that parses and validates
//! prints to bytes that parse to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use payloads::cpim::Message;

fuzz_target!(|data: &[u8]| {
    let Ok(m) = Message::parse(data) else { return };
    let _ = payloads::imdn::request(&m);
    if m.validate().is_ok() {
        let again = Message::parse(&m.to_bytes()).expect("printed CPIM must parse");
        assert_eq!(again, m);
    }
});
