//! An event state publication client (RFC 3903), sans-IO: it builds
//! PUBLISH requests and reads their final responses; the caller sends them
//! through client transactions, keeps the clock, and refreshes when told
//! (like [`crate::registration`]).
//!
//! What it handles: the initial PUBLISH (Event, Expires, body), the entity
//! tag the 2xx gives (SIP-ETag) and the expiry it grants, refresh
//! (SIP-If-Match without body), modify (SIP-If-Match with the new body),
//! remove (Expires 0 with SIP-If-Match), 412 Conditional Request Failed
//! (the state is gone at the compositor: a fresh initial PUBLISH with the
//! current body), 423 (retry with Min-Expires), digest challenges
//! (401/407, through [`crate::digest`]), 489 Bad Event, and other failures
//! with their Retry-After.

use std::time::Duration;

use crate::digest::{self, CredentialStore, DigestState};
use crate::headers::{
    CSeq, Expires, From as FromHeader, HeaderName, MinExpires, NameAddr, RetryAfter, SipETag, To,
};
use crate::invite::Body;
use crate::message::{Method, Request, Response};
use crate::registration::refresh_in;
use crate::uri::Uri;

/// What a publication is about: fixed for its lifetime.
#[derive(Debug, Clone)]
pub struct PublishConfig {
    /// The presentity: Request-URI, To and From.
    pub aor: Uri<'static>,
    /// The event package, e.g. `presence`.
    pub event: String,
    /// The expiry to ask for, in seconds.
    pub expires: u32,
    /// One Call-ID for every PUBLISH of this publication.
    pub call_id: String,
    pub from_tag: String,
    /// `SIP/2.0/UDP host:port;rport`: the top Via without its branch.
    pub via: String,
    /// Unique per client; branches are this plus the CSeq.
    pub branch_prefix: String,
    pub user_agent: Option<String>,
}

/// Where the publication is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicationState {
    /// Nothing published (or removed).
    Idle,
    /// A PUBLISH is in flight.
    Publishing,
    /// The compositor holds our state under `etag` for `expires` seconds.
    Published { etag: String, expires: u32 },
    /// The last PUBLISH failed; `retry_in` is when to try again, if the
    /// failure says (Retry-After).
    Failed {
        code: u16,
        reason: String,
        retry_in: Option<Duration>,
    },
}

/// What the caller does next with a final response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishOutcome {
    /// Send this request in a new client transaction (an answer to a
    /// challenge, a longer expiry after 423, a fresh PUBLISH after 412).
    Send(Request),
    /// Published: refresh (with [`Publisher::refresh`]) after `refresh_in`.
    Published {
        etag: String,
        expires: u32,
        refresh_in: Duration,
    },
    /// Our state is removed (answer to [`Publisher::remove`]).
    Removed,
    Failed {
        code: u16,
        reason: String,
        retry_in: Option<Duration>,
    },
}

/// The kind of the last PUBLISH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// With a body and no SIP-If-Match.
    Initial,
    Refresh,
    Modify,
    Remove,
}

/// One publication's state between requests.
#[derive(Debug)]
pub struct Publisher {
    config: PublishConfig,
    credentials: CredentialStore,
    digest: DigestState,
    cnonce_counter: u64,
    cseq: u32,
    expires: u32,
    etag: Option<String>,
    /// The state we publish: sent again after a 412.
    body: Option<Body>,
    state: PublicationState,
    last: Option<(Kind, Request)>,
    /// The last request's final response is still to come.
    awaiting: bool,
}

impl Publisher {
    pub fn new(config: PublishConfig, credentials: CredentialStore) -> Self {
        Publisher {
            expires: config.expires,
            config,
            credentials,
            digest: DigestState::default(),
            cnonce_counter: 0,
            cseq: 0,
            etag: None,
            body: None,
            state: PublicationState::Idle,
            last: None,
            awaiting: false,
        }
    }

    pub fn state(&self) -> &PublicationState {
        &self.state
    }

    /// The entity tag of our published state, once a 2xx gave one.
    pub fn etag(&self) -> Option<&str> {
        self.etag.as_deref()
    }

    /// The expiry currently asked for (raised by a 423).
    pub fn expires(&self) -> u32 {
        self.expires
    }

    /// Publishes `body`: the initial PUBLISH, or a modify (SIP-If-Match)
    /// when state is published already.
    pub fn publish(&mut self, body: Body) -> Request {
        self.body = Some(body);
        let kind = if self.etag.is_some() {
            Kind::Modify
        } else {
            Kind::Initial
        };
        self.start(kind)
    }

    /// Refreshes the published state (SIP-If-Match, no body); None when
    /// nothing is published.
    pub fn refresh(&mut self) -> Option<Request> {
        self.etag.as_ref()?;
        Some(self.start(Kind::Refresh))
    }

    /// Removes the published state (Expires 0, SIP-If-Match); None when
    /// nothing is published.
    pub fn remove(&mut self) -> Option<Request> {
        self.etag.as_ref()?;
        Some(self.start(Kind::Remove))
    }

    fn start(&mut self, kind: Kind) -> Request {
        // A new round: a challenge to it is new, not a rejection.
        self.digest = DigestState::default();
        self.state = PublicationState::Publishing;
        let r = self.build(kind);
        self.last = Some((kind, r.clone()));
        self.awaiting = true;
        r
    }

    fn build(&mut self, kind: Kind) -> Request {
        self.cseq = self.cseq.wrapping_add(1).clamp(1, CSeq::MAX);
        let c = &self.config;
        let mut r = Request::new(Method::Publish, &c.aor);
        let mut from = NameAddr::new(c.aor.clone());
        from.set_tag(c.from_tag.clone());
        let expires = if kind == Kind::Remove {
            0
        } else {
            self.expires
        };
        let h = &mut r.headers;
        h.push(
            HeaderName::Via,
            format!("{};branch=z9hG4bK{}{}", c.via, c.branch_prefix, self.cseq),
        );
        h.push(HeaderName::MaxForwards, "70");
        h.push_typed(&FromHeader(from));
        h.push_typed(&To(NameAddr::new(c.aor.clone())));
        h.push(HeaderName::CallId, c.call_id.as_str());
        h.push(HeaderName::CSeq, format!("{} PUBLISH", self.cseq));
        h.push(HeaderName::Event, c.event.as_str());
        h.push(HeaderName::Expires, expires.to_string());
        if kind != Kind::Initial {
            if let Some(etag) = &self.etag {
                h.push(HeaderName::SipIfMatch, etag.as_str());
            }
        }
        if let Some(ua) = &c.user_agent {
            h.push(HeaderName::UserAgent, ua.as_str());
        }
        let body = match kind {
            Kind::Initial | Kind::Modify => self.body.as_ref(),
            Kind::Refresh | Kind::Remove => None,
        };
        crate::subscription::set_body(&mut r, body);
        r
    }

    /// The last request again, new CSeq and branch, same credentials.
    fn rebuild(&mut self, kind: Kind) -> Option<Request> {
        let (_, last) = self.last.clone()?;
        let mut r = self.build(kind);
        for name in [HeaderName::Authorization, HeaderName::ProxyAuthorization] {
            for h in last.headers.get_all(&name) {
                r.headers.push_copy(h);
            }
        }
        Some(r)
    }

    fn send(&mut self, kind: Kind, r: Request) -> PublishOutcome {
        self.last = Some((kind, r.clone()));
        self.awaiting = true;
        self.state = PublicationState::Publishing;
        PublishOutcome::Send(r)
    }

    fn failed(&mut self, code: u16, reason: String, retry_in: Option<Duration>) -> PublishOutcome {
        self.state = PublicationState::Failed {
            code,
            reason: reason.clone(),
            retry_in,
        };
        PublishOutcome::Failed {
            code,
            reason,
            retry_in,
        }
    }

    /// The transaction ended without a final response (Timer F).
    pub fn handle_timeout(&mut self) -> PublishOutcome {
        self.awaiting = false;
        self.failed(408, "no answer to PUBLISH".into(), None)
    }

    /// Reads a final response to the last request; responses to older
    /// ones (another CSeq) change nothing and give `None`.
    pub fn handle_response(&mut self, response: &Response) -> Option<PublishOutcome> {
        let cseq = response.headers.typed::<CSeq>().and_then(Result::ok)?;
        if cseq.method != Method::Publish
            || cseq.seq != self.cseq
            || !response.status.is_final()
            || !self.awaiting
        {
            return None;
        }
        self.awaiting = false;
        let kind = self.last.as_ref()?.0;
        let code = response.status.code();
        Some(match code {
            200..=299 => self.success(kind, response),
            401 | 407 => self.challenge(kind, response),
            412 => {
                // The compositor lost our entity (§6): start over with the
                // state we mean to publish.
                self.etag = None;
                if kind == Kind::Remove || self.body.is_none() {
                    self.state = PublicationState::Idle;
                    return Some(PublishOutcome::Removed);
                }
                let r = self.build(Kind::Initial);
                self.send(Kind::Initial, r)
            }
            423 => {
                let min = response
                    .headers
                    .typed::<MinExpires>()
                    .and_then(Result::ok)
                    .map(|m| m.0)
                    .filter(|m| *m > self.expires);
                match (min, kind) {
                    (Some(min), k) if k != Kind::Remove => {
                        self.expires = min;
                        match self.rebuild(kind) {
                            Some(r) => self.send(kind, r),
                            None => self.failed(423, "no request to retry".into(), None),
                        }
                    }
                    _ => self.failed(423, "423 without a usable Min-Expires".into(), None),
                }
            }
            _ => {
                let retry_in = response
                    .headers
                    .typed::<RetryAfter>()
                    .and_then(Result::ok)
                    .map(|r| Duration::from_secs(u64::from(r.seconds)));
                self.failed(code, format!("{code} {}", response.reason()), retry_in)
            }
        })
    }

    fn success(&mut self, kind: Kind, response: &Response) -> PublishOutcome {
        if kind == Kind::Remove {
            self.etag = None;
            self.body = None;
            self.state = PublicationState::Idle;
            return PublishOutcome::Removed;
        }
        let Some(Ok(etag)) = response.headers.typed::<SipETag>() else {
            return self.failed(
                response.status.code(),
                "2xx to PUBLISH without a usable SIP-ETag".into(),
                None,
            );
        };
        let etag = etag.0.into_owned();
        let expires = response
            .headers
            .typed::<Expires>()
            .and_then(Result::ok)
            .map_or(self.expires, |e| e.0);
        self.etag = Some(etag.clone());
        self.state = PublicationState::Published {
            etag: etag.clone(),
            expires,
        };
        PublishOutcome::Published {
            etag,
            expires,
            refresh_in: refresh_in(expires),
        }
    }

    fn challenge(&mut self, kind: Kind, response: &Response) -> PublishOutcome {
        let code = response.status.code();
        let Some(mut request) = self.rebuild(kind) else {
            return self.failed(code, "no request to authorize".into(), None);
        };
        self.cnonce_counter = self.cnonce_counter.wrapping_add(1);
        let cnonce = format!("{}{:x}", self.config.branch_prefix, self.cnonce_counter);
        match digest::authorize(
            &mut request,
            response,
            &self.credentials,
            &mut self.digest,
            &cnonce,
        ) {
            Ok(()) => self.send(kind, request),
            Err(e) => self.failed(code, format!("authentication failed: {e}"), None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::StatusCode;

    fn publisher() -> Publisher {
        Publisher::new(
            PublishConfig {
                aor: Uri::parse("sip:alice@example.test").unwrap().into_owned(),
                event: "presence".into(),
                expires: 3600,
                call_id: "pub1".into(),
                from_tag: "f1".into(),
                via: "SIP/2.0/UDP 192.0.2.1:5060;rport".into(),
                branch_prefix: "p".into(),
                user_agent: None,
            },
            CredentialStore::with_default("alice", "secret"),
        )
    }

    fn pidf(s: &str) -> Body {
        Body {
            content_type: "application/pidf+xml".into(),
            data: s.as_bytes().to_vec(),
        }
    }

    fn answer(r: &Request, code: u16, headers: &[(HeaderName, &str)]) -> Response {
        let mut resp = Response::for_request(r, StatusCode::new(code).unwrap(), Some("pa"));
        for (n, v) in headers {
            resp.headers.push(n.clone(), *v);
        }
        resp
    }

    fn send(o: Option<PublishOutcome>) -> Request {
        match o {
            Some(PublishOutcome::Send(r)) => r,
            other => panic!("expected a request, got {other:?}"),
        }
    }

    #[test]
    fn initial_refresh_modify_remove() {
        let mut p = publisher();
        assert!(p.refresh().is_none() && p.remove().is_none());
        let first = p.publish(pidf("<open/>"));
        let h = &first.headers;
        assert_eq!(h.get_str(&HeaderName::Event), Some("presence"));
        assert_eq!(h.get_str(&HeaderName::Expires), Some("3600"));
        assert_eq!(
            h.get_str(&HeaderName::ContentType),
            Some("application/pidf+xml")
        );
        assert!(!h.contains(&HeaderName::SipIfMatch));
        assert_eq!(&first.body[..], b"<open/>");
        assert_eq!(p.state(), &PublicationState::Publishing);
        let ok = answer(
            &first,
            200,
            &[(HeaderName::SipETag, "e1"), (HeaderName::Expires, "1800")],
        );
        assert_eq!(
            p.handle_response(&ok),
            Some(PublishOutcome::Published {
                etag: "e1".into(),
                expires: 1800,
                refresh_in: Duration::from_secs(1740)
            })
        );
        // A stale answer (old CSeq) changes nothing.
        assert_eq!(p.handle_response(&ok), None);

        let refresh = p.refresh().unwrap();
        assert_eq!(refresh.headers.get_str(&HeaderName::SipIfMatch), Some("e1"));
        assert!(refresh.body.is_empty() && !refresh.headers.contains(&HeaderName::ContentType));
        let ok = answer(&refresh, 200, &[(HeaderName::SipETag, "e2")]);
        assert!(matches!(
            p.handle_response(&ok),
            Some(PublishOutcome::Published { .. })
        ));
        assert_eq!(p.etag(), Some("e2"));

        let modify = p.publish(pidf("<closed/>"));
        assert_eq!(modify.headers.get_str(&HeaderName::SipIfMatch), Some("e2"));
        assert_eq!(&modify.body[..], b"<closed/>");
        let ok = answer(&modify, 200, &[(HeaderName::SipETag, "e3")]);
        p.handle_response(&ok);

        let remove = p.remove().unwrap();
        assert_eq!(remove.headers.get_str(&HeaderName::Expires), Some("0"));
        assert_eq!(remove.headers.get_str(&HeaderName::SipIfMatch), Some("e3"));
        assert_eq!(
            p.handle_response(&answer(&remove, 200, &[])),
            Some(PublishOutcome::Removed)
        );
        assert_eq!(p.state(), &PublicationState::Idle);
        assert_eq!(p.etag(), None);
    }

    #[test]
    fn precondition_failed_republishes_the_current_body() {
        let mut p = publisher();
        let first = p.publish(pidf("<open/>"));
        p.handle_response(&answer(&first, 200, &[(HeaderName::SipETag, "e1")]));
        let refresh = p.refresh().unwrap();
        let again = send(p.handle_response(&answer(&refresh, 412, &[])));
        assert!(!again.headers.contains(&HeaderName::SipIfMatch));
        assert_eq!(&again.body[..], b"<open/>");
        assert_eq!(again.headers.get_str(&HeaderName::CSeq), Some("3 PUBLISH"));
        // A 412 to a remove: nothing is left to remove.
        p.handle_response(&answer(&again, 200, &[(HeaderName::SipETag, "e9")]));
        let remove = p.remove().unwrap();
        assert_eq!(
            p.handle_response(&answer(&remove, 412, &[])),
            Some(PublishOutcome::Removed)
        );
    }

    #[test]
    fn too_brief_challenge_bad_event_and_retry_after() {
        let mut p = publisher();
        let first = p.publish(pidf("<open/>"));
        let longer =
            send(p.handle_response(&answer(&first, 423, &[(HeaderName::MinExpires, "7200")])));
        assert_eq!(longer.headers.get_str(&HeaderName::Expires), Some("7200"));
        assert_eq!(&longer.body[..], b"<open/>");
        let challenge = answer(
            &longer,
            407,
            &[(
                HeaderName::ProxyAuthenticate,
                "Digest realm=\"example.test\", nonce=\"n1\"",
            )],
        );
        let authed = send(p.handle_response(&challenge));
        assert!(authed.headers.contains(&HeaderName::ProxyAuthorization));
        assert_eq!(authed.headers.get_str(&HeaderName::Expires), Some("7200"));
        // The same challenge again: the password is wrong, no loop.
        let again = answer(
            &authed,
            407,
            &[(
                HeaderName::ProxyAuthenticate,
                "Digest realm=\"example.test\", nonce=\"n1\"",
            )],
        );
        assert!(matches!(
            p.handle_response(&again),
            Some(PublishOutcome::Failed { code: 407, .. })
        ));
        let first = p.publish(pidf("<open/>"));
        assert_eq!(
            p.handle_response(&answer(&first, 489, &[])),
            Some(PublishOutcome::Failed {
                code: 489,
                reason: "489 Bad Event".into(),
                retry_in: None
            })
        );
        let first = p.publish(pidf("<open/>"));
        let busy = answer(&first, 503, &[(HeaderName::RetryAfter, "120")]);
        assert!(matches!(
            p.handle_response(&busy),
            Some(PublishOutcome::Failed { code: 503, retry_in: Some(d), .. }) if d == Duration::from_secs(120)
        ));
        // A 2xx without SIP-ETag cannot be refreshed: a failure.
        let first = p.publish(pidf("<open/>"));
        assert!(matches!(
            p.handle_response(&answer(&first, 200, &[])),
            Some(PublishOutcome::Failed { code: 200, .. })
        ));
    }
}
