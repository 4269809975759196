//! SRTP and SRTCP against libsrtp: RTP packets libsrtp protected
//! (tests/data/srtp_vectors.txt, made by make_srtp_vectors.py beside it)
//! are what we produce from the same key, and what we read back; its
//! SRTCP packets we read. The
//! sequence crosses 65535 → 0 (the rollover counter), and the packets
//! carry CSRCs and a header extension. Also what RFC 3711 asks of a
//! receiver: a changed byte fails authentication, a replay is refused,
//! an old packet outside the window too, a late one inside it is taken
//! once.

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
        let mut sender = SrtpContext::new(suite.profile, &suite.key);
        let mut receiver = SrtpContext::new(suite.profile, &suite.key);
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
        SrtpContext::new(SrtpProfile::AesCm128HmacSha1_80, &key),
        SrtpContext::new(SrtpProfile::AesCm128HmacSha1_80, &key),
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
fn a_key_from_sdp_must_be_30_bytes_and_never_prints() {
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
