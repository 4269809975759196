//! REPORTs (RFC 4975 §7.1.2): the success REPORTs a session sends for
//! what it received, and what REPORTs about its own messages say.

use super::{Session, SessionEvent};
use crate::headers::{ByteRange, FailureReport, FromPath, MessageId, Status, ToPath};
use crate::message::{Flag, Head, Headers, Method, Request, Response};
use crate::uri::MsrpUri;
use crate::write::encode;

impl Session {
    /// A REPORT about `range` of an incoming message read with
    /// `stream_incoming`, back along the From-Path its chunks came by:
    /// 200 once the bytes are safely kept, an error when they cannot be.
    /// False when the message is not known (never streamed here, or
    /// forgotten: the newest 64 are remembered), or when it is a failure
    /// its sender said it wants no report of (`Failure-Report: no`:
    /// RFC 4975 §7.1.2 forbids a failure REPORT then).
    pub fn report(
        &mut self,
        message_id: &str,
        range: ByteRange,
        status: u16,
        reason: &str,
    ) -> bool {
        match self.streamed.path(message_id) {
            Some((_, FailureReport::No)) if status != 200 => false,
            Some((back, _)) => {
                self.send_report(back, message_id, range, status, reason);
                true
            }
            None => false,
        }
    }

    pub(super) fn send_report(
        &mut self,
        back: Vec<MsrpUri>,
        mid: &str,
        range: ByteRange,
        code: u16,
        reason: &str,
    ) {
        let mut h = Headers::new();
        h.push_typed(&ToPath(back));
        if let Some(me) = self.our_uri() {
            h.push_typed(&FromPath(vec![me.clone()]));
        }
        h.push_typed(&MessageId(mid.to_owned()));
        h.push_typed(&range);
        h.push_typed(&Status {
            namespace: 0,
            code,
            reason: Some(reason.to_owned()),
        });
        let head = Head::Request(Request {
            tid: self.tids.next_tid(),
            method: Method::Report,
            headers: h,
        });
        if let Ok(b) = encode(&head, None, Flag::Complete) {
            self.transmits.push_back(b);
        }
    }

    /// An error for a message whose chunks were all written (or which
    /// asked for no responses): reported even though it left the queues.
    pub(super) fn failed_after_sent(&mut self, message_id: String, resp: Response) {
        self.outgoing.retain(|m| m.message_id.0 != message_id);
        self.finishing.remove(&message_id);
        self.cut_chunk_of(&message_id);
        self.events.push_back(SessionEvent::MessageFailed {
            message_id,
            status: resp.status,
            reason: resp.comment.clone(),
            chunk: Some(Box::new(Head::Response(resp))),
        });
    }

    pub(super) fn on_report(&mut self, req: &Request) {
        let (Some(Ok(MessageId(mid))), Some(Ok(status))) = (
            req.headers.typed::<MessageId>(),
            req.headers.typed::<Status>(),
        ) else {
            return;
        };
        let range = req.headers.typed::<ByteRange>().and_then(Result::ok);
        let chunk = Some(Box::new(Head::Request(req.clone())));
        self.events.push_back(if status.code == 200 {
            SessionEvent::MessageDelivered {
                message_id: mid,
                range,
                chunk,
            }
        } else {
            SessionEvent::MessageFailed {
                message_id: mid,
                status: status.code,
                reason: status.reason,
                chunk,
            }
        });
    }
}
