//! MSRP URI parsing: never panics; what parses writes back to text that
//! parses to an equal URI (RFC 4975 §6.1 equality) and the same text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msrp_proto::MsrpUri;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(u) = MsrpUri::parse(s) {
        let text = u.to_string();
        let again = MsrpUri::parse(&text).expect("own output parses");
        assert_eq!(again, u);
        assert_eq!(again.to_string(), text);
    }
    // The path and range readers take header values of the same text.
    let _ = <msrp_proto::headers::ToPath as msrp_proto::TypedHeader>::parse(s);
    let _ = <msrp_proto::headers::ByteRange as msrp_proto::TypedHeader>::parse(s);
});
