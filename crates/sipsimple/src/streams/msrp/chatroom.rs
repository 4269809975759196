//! Multi-party chat, RFC 7701, on ChatStream: both ends of it.
//!
//! A chat room is a SIP UA (the focus) that every participant has a chat
//! session with; it relays each participant's messages to the others
//! with the CPIM `From` of the sender. The focus says what it supports in
//! its SDP, `a=chatroom:nickname private-messages` (§6); the participant
//! reads that ([`ChatStream::chatroom_capabilities`]) and then may ask
//! for a nickname with an MSRP NICKNAME request (§7.1,
//! [`ChatStream::set_local_nickname`]) and send a message to one
//! participant alone by naming them in the CPIM `To` (§8). The focus
//! side is here too: [`ChatStream::set_chatroom_capabilities`] puts the
//! attribute in our SDP and hands participants' NICKNAMEs to the
//! application (`ChatStreamGotNicknameRequest`), which keeps the room's
//! nickname table and answers with [`ChatStream::accept_nickname`] or
//! [`ChatStream::reject_nickname`] (425 when the nickname is taken).
//!
//! Not here: the focus's `isfocus` Contact parameter and the
//! conference-event package of RFC 7701 §5 (the SDK's conference part).

use crate::sync::lock;
use msrp_proto::session::NICKNAME_STATUSES;
use sdp::{Attribute, Media};

use super::base::{type_accepted, RemoteMedia};
use super::chat::{identity, ChatInner, ChatMessage, ChatStream, ChatStreamError};
use super::chat::{MessageOptions, CPIM};
use crate::notification::NotificationData;

/// The `a=chatroom` token for nicknames (RFC 7701 §6).
const NICKNAME: &str = "nickname";
/// The `a=chatroom` token for private messages (RFC 7701 §6).
const PRIVATE_MESSAGES: &str = "private-messages";

impl ChatStream {
    /// What the peer's chat room supports (`a=chatroom` tokens, e.g.
    /// `nickname`, `private-messages`); empty when the peer is no chat
    /// room. RFC 7701 rooms speak CPIM: a peer without it is none.
    pub fn chatroom_capabilities(&self) -> Vec<String> {
        self.inner.remote_chatroom()
    }

    /// Whether the peer's chat room takes nicknames.
    pub fn nickname_allowed(&self) -> bool {
        self.chatroom_capabilities().iter().any(|c| c == NICKNAME)
    }

    /// Whether the peer's chat room relays private messages.
    pub fn private_messages_allowed(&self) -> bool {
        self.chatroom_capabilities()
            .iter()
            .any(|c| c == PRIVATE_MESSAGES)
    }

    /// Asks the chat room for `nickname` (RFC 7701 NICKNAME); returns the
    /// id that `ChatStreamDidSetNickname` or `ChatStreamDidNotSetNickname`
    /// will carry. Refused when the peer is no chat room taking nicknames.
    pub fn set_local_nickname(&self, nickname: &str) -> Result<String, ChatStreamError> {
        if self.inner.base.is_ended() {
            return Err(ChatStreamError::Ended);
        }
        if !self.nickname_allowed() {
            return Err(ChatStreamError::NicknameNotSupported);
        }
        let conn = self
            .inner
            .base
            .current_connection()
            .ok_or(ChatStreamError::NotConnected)?;
        if conn.is_closed() {
            return Err(ChatStreamError::Ended);
        }
        let tid = conn
            .set_nickname(nickname)
            .map_err(ChatStreamError::InvalidNickname)?;
        let early = {
            let mut c = lock(&self.inner.chat);
            let early = c.nickname_results.remove(&tid);
            if early.is_none() {
                c.nicknames.insert(tid.clone(), nickname.to_owned());
            }
            early
        };
        if let Some((status, comment)) = early {
            self.inner
                .post_nickname_result(tid.clone(), nickname.to_owned(), status, comment);
        }
        Ok(tid)
    }

    /// Makes this stream a chat room's focus side offering `capabilities`
    /// (`nickname`, `private-messages`) in `a=chatroom`. Call it before
    /// the SDP is made (before `accept` or `connect`): with `nickname`,
    /// participants' NICKNAMEs come as `ChatStreamGotNicknameRequest`.
    pub fn set_chatroom_capabilities(&self, capabilities: &[&str]) {
        let caps: Vec<String> = capabilities
            .iter()
            .flat_map(|c| c.split_ascii_whitespace())
            .map(str::to_owned)
            .collect();
        self.inner
            .base
            .set_nickname_requests(caps.iter().any(|c| c == NICKNAME));
        lock(&self.inner.chat).local_chatroom = caps;
    }

    /// What we offer as a chat room (empty: we are no chat room).
    pub fn local_chatroom_capabilities(&self) -> Vec<String> {
        lock(&self.inner.chat).local_chatroom.clone()
    }

    /// Grants the nickname of request `transaction_id` (200).
    pub fn accept_nickname(&self, transaction_id: &str) -> Result<(), ChatStreamError> {
        self.answer_nickname(transaction_id, 200, "OK")
    }

    /// Refuses the nickname of request `transaction_id` with one of the
    /// codes RFC 7701 gives: 425 reserved or already in use, 424
    /// malformed, 403 not allowed.
    pub fn reject_nickname(
        &self,
        transaction_id: &str,
        code: u16,
        reason: &str,
    ) -> Result<(), ChatStreamError> {
        if code == 200 || !NICKNAME_STATUSES.contains(&code) {
            return Err(ChatStreamError::InvalidNicknameStatus(code));
        }
        self.answer_nickname(transaction_id, code, reason)
    }

    fn answer_nickname(&self, tid: &str, code: u16, reason: &str) -> Result<(), ChatStreamError> {
        let conn = self
            .inner
            .base
            .current_connection()
            .ok_or(ChatStreamError::Ended)?;
        if conn.answer_nickname(tid, code, reason) {
            Ok(())
        } else {
            Err(ChatStreamError::UnknownNicknameRequest(tid.to_owned()))
        }
    }
}

/// Our `a=chatroom` when we are a chat room.
pub(super) fn add_chatroom_attribute(m: &mut Media, capabilities: &[String]) {
    if !capabilities.is_empty() {
        m.attributes
            .push(Attribute::new("chatroom", capabilities.join(" ")));
    }
}

/// The chat room tokens of the peer's m-line: none without CPIM, which
/// RFC 7701 rooms require.
pub(super) fn chatroom_of(remote: &RemoteMedia) -> Vec<String> {
    if type_accepted(&remote.accept_types, CPIM) {
        remote.chatroom.clone()
    } else {
        Vec::new()
    }
}

impl ChatInner {
    /// Not from the connection's sink: before the answer it reads the
    /// offer through the base's lock.
    pub(super) fn remote_chatroom(&self) -> Vec<String> {
        if let Some(c) = lock(&self.chat).remote_chatroom.clone() {
            return c;
        }
        self.base
            .remote_media()
            .map(|r| chatroom_of(&r))
            .unwrap_or_default()
    }

    /// Refuses a message to someone other than the peer, or with a cc,
    /// when the peer is no chat room relaying private messages (the spec's
    /// `send_message`): only a focus can pass it on to them. The focus
    /// itself addresses whom it likes.
    pub(super) fn check_private(&self, options: &MessageOptions) -> Result<(), ChatStreamError> {
        let addressed = !options.recipients.is_empty() || !options.courtesy_recipients.is_empty();
        if !addressed || !lock(&self.chat).local_chatroom.is_empty() {
            return Ok(());
        }
        // Before the peer's SDP and identity are known nothing can be told.
        let (Some(context), Some(_)) = (self.base.context(), self.base.remote_media()) else {
            return Ok(());
        };
        let peer = identity(&context.remote_identity);
        let others = options
            .recipients
            .iter()
            .any(|r| !same_user(&r.uri, &peer.uri));
        let allowed = self.remote_chatroom().iter().any(|c| c == PRIVATE_MESSAGES);
        let cc = !options.courtesy_recipients.is_empty();
        if (others || cc) && !allowed {
            return Err(ChatStreamError::PrivateMessagesNotSupported);
        }
        Ok(())
    }

    /// RFC 7701 §8: from a chat room, a message whose one CPIM `To` is
    /// us, not the room, was sent to us alone. Runs in the sink: reads
    /// only what `start` kept.
    pub(super) fn is_private(&self, message: &ChatMessage) -> bool {
        let room = lock(&self.chat)
            .remote_chatroom
            .as_ref()
            .is_some_and(|c| c.iter().any(|c| c == PRIVATE_MESSAGES));
        let Some(context) = self.base.context().filter(|_| room && message.cpim) else {
            return false;
        };
        let [to] = message.recipients.as_slice() else {
            return false;
        };
        let us = identity(&context.local_identity);
        let focus = identity(&context.remote_identity);
        same_user(&to.uri, &us.uri) && !same_user(&to.uri, &focus.uri)
    }

    pub(super) fn on_nickname_result(&self, tid: String, status: u16, comment: Option<String>) {
        let nickname = {
            let mut c = lock(&self.chat);
            match c.nicknames.remove(&tid) {
                Some(n) => n,
                None => {
                    c.nickname_results.insert(tid, (status, comment));
                    return;
                }
            }
        };
        self.post_nickname_result(tid, nickname, status, comment);
    }

    pub(super) fn post_nickname_result(
        &self,
        message_id: String,
        nickname: String,
        code: u16,
        reason: Option<String>,
    ) {
        self.post(if code == 200 {
            NotificationData::ChatStreamDidSetNickname {
                message_id,
                nickname,
            }
        } else {
            NotificationData::ChatStreamDidNotSetNickname {
                message_id,
                nickname,
                code,
                reason: reason.unwrap_or_default(),
            }
        });
    }
}

/// Whether two SIP URIs name the same user: user part and host, as the
/// original SDK compares chat identities (scheme, port and parameters
/// aside).
pub(super) fn same_user(a: &str, b: &str) -> bool {
    user_host(a) == user_host(b)
}

fn user_host(uri: &str) -> (String, String) {
    let u = uri.trim().trim_start_matches('<');
    let u = match u.split_once(':') {
        Some((scheme, rest))
            if scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips") =>
        {
            rest
        }
        _ => u,
    };
    let u = u.split([';', '?', '>']).next().unwrap_or("");
    let (user, hostport) = u.rsplit_once('@').unwrap_or(("", u));
    let host = match hostport.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => hostport.split(':').next().unwrap_or(""),
    };
    (user.to_owned(), host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_compare_by_user_and_host() {
        assert!(same_user(
            "sip:alice@example.test",
            "<sips:alice@EXAMPLE.test:5061;transport=tls>"
        ));
        assert!(same_user("sip:bob@[::1]:5060", "sip:bob@[::1]"));
        assert!(!same_user("sip:alice@example.test", "sip:bob@example.test"));
        assert!(!same_user(
            "sip:alice@example.test",
            "sip:alice@example.org"
        ));
        assert!(!same_user(
            "sip:Alice@example.test",
            "sip:alice@example.test"
        ));
    }
}
