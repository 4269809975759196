//! The one path every incoming request takes. The UAS checks of RFC 3261
//! §8.2 (`sip_proto::uas::check_request`: missing or repeated core
//! headers, methods, URI schemes, merged requests, Require, bodies) run
//! once, against what the application as a whole handles; then the
//! request goes to the owner of its dialog usage (in-dialog requests) or
//! of its method (the rest). OPTIONS is answered here, from the same
//! capabilities the checks use, so Allow, Accept and Supported always say
//! what the router would let through.
//!
//! Owners register themselves ([`RequestRouter::register`]): sessions now,
//! subscriptions, publications and REFER later, without this module
//! knowing them. An owner must answer at once: anything slow (creating
//! streams, DNS, a full session queue) is spawned or refused, because the
//! router runs on the application's single event pump and one slow owner
//! would stall every other session.

use crate::sync::lock;
use std::sync::{Arc, Mutex, Weak};

use sip_proto::headers::{HeaderName, To};
use sip_proto::transaction::{ServerKey, Target};
use sip_proto::uas::{check_request, MergeDetector, UasPolicy, Verdict};
use sip_proto::{Message, Method, Request, Response, StatusCode};

use crate::engine::Engine;

/// A request the transaction layer handed up, with the means to answer it.
pub struct IncomingRequest {
    pub key: ServerKey,
    pub request: Request,
    pub source: Target,
    pub responder: Responder,
}

impl IncomingRequest {
    /// Answers with `code` (and these extra headers); see [`Responder`].
    pub async fn answer(&self, code: u16, extra: &[(HeaderName, String)]) {
        self.responder
            .answer(&self.key, &self.request, code, extra)
            .await;
    }
}

/// Sends the final answer to a request: a To tag when the request had
/// none (§8.2.6.2), and the application's Server header.
#[derive(Clone)]
pub struct Responder {
    engine: Engine,
    server: Option<Arc<str>>,
}

impl Responder {
    pub(crate) fn new(engine: Engine, server: Option<String>) -> Self {
        Responder {
            engine,
            server: server.map(Into::into),
        }
    }

    pub async fn answer(
        &self,
        key: &ServerKey,
        request: &Request,
        code: u16,
        extra: &[(HeaderName, String)],
    ) {
        let status = StatusCode::new(code).unwrap_or(StatusCode::SERVER_INTERNAL_ERROR);
        let mut response = Response::for_request(request, status, Some(&crate::random::tag()));
        for (name, value) in extra {
            response.headers.push(name.clone(), value.as_str());
        }
        self.send(key, response).await;
    }

    pub async fn send(&self, key: &ServerKey, mut response: Response) {
        if let Some(server) = &self.server {
            if !response.headers.contains(&HeaderName::Server) {
                response.headers.push(HeaderName::Server, &**server);
            }
        }
        // The engine stopping is the only failure; nothing is left to
        // answer then.
        let _ = self.engine.send_response(key, response).await;
    }
}

/// What an owner did with a request.
pub enum Disposition {
    /// The owner answers it, now or later.
    Taken,
    /// The router answers with this status and these extra headers.
    Answer(u16, Vec<(HeaderName, String)>),
}

impl Disposition {
    pub fn answer(code: u16) -> Self {
        Disposition::Answer(code, Vec::new())
    }
}

/// A part of the application that takes requests: the methods it takes
/// outside a dialog, the body types and extensions it understands, and
/// the dialog usages it holds. Every method must return at once.
pub trait RequestOwner: Send + Sync + 'static {
    /// Methods taken outside a dialog (these also go into Allow).
    fn methods(&self) -> Vec<Method>;
    /// Body types read, as `type/subtype` or `type/*` (lower case).
    fn accepts(&self) -> Vec<String> {
        Vec::new()
    }
    /// Option tags implemented (RFC 3261 §19.2), for Require and Supported.
    fn supported(&self) -> Vec<String> {
        Vec::new()
    }
    /// A request outside a dialog, for one of [`Self::methods`].
    fn request(&self, request: IncomingRequest) -> Disposition;
    /// A request inside a dialog: taken if one of this owner's dialog
    /// usages matches it, else handed back for the next owner.
    /// (Boxed: a request is large, and it is passed from owner to owner.)
    fn in_dialog(
        &self,
        request: Box<IncomingRequest>,
    ) -> Result<Disposition, Box<IncomingRequest>> {
        Err(request)
    }
    /// The ACK of a 2xx (it has no transaction of its own).
    fn ack(&self, _request: &Request) {}
    /// A CANCEL matched this INVITE server transaction (already 200ed).
    fn cancelled(&self, _invite: &ServerKey) {}
}

/// What the application takes, as the headers of RFC 3261 §20 say it.
/// Built from the registered owners each time it is asked, so it grows
/// with them (a stream type added to the registry, a presence owner).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    pub allow: Vec<Method>,
    pub accept: Vec<String>,
    pub supported: Vec<String>,
}

/// The methods the router or the transaction layer handle for everyone.
const BASE_METHODS: [Method; 3] = [Method::Ack, Method::Cancel, Method::Options];

/// Languages our reason phrases and bodies are written in.
pub const ACCEPT_LANGUAGE: &str = "en";

impl Capabilities {
    pub fn allow_header(&self) -> String {
        let names: Vec<&str> = self.allow.iter().map(Method::as_str).collect();
        names.join(", ")
    }

    /// Allow, Accept, Accept-Encoding, Accept-Language and Supported, as
    /// an OPTIONS answer lists them (§11.2).
    pub fn headers(&self) -> Vec<(HeaderName, String)> {
        let mut h = vec![
            (HeaderName::Allow, self.allow_header()),
            (HeaderName::Accept, self.accept.join(", ")),
            // Only identity: no content coding is implemented.
            (HeaderName::AcceptEncoding, "identity".to_owned()),
            (HeaderName::AcceptLanguage, ACCEPT_LANGUAGE.to_owned()),
        ];
        if !self.supported.is_empty() {
            h.push((HeaderName::Supported, self.supported.join(", ")));
        }
        h
    }

    fn policy(&self) -> UasPolicy {
        UasPolicy {
            allowed_methods: self.allow.clone(),
            extensions: self.supported.clone(),
            content_types: self.accept.clone(),
            ..UasPolicy::default()
        }
    }
}

/// Recent requests remembered for the merge check of §8.2.2.2.
const MERGE_MEMORY: usize = 1024;

struct Shared {
    owners: Mutex<Vec<Arc<dyn RequestOwner>>>,
    merges: Mutex<MergeDetector>,
}

/// The request router of one application. Cloning shares it.
#[derive(Clone)]
pub struct RequestRouter {
    shared: Arc<Shared>,
}

/// A handle that does not keep the router alive: what sessions hold to
/// read the capabilities (their owner is held by the router).
#[derive(Clone, Default)]
pub struct CapabilitySource(Weak<Shared>);

impl CapabilitySource {
    pub fn capabilities(&self) -> Option<Capabilities> {
        self.0.upgrade().map(|s| capabilities_of(&s))
    }
}

fn capabilities_of(shared: &Shared) -> Capabilities {
    let owners = lock(&shared.owners).clone();
    let mut allow: Vec<Method> = BASE_METHODS.to_vec();
    let mut accept: Vec<String> = Vec::new();
    let mut supported: Vec<String> = Vec::new();
    for o in &owners {
        for m in o.methods() {
            if !allow.contains(&m) {
                allow.push(m);
            }
        }
        for a in o.accepts() {
            if !accept.contains(&a) {
                accept.push(a);
            }
        }
        for s in o.supported() {
            if !supported.contains(&s) {
                supported.push(s);
            }
        }
    }
    // INVITE first, as user agents list it; the rest in a fixed order.
    allow.sort_by_key(|m| {
        [
            Method::Invite,
            Method::Ack,
            Method::Cancel,
            Method::Bye,
            Method::Options,
        ]
        .iter()
        .position(|x| x == m)
        .unwrap_or(usize::MAX)
    });
    Capabilities {
        allow,
        accept,
        supported,
    }
}

impl Default for RequestRouter {
    fn default() -> Self {
        RequestRouter::new()
    }
}

impl RequestRouter {
    pub fn new() -> Self {
        RequestRouter {
            shared: Arc::new(Shared {
                owners: Mutex::new(Vec::new()),
                merges: Mutex::new(MergeDetector::new(MERGE_MEMORY)),
            }),
        }
    }

    /// Adds an owner; its methods, body types and extensions join the
    /// capabilities at once.
    pub fn register(&self, owner: Arc<dyn RequestOwner>) {
        lock(&self.shared.owners).push(owner);
    }

    pub fn capabilities(&self) -> Capabilities {
        capabilities_of(&self.shared)
    }

    pub fn capability_source(&self) -> CapabilitySource {
        CapabilitySource(Arc::downgrade(&self.shared))
    }

    fn owners(&self) -> Vec<Arc<dyn RequestOwner>> {
        lock(&self.shared.owners).clone()
    }

    /// Routes one request; returns once it is answered or handed to its
    /// owner (never after slow work).
    pub(crate) async fn route(&self, incoming: IncomingRequest) {
        let caps = self.capabilities();
        let message = Message::Request(incoming.request);
        let verdict = {
            let mut merges = lock(&self.shared.merges);
            check_request(&message, &caps.policy(), &mut merges, &crate::random::tag())
        };
        let Message::Request(request) = message else {
            return;
        };
        let incoming = IncomingRequest {
            request,
            ..incoming
        };
        match verdict {
            Verdict::Accept => {}
            Verdict::Reject(mut response) => {
                if matches!(response.status.code(), 405 | 501) {
                    // check_request lists the policy's methods already
                    // for 405; 501 (an extension method) lists them too.
                    if !response.headers.contains(&HeaderName::Allow) {
                        response
                            .headers
                            .push(HeaderName::Allow, caps.allow_header());
                    }
                }
                incoming.responder.send(&incoming.key, response).await;
                return;
            }
            Verdict::Drop => return,
        }
        let in_dialog = incoming
            .request
            .headers
            .typed::<To>()
            .and_then(Result::ok)
            .is_some_and(|t| t.tag().is_some());
        // Kept to answer with whatever the owner hands back.
        let key = incoming.key.clone();
        let request = incoming.request.clone();
        let responder = incoming.responder.clone();
        let disposition = if request.method == Method::Options {
            // §11.2; inside a dialog the answer is the same and leaves the
            // dialog alone (§11).
            Disposition::Answer(200, caps.headers())
        } else if in_dialog {
            // RFC 3261 §12.2.2: 481 when no dialog here matches.
            self.to_dialog_owner(Box::new(incoming))
                .unwrap_or_else(|| Disposition::answer(481))
        } else {
            match self
                .owners()
                .into_iter()
                .find(|o| o.methods().contains(&request.method))
            {
                Some(owner) => owner.request(incoming),
                // Let through by the checks yet owned by nobody (ACK and
                // CANCEL never come here: the transaction layer takes
                // them).
                None => Disposition::Answer(405, vec![(HeaderName::Allow, caps.allow_header())]),
            }
        };
        if let Disposition::Answer(code, extra) = disposition {
            responder.answer(&key, &request, code, &extra).await;
        }
    }

    /// The first owner whose dialog usage takes `incoming`.
    fn to_dialog_owner(&self, incoming: Box<IncomingRequest>) -> Option<Disposition> {
        let mut pending = incoming;
        for owner in self.owners() {
            match owner.in_dialog(pending) {
                Ok(d) => return Some(d),
                Err(back) => pending = back,
            }
        }
        None
    }

    pub(crate) fn ack(&self, request: &Request) {
        for owner in self.owners() {
            owner.ack(request);
        }
    }

    pub(crate) fn cancelled(&self, invite: &ServerKey) {
        for owner in self.owners() {
            owner.cancelled(invite);
        }
    }
}
