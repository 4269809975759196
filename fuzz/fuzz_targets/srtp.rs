//! SRTP/SRTCP receivers of every suite (AES-CM and AES-GCM) fed arbitrary
//! bytes: never panic, and whatever the bytes are, a packet our sender
//! protects afterwards still reads back (a forged packet changes no state
//! that a real one needs).
#![no_main]

use libfuzzer_sys::fuzz_target;
use media::srtp::{MasterKey, SrtpContext, SrtpProfile};

fuzz_target!(|data: &[u8]| {
    for profile in SrtpProfile::ALL {
        let len = profile.key_len() + profile.salt_len();
        let key = MasterKey::from_bytes(&[7u8; 44][..len]).expect("a suite's key size");
        let mut rx = SrtpContext::new(profile, &key).expect("the key fits");
        let _ = rx.unprotect_rtp(data);
        let _ = rx.unprotect_rtcp(data);
        let mut tx = SrtpContext::new(profile, &key).expect("the key fits");
        let mut packet = vec![0x80, 0, 0x12, 0x34, 0, 0, 0, 0, 1, 2, 3, 4];
        packet.extend_from_slice(data.get(..64).unwrap_or(data));
        let protected = tx.protect_rtp(&packet).expect("a valid header protects");
        assert_eq!(rx.unprotect_rtp(&protected).expect("it reads back"), packet);
        let mut report = vec![0x80, 200, 0, 1, 1, 2, 3, 4];
        report.extend_from_slice(data.get(..32).unwrap_or(data));
        let protected = tx.protect_rtcp(&report).expect("8 bytes protect");
        assert_eq!(rx.unprotect_rtcp(&protected).expect("it reads back"), report);
    }
});
