//! ChatStream as a MediaStream (the session drives it through these), and
//! the registry's chat type, which makes a ChatStream for an offered
//! `m=message` line a chat can take.

use crate::sync::lock;
use std::sync::Arc;

use sdp::{Media, SessionDescription};

use super::base::{type_accepted, RemoteMedia};
use super::chat::{chat_accept_types, ChatStream, DeliveryState, CPIM};
use super::chatroom::chatroom_of;
use crate::streams::interface::{
    BoxFuture, MediaStream, MediaStreamType, StreamContext, StreamDirection, StreamError,
};
use crate::streams::settings::StreamSettings;

impl MediaStream for ChatStream {
    fn stream_type(&self) -> &'static str {
        "chat"
    }

    fn get_local_media(
        &self,
        remote: Option<(&SessionDescription, usize)>,
    ) -> Result<Media, StreamError> {
        let mut m = self.inner.base.get_local_media()?;
        m.set_direction(self.inner.base.sdp_direction(remote));
        let caps = lock(&self.inner.chat).local_chatroom.clone();
        super::chatroom::add_chatroom_attribute(&mut m, &caps);
        Ok(m)
    }

    fn initialize(
        &self,
        context: StreamContext,
        direction: StreamDirection,
    ) -> BoxFuture<'_, Result<(), StreamError>> {
        Box::pin(async move {
            self.inner.base.initialize(context, direction).await?;
            self.send_early();
            Ok(())
        })
    }

    fn start(
        &self,
        local: &SessionDescription,
        remote: &SessionDescription,
        index: usize,
    ) -> Result<(), StreamError> {
        if let Ok(r) = RemoteMedia::from_sdp(remote, index) {
            lock(&self.inner.chat).remote_chatroom = Some(chatroom_of(&r));
        }
        self.negotiate_direction(local, remote, index);
        let weak = Arc::downgrade(&self.inner);
        self.inner.base.start(
            remote,
            index,
            Arc::new(move |ev| {
                if let Some(me) = weak.upgrade() {
                    me.on_event(ev);
                }
            }),
        )
    }

    fn validate_update(&self, remote: &SessionDescription, index: usize) -> bool {
        // The path stays but for the peer's relay renewing its binding.
        let Ok(new) = RemoteMedia::from_sdp(remote, index) else {
            return false;
        };
        self.inner.base.path_update_allowed(&new)
    }

    fn update(
        &self,
        local: &SessionDescription,
        remote: &SessionDescription,
        index: usize,
    ) -> Result<(), StreamError> {
        // A room may change what it offers in a re-INVITE.
        if let Ok(r) = RemoteMedia::from_sdp(remote, index) {
            lock(&self.inner.chat).remote_chatroom = Some(chatroom_of(&r));
        }
        self.negotiate_direction(local, remote, index);
        self.inner.base.update_remote(remote, index)
    }

    fn deactivate(&self) {
        self.inner.base.deactivate();
    }

    fn end(&self) {
        let (never_sent, nicknames) = {
            let mut c = lock(&self.inner.chat);
            let nicknames = std::mem::take(&mut c.nicknames);
            if let Some(t) = c.composing_timer.take() {
                t.abort();
            }
            c.early.clear();
            let never_sent: Vec<String> = c
                .order
                .iter()
                .filter(|id| c.delivery.get(*id) == Some(&DeliveryState::Pending))
                .cloned()
                .collect();
            (never_sent, nicknames)
        };
        // A NICKNAME unanswered when the stream ends never will be.
        for (id, nickname) in nicknames {
            let reason = Some("the stream ended before the focus answered".to_owned());
            self.inner.post_nickname_result(id, nickname, 0, reason);
        }
        // Messages not written when the stream ends will never be; those
        // written but without a report stay `Sent`: they may have arrived.
        for id in never_sent {
            self.inner
                .not_delivered(&id, 0, "the stream ended before the message was sent");
        }
        self.inner.base.end();
    }
}

impl ChatStream {
    /// Takes the negotiated direction; messages still waiting for the
    /// connection that it no longer lets go are not delivered.
    fn negotiate_direction(
        &self,
        local: &SessionDescription,
        remote: &SessionDescription,
        index: usize,
    ) {
        let dropped = self.inner.base.negotiate(local, remote, index);
        let now = self.inner.base.direction();
        for id in dropped {
            let reason = format!(
                "the stream's direction became {}: the message cannot be sent",
                now.as_str()
            );
            self.inner.not_delivered(&id, 0, &reason);
        }
    }
}

/// The registry's chat type: takes `m=message` over TCP/MSRP or
/// TCP/TLS/MSRP whose accept-types include something a chat takes, and
/// no file selector (that is a file transfer).
#[derive(Debug, Default)]
pub struct ChatStreamType;

impl MediaStreamType for ChatStreamType {
    fn type_name(&self) -> &'static str {
        "chat"
    }

    fn priority(&self) -> i32 {
        5
    }

    fn new_from_sdp<'a>(
        &'a self,
        settings: &'a StreamSettings,
        remote: &'a SessionDescription,
        index: usize,
    ) -> BoxFuture<'a, Option<Arc<dyn MediaStream>>> {
        Box::pin(async move {
            let m = remote.media.get(index)?;
            if !super::base::is_offered_msrp(m, "message") || m.file_selector().is_some() {
                return None;
            }
            let offer = RemoteMedia::from_sdp(remote, index).ok()?;
            let ours = chat_accept_types();
            let takes = offer
                .accept_types
                .iter()
                .any(|t| t == "*" || type_accepted(&ours, t) || t.eq_ignore_ascii_case(CPIM));
            if !takes {
                return None;
            }
            Some(Arc::new(ChatStream::with_offer(settings, Some(offer))) as Arc<dyn MediaStream>)
        })
    }
}
