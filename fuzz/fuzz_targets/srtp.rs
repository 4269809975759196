//! SRTP/SRTCP receivers fed arbitrary bytes: never panic, and whatever
//! the bytes are, a packet our sender protects afterwards still reads
//! back (a forged packet changes no state that a real one needs).
#![no_main]

use libfuzzer_sys::fuzz_target;
use media::srtp::{MasterKey, SrtpContext, SrtpProfile};

fuzz_target!(|data: &[u8]| {
    let key = MasterKey::new([7; 16], [9; 14]);
    for profile in SrtpProfile::ALL {
        let mut rx = SrtpContext::new(profile, &key);
        let _ = rx.unprotect_rtp(data);
        let _ = rx.unprotect_rtcp(data);
        let mut tx = SrtpContext::new(profile, &key);
        let mut packet = vec![0x80, 0, 0x12, 0x34, 0, 0, 0, 0, 1, 2, 3, 4];
        packet.extend_from_slice(data.get(..64).unwrap_or(data));
        let protected = tx.protect_rtp(&packet).expect("a valid header protects");
        assert_eq!(rx.unprotect_rtp(&protected).expect("it reads back"), packet);
    }
});
