//! RTCP compound packets (RFC 3550 §6) and receiver statistics (A.1, A.3,
//! A.8).

use media::rtcp::{ReportBlock, RtcpError, RtcpPacket, CNAME};
use media::stats::ReceiverStats;

#[test]
fn a_receiver_report_is_read_from_its_bytes() {
    let bytes = [
        0x81, 201, 0x00, 0x07, // V=2 RC=1, RR, length 7 words
        0x00, 0x00, 0x00, 0x01, // reporter SSRC
        0x00, 0x00, 0x00, 0x02, // source SSRC
        0x19, 0xff, 0xff, 0xfe, // fraction 25, cumulative -2
        0x00, 0x01, 0x00, 0x05, // extended highest sequence
        0x00, 0x00, 0x00, 0x20, // jitter 32
        0x12, 0x34, 0x56, 0x78, // LSR
        0x00, 0x01, 0x00, 0x00, // DLSR: 1 s
    ];
    let packets = RtcpPacket::parse_compound(&bytes).unwrap();
    assert_eq!(
        packets,
        [RtcpPacket::ReceiverReport {
            ssrc: 1,
            reports: vec![ReportBlock {
                ssrc: 2,
                fraction_lost: 25,
                cumulative_lost: -2,
                highest_sequence: 0x0001_0005,
                jitter: 32,
                last_sr: 0x1234_5678,
                delay_since_last_sr: 0x0001_0000,
            }],
        }]
    );
    assert_eq!(RtcpPacket::compound(&packets), bytes);
}

#[test]
fn a_compound_sr_sdes_bye_round_trips() {
    let packets = vec![
        RtcpPacket::SenderReport {
            ssrc: 0xabcd,
            ntp: 0xe3c2_1234_8000_0000,
            rtp_timestamp: 160_000,
            packets: 1000,
            octets: 160_000,
            reports: vec![ReportBlock {
                ssrc: 9,
                cumulative_lost: 12,
                ..ReportBlock::default()
            }],
        },
        RtcpPacket::SourceDescription(vec![(0xabcd, vec![(CNAME, b"alice@192.0.2.1".to_vec())])]),
        RtcpPacket::Bye {
            ssrcs: vec![0xabcd],
            reason: Some(b"hangup".to_vec()),
        },
    ];
    let bytes = RtcpPacket::compound(&packets);
    assert_eq!(bytes.len() % 4, 0);
    assert_eq!(RtcpPacket::parse_compound(&bytes).unwrap(), packets);
}

#[test]
fn invalid_compounds_are_refused() {
    let bye_first = RtcpPacket::compound(&[RtcpPacket::Bye {
        ssrcs: vec![1],
        reason: None,
    }]);
    assert_eq!(
        RtcpPacket::parse_compound(&bye_first),
        Err(RtcpError::First(203))
    );
    let mut rr = RtcpPacket::compound(&[RtcpPacket::ReceiverReport {
        ssrc: 1,
        reports: vec![],
    }]);
    rr[3] = 9; // claims 9 words
    assert_eq!(RtcpPacket::parse_compound(&rr), Err(RtcpError::Length));
    rr[3] = 1;
    rr[0] = 0x41;
    assert_eq!(RtcpPacket::parse_compound(&rr), Err(RtcpError::Version(1)));
    rr[0] = 0x81; // one block announced, none there
    assert_eq!(RtcpPacket::parse_compound(&rr), Err(RtcpError::Body(201)));
    assert_eq!(
        RtcpPacket::parse_compound(&[0x80]),
        Err(RtcpError::TooShort(1))
    );
}

fn feed(s: &mut ReceiverStats, seq: u16, i: u32, delay: u32) {
    // 20 ms packets of 160 samples; arrival = send time + delay.
    s.on_packet(seq, i * 160, i * 160 + delay);
}

#[test]
fn loss_and_fraction_lost_over_an_interval() {
    let mut s = ReceiverStats::new(5, 1000);
    for i in 0..100u32 {
        // Every tenth packet lost.
        if i % 10 != 9 {
            feed(&mut s, 1000 + i as u16, i, 400);
        }
    }
    assert!(s.is_valid());
    // Probation takes the first packet (A.1): counting starts at 1001,
    // and the last one sent is 1098 (1099 was lost). Of the 90 packets
    // sent, 89 are counted; 9 of the 98 expected are missing.
    assert_eq!(s.expected(), 98);
    assert_eq!(s.received(), 89);
    let r = s.report(0, 0);
    assert_eq!(r.cumulative_lost, 9);
    assert_eq!(r.fraction_lost, (9 * 256 / 98) as u8);
    assert_eq!(r.highest_sequence, 1098);
    assert_eq!(r.jitter, 0, "constant transit, no jitter");
    // The next interval finds 1099 missing: 1 of 51 expected.
    for i in 100..150u32 {
        feed(&mut s, 1000 + i as u16, i, 400);
    }
    let r = s.report(0, 0);
    assert_eq!((r.fraction_lost, r.cumulative_lost), ((256 / 51) as u8, 10));
    // And one with nothing missing reports no loss.
    for i in 150..200u32 {
        feed(&mut s, 1000 + i as u16, i, 400);
    }
    assert_eq!(s.report(0, 0).fraction_lost, 0);
}

#[test]
fn sequence_wrap_extends_the_highest_number() {
    let mut s = ReceiverStats::new(5, 65530);
    for i in 0..20u32 {
        feed(&mut s, 65530u16.wrapping_add(i as u16), i, 0);
    }
    assert_eq!(s.extended_max(), 65536 + 13);
    assert_eq!(s.lost(), 0);
}

#[test]
fn jitter_follows_alternating_delay() {
    let mut s = ReceiverStats::new(5, 0);
    for i in 0..2000u32 {
        // Transit alternates by 160 units: |D| is always 160.
        feed(&mut s, i as u16, i, if i % 2 == 0 { 0 } else { 160 });
    }
    let j = s.jitter_units();
    assert!((150..=160).contains(&j), "jitter {j}");
}

#[test]
fn a_restarted_source_is_believed_after_two_packets() {
    let mut s = ReceiverStats::new(5, 100);
    for i in 0..10u32 {
        feed(&mut s, 100 + i as u16, i, 0);
    }
    assert!(!s.on_packet(40_000, 0, 0), "a jump alone is not believed");
    assert!(s.on_packet(40_001, 0, 0), "the next packet confirms it");
    assert_eq!(s.extended_max(), 40_001);
}

/// Found by fuzzing: an unknown packet type whose body is not a whole
/// number of words lost its length when written back (zero padding
/// instead of RTCP padding).
#[test]
fn an_opaque_packet_keeps_its_length() {
    let packets = vec![
        RtcpPacket::ReceiverReport {
            ssrc: 1,
            reports: vec![],
        },
        RtcpPacket::Other {
            packet_type: 76,
            count: 7,
            body: vec![1, 2, 3, 4, 5, 6],
        },
    ];
    let bytes = RtcpPacket::compound(&packets);
    assert_eq!(bytes[8] & 0x20, 0x20, "P bit set on the padded packet");
    assert_eq!(RtcpPacket::parse_compound(&bytes).unwrap(), packets);
}

/// Found by fuzzing: a BYE reason that is not UTF-8 grew when decoded
/// lossily and no longer fit its length octet; text is kept as octets.
#[test]
fn a_bye_reason_that_is_not_utf8_survives() {
    let packets = vec![
        RtcpPacket::ReceiverReport {
            ssrc: 1,
            reports: vec![],
        },
        RtcpPacket::Bye {
            ssrcs: vec![1],
            reason: Some(vec![0xa7; 200]),
        },
    ];
    let bytes = RtcpPacket::compound(&packets);
    assert_eq!(RtcpPacket::parse_compound(&bytes).unwrap(), packets);
}
