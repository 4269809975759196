//! File transfer where the test needs root to hold the machine still:
//! a large file's hashing held in the middle of a read (fanotify's
//! permission events) while the application answers a MESSAGE round
//! trip, and the offer that goes out only once the hash is known; and a
//! receiver whose directory is a tmpfs of 1 MB that fills up under a
//! larger file (a real ENOSPC).
//!
//! Like `ss -K` in tests/file_transfer.rs, what needs root fails the test
//! and says so when it is not there.

mod common;
mod transfer_peers;

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::{contact_uri, incoming_session, until, TempDir};
use nix::sys::fanotify::{
    EventFFlags, Fanotify, FanotifyResponse, InitFlags, MarkFlags, MaskFlags, Response,
};
use sipsimple::notification::NotificationData;
use sipsimple::streams::msrp::{
    file_selector_for, received_part, FileTransferStream, TransferDirection,
};
use sipsimple::streams::MediaStream;
use tokio::sync::oneshot;
use tokio::time::timeout;
use transfer_peers::{finished, offer, peers, random_file, settings, sha256};

/// A file of `len` bytes, random in its first and last MiB and a hole
/// between: large, quick to make, and any part left out of a hash
/// changes it.
fn large_file(path: &Path, len: u64) {
    let f = File::create(path).unwrap();
    f.set_len(len).unwrap();
    let dir = path.parent().unwrap();
    for (at, seed) in [(0, 11), (len - (1 << 20), 13)] {
        let piece = random_file(dir, "piece", 1 << 20, seed);
        f.write_all_at(&std::fs::read(&piece).unwrap(), at).unwrap();
        std::fs::remove_file(piece).unwrap();
    }
}

/// The SHA-1 of `path` as coreutils' sha1sum computes it.
fn sha1sum(path: &Path) -> Vec<u8> {
    let out = Command::new("sha1sum").arg(path).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let hex = String::from_utf8(out.stdout).unwrap();
    let hex = hex.split_whitespace().next().unwrap();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// The `nth` read of a file (from 1), held by a fanotify permission
/// event until released: the reads before and after it go through.
struct HeldRead {
    reached: oneshot::Receiver<()>,
    release: std::sync::mpsc::Sender<()>,
}

impl HeldRead {
    fn hold(path: &Path, nth: usize) -> HeldRead {
        let fan = Fanotify::init(
            InitFlags::FAN_CLASS_CONTENT | InitFlags::FAN_CLOEXEC,
            EventFFlags::O_RDONLY | EventFFlags::O_LARGEFILE,
        )
        .unwrap_or_else(|e| panic!("fanotify_init needs root (CAP_SYS_ADMIN): {e}"));
        let dir = File::open(path.parent().unwrap()).unwrap();
        fan.mark(
            MarkFlags::FAN_MARK_ADD,
            MaskFlags::FAN_ACCESS_PERM,
            &dir,
            Some(path),
        )
        .unwrap_or_else(|e| panic!("fanotify_mark on {}: {e}", path.display()));
        let (reached_tx, reached) = oneshot::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        // Answers every read of the file for as long as the test runs.
        std::thread::spawn(move || {
            let mut reached_tx = Some(reached_tx);
            let mut reads = 0;
            while let Ok(events) = fan.read_events() {
                for ev in events {
                    let Some(fd) = ev.fd() else { continue };
                    reads += 1;
                    if reads == nth {
                        if let Some(tx) = reached_tx.take() {
                            let _ = tx.send(());
                        }
                        // A hang guard: a hash that held the engine up
                        // comes through here late and the test sees the
                        // order wrong, instead of hanging.
                        let _ = released.recv_timeout(Duration::from_secs(60));
                    }
                    let _ = fan.write_response(FanotifyResponse::new(fd, Response::FAN_ALLOW));
                }
            }
        });
        HeldRead { reached, release }
    }
}

/// RFC 5547's `file-selector` hash is of the whole file, and the spec's
/// `for_file` must not block the engine while it computes it. Alice's
/// application hashes a 300 MB file for an offer to bob; the hash's read
/// is held in the middle of the file; meanwhile a MESSAGE from alice to
/// bob is answered and bob sees it, and no INVITE has come. Once the
/// read goes on, the offer bob gets carries the SHA-1 of the whole file.
#[tokio::test]
async fn a_large_file_hashes_without_blocking_and_the_offer_waits_for_its_hash() {
    let mut p = peers("tcp").await;
    let outbox = TempDir::new("ft-hash");
    let file = outbox.0.join("large.bin");
    let len = 300u64 << 20;
    large_file(&file, len);
    let whole = sha1sum(&file);
    // The 8th read of 256 KiB or more: well inside the file.
    let held = HeldRead::hold(&file, 8);

    let (hashed_tx, mut hashed) = oneshot::channel();
    let alice = p.alice.clone();
    let to = contact_uri(&p.bob);
    let path = file.clone();
    let offering = tokio::spawn(async move {
        let selector = file_selector_for(&path, None, true).await.unwrap();
        let _ = hashed_tx.send(selector.clone());
        let stream = FileTransferStream::new_outgoing(&settings(&alice), selector, path, None);
        let account = alice.account_manager().accounts().remove(0);
        alice
            .session_manager()
            .connect(
                &account,
                &to,
                vec![Arc::new(stream) as Arc<dyn MediaStream>],
            )
            .await
            .unwrap()
    });
    timeout(Duration::from_secs(40), held.reached)
        .await
        .expect("the hash reads the file")
        .unwrap();

    // The hash is held: the engine still works both ways.
    let account = p.alice.account_manager().accounts().remove(0);
    let delivered = account
        .send_message(&contact_uri(&p.bob), "text/plain", "while hashing")
        .await
        .unwrap();
    assert_eq!(delivered.code, 200);
    let seen = until(&mut p.bob_all, "SIPEngineGotMessage").await;
    assert!(
        !seen.iter().any(|n| n.name() == "SIPSessionNewIncoming"),
        "an offer came before its hash: {:?}",
        common::names(&seen)
    );
    assert!(
        matches!(hashed.try_recv(), Err(oneshot::error::TryRecvError::Empty)),
        "the hash finished while its read was held: it did not wait for the MESSAGE"
    );
    assert!(!offering.is_finished());

    held.release.send(()).unwrap();
    let selector = timeout(Duration::from_secs(120), &mut hashed)
        .await
        .expect("the hash finishes once its read goes on")
        .unwrap();
    let hash = selector.hash.expect("asked for");
    assert_eq!((hash.algorithm.as_str(), &hash.digest), ("sha-1", &whole));
    assert_eq!(selector.size, Some(len));

    // What bob's registry read from the INVITE's SDP.
    let callee = incoming_session(&p.bob, &mut p.bob_all).await;
    let proposed = callee.proposed_streams().unwrap();
    let theirs = proposed[0]
        .clone()
        .downcast::<FileTransferStream>()
        .unwrap();
    assert_eq!(theirs.direction(), TransferDirection::Receive);
    let offered = theirs.file_selector();
    assert_eq!(offered.size, Some(len));
    assert_eq!(offered.hash.map(|h| h.digest), Some(whole));
    callee.reject(603, None).await.unwrap();
    let caller = offering.await.unwrap();
    until(&mut p.alice_all, "SIPSessionDidFail").await;
    drop(caller);
}

/// A tmpfs mounted on a fresh directory; unmounted and removed on drop,
/// a failed test included.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(tag: &str, size: &str) -> Tmpfs {
        let dir = std::env::temp_dir().join(format!(
            "sipsimple-{tag}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .output()
            .expect("mount (util-linux) is installed");
        if !out.status.success() {
            let _ = std::fs::remove_dir(&dir);
            panic!(
                "mounting a tmpfs on {} needs root: {}",
                dir.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Tmpfs(dir)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            // Busy (a file still open): detach it now, freed when closed.
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// A receiver whose disk fills up (a tmpfs of 1 MB, a 3 MB file) fails
/// the transfer and says why: bob's stream fails with the write's
/// ENOSPC, and alice hears it by a 413 failure REPORT (RFC 4975 §7.2:
/// stop sending this message) whose reason names the error and not
/// bob's path. Both sessions end. The rule for what stays, as for any
/// cut transfer: the `.part` file keeps the first bytes that fit, for a
/// resume once there is room; no file of the final name appears. The
/// application goes on: the next file, into another directory, arrives
/// whole.
#[tokio::test]
async fn a_full_disk_fails_the_transfer_on_both_sides_and_the_next_one_arrives() {
    let disk = Tmpfs::mount("ft-full", "1m");
    let mut p = peers("tcp").await;
    let outbox = TempDir::new("ft-outbox");
    let len = 3 << 20;
    let file = random_file(&outbox.0, "big.bin", len, 5);
    let selector = file_selector_for(&file, None, true).await.unwrap();
    let ours = Arc::new(FileTransferStream::new_outgoing(
        &settings(&p.alice),
        selector.clone(),
        file.clone(),
        None,
    ));
    let full = disk.0.clone();
    let (_caller, _callee, theirs) = offer(&mut p, ours.clone(), |s| s.set_directory(full)).await;

    let bob_err = finished(&mut p.bob_all)
        .await
        .expect("bob's transfer fails");
    assert!(bob_err.contains("No space left on device"), "{bob_err}");
    let seen = until(&mut p.alice_all, "FileTransferStreamDidFinish").await;
    let refused = seen.iter().find_map(|n| match &n.data {
        NotificationData::FileTransferStreamDidNotDeliverChunk { code, reason, .. } => {
            Some((*code, reason.clone()))
        }
        _ => None,
    });
    let (code, reason) = refused.expect("a failure REPORT reached alice");
    assert_eq!(code, 413);
    assert!(reason.contains("No space left on device"), "{reason}");
    let alice_err = match &seen.last().unwrap().data {
        NotificationData::FileTransferStreamDidFinish { error } => {
            error.clone().expect("alice's transfer fails")
        }
        other => panic!("{other:?}"),
    };
    assert!(alice_err.contains(&reason), "{alice_err}");
    assert!(
        !alice_err.contains(&*disk.0.to_string_lossy()),
        "{alice_err}"
    );
    until(&mut p.alice_all, "SIPSessionDidEnd").await;
    until(&mut p.bob_all, "SIPSessionDidEnd").await;
    assert!(ours.progress().transferred_bytes < len as u64);
    let progress = theirs.progress();
    assert!(progress.finished && progress.saved_to.is_none());
    assert_eq!(progress.error.as_deref(), Some(bob_err.as_str()));

    let left: Vec<PathBuf> = std::fs::read_dir(&disk.0)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
    let part_name = left[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        part_name.starts_with(".big.bin.") && part_name.ends_with(".part"),
        "{part_name}"
    );
    let part = std::fs::read(&left[0]).unwrap();
    let sent = std::fs::read(&file).unwrap();
    assert!(!part.is_empty() && part.len() <= 1 << 20, "{}", part.len());
    assert!(
        part[..] == sent[..part.len()],
        "the part is the file's start"
    );
    assert_eq!(received_part(&disk.0, &selector), Some(part.len() as u64));

    // The next file goes to bob's own download directory, which has room.
    let small = random_file(&outbox.0, "small.bin", 200_000, 6);
    let selector = file_selector_for(&small, None, true).await.unwrap();
    let ours = Arc::new(FileTransferStream::new_outgoing(
        &settings(&p.alice),
        selector,
        small.clone(),
        None,
    ));
    let inbox = p.inbox.0.clone();
    let (caller, _callee, theirs) = offer(&mut p, ours, |s| s.set_directory(inbox)).await;
    assert_eq!(finished(&mut p.bob_all).await, None);
    assert_eq!(finished(&mut p.alice_all).await, None);
    let saved = theirs.progress().saved_to.unwrap();
    assert_eq!(saved, p.inbox.0.join("small.bin"));
    assert_eq!(sha256(&saved), sha256(&small));
    caller.end().await.unwrap();
    until(&mut p.bob_all, "SIPSessionDidEnd").await;
}
