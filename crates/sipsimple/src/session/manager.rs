//! The SessionManager: one per application. It starts outgoing sessions,
//! turns incoming INVITEs into sessions (SIPSessionNewIncoming), routes
//! the requests, ACKs and CANCELs of a call to its session, and refuses
//! what belongs to no session (481).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sdp::SessionDescription;
use sip_proto::digest::CredentialStore;
use sip_proto::headers::{HeaderName, NameAddr, To};
use sip_proto::invite::{Body, InviteSession, SessionConfig};
use sip_proto::transaction::{ServerKey, Target, TimerConfig};
use sip_proto::uri::Uri;
use sip_proto::Request;
use tokio::sync::mpsc;

use super::task::{Input, SessionTask};
use super::{lock, Session, SessionError, SessionState, Shared};
use crate::account::{Account, Services};
use crate::engine::{host_port, transport_param, via_without_branch};
use crate::notification::{NotificationCenter, NotificationData};
use crate::streams::audio::AudioStream;

#[derive(Default)]
struct Inner {
    /// Live sessions by Call-ID.
    sessions: HashMap<String, Session>,
    /// The INVITE server transaction of each incoming session.
    invites: HashMap<ServerKey, String>,
    services: Option<Services>,
}

/// The sessions of one application. Cloning shares it.
#[derive(Clone)]
pub struct SessionManager {
    inner: Arc<Mutex<Inner>>,
    center: NotificationCenter,
}

impl SessionManager {
    pub fn new(center: NotificationCenter) -> Self {
        SessionManager {
            inner: Arc::new(Mutex::new(Inner::default())),
            center,
        }
    }

    pub(crate) fn start(&self, services: Services) {
        lock(&self.inner).services = Some(services);
    }

    /// Ends every session (the application is stopping).
    pub async fn stop(&self) {
        let sessions: Vec<Session> = lock(&self.inner).sessions.values().cloned().collect();
        for s in sessions {
            let _ = s.end().await;
        }
        lock(&self.inner).services = None;
    }

    /// The live sessions.
    pub fn sessions(&self) -> Vec<Session> {
        lock(&self.inner).sessions.values().cloned().collect()
    }

    fn services(&self) -> Result<Services, SessionError> {
        lock(&self.inner)
            .services
            .clone()
            .ok_or_else(|| SessionError::Failed("the application is not running".into()))
    }

    fn spawn(
        &self,
        call_id: String,
        invite: InviteSession,
        shared: Arc<Shared>,
        services: Services,
        setup: impl FnOnce(&mut SessionTask),
        first: Vec<sip_proto::invite::Action>,
    ) -> Session {
        let (tx, rx) = mpsc::channel(64);
        let session = Session {
            shared: shared.clone(),
            commands: tx.clone(),
        };
        let inner = self.inner.clone();
        let id = call_id.clone();
        let mut task = SessionTask {
            shared,
            invite,
            inputs: rx,
            self_tx: tx,
            services,
            center: self.center.clone(),
            server: HashMap::new(),
            route: None,
            invite_client: None,
            offer: None,
            remote_offer: None,
            local_sdp: None,
            pending_hold: None,
            on_exit: Box::new(move || {
                let mut i = lock(&inner);
                i.sessions.remove(&id);
                i.invites.retain(|_, c| *c != id);
            }),
        };
        setup(&mut task);
        lock(&self.inner).sessions.insert(call_id, session.clone());
        tokio::spawn(task.run(first));
        session
    }

    /// Calls `to` from `account` with one audio stream: routes from the
    /// account's outbound proxy, else from `to` (RFC 3263; the first
    /// route is used). Posts SIPSessionNewOutgoing; the rest follows as
    /// the call progresses.
    pub async fn connect(
        &self,
        account: &Account,
        to: &str,
        audio: Arc<AudioStream>,
    ) -> Result<Session, SessionError> {
        let services = self.services()?;
        let to_uri = Uri::parse(to)
            .map_err(|e| SessionError::Failed(format!("{to:?} is not a URI: {e}")))?
            .into_owned();
        let proxy = account
            .get("sip.outbound_proxy")
            .ok()
            .flatten()
            .and_then(|v| {
                v.as_str()
                    .and_then(|p| Uri::parse(p).ok().map(|u| u.into_owned()))
            });
        let hop = proxy.as_ref().unwrap_or(&to_uri);
        let sip = hop
            .as_sip()
            .ok_or_else(|| SessionError::Failed(format!("{hop} is not a SIP URI")))?;
        let routes = services
            .dns
            .lookup_sip_proxy(sip, &services.engine.transports())
            .await
            .result
            .map_err(|e| SessionError::Failed(format!("no route to {hop}: {e}")))?;
        let route = *routes
            .first()
            .ok_or_else(|| SessionError::Failed(format!("no route to {hop}")))?;
        let local = services
            .engine
            .local_addr_towards(route.transport, route.socket_addr())
            .ok_or_else(|| SessionError::Failed("no local address".into()))?;

        let (media, offered) = audio.offer();
        let mut offer = SessionDescription::new(sdp::Origin {
            username: "-".into(),
            session_id: crate::random::below(u32::MAX).to_string(),
            session_version: 1,
            net_type: "IN".into(),
            addr_type: sdp::AddrType::of(audio.local_rtp().ip()),
            address: audio.local_rtp().ip().to_string(),
        });
        offer.connection = Some(sdp::Connection::new(audio.local_rtp().ip()));
        offer.media.push(media);

        let credentials = account.credentials();
        let mut local_name = NameAddr::new(account.uri().clone());
        if let Some(name) = account
            .get("display_name")
            .ok()
            .flatten()
            .and_then(|v| v.as_str().map(str::to_owned))
        {
            local_name = local_name.with_display_name(name);
        }
        let contact = Uri::parse(&format!(
            "sip:{}@{}{}",
            account.contact_username(),
            host_port(local),
            transport_param(route.transport)
        ))
        .map_err(|e| SessionError::Failed(e.to_string()))?
        .into_owned();
        let config = SessionConfig {
            local: local_name,
            contact,
            via: via_without_branch(route.transport, local),
            branch_prefix: crate::random::letters(12),
            local_tag: crate::random::tag(),
            user_agent: services.user_agent.clone(),
            timers: TimerConfig::default(),
            credentials: Some(CredentialStore::with_default(
                &credentials.username,
                &credentials.password,
            )),
        };
        let call_id = format!("{}@{}", crate::random::tag(), local.ip());
        let (invite, request) = InviteSession::outgoing(
            config,
            NameAddr::new(to_uri.clone()),
            to_uri.clone(),
            &call_id,
            Some(Body::sdp(offer.to_string())),
        );
        let shared = Arc::new(Shared {
            sender: self.center.new_sender(),
            state: Mutex::new(SessionState::Outgoing),
            outgoing: true,
            local_identity: account.uri().to_string(),
            remote_identity: Mutex::new(to_uri.to_string()),
            remote_user_agent: Mutex::new(None),
            start_time: Mutex::new(None),
            stop_time: Mutex::new(None),
            audio: Mutex::new(Some(audio)),
            local_hold: Mutex::new(false),
            remote_hold: Mutex::new(false),
        });
        if let Some(a) = lock(&shared.audio).as_ref() {
            a.notify_to(self.center.clone(), shared.sender);
        }
        self.center
            .post(shared.sender, NotificationData::SIPSessionNewOutgoing);
        let target = Target {
            addr: route.socket_addr(),
            transport: route.transport,
        };
        Ok(self.spawn(
            call_id,
            invite,
            shared,
            services,
            |t| {
                t.route = Some(target);
                t.local_sdp = Some(offer.clone());
                t.offer = Some((offer, offered));
            },
            vec![sip_proto::invite::Action::SendRequest(request)],
        ))
    }

    /// A dialog-creating INVITE for `account`: a new incoming session, or
    /// the status to refuse it with (488 for an offer without audio or
    /// that does not parse).
    pub(crate) fn incoming(
        &self,
        account: &str,
        contact_user: &str,
        key: ServerKey,
        request: &Request,
        source: Target,
    ) -> Result<Session, u16> {
        let services = self.services().map_err(|_| 480u16)?;
        let call_id = request
            .headers
            .get_str(&HeaderName::CallId)
            .ok_or(400u16)?
            .to_owned();
        if lock(&self.inner).sessions.contains_key(&call_id) {
            // A second INVITE of a call we have: the loop detection of
            // §8.2.2.2 is the UAS core's; here it is simply refused.
            return Err(482);
        }
        let offer = SessionDescription::parse(&request.body).map_err(|_| 488u16)?;
        // An audio stream we can take: G.711 is what the AudioStream
        // speaks so far (RFC 3261 §13.3.1.3: 488 for an offer we cannot
        // answer).
        let usable = offer.media.iter().any(|m| {
            m.media == "audio"
                && m.port != 0
                && m.formats.iter().any(|f| {
                    let map = f.parse().ok().and_then(|pt| m.rtpmap(pt));
                    match map {
                        Some(r) => media::g711::Law::from_encoding(&r.encoding).is_some(),
                        None => f == "0" || f == "8",
                    }
                })
        });
        if !usable {
            return Err(488);
        }
        let local = services
            .engine
            .local_addr_towards(source.transport, source.addr)
            .ok_or(500u16)?;
        let to = request
            .headers
            .typed::<To>()
            .and_then(Result::ok)
            .map(|t| NameAddr::new(t.uri.clone().into_owned()))
            .ok_or(400u16)?;
        let contact = Uri::parse(&format!(
            "sip:{contact_user}@{}{}",
            host_port(local),
            transport_param(source.transport)
        ))
        .map_err(|_| 500u16)?
        .into_owned();
        let config = SessionConfig {
            local: to,
            contact,
            via: via_without_branch(source.transport, local),
            branch_prefix: crate::random::letters(12),
            local_tag: crate::random::tag(),
            user_agent: services.user_agent.clone(),
            timers: TimerConfig::default(),
            credentials: None,
        };
        let invite = InviteSession::incoming(config, request);
        let remote = request
            .headers
            .get_str(&HeaderName::From)
            .unwrap_or_default()
            .to_owned();
        let shared = Arc::new(Shared {
            sender: self.center.new_sender(),
            state: Mutex::new(SessionState::Incoming),
            outgoing: false,
            local_identity: account.to_owned(),
            remote_identity: Mutex::new(remote),
            remote_user_agent: Mutex::new(
                request
                    .headers
                    .get_str(&HeaderName::UserAgent)
                    .map(str::to_owned),
            ),
            start_time: Mutex::new(None),
            stop_time: Mutex::new(None),
            audio: Mutex::new(None),
            local_hold: Mutex::new(false),
            remote_hold: Mutex::new(false),
        });
        let cseq = request
            .headers
            .typed::<sip_proto::headers::CSeq>()
            .and_then(Result::ok)
            .map(|c| (c.seq, c.method.as_str().to_owned()))
            .ok_or(400u16)?;
        lock(&self.inner)
            .invites
            .insert(key.clone(), call_id.clone());
        let session = self.spawn(
            call_id,
            invite,
            shared,
            services,
            |t| {
                t.server.insert(cseq, (key, source));
                t.remote_offer = Some(offer);
            },
            Vec::new(),
        );
        self.center
            .post(session.sender(), NotificationData::SIPSessionNewIncoming);
        Ok(session)
    }

    fn by_call_id(&self, request: &Request) -> Option<Session> {
        let call_id = request.headers.get_str(&HeaderName::CallId)?;
        lock(&self.inner).sessions.get(call_id).cloned()
    }

    /// A request inside a dialog: to its session, or false if none.
    pub(crate) async fn dispatch(&self, key: ServerKey, request: Request, source: Target) -> bool {
        let Some(s) = self.by_call_id(&request) else {
            return false;
        };
        s.commands
            .send(Input::Request {
                key: Box::new(key),
                request: Box::new(request),
                source,
            })
            .await
            .is_ok()
    }

    pub(crate) async fn ack(&self, request: Request) {
        if let Some(s) = self.by_call_id(&request) {
            let _ = s.commands.send(Input::Ack(Box::new(request))).await;
        }
    }

    pub(crate) async fn cancelled(&self, invite: &ServerKey) {
        let session = {
            let inner = lock(&self.inner);
            inner
                .invites
                .get(invite)
                .and_then(|c| inner.sessions.get(c))
                .cloned()
        };
        if let Some(s) = session {
            let _ = s.commands.send(Input::Cancelled).await;
        }
    }
}
