//! The SessionManager: one per application. It starts outgoing sessions,
//! turns incoming INVITEs into sessions (SIPSessionNewIncoming), routes
//! the requests, ACKs and CANCELs of a call to its session, and refuses
//! what belongs to no session (481).

use crate::sync::lock;
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
use super::{Session, SessionAccount, SessionError, SessionState, Shared};
use crate::engine::{host_port, transport_param, via_without_branch};
use crate::lookup::Route;
use crate::notification::{NotificationCenter, NotificationData};
use crate::router::{Disposition, IncomingRequest};
use crate::services::Services;
use crate::streams::{
    MediaStream, MediaStreamRegistry, RecordingDefaults, StreamContext, StreamDirection,
    StreamList, StreamSettings,
};

#[derive(Default)]
struct Inner {
    /// Live sessions by Call-ID.
    sessions: HashMap<String, Session>,
    /// The INVITE server transaction of each incoming session.
    invites: HashMap<ServerKey, String>,
    services: Option<Services>,
    /// Incoming INVITEs admitted whose session is still being made.
    admitting: usize,
    limits: SessionLimits,
    /// The task that drops a failed stream from its session (one for the
    /// application: an observer per session would make every post scan
    /// thousands of them).
    failures: Option<tokio::task::JoinHandle<()>>,
}

/// How many sessions one application holds (see
/// [`SessionManager::set_limits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// Sessions of any state; past it new INVITEs get 486 Busy Here.
    pub max_sessions: usize,
    /// Incoming sessions not yet accepted or rejected; past it new
    /// INVITEs get 503 with Retry-After.
    pub max_unanswered_incoming: usize,
    /// Streams made for one incoming offer; the m-lines past it are
    /// declined (port 0), so one INVITE cannot bind 64 port pairs.
    pub max_streams_per_offer: usize,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            max_sessions: 64,
            max_unanswered_incoming: 8,
            max_streams_per_offer: 4,
        }
    }
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

    /// Changes the limits for sessions admitted from now on.
    pub fn set_limits(&self, limits: SessionLimits) {
        lock(&self.inner).limits = limits;
    }

    pub fn limits(&self) -> SessionLimits {
        lock(&self.inner).limits
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
        let text = |path: &str| {
            account
                .setting(path)
                .and_then(|v| v.as_str().map(str::to_owned))
        };
        let msrp_tls = text("msrp.transport").is_none_or(|t| t != "tcp");
        // A relay URI that does not parse was refused by the setting's
        // validator; here it only means no relay.
        let id = account.id();
        let relay_model = text("msrp.connection_model").as_deref() != Some("acm");
        let username = text("auth.username")
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| id.split('@').next().unwrap_or(&id).to_owned());
        let password = text("auth.password").unwrap_or_default();
        let for_outbound = account
            .setting("nat_traversal.use_msrp_relay_for_outbound")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        let configured = text("nat_traversal.msrp_relay");
        let msrp_relay = configured
            .as_deref()
            .filter(|_| relay_model)
            .and_then(|r| crate::msrp::MsrpRelaySettings::parse_relay(r, msrp_tls).ok())
            .map(|uri| crate::msrp::MsrpRelaySettings {
                uri,
                username: username.clone(),
                password: password.clone(),
                for_outbound,
                address: None,
            });
        // No relay configured: the domain's `_msrps._tcp` SRV may name
        // one (a SIP account's; a Bonjour one's domain is `local`, and an
        // address has no SRV).
        let domain = id.rsplit_once('@').map(|(_, d)| d.to_owned());
        let relay_discovery = domain
            .filter(|d| {
                relay_model
                    && configured.is_none()
                    && matches!(account, SessionAccount::Sip(_))
                    && d.parse::<std::net::IpAddr>().is_err()
                    && !d.starts_with('[')
            })
            .map(|domain| crate::msrp::RelayDiscovery {
                domain,
                dns: services.dns.clone(),
                username,
                password,
                for_outbound,
            });
        StreamSettings {
            account: account.id(),
            local_ip,
            audio: crate::streams::audio::AudioSettings {
                rtp_port_range: services.rtp_port_range,
                codecs: own_codecs.unwrap_or_else(|| services.audio_codecs.clone()),
                voice_mixer: services.voice_mixer.clone(),
                srtp: crate::streams::audio::sdes::SrtpPolicy::from_setting(
                    &text("rtp.srtp_encryption").unwrap_or_default(),
                ),
            },
            msrp: crate::streams::msrp::MsrpSettings {
                endpoint: services.msrp.clone(),
                tls: msrp_tls,
                relay: msrp_relay,
                relay_discovery,
                file_directory: services.download_directory.clone(),
                keepalive_interval: account
                    .setting("msrp.keepalive_interval")
                    .and_then(|v| v.as_integer())
                    .map_or(Some(std::time::Duration::from_secs(60)), |s| {
                        (s > 0).then(|| std::time::Duration::from_secs(s as u64))
                    }),
                connection_reuse: account
                    .setting("msrp.connection_reuse")
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false),
            },
        }
    }

    /// What streams made for `account`'s sessions go by while the
    /// application runs (`rtp.port_range`, the account's or the global
    /// `rtp.audio_codec_list`, the voice mixer): an application making
    /// its own streams uses these so that every setting is honoured.
    pub fn stream_settings(
        &self,
        account: impl Into<SessionAccount>,
        local_ip: std::net::IpAddr,
    ) -> Result<StreamSettings, SessionError> {
        let services = self.services()?;
        Ok(self.settings(&services, &account.into(), local_ip))
    }

    pub(crate) fn start(&self, services: Services) {
        let center = &self.center;
        let mut failures =
            center.subscribe(crate::notification::Filter::name("MediaStreamDidFail"));
        let mut renewed = center.subscribe(crate::notification::Filter::name(
            "MSRPRelayDidRenewBinding",
        ));
        let manager = self.clone();
        let watcher = tokio::spawn(async move {
            loop {
                let (n, failed) = tokio::select! {
                    n = failures.next() => (n, true),
                    n = renewed.next() => (n, false),
                };
                let Some(n) = n else { break };
                let owner = manager
                    .sessions()
                    .into_iter()
                    .find_map(|s| s.stream_of(n.sender).map(|stream| (s, stream)));
                let Some((session, stream)) = owner else {
                    continue;
                };
                // Spawned: a re-INVITE or BYE must not hold up the next
                // notification.
                if failed {
                    tokio::spawn(session.drop_failed_stream(stream));
                } else if matches!(
                    n.data,
                    crate::notification::NotificationData::MSRPRelayDidRenewBinding {
                        path_changed: true,
                        ..
                    }
                ) {
                    // The peer must have the relay's new path before the
                    // old binding expires (see `streams::msrp::base`).
                    tokio::spawn(async move { session.renew_offer().await });
                }
            }
        });
        let mut inner = lock(&self.inner);
        inner.services = Some(services);
        if let Some(old) = inner.failures.replace(watcher) {
            old.abort();
        }
    }

    /// Ends every session (the application is stopping).
    pub async fn stop(&self) {
        let sessions: Vec<Session> = lock(&self.inner).sessions.values().cloned().collect();
        for s in sessions {
            let _ = s.end().await;
        }
        let mut inner = lock(&self.inner);
        inner.services = None;
        if let Some(w) = inner.failures.take() {
            w.abort();
        }
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
            tls: Box::default(),
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
            ended_for_user: false,
            transport_failure: None,
            invite_deadline: None,
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
            allow: services
                .capabilities
                .capabilities()
                .map(|c| c.allow_header()),
        };
        let call_id = format!("{}@{}", crate::random::tag(), local.ip());
        let shared = &session.shared;
        *lock(&shared.transport) = Some(route.transport.name());
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
                format!("sip:{}", account.id()),
                to_uri.to_string(),
            );
            lock(&shared.stream_senders).push((context.sender, Arc::downgrade(s)));
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
        let tls = super::task::TlsNames::outgoing(&account, &to_uri, &routes);
        let invite_deadline = tokio::time::Instant::now() + services.invite_timeout;
        self.spawn(
            session.clone(),
            inputs,
            call_id,
            invite,
            (services, settings),
            |t| {
                t.route = Some(target);
                t.tls = tls;
                t.invite_deadline = Some(invite_deadline);
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
        // No body: a delayed offer (RFC 3261 §13.2.1), ours goes in the
        // 200 and the answer comes in the ACK.
        let offer = if request.body.is_empty() {
            None
        } else {
            Some(SessionDescription::parse(&request.body).map_err(|_| 488u16)?)
        };
        let local = services
            .engine
            .local_addr_towards(source.transport, source.addr)
            .ok_or(500u16)?;
        let settings = self.settings(&services, &account, local.ip());
        // RFC 3261 §13.3.1.3: 488 for an offer we cannot answer.
        let mut proposed: Vec<(usize, Arc<dyn MediaStream>)> = Vec::new();
        let max_streams = self.limits().max_streams_per_offer;
        match &offer {
            Some(offer) => {
                for i in 0..offer.media.len() {
                    if proposed.len() >= max_streams {
                        break;
                    }
                    if let Some(s) = self.registry.new_from_sdp(&settings, offer, i).await {
                        proposed.push((i, s));
                    }
                }
            }
            // Placed in the order of our offer-to-be.
            None => {
                let streams = self.registry.new_for_offer(&settings).await;
                proposed.extend(streams.into_iter().take(max_streams).enumerate());
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
            allow: services
                .capabilities
                .capabilities()
                .map(|c| c.allow_header()),
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
        *lock(&shared.transport) = Some(source.transport.name());
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
        let tls = Box::new(super::task::TlsNames::for_account(&shared.account));
        let session = Session { shared, commands };
        self.spawn(
            session.clone(),
            inputs,
            call_id,
            invite,
            (services, settings),
            |t| {
                t.tls = tls;
                t.server.insert(cseq, (key, source));
                t.remote_offer = offer.map(Box::new);
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

    /// A request inside a dialog, to its session without waiting: `Err`
    /// hands it back when no session has its dialog, `Ok(Some(_))` when
    /// the session's queue is full (the caller answers for it).
    pub(crate) fn dispatch(
        &self,
        incoming: Box<IncomingRequest>,
    ) -> Result<Option<Box<IncomingRequest>>, Box<IncomingRequest>> {
        let Some(s) = self.by_call_id(&incoming.request) else {
            return Err(incoming);
        };
        let IncomingRequest {
            key,
            request,
            source,
            responder,
        } = *incoming;
        let is_invite = request.method == sip_proto::Method::Invite;
        let call_id = request
            .headers
            .get_str(&HeaderName::CallId)
            .map(str::to_owned);
        let input = Input::Request {
            key: Box::new(key.clone()),
            request: Box::new(request),
            source,
        };
        match s.commands.try_send(input) {
            Ok(()) => {
                if let (true, Some(call_id)) = (is_invite, call_id) {
                    // A re-INVITE can be cancelled too (cancel_proposal).
                    let mut inner = lock(&self.inner);
                    inner.invites.retain(|_, c| *c != call_id);
                    inner.invites.insert(key, call_id);
                }
                Ok(None)
            }
            Err(mpsc::error::TrySendError::Full(Input::Request {
                key,
                request,
                source,
            }))
            | Err(mpsc::error::TrySendError::Closed(Input::Request {
                key,
                request,
                source,
            })) => Ok(Some(Box::new(IncomingRequest {
                key: *key,
                request: *request,
                source,
                responder,
            }))),
            Err(_) => Ok(None),
        }
    }

    /// Hands `input` to `session` without holding up the caller: at once
    /// when its queue has room, else from a task of its own (an ACK or a
    /// CANCEL must not be lost, and must not stall the router either).
    fn deliver(session: Session, input: Input) {
        if let Err(mpsc::error::TrySendError::Full(input)) = session.commands.try_send(input) {
            tokio::spawn(async move {
                let _ = session.commands.send(input).await;
            });
        }
    }

    pub(crate) fn ack(&self, request: Request) {
        if let Some(s) = self.by_call_id(&request) {
            Self::deliver(s, Input::Ack(Box::new(request)));
        }
    }

    pub(crate) fn cancelled(&self, invite: &ServerKey) {
        let session = {
            let inner = lock(&self.inner);
            inner
                .invites
                .get(invite)
                .and_then(|c| inner.sessions.get(c))
                .cloned()
        };
        if let Some(s) = session {
            Self::deliver(s, Input::Cancelled);
        }
    }

    /// Reserves room for one more incoming session, or says how to refuse
    /// it: a stranger's INVITEs must not take every RTP port and task.
    /// [`Self::admitted`] gives the reservation back once the session
    /// exists (it then counts as unanswered) or was refused.
    pub(crate) fn admit_incoming(&self) -> Result<(), Disposition> {
        let mut inner = lock(&self.inner);
        let unanswered = inner
            .sessions
            .values()
            .filter(|s| s.state() == SessionState::Incoming)
            .count()
            + inner.admitting;
        if inner.sessions.len() + inner.admitting >= inner.limits.max_sessions {
            // RFC 3261 §21.4.24: this end takes no more calls now.
            return Err(Disposition::answer(486));
        }
        if unanswered >= inner.limits.max_unanswered_incoming {
            // §21.5.4: overloaded for now; try again shortly.
            return Err(Disposition::Answer(
                503,
                vec![(HeaderName::RetryAfter, "5".to_owned())],
            ));
        }
        inner.admitting += 1;
        Ok(())
    }

    pub(crate) fn admitted(&self) {
        let mut inner = lock(&self.inner);
        inner.admitting = inner.admitting.saturating_sub(1);
    }
}

#[cfg(test)]
#[path = "manager_tests.rs"]
mod tests;
