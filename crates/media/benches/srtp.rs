//! SRTP protect and unprotect of one 20 ms G.711 packet (12-byte header,
//! 160-byte payload), ours (`media::srtp`) beside rtc-srtp (the
//! webrtc-rs sans-IO SRTP, on ring) in the same run, AES_CM_128_HMAC_SHA1_80.
//! `cargo bench -p media --bench srtp`; figures in docs/PERFORMANCE.md.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use media::srtp::{MasterKey, SrtpContext, SrtpProfile};

const KEY: [u8; 16] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
const SALT: [u8; 14] = [21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34];

fn packet(seq: u16) -> Vec<u8> {
    let mut p = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef];
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p[4..8].copy_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    p.extend((0..160).map(|i| i as u8));
    p
}

fn rtc_context() -> rtc_srtp::context::Context {
    rtc_srtp::context::Context::new(
        &KEY,
        &SALT,
        rtc_srtp::protection_profile::ProtectionProfile::Aes128CmHmacSha1_80,
        None,
        None,
        &rtc_crypto::providers::RingCrypto,
    )
    .unwrap()
}

fn ours() -> SrtpContext {
    SrtpContext::new(SrtpProfile::AesCm128HmacSha1_80, &MasterKey::new(KEY, SALT))
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("srtp 172-byte RTP packet");
    let mut tx = ours();
    let mut seq = 0u16;
    g.bench_function("protect (ours)", |b| {
        b.iter(|| {
            seq = seq.wrapping_add(1);
            tx.protect_rtp(&packet(seq)).unwrap()
        })
    });
    let mut theirs = rtc_context();
    g.bench_function("protect (rtc-srtp)", |b| {
        b.iter(|| {
            seq = seq.wrapping_add(1);
            theirs.encrypt_rtp(&packet(seq)).unwrap()
        })
    });
    // Unprotect needs a new packet each time (replay protection).
    let mut sender = ours();
    let mut rx = ours();
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
    let mut sender = rtc_context();
    let mut rx = rtc_context();
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

criterion_group!(benches, bench);
criterion_main!(benches);
