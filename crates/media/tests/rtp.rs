//! RTP packets (RFC 3550 §5.1) and the sender's counters.

use media::rtp::{is_rtp_or_rtcp, RtpError, RtpPacket, RtpSender};

/// V=2, P=1, X=1, CC=1; M=1, PT=0; seq 0x1234; ts 0xdeadbeef;
/// SSRC 0x11223344; CSRC 0x55667788; extension 0xbede with one word;
/// payload 01 02 03 00; 3 bytes of padding (the last says 3).
const PACKET: [u8; 31] = [
    0xb1, 0x80, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
    0xbe, 0xde, 0x00, 0x01, 0x10, 0xaa, 0x00, 0x00, 0x01, 0x02, 0x03, 0x00, 0x00, 0x00, 0x03,
];

#[test]
fn every_header_field_is_read() {
    let p = RtpPacket::parse(&PACKET).unwrap();
    assert!(p.marker);
    assert_eq!(p.payload_type, 0);
    assert_eq!(p.sequence, 0x1234);
    assert_eq!(p.timestamp, 0xdead_beef);
    assert_eq!(p.ssrc, 0x1122_3344);
    assert_eq!(p.csrcs, [0x5566_7788]);
    assert_eq!(p.extension, Some((0xbede, &[0x10, 0xaa, 0x00, 0x00][..])));
    assert_eq!(p.payload, [0x01, 0x02, 0x03, 0x00]);
    assert!(is_rtp_or_rtcp(&PACKET));
    assert!(!is_rtp_or_rtcp(&[0x00, 0x01]), "STUN starts with 0-3");
}

#[test]
fn written_packets_parse_back() {
    let p = RtpPacket::parse(&PACKET).unwrap();
    let bytes = p.to_vec();
    assert_eq!(RtpPacket::parse(&bytes).unwrap(), p);
    // Without padding the written form is the input minus its padding.
    assert_eq!(bytes.len(), PACKET.len() - 3);
}

#[test]
fn malformed_packets_are_refused() {
    assert_eq!(RtpPacket::parse(&PACKET[..11]), Err(RtpError::TooShort(11)));
    let mut v1 = PACKET;
    v1[0] = 0x71;
    assert_eq!(RtpPacket::parse(&v1), Err(RtpError::Version(1)));
    let mut csrcs = PACKET;
    csrcs[0] = 0x8f; // 15 CSRCs: 60 bytes that are not there
    assert_eq!(RtpPacket::parse(&csrcs), Err(RtpError::Csrcs));
    let mut ext = PACKET;
    ext[19] = 0x40; // 64 words of extension
    assert_eq!(RtpPacket::parse(&ext), Err(RtpError::Extension));
    let mut pad = PACKET;
    pad[30] = 0xff;
    assert_eq!(RtpPacket::parse(&pad), Err(RtpError::Padding(0xff)));
    pad[30] = 0;
    assert_eq!(RtpPacket::parse(&pad), Err(RtpError::Padding(0)));
}

#[test]
fn the_sender_counts_and_wraps() {
    let mut s = RtpSender::new(7, u16::MAX, u32::MAX - 80);
    let payload = [0xffu8; 160];
    let a = s.packet(0, true, &payload, 160).to_vec();
    let b = s.packet(0, false, &payload, 160).to_vec();
    let (a, b) = (RtpPacket::parse(&a).unwrap(), RtpPacket::parse(&b).unwrap());
    assert_eq!((a.sequence, b.sequence), (u16::MAX, 0));
    assert_eq!((a.timestamp, b.timestamp), (u32::MAX - 80, 79));
    assert!(a.marker && !b.marker);
    assert_eq!((s.packets, s.octets), (2, 320));
    // Events keep their start timestamp and do not move the clock.
    let t = s.timestamp();
    let e = s.packet_at(101, true, &[1, 0, 0, 160], t);
    assert_eq!(e.timestamp, t);
    assert_eq!(s.timestamp(), t);
    s.skip(160);
    assert_eq!(s.timestamp(), t.wrapping_add(160));
}
