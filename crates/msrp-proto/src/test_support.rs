//! What the crate's unit tests share: a relay's scripted answers.

use crate::message::{Flag, Head, Headers, Request, Response};
use crate::write::encode;

/// A response to `req` with `status`, from `from` to `to`, with the
/// `extra` headers (Use-Path, Expires, WWW-Authenticate...).
pub(crate) fn response(
    req: &Request,
    status: u16,
    to: &str,
    from: &str,
    extra: &[(&str, &str)],
) -> Vec<u8> {
    let mut h = Headers::new();
    h.push("To-Path", to);
    h.push("From-Path", from);
    for (n, v) in extra {
        h.push(*n, *v);
    }
    let head = Head::Response(Response {
        tid: req.tid.clone(),
        status,
        comment: None,
        headers: h,
    });
    encode(&head, None, Flag::Complete).unwrap()
}
