//! File transfer (RFC 5547) between two applications in one process on
//! loopback: pushed and pulled, over TCP and TLS, files of 0 bytes, 1
//! byte, one chunk and a byte, and 100 MB of random data; a transfer cut
//! in the middle (the session ended, or its TCP connection killed) and
//! resumed with `a=file-range`, pushed or pulled; a push given up by its
//! sender (`#`, reported as cancelled) and resumed; hostile names; a file
//! whose hash does not match. Every received file is compared with the
//! sent one by SHA-256.

mod common;
mod kamailio;
mod transfer_peers;

use std::path::Path;
use std::sync::Arc;

use common::{until, TempDir};
use sdp::{FileRange, FileSelector};
use sipsimple::notification::{NotificationData, Subscription};
use sipsimple::session::Session;
use sipsimple::streams::msrp::file_transfer::CHUNK_SIZE;
use sipsimple::streams::msrp::{
    file_selector_for, received_part, FileTransferStream, TransferDirection, SENDER_ABORTED,
};
use sipsimple::streams::MediaStream;
use transfer_peers::{
    finished, offer, peers, peers_with, random_file, sender_finish, settings, sha256, Peers,
};

/// Alice pushes a file of `len` bytes to bob; bob's copy is checked.
async fn push(transport: &str, len: usize) {
    let mut p = peers(transport).await;
    push_between(&mut p, len).await;
}

async fn push_between(p: &mut Peers, len: usize) {
    let outbox = TempDir::new("ft-outbox");
    let file = random_file(&outbox.0, "data.bin", len, len as u64);
    let selector = file_selector_for(&file, None, true).await.unwrap();
    assert_eq!(selector.size, Some(len as u64));
    let ours = Arc::new(FileTransferStream::new_outgoing(
        &settings(&p.alice),
        selector,
        file.clone(),
        None,
    ));
    let mut alice_done = sender_finish(&p.alice);
    let (caller, _callee, theirs) = offer(p, ours.clone(), |_| {}).await;
    assert_eq!(theirs.direction(), TransferDirection::Receive);
    assert_eq!(theirs.transfer_id(), ours.transfer_id());
    // RFC 5547 §6: the sender says what the file is to the receiver.
    let attrs = theirs.file_attributes();
    assert_eq!(attrs, ours.file_attributes());
    assert_eq!(attrs.disposition.as_deref(), Some("attachment"));
    let modified = httpdate::fmt_http_date(std::fs::metadata(&file).unwrap().modified().unwrap());
    assert_eq!(attrs.date, Some(format!("modification:\"{modified}\"")));
    let bob_seen = until(&mut p.bob_all, "FileTransferStreamDidFinish").await;
    assert!(matches!(
        bob_seen.last().unwrap().data,
        NotificationData::FileTransferStreamDidFinish { error: None }
    ));
    // Alice's every notification waited unread meanwhile: her DidFinish
    // must still be among them (issue 15).
    until(&mut alice_done, "FileTransferStreamDidFinish").await;
    assert_eq!(finished(&mut p.alice_all).await, None);
    // FileTransferStreamGotChunk carries the bytes as they are stored,
    // with the progress (an observer that falls behind may miss some, so
    // only small files are checked whole).
    let chunks: Vec<(&[u8], u64, u64)> = bob_seen
        .iter()
        .filter_map(|n| match &n.data {
            NotificationData::FileTransferStreamGotChunk {
                content,
                transferred_bytes,
                file_size,
                ..
            } => Some((&content[..], *transferred_bytes, *file_size)),
            _ => None,
        })
        .collect();
    assert!(chunks.iter().all(|(_, _, size)| *size == len as u64));
    if len > 0 && len <= 1 << 20 {
        let whole: Vec<u8> = chunks
            .iter()
            .flat_map(|(c, _, _)| c.iter().copied())
            .collect();
        assert_eq!(whole, std::fs::read(&file).unwrap());
        assert_eq!(chunks.last().map(|c| c.1), Some(len as u64));
    }
    let got = theirs.progress();
    let saved = got.saved_to.clone().unwrap();
    assert_eq!(saved, p.inbox.0.join("data.bin"));
    assert_eq!(sha256(&saved), sha256(&file));
    assert_eq!(
        (got.transferred_bytes, got.file_size),
        (len as u64, len as u64)
    );
    let sent = ours.progress();
    assert_eq!(
        (sent.transferred_bytes, sent.finished, sent.error),
        (len as u64, true, None)
    );
    // No part file is left behind.
    let left: Vec<_> = std::fs::read_dir(&p.inbox.0).unwrap().collect();
    assert_eq!(left.len(), 1, "{left:?}");
    std::fs::remove_file(&saved).unwrap();
    caller.end().await.unwrap();
    until(&mut p.bob_all, "SIPSessionDidEnd").await;
}

#[tokio::test]
async fn pushes_an_empty_file() {
    push("tcp", 0).await;
}

#[tokio::test]
async fn pushes_one_byte_over_tls() {
    push("tls", 1).await;
}

#[tokio::test]
async fn pushes_one_chunk_and_a_byte() {
    push("tcp", CHUNK_SIZE as usize + 1).await;
}

#[tokio::test]
async fn pushes_one_chunk_and_a_byte_over_tls() {
    push("tls", CHUNK_SIZE as usize + 1).await;
}

#[tokio::test]
async fn pushes_100_mb_of_random_data() {
    push("tcp", 100 << 20).await;
}

/// Bob asks alice for a file she has (RFC 5547 §8): alice's application
/// names the file for the stream the registry made.
#[tokio::test]
async fn pulls_a_file_over_tls() {
    let mut p = peers("tls").await;
    pull_between(&mut p, 3 * CHUNK_SIZE as usize + 17).await;
}

async fn pull_between(p: &mut Peers, len: usize) {
    let outbox = TempDir::new("ft-outbox");
    let file = random_file(&outbox.0, "wanted.bin", len, 7);
    let selector = file_selector_for(&file, None, true).await.unwrap();
    let want = FileSelector {
        name: selector.name.clone(),
        size: selector.size,
        hash: selector.hash.clone(),
        ..FileSelector::default()
    };
    // Roles swapped: `p.alice` pulls, `p.bob` serves; the pulled file
    // lands in alice's directory, which is set on her stream.
    let pulled = TempDir::new("ft-pulled");
    let ours = Arc::new(FileTransferStream::new_pull(
        &settings(&p.alice),
        want,
        None,
    ));
    ours.set_directory(pulled.0.clone());
    let source = file.clone();
    let mut bob_done = sender_finish(&p.bob);
    let (caller, _callee, theirs) = offer(p, ours.clone(), |s| {
        assert_eq!(s.direction(), TransferDirection::Send);
        s.set_file(source);
    })
    .await;
    assert_eq!(finished(&mut p.alice_all).await, None);
    // Bob's every notification waited unread meanwhile: his DidFinish
    // must still be among them (issue 15).
    until(&mut bob_done, "FileTransferStreamDidFinish").await;
    assert_eq!(finished(&mut p.bob_all).await, None);
    let saved = ours.progress().saved_to.unwrap();
    assert_eq!(saved, pulled.0.join("wanted.bin"));
    assert_eq!(sha256(&saved), sha256(&file));
    assert_eq!(theirs.progress().transferred_bytes, selector.size.unwrap());
    caller.end().await.unwrap();
}

const RELAY_PASSWORD: &str = "relay-secret";

fn relay_account(port: u16, for_outbound: bool) -> String {
    format!(
        "msrp.transport = \"tcp\"\nmsrp.connection_model = \"relay\"\n\
         auth.password = \"{RELAY_PASSWORD}\"\n\
         nat_traversal.msrp_relay = \"msrp://127.0.0.1:{port};tcp\"\n\
         nat_traversal.use_msrp_relay_for_outbound = {for_outbound}\n"
    )
}

/// Through Kamailio's MSRP relay (RFC 4976), both parties on it: files
/// of 0 bytes, 1 byte and one chunk and a byte pushed, and 100 MB pulled
/// the other way. Each transfer's first chunks reach the relay while it
/// may still be connecting onward: none may overflow its write queue
/// (it would drop the frame after its hop-by-hop 200).
#[tokio::test]
async fn through_the_kamailio_relay_both_ways() {
    let relay = kamailio::start_msrp_relay(RELAY_PASSWORD);
    let mut p = peers_with(
        &relay_account(relay.port, true),
        &relay_account(relay.port, false),
    )
    .await;
    for len in [0, 1, CHUNK_SIZE as usize + 1] {
        push_between(&mut p, len).await;
    }
    pull_between(&mut p, 100 << 20).await;
    let log = std::fs::read_to_string(relay.dir.join("kamailio.log")).unwrap();
    for dropped in ["write queue full", "forwarding frame failed"] {
        assert!(
            !log.contains(dropped),
            "the relay logged {dropped:?}:\n{log}"
        );
    }
}

/// Waits until the sender's REPORTs confirm at least `bytes`.
async fn confirmed(sub: &mut Subscription, bytes: u64) {
    loop {
        let n = until(sub, "FileTransferStreamDidDeliverChunk").await;
        if let NotificationData::FileTransferStreamDidDeliverChunk {
            transferred_bytes, ..
        } = n.last().unwrap().data
        {
            if transferred_bytes >= bytes {
                return;
            }
        }
    }
}

/// Alice's push of a 20 MiB file of random bytes to bob, under way.
struct BigPush {
    _outbox: TempDir,
    file: std::path::PathBuf,
    selector: FileSelector,
    ours: Arc<FileTransferStream>,
    caller: Session,
    theirs: Arc<FileTransferStream>,
}

async fn big_push(p: &mut Peers, name: &str, seed: u64) -> BigPush {
    let outbox = TempDir::new("ft-outbox");
    let file = random_file(&outbox.0, name, 20 << 20, seed);
    let selector = file_selector_for(&file, None, true).await.unwrap();
    let ours = Arc::new(FileTransferStream::new_outgoing(
        &settings(&p.alice),
        selector.clone(),
        file.clone(),
        None,
    ));
    let (caller, _callee, theirs) = offer(p, ours.clone(), |_| {}).await;
    BigPush {
        _outbox: outbox,
        file,
        selector,
        ours,
        caller,
        theirs,
    }
}

/// A push cut in the middle (the session ends) is resumed in a new
/// session from the byte after those the receiver confirmed, and the
/// whole file's hash is checked at the end.
#[tokio::test]
async fn a_cut_transfer_resumes_with_file_range() {
    let mut p = peers("tcp").await;
    let len = 20 << 20;
    let BigPush {
        _outbox,
        file,
        selector,
        ours: first,
        caller,
        theirs,
    } = big_push(&mut p, "big.bin", 99).await;
    // Cut once a few MB are confirmed.
    confirmed(&mut p.alice_all, 3 << 20).await;
    caller.end().await.unwrap();
    let seen = until(&mut p.bob_all, "FileTransferStreamDidFinish").await;
    match &seen.last().unwrap().data {
        NotificationData::FileTransferStreamDidFinish { error } => {
            assert!(error.is_some(), "the cut transfer must not finish well")
        }
        other => panic!("{other:?}"),
    }
    if !common::names(&seen).contains(&"SIPSessionDidEnd") {
        until(&mut p.bob_all, "SIPSessionDidEnd").await;
    }
    let confirmed = first.progress().transferred_bytes;
    assert!(
        confirmed >= 3 << 20 && confirmed < len as u64,
        "{confirmed}"
    );
    assert!(theirs.progress().saved_to.is_none());
    assert!(!p.inbox.0.join("big.bin").exists());
    until(&mut p.alice_all, "SIPSessionDidEnd").await;
    resume_push(&mut p, &selector, &file, confirmed).await;
}

/// Names from the peer land inside the download directory, as plain
/// names, and never over an existing file.
#[tokio::test]
async fn hostile_names_stay_inside_the_directory() {
    let mut p = peers("tcp").await;
    let outbox = TempDir::new("ft-outbox");
    let file = random_file(&outbox.0, "payload", 1000, 3);
    std::fs::write(p.inbox.0.join("passwd"), b"already here").unwrap();
    for (name, lands_as) in [
        ("../../passwd", "passwd (1)"),
        ("/etc/passwd", "passwd (2)"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("..", "file"),
        ("CON", "_CON"),
    ] {
        let mut selector = file_selector_for(&file, None, true).await.unwrap();
        selector.name = Some(name.into());
        let ours = Arc::new(FileTransferStream::new_outgoing(
            &settings(&p.alice),
            selector,
            file.clone(),
            None,
        ));
        let (caller, _callee, theirs) = offer(&mut p, ours, |_| {}).await;
        assert_eq!(finished(&mut p.bob_all).await, None, "{name}");
        let saved = theirs.progress().saved_to.unwrap();
        assert_eq!(saved, p.inbox.0.join(lands_as), "{name}");
        assert_eq!(sha256(&saved), sha256(&file));
        caller.end().await.unwrap();
        until(&mut p.bob_all, "SIPSessionDidEnd").await;
    }
    assert_eq!(
        std::fs::read(p.inbox.0.join("passwd")).unwrap(),
        b"already here"
    );
    assert!(!p.inbox.0.parent().unwrap().join("passwd").exists());
}

/// A file whose bytes do not match the selector's SHA-1 is not kept, and
/// the sender hears that it was not delivered.
#[tokio::test]
async fn a_hash_mismatch_fails_both_sides_and_keeps_nothing() {
    let mut p = peers("tcp").await;
    let outbox = TempDir::new("ft-outbox");
    let file = random_file(&outbox.0, "liar.bin", 5000, 5);
    let mut selector = file_selector_for(&file, None, true).await.unwrap();
    if let Some(h) = selector.hash.as_mut() {
        h.digest[0] ^= 0xff;
    }
    let ours = Arc::new(FileTransferStream::new_outgoing(
        &settings(&p.alice),
        selector,
        file,
        None,
    ));
    let (caller, _callee, theirs) = offer(&mut p, ours.clone(), |_| {}).await;
    let bob_err = finished(&mut p.bob_all).await.unwrap();
    assert!(bob_err.contains("SHA-1"), "{bob_err}");
    let alice_err = finished(&mut p.alice_all).await.unwrap();
    assert!(alice_err.contains("SHA-1"), "{alice_err}");
    assert!(theirs.progress().saved_to.is_none());
    assert_eq!(std::fs::read_dir(&p.inbox.0).unwrap().count(), 0);
    let _ = caller.end().await;
}

/// The size matrix of the issue for pulls on a direct path: 0 bytes,
/// 1 byte, one chunk and a byte, and 100 MB, each checked by hash.
#[tokio::test]
async fn pulls_every_size_directly() {
    let mut p = peers("tcp").await;
    for len in [0, 1, CHUNK_SIZE as usize + 1, 100 << 20] {
        pull_between(&mut p, len).await;
    }
}

/// The rest of the matrix through Kamailio's relay: 0 bytes, 1 byte and
/// one chunk and a byte pulled, and 100 MB pushed.
#[tokio::test]
async fn through_the_kamailio_relay_the_other_sizes() {
    let relay = kamailio::start_msrp_relay(RELAY_PASSWORD);
    let mut p = peers_with(
        &relay_account(relay.port, true),
        &relay_account(relay.port, false),
    )
    .await;
    for len in [0, 1, CHUNK_SIZE as usize + 1] {
        pull_between(&mut p, len).await;
    }
    push_between(&mut p, 100 << 20).await;
}

/// Kills every TCP connection to `port` on 127.0.0.1 (`ss -K`: the
/// kernel aborts them and resets both ends, as a dead NAT or a crashed
/// peer would leave them; needs CAP_NET_ADMIN).
fn kill_connections_to(port: u16) {
    let out = std::process::Command::new("ss")
        .args([
            "-K",
            "-t",
            "dst",
            "127.0.0.1",
            "dport",
            "=",
            &port.to_string(),
        ])
        .output()
        .expect("ss (iproute2) is installed");
    let killed = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(&format!(":{port}")))
        .count();
    assert!(
        out.status.success() && killed > 0,
        "ss -K killed nothing (root needed): {out:?}"
    );
}

/// A push whose TCP connection is killed in the middle (no MSRP or SIP
/// goodbye: both ends see a reset) is resumed in a new session with
/// RFC 5547's `a=file-range` from the byte after those the receiver
/// confirmed by success REPORT; the receiver appends to what its part
/// file kept, and the whole file's SHA-1 is the file-selector's.
#[tokio::test]
async fn a_transfer_whose_connection_is_killed_resumes_with_file_range() {
    let mut p = peers("tcp").await;
    let len = 20 << 20;
    let BigPush {
        _outbox,
        file,
        selector,
        ours: first,
        caller: _caller,
        theirs,
    } = big_push(&mut p, "killed.bin", 77).await;
    confirmed(&mut p.alice_all, 2 << 20).await;
    // Alice offered and listens: bob's connection goes to her port.
    let port = first.base().local_uri().unwrap().port.unwrap();
    kill_connections_to(port);
    let alice_err = finished(&mut p.alice_all).await;
    assert!(alice_err.is_some(), "the cut push must not finish well");
    let bob_err = finished(&mut p.bob_all).await;
    assert!(bob_err.is_some(), "the cut transfer must not finish well");
    assert_ne!(bob_err.as_deref(), Some(SENDER_ABORTED), "a cut is no `#`");
    // The stream failed: its session (with no other stream) ends.
    until(&mut p.alice_all, "SIPSessionDidEnd").await;
    until(&mut p.bob_all, "SIPSessionDidEnd").await;
    let confirmed = first.progress().transferred_bytes;
    assert!(
        confirmed >= 2 << 20 && confirmed < len as u64,
        "{confirmed}"
    );
    assert!(theirs.progress().saved_to.is_none());
    assert!(!p.inbox.0.join("killed.bin").exists());
    // What bob kept for a resumption: at least what he confirmed.
    let part: Vec<_> = std::fs::read_dir(&p.inbox.0)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(part.len(), 1, "{part:?}");
    assert!(std::fs::metadata(&part[0]).unwrap().len() >= confirmed);

    resume_push(&mut p, &selector, &file, confirmed).await;
}

/// A new push of `file` from the byte after `confirmed` (`a=file-range`)
/// completes where bob kept the first bytes: the whole file's SHA-1 is
/// the selector's.
async fn resume_push(p: &mut Peers, selector: &FileSelector, file: &Path, confirmed: u64) {
    let range = FileRange {
        start: confirmed + 1,
        stop: None,
    };
    let again = Arc::new(FileTransferStream::new_outgoing(
        &settings(&p.alice),
        selector.clone(),
        file.to_owned(),
        Some(range),
    ));
    let (caller, _callee, theirs) = offer(p, again.clone(), |s| {
        assert_eq!(s.file_range(), Some(range));
    })
    .await;
    assert_eq!(finished(&mut p.bob_all).await, None);
    assert_eq!(finished(&mut p.alice_all).await, None);
    let saved = theirs.progress().saved_to.unwrap();
    assert_eq!(saved, p.inbox.0.join(file.file_name().unwrap()));
    let sha1: Vec<u8> = {
        use sha1::Digest as _;
        sha1::Sha1::digest(std::fs::read(&saved).unwrap()).to_vec()
    };
    assert_eq!(Some(sha1), selector.hash.clone().map(|h| h.digest));
    assert_eq!(sha256(&saved), sha256(file));
    assert_eq!(again.progress().transferred_bytes, selector.size.unwrap());
    caller.end().await.unwrap();
}

/// A push given up half-way by its sender (its stream deactivated and
/// ended, as a session does when it removes it) ends with `#` (RFC 4975
/// §7.1): bob reports the transfer as cancelled by the sender, not as a
/// cut connection, keeps the part file as after a cut (RFC 5547 §9: for
/// a resumption), and the push resumed from it completes. The stream is
/// ended without the session's signalling so that nothing races the `#`
/// (a BYE could reach bob before the bytes queued ahead of it).
#[tokio::test]
async fn a_push_given_up_by_its_sender_is_reported_as_cancelled_and_resumes() {
    let mut p = peers("tcp").await;
    let BigPush {
        _outbox,
        file,
        selector,
        ours: first,
        caller,
        theirs,
    } = big_push(&mut p, "given-up.bin", 78).await;
    confirmed(&mut p.alice_all, 1 << 20).await;
    first.deactivate();
    first.end();
    assert_eq!(
        finished(&mut p.bob_all).await.as_deref(),
        Some(SENDER_ABORTED)
    );
    assert!(finished(&mut p.alice_all).await.is_some());
    assert!(theirs.progress().saved_to.is_none());
    let kept = received_part(&p.inbox.0, &selector).expect("the part file stays");
    assert!(kept >= first.progress().transferred_bytes, "{kept}");
    caller.end().await.unwrap();
    until(&mut p.alice_all, "SIPSessionDidEnd").await;
    until(&mut p.bob_all, "SIPSessionDidEnd").await;
    resume_push(&mut p, &selector, &file, kept).await;
}

/// A pull (RFC 5547 `recvonly`) whose TCP connection is killed in the
/// middle is resumed by the puller from what its part file kept
/// (`received_part`): a new pull with `a=file-range` from the next
/// byte, served from there; the whole file's SHA-1 is the selector's.
#[tokio::test]
async fn a_killed_pull_resumes_from_the_part_file() {
    let mut p = peers("tcp").await;
    let outbox = TempDir::new("ft-outbox");
    let len = 20 << 20;
    let file = random_file(&outbox.0, "wanted.bin", len, 31);
    let selector = file_selector_for(&file, None, true).await.unwrap();
    let want = FileSelector {
        name: selector.name.clone(),
        size: selector.size,
        hash: selector.hash.clone(),
        ..FileSelector::default()
    };
    // Roles swapped: alice pulls into her own directory, bob serves.
    let pulled = TempDir::new("ft-pulled");
    let first = Arc::new(FileTransferStream::new_pull(
        &settings(&p.alice),
        want.clone(),
        None,
    ));
    first.set_directory(pulled.0.clone());
    let source = file.clone();
    let (_caller, _callee, _theirs) = offer(&mut p, first.clone(), |s| s.set_file(source)).await;
    loop {
        let n = until(&mut p.alice_all, "FileTransferStreamGotChunk").await;
        if let NotificationData::FileTransferStreamGotChunk {
            transferred_bytes, ..
        } = n.last().unwrap().data
        {
            if transferred_bytes >= 2 << 20 {
                break;
            }
        }
    }
    // Alice offered and listens: bob's connection goes to her port.
    kill_connections_to(first.base().local_uri().unwrap().port.unwrap());
    assert!(finished(&mut p.alice_all).await.is_some());
    assert!(finished(&mut p.bob_all).await.is_some());
    until(&mut p.alice_all, "SIPSessionDidEnd").await;
    until(&mut p.bob_all, "SIPSessionDidEnd").await;
    let kept = received_part(&pulled.0, &first.file_selector()).expect("a part file");
    assert!(kept >= 2 << 20 && kept < len as u64, "{kept}");

    let range = FileRange {
        start: kept + 1,
        stop: None,
    };
    let again = Arc::new(FileTransferStream::new_pull(
        &settings(&p.alice),
        want,
        Some(range),
    ));
    again.set_directory(pulled.0.clone());
    let source = file.clone();
    let (caller, _callee, theirs) = offer(&mut p, again.clone(), |s| {
        assert_eq!(s.file_range(), Some(range));
        s.set_file(source);
    })
    .await;
    let seen = until(&mut p.alice_all, "FileTransferStreamDidFinish").await;
    assert!(matches!(
        seen.last().unwrap().data,
        NotificationData::FileTransferStreamDidFinish { error: None }
    ));
    assert_eq!(finished(&mut p.bob_all).await, None);
    // Only the rest came: the first bytes stored follow those kept.
    let stored = seen.iter().filter_map(|n| match &n.data {
        NotificationData::FileTransferStreamGotChunk {
            transferred_bytes, ..
        } => Some(*transferred_bytes),
        _ => None,
    });
    assert!(stored.min().is_some_and(|b| b > kept));
    let saved = again.progress().saved_to.unwrap();
    assert_eq!(saved, pulled.0.join("wanted.bin"));
    let sha1: Vec<u8> = {
        use sha1::Digest as _;
        sha1::Sha1::digest(std::fs::read(&saved).unwrap()).to_vec()
    };
    assert_eq!(Some(sha1), selector.hash.map(|h| h.digest));
    assert_eq!(theirs.progress().transferred_bytes, len as u64);
    assert_eq!(received_part(&pulled.0, &again.file_selector()), None);
    caller.end().await.unwrap();
}

/// Offers modelled on RFC 5547 §9.1 (push: the sender describes the
/// file, with disposition, date, icon and range) and §9.3 (pull: the
/// receiver names the file by type and hash only), as a peer would send
/// them: the stream type takes each with the direction, selector,
/// transfer id and attributes the SDP says.
#[tokio::test]
async fn the_rfc5547_example_offers_make_the_streams_they_describe() {
    use sipsimple::streams::msrp::FileTransferStreamType;
    use sipsimple::streams::MediaStreamType;
    let p = peers("tcp").await;
    let settings = settings(&p.bob);
    let read = |name: &str| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/rfc5547")
            .join(name);
        sdp::SessionDescription::parse(&std::fs::read(path).unwrap()).unwrap()
    };
    let made = |sdp: &sdp::SessionDescription| {
        let settings = settings.clone();
        let sdp = sdp.clone();
        async move {
            let s = FileTransferStreamType
                .new_from_sdp(&settings, &sdp, 0)
                .await
                .expect("a file transfer stream");
            let f = s.downcast::<FileTransferStream>().unwrap();
            (
                f.direction(),
                f.file_selector(),
                f.transfer_id().to_owned(),
                f.file_attributes(),
                f.file_range(),
            )
        }
    };
    let (direction, selector, id, attrs, range) = made(&read("push_offer.sdp")).await;
    assert_eq!(direction, TransferDirection::Receive);
    assert_eq!(selector.name.as_deref(), Some("My cool picture.jpg"));
    assert_eq!(selector.content_type.as_deref(), Some("image/jpeg"));
    assert_eq!(selector.size, Some(32349));
    assert_eq!(selector.hash.as_ref().map(|h| h.digest.len()), Some(20));
    assert_eq!(id, "vBnG916bdberum2fFEABR1FR3ExZMUrd");
    assert_eq!(attrs.disposition.as_deref(), Some("render"));
    assert_eq!(
        attrs.date.as_deref(),
        Some("creation:\"Mon, 15 May 2006 15:01:31 +0300\"")
    );
    assert_eq!(attrs.icon.as_deref(), Some("cid:id2@alicepc.example.com"));
    assert_eq!(
        range,
        Some(sdp::FileRange {
            start: 1,
            stop: Some(32349)
        })
    );

    let (direction, selector, id, _, range) = made(&read("pull_offer.sdp")).await;
    assert_eq!(direction, TransferDirection::Send);
    assert_eq!(selector.name, None);
    assert_eq!(selector.size, None);
    assert_eq!(selector.content_type.as_deref(), Some("image/jpeg"));
    assert_eq!(id, "aCQYuBRVoUPGVsFZkCK98vzcX2FXDIk2");
    assert_eq!(range, None);
}
