//! RTP and RTCP parsing: never panics; what parses is written back to
//! bytes that parse to the same packet(s).
#![no_main]

use libfuzzer_sys::fuzz_target;
use media::rtcp::RtcpPacket;
use media::rtp::RtpPacket;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = RtpPacket::parse(data) {
        let bytes = p.to_vec();
        assert_eq!(RtpPacket::parse(&bytes).expect("written RTP parses"), p);
    }
    if let Ok(packets) = RtcpPacket::parse_compound(data) {
        let bytes = RtcpPacket::compound(&packets);
        assert_eq!(
            RtcpPacket::parse_compound(&bytes).expect("written RTCP parses"),
            packets
        );
    }
});
