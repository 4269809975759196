//! RFC 7714 §16 (SRTP) and §17 (SRTCP) test vectors. The RFC gives the
//! session key and salt, not a master key, so the contexts here are built
//! from session keys; the key derivation is checked against rtc-srtp in
//! tests/srtp.rs.

use super::*;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

const KEY_128: &str = "000102030405060708090a0b0c0d0e0f";
const KEY_256: &str = "000102030405060708090a0b0c0d0e0f 101112131415161718191a1b1c1d1e1f";
/// "Quid pro quo"
const SALT: &str = "517569642070726f2071756f";

/// §16: SSRC 0x5501a0b2, SEQ 0xf17b, ROC 0.
const RTP: &str = "8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f 6d6e6973
                   20646976 69736120 696e2070 61727465 73207472 6573";
/// §17: a sender report of SSRC "Mars", SRTCP index 0x5d4.
const RTCP: &str = "81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930
                    4c756e61 deadbeef deadbeef deadbeef deadbeef deadbeef";
const MARS: u32 = 0x4d61_7273;

fn context(profile: SrtpProfile) -> SrtpContext {
    let key = hex(if profile == SrtpProfile::AeadAes256Gcm {
        KEY_256
    } else {
        KEY_128
    });
    let salt: [u8; 12] = hex(SALT).try_into().unwrap();
    let keys = || Keys::Gcm(gcm::SessionKeys::new(&key, salt).unwrap());
    SrtpContext {
        profile,
        rtp: keys(),
        rtcp: keys(),
        streams: HashMap::new(),
    }
}

/// A sender whose next SRTCP index for "Mars" is the vectors' 0x5d4.
fn rtcp_sender(profile: SrtpProfile) -> SrtpContext {
    let mut tx = context(profile);
    tx.streams.insert(
        MARS,
        StreamState {
            rtcp_next: 0x5d4,
            ..StreamState::default()
        },
    );
    tx
}

#[test]
fn rfc7714_16_1_and_16_2_srtp() {
    let cases = [
        (
            SrtpProfile::AeadAes128Gcm,
            "8040f17b 8041f8d3 5501a0b2 f24de3a3 fb34de6c acba861c 9d7e4bca
             be633bd5 0d294e6f 42a5f47a 51c7d19b 36de3adf 8833899d 7f27beb1
             6a9152cf 765ee439 0cce",
        ),
        (
            SrtpProfile::AeadAes256Gcm,
            "8040f17b 8041f8d3 5501a0b2 32b1de78 a822fe12 ef9f78fa 332e33aa
             b1801238 9a58e2f3 b50b2a02 76ffae0f 1ba63799 b87b7aa3 db36dfff
             d6b0f9bb 7878d7a7 6c13",
        ),
    ];
    for (profile, protected) in cases {
        let protected = hex(protected);
        let plain = hex(RTP);
        assert_eq!(context(profile).protect_rtp(&plain).unwrap(), protected);
        let mut rx = context(profile);
        assert_eq!(rx.unprotect_rtp(&protected).unwrap(), plain);
        // RFC 3711 §3.3.2: a packet seen once is not taken again.
        assert_eq!(
            rx.unprotect_rtp(&protected),
            Err(SrtpError::Replayed(0xf17b))
        );
        // Any changed byte, header (associated data), payload or tag,
        // fails the AEAD check (RFC 7714 §8.2), and leaves no trace.
        let mut rx = context(profile);
        for i in [1, 8, 12, 30, protected.len() - 1] {
            let mut bad = protected.clone();
            bad[i] ^= 0x20;
            assert_eq!(rx.unprotect_rtp(&bad), Err(SrtpError::AuthFailed), "{i}");
        }
        assert_eq!(rx.unprotect_rtp(&protected).unwrap(), plain);
    }
}

#[test]
fn rfc7714_17_1_and_17_2_srtcp_encrypted() {
    let cases = [
        (
            SrtpProfile::AeadAes128Gcm,
            "81c8000d 4d617273 63e94885 dcdab67c a727d766 2f6b7e99 7ff5c0f7
             6c06f32d c676a5f1 730d6fda 4ce09b46 86303ded 0bb9275b c84aa458
             96cf4d2f c5abf872 45d9eade 800005d4",
        ),
        (
            SrtpProfile::AeadAes256Gcm,
            "81c8000d 4d617273 d50ae4d1 f5ce5d30 4ba297e4 7d470c28 2c3ece5d
             bffe0a50 a2eaa5c1 110555be 8415f658 c61de047 6f1b6fad 1d1eb30c
             4446839f 57ff6f6c b26ac3be 800005d4",
        ),
    ];
    for (profile, protected) in cases {
        let protected = hex(protected);
        let plain = hex(RTCP);
        assert_eq!(
            rtcp_sender(profile).protect_rtcp(&plain).unwrap(),
            protected,
            "{profile:?}"
        );
        let mut rx = context(profile);
        assert_eq!(rx.unprotect_rtcp(&protected).unwrap(), plain);
        assert_eq!(
            rx.unprotect_rtcp(&protected),
            Err(SrtpError::Replayed(0x5d4))
        );
        // The E‖index word is associated data: flipping E or the index
        // is caught by the tag, not taken as another packet.
        let mut rx = context(profile);
        let n = protected.len();
        for i in [5, 9, n - 20, n - 4, n - 1] {
            let mut bad = protected.clone();
            bad[i] ^= 0x80;
            assert_eq!(rx.unprotect_rtcp(&bad), Err(SrtpError::AuthFailed), "{i}");
        }
    }
}

#[test]
fn rfc7714_17_3_and_17_4_srtcp_authenticated_only() {
    let cases = [
        (
            SrtpProfile::AeadAes128Gcm,
            "841dd968 3dd78ec9 2ae58790 125f62b3",
        ),
        (
            SrtpProfile::AeadAes256Gcm,
            "91db4afb feee5a97 8fab4393 ed2615fe",
        ),
    ];
    for (profile, tag) in cases {
        let plain = hex(RTCP);
        let mut protected = plain.clone();
        protected.extend(hex(tag));
        protected.extend(hex("000005d4"));
        // Our sender always encrypts (E set); the transform's E-clear
        // form is what the RFC shows.
        let Keys::Gcm(keys) = &context(profile).rtcp else {
            unreachable!()
        };
        let mut body = plain.clone();
        assert_eq!(
            keys.seal_rtcp(MARS, 0x5d4, &mut body).unwrap().to_vec(),
            hex(tag)
        );
        assert_eq!(body, plain, "E clear: nothing is encrypted");
        let mut rx = context(profile);
        assert_eq!(rx.unprotect_rtcp(&protected).unwrap(), plain);
        let mut bad = protected.clone();
        bad[20] ^= 1;
        assert_eq!(
            context(profile).unprotect_rtcp(&bad),
            Err(SrtpError::AuthFailed)
        );
    }
}

#[test]
fn rfc7714_12_key_lengths() {
    // 16+12 and 32+12 bytes in `inline:`; a CM-sized key does not fit.
    let k128 = MasterKey::from_bytes(&[1; 28]).unwrap();
    let k256 = MasterKey::from_bytes(&[1; 44]).unwrap();
    let cm = MasterKey::from_bytes(&[1; 30]).unwrap();
    assert!(k128.fits(SrtpProfile::AeadAes128Gcm));
    assert!(k256.fits(SrtpProfile::AeadAes256Gcm));
    assert!(!cm.fits(SrtpProfile::AeadAes128Gcm));
    assert!(SrtpContext::new(SrtpProfile::AeadAes128Gcm, &cm).is_err());
    assert!(SrtpContext::new(SrtpProfile::AesCm128HmacSha1_80, &k128).is_err());
    assert!(SrtpContext::new(SrtpProfile::AeadAes256Gcm, &k256).is_ok());
    assert_eq!(MasterKey::from_base64(&k256.to_base64()).unwrap(), k256);
    assert!(MasterKey::from_bytes(&[1; 29]).is_err());
}
