//! The receiving side's disk thread: a transfer's chunks stored into its
//! part file in the order the connection read them, the whole file's
//! SHA-1 checked, and the REPORTs each stored chunk earns.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc, Weak};

use bytes::Bytes;
use msrp_proto::headers::ByteRange;
use msrp_proto::Flag;

use super::super::file_store::{part_path, safe_file_name, PartFile, WriteFailure};
use super::{Inner, SENDER_ABORTED};
use crate::msrp::MsrpConnection;
use crate::notification::NotificationData;
use crate::sync::lock;

pub(super) enum DiskWork {
    Connected(Arc<MsrpConnection>),
    Data {
        offset: u64,
        data: Bytes,
    },
    ChunkEnd {
        message_id: String,
        range: ByteRange,
        flag: Flag,
        success_report: bool,
    },
    Closed,
}

/// The receiving side's disk work, in the order the connection read it.
pub(super) fn disk_thread(
    inner: Weak<Inner>,
    rx: mpsc::Receiver<DiskWork>,
    dir: PathBuf,
    keep: u64,
    rt: tokio::runtime::Handle,
) {
    let Some(me) = inner.upgrade() else { return };
    let selector = lock(&me.selector).clone();
    let size = selector.size.unwrap_or(0);
    let name = safe_file_name(selector.name.as_deref());
    let want_hash = selector
        .hash
        .as_ref()
        .filter(|h| h.algorithm == "sha-1")
        .map(|h| h.digest.clone());
    let content_type = selector
        .content_type
        .clone()
        .unwrap_or_else(|| "application/octet-stream".into());
    let gate = me.gate.clone();
    drop(me);
    let opened = std::fs::create_dir_all(&dir)
        .map_err(|e| format!("cannot make {}: {e}", dir.display()))
        .and_then(|_| PartFile::open(part_path(&dir, &name, want_hash.as_deref()), size, keep));
    let mut part = match opened {
        Ok(p) => Some(p),
        Err(e) => {
            if let Some(me) = inner.upgrade() {
                me.fail(&e);
            }
            None
        }
    };
    let mut conn: Option<Arc<MsrpConnection>> = None;
    // REPORTs owed before the connection was known.
    let mut owed: Vec<(String, ByteRange, u16, String)> = Vec::new();
    let mut failed = part.is_none();
    // A write that failed (a full disk): the peer is told by a failure
    // REPORT of the chunk it was in, then the transfer fails.
    let mut unstored: Option<WriteFailure> = None;
    // A failure waiting for its REPORT to go out: the peer may hang up
    // meanwhile, and the close must not be taken for the reason.
    let mut failing: Option<String> = None;
    while let Ok(work) = rx.recv() {
        match work {
            DiskWork::Connected(c) => {
                for (m, r, code, reason) in owed.drain(..) {
                    c.report(&m, r, code, &reason);
                }
                conn = Some(c);
            }
            DiskWork::Data { offset, data } => {
                let n = data.len() as u64;
                if let (Some(p), false) = (part.as_mut(), failed) {
                    match p.write_at(offset, &data) {
                        Ok(()) => {
                            if let Some(me) = inner.upgrade() {
                                let transferred = p.contiguous();
                                lock(&me.progress).transferred_bytes = transferred;
                                me.post(NotificationData::FileTransferStreamGotChunk {
                                    content: data,
                                    content_type: content_type.clone(),
                                    transferred_bytes: transferred,
                                    file_size: size,
                                });
                            }
                        }
                        Err(e) => {
                            failed = true;
                            unstored = Some(e);
                        }
                    }
                }
                gate.release(n);
            }
            DiskWork::ChunkEnd {
                message_id,
                range,
                flag,
                success_report,
            } => {
                if let Some(w) = unstored.take() {
                    // 413: stop sending this message (RFC 4975 §7.2).
                    match &conn {
                        Some(c) => c.report(&message_id, range, 413, &w.for_peer),
                        None => owed.push((message_id, range, 413, w.for_peer)),
                    }
                    if let Some(me) = inner.upgrade() {
                        failing = Some(w.reason.clone());
                        fail_after_reports(me, conn.clone(), &rt, w.reason);
                    }
                    continue;
                }
                if flag == Flag::Aborted {
                    // The sender gave the file up (RFC 4975 §7.1): no
                    // REPORT, and the part file stays as after a cut,
                    // for a transfer resumed later.
                    if let (false, Some(me)) = (failed, inner.upgrade()) {
                        me.finish(Some(SENDER_ABORTED.into()));
                    }
                    continue;
                }
                if failed {
                    continue;
                }
                let Some(p) = part.as_mut() else { continue };
                let mut report = success_report.then(|| (200u16, "OK".to_owned()));
                let mut done = None;
                if p.is_complete() {
                    let verdict = match (&want_hash, p.sha1()) {
                        (_, Err(e)) => Err(format!("cannot hash {}: {e}", p.path().display())),
                        (Some(want), Ok(got)) if *want != got => {
                            Err("the received file's SHA-1 does not match the file-selector".into())
                        }
                        _ => Ok(()),
                    };
                    match verdict {
                        Ok(()) => done = part.take().map(|p| p.finish(&dir, &name)),
                        Err(e) => {
                            if let Some(p) = part.take() {
                                let _ = std::fs::remove_file(p.path());
                            }
                            done = Some(Err(e));
                        }
                    }
                    if let Some(Err(e)) = &done {
                        report = Some((400, e.clone()));
                        failed = true;
                    }
                }
                if let Some((code, reason)) = report {
                    match &conn {
                        Some(c) => c.report(&message_id, range, code, &reason),
                        None => owed.push((message_id, range, code, reason)),
                    }
                }
                if let (Some(result), Some(me)) = (done, inner.upgrade()) {
                    match result {
                        Ok(path) => {
                            {
                                let mut pr = lock(&me.progress);
                                pr.saved_to = Some(path);
                                pr.transferred_bytes = size;
                            }
                            me.finish(None);
                        }
                        Err(e) => {
                            failing = Some(e.clone());
                            fail_after_reports(me, conn.clone(), &rt, e);
                        }
                    }
                }
            }
            DiskWork::Closed => {
                if let Some(me) = inner.upgrade() {
                    if let Some(reason) = unstored.take().map(|w| w.reason).or(failing.take()) {
                        me.fail(&reason);
                    } else if !me.finished.load(Ordering::SeqCst) {
                        // The part file stays for a resumed transfer.
                        me.finish(Some(
                            "the connection closed before the whole file came".into(),
                        ));
                    }
                }
                break;
            }
        }
    }
    // Whatever was held for the disk is not any more.
    gate.release(u64::MAX);
}

/// Fails the transfer once the failure REPORTs queued on `conn` went
/// out (the close would lose them), or at once without a connection.
fn fail_after_reports(
    me: Arc<Inner>,
    conn: Option<Arc<MsrpConnection>>,
    rt: &tokio::runtime::Handle,
    reason: String,
) {
    match conn {
        Some(c) => {
            rt.spawn(async move {
                c.drain(std::time::Duration::from_secs(2)).await;
                me.fail(&reason);
            });
        }
        None => me.fail(&reason),
    }
}
