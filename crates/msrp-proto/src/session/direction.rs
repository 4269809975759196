//! What the SDP direction of the stream (RFC 3264 §6.1) means for what
//! arrives: a peer that said it would not send (we are `sendonly` or
//! `inactive`, or it is `recvonly`) and sends content anyway gets 403.
//!
//! RFC 4975 gives the direction attributes no meaning of their own, so
//! RFC 3264's hold: the direction limits who sends media, here the
//! content of messages. What is no content still flows whatever the
//! direction: responses to our requests, REPORTs (never answered, RFC
//! 4975 §7.1.2), and empty SENDs, which bind the connection (§5.4) and
//! keep it alive. 403 is RFC 4975 §10's "action not allowed": the SEND
//! is understood but not wanted, which the peer's own SDP said it would
//! not do; the session itself goes on (a re-INVITE may open the
//! direction again).

use super::Session;
use crate::headers::{ContentType, TypedHeader};
use crate::message::Request;

/// The comment of the 403.
pub(super) const NOT_RECEIVING: &str = "Not receiving: the SDP direction does not allow it";

impl Session {
    /// Whether content from the peer is taken (true unless the
    /// negotiated direction says the peer does not send); see
    /// [`SessionConfig::receiving`](super::SessionConfig::receiving).
    pub fn set_receiving(&mut self, receiving: bool) {
        self.cfg.receiving = receiving;
    }

    /// Whether `req`, a SEND with `body_empty`, is content the direction
    /// refuses. A chunk whose body is still to come (streamed reading)
    /// counts as content when it has a Content-Type, which an empty SEND
    /// has not (RFC 4975 §7.1.1).
    pub(super) fn refuses_content(&self, req: &Request, body_empty: bool) -> bool {
        let content = !body_empty
            || req
                .headers
                .get(ContentType::NAME)
                .is_some_and(|ct| !ct.trim().is_empty());
        !self.cfg.receiving && content
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use bytes::Bytes;

    use super::super::tests::{events, headless, pair, pump};
    use super::super::{Session, SessionConfig, SessionEvent};
    use crate::headers::FailureReport;

    fn not_receiving(s: &Session, stream_incoming: bool) -> Session {
        Session::new(SessionConfig {
            receiving: false,
            stream_incoming,
            ..s.config().clone()
        })
    }

    #[test]
    fn content_to_a_side_that_does_not_receive_gets_403_and_the_rest_flows() {
        let (mut a, b) = pair(100);
        let mut b = not_receiving(&b, false);
        let now = Instant::now();
        let refused = a.send_message(
            "text/plain",
            Bytes::from_static(b"hi"),
            true,
            FailureReport::Yes,
        );
        let bind = a.send_message("", Bytes::new(), false, FailureReport::Yes);
        pump(&mut a, &mut b, now, 4096);
        let got = headless(&mut a);
        assert!(
            got.contains(&SessionEvent::MessageFailed {
                message_id: refused,
                status: 403,
                reason: Some(super::NOT_RECEIVING.into()),
                chunk: None,
            }),
            "{got:?}"
        );
        assert!(got.contains(&SessionEvent::MessageSent {
            message_id: bind,
            chunk: None
        }));
        // Only the empty SEND (a binding) reached b, as no content.
        let received = events(&mut b);
        assert!(
            matches!(received.as_slice(), [SessionEvent::MessageReceived { body, .. }] if body.is_empty()),
            "{received:?}"
        );
        // b still sends, and the response and success REPORT come back.
        let out = b.send_message(
            "text/plain",
            Bytes::from_static(b"from b"),
            true,
            FailureReport::Yes,
        );
        pump(&mut b, &mut a, now, 4096);
        let got = headless(&mut b);
        assert!(
            got.iter().any(
                |e| matches!(e, SessionEvent::MessageDelivered { message_id, .. } if *message_id == out)
            ),
            "{got:?}"
        );
        // Receiving again (a re-INVITE opened the direction): it arrives.
        b.set_receiving(true);
        a.send_message(
            "text/plain",
            Bytes::from_static(b"again"),
            false,
            FailureReport::Yes,
        );
        pump(&mut a, &mut b, now, 4096);
        let received = events(&mut b);
        assert!(
            matches!(received.as_slice(), [SessionEvent::MessageReceived { body, .. }] if body == b"again"),
            "{received:?}"
        );
    }

    #[test]
    fn a_streamed_send_to_a_side_that_does_not_receive_is_refused_and_not_handed_on() {
        let (mut a, b) = pair(100);
        let mut b = not_receiving(&b, true);
        let now = Instant::now();
        let id = a.send_message(
            "application/octet-stream",
            Bytes::from(vec![1u8; 250]),
            false,
            FailureReport::Yes,
        );
        pump(&mut a, &mut b, now, 4096);
        assert_eq!(events(&mut b), vec![]);
        let got = headless(&mut a);
        assert!(
            got.iter().any(|e| matches!(e, SessionEvent::MessageFailed { message_id, status: 403, .. } if *message_id == id)),
            "{got:?}"
        );
    }
}
