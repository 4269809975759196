//! Issue 15: "memory stays flat whatever the file size". A 256 MB file
//! pushed between two applications of this process while a thread
//! samples the process's resident memory: what it grows by during the
//! transfer stays far below the file (the bytes stream from disk to
//! socket to disk; nothing holds the file). A test binary of its own, so
//! no other test's allocations share the process.
//!
//! Nobody here subscribes to every notification: an observer that never
//! reads keeps up to its queue's bound of them, and FileTransferStream-
//! GotChunk carries each chunk's bytes (that is the application's memory
//! to spend, not the SDK's).

mod common;
mod transfer_peers;

use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::TempDir;
use sha2::{Digest, Sha256};
use sipsimple::notification::Filter;
use sipsimple::streams::msrp::{file_selector_for, FileTransferStream};
use transfer_peers::{finished, offer, peers, sender_finish, settings};

const MEGABYTES: usize = 256;

fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

/// Writes `megabytes` of pseudo-random data a megabyte at a time (the
/// test itself must not hold the file either); its SHA-256.
fn write_file(path: &Path, megabytes: usize) -> Vec<u8> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut hash = Sha256::new();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut block = vec![0u8; 1 << 20];
    for _ in 0..megabytes {
        for chunk in block.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes());
        }
        hash.update(&block);
        f.write_all(&block).unwrap();
    }
    f.flush().unwrap();
    hash.finalize().to_vec()
}

fn sha256_of(path: &Path) -> Vec<u8> {
    let mut f = std::fs::File::open(path).unwrap();
    let mut hash = Sha256::new();
    let mut block = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut block).unwrap();
        if n == 0 {
            return hash.finalize().to_vec();
        }
        hash.update(&block[..n]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resident_memory_stays_flat_while_256_mb_are_pushed() {
    let mut p = peers("tcp").await;
    // Only what the test reads (see the module doc).
    p.alice_all = p
        .alice
        .notification_center()
        .subscribe(Filter::name("none"));
    p.bob_all = p
        .bob
        .notification_center()
        .subscribe(Filter::name("SIPSessionNewIncoming"));
    let mut bob_done = p
        .bob
        .notification_center()
        .subscribe(Filter::name("FileTransferStreamDidFinish"));
    let mut alice_done = sender_finish(&p.alice);
    let outbox = TempDir::new("ft-memory");
    let file = outbox.0.join("big.bin");
    let sent_hash = write_file(&file, MEGABYTES);
    let selector = file_selector_for(&file, None, true).await.unwrap();

    let before = resident_kib();
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(before));
    let sampler = {
        let (stop, peak) = (stop.clone(), peak.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                peak.fetch_max(resident_kib(), Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let ours = Arc::new(FileTransferStream::new_outgoing(
        &settings(&p.alice),
        selector,
        file.clone(),
        None,
    ));
    let (caller, _callee, theirs) = offer(&mut p, ours, |_| {}).await;
    assert_eq!(finished(&mut bob_done).await, None);
    assert_eq!(finished(&mut alice_done).await, None);
    stop.store(true, Ordering::SeqCst);
    sampler.join().unwrap();

    let saved = theirs.progress().saved_to.expect("the file was saved");
    assert_eq!(sha256_of(&saved), sent_hash);
    let grown_mb = peak.load(Ordering::SeqCst).saturating_sub(before) as f64 / 1024.0;
    eprintln!("resident memory grew by {grown_mb:.1} MB during {MEGABYTES} MB");
    assert!(
        grown_mb < 48.0,
        "resident memory grew by {grown_mb:.1} MB while {MEGABYTES} MB were pushed"
    );
    caller.end().await.unwrap();
}
