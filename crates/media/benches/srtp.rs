//! SRTP protect and unprotect of one 20 ms G.711 packet (12-byte header,
//! 160-byte payload), ours (`media::srtp`) beside rtc-srtp (the
//! webrtc-rs sans-IO SRTP, on ring) in the same run, for
//! AES_CM_128_HMAC_SHA1_80 and AEAD_AES_128_GCM (RFC 7714).
//! `cargo bench -p media --bench srtp`; figures in docs/PERFORMANCE.md.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use media::srtp::{MasterKey, SrtpContext, SrtpProfile};
use rtc_srtp::protection_profile::ProtectionProfile;

const KEY: [u8; 16] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
const SALT: [u8; 14] = [21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34];

fn packet(seq: u16) -> Vec<u8> {
    let mut p = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef];
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p[4..8].copy_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    p.extend((0..160).map(|i| i as u8));
    p
}

/// The salt is 14 bytes for CM, 12 for GCM.
fn salt(profile: SrtpProfile) -> &'static [u8] {
    &SALT[..profile.salt_len()]
}

fn rtc_context(profile: SrtpProfile) -> rtc_srtp::context::Context {
    let theirs = match profile {
        SrtpProfile::AeadAes128Gcm => ProtectionProfile::AeadAes128Gcm,
        _ => ProtectionProfile::Aes128CmHmacSha1_80,
    };
    rtc_srtp::context::Context::new(
        &KEY,
        salt(profile),
        theirs,
        None,
        None,
        &rtc_crypto::providers::RingCrypto,
    )
    .unwrap()
}

fn ours(profile: SrtpProfile) -> SrtpContext {
    let key = MasterKey::from_bytes(&[&KEY[..], salt(profile)].concat()).unwrap();
    SrtpContext::new(profile, &key).unwrap()
}

fn bench(c: &mut Criterion) {
    for (profile, label) in [
        (SrtpProfile::AesCm128HmacSha1_80, "AES_CM_128_HMAC_SHA1_80"),
        (SrtpProfile::AeadAes128Gcm, "AEAD_AES_128_GCM"),
    ] {
        let mut g = c.benchmark_group(format!("srtp 172-byte RTP packet {label}"));
        let mut tx = ours(profile);
        let mut seq = 0u16;
        g.bench_function("protect (ours)", |b| {
            b.iter(|| {
                seq = seq.wrapping_add(1);
                tx.protect_rtp(&packet(seq)).unwrap()
            })
        });
        let mut theirs = rtc_context(profile);
        g.bench_function("protect (rtc-srtp)", |b| {
            b.iter(|| {
                seq = seq.wrapping_add(1);
                theirs.encrypt_rtp(&packet(seq)).unwrap()
            })
        });
        // Unprotect needs a new packet each time (replay protection).
        let mut sender = ours(profile);
        let mut rx = ours(profile);
        g.bench_function("unprotect (ours)", |b| {
            b.iter_batched(
                || {
                    seq = seq.wrapping_add(1);
                    sender.protect_rtp(&packet(seq)).unwrap()
                },
                |p| rx.unprotect_rtp(&p).unwrap(),
                BatchSize::SmallInput,
            )
        });
        let mut sender = rtc_context(profile);
        let mut rx = rtc_context(profile);
        g.bench_function("unprotect (rtc-srtp)", |b| {
            b.iter_batched(
                || {
                    seq = seq.wrapping_add(1);
                    sender.encrypt_rtp(&packet(seq)).unwrap()
                },
                |p| rx.decrypt_rtp(&p).unwrap(),
                BatchSize::SmallInput,
            )
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
