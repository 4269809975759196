//! SRTP and SRTCP against libsrtp: RTP packets libsrtp protected
//! (tests/data/srtp_vectors.txt, made by make_srtp_vectors.py beside it)
//! are what we produce from the same key, and what we read back; its
//! SRTCP packets we read. The
//! sequence crosses 65535 → 0 (the rollover counter), and the packets
//! carry CSRCs and a header extension. Also what RFC 3711 asks of a
//! receiver: a changed byte fails authentication, a replay is refused,
//! an old packet outside the window too, a late one inside it is taken
//! once. The GCM suites (RFC 7714) against rtc-srtp, which derives its
//! own session keys from the same master key: the same bytes out, and
//! each reads the other's SRTP and SRTCP.

use media::srtp::{MasterKey, SrtpContext, SrtpError, SrtpProfile};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

struct Suite {
    profile: SrtpProfile,
    key: MasterKey,
    packets: Vec<(bool, Vec<u8>, Vec<u8>)>,
}

fn vectors() -> Vec<Suite> {
    let text = include_str!("data/srtp_vectors.txt");
    let mut suites: Vec<Suite> = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        match f[0] {
            "suite" => suites.push(Suite {
                profile: SrtpProfile::from_name(f[1]).unwrap(),
                key: MasterKey::from_bytes(&hex(f[2])).unwrap(),
                packets: Vec::new(),
            }),
            kind => suites
                .last_mut()
                .unwrap()
                .packets
                .push((kind == "rtcp", hex(f[1]), hex(f[2]))),
        }
    }
    assert_eq!(suites.len(), 2);
    suites
}

#[test]
fn we_protect_as_libsrtp_does_and_read_what_it_protected() {
    for suite in vectors() {
        let mut sender = SrtpContext::new(suite.profile, &suite.key).unwrap();
        let mut receiver = SrtpContext::new(suite.profile, &suite.key).unwrap();
        for (n, (rtcp, plain, protected)) in suite.packets.iter().enumerate() {
            if *rtcp {
                assert_eq!(&receiver.unprotect_rtcp(protected).unwrap(), plain);
                // libsrtp's first SRTCP index is 1; RFC 3711 §3.3.1 has
                // it start at zero, as ours does: the same bytes but for
                // the index (and what it changes: keystream and tag).
                let ours = sender.protect_rtcp(plain).unwrap();
                let index = &ours[ours.len() - 14..ours.len() - 10];
                let theirs = &protected[protected.len() - 14..protected.len() - 10];
                assert_eq!(
                    u32::from_be_bytes(index.try_into().unwrap()) + 1,
                    u32::from_be_bytes(theirs.try_into().unwrap())
                );
                continue;
            }
            let ours = sender.protect_rtp(plain).unwrap();
            assert_eq!(&ours, protected, "{:?} packet {n}", suite.profile);
            assert_eq!(&receiver.unprotect_rtp(protected).unwrap(), plain);
        }
    }
}

fn rtp(seq: u16) -> Vec<u8> {
    let mut p = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4];
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p.extend(std::iter::repeat_n(0x55, 160));
    p
}

fn pair() -> (SrtpContext, SrtpContext) {
    let key = MasterKey::from_base64("WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz").unwrap();
    (
        SrtpContext::new(SrtpProfile::AesCm128HmacSha1_80, &key).unwrap(),
        SrtpContext::new(SrtpProfile::AesCm128HmacSha1_80, &key).unwrap(),
    )
}

#[test]
fn a_changed_byte_fails_and_leaves_the_receiver_as_it_was() {
    let (mut tx, mut rx) = pair();
    let good = tx.protect_rtp(&rtp(10)).unwrap();
    for i in [0, 3, 20, good.len() - 1] {
        let mut bad = good.clone();
        bad[i] ^= 1;
        let err = rx.unprotect_rtp(&bad).unwrap_err();
        assert!(
            matches!(err, SrtpError::AuthFailed | SrtpError::NotRtp),
            "{i}: {err:?}"
        );
    }
    assert_eq!(rx.unprotect_rtp(&good).unwrap(), rtp(10));
    assert_eq!(rx.unprotect_rtp(&good[..5]), Err(SrtpError::TooShort));
}

#[test]
fn replays_and_packets_older_than_the_window_are_refused() {
    let (mut tx, mut rx) = pair();
    let packets: Vec<Vec<u8>> = (0..100).map(|s| tx.protect_rtp(&rtp(s)).unwrap()).collect();
    rx.unprotect_rtp(&packets[99]).unwrap();
    assert_eq!(rx.unprotect_rtp(&packets[99]), Err(SrtpError::Replayed(99)));
    // 64 behind the newest is outside the window; 63 behind is late
    // but taken, once.
    assert_eq!(rx.unprotect_rtp(&packets[35]), Err(SrtpError::TooOld(35)));
    assert!(rx.unprotect_rtp(&packets[36]).is_ok());
    assert_eq!(rx.unprotect_rtp(&packets[36]), Err(SrtpError::Replayed(36)));
}

#[test]
fn a_key_from_sdp_must_have_a_suite_size_and_never_prints() {
    assert_eq!(MasterKey::from_base64("c2hvcnQ="), Err(SrtpError::BadKey));
    assert_eq!(
        MasterKey::from_base64("not base64!"),
        Err(SrtpError::BadKey)
    );
    let key = MasterKey::from_base64("WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz").unwrap();
    assert_eq!(key.to_base64(), "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz");
    assert_eq!(format!("{key:?}"), "MasterKey(..)");
}

#[test]
fn srtcp_replays_are_refused_and_the_e_flag_is_set() {
    let (mut tx, mut rx) = pair();
    let sr = [0x80, 200, 0, 1, 1, 2, 3, 4, 9, 9, 9, 9];
    let p = tx.protect_rtcp(&sr).unwrap();
    assert_eq!(p.len(), sr.len() + 4 + 10);
    assert_eq!(p[sr.len()] & 0x80, 0x80);
    assert_eq!(rx.unprotect_rtcp(&p).unwrap(), sr);
    assert_eq!(rx.unprotect_rtcp(&p), Err(SrtpError::Replayed(0)));
}

fn rtc_context(profile: SrtpProfile, key: &[u8], salt: &[u8]) -> rtc_srtp::context::Context {
    use rtc_srtp::protection_profile::ProtectionProfile;
    let theirs = match profile {
        SrtpProfile::AeadAes128Gcm => ProtectionProfile::AeadAes128Gcm,
        SrtpProfile::AeadAes256Gcm => ProtectionProfile::AeadAes256Gcm,
        SrtpProfile::AesCm128HmacSha1_80 => ProtectionProfile::Aes128CmHmacSha1_80,
        SrtpProfile::AesCm128HmacSha1_32 => ProtectionProfile::Aes128CmHmacSha1_32,
    };
    rtc_srtp::context::Context::new(
        key,
        salt,
        theirs,
        None,
        None,
        &rtc_crypto::providers::RingCrypto,
    )
    .unwrap()
}

#[test]
fn gcm_suites_agree_with_rtc_srtp_both_ways() {
    for (profile, key_len) in [
        (SrtpProfile::AeadAes128Gcm, 16),
        (SrtpProfile::AeadAes256Gcm, 32),
    ] {
        let key: Vec<u8> = (0..key_len as u8)
            .map(|b| b.wrapping_mul(37) ^ 0x5a)
            .collect();
        let salt: Vec<u8> = (0..12u8).map(|b| b.wrapping_mul(11) ^ 0xa5).collect();
        let master = MasterKey::from_bytes(&[key.clone(), salt.clone()].concat()).unwrap();
        let mut ours_tx = SrtpContext::new(profile, &master).unwrap();
        let mut ours_rx = SrtpContext::new(profile, &master).unwrap();
        let mut theirs_tx = rtc_context(profile, &key, &salt);
        let mut theirs_rx = rtc_context(profile, &key, &salt);
        // Across 65535 -> 0: the rollover counter enters the IV.
        for seq in [65533u16, 65534, 65535, 0, 1, 2] {
            let plain = rtp(seq);
            let ours = ours_tx.protect_rtp(&plain).unwrap();
            let theirs = theirs_tx.encrypt_rtp(&plain).unwrap();
            assert_eq!(ours, theirs.to_vec(), "{profile:?} seq {seq}");
            assert_eq!(ours.len(), plain.len() + 16);
            assert_eq!(theirs_rx.decrypt_rtp(&ours).unwrap().to_vec(), plain);
            assert_eq!(ours_rx.unprotect_rtp(&theirs).unwrap(), plain);
        }
        let sr = [
            0x80, 200, 0, 6, 1, 2, 3, 4, 9, 9, 9, 9, 8, 8, 8, 8, 7, 7, 7, 7, 6, 6, 6, 6, 5, 5, 5, 5,
        ];
        for _ in 0..3 {
            let ours = ours_tx.protect_rtcp(&sr).unwrap();
            // E set, index after the 16-byte tag (RFC 7714 §9, Figure 3).
            assert_eq!(ours.len(), sr.len() + 16 + 4);
            assert_eq!(ours[ours.len() - 4] & 0x80, 0x80);
            assert_eq!(theirs_rx.decrypt_rtcp(&ours).unwrap().to_vec(), sr);
            let theirs = theirs_tx.encrypt_rtcp(&sr).unwrap();
            assert_eq!(ours_rx.unprotect_rtcp(&theirs).unwrap(), sr);
        }
    }
}

#[test]
fn a_gcm_receiver_refuses_a_changed_tag_and_a_replay() {
    let master = MasterKey::from_bytes(&[3u8; 28]).unwrap();
    let mut tx = SrtpContext::new(SrtpProfile::AeadAes128Gcm, &master).unwrap();
    let mut rx = SrtpContext::new(SrtpProfile::AeadAes128Gcm, &master).unwrap();
    let good = tx.protect_rtp(&rtp(7)).unwrap();
    let mut bad = good.clone();
    *bad.last_mut().unwrap() ^= 1;
    assert_eq!(rx.unprotect_rtp(&bad), Err(SrtpError::AuthFailed));
    // Under another key the same packet fails too (what a re-key does).
    let other = MasterKey::from_bytes(&[4u8; 28]).unwrap();
    let mut stranger = SrtpContext::new(SrtpProfile::AeadAes128Gcm, &other).unwrap();
    assert_eq!(stranger.unprotect_rtp(&good), Err(SrtpError::AuthFailed));
    assert_eq!(rx.unprotect_rtp(&good).unwrap(), rtp(7));
    assert_eq!(rx.unprotect_rtp(&good), Err(SrtpError::Replayed(7)));
    assert_eq!(rx.unprotect_rtp(&good[..27]), Err(SrtpError::TooShort));
    assert_eq!(rx.unprotect_rtcp(&good[..27]), Err(SrtpError::TooShort));
}
