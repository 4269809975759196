//! What the file-transfer tests share: alice and bob (bob with a
//! download directory of his own), alice's offer taken by bob, and files
//! of random bytes compared by SHA-256.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::common::{account_app_with, contact_uri, incoming_session, until, TempDir};
use sha2::{Digest, Sha256};
use sipsimple::application::SipApplication;
use sipsimple::notification::{Filter, NotificationData, Subscription};
use sipsimple::session::Session;
use sipsimple::streams::msrp::FileTransferStream;
use sipsimple::streams::MediaStream;

pub struct Peers {
    pub alice: SipApplication,
    pub bob: SipApplication,
    pub alice_all: Subscription,
    pub bob_all: Subscription,
    /// Bob's download directory.
    pub inbox: TempDir,
}

pub async fn peers(transport: &str) -> Peers {
    let account = format!("msrp.transport = \"{transport}\"\n");
    peers_with(&account, &account).await
}

/// Alice's and bob's account settings as given.
pub async fn peers_with(alice_account: &str, bob_account: &str) -> Peers {
    let inbox = TempDir::new("ft-inbox");
    let dir = inbox.0.display().to_string();
    let alice = account_app_with("alice", "", alice_account).await;
    let bob = account_app_with(
        "bob",
        &format!("[file_transfer]\ndirectory = \"{dir}\"\n"),
        bob_account,
    )
    .await;
    let alice_all = alice.notification_center().subscribe(Filter::all());
    let bob_all = bob.notification_center().subscribe(Filter::all());
    Peers {
        alice,
        bob,
        alice_all,
        bob_all,
        inbox,
    }
}

/// Alice offers `stream`; bob accepts the file-transfer stream the
/// registry made for it (after `prepare`), and both sessions start.
pub async fn offer(
    p: &mut Peers,
    stream: Arc<FileTransferStream>,
    prepare: impl FnOnce(&FileTransferStream),
) -> (Session, Session, Arc<FileTransferStream>) {
    let account = p.alice.account_manager().accounts().remove(0);
    let caller = p
        .alice
        .session_manager()
        .connect(
            &account,
            &contact_uri(&p.bob),
            vec![stream as Arc<dyn MediaStream>],
        )
        .await
        .unwrap();
    let callee = incoming_session(&p.bob, &mut p.bob_all).await;
    let proposed = callee.proposed_streams().unwrap();
    assert_eq!(
        proposed.iter().map(|s| s.stream_type()).collect::<Vec<_>>(),
        ["file-transfer"]
    );
    let theirs = proposed[0]
        .clone()
        .downcast::<FileTransferStream>()
        .unwrap();
    prepare(&theirs);
    callee.accept(proposed).await.unwrap();
    (caller, callee, theirs)
}

pub fn settings(app: &SipApplication) -> sipsimple::streams::StreamSettings {
    let account = app.account_manager().accounts().remove(0);
    app.session_manager()
        .stream_settings(account, "127.0.0.1".parse().unwrap())
        .unwrap()
}

/// The error of the next FileTransferStreamDidFinish.
pub async fn finished(sub: &mut Subscription) -> Option<String> {
    match until(sub, "FileTransferStreamDidFinish")
        .await
        .pop()
        .unwrap()
        .data
    {
        NotificationData::FileTransferStreamDidFinish { error } => error,
        other => panic!("{other:?}"),
    }
}

/// The sender's FileTransferStreamDidFinish alone, on a queue of its own
/// that nothing else fills: awaited before the sender's every-notification
/// subscription is read, it makes that read happen only after the
/// sender finished, while everything it posted during the transfer still
/// waits unread (12800 DidDeliverChunk for 100 MB through a relay, more
/// than an observer's queue holds). Without it the test raced its own
/// reading against the last REPORT's way through the relay (issue 15).
pub fn sender_finish(app: &SipApplication) -> Subscription {
    app.notification_center()
        .subscribe(Filter::name("FileTransferStreamDidFinish"))
}

pub fn random_file(dir: &Path, name: &str, len: usize, seed: u64) -> PathBuf {
    let mut x = seed | 1;
    let mut data = Vec::with_capacity(len);
    while data.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.extend_from_slice(&x.to_le_bytes());
    }
    data.truncate(len);
    let path = dir.join(name);
    std::fs::write(&path, &data).unwrap();
    path
}

pub fn sha256(path: &Path) -> Vec<u8> {
    Sha256::digest(std::fs::read(path).unwrap()).to_vec()
}
