//! Multipart bodies: never panic; parsed parts rebuild into a body that
//! parses to the same parts.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sip_proto::body::Multipart;
use sip_proto::headers::MediaType;

fuzz_target!(|data: &[u8]| {
    let ct = MediaType::parse("multipart/mixed;boundary=b1").expect("static type");
    let body = Bytes::copy_from_slice(data);
    if let Ok(m) = Multipart::parse(&ct, &body) {
        let rebuilt = m.to_bytes();
        let again = Multipart::parse(&ct, &rebuilt).expect("rebuilt body must parse");
        assert_eq!(again, m);
    }
});
