//! Dialogs (RFC 3261 §12): creation on the UAC and UAS side from 1xx/2xx,
//! route sets with loose routing and the strict-routing fallback, remote
//! target refresh, CSeq rules, and building requests inside a dialog.
//! Sans-IO: the caller supplies branches and sends what is built.

use crate::headers::{CSeq, Contact, From, HeaderName, NameAddr, RecordRoute, To, Via};
use crate::message::{Method, Request, Response};
use crate::uri::Uri;

/// Call-ID and the two tags (§12).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogId {
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogState {
    /// Created by a provisional response with a To tag.
    Early,
    Confirmed,
    Terminated,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialogError {
    #[error("{0} lacks {1}")]
    Missing(&'static str, &'static str),
    #[error("response {0} does not create a dialog")]
    NoDialogResponse(u16),
    #[error(
        "request CSeq {got} is not above the remote sequence {expected}: 500 (RFC 3261 §12.2.2)"
    )]
    OutOfOrder { got: u32, expected: u32 },
    #[error("request does not belong to this dialog")]
    Mismatch,
}

/// The state of one dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    pub id: DialogId,
    pub state: DialogState,
    /// The CSeq of the last request we sent in the dialog.
    pub local_seq: u32,
    /// The CSeq of the last request the peer sent, once one arrived.
    pub remote_seq: Option<u32>,
    pub local_uri: NameAddr<'static>,
    pub remote_uri: NameAddr<'static>,
    /// Where in-dialog requests go: the peer's Contact.
    pub remote_target: Uri<'static>,
    /// Proxies to pass, in the order requests traverse them.
    pub route_set: Vec<NameAddr<'static>>,
    /// Created over a SIPS Request-URI and TLS.
    pub secure: bool,
}

fn contact_uri(
    headers: &crate::headers::Headers,
    what: &'static str,
) -> Result<Uri<'static>, DialogError> {
    headers
        .typed::<Contact>()
        .and_then(Result::ok)
        .and_then(|c| c.addr().map(|a| a.uri.clone().into_owned()))
        .ok_or(DialogError::Missing(what, "a Contact"))
}

fn record_routes(headers: &crate::headers::Headers) -> Vec<NameAddr<'static>> {
    headers
        .typed_all::<RecordRoute>()
        .filter_map(Result::ok)
        .map(|r| r.0.into_owned())
        .collect()
}

fn addr_without_tag(na: &NameAddr<'_>) -> NameAddr<'static> {
    let mut na = na.clone().into_owned();
    na.params.remove("tag");
    na
}

impl Dialog {
    /// UAC side (§12.1.2): from the request we sent and a 1xx (with To
    /// tag) or 2xx response. The route set is the Record-Route reversed.
    pub fn uac(request: &Request, response: &Response) -> Result<Dialog, DialogError> {
        let status = response.status;
        if !(status.is_success() || (status.is_provisional() && status.code() > 100)) {
            return Err(DialogError::NoDialogResponse(status.code()));
        }
        let rh = &response.headers;
        let to = rh
            .typed::<To>()
            .and_then(Result::ok)
            .ok_or(DialogError::Missing("response", "To"))?;
        let remote_tag = to
            .tag()
            .ok_or(DialogError::Missing("response", "a To tag"))?
            .to_owned();
        let from = request
            .headers
            .typed::<From>()
            .and_then(Result::ok)
            .ok_or(DialogError::Missing("request", "From"))?;
        let local_tag = from
            .tag()
            .ok_or(DialogError::Missing("request", "a From tag"))?
            .to_owned();
        let call_id = request
            .headers
            .get_str(&HeaderName::CallId)
            .ok_or(DialogError::Missing("request", "Call-ID"))?
            .to_owned();
        let cseq = request
            .headers
            .typed::<CSeq>()
            .and_then(Result::ok)
            .ok_or(DialogError::Missing("request", "CSeq"))?;
        let mut route_set = record_routes(rh);
        route_set.reverse();
        let secure = request.uri().is_ok_and(|u| u.scheme() == "sips");
        Ok(Dialog {
            id: DialogId {
                call_id,
                local_tag,
                remote_tag,
            },
            state: if status.is_success() {
                DialogState::Confirmed
            } else {
                DialogState::Early
            },
            local_seq: cseq.seq,
            remote_seq: None,
            local_uri: addr_without_tag(&from),
            remote_uri: addr_without_tag(&to),
            remote_target: contact_uri(rh, "response")?,
            route_set,
            secure,
        })
    }

    /// UAS side (§12.1.1): from the request received and the response we
    /// send (with our To tag). The route set is the Record-Route in order.
    pub fn uas(request: &Request, response: &Response) -> Result<Dialog, DialogError> {
        let rq = &request.headers;
        let from = rq
            .typed::<From>()
            .and_then(Result::ok)
            .ok_or(DialogError::Missing("request", "From"))?;
        let to = response
            .headers
            .typed::<To>()
            .and_then(Result::ok)
            .ok_or(DialogError::Missing("response", "To"))?;
        let local_tag = to
            .tag()
            .ok_or(DialogError::Missing("response", "a To tag"))?
            .to_owned();
        let cseq = rq
            .typed::<CSeq>()
            .and_then(Result::ok)
            .ok_or(DialogError::Missing("request", "CSeq"))?;
        let secure = request.uri().is_ok_and(|u| u.scheme() == "sips");
        Ok(Dialog {
            id: DialogId {
                call_id: rq
                    .get_str(&HeaderName::CallId)
                    .ok_or(DialogError::Missing("request", "Call-ID"))?
                    .to_owned(),
                local_tag,
                // A 2543 peer may send no From tag: the empty tag (§12.1.1).
                remote_tag: from.tag().unwrap_or_default().to_owned(),
            },
            state: if response.status.is_success() {
                DialogState::Confirmed
            } else {
                DialogState::Early
            },
            local_seq: 0,
            remote_seq: Some(cseq.seq),
            local_uri: addr_without_tag(&to),
            remote_uri: addr_without_tag(&from),
            remote_target: contact_uri(rq, "request")?,
            route_set: record_routes(rq),
            secure,
        })
    }

    /// A 2xx confirms an early dialog (UAC); its Record-Route and Contact
    /// replace the early ones (§13.2.2.4).
    pub fn confirm(&mut self, response: &Response) -> Result<(), DialogError> {
        if !response.status.is_success() {
            return Err(DialogError::NoDialogResponse(response.status.code()));
        }
        if self.state == DialogState::Early {
            let mut rs = record_routes(&response.headers);
            rs.reverse();
            self.route_set = rs;
        }
        self.remote_target = contact_uri(&response.headers, "response")?;
        self.state = DialogState::Confirmed;
        Ok(())
    }

    /// Whether `request` belongs to this dialog (its To tag is ours, its
    /// From tag the peer's, same Call-ID).
    pub fn matches(&self, request: &Request) -> bool {
        let h = &request.headers;
        let to_tag = h
            .typed::<To>()
            .and_then(Result::ok)
            .and_then(|t| t.tag().map(str::to_owned));
        let from_tag = h
            .typed::<From>()
            .and_then(Result::ok)
            .and_then(|f| f.tag().map(str::to_owned));
        h.get_str(&HeaderName::CallId) == Some(self.id.call_id.as_str())
            && to_tag.as_deref() == Some(self.id.local_tag.as_str())
            && from_tag.unwrap_or_default() == self.id.remote_tag
    }

    /// A request from the peer inside the dialog (§12.2.2): CSeq order and
    /// target refresh (INVITE, UPDATE, and other target-refresh methods).
    pub fn on_request(&mut self, request: &Request) -> Result<(), DialogError> {
        if !self.matches(request) {
            return Err(DialogError::Mismatch);
        }
        let cseq = request
            .headers
            .typed::<CSeq>()
            .and_then(Result::ok)
            .ok_or(DialogError::Missing("request", "CSeq"))?;
        // ACK and CANCEL carry the INVITE's number.
        let same_ok = matches!(request.method, Method::Ack | Method::Cancel);
        if let Some(remote) = self.remote_seq {
            if cseq.seq < remote || (cseq.seq == remote && !same_ok) {
                return Err(DialogError::OutOfOrder {
                    got: cseq.seq,
                    expected: remote,
                });
            }
        }
        self.remote_seq = Some(cseq.seq);
        if is_target_refresh(&request.method) {
            if let Ok(t) = contact_uri(&request.headers, "request") {
                self.remote_target = t;
            }
        }
        if request.method == Method::Bye {
            self.state = DialogState::Terminated;
        }
        Ok(())
    }

    /// A 2xx to our target-refresh request updates the remote target.
    pub fn on_refresh_response(&mut self, response: &Response) {
        if response.status.is_success() {
            if let Ok(t) = contact_uri(&response.headers, "response") {
                self.remote_target = t;
            }
        }
    }

    /// Builds a request inside the dialog (§12.2.1.1) with a new CSeq (or
    /// `cseq_of` for an ACK, which reuses the INVITE's). `via` is the top
    /// Via to put (with its fresh branch). Returns the request and the URI
    /// of the next hop to resolve (first route, else the remote target).
    pub fn new_request(
        &mut self,
        method: Method,
        via: &Via<'_>,
        cseq_of: Option<u32>,
    ) -> (Request, Uri<'static>) {
        let seq = match cseq_of {
            Some(n) => n,
            None => {
                self.local_seq = self.local_seq.wrapping_add(1).min(CSeq::MAX);
                self.local_seq
            }
        };
        let loose = self
            .route_set
            .first()
            .is_none_or(|r| r.uri.as_sip().is_some_and(|s| s.is_loose_router()));
        let (request_uri, routes): (Uri<'static>, Vec<String>) = if self.route_set.is_empty() {
            (self.remote_target.clone(), Vec::new())
        } else if loose {
            (
                self.remote_target.clone(),
                self.route_set.iter().map(|r| r.to_string()).collect(),
            )
        } else {
            // Strict routing (§12.2.1.1): the first route becomes the
            // Request-URI (without parameters a Request-URI may not carry);
            // the remote target goes last in Route.
            let mut first = self
                .route_set
                .first()
                .map(|r| r.uri.clone())
                .unwrap_or_else(|| self.remote_target.clone());
            if let Uri::Sip(s) = &mut first {
                s.headers = crate::params::Params::new();
                s.params.remove("method");
            }
            let mut rest: Vec<String> = self
                .route_set
                .iter()
                .skip(1)
                .map(|r| r.to_string())
                .collect();
            rest.push(NameAddr::new(self.remote_target.clone()).to_string());
            (first, rest)
        };
        let next_hop = self
            .route_set
            .first()
            .map(|r| r.uri.clone())
            .unwrap_or_else(|| self.remote_target.clone());
        let mut req = Request::new(method.clone(), &request_uri);
        let h = &mut req.headers;
        h.push_typed(via);
        h.push(HeaderName::MaxForwards, "70");
        for r in routes {
            h.push(HeaderName::Route, r);
        }
        let mut from = self.local_uri.clone();
        from.set_tag(self.id.local_tag.clone());
        h.push_typed(&From(from));
        let mut to = self.remote_uri.clone();
        if !self.id.remote_tag.is_empty() {
            to.set_tag(self.id.remote_tag.clone());
        }
        h.push_typed(&To(to));
        h.push(HeaderName::CallId, self.id.call_id.clone());
        h.push(HeaderName::CSeq, format!("{seq} {method}"));
        h.push(HeaderName::ContentLength, "0");
        (req, next_hop)
    }
}

/// Methods whose requests refresh the remote target (RFC 3261 §12.2,
/// RFC 3311 UPDATE, RFC 6665 SUBSCRIBE/NOTIFY).
pub fn is_target_refresh(m: &Method) -> bool {
    matches!(
        m,
        Method::Invite | Method::Update | Method::Subscribe | Method::Notify | Method::Refer
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::Transport;
    use crate::message::Message;
    use crate::uri::Host;

    fn req(text: &str) -> Request {
        Message::parse(text.replace('\n', "\r\n").into_bytes())
            .unwrap()
            .as_request()
            .unwrap()
            .clone()
    }

    fn resp(text: &str) -> Response {
        Message::parse(text.replace('\n', "\r\n").into_bytes())
            .unwrap()
            .as_response()
            .unwrap()
            .clone()
    }

    const INVITE: &str = "INVITE sip:bob@biloxi.example.com SIP/2.0\nVia: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK1\nMax-Forwards: 70\nTo: Bob <sip:bob@biloxi.example.com>\nFrom: Alice <sip:alice@atlanta.example.com>;tag=a1\nCall-ID: call1\nCSeq: 314159 INVITE\nContact: <sip:alice@pc33.atlanta.example.com>\nContent-Length: 0\n\n";

    const OK: &str = "SIP/2.0 200 OK\nVia: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK1\nRecord-Route: <sip:p2.example.com;lr>, <sip:p1.example.com;lr>\nTo: Bob <sip:bob@biloxi.example.com>;tag=b1\nFrom: Alice <sip:alice@atlanta.example.com>;tag=a1\nCall-ID: call1\nCSeq: 314159 INVITE\nContact: <sip:bob@192.0.2.4>\nContent-Length: 0\n\n";

    fn via(branch: &str) -> Via<'static> {
        Via::new(
            Transport::Udp,
            Host::Domain("pc33.atlanta.example.com".into()),
            None,
            branch.to_owned(),
        )
    }

    #[test]
    fn uac_dialog_and_bye_with_loose_routes() {
        let mut d = Dialog::uac(&req(INVITE), &resp(OK)).unwrap();
        assert_eq!(d.state, DialogState::Confirmed);
        assert_eq!(
            d.id,
            DialogId {
                call_id: "call1".into(),
                local_tag: "a1".into(),
                remote_tag: "b1".into()
            }
        );
        // Record-Route reversed on the UAC side.
        let rs: Vec<_> = d.route_set.iter().map(|r| r.uri.to_string()).collect();
        assert_eq!(rs, ["sip:p1.example.com;lr", "sip:p2.example.com;lr"]);
        let (bye, next) = d.new_request(Method::Bye, &via("z9hG4bK2"), None);
        assert_eq!(bye.uri_str(), "sip:bob@192.0.2.4");
        assert_eq!(next.to_string(), "sip:p1.example.com;lr");
        let routes: Vec<_> = bye
            .headers
            .get_all(&HeaderName::Route)
            .map(|h| h.value.to_owned())
            .collect();
        assert_eq!(
            routes,
            ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
        );
        let cseq = bye.headers.typed::<CSeq>().unwrap().unwrap();
        assert_eq!((cseq.seq, cseq.method), (314160, Method::Bye));
        assert_eq!(
            bye.headers.typed::<To>().unwrap().unwrap().tag(),
            Some("b1")
        );
        assert_eq!(
            bye.headers.typed::<From>().unwrap().unwrap().tag(),
            Some("a1")
        );
        // An ACK reuses the INVITE's number.
        let (ack, _) = d.new_request(Method::Ack, &via("z9hG4bK3"), Some(314159));
        assert_eq!(ack.headers.typed::<CSeq>().unwrap().unwrap().seq, 314159);
        // Round trip through the wire form.
        assert!(Message::parse(Message::Request(bye).to_bytes()).is_ok());
    }

    #[test]
    fn strict_router_first() {
        let ok = OK.replace(
            "<sip:p2.example.com;lr>, <sip:p1.example.com;lr>",
            "<sip:p2.example.com;lr>, <sip:p1.example.com>",
        );
        let mut d = Dialog::uac(&req(INVITE), &resp(&ok)).unwrap();
        let (bye, next) = d.new_request(Method::Bye, &via("z9hG4bK2"), None);
        // The strict router p1 is the Request-URI; the remote target is the
        // last Route.
        assert_eq!(bye.uri_str(), "sip:p1.example.com");
        assert_eq!(next.to_string(), "sip:p1.example.com");
        let routes: Vec<_> = bye
            .headers
            .get_all(&HeaderName::Route)
            .map(|h| h.value.to_owned())
            .collect();
        assert_eq!(routes, ["<sip:p2.example.com;lr>", "<sip:bob@192.0.2.4>"]);
    }

    #[test]
    fn uas_dialog_cseq_rules_and_target_refresh() {
        let invite = req(&INVITE.replace(
            "Max-Forwards: 70\n",
            "Max-Forwards: 70\nRecord-Route: <sip:p1.example.com;lr>\n",
        ));
        let mut d = Dialog::uas(&invite, &resp(OK)).unwrap();
        assert_eq!(d.id.local_tag, "b1");
        assert_eq!(d.id.remote_tag, "a1");
        assert_eq!(d.remote_seq, Some(314159));
        assert_eq!(d.route_set.len(), 1);
        assert_eq!(
            d.remote_target.to_string(),
            "sip:alice@pc33.atlanta.example.com"
        );
        let in_dialog = |method: &str, seq: u32, contact: &str| {
            req(&format!(
                "{method} sip:bob@192.0.2.4 SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK{seq}{method}\nTo: <sip:bob@biloxi.example.com>;tag=b1\nFrom: <sip:alice@atlanta.example.com>;tag=a1\nCall-ID: call1\nCSeq: {seq} {method}\nContact: <{contact}>\nContent-Length: 0\n\n"
            ))
        };
        // ACK carries the INVITE's number.
        d.on_request(&in_dialog(
            "ACK",
            314159,
            "sip:alice@pc33.atlanta.example.com",
        ))
        .unwrap();
        // A re-INVITE moves the remote target.
        d.on_request(&in_dialog("INVITE", 314160, "sip:alice@192.0.2.99"))
            .unwrap();
        assert_eq!(d.remote_target.to_string(), "sip:alice@192.0.2.99");
        // Lower or equal CSeq: out of order (500).
        assert_eq!(
            d.on_request(&in_dialog("INFO", 314160, "sip:x@y")),
            Err(DialogError::OutOfOrder {
                got: 314160,
                expected: 314160
            })
        );
        // INFO does not refresh the target.
        d.on_request(&in_dialog("INFO", 314161, "sip:x@y")).unwrap();
        assert_eq!(d.remote_target.to_string(), "sip:alice@192.0.2.99");
        // Another dialog's request does not match.
        let other = in_dialog("BYE", 314170, "sip:x@y")
            .headers
            .get_str(&HeaderName::CallId)
            .map(str::to_owned);
        assert_eq!(other.as_deref(), Some("call1"));
        let mut foreign = in_dialog("BYE", 314170, "sip:x@y");
        foreign.headers.set(HeaderName::CallId, "elsewhere");
        assert_eq!(d.on_request(&foreign), Err(DialogError::Mismatch));
        d.on_request(&in_dialog("BYE", 314171, "sip:x@y")).unwrap();
        assert_eq!(d.state, DialogState::Terminated);
    }

    #[test]
    fn early_dialog_confirmed_by_2xx() {
        let ringing = OK.replace("200 OK", "180 Ringing").replace(
            "Record-Route: <sip:p2.example.com;lr>, <sip:p1.example.com;lr>\n",
            "",
        );
        let mut d = Dialog::uac(&req(INVITE), &resp(&ringing)).unwrap();
        assert_eq!(d.state, DialogState::Early);
        assert!(d.route_set.is_empty());
        d.confirm(&resp(OK)).unwrap();
        assert_eq!(d.state, DialogState::Confirmed);
        assert_eq!(d.route_set.len(), 2, "route set recomputed from the 2xx");
        // 100 Trying and a To without tag create nothing.
        let trying = OK.replace("200 OK", "100 Trying");
        assert!(Dialog::uac(&req(INVITE), &resp(&trying)).is_err());
        let untagged = OK.replace(";tag=b1", "");
        assert_eq!(
            Dialog::uac(&req(INVITE), &resp(&untagged)),
            Err(DialogError::Missing("response", "a To tag"))
        );
    }
}
