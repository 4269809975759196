//! RTCP for an audio stream (RFC 3550 §6): a compound report every
//! interval — SR while we send, else RR, with a report block about the
//! source we receive and our CNAME — and the peer's reports read back
//! (what it says of our stream, and its SR times for our LSR/DLSR).

use crate::sync::lock;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use media::rtcp::{RtcpPacket, CNAME};
use media::rtp::RtpSender;
use media::stats::ReceiverStats;
use tokio::net::UdpSocket;

use super::AudioStats;

/// Seconds from 1900 (NTP) to 1970 (Unix).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// The 64-bit NTP time of `t`.
fn ntp(t: SystemTime) -> u64 {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let fraction = (u64::from(d.subsec_nanos()) << 32) / 1_000_000_000;
    ((d.as_secs() + NTP_UNIX_OFFSET) << 32) | fraction
}

pub(crate) struct RtcpSide {
    pub(crate) socket: Arc<UdpSocket>,
    pub(crate) remote: Option<SocketAddr>,
    pub(crate) sender: Arc<Mutex<RtpSender>>,
    pub(crate) receiver: Arc<Mutex<Option<ReceiverStats>>>,
    pub(crate) stats: Arc<Mutex<AudioStats>>,
    pub(crate) interval: Duration,
    pub(crate) cname: String,
    /// SRTCP under the negotiated keys (RFC 3711 §3.4): ours for what we
    /// send, the peer's for what we read.
    pub(crate) srtp: Option<super::SrtpPair>,
}

impl RtcpSide {
    pub(crate) async fn run(self) {
        // The middle 32 bits of the peer's last SR, and when it came.
        let mut last_sr: Option<(u32, tokio::time::Instant)> = None;
        let mut ticks = tokio::time::interval(self.interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        let mut buf = [0u8; 1500];
        loop {
            tokio::select! {
                r = self.socket.recv_from(&mut buf) => {
                    let Ok((n, _)) = r else { return };
                    let data = buf.get(..n).unwrap_or(&[]);
                    let plain = match &self.srtp {
                        // What fails authentication is dropped unread.
                        Some(pair) => match lock(&pair.receive).unprotect_rtcp(data) {
                            Ok(p) => std::borrow::Cow::Owned(p),
                            Err(_) => continue,
                        },
                        None => std::borrow::Cow::Borrowed(data),
                    };
                    let Ok(packets) = RtcpPacket::parse_compound(&plain) else {
                        continue;
                    };
                    self.read(&packets, &mut last_sr);
                }
                _ = ticks.tick() => {
                    if let Some(remote) = self.remote {
                        let mut report = self.report(last_sr);
                        if let Some(pair) = &self.srtp {
                            match lock(&pair.send).protect_rtcp(&report) {
                                Ok(p) => report = p,
                                Err(_) => continue,
                            }
                        }
                        let _ = self.socket.send_to(&report, remote).await;
                    }
                }
            }
        }
    }

    fn read(&self, packets: &[RtcpPacket], last_sr: &mut Option<(u32, tokio::time::Instant)>) {
        let ours = lock(&self.sender).ssrc;
        let mut st = lock(&self.stats);
        st.rtcp_received += 1;
        for p in packets {
            let blocks = match p {
                RtcpPacket::SenderReport { ntp, reports, .. } => {
                    *last_sr = Some(((ntp >> 16) as u32, tokio::time::Instant::now()));
                    reports
                }
                RtcpPacket::ReceiverReport { reports, .. } => reports,
                _ => continue,
            };
            if let Some(b) = blocks.iter().find(|b| b.ssrc == ours) {
                st.remote_fraction_lost = Some(b.fraction_lost);
                st.remote_jitter = Some(b.jitter);
                st.remote_highest_sequence = Some(b.highest_sequence);
            }
        }
    }

    fn report(&self, last_sr: Option<(u32, tokio::time::Instant)>) -> Vec<u8> {
        let (lsr, dlsr) = last_sr.map_or((0, 0), |(m, at)| {
            (m, (at.elapsed().as_secs_f64() * 65536.0) as u32)
        });
        let block = lock(&self.receiver)
            .as_mut()
            .filter(|r| r.is_valid())
            .map(|r| r.report(lsr, dlsr));
        let reports: Vec<_> = block.into_iter().collect();
        let (ssrc, packets, octets, timestamp) = {
            let s = lock(&self.sender);
            (s.ssrc, s.packets, s.octets, s.timestamp())
        };
        let first = if packets > 0 {
            RtcpPacket::SenderReport {
                ssrc,
                ntp: ntp(SystemTime::now()),
                rtp_timestamp: timestamp,
                packets,
                octets,
                reports,
            }
        } else {
            RtcpPacket::ReceiverReport { ssrc, reports }
        };
        let sdes = RtcpPacket::SourceDescription(vec![(
            ssrc,
            vec![(CNAME, self.cname.clone().into_bytes())],
        )]);
        lock(&self.stats).rtcp_sent += 1;
        RtcpPacket::compound(&[first, sdes])
    }
}
