//! Pager-mode instant messages (RFC 3428): the SIP core's `Message`, one
//! MESSAGE request outside any dialog, and what the application does with
//! one that arrives.
//!
//! Sending: [`Message`] builds the request, answers digest challenges
//! (RFC 3261 §22) with its credentials, tries the RFC 3263 routes in
//! order while a route does not answer or answers 503 (§4.3 of RFC 3263),
//! and posts SIPMessageDidSucceed or SIPMessageDidFail. Receiving is in
//! [`crate::instant_message`]: a MESSAGE for one of our accounts gets 200
//! and SIPEngineGotMessage; one for nobody here gets 404.

use sip_proto::digest::{self, CredentialStore, DigestState};
use sip_proto::headers::{HeaderName, NameAddr};
use sip_proto::transaction::Target;
use sip_proto::uri::Uri;
use sip_proto::{Method, Request, Response};

use crate::engine::{via_without_branch, Engine};
use crate::lookup::Route;
use crate::notification::{NotificationCenter, NotificationData, SenderId};
use crate::random;

/// Challenges answered per route before giving up (one per realm, and a
/// stale nonce, is all a sane proxy chain asks).
const MAX_CHALLENGES: usize = 4;

/// Why a MESSAGE was not delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// The final answer was not 2xx.
    #[error("{code} {reason}")]
    Rejected { code: u16, reason: String },
    /// No route answered (timeout or transport error on each).
    #[error("no answer from {0}")]
    NoAnswer(String),
    #[error("no route to send the MESSAGE on")]
    NoRoute,
    /// The request could not be built or authenticated.
    #[error("{0}")]
    Local(String),
}

impl MessageError {
    /// The SIP status the spec's SIPMessageDidFail carries: the peer's,
    /// 408 when none answered, 0 for a local failure.
    pub fn code(&self) -> u16 {
        match self {
            MessageError::Rejected { code, .. } => *code,
            MessageError::NoAnswer(_) => 408,
            MessageError::NoRoute | MessageError::Local(_) => 0,
        }
    }
}

/// What the recipient (or its proxy) answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub code: u16,
    pub reason: String,
    /// The route that took it.
    pub route: Route,
}

/// One MESSAGE to send. Build with [`Message::new`], adjust the public
/// fields, then [`send`](Message::send).
#[derive(Clone)]
pub struct Message {
    pub from: Uri<'static>,
    pub from_display_name: Option<String>,
    pub to: Uri<'static>,
    pub content_type: String,
    pub body: Vec<u8>,
    /// Username and password for digest challenges.
    pub credentials: Option<(String, String)>,
    pub user_agent: Option<String>,
    /// The name a TLS route's certificate must carry; default the
    /// host of `to`.
    pub tls_name: Option<String>,
    /// Further headers, e.g. `("Subject", "hi")`.
    pub extra_headers: Vec<(String, String)>,
    center: NotificationCenter,
    sender: SenderId,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password (Debug output ends up in logs), nor the body.
        f.debug_struct("Message")
            .field("from", &self.from.to_string())
            .field("to", &self.to.to_string())
            .field("content_type", &self.content_type)
            .field("body_len", &self.body.len())
            .field("username", &self.credentials.as_ref().map(|(u, _)| u))
            .finish_non_exhaustive()
    }
}

impl Message {
    /// A MESSAGE from `from` to `to`; its notifications go to `center`
    /// under a sender id of its own.
    pub fn new(
        center: &NotificationCenter,
        from: Uri<'static>,
        to: Uri<'static>,
        content_type: &str,
        body: impl Into<Vec<u8>>,
    ) -> Message {
        Message {
            from,
            from_display_name: None,
            to,
            content_type: content_type.to_owned(),
            body: body.into(),
            credentials: None,
            user_agent: None,
            tls_name: None,
            extra_headers: Vec::new(),
            sender: center.new_sender(),
            center: center.clone(),
        }
    }

    /// The sender id of this message's notifications.
    pub fn sender(&self) -> SenderId {
        self.sender
    }

    fn build(
        &self,
        engine: &Engine,
        route: &Route,
        call_id: &str,
        from_tag: &str,
        cseq: u32,
    ) -> Result<Request, MessageError> {
        let local = engine
            .local_addr_towards(route.transport, route.socket_addr())
            .ok_or_else(|| {
                MessageError::Local(format!(
                    "no {} transport is running",
                    route.transport.via_name()
                ))
            })?;
        let mut r = Request::new(Method::Message, &self.to);
        let h = &mut r.headers;
        h.push(
            HeaderName::Via,
            format!(
                "{};branch=z9hG4bK{}",
                via_without_branch(route.transport, local),
                random::letters(16)
            ),
        );
        h.push(HeaderName::MaxForwards, "70");
        let mut from = NameAddr::new(self.from.clone());
        if let Some(name) = &self.from_display_name {
            from = from.with_display_name(name.as_str());
        }
        from.set_tag(from_tag);
        h.push(HeaderName::From, from.to_string());
        h.push(HeaderName::To, NameAddr::new(self.to.clone()).to_string());
        h.push(HeaderName::CallId, call_id);
        h.push(HeaderName::CSeq, format!("{cseq} MESSAGE"));
        if let Some(ua) = &self.user_agent {
            h.push(HeaderName::UserAgent, ua.as_str());
        }
        for (name, value) in &self.extra_headers {
            if value.contains(['\r', '\n']) {
                return Err(MessageError::Local(format!(
                    "header {name} has a line break"
                )));
            }
            let token = |c: char| c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c);
            if name.is_empty() || !name.chars().all(token) {
                return Err(MessageError::Local(format!(
                    "{name:?} is not a header name"
                )));
            }
            h.push(HeaderName::new(name), value.as_str());
        }
        h.push(HeaderName::ContentType, self.content_type.as_str());
        h.push(HeaderName::ContentLength, self.body.len().to_string());
        r.body = self.body.clone().into();
        Ok(r)
    }

    /// Sends on the first route that answers (in order; on to the next
    /// on no answer or 503) and posts SIPMessageDidSucceed or
    /// SIPMessageDidFail with the outcome, which is also returned.
    pub async fn send(&self, engine: &Engine, routes: &[Route]) -> Result<Delivered, MessageError> {
        let outcome = self.try_routes(engine, routes).await;
        self.center.post(
            self.sender,
            match &outcome {
                Ok(d) => NotificationData::SIPMessageDidSucceed {
                    code: d.code,
                    reason: d.reason.clone(),
                },
                Err(e) => NotificationData::SIPMessageDidFail {
                    code: e.code(),
                    reason: e.to_string(),
                },
            },
        );
        outcome
    }

    async fn try_routes(
        &self,
        engine: &Engine,
        routes: &[Route],
    ) -> Result<Delivered, MessageError> {
        let mut last = MessageError::NoRoute;
        // One Call-ID and From tag for the whole attempt: the recipient
        // can tell a retry through another route from a new message.
        let call_id = format!("{}@sipsimple", random::tag());
        let from_tag = random::tag();
        let mut cseq = 0u32;
        for route in routes {
            match self
                .on_route(engine, route, &call_id, &from_tag, &mut cseq)
                .await
            {
                Ok(response) if response.status.code() < 300 => {
                    return Ok(Delivered {
                        code: response.status.code(),
                        reason: response.reason().to_owned(),
                        route: *route,
                    })
                }
                Ok(response) => {
                    let code = response.status.code();
                    last = MessageError::Rejected {
                        code,
                        reason: response.reason().to_owned(),
                    };
                    if code != 503 {
                        return Err(last);
                    }
                }
                Err(e @ MessageError::NoAnswer(_)) => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    /// The final response on one route, after answering challenges.
    async fn on_route(
        &self,
        engine: &Engine,
        route: &Route,
        call_id: &str,
        from_tag: &str,
        cseq: &mut u32,
    ) -> Result<Response, MessageError> {
        let store = match &self.credentials {
            Some((user, password)) => CredentialStore::with_default(user, password),
            None => CredentialStore::new(),
        };
        let mut digest_state = DigestState::default();
        let target = Target {
            addr: route.socket_addr(),
            transport: route.transport,
        };
        let tls_name = self
            .tls_name
            .clone()
            .or_else(|| self.to.as_sip().map(|s| s.host.to_string()));
        let mut authorization: Option<Request> = None;
        for _ in 0..=MAX_CHALLENGES {
            *cseq += 1;
            let mut request = self.build(engine, route, call_id, from_tag, *cseq)?;
            if let Some(prev) = &authorization {
                for name in [HeaderName::Authorization, HeaderName::ProxyAuthorization] {
                    for h in prev.headers.get_all(&name) {
                        request.headers.push_copy(h);
                    }
                }
            }
            let sent = engine
                .request(request.clone(), target, tls_name.as_deref())
                .await;
            let response = match sent {
                Ok(mut answers) => answers.final_response().await,
                Err(_) => None,
            }
            .ok_or_else(|| MessageError::NoAnswer(route.uri().to_string()))?;
            if !matches!(response.status.code(), 401 | 407) {
                return Ok(response);
            }
            digest::authorize(
                &mut request,
                &response,
                &store,
                &mut digest_state,
                &random::letters(16),
            )
            .map_err(|e| MessageError::Rejected {
                code: response.status.code(),
                reason: format!("{}: {e}", response.reason()),
            })?;
            authorization = Some(request);
        }
        Err(MessageError::Local(
            "too many authentication challenges".into(),
        ))
    }
}

/// The RFC 3263 routes to reach `target` (a SIP or SIPS URI) over the
/// transports the engine runs.
pub(crate) async fn routes_for(
    services: &crate::services::Services,
    target: &Uri<'_>,
) -> Result<Vec<Route>, MessageError> {
    let sip = target
        .as_sip()
        .ok_or_else(|| MessageError::Local(format!("{target} is not a SIP URI")))?;
    services
        .dns
        .lookup_sip_proxy(sip, &services.engine.transports())
        .await
        .result
        .map_err(|e| MessageError::Local(format!("no route to {target}: {e}")))
}
