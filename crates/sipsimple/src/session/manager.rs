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

use super::task::{Failover, Input, OfferKind, OurOffer, SessionTask};
use super::{lock, Session, SessionAccount, SessionError, SessionState, Shared};
use crate::engine::{host_port, transport_param, via_without_branch, TransportKind};
use crate::lookup::Route;
use crate::notification::{NotificationCenter, NotificationData};
use crate::services::Services;
use crate::streams::{
    MediaStream, MediaStreamRegistry, RecordingDefaults, StreamContext, StreamDirection,
    StreamList, StreamSettings,
};

pub(crate) fn transport_name(t: TransportKind) -> &'static str {
    match t {
        TransportKind::Udp => "udp",
        TransportKind::Tcp => "tcp",
        TransportKind::Tls => "tls",
    }
}

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
    registry: MediaStreamRegistry,
}

impl SessionManager {
    pub fn new(center: NotificationCenter, registry: MediaStreamRegistry) -> Self {
        SessionManager {
            inner: Arc::new(Mutex::new(Inner::default())),
            center,
            registry,
        }
    }

    /// The stream types incoming offers are matched against.
    pub fn registry(&self) -> &MediaStreamRegistry {
        &self.registry
    }

    /// What streams made for `account`'s sessions go by: its own
    /// `rtp.audio_codec_list` if set, else the application's.
    fn settings(
        &self,
        services: &Services,
        account: &SessionAccount,
        local_ip: std::net::IpAddr,
    ) -> StreamSettings {
        let own_codecs: Option<Vec<String>> = account
            .setting("rtp.audio_codec_list")
            .and_then(|v| {
                v.as_array().map(|a| {
                    a.iter()
                        .filter_map(|c| c.as_str().map(str::to_owned))
                        .collect()
                })
            })
            .filter(|c: &Vec<String>| !c.is_empty());
        StreamSettings {
            account: account.id(),
            local_ip,
            rtp_port_range: services.rtp_port_range,
            audio_codecs: own_codecs.unwrap_or_else(|| services.audio_codecs.clone()),
            voice_mixer: services.voice_mixer.clone(),
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

    #[allow(clippy::too_many_arguments)]
    fn spawn(
        &self,
        session: Session,
        inputs: mpsc::Receiver<Input>,
        call_id: String,
        invite: InviteSession,
        (services, settings): (Services, StreamSettings),
        setup: impl FnOnce(&mut SessionTask),
        first: Vec<sip_proto::invite::Action>,
    ) {
        let shared = session.shared.clone();
        let tx = session.commands.clone();
        let inner = self.inner.clone();
        let id = call_id.clone();
        let mut task = SessionTask {
            shared,
            invite,
            inputs,
            self_tx: tx,
            services,
            center: self.center.clone(),
            registry: self.registry.clone(),
            settings,
            server: HashMap::new(),
            route: None,
            failover: Vec::new(),
            invite_client: None,
            reinvite_client: None,
            slots: Vec::new(),
            local_sdp: None,
            remote_sdp: None,
            our_offer: None,
            remote_offer: None,
            proposed: Vec::new(),
            remote_proposal: None,
            offer_in_200: None,
            hold_queued: false,
            announced_hold: [(false, false); 2],
            unacked: None,
            early: false,
            processed_seq: 0,
            on_exit: Box::new(move || {
                let mut i = lock(&inner);
                i.sessions.remove(&id);
                i.invites.retain(|_, c| *c != id);
            }),
        };
        setup(&mut task);
        lock(&self.inner).sessions.insert(call_id, session.clone());
        // Boxed: the task's future then holds a pointer, not the task.
        tokio::spawn(Box::new(task).run(first));
    }

    /// Calls `to` from `account` offering `streams`: `Session::new` and
    /// `Session::connect` with the routes of the account's outbound
    /// proxy, else of `to` (RFC 3263; the INVITE fails over to the next
    /// route when a server does not answer, cannot be reached or answers
    /// 503).
    pub async fn connect(
        &self,
        account: impl Into<SessionAccount>,
        to: &str,
        streams: Vec<Arc<dyn MediaStream>>,
    ) -> Result<Session, SessionError> {
        let account = account.into();
        let services = self.services()?;
        let to_uri = Uri::parse(to)
            .map_err(|e| SessionError::Failed(format!("{to:?} is not a URI: {e}")))?
            .into_owned();
        let proxy = account.setting("sip.outbound_proxy").and_then(|v| {
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
        let session = Session::new(self, account);
        session.connect(to, routes, streams).await?;
        Ok(session)
    }

    pub(crate) fn new_sender(&self) -> crate::notification::SenderId {
        self.center.new_sender()
    }

    /// `Session::connect`: the INVITE to the first of `routes`, the rest
    /// kept to fail over to.
    pub(crate) async fn start_outgoing(
        &self,
        session: Session,
        inputs: mpsc::Receiver<Input>,
        to: &str,
        routes: Vec<Route>,
        streams: Vec<Arc<dyn MediaStream>>,
    ) -> Result<(), SessionError> {
        if streams.is_empty() {
            return Err(SessionError::Failed("a session needs a stream".into()));
        }
        let services = self.services()?;
        let to_uri = Uri::parse(to)
            .map_err(|e| SessionError::Failed(format!("{to:?} is not a URI: {e}")))?
            .into_owned();
        let account = session.shared.account.clone();
        // The routes over transports we run, each with our address on it.
        let mut usable = routes.iter().filter_map(|r| {
            let local = services
                .engine
                .local_addr_towards(r.transport, r.socket_addr())?;
            Some((*r, local))
        });
        let (route, local) = usable.next().ok_or_else(|| {
            SessionError::Failed(format!("no route to {to} over a transport we run"))
        })?;
        let from = account
            .uri()
            .ok_or_else(|| SessionError::Failed("the account has no address yet".into()))?;
        let credentials = account.credentials();
        let mut local_name = NameAddr::new(from);
        if let Some(name) = account
            .setting("display_name")
            .and_then(|v| v.as_str().map(str::to_owned))
        {
            local_name = local_name.with_display_name(name);
        }
        let contact_on = |transport, local| {
            Uri::parse(&format!(
                "sip:{}@{}{}",
                account.contact_username(),
                host_port(local),
                transport_param(transport)
            ))
            .map(|u| u.into_owned())
            .map_err(|e| SessionError::Failed(e.to_string()))
        };
        let contact = contact_on(route.transport, local)?;
        // The other routes, for the INVITE to fail over to.
        let mut failover = Vec::new();
        for (r, local) in usable {
            failover.push(Failover {
                target: Target {
                    addr: r.socket_addr(),
                    transport: r.transport,
                },
                via: via_without_branch(r.transport, local),
                contact: contact_on(r.transport, local)?,
            });
        }
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
        let shared = &session.shared;
        *lock(&shared.transport) = Some(transport_name(route.transport));
        *lock(&shared.remote_identity) = to_uri.to_string();
        *lock(&shared.proposed) = Some(streams.clone());
        let settings = self.settings(&services, &account, local.ip());
        // Announced before anything is done for it (the streams'
        // notifications follow), as the spec asks.
        self.center.post(
            shared.sender,
            NotificationData::SIPSessionNewOutgoing {
                streams: StreamList(streams.clone()),
            },
        );
        // Each stream gets ready and describes itself in the offer.
        let mut offer = super::negotiation::new_sdp(local.ip());
        for (i, s) in streams.iter().enumerate() {
            let context = StreamContext::for_session(
                &self.center,
                shared.sender,
                RecordingDefaults::new(
                    services.recordings_directory.clone(),
                    &account.id(),
                    &to_uri.to_string(),
                ),
            );
            let ready = s.initialize(context, StreamDirection::Outgoing).await;
            let media = ready.and_then(|()| s.get_local_media(None));
            match media {
                Ok(m) => offer.media.push(m),
                Err(e) => {
                    for t in streams.iter().take(i + 1) {
                        t.end();
                    }
                    let why = format!("the {} stream could not be offered: {e}", s.stream_type());
                    self.center.post(
                        shared.sender,
                        NotificationData::SIPSessionDidFail {
                            originator: "local",
                            code: 0,
                            reason: String::new(),
                            failure_reason: why.clone(),
                        },
                    );
                    return Err(SessionError::Failed(why));
                }
            }
        }
        let (invite, request) = InviteSession::outgoing(
            config,
            NameAddr::new(to_uri.clone()),
            to_uri.clone(),
            &call_id,
            Some(Body::sdp(offer.to_string())),
        );
        for (header, identity) in [
            (HeaderName::From, &shared.local_identity),
            (HeaderName::To, &shared.remote_identity),
        ] {
            if let Some(v) = request.headers.get_str(&header) {
                *lock(identity) = v.to_owned();
            }
        }
        let target = Target {
            addr: route.socket_addr(),
            transport: route.transport,
        };
        self.spawn(
            session.clone(),
            inputs,
            call_id,
            invite,
            (services, settings),
            |t| {
                t.route = Some(target);
                t.failover = failover;
                t.slots = streams.into_iter().map(Some).collect();
                t.our_offer = Some(OurOffer {
                    sdp: offer,
                    kind: OfferKind::Initial,
                });
            },
            vec![sip_proto::invite::Action::SendRequest(request)],
        );
        Ok(())
    }

    /// A dialog-creating INVITE for `account`: a new incoming session
    /// with a stream from the registry for each m-line one takes, or the
    /// status to refuse it with (488 for an offer no stream takes or that
    /// does not parse).
    pub(crate) async fn incoming(
        &self,
        account: SessionAccount,
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
        let local = services
            .engine
            .local_addr_towards(source.transport, source.addr)
            .ok_or(500u16)?;
        let settings = self.settings(&services, &account, local.ip());
        // RFC 3261 §13.3.1.3: 488 for an offer we cannot answer.
        let mut proposed: Vec<(usize, Arc<dyn MediaStream>)> = Vec::new();
        for i in 0..offer.media.len() {
            if let Some(s) = self.registry.new_from_sdp(&settings, &offer, i).await {
                proposed.push((i, s));
            }
        }
        if proposed.is_empty() {
            return Err(488);
        }
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
        let local = request
            .headers
            .get_str(&HeaderName::To)
            .unwrap_or_default()
            .to_owned();
        let shared = Arc::new(Shared::new(
            self.center.new_sender(),
            account,
            false,
            SessionState::Incoming,
            local,
            remote,
        ));
        *lock(&shared.transport) = Some(transport_name(source.transport));
        *lock(&shared.remote_user_agent) = request
            .headers
            .get_str(&HeaderName::UserAgent)
            .map(str::to_owned);
        *lock(&shared.proposed) = Some(proposed.iter().map(|(_, s)| s.clone()).collect());
        let cseq = request
            .headers
            .typed::<sip_proto::headers::CSeq>()
            .and_then(Result::ok)
            .map(|c| (c.seq, c.method.as_str().to_owned()))
            .ok_or(400u16)?;
        lock(&self.inner)
            .invites
            .insert(key.clone(), call_id.clone());
        let (commands, inputs) = mpsc::channel(64);
        let session = Session { shared, commands };
        self.spawn(
            session.clone(),
            inputs,
            call_id,
            invite,
            (services, settings),
            |t| {
                t.server.insert(cseq, (key, source));
                t.remote_offer = Some(Box::new(offer));
                t.proposed = proposed;
            },
            Vec::new(),
        );
        self.center.post(
            session.sender(),
            NotificationData::SIPSessionNewIncoming {
                streams: StreamList(session.proposed_streams().unwrap_or_default()),
            },
        );
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
        if request.method == sip_proto::Method::Invite {
            // A re-INVITE can be cancelled too (cancel_proposal).
            if let Some(call_id) = request.headers.get_str(&HeaderName::CallId) {
                let mut inner = lock(&self.inner);
                inner.invites.retain(|_, c| c != call_id);
                inner.invites.insert(key.clone(), call_id.to_owned());
            }
        }
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
