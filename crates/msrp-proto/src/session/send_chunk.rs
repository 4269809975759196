//! One SEND chunk of an outgoing message: the headers every chunk of it
//! carries, whether it holds body bytes or ends the message with `#`,
//! whole or (`sliced`) its head alone, the body to follow in slices.

use super::{Outgoing, Session};
use crate::chunk::ChunkPlan;
use crate::headers::{ContentType, FailureReport, SuccessReport, TypedHeader};
use crate::message::{Head, Method, Request, TransactionId};

impl Session {
    /// The SEND carrying `piece` of `msg` as `plan` places it, under a
    /// new transaction id; an error is the status to fail the message
    /// with. `sliced`: only the head and its empty line are written, the
    /// Byte-Range end `*` (the `writing` module sends the body).
    pub(super) fn encode_chunk(
        &mut self,
        msg: &Outgoing,
        plan: &ChunkPlan,
        piece: &[u8],
        sliced: bool,
    ) -> Result<(TransactionId, Head, Vec<u8>), (u16, String)> {
        let Ok(tid) = self.tids.next_for_body(piece) else {
            return Err((500, "no transaction id fits the body".into()));
        };
        let mut h = self.path_headers(&self.cfg.remote_path.clone());
        h.push_typed(&msg.message_id);
        if sliced {
            h.push_typed(&super::writing::interruptible(plan.range));
        } else {
            h.push_typed(&plan.range);
        }
        if msg.success_report {
            h.push_typed(&SuccessReport(true));
        }
        if msg.failure_report != FailureReport::Yes {
            h.push_typed(&msg.failure_report);
        }
        let body = (!piece.is_empty()).then_some(piece);
        // A file's chunks say their type even when empty (an empty file):
        // the receiver tells them from an empty binding SEND by it.
        if body.is_some() || msg.chunk_events {
            h.push(ContentType::NAME, msg.content_type.clone());
        }
        let head = Head::Request(Request {
            tid: tid.clone(),
            method: Method::Send,
            headers: h,
        });
        if sliced {
            return crate::write::head_bytes(&head, true)
                .map(|bytes| (tid, head, bytes))
                .map_err(|e| (400, e.to_string()));
        }
        // The tid was picked by `next_for_body`: no second scan.
        crate::write::encode_checked(&head, body, plan.flag)
            .map(|bytes| (tid, head, bytes))
            .map_err(|e| (400, e.to_string()))
    }
}
