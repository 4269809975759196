//! Any bytes are parsed or refused without a panic; built packets
//! survive write → parse.

use media::rtcp::{ReportBlock, RtcpPacket};
use media::rtp::RtpPacket;
use proptest::prelude::*;

fn block() -> impl Strategy<Value = ReportBlock> {
    (
        any::<u32>(),
        any::<u8>(),
        -0x80_0000i32..=0x7f_ffff,
        any::<[u32; 4]>(),
    )
        .prop_map(|(ssrc, fraction_lost, cumulative_lost, w)| ReportBlock {
            ssrc,
            fraction_lost,
            cumulative_lost,
            highest_sequence: w[0],
            jitter: w[1],
            last_sr: w[2],
            delay_since_last_sr: w[3],
        })
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = RtpPacket::parse(&bytes);
        let _ = RtcpPacket::parse_compound(&bytes);
    }

    #[test]
    fn rtp_packets_round_trip(
        marker in any::<bool>(), pt in 0u8..128, seq in any::<u16>(), ts in any::<u32>(),
        ssrc in any::<u32>(), csrcs in proptest::collection::vec(any::<u32>(), 0..16),
        ext in proptest::option::of((any::<u16>(), proptest::collection::vec(any::<u8>(), 0..5).prop_map(|v| {
            let mut v = v; v.resize(v.len().div_ceil(4) * 4, 0); v }))),
        payload in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let p = RtpPacket {
            marker, payload_type: pt, sequence: seq, timestamp: ts, ssrc,
            csrcs: csrcs.into_iter().take(15).collect(),
            extension: ext.as_ref().map(|(id, d)| (*id, d.as_slice())),
            payload: &payload,
        };
        let bytes = p.to_vec();
        prop_assert_eq!(RtpPacket::parse(&bytes), Ok(p));
    }

    #[test]
    fn rtcp_reports_round_trip(ssrc in any::<u32>(), reports in proptest::collection::vec(block(), 0..31),
                               cname in "[ -~]{0,40}", reason in proptest::option::of("[a-z]{1,20}")) {
        let packets = vec![
            RtcpPacket::ReceiverReport { ssrc, reports },
            RtcpPacket::SourceDescription(vec![(ssrc, vec![(1, cname.into_bytes())])]),
            RtcpPacket::Bye { ssrcs: vec![ssrc], reason: reason.map(String::into_bytes) },
        ];
        let bytes = RtcpPacket::compound(&packets);
        prop_assert_eq!(RtcpPacket::parse_compound(&bytes), Ok(packets));
    }
}

proptest! {
    /// Any arrival pattern: no panic, every frame played at most once and
    /// in timestamp order.
    #[test]
    fn the_jitter_buffer_plays_each_packet_at_most_once_in_order(
        ops in proptest::collection::vec((any::<bool>(), 0u32..64, any::<u32>()), 0..300),
    ) {
        use media::jitter::{Frame, JitterBuffer};
        let mut jb = JitterBuffer::new(160, 2, 8);
        let mut played = Vec::new();
        for (push, n, arrival) in ops {
            if push {
                jb.push(n.wrapping_mul(160), &n.to_be_bytes(), arrival);
            } else if let Frame::Audio(p) = jb.pop() {
                played.push(u32::from_be_bytes(p.try_into().unwrap()));
            }
        }
        let mut sorted = played.clone();
        sorted.sort_unstable();
        sorted.dedup();
        prop_assert_eq!(sorted.len(), played.len(), "played twice: {:?}", played);
    }
}
