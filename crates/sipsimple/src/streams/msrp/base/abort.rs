//! Taking back a message the stream was given, wherever it waits: in the
//! base's queue before the connection is up, or in the connection's
//! session (which ends a partly written one with a `#` chunk).

use super::MsrpStreamBase;

impl MsrpStreamBase {
    /// Gives up a message sent through [`MsrpStreamBase::send`] that is
    /// not written whole: one still queued here is dropped, one on the
    /// connection goes the way [`MsrpConnection::abort`](crate::msrp::MsrpConnection::abort) says. False when
    /// no such message waits.
    pub fn abort_message(&self, message_id: &str) -> bool {
        let conn = {
            let mut s = self.lock();
            let before = s.queued.len();
            s.queued.retain(|m| m.message_id != message_id);
            if s.queued.len() != before {
                return true;
            }
            s.connection.clone()
        };
        conn.is_some_and(|c| c.abort(message_id).is_some())
    }
}
