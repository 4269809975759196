//! FileTransferStream as a MediaStream, and the registry's file-transfer
//! type: it takes an offered `m=message` with a `file-selector`, pushed
//! to us (`sendonly`: we receive) or asked of us (`recvonly`: a pull,
//! for which the application names the file with `set_file`).

use crate::sync::lock;
use std::sync::Arc;

use sdp::{Attribute, Direction, FileRange, FileSelector, Media, SessionDescription};

use super::base::RemoteMedia;
use super::file_attributes::FileAttributes;
use super::file_transfer::{FileTransferStream, TransferDirection};
use crate::streams::interface::{
    BoxFuture, MediaStream, MediaStreamType, StreamContext, StreamDirection, StreamError,
};
use crate::streams::settings::StreamSettings;

impl MediaStream for FileTransferStream {
    fn stream_type(&self) -> &'static str {
        "file-transfer"
    }

    fn get_local_media(
        &self,
        _remote: Option<(&SessionDescription, usize)>,
    ) -> Result<Media, StreamError> {
        let inner = &self.inner;
        let mut m = inner.base.get_local_media()?;
        m.set_direction(match inner.direction {
            TransferDirection::Send => Direction::SendOnly,
            TransferDirection::Receive => Direction::RecvOnly,
        });
        m.attributes.push(Attribute::new(
            "file-selector",
            self.file_selector().sdp_repr(),
        ));
        m.attributes.push(Attribute::new(
            "file-transfer-id",
            inner.transfer_id.clone(),
        ));
        if let Some(r) = inner.range {
            m.attributes
                .push(Attribute::new("file-range", r.to_value()));
        }
        // Said by the side that has the file.
        if inner.direction == TransferDirection::Send {
            lock(&inner.attributes).to_sdp(&mut m);
        }
        Ok(m)
    }

    fn initialize(
        &self,
        context: StreamContext,
        direction: StreamDirection,
    ) -> BoxFuture<'_, Result<(), StreamError>> {
        Box::pin(async move { self.inner.base.initialize(context, direction).await })
    }

    fn start(
        &self,
        local: &SessionDescription,
        remote: &SessionDescription,
        index: usize,
    ) -> Result<(), StreamError> {
        // A transfer sends through its connection, not the base's queue:
        // nothing waits there to be dropped. The direction keeps the side
        // that sends the file from taking content (RFC 5547 §8).
        let _ = self.inner.base.negotiate(local, remote, index);
        if let Some(theirs) = remote
            .media
            .get(index)
            .and_then(Media::file_selector)
            .and_then(|f| FileSelector::parse(f).ok())
        {
            self.learn_from_answer(&theirs);
        }
        self.before_start();
        let weak = Arc::downgrade(&self.inner);
        self.inner.base.start(
            remote,
            index,
            Arc::new(move |ev| {
                if let Some(inner) = weak.upgrade() {
                    FileTransferStream { inner }.on_event(ev);
                }
            }),
        )?;
        self.on_started();
        Ok(())
    }

    fn validate_update(&self, remote: &SessionDescription, index: usize) -> bool {
        // Neither the path nor the file may change under a transfer.
        let Ok(new) = RemoteMedia::from_sdp(remote, index) else {
            return false;
        };
        let same_file = remote
            .media
            .get(index)
            .and_then(Media::file_selector)
            .and_then(|f| FileSelector::parse(f).ok())
            .is_some_and(|f| {
                let ours = self.file_selector();
                f.size == ours.size && f.hash == ours.hash
            });
        same_file && self.inner.base.path_update_allowed(&new)
    }

    fn update(
        &self,
        local: &SessionDescription,
        remote: &SessionDescription,
        index: usize,
    ) -> Result<(), StreamError> {
        let _ = self.inner.base.negotiate(local, remote, index);
        self.inner.base.update_remote(remote, index)
    }

    fn deactivate(&self) {
        self.inner.cancel_push();
        self.inner.base.deactivate();
    }

    fn end(&self) {
        self.inner.end();
    }
}

/// The registry's file-transfer type.
#[derive(Debug, Default)]
pub struct FileTransferStreamType;

impl MediaStreamType for FileTransferStreamType {
    fn type_name(&self) -> &'static str {
        "file-transfer"
    }

    fn priority(&self) -> i32 {
        6
    }

    fn new_from_sdp<'a>(
        &'a self,
        settings: &'a StreamSettings,
        remote: &'a SessionDescription,
        index: usize,
    ) -> BoxFuture<'a, Option<Arc<dyn MediaStream>>> {
        Box::pin(async move {
            let m = remote.media.get(index)?;
            if !super::base::is_offered_msrp(m, "message") {
                return None;
            }
            // A selector we cannot read, or without a size, is no file we
            // can take (RFC 5547 lets size out; a receiver cannot check
            // or store what it cannot bound).
            let selector = FileSelector::parse(m.file_selector()?).ok()?;
            let direction = match remote.direction(index) {
                Direction::SendOnly => TransferDirection::Receive,
                Direction::RecvOnly => TransferDirection::Send,
                _ => return None,
            };
            // A file pushed to us must say its size: a receiver cannot
            // check or bound what it does not know (a pull names the
            // file; its size is ours to tell).
            if direction == TransferDirection::Receive {
                selector.size?;
            }
            let range = match m.attribute("file-range") {
                Some(r) => Some(FileRange::parse(r).ok()?),
                None => None,
            };
            let transfer_id = m.attribute("file-transfer-id").map(str::to_owned);
            let offer = RemoteMedia::from_sdp(remote, index).ok()?;
            let stream = FileTransferStream::make(
                settings,
                direction,
                selector,
                None,
                range,
                transfer_id,
                Some(offer),
            );
            *lock(&stream.inner.attributes) = FileAttributes::from_sdp(m);
            Some(Arc::new(stream) as Arc<dyn MediaStream>)
        })
    }
}
