//! The checks a UAS makes before its application sees a request (RFC 3261
//! §8.2): malformed or incomplete requests (400, 505), methods (405 with
//! Allow), URI schemes (416), extensions (420 with Unsupported), bodies
//! (415 with Accept), merged requests (482), and what the response may
//! contain (406). Sans-IO: the caller sends the verdict's response,
//! statelessly or through the transaction layer.

use std::collections::{HashMap, VecDeque};

use crate::error::ParseError;
use crate::headers::{Accept, ContentEncoding, ContentType, From, HeaderName, Require, To, Via};
use crate::message::{Message, Method, Request, Response, StatusCode};

/// What this UAS supports.
#[derive(Debug, Clone)]
pub struct UasPolicy {
    pub allowed_methods: Vec<Method>,
    /// Request-URI schemes (lower case).
    pub schemes: Vec<String>,
    /// Option tags this UAS implements (for Require).
    pub extensions: Vec<String>,
    /// Body types understood, as `type/subtype` or `type/*` (lower case).
    pub content_types: Vec<String>,
    /// Content codings understood besides identity.
    pub content_encodings: Vec<String>,
    /// The UA takes no new sessions now: new INVITEs get 486 Busy Here.
    pub busy: bool,
}

impl Default for UasPolicy {
    fn default() -> Self {
        let m = |list: &[Method]| list.to_vec();
        UasPolicy {
            allowed_methods: m(&[
                Method::Invite,
                Method::Ack,
                Method::Cancel,
                Method::Bye,
                Method::Options,
                Method::Message,
                Method::Notify,
                Method::Refer,
                Method::Info,
                Method::Update,
                Method::Prack,
            ]),
            schemes: vec!["sip".into(), "sips".into()],
            extensions: vec![],
            content_types: vec![
                "application/sdp".into(),
                "text/plain".into(),
                "message/cpim".into(),
            ],
            content_encodings: vec![],
            busy: false,
        }
    }
}

/// What to do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Pass it to the application.
    Accept,
    /// Answer with this response (the application never sees the request).
    Reject(Response),
    /// Not even a response can be built (no Via): drop it (RFC 3261 §18.1.2
    /// for responses, and nothing can be sent back without a Via).
    Drop,
}

/// Remembers recent requests to detect merged requests (§8.2.2.2): the same
/// From tag, Call-ID and CSeq arriving with another branch. Bounded.
#[derive(Debug)]
pub struct MergeDetector {
    seen: HashMap<(String, String, u32, String), String>,
    order: VecDeque<(String, String, u32, String)>,
    capacity: usize,
}

impl MergeDetector {
    pub fn new(capacity: usize) -> Self {
        MergeDetector {
            seen: HashMap::new(),
            order: VecDeque::new(),
            capacity,
        }
    }

    /// True if `request` merges with an earlier one (different branch).
    fn is_merged(&mut self, request: &Request) -> bool {
        let h = &request.headers;
        // Only requests without a To tag can merge (outside a dialog).
        if h.typed::<To>()
            .and_then(Result::ok)
            .is_some_and(|t| t.tag().is_some())
        {
            return false;
        }
        let (Some(Ok(from)), Some(call_id), Some(Ok(cseq)), Some(Ok(via))) = (
            h.typed::<From>(),
            h.get_str(&HeaderName::CallId),
            h.typed::<crate::headers::CSeq>(),
            h.typed::<Via>(),
        ) else {
            return false;
        };
        let Some(branch) = via.branch() else {
            return false;
        };
        let key = (
            from.tag().unwrap_or_default().to_owned(),
            call_id.to_owned(),
            cseq.seq,
            request.method.to_string(),
        );
        match self.seen.get(&key) {
            Some(b) => b != branch,
            None => {
                if self.order.len() >= self.capacity {
                    if let Some(old) = self.order.pop_front() {
                        self.seen.remove(&old);
                    }
                }
                self.seen.insert(key.clone(), branch.to_owned());
                self.order.push_back(key);
                false
            }
        }
    }
}

fn reject(request: &Request, code: u16, reason: Option<&str>, to_tag: &str) -> Response {
    // §8.2.6.2: a final response gets a To tag if the request had none.
    let mut r = Response::for_request(
        request,
        StatusCode::new(code).unwrap_or(StatusCode::BAD_REQUEST),
        Some(to_tag),
    );
    if let Some(reason) = reason {
        r.set_reason(reason);
    }
    r
}

/// Checks `message` (as received, possibly unvalidated) against RFC 3261
/// §8.2 in the RFC's order. Responses are never answered: they get `Drop`.
/// `to_tag` is a fresh random tag for a rejection's To header.
pub fn check_request(
    message: &Message,
    policy: &UasPolicy,
    merges: &mut MergeDetector,
    to_tag: &str,
) -> Verdict {
    let Message::Request(request) = message else {
        return Verdict::Drop;
    };
    let h = &request.headers;
    if !h.contains(&HeaderName::Via) {
        return Verdict::Drop;
    }
    // Syntax of the headers every element reads (§8.2 preamble).
    if let Err(e) = message.validate() {
        let reason = match &e {
            ParseError::UnsupportedVersion(_) => None,
            other => Some(format!("Bad Request ({other})")),
        };
        let status = e.response_status().code();
        return Verdict::Reject(reject(request, status, reason.as_deref(), to_tag));
    }
    // Mandatory headers present, single-valued ones once (RFC 4475 §3.3.1,
    // §3.3.8), Content-Length unambiguous (§3.3.9). Max-Forwards may be
    // absent: RFC 2543 clients omit it (RFC 4475 §3.4.1) and only proxies
    // act on it.
    for name in [
        HeaderName::To,
        HeaderName::From,
        HeaderName::CallId,
        HeaderName::CSeq,
        HeaderName::MaxForwards,
    ] {
        match h.count(&name) {
            0 if name == HeaderName::MaxForwards => {}
            0 => {
                return Verdict::Reject(reject(
                    request,
                    400,
                    Some(&format!("Missing {name}")),
                    to_tag,
                ))
            }
            1 => {}
            _ => {
                return Verdict::Reject(reject(
                    request,
                    400,
                    Some(&format!("Multiple {name} values")),
                    to_tag,
                ))
            }
        }
    }
    let lengths: Vec<_> = h
        .typed_all::<crate::headers::ContentLength>()
        .filter_map(Result::ok)
        .collect();
    if lengths.windows(2).any(|w| w.first() != w.get(1)) {
        return Verdict::Reject(reject(
            request,
            400,
            Some("Conflicting Content-Length"),
            to_tag,
        ));
    }
    // §8.2.1 method: 405 for a method we know but do not take here, 501
    // for one we do not know at all (§21.5.2); both list what we take.
    if !policy.allowed_methods.contains(&request.method) {
        let code = if matches!(request.method, Method::Extension(_)) {
            501
        } else {
            405
        };
        let mut r = reject(request, code, None, to_tag);
        let allow: Vec<&str> = policy.allowed_methods.iter().map(Method::as_str).collect();
        r.headers.push(HeaderName::Allow, allow.join(", "));
        return Verdict::Reject(r);
    }
    // §8.2.2.1 Request-URI scheme.
    let scheme_ok = request
        .uri()
        .map(|u| {
            policy
                .schemes
                .iter()
                .any(|s| s.eq_ignore_ascii_case(u.scheme()))
        })
        .unwrap_or(false);
    if !scheme_ok {
        return Verdict::Reject(reject(request, 416, None, to_tag));
    }
    // §8.2.2.2 merged requests.
    if merges.is_merged(request) {
        return Verdict::Reject(reject(request, 482, None, to_tag));
    }
    // §8.2.2.3 Require (Proxy-Require is for proxies; a UAS ignores it).
    if request.method != Method::Ack && request.method != Method::Cancel {
        let unsupported: Vec<String> = h
            .typed_all::<Require>()
            .filter_map(Result::ok)
            .map(|r| r.0.into_owned())
            .filter(|t| !policy.extensions.iter().any(|e| e.eq_ignore_ascii_case(t)))
            .collect();
        if !unsupported.is_empty() {
            let mut r = reject(request, 420, None, to_tag);
            r.headers
                .push(HeaderName::Unsupported, unsupported.join(", "));
            return Verdict::Reject(r);
        }
    }
    // §8.2.3 content.
    if !request.body.is_empty() {
        let type_ok = match h.typed::<ContentType>() {
            Some(Ok(ct)) => {
                let t = format!("{}/{}", ct.0.mtype, ct.0.subtype).to_ascii_lowercase();
                t.starts_with("multipart/")
                    || policy.content_types.iter().any(|c| {
                        c == &t
                            || c.strip_suffix("/*").is_some_and(|top| {
                                t.split_once('/').is_some_and(|(tt, _)| tt == top)
                            })
                    })
            }
            // A body without Content-Type: application/sdp is the default
            // nowhere; refuse what we cannot read.
            _ => false,
        };
        let encoding_ok = h
            .typed_all::<ContentEncoding>()
            .filter_map(Result::ok)
            .all(|e| {
                e.0.eq_ignore_ascii_case("identity")
                    || policy
                        .content_encodings
                        .iter()
                        .any(|c| c.eq_ignore_ascii_case(&e.0))
            });
        if !type_ok || !encoding_ok {
            let mut r = reject(request, 415, None, to_tag);
            r.headers
                .push(HeaderName::Accept, policy.content_types.join(", "));
            if !encoding_ok {
                let mut enc = vec!["identity".to_owned()];
                enc.extend(policy.content_encodings.iter().cloned());
                r.headers.push(HeaderName::AcceptEncoding, enc.join(", "));
            }
            return Verdict::Reject(r);
        }
    }
    // A busy UA refuses new sessions (RFC 3261 §21.4.24); in-dialog
    // re-INVITEs (with a To tag) are not new sessions.
    let in_dialog = h
        .typed::<To>()
        .and_then(Result::ok)
        .is_some_and(|t| t.tag().is_some());
    if policy.busy && request.method == Method::Invite && !in_dialog {
        return Verdict::Reject(reject(request, 486, None, to_tag));
    }
    // §8.2.2 / RFC 4475 §3.3.15: an INVITE whose Accept excludes SDP cannot
    // be answered with an SDP body.
    if request.method == Method::Invite && h.contains(&HeaderName::Accept) {
        let sdp_ok = h
            .typed_all::<Accept>()
            .filter_map(Result::ok)
            .any(|a| a.0.matches("application", "sdp"));
        if !sdp_ok {
            return Verdict::Reject(reject(request, 406, None, to_tag));
        }
    }
    Verdict::Accept
}

/// The answer to a request with a To tag that matches no dialog (RFC 3261
/// §12.2.2): 481 Call/Transaction Does Not Exist. The dialog layer knows
/// when; ACKs get no answer.
pub fn reject_unknown_dialog(request: &Request) -> Option<Response> {
    if request.method == Method::Ack {
        return None;
    }
    let status = StatusCode::new(481).unwrap_or(StatusCode::BAD_REQUEST);
    Some(Response::for_request(request, status, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(text: &str) -> Message {
        Message::parse_unvalidated(
            text.replace('\n', "\r\n").into_bytes(),
            &crate::Limits::default(),
        )
        .unwrap()
    }

    const BASE: &str = "OPTIONS sip:bob@example.com SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nTo: <sip:bob@example.com>\nFrom: <sip:a@example.com>;tag=1\nCall-ID: c\nCSeq: 1 OPTIONS\nMax-Forwards: 70\n";

    fn verdict(extra: &str, body: &str) -> Verdict {
        let text = format!("{BASE}{extra}Content-Length: {}\n\n{body}", body.len());
        check_request(
            &msg(&text),
            &UasPolicy::default(),
            &mut MergeDetector::new(16),
            "t",
        )
    }

    fn status(v: &Verdict) -> u16 {
        match v {
            Verdict::Reject(r) => r.status.code(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn plain_request_accepted() {
        assert_eq!(verdict("", ""), Verdict::Accept);
    }

    #[test]
    fn known_method_not_taken_405_with_allow() {
        let m = msg(&BASE
            .replace("OPTIONS sip", "SUBSCRIBE sip")
            .replace("1 OPTIONS", "1 SUBSCRIBE")
            .replace("Max", "Content-Length: 0\nMax"));
        let v = check_request(&m, &UasPolicy::default(), &mut MergeDetector::new(4), "t");
        assert_eq!(status(&v), 405);
    }

    #[test]
    fn unknown_method_501_with_allow() {
        let m = msg(&BASE
            .replace("OPTIONS sip", "FOO sip")
            .replace("1 OPTIONS", "1 FOO")
            .replace("Max", "Content-Length: 0\nMax"));
        let v = check_request(&m, &UasPolicy::default(), &mut MergeDetector::new(4), "t");
        assert_eq!(status(&v), 501);
        let Verdict::Reject(r) = v else {
            unreachable!()
        };
        assert!(r
            .headers
            .get_str(&HeaderName::Allow)
            .unwrap()
            .contains("INVITE"));
    }

    #[test]
    fn merged_request_482() {
        let mut d = MergeDetector::new(4);
        let text = format!("{BASE}Content-Length: 0\n\n");
        assert_eq!(
            check_request(&msg(&text), &UasPolicy::default(), &mut d, "t"),
            Verdict::Accept
        );
        // A retransmission (same branch) is not merged.
        assert_eq!(
            check_request(&msg(&text), &UasPolicy::default(), &mut d, "t"),
            Verdict::Accept
        );
        let forked = text.replace("z9hG4bK1", "z9hG4bK2");
        assert_eq!(
            status(&check_request(
                &msg(&forked),
                &UasPolicy::default(),
                &mut d,
                "t"
            )),
            482
        );
    }

    #[test]
    fn unknown_dialog_481_but_not_for_ack() {
        let text = format!("{BASE}Content-Length: 0\n\n").replace(
            "To: <sip:bob@example.com>",
            "To: <sip:bob@example.com>;tag=gone",
        );
        let Message::Request(r) = msg(&text) else {
            unreachable!()
        };
        let resp = reject_unknown_dialog(&r).unwrap();
        assert_eq!(resp.status.code(), 481);
        // The To tag of the request is kept (it names the dialog asked for).
        assert_eq!(
            resp.headers.typed::<To>().unwrap().unwrap().tag(),
            Some("gone")
        );
        let mut ack = r.clone();
        ack.method = Method::Ack;
        assert_eq!(reject_unknown_dialog(&ack), None);
    }

    #[test]
    fn busy_ua_answers_new_invites_486() {
        let invite = BASE
            .replace("OPTIONS sip", "INVITE sip")
            .replace("1 OPTIONS", "1 INVITE");
        let text = format!("{invite}Content-Length: 0\n\n");
        let policy = UasPolicy {
            busy: true,
            ..UasPolicy::default()
        };
        let v = check_request(&msg(&text), &policy, &mut MergeDetector::new(4), "t");
        assert_eq!(status(&v), 486);
        let reinvite = text.replace(
            "<sip:bob@example.com>\r\n",
            "<sip:bob@example.com>;tag=d\r\n",
        );
        let reinvite = reinvite.replace(
            "To: <sip:bob@example.com>\n",
            "To: <sip:bob@example.com>;tag=d\n",
        );
        assert_eq!(
            check_request(&msg(&reinvite), &policy, &mut MergeDetector::new(4), "t"),
            Verdict::Accept
        );
    }

    #[test]
    fn wildcard_content_types_take_any_subtype() {
        let policy = UasPolicy {
            content_types: vec!["text/*".into()],
            ..UasPolicy::default()
        };
        let check = |ct: &str| {
            let text = format!("{BASE}Content-Type: {ct}\nContent-Length: 1\n\nx");
            check_request(&msg(&text), &policy, &mut MergeDetector::new(4), "t")
        };
        assert_eq!(check("text/html"), Verdict::Accept);
        assert_eq!(check("Text/Plain"), Verdict::Accept);
        assert_eq!(status(&check("application/sdp")), 415);
        // "text/*" is no prefix match on the whole type.
        assert_eq!(status(&check("textual/plain")), 415);
    }

    #[test]
    fn unsupported_require_420_names_the_tags() {
        let v = verdict("Require: 100rel, foo\n", "");
        assert_eq!(status(&v), 420);
        let Verdict::Reject(r) = v else {
            unreachable!()
        };
        assert_eq!(
            r.headers.get_str(&HeaderName::Unsupported),
            Some("100rel, foo")
        );
    }

    #[test]
    fn content_encoding_415() {
        let v = verdict("Content-Type: text/plain\nContent-Encoding: gzip\n", "x");
        assert_eq!(status(&v), 415);
        let Verdict::Reject(r) = v else {
            unreachable!()
        };
        assert_eq!(
            r.headers.get_str(&HeaderName::AcceptEncoding),
            Some("identity")
        );
    }
}
