//! SRTP with SDES keys (RFC 3711, RFC 4568) between two applications on
//! loopback, under each side's `rtp.srtp_encryption`: mandatory on both
//! (RTP/SAVP with crypto lines, keys masked in the SIP trace, tones both
//! ways through SRTP, `srtp_active`), best effort met by an SRTP answer
//! or by a plain one, a re-INVITE (hold, unhold) re-keying while the
//! audio goes on while packets under the old key are refused, RTP/SAVP
//! offered to an account that has SRTP disabled refused with 488, a
//! plain RTP answer (SIPp) to a mandatory account's offer ending the
//! call with the reason, and a call with AES-GCM (RFC 7714).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{alice_calls_bob, until};
use media::tone::goertzel;
use sdp::offer_answer::Codec;
use sipsimple::notification::{Filter, NotificationData, Subscription};
use sipsimple::streams::audio::sdes::SrtpPolicy;
use sipsimple::streams::audio::AudioStream;

async fn tone(hz: f64, policy: SrtpPolicy) -> Arc<AudioStream> {
    let s = common::tone_stream(hz, vec![Codec::pcmu()]).await;
    s.set_srtp_policy(policy);
    s.keep_received(10);
    s
}

/// Whether the last 400 ms `audio` received are the tone `hz` (and not
/// the other side's own tone `other`).
async fn hears(audio: &AudioStream, hz: f64, other: f64) -> bool {
    let before = audio.recorded().len();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let got = audio.recorded();
    let fresh = &got[before.min(got.len())..];
    fresh.len() >= 1600 && goertzel(fresh, 8000, hz) > 100.0 * goertzel(fresh, 8000, other)
}

/// Alice (her SIP trace posted) and bob with `bob_account` settings.
async fn apps(
    bob_account: &str,
) -> (
    sipsimple::application::SipApplication,
    sipsimple::application::SipApplication,
    Subscription,
    Subscription,
) {
    let alice = sipsimple::application::SipApplication::new();
    alice.enable_sip_trace();
    let a = alice.notification_center().subscribe(Filter::all());
    alice
        .start(sipsimple::config::MemoryBackend::with(
            "local_ip = \"127.0.0.1\"\n[sip]\ntransport_list = [\"udp\"]\n\
             [accounts.\"alice@example.test\"]\nenabled = true\nregistration.enabled = false\n"
                .parse()
                .unwrap(),
        ))
        .await
        .unwrap();
    let bob = common::account_app_with("bob", "", bob_account).await;
    let b = bob.notification_center().subscribe(Filter::all());
    (alice, bob, a, b)
}

#[tokio::test]
async fn mandatory_srtp_both_ways_and_a_reinvite_rekeys() {
    // Bob's account takes SRTP offers (its registry makes his side of
    // an RTP/SAVP offer).
    let (alice, bob, mut alice_all, mut bob_all) =
        apps("rtp.srtp_encryption = \"optional\"\n").await;
    let alice_audio = tone(440.0, SrtpPolicy::Mandatory).await;
    let (call, answer) =
        alice_calls_bob(&alice, &bob, &mut bob_all, vec![alice_audio.clone()]).await;
    let bob_audio = tone(1000.0, SrtpPolicy::Mandatory).await;
    answer.accept(vec![bob_audio.clone()]).await.unwrap();
    let seen = until(&mut alice_all, "SIPSessionDidStart").await;
    let invite = seen
        .iter()
        .find_map(|n| match &n.data {
            NotificationData::SIPEngineSIPTrace {
                text,
                received: false,
                ..
            } if text.starts_with("INVITE ") => Some(text.clone()),
            _ => None,
        })
        .expect("the INVITE in the trace");
    assert!(invite.contains(" RTP/SAVP "), "{invite}");
    assert!(
        invite.contains("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:***masked***"),
        "{invite}"
    );
    // The GCM suites' keys (RFC 7714) are masked as well: every key of
    // the four lines.
    assert!(
        invite.contains("a=crypto:4 AEAD_AES_256_GCM inline:***masked***"),
        "{invite}"
    );
    assert_eq!(
        invite.matches("inline:").count(),
        invite.matches("inline:***masked***").count()
    );
    assert_eq!(invite.matches("a=crypto:").count(), 4, "{invite}");
    assert!(hears(&bob_audio, 440.0, 1000.0).await, "bob hears alice");
    assert!(hears(&alice_audio, 1000.0, 440.0).await, "alice hears bob");
    assert!(alice_audio.srtp_active() && bob_audio.srtp_active());

    // Hold and unhold: each re-INVITE carries new keys.
    call.hold().await.unwrap();
    until(&mut bob_all, "SIPSessionDidChangeHoldState").await;
    call.unhold().await.unwrap();
    until(&mut bob_all, "SIPSessionDidChangeHoldState").await;
    assert!(hears(&alice_audio, 1000.0, 440.0).await, "bob is back");
    assert!(hears(&bob_audio, 440.0, 1000.0).await);
    assert!(alice_audio.srtp_active() && bob_audio.srtp_active());
    call.end().await.unwrap();
    until(&mut bob_all, "SIPSessionDidEnd").await;
    alice.stop();
    bob.stop();
}

#[tokio::test]
async fn best_effort_srtp_is_taken_by_an_srtp_answer_and_left_by_a_plain_one() {
    for (bob_policy, encrypted) in [
        (SrtpPolicy::Optional, true),
        (SrtpPolicy::Mandatory, true),
        (SrtpPolicy::Disabled, false),
    ] {
        let (alice, bob, mut alice_all, mut bob_all) = apps("").await;
        let alice_audio = tone(440.0, SrtpPolicy::Optional).await;
        let (call, answer) =
            alice_calls_bob(&alice, &bob, &mut bob_all, vec![alice_audio.clone()]).await;
        let bob_audio = tone(1000.0, bob_policy).await;
        answer.accept(vec![bob_audio.clone()]).await.unwrap();
        until(&mut alice_all, "SIPSessionDidStart").await;
        assert!(hears(&bob_audio, 440.0, 1000.0).await, "{bob_policy:?}");
        assert!(hears(&alice_audio, 1000.0, 440.0).await, "{bob_policy:?}");
        assert_eq!(alice_audio.srtp_active(), encrypted, "{bob_policy:?}");
        assert_eq!(bob_audio.srtp_active(), encrypted, "{bob_policy:?}");
        call.end().await.unwrap();
        until(&mut bob_all, "SIPSessionDidEnd").await;
        alice.stop();
        bob.stop();
    }
}

#[tokio::test]
async fn savp_offered_to_an_account_without_srtp_is_refused() {
    let (alice, bob, mut alice_all, _bob_all) = apps("rtp.srtp_encryption = \"disabled\"\n").await;
    let alice_audio = tone(440.0, SrtpPolicy::Mandatory).await;
    let account = alice.account_manager().accounts().remove(0);
    alice
        .session_manager()
        .connect(
            &account,
            &common::contact_uri(&bob),
            vec![alice_audio.clone()],
        )
        .await
        .unwrap();
    let seen = until(&mut alice_all, "SIPSessionDidFail").await;
    match &seen.last().unwrap().data {
        NotificationData::SIPSessionDidFail { code, .. } => assert_eq!(*code, 488),
        other => panic!("{other:?}"),
    }
    assert!(!alice_audio.srtp_active());
    alice.stop();
    bob.stop();
}

/// RFC 4568 and the account policy: `mandatory` offers RTP/SAVP; a peer
/// (SIPp) that answers plain RTP/AVP without a crypto line gets its 200
/// acknowledged and a BYE, and the application is told why.
#[tokio::test]
async fn a_plain_rtp_answer_to_a_mandatory_offer_ends_the_call_saying_why() {
    use common::sipp::{common_args, run_sipp, scenario, sipp_available, sipp_listening};
    sipp_available();
    let port = common::free_port();
    let mut args = vec!["-sf".to_string(), scenario("uas_answer_plain_rtp.xml")];
    args.extend(common_args(
        port,
        40000 + (common::free_port() % 5000) * 2,
        sipsimple::engine::TransportKind::Udp,
    ));
    args.extend(["-m", "1"].map(String::from));
    let sipp = tokio::spawn(run_sipp(args));
    sipp_listening(port).await;
    let app = common::account_app_with("alice", "", "rtp.srtp_encryption = \"mandatory\"\n").await;
    let mut all = app.notification_center().subscribe(Filter::all());
    let audio = tone(440.0, SrtpPolicy::Mandatory).await;
    let account = app.account_manager().accounts().remove(0);
    app.session_manager()
        .connect(
            &account,
            &format!("sip:service@127.0.0.1:{port}"),
            vec![audio.clone()],
        )
        .await
        .unwrap();
    let seen = until(&mut all, "SIPSessionDidFail").await;
    let reason = match &seen.last().unwrap().data {
        NotificationData::SIPSessionDidFail {
            reason,
            failure_reason,
            ..
        } => format!("{reason} | {failure_reason}"),
        other => panic!("{other:?}"),
    };
    assert!(
        reason.contains("the peer answered without SRTP, which this account requires"),
        "{reason}"
    );
    assert!(!audio.srtp_active());
    let (code, out) = sipp.await.unwrap();
    assert_eq!(code, 0, "SIPp saw no BYE:\n{out}");
    app.stop();
}

/// AEAD_AES_256_GCM (RFC 7714) between our applications, offered alone:
/// both sides run it, the tones cross both ways, and SRTCP under it too
/// (each side reads the other's reports).
#[tokio::test]
async fn a_gcm_call_carries_audio_and_srtcp_both_ways() {
    use media::srtp::SrtpProfile;
    let (alice, bob, mut alice_all, mut bob_all) =
        apps("rtp.srtp_encryption = \"optional\"\n").await;
    let alice_audio = tone(440.0, SrtpPolicy::Mandatory).await;
    alice_audio.set_srtp_suites(&[SrtpProfile::AeadAes256Gcm]);
    alice_audio.set_rtcp_interval(Duration::from_millis(300));
    let (call, answer) =
        alice_calls_bob(&alice, &bob, &mut bob_all, vec![alice_audio.clone()]).await;
    let bob_audio = tone(1000.0, SrtpPolicy::Optional).await;
    bob_audio.set_rtcp_interval(Duration::from_millis(300));
    answer.accept(vec![bob_audio.clone()]).await.unwrap();
    until(&mut alice_all, "SIPSessionDidStart").await;
    assert!(hears(&bob_audio, 440.0, 1000.0).await, "bob hears alice");
    assert!(hears(&alice_audio, 1000.0, 440.0).await, "alice hears bob");
    for audio in [&alice_audio, &bob_audio] {
        assert_eq!(audio.srtp_suite(), Some(SrtpProfile::AeadAes256Gcm));
    }
    let guard = std::time::Instant::now() + Duration::from_secs(20);
    while [&alice_audio, &bob_audio]
        .iter()
        .any(|a| a.stats().rtcp_received < 3 || a.stats().remote_highest_sequence.is_none())
    {
        assert!(
            std::time::Instant::now() < guard,
            "{:?} {:?}",
            alice_audio.stats(),
            bob_audio.stats()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    call.end().await.unwrap();
    until(&mut bob_all, "SIPSessionDidEnd").await;
    alice.stop();
    bob.stop();
}

/// The test's own SIP and SRTP peer on raw UDP sockets: it knows its
/// keys (our SIP trace masks them), so it can send under an old one.
mod raw_peer {
    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use media::srtp::{MasterKey, SrtpContext, SrtpProfile};
    use sip_proto::{HeaderName, Message};
    use tokio::net::UdpSocket;

    pub const SSRC: u32 = 0x5eed_1e55;

    /// What the peer's sender loop sends: a PCMU tone under a key.
    pub struct Sending {
        pub context: SrtpContext,
        pub hz: f64,
        pub seq: u16,
        pub timestamp: u32,
    }

    /// An RTP packet of 20 ms of `hz` in PCMU.
    pub fn packet(seq: u16, timestamp: u32, hz: f64) -> Vec<u8> {
        let mut p = vec![0x80, 0];
        p.extend(seq.to_be_bytes());
        p.extend(timestamp.to_be_bytes());
        p.extend(SSRC.to_be_bytes());
        p.extend((0..160).map(|i| {
            let t = f64::from(timestamp.wrapping_add(i)) / 8000.0;
            media::g711::ulaw_encode((8000.0 * (std::f64::consts::TAU * hz * t).sin()) as i16)
        }));
        p
    }

    pub struct Peer {
        pub sip: UdpSocket,
        pub rtp: Arc<UdpSocket>,
        /// Keeps the RTCP port (RTP + 1) ours, so what bob sends there
        /// does not come back as an ICMP error.
        _rtcp: UdpSocket,
        pub bob: SocketAddr,
        pub cseq: u32,
        pub to: Option<String>,
        pub sending: Arc<Mutex<Sending>>,
    }

    impl Peer {
        pub async fn new(bob: SocketAddr, profile: SrtpProfile, key: &MasterKey) -> Peer {
            let (rtp, rtcp) = loop {
                let rtp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
                let port = rtp.local_addr().unwrap().port();
                if port % 2 == 0 {
                    if let Ok(rtcp) = UdpSocket::bind(("127.0.0.1", port + 1)).await {
                        break (rtp, rtcp);
                    }
                }
            };
            Peer {
                sip: UdpSocket::bind("127.0.0.1:0").await.unwrap(),
                rtp: Arc::new(rtp),
                _rtcp: rtcp,
                bob,
                cseq: 0,
                to: None,
                sending: Arc::new(Mutex::new(Sending {
                    context: SrtpContext::new(profile, key).unwrap(),
                    hz: 440.0,
                    seq: 1000,
                    timestamp: 0,
                })),
            }
        }

        fn sdp(&self, version: u32, profile: SrtpProfile, key: &MasterKey) -> String {
            format!(
                "v=0\r\no=peer 1 {version} IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n\
                 t=0 0\r\nm=audio {} RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n\
                 a=crypto:1 {} inline:{}\r\n",
                self.rtp.local_addr().unwrap().port(),
                profile.name(),
                key.to_base64()
            )
        }

        async fn send(&self, method: &str, cseq: u32, extra: &str, body: &str) {
            let me = self.sip.local_addr().unwrap();
            let to = self
                .to
                .clone()
                .unwrap_or_else(|| format!("<sip:bob@{}>", self.bob));
            let text = format!(
                "{method} sip:bob@{bob} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bKrk{cseq}{method}\r\n\
                 Max-Forwards: 70\r\nFrom: <sip:peer@{me}>;tag=peer\r\nTo: {to}\r\n\
                 Call-ID: rekey-{pid}-{port}@127.0.0.1\r\nCSeq: {cseq} {method}\r\n\
                 Contact: <sip:peer@{me}>\r\n{extra}Content-Length: {len}\r\n\r\n{body}",
                bob = self.bob,
                pid = std::process::id(),
                port = me.port(),
                len = body.len(),
            );
            self.sip.send_to(text.as_bytes(), self.bob).await.unwrap();
        }

        /// An INVITE (the first, or a re-INVITE) offering `key`.
        pub async fn invite(&mut self, profile: SrtpProfile, key: &MasterKey) {
            self.cseq += 1;
            let body = self.sdp(self.cseq, profile, key);
            self.send(
                "INVITE",
                self.cseq,
                "Content-Type: application/sdp\r\n",
                &body,
            )
            .await;
        }

        /// The INVITE's 200 acknowledged; the key in its answer.
        pub async fn answered(&mut self) -> MasterKey {
            let mut buf = vec![0u8; 65536];
            loop {
                let (n, _) =
                    tokio::time::timeout(Duration::from_secs(20), self.sip.recv_from(&mut buf))
                        .await
                        .expect("bob answers")
                        .unwrap();
                let Ok(Message::Response(r)) = Message::parse(buf[..n].to_vec()) else {
                    continue;
                };
                let cseq = r.headers.get_str(&HeaderName::CSeq).unwrap_or_default();
                if r.status.code() < 200 || cseq != format!("{} INVITE", self.cseq) {
                    continue;
                }
                assert_eq!(r.status.code(), 200);
                self.to = r.headers.get_str(&HeaderName::To).map(str::to_owned);
                self.send("ACK", self.cseq, "", "").await;
                let sdp = sdp::SessionDescription::parse(&r.body).unwrap();
                let crypto = sdp.media[0].cryptos().next().expect("bob answers SRTP");
                return MasterKey::from_base64(&crypto.key).unwrap();
            }
        }

        pub async fn bye(&mut self) {
            self.cseq += 1;
            self.send("BYE", self.cseq, "", "").await;
        }

        /// Sends 20 ms packets to `to` as `sending` says, until dropped.
        pub fn start_sending(&self, to: SocketAddr) -> tokio::task::JoinHandle<()> {
            let (rtp, sending) = (self.rtp.clone(), self.sending.clone());
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_millis(20));
                loop {
                    tick.tick().await;
                    let protected = {
                        let mut s = sending.lock().unwrap();
                        s.seq = s.seq.wrapping_add(1);
                        s.timestamp = s.timestamp.wrapping_add(160);
                        let p = packet(s.seq, s.timestamp, s.hz);
                        s.context.protect_rtp(&p).unwrap()
                    };
                    let _ = rtp.send_to(&protected, to).await;
                }
            })
        }
    }
}

/// Re-keying on a re-INVITE (RFC 4568 §7.1.4, §6.4): a peer of the test's
/// own calls bob, then re-INVITEs with a new key. Bob hears the peer's
/// 440 Hz under the old key and, after the re-INVITE, under the new one;
/// the peer reads bob's 1000 Hz under bob's new key; and packets the peer
/// then protects under its old key (carrying 2000 Hz) are all refused:
/// counted by bob, never heard. With the CM and the GCM suites.
#[tokio::test]
async fn after_a_reinvite_with_a_new_key_media_flows_and_the_old_key_is_refused() {
    use media::srtp::{MasterKey, SrtpContext, SrtpProfile};
    for profile in [SrtpProfile::AesCm128HmacSha1_80, SrtpProfile::AeadAes128Gcm] {
        let bob =
            common::account_app_with("bob", "", "rtp.srtp_encryption = \"mandatory\"\n").await;
        let mut bob_all = bob.notification_center().subscribe(Filter::all());
        let bob_sip = bob
            .engine()
            .unwrap()
            .local_addr(sipsimple::engine::TransportKind::Udp)
            .unwrap();
        let key_len = profile.key_len() + profile.salt_len();
        let old = MasterKey::from_bytes(&[0x11u8; 44][..key_len]).unwrap();
        let new = MasterKey::from_bytes(&[0x22u8; 44][..key_len]).unwrap();
        let mut peer = raw_peer::Peer::new(bob_sip, profile, &old).await;
        peer.invite(profile, &old).await;
        let session = common::incoming_session(&bob, &mut bob_all).await;
        let bob_audio = tone(1000.0, SrtpPolicy::Mandatory).await;
        session.accept(vec![bob_audio.clone()]).await.unwrap();
        let bob_first_key = peer.answered().await;
        until(&mut bob_all, "SIPSessionDidStart").await;
        let sender = peer.start_sending(bob_audio.local_rtp());
        assert!(
            hears(&bob_audio, 440.0, 2000.0).await,
            "{profile:?} old key"
        );
        assert_eq!(bob_audio.srtp_suite(), Some(profile));
        // Nothing refused so far: the old key was the right one.
        assert_eq!(bob_audio.stats().srtp_refused, 0);

        peer.invite(profile, &new).await;
        let bob_new_key = peer.answered().await;
        assert_ne!(bob_new_key, bob_first_key, "bob's answer re-keys too");
        // The old context of the sender goes on (its per-SSRC state) for
        // the packets under the old key below.
        let old_sender = {
            let mut s = peer.sending.lock().unwrap();
            std::mem::replace(&mut s.context, SrtpContext::new(profile, &new).unwrap())
        };
        assert!(
            hears(&bob_audio, 440.0, 2000.0).await,
            "{profile:?} new key"
        );

        // Bob's 1000 Hz, read under his new key.
        let mut from_bob = SrtpContext::new(profile, &bob_new_key).unwrap();
        let mut heard = Vec::new();
        let mut buf = [0u8; 2048];
        while heard.len() < 8000 {
            let n = tokio::time::timeout(Duration::from_secs(10), peer.rtp.recv(&mut buf))
                .await
                .expect("bob sends")
                .unwrap();
            // In flight under his first key: refused here too.
            if let Ok(plain) = from_bob.unprotect_rtp(&buf[..n]) {
                media::g711::Law::Mu.decode(&plain[12..], &mut heard);
            }
        }
        assert!(goertzel(&heard, 8000, 1000.0) > 100.0 * goertzel(&heard, 8000, 440.0));

        // Under the old key: counted and dropped, one by one.
        let before = bob_audio.stats().srtp_refused;
        let mut old_sender = old_sender;
        for n in 0..25u16 {
            let p = raw_peer::packet(30000 + n, 4_000_000 + 160 * u32::from(n), 2000.0);
            let protected = old_sender.protect_rtp(&p).unwrap();
            peer.rtp
                .send_to(&protected, bob_audio.local_rtp())
                .await
                .unwrap();
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while bob_audio.stats().srtp_refused < before + 25 {
            assert!(
                std::time::Instant::now() < deadline,
                "{:?}",
                bob_audio.stats()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            hears(&bob_audio, 440.0, 2000.0).await,
            "{profile:?} 2000 Hz got in"
        );
        // Only those 25: every packet under the new key was taken.
        assert_eq!(bob_audio.stats().srtp_refused, before + 25);
        sender.abort();
        peer.bye().await;
        until(&mut bob_all, "SIPSessionDidEnd").await;
        bob.stop();
    }
}
