//! Answering the peer's requests: whether a response goes back at all
//! (its Failure-Report, RFC 4975 §7.1.2) and what it looks like (to the
//! previous hop alone, §7.2).

use super::Session;
use crate::headers::{FailureReport, FromPath, ToPath};
use crate::message::{Flag, Head, Headers, Method, Request, Response};
use crate::uri::MsrpUri;
use crate::write::encode;

impl Session {
    pub(super) fn respond(&mut self, req: &Request, status: u16, comment: &str) {
        if let Some(b) = response_to(req, status, comment, self.our_uri()) {
            self.transmits.push_back(b);
        }
    }

    /// Answers `req` as its Failure-Report asks (see [`response_wanted`]).
    pub(super) fn answer(&mut self, req: &Request, status: u16, comment: &str) {
        if response_wanted(req, status) {
            self.respond(req, status, comment);
        }
    }
}

/// Whether the sender of `req` wants a response of `status`: never to a
/// REPORT, and as its Failure-Report asks (RFC 4975 §7.1.2: `no` wants
/// none, `partial` only errors). Public for the transport, which answers
/// some requests before a session has them (a 506 for a session bound
/// to another connection).
pub fn response_wanted(req: &Request, status: u16) -> bool {
    if req.method == Method::Report {
        return false;
    }
    match req.headers.typed::<FailureReport>() {
        None | Some(Ok(FailureReport::Yes)) | Some(Err(_)) => true,
        Some(Ok(FailureReport::No)) => false,
        Some(Ok(FailureReport::Partial)) => status != 200,
    }
}

/// The response `status` to `req`: to the previous hop alone (the first
/// of its From-Path, RFC 4975 §7.2), from `from` when given. None when
/// `req` names no sender to answer, or the response cannot be written.
pub fn response_to(
    req: &Request,
    status: u16,
    comment: &str,
    from: Option<&MsrpUri>,
) -> Option<Vec<u8>> {
    let to = match req.headers.typed::<FromPath>() {
        Some(Ok(FromPath(p))) => p.into_iter().take(1).collect::<Vec<_>>(),
        _ => return None,
    };
    let mut headers = Headers::new();
    headers.push_typed(&ToPath(to));
    if let Some(me) = from {
        headers.push_typed(&FromPath(vec![me.clone()]));
    }
    let head = Head::Response(Response {
        tid: req.tid.clone(),
        status,
        comment: Some(comment.to_owned()),
        headers,
    });
    encode(&head, None, Flag::Complete).ok()
}
